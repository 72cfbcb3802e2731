//! Three workers on one database, watched through PostgreSQL's own lock table: which
//! worker holds which job's lease (an advisory lock on a connection of the worker's,
//! found by its client port), sampled every few milliseconds. The jobs spread over all
//! three, no job is ever held twice, and when one worker is killed (SIGKILL) the jobs it
//! held are taken by another within the lease timeout and finish from their watermarks
//! without duplicates.
use super::{converged_on, fresh_database, import, ok, worker};
use crate::serving::Served;
use crate::support::Env;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tenantsync_domain::{DomainName, SyncConfigId};
use tenantsync_store::{Store, SyncStore};
use tenantsync_store_conformance::pg_cluster;
use tenantsync_store_postgres::PgStore;

const SOURCE: &str = super::SOURCE;
const TARGETS: [&str; 6] = ["w1.example", "w2.example", "w3.example", "w4.example", "w5.example", "w6.example"];
/// The longest a killed worker's job may wait for another (the lease timeout).
const LEASE_TIMEOUT: Duration = Duration::from_secs(15);

/// The advisory lock key of a job, as the store folds its id (`lease.rs`).
fn key(id: SyncConfigId) -> i64 {
    let b = id.as_bytes();
    let hi = i64::from_le_bytes(b[..8].try_into().unwrap());
    let lo = i64::from_le_bytes(b[8..].try_into().unwrap());
    hi ^ lo
}

/// Local TCP ports of the sockets each process has open (IPv4 loopback connections).
fn ports_of(pids: &[u32]) -> HashMap<u16, usize> {
    let mut inode_port = HashMap::new();
    for line in std::fs::read_to_string("/proc/net/tcp").unwrap_or_default().lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() > 9
            && let Some((_, port)) = f[1].split_once(':')
        {
            inode_port.insert(f[9].to_owned(), u16::from_str_radix(port, 16).unwrap());
        }
    }
    let mut out = HashMap::new();
    for (i, pid) in pids.iter().enumerate() {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { continue };
        for fd in fds.flatten() {
            let Ok(link) = std::fs::read_link(fd.path()) else { continue };
            let link = link.to_string_lossy().into_owned();
            if let Some(inode) = link.strip_prefix("socket:[").and_then(|l| l.strip_suffix(']'))
                && let Some(port) = inode_port.get(inode)
            {
                out.insert(*port, i);
            }
        }
    }
    out
}

/// One look at the lock table: each job's lease and the workers holding it.
type Sample = (Instant, BTreeMap<SyncConfigId, Vec<usize>>);

/// Samples the leases of `jobs` held by `pids` until `stop`.
async fn watch(url: String, pids: Vec<u32>, jobs: Vec<SyncConfigId>, samples: Arc<Mutex<Vec<Sample>>>, stop: Arc<std::sync::atomic::AtomicBool>) {
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let by_key: HashMap<i64, SyncConfigId> = jobs.iter().map(|j| (key(*j), *j)).collect();
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let rows = client
            .query(
                "SELECT (l.classid::bigint << 32) | l.objid::bigint, a.client_port FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
                 WHERE l.locktype = 'advisory' AND l.granted AND a.client_port IS NOT NULL",
                &[],
            )
            .await
            .unwrap();
        let ports = ports_of(&pids);
        let mut held: BTreeMap<SyncConfigId, Vec<usize>> = BTreeMap::new();
        for r in rows {
            let (k, port): (i64, i32) = (r.get(0), r.get(1));
            if let (Some(job), Some(w)) = (by_key.get(&k), u16::try_from(port).ok().and_then(|p| ports.get(&p))) {
                held.entry(*job).or_default().push(*w);
            }
        }
        samples.lock().unwrap().push((Instant::now(), held));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Users each worker's log says it created in `target`'s cycles.
fn created(worker: &Served, target: &str) -> u64 {
    let arrow = format!("→ {target}");
    worker
        .log()
        .lines()
        .filter(|l| l.contains("cycle:") && l.contains(&arrow))
        .filter_map(|l| l.split("cycle: ").nth(1)?.split(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[test]
fn three_workers_spread_the_jobs_hold_each_once_and_take_over_a_killed_one() {
    let env = Env::new();
    let url = fresh_database();
    ok(&env, &url, &["tenant", "create", "--name", "Fabrikam", "--domain", SOURCE]);
    import(&env, &url, 0, 3_000, "first.csv");
    for t in TARGETS {
        ok(&env, &url, &["tenant", "create", "--name", t, "--domain", t]);
        ok(&env, &url, &["partner", "set", "-t", SOURCE, "--partner", t, "--outbound-auto-redeem", "true"]);
        ok(&env, &url, &["partner", "set", "-t", t, "--partner", SOURCE, "--inbound-sync", "true", "--inbound-auto-redeem", "true"]);
        ok(&env, &url, &["sync", "create", "--source", SOURCE, "--target", t, "--scope", "all"]);
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = rt.block_on(PgStore::open(&url)).unwrap();
    let jobs: Vec<SyncConfigId> = rt.block_on(store.list_sync_configurations()).unwrap().iter().map(|c| c.id).collect();
    let workers = [worker(&env, &url), worker(&env, &url), worker(&env, &url)];
    let pids: Vec<u32> = workers.iter().map(Served::pid).collect();
    let samples = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = rt.spawn(watch(pg_cluster::url().to_owned(), pids.clone(), jobs.clone(), samples.clone(), stop.clone()));

    // The initial cycles: spread over the three, each job held by one worker at a time.
    rt.block_on(converged_on(&store, &TARGETS, Duration::from_secs(180)));
    {
        let samples = samples.lock().unwrap();
        assert!(samples.len() > 20, "the lock table was sampled ({} samples)", samples.len());
        let mut holders = BTreeSet::new();
        for (_, held) in samples.iter() {
            for (job, by) in held {
                assert_eq!(by.len(), 1, "job {job} held by {by:?} at once");
                holders.insert(by[0]);
            }
        }
        assert_eq!(holders, BTreeSet::from([0, 1, 2]), "every worker held some leases");
    }
    // A cycle's log line follows its commit: give the last lines a moment to arrive.
    let end = Instant::now() + Duration::from_secs(20);
    for t in TARGETS {
        let mut total: u64 = workers.iter().map(|w| created(w, t)).sum();
        while total < 3_000 && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(100));
            total = workers.iter().map(|w| created(w, t)).sum();
        }
        assert_eq!(total, 3_000, "{t}: every user created once, by one worker");
    }
    for w in &workers {
        let log = w.log();
        assert!(!log.contains("sync cycle failed"), "{log}");
        assert!(log.lines().filter(|l| l.contains("cycle:")).all(|l| l.contains(" 0 escrowed")), "nothing escrowed (no conflict): {log}");
    }

    // More users; the third worker is killed while it holds leases.
    import(&env, &url, 3_000, 6_000, "second.csv");
    let end = Instant::now() + Duration::from_secs(60);
    let held_by_victim = loop {
        let last = samples.lock().unwrap().last().map(|(_, h)| h.clone()).unwrap_or_default();
        let mine: Vec<SyncConfigId> = last.iter().filter(|(_, by)| by.contains(&2)).map(|(j, _)| *j).collect();
        if !mine.is_empty() {
            let killed = Command::new("kill").args(["-KILL", &pids[2].to_string()]).status().unwrap().success();
            assert!(killed);
            break mine;
        }
        assert!(Instant::now() < end, "the third worker never held a lease after the import");
        std::thread::sleep(Duration::from_millis(5));
    };
    let killed_at = Instant::now();
    // Each job it held is leased by another worker, or done, within the lease timeout.
    let source = rt.block_on(store.find_tenant_by_domain(&DomainName::parse(SOURCE).unwrap())).unwrap().unwrap();
    for job in &held_by_victim {
        loop {
            let taken = samples.lock().unwrap().iter().any(|(at, held)| *at > killed_at && held.get(job).is_some_and(|by| by.iter().any(|w| *w != 2)));
            let done = rt.block_on(async { store.job_state(*job).await.unwrap().watermark == store.change_head(source.id).await.unwrap() });
            if taken || done {
                break;
            }
            assert!(killed_at.elapsed() < LEASE_TIMEOUT, "job {job} of the killed worker was not taken over within {LEASE_TIMEOUT:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    // Everything finishes from the committed watermarks: one copy of each user.
    rt.block_on(converged_on(&store, &TARGETS, Duration::from_secs(240)));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    rt.block_on(watcher).unwrap();
    for (_, held) in samples.lock().unwrap().iter() {
        assert!(held.values().all(|by| by.len() == 1), "a job held twice: {held:?}");
    }
    drop(workers);
}
