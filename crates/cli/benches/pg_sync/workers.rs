//! The workers' part of the pg_sync bench: change → target latency with `tenantsync serve`
//! processes on the database, and the hub converged by 1, 2, 3 of them; each beside the
//! SQLite store in one process (see pg_sync.rs).
use super::{Cluster, TARGET_DOMAIN, arrow, source, tenant};
use crate::common::process::proc_cpu;
use crate::common::{Scheduler, cpu_seconds, percentile, rt};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tenantsync_domain::{Anchor, AttrValue, SyncConfiguration, Tenant, UserPatch};
use tenantsync_engine::Engine;
use tenantsync_store::{ListQuery, Store, SyncStore, Visibility};
use tenantsync_store_postgres::PgStore;
use tenantsync_store_sqlite::SqliteStore;

struct Worker {
    child: std::process::Child,
}

impl Worker {
    fn spawn(url: &str, log: &Path) -> Worker {
        let log = std::fs::File::create(log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_tenantsync"))
            .args(["serve", "--listen", "127.0.0.1:0", "--no-console", "--log-level", "warn"])
            .env("TENANTSYNC_DATABASE_URL", url)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        Worker { child }
    }

    fn cpu(&self) -> f64 {
        proc_cpu(self.child.id())
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The time of each change from its commit until the target copy shows it; the copy's
/// commit is seen through `wait_for_changes` (on PostgreSQL: `LISTEN`).
async fn change_latencies<S: Store>(store: &S, s: &Tenant, t: &Tenant, changes: usize) -> Vec<f64> {
    let page = store.list_users(s.id, &ListQuery { limit: changes as u32, ..ListQuery::default() }).await.unwrap().items;
    assert_eq!(page.len(), changes, "--changes is larger than the source");
    let mut times = Vec::new();
    for (i, u) in page.iter().enumerate() {
        let anchor = Anchor::new(s.id, u.id);
        let wanted = format!("Latency {i}");
        let mut cursor = store.change_head(t.id).await.unwrap();
        let patch = UserPatch::from_pairs([("jobTitle", AttrValue::String(wanted.clone()))]).unwrap();
        let t0 = Instant::now();
        store.update_user(s.id, u.id, patch, None).await.unwrap();
        loop {
            cursor = tokio::time::timeout(Duration::from_secs(10), store.wait_for_changes(t.id, cursor)).await.expect("no copy within 10 s").unwrap();
            let copy = store.find_user_by_anchor(t.id, &anchor).await.unwrap().unwrap();
            if copy.attrs.job_title.as_deref() == Some(wanted.as_str()) {
                break;
            }
        }
        times.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    times
}

#[derive(Debug, Serialize, Deserialize, Default, Clone, Copy)]
pub(super) struct Latency {
    pub(super) p50_ms: f64,
    pub(super) p99_ms: f64,
    pub(super) max_ms: f64,
    /// CPU of the workers and of the server during the changes, per change (ms).
    pub(super) worker_cpu_ms: f64,
    pub(super) server_cpu_ms: f64,
}

impl Latency {
    fn of(times: &[f64]) -> Latency {
        Latency { p50_ms: percentile(times, 0.5), p99_ms: percentile(times, 0.99), max_ms: times.last().copied().unwrap_or(0.0), ..Latency::default() }
    }
}

/// Waits until every target holds `users` users and every job's watermark is the source's
/// head.
async fn converge<S: SyncStore>(store: &S, s: &Tenant, targets: &[Tenant], configs: &[SyncConfiguration], users: usize, within: Duration) {
    let end = Instant::now() + within;
    loop {
        let head = store.change_head(s.id).await.unwrap();
        let mut done = true;
        for t in targets {
            done &= store.count_users(t.id, Visibility::Active).await.unwrap() as usize == users;
        }
        for c in configs {
            done &= store.job_state(c.id).await.unwrap().watermark == head;
        }
        if done {
            return;
        }
        assert!(Instant::now() < end, "not converged within {within:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(super) fn pg_latency(cluster: &Cluster, dir: &Path, users: usize, workers: usize, changes: usize) -> Latency {
    rt().block_on(async {
        let (schema, url) = cluster.schema().await;
        let store = Arc::new(PgStore::open(&url).await.unwrap());
        let engine = Engine::new(store.clone());
        let s = source(&*store, dir, users).await;
        let t = tenant(&*store, "Contoso Test", TARGET_DOMAIN).await;
        let c = arrow(&engine, &s, &t).await;
        let pool: Vec<Worker> = (0..workers).map(|i| Worker::spawn(&url, &dir.join(format!("latency-worker-{i}.log")))).collect();
        converge(&*store, &s, std::slice::from_ref(&t), std::slice::from_ref(&c), users, Duration::from_secs(600)).await;
        let (w0, s0): (f64, f64) = (pool.iter().map(Worker::cpu).sum(), cluster.cpu());
        let times = change_latencies(&*store, &s, &t, changes).await;
        let per = |x: f64| x * 1e3 / changes as f64;
        let lat = Latency { worker_cpu_ms: per(pool.iter().map(Worker::cpu).sum::<f64>() - w0), server_cpu_ms: per(cluster.cpu() - s0), ..Latency::of(&times) };
        drop(pool);
        cluster.drop_schema(&schema).await;
        lat
    })
}

pub(super) fn sqlite_latency(dir: &Path, users: usize, changes: usize) -> Latency {
    rt().block_on(async {
        let store = Arc::new(SqliteStore::open(dir).unwrap());
        let engine = Engine::new(store.clone());
        let s = source(&*store, dir, users).await;
        let t = tenant(&*store, "Contoso Test", TARGET_DOMAIN).await;
        let c = arrow(&engine, &s, &t).await;
        engine.run_cycle(c.id).await.unwrap();
        let scheduler = Scheduler::start(&engine).await;
        let c0 = cpu_seconds();
        let times = change_latencies(&*store, &s, &t, changes).await;
        let worker_cpu_ms = (cpu_seconds() - c0) * 1e3 / changes as f64;
        scheduler.stop().await;
        Latency { worker_cpu_ms, ..Latency::of(&times) }
    })
}

// ---------------------------------------------------------------------------------------
// 3. The hub.

#[derive(Debug, Serialize, Deserialize, Default, Clone, Copy)]
pub(super) struct Hub {
    pub(super) wall: f64,
    pub(super) workers_cpu: f64,
    pub(super) server_cpu: f64,
}

pub(super) fn pg_hub(cluster: &Cluster, dir: &Path, users: usize, spokes: usize, workers: usize) -> Hub {
    rt().block_on(async {
        let (schema, url) = cluster.schema().await;
        let store = Arc::new(PgStore::open(&url).await.unwrap());
        let engine = Engine::new(store.clone());
        let s = source(&*store, dir, users).await;
        let (mut targets, mut configs) = (Vec::new(), Vec::new());
        for i in 0..spokes {
            let t = tenant(&*store, &format!("Spoke {i}"), &format!("spoke{i}.contoso.example")).await;
            configs.push(arrow(&engine, &s, &t).await);
            targets.push(t);
        }
        cluster.admin().await.batch_execute("CHECKPOINT").await.unwrap();
        let (t0, s0) = (Instant::now(), cluster.cpu());
        let pool: Vec<Worker> = (0..workers).map(|i| Worker::spawn(&url, &dir.join(format!("hub-worker-{i}.log")))).collect();
        converge(&*store, &s, &targets, &configs, users, Duration::from_secs(3600)).await;
        let hub = Hub { wall: t0.elapsed().as_secs_f64(), workers_cpu: pool.iter().map(Worker::cpu).sum(), server_cpu: cluster.cpu() - s0 };
        drop(pool);
        cluster.drop_schema(&schema).await;
        hub
    })
}

pub(super) fn sqlite_hub(dir: &Path, users: usize, spokes: usize) -> Hub {
    rt().block_on(async {
        let store = Arc::new(SqliteStore::open(dir).unwrap());
        let engine = Engine::new(store.clone());
        let s = source(&*store, dir, users).await;
        let mut configs = Vec::new();
        for i in 0..spokes {
            let t = tenant(&*store, &format!("Spoke {i}"), &format!("spoke{i}.contoso.example")).await;
            configs.push(arrow(&engine, &s, &t).await);
        }
        let (t0, c0) = (Instant::now(), cpu_seconds());
        let jobs: Vec<_> = configs
            .into_iter()
            .map(|c| {
                let engine = engine.clone();
                tokio::spawn(async move { engine.run_cycle(c.id).await.unwrap() })
            })
            .collect();
        for j in jobs {
            assert_eq!(j.await.unwrap().created as usize, users);
        }
        Hub { wall: t0.elapsed().as_secs_f64(), workers_cpu: cpu_seconds() - c0, server_cpu: 0.0 }
    })
}
