//! `tenantsync access` end to end: the seed's joint venture set up and run from the
//! command line, with its one-line refusals.
use crate::support::Env;

#[test]
fn the_joint_venture_from_the_command_line() {
    let env = Env::new();
    env.contoso();
    env.ok(&["tenant", "create", "--name", "Litware", "--domain", "litware.example"]);
    env.ok(&["user", "create", "-t", "litware.example", "--upn", "ann@litware.example", "--set", "displayName=Ann Lee"]);
    env.ok(&["user", "create", "-t", "contoso.example", "--upn", "sam@contoso.example"]);
    env.ok(&["group", "create", "-t", "contoso.example", "--name", "Projects"]);
    let org = env.json(&[
        "access",
        "org",
        "create",
        "-t",
        "contoso.example",
        "--name",
        "Litware",
        "--tenant-source",
        "litware.example",
        "--sponsor",
        "sam@contoso.example",
    ]);
    assert_eq!(org["state"], "configured");
    env.ok(&["access", "catalog", "create", "-t", "contoso.example", "--name", "Joint venture"]);
    env.ok(&["access", "package", "create", "-t", "contoso.example", "--catalog", "joint venture", "--name", "Falcon", "--group", "Projects", "--hidden"]);
    let policy = env.json(&[
        "access",
        "policy",
        "create",
        "-t",
        "contoso.example",
        "--package",
        "Falcon",
        "--name",
        "Litware employees",
        "--scope",
        "specific-orgs",
        "--org",
        "Litware",
        "--stage",
        "sponsors",
        "--expire-days",
        "90",
        "--extendable",
    ]);
    assert_eq!(policy["allowedTargetScope"], "specificConnectedOrganizationUsers");
    assert_eq!(policy["expiration"]["duration"], "P90D");

    let r = env.json(&[
        "access",
        "request",
        "-t",
        "contoso.example",
        "--package",
        "Falcon",
        "--home-tenant",
        "litware.example",
        "--home-user",
        "ann@litware.example",
    ]);
    assert_eq!(r["state"], "pendingApproval");
    let id = r["id"].as_str().unwrap().to_owned();
    let pending = env.json(&["access", "requests", "-t", "contoso.example", "--pending-for", "sam@contoso.example"]);
    assert_eq!(pending["value"].as_array().unwrap().len(), 1);
    let text = env.ok(&["access", "approve", "-t", "contoso.example", &id, "--as", "sam@contoso.example"]);
    assert!(text.starts_with(&format!("approved request {id}: delivered")), "{text}");
    // The guest is there, in the group.
    let guest = env.json(&["user", "show", "-t", "contoso.example", "ann_litware.example#EXT#@contoso.example"]);
    assert_eq!(guest["userType"], "Guest");
    assert_eq!(guest["displayName"], "Ann Lee");
    let members = env.ok(&["group", "members", "-t", "contoso.example", "Projects"]);
    assert!(members.contains("ann_litware.example#EXT#@contoso.example"), "{members}");
    let outbox = env.json(&["access", "outbox", "-t", "contoso.example"]);
    let events: Vec<&str> = outbox["value"].as_array().unwrap().iter().map(|m| m["event"].as_str().unwrap()).collect();
    assert_eq!(events, ["accessGranted", "requestApproved", "approvalRequired"]);
    let assignments = env.json(&["access", "assignments", "-t", "contoso.example", "--user", "ann_litware.example#EXT#@contoso.example"]);
    assert_eq!(assignments["value"][0]["state"], "delivered");
    let sweep = env.json(&["access", "sweep"]);
    assert_eq!(sweep, serde_json::json!({"requests": 0, "reminders": 0, "assignmentsEnded": 0, "guestsDeleted": 0}));

    // Refusals: one line, the object, the code; nothing written.
    let refused = [
        (vec!["access", "approve", "-t", "contoso.example", id.as_str(), "--as", "sam@contoso.example"], "[stage_already_decided]"),
        (vec!["access", "request", "-t", "contoso.example", "--package", "Falcon", "--user", "sam@contoso.example"], "[not_in_policy_scope]"),
        (vec!["access", "request", "-t", "contoso.example", "--package", "Nothing", "--user", "sam@contoso.example"], "[access_object_not_found]"),
        (vec!["access", "package", "create", "-t", "contoso.example", "--catalog", "Joint venture", "--name", "X", "--group", "Nowhere"], "[not_found]"),
        (vec!["access", "request", "-t", "contoso.example", "--package", "Falcon"], "[invalid_argument]"),
    ];
    for (args, code) in refused {
        let run = env.run(&args);
        assert_eq!(run.code, 1, "{args:?}");
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{args:?}: {}", run.stderr);
        assert!(lines[0].starts_with("error: ") && lines[0].ends_with(code), "{args:?}: {}", run.stderr);
    }
    let requests = env.json(&["access", "requests", "-t", "contoso.example"]);
    assert_eq!(requests["value"].as_array().unwrap().len(), 1);
}
