//! Writers of other processes (here: other stores on the same data directory, each with
//! its own connection and lock-file handle, as another process has): they wait for the
//! write lock up to their busy timeout, get in between the units of a long import, and
//! past the timeout fail with `store_busy`, never `storage_failure`.
use rusqlite::Connection;
use std::path::Path;
use std::time::Duration;
use tenantsync_domain::{ChangeOp, NewTenant, NewUser, TenantId, Upn};
use tenantsync_store::{BulkOptions, Store, StoreError, Visibility};
use tenantsync_store_sqlite::{DB_FILE, LOCK_FILE, SqliteStore, StoreOptions};

fn user(upn: &str) -> NewUser {
    NewUser::new(Upn::parse(upn).unwrap())
}

fn rows(from: u64, to: u64) -> Vec<(u64, NewUser)> {
    (from..to).map(|i| (i, user(&format!("u{i}@a.example")))).collect()
}

fn waiting(timeout: Duration) -> StoreOptions {
    StoreOptions { busy_timeout: timeout, ..StoreOptions::default() }
}

/// Whether some connection holds the write lock of the data directory's database.
fn lock_held(data: &Path) -> bool {
    let probe = Connection::open(data.join(DB_FILE)).unwrap();
    probe.busy_timeout(Duration::ZERO).unwrap();
    match probe.execute_batch("BEGIN IMMEDIATE") {
        Ok(()) => {
            probe.execute_batch("ROLLBACK").unwrap();
            false
        }
        Err(e) => {
            assert_eq!(e.sqlite_error_code(), Some(rusqlite::ErrorCode::DatabaseBusy), "{e}");
            true
        }
    }
}

/// Whether a writer marked itself waiting for the lock (`tenantsync.lock` held shared).
fn marked_waiting(data: &Path) -> bool {
    let f = std::fs::File::open(data.join(LOCK_FILE)).unwrap();
    match f.try_lock() {
        Ok(()) => false,
        Err(std::fs::TryLockError::WouldBlock) => true,
        Err(std::fs::TryLockError::Error(e)) => panic!("{e}"),
    }
}

async fn until(mut done: impl FnMut() -> bool) {
    for _ in 0..6000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("gave up waiting");
}

async fn setup() -> (tempfile::TempDir, std::path::PathBuf, SqliteStore, TenantId) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let store = SqliteStore::open(&data).unwrap();
    let t = store.create_tenant(NewTenant::new("A", "a.example").unwrap()).await.unwrap().id;
    (dir, data, store, t)
}

#[tokio::test]
async fn a_write_waiting_past_its_timeout_is_store_busy_and_writes_nothing() {
    let (_dir, data, store, t) = setup().await;
    let other = SqliteStore::open_with(&data, waiting(Duration::from_millis(200))).unwrap();
    let holder = Connection::open(data.join(DB_FILE)).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let err = other.create_user(t, user("late@a.example")).await.unwrap_err();
    assert_eq!(err, StoreError::Busy);
    assert_eq!((err.code(), err.status()), ("store_busy", 503));
    assert!(!err.is_refusal());
    holder.execute_batch("ROLLBACK").unwrap();
    assert_eq!(store.count_users(t, Visibility::All).await.unwrap(), 0);
    assert_eq!(store.change_head(t).await.unwrap().0, 0);
    // Once the lock is free the same store writes.
    other.create_user(t, user("late@a.example")).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_waits_for_another_process_lock_within_its_timeout() {
    let (_dir, data, store, t) = setup().await;
    let other = SqliteStore::open_with(&data, waiting(Duration::from_secs(60))).unwrap();
    let holder = Connection::open(data.join(DB_FILE)).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let write = tokio::spawn(async move { other.create_user(t, user("patient@a.example")).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!write.is_finished(), "the write cannot finish while the lock is held");
    holder.execute_batch("COMMIT").unwrap();
    write.await.unwrap().unwrap();
    assert_eq!(store.change_head(t).await.unwrap().0, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_in_units_lets_a_waiting_writer_of_another_process_in_between_units() {
    let (_dir, data, store, t) = setup().await;
    let mut bulk = store.bulk_import_users(t, BulkOptions { commit_every: Some(100) }).await.unwrap();
    // One unit committed, the next one open (and the lock held) with 50 rows in it.
    bulk.push(rows(0, 150)).await.unwrap();
    while store.change_head(t).await.unwrap().0 < 100 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    until(|| lock_held(&data)).await;

    let other = SqliteStore::open_with(&data, waiting(Duration::from_secs(60))).unwrap();
    let write = tokio::spawn(async move { other.create_user(t, user("waiter@a.example")).await });
    until(|| marked_waiting(&data)).await;
    // The next unit closes: the import commits it and lets the waiting write in before it
    // begins the one after (it stays open: without turns the write would wait for its end).
    bulk.push(rows(150, 250)).await.unwrap();
    let waiter = tokio::time::timeout(Duration::from_secs(50), write).await.expect("the waiting write got in between units").unwrap().unwrap();
    bulk.push(rows(250, 400)).await.unwrap();
    let next = 400;
    let summary = bulk.finish().await.unwrap();
    assert_eq!(summary.committed, next);

    // The write's change sits between two whole units of the import.
    let head = store.change_head(t).await.unwrap().0;
    assert_eq!(head, next + 1);
    let mut seq = None;
    let mut cursor = tenantsync_domain::ChangeCursor::START;
    loop {
        let page = store.changes_since(t, cursor, 5000).await.unwrap();
        if page.changes.is_empty() {
            break;
        }
        for c in &page.changes {
            if c.object_id == waiter.id {
                assert_eq!(c.op, ChangeOp::Create);
                seq = Some(c.seq);
            }
        }
        cursor = page.next_cursor;
    }
    assert_eq!(seq, Some(201), "the write's change follows the second unit, before the third");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_file_import_stays_atomic_and_a_short_wait_beside_it_is_store_busy() {
    let (_dir, data, store, t) = setup().await;
    let mut bulk = store.bulk_import_users(t, BulkOptions::default()).await.unwrap();
    bulk.push(rows(0, 500)).await.unwrap();
    until(|| lock_held(&data)).await;
    let impatient = SqliteStore::open_with(&data, waiting(Duration::from_millis(200))).unwrap();
    let err = impatient.create_user(t, user("impatient@a.example")).await.unwrap_err();
    assert_eq!(err.code(), "store_busy");
    // A patient one waits for the end of the import, then writes.
    let patient = SqliteStore::open_with(&data, waiting(Duration::from_secs(60))).unwrap();
    let write = tokio::spawn(async move { patient.create_user(t, user("patient@a.example")).await });
    bulk.push(rows(500, 1000)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!write.is_finished(), "a whole-file import is one unit: nothing gets in");
    assert_eq!(bulk.finish().await.unwrap().committed, 1000);
    write.await.unwrap().unwrap();
    assert_eq!(store.change_head(t).await.unwrap().0, 1001);
}

/// Writes that read before they write (an access step checks its tenant first, an outbox
/// attempt reads the message it updates): begun as a read transaction, such a write found
/// the lock held when it came to write and failed at once with `store_busy` (SQLite calls
/// no busy handler for a read transaction's upgrade: it could deadlock), however long the
/// busy timeout. Inside one process the holder can be a reader checking the WAL index for
/// a moment, which is how a run of 10,000 access requests met it. They begin as writes
/// now, and wait like every other write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_that_read_first_wait_for_another_process_lock() {
    use tenantsync_store::{AccessStep, AccessStore, OutboxMessage};
    let (_dir, data, store, t) = setup().await;
    let other = SqliteStore::open_with(&data, waiting(Duration::from_secs(60))).unwrap();
    let at = jiff::Timestamp::now();
    let message = OutboxMessage {
        id: tenantsync_domain::ObjectId::new(),
        created: at,
        event: "approvalRequired".into(),
        recipients: vec![],
        addresses: vec!["ann@b.example".into()],
        subject: "A request awaits your decision".into(),
        body: String::new(),
        attempts: 0,
        next_attempt: at,
        delivered: None,
    };
    let holder = Connection::open(data.join(DB_FILE)).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let (o, m) = (other.clone(), message.clone());
    let step = tokio::spawn(async move { o.commit_access(t, AccessStep { outbox: vec![m], ..AccessStep::default() }).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!step.is_finished(), "the step waits for the lock (it failed at once with store_busy)");
    holder.execute_batch("COMMIT").unwrap();
    step.await.unwrap().unwrap();

    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let attempt = tokio::spawn(async move { other.outbox_attempted(t, message.id, true, at).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!attempt.is_finished(), "the attempt waits for the lock");
    holder.execute_batch("COMMIT").unwrap();
    attempt.await.unwrap().unwrap();
    let kept = store.outbox(t, 10).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert!(kept.iter().all(|m| m.delivered.is_some()), "the attempt was recorded");
}
