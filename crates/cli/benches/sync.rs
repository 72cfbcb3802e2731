//! The sync benchmark (see docs/benchmarks.md).
//!
//! `cargo bench -p tenantsync --bench sync -- [--users N] [--runs R] [--hub-users N] [--spokes K] [--latency-users N]`
//!
//! In fresh child processes, alternating:
//! - **initial sync**: a source tenant with N generated users (imported, not timed), a
//!   target, default mappings, scope all users; one initial cycle through
//!   `Engine::run_cycle`, provisioning logs included — users/s and peak memory;
//! - **raw**: the raw rusqlite insert baseline of the import benchmark (N users + change
//!   rows, plain prepared statements, 10,000 rows per transaction), for the ratio.
//!
//! Then once: a **hub** (one source with `--hub-users` users, `--spokes` targets) run as
//! concurrent jobs until all targets converge; and **event latency**: with a synced
//! source of `--latency-users` users and the event-driven scheduler running, one
//! attribute change at a time, measured from the source commit until the target copy
//! shows it (p50, p99), and the cost of one incremental cycle after one change at 1,000
//! users and at `--latency-users` users.
//!
//! Without `--bench` (as `cargo test --benches` runs it) it is a quick smoke run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::{DOMAIN, arg, median, peak_rss_mib, percentile, raw};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tenantsync_cli::generate;
use tenantsync_cli::import::{ImportOptions, import_users};
use tenantsync_domain::{Anchor, AttrValue, NewTenant, PartnerSettings, SyncConfiguration, SyncScope, Tenant, UserPatch};
use tenantsync_engine::Engine;
use tenantsync_engine::scheduler::{self, SchedulerOptions};
use tenantsync_store::{ListQuery, Store, SyncStore};
use tenantsync_store_sqlite::SqliteStore;

const ALLOW: PartnerSettings =
    PartnerSettings { inbound_auto_redeem: Some(true), outbound_auto_redeem: Some(true), inbound_user_sync: Some(true), inbound_group_sync: Some(true) };

#[derive(Debug, Serialize, Deserialize, Default, Clone, Copy)]
struct SyncMeasure {
    users_per_s: f64,
    seconds: f64,
    peak_rss_mib: f64,
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

async fn tenant(store: &SqliteStore, name: &str, domain: &str) -> Tenant {
    let t = store.create_tenant(NewTenant::new(name, domain).unwrap()).await.unwrap();
    store.set_partner_settings(t.id, None, ALLOW).await.unwrap();
    t
}

/// A source tenant filled with `users` generated users through the import path.
async fn source(store: &SqliteStore, dir: &Path, users: usize) -> Tenant {
    let s = tenant(store, "Contoso", DOMAIN).await;
    let csv = dir.join("source.csv");
    generate::write_csv(std::io::BufWriter::new(std::fs::File::create(&csv).unwrap()), generate::users(1, users, DOMAIN, "Contoso", true)).unwrap();
    let report = import_users(store, s.id, &csv, &ImportOptions::default(), &mut |_| {}).await.unwrap();
    assert_eq!(report.imported as usize, users);
    std::fs::remove_file(&csv).unwrap();
    s
}

async fn arrow(engine: &Engine, s: &Tenant, t: &Tenant) -> SyncConfiguration {
    let mut c = SyncConfiguration::new("bench", s.id, t.id).unwrap();
    c.scope = SyncScope::AllUsers;
    c.deletion_threshold = None;
    engine.create_configuration(c).await.unwrap()
}

fn initial_sync(dir: &Path, users: usize) -> SyncMeasure {
    rt().block_on(async {
        let store = Arc::new(SqliteStore::open(dir).unwrap());
        let engine = Engine::new(store.clone());
        let s = source(&store, dir, users).await;
        let t = tenant(&store, "Contoso Test", "test.contoso.example").await;
        let c = arrow(&engine, &s, &t).await;
        let t0 = Instant::now();
        let report = engine.run_cycle(c.id).await.unwrap();
        let seconds = t0.elapsed().as_secs_f64();
        assert_eq!(report.created as usize, users);
        assert_eq!(store.count_users(t.id, tenantsync_store::Visibility::Active).await.unwrap() as usize, users);
        SyncMeasure { users_per_s: users as f64 / seconds, seconds, peak_rss_mib: peak_rss_mib() }
    })
}

fn hub(dir: &Path, users: usize, spokes: usize) -> f64 {
    rt().block_on(async {
        let store = Arc::new(SqliteStore::open(dir).unwrap());
        let engine = Engine::new(store.clone());
        let s = source(&store, dir, users).await;
        let mut configs = Vec::new();
        for i in 0..spokes {
            let t = tenant(&store, &format!("Spoke {i}"), &format!("spoke{i}.contoso.example")).await;
            configs.push(arrow(&engine, &s, &t).await);
        }
        let t0 = Instant::now();
        let mut jobs = Vec::new();
        for c in configs {
            let engine = engine.clone();
            jobs.push(tokio::spawn(async move { engine.run_cycle(c.id).await.unwrap() }));
        }
        for j in jobs {
            assert_eq!(j.await.unwrap().created as usize, users);
        }
        t0.elapsed().as_secs_f64()
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
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let sched_engine = engine.clone();
        let options = SchedulerOptions { interval: Duration::from_secs(3600), external_check: Duration::from_secs(3600), log_retention: None };
        let service = tokio::spawn(async move {
            scheduler::run(
                &sched_engine,
                options,
                async {
                    let _ = stop_rx.await;
                },
                |_| {},
            )
            .await
            .unwrap();
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
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
        stop_tx.send(()).unwrap();
        service.await.unwrap();
        times.sort_by(|a, b| a.total_cmp(b));
        Latency { p50_ms: percentile(&times, 0.5), p99_ms: percentile(&times, 0.99), incremental_small_ms, incremental_large_ms }
    })
}

fn child<T: for<'de> Deserialize<'de>>(args: &[&str]) -> T {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(std::env::current_exe().unwrap()).args(args).arg("--dir").arg(dir.path()).output().unwrap();
    assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap_or_default()).unwrap()
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
        let dir = std::path::PathBuf::from(arg(&args, "--dir").unwrap());
        let line = match mode.as_str() {
            "sync" => serde_json::to_string(&initial_sync(&dir, users)).unwrap(),
            "raw" => serde_json::to_string(&raw(&dir, users)).unwrap(),
            "hub" => serde_json::to_string(&hub(&dir, hub_users, spokes)).unwrap(),
            _ => serde_json::to_string(&latency(&dir, latency_users, samples)).unwrap(),
        };
        println!("{line}");
        return;
    }
    let runs = num("--runs", 3, 1);
    let n = users.to_string();
    let (mut ours, mut base) = (Vec::new(), Vec::new());
    for run in 1..=runs {
        let a: SyncMeasure = child(&["--child", "sync", "--users", &n]);
        eprintln!("run {run} sync: {a:?}");
        let b: common::Measure = child(&["--child", "raw", "--users", &n]);
        eprintln!("run {run} raw:  {:.0} users/s", b.import_per_s);
        ours.push(a);
        base.push(b);
    }
    let hub_s: f64 = child(&["--child", "hub", "--hub-users", &hub_users.to_string(), "--spokes", &spokes.to_string()]);
    let lat: Latency = child(&["--child", "latency", "--latency-users", &latency_users.to_string(), "--samples", &samples.to_string()]);
    let ours_rate = median(ours.iter().map(|m| m.users_per_s).collect());
    let raw_rate = median(base.iter().map(|m| m.import_per_s).collect());
    println!("sync benchmark, medians of {runs} alternating runs");
    println!(
        "initial 1:1 sync of {users} users (logs included): {ours_rate:.0} users/s; raw insert baseline {raw_rate:.0} users/s; ratio {:.2}x",
        ours_rate / raw_rate
    );
    println!("peak memory of the initial sync: {:.0} MiB", median(ours.iter().map(|m| m.peak_rss_mib).collect()));
    println!("hub with {spokes} spokes and {hub_users} users: all converged in {hub_s:.1} s");
    println!("event-driven change to target ({latency_users}-user source, {samples} samples): p50 {:.1} ms, p99 {:.1} ms", lat.p50_ms, lat.p99_ms);
    println!(
        "one incremental cycle after one change: {:.2} ms at 1,000 users, {:.2} ms at {latency_users} users ({:.2}x)",
        lat.incremental_small_ms,
        lat.incremental_large_ms,
        lat.incremental_large_ms / lat.incremental_small_ms
    );
}
