//! Cross-process propagation (see docs/benchmarks.md): how soon a change made by the CLI
//! reaches the target of a sync configuration that a running `tenantsync serve` holds.
//!
//! `cargo bench -p tenantsync --bench propagation -- [--users N] [--changes K]`
//!
//! A source tenant of N users (default 10,000) synced 1:1 into a target; a real
//! `tenantsync serve` process on the data directory; then K times (default 200): a real
//! `tenantsync user update` process changes one user's department, and from the moment
//! that process has exited the benchmark reads the target until the copy shows the new
//! value. It reports the latency's p50, p99 and maximum, and the CLI process's own run
//! time beside it.
//!
//! Without `--bench` (as `cargo test --benches` runs it) it is a quick smoke run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tenantsync_domain::{Anchor, NewTenant, NewUser, PartnerSettings, SyncConfiguration, SyncScope, Upn};
use tenantsync_engine::Engine;
use tenantsync_store::{Store, SyncStore};
use tenantsync_store_sqlite::SqliteStore;

const BIN: &str = env!("CARGO_BIN_EXE_tenantsync");
const ALLOW: PartnerSettings =
    PartnerSettings { inbound_auto_redeem: Some(true), outbound_auto_redeem: Some(true), inbound_user_sync: Some(true), inbound_group_sync: Some(true) };

fn arg(args: &[String], name: &str) -> Option<usize> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted.get(((sorted.len().max(1) - 1) as f64 * p).round() as usize).copied().unwrap_or(0.0)
}

/// A `serve` process on `dir`, once it listens.
fn serve(dir: &Path) -> Child {
    let mut child =
        Command::new(BIN).arg("--data-dir").arg(dir).args(["serve", "--listen", "127.0.0.1:0"]).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while out.read_line(&mut line).unwrap() > 0 && !line.contains("serving") {
        line.clear();
    }
    assert!(line.contains("serving"), "serve did not start");
    // Keep reading its output so it never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    child
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bench = args.iter().any(|a| a == "--bench");
    let users = arg(&args, "--users").unwrap_or(if bench { 10_000 } else { 50 });
    let changes = arg(&args, "--changes").unwrap_or(if bench { 200 } else { 3 });
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();

    // The topology, written in-process and synced once, before serve starts.
    let (source, target, ids) = rt.block_on(async {
        let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
        let s = store.create_tenant(NewTenant::new("Contoso", "contoso.example").unwrap()).await.unwrap();
        let t = store.create_tenant(NewTenant::new("Fabrikam", "fabrikam.example").unwrap()).await.unwrap();
        store.set_partner_settings(s.id, Some(t.id), ALLOW).await.unwrap();
        store.set_partner_settings(t.id, Some(s.id), ALLOW).await.unwrap();
        let mut ids = Vec::with_capacity(users);
        for i in 0..users {
            let u = store.create_user(s.id, NewUser::new(Upn::parse(&format!("u{i}@contoso.example")).unwrap())).await.unwrap();
            ids.push(u.id);
        }
        let mut c = SyncConfiguration::new("Contoso to Fabrikam", s.id, t.id).unwrap();
        c.scope = SyncScope::AllUsers;
        let engine = Engine::new(store.clone());
        let c = engine.create_configuration(c).await.unwrap();
        engine.run_cycle(c.id).await.unwrap();
        (s.id, t.id, ids)
    });

    let mut server = serve(dir.path());
    let reader = SqliteStore::open(dir.path()).unwrap();
    let (mut latencies, mut cli_runs) = (Vec::with_capacity(changes), Vec::with_capacity(changes));
    for k in 0..changes {
        let i = (k * 7919) % users;
        let department = format!("Dept {k}");
        let t0 = Instant::now();
        let status = Command::new(BIN)
            .arg("--data-dir")
            .arg(dir.path())
            .args(["user", "update", "-t", "contoso.example", &format!("u{i}@contoso.example"), "--set", &format!("department={department}")])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        let exited = Instant::now();
        cli_runs.push((exited - t0).as_secs_f64() * 1000.0);
        let anchor = Anchor::new(source, ids[i]);
        loop {
            let copy = rt.block_on(reader.find_user_by_anchor(target, &anchor)).unwrap();
            if copy.is_some_and(|c| c.attrs.department.as_deref() == Some(department.as_str())) {
                break;
            }
            assert!(exited.elapsed() < Duration::from_secs(30), "change {k} did not arrive in 30 s");
            std::thread::sleep(Duration::from_micros(200));
        }
        latencies.push(exited.elapsed().as_secs_f64() * 1000.0);
    }
    let _ = server.kill();
    let _ = server.wait();
    latencies.sort_by(f64::total_cmp);
    cli_runs.sort_by(f64::total_cmp);
    println!(
        "propagation: {changes} CLI changes on a {users}-user source, serve running: from the CLI's exit to the target, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (the CLI process itself ran p50 {:.1} ms)",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(0.0),
        percentile(&cli_runs, 0.5),
    );
}
