//! The PostgreSQL store of tenantsync: several `tenantsync serve` workers on one
//! database.
//!
//! Connections come from a pool (deadpool-postgres over tokio-postgres). A write runs as
//! one transaction that begins by locking its tenant's row (`SELECT … FOR UPDATE`), so
//! writers of one tenant take turns, in any process, while other tenants' writers go on;
//! the change rows are numbered from the tenant's `change_head` in that transaction.
//! After a commit that appended changes, the store tells its own subscribers and every
//! other process with `NOTIFY` (`notify.rs`). Job leases are session advisory locks held
//! on a connection of their own (`lease.rs`), released when the lease is dropped or the
//! holder's connection ends.
//!
//! Why tokio-postgres and not sqlx: see ARCHITECTURE.md ("PostgreSQL driver").

mod access;
mod admin;
mod bulk;
mod connector;
mod console;
mod counts;
mod dump;
mod lease;
mod logs;
mod notify;
mod pages;
mod query;
mod reads;
mod restore;
mod rows;
mod schema;
mod search;
mod session;
mod sync;
mod write;

pub use schema::{REFERENCE_TABLES, latest_version as schema_version, redact};

use std::sync::Arc;
use tenantsync_domain::{Clock, SystemClock, TenantId};
use tenantsync_store::{Result, StoreError};
use tokio_postgres::types::ToSql;

/// Connections the pool keeps at most.
const POOL_SIZE: usize = 16;

/// A tenantsync store in a PostgreSQL database. Cheap to clone; clones share the pool
/// and the notification listener.
#[derive(Clone, Debug)]
pub struct PgStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: deadpool_postgres::Pool,
    /// The connection settings, for the connections that are not pooled (leases).
    config: tokio_postgres::Config,
    /// The URL without its password, for messages.
    url: String,
    notices: notify::Notifier,
    clock: Arc<dyn Clock>,
    /// This store's job leases.
    leases: Arc<lease::Local>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").field("url", &self.url).finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/db`, or the
    /// key=value form), brings its schema up to date, and starts listening for other
    /// processes' notices. The system clock.
    pub async fn open(url: &str) -> Result<PgStore> {
        Self::open_with_clock(url, Arc::new(SystemClock)).await
    }

    /// As [`PgStore::open`], with a clock of the caller's choosing (tests move time).
    pub async fn open_with_clock(url: &str, clock: Arc<dyn Clock>) -> Result<PgStore> {
        let shown = schema::redact(url);
        let config: tokio_postgres::Config =
            url.parse().map_err(|e: tokio_postgres::Error| StoreError::Unreachable { url: shown.clone(), reason: format!("not a connection URL: {e}") })?;
        let mut config = config;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(std::time::Duration::from_secs(10));
        }
        config.keepalives(true).keepalives_idle(std::time::Duration::from_secs(30));
        let (mut client, connection) =
            config.connect(tokio_postgres::NoTls).await.map_err(|e| StoreError::Unreachable { url: shown.clone(), reason: reason(&e) })?;
        let conn = tokio::spawn(connection);
        schema::migrate(&mut client).await?;
        let channel = notify::channel(&client).await?;
        drop(client);
        let _ = conn.await;
        let manager = deadpool_postgres::Manager::from_config(
            config.clone(),
            tokio_postgres::NoTls,
            deadpool_postgres::ManagerConfig { recycling_method: deadpool_postgres::RecyclingMethod::Fast },
        );
        let pool = deadpool_postgres::Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Internal { message: format!("connection pool: {e}") })?;
        let notices = notify::Notifier::start(config.clone(), channel, shown.clone()).await;
        schema::opened(&shown);
        Ok(PgStore { inner: Arc::new(Inner { pool, config, url: shown, notices, clock, leases: Arc::default() }) })
    }

    /// The database's URL without its password.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    fn now_ms(&self) -> i64 {
        self.inner.clock.now().as_millisecond()
    }

    /// A pooled connection.
    async fn client(&self) -> Result<deadpool_postgres::Client> {
        self.inner.pool.get().await.map_err(|e| schema::pool_err(e, &self.inner.url))
    }

    /// Rows of one statement on a pooled connection.
    async fn query(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<tokio_postgres::Row>> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(sql).await.map_err(schema::pg_err)?;
        client.query(&stmt, params).await.map_err(schema::pg_err)
    }

    /// Runs one statement on a pooled connection; how many rows it touched.
    async fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(sql).await.map_err(schema::pg_err)?;
        client.execute(&stmt, params).await.map_err(schema::pg_err)
    }

    async fn tenant_exists(&self, tenant: TenantId) -> Result<bool> {
        Ok(!self.query("SELECT 1 FROM tenants WHERE tenant_id = $1", &[&tenant.0]).await?.is_empty())
    }

    /// `TenantNotFound` unless the tenant exists.
    async fn check_tenant(&self, tenant: TenantId) -> Result<()> {
        if self.tenant_exists(tenant).await? { Ok(()) } else { Err(StoreError::TenantNotFound { tenant: tenant.to_string() }) }
    }

    /// Begins a write transaction on `tenant` on `client`.
    async fn begin<'c>(&self, client: &'c mut deadpool_postgres::Client, tenant: TenantId) -> Result<write::Tx<'c>> {
        write::Tx::begin(client, tenant, self.now_ms()).await
    }

    /// Commits a write transaction and tells every process's subscribers of the changes
    /// it appended (other processes through `NOTIFY`, sent with the commit).
    async fn finish(&self, tx: write::Tx<'_>) -> Result<()> {
        let tenant = tx.tenant;
        if tx.appended() {
            self.inner.notices.send(&*tx.tx, &notify::Notice::Commit { tenant, head: tx.head }).await?;
        }
        let head = tx.commit().await?;
        self.inner.notices.commit(tenant, head);
        Ok(())
    }

    /// Tells every process's schedulers that a job changed outside its cycles.
    async fn notify_job(&self, notice: tenantsync_store::JobNotice) {
        let client = match self.client().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "job notice not sent");
                self.inner.notices.job(notice);
                return;
            }
        };
        if let Err(e) = self.inner.notices.send(&**client, &notify::Notice::Job(notice)).await {
            tracing::warn!(error = %e, "job notice not sent to other processes");
        }
        self.inner.notices.job(notice);
    }
}

/// What a failed connection attempt says, without the URL (the caller names it).
fn reason(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_owned(),
        None => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                text = format!("{text}: {s}");
                source = s.source();
            }
            text
        }
    }
}
