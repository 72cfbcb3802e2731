//! Connectors through faults: a small HTTP proxy between the connector and a real SCIM
//! service (python-scim's scim2-server) answers some requests itself with 503 or 429
//! (`Retry-After`), resets some connections before forwarding them and some after the
//! service carried them out (the answer lost), and holds some past the connector's
//! timeout. Runs repeat until one ends healthy; then the service holds each user exactly
//! once, with its attributes. A `connector export` killed with SIGKILL in the middle and
//! run again makes no second copy either. The same proxy stands between a Graph connector
//! and a second tenantsync's `/v1.0`.
use crate::connectors::{scim2_query, scim2_server};
use crate::serving::Served;
use crate::support::{Env, path_str};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// What the proxy does with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Pass,
    Unavailable,
    Throttle,
    ResetBefore,
    /// Forwarded and carried out, then the connection is reset: the answer is lost.
    ResetAfter,
    Hang,
    /// Forwarded after a pause (a slow service).
    Slow,
}

/// A slow service: every request waits a little.
fn slow(_: usize) -> Fault {
    Fault::Slow
}

/// The proxy's plan: a fixed, repeating schedule, so each run sees the same faults.
fn fault(n: usize) -> Fault {
    match n % 12 {
        2 => Fault::Unavailable,
        5 => Fault::Throttle,
        7 if n % 24 == 7 => Fault::ResetAfter,
        8 if n % 36 == 8 => Fault::ResetBefore,
        10 if n % 48 == 10 => Fault::Hang,
        _ => Fault::Pass,
    }
}

/// Reads one HTTP request (head and body by Content-Length).
pub fn read_request(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length = head.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse::<usize>().ok()).unwrap_or(0);
            while buf.len() < end + 4 + length {
                let n = s.read(&mut chunk).ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Some(buf);
        }
    }
}

/// The request with `Connection: close` (one request per upstream connection).
pub fn closing(request: &[u8]) -> Vec<u8> {
    let end = request.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(request.len());
    let head = String::from_utf8_lossy(&request[..end]);
    let mut out: Vec<String> = head.lines().filter(|l| !l.to_ascii_lowercase().starts_with("connection:")).map(str::to_owned).collect();
    out.push("Connection: close".into());
    let mut bytes = out.join("\r\n").into_bytes();
    bytes.extend_from_slice(&request[end..]);
    bytes
}

fn answer(s: &mut TcpStream, status: &str, extra: &str) {
    let body = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"detail":"injected"}"#;
    let _ = write!(s, "HTTP/1.1 {status}\r\n{extra}Content-Type: application/scim+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
}

/// Starts the proxy in front of `upstream` (`host:port`); its port and the count of
/// faults it injected.
fn proxy(upstream: String, plan: fn(usize) -> Fault) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(AtomicUsize::new(0));
    let injected = Arc::new(AtomicUsize::new(0));
    let faults = injected.clone();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { continue };
            let (upstream, seen, faults) = (upstream.clone(), seen.clone(), faults.clone());
            std::thread::spawn(move || {
                if let Some(request) = read_request(&mut client) {
                    let f = plan(seen.fetch_add(1, Ordering::SeqCst));
                    if !matches!(f, Fault::Pass | Fault::Slow) {
                        faults.fetch_add(1, Ordering::SeqCst);
                    }
                    match f {
                        Fault::Unavailable => answer(&mut client, "503 Service Unavailable", ""),
                        Fault::Throttle => answer(&mut client, "429 Too Many Requests", "Retry-After: 1\r\n"),
                        Fault::ResetBefore => {
                            let _ = client.shutdown(Shutdown::Both);
                            return;
                        }
                        Fault::Hang => {
                            std::thread::sleep(Duration::from_secs(4));
                            let _ = client.shutdown(Shutdown::Both);
                            return;
                        }
                        Fault::Pass | Fault::ResetAfter | Fault::Slow => {
                            if f == Fault::Slow {
                                std::thread::sleep(Duration::from_millis(40));
                            }
                            let Ok(mut up) = TcpStream::connect(&upstream) else { return };
                            let _ = up.write_all(&closing(&request));
                            let mut response = Vec::new();
                            let _ = up.read_to_end(&mut response);
                            if f == Fault::ResetAfter {
                                let _ = client.shutdown(Shutdown::Both);
                                return;
                            }
                            let _ = client.write_all(&response);
                        }
                    }
                    // Every answer closes: the client opens a new connection for the next.
                    let _ = client.shutdown(Shutdown::Both);
                }
            });
        }
    });
    (port, injected)
}

/// `n` users of App's own, with a manager chain and a group of them all.
fn app_with_people(env: &Env, n: usize) {
    env.ok(&["tenant", "create", "--name", "App", "--domain", "app.example"]);
    let mut csv = String::from("userPrincipalName,displayName,department,manager\n");
    for i in 0..n {
        let manager = if i == 0 { String::new() } else { format!("p{}@app.example", i / 4) };
        csv.push_str(&format!("p{i}@app.example,Person {i},Dept {},{manager}\n", i % 3));
    }
    let file = env.file("people.csv", &csv);
    env.ok(&["import", "users", "-t", "app.example", path_str(&file), "--quiet"]);
    env.ok(&["group", "create", "-t", "app.example", "--name", "Everyone"]);
    for i in (0..n).step_by(5) {
        env.ok(&["group", "add-member", "-t", "app.example", "Everyone", &format!("p{i}@app.example")]);
    }
}

/// Runs `connector export` until a run ends healthy with nothing escrowed.
fn export_until_healthy(env: &Env, name: &str) -> usize {
    let until = Instant::now() + Duration::from_secs(240);
    let mut runs = 0;
    loop {
        runs += 1;
        let r = env.run(&["connector", "export", name, "--json"]);
        if r.code == 0 {
            let report: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
            if report["counters"]["escrowed"] == 0 {
                return runs;
            }
        } else {
            assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
        }
        assert!(Instant::now() < until, "no healthy run after {runs} runs: {}", r.stderr);
    }
}

#[test]
fn faults_between_the_connector_and_the_service_lose_nothing_and_duplicate_nothing() {
    let env = Env::new();
    let n = 60;
    app_with_people(&env, n);
    let url = scim2_server("t0k");
    let upstream = url.trim_start_matches("http://").split('/').next().unwrap().to_owned();
    let (port, injected) = proxy(upstream, fault);
    let token = env.file("token", "t0k\n");
    let via = format!("http://127.0.0.1:{port}/v2");
    env.ok(&["connector", "add", "flaky", "-t", "app.example", "--scim-url", &via, "--token-file", path_str(&token), "--timeout", "2", "--max-in-flight", "4"]);
    let runs = export_until_healthy(&env, "flaky");
    assert!(injected.load(Ordering::SeqCst) > 10, "the proxy injected faults");
    let all = scim2_query(&url, "t0k", "user", "userName co \"@app.example\"");
    assert_eq!(all.len(), n, "each user exactly once after {runs} runs");
    let mut names: Vec<&str> = all.iter().map(|u| u["userName"].as_str().unwrap()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), n);
    let p7 = scim2_query(&url, "t0k", "user", "userName eq \"p7@app.example\"");
    let p1 = scim2_query(&url, "t0k", "user", "userName eq \"p1@app.example\"");
    assert_eq!(p7[0]["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"]["value"], p1[0]["id"]);
    let group = scim2_query(&url, "t0k", "group", "displayName eq \"Everyone\"");
    assert_eq!(group.len(), 1);
    assert_eq!(group[0]["members"].as_array().unwrap().len(), n.div_ceil(5));

    // A change made through faults arrives too.
    env.ok(&["user", "update", "-t", "app.example", "p3@app.example", "--set", "jobTitle=Lead"]);
    export_until_healthy(&env, "flaky");
    assert_eq!(scim2_query(&url, "t0k", "user", "userName eq \"p3@app.example\"")[0]["title"], "Lead");
}

#[test]
fn faults_between_a_graph_connector_and_its_api_lose_nothing_and_duplicate_nothing() {
    let env = Env::new();
    let n = 30;
    app_with_people(&env, n);
    let remote = Env::new();
    remote.ok(&["tenant", "create", "--name", "Fabrikam", "--domain", "fabrikam.example"]);
    let token = remote.ok(&["token", "create", "--tenant", "fabrikam.example", "--name", "graph", "--role", "admin"]).trim().to_owned();
    let served = Served::start(&remote, &[]);
    let (port, injected) = proxy(served.addr.clone(), fault);
    let file = env.file("graph-token", &token);
    let via = format!("http://127.0.0.1:{port}/v1.0");
    env.ok(&["connector", "add", "flaky", "-t", "app.example", "--graph-url", &via, "--token-file", path_str(&file), "--timeout", "2", "--max-in-flight", "4"]);
    let runs = export_until_healthy(&env, "flaky");
    assert!(injected.load(Ordering::SeqCst) > 5, "the proxy injected faults");
    let auth = format!("Bearer {token}");
    let get = |path: &str| served.request("GET", path, &[("Authorization", &auth)], None).json();
    let users = get("/v1.0/users?$top=999");
    let mut upns: Vec<&str> = users["value"].as_array().unwrap().iter().filter_map(|u| u["userPrincipalName"].as_str()).collect();
    assert_eq!(upns.len(), n, "each user exactly once after {runs} runs");
    upns.sort();
    upns.dedup();
    assert_eq!(upns.len(), n);
    let groups = get("/v1.0/groups?$filter=displayName%20eq%20%27Everyone%27");
    assert_eq!(groups["value"].as_array().unwrap().len(), 1);
    let group = groups["value"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(get(&format!("/v1.0/groups/{group}/members?$top=999"))["value"].as_array().unwrap().len(), n.div_ceil(5));
}

#[test]
fn an_export_killed_mid_way_and_run_again_makes_no_second_copy() {
    let env = Env::new();
    let n = 120;
    app_with_people(&env, n);
    let url = scim2_server("t0k");
    let upstream = url.trim_start_matches("http://").split('/').next().unwrap().to_owned();
    let (port, _) = proxy(upstream, slow);
    let token = env.file("token", "t0k\n");
    let via = format!("http://127.0.0.1:{port}/v2");
    env.ok(&["connector", "add", "app", "-t", "app.example", "--scim-url", &via, "--token-file", path_str(&token), "--max-in-flight", "1"]);
    let mut child = env.cmd().args(["connector", "export", "app"]).spawn().unwrap();
    // Kill it once some users are in the service, before the page's links commit.
    let until = Instant::now() + Duration::from_secs(60);
    while scim2_query(&url, "t0k", "user", "userName co \"@app.example\"").len() < 10 {
        assert!(Instant::now() < until, "the export made no progress");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    let _ = child.wait();
    let made = scim2_query(&url, "t0k", "user", "userName co \"@app.example\"").len();
    assert!(made < n, "killed before the end ({made} of {n})");
    let report = env.json(&["connector", "export", "app"]);
    assert!(report["counters"]["matched"].as_u64().unwrap() >= made as u64 - 1, "{report}");
    assert_eq!(scim2_query(&url, "t0k", "user", "userName co \"@app.example\"").len(), n, "each user once");
}
