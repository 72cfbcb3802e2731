//! The write path: one transaction on one tenant, begun by locking the tenant's row
//! (`SELECT … FOR UPDATE`), so the tenant's writers, in this process or any other, take
//! turns while other tenants' writers go on. Every write appends its change rows through
//! [`Tx::append`] in the same transaction, numbered from the tenant's `change_head`,
//! which the commit writes back: no gaps, no reordering.
//!
//! **Refusals come first**, as in the SQLite store: every refusal is decided by a read
//! before the operation's first write, or by an `INSERT … ON CONFLICT DO NOTHING` that
//! writes nothing, so a refused operation leaves the transaction usable (a failed
//! statement would abort a PostgreSQL transaction) and a batch in `Independent` mode goes
//! on without a savepoint per operation.
use crate::counts::Counts;
use crate::rows::{self, GROUP_COLS, GroupRow, USER_COLS, UserRow, kind_code};
use crate::schema::pg_err;
use deadpool_postgres::Transaction;
use tenantsync_domain::{AttrValue, AttributeChange, ChangeOp, Group, NewGroup, NewUser, ObjectId, ObjectKind, Origin, TenantId, User, UserRef, Version};
use tenantsync_store::{BatchMode, StoreError, WriteOp, WriteOutcome};
use tokio_postgres::types::ToSql;

mod batch;
mod lifecycle;
mod managed;
pub use lifecycle::check_version;

/// One open write transaction on one tenant.
pub struct Tx<'c> {
    pub tx: Transaction<'c>,
    pub tenant: TenantId,
    /// The tenant's newest change seq, including changes appended in this transaction.
    pub head: u64,
    head_at_begin: u64,
    pub now_ms: i64,
    /// The tenant's object counts changed by this transaction and not yet written.
    pub(crate) counts: Counts,
}

impl<'c> Tx<'c> {
    /// Starts a write transaction on `tenant`, waiting for the tenant's other writers.
    pub async fn begin(client: &'c mut deadpool_postgres::Client, tenant: TenantId, now_ms: i64) -> Result<Tx<'c>, StoreError> {
        let tx = client.transaction().await.map_err(pg_err)?;
        let stmt = tx.prepare_cached("SELECT change_head FROM tenants WHERE tenant_id = $1 FOR UPDATE").await.map_err(pg_err)?;
        let Some(row) = tx.query_opt(&stmt, &[&tenant.0]).await.map_err(pg_err)? else {
            return Err(StoreError::TenantNotFound { tenant: tenant.to_string() });
        };
        let head = u64::try_from(row.try_get::<_, i64>(0).map_err(pg_err)?).unwrap_or(0);
        Ok(Tx { tx, tenant, head, head_at_begin: head, now_ms, counts: Counts::default() })
    }

    /// Whether this transaction appended changes.
    pub fn appended(&self) -> bool {
        self.head != self.head_at_begin
    }

    /// Records the new head and the counts and commits. Returns the head if changes
    /// were appended.
    pub async fn commit(self) -> Result<Option<u64>, StoreError> {
        self.write_head().await?;
        let head = self.appended().then_some(self.head);
        self.tx.commit().await.map_err(pg_err)?;
        Ok(head)
    }

    pub async fn rollback(self) {
        if let Err(e) = self.tx.rollback().await {
            tracing::warn!(error = %e, "rollback failed");
        }
    }

    async fn write_head(&self) -> Result<(), StoreError> {
        if self.appended() {
            let stmt = self.tx.prepare_cached("UPDATE tenants SET change_head = $1 WHERE tenant_id = $2").await.map_err(pg_err)?;
            self.tx.execute(&stmt, &[&(self.head as i64), &self.tenant.0]).await.map_err(pg_err)?;
        }
        crate::counts::write(&self.counts, &self.tx, self.tenant).await
    }

    /// Runs a statement of this transaction (cached).
    pub async fn exec(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, StoreError> {
        let stmt = self.tx.prepare_cached(sql).await.map_err(pg_err)?;
        self.tx.execute(&stmt, params).await.map_err(pg_err)
    }

    /// Rows of a statement of this transaction (cached).
    pub async fn rows(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<tokio_postgres::Row>, StoreError> {
        let stmt = self.tx.prepare_cached(sql).await.map_err(pg_err)?;
        self.tx.query(&stmt, params).await.map_err(pg_err)
    }

    /// Appends one change to the tenant's feed.
    pub async fn append(
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
        self.exec(
            "INSERT INTO changes (tenant_id, seq, at_ms, object_kind, object_id, op, member_id, attributes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[&self.tenant.0, &(seq as i64), &self.now_ms, &kind_code(kind), &object.0, &i16::from(op.code()), &member.map(|m| m.0), &attrs],
        )
        .await?;
        self.head = seq;
        Ok(())
    }

    fn now(&self) -> jiff::Timestamp {
        rows::ts(self.now_ms)
    }

    // ---------- reads inside the transaction ----------

    pub async fn load_user(&self, id: ObjectId) -> Result<User, StoreError> {
        let rows = self.rows(&format!("SELECT {USER_COLS} FROM users WHERE tenant_id = $1 AND id = $2"), &[&self.tenant.0, &id.0]).await?;
        rows.first().map(rows::user).transpose()?.ok_or(StoreError::NotFound { kind: ObjectKind::User, id })
    }

    pub async fn load_group(&self, id: ObjectId) -> Result<Group, StoreError> {
        let rows = self.rows(&format!("SELECT {GROUP_COLS} FROM groups WHERE tenant_id = $1 AND id = $2"), &[&self.tenant.0, &id.0]).await?;
        rows.first().map(rows::group).transpose()?.ok_or(StoreError::NotFound { kind: ObjectKind::Group, id })
    }

    /// Resolves a manager reference to a live user of this tenant, if there is one.
    pub async fn find_manager(&self, r: &UserRef) -> Result<Option<ObjectId>, StoreError> {
        let rows = match r {
            UserRef::Id(id) => self.rows("SELECT id, deleted_ms FROM users WHERE tenant_id = $1 AND id = $2", &[&self.tenant.0, &id.0]).await?,
            UserRef::Upn(upn) => {
                self.rows("SELECT id, deleted_ms FROM users WHERE tenant_id = $1 AND ts_fold(upn) = ts_fold($2)", &[&self.tenant.0, &upn.as_str()]).await?
            }
        };
        let Some(row) = rows.first() else { return Ok(None) };
        let deleted: Option<i64> = row.try_get(1).map_err(pg_err)?;
        deleted.is_none().then(|| row.try_get(0).map(ObjectId)).transpose().map_err(pg_err)
    }

    async fn resolve_manager(&self, r: &UserRef, own: ObjectId) -> Result<ObjectId, StoreError> {
        let id = self.find_manager(r).await?.ok_or_else(|| StoreError::UnknownManager { reference: r.to_string() })?;
        if id == own {
            return Err(StoreError::SelfManager);
        }
        Ok(id)
    }

    /// Whether another user of the tenant has `upn` (ignoring case).
    async fn upn_taken(&self, upn: &str, except: ObjectId) -> Result<bool, StoreError> {
        let rows =
            self.rows("SELECT 1 FROM users WHERE tenant_id = $1 AND ts_fold(upn) = ts_fold($2) AND id <> $3", &[&self.tenant.0, &upn, &except.0]).await?;
        Ok(!rows.is_empty())
    }

    // ---------- writes ----------

    /// Applies a batch. In `Atomic` mode the first failure is returned; in `Independent`
    /// mode a refusal is that operation's result and the others go on. Any other error is
    /// returned. On an error the caller rolls the transaction back.
    pub async fn apply_all(&mut self, ops: Vec<WriteOp>, mode: BatchMode) -> Result<Vec<Result<WriteOutcome, StoreError>>, StoreError> {
        let mut results = Vec::with_capacity(ops.len());
        for op in ops {
            match self.apply(op).await {
                Ok(outcome) => results.push(Ok(outcome)),
                Err(e) if mode == BatchMode::Atomic || !e.is_refusal() => return Err(e),
                Err(e) => results.push(Err(e)),
            }
        }
        Ok(results)
    }

    /// Applies a sync run's batch in `Independent` mode. A copy naming as its manager a
    /// copy created later in the same batch gets it once that one exists (a copy whose
    /// manager is missing is left without one, as [`Tx::apply`] leaves it).
    pub async fn apply_sync(&mut self, ops: Vec<WriteOp>) -> Result<Vec<Result<WriteOutcome, StoreError>>, StoreError> {
        let mut results = Vec::with_capacity(ops.len());
        let mut deferred: Vec<(usize, ObjectId, UserRef)> = Vec::new();
        let mut ops = ops.into_iter().peekable();
        let creates_copy = |op: &WriteOp| matches!(op, WriteOp::CreateUser(u) if u.anchor.is_some());
        while let Some(op) = ops.next() {
            if creates_copy(&op) {
                // A run of copies: in as few statements as their kind allows.
                let mut run = Vec::new();
                for op in std::iter::once(op).chain(std::iter::from_fn(|| ops.next_if(creates_copy))) {
                    if let WriteOp::CreateUser(u) = op {
                        run.push(*u);
                    }
                }
                for created in self.create_users(run).await? {
                    match created {
                        Ok((user, later)) => {
                            if let Some(r) = later {
                                deferred.push((results.len(), user.id, r));
                            }
                            results.push(Ok(WriteOutcome::User(Box::new(user))));
                        }
                        Err(e) => results.push(Err(e)),
                    }
                }
                continue;
            }
            match self.apply(op).await {
                Ok(o) => results.push(Ok(o)),
                Err(e) if !e.is_refusal() => return Err(e),
                Err(e) => results.push(Err(e)),
            }
        }
        for (pos, user, r) in deferred {
            if let Some(m) = self.find_manager(&r).await?
                && m != user
            {
                self.set_manager_in_creation(user, m).await?;
                if let Some(Ok(WriteOutcome::User(u))) = results.get_mut(pos) {
                    u.attrs.manager = Some(m);
                }
            }
        }
        Ok(results)
    }

    /// Applies one operation with its change-feed entries; refusals come first (see the
    /// module's documentation).
    pub async fn apply(&mut self, op: WriteOp) -> Result<WriteOutcome, StoreError> {
        match op {
            WriteOp::CreateUser(u) => {
                let best_effort = u.anchor.is_some();
                self.create_user(*u, best_effort).await.map(|(u, _)| WriteOutcome::User(Box::new(u)))
            }
            WriteOp::UpdateUser { id, patch, if_match } => {
                let mut user = self.load_live_user(id, if_match).await?;
                let manager = match &patch.manager {
                    None => None,
                    Some(None) => Some(None),
                    Some(Some(r)) => Some(Some(self.resolve_manager(r, id).await?)),
                };
                let old_upn = user.attrs.user_principal_name.clone();
                let old_extensions = user.attrs.extensions.clone();
                let changes = user.attrs.apply(&patch, manager)?;
                if changes.is_empty() {
                    return Ok(WriteOutcome::User(Box::new(user)));
                }
                if user.attrs.user_principal_name != old_upn && self.upn_taken(user.attrs.user_principal_name.as_str(), id).await? {
                    return Err(StoreError::UpnTaken { upn: user.attrs.user_principal_name.to_string() });
                }
                let extensions_changed = user.attrs.extensions != old_extensions;
                self.bump_user(&mut user, extensions_changed).await?;
                self.append(ObjectKind::User, id, ChangeOp::Update, None, &changes).await?;
                Ok(WriteOutcome::User(Box::new(user)))
            }
            WriteOp::SoftDeleteUser { id, if_match } => self.soft_delete(ObjectKind::User, id, if_match).await,
            WriteOp::RestoreUser { id, if_match } => self.restore(ObjectKind::User, id, if_match).await,
            WriteOp::HardDeleteUser { id, if_match } => {
                let user = self.load_user(id).await?;
                check_version(ObjectKind::User, id, user.version, if_match)?;
                self.hard_delete_user(id, user.is_deleted(), user.anchor.map(|a| a.tenant)).await?;
                Ok(WriteOutcome::HardDeleted { kind: ObjectKind::User, id })
            }
            WriteOp::CreateGroup(g) => self.create_group(g).await.map(|g| WriteOutcome::Group(Box::new(g))),
            WriteOp::UpdateGroup { id, patch, if_match } => {
                let mut group = self.load_live_group(id, if_match).await?;
                let changes = group.attrs.apply(&patch)?;
                if changes.is_empty() {
                    return Ok(WriteOutcome::Group(Box::new(group)));
                }
                self.bump_group(&mut group).await?;
                self.append(ObjectKind::Group, id, ChangeOp::Update, None, &changes).await?;
                Ok(WriteOutcome::Group(Box::new(group)))
            }
            WriteOp::SoftDeleteGroup { id, if_match } => self.soft_delete(ObjectKind::Group, id, if_match).await,
            WriteOp::RestoreGroup { id, if_match } => self.restore(ObjectKind::Group, id, if_match).await,
            WriteOp::HardDeleteGroup { id, if_match } => {
                let group = self.load_group(id).await?;
                check_version(ObjectKind::Group, id, group.version, if_match)?;
                self.hard_delete_group(id, group.is_deleted()).await?;
                Ok(WriteOutcome::HardDeleted { kind: ObjectKind::Group, id })
            }
            WriteOp::AddMember { group, user, if_match } => {
                let mut g = self.load_live_group(group, if_match).await?;
                if self.load_user(user).await?.is_deleted() {
                    return Err(StoreError::ObjectDeleted { kind: ObjectKind::User, id: user });
                }
                if !self.insert_membership(group, user).await? {
                    return Err(StoreError::MemberExists { group, user });
                }
                self.bump_group(&mut g).await?;
                self.append(ObjectKind::Group, group, ChangeOp::MemberAdd, Some(user), &[]).await?;
                Ok(WriteOutcome::Group(Box::new(g)))
            }
            WriteOp::RemoveMember { group, user, if_match } => {
                let mut g = self.load_live_group(group, if_match).await?;
                if self.remove_membership(group, user).await? == 0 {
                    return Err(StoreError::NotAMember { group, user });
                }
                self.bump_group(&mut g).await?;
                self.append(ObjectKind::Group, group, ChangeOp::MemberRemove, Some(user), &[]).await?;
                Ok(WriteOutcome::Group(Box::new(g)))
            }
            WriteOp::SetMembership { group, user, member: true } => {
                let mut g = self.load_live_group(group, None).await?;
                if self.load_user(user).await?.is_deleted() {
                    return Err(StoreError::ObjectDeleted { kind: ObjectKind::User, id: user });
                }
                if self.insert_membership(group, user).await? {
                    self.bump_group(&mut g).await?;
                    self.append(ObjectKind::Group, group, ChangeOp::MemberAdd, Some(user), &[]).await?;
                }
                Ok(WriteOutcome::Group(Box::new(g)))
            }
            WriteOp::SetMembership { group, user, member: false } => {
                let mut g = self.load_live_group(group, None).await?;
                if self.remove_membership(group, user).await? > 0 {
                    self.bump_group(&mut g).await?;
                    self.append(ObjectKind::Group, group, ChangeOp::MemberRemove, Some(user), &[]).await?;
                }
                Ok(WriteOutcome::Group(Box::new(g)))
            }
            WriteOp::ReleaseUpn { id } => self.release_upn(id).await,
            WriteOp::SetBareName { id, bare } => {
                let user = self.load_live_user(id, None).await?;
                let sql = if bare {
                    "INSERT INTO bare_user_names (tenant_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"
                } else {
                    "DELETE FROM bare_user_names WHERE tenant_id = $1 AND user_id = $2"
                };
                self.exec(sql, &[&self.tenant.0, &id.0]).await?;
                Ok(WriteOutcome::User(Box::new(user)))
            }
        }
    }

    /// Inserts a new user. With `defer_manager`, a manager that does not exist yet is
    /// left unset and returned, for the caller to resolve later in the transaction.
    pub async fn create_user(&mut self, new: NewUser, defer_manager: bool) -> Result<(User, Option<UserRef>), StoreError> {
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
            Some(r) => match self.find_manager(r).await? {
                Some(m) => Some(m),
                None if defer_manager => {
                    deferred = Some(r.clone());
                    None
                }
                None => return Err(StoreError::UnknownManager { reference: r.to_string() }),
            },
        };
        let user = self.insert_user(new, manager).await?;
        Ok((user, deferred))
    }

    /// Inserts a new user whose manager (if any) is known to exist, with its change. A
    /// taken id, UPN or anchor writes nothing (`ON CONFLICT DO NOTHING`) and is refused.
    async fn insert_user(&mut self, new: NewUser, manager: Option<ObjectId>) -> Result<User, StoreError> {
        let mut attrs = new.attrs;
        attrs.manager = manager;
        let now = self.now();
        let user = User::created(self.tenant, new.id, attrs, new.anchor, now);
        let row = UserRow::of(&user);
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!("INSERT INTO users ({USER_COLS}) VALUES ({}) ON CONFLICT DO NOTHING", rows::placeholders(rows::USER_COL_COUNT))
        });
        if self.exec(&SQL, &row.params()).await? == 0 {
            return Err(self.user_conflict(&user).await?);
        }
        self.index_extensions(user.id, &user.attrs.extensions).await?;
        self.append(ObjectKind::User, user.id, ChangeOp::Create, None, &[]).await?;
        self.counts.created(ObjectKind::User);
        self.counts.anchored(user.anchor.map(|a| a.tenant), 1);
        Ok(user)
    }

    /// Which unique key a user that could not be inserted collides on.
    async fn user_conflict(&self, user: &User) -> Result<StoreError, StoreError> {
        if !self.rows("SELECT 1 FROM users WHERE tenant_id = $1 AND id = $2", &[&self.tenant.0, &user.id.0]).await?.is_empty() {
            return Ok(StoreError::IdTaken { kind: ObjectKind::User, id: user.id });
        }
        if let Some(a) = user.anchor {
            let sql = "SELECT 1 FROM users WHERE tenant_id = $1 AND anchor_tenant = $2 AND anchor_object = $3";
            if !self.rows(sql, &[&self.tenant.0, &a.tenant.0, &a.object.0]).await?.is_empty() {
                return Ok(StoreError::AnchorTaken { anchor: a.to_string() });
            }
        }
        Ok(StoreError::UpnTaken { upn: user.attrs.user_principal_name.to_string() })
    }

    /// Sets the manager of a user created earlier in this transaction, without a change
    /// entry of its own: the create change already stands for the object's whole state.
    pub async fn set_manager_in_creation(&self, user: ObjectId, manager: ObjectId) -> Result<(), StoreError> {
        self.exec("UPDATE users SET manager_id = $1 WHERE tenant_id = $2 AND id = $3", &[&manager.0, &self.tenant.0, &user.0]).await?;
        Ok(())
    }

    async fn create_group(&mut self, new: NewGroup) -> Result<Group, StoreError> {
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
        let row = GroupRow::of(&group);
        let sql = format!("INSERT INTO groups ({GROUP_COLS}) VALUES ({}) ON CONFLICT DO NOTHING", rows::placeholders(13));
        if self.exec(&sql, &row.params()).await? == 0 {
            let taken = self.rows("SELECT 1 FROM groups WHERE tenant_id = $1 AND id = $2", &[&self.tenant.0, &group.id.0]).await?;
            return Err(match group.anchor {
                Some(a) if taken.is_empty() => StoreError::AnchorTaken { anchor: a.to_string() },
                _ => StoreError::IdTaken { kind: ObjectKind::Group, id: group.id },
            });
        }
        self.append(ObjectKind::Group, group.id, ChangeOp::Create, None, &[]).await?;
        self.counts.created(ObjectKind::Group);
        Ok(group)
    }

    /// Writes a user back with version + 1; `extensions_changed`: its extension values
    /// are indexed again.
    pub(crate) async fn bump_user(&self, user: &mut User, extensions_changed: bool) -> Result<(), StoreError> {
        user.version = user.version.next();
        user.last_modified_date_time = self.now();
        let row = UserRow::of(user);
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            let cols: Vec<&str> = USER_COLS.split(',').map(str::trim).collect();
            let sets: Vec<String> = cols.iter().enumerate().skip(2).map(|(i, c)| format!("{c} = ${}", i + 1)).collect();
            format!("UPDATE users SET {} WHERE tenant_id = $1 AND id = $2", sets.join(", "))
        });
        self.exec(&SQL, &row.params()).await?;
        if extensions_changed {
            self.exec("DELETE FROM user_extension_values WHERE tenant_id = $1 AND user_id = $2", &[&self.tenant.0, &user.id.0]).await?;
            self.index_extensions(user.id, &user.attrs.extensions).await?;
        }
        Ok(())
    }

    /// Writes a group back with version + 1.
    pub(crate) async fn bump_group(&self, group: &mut Group) -> Result<(), StoreError> {
        group.version = group.version.next();
        group.last_modified_date_time = self.now();
        let row = GroupRow::of(group);
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            let cols: Vec<&str> = GROUP_COLS.split(',').map(str::trim).collect();
            let sets: Vec<String> = cols.iter().enumerate().skip(2).map(|(i, c)| format!("{c} = ${}", i + 1)).collect();
            format!("UPDATE groups SET {} WHERE tenant_id = $1 AND id = $2", sets.join(", "))
        });
        self.exec(&SQL, &row.params()).await?;
        Ok(())
    }

    /// Adds a user's extension values to `user_extension_values` (one row per text
    /// value), the index filters on extension attributes seek.
    async fn index_extensions(
        &self,
        user: ObjectId,
        extensions: &std::collections::BTreeMap<tenantsync_domain::ExtensionName, AttrValue>,
    ) -> Result<(), StoreError> {
        let mut names = Vec::new();
        let mut values = Vec::new();
        for (name, value) in extensions {
            match value {
                AttrValue::String(s) => {
                    names.push(name.as_str().to_owned());
                    values.push(s.clone());
                }
                AttrValue::Strings(v) => {
                    for s in v {
                        names.push(name.as_str().to_owned());
                        values.push(s.clone());
                    }
                }
                AttrValue::Null | AttrValue::Bool(_) => {}
            }
        }
        if names.is_empty() {
            return Ok(());
        }
        self.exec(
            "INSERT INTO user_extension_values (tenant_id, name, value, user_id) SELECT $1, n, v, $2 FROM unnest($3::text[], $4::text[]) AS x (n, v) \
             ON CONFLICT DO NOTHING",
            &[&self.tenant.0, &user.0, &names, &values],
        )
        .await?;
        Ok(())
    }

    /// Whether the membership was new (an existing one is left as it is).
    async fn insert_membership(&self, group: ObjectId, user: ObjectId) -> Result<bool, StoreError> {
        let n = self
            .exec("INSERT INTO members (tenant_id, group_id, user_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", &[&self.tenant.0, &group.0, &user.0])
            .await?;
        Ok(n > 0)
    }

    async fn remove_membership(&self, group: ObjectId, user: ObjectId) -> Result<u64, StoreError> {
        self.exec("DELETE FROM members WHERE tenant_id = $1 AND group_id = $2 AND user_id = $3", &[&self.tenant.0, &group.0, &user.0]).await
    }

    async fn ids(&self, sql: &str, id: ObjectId) -> Result<Vec<ObjectId>, StoreError> {
        self.rows(sql, &[&self.tenant.0, &id.0]).await?.iter().map(|r| rows::first(r).map(ObjectId)).collect()
    }
}
