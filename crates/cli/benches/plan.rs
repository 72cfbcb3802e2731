//! `tenantsync plan` on a mesh: T tenants of N generated users each, every tenant syncing
//! all its users to every other (T·(T−1) arrows), all allowed. Each round, in a fresh data
//! directory: the tenants are created and filled (not timed), then **`plan`** of the mesh
//! file is timed — it predicts the initial cycle of every arrow through the engine's dry
//! run —, then the file is applied and the **initial cycle of one arrow** is timed (the
//! same planning, with the writes). Both run as child processes of the real binary; their
//! CPU time is `getrusage(RUSAGE_CHILDREN)` around each.
//!
//! ```sh
//! cargo bench -p tenantsync --bench plan                          # 10 tenants × 100,000 users, 1 round
//! cargo bench -p tenantsync --bench plan -- --users 10000 --runs 3
//! ```
//!
//! Without `--bench` (as `cargo test --all-targets` runs it) it is a smoke run of 3
//! tenants × 200 users.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, clippy::print_stdout)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;
use tenantsync_cli::generate;

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

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bench = args.iter().any(|a| a == "--bench");
    let num = |name: &str, full: usize, smoke: usize| arg(&args, name).map_or(if bench { full } else { smoke }, |s| s.parse().unwrap());
    let (users, tenants, runs) = (num("--users", 100_000, 200), num("--tenants", 10, 3), num("--runs", 1, 1));
    let arrows = tenants * (tenants - 1);
    println!("plan of a {tenants}-tenant mesh ({arrows} arrows), {users} users per tenant, {runs} round(s)");
    let (mut plan_wall, mut plan_cpu, mut cycle_wall, mut cycle_cpu) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..runs {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let mut file = String::new();
        let mut members = Vec::new();
        for t in 0..tenants {
            let domain = format!("t{t}.example");
            assert_eq!(run(&data, &["tenant", "create", "--name", &format!("T{t}"), "--domain", &domain]).0, 0);
            let csv = dir.path().join(format!("{domain}.csv"));
            generate::write_csv(std::fs::File::create(&csv).unwrap(), generate::users(t as u64 + 1, users, &domain, &format!("T{t}"), false)).unwrap();
            assert_eq!(run(&data, &["import", "users", "-t", &domain, csv.to_str().unwrap()]).0, 0);
            file.push_str(&format!("[[tenants]]\nname = \"T{t}\"\ndomain = \"{domain}\"\n\n"));
            file.push_str(&format!(
                "[[partner]]\ntenant = \"{domain}\"\ninbound_user_sync = true\ninbound_auto_redeem = true\noutbound_auto_redeem = true\n\n"
            ));
            members.push(format!("\"{domain}\""));
        }
        file.push_str(&format!("[[mesh]]\nmembers = [{}]\nsettings = {{ scope = \"all\" }}\n", members.join(", ")));
        let path = dir.path().join("mesh.toml");
        std::fs::write(&path, file).unwrap();
        let path = path.to_str().unwrap();

        let (code, wall, cpu) = run(&data, &["plan", path]);
        assert_eq!(code, 2, "plan: changes pending");
        plan_wall.push(wall);
        plan_cpu.push(cpu);
        assert_eq!(run(&data, &["apply", path]).0, 0);
        let (code, wall, cpu) = run(&data, &["sync", "run", "t0.example:t1.example"]);
        assert_eq!(code, 0, "the initial cycle");
        cycle_wall.push(wall);
        cycle_cpu.push(cpu);
        let (pw, pc) = (plan_wall[round], plan_cpu[round]);
        let (apw, apc) = (pw / arrows as f64, pc / arrows as f64);
        println!(
            "round {}: plan {pw:.2} s wall, {pc:.2} s CPU ({apw:.3} s / {apc:.3} s per arrow); initial cycle of one arrow {wall:.2} s wall, {cpu:.2} s CPU",
            round + 1
        );
    }
    let (pw, pc, cw, cc) = (median(plan_wall), median(plan_cpu), median(cycle_wall), median(cycle_cpu));
    let per = arrows as f64;
    println!("medians: plan {pw:.2} s wall, {pc:.2} s CPU = {:.3} s wall, {:.3} s CPU per arrow", pw / per, pc / per);
    println!("         initial cycle of one arrow {cw:.2} s wall, {cc:.2} s CPU");
    println!("         per arrow, plan ÷ initial cycle: {:.2}× wall, {:.2}× CPU (below 1: plan is faster)", pw / per / cw, pc / per / cc);
}
