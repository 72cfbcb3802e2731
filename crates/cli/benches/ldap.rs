//! The LDAP connector against a throwaway OpenLDAP (`.ci/slapd`; see docs/benchmarks.md):
//!
//! - **initial export**: N users of a tenant exported by `tenantsync connector export`
//!   into an OU of their own, beside `ldapadd` loading the same entries into another OU
//!   of the same slapd. The entries `ldapadd` loads are the connector's own, read back
//!   from a warm-up export (every user attribute, byte for byte, only the OU differs), so
//!   both sides write the same rows. Each run alternates which side goes first. Wall
//!   time; the CPU time of the exporter and of `ldapadd` (getrusage of the waited child);
//!   slapd's CPU time for each (from /proc). `ldapadd` sends one entry at a time on one
//!   connection and waits for each answer; the connector keeps `maxInFlight` (8) in flight.
//! - **one change's latency**: `tenantsync serve` runs the connector, woken by the
//!   tenant's commits; one user's title is changed at a time through the server's SCIM
//!   endpoint, and the time from the PATCH's answer (the change committed) until slapd
//!   holds the new value is measured, looked for every millisecond on one kept LDAP
//!   connection: p50, p99 and the maximum.
//!
//! `cargo bench -p tenantsync --bench ldap -- [--users N] [--runs R] [--changes C]`
//!
//! Without `--bench` (as `cargo test --benches` runs it) it is a quick smoke run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::process::{proc_cpu, rusage, serve, ts};
use nix::sys::resource::UsageWho;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SUFFIX: &str = "dc=example,dc=test";
const ADMIN: &str = "cn=admin,dc=example,dc=test";
const PASSWORD: &str = "admin-pw";

fn arg(args: &[String], name: &str) -> Option<usize> {
    common::arg(args, name).and_then(|v| v.parse().ok())
}

/// A fresh slapd (it stops when this process ends): its URL and its process id.
fn slapd() -> (String, u32) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.ci/slapd");
    let out = Command::new("bash").arg(script).args(["start", PASSWORD, &std::process::id().to_string()]).output().unwrap();
    assert!(out.status.success(), "slapd did not start: {}", String::from_utf8_lossy(&out.stderr));
    let url = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let listen = format!("{}/", url.trim_start_matches("ldap://"));
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline);
        if cmdline.contains("slapd") && cmdline.contains(&listen) && !cmdline.contains("bash") {
            return (url, pid);
        }
    }
    panic!("no slapd process listening on {url}");
}

/// Runs an OpenLDAP client tool as the directory's admin with `input` on its standard
/// input; its standard output.
fn tool(name: &str, url: &str, args: &[&str], input: &str) -> String {
    let mut child = Command::new(name)
        .args(["-x", "-H", url, "-D", ADMIN, "-w", PASSWORD])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Written from a thread of its own while the output is read: ldapadd prints a line per
    // entry, and a pipe full both ways would wait forever.
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "{name} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// A new organizational unit under the suffix; its DN.
fn ou(url: &str, name: &str) -> String {
    let dn = format!("ou={name},{SUFFIX}");
    tool("ldapadd", url, &[], &format!("dn: {dn}\nobjectClass: organizationalUnit\nou: {name}\n"));
    dn
}

/// Measurements of one side of a run: wall seconds, its own CPU seconds, slapd's.
#[derive(Debug, Clone, Copy)]
struct Side {
    wall: f64,
    cpu: f64,
    server: f64,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bench = args.iter().any(|a| a == "--bench");
    let users = arg(&args, "--users").unwrap_or(if bench { 20_000 } else { 30 });
    let runs = arg(&args, "--runs").unwrap_or(if bench { 3 } else { 1 });
    let changes = arg(&args, "--changes").unwrap_or(if bench { 200 } else { 5 });
    let (url, slapd_pid) = slapd();
    let local = tempfile::tempdir().unwrap();
    let dir = local.path();
    ts(dir, &["tenant", "create", "--name", "App", "--domain", "app.example"]);
    let mut csv = String::from("userPrincipalName,displayName,givenName,surname,jobTitle,department,mail\n");
    for i in 0..users {
        csv.push_str(&format!("u{i}@app.example,User {i},User,N{i},Engineer,Dept {},u{i}@app.example\n", i % 10));
    }
    std::fs::write(dir.join("users.csv"), csv).unwrap();
    ts(dir, &["import", "users", "-t", "app.example", dir.join("users.csv").to_str().unwrap(), "--quiet"]);
    let password = dir.join("password");
    std::fs::write(&password, format!("{PASSWORD}\n")).unwrap();
    let groups = ou(&url, "bench-groups");
    let add = |name: &str, base: &str| {
        let p = password.to_str().unwrap();
        ts(
            dir,
            &[
                "connector",
                "add",
                name,
                "-t",
                "app.example",
                "--ldap-url",
                &url,
                "--bind-dn",
                ADMIN,
                "--password-file",
                p,
                "--users-base",
                base,
                "--groups-base",
                &groups,
            ],
        );
    };
    let export = |name: &str| -> Side {
        let (cpu0, server0, t0) = (rusage(UsageWho::RUSAGE_CHILDREN), proc_cpu(slapd_pid), Instant::now());
        let report: serde_json::Value = serde_json::from_str(&ts(dir, &["connector", "export", name, "--json"])).unwrap();
        let side = Side { wall: t0.elapsed().as_secs_f64(), cpu: rusage(UsageWho::RUSAGE_CHILDREN) - cpu0, server: proc_cpu(slapd_pid) - server0 };
        assert_eq!(report["counters"]["created"].as_u64(), Some(users as u64), "{report}");
        side
    };

    // The warm-up: the connector that `serve` keeps running for the latency below, and
    // the entries the baseline loads.
    let warm = ou(&url, "warm");
    add("warm", &warm);
    export("warm");
    let ldif = tool("ldapsearch", &url, &["-LLL", "-o", "ldif-wrap=no", "-b", &warm, "-s", "one", "(objectClass=*)", "*"], "");
    assert_eq!(ldif.matches("\ndn: ").count() + usize::from(ldif.starts_with("dn: ")), users, "one entry per user");
    let load = common::loadavg();
    let mut ratios = Vec::new();
    for run in 0..runs {
        let mut sides: Vec<(&str, Side)> = Vec::new();
        let order = if run % 2 == 0 { ["connector", "ldapadd"] } else { ["ldapadd", "connector"] };
        for which in order {
            let base = ou(&url, &format!("{which}{run}"));
            let side = if which == "connector" {
                let name = format!("c{run}");
                add(&name, &base);
                let side = export(&name);
                ts(dir, &["connector", "remove", &name]);
                side
            } else {
                let entries = ldif.replace(&format!(",{warm}"), &format!(",{base}"));
                let (cpu0, server0, t0) = (rusage(UsageWho::RUSAGE_CHILDREN), proc_cpu(slapd_pid), Instant::now());
                tool("ldapadd", &url, &[], &entries);
                Side { wall: t0.elapsed().as_secs_f64(), cpu: rusage(UsageWho::RUSAGE_CHILDREN) - cpu0, server: proc_cpu(slapd_pid) - server0 }
            };
            // Room for the next run (the test server's database is small).
            tool("ldapdelete", &url, &["-r", &base], "");
            sides.push((which, side));
        }
        let get = |w: &str| sides.iter().find(|(n, _)| *n == w).unwrap().1;
        let (c, a) = (get("connector"), get("ldapadd"));
        let ratio = a.wall / c.wall;
        ratios.push(ratio);
        eprintln!(
            "run {run}: connector {:.0} users/s (its CPU {:.2} s, slapd {:.2} s); ldapadd {:.0} users/s (its CPU {:.2} s, slapd {:.2} s); ratio {ratio:.2}",
            users as f64 / c.wall,
            c.cpu,
            c.server,
            users as f64 / a.wall,
            a.cpu,
            a.server
        );
    }
    ratios.sort_by(f64::total_cmp);
    eprintln!("initial export of {users} users, load {load}: median ratio to ldapadd {:.2}", ratios[ratios.len() / 2]);

    latency(dir, &url, &warm, users, changes);
}

/// One change at a time from a commit to slapd under `serve`.
fn latency(dir: &Path, url: &str, base: &str, users: usize, changes: usize) {
    let token = ts(dir, &["token", "create", "--tenant", "app.example", "--name", "bench"]).trim().to_owned();
    let (mut server, addr) = serve(dir);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut took: Vec<f64> = rt.block_on(async {
        let (conn, mut ldap) = ldap3::LdapConnAsync::new(url).await.unwrap();
        ldap3::drive!(conn);
        ldap.simple_bind(ADMIN, PASSWORD).await.unwrap().success().unwrap();
        let http = reqwest::Client::new();
        let scim = format!("http://{addr}/scim/v2/app.example/Users");
        let mut took = Vec::new();
        for k in 0..changes {
            let i = (k * 7919) % users;
            let found: serde_json::Value = http
                .get(&scim)
                .bearer_auth(&token)
                .query(&[("filter", format!("userName eq \"u{i}@app.example\""))])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let id = found["Resources"][0]["id"].as_str().unwrap().to_owned();
            let title = format!("T{k}");
            let patch = serde_json::json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{ "op": "replace", "path": "title", "value": title }],
            });
            let r = http
                .patch(format!("{scim}/{id}"))
                .bearer_auth(&token)
                .header("content-type", "application/scim+json")
                .body(patch.to_string())
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{}", r.text().await.unwrap());
            let t0 = Instant::now();
            let dn = format!("uid=u{i},{base}");
            loop {
                let (entries, _) = ldap.search(&dn, ldap3::Scope::Base, &format!("(title={title})"), vec!["1.1"]).await.unwrap().success().unwrap();
                if !entries.is_empty() {
                    break;
                }
                assert!(t0.elapsed() < Duration::from_secs(30), "change {k} never reached slapd");
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            took.push(t0.elapsed().as_secs_f64() * 1000.0);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        took
    });
    let _ = server.kill();
    let _ = server.wait();
    took.sort_by(f64::total_cmp);
    eprintln!(
        "one change from its commit to slapd under serve, {changes} changes, load {}: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        common::loadavg(),
        common::percentile(&took, 0.5),
        common::percentile(&took, 0.99),
        took.last().copied().unwrap_or_default()
    );
}
