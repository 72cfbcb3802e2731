//! A store's whole content as a stream of store-neutral records, and its restore into
//! another (empty) store: what `tenantsync migrate` copies between SQLite and PostgreSQL.
//!
//! A [`DumpStore`] reads its tables a page at a time in key order
//! ([`DumpStore::dump_page`]): memory stays bounded whatever the size of a tenant. A
//! [`Restore`] takes the records in [`DumpTable::ALL`] order (what a record refers to
//! comes before it) and writes them **in one transaction**: nothing is visible, and
//! nothing is left behind, until [`Restore::commit`]; dropping it rolls everything back.
//! Records keep what the source stored: ids, versions, times, change sequence numbers,
//! job watermarks. What a store derives from its rows (object counts, the live users per
//! anchor source tenant, the extension-value index, the initial-domain index) the
//! restore derives again.
//!
//! Bodies that both stores keep as the same JSON text (configurations, job states,
//! settings, audit records, documents) travel as that text.
//!
//! Not copied: the web console's sessions and one-time sign-in codes
//! ([`ConsoleStore`](crate::ConsoleStore)). They are transient by design (minutes to
//! hours), bound to the secrets of cookies and mails of the running deployment, and a
//! migration is a cut-over: signing in again afterwards is the expected cost, while a
//! copied session would keep a browser signed in against a store it never signed in to.
use crate::{ApiToken, ProvisioningLog, Result, Store};
use async_trait::async_trait;
use serde::Serialize;
use std::collections::BTreeMap;
use tenantsync_domain::{Change, Group, ObjectId, SyncConfigId, Tenant, TenantId, User};

/// The kinds of rows a store holds, in the order a restore takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum DumpTable {
    Tenants,
    Users,
    Groups,
    Members,
    BareNames,
    Changes,
    Tokens,
    PartnerSettings,
    SyncConfigurations,
    JobStates,
    ProvisioningLogs,
    AuditRecords,
    AdminObjects,
    AccessObjects,
    AccessRequests,
    AccessAssignments,
    AccessGuests,
    AccessOutbox,
    Connectors,
    ConnectorLinks,
}

impl DumpTable {
    /// Every table, parents before children.
    pub const ALL: [DumpTable; 20] = [
        DumpTable::Tenants,
        DumpTable::Users,
        DumpTable::Groups,
        DumpTable::Members,
        DumpTable::BareNames,
        DumpTable::Changes,
        DumpTable::Tokens,
        DumpTable::PartnerSettings,
        DumpTable::SyncConfigurations,
        DumpTable::JobStates,
        DumpTable::ProvisioningLogs,
        DumpTable::AuditRecords,
        DumpTable::AdminObjects,
        DumpTable::AccessObjects,
        DumpTable::AccessRequests,
        DumpTable::AccessAssignments,
        DumpTable::AccessGuests,
        DumpTable::AccessOutbox,
        DumpTable::Connectors,
        DumpTable::ConnectorLinks,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DumpTable::Tenants => "tenants",
            DumpTable::Users => "users",
            DumpTable::Groups => "groups",
            DumpTable::Members => "members",
            DumpTable::BareNames => "bareNames",
            DumpTable::Changes => "changes",
            DumpTable::Tokens => "tokens",
            DumpTable::PartnerSettings => "partnerSettings",
            DumpTable::SyncConfigurations => "syncConfigurations",
            DumpTable::JobStates => "jobStates",
            DumpTable::ProvisioningLogs => "provisioningLogs",
            DumpTable::AuditRecords => "auditRecords",
            DumpTable::AdminObjects => "adminObjects",
            DumpTable::AccessObjects => "accessObjects",
            DumpTable::AccessRequests => "accessRequests",
            DumpTable::AccessAssignments => "accessAssignments",
            DumpTable::AccessGuests => "accessGuests",
            DumpTable::AccessOutbox => "accessOutbox",
            DumpTable::Connectors => "connectors",
            DumpTable::ConnectorLinks => "connectorLinks",
        }
    }
}

/// One row of a store, in terms both stores share. Times are milliseconds since the
/// Unix epoch, as both stores keep them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DumpRecord {
    /// A tenant and the sequence number of its newest change.
    Tenant {
        tenant: Tenant,
        change_head: u64,
    },
    /// A user as stored, soft-deleted ones included.
    User(Box<User>),
    Group(Box<Group>),
    Member {
        tenant: TenantId,
        group: ObjectId,
        user: ObjectId,
    },
    /// A user whose name a client gave without its domain.
    BareName {
        tenant: TenantId,
        user: ObjectId,
    },
    Change(Box<Change>),
    Token(Box<ApiToken>),
    /// `partner` is `None` for the tenant's defaults; `settings` is the stored JSON.
    PartnerSettings {
        tenant: TenantId,
        partner: Option<TenantId>,
        settings: String,
    },
    SyncConfiguration {
        id: SyncConfigId,
        source: TenantId,
        target: TenantId,
        created_ms: i64,
        body: String,
    },
    JobState {
        config: SyncConfigId,
        target: TenantId,
        watermark: i64,
        body: String,
    },
    /// `target` is the target tenant of its configuration; `None` when the configuration
    /// was deleted since and the source store does not know it.
    ProvisioningLog {
        target: Option<TenantId>,
        log: Box<ProvisioningLog>,
    },
    AuditRecord {
        tenant: TenantId,
        at_ms: i64,
        id: ObjectId,
        body: String,
    },
    AdminObject {
        tenant: TenantId,
        kind: String,
        id: ObjectId,
        created_ms: i64,
        body: String,
    },
    AccessObject {
        tenant: TenantId,
        kind: String,
        id: ObjectId,
        body: String,
    },
    AccessRequest(AccessRequestRow),
    AccessAssignment(AccessAssignmentRow),
    AccessGuest {
        tenant: TenantId,
        user: ObjectId,
        delete_ms: i64,
    },
    AccessOutbox {
        tenant: TenantId,
        id: ObjectId,
        next_ms: Option<i64>,
        body: String,
    },
    /// A connector: its definition (secret sealed) and state documents as stored.
    Connector {
        id: ObjectId,
        name: String,
        tenant: TenantId,
        created_ms: i64,
        body: String,
        state: Option<String>,
    },
    /// A connector's link; `kind` 1 user, 2 group.
    ConnectorLink(Box<ConnectorLinkRow>),
}

/// A connector's link as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorLinkRow {
    pub tenant: TenantId,
    pub connector: ObjectId,
    pub object: ObjectId,
    pub kind: i16,
    pub external_id: Option<String>,
    pub digest: Option<Vec<u8>>,
    pub exported: Option<String>,
    pub fault: Option<String>,
    pub retry_ms: Option<i64>,
}

impl DumpRecord {
    /// The table the record belongs to.
    pub fn table(&self) -> DumpTable {
        match self {
            DumpRecord::Tenant { .. } => DumpTable::Tenants,
            DumpRecord::User(_) => DumpTable::Users,
            DumpRecord::Group(_) => DumpTable::Groups,
            DumpRecord::Member { .. } => DumpTable::Members,
            DumpRecord::BareName { .. } => DumpTable::BareNames,
            DumpRecord::Change(_) => DumpTable::Changes,
            DumpRecord::Token(_) => DumpTable::Tokens,
            DumpRecord::PartnerSettings { .. } => DumpTable::PartnerSettings,
            DumpRecord::SyncConfiguration { .. } => DumpTable::SyncConfigurations,
            DumpRecord::JobState { .. } => DumpTable::JobStates,
            DumpRecord::ProvisioningLog { .. } => DumpTable::ProvisioningLogs,
            DumpRecord::AuditRecord { .. } => DumpTable::AuditRecords,
            DumpRecord::AdminObject { .. } => DumpTable::AdminObjects,
            DumpRecord::AccessObject { .. } => DumpTable::AccessObjects,
            DumpRecord::AccessRequest(_) => DumpTable::AccessRequests,
            DumpRecord::AccessAssignment(_) => DumpTable::AccessAssignments,
            DumpRecord::AccessGuest { .. } => DumpTable::AccessGuests,
            DumpRecord::AccessOutbox { .. } => DumpTable::AccessOutbox,
            DumpRecord::Connector { .. } => DumpTable::Connectors,
            DumpRecord::ConnectorLink(_) => DumpTable::ConnectorLinks,
        }
    }
}

/// An access request's row: the document and the columns it is found by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRequestRow {
    pub tenant: TenantId,
    pub id: ObjectId,
    pub version: i64,
    pub requestor: Option<ObjectId>,
    pub package: ObjectId,
    pub open: bool,
    pub due_ms: Option<i64>,
    pub body: String,
}

/// An access assignment's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessAssignmentRow {
    pub tenant: TenantId,
    pub id: ObjectId,
    pub version: i64,
    pub target: ObjectId,
    pub package: ObjectId,
    pub policy: ObjectId,
    pub current: bool,
    pub due_ms: Option<i64>,
    pub body: String,
}

/// One part of a position in a table: what its key is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DumpKey {
    Id([u8; 16]),
    Int(i64),
    Text(String),
}

/// Where a page of [`DumpStore::dump_page`] ended; only the store that gave it reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpCursor(pub Vec<DumpKey>);

/// A page of one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpPage {
    pub records: Vec<DumpRecord>,
    /// Where the next page starts; `None` at the end of the table.
    pub next: Option<DumpCursor>,
}

/// How many rows of each table a store holds, and each tenant's change head.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub tables: BTreeMap<DumpTable, u64>,
    pub heads: BTreeMap<TenantId, u64>,
}

impl Tally {
    /// Whether the store holds nothing at all.
    pub fn is_empty(&self) -> bool {
        self.tables.values().all(|n| *n == 0) && self.heads.is_empty()
    }
}

/// A restore in progress: one open transaction in the destination.
#[async_trait]
pub trait Restore: Send {
    /// Writes records, taken in [`DumpTable::ALL`] order across calls.
    async fn push(&mut self, records: Vec<DumpRecord>) -> Result<()>;
    /// What the open transaction holds (the caller compares it with the source's
    /// before it commits).
    async fn tally(&mut self) -> Result<Tally>;
    /// Derives what the store keeps beside its rows and commits.
    async fn commit(self: Box<Self>) -> Result<()>;
}

/// A store that can give its content away as records and take another's.
#[async_trait]
pub trait DumpStore: Store {
    /// Up to about `limit` records of `table` after `after`, in the table's key order.
    async fn dump_page(&self, table: DumpTable, after: Option<&DumpCursor>, limit: u32) -> Result<DumpPage>;
    /// How many rows each table holds, and each tenant's change head.
    async fn tally(&self) -> Result<Tally>;
    /// Begins a restore into this store, which should be empty (the caller checks).
    async fn restore(&self) -> Result<Box<dyn Restore>>;
}
