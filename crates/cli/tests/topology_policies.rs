//! Assignment policies in the topology file beyond requestors and approvers: stages with
//! their own denial time and escalation, questions, access reviews and auto-assignment —
//! planned, applied, idempotent, exported byte for byte, drift detected, bad input refused.
use crate::support::{Env, path_str};
use serde_json::Value;

const FILE: &str = r#"
[[tenants]]
name = "Contoso"
domain = "contoso.example"

[[tenants]]
name = "Litware"
domain = "litware.example"

[[connected_organization]]
tenant = "contoso.example"
name = "Litware"
identity_tenant = "litware.example"
sponsors = ["sam.sponsor@contoso.example"]

[[catalog]]
tenant = "contoso.example"
name = "Venture"

[[access_package]]
tenant = "contoso.example"
catalog = "Venture"
name = "Visitors"
groups = ["Projects"]

[[access_package.policy]]
name = "Litware"
requestors = "organizations"
organizations = ["Litware"]
expire_days = 30

[[access_package.policy.stages]]
approvers = ["sponsors"]
approval_days = 10
escalation = { after_days = 4, to = ["ella.escalation@contoso.example"] }

[[access_package.policy.stages]]
approvers = ["group:Reviewers"]

[[access_package.policy.question]]
text = "Project code"
required = true
pattern = "[A-Z]{3}-[0-9]+"

[[access_package.policy.question]]
text = "Site"
choices = ["Oslo", "Lisbon"]

[access_package.policy.review]
starts = "2027-02-01T08:30:00Z"
every_months = 6
duration_days = 10
reviewers = ["manager"]
fallback_reviewers = ["rita.reviewer@contoso.example"]
no_response = "recommendation"
justification = false

[[access_package]]
tenant = "contoso.example"
catalog = "Venture"
name = "Sales kit"
groups = ["Projects"]

[[access_package.policy]]
name = "Sales"

[access_package.policy.auto]
rule = "department EQUALS Sales"
grace_days = 7
"#;

/// The people and groups FILE names, in Contoso.
fn people(env: &Env) {
    env.ok(&["tenant", "create", "--name", "Contoso", "--domain", "contoso.example"]);
    env.ok(&["tenant", "create", "--name", "Litware", "--domain", "litware.example"]);
    for upn in ["sam.sponsor@contoso.example", "ella.escalation@contoso.example", "rita.reviewer@contoso.example"] {
        env.ok(&["user", "create", "-t", "contoso.example", "--upn", upn]);
    }
    for group in ["Projects", "Reviewers"] {
        env.ok(&["group", "create", "-t", "contoso.example", "--name", group]);
    }
}

fn policy<'a>(policies: &'a Value, name: &str) -> &'a Value {
    policies["value"].as_array().unwrap().iter().find(|p| p["displayName"] == name).unwrap()
}

#[test]
fn reviews_questions_escalation_and_auto_assignment_round_trip_and_their_drift_is_detected() {
    let env = Env::new();
    people(&env);
    let f = env.file("policies.toml", FILE);
    let path = path_str(&f);
    let plan = env.run(&["plan", path]);
    assert_eq!(plan.code, 2, "{}", plan.stderr);
    env.ok(&["apply", path]);
    // Idempotent.
    assert_eq!(env.run(&["plan", path]).code, 0);
    assert!(env.ok(&["apply", path]).contains("nothing to do"));

    // Written as the JIT model has them.
    let visitors = env.json(&["access", "policy", "list", "-t", "contoso.example", "--package", "Visitors"]);
    let p = policy(&visitors, "Litware");
    let stages = p["requestApprovalSettings"]["stages"].as_array().unwrap();
    assert_eq!(stages.len(), 2);
    assert_eq!((stages[0]["durationBeforeAutomaticDenial"].as_str(), stages[0]["isEscalationEnabled"].as_bool()), (Some("P10D"), Some(true)), "{p}");
    assert_eq!(stages[0]["durationBeforeEscalation"], "P4D");
    assert_eq!(stages[0]["escalationApprovers"][0]["@odata.type"], "#microsoft.graph.singleUser");
    assert_eq!((stages[1]["durationBeforeAutomaticDenial"].as_str(), stages[1]["isEscalationEnabled"].as_bool()), (Some("P14D"), Some(false)));
    let questions = p["questions"].as_array().unwrap();
    assert_eq!(questions[0]["@odata.type"], "#microsoft.graph.accessPackageTextInputQuestion");
    assert_eq!((questions[0]["isRequired"].as_bool(), questions[0]["regexPattern"].as_str()), (Some(true), Some("[A-Z]{3}-[0-9]+")));
    assert_eq!(questions[1]["choices"], serde_json::json!(["Oslo", "Lisbon"]));
    let review = &p["reviewSettings"];
    assert_eq!((review["recurrenceMonths"].as_u64(), review["duration"].as_str()), (Some(6), Some("P10D")), "{review}");
    assert_eq!((review["expirationBehavior"].as_str(), review["isReviewerJustificationRequired"].as_bool()), (Some("acceptAccessRecommendation"), Some(false)));
    assert_eq!(review["primaryReviewers"][0]["@odata.type"], "#microsoft.graph.requestorManager");
    let kit = env.json(&["access", "policy", "list", "-t", "contoso.example", "--package", "Sales kit"]);
    let auto = policy(&kit, "Sales");
    assert_eq!(auto["allowedTargetScope"], "specificDirectoryUsers");
    assert_eq!(auto["specificAllowedTargets"][0]["membershipRule"], "department EQUALS Sales");
    assert_eq!(auto["automaticRequestSettings"]["gracePeriodBeforeAccessRemoval"], "P7D");

    // export → apply where the same people exist → export: the same bytes; and the
    // export describes the store exactly.
    let exported = env.ok(&["export"]);
    for part in ["[access_package.policy.review]", "[[access_package.policy.question]]", "[[access_package.policy.stages]]", "[access_package.policy.auto]"] {
        assert!(exported.contains(part), "{part}: {exported}");
    }
    let copy = Env::new();
    people(&copy);
    let again = copy.file("exported.toml", &exported);
    copy.ok(&["apply", path_str(&again)]);
    assert_eq!(copy.ok(&["export"]), exported);
    let mine = env.file("exported.toml", &exported);
    assert_eq!(env.run(&["plan", path_str(&mine)]).code, 0, "{exported}");

    // Changed elsewhere (here by another file): drift, setting by setting.
    let changed = FILE
        .replace("every_months = 6", "every_months = 12")
        .replace("after_days = 4", "after_days = 5")
        .replace("grace_days = 7", "grace_days = 1")
        .replace("choices = [\"Oslo\", \"Lisbon\"]", "choices = [\"Oslo\"]");
    let other = env.file("changed.toml", &changed);
    env.ok(&["apply", path_str(&other)]);
    let drift = env.run(&["plan", "--detect-drift", path, "--json"]);
    assert_eq!(drift.code, 2, "{}", drift.stdout);
    let drift: Value = serde_json::from_str(&drift.stdout).unwrap();
    let settings: Vec<(String, Value, Value)> = drift["changes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["settings"].as_array().unwrap().iter().map(|s| (s["setting"].as_str().unwrap().to_owned(), s["old"].clone(), s["new"].clone())))
        .collect();
    let expect = |setting: &str, old: &str, new: &str| {
        assert!(settings.contains(&(setting.to_owned(), Value::from(old), Value::from(new))), "{setting}: {settings:?}");
    };
    expect("policy.Litware.review.every_months", "12", "6");
    expect(
        "policy.Litware.escalation",
        "after 5 days to ella.escalation@contoso.example then none",
        "after 4 days to ella.escalation@contoso.example then none",
    );
    expect("policy.Litware.question.2", "\"Site\" choices: Oslo", "\"Site\" choices: Oslo | Lisbon");
    expect("policy.Sales.auto.grace_days", "1", "7");
    // Apply puts it back; a question that keeps its text keeps its id.
    let before = policy(&env.json(&["access", "policy", "list", "-t", "contoso.example", "--package", "Visitors"]), "Litware")["questions"][0]["id"].clone();
    env.ok(&["apply", path]);
    assert_eq!(env.run(&["plan", path]).code, 0);
    let after = policy(&env.json(&["access", "policy", "list", "-t", "contoso.example", "--package", "Visitors"]), "Litware")["questions"][0]["id"].clone();
    assert_eq!(before, after);
}

#[test]
fn bad_policy_settings_are_one_line_with_file_line_and_column_and_nothing_is_applied() {
    let env = Env::new();
    people(&env);
    let cases = [
        (
            "unknown_key.toml",
            FILE.replace("duration_days = 10", "duration_days = 10\ncolour = \"red\""),
            "unknown_key.toml:53:1: unknown field `colour`",
            "[topology_syntax]",
        ),
        (
            "wrong_type.toml",
            FILE.replace("every_months = 6", "every_months = \"six\""),
            "wrong_type.toml:51:16: invalid type: string \"six\", expected u8",
            "[topology_syntax]",
        ),
        (
            "rule.toml",
            FILE.replace("department EQUALS Sales", "nope EQUALS Sales"),
            "rule.toml:68:8: policy 'Sales': auto rule: scoping clause \"nope EQUALS Sales\": unknown source attribute `nope`",
            "[invalid_topology]",
        ),
        (
            "reviewer.toml",
            FILE.replace("reviewers = [\"manager\"]", "reviewers = [\"boss\"]"),
            "reviewer.toml:53:14: unknown reviewer 'boss'",
            "[invalid_topology]",
        ),
        (
            "escalation.toml",
            FILE.replace("after_days = 4", "after_days = 10"),
            "escalation.toml:35:39: policy 'Litware': stage 1: escalation after_days must be 1 to 9",
            "[invalid_topology]",
        ),
        // Well formed, but nobody of that name in Contoso: refused before anything is written.
        (
            "ghost.toml",
            FILE.replace("rita.reviewer@", "ghost@"),
            "ghost.toml:54:23: contoso.example: Visitors: policy 'Litware': user 'ghost@contoso.example'",
            "[not_found]",
        ),
    ];
    for (name, text, starts, code) in cases {
        let f = env.file(name, &text);
        for verb in ["plan", "apply"] {
            let r = env.run(&[verb, path_str(&f)]);
            if name == "ghost.toml" && verb == "plan" {
                // A plan reads the file only; the store's people are apply's to check.
                assert_eq!(r.code, 2, "{name}: {}", r.stderr);
                continue;
            }
            assert_eq!(r.code, 1, "{name}: {}", r.stdout);
            let line = env.scrub(r.stderr.trim());
            assert_eq!(r.stderr.trim().lines().count(), 1, "{line}");
            assert!(line.starts_with(&format!("error: <tmp>/{starts}")), "{name}: {line}");
            assert!(line.ends_with(code), "{name}: {line}");
        }
    }
    assert_eq!(env.json(&["access", "package", "list", "-t", "contoso.example"])["value"].as_array().map(Vec::len), Some(0), "nothing applied");
}

#[test]
fn the_joint_ventures_dashed_link_counts_pending_requests_and_assignments_live() {
    let env = Env::new();
    crate::topology::venture_people(&env);
    let example = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/joint-venture.toml");
    env.ok(&["apply", path_str(&example)]);
    env.ok(&["user", "create", "-t", "litware.example", "--upn", "ann@litware.example"]);
    let link = |env: &Env| {
        let shown = env.json(&["topology", "show"]);
        let contoso = shown.as_array().unwrap().iter().find(|t| t["tenant"] == "contoso.example").unwrap().clone();
        contoso["onRequest"][0]["live"].clone()
    };
    assert_eq!(link(&env), serde_json::json!({ "assignments": 0, "pendingRequests": 0 }));
    let request = env.json(&[
        "access",
        "request",
        "-t",
        "contoso.example",
        "--package",
        "Projects",
        "--home-tenant",
        "litware.example",
        "--home-user",
        "ann@litware.example",
    ]);
    assert_eq!(link(&env), serde_json::json!({ "assignments": 0, "pendingRequests": 1 }), "{request}");
    assert!(env.ok(&["topology", "draw"]).contains("on request: Projects · 0 assigned, 1 pending"));
    env.ok(&["access", "approve", "-t", "contoso.example", request["id"].as_str().unwrap(), "--as", "sam.sponsor@contoso.example"]);
    assert_eq!(link(&env), serde_json::json!({ "assignments": 1, "pendingRequests": 0 }));
    assert!(env.ok(&["topology", "show"]).contains("litware.example's people on request: Projects [1 assigned, 0 pending]"));
}

#[test]
fn a_file_declared_auto_assignment_assigns_who_its_rule_matches_and_removes_who_leaves() {
    let env = Env::new();
    people(&env);
    // No grace period: who leaves the rule loses the package at the next pass.
    let f = env.file("auto.toml", &FILE.replace("grace_days = 7", "grace_days = 0"));
    env.ok(&["apply", path_str(&f)]);
    env.ok(&["user", "create", "-t", "contoso.example", "--upn", "sid@contoso.example", "--set", "department=Sales"]);
    env.ok(&["user", "create", "-t", "contoso.example", "--upn", "lee@contoso.example", "--set", "department=Legal"]);
    let members = |env: &Env| env.ok(&["group", "members", "-t", "contoso.example", "Projects"]);

    let first = env.json(&["access", "sweep"]);
    assert_eq!((first["autoAssigned"].as_u64(), first["autoRemoved"].as_u64()), (Some(1), Some(0)), "{first}");
    let listed = members(&env);
    assert!(listed.contains("sid@contoso.example") && !listed.contains("lee@contoso.example"), "{listed}");
    let assignments = env.json(&["access", "assignments", "-t", "contoso.example", "--user", "sid@contoso.example"]);
    assert_eq!(assignments["value"].as_array().map(Vec::len), Some(1), "{assignments}");
    assert_eq!(assignments["value"][0]["state"], "delivered");
    // A second pass finds nothing new.
    let again = env.json(&["access", "sweep"]);
    assert_eq!((again["autoAssigned"].as_u64(), again["autoRemoved"].as_u64()), (Some(0), Some(0)), "{again}");

    env.ok(&["user", "update", "-t", "contoso.example", "sid@contoso.example", "--set", "department=Legal"]);
    let left = env.json(&["access", "sweep"]);
    assert_eq!(left["autoRemoved"].as_u64(), Some(1), "{left}");
    assert!(!members(&env).contains("sid@contoso.example"));
    let requests = env.json(&["access", "requests", "-t", "contoso.example"]);
    let kinds: Vec<&str> = requests["value"].as_array().unwrap().iter().filter_map(|r| r["requestType"].as_str()).collect();
    assert_eq!(kinds, ["systemAdd", "systemRemove"], "{requests}");
}
