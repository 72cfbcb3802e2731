//! The benches that drive the `tenantsync` binary as a user would: a command's output,
//! a `serve` process and its address, and CPU time of processes this one started or waits
//! for (`getrusage` of the waited children, `/proc/PID/stat` of a running one).
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_tenantsync");

/// CPU seconds (user + system) of this process (`RUSAGE_SELF`) or of its waited-for
/// children together (`RUSAGE_CHILDREN`).
pub fn rusage(who: nix::sys::resource::UsageWho) -> f64 {
    use nix::sys::time::TimeValLike;
    nix::sys::resource::getrusage(who).map_or(0.0, |u| (u.user_time().num_microseconds() + u.system_time().num_microseconds()) as f64 / 1e6)
}

/// CPU seconds a running process has used (utime + stime of /proc/PID/stat).
pub fn proc_cpu(pid: u32) -> f64 {
    tenantsync_store_conformance::cpu::process(&pid.to_string(), false)
}

/// `tenantsync --data-dir DIR ARGS…`'s standard output; it must succeed.
pub fn ts(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(BIN).arg("--data-dir").arg(dir).args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// A `serve` process on `dir` (without the per-token rate limit, so a bench measures the
/// endpoint, not the limit) and its address, once it listens.
pub fn serve(dir: &Path) -> (Child, String) {
    let mut child = Command::new(BIN)
        .arg("--data-dir")
        .arg(dir)
        .args(["serve", "--listen", "127.0.0.1:0", "--rate-limit", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while out.read_line(&mut line).unwrap() > 0 && !line.contains("serving") {
        line.clear();
    }
    let addr = line.split("http://").nth(1).and_then(|r| r.split('/').next()).unwrap().to_owned();
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    (child, addr)
}
