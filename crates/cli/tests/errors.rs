//! Bad input gets one clear line naming the object, a stable code, and exit code 1.
use crate::support::Env;
use tenantsync_domain::ErrorInfo;

#[test]
fn error_lines_for_bad_input() {
    let env = Env::new();
    env.contoso();
    env.ok(&["user", "create", "-t", "contoso.example", "--upn", "alice@contoso.example"]);
    let cases: &[&[&str]] = &[
        &["tenant", "create", "--name", "Again", "--domain", "CONTOSO.example"],
        &["tenant", "create", "--name", "Bad", "--domain", "contoso"],
        &["tenant", "create", "--name", " ", "--domain", "x.example"],
        &["tenant", "show", "nowhere.example"],
        &["user", "create", "-t", "contoso.example", "--upn", "not a upn"],
        &["user", "create", "-t", "contoso.example", "--upn", "ALICE@contoso.example"],
        &["user", "create", "-t", "contoso.example", "--upn", "bob@contoso.example", "--set", "mail=bob"],
        &["user", "create", "-t", "contoso.example", "--upn", "bob@contoso.example", "--manager", "nobody@contoso.example"],
        &["user", "create", "-t", "contoso.example", "--upn", "bob@contoso.example", "--set", "favouriteColour=red"],
        &["user", "create", "-t", "contoso.example", "--upn", "bob@contoso.example", "--set", "extension_abc_x=1"],
        &["user", "create", "-t", "contoso.example", "--upn", "bob@contoso.example", "--set", "id=x"],
        &["user", "create", "-t", "contoso.example", "--upn", "bob@contoso.example", "--set", "accountEnabled=maybe"],
        &["user", "create", "-t", "contoso.example", "--upn", "bob@contoso.example", "--set", "noequals"],
        &["user", "create", "-t", "contoso.example", "--upn", "bob@contoso.example", "--anchor", "x:y"],
        &["user", "update", "-t", "contoso.example", "alice@contoso.example", "--set", "city=Oslo", "--if-match", "7"],
        &["user", "update", "-t", "contoso.example", "alice@contoso.example", "--set", "manager=alice@contoso.example"],
        &["user", "restore", "-t", "contoso.example", "alice@contoso.example"],
        &["user", "show", "-t", "contoso.example", "ghost@contoso.example"],
        &["user", "show", "-t", "nowhere.example", "ghost@contoso.example"],
        &["group", "show", "-t", "contoso.example", "not-an-id"],
        &["group", "create", "-t", "contoso.example", "--name", ""],
        &["changes", "-t", "contoso.example", "--from", "x"],
        // Command lines clap refuses: the same one line, with a code.
        &["tenant", "create", "--name", "Minus", "--domain", "-a.example"],
        &["tenant", "create", "--name", "Minus", "--domain", "m.example", "--retention-days", "-1"],
        &["tenant", "update", "contoso.example", "--retention-days", "x"],
        &["tenant", "show", "two\nlines"],
        &["import", "users", "-t", "contoso.example", "people.csv", "--batch-size", "-1"],
        &["import", "users", "-t", "contoso.example", "people.csv", "--batch-size", "0"],
        &["user", "list", "-t", "contoso.example", "--limit", "0"],
        &["user", "list"],
        &["user", "lst", "-t", "contoso.example"],
        &["user", "create", "-t", "contoso.example", "--upn", "bob@contoso.example", "--if-match", "3"],
        &["frobnicate"],
        &["sync"],
        &["sync", "restart", "a.example:b.example", "--reset", "Watermark, Everything"],
        &["sync", "logs", "a.example:b.example", "--status", "fine"],
        &["sync", "logs", "a.example:b.example", "--since", "yesterday"],
        &["sync", "update", "a.example:b.example", "--deletion-threshold", "-5"],
        &["sync", "update", "a.example:b.example", "--quarantine-failure-percent", "101"],
        &["sync", "assign", "a.example:b.example", "--user", "u@a.example", "--group", "G"],
    ];
    let mut out = String::new();
    for args in cases {
        let r = env.run(args);
        assert_eq!(r.code, 1, "{args:?} should fail");
        assert!(r.stdout.is_empty(), "{args:?} printed {}", r.stdout);
        // One line each, whoever refused it (clap's usage errors too), ending in a code.
        let lines: Vec<&str> = r.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{args:?}: {}", r.stderr);
        let first = lines.first().copied().unwrap_or_default();
        assert!(first.starts_with("error: ") && first.ends_with(']'), "{args:?}: {first}");
        out.push_str(&format!("{} => {}\n", args.join(" ").replace('\n', "\\n"), env.scrub(first)));
    }
    // Only alice and nothing else was written by any of it.
    let users = env.json(&["user", "list", "-t", "contoso.example", "--show", "all"]);
    assert_eq!(users["value"].as_array().unwrap().len(), 1);
    assert_eq!(env.json(&["changes", "-t", "contoso.example"])["changes"].as_array().unwrap().len(), 1);
    insta::assert_snapshot!(out);
}

#[test]
fn help_and_version_are_clap_s_and_succeed() {
    let env = Env::new();
    for args in [&["--help"][..], &["sync", "restart", "--help"], &["--version"], &["user", "list", "-h"]] {
        let r = env.run(args);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        assert!(r.stderr.is_empty(), "{args:?}: {}", r.stderr);
        assert!(r.stdout.contains("Usage: ") || r.stdout.starts_with("tenantsync "), "{args:?}: {}", r.stdout);
    }
    // Closed sets are listed by --help, with the real default.
    // (clap wraps help to the terminal's width: compare words.)
    let words = |args: &[&str]| env.ok(args).split_whitespace().collect::<Vec<_>>().join(" ");
    let restart = words(&["sync", "restart", "--help"]);
    assert!(!restart.contains("[default: \"\"]"), "{restart}");
    assert!(restart.contains("Watermark,Escrows,QuarantineState") && restart.contains("ForceDeletes"), "{restart}");
    let logs = words(&["sync", "logs", "-h"]);
    assert!(logs.contains("[possible values: success, failure, skipped, warning]"), "{logs}");
}

/// Every argument of every command says what it is in --help.
#[test]
fn every_argument_has_help() {
    fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
        for a in cmd.get_arguments() {
            let id = a.get_id().as_str();
            if id != "help" && id != "version" && a.get_help().is_none_or(|h| h.to_string().trim().is_empty()) {
                missing.push(format!("{path} {id}"));
            }
        }
        for sub in cmd.get_subcommands() {
            walk(sub, &format!("{path} {}", sub.get_name()), missing);
        }
    }
    let mut missing = Vec::new();
    walk(&<tenantsync_cli::cli::Cli as clap::CommandFactory>::command(), "tenantsync", &mut missing);
    assert!(missing.is_empty(), "arguments without help: {missing:#?}");
}

#[test]
fn a_foreign_data_directory_is_refused_and_untouched() {
    let env = Env::new();
    std::fs::create_dir_all(env.data()).unwrap();
    std::fs::write(env.data().join("passwords.txt"), "secret").unwrap();
    let r = env.run(&["tenant", "list"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        env.scrub(r.stderr.trim()),
        "error: data directory '<tmp>/data': '<tmp>/data' is not a tenantsync data directory: it is not empty (it holds 'passwords.txt') and has no tenantsync.db [foreign_data_directory]"
    );
    assert_eq!(std::fs::read_dir(env.data()).unwrap().count(), 1);
}

#[test]
fn an_unreadable_data_directory_is_an_error() {
    let env = Env::new();
    let file = env.file("plain", "x");
    let r = std::process::Command::new(env!("CARGO_BIN_EXE_tenantsync")).arg("--data-dir").arg(&file).args(["tenant", "list"]).output().unwrap();
    assert_eq!(r.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&r.stderr).contains("[unreadable_data_directory]"));
}

/// The error tables of the code, by the name of their block in docs/errors.md.
fn error_tables() -> Vec<(&'static str, &'static [ErrorInfo])> {
    vec![
        ("domain", tenantsync_domain::DomainError::TABLE),
        ("store", tenantsync_store::StoreError::TABLE),
        ("engine", tenantsync_engine::EngineError::TABLE),
        ("expression", tenantsync_expression::Error::TABLE),
        ("access", tenantsync_access::AccessError::TABLE),
        ("governance", tenantsync_governance::GovernanceError::TABLE),
        ("connectors", tenantsync_connectors::ConnectorError::TABLE),
        ("scim", tenantsync_server::error::ScimCode::TABLE),
        ("graph", tenantsync_server::graph::error::GraphCode::TABLE),
        ("cli", tenantsync_cli::failure::CliCode::TABLE),
    ]
}

/// A table as docs/errors.md shows it.
fn markdown(rows: &[ErrorInfo]) -> String {
    let mut out = String::from("| code | HTTP | meaning |\n|---|---|---|\n");
    for r in rows {
        out.push_str(&format!("| `{}` | {} | {} |\n", r.code, r.status, r.meaning));
    }
    out
}

/// docs/errors.md shows the error tables of the code: each generated block holds the
/// table of one error type, as it is in the code. `TENANTSYNC_UPDATE_DOCS=1` rewrites the
/// blocks instead of checking them.
#[test]
fn the_error_tables_of_the_docs_are_those_of_the_code() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/errors.md");
    let mut doc = std::fs::read_to_string(&path).unwrap();
    let update = std::env::var_os("TENANTSYNC_UPDATE_DOCS").is_some();
    for (name, rows) in error_tables() {
        let head = format!("<!-- generated: {name} ");
        let start = doc.find(&head).unwrap_or_else(|| panic!("docs/errors.md has no generated block '{name}'"));
        let body = start + doc[start..].find("-->\n").unwrap() + 4;
        let end = body + doc[body..].find("<!-- end -->").unwrap();
        let want = markdown(rows);
        if update {
            doc.replace_range(body..end, &want);
        } else {
            assert_eq!(doc[body..end], want, "docs/errors.md: the '{name}' table differs from the code's (TENANTSYNC_UPDATE_DOCS=1 rewrites it)");
        }
    }
    if update {
        std::fs::write(&path, doc).unwrap();
    }
}

/// A code means one thing: it stands in one table, once, with one HTTP status.
#[test]
fn every_code_is_in_one_table_once() {
    let mut seen = std::collections::BTreeMap::new();
    for (name, rows) in error_tables() {
        for r in rows {
            assert!(r.code.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.'), "{name}: code '{}'", r.code);
            assert!((400..600).contains(&r.status), "{name}: '{}' has status {}", r.code, r.status);
            assert!(!r.meaning.is_empty(), "{name}: '{}' has no meaning", r.code);
            if let Some(other) = seen.insert(r.code, name) {
                panic!("code '{}' is in the tables '{other}' and '{name}'", r.code);
            }
        }
    }
}
