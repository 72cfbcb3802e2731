//! Creating many plain users in few statements (the bulk import's path).
//!
//! A run of plain rows (no manager, no extension attributes) is first checked for taken
//! keys: one read of the tenant's users by the run's ids, folded UPNs and anchors, and a
//! look for the same key twice within the run. A run that takes nothing already taken
//! (the common case: an import into a tenant that does not hold those users) goes in by
//! binary `COPY` — the users, then their change rows — as fast as PostgreSQL loads rows;
//! the tenant's row lock, held since the transaction began, keeps every other writer of
//! the tenant out between the check and the copy, so the copy cannot meet a conflict.
//! Refusals stay decided by a read before any write (write.rs), with no savepoint: a
//! savepoint per run would give a large import hundreds of subtransactions, which slows
//! every other session's snapshots once there are more than 64.
//!
//! A run with a taken key takes the row-by-row-refusing path instead: the rows as
//! multi-row `INSERT … ON CONFLICT DO NOTHING RETURNING id`, their change rows as one
//! `unnest` insert. A row whose id, UPN or anchor is taken is not inserted and is refused
//! as [`Tx::create_user`] refuses it; the first of two rows with one UPN wins, as in order.
//! A run of sync copies with managers (and no extension attributes) none of whose keys is
//! taken goes by `COPY` too, its managers resolved up front (managed.rs); otherwise rows
//! with a manager or extension attributes go through [`Tx::create_user`] one by one.
use super::Tx;
use crate::rows::{self, USER_COLS, UserRow};
use crate::schema::pg_err;
use std::collections::HashSet;
use tenantsync_domain::{NewUser, ObjectId, ObjectKind, User, UserRef};
use tenantsync_store::StoreError;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};

/// Rows per statement: 34 parameters each, under PostgreSQL's 65,535.
const CHUNK: usize = 1_000;

/// The types of [`USER_COLS`], for binary `COPY`.
const USER_TYPES: [Type; rows::USER_COL_COUNT] = [
    Type::UUID,
    Type::UUID,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::BOOL,
    Type::INT2,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::UUID,
    Type::TEXT,
    Type::UUID,
    Type::UUID,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::TEXT,
    Type::BOOL,
];

/// The outcome of one row: the user (and a manager reference left for later), or why not.
pub type Created = Result<(User, Option<UserRef>), StoreError>;

impl Tx<'_> {
    /// Creates `users` in order, as [`Tx::create_user`] with `defer_manager` would one by
    /// one; the results line up with `users`. An error of the storage is returned as such.
    pub async fn create_users(&mut self, users: Vec<NewUser>) -> Result<Vec<Created>, StoreError> {
        if users.iter().any(|u| u.manager.is_some()) && users.iter().all(|u| u.attrs.extensions.is_empty()) && self.all_free(&users).await? {
            return self.copy_managed(users).await;
        }
        let mut out = Vec::with_capacity(users.len());
        let mut plain = Vec::new();
        for user in users {
            if user.manager.is_some() || !user.attrs.extensions.is_empty() {
                self.insert_plain(std::mem::take(&mut plain), &mut out).await?;
                out.push(match self.create_user(user, true).await {
                    Err(e) if !e.is_refusal() => return Err(e),
                    r => r,
                });
            } else {
                plain.push(user);
            }
        }
        self.insert_plain(plain, &mut out).await?;
        Ok(out)
    }

    /// Inserts users without manager or extensions: by `COPY` when none of their keys is
    /// taken, else a statement per [`CHUNK`] rows refusing the taken ones.
    async fn insert_plain(&mut self, users: Vec<NewUser>, out: &mut Vec<Created>) -> Result<(), StoreError> {
        if users.is_empty() {
            return Ok(());
        }
        if self.all_free(&users).await? {
            return self.copy_plain(users, out).await;
        }
        let mut users = users.into_iter().peekable();
        while users.peek().is_some() {
            let chunk: Vec<NewUser> = users.by_ref().take(CHUNK).collect();
            self.insert_refusing(chunk, out).await?;
        }
        Ok(())
    }

    /// Whether no two of `users` share an id, a UPN (ASCII case folded, as `ts_fold`) or
    /// an anchor, and the tenant holds none of them.
    pub(super) async fn all_free(&self, users: &[NewUser]) -> Result<bool, StoreError> {
        let mut ids = HashSet::with_capacity(users.len());
        let mut upns = HashSet::with_capacity(users.len());
        let mut anchors = HashSet::new();
        for u in users {
            let upn = u.attrs.user_principal_name.as_str().to_ascii_lowercase();
            if !ids.insert(u.id.0) || !upns.insert(upn) || u.anchor.is_some_and(|a| !anchors.insert((a.tenant.0, a.object.0))) {
                return Ok(false);
            }
        }
        let ids: Vec<uuid::Uuid> = ids.into_iter().collect();
        let upns: Vec<String> = upns.into_iter().collect();
        self.generic_plans(true).await?;
        let free = self.none_taken(ids, upns, anchors).await;
        if free.is_ok() {
            self.generic_plans(false).await?;
        }
        free
    }

    /// Plans this transaction's next statements for any tenant (`true`) or for their
    /// parameters (`false`, as usual). A tenant that grew since the table's statistics
    /// were taken is estimated to hold about one row, and every index that begins with
    /// the tenant then looks as good as the key's own: the planner probed ids through
    /// the UPN index, reading all the tenant's rows for each key (a hub's spokes, filled
    /// while autovacuum analyzes, spent minutes of server CPU so). A generic plan
    /// estimates a tenant at its average size and picks the index of the whole key.
    pub(super) async fn generic_plans(&self, on: bool) -> Result<(), StoreError> {
        let sql = if on { "SET LOCAL plan_cache_mode = force_generic_plan" } else { "SET LOCAL plan_cache_mode TO DEFAULT" };
        self.tx.batch_execute(sql).await.map_err(pg_err)
    }

    /// Whether none of the keys is taken in the tenant (see [`Tx::all_free`]).
    async fn none_taken(&self, ids: Vec<uuid::Uuid>, upns: Vec<String>, anchors: HashSet<(uuid::Uuid, uuid::Uuid)>) -> Result<bool, StoreError> {
        // A probe of each key by its index: without statistics (a table filled within this
        // very transaction has none) the planner would rather scan every row of the tenant
        // for `= ANY(…)`; the `LIMIT 1` subqueries keep the per-key index lookups. Planned
        // generically (see `generic_plans`).
        let sql = "SELECT EXISTS (SELECT 1 FROM unnest($2::uuid[]) AS x (id), \
                     LATERAL (SELECT 1 FROM users u WHERE u.tenant_id = $1 AND u.id = x.id LIMIT 1) AS found) \
                   OR EXISTS (SELECT 1 FROM unnest($3::text[]) AS x (upn), \
                     LATERAL (SELECT 1 FROM users u WHERE u.tenant_id = $1 AND ts_fold(u.upn) = x.upn LIMIT 1) AS found)";
        let row = self.tx.query_one(sql, &[&self.tenant.0, &ids, &upns]).await.map_err(pg_err)?;
        if rows::first::<bool>(&row)? {
            return Ok(false);
        }
        if anchors.is_empty() {
            return Ok(true);
        }
        // A sync batch's copies: a probe of each anchor by its index, as above.
        let (tenants, objects): (Vec<uuid::Uuid>, Vec<uuid::Uuid>) = anchors.into_iter().unzip();
        let sql = "SELECT EXISTS (SELECT 1 FROM unnest($2::uuid[], $3::uuid[]) AS x (t, o), \
                     LATERAL (SELECT 1 FROM users u WHERE u.tenant_id = $1 AND u.anchor_tenant = x.t AND u.anchor_object = x.o LIMIT 1) AS found)";
        let row = self.tx.query_one(sql, &[&self.tenant.0, &tenants, &objects]).await.map_err(pg_err)?;
        if rows::first::<bool>(&row)? {
            return Ok(false);
        }
        Ok(true)
    }

    /// Writes users none of whose keys is taken, and their change rows, by binary `COPY`.
    pub(super) async fn copy_plain(&mut self, users: Vec<NewUser>, out: &mut Vec<Created>) -> Result<(), StoreError> {
        let now = self.now();
        let sink = self.tx.copy_in(&format!("COPY users ({USER_COLS}) FROM STDIN (FORMAT binary)")).await.map_err(pg_err)?;
        let writer = BinaryCopyInWriter::new(sink, &USER_TYPES);
        futures_util::pin_mut!(writer);
        let mut made = Vec::with_capacity(users.len());
        for new in users {
            let user = User::created(self.tenant, new.id, new.attrs, new.anchor, now);
            let row = UserRow::of(&user);
            writer.as_mut().write(&row.params()).await.map_err(pg_err)?;
            made.push(user);
        }
        writer.finish().await.map_err(pg_err)?;
        let sink = self.tx.copy_in("COPY changes (tenant_id, seq, at_ms, object_kind, object_id, op) FROM STDIN (FORMAT binary)").await.map_err(pg_err)?;
        let writer = BinaryCopyInWriter::new(sink, &[Type::UUID, Type::INT8, Type::INT8, Type::INT2, Type::UUID, Type::INT2]);
        futures_util::pin_mut!(writer);
        let (kind, op) = (rows::kind_code(ObjectKind::User), i16::from(tenantsync_domain::ChangeOp::Create.code()));
        let mut seq = self.head;
        for user in &made {
            seq += 1;
            writer.as_mut().write(&[&self.tenant.0, &(seq as i64), &self.now_ms, &kind, &user.id.0, &op]).await.map_err(pg_err)?;
        }
        writer.finish().await.map_err(pg_err)?;
        self.head = seq;
        for user in made {
            self.counts.created(ObjectKind::User);
            self.counts.anchored(user.anchor.map(|a| a.tenant), 1);
            out.push(Ok((user, None)));
        }
        Ok(())
    }

    /// Inserts users without manager or extensions in one statement, refusing those whose
    /// keys are taken, then their changes.
    async fn insert_refusing(&mut self, users: Vec<NewUser>, out: &mut Vec<Created>) -> Result<(), StoreError> {
        if users.is_empty() {
            return Ok(());
        }
        let now = self.now();
        let made: Vec<User> = users.into_iter().map(|new| User::created(self.tenant, new.id, new.attrs, new.anchor, now)).collect();
        let values: Vec<UserRow> = made.iter().map(UserRow::of).collect();
        let params: Vec<&(dyn ToSql + Sync)> = values.iter().flat_map(UserRow::params).collect();
        let groups: Vec<String> = (0..made.len())
            .map(|r| format!("({})", (1..=rows::USER_COL_COUNT).map(|c| format!("${}", r * rows::USER_COL_COUNT + c)).collect::<Vec<_>>().join(", ")))
            .collect();
        let sql = format!("INSERT INTO users ({USER_COLS}) VALUES {} ON CONFLICT DO NOTHING RETURNING id", groups.join(", "));
        let inserted: HashSet<ObjectId> = self.rows(&sql, &params).await?.iter().map(|r| rows::first(r).map(ObjectId)).collect::<Result<_, _>>()?;
        let mut seqs = Vec::with_capacity(inserted.len());
        let mut ids = Vec::with_capacity(inserted.len());
        let mut taken: HashSet<ObjectId> = HashSet::new();
        for user in made {
            // A row whose id appears twice was inserted once: the second is refused.
            if inserted.contains(&user.id) && taken.insert(user.id) {
                self.head += 1;
                seqs.push(self.head as i64);
                ids.push(user.id.0);
                self.counts.created(ObjectKind::User);
                self.counts.anchored(user.anchor.map(|a| a.tenant), 1);
                out.push(Ok((user, None)));
            } else {
                let why = self.user_conflict(&user).await?;
                out.push(Err(why));
            }
        }
        if !ids.is_empty() {
            self.exec(
                "INSERT INTO changes (tenant_id, seq, at_ms, object_kind, object_id, op) SELECT $1, s, $2, 0, o, $3 FROM unnest($4::bigint[], $5::uuid[]) AS x (s, o)",
                &[&self.tenant.0, &self.now_ms, &i16::from(tenantsync_domain::ChangeOp::Create.code()), &seqs, &ids],
            )
            .await?;
        }
        Ok(())
    }
}
