//! Cross-tenant access settings and sync configurations: the arrows between tenants.
//!
//! A [`SyncConfiguration`] is a one-way arrow from a source tenant to a target tenant. It
//! only runs if the target allows inbound sync from the source and both sides allow
//! automatic redemption ([`PartnerSettings`]), as in Entra's cross-tenant access settings.
use crate::QuarantineReason;
use crate::uuid_id;
use crate::{DomainError, ObjectId, TenantId};
use serde::{Deserialize, Serialize};

uuid_id!(
    /// The id of a sync configuration (one per source → target pair).
    SyncConfigId
);

/// One tenant's settings towards one partner tenant (or its defaults for partners
/// without settings). `None` inherits the default; a default of `None` means `false`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartnerSettings {
    /// Automatic redemption of invitations from the partner (Entra
    /// `automaticUserConsentSettings.inboundAllowed`).
    pub inbound_auto_redeem: Option<bool>,
    /// Automatic redemption towards the partner (`automaticUserConsentSettings.outboundAllowed`).
    pub outbound_auto_redeem: Option<bool>,
    /// The partner may sync users into this tenant (`userSyncInbound.isSyncAllowed`).
    pub inbound_user_sync: Option<bool>,
    /// The partner may sync groups into this tenant (`groupSyncInbound.isSyncAllowed`).
    pub inbound_group_sync: Option<bool>,
}

impl PartnerSettings {
    /// These settings with every unset value taken from `defaults`.
    pub fn over(self, defaults: PartnerSettings) -> PartnerSettings {
        PartnerSettings {
            inbound_auto_redeem: self.inbound_auto_redeem.or(defaults.inbound_auto_redeem),
            outbound_auto_redeem: self.outbound_auto_redeem.or(defaults.outbound_auto_redeem),
            inbound_user_sync: self.inbound_user_sync.or(defaults.inbound_user_sync),
            inbound_group_sync: self.inbound_group_sync.or(defaults.inbound_group_sync),
        }
    }
}

/// Who a configuration considers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SyncScope {
    /// Users assigned directly, and direct members of assigned groups (Entra's recommended
    /// "Sync only assigned users and groups").
    #[default]
    AssignedUsersAndGroups,
    /// Every internal user of the source.
    AllUsers,
}

/// An assignment of a user or a group to a configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "type", content = "id")]
pub enum Assignment {
    User(ObjectId),
    Group(ObjectId),
}

/// One clause of a scoping filter, in Microsoft Graph's shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScopingClause {
    pub source_operand_name: String,
    pub operator_name: String,
    pub target_operand: ScopingOperand,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopingOperand {
    #[serde(default)]
    pub values: Vec<String>,
}

/// Clauses that must all hold. A configuration's groups are ORed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScopingFilterGroup {
    pub name: String,
    pub clauses: Vec<ScopingClause>,
}

/// When a mapping writes its target attribute.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum FlowType {
    /// On create and on every update.
    #[default]
    Always,
    /// Only when the target object is created.
    ObjectAddOnly,
}

/// Where a mapped value comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "type", content = "value")]
pub enum MappingSource {
    /// A source attribute, unchanged.
    Attribute(String),
    /// A constant string.
    Constant(String),
    /// An expression in the attribute-mapping language.
    Expression(String),
}

/// One attribute mapping of a configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributeMapping {
    pub target_attribute_name: String,
    pub source: MappingSource,
    #[serde(default)]
    pub flow_type: FlowType,
    /// Used on create when the source yields nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_value: Option<String>,
}

impl AttributeMapping {
    pub fn direct(source: &str, target: &str) -> Self {
        Self { target_attribute_name: target.into(), source: MappingSource::Attribute(source.into()), flow_type: FlowType::Always, default_value: None }
    }
    pub fn constant(value: &str, target: &str) -> Self {
        Self { target_attribute_name: target.into(), source: MappingSource::Constant(value.into()), flow_type: FlowType::Always, default_value: None }
    }
    pub fn expression(expr: &str, target: &str) -> Self {
        Self { target_attribute_name: target.into(), source: MappingSource::Expression(expr.into()), flow_type: FlowType::Always, default_value: None }
    }
}

/// What the configuration may do to target objects (Entra's "target object actions").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetActions {
    pub create: bool,
    pub update: bool,
    pub delete: bool,
}

impl Default for TargetActions {
    fn default() -> Self {
        Self { create: true, update: true, delete: true }
    }
}

/// When a failed object is tried again: after `base_seconds`, then twice as long each
/// time, at most `max_seconds` apart. (Entra retries after 6, 12 and 24 hours, then daily,
/// on a 40-minute cycle; tenantsync's cycles are seconds apart, so its defaults are
/// minutes.) A change of the source object retries it at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryPolicy {
    pub base_seconds: u64,
    pub max_seconds: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { base_seconds: 60, max_seconds: 3600 }
    }
}

/// When failures put a job in quarantine (Entra's documented thresholds by default):
/// evaluation starts once a cycle has `evaluate_after` failures; then more than
/// `failure_percent` % of the cycle's object actions failing, or more than `failures`
/// failures, quarantines; more than `absolute` failures always does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuarantineThresholds {
    pub evaluate_after: u64,
    pub failure_percent: u64,
    pub failures: u64,
    pub absolute: u64,
}

impl Default for QuarantineThresholds {
    fn default() -> Self {
        Self { evaluate_after: 5_000, failure_percent: 40, failures: 40_000, absolute: 60_000 }
    }
}

impl QuarantineThresholds {
    /// The quarantine reason for a cycle with `failed` of `total` object actions failing.
    pub fn reason(&self, failed: u64, total: u64) -> Option<QuarantineReason> {
        if failed > self.absolute {
            return Some(QuarantineReason::EncounteredTotalEscrowThreshold);
        }
        if failed < self.evaluate_after {
            return None;
        }
        if failed > self.failures {
            return Some(QuarantineReason::EncounteredBaseEscrowThreshold);
        }
        if failed.saturating_mul(100) > total.saturating_mul(self.failure_percent) {
            return Some(QuarantineReason::EncounteredEscrowProportionThreshold);
        }
        None
    }
}

/// Entra's default accidental-deletion threshold for cross-tenant sync.
pub const DEFAULT_DELETION_THRESHOLD: u32 = 500;

/// A one-way arrow from a source tenant to a target tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncConfiguration {
    pub id: SyncConfigId,
    pub display_name: String,
    pub source_tenant_id: TenantId,
    pub target_tenant_id: TenantId,
    #[serde(default)]
    pub scope: SyncScope,
    #[serde(default)]
    pub assignments: Vec<Assignment>,
    /// ORed groups of ANDed clauses; empty means no attribute filter.
    #[serde(default)]
    pub scoping_filter: Vec<ScopingFilterGroup>,
    pub user_mappings: Vec<AttributeMapping>,
    /// Entra's object mapping "Provision Microsoft Entra ID Groups" (a preview there):
    /// assigned groups are provisioned as static security groups with their in-scope
    /// members. Off by default; needs the assigned-users-and-groups scope.
    #[serde(default)]
    pub provision_groups: bool,
    /// The group attribute mappings (used when `provision_groups` is on).
    #[serde(default = "default_group_mappings")]
    pub group_mappings: Vec<AttributeMapping>,
    #[serde(default)]
    pub actions: TargetActions,
    /// Most deletions (soft deletes and disables) one cycle may make before it stops and
    /// quarantines the job; `None` turns the protection off.
    #[serde(default = "default_threshold")]
    pub deletion_threshold: Option<u32>,
    #[serde(default)]
    pub retry: RetryPolicy,
    #[serde(default)]
    pub quarantine: QuarantineThresholds,
}

fn default_threshold() -> Option<u32> {
    Some(DEFAULT_DELETION_THRESHOLD)
}

impl SyncConfiguration {
    /// A configuration with Entra's default cross-tenant mappings, assigned scope.
    pub fn new(display_name: &str, source: TenantId, target: TenantId) -> Result<Self, DomainError> {
        let display_name = display_name.trim();
        if display_name.is_empty() {
            return Err(DomainError::InvalidDisplayName { reason: "it is empty" });
        }
        Ok(Self {
            id: SyncConfigId::new(),
            display_name: display_name.to_owned(),
            source_tenant_id: source,
            target_tenant_id: target,
            scope: SyncScope::default(),
            assignments: Vec::new(),
            scoping_filter: Vec::new(),
            user_mappings: default_user_mappings(),
            provision_groups: false,
            group_mappings: default_group_mappings(),
            actions: TargetActions::default(),
            deletion_threshold: default_threshold(),
            retry: RetryPolicy::default(),
            quarantine: QuarantineThresholds::default(),
        })
    }
}

/// The default user mappings, equivalent to Entra's cross-tenant ("Azure2Azure")
/// template. The anchor (`AltSecIdFromNetId([netId])` → alternativeSecurityIds) and the
/// lifecycle (`IsSoftDeleted`) are built in and not listed; `userPrincipalName` always
/// takes the B2B form `<source UPN with @ as _>#EXT#@<target initial domain>`. The user
/// type is the constant `Member`, applied when the user is created (so an existing Guest
/// that is matched stays a Guest unless the mapping is changed to flow `Always`).
pub fn default_user_mappings() -> Vec<AttributeMapping> {
    let mut mappings: Vec<AttributeMapping> = [
        "accountEnabled",
        "displayName",
        "givenName",
        "surname",
        "mail",
        "mailNickname",
        "department",
        "jobTitle",
        "companyName",
        "employeeId",
        "officeLocation",
        "streetAddress",
        "city",
        "state",
        "postalCode",
        "country",
        "preferredLanguage",
        "telephoneNumber",
        "mobilePhone",
        "usageLocation",
        "manager",
    ]
    .into_iter()
    .map(|a| AttributeMapping::direct(a, a))
    .collect();
    mappings.push(AttributeMapping { flow_type: FlowType::ObjectAddOnly, ..AttributeMapping::constant("Member", "userType") });
    // As Entra's default: copies appear in the target's address list (people search).
    mappings.push(AttributeMapping::constant("true", "showInAddressList"));
    mappings
}

/// The default group mappings: every writable group attribute a cross-tenant copy can
/// carry. The anchor is built in (as for users); `securityEnabled` is not mapped because
/// the copy is always a static security group.
pub fn default_group_mappings() -> Vec<AttributeMapping> {
    ["displayName", "description", "mailNickname"].into_iter().map(|a| AttributeMapping::direct(a, a)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entra_quarantine_examples() {
        let q = QuarantineThresholds::default();
        // The reference's worked examples.
        assert_eq!(q.reason(4_000, 4_000), None);
        assert!(q.reason(45_000, 45_000).is_some());
        assert!(q.reason(30_000, 35_000).is_some());
        assert_eq!(q.reason(20_000, 120_000), None);
        assert!(q.reason(61_000, 200_000).is_some());
    }
}
