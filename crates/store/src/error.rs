use tenantsync_domain::{DomainError, ObjectId, ObjectKind, Version};
use thiserror::Error;

/// Everything a store can refuse or fail with. Each variant has one stable code.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StoreError {
    #[error(transparent)]
    Invalid(#[from] DomainError),
    #[error("tenant '{tenant}' not found")]
    TenantNotFound { tenant: String },
    #[error("{kind} '{id}' not found")]
    NotFound { kind: ObjectKind, id: ObjectId },
    #[error("userPrincipalName '{upn}' is already used in this tenant")]
    UpnTaken { upn: String },
    #[error("initial domain '{domain}' is already used by another tenant")]
    DomainTaken { domain: String },
    #[error("tenant id '{tenant}' already exists")]
    TenantExists { tenant: String },
    #[error("an object with anchor '{anchor}' already exists in this tenant")]
    AnchorTaken { anchor: String },
    #[error("{kind} '{id}' already exists")]
    IdTaken { kind: ObjectKind, id: ObjectId },
    #[error("{kind} '{id}' has version {actual}, not {expected}: it changed since it was read")]
    VersionMismatch { kind: ObjectKind, id: ObjectId, expected: Version, actual: Version },
    #[error("manager '{reference}' is not a user of this tenant")]
    UnknownManager { reference: String },
    #[error("a user cannot be their own manager")]
    SelfManager,
    #[error("{kind} '{id}' is deleted; restore it first")]
    ObjectDeleted { kind: ObjectKind, id: ObjectId },
    #[error("{kind} '{id}' is not deleted")]
    NotDeleted { kind: ObjectKind, id: ObjectId },
    #[error("user '{user}' is already a member of group '{group}'")]
    MemberExists { group: ObjectId, user: ObjectId },
    #[error("user '{user}' is not a member of group '{group}'")]
    NotAMember { group: ObjectId, user: ObjectId },
    #[error("the database schema is version {found}, newer than this tenantsync knows ({supported}); use a newer tenantsync")]
    SchemaTooNew { found: i64, supported: i64 },
    #[error("'{path}' is not a tenantsync data directory: {reason}")]
    ForeignDataDirectory { path: String, reason: String },
    #[error("cannot open data directory '{path}': {reason}")]
    Unreadable { path: String, reason: String },
    #[error("the query cannot be answered: {reason}")]
    UnsupportedQuery { reason: String },
    #[error("API token '{id}' not found")]
    TokenNotFound { id: ObjectId },
    #[error("sync configuration '{id}' not found")]
    SyncConfigNotFound { id: String },
    #[error("a sync configuration from '{source_tenant}' to '{target_tenant}' exists already ('{existing}')")]
    SyncConfigExists { source_tenant: String, target_tenant: String, existing: String },
    #[error("the store is closed")]
    Closed,
    #[error("storage failure: {message}")]
    Internal { message: String },
}

impl StoreError {
    /// The stable, documented code of this error (see docs/errors.md).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid(e) => e.code(),
            Self::TenantNotFound { .. } => "tenant_not_found",
            Self::NotFound { .. } => "not_found",
            Self::UpnTaken { .. } => "upn_conflict",
            Self::DomainTaken { .. } => "domain_conflict",
            Self::TenantExists { .. } => "tenant_conflict",
            Self::AnchorTaken { .. } => "anchor_conflict",
            Self::IdTaken { .. } => "id_conflict",
            Self::VersionMismatch { .. } => "version_mismatch",
            Self::UnknownManager { .. } => "unknown_manager",
            Self::SelfManager => "self_manager",
            Self::ObjectDeleted { .. } => "object_deleted",
            Self::NotDeleted { .. } => "not_deleted",
            Self::MemberExists { .. } => "member_exists",
            Self::NotAMember { .. } => "not_a_member",
            Self::SchemaTooNew { .. } => "schema_too_new",
            Self::ForeignDataDirectory { .. } => "foreign_data_directory",
            Self::Unreadable { .. } => "unreadable_data_directory",
            Self::UnsupportedQuery { .. } => "unsupported_query",
            Self::TokenNotFound { .. } => "token_not_found",
            Self::SyncConfigNotFound { .. } => "sync_configuration_not_found",
            Self::SyncConfigExists { .. } => "sync_configuration_conflict",
            Self::Closed => "store_closed",
            Self::Internal { .. } => "storage_failure",
        }
    }

    /// True for refusals caused by the request (bad input or conflicts), false for
    /// failures of the storage itself.
    pub fn is_refusal(&self) -> bool {
        !matches!(self, Self::Internal { .. } | Self::Closed | Self::Unreadable { .. } | Self::SchemaTooNew { .. } | Self::ForeignDataDirectory { .. })
    }
}
