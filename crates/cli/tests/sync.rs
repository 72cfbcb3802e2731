//! Sync configurations through the CLI.
use crate::support::Env;

fn world(env: &Env) {
    env.ok(&["tenant", "create", "--name", "Fabrikam", "--domain", "fabrikam.example"]);
    env.ok(&["tenant", "create", "--name", "Contoso", "--domain", "contoso.example"]);
    env.ok(&["user", "create", "-t", "fabrikam.example", "--upn", "alice@fabrikam.example", "--set", "department=Sales"]);
    env.ok(&["user", "create", "-t", "fabrikam.example", "--upn", "bob@fabrikam.example", "--set", "department=Legal"]);
}

#[test]
fn a_configuration_runs_only_once_the_partners_allow_it() {
    let env = Env::new();
    world(&env);
    let create = ["sync", "create", "--source", "fabrikam.example", "--target", "contoso.example", "--scope", "all", "--filter", "department EQUALS Sales"];
    // Refused at configuration time, as Entra's "test connection" does, naming what is missing.
    let r = env.run(&create);
    assert_eq!(r.code, 1);
    assert!(r.stderr.trim().ends_with("[AzureActiveDirectoryCrossTenantSyncPolicyCheckFailure]"), "{}", r.stderr);
    assert!(r.stderr.contains("inbound user synchronization"), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1);
    assert!(env.ok(&["sync", "list"]).lines().all(|l| !l.contains("fabrikam.example")), "nothing was stored");
    env.ok(&["partner", "set", "-t", "fabrikam.example", "--partner", "contoso.example", "--outbound-auto-redeem", "true"]);
    env.ok(&["partner", "set", "-t", "contoso.example", "--partner", "fabrikam.example", "--inbound-sync", "true", "--inbound-auto-redeem", "true"]);
    let shown = env.json(&["partner", "show", "-t", "contoso.example", "--partner", "fabrikam.example"]);
    assert_eq!(shown["inboundUserSync"], serde_json::json!({"value": true, "from": "partner"}));
    let id = env.json(&create)["id"].as_str().unwrap().to_owned();
    // Allowed, then withdrawn: the cycle fails the policy check, and the job's status and
    // the provisioning logs say so (once, however often it is retried).
    env.ok(&["partner", "set", "-t", "contoso.example", "--partner", "fabrikam.example", "--inbound-sync", "false"]);
    for _ in 0..2 {
        let r = env.run(&["sync", "run", "fabrikam.example:contoso.example"]);
        assert_eq!(r.code, 1);
        assert!(r.stderr.trim().ends_with("[AzureActiveDirectoryCrossTenantSyncPolicyCheckFailure]"), "{}", r.stderr);
    }
    let status = env.json(&["sync", "show", &id]);
    assert_eq!(status["status"]["lastExecution"]["state"], "Failed");
    assert!(status["status"]["lastExecution"]["error"].as_str().unwrap().starts_with("AzureActiveDirectoryCrossTenantSyncPolicyCheckFailure: "));
    let logs = env.json(&["sync", "logs", &id]);
    let logs = logs.as_array().unwrap();
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert_eq!((logs[0]["status"].as_str(), logs[0]["errorCode"].as_str()), (Some("failure"), Some("AzureActiveDirectoryCrossTenantSyncPolicyCheckFailure")));
    env.ok(&["partner", "set", "-t", "contoso.example", "--partner", "fabrikam.example", "--inbound-sync", "true"]);
    let report = env.json(&["sync", "run", &id]);
    assert_eq!(report["initial"], true);
    assert_eq!(report["created"], 1, "only Sales passes the scoping filter");
    let users = env.json(&["user", "list", "-t", "contoso.example"]);
    assert_eq!(users["value"].as_array().unwrap().len(), 1);
    assert_eq!(users["value"][0]["userPrincipalName"], "alice_fabrikam.example#EXT#@contoso.example");
    env.ok(&["user", "update", "-t", "fabrikam.example", "alice@fabrikam.example", "--set", "jobTitle=Lead"]);
    let report = env.json(&["sync", "run", &id]);
    assert_eq!(report["initial"], false);
    assert_eq!(report["updated"], 1);
    let status = env.json(&["sync", "show", &id]);
    assert_eq!(status["status"]["status"], "Active");
    assert_eq!(status["status"]["lastExecution"]["state"], "Succeeded");
    assert!(env.ok(&["sync", "list"]).contains("fabrikam.example"));
    env.ok(&["sync", "delete", &id]);
    assert_eq!(env.json(&["user", "list", "-t", "contoso.example"])["value"].as_array().unwrap().len(), 1, "deleting a configuration leaves its users");
}

#[test]
fn assigned_scope_follows_assignments() {
    let env = Env::new();
    world(&env);
    env.ok(&["partner", "set", "-t", "fabrikam.example", "--outbound-auto-redeem", "true"]);
    env.ok(&["partner", "set", "-t", "contoso.example", "--inbound-sync", "true", "--inbound-auto-redeem", "true"]);
    env.ok(&["sync", "create", "--source", "fabrikam.example", "--target", "contoso.example"]);
    let name = "fabrikam.example:contoso.example";
    assert_eq!(env.json(&["sync", "run", name])["created"], 0, "nobody is assigned");
    env.ok(&["sync", "assign", name, "--user", "bob@fabrikam.example"]);
    assert_eq!(env.json(&["sync", "run", name])["created"], 1);
    env.ok(&["sync", "unassign", name, "--user", "bob@fabrikam.example"]);
    assert_eq!(env.json(&["sync", "run", name])["softDeleted"], 1);
    let r = env.run(&["sync", "unassign", name, "--user", "bob@fabrikam.example"]);
    assert!(r.stderr.contains("[not_assigned]"), "{}", r.stderr);
}

#[test]
fn bad_configurations_are_refused_with_one_line() {
    let env = Env::new();
    world(&env);
    let cases: &[(&[&str], &str)] = &[
        (&["sync", "create", "--source", "fabrikam.example", "--target", "fabrikam.example"], "[same_tenant]"),
        (
            &["sync", "create", "--source", "fabrikam.example", "--target", "contoso.example", "--map", "displayName=Join(\".\", [givenName]"],
            "[expression.parse.",
        ),
        (&["sync", "create", "--source", "fabrikam.example", "--target", "contoso.example", "--map", "id=[mail]"], "[read_only_attribute]"),
        (
            &["sync", "create", "--source", "fabrikam.example", "--target", "contoso.example", "--filter", "department SOUNDS_LIKE Sales"],
            "[expression.scoping.",
        ),
        (&["sync", "create", "--source", "fabrikam.example", "--target", "nowhere.example"], "[tenant_not_found]"),
        (&["sync", "run", "nope"], "[invalid_argument]"),
    ];
    for (args, code) in cases {
        let r = env.run(args);
        assert_eq!(r.code, 1, "{args:?}");
        assert_eq!(r.stderr.lines().count(), 1, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(code), "{args:?}: {}", r.stderr);
    }
    assert!(env.json(&["sync", "list"]).as_array().unwrap().is_empty());
}

#[test]
fn pause_restart_and_logs_through_the_cli() {
    let env = Env::new();
    world(&env);
    env.ok(&["partner", "set", "-t", "fabrikam.example", "--outbound-auto-redeem", "true"]);
    env.ok(&["partner", "set", "-t", "contoso.example", "--inbound-sync", "true", "--inbound-auto-redeem", "true"]);
    env.ok(&["sync", "create", "--source", "fabrikam.example", "--target", "contoso.example", "--scope", "all"]);
    let name = "fabrikam.example:contoso.example";
    env.ok(&["sync", "run", name]);
    let logs = env.json(&["sync", "logs", name]);
    assert_eq!(logs.as_array().unwrap().len(), 2);
    assert!(logs.as_array().unwrap().iter().all(|l| l["provisioningAction"] == "create" && l["status"] == "success"));
    assert!(env.ok(&["sync", "logs", name]).contains("alice@fabrikam.example"));
    assert!(env.json(&["sync", "logs", name, "--status", "failure"]).as_array().unwrap().is_empty());
    // A time range: both records lie between their own times, none before the first.
    let at = |i: usize| logs[i]["activityDateTime"].as_str().unwrap().to_owned();
    let (first, last) = if at(0) <= at(1) { (at(0), at(1)) } else { (at(1), at(0)) };
    let later = (last.parse::<jiff::Timestamp>().unwrap() + jiff::SignedDuration::from_secs(1)).to_string();
    assert_eq!(env.json(&["sync", "logs", name, "--since", &first, "--until", &later]).as_array().unwrap().len(), 2);
    assert!(env.json(&["sync", "logs", name, "--until", &first]).as_array().unwrap().len() < 2);
    let r = env.run(&["sync", "logs", name, "--until", "yesterday"]);
    assert!(r.stderr.contains("--until 'yesterday'") && r.stderr.contains("[invalid_argument]"), "{}", r.stderr);
    env.ok(&["sync", "pause", name]);
    let r = env.run(&["sync", "run", name]);
    assert!(r.stderr.contains("[job_paused]"), "{}", r.stderr);
    env.ok(&["sync", "start", name]);
    env.ok(&["sync", "run", name]);
    let state = env.json(&["sync", "restart", name, "--reset", "Watermark"]);
    assert_eq!(state["watermark"], 0);
    assert_eq!(env.json(&["sync", "run", name])["initial"], true);
    env.ok(&["user", "create", "-t", "fabrikam.example", "--upn", "carol@fabrikam.example", "--set", "department=Sales"]);
    let on_demand = env.json(&["sync", "provision", name, "--user", "carol@fabrikam.example"]);
    assert_eq!(on_demand["provisioningAction"], "create");
    assert_eq!(on_demand["steps"].as_array().unwrap().len(), 4);
    assert!(env.ok(&["sync", "provision", name, "--user", "carol@fabrikam.example"]).contains("EntrySynchronizationScoping (scoping): success"));
    let r = env.run(&["sync", "restart", name, "--reset", "Everything"]);
    assert!(r.stderr.contains("[invalid_argument]"), "{}", r.stderr);
}

#[test]
fn serve_runs_the_jobs_and_picks_up_commits_of_other_processes() {
    use std::io::{BufRead, BufReader};
    let env = Env::new();
    world(&env);
    env.ok(&["partner", "set", "-t", "fabrikam.example", "--outbound-auto-redeem", "true"]);
    env.ok(&["partner", "set", "-t", "contoso.example", "--inbound-sync", "true", "--inbound-auto-redeem", "true"]);
    env.ok(&["sync", "create", "--source", "fabrikam.example", "--target", "contoso.example", "--scope", "all"]);
    let mut serve =
        env.cmd().args(["serve", "--listen", "127.0.0.1:0"]).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::null()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(serve.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert!(line.starts_with("serving SCIM 2.0 on http://127.0.0.1:"), "{line}");
    // A user created by another process reaches the target without anyone running a cycle.
    env.ok(&["user", "create", "-t", "fabrikam.example", "--upn", "dave@fabrikam.example"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let mut arrived = false;
    while std::time::Instant::now() < deadline {
        let users = env.json(&["user", "list", "-t", "contoso.example"]);
        if users["value"].as_array().unwrap().iter().any(|u| u["userPrincipalName"] == "dave_fabrikam.example#EXT#@contoso.example") {
            arrived = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let _ = serve.kill();
    let _ = serve.wait();
    assert!(arrived, "the running service synced dave");
}

#[test]
fn group_provisioning_through_the_cli() {
    let env = Env::new();
    world(&env);
    env.ok(&["partner", "set", "-t", "fabrikam.example", "--outbound-auto-redeem", "true"]);
    env.ok(&["partner", "set", "-t", "contoso.example", "--inbound-sync", "true", "--inbound-group-sync", "true", "--inbound-auto-redeem", "true"]);
    let g = env.json(&["group", "create", "-t", "fabrikam.example", "--name", "Sales"]);
    let gid = g["id"].as_str().unwrap().to_owned();
    env.ok(&["group", "add-member", "-t", "fabrikam.example", &gid, "alice@fabrikam.example"]);
    // Groups need the assigned scope.
    let r = env.run(&["sync", "create", "--source", "fabrikam.example", "--target", "contoso.example", "--scope", "all", "--provision-groups"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.trim().ends_with("[groups_need_assigned_scope]"), "{}", r.stderr);
    let r = env.run(&["sync", "create", "--source", "fabrikam.example", "--target", "contoso.example", "--group-map", "securityEnabled=\"false\""]);
    assert!(r.stderr.trim().ends_with("[read_only_attribute]"), "{}", r.stderr);
    // Off by default.
    let c = env.json(&["sync", "create", "--source", "fabrikam.example", "--target", "contoso.example"]);
    assert_eq!(c["provisionGroups"], false);
    assert_eq!(c["groupMappings"].as_array().unwrap().len(), 3);
    let name = "fabrikam.example:contoso.example";
    let c = env.json(&["sync", "update", name, "--provision-groups", "--group-map", "description=Join(\" \", \"Synced:\", [displayName])"]);
    assert_eq!(c["configuration"]["provisionGroups"], true);
    env.ok(&["sync", "assign", name, "--group", &gid]);
    let report = env.json(&["sync", "run", name]);
    assert_eq!(report["created"], 1, "alice, the member");
    assert_eq!(report["groups"]["created"], 1);
    assert_eq!(report["groups"]["membersAdded"], 1);
    let groups = env.json(&["group", "list", "-t", "contoso.example"]);
    let copy = &groups["value"][0];
    assert_eq!(copy["displayName"], "Sales");
    assert_eq!(copy["description"], "Synced: Sales");
    assert_eq!(copy["securityEnabled"], true);
    let members = env.json(&["group", "members", "-t", "contoso.example", copy["id"].as_str().unwrap()]);
    assert_eq!(members["value"][0]["userPrincipalName"], "alice_fabrikam.example#EXT#@contoso.example");
    let shown = env.json(&["sync", "show", name]);
    assert_eq!(shown["configuration"]["provisionGroups"], true);
    assert!(env.ok(&["sync", "show", name]).lines().any(|l| l.split_whitespace().eq(["provisionGroups", "true"])));
    assert!(env.ok(&["sync", "run", name]).contains("incremental cycle"));
    let logs = env.json(&["sync", "logs", name]);
    assert!(logs.as_array().unwrap().iter().any(|l| l["objectType"] == "group" && l["provisioningAction"] == "create"));
    assert!(env.ok(&["sync", "logs", name]).contains("group"));
    // Groups are not provisioned on demand.
    let r = env.run(&["sync", "provision", name, "--user", &gid]);
    assert!(r.stderr.trim().ends_with("[EntityTypeNotSupported]"), "{}", r.stderr);
    // Off again: a plain-text confirmation, and show says so.
    assert!(env.ok(&["sync", "update", name, "--provision-groups", "false"]).contains("provisionGroups: true -> false"));
    assert_eq!(env.json(&["sync", "show", name])["configuration"]["provisionGroups"], false);
}

/// Both partners allow the sync from fabrikam to contoso.
fn allow(env: &Env) {
    env.ok(&["partner", "set", "-t", "fabrikam.example", "--partner", "contoso.example", "--outbound-auto-redeem", "true"]);
    env.ok(&["partner", "set", "-t", "contoso.example", "--partner", "fabrikam.example", "--inbound-sync", "true", "--inbound-auto-redeem", "true"]);
}

const NAME: &str = "fabrikam.example:contoso.example";

#[test]
fn partner_settings_in_effect_and_where_they_come_from() {
    let env = Env::new();
    world(&env);
    // Nothing set: every value shown, false, unset.
    let nothing = env.ok(&["partner", "show", "-t", "contoso.example", "--partner", "fabrikam.example"]);
    assert!(nothing.contains("inboundUserSync     false (unset)"), "{nothing}");
    env.ok(&["partner", "set", "-t", "contoso.example", "--inbound-auto-redeem", "true"]);
    env.ok(&["partner", "set", "-t", "contoso.example", "--partner", "fabrikam.example", "--inbound-sync", "true"]);
    let shown = env.json(&["partner", "show", "-t", "contoso.example", "--partner", "fabrikam.example"]);
    assert_eq!(shown["inboundUserSync"], serde_json::json!({"value": true, "from": "partner"}));
    assert_eq!(shown["inboundAutoRedeem"], serde_json::json!({"value": true, "from": "default"}));
    assert_eq!(shown["outboundAutoRedeem"], serde_json::json!({"value": false, "from": "unset"}));
    let list = env.json(&["partner", "list", "-t", "contoso.example"]);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2, "the defaults and fabrikam: {list:?}");
    assert!(list[0]["partner"].is_null() && list[1]["partner"] == "fabrikam.example");
    let text = env.ok(&["partner", "list", "-t", "contoso.example"]);
    assert!(text.starts_with("PARTNER") && text.contains("(defaults)") && text.contains("true (default)"), "{text}");
}

#[test]
fn scoping_filter_groups_are_ored() {
    let env = Env::new();
    world(&env);
    allow(&env);
    let args = ["sync", "create", "--source", "fabrikam.example", "--target", "contoso.example", "--scope", "all"];
    let mut create = args.to_vec();
    create.extend(["--filter", "department EQUALS Sales", "--filter", "department EQUALS Legal AND jobTitle IS NULL"]);
    let c = env.json(&create);
    assert_eq!(c["scopingFilter"].as_array().unwrap().len(), 2);
    assert_eq!(c["scopingFilter"][1]["clauses"].as_array().unwrap().len(), 2);
    assert_eq!(env.json(&["sync", "run", NAME])["created"], 2, "alice passes the first group, bob the second");
    let shown = env.ok(&["sync", "show", NAME]);
    let filter = shown.lines().find(|l| l.starts_with("scopingFilter")).unwrap();
    assert!(filter.ends_with("  department EQUALS Sales OR department EQUALS Legal AND jobTitle IS NULL"), "{shown}");
}

#[test]
fn sync_update_sets_what_show_shows_and_says_what_changed() {
    let env = Env::new();
    world(&env);
    allow(&env);
    env.ok(&["sync", "create", "--source", "fabrikam.example", "--target", "contoso.example", "--scope", "all"]);
    assert_eq!(env.json(&["sync", "run", NAME])["created"], 2);
    // Nothing asked, nothing changed; the next cycle stays incremental.
    let same = env.ok(&["sync", "update", NAME]);
    assert!(same.contains("nothing changed") && same.contains("next cycle: incremental"), "{same}");
    // The filter: Legal users out, and the next cycle an initial one (docs/sync.md).
    let out = env.ok(&["sync", "update", NAME, "--filter", "department EQUALS Sales"]);
    assert!(out.contains("scopingFilter: (none: every user in scope passes) -> department EQUALS Sales"), "{out}");
    assert!(out.contains("next cycle: initial"), "{out}");
    let r = env.json(&["sync", "run", NAME]);
    assert_eq!((r["initial"].as_bool(), r["softDeleted"].as_u64()), (Some(true), Some(1)), "{r}");
    // Everything else, at once, as JSON: each change old -> new.
    let args = [
        "--name",
        "Renamed",
        "--user-type",
        "Guest",
        "--unmap",
        "manager",
        "--flow",
        "department=ObjectAddOnly",
        "--default",
        "jobTitle=Staff",
        "--map",
        "companyName=\"Fabrikam\"",
        "--allow-delete",
        "false",
        "--deletion-threshold",
        "off",
        "--retry-base-seconds",
        "30",
        "--retry-max-seconds",
        "600",
        "--quarantine-evaluate-after",
        "10",
        "--quarantine-failure-percent",
        "50",
        "--quarantine-failures",
        "100",
        "--quarantine-absolute",
        "200",
        "--no-filter",
        "--group-unmap",
        "mailNickname",
        "--group-default",
        "description=Synced",
        "--group-flow",
        "displayName=ObjectAddOnly",
    ];
    let mut update = vec!["sync", "update", NAME];
    update.extend(args);
    let j = env.json(&update);
    let changes: std::collections::BTreeMap<String, (serde_json::Value, serde_json::Value)> =
        j["changes"].as_array().unwrap().iter().map(|c| (c["setting"].as_str().unwrap().to_owned(), (c["old"].clone(), c["new"].clone()))).collect();
    let expect = |k: &str, old: serde_json::Value, new: serde_json::Value| assert_eq!(changes.get(k), Some(&(old, new)), "{k}: {changes:#?}");
    expect("displayName", "Fabrikam to Contoso".into(), "Renamed".into());
    expect("userMappings.userType", "\"Member\" (flow ObjectAddOnly)".into(), "\"Guest\" (flow ObjectAddOnly)".into());
    expect("userMappings.manager", "[manager]".into(), serde_json::Value::Null);
    expect("userMappings.department", "[department]".into(), "[department] (flow ObjectAddOnly)".into());
    expect("userMappings.jobTitle", "[jobTitle]".into(), "[jobTitle] (default \"Staff\")".into());
    expect("userMappings.companyName", "[companyName]".into(), "\"Fabrikam\"".into());
    expect("actions.delete", "true".into(), "false".into());
    expect("deletionThreshold", "500".into(), "off".into());
    expect("retry.baseSeconds", "60".into(), "30".into());
    expect("retry.maxSeconds", "3600".into(), "600".into());
    expect("quarantine.evaluateAfter", "5000".into(), "10".into());
    expect("quarantine.failurePercent", "40".into(), "50".into());
    expect("quarantine.failures", "40000".into(), "100".into());
    expect("quarantine.absolute", "60000".into(), "200".into());
    expect("scopingFilter", "department EQUALS Sales".into(), "(none: every user in scope passes)".into());
    expect("groupMappings.mailNickname", "[mailNickname]".into(), serde_json::Value::Null);
    expect("groupMappings.description", "[description]".into(), "[description] (default \"Synced\")".into());
    expect("groupMappings.displayName", "[displayName]".into(), "[displayName] (flow ObjectAddOnly)".into());
    assert_eq!(changes.len(), 18, "{changes:#?}");
    assert_eq!(j["nextCycleInitial"], true);
    let c = &j["configuration"];
    assert_eq!(c["actions"], serde_json::json!({"create": true, "update": true, "delete": false}));
    assert!(c["deletionThreshold"].is_null());
    assert_eq!(c["retry"], serde_json::json!({"baseSeconds": 30, "maxSeconds": 600}));
    assert_eq!(env.json(&["sync", "run", NAME])["initial"], true);
    // Every setting `sync show` prints is named by an option of `sync update`.
    let help = env.ok(&["sync", "update", "--help"]);
    let option = |setting: &str| -> &str {
        match setting.split('.').next().unwrap() {
            "displayName" => "--name",
            "scope" => "--scope",
            "scopingFilter" => "--filter",
            "assignments" => "--assign",
            "userMappings" => "--map",
            "groupMappings" => "--group-map",
            "provisionGroups" => "--provision-groups",
            "actions" => "--allow-create",
            "deletionThreshold" => "--deletion-threshold",
            "retry" => "--retry-base-seconds",
            "quarantine" => "--quarantine-absolute",
            other => panic!("`sync show` prints '{other}', which `sync update` cannot set"),
        }
    };
    let shown = env.ok(&["sync", "show", NAME]);
    let identity = ["id", "source", "target", "status", "watermark", "lastExecution", "escrows", "quarantineReason", "forceDeletes"];
    for line in shown.lines().filter(|l| !l.starts_with(' ')) {
        let key = line.split_whitespace().next().unwrap();
        if !identity.contains(&key) {
            let flag = option(key);
            assert!(help.contains(flag), "{key}: {flag} missing from sync update --help");
        }
    }
    assert!(help.contains("--unmap") && help.contains("--flow") && help.contains("--default") && help.contains("--user-type"));
    assert!(help.contains("--allow-update") && help.contains("--allow-delete") && help.contains("--retry-max-seconds"));
    // Mistakes are one line each.
    for (args, says) in [
        (&["--unmap", "favouriteColour"][..], "no mapping writes 'favouriteColour'"),
        (&["--flow", "city=Sometimes"], "expected TARGET=Always or TARGET=ObjectAddOnly"),
        (&["--retry-base-seconds", "9999"], "the first wait (9999 s) is longer than the longest (600 s)"),
        (&["--filter", "department SOUNDS_LIKE Sales"], "the operators: EQUALS, NOT EQUALS"),
        (&["--name", " "], "cannot be empty"),
    ] {
        let mut all = vec!["sync", "update", NAME];
        all.extend(args);
        let r = env.run(&all);
        assert_eq!((r.code, r.stderr.lines().count()), (1, 1), "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(says), "{args:?}: {}", r.stderr);
    }
}

#[test]
fn job_output_speaks_names_not_debug_text() {
    let env = Env::new();
    world(&env);
    allow(&env);
    let g = env.json(&["group", "create", "-t", "fabrikam.example", "--name", "Marketing"]);
    env.ok(&["group", "add-member", "-t", "fabrikam.example", "Marketing", "bob@fabrikam.example"]);
    env.ok(&["sync", "create", "--source", "fabrikam.example", "--target", "contoso.example", "--filter", "department EQUALS Sales"]);
    let assigned = env.ok(&["sync", "assign", NAME, "--group", "Marketing"]);
    assert_eq!(assigned.trim(), format!("assigned group Marketing ({})", g["id"].as_str().unwrap()));
    let again = env.json(&["sync", "assign", NAME, "--group", "Marketing"]);
    assert_eq!(again["type"], "group");
    assert_eq!(again["name"], "Marketing");
    let assigned = env.json(&["sync", "assign", NAME, "--user", "alice@fabrikam.example"]);
    assert_eq!((assigned["type"].as_str(), assigned["name"].as_str()), (Some("user"), Some("alice@fabrikam.example")));
    // bob (Legal) is assigned through Marketing, but the filter leaves him out.
    let out = env.ok(&["sync", "provision", NAME, "--user", "bob@fabrikam.example"]);
    let result = out.lines().last().unwrap();
    assert_eq!(result, "result: other skipped — ScopingFilterFailed: the configuration's scoping filter leaves it out", "{out}");
    let list = env.ok(&["sync", "list"]);
    assert!(list.contains(" assignedUsersAndGroups ") && list.contains(" NotRun "), "{list}");
    let shown = env.ok(&["sync", "show", NAME]);
    assert!(shown.contains("user alice@fabrikam.example") && shown.contains("group Marketing ("), "{shown}");
    // sync update changes the assignments too, naming users and groups alike.
    let out = env.ok(&["sync", "update", NAME, "--unassign", "alice@fabrikam.example", "--unassign", "Marketing", "--assign", "bob@fabrikam.example"]);
    let line = out.lines().find(|l| l.trim_start().starts_with("assignments:")).unwrap();
    assert!(line.ends_with("-> user bob@fabrikam.example"), "{out}");
    let r = env.run(&["sync", "update", NAME, "--unassign", "Marketing"]);
    assert!(r.stderr.ends_with("is not assigned [not_assigned]\n"), "{}", r.stderr);
    let r = env.run(&["sync", "unassign", NAME, "--user", "alice@fabrikam.example"]);
    assert!(r.stderr.contains("user 'alice@fabrikam.example'") && r.stderr.contains("is not assigned [not_assigned]"), "{}", r.stderr);
}

#[test]
fn logs_by_names_dates_and_staged_deletes() {
    let env = Env::new();
    world(&env);
    allow(&env);
    env.ok(&["sync", "create", "--source", "fabrikam.example", "--target", "contoso.example", "--scope", "all", "--deletion-threshold", "1"]);
    env.ok(&["sync", "run", NAME]);
    // An object by userPrincipalName, in the source or the target.
    let alice = env.json(&["sync", "logs", NAME, "--object", "alice@fabrikam.example"]);
    assert_eq!(alice.as_array().unwrap().len(), 1);
    assert_eq!(alice[0]["sourceDisplayName"], "alice@fabrikam.example");
    let copy = env.json(&["sync", "logs", NAME, "--object", "alice_fabrikam.example#EXT#@contoso.example"]);
    assert_eq!(copy[0]["id"], alice[0]["id"]);
    let r = env.run(&["sync", "logs", NAME, "--object", "nobody@fabrikam.example"]);
    assert!(r.stderr.contains("not found in 'fabrikam.example' or 'contoso.example' [not_found]"), "{}", r.stderr);
    // Dates as well as times.
    assert_eq!(env.json(&["sync", "logs", NAME, "--since", "2000-01-01"]).as_array().unwrap().len(), 2);
    assert!(env.json(&["sync", "logs", NAME, "--until", "2000-01-01"]).as_array().unwrap().is_empty());
    // Two deletions over a threshold of one: staged, and printed as the docs spell it.
    env.ok(&["user", "delete", "-t", "fabrikam.example", "alice@fabrikam.example"]);
    env.ok(&["user", "delete", "-t", "fabrikam.example", "bob@fabrikam.example"]);
    env.ok(&["sync", "run", NAME]);
    let text = env.ok(&["sync", "logs", NAME, "--status", "Skipped"]);
    assert!(text.contains(" stagedDelete ") && !text.contains("stageddelete"), "{text}");
    let time = text.lines().nth(1).unwrap().split_whitespace().next().unwrap();
    assert_eq!(time.len(), "2026-12-06T10:11:12.345Z".len(), "{time}");
    let shown = env.ok(&["sync", "show", NAME]);
    let reason = shown.lines().find(|l| l.starts_with("quarantineReason")).unwrap();
    assert!(reason.ends_with("  TooManyDeletes: a cycle would have deleted more than the accidental-deletion threshold allows"), "{shown}");
}

#[test]
fn mapping_removal_flow_and_default_take_effect() {
    let env = Env::new();
    world(&env);
    allow(&env);
    env.ok(&["user", "update", "-t", "fabrikam.example", "alice@fabrikam.example", "--set", "city=Oslo"]);
    env.ok(&[
        "sync",
        "create",
        "--source",
        "fabrikam.example",
        "--target",
        "contoso.example",
        "--scope",
        "all",
        "--unmap",
        "city",
        "--default",
        "jobTitle=Staff",
        "--flow",
        "department=ObjectAddOnly",
        "--user-type",
        "Guest",
    ]);
    env.ok(&["sync", "run", NAME]);
    let copy = "alice_fabrikam.example#EXT#@contoso.example";
    let alice = env.json(&["user", "show", "-t", "contoso.example", copy]);
    assert!(alice["city"].is_null(), "city is not mapped: {alice}");
    assert_eq!(alice["jobTitle"], "Staff", "the default, as the source has none");
    assert_eq!(alice["userType"], "Guest");
    assert_eq!(alice["department"], "Sales");
    // department flows only on create: a later change in the source is not written.
    env.ok(&["user", "update", "-t", "fabrikam.example", "alice@fabrikam.example", "--set", "department=Marketing", "--set", "jobTitle=Lead"]);
    env.ok(&["sync", "run", NAME]);
    let alice = env.json(&["user", "show", "-t", "contoso.example", copy]);
    assert_eq!((alice["department"].as_str(), alice["jobTitle"].as_str()), (Some("Sales"), Some("Lead")));
}
