//! Backup while writers go on, and restore: the copy holds every change of every feed up
//! to some point, without a gap, with the objects those changes made; restore refuses
//! what it cannot trust and then leaves nothing behind.
use rusqlite::Connection;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use tenantsync_domain::{AttrValue, ChangeCursor, ChangeOp, NewTenant, NewUser, ObjectId, TenantId, Upn, UserPatch};
use tenantsync_store::{BatchMode, BulkOptions, Store, StoreError, Visibility, WriteOp};
use tenantsync_store_sqlite::{DB_FILE, SqliteStore, backup, restore};

fn user(upn: &str) -> NewUser {
    NewUser::new(Upn::parse(upn).unwrap())
}

/// Every change of `tenant` in `store`, in order.
async fn feed(store: &dyn Store, tenant: TenantId) -> Vec<tenantsync_domain::Change> {
    let mut all = Vec::new();
    let mut cursor = ChangeCursor::START;
    loop {
        let page = store.changes_since(tenant, cursor, 5000).await.unwrap();
        if page.changes.is_empty() {
            return all;
        }
        cursor = page.next_cursor;
        all.extend(page.changes);
    }
}

/// The restored feed of each tenant is changes 1..=head of the source's feed, without a
/// gap, and the restored users are exactly what those changes made.
async fn check_prefix(restored: &SqliteStore, source: &SqliteStore, tenants: &[TenantId]) -> u64 {
    let mut changes = 0;
    for &t in tenants {
        let copy = feed(restored, t).await;
        let head = restored.change_head(t).await.unwrap().0;
        assert_eq!(copy.len() as u64, head, "the head names the newest change of the copy");
        let original = feed(source, t).await;
        assert!(copy.len() <= original.len());
        // Users as the copied feed made them: id -> number of updates (None once deleted).
        let mut made: HashMap<ObjectId, Option<u64>> = HashMap::new();
        for (i, (c, o)) in copy.iter().zip(&original).enumerate() {
            assert_eq!(c.seq, i as u64 + 1, "the copied feed has a gap");
            assert_eq!((c.object_id, c.op, &c.attributes), (o.object_id, o.op, &o.attributes), "change {} differs from the source's", c.seq);
            match c.op {
                ChangeOp::Create => assert!(made.insert(c.object_id, Some(0)).is_none()),
                ChangeOp::Update => *made.get_mut(&c.object_id).unwrap().as_mut().unwrap() += 1,
                ChangeOp::HardDelete => *made.get_mut(&c.object_id).unwrap() = None,
                other => panic!("the writer makes no {other:?}"),
            }
        }
        let live: Vec<_> = made.iter().filter_map(|(id, updates)| updates.map(|u| (*id, u))).collect();
        assert_eq!(restored.count_users(t, Visibility::All).await.unwrap(), live.len() as u64, "users the feed does not account for");
        for (id, updates) in live {
            let u = restored.get_user(t, id).await.unwrap_or_else(|e| panic!("user {id} of the feed is missing: {e}"));
            assert_eq!(u.version.0, 1 + updates, "user {id} disagrees with its changes");
        }
        changes += head;
    }
    changes
}

/// Writes into the tenants in turn until told to stop: each batch creates users, renames
/// one and hard-deletes another, so the feed holds every kind of change the check follows.
fn start_writer(store: SqliteStore, tenants: Vec<TenantId>, stop: Arc<AtomicBool>, batches: Arc<AtomicU64>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut made: HashMap<TenantId, Vec<ObjectId>> = HashMap::new();
        let mut n = 0u64;
        while !stop.load(Ordering::Relaxed) {
            for &t in &tenants {
                n += 1;
                let mut ops = Vec::new();
                for k in 0..5 {
                    let u = user(&format!("w{n}-{k}@t{}.example", &t.to_string()[..8]));
                    made.entry(t).or_default().push(u.id);
                    ops.push(WriteOp::CreateUser(Box::new(u)));
                }
                let ids = made.entry(t).or_default();
                if let Some(&id) = ids.get(ids.len().saturating_sub(7)) {
                    let patch = UserPatch::from_pairs([("displayName", AttrValue::String(format!("renamed {n}")))]).unwrap();
                    ops.push(WriteOp::UpdateUser { id, patch, if_match: None });
                }
                if ids.len() > 20 && n.is_multiple_of(3) {
                    let id = ids.remove(0);
                    ops.push(WriteOp::HardDeleteUser { id, if_match: None });
                }
                store.apply(t, ops, BatchMode::Atomic).await.unwrap();
                batches.fetch_add(1, Ordering::Relaxed);
            }
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_taken_while_writes_go_on_hold_a_gapless_prefix_of_every_feed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let store = SqliteStore::open(&data).unwrap();
    let a = store.create_tenant(NewTenant::new("A", "a.example").unwrap()).await.unwrap().id;
    let b = store.create_tenant(NewTenant::new("B", "b.example").unwrap()).await.unwrap().id;
    // Enough pages that the copy takes a while.
    let mut bulk = store.bulk_import_users(a, BulkOptions::default()).await.unwrap();
    bulk.push((0..20_000).map(|i| (i, user(&format!("seed{i}@a.example")))).collect()).await.unwrap();
    bulk.finish().await.unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let batches = Arc::new(AtomicU64::new(0));
    let writer = start_writer(store.clone(), vec![a, b], stop.clone(), batches.clone());
    while batches.load(Ordering::Relaxed) < 20 {
        tokio::task::yield_now().await;
    }
    let mut copies = Vec::new();
    for i in 0..3 {
        let (data, file) = (data.clone(), dir.path().join(format!("backup-{i}.db")));
        let before = batches.load(Ordering::Relaxed);
        let copied = tokio::task::spawn_blocking(move || backup(&data, &file, false)).await.unwrap().unwrap();
        copies.push((copied, before, batches.load(Ordering::Relaxed)));
    }
    stop.store(true, Ordering::Relaxed);
    writer.await.unwrap();

    let mut overlapped = false;
    for (i, (copied, before, after)) in copies.iter().enumerate() {
        overlapped |= after > before;
        let target = dir.path().join(format!("restored-{i}"));
        let restored = restore(&copied.file, &target).unwrap();
        assert_eq!(restored.tenants.iter().map(|t| t.change_head).collect::<Vec<_>>(), copied.tenants.iter().map(|t| t.change_head).collect::<Vec<_>>());
        let integrity: String = Connection::open(target.join(DB_FILE)).unwrap().query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(integrity, "ok");
        let restored_store = SqliteStore::open(&target).unwrap();
        let changes = check_prefix(&restored_store, &store, &[a, b]).await;
        assert_eq!(changes, copied.tenants.iter().map(|t| t.change_head).sum::<u64>(), "the report names the heads copied");
        assert!(copied.tenants[0].users >= 20_000);
    }
    // The writer committed while backups ran (else this test proved little).
    assert!(overlapped, "no batch was committed during any backup");
}

#[tokio::test]
async fn a_backup_does_not_overwrite_and_needs_a_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    drop(SqliteStore::open(&data).unwrap());
    let file = dir.path().join("b.db");
    backup(&data, &file, false).unwrap();
    let err = backup(&data, &file, false).unwrap_err();
    assert_eq!(err.code(), "destination_exists");
    backup(&data, &file, true).unwrap();
    let err = backup(&dir.path().join("nothing"), &dir.path().join("c.db"), false).unwrap_err();
    assert_eq!(err.code(), "unreadable_data_directory");
    assert!(!dir.path().join("nothing").exists() && !dir.path().join("c.db").exists());
    // No partial file is left beside the backups.
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert!(names.iter().all(|n| !n.contains("partial")), "{names:?}");
}

/// A valid backup of a store with some users, and the directory it sits in.
async fn a_backup() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let store = SqliteStore::open(&data).unwrap();
    let t = store.create_tenant(NewTenant::new("A", "a.example").unwrap()).await.unwrap().id;
    let mut bulk = store.bulk_import_users(t, BulkOptions::default()).await.unwrap();
    bulk.push((0..3000).map(|i| (i, user(&format!("u{i}@a.example")))).collect()).await.unwrap();
    bulk.finish().await.unwrap();
    drop(store);
    let file = dir.path().join("backup.db");
    backup(&data, &file, false).unwrap();
    (dir, file)
}

/// Restore refuses `file` with `code` and leaves neither the data directory nor a file in it.
fn refused(file: &Path, target: &Path, code: &str) -> StoreError {
    let err = restore(file, target).unwrap_err();
    assert_eq!(err.code(), code, "{err}");
    assert!(!target.exists(), "restore left {} behind", target.display());
    err
}

#[tokio::test]
async fn restore_refuses_a_newer_schema_a_damaged_file_and_other_files_leaving_nothing() {
    let (dir, file) = a_backup().await;
    let target = dir.path().join("restored");

    let newer = dir.path().join("newer.db");
    std::fs::copy(&file, &newer).unwrap();
    Connection::open(&newer).unwrap().pragma_update(None, "user_version", 99).unwrap();
    let err = refused(&newer, &target, "schema_too_new");
    assert!(err.to_string().contains("99"), "{err}");

    // Garbage over pages in the middle of the users' B-tree.
    let damaged = dir.path().join("damaged.db");
    let mut bytes = std::fs::read(&file).unwrap();
    let page = 8192;
    let pages = bytes.len() / page;
    for p in [pages / 3, pages / 2, 2 * pages / 3] {
        for b in &mut bytes[p * page + 100..p * page + 2000] {
            *b = 0x5a;
        }
    }
    std::fs::write(&damaged, bytes).unwrap();
    let err = refused(&damaged, &target, "corrupt_database");
    assert!(err.to_string().contains("integrity") || err.to_string().contains("malformed"), "{err}");

    let text = dir.path().join("notes.db");
    std::fs::write(&text, "not a database at all, just some text that is long enough to matter").unwrap();
    refused(&text, &target, "not_a_backup");
    let other = dir.path().join("other.db");
    Connection::open(&other).unwrap().execute_batch("CREATE TABLE t (x); PRAGMA application_id = 7;").unwrap();
    refused(&other, &target, "not_a_backup");
    refused(&dir.path().join("missing.db"), &target, "not_a_backup");

    // An existing, empty directory stays (empty) on refusal.
    std::fs::create_dir(&target).unwrap();
    let err = restore(&newer, &target).unwrap_err();
    assert_eq!(err.code(), "schema_too_new");
    assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0);
    // A directory that is not empty is refused as it is.
    std::fs::write(target.join("keep.txt"), "mine").unwrap();
    assert_eq!(restore(&file, &target).unwrap_err().code(), "destination_exists");
    assert_eq!(std::fs::read_dir(&target).unwrap().count(), 1);
    // And the good file restores into an empty one (what a killed restore left aside).
    std::fs::remove_file(target.join("keep.txt")).unwrap();
    std::fs::write(target.join(".restore.partial"), "half a copy").unwrap();
    let copied = restore(&file, &target).unwrap();
    assert_eq!(copied.tenants[0].users, 3000);
    assert_eq!(copied.schema_version, tenantsync_store_sqlite::schema_version());
    let store = SqliteStore::open(&target).unwrap();
    assert_eq!(store.count_users(copied.tenants[0].id, Visibility::All).await.unwrap(), 3000);
}

#[test]
fn restore_brings_an_older_schema_up_to_date() {
    let dir = tempfile::tempdir().unwrap();
    // A database as the version before the latest made it.
    let older = dir.path().join("older.db");
    let conn = Connection::open(&older).unwrap();
    conn.pragma_update(None, "page_size", 8192).unwrap();
    let previous = tenantsync_store_sqlite::migrations().len() - 1;
    for sql in &tenantsync_store_sqlite::migrations()[..previous] {
        conn.execute_batch(sql).unwrap();
    }
    conn.pragma_update(None, "application_id", tenantsync_store_sqlite::APPLICATION_ID).unwrap();
    conn.pragma_update(None, "user_version", previous as i64).unwrap();
    drop(conn);
    let copied = restore(&older, &dir.path().join("restored")).unwrap();
    assert_eq!(copied.schema_version, tenantsync_store_sqlite::schema_version());
    let on_disk: i64 = Connection::open(dir.path().join("restored").join(DB_FILE)).unwrap().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(on_disk, tenantsync_store_sqlite::schema_version());
}
