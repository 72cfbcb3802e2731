//! The write path. Runs on the single writer thread, inside a transaction opened by the
//! caller; every function appends its change-feed entries through [`Tx::append`], so a
//! write and its changes always share a transaction.
use crate::rows::{self, USER_COLS, kind_code, sql_err};
use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, OptionalExtension, params};
use tenantsync_domain::{AttributeChange, ChangeOp, Group, NewGroup, NewUser, ObjectId, ObjectKind, Origin, TenantId, User, UserRef, Version};
use tenantsync_store::{BatchMode, StoreError, WriteOp, WriteOutcome};

mod lifecycle;
mod runs;
use crate::counts::Counts;
use lifecycle::check_version;
pub use runs::{RunOrder, create_orders};

/// One open write transaction on one tenant.
pub struct Tx<'c> {
    pub conn: &'c Connection,
    pub tenant: TenantId,
    tenant_blob: [u8; 16],
    /// The tenant's newest change seq, including changes appended in this transaction.
    pub head: u64,
    head_at_begin: u64,
    pub now_ms: i64,
    /// The tenant's object counts changed by this transaction and not yet written.
    counts: Counts,
    /// The statements run once per object written, held for the whole transaction (a
    /// bulk write runs them a hundred thousand times: no lookup in the statement cache
    /// per row).
    held: Held<'c>,
    /// While a run of creates of copies is applied ([`Tx::create_run`]): the ids of the
    /// users created so far, whose `create` changes are appended together at the run's
    /// end (one statement, not one per user: running a statement cost more than
    /// inserting its row).
    deferred_creates: Option<Vec<[u8; 16]>>,
}

/// The per-object statements of a [`Tx`], prepared on first use.
#[derive(Default)]
struct Held<'c> {
    insert_user: Option<rusqlite::CachedStatement<'c>>,
    insert_change: Option<rusqlite::CachedStatement<'c>>,
    /// What `insert_user` has bound, per parameter, where it is a NULL, a number or an
    /// id (`None`: text, or not known): a parameter bound to the same again is left as
    /// it is (SQLite keeps bindings across runs of a statement). A sync's copies share
    /// about a third of their columns (tenant, anchor tenant, version, times, NULLs).
    user_bound: Vec<Option<Bound>>,
}

/// A value `insert_user` may leave bound (see `Held::user_bound`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Bound {
    Null,
    Integer(i64),
    Id([u8; 16]),
}

impl Bound {
    fn of(v: &ValueRef<'_>) -> Option<Bound> {
        match v {
            ValueRef::Null => Some(Bound::Null),
            ValueRef::Integer(i) => Some(Bound::Integer(*i)),
            ValueRef::Blob(b) => <[u8; 16]>::try_from(*b).ok().map(Bound::Id),
            _ => None,
        }
    }
}

/// Runs the held `insert_user` with `values`, binding only the parameters whose value
/// differs from what is bound.
fn insert_user_row<'c>(held: &mut Held<'c>, conn: &'c Connection, values: &[ValueRef<'_>]) -> rusqlite::Result<usize> {
    if held.insert_user.is_none() {
        held.user_bound.clear();
    }
    let Held { insert_user, user_bound, .. } = held;
    let stmt = self::held(insert_user, conn, &INSERT_USER)?;
    user_bound.resize(values.len(), None);
    for (i, (v, bound)) in values.iter().zip(user_bound.iter_mut()).enumerate() {
        let now = Bound::of(v);
        if now.is_some() && now == *bound {
            continue;
        }
        // Unknown until bound: an error leaves it so.
        *bound = None;
        stmt.raw_bind_parameter(i + 1, rusqlite::types::ToSqlOutput::Borrowed(*v))?;
        *bound = now;
    }
    stmt.raw_execute()
}

/// The statement in `slot`, prepared (through the connection's cache) if it is not yet.
fn held<'s, 'c>(
    slot: &'s mut Option<rusqlite::CachedStatement<'c>>,
    conn: &'c Connection,
    sql: &str,
) -> rusqlite::Result<&'s mut rusqlite::CachedStatement<'c>> {
    if slot.is_none() {
        *slot = Some(conn.prepare_cached(sql)?);
    }
    slot.as_mut().ok_or(rusqlite::Error::InvalidQuery)
}

static INSERT_USER: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let params: Vec<String> = (1..=rows::USER_COL_COUNT).map(|i| format!("?{i}")).collect();
    format!("INSERT INTO users ({USER_COLS}) VALUES ({})", params.join(", "))
});
static LOAD_USER: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| format!("SELECT {USER_COLS} FROM users WHERE tenant_id = ?1 AND id = ?2"));
const INSERT_CHANGE: &str =
    "INSERT INTO changes (tenant_id, seq, at_ms, object_kind, object_id, op, member_id, attributes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

impl<'c> Tx<'c> {
    /// The transaction of `tenant` on `conn`, whose change head is `head`.
    fn at(conn: &'c Connection, tenant: TenantId, head: u64, now_ms: i64) -> Tx<'c> {
        Tx {
            conn,
            tenant,
            tenant_blob: *tenant.as_bytes(),
            head,
            head_at_begin: head,
            now_ms,
            counts: Counts::default(),
            held: Held::default(),
            deferred_creates: None,
        }
    }

    /// Starts a write transaction on `tenant`. The caller commits or rolls back.
    pub fn begin(conn: &'c Connection, tenant: TenantId, now_ms: i64) -> Result<Tx<'c>, StoreError> {
        conn.execute_batch("BEGIN IMMEDIATE").map_err(sql_err)?;
        let Some(head) = read_head(conn, tenant).map_err(sql_err)? else {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(StoreError::TenantNotFound { tenant: tenant.to_string() });
        };
        Ok(Tx::at(conn, tenant, head, now_ms))
    }

    /// Joins the transaction open on `conn` on `tenant` (an access step of a group, in
    /// its savepoint); [`Tx::settle`] ends it, the owner of the transaction commits.
    pub fn join(conn: &'c Connection, tenant: TenantId, now_ms: i64) -> Result<Tx<'c>, StoreError> {
        let head = read_head(conn, tenant).map_err(sql_err)?.ok_or_else(|| StoreError::TenantNotFound { tenant: tenant.to_string() })?;
        Ok(Tx::at(conn, tenant, head, now_ms))
    }

    /// Writes the head and counts of a joined transaction, without committing; returns
    /// the head if changes were appended.
    pub fn settle(self) -> Result<Option<u64>, StoreError> {
        self.write_head().map_err(sql_err)?;
        Ok(self.appended().then_some(self.head))
    }

    /// The tenant's head as the transaction just begun sees it: another process may have
    /// committed between this connection's last transaction and this one.
    fn reread_head(&mut self) -> Result<(), StoreError> {
        let head = read_head(self.conn, self.tenant).map_err(sql_err)?.ok_or_else(|| StoreError::TenantNotFound { tenant: self.tenant.to_string() })?;
        (self.head, self.head_at_begin) = (head, head);
        Ok(())
    }

    /// Whether this transaction appended changes.
    pub fn appended(&self) -> bool {
        self.head != self.head_at_begin
    }

    /// Records the new head and commits. Returns the head if changes were appended.
    /// A failed commit rolls back: no transaction stays open behind it.
    pub fn commit(self) -> Result<Option<u64>, StoreError> {
        if let Err(e) = self.write_head().and_then(|()| self.conn.execute_batch("COMMIT")) {
            let _ = self.conn.execute_batch("ROLLBACK");
            return Err(sql_err(e));
        }
        Ok(self.appended().then_some(self.head))
    }

    pub fn rollback(self) {
        if let Err(e) = self.conn.execute_batch("ROLLBACK") {
            tracing::error!(error = %e, "rollback failed");
        }
    }

    /// Restarts the transaction after a commit, for bulk paths.
    pub fn recommit(&mut self) -> Result<Option<u64>, StoreError> {
        self.write_head().map_err(sql_err)?;
        self.conn.execute_batch("COMMIT; BEGIN IMMEDIATE").map_err(sql_err)?;
        let appended = self.appended().then_some(self.head);
        self.counts = Counts::default();
        self.reread_head()?;
        Ok(appended)
    }

    /// Rolls back to the start of the current transaction and begins a new one.
    pub fn restart(&mut self) -> Result<(), StoreError> {
        self.conn.execute_batch("ROLLBACK; BEGIN IMMEDIATE").map_err(sql_err)?;
        self.counts = Counts::default();
        self.reread_head()
    }

    /// Writes what the transaction changed of the tenant's row: the change head and the
    /// object counts (nothing when neither changed).
    fn write_head(&self) -> rusqlite::Result<()> {
        if self.appended() {
            self.conn.prepare_cached("UPDATE tenants SET change_head = ?1 WHERE id = ?2")?.execute(params![self.head as i64, self.tenant_blob])?;
        }
        crate::counts::write(&self.counts, self.conn, &self.tenant_blob)
    }

    /// Appends one change to the tenant's feed.
    pub fn append(
        &mut self,
        kind: ObjectKind,
        object: ObjectId,
        op: ChangeOp,
        member: Option<ObjectId>,
        attributes: &[AttributeChange],
    ) -> Result<(), StoreError> {
        let seq = self.head + 1;
        let attrs =
            if attributes.is_empty() { None } else { Some(serde_json::to_string(attributes).map_err(|e| StoreError::Internal { message: e.to_string() })?) };
        held(&mut self.held.insert_change, self.conn, INSERT_CHANGE)
            .and_then(|s| {
                s.execute(params![
                    self.tenant_blob,
                    seq as i64,
                    self.now_ms,
                    kind_code(kind),
                    object.as_bytes(),
                    op.code(),
                    member.map(|m| *m.as_bytes()),
                    attrs
                ])
            })
            .map_err(sql_err)?;
        self.head = seq;
        Ok(())
    }

    fn now(&self) -> jiff::Timestamp {
        rows::ts(self.now_ms)
    }

    // ---------- reads inside the transaction ----------

    pub fn load_user(&self, id: ObjectId) -> Result<User, StoreError> {
        self.conn
            .prepare_cached(&LOAD_USER)
            .and_then(|mut s| s.query_row(params![self.tenant_blob, id.as_bytes()], rows::user).optional())
            .map_err(sql_err)?
            .ok_or(StoreError::NotFound { kind: ObjectKind::User, id })
    }

    pub fn load_group(&self, id: ObjectId) -> Result<Group, StoreError> {
        self.conn
            .prepare_cached(&format!("SELECT {} FROM groups WHERE tenant_id = ?1 AND id = ?2", rows::GROUP_COLS))
            .and_then(|mut s| s.query_row(params![self.tenant_blob, id.as_bytes()], rows::group).optional())
            .map_err(sql_err)?
            .ok_or(StoreError::NotFound { kind: ObjectKind::Group, id })
    }

    /// Resolves a manager reference to a live user of this tenant, if there is one.
    pub fn find_manager(&self, r: &UserRef) -> Result<Option<ObjectId>, StoreError> {
        let row: Option<([u8; 16], Option<i64>)> = match r {
            UserRef::Id(id) => self
                .conn
                .prepare_cached("SELECT id, deleted_ms FROM users WHERE tenant_id = ?1 AND id = ?2")
                .and_then(|mut s| s.query_row(params![self.tenant_blob, id.as_bytes()], |r| Ok((r.get(0)?, r.get(1)?))).optional()),
            UserRef::Upn(upn) => self
                .conn
                .prepare_cached("SELECT id, deleted_ms FROM users WHERE tenant_id = ?1 AND upn = ?2 COLLATE NOCASE")
                .and_then(|mut s| s.query_row(params![self.tenant_blob, upn.as_str()], |r| Ok((r.get(0)?, r.get(1)?))).optional()),
        }
        .map_err(sql_err)?;
        Ok(row.and_then(|(id, deleted)| deleted.is_none().then(|| ObjectId::from_bytes(id))))
    }

    fn resolve_manager(&self, r: &UserRef, own: ObjectId) -> Result<ObjectId, StoreError> {
        let id = self.find_manager(r)?.ok_or_else(|| StoreError::UnknownManager { reference: r.to_string() })?;
        if id == own {
            return Err(StoreError::SelfManager);
        }
        Ok(id)
    }

    // ---------- writes ----------

    /// Applies a batch. In `Atomic` mode the first failure is returned; in `Independent`
    /// mode a refusal is that operation's result and the others go on. Any other error is
    /// returned. On an error the caller rolls the transaction back.
    pub fn apply_all(&mut self, ops: Vec<WriteOp>, mode: BatchMode) -> Result<Vec<Result<WriteOutcome, StoreError>>, StoreError> {
        let mut results = Vec::with_capacity(ops.len());
        for op in ops {
            // No savepoint per operation: `apply` refuses before an operation's first
            // write, so a refused operation has written nothing and the others stand.
            match self.apply(op) {
                Ok(outcome) => results.push(Ok(outcome)),
                Err(e) if mode == BatchMode::Atomic || !e.is_refusal() => return Err(e),
                Err(e) => results.push(Err(e)),
            }
        }
        Ok(results)
    }

    /// Applies one operation with its change-feed entries.
    ///
    /// **Refusals come first.** Every refusal (not found, version mismatch, deleted,
    /// invalid value, unknown manager, ...) is decided before the operation's first write,
    /// or by the single statement that writes first and rolls itself back on a constraint
    /// (a UPN or anchor taken). A refused operation has therefore written nothing, which
    /// is what lets a batch in `Independent` mode go on without a savepoint per operation
    /// (a savepoint makes SQLite copy every page the operation touches). Keep it so when
    /// adding an operation; the conformance suite's batch cases check it.
    pub fn apply(&mut self, op: WriteOp) -> Result<WriteOutcome, StoreError> {
        match op {
            // A copy provisioned from another tenant names its manager's copy, which may
            // be missing (its own create refused): the reference is then left unset, as
            // a sync resolves managers only when both users are there. Internal users
            // with an unknown manager are refused.
            WriteOp::CreateUser(u) => {
                let best_effort = u.anchor.is_some();
                self.create_user(*u, best_effort).map(|(u, _)| WriteOutcome::User(Box::new(u)))
            }
            WriteOp::UpdateUser { id, patch, if_match } => {
                let mut user = self.load_live::<User>(id, if_match)?;
                let manager = match &patch.manager {
                    None => None,
                    Some(None) => Some(None),
                    Some(Some(r)) => Some(Some(self.resolve_manager(r, id)?)),
                };
                let before = rows::owned(&rows::user_values(&user, &rows::extensions_json(&user.attrs.extensions)));
                let changes = user.attrs.apply(&patch, manager)?;
                if changes.is_empty() {
                    return Ok(WriteOutcome::User(Box::new(user)));
                }
                self.bump_user(&mut user, Some(&before))?;
                self.append(ObjectKind::User, id, ChangeOp::Update, None, &changes)?;
                Ok(WriteOutcome::User(Box::new(user)))
            }
            WriteOp::SoftDeleteUser { id, if_match } => self.soft_delete::<User>(id, if_match),
            WriteOp::RestoreUser { id, if_match } => self.restore::<User>(id, if_match),
            WriteOp::HardDeleteUser { id, if_match } => {
                let user = self.load_user(id)?;
                check_version(ObjectKind::User, id, user.version, if_match)?;
                self.hard_delete_user(id, user.is_deleted(), user.anchor.map(|a| a.tenant))?;
                Ok(WriteOutcome::HardDeleted { kind: ObjectKind::User, id })
            }
            WriteOp::CreateGroup(g) => self.create_group(g).map(|g| WriteOutcome::Group(Box::new(g))),
            WriteOp::UpdateGroup { id, patch, if_match } => {
                let mut group = self.load_live::<Group>(id, if_match)?;
                let before = rows::owned(&rows::group_values(&group));
                let changes = group.attrs.apply(&patch)?;
                if changes.is_empty() {
                    return Ok(WriteOutcome::Group(Box::new(group)));
                }
                self.bump_group(&mut group, Some(&before))?;
                self.append(ObjectKind::Group, id, ChangeOp::Update, None, &changes)?;
                Ok(WriteOutcome::Group(Box::new(group)))
            }
            WriteOp::SoftDeleteGroup { id, if_match } => self.soft_delete::<Group>(id, if_match),
            WriteOp::RestoreGroup { id, if_match } => self.restore::<Group>(id, if_match),
            WriteOp::HardDeleteGroup { id, if_match } => {
                let group = self.load_group(id)?;
                check_version(ObjectKind::Group, id, group.version, if_match)?;
                self.hard_delete_group(id, group.is_deleted())?;
                Ok(WriteOutcome::HardDeleted { kind: ObjectKind::Group, id })
            }
            WriteOp::AddMember { group, user, if_match } => {
                let mut g = self.load_live::<Group>(group, if_match)?;
                let u = self.load_user(user)?;
                if u.is_deleted() {
                    return Err(StoreError::ObjectDeleted { kind: ObjectKind::User, id: user });
                }
                if !self.insert_membership(group, user)? {
                    return Err(StoreError::MemberExists { group, user });
                }
                self.bump_group(&mut g, None)?;
                self.append(ObjectKind::Group, group, ChangeOp::MemberAdd, Some(user), &[])?;
                Ok(WriteOutcome::Group(Box::new(g)))
            }
            WriteOp::RemoveMember { group, user, if_match } => {
                let mut g = self.load_live::<Group>(group, if_match)?;
                if self.remove_membership(group, user)? == 0 {
                    return Err(StoreError::NotAMember { group, user });
                }
                self.bump_group(&mut g, None)?;
                self.append(ObjectKind::Group, group, ChangeOp::MemberRemove, Some(user), &[])?;
                Ok(WriteOutcome::Group(Box::new(g)))
            }
            WriteOp::SetMembership { group, user, member: true } => {
                let mut g = self.load_live::<Group>(group, None)?;
                if self.load_user(user)?.is_deleted() {
                    return Err(StoreError::ObjectDeleted { kind: ObjectKind::User, id: user });
                }
                if self.insert_membership(group, user)? {
                    self.bump_group(&mut g, None)?;
                    self.append(ObjectKind::Group, group, ChangeOp::MemberAdd, Some(user), &[])?;
                }
                Ok(WriteOutcome::Group(Box::new(g)))
            }
            WriteOp::SetMembership { group, user, member: false } => {
                let mut g = self.load_live::<Group>(group, None)?;
                if self.remove_membership(group, user)? > 0 {
                    self.bump_group(&mut g, None)?;
                    self.append(ObjectKind::Group, group, ChangeOp::MemberRemove, Some(user), &[])?;
                }
                Ok(WriteOutcome::Group(Box::new(g)))
            }
            WriteOp::ReleaseUpn { id } => self.release_upn(id),
            WriteOp::SetBareName { id, bare } => {
                let user = self.load_live::<User>(id, None)?;
                let sql = if bare {
                    "INSERT OR IGNORE INTO bare_user_names (tenant_id, user_id) VALUES (?1, ?2)"
                } else {
                    "DELETE FROM bare_user_names WHERE tenant_id = ?1 AND user_id = ?2"
                };
                self.conn.prepare_cached(sql).and_then(|mut s| s.execute(params![self.tenant_blob, id.as_bytes()])).map_err(sql_err)?;
                Ok(WriteOutcome::User(Box::new(user)))
            }
        }
    }

    /// Inserts a new user. With `defer_manager`, a manager that does not exist yet is
    /// left unset and returned, for the caller to resolve later in the transaction.
    pub fn create_user(&mut self, new: NewUser, defer_manager: bool) -> Result<(User, Option<UserRef>), StoreError> {
        let is_self = match &new.manager {
            Some(UserRef::Id(m)) => *m == new.id,
            Some(UserRef::Upn(m)) => m.as_str().eq_ignore_ascii_case(new.attrs.user_principal_name.as_str()),
            None => false,
        };
        if is_self {
            return Err(StoreError::SelfManager);
        }
        let mut deferred = None;
        let manager = match &new.manager {
            None => None,
            Some(r) => match self.find_manager(r)? {
                Some(m) => Some(m),
                None if defer_manager => {
                    deferred = Some(r.clone());
                    None
                }
                None => return Err(StoreError::UnknownManager { reference: r.to_string() }),
            },
        };
        let user = self.insert_user(new, manager)?;
        Ok((user, deferred))
    }

    /// Inserts a new user whose manager (if any) is known to exist, with its change.
    fn insert_user(&mut self, new: NewUser, manager: Option<ObjectId>) -> Result<User, StoreError> {
        let mut attrs = new.attrs;
        attrs.manager = manager;
        let now = self.now();
        let user = User::created(self.tenant, new.id, attrs, new.anchor, now);
        let extensions = rows::extensions_json(&user.attrs.extensions);
        let values = rows::user_values(&user, &extensions);
        insert_user_row(&mut self.held, self.conn, &values).map_err(|e| constraint(e, ObjectKind::User, &user))?;
        self.index_extensions(user.id, extensions.as_deref())?;
        match &mut self.deferred_creates {
            Some(ids) => ids.push(*user.id.as_bytes()),
            None => self.append(ObjectKind::User, user.id, ChangeOp::Create, None, &[])?,
        }
        self.counts.created(ObjectKind::User);
        self.counts.anchored(user.anchor.map(|a| a.tenant), 1);
        Ok(user)
    }

    /// Sets the manager of a user created earlier in this transaction, without a change
    /// entry of its own: the create change already stands for the object's whole state.
    pub fn set_manager_in_creation(&self, user: ObjectId, manager: ObjectId) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("UPDATE users SET manager_id = ?1 WHERE tenant_id = ?2 AND id = ?3")
            .and_then(|mut s| s.execute(params![manager.as_bytes(), self.tenant_blob, user.as_bytes()]))
            .map_err(sql_err)?;
        Ok(())
    }

    fn create_group(&mut self, new: NewGroup) -> Result<Group, StoreError> {
        let now = self.now();
        let group = Group {
            id: new.id,
            tenant_id: self.tenant,
            attrs: new.attrs,
            origin: Origin::of(new.anchor.as_ref()),
            anchor: new.anchor,
            version: Version::FIRST,
            created_date_time: now,
            last_modified_date_time: now,
            deleted_date_time: None,
        };
        let values = rows::group_values(&group);
        self.conn
            .prepare_cached(&format!("INSERT INTO groups ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)", rows::GROUP_COLS))
            .and_then(|mut s| s.execute(rusqlite::params_from_iter(rows::params(&values))))
            .map_err(|e| match constraint_kind(&e) {
                Some(Constraint::Anchor) => StoreError::AnchorTaken { anchor: group.anchor.map(|a| a.to_string()).unwrap_or_default() },
                Some(Constraint::Id) => StoreError::IdTaken { kind: ObjectKind::Group, id: group.id },
                _ => sql_err(e),
            })?;
        self.append(ObjectKind::Group, group.id, ChangeOp::Create, None, &[])?;
        self.counts.created(ObjectKind::Group);
        Ok(group)
    }

    /// Writes a user back with version + 1. Only the columns that differ from `before`
    /// (the row as loaded) are set: SQLite rewrites the entries of every index over an
    /// assigned column, changed or not, and a user has seven. Without `before`, only the
    /// lifecycle columns (version, modified, deleted) changed.
    fn bump_user(&self, user: &mut User, before: Option<&[Value]>) -> Result<(), StoreError> {
        user.version = user.version.next();
        user.last_modified_date_time = self.now();
        let extensions = rows::extensions_json(&user.attrs.extensions);
        let values = rows::user_values(user, &extensions);
        self.update_row("users", USER_COLS, &values, before).map_err(|e| constraint(e, ObjectKind::User, user))?;
        let col = USER_COLS.split(',').position(|c| c.trim() == "extensions");
        let extensions_changed = before.is_some_and(|b| col.is_some_and(|i| b.get(i).map(ValueRef::from) != values.get(i).copied()));
        if extensions_changed {
            self.unindex_extensions(user.id)?;
            self.index_extensions(user.id, extensions.as_deref())?;
        }
        Ok(())
    }

    /// [`Tx::bump_user`] for groups.
    fn bump_group(&self, group: &mut Group, before: Option<&[Value]>) -> Result<(), StoreError> {
        group.version = group.version.next();
        group.last_modified_date_time = self.now();
        let values = rows::group_values(group);
        self.update_row("groups", rows::GROUP_COLS, &values, before).map_err(sql_err)
    }

    /// Adds a user's extension values to `user_extension_values` (one row per value), the
    /// index SCIM filters on extension attributes seek. Nothing to do without extensions.
    fn index_extensions(&self, user: ObjectId, extensions: Option<&str>) -> Result<(), StoreError> {
        index_extensions(self.conn, self.tenant, user, extensions)
    }

    fn unindex_extensions(&self, user: ObjectId) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("DELETE FROM user_extension_values WHERE tenant_id = ?1 AND user_id = ?2")
            .and_then(|mut s| s.execute(params![self.tenant_blob, user.as_bytes()]))
            .map_err(sql_err)?;
        Ok(())
    }

    /// `UPDATE table SET <changed columns> WHERE tenant_id = ?1 AND id = ?2`, with
    /// `values` in `cols` order (tenant and id first).
    fn update_row(&self, table: &str, cols: &str, values: &[ValueRef<'_>], before: Option<&[Value]>) -> rusqlite::Result<()> {
        const LIFECYCLE: [&str; 3] = ["version", "modified_ms", "deleted_ms"];
        let mut sql = format!("UPDATE {table} SET ");
        let mut bound: Vec<ValueRef<'_>> = values.iter().take(2).copied().collect();
        for (i, col) in cols.split(',').map(str::trim).enumerate().skip(2) {
            let changed = match before {
                Some(b) => b.get(i).map(ValueRef::from) != values.get(i).copied(),
                None => LIFECYCLE.contains(&col),
            };
            if let (true, Some(v)) = (changed, values.get(i)) {
                if bound.len() > 2 {
                    sql.push_str(", ");
                }
                bound.push(*v);
                sql.push_str(&format!("{col} = ?{}", bound.len()));
            }
        }
        sql.push_str(" WHERE tenant_id = ?1 AND id = ?2");
        self.conn.prepare_cached(&sql)?.execute(rusqlite::params_from_iter(rows::params(&bound)))?;
        Ok(())
    }

    /// Whether the membership was new (an existing one is left as it is).
    fn insert_membership(&self, group: ObjectId, user: ObjectId) -> Result<bool, StoreError> {
        self.conn
            .prepare_cached("INSERT OR IGNORE INTO members (tenant_id, group_id, user_id) VALUES (?1, ?2, ?3)")
            .and_then(|mut s| s.execute(params![self.tenant_blob, group.as_bytes(), user.as_bytes()]))
            .map(|n| n > 0)
            .map_err(sql_err)
    }

    fn remove_membership(&self, group: ObjectId, user: ObjectId) -> Result<usize, StoreError> {
        self.conn
            .prepare_cached("DELETE FROM members WHERE tenant_id = ?1 AND group_id = ?2 AND user_id = ?3")
            .and_then(|mut s| s.execute(params![self.tenant_blob, group.as_bytes(), user.as_bytes()]))
            .map_err(sql_err)
    }

    fn ids(&self, sql: &str, id: ObjectId) -> Result<Vec<ObjectId>, StoreError> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(sql_err)?;
        let rows = stmt.query_map(params![self.tenant_blob, id.as_bytes()], |r| Ok(ObjectId::from_bytes(r.get(0)?))).map_err(sql_err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(sql_err)
    }
}

enum Constraint {
    Upn,
    Anchor,
    Id,
}

fn constraint_kind(e: &rusqlite::Error) -> Option<Constraint> {
    let rusqlite::Error::SqliteFailure(err, Some(msg)) = e else { return None };
    if err.code != rusqlite::ErrorCode::ConstraintViolation {
        return None;
    }
    if msg.contains(".upn") {
        Some(Constraint::Upn)
    } else if msg.contains(".anchor_") {
        Some(Constraint::Anchor)
    } else if msg.contains(".id") {
        Some(Constraint::Id)
    } else {
        None
    }
}

fn constraint(e: rusqlite::Error, kind: ObjectKind, user: &User) -> StoreError {
    match constraint_kind(&e) {
        Some(Constraint::Upn) => StoreError::UpnTaken { upn: user.attrs.user_principal_name.to_string() },
        Some(Constraint::Anchor) => StoreError::AnchorTaken { anchor: user.anchor.map(|a| a.to_string()).unwrap_or_default() },
        Some(Constraint::Id) => StoreError::IdTaken { kind, id: user.id },
        None => sql_err(e),
    }
}

/// The tenant's change head, `None` for an unknown tenant.
fn read_head(conn: &Connection, tenant: TenantId) -> rusqlite::Result<Option<u64>> {
    let head: Option<i64> = conn.prepare_cached("SELECT change_head FROM tenants WHERE id = ?1")?.query_row([tenant.as_bytes()], |r| r.get(0)).optional()?;
    Ok(head.map(|h| u64::try_from(h).unwrap_or(0)))
}

/// Adds a user's extension values to `user_extension_values` (one row per value), the
/// index SCIM filters on extension attributes seek. Nothing to do without extensions.
pub(crate) fn index_extensions(conn: &Connection, tenant: TenantId, user: ObjectId, extensions: Option<&str>) -> Result<(), StoreError> {
    let Some(json) = extensions else { return Ok(()) };
    conn.prepare_cached(
        "INSERT OR IGNORE INTO user_extension_values (tenant_id, name, value, user_id) \
         SELECT ?1, e.key, e.value, ?2 FROM json_each(?3) e WHERE e.type = 'text' \
         UNION ALL \
         SELECT ?1, e.key, v.value, ?2 FROM json_each(?3) e, json_each(e.value) v WHERE e.type = 'array' AND v.type = 'text'",
    )
    .and_then(|mut s| s.execute(params![tenant.as_bytes(), user.as_bytes(), json]))
    .map_err(sql_err)?;
    Ok(())
}
