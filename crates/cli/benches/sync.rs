//! The sync benchmark (see docs/benchmarks.md).
//!
//! `cargo bench -p tenantsync --bench sync -- [--users N] [--runs R] [--hub-users N] [--spokes K] [--latency-users N] [--initial-only] [--against EXE]`
//!
//! In fresh child processes, R rounds, alternating (each side's CPU time is its own
//! process's):
//! - **initial sync**: a source tenant with N generated users (imported, not timed), a
//!   target, default mappings, scope all users; one initial cycle through
//!   `Engine::run_cycle`, provisioning logs included — wall and CPU time, what it wrote,
//!   its commit sizes (from the store's commit notices), peak memory;
//! - **raw**: the same store set up the same way (not timed), closed, and the rows the
//!   sync writes written again with plain rusqlite prepared statements: each target user
//!   with every column the default mappings set (UPN in the B2B form, anchor, manager as
//!   the sync sets it in the create), batches of the store writer's size
//!   ([`tenantsync_store_sqlite::SYNC_BATCH_OBJECTS`]) in UPN order, a change row each,
//!   provisioning-log blocks of 256 records with bodies of the sync's measured bytes per
//!   record and their two object rows per record, the job state per batch, in
//!   transactions of [`tenantsync_store_sqlite::UNIT_OBJECTS`] rounded up to whole
//!   batches, as the sync writer commits. The source users are read and mapped with the
//!   clock stopped, a transaction's worth at a time.
//!
//! The report checks that both wrote the same rows (counts and a digest of the user rows)
//! and prints them, the commit sizes, each round with its load average and ratios, and
//! the medians (with the sync's writer thread alone, and each side's kernel time and
//! minor page faults). `--against EXE` runs a second build of this benchmark (another commit)
//! as a third side in every round.
//!
//! Then once (unless `--initial-only`): a **hub** (one source with `--hub-users` users,
//! `--spokes` targets) run as concurrent jobs until all targets converge; and **event
//! latency**: with a synced source of `--latency-users` users and the event-driven
//! scheduler running, one attribute change at a time, measured from the source commit
//! until the target copy shows it (p50, p99), and the cost of one incremental cycle after
//! one change at 1,000 users and at `--latency-users` users.
//!
//! Without `--bench` (as `cargo test --all-targets` runs it) it is a quick smoke run.
//! `--child setup --users N --dir D` does only the initial sync's setup, for a profile
//! (of CPU time or instructions) to subtract from one of `--child sync`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::{
    Round, Scheduler, Stopwatch, Timed, Written, arg, child, commits_from_notices, median, open_raw, peak_rss_mib, percentile, rt, set_head, source, tenant,
    user_columns,
};
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tenantsync_cli::generate;
use tenantsync_domain::{Anchor, AttrValue, ChangeOp, ObjectId, SyncConfiguration, SyncScope, Tenant, Upn, UserPatch};
use tenantsync_engine::Engine;
use tenantsync_store::{JobState, ListQuery, Store, SyncStore};
// SYNC_BATCH_OBJECTS: objects per batch the engine hands the store's writer (its
// `SyncWriter::batch_objects`); the baseline orders creates, packs log blocks and stores
// the job state per batch, as the sync does.
use tenantsync_store_sqlite::{DB_FILE, SYNC_BATCH_OBJECTS, SqliteStore, UNIT_OBJECTS};
/// Records per provisioning-log block (`BLOCK_RECORDS` in crates/store-sqlite/src/logblock.rs).
const LOG_BLOCK_RECORDS: usize = 256;
/// The target tenant's initial domain.
const TARGET_DOMAIN: &str = "test.contoso.example";

#[derive(Debug, Serialize, Deserialize, Default, Clone)]
struct SyncMeasure {
    sync: Timed,
    peak_rss_mib: f64,
}

async fn arrow(engine: &Engine, s: &Tenant, t: &Tenant) -> SyncConfiguration {
    let mut c = SyncConfiguration::new("bench", s.id, t.id).unwrap();
    c.scope = SyncScope::AllUsers;
    c.deletion_threshold = None;
    engine.create_configuration(c).await.unwrap()
}

fn initial_sync(dir: &Path, users: usize, setup_only: bool) -> SyncMeasure {
    // Set up, then closed: the sync runs on a store opened afresh, as `tenantsync sync run`
    // does after `sync create`, and as the raw baseline writes after the same set-up. (A
    // store kept open from the set-up gave the sync warm caches the baseline does not
    // have, and left the baseline alone with the memory the closed store gave back.)
    let (config, target) = rt().block_on(async {
        let store = Arc::new(SqliteStore::open(dir).unwrap());
        let engine = Engine::new(store.clone());
        let s = source(&store, dir, users).await;
        let t = tenant(&store, "Contoso Test", TARGET_DOMAIN).await;
        let c = arrow(&engine, &s, &t).await;
        (c.id, t.id)
    });
    if setup_only {
        // What the setup alone costs (a profile of the sync subtracts it).
        return SyncMeasure::default();
    }
    rt().block_on(async {
        let store = Arc::new(SqliteStore::open(dir).unwrap());
        let engine = Engine::new(store.clone());
        let mut notices = store.subscribe();
        let mut watch = Stopwatch::started();
        let report = engine.run_cycle(config).await.unwrap();
        watch.stop();
        let peak_rss_mib = peak_rss_mib();
        assert_eq!(report.created as usize, users);
        assert_eq!(store.count_users(target, tenantsync_store::Visibility::Active).await.unwrap() as usize, users);
        let commits = commits_from_notices(&mut notices, target, 0);
        let written = Written::count(&dir.join(DB_FILE), target.as_bytes(), commits);
        SyncMeasure { sync: watch.finish(users as u64, written), peak_rss_mib }
    })
}

/// One batch of the raw baseline: target rows (in the order they are inserted) and the
/// (source, target) pairs its log records name, in walk order.
struct RawBatch {
    rows: Vec<Vec<Value>>,
    logged: Vec<([u8; 16], [u8; 16])>,
}

/// The raw baseline of the initial sync: what the sync writes, written with plain
/// prepared statements (see the module docs). `log_bytes_per_record`: the sync's
/// provisioning-log body bytes per record, measured in the same round.
fn raw_sync(dir: &Path, users: usize, log_bytes_per_record: f64) -> Timed {
    // The same store, set up as the sync's (not timed), then closed.
    let (source_id, target_id, config_id) = rt().block_on(async {
        let store = Arc::new(SqliteStore::open(dir).unwrap());
        let engine = Engine::new(store.clone());
        let s = source(&store, dir, users).await;
        let t = tenant(&store, "Contoso Test", TARGET_DOMAIN).await;
        let c = arrow(&engine, &s, &t).await;
        (*s.id.as_bytes(), t.id, *c.id.as_bytes())
    });
    let target = *target_id.as_bytes();
    let target_domain = tenantsync_domain::DomainName::parse(TARGET_DOMAIN).unwrap();
    let db = dir.join(DB_FILE);
    let mut conn = open_raw(&db);
    // Source rows are read as the store's readers read: their own connection and settings.
    let reader = Connection::open_with_flags(&db, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    reader.pragma_update(None, "cache_size", -32 * 1024).unwrap();
    reader.pragma_update(None, "mmap_size", 256_i64 * 1024 * 1024).unwrap();
    let cols = user_columns(&conn);
    let col = |name: &str| cols.iter().position(|c| c == name).unwrap_or_else(|| panic!("users has no column {name}"));
    let (c_id, c_upn, c_manager) = (col("id"), col("upn"), col("manager_id"));
    let select = format!("SELECT {} FROM users WHERE tenant_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3", cols.join(", "));
    let insert = format!("INSERT INTO users ({}) VALUES ({})", cols.join(", "), (1..=cols.len()).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", "));
    // The sync writer commits once a transaction holds UNIT_OBJECTS objects, counted
    // after each batch.
    let per_tx = UNIT_OBJECTS.div_ceil(SYNC_BATCH_OBJECTS) * SYNC_BATCH_OBJECTS;
    let state = serde_json::to_string(&JobState::default()).unwrap();
    // Log bodies: bytes that do not compress, as many per block as the sync's blocks hold.
    let mut rng = generate::Rng::new(7);
    let body: Vec<u8> = (0..(log_bytes_per_record * LOG_BLOCK_RECORDS as f64).ceil() as usize + 1).map(|_| rng.next_u64() as u8).collect();
    let blob = |v: &Value| -> [u8; 16] {
        match v {
            Value::Blob(b) => b.as_slice().try_into().unwrap(),
            other => panic!("not an id: {other:?}"),
        }
    };
    let mut copies: HashMap<[u8; 16], [u8; 16]> = HashMap::with_capacity(users);
    let mut after = [0u8; 16];
    let mut seq: u64 = 0;
    let mut commits = Vec::new();
    let mut watch = Stopwatch::default();
    loop {
        // Not timed: the next transaction's source users, mapped as the default mappings
        // map them, each batch in UPN order as the store's writer orders creates.
        let source_rows: Vec<Vec<Value>> = reader
            .prepare_cached(&select)
            .unwrap()
            .query_map(params![source_id, after, per_tx as i64], |r| (0..cols.len()).map(|i| r.get::<_, Value>(i)).collect())
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let Some(last) = source_rows.last() else { break };
        after = blob(&last[c_id]);
        let n = source_rows.len();
        let now = jiff::Timestamp::now().as_millisecond();
        let mut batches = Vec::new();
        let mut source_rows = source_rows.into_iter().peekable();
        while source_rows.peek().is_some() {
            let mut batch = RawBatch { rows: Vec::with_capacity(SYNC_BATCH_OBJECTS), logged: Vec::with_capacity(SYNC_BATCH_OBJECTS) };
            for mut v in source_rows.by_ref().take(SYNC_BATCH_OBJECTS) {
                let sid = blob(&v[c_id]);
                let tid = *ObjectId::new().as_bytes();
                copies.insert(sid, tid);
                let upn = match &v[c_upn] {
                    Value::Text(u) => Upn::parse(u).unwrap().external_in(&target_domain).unwrap().to_string(),
                    other => panic!("not a UPN: {other:?}"),
                };
                let manager = match &v[c_manager] {
                    Value::Null => Value::Null,
                    m => Value::Blob(copies.get(&blob(m)).expect("the generated managers come before their reports").to_vec()),
                };
                for (i, name) in cols.iter().enumerate() {
                    v[i] = match name.as_str() {
                        "tenant_id" => Value::Blob(target.to_vec()),
                        "id" => Value::Blob(tid.to_vec()),
                        "upn" => Value::Text(upn.clone()),
                        "manager_id" => manager.clone(),
                        "anchor_tenant" => Value::Blob(source_id.to_vec()),
                        "anchor_object" => Value::Blob(sid.to_vec()),
                        // Member, set on create.
                        "user_type" => Value::Integer(0),
                        // The constant "true" of the default mappings.
                        "show_in_address_list" => Value::Integer(1),
                        "version" => Value::Integer(1),
                        "created_ms" | "modified_ms" => Value::Integer(now),
                        // Not mapped.
                        "extensions" | "external_id" | "deleted_ms" => Value::Null,
                        _ => continue,
                    };
                }
                batch.rows.push(v);
                batch.logged.push((sid, tid));
            }
            batch.rows.sort_by_cached_key(|v| match &v[c_upn] {
                Value::Text(u) => u.to_ascii_lowercase(),
                _ => String::new(),
            });
            batches.push(batch);
        }

        watch.start();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).unwrap();
        {
            let mut ins = tx.prepare_cached(&insert).unwrap();
            let mut chg = tx
                .prepare_cached(
                    "INSERT INTO changes (tenant_id, seq, at_ms, object_kind, object_id, op, member_id, attributes) VALUES (?1, ?2, ?3, 0, ?4, ?5, NULL, NULL)",
                )
                .unwrap();
            let mut blk = tx
                .prepare_cached(
                    "INSERT INTO provisioning_log_blocks (id, config_id, first_ms, last_ms, statuses, records, body) VALUES (NULL, ?1, ?2, ?2, 1, ?3, ?4)",
                )
                .unwrap();
            let mut obj = tx.prepare_cached("INSERT OR IGNORE INTO provisioning_log_objects (object_id, block_id) VALUES (?1, ?2)").unwrap();
            let mut job = tx.prepare_cached("UPDATE job_states SET watermark = ?1, body = ?2 WHERE config_id = ?3").unwrap();
            for batch in &batches {
                for v in &batch.rows {
                    ins.execute(rusqlite::params_from_iter(v)).unwrap();
                    seq += 1;
                    chg.execute(params![target, seq as i64, now, v[c_id], ChangeOp::Create.code()]).unwrap();
                }
                for block in batch.logged.chunks(LOG_BLOCK_RECORDS) {
                    let len = (log_bytes_per_record * block.len() as f64).round() as usize;
                    blk.execute(params![config_id, now, block.len() as i64, &body[..len.min(body.len())]]).unwrap();
                    let id = tx.last_insert_rowid();
                    for (s, t) in block {
                        obj.execute(params![s, id]).unwrap();
                        obj.execute(params![t, id]).unwrap();
                    }
                }
                job.execute(params![0, state, config_id]).unwrap();
            }
            set_head(&tx, &target, seq);
        }
        tx.commit().unwrap();
        watch.stop();
        commits.push(n as u64);
    }
    let written = Written::count(&db, &target, commits);
    watch.finish(users as u64, written)
}

/// The hub's figures: wall and CPU seconds from the first job's start until all converge
/// (the source's import and the set-up before are not counted).
#[derive(Debug, Serialize, Deserialize, Default, Clone, Copy)]
struct Hub {
    wall_s: f64,
    cpu_s: f64,
}

fn hub(dir: &Path, users: usize, spokes: usize) -> Hub {
    // As `initial_sync`: set up, closed, and run on a store opened afresh.
    let configs = rt().block_on(async {
        let store = Arc::new(SqliteStore::open(dir).unwrap());
        let engine = Engine::new(store.clone());
        let s = source(&store, dir, users).await;
        let mut configs = Vec::new();
        for i in 0..spokes {
            let t = tenant(&store, &format!("Spoke {i}"), &format!("spoke{i}.contoso.example")).await;
            configs.push(arrow(&engine, &s, &t).await.id);
        }
        configs
    });
    rt().block_on(async {
        let store = Arc::new(SqliteStore::open(dir).unwrap());
        let engine = Engine::new(store.clone());
        let (t0, cpu0) = (Instant::now(), common::cpu_seconds());
        let mut jobs = Vec::new();
        for c in configs {
            let engine = engine.clone();
            jobs.push(tokio::spawn(async move { engine.run_cycle(c).await.unwrap() }));
        }
        for j in jobs {
            assert_eq!(j.await.unwrap().created as usize, users);
        }
        Hub { wall_s: t0.elapsed().as_secs_f64(), cpu_s: common::cpu_seconds() - cpu0 }
    })
}

#[derive(Debug, Serialize, Deserialize, Default, Clone, Copy)]
struct Latency {
    p50_ms: f64,
    p99_ms: f64,
    incremental_small_ms: f64,
    incremental_large_ms: f64,
}

/// Median time of one incremental cycle after one attribute change.
async fn incremental_cost(store: &SqliteStore, engine: &Engine, users: usize, dir: &Path, samples: usize) -> f64 {
    let s = source(store, dir, users).await;
    let t = tenant(store, &format!("Target {users}"), &format!("t{users}.contoso.example")).await;
    let c = arrow(engine, &s, &t).await;
    engine.run_cycle(c.id).await.unwrap();
    let some = store.list_users(s.id, &ListQuery { limit: 1, ..ListQuery::default() }).await.unwrap().items.remove(0);
    let mut times = Vec::new();
    for i in 0..samples {
        let patch = UserPatch::from_pairs([("department", AttrValue::String(format!("D{i}")))]).unwrap();
        store.update_user(s.id, some.id, patch, None).await.unwrap();
        let t0 = Instant::now();
        let r = engine.run_cycle(c.id).await.unwrap();
        times.push(t0.elapsed().as_secs_f64() * 1e3);
        assert_eq!(r.updated, 1);
    }
    median(times)
}

fn latency(dir: &Path, users: usize, samples: usize) -> Latency {
    rt().block_on(async {
        // Incremental cost at 1,000 users and at `users` users, each in its own store.
        let small_dir = dir.join("small");
        let store = SqliteStore::open(&small_dir).unwrap();
        let engine = Engine::new(Arc::new(store.clone()));
        let incremental_small_ms = incremental_cost(&store, &engine, 1000, &small_dir, 30).await;
        let large_dir = dir.join("large");
        let store = Arc::new(SqliteStore::open(&large_dir).unwrap());
        let engine = Engine::new(store.clone());
        let incremental_large_ms = incremental_cost(&store, &engine, users, &large_dir, 30).await;

        // Event-driven: the scheduler wakes on the source commit.
        let configs = store.list_sync_configurations().await.unwrap();
        let c = configs[0].clone();
        let (s, t) = (c.source_tenant_id, c.target_tenant_id);
        let scheduler = Scheduler::start(&engine).await;
        let users_page = store.list_users(s, &ListQuery { limit: samples as u32, ..ListQuery::default() }).await.unwrap().items;
        let mut times = Vec::new();
        for (i, u) in users_page.iter().enumerate() {
            let anchor = Anchor::new(s, u.id);
            let wanted = format!("Latency {i}");
            let cursor = store.change_head(t).await.unwrap();
            let patch = UserPatch::from_pairs([("jobTitle", AttrValue::String(wanted.clone()))]).unwrap();
            let t0 = Instant::now();
            store.update_user(s, u.id, patch, None).await.unwrap();
            let mut cursor = cursor;
            loop {
                cursor = tokio::time::timeout(Duration::from_secs(10), store.wait_for_changes(t, cursor)).await.unwrap().unwrap();
                let copy = store.find_user_by_anchor(t, &anchor).await.unwrap().unwrap();
                if copy.attrs.job_title.as_deref() == Some(wanted.as_str()) {
                    break;
                }
            }
            times.push(t0.elapsed().as_secs_f64() * 1e3);
        }
        scheduler.stop().await;
        times.sort_by(|a, b| a.total_cmp(b));
        Latency { p50_ms: percentile(&times, 0.5), p99_ms: percentile(&times, 0.99), incremental_small_ms, incremental_large_ms }
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bench = args.iter().any(|a| a == "--bench");
    let num = |name: &str, full: usize, smoke: usize| arg(&args, name).map_or(if bench { full } else { smoke }, |s| s.parse().unwrap());
    let users = num("--users", 1_000_000, 3_000);
    let hub_users = num("--hub-users", 100_000, 1_000);
    let spokes = num("--spokes", 10, 3);
    let latency_users = num("--latency-users", 1_000_000, 2_000);
    let samples = num("--samples", 200, 20);
    if let Some(mode) = arg(&args, "--child") {
        let dir = PathBuf::from(arg(&args, "--dir").unwrap());
        let line = match mode.as_str() {
            "sync" => serde_json::to_string(&initial_sync(&dir, users, false)).unwrap(),
            "setup" => serde_json::to_string(&initial_sync(&dir, users, true)).unwrap(),
            "raw" => {
                let per_record: f64 = arg(&args, "--log-bytes-per-record").unwrap().parse().unwrap();
                serde_json::to_string(&raw_sync(&dir, users, per_record)).unwrap()
            }
            "hub" => serde_json::to_string(&hub(&dir, hub_users, spokes)).unwrap(),
            _ => serde_json::to_string(&latency(&dir, latency_users, samples)).unwrap(),
        };
        println!("{line}");
        return;
    }
    let runs = num("--runs", 3, 1);
    let against = arg(&args, "--against").map(PathBuf::from);
    let exe = std::env::current_exe().unwrap();
    let owned = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<String>>();
    let n = users.to_string();
    let (mut rounds, mut peaks) = (Vec::new(), Vec::new());
    for run in 1..=runs {
        let load = common::loadavg();
        let a: SyncMeasure = child(&exe, &owned(&["--child", "sync", "--users", &n]));
        eprintln!("run {run} (load {load}) sync: {:.0} users/s, {:.2} CPU us/user", a.sync.users_per_s(), a.sync.cpu_us());
        let w = &a.sync.written;
        let per_record = format!("{:.3}", w.log_body_bytes as f64 / w.log_records.max(1) as f64);
        let b: Timed = child(&exe, &owned(&["--child", "raw", "--users", &n, "--log-bytes-per-record", &per_record]));
        eprintln!("run {run} raw:  {:.0} users/s, {:.2} CPU us/user", b.users_per_s(), b.cpu_us());
        let c: Option<SyncMeasure> = against.as_ref().map(|x| child(x, &owned(&["--child", "sync", "--users", &n])));
        if let Some(c) = &c {
            eprintln!("run {run} --against: {:.0} users/s, {:.2} CPU us/user", c.sync.users_per_s(), c.sync.cpu_us());
        }
        common::check_same_rows(&a.sync.written, &b.written);
        peaks.push(a.peak_rss_mib);
        rounds.push(Round { load, ours: a.sync, raw: b, against: c.map(|c| c.sync) });
    }
    println!("load average at the end: {}", common::loadavg());
    common::report(&format!("initial 1:1 sync of {users} users, provisioning logs included"), &rounds);
    println!("peak memory of the initial sync: {:.0} MiB", median(peaks));
    if args.iter().any(|a| a == "--initial-only") {
        return;
    }
    let load = common::loadavg();
    let hub: Hub = child(&exe, &owned(&["--child", "hub", "--hub-users", &hub_users.to_string(), "--spokes", &spokes.to_string()]));
    println!(
        "hub with {spokes} spokes and {hub_users} users: all converged in {:.1} s wall, {:.1} s CPU (load average before {load}, after {})",
        hub.wall_s,
        hub.cpu_s,
        common::loadavg()
    );
    let lat: Latency = child(&exe, &owned(&["--child", "latency", "--latency-users", &latency_users.to_string(), "--samples", &samples.to_string()]));
    println!(
        "event-driven change to target ({latency_users}-user source, {samples} samples): p50 {:.1} ms, p99 {:.1} ms (load average {})",
        lat.p50_ms,
        lat.p99_ms,
        common::loadavg()
    );
    println!(
        "one incremental cycle after one change: {:.2} ms at 1,000 users, {:.2} ms at {latency_users} users ({:.2}x)",
        lat.incremental_small_ms,
        lat.incremental_large_ms,
        lat.incremental_large_ms / lat.incremental_small_ms
    );
}
