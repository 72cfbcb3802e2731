//! The data directory is the owner's only: created 0700 with 0600 files (SQLite's -wal and
//! -shm included; backups too), whatever the umask; a directory more open than that is
//! reported once, on stderr, and left as it is.
#![cfg(unix)]
use crate::support::{Env, path_str};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn the_data_directory_and_its_files_are_private_and_an_open_one_is_reported_once() {
    let env = Env::new();
    std::fs::set_permissions(env.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    env.contoso();
    let r = env.run(&["user", "create", "-t", "contoso.example", "--upn", "a@contoso.example"]);
    assert!(r.stderr.is_empty(), "{}", r.stderr);
    assert_eq!(mode(&env.data()), 0o700);
    let names: Vec<_> = std::fs::read_dir(env.data()).unwrap().map(|e| e.unwrap().path()).collect();
    assert!(names.iter().any(|p| p.ends_with("tenantsync.db-shm")), "{names:?}");
    for p in &names {
        // Files 0600; a folder another part makes in it (sockets, leases) 0700.
        let want = if p.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode(p), want, "{}", p.display());
    }
    let file = env.dir.path().join("backup.db");
    env.ok(&["backup", path_str(&file)]);
    assert_eq!(mode(&file), 0o600);

    // Opened up by hand: every command says so, once, and works.
    std::fs::set_permissions(env.data(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let r = env.run(&["user", "list", "-t", "contoso.example"]);
    assert_eq!(r.code, 0);
    let warnings: Vec<_> = r.stderr.lines().collect();
    assert_eq!(warnings.len(), 1, "{}", r.stderr);
    assert!(warnings[0].starts_with("warning: data directory ") && warnings[0].contains("the directory is 0755"), "{}", r.stderr);
    assert_eq!(mode(&env.data()), 0o755, "reported, not changed");
}
