//! CPU time of processes, read from `/proc`, for the benchmarks' figures of a server's
//! side (the test cluster's PostgreSQL, slapd, a `serve` child): load-independent where
//! wall time is not.
use std::path::Path;

/// CPU seconds (user + system, all threads) of process `pid` (`"self"` for this one) from
/// `/proc/<pid>/stat`; with `children`, also those of the children it waited for. 0 for
/// a process that is gone.
pub fn process(pid: &str, children: bool) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return 0.0 };
    // Fields after the command name (which may hold spaces) start at state (field 3).
    let Some((_, rest)) = stat.rsplit_once(')') else { return 0.0 };
    let f: Vec<f64> = rest.split_whitespace().map(|x| x.parse().unwrap_or(0.0)).collect();
    let at = |i: usize| f.get(i).copied().unwrap_or(0.0);
    // utime 14, stime 15, cutime 16, cstime 17 (1-based) = indices 11..=14 here; USER_HZ 100.
    (at(11) + at(12) + if children { at(13) + at(14) } else { 0.0 }) / 100.0
}

/// CPU seconds of the PostgreSQL cluster in `dir` (its `data/postmaster.pid`): the
/// postmaster, the processes it waited for, and its live children (backends, writers,
/// checkpointer, autovacuum).
pub fn cluster(dir: &Path) -> f64 {
    let pid_file = std::fs::read_to_string(dir.join("data/postmaster.pid")).unwrap_or_default();
    let Some(postmaster) = pid_file.lines().next().map(str::trim).map(str::to_owned) else { return 0.0 };
    let mut total = process(&postmaster, true);
    let Ok(entries) = std::fs::read_dir("/proc") else { return total };
    for entry in entries.flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        let ppid = stat.rsplit_once(')').and_then(|(_, r)| r.split_whitespace().nth(1)).unwrap_or("");
        if ppid == postmaster {
            total += process(&pid, false);
        }
    }
    total
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_process_has_spent_some_cpu_and_a_missing_one_none() {
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        assert!(x != 1);
        assert!(super::process("self", false) > 0.0);
        assert_eq!(super::process("0", false), 0.0);
        assert_eq!(super::cluster(std::path::Path::new("/nonexistent")), 0.0);
    }
}
