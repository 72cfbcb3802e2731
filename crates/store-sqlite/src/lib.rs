//! The embedded SQLite store of tenantsync.
//!
//! One data directory holds one database file, `tenantsync.db`, in WAL mode. All writes
//! go through a **single writer thread** that owns the only read-write connection and
//! runs each request as one transaction; async callers hand it a closure and await the
//! answer. Reads run on the calling thread on a pooled read-only connection: under WAL
//! they never wait for the writer. After a commit that appended changes, the writer
//! broadcasts a [`CommitNotice`], so change-feed consumers wake without polling.
//!
//! Why rusqlite and not sqlx: see ARCHITECTURE.md ("SQLite driver").

mod access;
mod admin;
mod backup;
mod bulk;
mod connector;
mod console;
mod counts;
mod dump;
mod files;
mod listing;
mod lock;
mod logblock;
mod logcodec;
mod logpage;
mod notify;
mod open;
mod pages;
mod partners;
mod query;
mod restore;
mod rows;
mod schema;
mod search;
mod session;
mod sync;
mod write;

pub use backup::{Copied, TenantCopy, backup, restore};
pub use lock::{BUSY_TIMEOUT_VAR, DEFAULT_BUSY_TIMEOUT, LOCK_FILE};
pub use open::StoreOptions;
pub use schema::{APPLICATION_ID, DB_FILE, WAL_AUTOCHECKPOINT_PAGES, latest_version as schema_version, migrations, page_size};
pub use session::{SYNC_BATCH_OBJECTS, SqliteSyncWriter, UNIT_OBJECTS};

use async_trait::async_trait;
use jiff::Timestamp;
use rows::{CHANGE_COLS, GROUP_COLS, TENANT_COLS, USER_COLS, sql_err};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use tenantsync_domain::{Anchor, ChangeCursor, Clock, DomainName, Group, Mail, NewTenant, ObjectId, ObjectKind, Tenant, TenantId, Upn, User};
use tenantsync_store::{
    ApiToken, BatchMode, BulkOptions, BulkUserImport, ChangePage, CommitNotice, ListQuery, NewApiToken, ObjectQuery, Page, QueryPage, Result, SearchPage,
    Store, StoreError, TokenRole, UserGroup, UserSearch, Visibility, WriteOp, WriteOutcome,
};
use tokio::sync::{broadcast, oneshot};
use write::Tx;

/// Page cache of the writer connection. Big enough that the upper levels of every index
/// of a million-user tenant stay cached while a bulk import runs.
pub const WRITER_CACHE_KIB: i64 = 256 * 1024;
const READER_CACHE_KIB: i64 = 32 * 1024;
const MAX_IDLE_READERS: usize = 8;

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// What the writer thread needs to queue a job.
#[derive(Clone)]
pub(crate) struct Queue {
    pub jobs: mpsc::Sender<Job>,
    /// Jobs queued and not yet started.
    pub waiting: Arc<AtomicUsize>,
}

impl Queue {
    pub(crate) fn submit(&self, job: Job) -> std::result::Result<(), StoreError> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        self.jobs.send(job).map_err(|_| {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            StoreError::Closed
        })
    }
}

/// A tenantsync store in an SQLite database. Cheap to clone; clones share the writer,
/// the read pool and the notification channel.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    /// Jobs sent to the writer thread and not yet started.
    waiting: Arc<AtomicUsize>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    readers: Mutex<Vec<Connection>>,
    notices: notify::Notifier,
    clock: Arc<dyn Clock>,
    /// Waiting for other processes' write lock, and letting them in (`lock.rs`).
    turn: Arc<lock::Turn>,
    permission_warning: Option<String>,
    /// Access steps waiting for the writer, committed together (`access.rs`).
    steps: access::StepQueue,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.path).finish_non_exhaustive()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Closing the channel ends the writer loop; wait so the file is closed cleanly.
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.take();
        }
        if let Ok(mut writer) = self.writer.lock()
            && let Some(handle) = writer.take()
            && handle.thread().id() != std::thread::current().id()
        {
            let _ = handle.join();
        }
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the store in `data_dir`, with the system clock.
    pub fn open(data_dir: &Path) -> Result<SqliteStore> {
        Self::open_with(data_dir, StoreOptions::default())
    }

    /// Opens the store with a clock of the caller's choosing (tests move time).
    pub fn open_with_clock(data_dir: &Path, clock: Arc<dyn Clock>) -> Result<SqliteStore> {
        Self::open_with(data_dir, StoreOptions { clock, ..StoreOptions::default() })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    fn now_ms(&self) -> i64 {
        self.inner.clock.now().as_millisecond()
    }

    fn clock_now(&self) -> jiff::Timestamp {
        self.inner.clock.now()
    }

    fn notify(&self, tenant: TenantId, head: Option<u64>) {
        self.inner.notices.commit(tenant, head);
    }

    /// Tells the schedulers of every process that a job changed outside its cycles.
    pub(crate) fn notify_job(&self, notice: tenantsync_store::JobNotice) {
        self.inner.notices.job(notice);
    }

    pub(crate) fn notifier(&self) -> notify::Notifier {
        self.inner.notices.clone()
    }

    /// A lease as an OS file lock on `.locks/<name>.lock`: released when the guard is
    /// dropped or the process dies, so a killed run never leaves a stale lease behind.
    pub(crate) fn file_lease(&self, name: &str) -> Result<Option<tenantsync_store::JobLease>> {
        let dir = self.path().parent().map(|d| d.join(".locks")).unwrap_or_else(|| std::path::PathBuf::from(".locks"));
        let io = |e: std::io::Error| StoreError::Internal { message: format!("lease: {e}") };
        std::fs::create_dir_all(&dir).map_err(io)?;
        let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(dir.join(format!("{name}.lock"))).map_err(io)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(tenantsync_store::JobLease::new(Box::new(file)))),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
        }
    }

    /// Runs `f` on the writer thread and waits for its answer.
    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let _ = tx.send(f(conn));
        });
        self.queue()?.submit(job)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// The writer thread's queue.
    fn queue(&self) -> Result<Queue> {
        let jobs = self.inner.jobs.lock().map_err(|_| StoreError::Closed)?;
        Ok(Queue { jobs: jobs.as_ref().ok_or(StoreError::Closed)?.clone(), waiting: self.inner.waiting.clone() })
    }

    /// Runs `f` on a pooled read connection, on the calling thread.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let conn = self.inner.readers.lock().map_err(|_| StoreError::Closed)?.pop();
        let conn = match conn {
            Some(c) => c,
            None => {
                let c = schema::open_conn(&self.inner.path, true)?;
                schema::configure(&c, READER_CACHE_KIB, false)?;
                c.busy_timeout(self.inner.turn.timeout()).map_err(sql_err)?;
                c
            }
        };
        let result = f(&conn).map_err(sql_err);
        if let Ok(mut pool) = self.inner.readers.lock()
            && pool.len() < MAX_IDLE_READERS
        {
            pool.push(conn);
        }
        result
    }

    /// Reads that are only checked against an unknown tenant when they find nothing (a
    /// row of the tenant proves it exists): the common lookup that finds its object skips
    /// the tenant check.
    fn read_found<T>(&self, tenant: TenantId, f: impl FnOnce(&Connection) -> rusqlite::Result<T>, found: impl Fn(&T) -> bool) -> Result<T> {
        let out = self.read(|c| {
            let v = f(c)?;
            if found(&v) || Self::tenant_exists(c, tenant)? { Ok(Some(v)) } else { Ok(None) }
        })?;
        out.ok_or_else(|| StoreError::TenantNotFound { tenant: tenant.to_string() })
    }

    /// A count kept by the write path (`counts.rs`).
    fn count(&self, tenant: TenantId, kind: ObjectKind, visibility: Visibility) -> Result<u64> {
        let n = self.read(|c| c.prepare_cached(counts::select(kind, visibility))?.query_row([tenant.as_bytes()], |r| r.get::<_, i64>(0)).optional())?;
        n.map(|n| u64::try_from(n).unwrap_or(0)).ok_or_else(|| StoreError::TenantNotFound { tenant: tenant.to_string() })
    }

    fn tenant_exists(conn: &Connection, tenant: TenantId) -> rusqlite::Result<bool> {
        conn.prepare_cached("SELECT 1 FROM tenants WHERE id = ?1")?.exists([tenant.as_bytes()])
    }

    /// Reads with a tenant check: an unknown tenant is an error, never an empty answer.
    /// The check and the read share one read transaction: each statement on its own
    /// would take the WAL read lock (and remap a grown database) once more; beginning
    /// read transactions was 15% of the CPU of a run of access requests, whose every
    /// step reads this way.
    /// (`f` must not begin a transaction of its own.)
    fn read_in<T>(&self, tenant: TenantId, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let out = self.read(|c| {
            c.prepare_cached("BEGIN")?.execute([])?;
            let result = match Self::tenant_exists(c, tenant) {
                Ok(true) => f(c).map(Some),
                Ok(false) => Ok(None),
                Err(e) => Err(e),
            };
            // A pooled connection must not stay in the transaction.
            if c.prepare_cached("COMMIT").and_then(|mut s| s.execute([])).is_err() {
                let _ = c.execute_batch("ROLLBACK");
            }
            result
        })?;
        out.ok_or_else(|| StoreError::TenantNotFound { tenant: tenant.to_string() })
    }
}

pub(crate) fn token_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ApiToken> {
    Ok(ApiToken {
        id: ObjectId::from_bytes(r.get(0)?),
        tenant_id: TenantId::from_bytes(r.get(1)?),
        name: r.get(2)?,
        secret_hash: r.get(3)?,
        created_date_time: rows::ts(r.get(4)?),
        expires_date_time: r.get::<_, Option<i64>>(5)?.map(rows::ts),
        revoked_date_time: r.get::<_, Option<i64>>(6)?.map(rows::ts),
        role: TokenRole::parse(&r.get::<_, String>(7)?).ok_or_else(|| rows::corrupt("token role"))?,
    })
}

pub(crate) const TOKEN_COLS: &str = "id, tenant_id, name, secret_hash, created_ms, expires_ms, revoked_ms, role";

fn map_tenant_insert(e: rusqlite::Error, t: &NewTenant) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(err, Some(msg)) if err.code == rusqlite::ErrorCode::ConstraintViolation => {
            if msg.contains("initial_domain") {
                StoreError::DomainTaken { domain: t.initial_domain.to_string() }
            } else {
                StoreError::TenantExists { tenant: t.id.to_string() }
            }
        }
        _ => sql_err(e),
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn clock(&self) -> Arc<dyn Clock> {
        self.inner.clock.clone()
    }

    async fn create_tenant(&self, t: NewTenant) -> Result<Tenant> {
        let now = self.now_ms();
        self.write(move |conn| {
            conn.prepare_cached("INSERT INTO tenants (id, display_name, initial_domain, created_ms, retention_days) VALUES (?1, ?2, ?3, ?4, ?5)")
                .and_then(|mut s| s.execute(params![t.id.as_bytes(), t.display_name, t.initial_domain.as_str(), now, t.soft_delete_retention_days]))
                .map_err(|e| map_tenant_insert(e, &t))?;
            Ok(Tenant {
                id: t.id,
                display_name: t.display_name,
                initial_domain: t.initial_domain,
                created_date_time: rows::ts(now),
                soft_delete_retention_days: t.soft_delete_retention_days,
            })
        })
        .await
    }

    async fn get_tenant(&self, id: TenantId) -> Result<Tenant> {
        self.read(|c| c.prepare_cached(&format!("SELECT {TENANT_COLS} FROM tenants WHERE id = ?1"))?.query_row([id.as_bytes()], rows::tenant).optional())?
            .ok_or_else(|| StoreError::TenantNotFound { tenant: id.to_string() })
    }

    async fn find_tenant_by_domain(&self, domain: &DomainName) -> Result<Option<Tenant>> {
        self.read(|c| {
            c.prepare_cached(&format!("SELECT {TENANT_COLS} FROM tenants WHERE initial_domain = ?1"))?.query_row([domain.as_str()], rows::tenant).optional()
        })
    }

    async fn list_tenants(&self) -> Result<Vec<Tenant>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!("SELECT {TENANT_COLS} FROM tenants ORDER BY created_ms, id"))?;
            let rows = stmt.query_map([], rows::tenant)?;
            rows.collect()
        })
    }

    async fn set_tenant_retention(&self, id: TenantId, days: u32) -> Result<Tenant> {
        let n = self
            .write(move |conn| {
                conn.prepare_cached("UPDATE tenants SET retention_days = ?1 WHERE id = ?2")
                    .and_then(|mut s| s.execute(params![days, id.as_bytes()]))
                    .map_err(sql_err)
            })
            .await?;
        if n == 0 {
            return Err(StoreError::TenantNotFound { tenant: id.to_string() });
        }
        self.get_tenant(id).await
    }

    async fn get_user(&self, tenant: TenantId, id: ObjectId) -> Result<User> {
        self.read_in(tenant, |c| {
            c.prepare_cached(&format!("SELECT {USER_COLS} FROM users WHERE tenant_id = ?1 AND id = ?2"))?
                .query_row(params![tenant.as_bytes(), id.as_bytes()], rows::user)
                .optional()
        })?
        .ok_or(StoreError::NotFound { kind: ObjectKind::User, id })
    }

    async fn find_user_by_upn(&self, tenant: TenantId, upn: &Upn) -> Result<Option<User>> {
        self.read_in(tenant, |c| {
            c.prepare_cached(&format!("SELECT {USER_COLS} FROM users WHERE tenant_id = ?1 AND upn = ?2 COLLATE NOCASE"))?
                .query_row(params![tenant.as_bytes(), upn.as_str()], rows::user)
                .optional()
        })
    }

    async fn find_users_by_mail(&self, tenant: TenantId, mail: &Mail) -> Result<Vec<User>> {
        self.read_in(tenant, |c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {USER_COLS} FROM users INDEXED BY users_mail WHERE tenant_id = ?1 AND mail = ?2 COLLATE NOCASE AND mail IS NOT NULL ORDER BY id"
            ))?;
            let rows = stmt.query_map(params![tenant.as_bytes(), mail.as_str()], rows::user)?;
            rows.collect()
        })
    }

    async fn find_user_by_anchor(&self, tenant: TenantId, anchor: &Anchor) -> Result<Option<User>> {
        self.read_in(tenant, |c| {
            c.prepare_cached(&format!(
                "SELECT {USER_COLS} FROM users INDEXED BY users_anchor WHERE tenant_id = ?1 AND anchor_tenant = ?2 AND anchor_object = ?3 AND anchor_tenant IS NOT NULL"
            ))?
            .query_row(params![tenant.as_bytes(), anchor.tenant.as_bytes(), anchor.object.as_bytes()], rows::user)
            .optional()
        })
    }

    async fn list_users_by_anchor_tenant(&self, tenant: TenantId, source: TenantId, after: Option<ObjectId>, limit: u32) -> Result<Page<User>> {
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!(
                "SELECT {USER_COLS} FROM users INDEXED BY users_anchor WHERE tenant_id = ?1 AND anchor_tenant = ?2 \
                 AND anchor_object > ?3 AND anchor_tenant IS NOT NULL ORDER BY anchor_object LIMIT ?4"
            )
        });
        let limit = i64::from(limit.max(1));
        let after = after.map_or([0u8; 16], |a| *a.as_bytes());
        let mut items = self.read_in(tenant, |c| {
            let mut stmt = c.prepare_cached(&SQL)?;
            let rows = stmt.query_map(params![tenant.as_bytes(), source.as_bytes(), after, limit + 1], rows::user)?;
            rows.collect::<rusqlite::Result<Vec<User>>>()
        })?;
        let next = if items.len() as i64 > limit {
            items.truncate(limit as usize);
            items.last().and_then(|u| u.anchor).map(|a| a.object)
        } else {
            None
        };
        Ok(Page { items, next })
    }

    async fn count_users_by_anchor_tenant(&self, tenant: TenantId, source: TenantId) -> Result<u64> {
        let n = self.read(|c| counts::anchored_live(c, tenant.as_bytes(), source.as_bytes()))?;
        let n = n.ok_or_else(|| StoreError::TenantNotFound { tenant: tenant.to_string() })?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn list_users(&self, tenant: TenantId, query: &ListQuery) -> Result<Page<User>> {
        self.list::<User>(tenant, "", query, None)
    }

    async fn count_users(&self, tenant: TenantId, visibility: Visibility) -> Result<u64> {
        self.count(tenant, ObjectKind::User, visibility)
    }

    async fn count_groups(&self, tenant: TenantId, visibility: Visibility) -> Result<u64> {
        self.count(tenant, ObjectKind::Group, visibility)
    }

    async fn bare_names(&self, tenant: TenantId, users: &[ObjectId]) -> Result<Vec<ObjectId>> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        // As `user_groups`: the ids as one JSON array of hex, one statement.
        let ids = serde_json::to_string(&users.iter().map(|u| u.as_uuid().simple().to_string()).collect::<Vec<_>>())
            .map_err(|e| StoreError::Internal { message: e.to_string() })?;
        self.read(|c| {
            let mut stmt =
                c.prepare_cached("SELECT user_id FROM bare_user_names WHERE tenant_id = ?1 AND user_id IN (SELECT unhex(value) FROM json_each(?2))")?;
            let rows = stmt.query_map(params![tenant.as_bytes(), ids], |r| Ok(ObjectId::from_bytes(r.get(0)?)))?;
            rows.collect()
        })
    }

    async fn get_group(&self, tenant: TenantId, id: ObjectId) -> Result<Group> {
        self.read_in(tenant, |c| {
            c.prepare_cached(&format!("SELECT {GROUP_COLS} FROM groups WHERE tenant_id = ?1 AND id = ?2"))?
                .query_row(params![tenant.as_bytes(), id.as_bytes()], rows::group)
                .optional()
        })?
        .ok_or(StoreError::NotFound { kind: ObjectKind::Group, id })
    }

    async fn find_group_by_anchor(&self, tenant: TenantId, anchor: &Anchor) -> Result<Option<Group>> {
        self.read_in(tenant, |c| {
            c.prepare_cached(&format!(
                "SELECT {GROUP_COLS} FROM groups INDEXED BY groups_anchor WHERE tenant_id = ?1 AND anchor_tenant = ?2 AND anchor_object = ?3 AND anchor_tenant IS NOT NULL"
            ))?
            .query_row(params![tenant.as_bytes(), anchor.tenant.as_bytes(), anchor.object.as_bytes()], rows::group)
            .optional()
        })
    }

    async fn list_groups(&self, tenant: TenantId, query: &ListQuery) -> Result<Page<Group>> {
        self.list::<Group>(tenant, "", query, None)
    }

    async fn list_members(&self, tenant: TenantId, group: ObjectId, query: &ListQuery) -> Result<Page<User>> {
        self.get_group(tenant, group).await?;
        let query = ListQuery { visibility: Visibility::Active, ..query.clone() };
        self.list::<User>(tenant, "AND id IN (SELECT user_id FROM members WHERE tenant_id = ?1 AND group_id = ?4)", &query, Some(group))
    }

    async fn member_of(&self, tenant: TenantId, user: ObjectId) -> Result<Vec<ObjectId>> {
        self.get_user(tenant, user).await?;
        self.read_in(tenant, |c| {
            let mut stmt = c.prepare_cached("SELECT group_id FROM members INDEXED BY members_user WHERE tenant_id = ?1 AND user_id = ?2 ORDER BY group_id")?;
            let rows = stmt.query_map(params![tenant.as_bytes(), user.as_bytes()], |r| Ok(ObjectId::from_bytes(r.get(0)?)))?;
            rows.collect()
        })
    }

    async fn user_groups(&self, tenant: TenantId, users: &[ObjectId]) -> Result<Vec<UserGroup>> {
        let row =
            |r: &rusqlite::Row<'_>| Ok(UserGroup { user: ObjectId::from_bytes(r.get(0)?), group: ObjectId::from_bytes(r.get(1)?), display_name: r.get(2)? });
        match users {
            [] => return Ok(Vec::new()),
            // One user (a GET, or a lookup that found one): a plain seek.
            [one] => {
                return self.read(|c| {
                    let mut stmt = c.prepare_cached(
                        "SELECT m.user_id, g.id, g.display_name FROM members m INDEXED BY members_user \
                         JOIN groups g ON g.tenant_id = m.tenant_id AND g.id = m.group_id \
                         WHERE m.tenant_id = ?1 AND m.user_id = ?2 AND g.deleted_ms IS NULL \
                         ORDER BY g.display_name COLLATE NOCASE, g.id",
                    )?;
                    let rows = stmt.query_map(params![tenant.as_bytes(), one.as_bytes()], row)?;
                    rows.collect()
                });
            }
            _ => {}
        }
        // One statement for any number of users: their ids as one JSON array of hex.
        let mut ids = String::with_capacity(users.len() * 35 + 2);
        ids.push('[');
        for (i, u) in users.iter().enumerate() {
            if i > 0 {
                ids.push(',');
            }
            ids.push('"');
            ids.push_str(&u.as_uuid().simple().to_string());
            ids.push('"');
        }
        ids.push(']');
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT m.user_id, g.id, g.display_name FROM members m INDEXED BY members_user \
                 JOIN groups g ON g.tenant_id = m.tenant_id AND g.id = m.group_id \
                 WHERE m.tenant_id = ?1 AND m.user_id IN (SELECT unhex(value) FROM json_each(?2)) AND g.deleted_ms IS NULL \
                 ORDER BY m.user_id, g.display_name COLLATE NOCASE, g.id",
            )?;
            let rows = stmt.query_map(params![tenant.as_bytes(), ids], row)?;
            rows.collect()
        })
    }

    async fn query_users(&self, tenant: TenantId, q: &ObjectQuery) -> Result<QueryPage<User>> {
        self.query::<User>(tenant, query::Table::Users, q)
    }

    async fn query_groups(&self, tenant: TenantId, q: &ObjectQuery) -> Result<QueryPage<Group>> {
        self.query::<Group>(tenant, query::Table::Groups, q)
    }

    async fn search_users(&self, tenant: TenantId, s: &UserSearch) -> Result<SearchPage> {
        let parts = search::parts(tenant.as_bytes(), s);
        Ok(self.read_found(tenant, |c| search::run(c, &parts, s), |f| !f.is_empty())?.page(s))
    }

    async fn create_token(&self, t: NewApiToken) -> Result<ApiToken> {
        let now = self.now_ms();
        self.get_tenant(t.tenant_id).await?;
        self.write(move |conn| {
            conn.prepare_cached(&format!("INSERT INTO api_tokens ({TOKEN_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, ?7)"))
                .and_then(|mut s| {
                    s.execute(params![
                        t.id.as_bytes(),
                        t.tenant_id.as_bytes(),
                        t.name,
                        t.secret_hash,
                        now,
                        t.expires_date_time.map(|e| e.as_millisecond()),
                        t.role.as_str()
                    ])
                })
                .map_err(sql_err)?;
            Ok(ApiToken {
                id: t.id,
                tenant_id: t.tenant_id,
                name: t.name,
                role: t.role,
                secret_hash: t.secret_hash,
                created_date_time: rows::ts(now),
                expires_date_time: t.expires_date_time,
                revoked_date_time: None,
            })
        })
        .await
    }

    async fn get_token(&self, id: ObjectId) -> Result<Option<ApiToken>> {
        self.read(|c| c.prepare_cached(&format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE id = ?1"))?.query_row([id.as_bytes()], token_row).optional())
    }

    async fn list_tokens(&self, tenant: TenantId) -> Result<Vec<ApiToken>> {
        self.read_in(tenant, |c| {
            let mut stmt = c.prepare_cached(&format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE tenant_id = ?1 ORDER BY created_ms, id"))?;
            let rows = stmt.query_map([tenant.as_bytes()], token_row)?;
            rows.collect()
        })
    }

    async fn tokens_page(&self, tenant: TenantId, after: Option<ObjectId>, limit: u32) -> Result<Vec<ApiToken>> {
        self.tokens_page_impl(tenant, after, limit)
    }

    async fn revoke_token(&self, tenant: TenantId, id: ObjectId) -> Result<ApiToken> {
        let now = self.now_ms();
        let n = self
            .write(move |conn| {
                conn.prepare_cached("UPDATE api_tokens SET revoked_ms = coalesce(revoked_ms, ?1) WHERE tenant_id = ?2 AND id = ?3")
                    .and_then(|mut s| s.execute(params![now, tenant.as_bytes(), id.as_bytes()]))
                    .map_err(sql_err)
            })
            .await?;
        if n == 0 {
            return Err(StoreError::TokenNotFound { id });
        }
        self.get_token(id).await?.ok_or(StoreError::TokenNotFound { id })
    }

    async fn apply(&self, tenant: TenantId, ops: Vec<WriteOp>, mode: BatchMode) -> Result<Vec<Result<WriteOutcome>>> {
        let now = self.now_ms();
        let (results, head) = self
            .write(move |conn| {
                let mut tx = Tx::begin(conn, tenant, now)?;
                let results = match tx.apply_all(ops, mode) {
                    Ok(results) => results,
                    Err(e) => {
                        tx.rollback();
                        return Err(e);
                    }
                };
                let head = tx.commit()?;
                Ok((results, head))
            })
            .await?;
        self.notify(tenant, head);
        Ok(results)
    }

    async fn bulk_import_users(&self, tenant: TenantId, options: BulkOptions) -> Result<Box<dyn BulkUserImport>> {
        self.get_tenant(tenant).await?;
        Ok(Box::new(bulk::start(self.clone(), tenant, options)?))
    }

    async fn purge_deleted(&self, tenant: TenantId, cutoff: Timestamp) -> Result<u64> {
        let now = self.now_ms();
        let cutoff = cutoff.as_millisecond();
        let (n, head) = self
            .write(move |conn| {
                let mut tx = Tx::begin(conn, tenant, now)?;
                match tx.purge(cutoff) {
                    Ok(n) => Ok((n, tx.commit()?)),
                    Err(e) => {
                        tx.rollback();
                        Err(e)
                    }
                }
            })
            .await?;
        self.notify(tenant, head);
        Ok(n)
    }

    async fn changes_since(&self, tenant: TenantId, cursor: ChangeCursor, limit: u32) -> Result<ChangePage> {
        let changes = self.read_in(tenant, |c| {
            let mut stmt = c.prepare_cached(&format!("SELECT {CHANGE_COLS} FROM changes WHERE tenant_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"))?;
            let rows = stmt.query_map(params![tenant.as_bytes(), cursor.0 as i64, i64::from(limit)], |r| rows::change(tenant, r))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        let next_cursor = changes.last().map_or(cursor, |c| ChangeCursor(c.seq));
        Ok(ChangePage { changes, next_cursor })
    }

    async fn change_head(&self, tenant: TenantId) -> Result<ChangeCursor> {
        self.read(|c| c.prepare_cached("SELECT change_head FROM tenants WHERE id = ?1")?.query_row([tenant.as_bytes()], |r| r.get::<_, i64>(0)).optional())?
            .map(|h| ChangeCursor(h as u64))
            .ok_or_else(|| StoreError::TenantNotFound { tenant: tenant.to_string() })
    }

    fn subscribe(&self) -> broadcast::Receiver<CommitNotice> {
        self.inner.notices.subscribe_commits()
    }
}
