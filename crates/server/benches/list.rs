//! The SCIM list benchmark (issue E): how many unfiltered list pages
//! (`GET /Users?startIndex=1&count=100`) the server answers per second on a tenant of a
//! million users, through the real HTTP server on loopback; and, beside it, the same page
//! with a filter every user matches (`userName pr`), whose `totalResults` is counted.
//!
//! `cargo bench -p tenantsync-server --bench list -- [--users N] [--seconds S] [--connections C] [--count N]`
//!
//! Imports N users (default 1,000,000) into one tenant through the store's bulk import,
//! serves the router on a loopback port and drives it from C keep-alive connections
//! (default 4) for S seconds (default 5) per case; prints requests/s and latency
//! percentiles. Run without `--bench` (as `cargo test --all-targets` does), it is a smoke
//! run of 2,000 users and half a second per case.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

/// The allocator of `tenantsync serve` (crates/cli/src/lib.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod common;

use common::{Conn, cpu_seconds, pct};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tenantsync_domain::{NewTenant, NewUser, Upn};
use tenantsync_server::Config;
use tenantsync_store::{BulkOptions, Store};
use tenantsync_store_sqlite::SqliteStore;

struct Args {
    users: usize,
    seconds: f64,
    connections: usize,
    count: u32,
}

fn args() -> Args {
    let argv: Vec<String> = std::env::args().collect();
    let bench = argv.iter().any(|a| a == "--bench");
    let get = |name: &str| argv.iter().position(|a| a == name).and_then(|i| argv.get(i + 1)).map(String::as_str);
    let (users, seconds) = if bench { (1_000_000, 5.0) } else { (2_000, 0.5) };
    Args {
        users: get("--users").map_or(users, |v| v.parse().unwrap()),
        seconds: get("--seconds").map_or(seconds, |v| v.parse().unwrap()),
        connections: get("--connections").map_or(if bench { 4 } else { 2 }, |v| v.parse().unwrap()),
        count: get("--count").map_or(100, |v| v.parse().unwrap()),
    }
}

/// Requests per second and latencies (ms) of `path` from `connections` connections.
async fn drive(addr: std::net::SocketAddr, token: &str, path: &str, connections: usize, seconds: f64, expected_total: usize) -> (f64, Vec<f64>) {
    // The page is what it should be.
    let (status, body) = Conn::open(addr, token).await.get(path).await;
    let page: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["totalResults"], expected_total, "{path}");
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let (token, path) = (token.to_owned(), path.to_owned());
            tokio::spawn(async move {
                let mut conn = Conn::open(addr, &token).await;
                let mut lat = Vec::new();
                while Instant::now() < until {
                    let t = Instant::now();
                    let (status, _) = conn.get(&path).await;
                    lat.push(t.elapsed().as_secs_f64() * 1e3);
                    assert_eq!(status, 200);
                }
                lat
            })
        })
        .collect();
    let t0 = Instant::now();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let elapsed = t0.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    (all.len() as f64 / elapsed, all)
}

fn main() {
    let a = args();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
        let tenant = store.create_tenant(NewTenant::new("Contoso", "contoso.example").unwrap()).await.unwrap();
        let t0 = Instant::now();
        let mut import = store.bulk_import_users(tenant.id, BulkOptions { commit_every: Some(50_000) }).await.unwrap();
        for chunk in (1..=a.users).collect::<Vec<_>>().chunks(10_000) {
            let rows = chunk.iter().map(|&i| (i as u64, NewUser::new(Upn::parse(&format!("u{i}@contoso.example")).unwrap()))).collect();
            import.push(rows).await.unwrap();
        }
        let summary = import.finish().await.unwrap();
        assert_eq!(summary.committed as usize, a.users);
        println!("imported {} users in {:.1} s", a.users, t0.elapsed().as_secs_f64());

        let issued = tenantsync_server::auth::issue(tenant.id, "bench".into(), tenantsync_store::TokenRole::Scim, None).unwrap();
        store.create_token(issued.record).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let config = Config { rate_per_second: 0, ..Config::default() };
        tokio::spawn(tenantsync_server::serve(listener, store.clone(), config, std::future::pending()));

        let base = "/scim/v2/contoso.example/Users";
        let cases = [
            ("unfiltered page, totalResults kept", format!("{base}?startIndex=1&count={}", a.count)),
            ("page with a filter all match (userName pr), totalResults counted", format!("{base}?startIndex=1&count={}&filter=userName%20pr", a.count)),
        ];
        println!("load average before: {}", std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim());
        for (what, path) in cases {
            let cpu = cpu_seconds();
            let (rate, lat) = drive(addr, &issued.token, &path, a.connections, a.seconds, a.users).await;
            // CPU per request, client included (it runs in this process, as wrk would
            // beside the server): what the machine's load does not change.
            let cpu_ms = (cpu_seconds() - cpu) * 1e3 / lat.len().max(1) as f64;
            println!(
                "{what}: {rate:.0} requests/s over {} connections ({} requests); p50 {:.2} ms, p99 {:.2} ms; {cpu_ms:.2} ms CPU a request (server and client)",
                a.connections,
                lat.len(),
                pct(&lat, 0.5),
                pct(&lat, 0.99)
            );
        }
    });
}
