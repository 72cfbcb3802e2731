//! What the benchmarks share: the measurements (wall and CPU time of a timed section), the
//! child-process protocol, what a run wrote (row counts, commit sizes, a digest of the
//! user rows), the raw connection settings, and the report that sets a run of tenantsync
//! beside the raw baseline of the same round.
//!
//! Each side runs in a child process of its own, so the CPU time a child reads for itself
//! is that side's alone; wall time moves with the machine's load, CPU time much less.
#![allow(dead_code)]

pub mod process;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, params};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use tenantsync_cli::generate;

pub const DOMAIN: &str = "contoso.example";

/// The benchmarks' runtime: two worker threads (this machine's cores).
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// The engine's event-driven scheduler running in the background (rounds an hour apart,
/// so only commits wake it), as `serve` runs it, until [`Scheduler::stop`].
pub struct Scheduler {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Scheduler {
    /// Starts it and gives it 200 ms to subscribe to the store's commits.
    pub async fn start(engine: &tenantsync_engine::Engine) -> Scheduler {
        use tenantsync_engine::scheduler::{self, SchedulerOptions};
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let engine = engine.clone();
        let hour = Duration::from_secs(3600);
        let options = SchedulerOptions { interval: hour, external_check: hour, lease_retry: hour, log_retention: None };
        let task = tokio::spawn(async move {
            let until = async {
                let _ = stopped.await;
            };
            scheduler::run(&engine, options, until, |_| {}).await.unwrap();
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        Scheduler { stop, task }
    }

    pub async fn stop(self) {
        self.stop.send(()).unwrap();
        self.task.await.unwrap();
    }
}
pub const LOOKUPS: usize = 20_000;

/// Clock ticks per second of `/proc/self/task/*/stat` (`USER_HZ`, 100 on Linux: part of
/// its ABI).
const CLK_TCK: f64 = 100.0;

/// CPU time (user + system) this process has used so far, all its threads (live and
/// ended) together, in seconds: `getrusage(RUSAGE_SELF)`, to the microsecond.
pub fn cpu_seconds() -> f64 {
    usage().cpu_s
}

/// What `getrusage(RUSAGE_SELF)` says of this process so far.
#[derive(Debug, Clone, Copy, Default)]
struct Usage {
    /// User + system CPU time, in seconds ([`cpu_seconds`]).
    cpu_s: f64,
    /// The system (kernel) part of it.
    sys_s: f64,
    /// Page faults that needed no read from disk (minor faults: mostly fresh memory the
    /// kernel zeroes on first touch).
    minor_faults: u64,
}

fn usage() -> Usage {
    use nix::sys::resource::{UsageWho, getrusage};
    use nix::sys::time::TimeValLike;
    getrusage(UsageWho::RUSAGE_SELF).map_or(Usage::default(), |u| {
        let sys_s = u.system_time().num_microseconds() as f64 / 1e6;
        Usage { cpu_s: u.user_time().num_microseconds() as f64 / 1e6 + sys_s, sys_s, minor_faults: u.minor_page_faults().max(0) as u64 }
    })
}

/// CPU time (user + system) the live thread whose name begins with `name` (as
/// `/proc/self/task/*/comm` shows it, at most 15 bytes) has used so far, in seconds: what
/// `getrusage(RUSAGE_THREAD)` would report on that thread.
pub fn thread_cpu_seconds(name: &str) -> Option<f64> {
    thread_usage(name).map(|t| t.cpu_s)
}

/// CPU time of a thread so far ([`thread_cpu_seconds`]) and its system (kernel) part.
#[derive(Debug, Clone, Copy)]
struct ThreadUsage {
    cpu_s: f64,
    sys_s: f64,
}

fn thread_usage(name: &str) -> Option<ThreadUsage> {
    let prefix = name.get(..name.len().min(15)).unwrap_or(name);
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim_end().starts_with(prefix) {
            let stat = std::fs::read_to_string(task.path().join("stat")).ok()?;
            let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
            // utime and stime, fields 14 and 15 of stat(5).
            let (user, system) = (ticks(14 - 3) as f64 / CLK_TCK, ticks(15 - 3) as f64 / CLK_TCK);
            return Some(ThreadUsage { cpu_s: user + system, sys_s: system });
        }
    }
    None
}

/// The name of the store's writer thread.
pub const WRITER_THREAD: &str = "tenantsync-sqlite-writer";

/// The load averages (1, 5, 15 minutes) as `/proc/loadavg` gives them.
pub fn loadavg() -> String {
    let s = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    s.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

/// Wall and CPU time of a timed section, which may be stopped and started again (the
/// sync baseline reads the next transaction's source rows with the clock stopped).
#[derive(Debug, Default)]
pub struct Stopwatch {
    wall: Duration,
    cpu_s: f64,
    /// The store's writer thread's CPU time, when it has one, and its kernel part.
    writer_cpu_s: Option<f64>,
    writer_sys_s: Option<f64>,
    sys_s: f64,
    minor_faults: u64,
    running: Option<Reading>,
}

/// The clocks and counters when a [`Stopwatch`] started.
#[derive(Debug)]
struct Reading {
    at: Instant,
    usage: Usage,
    writer: Option<ThreadUsage>,
}

impl Stopwatch {
    pub fn started() -> Stopwatch {
        let mut w = Stopwatch::default();
        w.start();
        w
    }

    pub fn start(&mut self) {
        self.running = Some(Reading { at: Instant::now(), usage: usage(), writer: thread_usage(WRITER_THREAD) });
    }

    pub fn stop(&mut self) {
        if let Some(Reading { at: t0, usage: u0, writer: w0 }) = self.running.take() {
            self.wall += t0.elapsed();
            let u1 = usage();
            self.cpu_s += u1.cpu_s - u0.cpu_s;
            self.sys_s += u1.sys_s - u0.sys_s;
            self.minor_faults += u1.minor_faults.saturating_sub(u0.minor_faults);
            if let (Some(w0), Some(w1)) = (w0, thread_usage(WRITER_THREAD)) {
                *self.writer_cpu_s.get_or_insert(0.0) += w1.cpu_s - w0.cpu_s;
                *self.writer_sys_s.get_or_insert(0.0) += w1.sys_s - w0.sys_s;
            }
        }
    }

    /// Stops and returns the figures of `users` users written.
    pub fn finish(mut self, users: u64, written: Written) -> Timed {
        self.stop();
        Timed {
            users,
            wall_s: self.wall.as_secs_f64(),
            cpu_s: self.cpu_s,
            writer_cpu_s: self.writer_cpu_s,
            writer_sys_s: self.writer_sys_s,
            sys_s: Some(self.sys_s),
            minor_faults: Some(self.minor_faults),
            written,
        }
    }
}

/// What a timed section wrote, counted after it (not timed): the reader of a report sees
/// that both sides wrote the same rows in transactions of the same size.
#[derive(Debug, Serialize, Deserialize, Default, Clone, PartialEq, Eq)]
pub struct Written {
    /// The written tenant's users, those with a manager, those with an anchor.
    pub users: u64,
    pub with_manager: u64,
    pub with_anchor: u64,
    /// The tenant's change rows, and how many are creates.
    pub changes: u64,
    pub creates: u64,
    /// Provisioning-log storage: blocks, the records they hold, their bodies' bytes, and
    /// the rows of `provisioning_log_objects`.
    pub log_blocks: u64,
    pub log_records: u64,
    pub log_body_bytes: u64,
    pub log_objects: u64,
    /// Users per commit, in order (tenantsync: measured from its commit notices; the
    /// baseline: its own commits).
    pub commits: Vec<u64>,
    /// FNV-1a of the tenant's user rows in UPN order, ids and times left out (the
    /// manager and the anchored source user by their UPN): equal when both sides wrote
    /// the same users.
    pub digest: u64,
}

impl Written {
    /// Counts what `db` holds for `tenant`; `commits` as the caller observed them.
    pub fn count(db: &Path, tenant: &[u8; 16], commits: Vec<u64>) -> Written {
        let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        let one = |sql: &str, p: &[&dyn rusqlite::ToSql]| -> (u64, u64, u64) {
            let n = |r: &rusqlite::Row<'_>, i: usize| r.get::<_, Option<i64>>(i).map(|v| v.unwrap_or(0) as u64);
            conn.query_row(sql, p, |r| Ok((n(r, 0)?, n(r, 1)?, n(r, 2)?))).unwrap()
        };
        let (users, with_manager, with_anchor) = one("SELECT count(*), count(manager_id), count(anchor_tenant) FROM users WHERE tenant_id = ?1", &[tenant]);
        let (changes, creates, _) = one("SELECT count(*), sum(op = 1), 0 FROM changes WHERE tenant_id = ?1", &[tenant]);
        // Logs belong to configurations, not tenants; a benchmark's store has one.
        let (log_blocks, log_records, log_body_bytes) = one("SELECT count(*), sum(records), sum(length(body)) FROM provisioning_log_blocks", &[]);
        let (log_objects, _, _) = one("SELECT count(*), 0, 0 FROM provisioning_log_objects", &[]);
        Written {
            users,
            with_manager,
            with_anchor,
            changes,
            creates,
            log_blocks,
            log_records,
            log_body_bytes,
            log_objects,
            commits,
            digest: digest(&conn, tenant),
        }
    }

    /// The differences from `other` that matter (commit sizes and log bytes are shown,
    /// not compared: the log bytes are matched on average, block by block).
    pub fn differences(&self, other: &Written) -> Vec<String> {
        let mut out = Vec::new();
        let mut check = |name: &str, a: u64, b: u64| {
            if a != b {
                out.push(format!("{name}: {a} vs {b}"));
            }
        };
        check("users", self.users, other.users);
        check("users with a manager", self.with_manager, other.with_manager);
        check("users with an anchor", self.with_anchor, other.with_anchor);
        check("change rows", self.changes, other.changes);
        check("creates", self.creates, other.creates);
        check("log blocks", self.log_blocks, other.log_blocks);
        check("log records", self.log_records, other.log_records);
        check("log object rows", self.log_objects, other.log_objects);
        check("user rows digest", self.digest, other.digest);
        out
    }
}

/// The columns of `users` in the real schema, in order.
pub fn user_columns(conn: &Connection) -> Vec<String> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info('users') ORDER BY cid").unwrap();
    stmt.query_map([], |r| r.get::<_, String>(0)).unwrap().collect::<Result<_, _>>().unwrap()
}

/// FNV-1a over the content of a tenant's user rows (see [`Written::digest`]).
fn digest(conn: &Connection, tenant: &[u8; 16]) -> u64 {
    const SKIP: [&str; 7] = ["tenant_id", "id", "manager_id", "anchor_tenant", "anchor_object", "created_ms", "modified_ms"];
    let cols: Vec<String> = user_columns(conn).into_iter().filter(|c| !SKIP.contains(&c.as_str())).map(|c| format!("u.{c}")).collect();
    let sql = format!(
        "SELECT {}, m.upn, s.upn, u.anchor_tenant IS NOT NULL FROM users u \
         LEFT JOIN users m ON m.tenant_id = u.tenant_id AND m.id = u.manager_id \
         LEFT JOIN users s ON s.tenant_id = u.anchor_tenant AND s.id = u.anchor_object \
         WHERE u.tenant_id = ?1 ORDER BY u.upn COLLATE NOCASE",
        cols.join(", ")
    );
    let mut stmt = conn.prepare(&sql).unwrap();
    let n = stmt.column_count();
    let mut rows = stmt.query([tenant]).unwrap();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    while let Some(row) = rows.next().unwrap() {
        for i in 0..n {
            match row.get_ref(i).unwrap() {
                ValueRef::Null => feed(&[0]),
                ValueRef::Integer(v) => {
                    feed(&[1]);
                    feed(&v.to_le_bytes());
                }
                ValueRef::Real(v) => {
                    feed(&[2]);
                    feed(&v.to_le_bytes());
                }
                ValueRef::Text(t) | ValueRef::Blob(t) => {
                    feed(&[3]);
                    feed(&(t.len() as u64).to_le_bytes());
                    feed(t);
                }
            }
        }
    }
    h
}

/// The figures of one timed section.
#[derive(Debug, Serialize, Deserialize, Default, Clone)]
pub struct Timed {
    pub users: u64,
    pub wall_s: f64,
    /// User + system CPU time of the child process within the timed section.
    pub cpu_s: f64,
    /// The part of it spent on the store's writer thread (tenantsync only; the raw
    /// baseline writes on its one thread).
    #[serde(default)]
    pub writer_cpu_s: Option<f64>,
    /// The kernel's part of `writer_cpu_s` (to the clock tick, 10 ms; absent from builds
    /// before it was measured).
    #[serde(default)]
    pub writer_sys_s: Option<f64>,
    /// The system (kernel) part of `cpu_s` (absent from builds before it was measured).
    #[serde(default)]
    pub sys_s: Option<f64>,
    /// Minor page faults within the timed section.
    #[serde(default)]
    pub minor_faults: Option<u64>,
    pub written: Written,
}

impl Timed {
    pub fn users_per_s(&self) -> f64 {
        self.users as f64 / self.wall_s
    }
    pub fn wall_us(&self) -> f64 {
        self.wall_s * 1e6 / self.users as f64
    }
    pub fn cpu_us(&self) -> f64 {
        self.cpu_s * 1e6 / self.users as f64
    }
    pub fn writer_cpu_us(&self) -> Option<f64> {
        self.writer_cpu_s.map(|s| s * 1e6 / self.users as f64)
    }
    pub fn writer_sys_us(&self) -> Option<f64> {
        self.writer_sys_s.map(|s| s * 1e6 / self.users as f64)
    }
    pub fn sys_us(&self) -> Option<f64> {
        self.sys_s.map(|s| s * 1e6 / self.users as f64)
    }
    pub fn faults_per_user(&self) -> Option<f64> {
        self.minor_faults.map(|f| f as f64 / self.users as f64)
    }
}

/// Users per commit as runs: `10 x 104,000 + 1 x 64,000`.
pub fn commits_summary(commits: &[u64]) -> String {
    let mut runs: Vec<(u64, u64)> = Vec::new();
    for &c in commits {
        match runs.last_mut() {
            Some((n, size)) if *size == c => *n += 1,
            _ => runs.push((1, c)),
        }
    }
    if runs.is_empty() {
        return "none".into();
    }
    runs.iter().map(|(n, size)| format!("{n} x {}", thousands(*size))).collect::<Vec<_>>().join(" + ")
}

pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// One round of alternating runs: tenantsync, the raw baseline, and optionally a second
/// build of tenantsync (`--against`), with the load average when the round began.
#[derive(Debug, Clone)]
pub struct Round {
    pub load: String,
    pub ours: Timed,
    pub raw: Timed,
    pub against: Option<Timed>,
}

/// Fails loudly when the two sides did not write the same rows.
pub fn check_same_rows(ours: &Written, raw: &Written) {
    let diff = ours.differences(raw);
    assert!(diff.is_empty(), "the raw baseline no longer writes what tenantsync writes ({}); update the baseline", diff.join("; "));
}

/// Prints the rows both sides wrote, the commit sizes, each round, and the medians;
/// ratios are raw time ÷ tenantsync time within a round (1.00x: as fast as raw, higher
/// is better), then their median.
pub fn report(what: &str, rounds: &[Round]) {
    let Some(first) = rounds.first() else { return };
    let (o, r) = (&first.ours.written, &first.raw.written);
    let pair = |a: u64, b: u64| format!("{} | {}", thousands(a), thousands(b));
    println!("{what}: {} rounds alternating tenantsync, raw baseline{}", rounds.len(), if first.against.is_some() { ", --against build" } else { "" });
    println!("rows written per run (tenantsync | raw):");
    println!(
        "  users {} (with a manager {}, with an anchor {})",
        pair(o.users, r.users),
        pair(o.with_manager, r.with_manager),
        pair(o.with_anchor, r.with_anchor)
    );
    println!("  change rows {} (creates {})", pair(o.changes, r.changes), pair(o.creates, r.creates));
    if o.log_records + r.log_records > 0 {
        let per = |w: &Written| w.log_body_bytes as f64 / w.log_records.max(1) as f64;
        println!(
            "  provisioning-log blocks {} holding {} records, {} body bytes ({:.0} | {:.0} per record), object rows {}",
            pair(o.log_blocks, r.log_blocks),
            pair(o.log_records, r.log_records),
            pair(o.log_body_bytes, r.log_body_bytes),
            per(o),
            per(r),
            pair(o.log_objects, r.log_objects)
        );
    }
    println!("  user rows identical (digest of every column, ids and times left out): {}", if o.digest == r.digest { "yes" } else { "NO" });
    println!("transactions, users per commit: tenantsync {} | raw {}", commits_summary(&o.commits), commits_summary(&r.commits));
    if let Some(a) = &first.against {
        let diff = o.differences(&a.written);
        let same = if diff.is_empty() { "the same rows".to_owned() } else { format!("NOT the same rows ({})", diff.join("; ")) };
        println!("--against build: {same}; users per commit {}", commits_summary(&a.written.commits));
    }
    println!(
        "per user: wall|CPU time in us (CPU: user + system of the side's own process); ratio: raw ÷ tenantsync within the round (1.00x: as fast as raw, higher is better)"
    );
    println!(
        "{:<5} {:<16} {:>22} {:>22} {:>13}{}",
        "run",
        "load 1/5/15 min",
        "tenantsync wall|CPU",
        "raw wall|CPU",
        "ratio wall|CPU",
        if first.against.is_some() { "     --against wall|CPU  ratio wall|CPU  CPU against/this" } else { "" }
    );
    let cell = |t: &Timed| format!("{:.2}|{:.2} us/user", t.wall_us(), t.cpu_us());
    let ratio = |raw: &Timed, t: &Timed| (raw.wall_s / t.wall_s, raw.cpu_s / t.cpu_s);
    for (i, round) in rounds.iter().enumerate() {
        let (w, c) = ratio(&round.raw, &round.ours);
        let extra = round.against.as_ref().map_or(String::new(), |a| {
            let (aw, ac) = ratio(&round.raw, a);
            format!("  {:>22} {:>7.2}|{:.2}x {:>12.2}x", cell(a), aw, ac, a.cpu_s / round.ours.cpu_s)
        });
        println!("{:<5} {:<16} {:>22} {:>22} {:>8.2}|{:.2}x{extra}", i + 1, round.load, cell(&round.ours), cell(&round.raw), w, c);
    }
    let med = |f: &dyn Fn(&Round) -> f64| median(rounds.iter().map(f).collect());
    let ours = format!("{:.2}|{:.2} us/user", med(&|x| x.ours.wall_us()), med(&|x| x.ours.cpu_us()));
    let raw = format!("{:.2}|{:.2} us/user", med(&|x| x.raw.wall_us()), med(&|x| x.raw.cpu_us()));
    let extra = if first.against.is_some() {
        let a = |f: fn(&Timed) -> f64| med(&|x: &Round| x.against.as_ref().map_or(0.0, f));
        format!(
            "  {:>22} {:>7.2}|{:.2}x {:>12.2}x",
            format!("{:.2}|{:.2} us/user", a(Timed::wall_us), a(Timed::cpu_us)),
            med(&|x| x.against.as_ref().map_or(0.0, |t| x.raw.wall_s / t.wall_s)),
            med(&|x| x.against.as_ref().map_or(0.0, |t| x.raw.cpu_s / t.cpu_s)),
            med(&|x| x.against.as_ref().map_or(0.0, |t| t.cpu_s / x.ours.cpu_s))
        )
    } else {
        String::new()
    };
    println!(
        "{:<5} {:<16} {:>22} {:>22} {:>8.2}|{:.2}x{extra}",
        "med",
        "",
        ours,
        raw,
        med(&|x| x.raw.wall_s / x.ours.wall_s),
        med(&|x| x.raw.cpu_s / x.ours.cpu_s)
    );
    if rounds.iter().all(|x| x.ours.writer_cpu_s.is_some()) {
        let each = |f: &dyn Fn(&Round) -> f64| rounds.iter().map(|x| format!("{:.2}", f(x))).collect::<Vec<_>>().join(" / ");
        let writer = |x: &Round| x.ours.writer_cpu_us().unwrap_or(0.0);
        let ratio = |x: &Round| x.raw.cpu_us() / writer(x);
        println!(
            "tenantsync's writer thread alone: CPU {} us/user (median {:.2}); raw ÷ writer thread within the round {}x (median {:.2}x)",
            each(&writer),
            med(&writer),
            each(&ratio),
            med(&ratio)
        );
    }
    if rounds.iter().all(|x| x.ours.sys_s.is_some() && x.raw.sys_s.is_some()) {
        let sys = |t: &Timed| t.sys_us().unwrap_or(0.0);
        let faults = |t: &Timed| t.faults_per_user().unwrap_or(0.0);
        // Where the sync's kernel time is spent: its writer thread, or the others.
        let on_writer = match rounds.iter().all(|x| x.ours.writer_sys_s.is_some()) {
            true => format!(" (its writer thread {:.2})", med(&|x| x.ours.writer_sys_us().unwrap_or(0.0))),
            false => String::new(),
        };
        println!(
            "of the CPU, the kernel's (system time): tenantsync {:.2} us/user{on_writer}, raw {:.2} (medians); minor page faults per user: tenantsync {:.3}, raw {:.3}",
            med(&|x| sys(&x.ours)),
            med(&|x| sys(&x.raw)),
            med(&|x| faults(&x.ours)),
            med(&|x| faults(&x.raw))
        );
    }
    println!(
        "medians in users/s: tenantsync {:.0}, raw {:.0}; CPU seconds: tenantsync {:.2}, raw {:.2}",
        med(&|x| x.ours.users_per_s()),
        med(&|x| x.raw.users_per_s()),
        med(&|x| x.ours.cpu_s),
        med(&|x| x.raw.cpu_s)
    );
}

/// Runs `exe` as a child with `args` and `--dir <a fresh temporary directory>`, and
/// parses the last line it prints.
pub fn child<T: for<'de> Deserialize<'de>>(exe: &Path, args: &[String]) -> T {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(exe).args(args).arg("--dir").arg(dir.path()).output().unwrap();
    assert!(out.status.success(), "{} {args:?} failed: {}", exe.display(), String::from_utf8_lossy(&out.stderr));
    let line = String::from_utf8_lossy(&out.stdout).lines().last().unwrap_or_default().to_owned();
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{} {args:?} printed {line:?}: {e}", exe.display()))
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

/// The middle value; of an even count, the mean of the two middle ones.
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
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

/// A raw read-write connection with the settings of the store's writer connection.
pub fn open_raw(db: &Path) -> Connection {
    let conn = Connection::open(db).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn.pragma_update(None, "foreign_keys", true).unwrap();
    conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
    conn.pragma_update(None, "cache_size", -tenantsync_store_sqlite::WRITER_CACHE_KIB).unwrap();
    conn.pragma_update(None, "temp_store", "MEMORY").unwrap();
    conn.pragma_update(None, "wal_autocheckpoint", tenantsync_store_sqlite::WAL_AUTOCHECKPOINT_PAGES).unwrap();
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true).unwrap();
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode.to_ascii_lowercase(), "wal");
    conn
}

/// Sets the tenant's change head, as a commit of the store's write path does.
pub fn set_head(conn: &Connection, tenant: &[u8; 16], head: u64) {
    conn.prepare_cached("UPDATE tenants SET change_head = ?1 WHERE id = ?2").unwrap().execute(params![head as i64, tenant]).unwrap();
}

/// A run's commit sizes from the commit notices a store sent for `tenant` since `rx` was
/// subscribed (each notice carries the tenant's change head after a commit; every user
/// written is one change).
pub fn commits_from_notices(
    rx: &mut tokio::sync::broadcast::Receiver<tenantsync_store::CommitNotice>,
    tenant: tenantsync_domain::TenantId,
    head0: u64,
) -> Vec<u64> {
    let mut out = Vec::new();
    let mut last = head0;
    loop {
        match rx.try_recv() {
            Ok(n) if n.tenant_id == tenant => {
                out.push(n.head.0 - last);
                last = n.head.0;
            }
            Ok(_) => {}
            Err(tokio::sync::broadcast::error::TryRecvError::Lagged(_)) => panic!("missed commit notices"),
            Err(_) => return out,
        }
    }
}

/// Every kind of access a partner may allow, allowed.
pub const ALLOW: tenantsync_domain::PartnerSettings = tenantsync_domain::PartnerSettings {
    inbound_auto_redeem: Some(true),
    outbound_auto_redeem: Some(true),
    inbound_user_sync: Some(true),
    inbound_group_sync: Some(true),
};

/// A tenant that allows everything by default.
pub async fn tenant(store: &tenantsync_store_sqlite::SqliteStore, name: &str, domain: &str) -> tenantsync_domain::Tenant {
    use tenantsync_store::{Store, SyncStore};
    let t = store.create_tenant(tenantsync_domain::NewTenant::new(name, domain).unwrap()).await.unwrap();
    store.set_partner_settings(t.id, None, ALLOW).await.unwrap();
    t
}

/// The source tenant (Contoso) filled with `users` generated users through the import path.
pub async fn source(store: &tenantsync_store_sqlite::SqliteStore, dir: &Path, users: usize) -> tenantsync_domain::Tenant {
    use tenantsync_cli::import::{ImportOptions, import_users};
    let s = tenant(store, "Contoso", DOMAIN).await;
    let csv = dir.join("source.csv");
    generate::write_csv(std::io::BufWriter::new(std::fs::File::create(&csv).unwrap()), generate::users(1, users, DOMAIN, "Contoso", true)).unwrap();
    let report = import_users(store, s.id, &csv, &ImportOptions::default(), &mut |_| {}).await.unwrap();
    assert_eq!(report.imported as usize, users);
    std::fs::remove_file(&csv).unwrap();
    s
}
