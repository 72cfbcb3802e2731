//! What the admin API (Graph-shaped, `/v1.0`) keeps beside the directory and the sync
//! state: the **admin audit log** (who changed what through the API, old → new) and
//! **admin objects** (documents of API resources that have no domain counterpart yet,
//! such as a service principal waiting for its sync target), plus the position types of
//! paged provisioning-log reads.
//!
//! Audit records commit **with the write they describe** where the store allows it:
//! [`crate::SyncStore::apply_audited`] (directory writes) and
//! [`crate::SyncStore::put_admin_object`] / [`crate::SyncStore::delete_admin_object`]
//! take the record and write it in the same transaction. Writes made through other
//! methods (access settings, sync configurations, job control) are recorded after they
//! commit with [`crate::SyncStore::append_audit`].
use crate::ModifiedProperty;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tenantsync_domain::{ObjectId, TenantId};

/// Graph's `directoryAudit.operationType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AuditOperation {
    Add,
    Update,
    Delete,
    Assign,
    Unassign,
}

impl AuditOperation {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditOperation::Add => "Add",
            AuditOperation::Update => "Update",
            AuditOperation::Delete => "Delete",
            AuditOperation::Assign => "Assign",
            AuditOperation::Unassign => "Unassign",
        }
    }
}

/// Graph's `directoryAudit.category`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AuditCategory {
    UserManagement,
    GroupManagement,
    /// Cross-tenant access settings.
    Policy,
    /// Service principals, sync jobs, their schema, secrets and assignments.
    ApplicationManagement,
    /// Job control: start, pause, restart, provision on demand.
    ProvisioningManagement,
}

impl AuditCategory {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditCategory::UserManagement => "UserManagement",
            AuditCategory::GroupManagement => "GroupManagement",
            AuditCategory::Policy => "Policy",
            AuditCategory::ApplicationManagement => "ApplicationManagement",
            AuditCategory::ProvisioningManagement => "ProvisioningManagement",
        }
    }
}

/// Who made the change: an API token of the tenant (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditActor {
    pub token_id: ObjectId,
    pub token_name: String,
}

/// What was changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditTarget {
    /// Graph's `targetResource.type`: `User`, `Group`, `Policy`, `ServicePrincipal`, …
    pub kind: String,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// For users: the userPrincipalName.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_principal_name: Option<String>,
}

/// One record of the admin audit log (Graph's `directoryAudit`). Only writes that
/// committed are recorded, so every record's result is a success.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    /// Time-ordered (UUIDv7).
    pub id: ObjectId,
    pub tenant_id: TenantId,
    pub activity_date_time: Timestamp,
    /// Graph's `activityDisplayName`: `Add user`, `Update policy`, …
    pub activity: String,
    pub operation: AuditOperation,
    pub category: AuditCategory,
    /// The request id of the API call (Graph's `correlationId`).
    pub correlation_id: String,
    pub initiated_by: AuditActor,
    pub target: AuditTarget,
    /// Each changed property, old → new (`None`: absent).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub modified_properties: Vec<ModifiedProperty>,
}

/// A position in a tenant's audit log, newest first: the record to continue after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditCursor {
    pub at: Timestamp,
    pub id: ObjectId,
}

/// Which audit records to read: one tenant's, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    /// Records at or after this time.
    pub since: Option<Timestamp>,
    /// Records before this time.
    pub until: Option<Timestamp>,
    /// Continue after this record (keyset paging: a deep page costs what the first costs).
    pub after: Option<AuditCursor>,
    /// At most this many (at least one is asked for).
    pub limit: u32,
}

impl Default for AuditQuery {
    fn default() -> Self {
        Self { since: None, until: None, after: None, limit: 100 }
    }
}

/// A page of audit records and where the next one starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPage {
    pub records: Vec<AuditRecord>,
    pub next: Option<AuditCursor>,
}

/// The kinds of admin objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdminObjectKind {
    /// A Graph service principal of the cross-tenant sync template: the configuration
    /// to be, with what it holds before it has a target.
    ServicePrincipal,
}

impl AdminObjectKind {
    /// Stable text, as stores persist it.
    pub fn as_str(self) -> &'static str {
        match self {
            AdminObjectKind::ServicePrincipal => "servicePrincipal",
        }
    }
}

/// A position in a provisioning-log read, newest first; opaque to callers (each store
/// says what it holds), who only hand it back in [`crate::LogQuery::after`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LogCursor(pub String);

/// A page of provisioning log records, newest first, and where the next one starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogPage {
    pub records: Vec<crate::ProvisioningLog>,
    pub next: Option<LogCursor>,
}
