use tenantsync_domain::{DomainError, ObjectId, ObjectKind, Version};
use thiserror::Error;

/// Everything a store can refuse or fail with. Each variant has one row in the error table
/// below (code, HTTP status, meaning).
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
    #[error("{what} changed since it was read; read it again")]
    AccessConflict { what: String },
    #[error("a connector named '{name}' exists already")]
    ConnectorExists { name: String },
    #[error("connector '{name}' not found")]
    ConnectorNotFound { name: String },
    #[error("the store is closed")]
    Closed,
    #[error("the data directory is busy: another process held its write lock longer than this one waits; retry")]
    Busy,
    #[error("'{path}' is damaged: {reason}")]
    Corrupt { path: String, reason: String },
    #[error("'{path}' is not a tenantsync backup: {reason}")]
    NotABackup { path: String, reason: String },
    #[error("'{path}' {reason}; nothing was overwritten")]
    DestinationExists { path: String, reason: String },
    #[error("cannot reach the database at '{url}': {reason}")]
    Unreachable { url: String, reason: String },
    #[error("what was copied does not match its source: {what} is {found}, not {expected} (was the source written to during the copy?); nothing was kept")]
    MigrationMismatch { what: String, expected: u64, found: u64 },
    #[error("storage failure: {message}")]
    Internal { message: String },
}

tenantsync_domain::error_table! {
    StoreError {
        TenantNotFound => "tenant_not_found", 404, "no tenant with that id or initial domain";
        NotFound => "not_found", 404, "no user or group with that id in the tenant";
        UpnTaken => "upn_conflict", 409, "the userPrincipalName is used by another user of the tenant (soft-deleted users keep theirs until they give it up: SCIM asks them to when a create or a rename wants it)";
        DomainTaken => "domain_conflict", 409, "another tenant has that initial domain";
        TenantExists => "tenant_conflict", 409, "a tenant with that id exists";
        AnchorTaken => "anchor_conflict", 409, "an object with that anchor exists in the tenant";
        IdTaken => "id_conflict", 409, "an object with that id exists";
        VersionMismatch => "version_mismatch", 412, "the object's version is not the one the write named (stale ETag)";
        UnknownManager => "unknown_manager", 400, "the manager is not a live user of the same tenant";
        SelfManager => "self_manager", 400, "a user named as their own manager";
        ObjectDeleted => "object_deleted", 409, "the object is soft-deleted: restore it before changing it (over SCIM a soft-deleted object does not exist: `not_found`, 404)";
        NotDeleted => "not_deleted", 409, "restore of an object that is not deleted";
        MemberExists => "member_exists", 409, "the user is already a direct member";
        NotAMember => "not_a_member", 404, "the user is not a direct member";
        SchemaTooNew => "schema_too_new", 500, "the database was written by a newer tenantsync";
        ForeignDataDirectory => "foreign_data_directory", 500, "the data directory holds something that is not tenantsync's";
        Unreadable => "unreadable_data_directory", 500, "the data directory cannot be created, opened or read";
        UnsupportedQuery => "unsupported_query", 400, "a filter or sort the store cannot run as a query (over SCIM: `invalidFilter`)";
        TokenNotFound => "token_not_found", 404, "no API token with that id (the CLI's `token revoke`; over SCIM a bad token is `unauthorized`, 401)";
        SyncConfigNotFound => "sync_configuration_not_found", 404, "no sync configuration with that id or pair";
        SyncConfigExists => "sync_configuration_conflict", 409, "a sync configuration for that source → target pair exists";
        AccessConflict => "access_conflict", 409, "an access request or assignment changed between its read and this write (two approvers at once: the first one wins)";
        ConnectorExists => "connector_conflict", 409, "a connector with that name exists";
        ConnectorNotFound => "connector_not_found", 404, "no connector with that name";
        Closed => "store_closed", 503, "the store was shut down";
        Busy => "store_busy", 503, "another process held the database's write lock longer than the store waits (`TENANTSYNC_BUSY_TIMEOUT_MS`, default 30 s), or on PostgreSQL a deadlock or serialization conflict; retry (over SCIM: 503 with `Retry-After`)";
        Corrupt => "corrupt_database", 500, "a database file fails SQLite's integrity check (`restore` refuses it and writes nothing)";
        NotABackup => "not_a_backup", 400, "`restore` of a file that is not a tenantsync database (not SQLite, or another application's)";
        DestinationExists => "destination_exists", 409, "`backup` to a file that exists, or `restore` or `migrate` into a data directory or database that is not empty: nothing is overwritten";
        Unreachable => "store_unreachable", 503, "the database server cannot be reached or refuses the connection (the URL is shown without its password)";
        MigrationMismatch => "migration_mismatch", 500, "`migrate` found the copy different from its source (a table's row count or a tenant's change head): the destination was rolled back; stop every writer of the source and run it again";
        Internal => "storage_failure", 500, "the database itself failed (disk full, I/O error, corruption)";
    }
    carried {
        StoreError::Invalid(e) => e.info();
    }
}

impl StoreError {
    /// True for refusals caused by the request (bad input or conflicts), false for
    /// failures of the storage itself.
    pub fn is_refusal(&self) -> bool {
        !matches!(
            self,
            Self::Internal { .. }
                | Self::Closed
                | Self::Busy
                | Self::Unreachable { .. }
                | Self::Corrupt { .. }
                | Self::Unreadable { .. }
                | Self::SchemaTooNew { .. }
                | Self::ForeignDataDirectory { .. }
                | Self::MigrationMismatch { .. }
        )
    }
}
