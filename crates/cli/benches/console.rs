//! The web console benchmark (issue 20; see docs/benchmarks.md), two parts:
//!
//! - **pages**: a tenant of N generated users (imported through `tenantsync import`'s
//!   path), 200 groups, a partner, and a sync configuration to it whose initial cycle has
//!   run (so the partner holds N synced copies and the provisioning log N records), built
//!   once and kept under `target/bench-data/console-N/` between runs. The real server
//!   (admin API, console, entitlement management) on a loopback port in this process; an
//!   administrator signs in with a token (the session cookie) and walks the admin pages W
//!   times — overview, tenants, users (page 1, a far page by its cursor, a prefix search,
//!   its page at the turn from display names to userPrincipalNames, one user), groups, partners, sync configurations and one, provisioning logs, audit,
//!   topology and its drawing, tokens, the access pages — and in the same walk the same
//!   operations through the admin API with an admin token (`/v1.0/users?$top=50`, a far
//!   `$skiptoken`, `$filter=startswith(…)`, `/v1.0/users/{upn}`, …). Each request is timed
//!   from its first byte sent to its last byte read on a keep-alive connection (loopback:
//!   the server's time and a few µs), with the process's CPU time around it (server and
//!   client, `getrusage`); p50 and p99 per page, the page ÷ API ratio of the medians.
//! - **sse**: a hub sync (one source of `--hub-users` users, `--spokes` targets, run as
//!   concurrent jobs until all converge, as the sync benchmark's hub), with the server
//!   and a signed-in admin session in both cases, and in one of them the topology page's
//!   event source open (the console's hub subscribed to every arrow) and read throughout.
//!   Alternating, each run in a fresh child process, R runs each: wall and CPU time of
//!   the sync, medians, and the overhead of listening.
//!
//! `cargo bench -p tenantsync --bench console -- [--users N] [--walks W] [--hub-users N] [--spokes K] [--runs R] [--pages-only | --sse-only]`
//!
//! Defaults with `--bench`: 1,000,000 users, 100 walks; hub 10 × 100,000, 3 runs. Without
//! `--bench` (as `cargo test --all-targets` runs it): a smoke run of 2,000 users, 2 walks,
//! hub 3 × 1,000, 1 run, in temporary directories.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, clippy::print_stdout)]
// The allocator is `tenantsync serve`'s: the library sets mimalloc.

mod common;

use common::{ALLOW, DOMAIN, arg, child, cpu_seconds, loadavg, median, percentile, rt, source, tenant};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tenantsync_cli::generate;
use tenantsync_domain::{GroupAttributes, NewGroup, ObjectId, SyncConfiguration, SyncScope, Tenant};
use tenantsync_engine::Engine;
use tenantsync_store::{KeyValue, Keyset, Seek, Store, SyncStore, TokenRole};
use tenantsync_store_sqlite::SqliteStore;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const PARTNER: &str = "fabrikam.example";
/// Rows of a console list page and of the API pages set beside them.
const TOP: usize = 50;
/// The bar of the issue: every page under this server time (p99).
const BAR_MS: f64 = 50.0;

/// Percent-encodes a query value.
fn enc(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { char::from(b).to_string() } else { format!("%{b:02X}") }).collect()
}

// ---- a keep-alive HTTP/1.1 client with a cookie jar or a bearer token ----

struct Conn {
    stream: BufReader<TcpStream>,
    addr: SocketAddr,
    bearer: Option<String>,
    cookies: Vec<(String, String)>,
}

struct Answer {
    status: u16,
    location: String,
    body: String,
}

impl Conn {
    async fn open(addr: SocketAddr, bearer: Option<&str>) -> Conn {
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        Conn { stream: BufReader::new(stream), addr, bearer: bearer.map(str::to_owned), cookies: Vec::new() }
    }

    fn head(&self, method: &str, path: &str) -> String {
        let mut h = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.addr);
        if let Some(t) = &self.bearer {
            h.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            h.push_str(&format!("Cookie: {}\r\n", jar.join("; ")));
        }
        h
    }

    async fn send(&mut self, method: &str, path: &str, form: Option<&str>) -> Answer {
        let mut req = self.head(method, path);
        match form {
            Some(f) => req.push_str(&format!("Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{f}", f.len())),
            None => req.push_str("\r\n"),
        }
        self.stream.get_mut().write_all(req.as_bytes()).await.unwrap();
        let mut line = String::new();
        self.stream.read_line(&mut line).await.unwrap();
        let status = line.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let (mut length, mut chunked, mut location) = (0, false, String::new());
        loop {
            line.clear();
            self.stream.read_line(&mut line).await.unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            let Some((k, v)) = line.split_once(':') else { continue };
            let v = v.trim();
            match k.to_ascii_lowercase().as_str() {
                "content-length" => length = v.parse().unwrap(),
                "transfer-encoding" => chunked = v.eq_ignore_ascii_case("chunked"),
                "location" => location = v.to_owned(),
                "set-cookie" => {
                    let pair = v.split(';').next().unwrap_or_default();
                    if let Some((name, value)) = pair.split_once('=') {
                        self.cookies.retain(|(n, _)| n != name);
                        if !v.contains("Max-Age=0") {
                            self.cookies.push((name.to_owned(), value.to_owned()));
                        }
                    }
                }
                _ => {}
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                line.clear();
                self.stream.read_line(&mut line).await.unwrap();
                let size = usize::from_str_radix(line.trim(), 16).unwrap();
                let mut chunk = vec![0; size + 2];
                self.stream.read_exact(&mut chunk).await.unwrap();
                if size == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..size]);
            }
        } else {
            body.resize(length, 0);
            self.stream.read_exact(&mut body).await.unwrap();
        }
        Answer { status, location, body: String::from_utf8_lossy(&body).into_owned() }
    }

    async fn get(&mut self, path: &str) -> Answer {
        self.send("GET", path, None).await
    }
}

/// The `value` of a hidden form field named `name` in `html`.
fn field(html: &str, name: &str) -> String {
    let at = html.find(&format!("name=\"{name}\" value=\"")).unwrap_or_else(|| panic!("no {name} field in {html}"));
    let rest = &html[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// A console session of an administrator of `tenant`, signed in with `token`.
async fn sign_in(addr: SocketAddr, tenant: &str, token: &str) -> Conn {
    let mut c = Conn::open(addr, None).await;
    let form = c.get("/signin").await;
    assert_eq!(form.status, 200, "{}", form.body);
    let csrf = field(&form.body, "csrf");
    let body = format!("csrf={}&tenant={}&token={}&next=", enc(&csrf), enc(tenant), enc(token));
    let a = c.send("POST", "/signin/token", Some(&body)).await;
    assert_eq!((a.status, a.location.as_str()), (303, "/admin"), "{}", a.body);
    c
}

async fn arrow(engine: &Engine, s: &Tenant, t: &Tenant, name: &str) -> SyncConfiguration {
    let mut c = SyncConfiguration::new(name, s.id, t.id).unwrap();
    c.scope = SyncScope::AllUsers;
    c.deletion_threshold = None;
    engine.create_configuration(c).await.unwrap()
}

/// The server (admin API, console, entitlement management) on a loopback port.
async fn serve(store: &Arc<SqliteStore>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = tenantsync_server::Config {
        rate_per_second: 0,
        access: Some(tenantsync_governance::Governance::new(store.clone())),
        console: Some(tenantsync_server::console::ConsoleConfig::new(store.clone())),
        ..tenantsync_server::Config::default()
    };
    let sync: Arc<dyn SyncStore> = store.clone();
    tokio::spawn(tenantsync_server::serve(listener, sync, config, std::future::pending()));
    addr
}

async fn admin_token(store: &SqliteStore, t: &Tenant) -> String {
    let issued = tenantsync_server::auth::issue(t.id, "bench".into(), TokenRole::Admin, None).unwrap();
    store.create_token(issued.record).await.unwrap();
    issued.token
}

// ---- pages ----

/// The tenant of the walk: Contoso with `users` users, 200 groups, a partner holding the
/// synced copies of all of them. Built once per data directory (a file marks it done).
async fn walk_tenant(store: &Arc<SqliteStore>, dir: &Path, users: usize) -> (Tenant, SyncConfiguration) {
    let done = dir.join("bench-ready");
    if !done.exists() {
        let t0 = Instant::now();
        let s = source(store, dir, users).await;
        for i in 0..200 {
            store.create_group(s.id, NewGroup::new(GroupAttributes::new(&format!("Team {i:03}")).unwrap())).await.unwrap();
        }
        let p = tenant(store, "Fabrikam", PARTNER).await;
        store.set_partner_settings(s.id, Some(p.id), ALLOW).await.unwrap();
        let engine = Engine::new(store.clone());
        let c = arrow(&engine, &s, &p, "To Fabrikam").await;
        engine.start(c.id).await.unwrap();
        let report = engine.run_cycle(c.id).await.unwrap();
        assert_eq!(report.created as usize, users);
        std::fs::write(&done, "").unwrap();
        println!("built the tenant: {users} users, 200 groups, {users} synced to {PARTNER} in {:.1} s", t0.elapsed().as_secs_f64());
    }
    let s = store.find_tenant_by_domain(&tenantsync_domain::DomainName::parse(DOMAIN).unwrap()).await.unwrap().unwrap();
    let c = store.list_sync_configurations().await.unwrap().into_iter().find(|c| c.source_tenant_id == s.id).unwrap();
    (s, c)
}

/// One step of the walk: a console page and, where the admin API has one, the same
/// operation through it. `want`: text the page must contain.
struct Step {
    name: &'static str,
    page: String,
    want: String,
    api: Option<String>,
}

#[derive(Default)]
struct Times {
    wall_ms: Vec<f64>,
    cpu_ms: Vec<f64>,
}

impl Times {
    fn p(&self, p: f64) -> f64 {
        let mut v = self.wall_ms.clone();
        v.sort_by(f64::total_cmp);
        percentile(&v, p)
    }
}

async fn timed(c: &mut Conn, path: &str, t: &mut Times) -> Answer {
    let (t0, cpu) = (Instant::now(), cpu_seconds());
    let a = c.get(path).await;
    t.wall_ms.push(t0.elapsed().as_secs_f64() * 1e3);
    t.cpu_ms.push((cpu_seconds() - cpu) * 1e3);
    a
}

async fn steps(api: &mut Conn, tenant: &Tenant, config: &SyncConfiguration, users: usize) -> Vec<Step> {
    // A user in the middle of the generated ones, and the far pages after it by its id
    // (the cursor the pages' own "next" links carry, for a position half-way through).
    let upn = generate::users(1, users, DOMAIN, "Contoso", false).nth(users / 2).unwrap().values[0].clone();
    let one = api.get(&format!("/v1.0/users/{}", enc(&upn))).await;
    assert_eq!(one.status, 200, "{}", one.body);
    let id: ObjectId = serde_json::from_str::<Value>(&one.body).unwrap()["id"].as_str().unwrap().parse().unwrap();
    let far = Seek::After(Keyset { value: None, id });
    let console_far = tenantsync_server::graph::page::skiptoken(&far, &["console-users", ""]);
    let api_far = tenantsync_server::graph::page::skiptoken(&far, &["users", "", ""]);
    let prefix = "Ada";
    // The search's turn from display names to userPrincipalNames: a cursor past every
    // "Ada …" name, so the page reads the userPrincipalName range "ada…", whose first
    // entries are the same users (ada.lovelace12@…): the most a page passes over.
    let turn = Seek::After(Keyset { value: Some(KeyValue::Text("Adb".into())), id: ObjectId::from_bytes([0; 16]) });
    let turn = tenantsync_server::graph::page::skiptoken(&turn, &["console-users", prefix, "name"]);
    let em = "/v1.0/identityGovernance/entitlementManagement";
    let step = |name, page: String, want: &str, api: Option<String>| Step { name, page, want: want.to_owned(), api };
    vec![
        step("overview", "/admin".into(), "id=\"count-users\"", Some("/v1.0/organization".into())),
        step("tenants", "/admin/tenants".into(), "id=\"tenant-users\"", Some("/v1.0/policies/crossTenantAccessPolicy/partners".into())),
        step("this tenant", format!("/admin/tenants/{}", tenant.id), "id=\"tenant\"", Some("/v1.0/organization".into())),
        step("users, page 1", "/admin/users".into(), "id=\"next-page\"", Some(format!("/v1.0/users?$top={TOP}"))),
        step(
            "users, far page",
            format!("/admin/users?after={}", enc(&console_far)),
            "<tbody><tr>",
            Some(format!("/v1.0/users?$top={TOP}&$skiptoken={}", enc(&api_far))),
        ),
        step(
            "users, prefix search",
            format!("/admin/users?q={prefix}"),
            "<td data-label=\"Display name\">Ada ",
            Some(format!("/v1.0/users?$top={TOP}&$filter={}", enc(&format!("startswith(displayName,'{prefix}')")))),
        ),
        // Whether any userPrincipalName alone matches depends on the generated names (a
        // folded accent): the page is timed, its table is all it must show.
        step("users, prefix search at the turn to sign-in names", format!("/admin/users?q={prefix}&after={}", enc(&turn)), "id=\"users\"", None),
        // A prefix no one has (without an @: the display name or the userPrincipalName).
        step(
            "users, search matching no one",
            "/admin/users?q=Nobody".into(),
            "id=\"no-users\"",
            Some(format!("/v1.0/users?$top={TOP}&$filter={}", enc("startswith(displayName,'Nobody')"))),
        ),
        step(
            "one user",
            format!("/admin/users?q={}", enc(&upn)),
            &format!("<td data-label=\"userPrincipalName\">{upn}<"),
            Some(format!("/v1.0/users/{}", enc(&upn))),
        ),
        step("groups", "/admin/groups".into(), "Team 000", Some(format!("/v1.0/groups?$top={TOP}"))),
        step("partners", "/admin/partners".into(), PARTNER, Some("/v1.0/policies/crossTenantAccessPolicy/partners".into())),
        // Configurations made outside the API's template have no service principal there.
        step("sync configurations", "/admin/sync".into(), "To Fabrikam", None),
        step("one sync configuration", format!("/admin/sync/{}", config.id), "To Fabrikam", None),
        step("provisioning logs", "/admin/logs".into(), "id=\"logs\"", Some(format!("/v1.0/auditLogs/provisioning?$top={TOP}"))),
        step("audit log", "/admin/audit".into(), "<main", Some(format!("/v1.0/auditLogs/directoryAudits?$top={TOP}"))),
        step("topology", "/admin/topology".into(), &format!(">{users}<"), None),
        step("topology drawing", "/admin/topology.svg".into(), &format!("{users} synced"), None),
        step("tokens", "/admin/tokens".into(), "bench", None),
        step("access packages", "/admin/access/packages".into(), "<main", Some(format!("{em}/accessPackages"))),
        step("catalogs", "/admin/access/catalogs".into(), "<main", Some(format!("{em}/catalogs"))),
        step("connected organizations", "/admin/access/organizations".into(), "<main", Some(format!("{em}/connectedOrganizations"))),
        step("policies", "/admin/access/policies".into(), "<main", Some(format!("{em}/assignmentPolicies"))),
    ]
}

fn pages(dir: &Path, users: usize, walks: usize) {
    rt().block_on(async {
        let store = Arc::new(SqliteStore::open(dir).unwrap());
        let (t, config) = walk_tenant(&store, dir, users).await;
        let addr = serve(&store).await;
        let token = admin_token(&store, &t).await;
        let mut console = sign_in(addr, DOMAIN, &token).await;
        let mut api = Conn::open(addr, Some(&token)).await;
        let steps = steps(&mut api, &t, &config, users).await;
        let mut times: Vec<(Times, Times)> = steps.iter().map(|_| Default::default()).collect();
        println!("load average before the walks: {}", loadavg());
        let (t0, cpu) = (Instant::now(), cpu_seconds());
        for walk in 0..walks {
            for (s, (page, call)) in steps.iter().zip(times.iter_mut()) {
                let a = timed(&mut console, &s.page, page).await;
                assert!(a.status == 200 && a.body.contains(&s.want), "{} ({}): {} wanted {:?} in {}", s.name, s.page, a.status, s.want, a.body);
                if let Some(path) = &s.api {
                    let a = timed(&mut api, path, call).await;
                    assert_eq!(a.status, 200, "{}: {path}: {}", s.name, a.body);
                }
            }
            if walk == 0 {
                // The first walk warms the caches; the figures are of the others.
                for (page, call) in &mut times {
                    *page = Times::default();
                    *call = Times::default();
                }
            }
        }
        let (wall, cpu) = (t0.elapsed().as_secs_f64(), cpu_seconds() - cpu);
        println!("load average after the walks: {}", loadavg());
        println!(
            "{walks} walks of {} pages and {} API calls on a tenant of {users} users: {wall:.1} s wall, {cpu:.1} s CPU (server and client); first walk left out",
            steps.len(),
            steps.iter().filter(|s| s.api.is_some()).count()
        );
        println!(
            "| page | console p50 / p99 ms | console CPU p50 ms | API call | API p50 / p99 ms | API CPU p50 ms | page ÷ API (p50) |\n|---|---|---|---|---|---|---|"
        );
        let mut over = Vec::new();
        for (s, (page, call)) in steps.iter().zip(&times) {
            let api = match &s.api {
                Some(p) => format!(
                    "`{}` | {:.2} / {:.2} | {:.2} | {:.2}×",
                    p.split('?').next().unwrap_or(p),
                    call.p(0.5),
                    call.p(0.99),
                    median(call.cpu_ms.clone()),
                    page.p(0.5) / call.p(0.5).max(1e-3)
                ),
                None => "— | | | ".to_owned(),
            };
            println!("| {} | {:.2} / **{:.2}** | {:.2} | {api} |", s.name, page.p(0.5), page.p(0.99), median(page.cpu_ms.clone()));
            if page.p(0.99) >= BAR_MS {
                over.push(s.name);
            }
        }
        if over.is_empty() {
            println!("every page under {BAR_MS} ms at p99");
        } else {
            println!("over {BAR_MS} ms at p99: {}", over.join(", "));
        }
    });
}

// ---- the topology page's live counts beside a hub sync ----

#[derive(Debug, Serialize, Deserialize)]
struct HubRun {
    wall_s: f64,
    cpu_s: f64,
    /// `counts` events the page's event source received during the sync.
    events: usize,
    /// A full round of the hub's reads after the sync (every arrow full): wall and CPU.
    round_ms: f64,
    round_cpu_ms: f64,
}

fn hub(dir: &Path, users: usize, spokes: usize, listen: bool) -> HubRun {
    rt().block_on(async {
        let store = Arc::new(SqliteStore::open(dir).unwrap());
        let engine = Engine::new(store.clone());
        let s = source(&store, dir, users).await;
        let mut configs = Vec::new();
        for i in 0..spokes {
            let t = tenant(&store, &format!("Spoke {i}"), &format!("spoke{i}.contoso.example")).await;
            configs.push(arrow(&engine, &s, &t, "bench").await);
        }
        let addr = serve(&store).await;
        let token = admin_token(&store, &s).await;
        let session = sign_in(addr, DOMAIN, &token).await;
        let events = Arc::new(AtomicUsize::new(0));
        if listen {
            // The topology page's event source, read as a browser reads it.
            let mut stream = TcpStream::connect(addr).await.unwrap();
            let jar: Vec<String> = session.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let req = format!("GET /admin/topology/events HTTP/1.1\r\nHost: {addr}\r\nCookie: {}\r\nAccept: text/event-stream\r\n\r\n", jar.join("; "));
            stream.write_all(req.as_bytes()).await.unwrap();
            let mut buf = vec![0u8; 16384];
            let n = stream.read(&mut buf).await.unwrap();
            assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"), "{}", String::from_utf8_lossy(&buf[..n]));
            let seen = events.clone();
            tokio::spawn(async move {
                while let Ok(n) = stream.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    seen.fetch_add(String::from_utf8_lossy(&buf[..n]).matches("event: counts").count(), Ordering::Relaxed);
                }
            });
        }
        let (t0, cpu) = (Instant::now(), cpu_seconds());
        let mut jobs = Vec::new();
        for c in configs {
            let engine = engine.clone();
            jobs.push(tokio::spawn(async move { engine.run_cycle(c.id).await.unwrap() }));
        }
        for j in jobs {
            assert_eq!(j.await.unwrap().created as usize, users);
        }
        let (wall_s, cpu_s) = (t0.elapsed().as_secs_f64(), cpu_seconds() - cpu);
        // The last round's events (not timed).
        tokio::time::sleep(Duration::from_secs(1)).await;
        // What one round of the hub's reads costs now that every arrow is full: each
        // arrow's count and job state, as the hub reads them.
        let (r0, rc) = (Instant::now(), cpu_seconds());
        for c in store.list_sync_configurations().await.unwrap() {
            store.count_users_by_anchor_tenant(c.target_tenant_id, c.source_tenant_id).await.unwrap();
            store.job_state(c.id).await.unwrap();
        }
        let (round_ms, round_cpu_ms) = (r0.elapsed().as_secs_f64() * 1e3, (cpu_seconds() - rc) * 1e3);
        HubRun { wall_s, cpu_s, events: events.load(Ordering::Relaxed), round_ms, round_cpu_ms }
    })
}

fn sse(exe: &Path, users: usize, spokes: usize, runs: usize) {
    let owned = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<String>>();
    let (n, k) = (users.to_string(), spokes.to_string());
    let (mut off, mut on) = (Vec::new(), Vec::new());
    for run in 1..=runs {
        // Alternating which goes first.
        for listen in if run % 2 == 1 { [false, true] } else { [true, false] } {
            let load = loadavg();
            let mut a = owned(&["--child", "hub", "--hub-users", &n, "--spokes", &k]);
            if listen {
                a.push("--listen".into());
            }
            let r: HubRun = child(exe, &a);
            println!(
                "run {run}, {}: {:.2} s wall, {:.2} s CPU, {} events (load {load})",
                if listen { "page listening" } else { "no listener   " },
                r.wall_s,
                r.cpu_s,
                r.events
            );
            if listen { on.push(r) } else { off.push(r) }
        }
    }
    let m = |v: &[HubRun], f: fn(&HubRun) -> f64| median(v.iter().map(f).collect());
    let (w0, w1, c0, c1) = (m(&off, |r| r.wall_s), m(&on, |r| r.wall_s), m(&off, |r| r.cpu_s), m(&on, |r| r.cpu_s));
    // The hub's reads are bounded by design: a round at most every max(COALESCE, 50 ×
    // its own time), a full re-read every 5 s; with a full round's cost at the end (the
    // dearest), that bounds what listening can add.
    let (round_ms, round_cpu) = (m(&on, |r| r.round_ms), m(&on, |r| r.round_cpu_ms));
    let rounds = w1 / (0.5f64).max(round_ms * 50.0 / 1e3);
    println!(
        "a full round of the hub's reads at the end: {round_ms:.1} ms wall, {round_cpu:.1} ms CPU; at most {rounds:.0} rounds in {w1:.0} s: at most {:.2} s CPU, {:.2}% of the sync's",
        rounds * round_cpu / 1e3,
        rounds * round_cpu / 1e3 / c0 * 100.0
    );
    println!(
        "hub sync, 1 source -> {spokes} spokes of {users} users, medians of {runs}: no listener {w0:.2} s wall / {c0:.2} s CPU; topology page listening {w1:.2} s wall / {c1:.2} s CPU ({} events); overhead {:+.2}% wall, {:+.2}% CPU",
        m(&on, |r| r.events as f64),
        (w1 / w0 - 1.0) * 100.0,
        (c1 / c0 - 1.0) * 100.0
    );
}

/// `target/bench-data/console-N`: the walk's tenant, kept between runs.
fn kept_dir(users: usize) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/console-<hash>
    let target = exe.ancestors().nth(3).unwrap().to_path_buf();
    target.join("bench-data").join(format!("console-{users}"))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bench = args.iter().any(|a| a == "--bench");
    let num = |name: &str, full: usize, smoke: usize| arg(&args, name).map_or(if bench { full } else { smoke }, |s| s.parse().unwrap());
    let users = num("--users", 1_000_000, 2_000);
    let walks = num("--walks", 100, 2);
    let hub_users = num("--hub-users", 100_000, 1_000);
    let spokes = num("--spokes", 10, 3);
    let runs = num("--runs", 3, 1);
    if arg(&args, "--child").is_some() {
        let dir = PathBuf::from(arg(&args, "--dir").unwrap());
        let r = hub(&dir, hub_users, spokes, args.iter().any(|a| a == "--listen"));
        println!("{}", serde_json::to_string(&r).unwrap());
        return;
    }
    println!("load average at the start: {}", loadavg());
    if !args.iter().any(|a| a == "--sse-only") {
        if bench {
            let dir = kept_dir(users);
            std::fs::create_dir_all(&dir).unwrap();
            pages(&dir, users, walks);
        } else {
            let dir = tempfile::tempdir().unwrap();
            pages(dir.path(), users, walks);
        }
    }
    if !args.iter().any(|a| a == "--pages-only") {
        sse(&std::env::current_exe().unwrap(), hub_users, spokes, runs);
    }
}
