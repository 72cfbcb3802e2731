//! Online backup of a data directory, and restore of a backup into an empty one.
//!
//! **Backup** copies one consistent snapshot while writers go on: SQLite's online backup
//! API copies every page in one step (`sqlite3_backup_step(-1)`), that is inside one read
//! transaction. Under WAL a reader never blocks a writer, so `serve` and other processes
//! keep committing; what they commit meanwhile is simply not in the copy (their pages go
//! to the WAL, which cannot be checkpointed past the snapshot until the copy ends). The
//! backup API in small steps would release the snapshot between steps, but SQLite restarts
//! a stepped backup from the first page whenever another connection commits, so under a
//! steady writer it never ends; `VACUUM INTO` holds the same read transaction and rebuilds
//! every B-tree instead of copying pages, several times slower (docs/storage.md has the
//! measurements). The copy is written to a hidden file beside the destination (`0600`),
//! synced, turned into a plain rollback-journal database (it opens anywhere, read-only
//! too), and renamed into place: a destination name never holds a partial backup.
//!
//! **Restore** refuses before it writes anything: a data directory that is not empty, a
//! file that is not a tenantsync database, a schema newer than this binary, a file that
//! fails `PRAGMA integrity_check`. It then copies the backup into a hidden file of the
//! data directory, brings its schema up to date, and renames it to `tenantsync.db`; if
//! anything fails on the way, it removes what it wrote (the directory too, if it made it).
use crate::files;
use crate::lock::{self, is_busy};
use crate::schema::{self, APPLICATION_ID, DB_FILE, sql_err};
use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tenantsync_domain::TenantId;
use tenantsync_store::{Result, StoreError};

/// The hidden file a restore copies into before it renames it to `tenantsync.db`.
const PARTIAL: &str = ".restore.partial";

/// What a backup or a restore copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    /// The file written: the backup, or the restored database.
    pub file: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// Its schema version (`PRAGMA user_version`).
    pub schema_version: i64,
    /// Each tenant, in creation order.
    pub tenants: Vec<TenantCopy>,
}

/// One tenant as a backup or restore copied it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantCopy {
    pub id: TenantId,
    pub initial_domain: String,
    /// Users, soft-deleted ones included.
    pub users: u64,
    /// Groups, soft-deleted ones included.
    pub groups: u64,
    /// The newest change of its feed: the copy holds changes 1 to this one.
    pub change_head: u64,
}

/// Copies the database of `data_dir` to `dest` while other connections go on writing.
/// `dest` must not exist unless `replace` is set (it is then replaced whole, at once).
pub fn backup(data_dir: &Path, dest: &Path, replace: bool) -> Result<Copied> {
    let db = data_dir.join(DB_FILE);
    if !db.is_file() {
        return Err(StoreError::Unreadable { path: data_dir.display().to_string(), reason: format!("it holds no {DB_FILE}") });
    }
    if dest.exists() && !replace {
        return Err(StoreError::DestinationExists { path: dest.display().to_string(), reason: "exists".into() });
    }
    if dest.is_dir() {
        return Err(StoreError::DestinationExists { path: dest.display().to_string(), reason: "is a directory".into() });
    }
    // Read-write (never created) rather than read-only: a read-only connection cannot
    // open a WAL database whose -shm file is missing when no other process has it open.
    let src = open(&db, OpenFlags::SQLITE_OPEN_READ_WRITE).map_err(|e| StoreError::Unreadable { path: db.display().to_string(), reason: e.to_string() })?;
    src.busy_timeout(lock::clamp(lock::busy_timeout_from_env())).map_err(sql_err)?;
    check_ours(&src, &db, &db.display().to_string(), |reason| StoreError::ForeignDataDirectory { path: data_dir.display().to_string(), reason })?;
    let partial = partial_path(dest);
    remove_database_files(&partial);
    files::create_private(&partial).map_err(|e| cannot_write(dest, &e))?;
    let copied = copy(&src, &partial).and_then(|()| summary(&partial, dest));
    drop(src);
    let done = copied.and_then(|copied| {
        settle(&partial, dest)?;
        Ok(copied)
    });
    if done.is_err() {
        remove_database_files(&partial);
    }
    done
}

/// Restores the backup `src` into `data_dir`, which must be missing or empty. Refuses —
/// writing nothing — a file that is not a tenantsync database, a newer schema, or a file
/// that fails the integrity check.
pub fn restore(src: &Path, data_dir: &Path) -> Result<Copied> {
    let not_a_backup = |reason: String| StoreError::NotABackup { path: src.display().to_string(), reason };
    if data_dir.exists() {
        let unreadable = |e: std::io::Error| StoreError::Unreadable { path: data_dir.display().to_string(), reason: e.to_string() };
        for entry in std::fs::read_dir(data_dir).map_err(unreadable)? {
            // What a restore that was killed half-way left is not in the way.
            if !entry.map_err(unreadable)?.file_name().to_string_lossy().starts_with(PARTIAL) {
                return Err(StoreError::DestinationExists {
                    path: data_dir.display().to_string(),
                    reason: "is not empty (restore writes only into an empty data directory)".into(),
                });
            }
        }
    }
    if !src.is_file() {
        return Err(not_a_backup("it is not a file".into()));
    }
    let conn = open(src, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(|e| not_a_backup(e.to_string()))?;
    conn.busy_timeout(lock::clamp(lock::busy_timeout_from_env())).map_err(sql_err)?;
    check_ours(&conn, src, "it", not_a_backup)?;
    check_integrity(&conn, src)?;
    let created = !data_dir.exists();
    if created {
        files::create_private_dir(data_dir).map_err(|e| StoreError::Unreadable { path: data_dir.display().to_string(), reason: e.to_string() })?;
    }
    let partial = data_dir.join(PARTIAL);
    remove_database_files(&partial);
    let db = data_dir.join(DB_FILE);
    let done = files::create_private(&partial)
        .map_err(|e| StoreError::Unreadable { path: data_dir.display().to_string(), reason: e.to_string() })
        .and_then(|_| copy(&conn, &partial))
        .and_then(|()| {
            let mut restored = open(&partial, OpenFlags::SQLITE_OPEN_READ_WRITE).map_err(sql_err)?;
            schema::migrate(&mut restored, &partial)
        })
        .and_then(|()| summary(&partial, &db))
        .and_then(|copied| {
            settle(&partial, &db)?;
            Ok(copied)
        });
    if done.is_err() {
        remove_database_files(&partial);
        if created {
            let _ = std::fs::remove_dir(data_dir);
        }
    }
    done
}

fn open(path: &Path, mode: OpenFlags) -> rusqlite::Result<Connection> {
    Connection::open_with_flags(path, mode | OpenFlags::SQLITE_OPEN_NO_MUTEX)
}

/// The hidden file a backup to `dest` is written to before it is renamed.
fn partial_path(dest: &Path) -> PathBuf {
    let name = dest.file_name().map_or_else(|| "backup".into(), |n| n.to_string_lossy().into_owned());
    dest.with_file_name(format!(".{name}.partial"))
}

/// Removes a database file and the journal files SQLite may have left beside it.
fn remove_database_files(path: &Path) {
    for suffix in ["", "-journal", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
}

/// A file a backup cannot be written to (its directory is missing, say).
fn cannot_write(dest: &Path, e: &std::io::Error) -> StoreError {
    StoreError::Internal { message: format!("cannot write the backup '{}': {e}", dest.display()) }
}

/// Refuses a database that is not tenantsync's or is newer than this binary; `name` is
/// how the reasons name the file.
fn check_ours(conn: &Connection, path: &Path, name: &str, foreign: impl Fn(String) -> StoreError) -> Result<()> {
    let read = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0));
    let app_id = read("PRAGMA application_id").map_err(|e| classify(e, path, name, &foreign))?;
    if app_id != APPLICATION_ID {
        return Err(foreign(format!("{name} is not a tenantsync database")));
    }
    let version = read("PRAGMA user_version").map_err(|e| classify(e, path, name, &foreign))?;
    if version > schema::latest_version() {
        return Err(StoreError::SchemaTooNew { found: version, supported: schema::latest_version() });
    }
    Ok(())
}

/// An error reading a database file: not a database, damaged, or the storage failing.
fn classify(e: rusqlite::Error, path: &Path, name: &str, foreign: &dyn Fn(String) -> StoreError) -> StoreError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) => foreign(format!("{name} is not an SQLite database")),
        Some(rusqlite::ErrorCode::DatabaseCorrupt) => StoreError::Corrupt { path: path.display().to_string(), reason: e.to_string() },
        _ => sql_err(e),
    }
}

/// `PRAGMA integrity_check`: "ok", or the first problems it names.
fn check_integrity(conn: &Connection, path: &Path) -> Result<()> {
    let corrupt = |reason: String| StoreError::Corrupt { path: path.display().to_string(), reason };
    let mut stmt = conn.prepare("PRAGMA integrity_check(5)").map_err(|e| classify(e, path, "it", &|r| corrupt(r)))?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0)).map_err(|e| classify(e, path, "it", &|r| corrupt(r)))?;
    let mut problems = Vec::new();
    for row in rows {
        problems.push(row.map_err(|e| classify(e, path, "it", &|r| corrupt(r)))?);
    }
    match problems.as_slice() {
        [ok] if ok == "ok" => Ok(()),
        _ => Err(corrupt(format!("integrity check failed: {}", problems.join("; ")))),
    }
}

/// Copies every page of `src`'s snapshot into the empty database file `dest`, and makes
/// that a rollback-journal database.
fn copy(src: &Connection, dest: &Path) -> Result<()> {
    {
        let mut dst = open(dest, OpenFlags::SQLITE_OPEN_READ_WRITE).map_err(sql_err)?;
        // No journal: a copy that fails half-way is deleted, never repaired.
        dst.pragma_update(None, "journal_mode", "OFF").map_err(sql_err)?;
        dst.pragma_update(None, "synchronous", "OFF").map_err(sql_err)?;
        let backup = Backup::new(src, &mut dst).map_err(sql_err)?;
        let started = Instant::now();
        let patience = lock::busy_timeout_from_env();
        loop {
            match backup.step(-1).map_err(sql_err)? {
                StepResult::Done => break,
                StepResult::More => {}
                // Another connection holds a lock the copy needs for a moment.
                StepResult::Busy | StepResult::Locked if started.elapsed() < patience => std::thread::sleep(Duration::from_millis(10)),
                StepResult::Busy | StepResult::Locked => return Err(StoreError::Busy),
                _ => return Err(StoreError::Internal { message: "the online backup stopped for an unknown reason".into() }),
            }
        }
    }
    // The pages carry the source's WAL mark; a rollback-journal file opens anywhere.
    let dst = open(dest, OpenFlags::SQLITE_OPEN_READ_WRITE).map_err(sql_err)?;
    let mode: String = dst.query_row("PRAGMA journal_mode=DELETE", [], |r| r.get(0)).map_err(|e| if is_busy(&e) { StoreError::Busy } else { sql_err(e) })?;
    if !mode.eq_ignore_ascii_case("delete") {
        return Err(StoreError::Internal { message: format!("the copy stayed in journal mode {mode}") });
    }
    Ok(())
}

/// What the database file `path` holds, reported under the name `file`.
fn summary(path: &Path, file: &Path) -> Result<Copied> {
    let conn = open(path, OpenFlags::SQLITE_OPEN_READ_WRITE).map_err(sql_err)?;
    let schema_version = conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0)).map_err(sql_err)?;
    let mut stmt = conn
        .prepare(
            "SELECT t.id, t.initial_domain, t.change_head, \
             (SELECT count(*) FROM users u WHERE u.tenant_id = t.id), \
             (SELECT count(*) FROM groups g WHERE g.tenant_id = t.id) \
             FROM tenants t ORDER BY t.created_ms, t.id",
        )
        .map_err(sql_err)?;
    let rows = stmt
        .query_map([], |r| {
            Ok(TenantCopy {
                id: TenantId::from_bytes(r.get(0)?),
                initial_domain: r.get(1)?,
                change_head: r.get::<_, i64>(2)?.max(0) as u64,
                users: r.get::<_, i64>(3)?.max(0) as u64,
                groups: r.get::<_, i64>(4)?.max(0) as u64,
            })
        })
        .map_err(sql_err)?;
    let tenants = rows.collect::<rusqlite::Result<Vec<_>>>().map_err(sql_err)?;
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    Ok(Copied { file: file.to_path_buf(), bytes, schema_version, tenants })
}

/// Makes the finished copy `partial` durable and gives it its name.
fn settle(partial: &Path, dest: &Path) -> Result<()> {
    let io = |e: std::io::Error| cannot_write(dest, &e);
    files::sync_file(partial).map_err(io)?;
    std::fs::rename(partial, dest).map_err(io)?;
    if let Some(dir) = dest.parent() {
        files::sync_dir(if dir.as_os_str().is_empty() { Path::new(".") } else { dir });
    }
    Ok(())
}
