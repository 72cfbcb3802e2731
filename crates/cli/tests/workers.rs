//! Several `tenantsync serve` workers on one PostgreSQL database (a real throwaway
//! cluster): they share the sync jobs, each job runs on one worker at a time under its
//! lease, and when a worker is killed (SIGKILL) in the middle of its cycles another
//! finishes them from the committed watermarks, with no duplicate and nothing lost.
mod leases;

use crate::serving::Served;
use crate::support::{Env, path_str};
use std::process::Command;
use std::time::{Duration, Instant};
use tenantsync_cli::generate;
use tenantsync_domain::DomainName;
use tenantsync_store::{Store, SyncStore, Visibility};
use tenantsync_store_conformance::pg_cluster;
use tenantsync_store_postgres::PgStore;

const SOURCE: &str = "fabrikam.example";
const TARGETS: [&str; 4] = ["t1.example", "t2.example", "t3.example", "t4.example"];

/// A fresh schema of the test cluster, made with the server's own `psql`.
fn fresh_database() -> String {
    let schema = pg_cluster::new_schema_name();
    let ok = Command::new("/usr/lib/postgresql/15/bin/psql")
        .arg(pg_cluster::url())
        .args(["-q", "-c", &format!("CREATE SCHEMA {schema}")])
        .status()
        .unwrap()
        .success();
    assert!(ok, "psql could not create the schema");
    pg_cluster::schema_url(&schema)
}

fn cmd(env: &Env, url: &str) -> Command {
    let mut c = env.cmd();
    c.env("TENANTSYNC_DATABASE_URL", url);
    c
}

fn ok(env: &Env, url: &str, args: &[&str]) -> String {
    let out = cmd(env, url).args(args).output().unwrap();
    assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Imports the generated users `from..to` (one generation: their names are unique).
fn import(env: &Env, url: &str, from: usize, to: usize, name: &str) {
    let csv = env.dir.path().join(name);
    let users = generate::users(3, to, SOURCE, "Fabrikam", false).skip(from);
    generate::write_csv(std::fs::File::create(&csv).unwrap(), users).unwrap();
    ok(env, url, &["import", "users", "-t", SOURCE, path_str(&csv), "--quiet"]);
}

fn worker(env: &Env, url: &str) -> Served {
    let mut c = cmd(env, url);
    c.args(["serve", "--listen", "127.0.0.1:0"]);
    Served::spawn(c)
}

/// Waits until every target holds a copy of every source user and every job's watermark
/// is the source's head; then checks there is exactly one copy of each.
async fn converged(store: &PgStore, within: Duration) {
    converged_on(store, &TARGETS, within).await;
}

/// [`converged`] for the targets named.
async fn converged_on(store: &PgStore, targets: &[&str], within: Duration) {
    let end = Instant::now() + within;
    let source = store.find_tenant_by_domain(&DomainName::parse(SOURCE).unwrap()).await.unwrap().unwrap();
    loop {
        // Copies first, then the source: the source only grows, so a copy count above the
        // source's is a duplicate.
        let mut copies = Vec::new();
        for &t in targets {
            let target = store.find_tenant_by_domain(&DomainName::parse(t).unwrap()).await.unwrap().unwrap();
            copies.push((t, store.count_users(target.id, Visibility::All).await.unwrap()));
        }
        let want = store.count_users(source.id, Visibility::Active).await.unwrap();
        let head = store.change_head(source.id).await.unwrap();
        let mut done = true;
        for (t, n) in copies {
            assert!(n <= want, "{t} holds {n} users for {want} in the source: a duplicate");
            done &= n == want;
        }
        for c in store.list_sync_configurations().await.unwrap() {
            done &= store.job_state(c.id).await.unwrap().watermark == head;
        }
        if done {
            return;
        }
        assert!(Instant::now() < end, "the workers did not converge within {within:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The targets whose cycles a worker's log reports.
fn ran(worker: &Served) -> Vec<&'static str> {
    let log = worker.log();
    TARGETS.into_iter().filter(|t| log.lines().any(|l| l.contains("cycle:") && l.contains(&format!("→ {t}")))).collect()
}

#[test]
fn workers_share_the_jobs_and_one_takes_over_from_a_killed_one() {
    let env = Env::new();
    let url = fresh_database();
    ok(&env, &url, &["tenant", "create", "--name", "Fabrikam", "--domain", SOURCE]);
    import(&env, &url, 0, 2_000, "first.csv");
    for t in TARGETS {
        ok(&env, &url, &["tenant", "create", "--name", t, "--domain", t]);
        ok(&env, &url, &["partner", "set", "-t", SOURCE, "--partner", t, "--outbound-auto-redeem", "true"]);
        ok(&env, &url, &["partner", "set", "-t", t, "--partner", SOURCE, "--inbound-sync", "true", "--inbound-auto-redeem", "true"]);
        ok(&env, &url, &["sync", "create", "--source", SOURCE, "--target", t, "--scope", "all"]);
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = rt.block_on(PgStore::open(&url)).unwrap();

    // Two workers: the initial cycles are shared.
    let a = worker(&env, &url);
    let b = worker(&env, &url);
    rt.block_on(converged(&store, Duration::from_secs(120)));
    // A cycle's log line is written after its commit, so the data can converge a moment
    // before the last line reaches the log: wait for the lines too.
    let end = Instant::now() + Duration::from_secs(20);
    let (by_a, by_b) = loop {
        let (by_a, by_b) = (ran(&a), ran(&b));
        let mut all: Vec<_> = by_a.iter().chain(&by_b).collect();
        all.sort();
        all.dedup();
        if all.len() == TARGETS.len() || Instant::now() > end {
            assert_eq!(all.len(), TARGETS.len(), "every job ran: {by_a:?} {by_b:?}");
            break (by_a, by_b);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(!by_a.is_empty() && !by_b.is_empty(), "both workers ran jobs: {by_a:?} and {by_b:?}");

    // More users: both workers wake; one is killed while their cycles run.
    import(&env, &url, 2_000, 5_000, "second.csv");
    std::thread::sleep(Duration::from_millis(300));
    let ok_kill = Command::new("kill").args(["-KILL", &a.pid().to_string()]).status().unwrap().success();
    assert!(ok_kill);
    // The survivor finishes everything (a job the dead worker held is taken over once its
    // lease ended with its connection), from the committed watermarks, without duplicates.
    rt.block_on(converged(&store, Duration::from_secs(180)));
    drop(b);
}

/// PostgreSQL unreachable at start: one line naming the URL without its password, exit 1.
#[test]
fn an_unreachable_database_is_named_without_its_password() {
    let env = Env::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("postgres://ts:hunter2@127.0.0.1:{port}/ts?connect_timeout=5");
    for args in [&["tenant", "list"][..], &["serve", "--listen", "127.0.0.1:0"][..]] {
        let out = env.cmd().arg("--database-url").arg(&url).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&format!("postgres://ts@127.0.0.1:{port}/ts")) && err.contains("[store_unreachable]"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
}
