//! The admin API benchmark (issue 15), each figure beside the SCIM endpoint's for the same
//! work in the same run, through the real HTTP server on loopback:
//!
//! - a lookup by name: `GET /v1.0/users?$filter=userPrincipalName eq '…'` of random users
//!   from C keep-alive connections for S seconds (requests/s, p50, p99), beside
//!   `GET /scim/v2/{tenant}/Users?filter=userName eq "…"`;
//! - a full walk of the tenant: `$top=999` pages following `@odata.nextLink`
//!   (`$skiptoken`), beside SCIM's cursor pages of 999 (`cursor`/`nextCursor`), one
//!   connection: users/s, wall and CPU time, this process's RSS before, at most and after;
//! - a delta round after K changes (K PATCHes through the API): from a `$deltatoken`
//!   taken before the changes to the next `@odata.deltaLink`, its latency and the objects
//!   it returned. SCIM has no change query, so there is no SCIM figure for it.
//!
//! Each case runs R times (alternating Graph and SCIM); medians are printed.
//!
//! `cargo bench -p tenantsync-server --bench graph -- [--users N] [--seconds S] [--connections C] [--runs R] [--changes K]`
//!
//! Defaults with `--bench`: 1,000,000 users, 5 s, 4 connections, 3 runs, 1,000 changes.
//! Without `--bench` (as `cargo test --all-targets` runs it), a smoke run of 2,000 users.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

/// The allocator of `tenantsync serve` (crates/cli/src/lib.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod common;

use common::{Conn, cpu_seconds, pct, rss_kib};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tenantsync_domain::{NewTenant, NewUser, Upn};
use tenantsync_server::Config;
use tenantsync_store::{BulkOptions, Store, TokenRole};
use tenantsync_store_sqlite::SqliteStore;

struct Args {
    users: usize,
    seconds: f64,
    connections: usize,
    runs: usize,
    changes: usize,
}

fn args() -> Args {
    let argv: Vec<String> = std::env::args().collect();
    let bench = argv.iter().any(|a| a == "--bench");
    let get = |name: &str| argv.iter().position(|a| a == name).and_then(|i| argv.get(i + 1)).map(String::as_str);
    let (users, seconds, connections, runs, changes) = if bench { (1_000_000, 5.0, 4, 3, 1_000) } else { (2_000, 0.3, 2, 1, 50) };
    Args {
        users: get("--users").map_or(users, |v| v.parse().unwrap()),
        seconds: get("--seconds").map_or(seconds, |v| v.parse().unwrap()),
        connections: get("--connections").map_or(connections, |v| v.parse().unwrap()),
        runs: get("--runs").map_or(runs, |v| v.parse().unwrap()),
        changes: get("--changes").map_or(changes, |v| v.parse().unwrap()),
    }
}

/// The API under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Api {
    Graph,
    Scim,
}

impl Api {
    fn name(self) -> &'static str {
        match self {
            Api::Graph => "Graph",
            Api::Scim => "SCIM",
        }
    }

    /// The lookup of user `i` by name.
    fn lookup(self, i: usize) -> String {
        match self {
            Api::Graph => format!("/v1.0/users?$filter=userPrincipalName%20eq%20%27u{i}%40contoso.example%27"),
            Api::Scim => format!("/scim/v2/contoso.example/Users?filter=userName%20eq%20%22u{i}%40contoso.example%22"),
        }
    }

    /// The users of a lookup's or a page's answer.
    fn items(self, page: &Value) -> usize {
        let key = if self == Api::Graph { "value" } else { "Resources" };
        page[key].as_array().map_or(0, Vec::len)
    }

    fn first_page(self) -> String {
        match self {
            Api::Graph => "/v1.0/users?$top=999".into(),
            Api::Scim => "/scim/v2/contoso.example/Users?count=999&cursor".into(),
        }
    }

    /// The path of the next page, if any.
    fn next(self, page: &Value) -> Option<String> {
        match self {
            Api::Graph => page["@odata.nextLink"].as_str().map(|l| {
                let rest = l.split_once("://").map_or(l, |(_, r)| r);
                rest[rest.find('/').unwrap()..].to_owned()
            }),
            Api::Scim => page["nextCursor"].as_str().map(|c| format!("/scim/v2/contoso.example/Users?count=999&cursor={c}")),
        }
    }
}

/// A small deterministic generator of user numbers (xorshift).
struct Picks(u64);

impl Picks {
    fn next(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize + 1
    }
}

struct Rate {
    per_second: f64,
    p50: f64,
    p99: f64,
    cpu_ms: f64,
}

/// Lookups of random users from `connections` connections for `seconds`.
async fn lookups(addr: SocketAddr, token: &str, api: Api, a: &Args, seed: u64) -> Rate {
    let (status, body) = Conn::open(addr, token).await.get(&api.lookup(1)).await;
    let page: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!((status, api.items(&page)), (200, 1), "{page}");
    let until = Instant::now() + Duration::from_secs_f64(a.seconds);
    let users = a.users;
    let cpu = cpu_seconds();
    let t0 = Instant::now();
    let tasks: Vec<_> = (0..a.connections)
        .map(|c| {
            let token = token.to_owned();
            tokio::spawn(async move {
                let mut conn = Conn::open(addr, &token).await;
                let mut picks = Picks(seed * 7919 + c as u64 + 1);
                let mut lat = Vec::new();
                while Instant::now() < until {
                    let path = api.lookup(picks.next(users));
                    let t = Instant::now();
                    let (status, _) = conn.get(&path).await;
                    lat.push(t.elapsed().as_secs_f64() * 1e3);
                    assert_eq!(status, 200);
                }
                lat
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let elapsed = t0.elapsed().as_secs_f64();
    let cpu_ms = (cpu_seconds() - cpu) * 1e3 / all.len().max(1) as f64;
    all.sort_by(f64::total_cmp);
    Rate { per_second: all.len() as f64 / elapsed, p50: pct(&all, 0.5), p99: pct(&all, 0.99), cpu_ms }
}

struct Walk {
    users_per_second: f64,
    wall: f64,
    cpu: f64,
    rss_kib: (u64, u64, u64),
}

/// Every user, page after page, on one connection.
async fn walk(addr: SocketAddr, token: &str, api: Api, users: usize) -> Walk {
    let mut conn = Conn::open(addr, token).await;
    let before = rss_kib();
    let mut most = before;
    let (t0, cpu) = (Instant::now(), cpu_seconds());
    let (mut seen, mut path) = (0, Some(api.first_page()));
    while let Some(p) = path {
        let (status, body) = conn.get(&p).await;
        let page: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(status, 200, "{page}");
        seen += api.items(&page);
        path = api.next(&page);
        most = most.max(rss_kib());
    }
    let wall = t0.elapsed().as_secs_f64();
    assert_eq!(seen, users, "{} walk", api.name());
    Walk { users_per_second: seen as f64 / wall, wall, cpu: cpu_seconds() - cpu, rss_kib: (before, most, rss_kib()) }
}

struct Delta {
    ms: f64,
    cpu_ms: f64,
    returned: usize,
    pages: usize,
}

/// `changes` PATCHes, then the delta round from a token taken before them.
async fn delta_round(addr: SocketAddr, token: &str, changes: usize, run: usize, users: usize) -> Delta {
    let mut conn = Conn::open(addr, token).await;
    let (status, body) = conn.get("/v1.0/users/delta?$deltatoken=latest").await;
    let page: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status, 200, "{page}");
    let mut link = page["@odata.deltaLink"].as_str().map(|l| Api::Graph.next(&serde_json::json!({ "@odata.nextLink": l })).unwrap());
    for j in 0..changes {
        let i = (run * changes + j) % users + 1;
        let (status, body) = conn.send("PATCH", &format!("/v1.0/users/u{i}%40contoso.example"), Some(&format!("{{\"jobTitle\": \"t{run}\"}}"))).await;
        assert_eq!(status, 204, "{}", String::from_utf8_lossy(&body));
    }
    let (t0, cpu) = (Instant::now(), cpu_seconds());
    let (mut returned, mut pages) = (0, 0);
    while let Some(p) = link {
        let (status, body) = conn.get(&p).await;
        let page: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(status, 200, "{page}");
        returned += page["value"].as_array().map_or(0, Vec::len);
        pages += 1;
        link = Api::Graph.next(&page);
    }
    Delta { ms: t0.elapsed().as_secs_f64() * 1e3, cpu_ms: (cpu_seconds() - cpu) * 1e3, returned, pages }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
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
        assert_eq!(import.finish().await.unwrap().committed as usize, a.users);
        println!("imported {} users in {:.1} s", a.users, t0.elapsed().as_secs_f64());

        let token = |role| tenantsync_server::auth::issue(tenant.id, "bench".into(), role, None).unwrap();
        let (admin, scim) = (token(TokenRole::Admin), token(TokenRole::Scim));
        store.create_token(admin.record).await.unwrap();
        store.create_token(scim.record).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let config = Config { rate_per_second: 0, ..Config::default() };
        tokio::spawn(tenantsync_server::serve(listener, store.clone(), config, std::future::pending()));
        let token_of = |api| if api == Api::Graph { admin.token.as_str() } else { scim.token.as_str() };
        println!("load average before: {}", std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim());

        for api in [Api::Graph, Api::Scim] {
            let mut rates = Vec::new();
            for run in 0..a.runs {
                rates.push(lookups(addr, token_of(api), api, &a, run as u64).await);
            }
            let m = |f: fn(&Rate) -> f64| median(rates.iter().map(f).collect());
            println!(
                "lookup by name, {}: {:.0} requests/s over {} connections, p50 {:.2} ms, p99 {:.2} ms, {:.3} ms CPU a request (server and client); median of {} runs of {} s",
                api.name(),
                m(|r| r.per_second),
                a.connections,
                m(|r| r.p50),
                m(|r| r.p99),
                m(|r| r.cpu_ms),
                a.runs,
                a.seconds
            );
        }
        for api in [Api::Graph, Api::Scim] {
            let mut walks = Vec::new();
            for _ in 0..a.runs {
                walks.push(walk(addr, token_of(api), api, a.users).await);
            }
            let m = |f: fn(&Walk) -> f64| median(walks.iter().map(f).collect());
            let most = walks.iter().map(|w| w.rss_kib.1).max().unwrap_or(0);
            println!(
                "full walk, {} (pages of 999): {:.0} users/s, wall {:.2} s, CPU {:.2} s; RSS {} MiB before the first walk, at most {} MiB, {} MiB after the last; median of {} runs",
                api.name(),
                m(|w| w.users_per_second),
                m(|w| w.wall),
                m(|w| w.cpu),
                walks.first().map_or(0, |w| w.rss_kib.0) / 1024,
                most / 1024,
                walks.last().map_or(0, |w| w.rss_kib.2) / 1024,
                a.runs
            );
        }
        let mut rounds = Vec::new();
        for run in 0..a.runs {
            let d = delta_round(addr, &admin.token, a.changes, run, a.users).await;
            assert_eq!(d.returned, a.changes.min(a.users), "the round returns the users changed");
            rounds.push(d);
        }
        println!(
            "delta round after {} changes, Graph: {:.1} ms ({:.1} ms CPU), {} users in {} pages; median of {} runs. SCIM: no change query to compare",
            a.changes,
            median(rounds.iter().map(|d| d.ms).collect()),
            median(rounds.iter().map(|d| d.cpu_ms).collect()),
            rounds.first().map_or(0, |d| d.returned),
            rounds.first().map_or(0, |d| d.pages),
            a.runs
        );
    });
}
