//! The storage contract of tenantsync.
//!
//! A [`Store`] holds tenants, their users and groups, group memberships and each tenant's
//! change feed. Every backend (SQLite now, PostgreSQL later) implements this one trait and
//! must pass the conformance suite in `tenantsync-store-conformance`. Nothing above this
//! crate knows which database it talks to.
//!
//! The promises every implementation keeps:
//! - **A write and its change-feed entries commit together.** No object changes without
//!   its change, and no change is recorded for a write that did not happen, whatever
//!   instant the process dies at.
//! - **Changes are strictly ordered per tenant**: sequence numbers start at 1 and grow by
//!   one with each change, without gaps; a reader never sees change N+1 before N.
//! - **Optimistic concurrency**: a write naming a stale [`Version`] is rejected whole.
//! - **A rejected write leaves nothing behind**, in [`BatchMode::Atomic`] for the whole
//!   batch, in [`BatchMode::Independent`] for the operation that failed.
//! - **Counts kept, not counted**: the number of live and of soft-deleted users and
//!   groups of a tenant is updated in the transaction of each write (a rolled back write
//!   changes none), so [`Store::count_users`], [`Store::count_groups`] and the total of an
//!   unfiltered query are read in O(1).
//! - **Notification after commit**: [`Store::subscribe`] receivers hear of every commit
//!   that appended changes, after it is durable and visible to readers.

mod access;
mod admin;
mod connector;
mod console;
mod counts;
mod dump;
mod error;
pub mod migrate;
mod ops;
mod query;
mod sync;

pub use access::{
    AccessCounts, AccessObjectKind, AccessStep, AccessStore, AssignmentFilter, DueWork, GuestSchedule, IdRange, OutboxMessage, RequestFilter, StepRow,
    Versioned,
};
pub use admin::{AdminObjectKind, AuditActor, AuditCategory, AuditCursor, AuditOperation, AuditPage, AuditQuery, AuditRecord, AuditTarget, LogCursor, LogPage};
pub use connector::{ConnectorKey, ConnectorRecord, ConnectorStep, ConnectorStore, Link, LinkFault, Seen};
pub use console::{CodeCheck, ConsoleSession, ConsoleStore, SignInCode};
pub use counts::CountDeltas;
pub use dump::{AccessAssignmentRow, AccessRequestRow, ConnectorLinkRow, DumpCursor, DumpKey, DumpPage, DumpRecord, DumpStore, DumpTable, Restore, Tally};
pub use error::StoreError;
pub use ops::{BatchMode, BulkOptions, BulkSummary, CommitNotice, Fields, JobNotice, ListQuery, Page, RejectedRow, Visibility, WriteOp, WriteOutcome};
pub use query::{
    ApiToken, CompareOp, Field, Filter, FilterValue, KeyValue, Keyset, NewApiToken, ObjectQuery, QueryPage, SearchCursor, SearchFound, SearchPage, Seek,
    SortKey, TokenRole, UserGroup, UserSearch,
};
pub use sync::{
    ConfigEnd, ConfigPage, CycleCounters, CycleExecution, DEFAULT_BATCH_OBJECTS, Escrow, InCopy, JobLease, JobState, JobStatusCode, LogQuery, ModifiedProperty,
    ProvisioningAction, ProvisioningLog, ProvisioningStatus, ProvisioningStep, StepFacts, SyncStore, SyncWriter, WriteFuture, fill_values_from,
};

use async_trait::async_trait;
use jiff::Timestamp;
use tenantsync_domain::{
    Anchor, Change, ChangeCursor, DomainName, Group, GroupPatch, Mail, NewGroup, NewTenant, NewUser, ObjectId, Tenant, TenantId, Upn, User, UserPatch, Version,
};
use tokio::sync::broadcast;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// One page of a tenant's change feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangePage {
    pub changes: Vec<Change>,
    /// Where to continue: the last change returned, or the cursor given if none was.
    pub next_cursor: ChangeCursor,
}

/// A streaming import of many users in as few transactions as the options allow.
/// Dropping it without [`finish`](BulkUserImport::finish) rolls back what is not committed.
#[async_trait]
pub trait BulkUserImport: Send + std::fmt::Debug {
    /// Hands rows to the store. Each row carries a caller tag (an import uses the line
    /// number) by which rejected rows are reported. Returns early with an error only when
    /// the whole import can no longer go on (storage failure).
    async fn push(&mut self, rows: Vec<(u64, NewUser)>) -> Result<()>;

    /// Ends the import: commits what may be committed under the options and reports.
    async fn finish(self: Box<Self>) -> Result<BulkSummary>;

    /// Ends the import without committing what is not committed yet (the caller found
    /// bad rows of its own), and reports what the store rejected so far.
    async fn abort(self: Box<Self>) -> Result<BulkSummary>;
}

/// The storage of tenantsync. All methods are safe to call concurrently; writes are
/// serialized by the implementation.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// The store's clock: what it stamps writes with, and what everything built on the
    /// store reads time from (the engine's logs, escrows and retention), so a test that
    /// moves it moves all of them.
    fn clock(&self) -> std::sync::Arc<dyn tenantsync_domain::Clock>;

    // ---- tenants ----
    async fn create_tenant(&self, tenant: NewTenant) -> Result<Tenant>;
    async fn get_tenant(&self, id: TenantId) -> Result<Tenant>;
    async fn find_tenant_by_domain(&self, domain: &DomainName) -> Result<Option<Tenant>>;
    async fn list_tenants(&self) -> Result<Vec<Tenant>>;
    async fn set_tenant_retention(&self, id: TenantId, days: u32) -> Result<Tenant>;

    // ---- users ----
    /// A user by id; soft-deleted users are found too (see `deleted_date_time`).
    async fn get_user(&self, tenant: TenantId, id: ObjectId) -> Result<User>;
    /// Case-insensitive; finds soft-deleted users too (their UPN stays reserved).
    async fn find_user_by_upn(&self, tenant: TenantId, upn: &Upn) -> Result<Option<User>>;
    /// Case-insensitive; `mail` is not unique, so several may come back.
    async fn find_users_by_mail(&self, tenant: TenantId, mail: &Mail) -> Result<Vec<User>>;
    async fn find_user_by_anchor(&self, tenant: TenantId, anchor: &Anchor) -> Result<Option<User>>;
    /// The users of `tenant` whose anchor names `source` (the copies a sync from `source`
    /// made), soft-deleted ones included, in anchor-object order, which is the source
    /// objects' id order; a page at a time, `after` being the anchor object the previous
    /// page ended with (its `next`). Lets an initial cycle walk source and target side by
    /// side instead of looking each user up.
    async fn list_users_by_anchor_tenant(&self, tenant: TenantId, source: TenantId, after: Option<ObjectId>, limit: u32) -> Result<Page<User>>;
    /// How many users of `tenant` carry an anchor from `source` and are not soft-deleted
    /// (the live copies a sync from `source` made): one count over the anchor index, no
    /// user read, so a drawing's live counts cost a query per arrow, not a page per user.
    async fn count_users_by_anchor_tenant(&self, tenant: TenantId, source: TenantId) -> Result<u64>;
    /// Users in id order (which is creation order), a page at a time.
    async fn list_users(&self, tenant: TenantId, query: &ListQuery) -> Result<Page<User>>;
    /// Read from counts the store keeps with every write: O(1), whatever the tenant's size.
    async fn count_users(&self, tenant: TenantId, visibility: Visibility) -> Result<u64>;
    /// Of `users`, those whose name a client last gave without its domain
    /// ([`WriteOp::SetBareName`]), in one read however many users; in no order.
    async fn bare_names(&self, tenant: TenantId, users: &[ObjectId]) -> Result<Vec<ObjectId>>;

    // ---- groups ----
    async fn get_group(&self, tenant: TenantId, id: ObjectId) -> Result<Group>;
    async fn find_group_by_anchor(&self, tenant: TenantId, anchor: &Anchor) -> Result<Option<Group>>;
    async fn list_groups(&self, tenant: TenantId, query: &ListQuery) -> Result<Page<Group>>;
    /// As [`Store::count_users`]: O(1).
    async fn count_groups(&self, tenant: TenantId, visibility: Visibility) -> Result<u64>;
    /// Direct members of a group that are not soft-deleted, in id order.
    async fn list_members(&self, tenant: TenantId, group: ObjectId, query: &ListQuery) -> Result<Page<User>>;
    /// Groups of which the user is a direct member.
    async fn member_of(&self, tenant: TenantId, user: ObjectId) -> Result<Vec<ObjectId>>;
    /// The live groups each of `users` is a direct member of, by user then group display
    /// name, in one read however many users (a page of SCIM users shows their `groups`).
    /// Users that do not exist have no groups (nor do those of an unknown tenant: this is
    /// read for users just found, so the tenant is not checked again).
    async fn user_groups(&self, tenant: TenantId, users: &[ObjectId]) -> Result<Vec<UserGroup>>;

    // ---- queries (filters, sorting and paging run in the store) ----
    /// Users that are not soft-deleted and match the query, with the total match count
    /// (without a filter, the kept count of [`Store::count_users`]: a page costs what it
    /// reads, not the size of the tenant).
    /// A filter naming a field users do not have is refused (`unsupported_query`).
    async fn query_users(&self, tenant: TenantId, query: &ObjectQuery) -> Result<QueryPage<User>>;
    /// Groups that are not soft-deleted and match the query, with the total match count.
    async fn query_groups(&self, tenant: TenantId, query: &ObjectQuery) -> Result<QueryPage<Group>>;
    /// A page of live users whose display name or userPrincipalName starts with the
    /// search's text, in the order of the indexes it reads (see [`UserSearch`]).
    async fn search_users(&self, tenant: TenantId, search: &UserSearch) -> Result<SearchPage>;

    // ---- API tokens (only hashes are stored) ----
    async fn create_token(&self, token: NewApiToken) -> Result<ApiToken>;
    /// A token by id, revoked or expired ones included; `None` if there is none.
    async fn get_token(&self, id: ObjectId) -> Result<Option<ApiToken>>;
    /// The tenant's tokens in creation order.
    async fn list_tokens(&self, tenant: TenantId) -> Result<Vec<ApiToken>>;
    /// A page of the tenant's tokens in id order (ids are time-ordered, so this is
    /// creation order too): those after `after`, at most `limit`, read through an index
    /// on (tenant, id), so a page costs the page however many tokens the tenant holds.
    async fn tokens_page(&self, tenant: TenantId, after: Option<ObjectId>, limit: u32) -> Result<Vec<ApiToken>>;
    /// Marks a token of the tenant revoked (idempotent); `token_not_found` otherwise.
    async fn revoke_token(&self, tenant: TenantId, id: ObjectId) -> Result<ApiToken>;

    // ---- writes ----
    /// Applies a batch of writes to one tenant in one transaction, each with its
    /// change-feed entries. In [`BatchMode::Atomic`] the first failure rolls everything
    /// back and is returned as the error; in [`BatchMode::Independent`] each operation
    /// succeeds or fails alone and the results line up with `ops`.
    async fn apply(&self, tenant: TenantId, ops: Vec<WriteOp>, mode: BatchMode) -> Result<Vec<Result<WriteOutcome>>>;

    /// Starts a streaming import of users into one tenant.
    async fn bulk_import_users(&self, tenant: TenantId, options: BulkOptions) -> Result<Box<dyn BulkUserImport>>;

    /// Hard-deletes every object of the tenant soft-deleted before `cutoff`, with a
    /// `hardDelete` change each. Returns how many objects were purged.
    async fn purge_deleted(&self, tenant: TenantId, cutoff: Timestamp) -> Result<u64>;

    // ---- change feed ----
    /// Changes after `cursor`, in order, at most `limit`.
    async fn changes_since(&self, tenant: TenantId, cursor: ChangeCursor, limit: u32) -> Result<ChangePage>;
    /// The cursor of the tenant's newest change.
    async fn change_head(&self, tenant: TenantId) -> Result<ChangeCursor>;
    /// Hears of every commit that appended changes, after it is visible: this process's,
    /// and those of other processes using the same store (at once where the store can
    /// tell; a subscriber that must not miss one also re-reads heads now and then).
    fn subscribe(&self) -> broadcast::Receiver<CommitNotice>;

    /// Waits, without polling, until the tenant has a change after `cursor`; returns the
    /// new head.
    async fn wait_for_changes(&self, tenant: TenantId, cursor: ChangeCursor) -> Result<ChangeCursor> {
        let mut rx = self.subscribe();
        loop {
            let head = self.change_head(tenant).await?;
            if head > cursor {
                return Ok(head);
            }
            loop {
                match rx.recv().await {
                    Ok(n) if n.tenant_id == tenant && n.head > cursor => return Ok(n.head),
                    Ok(_) => continue,
                    // Missed notices: look at the head again.
                    Err(broadcast::error::RecvError::Lagged(_)) => break,
                    Err(broadcast::error::RecvError::Closed) => return Err(StoreError::Closed),
                }
            }
        }
    }

    // ---- conveniences over `apply` ----
    async fn create_user(&self, tenant: TenantId, user: NewUser) -> Result<User> {
        self.apply_one(tenant, WriteOp::CreateUser(Box::new(user))).await?.into_user()
    }
    async fn update_user(&self, tenant: TenantId, id: ObjectId, patch: UserPatch, if_match: Option<Version>) -> Result<User> {
        self.apply_one(tenant, WriteOp::UpdateUser { id, patch, if_match }).await?.into_user()
    }
    async fn create_group(&self, tenant: TenantId, group: NewGroup) -> Result<Group> {
        self.apply_one(tenant, WriteOp::CreateGroup(group)).await?.into_group()
    }
    async fn update_group(&self, tenant: TenantId, id: ObjectId, patch: GroupPatch, if_match: Option<Version>) -> Result<Group> {
        self.apply_one(tenant, WriteOp::UpdateGroup { id, patch, if_match }).await?.into_group()
    }
    /// Applies one operation atomically.
    async fn apply_one(&self, tenant: TenantId, op: WriteOp) -> Result<WriteOutcome> {
        let mut results = self.apply(tenant, vec![op], BatchMode::Atomic).await?;
        results.pop().unwrap_or(Err(StoreError::Internal { message: "empty batch result".into() }))
    }
}
