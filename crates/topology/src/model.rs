//! The file as written: TOML read into these types (unknown keys refused, every value
//! that an error may name kept with its span), and the JSON Schema generated from them.
//! Objects are named by tenant names or initial domains, users by userPrincipalName and
//! groups by display name: never by id.
use schemars::JsonSchema;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;
use toml::Spanned;

/// A topology: tenants, their cross-tenant access settings, the sync arrows between them
/// (written explicitly or expanded from templates), and entitlement management's
/// connected organizations, catalogs and access packages.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TopologyFile {
    /// The tenants. Every tenant an arrow or an access setting names is declared here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tenants: Vec<TenantSpec>,
    /// Cross-tenant access settings: a tenant's settings towards one partner, or its
    /// defaults for partners without settings of their own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partner: Vec<PartnerSpec>,
    /// Meshes (N:N): every member syncs to every other member.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mesh: Vec<MeshSpec>,
    /// Hubs (1:N): one source syncs to every spoke.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hub: Vec<HubSpec>,
    /// Consolidations (N:1): every source syncs to one target.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consolidate: Vec<ConsolidateSpec>,
    /// Sync configurations declared one by one (one-way arrows). An arrow declared here
    /// overrides the arrow a template makes for the same source and target.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sync: Vec<SyncSpec>,
    /// Connected organizations: partners whose people may request access packages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub connected_organization: Vec<crate::packages::OrganizationSpec>,
    /// Catalogs: containers of access packages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub catalog: Vec<crate::packages::CatalogSpec>,
    /// Access packages with their resource roles and assignment policies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_package: Vec<crate::packages::PackageSpec>,
}

/// A tenant.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantSpec {
    /// Display name, e.g. "Contoso".
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// Initial domain, unique among tenants, e.g. contoso.example.
    #[schemars(with = "String")]
    pub domain: Spanned<String>,
    /// Days soft-deleted objects are kept before a purge removes them (default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<u32>,
}

/// One tenant's cross-tenant access settings towards `partner` (or its defaults when no
/// partner is named). A setting left out is unset: it inherits the default, and an unset
/// default is false.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PartnerSpec {
    /// The tenant whose settings these are (name or initial domain).
    #[schemars(with = "String")]
    pub tenant: Spanned<String>,
    /// The partner tenant (name or initial domain); left out: the tenant's defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub partner: Option<Spanned<String>>,
    /// The partner may sync users into this tenant (Entra `userSyncInbound.isSyncAllowed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbound_user_sync: Option<bool>,
    /// The partner may sync groups into this tenant (`groupSyncInbound.isSyncAllowed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbound_group_sync: Option<bool>,
    /// Invitations from the partner are redeemed automatically (`automaticUserConsentSettings.inboundAllowed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbound_auto_redeem: Option<bool>,
    /// This tenant's users' invitations are redeemed automatically in the partner (`automaticUserConsentSettings.outboundAllowed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outbound_auto_redeem: Option<bool>,
}

/// Who a configuration considers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ScopeSpec {
    /// Assigned users and direct members of assigned groups (the default, as in Entra).
    Assigned,
    /// Every internal user of the source.
    All,
}

/// The userType of the users a configuration creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum UserTypeSpec {
    Member,
    Guest,
}

/// When a mapping writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum FlowSpec {
    /// On create and on every update (the default).
    Always,
    /// Only when the target object is created.
    ObjectAddOnly,
}

/// One attribute mapping: exactly one of `expression`, `attribute` and `constant`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MappingSpec {
    /// An expression in the attribute-mapping language, e.g. `Join(" ", [givenName], [surname])`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    /// A source attribute, copied as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute: Option<String>,
    /// A constant string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constant: Option<String>,
    /// When it writes (default Always).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow: Option<FlowSpec>,
    /// The value written on create when the source gives none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

/// What a configuration may do to target objects (each defaults to true).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionsSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete: Option<bool>,
}

/// When a failed object is tried again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetrySpec {
    /// Seconds before the first retry (default 60); then twice as long each time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_seconds: Option<u64>,
    /// Longest wait between two tries (default 3600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_seconds: Option<u64>,
}

/// When failures quarantine the job (Entra's thresholds by default).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuarantineSpec {
    /// Failures a cycle must have before the other thresholds count (default 5000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluate_after: Option<u64>,
    /// Share of failing object actions, in percent (default 40).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_percent: Option<u64>,
    /// Failures of one cycle above which the job is quarantined (default 40000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failures: Option<u64>,
    /// Failures of one cycle above which the job is always quarantined (default 60000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absolute: Option<u64>,
}

/// The accidental-deletion threshold: most deletions one cycle may make, or "off".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threshold {
    Off,
    At(u32),
}

impl Serialize for Threshold {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Threshold::Off => s.serialize_str("off"),
            Threshold::At(n) => s.serialize_u32(*n),
        }
    }
}

impl<'de> Deserialize<'de> for Threshold {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Threshold;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a whole number or \"off\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Threshold, E> {
                u32::try_from(v).map(Threshold::At).map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Threshold, E> {
                u32::try_from(v).map(Threshold::At).map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Threshold, E> {
                if v.eq_ignore_ascii_case("off") { Ok(Threshold::Off) } else { Err(E::invalid_value(de::Unexpected::Str(v), &self)) }
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for Threshold {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Threshold".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Most deletions one cycle may make (default 500), or \"off\".",
            "oneOf": [{ "type": "integer", "minimum": 0, "maximum": u32::MAX }, { "const": "off" }]
        })
    }
}

/// Defines a struct with the given fields followed by every setting of an arrow, and
/// [`ArrowSettings`] from it, so a template's settings and an explicit arrow's are the
/// same fields, spelt once.
macro_rules! with_arrow_settings {
    ($(#[$m:meta])* pub struct $name:ident { $($(#[$fm:meta])* pub $f:ident : $t:ty,)* }) => {
        $(#[$m])*
        pub struct $name {
            $($(#[$fm])* pub $f: $t,)*
            /// Display name (default "SOURCE to TARGET" with the tenants' names).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub name: Option<String>,
            /// Who is considered (default "assigned").
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub scope: Option<ScopeSpec>,
            /// Users of the source assigned to the arrow, by userPrincipalName.
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            #[schemars(with = "Vec<String>")]
            pub assign_users: Vec<Spanned<String>>,
            /// Groups of the source assigned to the arrow, by display name.
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            #[schemars(with = "Vec<String>")]
            pub assign_groups: Vec<Spanned<String>>,
            /// Scoping filter: each item a group of clauses joined by AND (e.g.
            /// "department EQUALS Sales AND country EQUALS NO"); a user is in scope when any group holds.
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            #[schemars(with = "Vec<String>")]
            pub filter: Vec<Spanned<String>>,
            /// The userType of the users it creates (default Member).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub user_type: Option<UserTypeSpec>,
            /// Default user mappings this arrow does not write.
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            pub unmap: Vec<String>,
            /// User mappings added to or replacing Entra's defaults, by target attribute.
            #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
            #[schemars(with = "BTreeMap<String, MappingSpec>")]
            pub map: BTreeMap<String, Spanned<MappingSpec>>,
            /// Provision assigned groups as security groups with their in-scope members (default false; needs scope "assigned").
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub provision_groups: Option<bool>,
            /// Default group mappings this arrow does not write.
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            pub group_unmap: Vec<String>,
            /// Group mappings added to or replacing the defaults, by target attribute.
            #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
            #[schemars(with = "BTreeMap<String, MappingSpec>")]
            pub group_map: BTreeMap<String, Spanned<MappingSpec>>,
            /// What it may do to target objects.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub actions: Option<ActionsSpec>,
            /// Most deletions one cycle may make (default 500), or "off".
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub deletion_threshold: Option<Threshold>,
            /// When failed objects are tried again.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub retry: Option<RetrySpec>,
            /// When failures quarantine the job.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub quarantine: Option<QuarantineSpec>,
        }

        impl $name {
            /// The arrow settings of this declaration.
            pub fn settings(&self) -> ArrowSettings {
                ArrowSettings {
                    name: self.name.clone(),
                    scope: self.scope,
                    assign_users: self.assign_users.clone(),
                    assign_groups: self.assign_groups.clone(),
                    filter: self.filter.clone(),
                    user_type: self.user_type,
                    unmap: self.unmap.clone(),
                    map: self.map.clone(),
                    provision_groups: self.provision_groups,
                    group_unmap: self.group_unmap.clone(),
                    group_map: self.group_map.clone(),
                    actions: self.actions,
                    deletion_threshold: self.deletion_threshold,
                    retry: self.retry,
                    quarantine: self.quarantine,
                }
            }
        }
    };
}

with_arrow_settings! {
    /// The settings of an arrow, as a template gives them to every arrow it makes.
    #[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    pub struct ArrowSettings {}
}

with_arrow_settings! {
    /// One sync configuration: a one-way arrow from `source` to `target`.
    #[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    pub struct SyncSpec {
        /// The source tenant (name or initial domain).
        #[schemars(with = "String")]
        pub source: Spanned<String>,
        /// The target tenant (name or initial domain).
        #[schemars(with = "String")]
        pub target: Spanned<String>,
    }
}

/// Every member syncs to every other member (N:N).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MeshSpec {
    /// The members (names or initial domains), at least two.
    #[schemars(with = "Vec<String>")]
    pub members: Spanned<Vec<Spanned<String>>>,
    /// Per member: the scoping filter of the arrows from that member (a member that shares
    /// only part of its people), replacing the settings' filter for those arrows.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(with = "BTreeMap<String, Vec<String>>")]
    pub filters: BTreeMap<String, Vec<Spanned<String>>>,
    /// The settings of every arrow the mesh makes.
    #[serde(default)]
    pub settings: ArrowSettings,
}

/// One source syncs to every spoke (1:N).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HubSpec {
    /// The source (name or initial domain).
    #[schemars(with = "String")]
    pub hub: Spanned<String>,
    /// The targets (names or initial domains).
    #[schemars(with = "Vec<String>")]
    pub spokes: Vec<Spanned<String>>,
    /// The settings of every arrow the hub makes.
    #[serde(default)]
    pub settings: ArrowSettings,
}

/// Every source syncs to one target (N:1).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsolidateSpec {
    /// The sources (names or initial domains).
    #[schemars(with = "Vec<String>")]
    pub sources: Vec<Spanned<String>>,
    /// The target (name or initial domain).
    #[schemars(with = "String")]
    pub target: Spanned<String>,
    /// The settings of every arrow it makes.
    #[serde(default)]
    pub settings: ArrowSettings,
}

/// A value with no place in a file (one made by export).
pub fn unspanned<T>(value: T) -> Spanned<T> {
    Spanned::new(0..0, value)
}
