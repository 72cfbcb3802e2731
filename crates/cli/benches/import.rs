//! The import benchmark of the foundation (see docs/benchmarks.md).
//!
//! `cargo bench -p tenantsync --bench import -- [--users N] [--runs R] [--batch-size N] [--against EXE]`
//!
//! Generates N users as a CSV file, then, R rounds, alternating, each side in a fresh
//! child process (so each has its own peak memory and its own CPU time):
//! - **ours**: imports the file into one tenant through `tenantsync_cli::import::import_users`,
//!   the code path of `tenantsync import users`; reads the whole change feed back through
//!   `Store::changes_since`; looks 20,000 random users up by UPN through `Store`.
//! - **raw**: the same rows, pre-built in memory, inserted with plain rusqlite prepared
//!   statements (one user row and one change row each, the head set at each commit) into
//!   the real schema of a store opened and closed first, with the writer connection's
//!   settings, in transactions of the same size as the import's unit (the whole file, or
//!   `--batch-size` rows); then the same reads with plain statements.
//!
//! Each child reports wall and CPU time (user + system, its own process) of the import,
//! what it wrote (rows, a digest of the user rows, users per commit) and the reads. The
//! report prints both sides' rows and commit sizes, each round with its load average and
//! the ratios within it, and the medians. `--against EXE` runs a second build of this
//! benchmark (another commit) as a third side in every round.
//!
//! Run without `--bench` (as `cargo test --all-targets` does), it is a quick smoke run of
//! a few thousand users.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::{DOMAIN, Round, Stopwatch, Timed, Written, arg, child, commits_from_notices, median, open_raw, peak_rss_mib, rt, sample_upns, set_head};
use rusqlite::{Connection, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;
use tenantsync_cli::generate;
use tenantsync_cli::import::{ImportOptions, import_users};
use tenantsync_domain::{ChangeCursor, ChangeOp, NewTenant, ObjectId, Upn};
use tenantsync_store::Store;
use tenantsync_store_sqlite::{DB_FILE, SqliteStore};

/// A change row as the raw baseline decodes it.
type RawChange = (i64, i64, i64, [u8; 16], i64, Option<[u8; 16]>, Option<String>);

#[derive(Debug, Serialize, Deserialize, Clone, Default)]
struct Measure {
    import: Timed,
    feed_per_s: f64,
    lookup_p50_us: f64,
    lookup_p99_us: f64,
    /// Peak resident memory when the import has finished.
    import_peak_mib: f64,
    /// Peak resident memory at the end (after the feed read and lookups).
    peak_rss_mib: f64,
}

impl Measure {
    /// `seen` changes read in `feed_s`, lookup latencies in µs.
    fn new(import: Timed, seen: usize, feed_s: f64, mut lat: Vec<f64>, import_peak_mib: f64) -> Measure {
        lat.sort_by(|a, b| a.total_cmp(b));
        Measure {
            import,
            feed_per_s: seen as f64 / feed_s,
            lookup_p50_us: common::percentile(&lat, 0.5),
            lookup_p99_us: common::percentile(&lat, 0.99),
            import_peak_mib,
            peak_rss_mib: peak_rss_mib(),
        }
    }
}

fn ours(dir: &Path, csv: &Path, users: usize, batch: Option<usize>) -> Measure {
    rt().block_on(async {
        let store = SqliteStore::open(dir).unwrap();
        let tenant = store.create_tenant(NewTenant::new("Contoso", DOMAIN).unwrap()).await.unwrap();
        let options = ImportOptions { format: None, commit_every: batch };
        let mut notices = store.subscribe();
        let mut watch = Stopwatch::started();
        let report = import_users(&store, tenant.id, csv, &options, &mut |_| {}).await.unwrap();
        watch.stop();
        let import_peak_mib = peak_rss_mib();
        assert!(report.succeeded(), "{:?}", report.errors.first());
        assert_eq!(report.imported as usize, users);
        let commits = commits_from_notices(&mut notices, tenant.id, 0);
        let import = watch.finish(users as u64, Written::count(&dir.join(DB_FILE), tenant.id.as_bytes(), commits));

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
        Measure::new(import, seen, feed_s, lat, import_peak_mib)
    })
}

/// A generated value as the column takes it: empty is NULL.
fn opt(s: &str) -> Option<&str> {
    if s.is_empty() { None } else { Some(s) }
}

/// The raw baseline: the rows the import writes, plain prepared statements, no tenantsync,
/// in transactions of the import's unit (`batch` rows, or all of them).
fn raw(dir: &Path, users: usize, batch: Option<usize>) -> Measure {
    // The real schema and settings: a store opened (and closed again) in the directory.
    let tenant = rt().block_on(async {
        let store = SqliteStore::open(dir).unwrap();
        *store.create_tenant(NewTenant::new("Contoso", DOMAIN).unwrap()).await.unwrap().id.as_bytes()
    });
    let db = dir.join(DB_FILE);
    let mut conn = open_raw(&db);
    let now = jiff::Timestamp::now().as_millisecond();
    // The same rows, built before the clock starts.
    let rows: Vec<([u8; 16], Vec<String>)> = generate::users(1, users, DOMAIN, "Contoso", false).map(|u| (*ObjectId::new().as_bytes(), u.values)).collect();
    let unit = batch.unwrap_or(users).max(1);
    let mut commits = Vec::new();
    let mut watch = Stopwatch::started();
    let mut seq: u64 = 0;
    for chunk in rows.chunks(unit) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).unwrap();
        {
            let mut ins = tx
                .prepare_cached(
                    "INSERT INTO users (tenant_id, id, upn, mail, display_name, given_name, surname, mail_nickname, account_enabled, \
                     user_type, department, job_title, company_name, employee_id, office_location, street_address, city, state, \
                     postal_code, country, usage_location, preferred_language, telephone_number, mobile_phone, manager_id, extensions, \
                     anchor_tenant, anchor_object, version, created_ms, modified_ms, deleted_ms, external_id) VALUES (?1, ?2, ?3, ?4, \
                     ?5, ?6, ?7, ?8, ?9, 0, ?10, ?11, ?12, ?13, ?14, NULL, ?15, ?16, NULL, ?17, ?18, ?19, ?20, NULL, NULL, NULL, NULL, \
                     NULL, 1, ?21, ?21, NULL, NULL)",
                )
                .unwrap();
            let mut chg = tx.prepare_cached("INSERT INTO changes (tenant_id, seq, at_ms, object_kind, object_id, op) VALUES (?1, ?2, ?3, 0, ?4, ?5)").unwrap();
            for (id, v) in chunk {
                // Columns of generate::CSV_HEADER: upn, mail, displayName, givenName, surname, mailNickname,
                // accountEnabled, department, jobTitle, companyName, employeeId, officeLocation, city, state,
                // country, usageLocation, preferredLanguage, telephoneNumber, manager.
                ins.execute(params![
                    tenant,
                    id,
                    v[0],
                    opt(&v[1]),
                    opt(&v[2]),
                    opt(&v[3]),
                    opt(&v[4]),
                    opt(&v[5]),
                    v[6] == "true",
                    opt(&v[7]),
                    opt(&v[8]),
                    opt(&v[9]),
                    opt(&v[10]),
                    opt(&v[11]),
                    opt(&v[12]),
                    opt(&v[13]),
                    opt(&v[14]),
                    opt(&v[15]),
                    opt(&v[16]),
                    opt(&v[17]),
                    now
                ])
                .unwrap();
                seq += 1;
                chg.execute(params![tenant, seq as i64, now, id, ChangeOp::Create.code()]).unwrap();
            }
            set_head(&tx, &tenant, seq);
        }
        tx.commit().unwrap();
        commits.push(chunk.len() as u64);
    }
    watch.stop();
    let import_peak_mib = peak_rss_mib();
    drop(rows);
    let import = watch.finish(users as u64, Written::count(&db, &tenant, commits));
    // Reads go through a read-only connection with the store's reader settings, as
    // tenantsync's reads do.
    let conn = Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
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
        let mut cols = Vec::with_capacity(33);
        for i in 0..33 {
            cols.push(row.get::<_, rusqlite::types::Value>(i).unwrap());
        }
        lat.push(t0.elapsed().as_secs_f64() * 1e6);
        assert_eq!(cols.len(), 33);
    }
    Measure::new(import, seen, feed_s, lat, import_peak_mib)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bench = args.iter().any(|a| a == "--bench");
    let users: usize = arg(&args, "--users").map_or(if bench { 1_000_000 } else { 5_000 }, |s| s.parse().unwrap());
    let batch: Option<usize> = arg(&args, "--batch-size").map(|s| s.parse().unwrap());
    if let Some(mode) = arg(&args, "--child") {
        let dir = PathBuf::from(arg(&args, "--dir").unwrap());
        let csv = PathBuf::from(arg(&args, "--csv").unwrap());
        let m = if mode == "ours" { ours(&dir, &csv, users, batch) } else { raw(&dir, users, batch) };
        println!("{}", serde_json::to_string(&m).unwrap());
        return;
    }
    let runs: usize = arg(&args, "--runs").map_or(if bench { 3 } else { 1 }, |s| s.parse().unwrap());
    let against = arg(&args, "--against").map(PathBuf::from);
    let exe = std::env::current_exe().unwrap();
    let work = tempfile::tempdir().unwrap();
    let csv = work.path().join("users.csv");
    let t0 = Instant::now();
    let file = std::io::BufWriter::new(std::fs::File::create(&csv).unwrap());
    generate::write_csv(file, generate::users(1, users, DOMAIN, "Contoso", false)).unwrap();
    let size = std::fs::metadata(&csv).map(|m| m.len()).unwrap_or(0);
    eprintln!("generated {users} users ({:.0} MiB CSV) in {:.1}s", size as f64 / 1048576.0, t0.elapsed().as_secs_f64());
    let child_args = |mode: &str| {
        let mut a: Vec<String> = ["--child", mode, "--users", &users.to_string(), "--csv"].iter().map(|s| s.to_string()).collect();
        a.push(csv.display().to_string());
        if let Some(b) = batch {
            a.extend(["--batch-size".to_owned(), b.to_string()]);
        }
        a
    };
    let (mut o, mut r, mut rounds) = (Vec::new(), Vec::new(), Vec::new());
    for run in 1..=runs {
        let load = common::loadavg();
        let a: Measure = child(&exe, &child_args("ours"));
        eprintln!("run {run} (load {load}) ours: {:.0} users/s, {:.2} CPU us/user", a.import.users_per_s(), a.import.cpu_us());
        let b: Measure = child(&exe, &child_args("raw"));
        eprintln!("run {run} raw:  {:.0} users/s, {:.2} CPU us/user", b.import.users_per_s(), b.import.cpu_us());
        let c: Option<Measure> = against.as_ref().map(|x| child(x, &child_args("ours")));
        if let Some(c) = &c {
            eprintln!("run {run} --against: {:.0} users/s, {:.2} CPU us/user", c.import.users_per_s(), c.import.cpu_us());
        }
        common::check_same_rows(&a.import.written, &b.import.written);
        rounds.push(Round { load, ours: a.import.clone(), raw: b.import.clone(), against: c.map(|c| c.import) });
        o.push(a);
        r.push(b);
    }
    println!("load average at the end: {}", common::loadavg());
    common::report(
        &format!("import of {users} users (tenantsync import users){}", batch.map_or(String::new(), |b| format!(", committing every {b} rows"))),
        &rounds,
    );
    let m = |v: &[Measure], f: fn(&Measure) -> f64| median(v.iter().map(f).collect());
    println!("{:<28} {:>14} {:>14} {:>10}", "reads and memory, medians", "tenantsync", "raw rusqlite", "ratio");
    let row = |name: &str, f: fn(&Measure) -> f64, unit: &str| {
        let (a, b) = (m(&o, f), m(&r, f));
        println!("{name:<28} {:>14} {:>14} {:>9.2}x", format!("{a:.1} {unit}"), format!("{b:.1} {unit}"), a / b);
    };
    row("change-feed read (changes/s)", |x| x.feed_per_s, "");
    row("lookup by UPN p50", |x| x.lookup_p50_us, "us");
    row("lookup by UPN p99", |x| x.lookup_p99_us, "us");
    row("peak memory after import", |x| x.import_peak_mib, "MiB");
    row("peak memory at the end", |x| x.peak_rss_mib, "MiB");
}
