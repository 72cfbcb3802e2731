//! Bad input gets one clear line naming the object, a stable code, and exit code 1.
use crate::support::Env;

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
    ];
    let mut out = String::new();
    for args in cases {
        let r = env.run(args);
        assert_eq!(r.code, 1, "{args:?} should fail");
        assert!(r.stdout.is_empty(), "{args:?} printed {}", r.stdout);
        let lines: Vec<&str> = r.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        // clap's own usage errors span several lines; ours are exactly one.
        let first = lines.first().copied().unwrap_or_default();
        if !first.starts_with("error: invalid value") {
            assert_eq!(lines.len(), 1, "{args:?}: {}", r.stderr);
        }
        out.push_str(&format!("{} => {}\n", args.join(" "), env.scrub(first)));
    }
    // Only alice and nothing else was written by any of it.
    let users = env.json(&["user", "list", "-t", "contoso.example", "--show", "all"]);
    assert_eq!(users["value"].as_array().unwrap().len(), 1);
    assert_eq!(env.json(&["changes", "-t", "contoso.example"])["changes"].as_array().unwrap().len(), 1);
    insta::assert_snapshot!(out);
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

/// docs/errors.md names every code the crates can report: the literals of each error
/// type's `code()`, the codes set where an error is made, and the codes the HTTP layer
/// makes itself. A new code without a line
/// in the table fails here.
#[test]
fn every_error_code_is_documented() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let doc = std::fs::read_to_string(root.join("docs/errors.md")).unwrap();
    let read = |p: &str| std::fs::read_to_string(root.join(p)).unwrap();
    let literal = regex::Regex::new(r#"=> "([A-Za-z_.]+)""#).unwrap();
    let mut codes = Vec::new();
    for file in
        ["crates/domain/src/error.rs", "crates/store/src/error.rs", "crates/engine/src/error.rs", "crates/expression/src/error.rs", "crates/cli/src/import.rs"]
    {
        let text = read(file);
        let start = text.find("pub fn code(&self) -> &'static str {").unwrap_or_else(|| panic!("{file}: no code()"));
        let body = &text[start..];
        let end = body.find("\n    }\n").unwrap();
        let found: Vec<String> = literal.captures_iter(&body[..end]).map(|c| c[1].to_owned()).collect();
        assert!(!found.is_empty(), "{file}: codes not found");
        codes.extend(found);
    }
    // Codes carried in a field (`code: "..."`) where the error is made.
    let field = regex::Regex::new(r#"code: "([A-Za-z_.]+)""#).unwrap();
    for file in ["crates/cli/src/import.rs", "crates/engine/src/on_demand.rs", "crates/engine/src/compile.rs", "crates/engine/src/groups.rs"] {
        codes.extend(field.captures_iter(&read(file)).map(|c| c[1].to_owned()));
    }
    let http = regex::Regex::new(r#"(?:ScimError|Self)::(?:new\([^,]+, [^,]+|bad_request\("[A-Za-z]+"), "([a-z_]+)""#).unwrap();
    let mut from_http = 0;
    for file in ["crates/server/src/error.rs", "crates/server/src/routes.rs", "crates/server/src/bulk.rs"] {
        for c in http.captures_iter(&read(file)) {
            codes.push(c[1].to_owned());
            from_http += 1;
        }
    }
    assert!(from_http >= 10, "the HTTP layer's codes were not found");
    let missing: Vec<&String> = codes.iter().filter(|c| !doc.contains(&format!("`{c}`"))).collect();
    assert!(missing.is_empty(), "codes missing from docs/errors.md: {missing:?}");
}
