//! The import benchmark of the foundation (see docs/benchmarks.md).
//!
//! `cargo bench -p tenantsync --bench import -- [--users N] [--runs R] [--batch-size N]`
//!
//! Generates N users as a CSV file, then, R times and alternating, in fresh child
//! processes (so each has its own peak memory):
//! - **ours**: imports the file into one tenant through `tenantsync_cli::import::import_users`,
//!   the code path of `tenantsync import users`; reads the whole change feed back through
//!   `Store::changes_since`; looks 20,000 random users up by UPN through `Store`.
//! - **raw**: the same rows, pre-built in memory, inserted with plain rusqlite prepared
//!   statements into the same tables and indexes (plus one change row each) in batched
//!   transactions of 10,000, with the same connection settings; then the same reads with
//!   plain statements.
//!
//! Prints the medians and the ratio ours/raw. Run without `--bench` (as `cargo test
//! --benches` does), it is a quick smoke run of a few thousand users.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::{DOMAIN, Measure, arg, median, peak_rss_mib, raw, sample_upns};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use tenantsync_cli::generate;
use tenantsync_cli::import::{ImportOptions, import_users};
use tenantsync_domain::{ChangeCursor, NewTenant, Upn};
use tenantsync_store::Store;
use tenantsync_store_sqlite::SqliteStore;

fn ours(dir: &Path, csv: &Path, users: usize, batch: Option<usize>) -> Measure {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let store = SqliteStore::open(dir).unwrap();
        let tenant = store.create_tenant(NewTenant::new("Contoso", DOMAIN).unwrap()).await.unwrap();
        let options = ImportOptions { format: None, commit_every: batch };
        let t0 = Instant::now();
        let report = import_users(&store, tenant.id, csv, &options, &mut |_| {}).await.unwrap();
        let import_s = t0.elapsed().as_secs_f64();
        let import_peak_mib = peak_rss_mib();
        assert!(report.succeeded(), "{:?}", report.errors.first());
        assert_eq!(report.imported as usize, users);

        let t0 = Instant::now();
        let mut cursor = ChangeCursor::START;
        let mut seen = 0usize;
        loop {
            let page = store.changes_since(tenant.id, cursor, 10_000).await.unwrap();
            if page.changes.is_empty() {
                break;
            }
            seen += page.changes.len();
            cursor = page.next_cursor;
        }
        let feed_s = t0.elapsed().as_secs_f64();
        assert_eq!(seen, users);

        let upns: Vec<Upn> = sample_upns(users).iter().map(|u| Upn::parse(u).unwrap()).collect();
        let mut lat = Vec::with_capacity(upns.len());
        for upn in &upns {
            let t0 = Instant::now();
            let found = store.find_user_by_upn(tenant.id, upn).await.unwrap();
            lat.push(t0.elapsed().as_secs_f64() * 1e6);
            assert!(found.is_some());
        }
        Measure::new(users, import_s, seen, feed_s, lat, import_peak_mib)
    })
}

fn child(mode: &str, users: usize, csv: &Path, batch: Option<usize>) -> Measure {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new(exe);
    cmd.args(["--child", mode, "--users", &users.to_string(), "--csv"]).arg(csv).arg("--dir").arg(dir.path());
    if let Some(b) = batch {
        cmd.args(["--batch-size", &b.to_string()]);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{mode} child failed: {}", String::from_utf8_lossy(&out.stderr));
    let line = String::from_utf8_lossy(&out.stdout).lines().last().unwrap_or_default().to_owned();
    serde_json::from_str(&line).unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bench = args.iter().any(|a| a == "--bench");
    let users: usize = arg(&args, "--users").map_or(if bench { 1_000_000 } else { 5_000 }, |s| s.parse().unwrap());
    let batch: Option<usize> = arg(&args, "--batch-size").map(|s| s.parse().unwrap());
    if let Some(mode) = arg(&args, "--child") {
        let dir = PathBuf::from(arg(&args, "--dir").unwrap());
        let csv = PathBuf::from(arg(&args, "--csv").unwrap());
        let m = if mode == "ours" { ours(&dir, &csv, users, batch) } else { raw(&dir, users) };
        println!("{}", serde_json::to_string(&m).unwrap());
        return;
    }
    let runs: usize = arg(&args, "--runs").map_or(if bench { 3 } else { 1 }, |s| s.parse().unwrap());
    let work = tempfile::tempdir().unwrap();
    let csv = work.path().join("users.csv");
    let t0 = Instant::now();
    let file = std::io::BufWriter::new(std::fs::File::create(&csv).unwrap());
    generate::write_csv(file, generate::users(1, users, DOMAIN, "Contoso", false)).unwrap();
    let size = std::fs::metadata(&csv).map(|m| m.len()).unwrap_or(0);
    eprintln!("generated {users} users ({:.0} MiB CSV) in {:.1}s", size as f64 / 1048576.0, t0.elapsed().as_secs_f64());
    let (mut o, mut r) = (Vec::new(), Vec::new());
    for run in 1..=runs {
        let a = child("ours", users, &csv, batch);
        eprintln!("run {run} ours: {a:?}");
        let b = child("raw", users, &csv, batch);
        eprintln!("run {run} raw:  {b:?}");
        o.push(a);
        r.push(b);
    }
    let m = |v: &[Measure], f: fn(&Measure) -> f64| median(v.iter().map(f).collect());
    println!("import benchmark: {users} users, {runs} runs alternating, medians{}", batch.map_or(String::new(), |b| format!(", commit every {b} rows")));
    println!("{:<28} {:>14} {:>14} {:>10}", "", "tenantsync", "raw rusqlite", "ratio");
    let row = |name: &str, f: fn(&Measure) -> f64, unit: &str| {
        let (a, b) = (m(&o, f), m(&r, f));
        println!("{name:<28} {:>14} {:>14} {:>9.2}x", format!("{a:.1} {unit}"), format!("{b:.1} {unit}"), a / b);
    };
    row("import (users/s)", |x| x.import_per_s, "");
    row("change-feed read (changes/s)", |x| x.feed_per_s, "");
    row("lookup by UPN p50", |x| x.lookup_p50_us, "us");
    row("lookup by UPN p99", |x| x.lookup_p99_us, "us");
    row("peak memory after import", |x| x.import_peak_mib, "MiB");
    row("peak memory at the end", |x| x.peak_rss_mib, "MiB");
}
