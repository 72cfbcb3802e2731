//! Files only their owner may read: the data directory is created `0700` and every file
//! tenantsync creates in it (or as a backup) `0600`, whatever the umask. SQLite gives its
//! `-wal`, `-shm` and journal files the mode of their database file, so creating the
//! database file first, empty and `0600`, is what makes those private too.
use std::fs::File;
use std::io;
use std::path::Path;

/// Mode of a directory tenantsync creates.
pub const DIR_MODE: u32 = 0o700;
/// Mode of a file tenantsync creates.
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` (and missing parents) readable by its owner only.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, DIR_MODE);
    builder.create(dir)
}

fn private_options() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
    options
}

/// Creates a new, empty file readable by its owner only; fails if it exists.
pub fn create_private(path: &Path) -> io::Result<File> {
    private_options().read(true).write(true).create_new(true).open(path)
}

/// Opens a file for reading and writing, creating it `0600` if it is missing.
pub fn open_private(path: &Path) -> io::Result<File> {
    private_options().read(true).write(true).create(true).truncate(false).open(path)
}

/// The permission bits of a path, if it has any (Unix).
pub fn mode(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).ok().map(|m| m.permissions().mode() & 0o777)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// A sentence naming the data directory and database files that users other than the
/// owner may read or enter, or `None` when they are all private.
pub fn loose_permissions(dir: &Path, db: &Path) -> Option<String> {
    let mut open = Vec::new();
    if let Some(m) = mode(dir).filter(|m| m & 0o077 != 0) {
        open.push(format!("the directory is {m:04o}"));
    }
    for suffix in ["", "-wal", "-shm"] {
        let path = db.with_file_name(format!("{}{suffix}", crate::DB_FILE));
        if let Some(m) = mode(&path).filter(|m| m & 0o077 != 0) {
            open.push(format!("{}{suffix} is {m:04o}", crate::DB_FILE));
        }
    }
    if open.is_empty() {
        return None;
    }
    Some(format!(
        "data directory '{}' is open to other users ({}): they can read every tenant's users and token hashes; run `chmod -R go-rwx '{}'`",
        dir.display(),
        open.join(", "),
        dir.display()
    ))
}

/// Flushes a file's data and metadata to disk.
pub fn sync_file(path: &Path) -> io::Result<()> {
    File::open(path)?.sync_all()
}

/// Flushes a directory's entries (a rename in it) to disk, where the platform can.
pub fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}
