//! Every command, end to end through the binary.
use crate::support::Env;

#[test]
fn tenants_are_created_listed_and_shown() {
    let env = Env::new();
    env.contoso();
    env.ok(&["tenant", "create", "--name", "Fabrikam", "--domain", "Fabrikam.Example", "--retention-days", "7"]);
    let list = env.json(&["tenant", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 2);
    let shown = env.json(&["tenant", "show", "fabrikam.example"]);
    assert_eq!(shown["initialDomain"], "fabrikam.example");
    assert_eq!(shown["softDeleteRetentionDays"], 7);
    let by_id = env.json(&["tenant", "show", shown["id"].as_str().unwrap()]);
    assert_eq!(by_id["displayName"], "Fabrikam");
    let updated = env.json(&["tenant", "update", "fabrikam.example", "--retention-days", "45"]);
    assert_eq!(updated["softDeleteRetentionDays"], 45);
    assert!(env.ok(&["tenant", "list"]).contains("contoso.example"));
}

#[test]
fn user_lifecycle_through_the_cli() {
    let env = Env::new();
    env.contoso();
    let alice = env.json(&[
        "user",
        "create",
        "-t",
        "contoso.example",
        "--upn",
        "alice@contoso.example",
        "--set",
        "displayName=Alice Liddell",
        "--set",
        "department=Sales",
        "--set",
        "extension_0123456789abcdef0123456789abcdef_skills=rust",
        "--set",
        "extension_0123456789abcdef0123456789abcdef_skills=sql",
    ]);
    assert_eq!(alice["displayName"], "Alice Liddell");
    assert_eq!(alice["origin"], "internal");
    assert_eq!(alice["extension_0123456789abcdef0123456789abcdef_skills"], serde_json::json!(["rust", "sql"]));
    let bob = env.json(&["user", "create", "-t", "contoso.example", "--upn", "bob@contoso.example", "--manager", "alice@contoso.example"]);
    assert_eq!(bob["manager"], alice["id"]);
    let ext = env.json(&[
        "user",
        "create",
        "-t",
        "contoso.example",
        "--upn",
        "carol_fabrikam.example#EXT#@contoso.example",
        "--anchor",
        "01a20843-ce53-750f-af29-a364bf4b7052:01a20843-ce69-72a1-8a77-53846884f128",
    ]);
    assert_eq!(ext["origin"], "external");

    let updated =
        env.json(&["user", "update", "-t", "contoso.example", "alice@contoso.example", "--set", "department=Marketing", "--set", "city=", "--if-match", "1"]);
    assert_eq!(updated["department"], "Marketing");
    assert_eq!(updated["version"], 2);

    env.ok(&["user", "delete", "-t", "contoso.example", "bob@contoso.example"]);
    let listed = env.json(&["user", "list", "-t", "contoso.example"]);
    assert_eq!(listed["value"].as_array().unwrap().len(), 2);
    let deleted = env.json(&["user", "list", "-t", "contoso.example", "--show", "deleted"]);
    assert_eq!(deleted["value"][0]["userPrincipalName"], "bob@contoso.example");
    assert!(deleted["value"][0]["deletedDateTime"].is_string());
    let restored = env.json(&["user", "restore", "-t", "contoso.example", "bob@contoso.example"]);
    assert!(restored["deletedDateTime"].is_null());
    env.ok(&["user", "delete", "-t", "contoso.example", "bob@contoso.example", "--hard"]);
    assert_eq!(env.run(&["user", "show", "-t", "contoso.example", "bob@contoso.example"]).code, 1);

    let shown = env.ok(&["user", "show", "-t", "contoso.example", "alice@contoso.example"]);
    assert!(shown.contains("Marketing"));
    let page = env.json(&["user", "list", "-t", "contoso.example", "--limit", "1"]);
    assert_eq!(page["value"].as_array().unwrap().len(), 1);
    let next = page["next"].as_str().unwrap();
    let page2 = env.json(&["user", "list", "-t", "contoso.example", "--limit", "1", "--after", next]);
    assert_ne!(page2["value"][0]["id"], page["value"][0]["id"]);
}

#[test]
fn groups_and_members_through_the_cli() {
    let env = Env::new();
    env.contoso();
    env.ok(&["user", "create", "-t", "contoso.example", "--upn", "alice@contoso.example"]);
    let g = env.json(&["group", "create", "-t", "contoso.example", "--name", "Sales team", "--set", "description=All of sales"]);
    let gid = g["id"].as_str().unwrap().to_owned();
    assert_eq!(g["securityEnabled"], true);
    env.ok(&["group", "add-member", "-t", "contoso.example", &gid, "alice@contoso.example"]);
    let members = env.json(&["group", "members", "-t", "contoso.example", &gid]);
    assert_eq!(members["value"][0]["userPrincipalName"], "alice@contoso.example");
    let again = env.run(&["group", "add-member", "-t", "contoso.example", &gid, "alice@contoso.example"]);
    assert_eq!(again.code, 1);
    assert!(again.stderr.contains("[member_exists]"), "{}", again.stderr);
    env.ok(&["group", "remove-member", "-t", "contoso.example", &gid, "alice@contoso.example"]);
    let upd = env.json(&["group", "update", "-t", "contoso.example", &gid, "--set", "displayName=Sales"]);
    assert_eq!(upd["displayName"], "Sales");
    env.ok(&["group", "delete", "-t", "contoso.example", &gid]);
    assert_eq!(env.json(&["group", "list", "-t", "contoso.example"])["value"].as_array().unwrap().len(), 0);
    env.ok(&["group", "restore", "-t", "contoso.example", &gid]);
    assert_eq!(env.json(&["group", "show", "-t", "contoso.example", &gid])["displayName"], "Sales");
    env.ok(&["group", "delete", "-t", "contoso.example", &gid, "--hard"]);
    assert!(env.ok(&["group", "list", "-t", "contoso.example", "--show", "all"]).lines().count() == 1);
}

#[test]
fn the_change_feed_shows_every_write_in_order() {
    let env = Env::new();
    env.contoso();
    env.ok(&["user", "create", "-t", "contoso.example", "--upn", "alice@contoso.example", "--set", "city=Oslo"]);
    env.ok(&["user", "update", "-t", "contoso.example", "alice@contoso.example", "--set", "city=Lyon"]);
    env.ok(&["user", "delete", "-t", "contoso.example", "alice@contoso.example"]);
    env.ok(&["user", "restore", "-t", "contoso.example", "alice@contoso.example"]);
    let feed = env.json(&["changes", "-t", "contoso.example"]);
    let ops: Vec<&str> = feed["changes"].as_array().unwrap().iter().map(|c| c["op"].as_str().unwrap()).collect();
    assert_eq!(ops, ["create", "update", "softDelete", "restore"]);
    assert_eq!(feed["changes"][1]["attributes"][0], serde_json::json!({"name": "city", "old": "Oslo", "new": "Lyon"}));
    assert_eq!(feed["nextCursor"], 4);
    let later = env.json(&["changes", "-t", "contoso.example", "--from", "2", "--limit", "1"]);
    assert_eq!(later["changes"][0]["seq"], 3);
    assert_eq!(later["nextCursor"], 3);
    let text = env.ok(&["changes", "-t", "contoso.example"]);
    assert!(text.contains("city: Oslo -> Lyon"), "{text}");
}

#[test]
fn follow_prints_changes_as_they_commit() {
    use std::io::{BufRead, BufReader};
    let env = Env::new();
    env.contoso();
    let mut child = env.cmd().args(["changes", "-t", "contoso.example", "--follow", "--json"]).stdout(std::process::Stdio::piped()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    env.ok(&["user", "create", "-t", "contoso.example", "--upn", "alice@contoso.example"]);
    // The follower is another process: it wakes on its scheduled re-check or on its own
    // notification; either way the line must arrive.
    let mut line = String::new();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let _ = reader.read_line(&mut line);
        let _ = tx.send(line);
    });
    let got = rx.recv_timeout(std::time::Duration::from_secs(20));
    let _ = child.kill();
    let _ = child.wait();
    let got = got.expect("the follower printed the change");
    let change: serde_json::Value = serde_json::from_str(&got).unwrap();
    assert_eq!(change["op"], "create");
}

#[test]
fn purge_removes_only_what_outlived_its_retention() {
    let env = Env::new();
    env.ok(&["tenant", "create", "--name", "Contoso", "--domain", "contoso.example", "--retention-days", "0"]);
    env.ok(&["user", "create", "-t", "contoso.example", "--upn", "alice@contoso.example"]);
    env.ok(&["user", "create", "-t", "contoso.example", "--upn", "bob@contoso.example"]);
    env.ok(&["user", "delete", "-t", "contoso.example", "alice@contoso.example"]);
    std::thread::sleep(std::time::Duration::from_millis(5));
    let out = env.ok(&["purge", "-t", "contoso.example"]);
    assert!(out.contains("purged 1 objects"), "{out}");
    assert_eq!(env.json(&["user", "list", "-t", "contoso.example", "--show", "all"])["value"].as_array().unwrap().len(), 1);
    // With the default 30 days nothing recent goes.
    env.ok(&["tenant", "update", "contoso.example", "--retention-days", "30"]);
    env.ok(&["user", "delete", "-t", "contoso.example", "bob@contoso.example"]);
    assert!(env.ok(&["purge"]).contains("purged 0 objects"));
}

#[test]
fn the_demo_builds_the_seed_topologies() {
    let env = Env::new();
    let out = env.ok(&["demo", "--users", "30"]);
    for domain in ["contoso.example", "test.contoso.example", "woodgrove.example", "fabrikam.example", "relecloud.example", "litware.example"] {
        assert!(out.contains(domain), "{domain} missing from:\n{out}");
    }
    assert!(out.contains("imported 300 users"), "{out}");
    let contoso = env.json(&["tenant", "show", "contoso.example"]);
    assert_eq!(contoso["userCount"], 30);
    // The arrows ran: the test tenant holds external copies of production's users.
    let test = env.json(&["tenant", "show", "test.contoso.example"]);
    assert_eq!(test["userCount"], 30);
    let copies = env.json(&["user", "list", "-t", "test.contoso.example", "--limit", "1"]);
    assert_eq!(copies["value"][0]["origin"], "external");
    assert!(copies["value"][0]["userPrincipalName"].as_str().unwrap().ends_with("_contoso.example#EXT#@test.contoso.example"));
    assert!(out.contains("sync cycles:"), "{out}");
    // What the logs say: one create per copy, the mesh's echoes refused, and the record of
    // an incremental change with its old and new value.
    assert!(out.contains("contoso.example -> test.contoso.example: 30 records: create success 30"), "{out}");
    assert!(out.contains("wingtip.example -> proseware.example: 60 records: create success 30, other skipped (ExternalUser) 30"), "{out}");
    assert!(out.contains("logged: Update success") && out.contains("department '"), "{out}");
    // Relecloud sends only Engineering; the mesh partners send everyone.
    let relecloud = env.json(&["tenant", "show", "relecloud.example"]);
    assert_eq!(relecloud["userCount"], 30 + 3 * 30);
    // The hub provisions its department groups, with their members, to its spokes.
    assert!(out.contains("groups Woodgrove provisioned into dev.woodgrove.example"), "{out}");
    let source_groups = env.json(&["group", "list", "-t", "woodgrove.example"])["value"].as_array().unwrap().len();
    let spoke_groups = env.json(&["group", "list", "-t", "dev.woodgrove.example"]);
    let spoke_groups = spoke_groups["value"].as_array().unwrap();
    assert_eq!(spoke_groups.len(), source_groups);
    assert!(spoke_groups.iter().all(|g| g["origin"] == "external" && g["securityEnabled"] == true));
    assert_eq!(env.json(&["tenant", "show", "dev.woodgrove.example"])["userCount"], 30, "every user is in a department group");
    // Managers from the generated file resolved: user 1 reports to user 0.
    let users = env.json(&["user", "list", "-t", "contoso.example", "--limit", "2"]);
    assert_eq!(users["value"][1]["manager"], users["value"][0]["id"]);
    // Running it again changes nothing: the cycles are incremental and find no work.
    let again = env.ok(&["demo", "--users", "30"]);
    assert!(again.contains("incremental cycle, 0 created, 0 updated"), "{again}");
    assert_eq!(env.json(&["tenant", "show", "contoso.example"])["userCount"], 30);
    assert_eq!(env.json(&["tenant", "show", "test.contoso.example"])["userCount"], 30);
}
