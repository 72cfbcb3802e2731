//! An LDAP connector through a TCP proxy that cuts its connections to slapd in the
//! middle of a run — some mid-answer, after slapd carried the operation out — the way a
//! flaky network or a restarted load balancer does. Runs repeat until one ends healthy;
//! then the directory (read with `ldapsearch`) holds each user once, with its manager and
//! memberships, and a tenant fed from it through the same proxy holds each once too.
use crate::connectors_ldap::{ADMIN, GROUPS, PEOPLE, search, slapd};
use crate::support::{Env, path_str};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Starts a proxy in front of slapd (`host:port`). While `faults` is above zero, each new
/// connection takes one and is cut once the server's answers on it reach a budget (a
/// few hundred bytes to a few kilobytes, varied by connection): its last answer half
/// sent. Its URL, and the count of connections cut.
fn cutting_proxy(upstream: String, faults: Arc<AtomicUsize>) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ldap://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let cut = Arc::new(AtomicUsize::new(0));
    let cuts = cut.clone();
    std::thread::spawn(move || {
        for (k, client) in listener.incoming().enumerate() {
            let Ok(client) = client else { continue };
            let Ok(server) = TcpStream::connect(&upstream) else { continue };
            let faulty = faults.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
            let budget = faulty.then(|| 400 + (k * 937) % 2600);
            let (mut c_in, mut s_out) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c_in, &mut s_out);
                let _ = s_out.shutdown(Shutdown::Both);
            });
            let (mut s_in, mut c_out, cut) = (server, client, cut.clone());
            std::thread::spawn(move || {
                let mut sent = 0;
                let mut buf = [0u8; 4096];
                loop {
                    let n = match s_in.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    let n = budget.map_or(n, |b| n.min(b - sent));
                    if c_out.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    sent += n;
                    if budget.is_some_and(|b| sent >= b) {
                        cut.fetch_add(1, Ordering::SeqCst);
                        break;
                    }
                }
                let _ = c_out.shutdown(Shutdown::Both);
                let _ = s_in.shutdown(Shutdown::Both);
            });
        }
    });
    (url, cuts)
}

/// Runs `args` until a run ends healthy (exit 0); how many runs it took.
fn until_healthy(env: &Env, args: &[&str]) -> usize {
    for run in 1..=20 {
        let r = env.run(args);
        if r.code == 0 {
            return run;
        }
        assert!(r.stderr.contains("[connector_unreachable]"), "only the connection fails: {}", r.stderr);
    }
    panic!("{args:?} never ended healthy");
}

/// The users under the people base by uid (each must be there once), and the DN of each.
fn uids(url: &str) -> Vec<String> {
    let mut all: Vec<String> = search(url, PEOPLE, "(objectClass=inetOrgPerson)").iter().map(|e| e.one("uid").to_owned()).collect();
    all.sort();
    let n = all.len();
    all.dedup();
    assert_eq!(all.len(), n, "a uid twice");
    all
}

fn members(url: &str, group: &str) -> Vec<String> {
    let found = search(url, GROUPS, &format!("(cn={group})"));
    assert_eq!(found.len(), 1, "{group} once: {found:?}");
    let mut m: Vec<String> = found[0].get("member").iter().map(|d| d.split(',').next().unwrap().trim_start_matches("uid=").to_owned()).collect();
    m.sort();
    m
}

#[test]
fn connections_cut_between_an_ldap_connector_and_slapd_lose_nothing_and_duplicate_nothing() {
    let env = Env::new();
    let app = "app.example";
    env.ok(&["tenant", "create", "--name", "App", "--domain", app]);
    let mut csv = String::from("userPrincipalName,displayName,jobTitle\n");
    for i in 0..60 {
        csv.push_str(&format!("u{i:02}@app.example,User {i},Engineer\n"));
    }
    let people = env.file("people.csv", &csv);
    env.ok(&["import", "users", "-t", app, path_str(&people), "--quiet"]);
    for i in 1..6 {
        env.ok(&["user", "update", "-t", app, &format!("u{i:02}@app.example"), "--set", "manager=u00@app.example"]);
    }
    for (g, range) in [("Red", 0..8), ("Blue", 30..38)] {
        env.ok(&["group", "create", "-t", app, "--name", g]);
        for i in range {
            env.ok(&["group", "add-member", "-t", app, g, &format!("u{i:02}@app.example")]);
        }
    }
    let url = slapd("admin-pw");
    let faults = Arc::new(AtomicUsize::new(0));
    let (via, cuts) = cutting_proxy(url.trim_start_matches("ldap://").to_owned(), faults.clone());
    let password = env.file("password", "admin-pw\n");
    let add = |name: &str, tenant: &str, extra: &[&str]| {
        let mut args = vec!["connector", "add", name, "-t", tenant, "--ldap-url", &via, "--bind-dn", ADMIN, "--password-file", path_str(&password)];
        args.extend(["--users-base", PEOPLE, "--groups-base", GROUPS]);
        args.extend(extra);
        env.ok(&args);
    };
    add("out", app, &[]);

    // The initial export through cut connections.
    faults.store(10, Ordering::SeqCst);
    until_healthy(&env, &["connector", "export", "out"]);
    assert!(cuts.load(Ordering::SeqCst) >= 5, "connections were cut: {}", cuts.load(Ordering::SeqCst));
    let all: Vec<String> = (0..60).map(|i| format!("u{i:02}")).collect();
    assert_eq!(uids(&url), all, "each user once");
    let dn = |uid: &str| format!("uid={uid},{PEOPLE}");
    for i in 1..6 {
        let u = search(&url, PEOPLE, &format!("(uid=u{i:02})"));
        assert_eq!(u[0].one("manager"), dn("u00"));
    }
    assert_eq!(members(&url, "Red"), (0..8).map(|i| format!("u{i:02}")).collect::<Vec<_>>());
    assert_eq!(members(&url, "Blue"), (30..38).map(|i| format!("u{i:02}")).collect::<Vec<_>>());
    assert_eq!(env.json(&["connector", "show", "out"])["links"]["escrowed"], 0, "nothing refused");

    // Changes through cut connections: titles, members in and out, deletions.
    for i in 10..20 {
        env.ok(&["user", "update", "-t", app, &format!("u{i:02}@app.example"), "--set", "jobTitle=Lead"]);
    }
    env.ok(&["group", "remove-member", "-t", app, "Red", "u00@app.example"]);
    env.ok(&["group", "add-member", "-t", app, "Blue", "u59@app.example"]);
    for i in 50..55 {
        env.ok(&["user", "delete", "-t", app, &format!("u{i:02}@app.example")]);
    }
    let before = cuts.load(Ordering::SeqCst);
    faults.store(10, Ordering::SeqCst);
    until_healthy(&env, &["connector", "export", "out"]);
    assert!(cuts.load(Ordering::SeqCst) > before, "connections were cut again");
    let left: Vec<String> = (0..60).filter(|i| !(50..55).contains(i)).map(|i| format!("u{i:02}")).collect();
    assert_eq!(uids(&url), left);
    for i in 8..22 {
        let title = if (10..20).contains(&i) { "Lead" } else { "Engineer" };
        assert_eq!(search(&url, PEOPLE, &format!("(uid=u{i:02})"))[0].one("title"), title, "u{i:02}");
    }
    assert_eq!(members(&url, "Red"), (1..8).map(|i| format!("u{i:02}")).collect::<Vec<_>>());
    let mut blue: Vec<String> = (30..38).map(|i| format!("u{i:02}")).collect();
    blue.push("u59".into());
    assert_eq!(members(&url, "Blue"), blue);
    assert_eq!(env.json(&["connector", "show", "out"])["links"]["escrowed"], 0);

    // The directory feeds a tenant through cut connections: each user and group once.
    env.ok(&["tenant", "create", "--name", "HR", "--domain", "hr.example"]);
    add("in", "hr.example", &["--import"]);
    faults.store(6, Ordering::SeqCst);
    until_healthy(&env, &["connector", "import", "in"]);
    let listed = env.json(&["user", "list", "-t", "hr.example", "--limit", "999"]);
    let mut upns: Vec<String> = listed["value"].as_array().unwrap().iter().map(|u| u["userPrincipalName"].as_str().unwrap().to_owned()).collect();
    upns.sort();
    assert_eq!(upns, left.iter().map(|u| format!("{u}@hr.example")).collect::<Vec<_>>());
    let u03 = env.json(&["user", "show", "-t", "hr.example", "u03@hr.example"]);
    assert_eq!(u03["manager"], env.json(&["user", "show", "-t", "hr.example", "u00@hr.example"])["id"]);
    assert_eq!(env.json(&["group", "members", "-t", "hr.example", "Blue"])["value"].as_array().unwrap().len(), 9);
    assert_eq!(env.json(&["group", "list", "-t", "hr.example"])["value"].as_array().unwrap().len(), 2);
}
