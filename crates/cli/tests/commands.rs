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
    // Contoso's 30, and the joint venture's sponsor (joint-venture.toml names him).
    let contoso = env.json(&["tenant", "show", "contoso.example"]);
    assert_eq!(contoso["userCount"], 31);
    // The arrows ran: the test tenant holds external copies of production's users.
    let test = env.json(&["tenant", "show", "test.contoso.example"]);
    assert_eq!(test["userCount"], 31);
    let copies = env.json(&["user", "list", "-t", "test.contoso.example", "--limit", "1"]);
    assert_eq!(copies["value"][0]["origin"], "external");
    assert!(copies["value"][0]["userPrincipalName"].as_str().unwrap().ends_with("_contoso.example#EXT#@test.contoso.example"));
    assert!(out.contains("sync cycles:"), "{out}");
    // The topologies are the files of examples/, planned (each new arrow's first cycle
    // predicted) and applied; the cycles then do what was predicted.
    for file in ["one-to-one", "hub", "consolidate", "mesh", "joint-venture"] {
        assert!(out.contains(&format!("examples/{file}.toml (")), "{file}: {out}");
    }
    assert!(out.contains("contoso.example -> test.contoso.example: next cycle (initial) predicted: 31 create, 0 update, 0 soft-delete, 0 skip"), "{out}");
    assert!(out.contains("contoso.example -> test.contoso.example: initial cycle, 31 created"), "{out}");
    assert!(
        out.contains("woodgrove.example -> dev.woodgrove.example: next cycle (initial) predicted: 30 create, 0 update, 0 soft-delete, 0 skip, 8 groups create"),
        "{out}"
    );
    // What the logs say: one create per copy, the mesh's echoes refused, and the record of
    // an incremental change with its old and new value.
    assert!(out.contains("contoso.example -> test.contoso.example: 31 records: create success 31"), "{out}");
    // The joint venture, its clock moved: request, approval, guest in the group, reminders,
    // expiry with removal and block, deletion 30 days later; each with what the outbox sent.
    for step in [
        "ann@litware.example requests 'Projects': pendingApproval",
        "outbox sent to sam.sponsor@contoso.example: Action required",
        "sam.sponsor@contoso.example approves: delivered; guest ann_litware.example#EXT#@contoso.example in Projects",
        "outbox sent to ann@litware.example: You now have access",
        "sam.sponsor@contoso.example requests 'Project tenant': delivered; contoso.example -> projects.contoso.example provisions him: 1 created",
        "day  76: reminder: 14 days left (1 reminders, 0 ended)",
        "day  90: the assignment expires (0 reminders, 1 ended): removed from Projects ([]), sign-in blocked",
        "outbox sent to ann@litware.example: Your access has ended",
        "day 120: 30 days after the block: 1 guest deleted",
    ] {
        assert!(out.contains(step), "{step}: {out}");
    }
    assert!(out.contains("wingtip.example -> proseware.example: 60 records: create success 30, other skipped (ExternalUser) 30"), "{out}");
    assert!(out.contains("logged: update success") && out.contains("department '"), "{out}");
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
    // The access settings are the files': the test tenant allows production only; the
    // mesh's members allow every partner (their defaults, as mesh.toml sets them).
    let test = env.json(&["partner", "show", "-t", "test.contoso.example", "--partner", "contoso.example"]);
    assert_eq!(test["inboundUserSync"], serde_json::json!({"value": true, "from": "partner"}));
    for tenant in ["contoso.example", "test.contoso.example", "litware.example"] {
        let defaults = env.json(&["partner", "show", "-t", tenant]);
        assert_eq!(defaults["inboundUserSync"]["value"], false, "{tenant}: {defaults}");
    }
    assert_eq!(env.json(&["partner", "show", "-t", "proseware.example"])["inboundUserSync"]["value"], true);
    let stranger = env.json(&["partner", "show", "-t", "test.contoso.example", "--partner", "litware.example"]);
    assert_eq!(stranger["inboundUserSync"]["value"], false);
    assert_eq!(env.json(&["partner", "show", "-t", "dev.woodgrove.example", "--partner", "woodgrove.example"])["inboundGroupSync"]["value"], true);
    // Running it again creates and updates nothing; what each cycle logged is this run's
    // records only: the mesh's incremental cycles read the external users their partners
    // wrote after them, and skip each (ExternalUser).
    let again = env.ok(&["demo", "--users", "30"]);
    assert!(again.contains("nothing was imported, and every arrow ran an incremental cycle"), "{again}");
    assert!(again.contains("examples/mesh.toml (N:N portfolio mesh): nothing to do, the store matches the file"), "{again}");
    assert!(again.contains("contoso.example -> test.contoso.example: incremental cycle, 0 created, 0 updated"), "{again}");
    assert!(again.contains("contoso.example -> test.contoso.example: 0 records\n"), "{again}");
    assert!(again.contains("proseware.example -> wingtip.example: 64 records: other skipped (ExternalUser) 64"), "{again}");
    assert!(again.contains("relecloud.example -> lamna.example: 0 records\n"), "the last of the mesh: {again}");
    assert_eq!(env.json(&["tenant", "show", "contoso.example"])["userCount"], 31);
    assert_eq!(env.json(&["tenant", "show", "test.contoso.example"])["userCount"], 31);
    assert!(again.contains("day 120: 30 days after the block: 1 guest deleted"), "the story runs again in a store of its own: {again}");
    // --json: the whole summary, one document.
    let j = env.json(&["demo", "--users", "30"]);
    assert_eq!(j["tenants"].as_array().unwrap().len(), 15);
    assert_eq!(j["cycles"].as_array().unwrap().len(), 19);
    assert_eq!(j["topologies"].as_array().unwrap().len(), 5);
    assert_eq!(j["logs"].as_array().unwrap().len(), 19);
    assert_eq!(j["jointVenture"].as_array().unwrap().len(), 7);
    assert_eq!(j["followedChange"]["record"]["provisioningAction"], "update");
    assert!(j["groupsProvisioned"].as_array().unwrap().len() > 1);
}

/// A tenant with `n` generated users, imported.
fn many_users(env: &Env, n: usize) {
    env.contoso();
    let mut csv = String::from("userPrincipalName,displayName,department\n");
    for i in 0..n {
        csv.push_str(&format!("user{i:05}@contoso.example,User {i},{}\n", if i % 2 == 0 { "Sales" } else { "Legal" }));
    }
    let f = env.file("many.csv", &csv);
    env.ok(&["import", "users", "-t", "contoso.example", crate::support::path_str(&f), "--quiet"]);
}

#[test]
fn output_into_a_pipe_closed_early_ends_quietly() {
    use std::io::{BufRead, BufReader};
    let env = Env::new();
    many_users(&env, 1500);
    // Each prints far more than a pipe holds, so writing goes on after the reader left.
    for args in [
        &["user", "list", "-t", "contoso.example", "--limit", "1500"][..],
        &["changes", "-t", "contoso.example", "--limit", "1500"],
        &["user", "list", "-t", "contoso.example", "--limit", "1500", "--json"],
    ] {
        let mut child = env.cmd().args(args).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
        assert!(!first.is_empty());
        // The reader is gone (`| head -1`).
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(out.stderr.is_empty(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
fn every_command_answers_json_with_one_document() {
    let env = Env::new();
    env.contoso();
    env.ok(&["user", "create", "-t", "contoso.example", "--upn", "alice@contoso.example"]);
    env.ok(&["user", "create", "-t", "contoso.example", "--upn", "bob@contoso.example"]);
    env.ok(&["group", "create", "-t", "contoso.example", "--name", "Sales"]);
    let added = env.json(&["group", "add-member", "-t", "contoso.example", "Sales", "alice@contoso.example"]);
    assert_eq!(added["member"], true);
    let removed = env.json(&["group", "remove-member", "-t", "contoso.example", "Sales", "alice@contoso.example"]);
    assert_eq!(removed["member"], false);
    let soft = env.json(&["user", "delete", "-t", "contoso.example", "bob@contoso.example"]);
    assert!(soft["deletedDateTime"].is_string(), "{soft}");
    let hard = env.json(&["user", "delete", "-t", "contoso.example", "bob@contoso.example", "--hard"]);
    assert_eq!(hard, serde_json::json!({"id": soft["id"], "objectType": "user", "hardDeleted": true}));
    let group = env.json(&["group", "delete", "-t", "contoso.example", "Sales"]);
    assert!(group["deletedDateTime"].is_string(), "{group}");
    // purge: one document for all tenants, not a line each.
    env.ok(&["tenant", "create", "--name", "Fabrikam", "--domain", "fabrikam.example"]);
    let purged = env.json(&["purge"]);
    assert_eq!(purged.as_array().unwrap().len(), 2, "{purged}");
    assert_eq!(purged[0]["purged"], 0);
    // A token listing and creation.
    let token = env.json(&["token", "create", "-t", "contoso.example"]);
    assert!(token["token"].as_str().unwrap().starts_with("tsync_"));
    let revoked = env.json(&["token", "revoke", "-t", "contoso.example", token["id"].as_str().unwrap()]);
    assert!(revoked["revokedDateTime"].is_string());
}

#[test]
fn names_not_only_ids() {
    let env = Env::new();
    env.contoso();
    env.ok(&["user", "create", "-t", "contoso.example", "--upn", "alice@contoso.example"]);
    let marketing = env.json(&["group", "create", "-t", "contoso.example", "--name", "Marketing"]);
    // A group by its display name (any case) wherever a group is named.
    assert_eq!(
        env.ok(&["group", "add-member", "-t", "contoso.example", "marketing", "alice@contoso.example"]).trim(),
        "added alice@contoso.example to group marketing"
    );
    assert_eq!(env.json(&["group", "members", "-t", "contoso.example", "Marketing"])["value"][0]["userPrincipalName"], "alice@contoso.example");
    assert_eq!(env.json(&["group", "show", "-t", "contoso.example", "Marketing"])["id"], marketing["id"]);
    // Two groups of one name: the error lists both.
    let other = env.json(&["group", "create", "-t", "contoso.example", "--name", "MARKETING"]);
    let r = env.run(&["group", "show", "-t", "contoso.example", "Marketing"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.ends_with("[ambiguous_name]\n"), "{}", r.stderr);
    for g in [&marketing, &other] {
        assert!(r.stderr.contains(g["id"].as_str().unwrap()), "{}", r.stderr);
    }
    let r = env.run(&["group", "show", "-t", "contoso.example", "Nobody"]);
    assert!(r.stderr.contains("no group of tenant 'contoso.example' has this id or display name") && r.stderr.ends_with("[not_found]\n"), "{}", r.stderr);
}

#[test]
fn text_output_shows_names_and_one_time_format() {
    let env = Env::new();
    env.contoso();
    env.ok(&["user", "create", "-t", "contoso.example", "--upn", "alice@contoso.example"]);
    env.ok(&["user", "create", "-t", "contoso.example", "--upn", "carol_f.example#EXT#@contoso.example", "--anchor", &format!("{}:{}", uuid(), uuid())]);
    env.ok(&["group", "create", "-t", "contoso.example", "--name", "Sales"]);
    let users = env.ok(&["user", "list", "-t", "contoso.example"]);
    assert!(users.contains(" internal ") && users.contains(" external "), "{users}");
    assert!(env.ok(&["group", "list", "-t", "contoso.example"]).contains(" internal "));
    // Changes: times to the millisecond, UTC, fixed width, so columns line up.
    let changes = env.ok(&["changes", "-t", "contoso.example"]);
    let times: Vec<&str> = changes.lines().filter_map(|l| l.split_whitespace().nth(1)).filter(|t| t.contains('T')).collect();
    assert_eq!(times.len(), 3, "{changes}");
    for t in times {
        assert_eq!(t.len(), "2026-12-06T10:11:12.345Z".len(), "{t}");
        assert!(t.ends_with('Z') && t.as_bytes()[19] == b'.', "{t}");
    }
    let shown = env.ok(&["user", "show", "-t", "contoso.example", "alice@contoso.example"]);
    let created = shown.lines().find(|l| l.starts_with("createdDateTime")).unwrap();
    assert_eq!(created.split_whitespace().nth(1).unwrap().len(), 24, "{created}");
    // token: -t like every other command, and a header.
    env.ok(&["token", "create", "-t", "contoso.example", "--name", "entra"]);
    let tokens = env.ok(&["token", "list", "-t", "contoso.example"]);
    assert!(tokens.starts_with("ID ") && tokens.contains("NAME") && tokens.contains("entra"), "{tokens}");
}

fn uuid() -> String {
    uuid::Uuid::now_v7().to_string()
}

#[test]
fn user_list_takes_a_filter() {
    let env = Env::new();
    many_users(&env, 30);
    env.ok(&["user", "update", "-t", "contoso.example", "user00003@contoso.example", "--set", "city=Oslo"]);
    let sales = env.json(&["user", "list", "-t", "contoso.example", "--filter", "department eq \"sales\""]);
    assert_eq!(sales["value"].as_array().unwrap().len(), 15);
    let page = env.json(&["user", "list", "-t", "contoso.example", "--filter", "department eq \"Sales\"", "--limit", "10"]);
    assert_eq!(page["value"].as_array().unwrap().len(), 10);
    let rest = env.json(&["user", "list", "-t", "contoso.example", "--filter", "department eq \"Sales\"", "--after", page["next"].as_str().unwrap()]);
    assert_eq!(rest["value"].as_array().unwrap().len(), 5);
    assert!(rest["next"].is_null());
    let oslo = env.ok(&["user", "list", "-t", "contoso.example", "--filter", "city pr and not (department eq \"Sales\")"]);
    assert!(oslo.contains("user00003@contoso.example") && oslo.lines().count() == 2, "{oslo}");
    let sw = env.json(&["user", "list", "-t", "contoso.example", "--filter", "displayName sw \"User 1\""]);
    assert_eq!(sw["value"].as_array().unwrap().len(), 11, "User 1 and User 10-19");
    let r = env.run(&["user", "list", "-t", "contoso.example", "--filter", "favouriteColour eq \"red\""]);
    assert!(r.stderr.contains("unknown attribute 'favouriteColour'") && r.stderr.ends_with("[invalid_argument]\n"), "{}", r.stderr);
    let r = env.run(&["user", "list", "-t", "contoso.example", "--filter", "department eq", "--show", "all"]);
    assert!(r.stderr.ends_with("[invalid_argument]\n"), "{}", r.stderr);
}

#[test]
fn the_tours_example_file_imports() {
    let env = Env::new();
    env.contoso();
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/people.csv");
    let out = env.ok(&["import", "users", "-t", "contoso.example", file.to_str().unwrap(), "--quiet"]);
    assert!(out.starts_with("imported "), "{out}");
    let carol = env.json(&["user", "show", "-t", "contoso.example", "carol@contoso.example"]);
    assert_eq!(env.json(&["user", "show", "-t", "contoso.example", "dave@contoso.example"])["manager"], carol["id"]);
}
