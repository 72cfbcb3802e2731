//! Only the owner may read a data directory: it is created 0700 and every file in it
//! 0600 (SQLite's -wal and -shm files included), backups too; a directory that is more
//! open is reported.
#![cfg(unix)]
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use tenantsync_domain::{NewTenant, NewUser, Upn};
use tenantsync_store::Store;
use tenantsync_store_sqlite::{DB_FILE, LOCK_FILE, SqliteStore, backup, restore};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The mode of every file of a data directory (folders in it are not the store's).
fn modes(dir: &Path) -> Vec<(String, u32)> {
    let mut all: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_file())
        .map(|e| (e.file_name().into_string().unwrap(), mode(&e.path())))
        .collect();
    all.sort();
    all
}

#[tokio::test]
async fn a_new_data_directory_and_its_files_are_private() {
    let dir = tempfile::tempdir().unwrap();
    // Whatever the umask lets through, the parent is the usual 0755.
    set_mode(dir.path(), 0o755);
    let data = dir.path().join("data");
    let store = SqliteStore::open(&data).unwrap();
    assert!(store.permission_warning().is_none());
    let t = store.create_tenant(NewTenant::new("A", "a.example").unwrap()).await.unwrap();
    store.create_user(t.id, NewUser::new(Upn::parse("a@a.example").unwrap())).await.unwrap();
    assert_eq!(mode(&data), 0o700);
    let files = modes(&data);
    for name in [DB_FILE.to_owned(), format!("{DB_FILE}-wal"), format!("{DB_FILE}-shm"), LOCK_FILE.to_owned()] {
        assert!(files.iter().any(|(n, _)| *n == name), "{name} is missing: {files:?}");
    }
    assert!(files.iter().all(|(_, m)| *m == 0o600), "{files:?}");

    let file = dir.path().join("backup.db");
    backup(&data, &file, false).unwrap();
    assert_eq!(mode(&file), 0o600);
    backup(&data, &file, true).unwrap();
    assert_eq!(mode(&file), 0o600);
    drop(store);
    let restored = dir.path().join("restored");
    restore(&file, &restored).unwrap();
    assert_eq!(mode(&restored), 0o700);
    assert!(modes(&restored).iter().all(|(_, m)| *m == 0o600), "{:?}", modes(&restored));
    let store = SqliteStore::open(&restored).unwrap();
    store.create_user(t.id, NewUser::new(Upn::parse("b@a.example").unwrap())).await.unwrap();
    assert!(modes(&restored).iter().all(|(_, m)| *m == 0o600), "{:?}", modes(&restored));
}

#[test]
fn an_open_data_directory_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    drop(SqliteStore::open(&data).unwrap());
    set_mode(&data, 0o755);
    set_mode(&data.join(DB_FILE), 0o644);
    let store = SqliteStore::open(&data).unwrap();
    let warning = store.permission_warning().expect("a warning");
    assert!(warning.contains("0755") && warning.contains(&format!("{DB_FILE} is 0644")), "{warning}");
    drop(store);
    // Left as the owner set it: only reported.
    assert_eq!(mode(&data), 0o755);
    set_mode(&data, 0o700);
    set_mode(&data.join(DB_FILE), 0o600);
    assert!(SqliteStore::open(&data).unwrap().permission_warning().is_none());
}
