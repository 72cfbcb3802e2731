//! Sync on PostgreSQL, with the SQLite figures of the same run beside (see
//! docs/scale-out.md and docs/benchmarks.md).
//!
//! `cargo bench -p tenantsync --bench pg_sync -- [--users N] [--runs R] [--hub-users N] [--spokes K] [--workers 1,2,3] [--latency-users N] [--changes N] [--only initial|latency|hub]`
//!
//! On the throwaway cluster of `.ci/pg-cluster` (started by this process; each side in a
//! fresh schema, dropped after it), each side in a child process of its own:
//! - **initial 1:1 sync**, R rounds alternating: N generated users imported into a source
//!   (not timed), a target, default mappings, scope all users, one initial cycle through
//!   `Engine::run_cycle` on a `PgStore`, provisioning logs included; against a **raw
//!   baseline** that, on the same store set up the same way, writes the same rows with
//!   `COPY … FROM STDIN`: each target user with every column the default mappings set (the
//!   source row as `COPY … TO STDOUT` gives it, read with the clock stopped, with the
//!   target's tenant, a new id, the UPN in the B2B form, the anchor, the manager's copy,
//!   Member, shown in the address list), a change row each, a provisioning-log record each
//!   whose body is one of the sync's own (of the median length, so that TOAST compresses it
//!   as it does theirs), the job state and the tenant's
//!   head and count, in transactions of the size the sync writer committed (read from its
//!   commit notices in the same round), under the tenant's row lock. Each side reports
//!   wall time, its own CPU time (client) and the cluster's server processes' CPU time,
//!   measured from a checkpoint; the SQLite store's initial cycle runs in the same round.
//! - **change → target** with `serve` workers: a synced arrow of `--latency-users` users,
//!   `--latency-workers` (2) `tenantsync serve` processes on the database, one attribute
//!   change at a time committed by this process, timed until the target copy shows it
//!   (commits reach the workers, and the copy's commit reaches this process, by
//!   `LISTEN`/`NOTIFY`); p50 and p99, beside the SQLite store's event-driven scheduler in
//!   one process.
//! - **hub**: one source of `--hub-users` users and `--spokes` targets, converged by each
//!   count of `serve` workers in `--workers`, from their start: wall time, the workers' and
//!   the server's CPU time; beside the SQLite store running the same jobs concurrently in
//!   one process.
//!
//! Without `--bench` (as `cargo test --all-targets` runs it) it is a smoke run of a few
//! seconds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, clippy::print_stdout)]

mod common;
#[path = "pg_sync/workers.rs"]
mod workers;

use workers::{Hub, Latency, pg_hub, pg_latency, sqlite_hub, sqlite_latency};

use common::{arg, child, commits_summary, cpu_seconds, loadavg, median, rt, thousands};
use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tenantsync_cli::generate;
use tenantsync_domain::{ChangeOp, DomainName, NewTenant, ObjectId, SyncConfiguration, SyncScope, Tenant, Upn};
use tenantsync_engine::Engine;
use tenantsync_store::{JobState, ProvisioningAction, Store, SyncStore};
use tenantsync_store_postgres::PgStore;
use tenantsync_store_sqlite::SqliteStore;

const DOMAIN: &str = common::DOMAIN;
const TARGET_DOMAIN: &str = "test.contoso.example";

// ---------------------------------------------------------------------------------------
// Set-up, on either store (not timed).

async fn tenant<S: SyncStore>(store: &S, name: &str, domain: &str) -> Tenant {
    let t = store.create_tenant(NewTenant::new(name, domain).unwrap()).await.unwrap();
    store.set_partner_settings(t.id, None, common::ALLOW).await.unwrap();
    t
}

/// The source tenant filled with `users` generated users through the import path.
async fn source<S: SyncStore>(store: &S, dir: &Path, users: usize) -> Tenant {
    use tenantsync_cli::import::{ImportOptions, import_users};
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

/// The cluster a child works in: the server's URL and its directory (for the server's CPU).
#[derive(Clone)]
struct Cluster {
    url: String,
    dir: PathBuf,
}

impl Cluster {
    fn from_args(args: &[String]) -> Cluster {
        Cluster { url: arg(args, "--database-url").unwrap(), dir: PathBuf::from(arg(args, "--pg-dir").unwrap()) }
    }

    async fn admin(&self) -> tokio_postgres::Client {
        let (client, conn) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        client
    }

    /// A fresh schema and the URL whose connections use it.
    async fn schema(&self) -> (String, String) {
        let name = tenantsync_store_conformance::pg_cluster::new_schema_name();
        self.admin().await.batch_execute(&format!("CREATE SCHEMA {name}")).await.unwrap();
        let url = format!("{}?options=-csearch_path%3D{name}", self.url);
        (name, url)
    }

    async fn drop_schema(&self, name: &str) {
        self.admin().await.batch_execute(&format!("DROP SCHEMA {name} CASCADE")).await.unwrap();
    }

    /// CPU seconds of the server: the postmaster, the processes it waited for, and its
    /// live children (backends, writers, checkpointer, autovacuum).
    fn cpu(&self) -> f64 {
        tenantsync_store_conformance::cpu::cluster(&self.dir)
    }
}

// ---------------------------------------------------------------------------------------
// What a side cost and what it wrote.

/// Wall, client and server CPU of a timed section, which may be paused (the baseline reads
/// its next transaction's source rows with the meter stopped).
struct Meter {
    cluster: Cluster,
    wall: Duration,
    client: f64,
    server: f64,
    running: Option<(Instant, f64, f64)>,
}

impl Meter {
    /// A meter, after a checkpoint so that no side pays for an earlier side's writes.
    async fn new(cluster: &Cluster) -> Meter {
        cluster.admin().await.batch_execute("CHECKPOINT").await.unwrap();
        Meter { cluster: cluster.clone(), wall: Duration::ZERO, client: 0.0, server: 0.0, running: None }
    }

    fn start(&mut self) {
        self.running = Some((Instant::now(), cpu_seconds(), self.cluster.cpu()));
    }

    fn stop(&mut self) {
        if let Some((t0, c0, s0)) = self.running.take() {
            self.wall += t0.elapsed();
            self.client += cpu_seconds() - c0;
            self.server += self.cluster.cpu() - s0;
        }
    }

    fn cost(mut self) -> Cost {
        self.stop();
        Cost { wall: self.wall.as_secs_f64(), client: self.client, server: self.server }
    }
}

#[derive(Debug, Serialize, Deserialize, Default, Clone, Copy)]
struct Cost {
    wall: f64,
    client: f64,
    server: f64,
}

impl Cost {
    fn cpu(&self) -> f64 {
        self.client + self.server
    }
}

/// What an initial sync wrote into PostgreSQL, counted after it (not timed).
#[derive(Debug, Serialize, Deserialize, Default, Clone, PartialEq, Eq)]
struct Written {
    users: u64,
    with_manager: u64,
    with_anchor: u64,
    changes: u64,
    creates: u64,
    log_records: u64,
    log_body_bytes: u64,
    /// The bodies as stored (`pg_column_size`: after TOAST's compression).
    log_stored_bytes: u64,
    /// Users per commit, in order.
    commits: Vec<u64>,
    /// md5 of the target's user rows in UPN order, ids and times left out (the manager and
    /// the anchored source user by their UPN).
    digest: String,
}

impl Written {
    async fn count(db: &tokio_postgres::Client, tenant: uuid::Uuid, commits: Vec<u64>) -> Written {
        let n = |r: &tokio_postgres::Row, i: usize| r.get::<_, Option<i64>>(i).unwrap_or(0) as u64;
        let r = db.query_one("SELECT count(*), count(manager_id), count(anchor_tenant) FROM users WHERE tenant_id = $1", &[&tenant]).await.unwrap();
        let (users, with_manager, with_anchor) = (n(&r, 0), n(&r, 1), n(&r, 2));
        let r = db
            .query_one("SELECT count(*), sum((op = $2)::int)::bigint FROM changes WHERE tenant_id = $1", &[&tenant, &(ChangeOp::Create.code() as i16)])
            .await
            .unwrap();
        let (changes, creates) = (n(&r, 0), n(&r, 1));
        let r = db
            .query_one("SELECT count(*), sum(length(body))::bigint, sum(pg_column_size(body))::bigint FROM provisioning_logs WHERE tenant_id = $1", &[&tenant])
            .await
            .unwrap();
        let (log_records, log_body_bytes, log_stored_bytes) = (n(&r, 0), n(&r, 1), n(&r, 2));
        const SKIP: [&str; 7] = ["tenant_id", "id", "manager_id", "anchor_tenant", "anchor_object", "created_ms", "modified_ms"];
        let cols: Vec<String> = user_columns(db).await.into_iter().filter(|c| !SKIP.contains(&c.as_str())).map(|c| format!("u.{c}")).collect();
        let sql = format!(
            "SELECT md5(string_agg(md5(ROW({}, m.upn, s.upn)::text), '' ORDER BY u.upn)) FROM users u \
             LEFT JOIN users m ON m.tenant_id = u.tenant_id AND m.id = u.manager_id \
             LEFT JOIN users s ON s.tenant_id = u.anchor_tenant AND s.id = u.anchor_object WHERE u.tenant_id = $1",
            cols.join(", ")
        );
        let digest: Option<String> = db.query_one(&sql, &[&tenant]).await.unwrap().get(0);
        Written {
            users,
            with_manager,
            with_anchor,
            changes,
            creates,
            log_records,
            log_body_bytes,
            log_stored_bytes,
            commits,
            digest: digest.unwrap_or_default(),
        }
    }

    fn differences(&self, o: &Written) -> Vec<String> {
        let mut out = Vec::new();
        let mut check = |name: &str, a: u64, b: u64| {
            if a != b {
                out.push(format!("{name}: {a} vs {b}"));
            }
        };
        check("users", self.users, o.users);
        check("users with a manager", self.with_manager, o.with_manager);
        check("users with an anchor", self.with_anchor, o.with_anchor);
        check("change rows", self.changes, o.changes);
        check("creates", self.creates, o.creates);
        check("log records", self.log_records, o.log_records);
        if self.digest != o.digest {
            out.push("user rows digest".into());
        }
        out
    }
}

async fn user_columns(db: &tokio_postgres::Client) -> Vec<String> {
    let rows = db
        .query(
            "SELECT column_name::text FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'users' ORDER BY ordinal_position",
            &[],
        )
        .await
        .unwrap();
    rows.iter().map(|r| r.get(0)).collect()
}

/// Commit sizes from the store's commit notices for `tenant` (heads after each commit).
fn commits(rx: &mut tokio::sync::broadcast::Receiver<tenantsync_store::CommitNotice>, tenant: tenantsync_domain::TenantId) -> Vec<u64> {
    let mut out = Vec::new();
    let mut last = 0;
    while let Ok(n) = rx.try_recv() {
        if n.tenant_id == tenant && n.head.0 > last {
            out.push(n.head.0 - last);
            last = n.head.0;
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// 1. The initial 1:1 sync.

#[derive(Debug, Serialize, Deserialize, Default, Clone)]
struct Side {
    cost: Cost,
    written: Written,
    /// One of the sync's log bodies (of the median length), the raw baseline's body for
    /// every record: it compresses as the sync's do.
    log_sample: String,
}

fn pg_initial(cluster: &Cluster, dir: &Path, users: usize) -> Side {
    rt().block_on(async {
        let (schema, url) = cluster.schema().await;
        let store = Arc::new(PgStore::open(&url).await.unwrap());
        let engine = Engine::new(store.clone());
        let s = source(&*store, dir, users).await;
        let t = tenant(&*store, "Contoso Test", TARGET_DOMAIN).await;
        let c = arrow(&engine, &s, &t).await;
        let mut notices = store.subscribe();
        let mut meter = Meter::new(cluster).await;
        meter.start();
        let report = engine.run_cycle(c.id).await.unwrap();
        let cost = meter.cost();
        assert_eq!(report.created as usize, users);
        let (db, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        let written = Written::count(&db, t.id.0, commits(&mut notices, t.id)).await;
        let log_sample: String = db
            .query_one("SELECT body FROM provisioning_logs WHERE tenant_id = $1 ORDER BY length(body), id OFFSET $2 LIMIT 1", &[&t.id.0, &(users as i64 / 2)])
            .await
            .unwrap()
            .get(0);
        cluster.drop_schema(&schema).await;
        Side { cost, written, log_sample }
    })
}

/// The raw baseline (see the module docs); `log_body`: the body of every log record.
fn pg_raw(cluster: &Cluster, dir: &Path, users: usize, per_tx: usize, log_body: &str) -> Side {
    rt().block_on(async {
        let (schema, url) = cluster.schema().await;
        let (s, t, c) = {
            let store = Arc::new(PgStore::open(&url).await.unwrap());
            let engine = Engine::new(store.clone());
            let s = source(&*store, dir, users).await;
            let t = tenant(&*store, "Contoso Test", TARGET_DOMAIN).await;
            let c = arrow(&engine, &s, &t).await;
            (s.id.0, t.id.0, c.id.0)
        };
        let (mut db, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        let cols = user_columns(&db).await;
        let col = |name: &str| cols.iter().position(|c| c == name).unwrap_or_else(|| panic!("users has no column {name}"));
        let (c_tenant, c_id, c_upn, c_manager) = (col("tenant_id"), col("id"), col("upn"), col("manager_id"));
        let target_domain = DomainName::parse(TARGET_DOMAIN).unwrap();
        let state = serde_json::to_string(&JobState::default()).unwrap();
        let action = match serde_json::to_value(ProvisioningAction::Create).unwrap() {
            serde_json::Value::String(a) => a,
            other => panic!("an action named {other}"),
        };
        // Text COPY's escapes (the JSON body may hold backslashes).
        let filler = log_body.replace('\\', "\\\\").replace('\n', "\\n").replace('\r', "\\r").replace('\t', "\\t");
        let create = ChangeOp::Create.code();
        let mut copies: HashMap<String, String> = HashMap::with_capacity(users);
        let mut after = uuid::Uuid::nil();
        let (mut seq, mut done) = (0u64, 0usize);
        let mut sizes = Vec::new();
        let mut meter = Meter::new(cluster).await;
        loop {
            // Not timed: the next transaction's source rows, mapped.
            let out = db
                .copy_out(&format!(
                    "COPY (SELECT {} FROM users WHERE tenant_id = '{s}' AND id > '{after}' ORDER BY id LIMIT {per_tx}) TO STDOUT",
                    cols.join(", ")
                ))
                .await
                .unwrap();
            futures_util::pin_mut!(out);
            let mut text = Vec::new();
            while let Some(chunk) = out.next().await {
                text.extend_from_slice(&chunk.unwrap());
            }
            let text = String::from_utf8(text).unwrap();
            if text.is_empty() {
                break;
            }
            let now = jiff::Timestamp::now().as_millisecond();
            let (mut user_rows, mut change_rows, mut log_rows) = (String::new(), String::new(), String::new());
            let mut n = 0;
            for line in text.lines() {
                let mut v: Vec<String> = line.split('\t').map(str::to_owned).collect();
                let sid = v[c_id].clone();
                after = sid.parse().unwrap();
                let tid = ObjectId::new().to_string();
                copies.insert(sid.clone(), tid.clone());
                v[c_upn] = Upn::parse(&v[c_upn]).unwrap().external_in(&target_domain).unwrap().to_string();
                if v[c_manager] != "\\N" {
                    v[c_manager] = copies.get(&v[c_manager]).expect("the generated managers come before their reports").clone();
                }
                for (i, name) in cols.iter().enumerate() {
                    v[i] = match name.as_str() {
                        "tenant_id" => t.to_string(),
                        "id" => tid.clone(),
                        "anchor_tenant" => s.to_string(),
                        "anchor_object" => sid.clone(),
                        "user_type" => "0".into(),
                        "show_in_address_list" => "t".into(),
                        "version" => "1".into(),
                        "created_ms" | "modified_ms" => now.to_string(),
                        "extensions" | "external_id" | "deleted_ms" => "\\N".into(),
                        _ => continue,
                    };
                }
                debug_assert_eq!(v[c_tenant], t.to_string());
                user_rows.push_str(&v.join("\t"));
                user_rows.push('\n');
                seq += 1;
                change_rows.push_str(&format!("{t}\t{seq}\t{now}\t0\t{tid}\t{create}\n"));
                log_rows.push_str(&format!("{t}\t{c}\t{now}\t0\t{sid}\t{tid}\t{action}\t{filler}\n"));
                n += 1;
            }

            meter.start();
            let tx = db.transaction().await.unwrap();
            tx.query_one("SELECT change_head FROM tenants WHERE tenant_id = $1 FOR UPDATE", &[&t]).await.unwrap();
            for (sql, rows) in [
                (format!("COPY users ({}) FROM STDIN", cols.join(", ")), user_rows),
                ("COPY changes (tenant_id, seq, at_ms, object_kind, object_id, op) FROM STDIN".into(), change_rows),
                ("COPY provisioning_logs (tenant_id, config_id, at_ms, status, source_id, target_id, action, body) FROM STDIN".into(), log_rows),
            ] {
                let sink = tx.copy_in(&sql).await.unwrap();
                futures_util::pin_mut!(sink);
                sink.send(bytes::Bytes::from(rows)).await.unwrap();
                sink.finish().await.unwrap();
            }
            tx.execute("UPDATE job_states SET watermark = 0, body = $1 WHERE config_id = $2", &[&state, &c]).await.unwrap();
            tx.execute("UPDATE tenants SET change_head = $1, live_users = live_users + $2 WHERE tenant_id = $3", &[&(seq as i64), &(n as i64), &t])
                .await
                .unwrap();
            tx.commit().await.unwrap();
            meter.stop();
            sizes.push(n as u64);
            done += n;
        }
        let cost = meter.cost();
        assert_eq!(done, users);
        let written = Written::count(&db, t, sizes).await;
        cluster.drop_schema(&schema).await;
        Side { cost, written, log_sample: String::new() }
    })
}

/// The SQLite store's initial cycle of the same users (wall and this process's CPU).
fn sqlite_initial(dir: &Path, users: usize) -> Cost {
    rt().block_on(async {
        let store = Arc::new(SqliteStore::open(dir).unwrap());
        let engine = Engine::new(store.clone());
        let s = source(&*store, dir, users).await;
        let t = tenant(&*store, "Contoso Test", TARGET_DOMAIN).await;
        let c = arrow(&engine, &s, &t).await;
        let (t0, c0) = (Instant::now(), cpu_seconds());
        assert_eq!(engine.run_cycle(c.id).await.unwrap().created as usize, users);
        Cost { wall: t0.elapsed().as_secs_f64(), client: cpu_seconds() - c0, server: 0.0 }
    })
}

// ---------------------------------------------------------------------------------------

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bench = args.iter().any(|a| a == "--bench");
    let num = |name: &str, full: usize, smoke: usize| arg(&args, name).map_or(if bench { full } else { smoke }, |s| s.parse().unwrap());
    let users = num("--users", 1_000_000, 1_000);
    let runs = num("--runs", 3, 1);
    let hub_users = num("--hub-users", 100_000, 300);
    let spokes = num("--spokes", 10, 2);
    let latency_users = num("--latency-users", 100_000, 500);
    let latency_workers = num("--latency-workers", 2, 2);
    let changes = num("--changes", 200, 10);
    let workers: Vec<usize> =
        arg(&args, "--workers").unwrap_or_else(|| if bench { "1,2,3" } else { "1,2" }.into()).split(',').map(|w| w.trim().parse().unwrap()).collect();
    if let Some(mode) = arg(&args, "--child") {
        let dir = PathBuf::from(arg(&args, "--dir").unwrap());
        let n = |name: &str| arg(&args, name).unwrap().parse::<usize>().unwrap();
        let line = match mode.as_str() {
            "pg-initial" => serde_json::to_string(&pg_initial(&Cluster::from_args(&args), &dir, users)),
            "pg-raw" => {
                let body = std::fs::read_to_string(arg(&args, "--log-body-file").unwrap()).unwrap();
                serde_json::to_string(&pg_raw(&Cluster::from_args(&args), &dir, users, n("--per-tx"), &body))
            }
            "sqlite-initial" => serde_json::to_string(&sqlite_initial(&dir, users)),
            "pg-latency" => serde_json::to_string(&pg_latency(&Cluster::from_args(&args), &dir, latency_users, latency_workers, changes)),
            "sqlite-latency" => serde_json::to_string(&sqlite_latency(&dir, latency_users, changes)),
            "pg-hub" => serde_json::to_string(&pg_hub(&Cluster::from_args(&args), &dir, hub_users, spokes, n("--hub-workers"))),
            _ => serde_json::to_string(&sqlite_hub(&dir, hub_users, spokes)),
        };
        println!("{}", line.unwrap());
        return;
    }
    let only = arg(&args, "--only");
    let wants = |what: &str| only.as_deref().is_none_or(|o| o == what);
    let url = tenantsync_store_conformance::pg_cluster::url().to_owned();
    let pg_dir = std::env::temp_dir().join(format!("tenantsync-pg-{}", std::process::id()));
    let exe = std::env::current_exe().unwrap();
    let run = |mode: &str, extra: &[String]| -> Vec<String> {
        let mut a: Vec<String> = ["--child", mode, "--database-url", &url, "--pg-dir", &pg_dir.to_string_lossy()].iter().map(|s| s.to_string()).collect();
        for name in ["--users", "--hub-users", "--spokes", "--latency-users", "--latency-workers", "--changes"] {
            let v = match name {
                "--users" => users,
                "--hub-users" => hub_users,
                "--spokes" => spokes,
                "--latency-users" => latency_users,
                "--latency-workers" => latency_workers,
                _ => changes,
            };
            a.extend([name.to_owned(), v.to_string()]);
        }
        a.extend(extra.iter().cloned());
        a
    };
    println!("PostgreSQL 15 (throwaway cluster, fsync off), SQLite beside; load average at the start {}", loadavg());
    if wants("initial") {
        initial(&exe, &run, users, runs);
    }
    if wants("latency") {
        let load = loadavg();
        let pg: Latency = child(&exe, &run("pg-latency", &[]));
        let lite: Latency = child(&exe, &run("sqlite-latency", &[]));
        println!(
            "change → target copy, {changes} changes one at a time, a source of {} users (load average before {load}, after {}):",
            thousands(latency_users as u64),
            loadavg()
        );
        println!(
            "  PostgreSQL, {latency_workers} serve workers: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; CPU per change: workers {:.1} ms, server {:.1} ms",
            pg.p50_ms, pg.p99_ms, pg.max_ms, pg.worker_cpu_ms, pg.server_cpu_ms
        );
        println!(
            "  SQLite, the scheduler in one process: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; CPU per change {:.1} ms",
            lite.p50_ms, lite.p99_ms, lite.max_ms, lite.worker_cpu_ms
        );
    }
    if wants("hub") {
        println!("hub: one source of {} users, {spokes} spokes (every arrow's initial sync), until all converged:", thousands(hub_users as u64));
        println!("  {:<22} {:>8} {:>14} {:>12} {:>12} {:>16}", "store, workers", "wall s", "users/s", "workers CPU", "server CPU", "load before");
        let line = |name: &str, h: &Hub, load: &str| {
            let written = (hub_users * spokes) as f64;
            println!("  {name:<22} {:>8.1} {:>14.0} {:>11.1}s {:>11.1}s {load:>16}", h.wall, written / h.wall, h.workers_cpu, h.server_cpu);
        };
        for &w in &workers {
            let load = loadavg();
            let h: Hub = child(&exe, &run("pg-hub", &["--hub-workers".into(), w.to_string()]));
            line(&format!("PostgreSQL, {w}"), &h, &load);
        }
        let load = loadavg();
        let h: Hub = child(&exe, &run("sqlite-hub", &[]));
        line("SQLite, 1 process", &h, &load);
    }
    println!("load average at the end: {}", loadavg());
}

/// The initial-sync rounds and their report.
/// One round of the initial sync: the load average when it began, tenantsync, raw, SQLite.
type Round = (String, Side, Side, Cost);

fn initial(exe: &Path, run: &dyn Fn(&str, &[String]) -> Vec<String>, users: usize, runs: usize) {
    let mut rounds: Vec<Round> = Vec::new();
    for r in 1..=runs {
        let load = loadavg();
        let ours: Side = child(exe, &run("pg-initial", &[]));
        eprintln!("run {r} (load {load}) tenantsync: {:.0} users/s", users as f64 / ours.cost.wall);
        let per_tx = ours.written.commits.iter().copied().max().unwrap_or(1).to_string();
        let body = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(body.path(), &ours.log_sample).unwrap();
        let raw: Side = child(exe, &run("pg-raw", &["--per-tx".into(), per_tx, "--log-body-file".into(), body.path().to_string_lossy().into_owned()]));
        eprintln!("run {r} raw COPY: {:.0} users/s", users as f64 / raw.cost.wall);
        let diff = ours.written.differences(&raw.written);
        assert!(diff.is_empty(), "the raw baseline no longer writes what tenantsync writes ({}); update the baseline", diff.join("; "));
        let lite: Cost = child(exe, &run("sqlite-initial", &[]));
        rounds.push((load, ours, raw, lite));
    }
    let Some((_, first, raw0, _)) = rounds.first() else { return };
    let w = &first.written;
    println!(
        "initial 1:1 sync of {} users on PostgreSQL, provisioning logs included: {runs} rounds alternating tenantsync, raw COPY, SQLite",
        thousands(users as u64)
    );
    println!(
        "  rows written by each PostgreSQL side: users {} (with a manager {}, anchored {}), change rows {} (creates {}), log records {} (body bytes each: tenantsync {}, raw {}; stored {} | {}); user rows identical: {}",
        thousands(w.users),
        thousands(w.with_manager),
        thousands(w.with_anchor),
        thousands(w.changes),
        thousands(w.creates),
        thousands(w.log_records),
        w.log_body_bytes / w.log_records.max(1),
        raw0.written.log_body_bytes / raw0.written.log_records.max(1),
        w.log_stored_bytes / w.log_records.max(1),
        raw0.written.log_stored_bytes / raw0.written.log_records.max(1),
        if w.digest == raw0.written.digest { "yes" } else { "NO" }
    );
    println!("  users per commit: tenantsync {} | raw {}", commits_summary(&w.commits), commits_summary(&raw0.written.commits));
    println!("  per user in us: wall | client CPU | server CPU; ratio = raw ÷ tenantsync (1.00x: as fast as raw)");
    println!("  {:<4} {:<16} {:>26} {:>26} {:>16} {:>20}", "run", "load 1/5/15", "tenantsync", "raw COPY", "ratio wall|CPU", "SQLite wall|CPU");
    let per = |x: f64| x * 1e6 / users as f64;
    let cell = |c: &Cost| format!("{:.1} | {:.1} | {:.1}", per(c.wall), per(c.client), per(c.server));
    for (i, (load, ours, raw, lite)) in rounds.iter().enumerate() {
        println!(
            "  {:<4} {:<16} {:>26} {:>26} {:>9.2}|{:.2}x {:>20}",
            i + 1,
            load,
            cell(&ours.cost),
            cell(&raw.cost),
            raw.cost.wall / ours.cost.wall,
            raw.cost.cpu() / ours.cost.cpu(),
            format!("{:.1} | {:.1}", per(lite.wall), per(lite.client))
        );
    }
    let med = |f: &dyn Fn(&Round) -> f64| median(rounds.iter().map(f).collect());
    let m = |f: fn(&Cost) -> f64, side: usize| {
        med(&|x| match side {
            0 => f(&x.1.cost),
            1 => f(&x.2.cost),
            _ => f(&x.3),
        })
    };
    let mcell = |side: usize| format!("{:.1} | {:.1} | {:.1}", per(m(|c| c.wall, side)), per(m(|c| c.client, side)), per(m(|c| c.server, side)));
    println!(
        "  {:<4} {:<16} {:>26} {:>26} {:>9.2}|{:.2}x {:>20}",
        "med",
        "",
        mcell(0),
        mcell(1),
        med(&|x| x.2.cost.wall / x.1.cost.wall),
        med(&|x| x.2.cost.cpu() / x.1.cost.cpu()),
        format!("{:.1} | {:.1}", per(m(|c| c.wall, 2)), per(m(|c| c.client, 2)))
    );
    println!(
        "  medians in users/s: tenantsync {:.0}, raw COPY {:.0}, SQLite {:.0}",
        users as f64 / m(|c| c.wall, 0),
        users as f64 / m(|c| c.wall, 1),
        users as f64 / m(|c| c.wall, 2)
    );
}
