//! Opening a data directory: checks, connection settings, migrations.
use crate::files;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use tenantsync_store::StoreError;

/// `PRAGMA application_id` of a tenantsync database ("TSNC").
pub const APPLICATION_ID: i64 = 0x5453_4E43;

/// The database file inside the data directory.
pub const DB_FILE: &str = "tenantsync.db";

/// Migrations in order; `PRAGMA user_version` is the number applied.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_initial.sql"),
    include_str!("../migrations/0002_scim.sql"),
    include_str!("../migrations/0003_sync.sql"),
    include_str!("../migrations/0004_logs.sql"),
    include_str!("../migrations/0005_log_packing.sql"),
    include_str!("../migrations/0006_extension_values.sql"),
    include_str!("../migrations/0007_extension_values_by_the_writer.sql"),
    include_str!("../migrations/0008_log_blocks.sql"),
    include_str!("../migrations/0009_show_in_address_list.sql"),
    include_str!("../migrations/0010_token_roles.sql"),
    include_str!("../migrations/0011_counts_and_bare_names.sql"),
    include_str!("../migrations/0012_audit_log.sql"),
    include_str!("../migrations/0013_admin_objects.sql"),
    include_str!("../migrations/0014_access.sql"),
    include_str!("../migrations/0015_connectors.sql"),
    include_str!("../migrations/0016_console.sql"),
    include_str!("../migrations/0017_link_seen.sql"),
    include_str!("../migrations/0018_open_requests_by_package.sql"),
    include_str!("../migrations/0019_short_list_pages.sql"),
    include_str!("../migrations/0020_anchored_users.sql"),
];

/// The schema's SQL, migration by migration (for tools that build the same tables, such
/// as the raw baseline of the import benchmark).
pub fn migrations() -> &'static [&'static str] {
    MIGRATIONS
}

pub fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Page size of new databases (bytes); `TENANTSYNC_PAGE_SIZE` overrides it for
/// experiments. See docs/storage.md.
pub fn page_size() -> i64 {
    std::env::var("TENANTSYNC_PAGE_SIZE").ok().and_then(|v| v.parse().ok()).unwrap_or(8192)
}

/// Files a data directory may hold besides the database.
fn is_ours(name: &str) -> bool {
    name.starts_with(DB_FILE) || name == crate::lock::LOCK_FILE || name.starts_with('.')
}

/// Checks the directory and returns the database path. Creates the directory if absent
/// (`0700`), and the database file if absent (empty, `0600`, so that SQLite's `-wal` and
/// `-shm` files get that mode too).
pub fn prepare_dir(dir: &Path) -> Result<PathBuf, StoreError> {
    let unreadable = |reason: String| StoreError::Unreadable { path: dir.display().to_string(), reason };
    if !dir.exists() {
        files::create_private_dir(dir).map_err(|e| unreadable(e.to_string()))?;
    }
    if !dir.is_dir() {
        return Err(unreadable("it is not a directory".into()));
    }
    let db = dir.join(DB_FILE);
    if !db.exists() {
        let entries = std::fs::read_dir(dir).map_err(|e| unreadable(e.to_string()))?;
        for entry in entries {
            let entry = entry.map_err(|e| unreadable(e.to_string()))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !is_ours(&name) {
                return Err(StoreError::ForeignDataDirectory {
                    path: dir.display().to_string(),
                    reason: format!("it is not empty (it holds '{name}') and has no {DB_FILE}"),
                });
            }
        }
        match files::create_private(&db) {
            Ok(_) => {}
            // Another process created it meanwhile.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(unreadable(e.to_string())),
        }
    }
    Ok(db)
}

/// A SQLite error as a store error: a lock another process held past the wait is
/// [`StoreError::Busy`], anything else a storage failure.
pub fn sql_err(e: rusqlite::Error) -> StoreError {
    if crate::lock::is_busy(&e) {
        return StoreError::Busy;
    }
    StoreError::Internal { message: e.to_string() }
}

/// WAL pages after which the writer checkpoints: SQLite's default, stated so that the
/// benchmarks' raw baseline uses the same. (10,000 was tried: no gain that survived the
/// noise of this machine.)
pub const WAL_AUTOCHECKPOINT_PAGES: i64 = 1_000;

/// Settings every connection gets. WAL lets readers work beside the single writer;
/// `synchronous=NORMAL` in WAL keeps every commit atomic and durable against a process
/// crash (a power cut may lose the newest commits, never consistency).
pub fn configure(conn: &Connection, cache_kib: i64, writer: bool) -> Result<(), StoreError> {
    conn.busy_timeout(crate::lock::clamp(crate::lock::busy_timeout_from_env())).map_err(sql_err)?;
    conn.pragma_update(None, "foreign_keys", true).map_err(sql_err)?;
    conn.pragma_update(None, "synchronous", "NORMAL").map_err(sql_err)?;
    conn.pragma_update(None, "cache_size", -cache_kib).map_err(sql_err)?;
    conn.pragma_update(None, "temp_store", "MEMORY").map_err(sql_err)?;
    if !writer {
        conn.pragma_update(None, "mmap_size", 256_i64 * 1024 * 1024).map_err(sql_err)?;
    } else {
        conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES).map_err(sql_err)?;
        // `rarray(?)`: a list of values bound as one parameter (see `sync::insert_block`).
        rusqlite::vtab::array::load_module(conn).map_err(sql_err)?;
    }
    // The query planner never looks at bound values (Query Planner Stability Guarantee):
    // plans are forced where it matters (INDEXED BY, explicit `IS NOT NULL` for partial
    // indexes), and a plan that read a bound value would make SQLite re-prepare the
    // cached statement every time that parameter is bound again.
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true).map_err(sql_err)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

pub fn open_conn(path: &Path, read_only: bool) -> Result<Connection, StoreError> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI
    };
    Connection::open_with_flags(path, flags).map_err(|e| StoreError::Unreadable { path: path.display().to_string(), reason: e.to_string() })
}

/// "file is not a database" means someone else's file sits where ours should be.
pub fn foreign_if_not_a_database(e: StoreError, path: &Path) -> StoreError {
    match &e {
        StoreError::Internal { message } if message.contains("not a database") => StoreError::ForeignDataDirectory {
            path: path.parent().unwrap_or(path).display().to_string(),
            reason: format!("{} is not an SQLite database", path.display()),
        },
        _ => e,
    }
}

/// Verifies the file is ours and brings its schema up to date.
pub fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let foreign = |reason: String| StoreError::ForeignDataDirectory { path: path.parent().unwrap_or(path).display().to_string(), reason };
    let app_id: i64 =
        conn.query_row("PRAGMA application_id", [], |r| r.get(0)).map_err(|e| foreign(format!("{} is not an SQLite database ({e})", path.display())))?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(sql_err)?;
    let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0)).map_err(sql_err)?;
    if app_id != APPLICATION_ID && !(app_id == 0 && version == 0 && tables == 0) {
        return Err(foreign(format!("{} belongs to another application", path.display())));
    }
    if version > latest_version() {
        return Err(StoreError::SchemaTooNew { found: version, supported: latest_version() });
    }
    if tables == 0 {
        // Only takes effect on a new, empty database (before the first table exists).
        conn.pragma_update(None, "page_size", page_size()).map_err(sql_err)?;
    }
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0)).map_err(sql_err)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Internal { message: format!("could not switch to WAL (journal_mode is {mode})") });
    }
    if version == latest_version() {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(sql_err)?;
    // Read again under the write lock: another process may have migrated meanwhile.
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(sql_err)?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(usize::try_from(version).unwrap_or(0)) {
        tx.execute_batch(sql).map_err(|e| StoreError::Internal { message: format!("migration {} failed: {e}", i + 1) })?;
    }
    tx.pragma_update(None, "application_id", APPLICATION_ID).map_err(sql_err)?;
    tx.pragma_update(None, "user_version", latest_version()).map_err(sql_err)?;
    tx.commit().map_err(sql_err)?;
    Ok(())
}
