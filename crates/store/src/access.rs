//! What entitlement management keeps (the rules are `tenantsync-access`'s): definitions as
//! documents (connected organizations, catalogs, access packages, assignment policies,
//! the tenant's settings), requests and assignments with the time each is next due, the
//! outbox of notifications, and governed guests' planned deletions.
//!
//! The promises: one [`AccessStep`] commits whole or not at all (its directory writes
//! and their change rows included), and each row's expected
//! version must still hold (`access_conflict` otherwise: the first approver wins); due
//! work is found by an index on the due time, so a sweep costs what is due, not what is
//! held; definitions are per tenant.
use crate::Result;
use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tenantsync_access::{Assignment, AssignmentId, PackageId, PolicyId, Request, RequestId};
use tenantsync_domain::{ObjectId, TenantId};

/// The kinds of definitions kept as documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccessObjectKind {
    ConnectedOrganization,
    Catalog,
    AccessPackage,
    AssignmentPolicy,
    /// The tenant's `entitlementManagementSettings` (one, with the nil id).
    Settings,
    /// An access review instance of a policy's assignments, with its decisions.
    ReviewInstance,
    /// An auto-assignment policy's progress through the tenant's change feed (its
    /// watermark) and the removals it has pending, kept under the policy's id.
    AutoAssignment,
    /// A personal token's user (kept under the token's id): the token acts as that user.
    PersonalToken,
    /// A resource of a catalog (a group, a sync configuration).
    CatalogResource,
    /// A request that added a resource to a catalog or removed it.
    ResourceRequest,
}

impl AccessObjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessObjectKind::ConnectedOrganization => "connectedOrganization",
            AccessObjectKind::Catalog => "catalog",
            AccessObjectKind::AccessPackage => "accessPackage",
            AccessObjectKind::AssignmentPolicy => "assignmentPolicy",
            AccessObjectKind::Settings => "settings",
            AccessObjectKind::ReviewInstance => "reviewInstance",
            AccessObjectKind::AutoAssignment => "autoAssignment",
            AccessObjectKind::PersonalToken => "personalToken",
            AccessObjectKind::CatalogResource => "catalogResource",
            AccessObjectKind::ResourceRequest => "resourceRequest",
        }
    }
}

/// A stored value with the version it was read at (for the next write's expectation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned<T> {
    pub value: T,
    pub version: u64,
}

/// A row to write in a step: its new value, the version it must still have (`None` for
/// a new row), and when the clock next has work for it (`None`: never).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepRow<T> {
    pub value: T,
    pub expect: Option<u64>,
    pub due: Option<Timestamp>,
}

/// A notification waiting to be sent (mail and webhook), with its attempts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxMessage {
    /// Time-ordered (UUIDv7).
    pub id: ObjectId,
    pub created: Timestamp,
    /// The event, in the words of the reference's §4.7 (`approvalRequired`, `accessGranted`, …).
    pub event: String,
    /// The users it goes to.
    pub recipients: Vec<ObjectId>,
    /// Mail addresses it goes to besides (someone from outside with no account yet).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
    pub subject: String,
    pub body: String,
    pub attempts: u32,
    pub next_attempt: Timestamp,
    pub delivered: Option<Timestamp>,
}

/// A governed guest whose last assignment ended: blocked, and deleted at `delete_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuestSchedule {
    pub user: ObjectId,
    pub delete_at: Timestamp,
}

/// The writes of one step of entitlement management, committed together.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessStep {
    pub requests: Vec<StepRow<Request>>,
    pub assignments: Vec<StepRow<Assignment>>,
    pub outbox: Vec<OutboxMessage>,
    pub guests: Vec<GuestSchedule>,
    /// Guests whose planned deletion is called off (they got access again).
    pub guests_spared: Vec<ObjectId>,
    /// Directory writes of the step (a delivery's memberships, a guest signing in again),
    /// applied in its transaction through the directory's write path, each with its
    /// change row, all or none ([`BatchMode::Atomic`](crate::BatchMode)): a delivery is
    /// one commit, and a refused write leaves nothing of the step.
    pub directory: Vec<crate::WriteOp>,
    /// The audit record of the step (an admin's action, such as an invitation with its
    /// mail), appended in its transaction. Its tenant must be the step's.
    pub audit: Option<crate::AuditRecord>,
}

/// Which requests to read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestFilter {
    pub requestor: Option<ObjectId>,
    pub package: Option<PackageId>,
    /// Only those not finished.
    pub open_only: bool,
    /// Only those after this one (in id order, which is creation order): a page's start.
    pub after: Option<RequestId>,
    /// Only those before this one: the page that ends just before it (the last `limit`
    /// of them, still in creation order), for a "previous page".
    pub before: Option<RequestId>,
    /// At most this many (`None`: all).
    pub limit: Option<u32>,
}

/// An access package's live counts ([`AccessStore::count_access`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccessCounts {
    /// Assignments not expired.
    pub assignments: u64,
    /// Requests not finished.
    pub pending_requests: u64,
}

/// Which assignments to read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AssignmentFilter {
    pub target: Option<ObjectId>,
    pub package: Option<PackageId>,
    pub policy: Option<PolicyId>,
    /// Only those not expired.
    pub current_only: bool,
    /// Only those after this one (in id order, which is creation order): a page's start.
    pub after: Option<AssignmentId>,
    /// Only those before this one: the page that ends just before it (the last `limit`
    /// of them, still in creation order), for a "previous page".
    pub before: Option<AssignmentId>,
    /// At most this many (`None`: all).
    pub limit: Option<u32>,
}

/// A page of definitions of one kind, in id order ([`AccessStore::access_objects_page`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRange {
    /// Only those after this id: a page's start.
    pub after: Option<ObjectId>,
    /// Only those before this id: the page that ends just before it (the last `limit`
    /// of them, still in id order).
    pub before: Option<ObjectId>,
    pub limit: u32,
}

impl IdRange {
    /// The first `limit`.
    pub fn first(limit: u32) -> IdRange {
        IdRange { after: None, before: None, limit }
    }
}

/// What is due, across tenants, oldest due first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DueWork {
    pub requests: Vec<(TenantId, Versioned<Request>)>,
    pub assignments: Vec<(TenantId, Versioned<Assignment>)>,
    pub guests: Vec<(TenantId, GuestSchedule)>,
}

impl DueWork {
    pub fn is_empty(&self) -> bool {
        self.requests.is_empty() && self.assignments.is_empty() && self.guests.is_empty()
    }
}

/// Entitlement management's storage.
#[async_trait]
pub trait AccessStore: Send + Sync {
    /// Writes a definition (insert or replace).
    async fn put_access_object(&self, tenant: TenantId, kind: AccessObjectKind, id: ObjectId, body: serde_json::Value) -> Result<()>;
    async fn access_object(&self, tenant: TenantId, kind: AccessObjectKind, id: ObjectId) -> Result<Option<serde_json::Value>>;
    /// Every definition of a kind, in id order.
    async fn access_objects(&self, tenant: TenantId, kind: AccessObjectKind) -> Result<Vec<serde_json::Value>>;
    /// A page of the definitions of a kind, in id order, by the primary key: a page of a
    /// list costs the page, however many the tenant has. Each with its id.
    async fn access_objects_page(&self, tenant: TenantId, kind: AccessObjectKind, range: IdRange) -> Result<Vec<(ObjectId, serde_json::Value)>>;
    /// `false` when there was none.
    async fn delete_access_object(&self, tenant: TenantId, kind: AccessObjectKind, id: ObjectId) -> Result<bool>;
    /// Replaces a definition only if it is still `expected`, the document as the caller
    /// read it: `access_conflict` when another write came in between (or it is gone).
    /// Documents decided on by several people at once (an access review's decisions) are
    /// written this way, so the second of two concurrent writers is told, not overwritten.
    async fn replace_access_object(
        &self,
        tenant: TenantId,
        kind: AccessObjectKind,
        id: ObjectId,
        expected: serde_json::Value,
        body: serde_json::Value,
    ) -> Result<()>;
    /// Takes the lease of a tenant's auto-assignment policies: while the guard lives, no
    /// other task or process on the store evaluates them (`None`: held elsewhere). Ends
    /// with the guard, or with the process holding it, like a job's lease.
    async fn try_lease_auto_assignment(&self, tenant: TenantId) -> Result<Option<crate::JobLease>>;

    /// Commits a step whole, or nothing with `access_conflict` when a row's version moved
    /// (or with the refusal of one of its directory writes). A new row gets version 1, a
    /// written one its expected version plus one (callers carry on from that without
    /// reading the row back). The transaction begins as a write: one begun as a read
    /// would not wait for a lock it finds held when it comes to write.
    async fn commit_access(&self, tenant: TenantId, step: AccessStep) -> Result<()>;
    async fn access_request(&self, tenant: TenantId, id: RequestId) -> Result<Option<Versioned<Request>>>;
    /// Requests in creation order.
    async fn access_requests(&self, tenant: TenantId, filter: RequestFilter) -> Result<Vec<Versioned<Request>>>;
    /// One assignment, by its id.
    async fn access_assignment(&self, tenant: TenantId, id: AssignmentId) -> Result<Option<Versioned<Assignment>>>;
    /// Assignments in creation order.
    async fn access_assignments(&self, tenant: TenantId, filter: AssignmentFilter) -> Result<Vec<Versioned<Assignment>>>;
    /// How many assignments of `package` are current (not expired) and how many requests
    /// for it are open, by count queries over the package's rows (no body read): a
    /// drawing's just-in-time links carry them.
    async fn count_access(&self, tenant: TenantId, package: PackageId) -> Result<AccessCounts>;
    /// Rows due at `now` (at most `limit` of each kind), found by the due-time index.
    async fn due_access_work(&self, now: Timestamp, limit: u32) -> Result<DueWork>;
    /// Guests done with: their deletion happened.
    async fn forget_guest(&self, tenant: TenantId, user: ObjectId) -> Result<()>;

    /// Messages to send at `now`, oldest first.
    async fn pending_outbox(&self, now: Timestamp, limit: u32) -> Result<Vec<(TenantId, OutboxMessage)>>;
    /// Records an attempt: sent, or to try again at `next`.
    async fn outbox_attempted(&self, tenant: TenantId, id: ObjectId, sent: bool, next: Timestamp) -> Result<()>;
    /// The tenant's outbox, newest first (what was and will be sent).
    async fn outbox(&self, tenant: TenantId, limit: u32) -> Result<Vec<OutboxMessage>>;
}
