//! `tenantsync plan` on a mesh against the planning phase of the initial cycles it
//! predicts, in the same run (divan). T tenants of N generated users each, every tenant
//! syncing all its users to every other (T·(T−1) arrows, all allowed), are built once (not
//! timed) in two copies of one data directory:
//!
//! - **`plan`**: `tenantsync plan FILE` of the mesh on the copy where nothing is applied
//!   yet, as a child process of the release binary: it predicts the initial cycle of
//!   every arrow (`Engine::predict_all`). Wall, and CPU time of the child
//!   (`getrusage(RUSAGE_CHILDREN)`).
//! - **`initial_cycle`**: on the copy where the file is applied, the real initial cycle
//!   of one arrow after another (`Engine::run_cycle`, in this process, on one thread):
//!   wall, and the CPU time of its planning side — the process's CPU time less that of
//!   the store's writer thread, which makes the writes a prediction leaves out.
//!
//! After the samples it prints the medians, per arrow, and plan ÷ cycle per arrow.
//!
//! ```sh
//! cargo bench -p tenantsync --bench plan                                   # 10 tenants × 100,000 users, 1 sample each
//! cargo bench -p tenantsync --bench plan -- --tenants 10 --users 10000 --runs 3
//! ```
//!
//! Without `--bench` (as `cargo test --all-targets` runs it) each runs once on 3 tenants ×
//! 200 users.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, clippy::print_stdout)]

mod common;

use common::{WRITER_THREAD, cpu_seconds, loadavg, thread_cpu_seconds};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;
use tenantsync_cli::generate;
use tenantsync_engine::Engine;
use tenantsync_store::SyncStore;
use tenantsync_store_sqlite::SqliteStore;

/// The sizes asked for.
#[derive(Debug, Clone, Copy)]
struct Sizes {
    tenants: usize,
    users: usize,
    runs: u32,
}

static SIZES: OnceLock<Sizes> = OnceLock::new();
static WORLD: OnceLock<World> = OnceLock::new();

/// The mesh, built once.
struct World {
    _dir: tempfile::TempDir,
    /// Tenants and users, nothing applied.
    fresh: PathBuf,
    /// The same, with the mesh file applied.
    applied: PathBuf,
    file: PathBuf,
    arrows: usize,
    /// The next arrow whose initial cycle `initial_cycle` runs.
    next: AtomicUsize,
    /// (wall, CPU) of each `plan`; (wall, planning CPU) of each initial cycle.
    plans: Mutex<Vec<(f64, f64)>>,
    cycles: Mutex<Vec<(f64, f64)>>,
    load: Mutex<Vec<String>>,
}

/// CPU seconds of every waited-for child so far.
fn children_cpu() -> f64 {
    use nix::sys::resource::{UsageWho, getrusage};
    use nix::sys::time::TimeValLike;
    getrusage(UsageWho::RUSAGE_CHILDREN).map_or(0.0, |u| (u.user_time().num_microseconds() + u.system_time().num_microseconds()) as f64 / 1e6)
}

/// Runs the binary on `data`; returns its exit code, wall and CPU seconds.
fn run(data: &Path, args: &[&str]) -> (i32, f64, f64) {
    let (cpu, t0) = (children_cpu(), Instant::now());
    let status = Command::new(env!("CARGO_BIN_EXE_tenantsync")).arg("--data-dir").arg(data).args(args).stdout(Stdio::null()).status().unwrap();
    (status.code().unwrap_or(-1), t0.elapsed().as_secs_f64(), children_cpu() - cpu)
}

fn world() -> &'static World {
    WORLD.get_or_init(|| {
        let Sizes { tenants, users, .. } = *SIZES.get().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let fresh = dir.path().join("fresh");
        let mut file = String::new();
        let mut members = Vec::new();
        for t in 0..tenants {
            let domain = format!("t{t}.example");
            assert_eq!(run(&fresh, &["tenant", "create", "--name", &format!("T{t}"), "--domain", &domain]).0, 0);
            let csv = dir.path().join(format!("{domain}.csv"));
            generate::write_csv(std::fs::File::create(&csv).unwrap(), generate::users(t as u64 + 1, users, &domain, &format!("T{t}"), false)).unwrap();
            assert_eq!(run(&fresh, &["import", "users", "-t", &domain, csv.to_str().unwrap()]).0, 0);
            std::fs::remove_file(&csv).unwrap();
            file.push_str(&format!("[[tenants]]\nname = \"T{t}\"\ndomain = \"{domain}\"\n\n"));
            file.push_str(&format!(
                "[[partner]]\ntenant = \"{domain}\"\ninbound_user_sync = true\ninbound_auto_redeem = true\noutbound_auto_redeem = true\n\n"
            ));
            members.push(format!("\"{domain}\""));
        }
        file.push_str(&format!("[[mesh]]\nmembers = [{}]\nsettings = {{ scope = \"all\" }}\n", members.join(", ")));
        let path = dir.path().join("mesh.toml");
        std::fs::write(&path, file).unwrap();
        let applied = dir.path().join("applied");
        assert!(Command::new("cp").arg("-r").arg(&fresh).arg(&applied).status().unwrap().success());
        assert_eq!(run(&applied, &["apply", path.to_str().unwrap()]).0, 0);
        World {
            _dir: dir,
            fresh,
            applied,
            file: path,
            arrows: tenants * (tenants - 1),
            next: AtomicUsize::new(0),
            plans: Mutex::default(),
            cycles: Mutex::default(),
            load: Mutex::default(),
        }
    })
}

/// `tenantsync plan` of the whole mesh.
#[divan::bench]
fn plan(b: divan::Bencher<'_, '_>) {
    let w = world();
    b.bench_local(|| {
        w.load.lock().unwrap().push(loadavg());
        let (code, wall, cpu) = run(&w.fresh, &["plan", w.file.to_str().unwrap()]);
        assert_eq!(code, 2, "plan: changes pending");
        w.plans.lock().unwrap().push((wall, cpu));
    });
}

/// The initial cycle of one arrow of the applied mesh (the next one not run yet).
#[divan::bench]
fn initial_cycle(b: divan::Bencher<'_, '_>) {
    let w = world();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (store, configs) = rt.block_on(async {
        let store = Arc::new(SqliteStore::open(&w.applied).unwrap());
        let mut configs = store.list_sync_configurations().await.unwrap();
        configs.sort_by_key(|c| c.display_name.clone());
        (store, configs)
    });
    let engine = Engine::new(store);
    b.bench_local(|| {
        let c = &configs[w.next.fetch_add(1, Ordering::Relaxed) % configs.len()];
        let (t0, cpu0, writer0) = (Instant::now(), cpu_seconds(), thread_cpu_seconds(WRITER_THREAD));
        let report = rt.block_on(engine.run_cycle(c.id)).unwrap();
        let (wall, cpu) = (t0.elapsed().as_secs_f64(), cpu_seconds() - cpu0);
        let writer = thread_cpu_seconds(WRITER_THREAD).zip(writer0).map_or(0.0, |(a, b)| a - b);
        assert!(report.initial && report.created > 0, "an initial cycle that creates: {report:?}");
        w.cycles.lock().unwrap().push((wall, cpu - writer));
    });
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bench = args.iter().any(|a| a == "--bench");
    let num = |name: &str, full: usize, smoke: usize| arg(&args, name).map_or(if bench { full } else { smoke }, |s| s.parse().unwrap());
    let sizes = Sizes { tenants: num("--tenants", 10, 3), users: num("--users", 100_000, 200), runs: num("--runs", 1, 1) as u32 };
    SIZES.set(sizes).unwrap();
    // Sizes are this bench's own arguments: divan is configured here, not from them.
    let divan = divan::Divan::default().sample_count(sizes.runs).sample_size(1);
    if bench {
        divan.run_benches()
    } else {
        divan.test_benches()
    }
    let Some(w) = WORLD.get() else { return };
    let (plans, cycles) = (w.plans.lock().unwrap().clone(), w.cycles.lock().unwrap().clone());
    let col = |v: &[(f64, f64)], f: fn(&(f64, f64)) -> f64| median(&v.iter().map(f).collect::<Vec<_>>());
    let (pw, pc) = (col(&plans, |x| x.0), col(&plans, |x| x.1));
    let (cw, cc) = (col(&cycles, |x| x.0), col(&cycles, |x| x.1));
    let n = w.arrows as f64;
    println!(
        "{}-tenant mesh, {} users per tenant, {} arrows; load averages at each plan: {}",
        sizes.tenants,
        sizes.users,
        w.arrows,
        w.load.lock().unwrap().join(" | ")
    );
    println!("plan (every arrow predicted): median {pw:.2} s wall, {pc:.2} s CPU = {:.3} s wall, {:.3} s CPU per arrow", pw / n, pc / n);
    println!("initial cycle of one arrow: median {cw:.2} s wall, planning side {cc:.3} s CPU ({} cycles)", cycles.len());
    println!("per arrow, plan ÷ initial cycle's planning: {:.2}x CPU, {:.2}x wall (below 1: plan is faster)", pc / n / cc, pw / n / cw);
}
