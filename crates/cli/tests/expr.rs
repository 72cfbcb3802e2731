//! `tenantsync expr`: evaluation, flow, Graph-shaped JSON, check, functions, errors.
use crate::support::Env;

#[test]
fn eval_prints_the_value() {
    let env = Env::new();
    let expr = r#"ToLower(Join("@", NormalizeDiacritics(StripSpaces(Join(".", [givenName], [surname]))), "contoso.com"))"#;
    assert_eq!(env.ok(&["expr", "eval", expr, "--attr", "givenName=Zoë", "--attr", "surname=Van Dijk"]), "zoe.vandijk@contoso.com\n");
    // a repeated --attr makes a multi-valued attribute
    assert_eq!(env.ok(&["expr", "eval", "Count([proxyAddresses])", "--attr", "proxyAddresses=a", "--attr", "proxyAddresses=b"]), "2\n");
    assert_eq!(env.ok(&["expr", "eval", r#"Split([x], ",")"#, "--attr", "x=a,b"]), "- a\n- b\n");
    // no data directory is created for expressions
    assert!(!env.data().exists());
}

#[test]
fn eval_says_when_the_attribute_does_not_flow() {
    let env = Env::new();
    let out = env.ok(&["expr", "eval", "IgnoreFlowIfNullOrEmpty([department])"]);
    assert_eq!(out, "(attribute does not flow: IgnoreFlowIfNullOrEmpty dropped it from the flow)\n");
    let out = env.ok(&["expr", "eval", "[department]"]);
    assert_eq!(out, "(attribute does not flow: the result is NULL)\n");
}

#[test]
fn eval_reads_an_input_file() {
    let env = Env::new();
    let input = env.file("user.json", r#"{"mail": null, "userPrincipalName": "John.Doe@contoso.com", "proxyAddresses": ["a", "b", "a"]}"#);
    let path = input.to_str().unwrap();
    assert_eq!(env.ok(&["expr", "eval", "Coalesce([mail],[userPrincipalName])", "--input", path]), "John.Doe@contoso.com\n");
    assert_eq!(env.ok(&["expr", "eval", "Count(RemoveDuplicates([proxyAddresses]))", "--input", path]), "2\n");
}

#[test]
fn eval_json_is_graph_shaped() {
    let env = Env::new();
    let v = env.json(&["expr", "eval", r#"Replace([preferredLanguage], "-", , , "_", , )"#, "--attr", "preferredLanguage=EN-US"]);
    assert_eq!(v["parsingSucceeded"], true);
    assert_eq!(v["evaluationSucceeded"], true);
    assert_eq!(v["evaluationResult"], serde_json::json!(["EN_US"]));
    assert_eq!(v["error"], serde_json::Value::Null);
    let v = env.json(&["expr", "eval", "Redact([p])", "--attr", "p=s3cret"]);
    assert_eq!(v["evaluationResult"], serde_json::json!(["[Redact]"]));
    let r = env.run(&["expr", "eval", "Left([a], 1", "--json"]);
    assert_eq!(r.code, 1);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["parsingSucceeded"], false);
    assert_eq!(v["error"]["code"], "expression.parse.unexpected_token");
    assert_eq!(v["error"]["position"], 11);
}

#[test]
fn check_and_functions() {
    let env = Env::new();
    assert_eq!(env.ok(&["expr", "check", r#"Replace([mail], "@contoso.com", , ,"", ,)"#]), "ok: Replace([mail], \"@contoso.com\", , , \"\", , )\n");
    let functions = env.ok(&["expr", "functions"]);
    assert_eq!(functions.lines().count(), 44);
    assert!(functions.lines().any(|l| l.starts_with("InStr(value1, value2, start?, compareType?)")));
    let list = env.json(&["expr", "functions"]);
    assert_eq!(list.as_array().unwrap().len(), 44);
}

#[test]
fn errors_are_one_line_with_a_code_and_exit_1() {
    let env = Env::new();
    let cases: &[&[&str]] = &[
        &["expr", "check", "toLower([mail])"],
        &["expr", "check", "Mid([a], 1)"],
        &["expr", "check", r#"Replace([mail], "a" "b", , , "", , )"#],
        &["expr", "eval", "Mid([a], 0, 1)", "--attr", "a=x"],
        &["expr", "eval", "AltSecIdFromNetId([netId])", "--attr", "netId=not-an-anchor"],
        &["expr", "eval", "RandomString(4, 2, 2, 2, 0)"],
        &["expr", "eval", "[a]", "--attr", "novalue"],
        &["expr", "eval", "[a]", "--input", "/nonexistent/input.json"],
    ];
    let mut out = String::new();
    for args in cases {
        let r = env.run(args);
        assert_eq!(r.code, 1, "{args:?} should fail");
        assert!(r.stdout.is_empty(), "{args:?} printed {}", r.stdout);
        let lines: Vec<&str> = r.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{args:?}: {}", r.stderr);
        out.push_str(&format!("{} => {}\n", args.join(" "), lines[0]));
    }
    insta::assert_snapshot!(out);
}
