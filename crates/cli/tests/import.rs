//! Bulk import: formats, line numbers, the atomic unit.
use crate::support::{Env, path_str};

fn users(env: &Env) -> usize {
    env.json(&["user", "list", "-t", "contoso.example", "--show", "all", "--limit", "1000"])["value"].as_array().unwrap().len()
}

fn changes(env: &Env) -> usize {
    env.json(&["changes", "-t", "contoso.example", "--limit", "1000"])["changes"].as_array().unwrap().len()
}

#[test]
fn csv_import_with_forward_manager_references() {
    let env = Env::new();
    env.contoso();
    let f = env.file(
        "users.csv",
        "userPrincipalName,displayName,department,accountEnabled,manager,extension_0123456789abcdef0123456789abcdef_costCenter\n\
         bob@contoso.example,Bob,Sales,true,alice@contoso.example,CC1\n\
         alice@contoso.example,\"Liddell, Alice\",Sales,false,,\n",
    );
    let out = env.ok(&["import", "users", "-t", "contoso.example", path_str(&f), "--quiet"]);
    assert!(out.contains("imported 2 users"), "{out}");
    let alice = env.json(&["user", "show", "-t", "contoso.example", "alice@contoso.example"]);
    assert_eq!(alice["displayName"], "Liddell, Alice");
    assert_eq!(alice["accountEnabled"], false);
    let bob = env.json(&["user", "show", "-t", "contoso.example", "bob@contoso.example"]);
    assert_eq!(bob["manager"], alice["id"]);
    assert_eq!(bob["extension_0123456789abcdef0123456789abcdef_costCenter"], "CC1");
    assert_eq!(changes(&env), 2);
}

#[test]
fn jsonl_import_with_lists_and_booleans() {
    let env = Env::new();
    env.contoso();
    let f = env.file(
        "users.jsonl",
        "{\"userPrincipalName\":\"alice@contoso.example\",\"accountEnabled\":false,\"employeeId\":1234,\"extension_0123456789abcdef0123456789abcdef_skills\":[\"rust\",\"sql\"]}\n\n\
         {\"userPrincipalName\":\"bob@contoso.example\",\"mail\":null,\"userType\":\"Guest\"}\n",
    );
    let out = env.json(&["import", "users", "-t", "contoso.example", path_str(&f), "--quiet"]);
    assert_eq!(out["imported"], 2);
    let alice = env.json(&["user", "show", "-t", "contoso.example", "alice@contoso.example"]);
    assert_eq!(alice["employeeId"], "1234");
    assert_eq!(alice["extension_0123456789abcdef0123456789abcdef_skills"], serde_json::json!(["rust", "sql"]));
    assert_eq!(env.json(&["user", "show", "-t", "contoso.example", "bob@contoso.example"])["userType"], "Guest");
}

#[test]
fn a_bad_row_anywhere_means_nothing_is_written_and_every_bad_line_is_named() {
    let env = Env::new();
    env.contoso();
    env.ok(&["user", "create", "-t", "contoso.example", "--upn", "taken@contoso.example"]);
    let f = env.file(
        "users.csv",
        "userPrincipalName,mail,usageLocation\n\
         ok1@contoso.example,ok1@contoso.example,US\n\
         not-a-upn,,\n\
         ok2@contoso.example,not-a-mail,\n\
         TAKEN@contoso.example,,\n\
         ok3@contoso.example,,\n\
         ok3@contoso.example,,NOR\n\
         dup@contoso.example,,\n\
         DUP@contoso.example,,\n",
    );
    let r = env.run(&["import", "users", "-t", "contoso.example", path_str(&f), "--quiet"]);
    assert_eq!(r.code, 1);
    let stderr = env.scrub(&r.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 6, "{stderr}");
    assert!(lines[0].starts_with("<tmp>/users.csv:3: invalid userPrincipalName 'not-a-upn'"), "{stderr}");
    assert!(lines[0].ends_with("[invalid_upn]"));
    assert!(lines[1].starts_with("<tmp>/users.csv:4: invalid mail 'not-a-mail'"), "{stderr}");
    assert!(lines[2].starts_with("<tmp>/users.csv:5: userPrincipalName 'TAKEN@contoso.example' is already used"), "{stderr}");
    assert!(lines[3].starts_with("<tmp>/users.csv:7: attribute 'usageLocation'"), "{stderr}");
    assert!(lines[4].starts_with("<tmp>/users.csv:9: userPrincipalName 'DUP@contoso.example' is already used"), "{stderr}");
    assert_eq!(lines[5], "error: <tmp>/users.csv:3: 5 bad rows; nothing was imported [import_rejected]");
    assert_eq!(users(&env), 1);
    assert_eq!(changes(&env), 1);
}

#[test]
fn with_a_batch_size_earlier_batches_stay_and_the_report_says_so() {
    let env = Env::new();
    env.contoso();
    let mut csv = String::from("userPrincipalName\n");
    for i in 0..10 {
        csv.push_str(&format!("u{i}@contoso.example\n"));
    }
    csv.push_str("u3@contoso.example\n");
    for i in 10..15 {
        csv.push_str(&format!("u{i}@contoso.example\n"));
    }
    let f = env.file("users.csv", &csv);
    let r = env.run(&["import", "users", "-t", "contoso.example", path_str(&f), "--batch-size", "4", "--quiet"]);
    assert_eq!(r.code, 1);
    let last = r.stderr.lines().last().unwrap().to_owned();
    // Rows are lines 2..; the bad row is line 12, in the third batch (lines 10-13).
    assert!(last.ends_with("1 bad row; 8 rows up to line 9 were imported, nothing after [import_rejected]"), "{last}");
    assert_eq!(users(&env), 8);
    assert_eq!(changes(&env), 8);
}

#[test]
fn header_problems_stop_before_anything_is_read() {
    let env = Env::new();
    env.contoso();
    for (content, expect) in [
        (
            "userPrincipalName,favouriteColour\nx@contoso.example,red\n",
            "users.csv:1: column 'favouriteColour': unknown attribute 'favouriteColour' [unknown_attribute]",
        ),
        ("userPrincipalName,id\n", "users.csv:1: column 'id': attribute 'id' is read-only [read_only_attribute]"),
        ("displayName\nAlice\n", "users.csv:1: there is no userPrincipalName column [missing_attribute]"),
        ("userPrincipalName,city,City\n", "users.csv:1: column 'City' appears twice [duplicate_column]"),
        (
            "userPrincipalName,extension_12_x\n",
            "users.csv:1: column 'extension_12_x': malformed extension attribute name 'extension_12_x': expected extension_<32 hex digits>_<name> [malformed_attribute_name]",
        ),
    ] {
        let f = env.file("users.csv", content);
        let r = env.run(&["import", "users", "-t", "contoso.example", path_str(&f), "--quiet"]);
        assert_eq!(r.code, 1);
        assert_eq!(env.scrub(r.stderr.trim()), format!("error: <tmp>/{expect}"));
    }
    assert_eq!(users(&env), 0);
}

#[test]
fn malformed_rows_are_named_by_line() {
    let env = Env::new();
    env.contoso();
    let f = env.file("users.csv", "userPrincipalName,city\na@contoso.example,Oslo\nb@contoso.example\n");
    let r = env.run(&["import", "users", "-t", "contoso.example", path_str(&f), "--quiet"]);
    assert!(env.scrub(&r.stderr).starts_with("<tmp>/users.csv:3: the row has 1 fields, the header 2 [malformed_row]"), "{}", r.stderr);
    let j = env.file("users.jsonl", "{\"userPrincipalName\":\"a@contoso.example\"}\n{oops\n[1]\n");
    let r = env.run(&["import", "users", "-t", "contoso.example", path_str(&j), "--quiet"]);
    let s = env.scrub(&r.stderr);
    assert!(s.contains("<tmp>/users.jsonl:2: not a JSON object"), "{s}");
    assert!(s.contains("<tmp>/users.jsonl:3: not a JSON object"), "{s}");
    assert_eq!(users(&env), 0);
}

#[test]
fn unknown_files_and_formats_are_errors() {
    let env = Env::new();
    env.contoso();
    let r = env.run(&["import", "users", "-t", "contoso.example", "/nonexistent/users.csv"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.starts_with("error: /nonexistent/users.csv: No such file"), "{}", r.stderr);
    let f = env.file("users.txt", "x");
    let r = env.run(&["import", "users", "-t", "contoso.example", path_str(&f)]);
    assert!(r.stderr.contains("unknown format"), "{}", r.stderr);
    let r = env.run(&["import", "users", "-t", "nowhere.example", path_str(&f)]);
    assert_eq!(r.stderr.trim(), "error: tenant 'nowhere.example': not found [tenant_not_found]");
}
