//! `tenantsync backup` while another process keeps writing, and `tenantsync restore`: the
//! restored directory passes the integrity check and holds every change of each feed up
//! to some point, without a gap, with the objects those changes made; refusals are one
//! line, exit 1, and leave nothing behind.
use crate::support::{Env, path_str};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use tenantsync_domain::{AttrValue, ChangeCursor, ChangeOp, DomainName, NewUser, ObjectId, TenantId, Upn, UserPatch};
use tenantsync_store::{BatchMode, Store, Visibility, WriteOp};
use tenantsync_store_sqlite::SqliteStore;

/// Checks a restored data directory against the source store; returns the changes it holds.
async fn check_restored(restored: &Path, source: &SqliteStore, tenants: &[TenantId]) -> u64 {
    let conn = rusqlite::Connection::open(restored.join("tenantsync.db")).unwrap();
    let integrity: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(integrity, "ok");
    drop(conn);
    let copy = SqliteStore::open(restored).unwrap();
    let mut total = 0;
    for &t in tenants {
        let head = copy.change_head(t).await.unwrap().0;
        let source_page = source.changes_since(t, ChangeCursor::START, u32::try_from(head).unwrap().max(1)).await.unwrap();
        let mut cursor = ChangeCursor::START;
        let mut versions: HashMap<ObjectId, u64> = HashMap::new();
        let mut seq = 0;
        loop {
            let page = copy.changes_since(t, cursor, 1000).await.unwrap();
            if page.changes.is_empty() {
                break;
            }
            for c in &page.changes {
                seq += 1;
                assert_eq!(c.seq, seq, "the restored feed has a gap");
                let original = &source_page.changes[(seq - 1) as usize];
                assert_eq!((c.object_id, c.op), (original.object_id, original.op), "change {seq} is not the source's");
                match c.op {
                    ChangeOp::Create => assert!(versions.insert(c.object_id, 1).is_none()),
                    ChangeOp::Update => *versions.get_mut(&c.object_id).unwrap() += 1,
                    other => panic!("the writer makes no {other:?}"),
                }
            }
            cursor = page.next_cursor;
        }
        assert_eq!(seq, head, "the head is the newest change copied");
        assert_eq!(copy.count_users(t, Visibility::All).await.unwrap(), versions.len() as u64, "users without their changes");
        for (id, version) in versions {
            assert_eq!(copy.get_user(t, id).await.unwrap().version.0, version, "user {id} disagrees with its changes");
        }
        total += head;
    }
    total
}

#[test]
fn a_backup_taken_while_another_process_writes_restores_a_gapless_prefix_of_each_feed() {
    let env = Env::new();
    env.contoso();
    env.ok(&["tenant", "create", "--name", "Fabrikam", "--domain", "fabrikam.example"]);
    let csv = env.dir.path().join("seed.csv");
    tenantsync_cli::generate::write_csv(std::fs::File::create(&csv).unwrap(), tenantsync_cli::generate::users(5, 20_000, "contoso.example", "Contoso", false))
        .unwrap();
    env.ok(&["import", "users", "-t", "contoso.example", path_str(&csv), "--quiet"]);

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let store = SqliteStore::open(&env.data()).unwrap();
    let find = |d: &str| rt.block_on(store.find_tenant_by_domain(&DomainName::parse(d).unwrap())).unwrap().unwrap().id;
    let tenants = vec![find("contoso.example"), find("fabrikam.example")];
    // The other process: this one, writing through its own store while the CLI copies.
    let stop = Arc::new(AtomicBool::new(false));
    let batches = Arc::new(AtomicU64::new(0));
    let writer = {
        let (store, tenants, stop, batches) = (store.clone(), tenants.clone(), stop.clone(), batches.clone());
        rt.spawn(async move {
            let mut n = 0u64;
            let mut last: HashMap<TenantId, ObjectId> = HashMap::new();
            while !stop.load(Ordering::Relaxed) {
                for &t in &tenants {
                    n += 1;
                    let u = NewUser::new(Upn::parse(&format!("w{n}@{}", if t == tenants[0] { "contoso.example" } else { "fabrikam.example" })).unwrap());
                    let mut ops = vec![WriteOp::CreateUser(Box::new(u.clone()))];
                    if let Some(&id) = last.get(&t) {
                        let patch = UserPatch::from_pairs([("displayName", AttrValue::String(format!("after {n}")))]).unwrap();
                        ops.push(WriteOp::UpdateUser { id, patch, if_match: None });
                    }
                    last.insert(t, u.id);
                    store.apply(t, ops, BatchMode::Atomic).await.unwrap();
                    batches.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };
    while batches.load(Ordering::Relaxed) < 10 {
        std::thread::yield_now();
    }
    let mut backups = Vec::new();
    for i in 0..3 {
        let file = env.dir.path().join(format!("backup-{i}.db"));
        let before = batches.load(Ordering::Relaxed);
        let report = env.json(&["backup", path_str(&file)]);
        backups.push((file, report, before, batches.load(Ordering::Relaxed)));
    }
    stop.store(true, Ordering::Relaxed);
    rt.block_on(writer).unwrap();

    assert!(backups.iter().any(|(_, _, before, after)| after > before), "no write was committed while a backup ran");
    for (i, (file, report, _, _)) in backups.iter().enumerate() {
        let heads: Vec<u64> = report["tenants"].as_array().unwrap().iter().map(|t| t["changeHead"].as_u64().unwrap()).collect();
        assert_eq!(heads.len(), 2);
        assert!(report["users"].as_u64().unwrap() >= 20_000);
        let restored = env.dir.path().join(format!("restored-{i}"));
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tenantsync"))
            .arg("--data-dir")
            .arg(&restored)
            .args(["restore", path_str(file), "--json"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let restore_report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(restore_report["tenants"], report["tenants"], "restore reports what the backup copied");
        let changes = rt.block_on(check_restored(&restored, &store, &tenants));
        assert_eq!(changes, heads.iter().sum::<u64>());
    }
}

/// Runs the binary on `data` and expects one error line with `code`, exit 1.
fn refused(env: &Env, data: &Path, args: &[&str], code: &str) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tenantsync")).arg("--data-dir").arg(data).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    assert!(stderr.contains(&format!("[{code}]")), "{args:?}: {stderr}");
    env.scrub(stderr.trim())
}

#[test]
fn restore_refuses_a_newer_schema_a_damaged_file_or_a_used_directory_in_one_line_and_leaves_nothing() {
    let env = Env::new();
    env.contoso();
    let csv = env.dir.path().join("seed.csv");
    tenantsync_cli::generate::write_csv(std::fs::File::create(&csv).unwrap(), tenantsync_cli::generate::users(5, 3000, "contoso.example", "Contoso", false))
        .unwrap();
    env.ok(&["import", "users", "-t", "contoso.example", path_str(&csv), "--quiet"]);
    let file = env.dir.path().join("backup.db");
    let text = env.ok(&["backup", path_str(&file)]);
    assert!(text.starts_with("backed up ") && text.contains("3000 users"), "{text}");
    assert!(text.contains("contoso.example  3000 users  0 groups  changes 1..3000"), "{text}");
    let line = refused(&env, &env.data(), &["backup", path_str(&file)], "destination_exists");
    assert!(line.contains("backup.db' exists; nothing was overwritten"), "{line}");
    env.ok(&["backup", path_str(&file), "--force"]);

    let target = env.dir.path().join("restored");
    let newer = env.dir.path().join("newer.db");
    std::fs::copy(&file, &newer).unwrap();
    rusqlite::Connection::open(&newer).unwrap().pragma_update(None, "user_version", 99).unwrap();
    let line = refused(&env, &target, &["restore", path_str(&newer)], "schema_too_new");
    assert!(line.contains("version 99"), "{line}");
    assert!(!target.exists());

    let damaged = env.dir.path().join("damaged.db");
    let mut bytes = std::fs::read(&file).unwrap();
    let pages = bytes.len() / 8192;
    for p in [pages / 3, pages / 2, 2 * pages / 3] {
        bytes[p * 8192 + 64..p * 8192 + 4000].fill(0x5a);
    }
    std::fs::write(&damaged, bytes).unwrap();
    refused(&env, &target, &["restore", path_str(&damaged)], "corrupt_database");
    assert!(!target.exists());

    let plain = env.file("plain.db", "just text, not a database");
    refused(&env, &target, &["restore", path_str(&plain)], "not_a_backup");
    assert!(!target.exists());

    // The live data directory is not empty: nothing is touched.
    let before = std::fs::read(env.data().join("tenantsync.db")).unwrap();
    refused(&env, &env.data(), &["restore", path_str(&file)], "destination_exists");
    assert_eq!(std::fs::read(env.data().join("tenantsync.db")).unwrap(), before);

    // The good one restores, and the directory works.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tenantsync")).arg("--data-dir").arg(&target).args(["restore", path_str(&file)]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let users = std::process::Command::new(env!("CARGO_BIN_EXE_tenantsync"))
        .arg("--data-dir")
        .arg(&target)
        .args(["user", "list", "-t", "contoso.example", "--limit", "5", "--json"])
        .output()
        .unwrap();
    assert!(users.status.success());
    let v: serde_json::Value = serde_json::from_slice(&users.stdout).unwrap();
    assert_eq!(v["value"].as_array().unwrap().len(), 5);
}
