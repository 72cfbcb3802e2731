use crate::{Result, StoreError};
use tenantsync_domain::{ChangeCursor, Group, GroupPatch, NewGroup, NewUser, ObjectId, ObjectKind, TenantId, User, UserPatch, Version};

/// Which objects a listing shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Visibility {
    /// Objects that are not soft-deleted (the normal listing).
    #[default]
    Active,
    /// Only soft-deleted objects (the recycle bin).
    Deleted,
    All,
}

/// Which of a listed user's fields a page must carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fields {
    /// All of them (the normal listing).
    #[default]
    All,
    /// What a sync reads of a source user: its id, tenant, attributes, anchor and
    /// deletion time. A store may leave out its version (0) and its creation and
    /// modification times (the Unix epoch), which no sync reads: one column less to
    /// read per field, for every user of an initial cycle. Groups are always whole.
    Sync,
}

/// A page request: objects with an id after `after`, at most `limit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub after: Option<ObjectId>,
    pub limit: u32,
    pub visibility: Visibility,
    pub fields: Fields,
}

impl Default for ListQuery {
    fn default() -> Self {
        Self { after: None, limit: 100, visibility: Visibility::Active, fields: Fields::All }
    }
}

/// A page of objects and where the next page starts, if there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<ObjectId>,
}

/// One write to a tenant's directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOp {
    CreateUser(Box<NewUser>),
    UpdateUser {
        id: ObjectId,
        patch: UserPatch,
        if_match: Option<Version>,
    },
    /// Marks the user deleted; it keeps its UPN and can be restored until purged.
    SoftDeleteUser {
        id: ObjectId,
        if_match: Option<Version>,
    },
    RestoreUser {
        id: ObjectId,
        if_match: Option<Version>,
    },
    /// Removes the user for good, with its memberships; reports lose their manager.
    HardDeleteUser {
        id: ObjectId,
        if_match: Option<Version>,
    },
    CreateGroup(NewGroup),
    UpdateGroup {
        id: ObjectId,
        patch: GroupPatch,
        if_match: Option<Version>,
    },
    SoftDeleteGroup {
        id: ObjectId,
        if_match: Option<Version>,
    },
    RestoreGroup {
        id: ObjectId,
        if_match: Option<Version>,
    },
    HardDeleteGroup {
        id: ObjectId,
        if_match: Option<Version>,
    },
    AddMember {
        group: ObjectId,
        user: ObjectId,
        if_match: Option<Version>,
    },
    RemoveMember {
        group: ObjectId,
        user: ObjectId,
        if_match: Option<Version>,
    },
    /// Makes the user a direct member of the group (`member: true`) or not. Unlike
    /// `AddMember` and `RemoveMember`, a membership that already is as asked is no error and
    /// writes nothing; and it names no version, so concurrent changes of different members
    /// of one group all land, in the single writer's order. Refused like `AddMember` for a
    /// deleted or unknown group, and (when adding) for a deleted or unknown user.
    SetMembership {
        group: ObjectId,
        user: ObjectId,
        member: bool,
    },
    /// Frees the userPrincipalName of a soft-deleted user, as Entra frees those of deleted
    /// users: it becomes `<the user's id, 32 hex digits><userPrincipalName>`, so another
    /// user may take the name. `RestoreUser` gives it back (`upn_conflict` if it has been
    /// taken meanwhile). A user whose name is already freed is left as it is; a live user is
    /// `not_deleted`.
    ReleaseUpn {
        id: ObjectId,
    },
    /// Records whether a client gave the user's name without its domain (`bare`: `bob`
    /// for `bob@<initial domain>`, as SCIM clients may write a userName), so that it can
    /// be given back as it was written. How a client spells the name, not an attribute of
    /// the user: no version, no change-feed entry. Refused like an update for an unknown or
    /// soft-deleted user.
    SetBareName {
        id: ObjectId,
        bare: bool,
    },
}

impl WriteOp {
    /// The object the operation addresses.
    pub fn target(&self) -> (ObjectKind, ObjectId) {
        match self {
            WriteOp::CreateUser(u) => (ObjectKind::User, u.id),
            WriteOp::UpdateUser { id, .. }
            | WriteOp::SoftDeleteUser { id, .. }
            | WriteOp::RestoreUser { id, .. }
            | WriteOp::HardDeleteUser { id, .. }
            | WriteOp::ReleaseUpn { id }
            | WriteOp::SetBareName { id, .. } => (ObjectKind::User, *id),
            WriteOp::CreateGroup(g) => (ObjectKind::Group, g.id),
            WriteOp::UpdateGroup { id, .. } | WriteOp::SoftDeleteGroup { id, .. } | WriteOp::RestoreGroup { id, .. } | WriteOp::HardDeleteGroup { id, .. } => {
                (ObjectKind::Group, *id)
            }
            WriteOp::AddMember { group, .. } | WriteOp::RemoveMember { group, .. } | WriteOp::SetMembership { group, .. } => (ObjectKind::Group, *group),
        }
    }
}

/// What a write left behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    /// The user as it now is (for an update that changed nothing: unchanged, same version).
    User(Box<User>),
    Group(Box<Group>),
    /// The object no longer exists.
    HardDeleted {
        kind: ObjectKind,
        id: ObjectId,
    },
}

impl WriteOutcome {
    pub fn into_user(self) -> Result<User> {
        match self {
            WriteOutcome::User(u) => Ok(*u),
            other => Err(StoreError::Internal { message: format!("expected a user, got {other:?}") }),
        }
    }

    pub fn into_group(self) -> Result<Group> {
        match self {
            WriteOutcome::Group(g) => Ok(*g),
            other => Err(StoreError::Internal { message: format!("expected a group, got {other:?}") }),
        }
    }
}

/// How a batch of writes commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchMode {
    /// All or nothing.
    Atomic,
    /// Each operation on its own; failures roll back only themselves.
    Independent,
}

/// How a bulk import commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BulkOptions {
    /// `None`: the whole import is one transaction; any rejected row means nothing is
    /// written. `Some(n)`: every `n` rows commit as a unit; the first unit with a
    /// rejected row is not written and the import stops there.
    pub commit_every: Option<usize>,
}

/// A row a bulk import refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedRow {
    pub tag: u64,
    pub error: StoreError,
}

/// How a bulk import ended.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BulkSummary {
    /// Users written and committed.
    pub committed: u64,
    /// Rows refused (at most the first 1,000 are kept in `rejected`).
    pub rejected_count: u64,
    pub rejected: Vec<RejectedRow>,
    /// Rows that were valid but not committed because of a rejected row in their unit.
    pub rolled_back: u64,
    /// The tag of the last row committed, if any.
    pub last_committed_tag: Option<u64>,
}

impl BulkSummary {
    pub const MAX_KEPT_REJECTIONS: usize = 1000;
}

/// A change to sync jobs made outside their cycles: a start, pause or restart, a
/// configuration created, changed or deleted (`Job`), or access settings that may concern
/// every job (`All`). Commits of the cycles themselves say nothing here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobNotice {
    Job(tenantsync_domain::SyncConfigId),
    All,
}

/// A commit that appended changes to a tenant's feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitNotice {
    pub tenant_id: TenantId,
    /// The tenant's newest change after the commit.
    pub head: ChangeCursor,
}
