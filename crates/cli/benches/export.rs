//! A connector's initial export (see docs/benchmarks.md): N users exported by `tenantsync
//! connector export` to tenantsync's own SCIM endpoint on loopback (a real `serve` of
//! another data directory), against a plain load generator POSTing the same N users'
//! SCIM bodies to the same endpoint with the same number of requests in flight.
//!
//! `cargo bench -p tenantsync --bench export -- [--users N] [--in-flight K] [--runs R]`
//!
//! Each run gives both a fresh tenant of the server, alternating which goes first. Wall
//! time; the CPU time of the exporting process (getrusage of the waited child) against
//! the generator's own (getrusage of this process); and the server's CPU time for each
//! (from /proc). The connector does a GET (match) and a POST per user, the generator a POST.
//! The server runs without its per-token rate limit (`--rate-limit 0`), so both measure
//! the endpoint, not the limit.
//!
//! Without `--bench` (as `cargo test --benches` runs it) it is a quick smoke run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::process::{proc_cpu, rusage as cpu, serve, ts};
use std::time::Instant;

fn arg(args: &[String], name: &str) -> Option<usize> {
    common::arg(args, name).and_then(|v| v.parse().ok())
}

/// The SCIM body the connector sends for user `i` (the same attributes).
fn body(i: usize) -> serde_json::Value {
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "userName": format!("u{i}@app.example"), "externalId": format!("x{i}"), "active": true, "displayName": format!("User {i}"),
        "name": {"givenName": "User", "familyName": format!("N{i}")}, "title": "Engineer", "userType": "Member",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": format!("Dept {}", i % 10)}
    })
}

/// POSTs N users, `in_flight` at a time; wall seconds.
fn generate(url: &str, token: &str, users: usize, in_flight: usize) -> f64 {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let client = reqwest::Client::builder().pool_max_idle_per_host(in_flight).build().unwrap();
        let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let t0 = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..in_flight {
            let (client, next, url, token) = (client.clone(), next.clone(), url.to_owned(), token.to_owned());
            tasks.push(tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    if i >= users {
                        return;
                    }
                    let r =
                        client.post(&url).bearer_auth(&token).header("content-type", "application/scim+json").body(body(i).to_string()).send().await.unwrap();
                    assert_eq!(r.status().as_u16(), 201);
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        t0.elapsed().as_secs_f64()
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bench = args.iter().any(|a| a == "--bench");
    let users = arg(&args, "--users").unwrap_or(if bench { 20_000 } else { 30 });
    let in_flight = arg(&args, "--in-flight").unwrap_or(8);
    let runs = arg(&args, "--runs").unwrap_or(if bench { 3 } else { 1 });
    let (remote, local) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (mut server, addr) = serve(remote.path());
    ts(local.path(), &["tenant", "create", "--name", "App", "--domain", "app.example"]);
    let mut csv = String::from("userPrincipalName,displayName,givenName,surname,jobTitle,department\n");
    for i in 0..users {
        csv.push_str(&format!("u{i}@app.example,User {i},User,N{i},Engineer,Dept {}\n", i % 10));
    }
    let file = local.path().join("users.csv");
    std::fs::write(&file, csv).unwrap();
    ts(local.path(), &["import", "users", "-t", "app.example", file.to_str().unwrap(), "--quiet"]);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut ratios = Vec::new();
    for run in 0..runs {
        let measure = |which: &str| -> (f64, f64, f64) {
            let domain = format!("{which}{run}.example");
            ts(remote.path(), &["tenant", "create", "--name", &domain, "--domain", &domain]);
            let token = ts(remote.path(), &["token", "create", "--tenant", &domain, "--name", "bench"]).trim().to_owned();
            let url = format!("http://{addr}/scim/v2/{domain}");
            let server0 = proc_cpu(server.id());
            if which == "connector" {
                let tf = local.path().join(format!("token{run}"));
                std::fs::write(&tf, &token).unwrap();
                let name = format!("c{run}");
                let max = in_flight.to_string();
                ts(
                    local.path(),
                    &["connector", "add", &name, "-t", "app.example", "--scim-url", &url, "--token-file", tf.to_str().unwrap(), "--max-in-flight", &max],
                );
                let (c0, t0) = (cpu(nix::sys::resource::UsageWho::RUSAGE_CHILDREN), Instant::now());
                let report = ts(local.path(), &["connector", "export", &name, "--json"]);
                let wall = t0.elapsed().as_secs_f64();
                let report: serde_json::Value = serde_json::from_str(&report).unwrap();
                assert_eq!(report["counters"]["created"].as_u64(), Some(users as u64), "{report}");
                ts(local.path(), &["connector", "remove", &name]);
                (wall, cpu(nix::sys::resource::UsageWho::RUSAGE_CHILDREN) - c0, proc_cpu(server.id()) - server0)
            } else {
                let c0 = cpu(nix::sys::resource::UsageWho::RUSAGE_SELF);
                let wall = generate(&format!("{url}/Users"), &token, users, in_flight);
                (wall, cpu(nix::sys::resource::UsageWho::RUSAGE_SELF) - c0, proc_cpu(server.id()) - server0)
            }
        };
        let order = if run % 2 == 0 { ["connector", "raw"] } else { ["raw", "connector"] };
        let mut got = std::collections::HashMap::new();
        for which in order {
            got.insert(which, measure(which));
        }
        let (c, r) = (got["connector"], got["raw"]);
        let ratio = (users as f64 / c.0) / (users as f64 / r.0);
        ratios.push(ratio);
        eprintln!(
            "run {run}: connector {:.0} users/s (client CPU {:.2} s, server CPU {:.2} s); plain POSTs {:.0} users/s (client CPU {:.2} s, server CPU {:.2} s); ratio {ratio:.2}",
            users as f64 / c.0,
            c.1,
            c.2,
            users as f64 / r.0,
            r.1,
            r.2
        );
    }
    ratios.sort_by(f64::total_cmp);
    eprintln!("{users} users, {in_flight} in flight, load {}: median ratio {:.2}", load.trim(), ratios[ratios.len() / 2]);
    let _ = server.kill();
    let _ = server.wait();
}
