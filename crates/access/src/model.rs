//! What entitlement management holds: connected organizations, catalogs with their
//! resources, access packages and the roles they grant. Graph's names and shapes
//! (camelCase, `@odata.type` on polymorphic values, `unknownFutureValue` for values a
//! later version adds).
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use tenantsync_domain::{DomainName, ObjectId, SyncConfigId, TenantId, uuid_id};

uuid_id!(
    /// The id of a connected organization.
    ConnectedOrgId
);
uuid_id!(
    /// The id of a catalog.
    CatalogId
);
uuid_id!(
    /// The id of a resource in a catalog.
    ResourceId
);
uuid_id!(
    /// The id of an access package.
    PackageId
);
uuid_id!(
    /// The id of an assignment policy.
    PolicyId
);
uuid_id!(
    /// The id of an assignment request (and of its approval).
    RequestId
);
uuid_id!(
    /// The id of an access package assignment.
    AssignmentId
);

/// Where the people of a connected organization come from. Read-only once created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "@odata.type")]
pub enum IdentitySource {
    /// Everyone who signs in through that tenant (any of its domains): here, another
    /// tenantsync tenant.
    #[serde(rename = "#microsoft.graph.azureActiveDirectoryTenant", rename_all = "camelCase")]
    Tenant { tenant_id: TenantId, display_name: String },
    /// People outside tenantsync whose mail is in that domain (one-time passcode).
    #[serde(rename = "#microsoft.graph.domainIdentitySource", rename_all = "camelCase")]
    Domain { domain_name: DomainName, display_name: String },
}

/// Whether an admin set the organization up or it was made on the fly.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ConnectedOrgState {
    /// Set up by an admin: in scope of "all configured connected organizations".
    #[default]
    Configured,
    /// Made when someone of an unknown organization was approved under an "all external
    /// users" policy; only policies naming it admit its people.
    Proposed,
    #[serde(other)]
    UnknownFutureValue,
}

/// A partner organization whose people may request access packages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectedOrganization {
    pub id: ConnectedOrgId,
    pub display_name: String,
    #[serde(default)]
    pub description: String,
    pub identity_sources: Vec<IdentitySource>,
    #[serde(default)]
    pub state: ConnectedOrgState,
    /// Users (or groups) of this tenant who answer for the organization.
    #[serde(default)]
    pub internal_sponsors: BTreeSet<ObjectId>,
    /// Guests of this tenant who come from the organization.
    #[serde(default)]
    pub external_sponsors: BTreeSet<ObjectId>,
    /// What happens to its guests when their last assignment ends; `None`: the tenant's
    /// setting (an override Entra does not offer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_user_lifecycle: Option<crate::ExternalUserLifecycle>,
    pub created_date_time: Timestamp,
    pub modified_date_time: Timestamp,
}

/// Where a person signs in from, as far as matching a connected organization goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    /// Their tenantsync tenant, when they sign in through one.
    pub tenant: Option<TenantId>,
    /// The domain of their mail.
    pub domain: DomainName,
}

impl ConnectedOrganization {
    /// Whether a person of `home` belongs to this organization: through a tenant source
    /// when they sign in through that tenant (whatever their mail's domain); through a
    /// domain source only when they sign in by mail, not through a tenant (a tenant's
    /// people are its own, even with a look-alike domain).
    pub fn admits(&self, home: &Home) -> bool {
        self.identity_sources.iter().any(|source| match (source, home.tenant) {
            (IdentitySource::Tenant { tenant_id, .. }, Some(t)) => *tenant_id == t,
            (IdentitySource::Domain { domain_name, .. }, None) => domain_name.as_str().eq_ignore_ascii_case(home.domain.as_str()),
            _ => false,
        })
    }
}

/// The connected organization of a person: a configured one before a proposed one, the
/// first by id among equals (so the choice does not depend on the order given).
pub fn organization_of<'o>(orgs: &'o [ConnectedOrganization], home: &Home) -> Option<&'o ConnectedOrganization> {
    orgs.iter().filter(|o| o.admits(home)).min_by_key(|o| (o.state != ConnectedOrgState::Configured, o.id))
}

/// A container of resources and access packages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Catalog {
    pub id: CatalogId,
    pub display_name: String,
    #[serde(default)]
    pub description: String,
    /// Whether people of connected organizations may request its packages.
    #[serde(default = "yes")]
    pub is_externally_visible: bool,
    pub created_date_time: Timestamp,
    pub modified_date_time: Timestamp,
}

fn yes() -> bool {
    true
}

/// What a resource is in tenantsync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "originSystem", content = "originId")]
pub enum ResourceOrigin {
    /// A group of the tenant (Graph's `AadGroup`).
    #[serde(rename = "AadGroup")]
    Group(ObjectId),
    /// A sync configuration whose source is this tenant, as Graph's `AadApplication` (a
    /// configuration is a service principal there): its one role assigns the person to
    /// it, so they are provisioned into its target.
    #[serde(rename = "AadApplication")]
    SyncConfiguration(SyncConfigId),
}

/// A role of a resource that an access package can grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RoleKind {
    /// A member of the group (tenantsync's groups have members, not owners).
    Member,
    /// Assigned to the sync configuration (Entra's "Default Access" app role).
    #[serde(rename = "Default Access")]
    DefaultAccess,
}

impl RoleKind {
    /// The roles a resource of this origin has.
    pub fn of(origin: ResourceOrigin) -> &'static [RoleKind] {
        match origin {
            ResourceOrigin::Group(_) => &[RoleKind::Member],
            ResourceOrigin::SyncConfiguration(_) => &[RoleKind::DefaultAccess],
        }
    }
}

/// One grant an access package makes: a role of a resource. Graph's role `originId`
/// spelling is `Member_<group id>` (and `DefaultAccess_<configuration id>` here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ResourceRole {
    pub origin: ResourceOrigin,
    pub role: RoleKind,
}

impl ResourceRole {
    /// `None` when the resource has no such role (a group has no Default Access).
    pub fn new(origin: ResourceOrigin, role: RoleKind) -> Option<ResourceRole> {
        RoleKind::of(origin).contains(&role).then_some(ResourceRole { origin, role })
    }

    /// Graph's `originId` of the role.
    pub fn origin_id(&self) -> String {
        match (self.origin, self.role) {
            (ResourceOrigin::Group(g), _) => format!("Member_{g}"),
            (ResourceOrigin::SyncConfiguration(c), _) => format!("DefaultAccess_{c}"),
        }
    }
}

/// A bundle of resource roles that people request together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessPackage {
    pub id: PackageId,
    pub catalog_id: CatalogId,
    pub display_name: String,
    #[serde(default)]
    pub description: String,
    /// Hidden from browsing; whoever has the link and fits a policy can still request.
    #[serde(default)]
    pub is_hidden: bool,
    #[serde(default)]
    pub roles: BTreeSet<ResourceRole>,
    /// Separation of duties: holding one of these packages bars a request for this one
    /// (one way; declare both sides for a mutual exclusion).
    #[serde(default)]
    pub incompatible_packages: BTreeSet<PackageId>,
    /// Being a member of one of these groups bars a request for this package.
    #[serde(default)]
    pub incompatible_groups: BTreeSet<ObjectId>,
    pub created_date_time: Timestamp,
    pub modified_date_time: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(state: ConnectedOrgState, sources: Vec<IdentitySource>) -> ConnectedOrganization {
        let t = Timestamp::UNIX_EPOCH;
        ConnectedOrganization {
            id: ConnectedOrgId::new(),
            display_name: "Litware".into(),
            description: String::new(),
            identity_sources: sources,
            state,
            internal_sponsors: BTreeSet::new(),
            external_sponsors: BTreeSet::new(),
            external_user_lifecycle: None,
            created_date_time: t,
            modified_date_time: t,
        }
    }

    fn domain(s: &str) -> DomainName {
        DomainName::parse(s).unwrap()
    }

    #[test]
    fn a_tenant_source_admits_its_people_whatever_their_domain_and_no_look_alike() {
        let litware = TenantId::new();
        let o = org(ConnectedOrgState::Configured, vec![IdentitySource::Tenant { tenant_id: litware, display_name: "Litware".into() }]);
        assert!(o.admits(&Home { tenant: Some(litware), domain: domain("litware.example") }));
        assert!(o.admits(&Home { tenant: Some(litware), domain: domain("litware-labs.example") }));
        // Same domain, but signing in by mail or through another tenant: not a member.
        assert!(!o.admits(&Home { tenant: None, domain: domain("litware.example") }));
        assert!(!o.admits(&Home { tenant: Some(TenantId::new()), domain: domain("litware.example") }));
    }

    #[test]
    fn a_domain_source_admits_mail_sign_ins_of_that_domain_only() {
        let o = org(ConnectedOrgState::Configured, vec![IdentitySource::Domain { domain_name: domain("Litware.example"), display_name: "x".into() }]);
        assert!(o.admits(&Home { tenant: None, domain: domain("litware.example") }));
        assert!(!o.admits(&Home { tenant: None, domain: domain("other.example") }));
        assert!(!o.admits(&Home { tenant: Some(TenantId::new()), domain: domain("litware.example") }));
    }

    #[test]
    fn a_configured_organization_is_chosen_before_a_proposed_one() {
        let source = || vec![IdentitySource::Domain { domain_name: domain("litware.example"), display_name: "x".into() }];
        let proposed = org(ConnectedOrgState::Proposed, source());
        let configured = org(ConnectedOrgState::Configured, source());
        let home = Home { tenant: None, domain: domain("litware.example") };
        for orgs in [vec![proposed.clone(), configured.clone()], vec![configured.clone(), proposed.clone()]] {
            assert_eq!(organization_of(&orgs, &home).map(|o| o.id), Some(configured.id));
        }
        assert_eq!(organization_of(&[], &home), None);
    }

    #[test]
    fn identity_sources_and_roles_in_graph_s_shape() {
        let t: TenantId = "0199b0a0-0000-7000-8000-000000000001".parse().unwrap();
        let source = IdentitySource::Tenant { tenant_id: t, display_name: "Litware".into() };
        let json = serde_json::to_value(&source).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"@odata.type": "#microsoft.graph.azureActiveDirectoryTenant", "tenantId": t.to_string(), "displayName": "Litware"})
        );
        assert_eq!(serde_json::from_value::<IdentitySource>(json).unwrap(), source);
        let g: ObjectId = "0199b0a0-0000-7000-8000-000000000002".parse().unwrap();
        let member = ResourceRole::new(ResourceOrigin::Group(g), RoleKind::Member).unwrap();
        assert_eq!(member.origin_id(), format!("Member_{g}"));
        assert_eq!(ResourceRole::new(ResourceOrigin::Group(g), RoleKind::DefaultAccess), None);
        assert_eq!(serde_json::to_value(ConnectedOrgState::Proposed).unwrap(), "proposed");
        assert_eq!(serde_json::from_value::<ConnectedOrgState>("somethingNew".into()).unwrap(), ConnectedOrgState::UnknownFutureValue);
    }
}
