//! Import reads lines of at most 1 MiB: a longer one (or a file without line breaks, such
//! as /dev/zero) stops the import with its file and line, in one line, exit 1, and nothing
//! of its unit is written — instead of memory growing with the line.
use crate::support::{Env, path_str};
use std::io::Read;
use std::time::Duration;

fn users(env: &Env) -> usize {
    env.json(&["user", "list", "-t", "contoso.example", "--show", "all", "--limit", "1000"])["value"].as_array().unwrap().len()
}

/// Runs an import and expects the one-line `line_too_long` failure naming `file:line`.
fn too_long(env: &Env, args: &[&str], at: &str) {
    let r = env.run(args);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains(&format!("{at}: the line is longer than 1048576 bytes")), "{}", r.stderr);
    assert!(r.stderr.trim_end().ends_with("[line_too_long]"), "{}", r.stderr);
}

#[test]
fn a_csv_record_or_json_line_over_1_mib_stops_the_import_at_its_line() {
    let env = Env::new();
    env.contoso();
    let long = "x".repeat(2 << 20);
    let csv = env.file("users.csv", &format!("userPrincipalName,displayName\na@contoso.example,A\nb@contoso.example,{long}\nc@contoso.example,C\n"));
    too_long(&env, &["import", "users", "-t", "contoso.example", path_str(&csv), "--quiet"], &format!("{}:3", path_str(&csv)));
    // Lines are counted as the file has them, quoted line breaks of earlier rows included.
    let after = env.file("after.csv", &format!("userPrincipalName,displayName\na@contoso.example,\"two\nlines\"\nb@contoso.example,{long}\n"));
    too_long(&env, &["import", "users", "-t", "contoso.example", path_str(&after), "--quiet"], &format!("{}:4", path_str(&after)));
    // A quoted field with line breaks counts as one record: many short lines, one record.
    let quoted = format!("userPrincipalName,displayName\na@contoso.example,\"{}\"\n", "y\n".repeat(600_000));
    let quoted = env.file("quoted.csv", &quoted);
    too_long(&env, &["import", "users", "-t", "contoso.example", path_str(&quoted), "--quiet"], &format!("{}:2", path_str(&quoted)));
    let jsonl = env.file(
        "users.jsonl",
        &format!("{{\"userPrincipalName\":\"a@contoso.example\"}}\n{{\"userPrincipalName\":\"b@contoso.example\",\"displayName\":\"{long}\"}}\n"),
    );
    too_long(&env, &["import", "users", "-t", "contoso.example", path_str(&jsonl), "--quiet"], &format!("{}:2", path_str(&jsonl)));
    // In units too, nothing of the unit holding the line is written.
    too_long(&env, &["import", "users", "-t", "contoso.example", path_str(&jsonl), "--batch-size", "1", "--quiet"], &format!("{}:2", path_str(&jsonl)));
    assert_eq!(users(&env), 0);
    // A line just under the limit is read (and judged as a row: this one is too long a name).
    let under = env.file("under.csv", &format!("userPrincipalName,displayName\na@contoso.example,{}\n", "z".repeat((1 << 20) - 40)));
    let r = env.run(&["import", "users", "-t", "contoso.example", path_str(&under), "--quiet"]);
    assert!(r.stderr.contains("[invalid_attribute_value]") && !r.stderr.contains("line_too_long"), "{}", r.stderr);
}

#[test]
fn dev_zero_is_refused_quickly_with_flat_memory() {
    let env = Env::new();
    env.contoso();
    for format in ["csv", "jsonl"] {
        let mut child = env
            .cmd()
            .args(["import", "users", "-t", "contoso.example", "--format", format, "/dev/zero", "--quiet"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // A bound, not a timing: before the cap this ran until memory ran out.
        let mut ended = None;
        for _ in 0..1200 {
            if let Some(status) = child.try_wait().unwrap() {
                ended = Some(status);
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let Some(status) = ended else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("importing /dev/zero as {format} did not stop within a minute");
        };
        let mut stderr = String::new();
        child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
        assert_eq!(status.code(), Some(1), "{stderr}");
        assert_eq!(
            stderr.trim(),
            "error: /dev/zero:1: the line is longer than 1048576 bytes (1 MiB), the longest an import reads; nothing was imported [line_too_long]"
        );
    }
    assert_eq!(users(&env), 0);
}
