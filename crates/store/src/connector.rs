//! What connectors keep (the protocols are `tenantsync-connectors`'): each connector's
//! definition as a document (its secret sealed inside, never in clear), one **link** per
//! object it has exchanged with its external system, and its state (a watermark and a
//! status, as a document the connector owns).
//!
//! A link ties an object of the connector's tenant to the object's id in the external
//! system, with a digest and a copy of what was last sent, so an update sends only what
//! changed, a retry after a crash finds what it made before, and a deletion finds its
//! target. A link may also hold a **fault**: the object's last export failed, and is
//! retried at `retry_at` (an escrow, with its attempts).
//!
//! The promises: [`ConnectorStore::commit_connector`] writes its links and the state in one
//! transaction; links are found by object and by external id through indexes, never by a
//! scan; faults due are found by an index on their time; deleting a connector deletes its
//! links and state with it.
use crate::Result;
use async_trait::async_trait;
use jiff::Timestamp;
use tenantsync_domain::{ObjectId, ObjectKind, TenantId};

/// A connector as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectorRecord {
    pub id: ObjectId,
    /// Unique across the store; how admins name it.
    pub name: String,
    /// The tenantsync tenant whose objects it exports, or which it feeds.
    pub tenant: TenantId,
    pub created: Timestamp,
    /// The definition, as the connectors crate writes it (secrets sealed).
    pub body: serde_json::Value,
}

impl ConnectorRecord {
    pub fn key(&self) -> ConnectorKey {
        ConnectorKey { tenant: self.tenant, id: self.id }
    }
}

/// How the store finds a connector's links and state: its id, with its tenant (the key
/// every per-tenant table starts with).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnectorKey {
    pub tenant: TenantId,
    pub id: ObjectId,
}

/// One object's link to the external system.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    /// The object in the connector's tenant.
    pub object: ObjectId,
    pub kind: ObjectKind,
    /// Its id in the external system, once it has one.
    pub external_id: Option<String>,
    /// A digest of what was last sent (or read, for a source).
    pub digest: Option<Vec<u8>>,
    /// What was last sent, attribute by attribute, to compute the next update's changes.
    pub exported: Option<serde_json::Value>,
    /// The last attempt failed: why, how many times in a row, and when to try again.
    pub fault: Option<LinkFault>,
}

/// An escrowed export of one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkFault {
    pub error: String,
    pub attempts: u32,
    pub retry_at: Timestamp,
}

/// What one step of a connector's work writes, all in one transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConnectorStep {
    /// Links written whole (inserted or replaced).
    pub links: Vec<Link>,
    /// Links removed (the object is gone from both sides).
    pub unlinked: Vec<ObjectId>,
    /// The connector's new state, when it moves.
    pub state: Option<serde_json::Value>,
    /// Links found again by a reconciliation, marked after `links` are written.
    pub seen: Option<Seen>,
}

/// The links a reconciliation found in its system: marked with its generation, so the
/// sweep at its end reads from the store what was not found
/// ([`ConnectorStore::unseen_links`]) instead of holding every external id it read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen {
    /// The reconciliation's generation (one more than the last one's).
    pub generation: u64,
    /// External ids read; those without a link are ignored.
    pub external_ids: Vec<String>,
}

/// The storage of connectors.
#[async_trait]
pub trait ConnectorStore: Send + Sync + std::fmt::Debug + 'static {
    /// Adds a connector (`connector_exists` if its name is taken; `tenant_not_found`).
    async fn create_connector(&self, connector: ConnectorRecord) -> Result<()>;
    /// Replaces a connector's definition (`connector_not_found`).
    async fn update_connector(&self, connector: ConnectorRecord) -> Result<()>;
    async fn connector_by_name(&self, name: &str) -> Result<Option<ConnectorRecord>>;
    /// Every connector, by name.
    async fn connectors(&self) -> Result<Vec<ConnectorRecord>>;
    /// Removes a connector with its links and state; false if there was none.
    async fn delete_connector(&self, c: ConnectorKey) -> Result<bool>;

    /// The connector's state document (`None` before its first step).
    async fn connector_state(&self, c: ConnectorKey) -> Result<Option<serde_json::Value>>;
    /// Writes a step: links, removals and state together.
    async fn commit_connector(&self, c: ConnectorKey, step: ConnectorStep) -> Result<()>;

    /// The links of these objects (those that have one), in no particular order.
    async fn links(&self, c: ConnectorKey, objects: &[ObjectId]) -> Result<Vec<Link>>;
    /// The link holding this external id, if any.
    async fn link_by_external_id(&self, c: ConnectorKey, external_id: &str) -> Result<Option<Link>>;
    /// Links in object-id order after `after`, at most `limit` (a whole walk, page by page).
    async fn link_page(&self, c: ConnectorKey, after: Option<ObjectId>, limit: u32) -> Result<Vec<Link>>;
    /// Links holding an external id that no step marked seen by `generation`, in
    /// object-id order after `after`, at most `limit` (a reconciliation's sweep).
    async fn unseen_links(&self, c: ConnectorKey, generation: u64, after: Option<ObjectId>, limit: u32) -> Result<Vec<Link>>;
    /// The generation of the last reconciliation that marked the link holding this
    /// external id seen (`None`: no such link, or no reconciliation marked it; rewriting
    /// a link keeps its mark). An import reads it to tell a group's first appearance in a
    /// reconciliation from a later part of its members.
    async fn link_seen(&self, c: ConnectorKey, external_id: &str) -> Result<Option<u64>>;
    /// Links whose fault is due at `now`, soonest first, at most `limit`.
    async fn due_faults(&self, c: ConnectorKey, now: Timestamp, limit: u32) -> Result<Vec<Link>>;
    /// How many links the connector holds, and how many of them hold a fault.
    async fn link_counts(&self, c: ConnectorKey) -> Result<(u64, u64)>;
    /// Takes the connector's lease, as [`SyncStore::try_lease_job`](crate::SyncStore::try_lease_job)
    /// takes a job's: one worker of all the store's processes runs the connector at a time;
    /// `None` when another holds it (`connector_not_found` if there is no such connector).
    async fn try_lease_connector(&self, c: ConnectorKey) -> Result<Option<crate::JobLease>>;
}
