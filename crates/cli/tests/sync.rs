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
    assert_eq!(shown["inboundUserSync"], true);
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
    assert_eq!(c["provisionGroups"], true);
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
    assert!(env.ok(&["sync", "show", name]).contains("\"provisionGroups\": true"));
    assert!(env.ok(&["sync", "run", name]).contains("incremental cycle"));
    let logs = env.json(&["sync", "logs", name]);
    assert!(logs.as_array().unwrap().iter().any(|l| l["objectType"] == "group" && l["provisioningAction"] == "create"));
    assert!(env.ok(&["sync", "logs", name]).contains("group"));
    // Groups are not provisioned on demand.
    let r = env.run(&["sync", "provision", name, "--user", &gid]);
    assert!(r.stderr.trim().ends_with("[EntityTypeNotSupported]"), "{}", r.stderr);
    // Off again: a plain-text confirmation, and show says so.
    assert!(env.ok(&["sync", "update", name, "--provision-groups", "false"]).contains("group provisioning off"));
    assert_eq!(env.json(&["sync", "show", name])["configuration"]["provisionGroups"], false);
}
