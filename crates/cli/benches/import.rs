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

use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use tenantsync_cli::generate;
use tenantsync_cli::import::{import_users, ImportOptions};
use tenantsync_domain::{ChangeCursor, NewTenant, ObjectId, Upn};
use tenantsync_store::Store;
use tenantsync_store_sqlite::SqliteStore;

/// A change row as the raw baseline decodes it.
type RawChange = (i64, i64, i64, [u8; 16], i64, Option<[u8; 16]>, Option<String>);

const DOMAIN: &str = "contoso.example";
const LOOKUPS: usize = 20_000;
const RAW_TX_ROWS: usize = 10_000;

#[derive(Debug, Serialize, Deserialize, Clone, Copy, Default)]
struct Measure {
    import_per_s: f64,
    import_s: f64,
    feed_per_s: f64,
    lookup_p50_us: f64,
    lookup_p99_us: f64,
    /// Peak resident memory when the import has finished.
    import_peak_mib: f64,
    /// Peak resident memory at the end (after the feed read and lookups).
    peak_rss_mib: f64,
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    percentile(&v, 0.5)
}

/// 20,000 UPNs spread over the generated users.
fn sample_upns(users: usize) -> Vec<String> {
    let step = (users / LOOKUPS).max(1);
    let mut rng = generate::Rng::new(99);
    let mut out: Vec<String> = generate::users(1, users, DOMAIN, "Contoso", false)
        .step_by(step)
        .map(|u| u.values[0].clone())
        .collect();
    // Visit them in random order, mixing case, as real lookups do.
    for i in (1..out.len()).rev() {
        out.swap(i, rng.below(i + 1));
    }
    for u in out.iter_mut().step_by(2) {
        *u = u.to_uppercase();
    }
    out
}

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
        lat.sort_by(|a, b| a.total_cmp(b));
        Measure {
            import_per_s: users as f64 / import_s,
            import_s,
            feed_per_s: seen as f64 / feed_s,
            lookup_p50_us: percentile(&lat, 0.5),
            lookup_p99_us: percentile(&lat, 0.99),
            import_peak_mib,
            peak_rss_mib: peak_rss_mib(),
        }
    })
}

fn configure_raw(conn: &Connection) {
    conn.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
    conn.pragma_update(None, "foreign_keys", true).unwrap();
    conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
    conn.pragma_update(None, "cache_size", -tenantsync_store_sqlite::WRITER_CACHE_KIB).unwrap();
    conn.pragma_update(None, "temp_store", "MEMORY").unwrap();
    conn.pragma_update(None, "page_size", tenantsync_store_sqlite::page_size()).unwrap();
    conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get::<_, String>(0)).unwrap();
}

/// The raw baseline: same tables and indexes, plain prepared statements, no tenantsync.
fn raw(dir: &Path, users: usize) -> Measure {
    let path = dir.join("raw.db");
    let mut conn = Connection::open(&path).unwrap();
    configure_raw(&conn);
    for sql in tenantsync_store_sqlite::migrations() {
        conn.execute_batch(sql).unwrap();
    }
    let tenant = *uuid::Uuid::now_v7().as_bytes();
    let now = jiff::Timestamp::now().as_millisecond();
    conn.execute(
        "INSERT INTO tenants (id, display_name, initial_domain, created_ms, retention_days) VALUES (?1, 'Contoso', ?2, ?3, 30)",
        params![tenant, DOMAIN, now],
    )
    .unwrap();
    // The same rows, built before the clock starts.
    let rows: Vec<([u8; 16], Vec<String>)> =
        generate::users(1, users, DOMAIN, "Contoso", false).map(|u| (*ObjectId::new().as_bytes(), u.values)).collect();
    let opt = |s: &String| if s.is_empty() { None } else { Some(s.clone()) };
    let t0 = Instant::now();
    let mut seq: i64 = 0;
    for chunk in rows.chunks(RAW_TX_ROWS) {
        let tx = conn.transaction().unwrap();
        {
            let mut ins = tx
                .prepare_cached(
                    "INSERT INTO users (tenant_id, id, upn, mail, display_name, given_name, surname, mail_nickname, account_enabled, \
                     user_type, department, job_title, company_name, employee_id, office_location, street_address, city, state, \
                     postal_code, country, usage_location, preferred_language, telephone_number, mobile_phone, manager_id, extensions, \
                     anchor_tenant, anchor_object, version, created_ms, modified_ms, deleted_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, \
                     ?8, ?9, 0, ?10, ?11, ?12, ?13, ?14, NULL, ?15, ?16, NULL, ?17, ?18, ?19, ?20, NULL, NULL, NULL, NULL, NULL, 1, ?21, ?21, NULL)",
                )
                .unwrap();
            let mut chg = tx
                .prepare_cached("INSERT INTO changes (tenant_id, seq, at_ms, object_kind, object_id, op) VALUES (?1, ?2, ?3, 0, ?4, 1)")
                .unwrap();
            for (id, v) in chunk {
                // Columns of generate::CSV_HEADER: upn, mail, displayName, givenName, surname, mailNickname,
                // accountEnabled, department, jobTitle, companyName, employeeId, officeLocation, city, state,
                // country, usageLocation, preferredLanguage, telephoneNumber, manager.
                ins.execute(params![
                    tenant, id, v[0], opt(&v[1]), opt(&v[2]), opt(&v[3]), opt(&v[4]), opt(&v[5]), v[6] == "true", opt(&v[7]),
                    opt(&v[8]), opt(&v[9]), opt(&v[10]), opt(&v[11]), opt(&v[12]), opt(&v[13]), opt(&v[14]), opt(&v[15]),
                    opt(&v[16]), opt(&v[17]), now
                ])
                .unwrap();
                seq += 1;
                chg.execute(params![tenant, seq, now, id]).unwrap();
            }
            tx.execute("UPDATE tenants SET change_head = ?1 WHERE id = ?2", params![seq, tenant]).unwrap();
        }
        tx.commit().unwrap();
    }
    let import_s = t0.elapsed().as_secs_f64();
    let import_peak_mib = peak_rss_mib();
    drop(rows);
    // Reads go through a read-only connection with the store's reader settings, as
    // tenantsync's reads do.
    let conn = Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    conn.pragma_update(None, "cache_size", -32 * 1024).unwrap();
    conn.pragma_update(None, "mmap_size", 256_i64 * 1024 * 1024).unwrap();

    let t0 = Instant::now();
    let mut seen = 0usize;
    {
        let mut stmt = conn
            .prepare("SELECT seq, at_ms, object_kind, object_id, op, member_id, attributes FROM changes WHERE tenant_id = ?1 AND seq > 0 ORDER BY seq")
            .unwrap();
        let mut q = stmt.query([tenant]).unwrap();
        while let Some(r) = q.next().unwrap() {
            let row: RawChange =
                (r.get(0).unwrap(), r.get(1).unwrap(), r.get(2).unwrap(), r.get(3).unwrap(), r.get(4).unwrap(), r.get(5).unwrap(), r.get(6).unwrap());
            std::hint::black_box(row);
            seen += 1;
        }
    }
    let feed_s = t0.elapsed().as_secs_f64();
    assert_eq!(seen, users);

    let upns = sample_upns(users);
    let mut lat = Vec::with_capacity(upns.len());
    let mut stmt = conn.prepare("SELECT * FROM users WHERE tenant_id = ?1 AND upn = ?2 COLLATE NOCASE").unwrap();
    for upn in &upns {
        let t0 = Instant::now();
        let mut q = stmt.query(params![tenant, upn]).unwrap();
        let row = q.next().unwrap().expect("user present");
        let mut cols = Vec::with_capacity(32);
        for i in 0..32 {
            cols.push(row.get::<_, rusqlite::types::Value>(i).unwrap());
        }
        lat.push(t0.elapsed().as_secs_f64() * 1e6);
        assert_eq!(cols.len(), 32);
    }
    lat.sort_by(|a, b| a.total_cmp(b));
    Measure {
        import_per_s: users as f64 / import_s,
        import_s,
        feed_per_s: seen as f64 / feed_s,
        lookup_p50_us: percentile(&lat, 0.5),
        lookup_p99_us: percentile(&lat, 0.99),
        import_peak_mib,
        peak_rss_mib: peak_rss_mib(),
    }
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
