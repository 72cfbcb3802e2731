//! What the benchmarks share: measurements, the child-process protocol, and the raw
//! rusqlite baseline (the same tables and indexes, plain prepared statements).
#![allow(dead_code)]

use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;
use tenantsync_cli::generate;
use tenantsync_domain::ObjectId;

/// A change row as the raw baseline decodes it.
pub type RawChange = (i64, i64, i64, [u8; 16], i64, Option<[u8; 16]>, Option<String>);

pub const DOMAIN: &str = "contoso.example";
pub const LOOKUPS: usize = 20_000;
pub const RAW_TX_ROWS: usize = 10_000;

#[derive(Debug, Serialize, Deserialize, Clone, Copy, Default)]
pub struct Measure {
    pub import_per_s: f64,
    pub import_s: f64,
    pub feed_per_s: f64,
    pub lookup_p50_us: f64,
    pub lookup_p99_us: f64,
    /// Peak resident memory when the import has finished.
    pub import_peak_mib: f64,
    /// Peak resident memory at the end (after the feed read and lookups).
    pub peak_rss_mib: f64,
}

impl Measure {
    /// The figures of one run: `users` imported in `import_s`, `seen` changes read in
    /// `feed_s`, lookup latencies in µs.
    pub fn new(users: usize, import_s: f64, seen: usize, feed_s: f64, mut lat: Vec<f64>, import_peak_mib: f64) -> Measure {
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
}

pub fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

pub fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    percentile(&v, 0.5)
}

/// 20,000 UPNs spread over the generated users.
pub fn sample_upns(users: usize) -> Vec<String> {
    let step = (users / LOOKUPS).max(1);
    let mut rng = generate::Rng::new(99);
    let mut out: Vec<String> = generate::users(1, users, DOMAIN, "Contoso", false).step_by(step).map(|u| u.values[0].clone()).collect();
    // Visit them in random order, mixing case, as real lookups do.
    for i in (1..out.len()).rev() {
        out.swap(i, rng.below(i + 1));
    }
    for u in out.iter_mut().step_by(2) {
        *u = u.to_uppercase();
    }
    out
}

pub fn configure_raw(conn: &Connection) {
    conn.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
    conn.pragma_update(None, "foreign_keys", true).unwrap();
    conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
    conn.pragma_update(None, "cache_size", -tenantsync_store_sqlite::WRITER_CACHE_KIB).unwrap();
    conn.pragma_update(None, "temp_store", "MEMORY").unwrap();
    conn.pragma_update(None, "page_size", tenantsync_store_sqlite::page_size()).unwrap();
    conn.pragma_update(None, "wal_autocheckpoint", tenantsync_store_sqlite::WAL_AUTOCHECKPOINT_PAGES).unwrap();
    conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get::<_, String>(0)).unwrap();
}

/// The raw baseline: same tables and indexes, plain prepared statements, no tenantsync.
pub fn raw(dir: &Path, users: usize) -> Measure {
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
    let rows: Vec<([u8; 16], Vec<String>)> = generate::users(1, users, DOMAIN, "Contoso", false).map(|u| (*ObjectId::new().as_bytes(), u.values)).collect();
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
            let mut chg = tx.prepare_cached("INSERT INTO changes (tenant_id, seq, at_ms, object_kind, object_id, op) VALUES (?1, ?2, ?3, 0, ?4, 1)").unwrap();
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
    Measure::new(users, import_s, seen, feed_s, lat, import_peak_mib)
}
