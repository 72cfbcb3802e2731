//! Opening a store: the data directory, the writer connection and its thread.
use crate::lock::{self, Turn};
use crate::{Inner, Job, SqliteStore, WRITER_CACHE_KIB, files, schema};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;
use tenantsync_domain::{Clock, SystemClock};
use tenantsync_store::{Result, StoreError};

/// How a store is opened.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// What the store stamps writes with (tests move time).
    pub clock: Arc<dyn Clock>,
    /// How long a write waits for another process's write lock before it fails with
    /// `store_busy` (see `lock.rs`).
    pub busy_timeout: Duration,
}

impl Default for StoreOptions {
    /// The system clock, and the busy timeout of `TENANTSYNC_BUSY_TIMEOUT_MS` (30 s if unset).
    fn default() -> Self {
        StoreOptions { clock: Arc::new(SystemClock), busy_timeout: lock::busy_timeout_from_env() }
    }
}

/// Whether this process has warned about an open data directory already.
static WARNED: AtomicBool = AtomicBool::new(false);

impl SqliteStore {
    /// Opens (creating if needed) the store in `data_dir`.
    pub fn open_with(data_dir: &Path, options: StoreOptions) -> Result<SqliteStore> {
        let path = schema::prepare_dir(data_dir)?;
        let permission_warning = files::loose_permissions(data_dir, &path);
        if let Some(w) = &permission_warning
            && !WARNED.swap(true, Ordering::Relaxed)
        {
            tracing::warn!("{w}");
        }
        let busy_timeout = lock::clamp(options.busy_timeout);
        let mut conn = schema::open_conn(&path, false)?;
        schema::configure(&conn, WRITER_CACHE_KIB, true)
            .and_then(|()| conn.busy_timeout(busy_timeout).map_err(schema::sql_err))
            .and_then(|()| schema::migrate(&mut conn, &path))
            .map_err(|e| schema::foreign_if_not_a_database(e, &path))?;
        let turn = Arc::new(Turn::open(data_dir, busy_timeout));
        conn.busy_handler(Some(turn.busy_handler())).map_err(schema::sql_err)?;
        // Every transaction of the writer begins as a write (`BEGIN IMMEDIATE`), waiting
        // for the lock through the busy handler. A deferred one that reads first holds a
        // read snapshot when it comes to write, and SQLite then answers `SQLITE_BUSY` at
        // once, calling no handler (waiting could deadlock): a lock held for a moment —
        // by another process, or a reader of this one checking the WAL index — failed the
        // write with `store_busy`.
        conn.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
        let (tx, rx) = mpsc::channel::<Job>();
        let waiting = Arc::new(AtomicUsize::new(0));
        let started = waiting.clone();
        let writer_turn = turn.clone();
        let writer = std::thread::Builder::new()
            .name("tenantsync-sqlite-writer".into())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    started.fetch_sub(1, Ordering::SeqCst);
                    job(&mut conn);
                    writer_turn.unmark();
                }
                // Fold the WAL back into the database on a clean shutdown, if no other
                // process is in the way: exiting must not wait for another's lock.
                let _ = conn.busy_timeout(Duration::ZERO);
                let _ = conn.pragma_update(None, "wal_checkpoint", "TRUNCATE");
            })
            .map_err(|e| StoreError::Internal { message: format!("cannot start the writer thread: {e}") })?;
        let notices = crate::notify::Notifier::new(data_dir);
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path,
                jobs: Mutex::new(Some(tx)),
                waiting,
                writer: Mutex::new(Some(writer)),
                readers: Mutex::new(Vec::new()),
                notices,
                clock: options.clock,
                turn,
                permission_warning,
                steps: Default::default(),
            }),
        })
    }

    /// A warning when the data directory or its database files are open to other users
    /// (the store then also logs it, once per process): the CLI prints it.
    pub fn permission_warning(&self) -> Option<&str> {
        self.inner.permission_warning.as_deref()
    }
}
