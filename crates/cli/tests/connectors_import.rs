//! Import connectors through the CLI: a tenant fed from a throwaway OpenLDAP
//! (`.ci/slapd`, changed with `ldapmodify`), from a second tenantsync's Graph `/v1.0`
//! (delta queries) and from its SCIM endpoint (polling); and an LDAP-fed tenant that is
//! the source of an ordinary sync configuration, run by `serve`.
use crate::connectors_faults::{closing, read_request};
use crate::connectors_ldap::{ADMIN, DISABLED, GROUPS, PEOPLE, SUFFIX, ldapmodify, search, slapd};
use crate::serving::Served;
use crate::support::{Env, path_str};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn counters(report: &Value) -> [u64; 7] {
    let c = &report["counters"];
    ["created", "matched", "updated", "restored", "deleted", "unchanged", "escrowed"].map(|k| c[k].as_u64().unwrap())
}

/// The people of the directory: alice (bob's report), bob, and the group Staff of both.
fn people(url: &str) {
    ldapmodify(
        url,
        &format!(
            "dn: uid=bob,{PEOPLE}\nchangetype: add\nobjectClass: inetOrgPerson\nuid: bob\ncn: Bob Jones\nsn: Jones\nmail: bob@corp.example\n\n\
             dn: uid=alice,{PEOPLE}\nchangetype: add\nobjectClass: inetOrgPerson\nuid: alice\ncn: Alice Smith\nsn: Smith\ngivenName: Alice\n\
             displayName: Alice Smith\ntitle: Engineer\ndepartmentNumber: R&D\nmanager: uid=bob,{PEOPLE}\n\n\
             dn: cn=Staff,{GROUPS}\nchangetype: add\nobjectClass: groupOfNames\ncn: Staff\ndescription: Everyone\nmember: uid=alice,{PEOPLE}\nmember: uid=bob,{PEOPLE}\n\n\
             dn: {DISABLED}\nchangetype: add\nobjectClass: organizationalUnit\nou: disabled\n"
        ),
    );
}

fn add_ldap<'a>(name: &'a str, tenant: &'a str, url: &'a str, password: &'a str) -> Vec<&'a str> {
    vec![
        "connector",
        "add",
        name,
        "-t",
        tenant,
        "--import",
        "--ldap-url",
        url,
        "--bind-dn",
        ADMIN,
        "--password-file",
        password,
        "--users-base",
        PEOPLE,
        "--groups-base",
        GROUPS,
        "--disabled-base",
        DISABLED,
    ]
}

fn members(env: &Env, tenant: &str, group: &str) -> Vec<String> {
    let m = env.json(&["group", "members", "-t", tenant, group]);
    let mut upns: Vec<String> = m["value"].as_array().unwrap().iter().map(|u| u["userPrincipalName"].as_str().unwrap().to_owned()).collect();
    upns.sort();
    upns
}

#[test]
fn an_ldap_directory_feeds_its_tenant_and_reconciliation_finds_deletes() {
    let env = Env::new();
    env.ok(&["tenant", "create", "--name", "HR", "--domain", "hr.example"]);
    let url = slapd("admin-pw");
    people(&url);
    let password = env.file("password", "admin-pw\n");
    let added = env.ok(&add_ldap("corp", "hr.example", &url, path_str(&password)));
    assert!(added.contains("feeds tenant 'hr.example'"), "{added}");
    let listed = env.ok(&["connector", "list"]);
    assert!(listed.contains("import") && listed.contains("initial import pending"), "{listed}");

    // The first run reads everything: users with the mapping read backwards, the
    // manager and the members by their entries.
    let report = env.json(&["connector", "import", "corp"]);
    assert_eq!(report["reconciled"], true);
    assert_eq!(counters(&report), [3, 0, 0, 0, 0, 0, 0], "{report}");
    let alice = env.json(&["user", "show", "-t", "hr.example", "alice@hr.example"]);
    let bob = env.json(&["user", "show", "-t", "hr.example", "bob@hr.example"]);
    assert_eq!((alice["displayName"].as_str(), alice["surname"].as_str(), alice["givenName"].as_str()), (Some("Alice Smith"), Some("Smith"), Some("Alice")));
    assert_eq!((alice["jobTitle"].as_str(), alice["department"].as_str()), (Some("Engineer"), Some("R&D")));
    assert_eq!((alice["origin"].as_str(), alice["accountEnabled"].as_bool()), (Some("internal"), Some(true)), "imported users are the tenant's own");
    assert_eq!(alice["manager"], bob["id"]);
    assert_eq!((bob["displayName"].as_str(), bob["mail"].as_str()), (Some("Bob Jones"), Some("bob@corp.example")), "cn fills displayName");
    assert_eq!(members(&env, "hr.example", "Staff"), vec!["alice@hr.example", "bob@hr.example"]);
    let shown = env.json(&["connector", "show", "corp"]);
    assert!(shown["state"]["users"]["since"].as_str().is_some_and(|t| t.contains("Z#")), "the watermark, an entryCSN: {shown}");
    assert!(shown["state"]["lastReconciliation"].is_string(), "{shown}");
    assert_eq!(shown["links"]["total"], 3);

    // Nothing changed: nothing read, nothing written.
    let report = env.json(&["connector", "import", "corp"]);
    assert_eq!(report["reconciled"], false);
    assert_eq!(counters(&report)[..5], [0; 5], "{report}");

    // Changes in the directory: an attribute, a member leaving, a user moved to the
    // disabled base.
    ldapmodify(&url, &format!("dn: uid=alice,{PEOPLE}\nchangetype: modify\nreplace: title\ntitle: Lead\n-\ndelete: departmentNumber\n"));
    ldapmodify(&url, &format!("dn: cn=Staff,{GROUPS}\nchangetype: modify\ndelete: member\nmember: uid=bob,{PEOPLE}\n"));
    ldapmodify(&url, &format!("dn: uid=bob,{PEOPLE}\nchangetype: modrdn\nnewrdn: uid=bob\ndeleteoldrdn: 1\nnewsuperior: {DISABLED}\n"));
    let report = env.json(&["connector", "import", "corp"]);
    assert_eq!(counters(&report)[2], 3, "alice, bob, Staff: {report}");
    let alice = env.json(&["user", "show", "-t", "hr.example", "alice@hr.example"]);
    assert_eq!((alice["jobTitle"].as_str(), alice["department"].as_str()), (Some("Lead"), None));
    assert_eq!(env.json(&["user", "show", "-t", "hr.example", "bob@hr.example"])["accountEnabled"], false, "under the disabled base");
    assert_eq!(members(&env, "hr.example", "Staff"), vec!["alice@hr.example"]);

    // A delete leaves no timestamp: the next read does not see it, a reconciliation does.
    let out =
        std::process::Command::new("ldapdelete").args(["-x", "-H", &url, "-D", ADMIN, "-w", "admin-pw", &format!("uid=alice,{PEOPLE}")]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report = env.json(&["connector", "import", "corp"]);
    assert_eq!(counters(&report)[4], 0, "{report}");
    let report = env.json(&["connector", "import", "corp", "--reconcile"]);
    assert_eq!((report["reconciled"].as_bool(), counters(&report)[4]), (Some(true), 1), "{report}");
    let deleted = env.json(&["user", "list", "-t", "hr.example", "--show", "deleted"]);
    assert_eq!(deleted["value"][0]["userPrincipalName"], "alice@hr.example", "soft-deleted: restorable until purged");
    assert_eq!(env.json(&["connector", "show", "corp"])["links"]["total"], 2);

    // Links lost: the users are matched by their userPrincipalName, nobody made twice.
    env.ok(&["connector", "remove", "corp"]);
    env.ok(&add_ldap("corp", "hr.example", &url, path_str(&password)));
    let report = env.json(&["connector", "import", "corp"]);
    assert_eq!(counters(&report)[..2], [0, 2], "bob and Staff matched: {report}");
    assert_eq!(env.json(&["user", "list", "-t", "hr.example"])["value"].as_array().unwrap().len(), 1);

    // An export command on an import connector, and the other way round, say so.
    let r = env.run(&["connector", "export", "corp"]);
    assert!(r.code == 1 && r.stderr.contains("connector import") && r.stderr.trim().ends_with("[invalid_argument]"), "{}", r.stderr);
    let r = env.run(&["connector", "add", "x", "-t", "hr.example", "--scim-url", "http://127.0.0.1:1/v2", "--reconcile-every", "5"]);
    assert!(r.code == 1 && r.stderr.contains("--import"), "{}", r.stderr);
    let r = env.run(&[
        "connector",
        "add",
        "x",
        "-t",
        "hr.example",
        "--scim-url",
        "http://127.0.0.1:1/v2",
        "--import",
        "--poll-every",
        "60",
        "--reconcile-every",
        "5",
    ]);
    assert!(r.code == 1 && r.stderr.trim().ends_with("[invalid_connector_settings]"), "{}", r.stderr);
}

/// The number of changes in a tenant's feed: every write an import made.
fn feed_length(env: &Env, tenant: &str) -> usize {
    env.json(&["changes", "-t", tenant, "--limit", "10000"])["changes"].as_array().unwrap().len()
}

#[test]
fn an_ldap_import_follows_entry_csn_and_reads_nothing_twice() {
    let env = Env::new();
    env.ok(&["tenant", "create", "--name", "HR", "--domain", "hr.example"]);
    env.ok(&["tenant", "create", "--name", "HR by time", "--domain", "hr2.example"]);
    let url = slapd("admin-pw");
    people(&url);
    let password = env.file("password", "admin-pw\n");
    env.ok(&add_ldap("corp", "hr.example", &url, path_str(&password)));
    let mut by_time = add_ldap("corp-by-time", "hr2.example", &url, path_str(&password));
    by_time.extend(["--watermark", "modifyTimestamp"]);
    env.ok(&by_time);
    let csn_of = |filter: &str| search(&url, SUFFIX, filter).iter().map(|e| e.one("entryCSN").to_owned()).max().unwrap();
    let state = || env.json(&["connector", "show", "corp"])["state"].clone();

    assert_eq!(counters(&env.json(&["connector", "import", "corp"]))[0], 3);
    let s = state();
    assert_eq!((s["users"]["by"].as_str(), s["groups"]["by"].as_str()), (Some("entryCSN"), Some("entryCSN")), "auto: slapd keeps entryCSN: {s}");
    assert_eq!(s["users"]["since"], csn_of("(objectClass=inetOrgPerson)"), "the newest CSN read");
    assert_eq!(s["groups"]["since"], csn_of("(objectClass=groupOfNames)"));
    let written = feed_length(&env, "hr.example");

    // Nothing changed: the next run (another process: it starts from the stored
    // watermark) reads no entry at all and writes nothing.
    assert_eq!(counters(&env.json(&["connector", "import", "corp"])), [0; 7]);
    assert_eq!(feed_length(&env, "hr.example"), written);

    // One edit: exactly that entry is read and written, once.
    ldapmodify(&url, &format!("dn: uid=alice,{PEOPLE}\nchangetype: modify\nreplace: title\ntitle: Lead\n"));
    let report = env.json(&["connector", "import", "corp"]);
    assert_eq!(counters(&report), [0, 0, 1, 0, 0, 0, 0], "alice alone: {report}");
    assert_eq!(env.json(&["user", "show", "-t", "hr.example", "alice@hr.example"])["jobTitle"], "Lead");
    assert_eq!(feed_length(&env, "hr.example"), written + 1, "one change row");
    assert_eq!(state()["users"]["since"], csn_of("(uid=alice)"), "alice's CSN is the newest");
    assert_eq!(counters(&env.json(&["connector", "import", "corp"])), [0; 7], "and it is not read again");

    // Two edits between runs, one of them to a group: the next run resumes from the
    // stored watermarks and reads those two.
    ldapmodify(&url, &format!("dn: uid=bob,{PEOPLE}\nchangetype: modify\nreplace: mail\nmail: robert@corp.example\n"));
    ldapmodify(&url, &format!("dn: cn=Staff,{GROUPS}\nchangetype: modify\nreplace: description\ndescription: All of us\n"));
    let report = env.json(&["connector", "import", "corp"]);
    assert_eq!(counters(&report), [0, 0, 2, 0, 0, 0, 0], "bob and Staff: {report}");
    assert_eq!(feed_length(&env, "hr.example"), written + 3);
    assert_eq!(env.json(&["user", "show", "-t", "hr.example", "bob@hr.example"])["mail"], "robert@corp.example");

    // modifyTimestamp, one second fine, reads the newest entry again (and writes nothing).
    assert_eq!(counters(&env.json(&["connector", "import", "corp-by-time"]))[0], 3);
    let again = env.json(&["connector", "import", "corp-by-time"]);
    assert_eq!(counters(&again)[..5], [0; 5], "{again}");
    assert!(counters(&again)[5] >= 1, "read again, unchanged: {again}");
    let s = env.json(&["connector", "show", "corp-by-time"])["state"].clone();
    assert!(s["users"]["by"] == "modifyTimestamp" && s["users"]["since"].as_str().is_some_and(|t| t.ends_with('Z')), "{s}");
}

#[test]
fn a_change_in_slapd_reaches_a_second_tenant_through_an_ordinary_sync() {
    let env = Env::new();
    env.ok(&["tenant", "create", "--name", "HR", "--domain", "hr.example"]);
    env.ok(&["tenant", "create", "--name", "App", "--domain", "app.example"]);
    env.ok(&["partner", "set", "-t", "hr.example", "--partner", "app.example", "--outbound-auto-redeem", "true"]);
    env.ok(&["partner", "set", "-t", "app.example", "--partner", "hr.example", "--inbound-sync", "true", "--inbound-auto-redeem", "true"]);
    env.ok(&["sync", "create", "--source", "hr.example", "--target", "app.example", "--scope", "all", "--user-type", "member"]);
    let url = slapd("admin-pw");
    people(&url);
    let password = env.file("password", "admin-pw\n");
    let mut args = add_ldap("corp", "hr.example", &url, path_str(&password));
    args.extend(["--poll-every", "1"]);
    env.ok(&args);
    let served = Served::start(&env, &[]);
    let copy = |name: &str| -> Option<Value> {
        let r = env.run(&["user", "show", "-t", "app.example", &format!("{name}_hr.example#EXT#@app.example"), "--json"]);
        (r.code == 0).then(|| serde_json::from_str(&r.stdout).unwrap())
    };
    let wait_for = |what: &str, ok: &dyn Fn() -> bool| {
        let until = Instant::now() + Duration::from_secs(60);
        while !ok() {
            assert!(Instant::now() < until, "{what} never happened; log:\n{}", served.log());
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    wait_for("alice in App", &|| copy("alice").is_some_and(|u| u["jobTitle"] == "Engineer"));
    ldapmodify(&url, &format!("dn: uid=alice,{PEOPLE}\nchangetype: modify\nreplace: title\ntitle: Director\n"));
    wait_for("the new title in App", &|| copy("alice").is_some_and(|u| u["jobTitle"] == "Director"));
}

#[test]
fn a_graph_tenant_feeds_a_tenant_by_delta_queries() {
    // Fabrikam is a second tenantsync (its own data directory, served): the Graph source.
    let remote = Env::new();
    remote.ok(&["tenant", "create", "--name", "Fabrikam", "--domain", "fabrikam.example"]);
    let token = remote.ok(&["token", "create", "--tenant", "fabrikam.example", "--name", "graph", "--role", "admin"]).trim().to_owned();
    let f = "fabrikam.example";
    remote.ok(&["user", "create", "-t", f, "--upn", "bob@fabrikam.example", "--set", "displayName=Bob"]);
    remote.ok(&["user", "create", "-t", f, "--upn", "alice@fabrikam.example", "--set", "displayName=Alice", "--set", "department=Sales"]);
    remote.ok(&["user", "create", "-t", f, "--upn", "carol@fabrikam.example", "--set", "displayName=Carol"]);
    remote.ok(&["group", "create", "-t", f, "--name", "Sales"]);
    remote.ok(&["group", "add-member", "-t", f, "Sales", "alice@fabrikam.example"]);
    remote.ok(&["group", "add-member", "-t", f, "Sales", "bob@fabrikam.example"]);
    let served = Served::start(&remote, &[]);

    let env = Env::new();
    env.ok(&["tenant", "create", "--name", "HR", "--domain", "hr.example"]);
    let file = env.file("graph-token", &token);
    let base = format!("http://{}/v1.0", served.addr);
    env.ok(&["connector", "add", "fabrikam", "-t", "hr.example", "--import", "--graph-url", &base, "--token-file", path_str(&file)]);
    let report = env.json(&["connector", "import", "fabrikam"]);
    assert_eq!(counters(&report), [4, 0, 0, 0, 0, 0, 0], "{report}");
    let alice = env.json(&["user", "show", "-t", "hr.example", "alice@fabrikam.example"]);
    assert_eq!((alice["department"].as_str(), alice["origin"].as_str()), (Some("Sales"), Some("internal")));
    assert_eq!(members(&env, "hr.example", "Sales"), vec!["alice@fabrikam.example", "bob@fabrikam.example"]);
    let shown = env.json(&["connector", "show", "fabrikam"]);
    assert!(shown["state"]["users"].as_str().is_some_and(|l| l.contains("/users/delta") && l.contains("deltatoken")), "the deltaLink: {shown}");

    // Changes at the source: an update, a soft delete (@removed: changed), a hard delete
    // (@removed: deleted), a member leaving (members@delta).
    remote.ok(&["user", "update", "-t", f, "alice@fabrikam.example", "--set", "jobTitle=Lead", "--set", "department="]);
    remote.ok(&["user", "delete", "-t", f, "bob@fabrikam.example"]);
    remote.ok(&["user", "delete", "-t", f, "carol@fabrikam.example", "--hard"]);
    remote.ok(&["group", "remove-member", "-t", f, "Sales", "alice@fabrikam.example"]);
    let report = env.json(&["connector", "import", "fabrikam"]);
    assert_eq!(report["reconciled"], false, "{report}");
    assert_eq!(counters(&report)[2..5], [2, 0, 2], "alice and Sales updated, bob and carol deleted: {report}");
    let alice = env.json(&["user", "show", "-t", "hr.example", "alice@fabrikam.example"]);
    assert_eq!((alice["jobTitle"].as_str(), alice["department"].as_str()), (Some("Lead"), None));
    let deleted = env.json(&["user", "list", "-t", "hr.example", "--show", "deleted"]);
    let deleted: Vec<&str> = deleted["value"].as_array().unwrap().iter().filter_map(|u| u["userPrincipalName"].as_str()).collect();
    assert_eq!(deleted, vec!["bob@fabrikam.example"], "bob soft-deleted, carol gone for good");
    assert_eq!(env.run(&["user", "show", "-t", "hr.example", "carol@fabrikam.example"]).code, 1);
    assert!(members(&env, "hr.example", "Sales").is_empty(), "bob left with his deletion, alice by members@delta");

    // A restore at the source restores here (the link was kept).
    remote.ok(&["user", "restore", "-t", f, "bob@fabrikam.example"]);
    let report = env.json(&["connector", "import", "fabrikam"]);
    assert_eq!(counters(&report)[3], 1, "{report}");
    assert!(env.json(&["user", "show", "-t", "hr.example", "bob@fabrikam.example"])["deletedDateTime"].is_null());

    // Nothing changed: nothing written.
    let report = env.json(&["connector", "import", "fabrikam"]);
    assert_eq!(counters(&report)[..5], [0; 5], "{report}");
}

#[test]
fn a_scim_service_feeds_a_tenant_by_polling() {
    let remote = Env::new();
    remote.ok(&["tenant", "create", "--name", "Fabrikam", "--domain", "fabrikam.example"]);
    let token = remote.ok(&["token", "create", "--tenant", "fabrikam.example", "--name", "scim"]).trim().to_owned();
    let f = "fabrikam.example";
    remote.ok(&["user", "create", "-t", f, "--upn", "bob@fabrikam.example", "--set", "displayName=Bob"]);
    remote.ok(&["user", "create", "-t", f, "--upn", "alice@fabrikam.example", "--set", "displayName=Alice", "--set", "manager=bob@fabrikam.example"]);
    remote.ok(&["group", "create", "-t", f, "--name", "Sales"]);
    remote.ok(&["group", "add-member", "-t", f, "Sales", "alice@fabrikam.example"]);
    let served = Served::start(&remote, &[]);

    let env = Env::new();
    env.ok(&["tenant", "create", "--name", "HR", "--domain", "hr.example"]);
    let file = env.file("scim-token", &token);
    let base = format!("http://{}/scim/v2/fabrikam.example", served.addr);
    env.ok(&["connector", "add", "fabrikam", "-t", "hr.example", "--import", "--scim-url", &base, "--token-file", path_str(&file)]);
    let report = env.json(&["connector", "import", "fabrikam"]);
    assert_eq!(counters(&report), [3, 0, 0, 0, 0, 0, 0], "{report}");
    let alice = env.json(&["user", "show", "-t", "hr.example", "alice@fabrikam.example"]);
    let bob = env.json(&["user", "show", "-t", "hr.example", "bob@fabrikam.example"]);
    assert_eq!((alice["displayName"].as_str(), alice["manager"].as_str()), (Some("Alice"), bob["id"].as_str()));
    assert_eq!(members(&env, "hr.example", "Sales"), vec!["alice@fabrikam.example"]);
    let shown = env.json(&["connector", "show", "fabrikam"]);
    assert!(shown["state"]["users"]["since"].is_string(), "the watermark: {shown}");

    // An update is found by meta.lastModified; a deletion only by a reconciliation.
    remote.ok(&["user", "update", "-t", f, "alice@fabrikam.example", "--set", "jobTitle=Lead"]);
    remote.ok(&["user", "delete", "-t", f, "bob@fabrikam.example", "--hard"]);
    let report = env.json(&["connector", "import", "fabrikam"]);
    assert_eq!((counters(&report)[2], counters(&report)[4]), (1, 0), "{report}");
    assert_eq!(env.json(&["user", "show", "-t", "hr.example", "alice@fabrikam.example"])["jobTitle"], "Lead");
    let report = env.json(&["connector", "import", "fabrikam", "--reconcile"]);
    assert_eq!(counters(&report)[4], 1, "{report}");
    assert_eq!(env.json(&["user", "list", "-t", "hr.example", "--show", "deleted"])["value"][0]["userPrincipalName"], "bob@fabrikam.example");
}

/// A proxy in front of a served tenantsync that answers `410 Gone` (Graph's
/// `syncStateNotFound`) to every request holding a `$deltatoken` while `expired` is set,
/// as Entra does once a deltaLink is too old. Its listener, bound before the server
/// starts (whose public URL it is), forwards to `upstream` once that is set.
fn expiring_proxy(expired: Arc<AtomicBool>, upstream: Arc<Mutex<String>>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { continue };
            let (expired, upstream) = (expired.clone(), upstream.clone());
            std::thread::spawn(move || {
                let Some(request) = read_request(&mut client) else { return };
                let line = String::from_utf8_lossy(&request).lines().next().unwrap_or_default().to_owned();
                if expired.load(Ordering::SeqCst) && line.contains("deltatoken") {
                    let body = r#"{"error":{"code":"syncStateNotFound","message":"the delta token has expired"}}"#;
                    let _ = write!(
                        client,
                        "HTTP/1.1 410 Gone\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                } else {
                    let Ok(mut up) = TcpStream::connect(upstream.lock().unwrap().as_str()) else { return };
                    let _ = up.write_all(&closing(&request));
                    let mut response = Vec::new();
                    let _ = up.read_to_end(&mut response);
                    let _ = client.write_all(&response);
                }
                let _ = client.shutdown(Shutdown::Both);
            });
        }
    });
    port
}

#[test]
fn an_expired_delta_link_restarts_with_a_full_read_and_a_reconciliation() {
    let remote = Env::new();
    let f = "fabrikam.example";
    remote.ok(&["tenant", "create", "--name", "Fabrikam", "--domain", f]);
    let token = remote.ok(&["token", "create", "--tenant", f, "--name", "graph", "--role", "admin"]).trim().to_owned();
    remote.ok(&["user", "create", "-t", f, "--upn", "alice@fabrikam.example"]);
    remote.ok(&["user", "create", "-t", f, "--upn", "bob@fabrikam.example"]);
    let (expired, upstream) = (Arc::new(AtomicBool::new(false)), Arc::new(Mutex::new(String::new())));
    let port = expiring_proxy(expired.clone(), upstream.clone());
    let public = format!("http://127.0.0.1:{port}");
    let served = Served::start(&remote, &["--public-url", &public]);
    *upstream.lock().unwrap() = served.addr.clone();

    let env = Env::new();
    env.ok(&["tenant", "create", "--name", "HR", "--domain", "hr.example"]);
    let file = env.file("graph-token", &token);
    env.ok(&["connector", "add", "fabrikam", "-t", "hr.example", "--import", "--graph-url", &format!("{public}/v1.0"), "--token-file", path_str(&file)]);
    assert_eq!(counters(&env.json(&["connector", "import", "fabrikam"]))[0], 2);
    // Bob goes for good while the deltaLink is too old to tell: only a full read and a
    // reconciliation find it out.
    remote.ok(&["user", "delete", "-t", f, "bob@fabrikam.example", "--hard"]);
    remote.ok(&["user", "update", "-t", f, "alice@fabrikam.example", "--set", "jobTitle=Lead"]);
    expired.store(true, Ordering::SeqCst);
    let report = env.json(&["connector", "import", "fabrikam"]);
    assert_eq!(report["reconciled"], true, "{report}");
    assert_eq!((counters(&report)[2], counters(&report)[4]), (1, 1), "alice updated, bob deleted: {report}");
    assert_eq!(env.json(&["user", "show", "-t", "hr.example", "alice@fabrikam.example"])["jobTitle"], "Lead");
    assert_eq!(env.json(&["user", "list", "-t", "hr.example", "--show", "deleted"])["value"][0]["userPrincipalName"], "bob@fabrikam.example");
    // The new deltaLink works again.
    expired.store(false, Ordering::SeqCst);
    let report = env.json(&["connector", "import", "fabrikam"]);
    assert_eq!((report["reconciled"].as_bool(), counters(&report)[..5].iter().sum::<u64>()), (Some(false), 0), "{report}");
}

/// A proxy in front of a served tenantsync that asks every request for pages of one
/// object (`Prefer: odata.maxpagesize=1`): a group then comes with five members a page,
/// its members split over several appearances, and each user on a page of its own.
fn small_pages_proxy(upstream: Arc<Mutex<String>>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { continue };
            let upstream = upstream.clone();
            std::thread::spawn(move || {
                let Some(request) = read_request(&mut client) else { return };
                let request = closing(&request);
                let end = request.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
                let mut with = request[..end].to_vec();
                with.extend_from_slice(b"\r\nPrefer: odata.maxpagesize=1");
                with.extend_from_slice(&request[end..]);
                let Ok(mut up) = TcpStream::connect(upstream.lock().unwrap().as_str()) else { return };
                let _ = up.write_all(&with);
                let mut response = Vec::new();
                let _ = up.read_to_end(&mut response);
                let _ = client.write_all(&response);
                let _ = client.shutdown(Shutdown::Both);
            });
        }
    });
    port
}

#[test]
fn graph_managers_and_a_group_split_over_delta_pages_are_imported() {
    let remote = Env::new();
    let f = "fabrikam.example";
    remote.ok(&["tenant", "create", "--name", "Fabrikam", "--domain", f]);
    let token = remote.ok(&["token", "create", "--tenant", f, "--name", "graph", "--role", "admin"]).trim().to_owned();
    // Alice before her manager: with a page per user, her page comes first.
    remote.ok(&["user", "create", "-t", f, "--upn", "alice@fabrikam.example"]);
    remote.ok(&["user", "create", "-t", f, "--upn", "bob@fabrikam.example"]);
    remote.ok(&["user", "create", "-t", f, "--upn", "carol@fabrikam.example"]);
    remote.ok(&["user", "update", "-t", f, "alice@fabrikam.example", "--set", "manager=bob@fabrikam.example"]);
    let mut csv = String::from("userPrincipalName\n");
    for i in 0..9 {
        csv.push_str(&format!("p{i}@fabrikam.example\n"));
    }
    let file = remote.file("people.csv", &csv);
    remote.ok(&["import", "users", "-t", f, path_str(&file), "--quiet"]);
    remote.ok(&["group", "create", "-t", f, "--name", "Everyone"]);
    let mut everyone: Vec<String> = (0..9).map(|i| format!("p{i}@fabrikam.example")).collect();
    everyone.extend(["alice@fabrikam.example".into(), "bob@fabrikam.example".into(), "carol@fabrikam.example".into()]);
    for upn in &everyone {
        remote.ok(&["group", "add-member", "-t", f, "Everyone", upn]);
    }
    everyone.sort();
    let upstream = Arc::new(Mutex::new(String::new()));
    let port = small_pages_proxy(upstream.clone());
    let public = format!("http://127.0.0.1:{port}");
    let served = Served::start(&remote, &["--public-url", &public]);
    *upstream.lock().unwrap() = served.addr.clone();

    let env = Env::new();
    env.ok(&["tenant", "create", "--name", "HR", "--domain", "hr.example"]);
    let file = env.file("graph-token", &token);
    env.ok(&["connector", "add", "fabrikam", "-t", "hr.example", "--import", "--graph-url", &format!("{public}/v1.0"), "--token-file", path_str(&file)]);
    let report = env.json(&["connector", "import", "fabrikam"]);
    assert_eq!(counters(&report)[0], 13, "12 users and the group: {report}");
    let show = |upn: &str| env.json(&["user", "show", "-t", "hr.example", upn]);
    assert_eq!(show("alice@fabrikam.example")["manager"], show("bob@fabrikam.example")["id"], "a manager read on a later page: {report}");
    assert_eq!(members(&env, "hr.example", "Everyone"), everyone, "the members of every appearance add up");
    assert_eq!(env.json(&["connector", "show", "fabrikam"])["links"]["escrowed"], 0, "the pending manager was set at the run's end");

    // Read again whole: the group split the same way is the same group, nothing moves.
    let report = env.json(&["connector", "import", "fabrikam", "--reconcile"]);
    assert_eq!(counters(&report)[..5], [0; 5], "{report}");
    assert_eq!(members(&env, "hr.example", "Everyone").len(), 12);

    // A new manager and a member leaving come by the deltaLink (manager@delta, members@delta).
    remote.ok(&["user", "update", "-t", f, "alice@fabrikam.example", "--set", "manager=carol@fabrikam.example"]);
    remote.ok(&["user", "update", "-t", f, "carol@fabrikam.example", "--set", "manager=bob@fabrikam.example"]);
    remote.ok(&["group", "remove-member", "-t", f, "Everyone", "p3@fabrikam.example"]);
    let report = env.json(&["connector", "import", "fabrikam"]);
    assert_eq!(report["reconciled"], false, "{report}");
    assert_eq!(show("alice@fabrikam.example")["manager"], show("carol@fabrikam.example")["id"], "{report}");
    assert_eq!(show("carol@fabrikam.example")["manager"], show("bob@fabrikam.example")["id"], "{report}");
    assert_eq!(members(&env, "hr.example", "Everyone").len(), 11);
    // The manager removed.
    remote.ok(&["user", "update", "-t", f, "alice@fabrikam.example", "--set", "manager="]);
    env.json(&["connector", "import", "fabrikam"]);
    assert!(show("alice@fabrikam.example")["manager"].is_null());
}

/// One GET to `upstream` (`host:port`) with the client's authorization, one object a
/// page: the body as JSON.
fn get_page(upstream: &str, path: &str, authorization: &str) -> Value {
    let mut up = TcpStream::connect(upstream).unwrap();
    write!(up, "GET {path} HTTP/1.1\r\nHost: {upstream}\r\n{authorization}\r\nPrefer: odata.maxpagesize=1\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = Vec::new();
    up.read_to_end(&mut response).unwrap();
    let end = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    serde_json::from_slice(&response[end + 4..]).unwrap()
}

/// A proxy as `small_pages_proxy`, except that a full read of the groups is read whole
/// from upstream (a group an appearance per page) and served with its last page moved
/// second: the first group's parts are then on pages that are not consecutive, as Graph
/// may give them. The last page keeps the upstream's deltaLink.
fn interleaving_proxy(upstream: Arc<Mutex<String>>, public: Arc<Mutex<String>>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let pages: Arc<Mutex<Vec<Value>>> = Arc::default();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { continue };
            let (upstream, public, pages) = (upstream.clone(), public.clone(), pages.clone());
            std::thread::spawn(move || {
                let Some(request) = read_request(&mut client) else { return };
                let head = String::from_utf8_lossy(&request).into_owned();
                let path = head.split_whitespace().nth(1).unwrap_or_default().to_owned();
                let authorization = head.lines().find(|l| l.to_ascii_lowercase().starts_with("authorization:")).unwrap_or_default().to_owned();
                let (upstream, public) = (upstream.lock().unwrap().clone(), public.lock().unwrap().clone());
                let page = if path == "/v1.0/groups/delta" {
                    let mut read = vec![get_page(&upstream, &path, &authorization)];
                    while let Some(next) = read.last().and_then(|p| p["@odata.nextLink"].as_str()).map(str::to_owned) {
                        read.push(get_page(&upstream, next.strip_prefix(&public).unwrap(), &authorization));
                    }
                    let delta = read.last().unwrap()["@odata.deltaLink"].clone();
                    let mut values: Vec<Value> = read.iter().flat_map(|p| p["value"].as_array().unwrap().clone()).collect();
                    let last = values.pop().unwrap();
                    values.insert(1, last);
                    let n = values.len();
                    *pages.lock().unwrap() = values
                        .into_iter()
                        .enumerate()
                        .map(|(i, v)| match i + 1 < n {
                            true => serde_json::json!({"value": [v], "@odata.nextLink": format!("{public}/v1.0/groups/delta?interleaved={}", i + 1)}),
                            false => serde_json::json!({"value": [v], "@odata.deltaLink": delta}),
                        })
                        .collect();
                    Some(0)
                } else {
                    path.strip_prefix("/v1.0/groups/delta?interleaved=").and_then(|i| i.parse::<usize>().ok())
                };
                let response = match page {
                    Some(i) => {
                        let body = pages.lock().unwrap()[i].to_string();
                        format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
                            .into_bytes()
                    }
                    None => {
                        let request = closing(&request);
                        let end = request.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
                        let mut with = request[..end].to_vec();
                        with.extend_from_slice(b"\r\nPrefer: odata.maxpagesize=1");
                        with.extend_from_slice(&request[end..]);
                        let Ok(mut up) = TcpStream::connect(upstream.as_str()) else { return };
                        let _ = up.write_all(&with);
                        let mut response = Vec::new();
                        let _ = up.read_to_end(&mut response);
                        response
                    }
                };
                let _ = client.write_all(&response);
                let _ = client.shutdown(Shutdown::Both);
            });
        }
    });
    port
}

#[test]
fn a_group_whose_parts_come_on_pages_apart_gets_every_part_s_members() {
    let remote = Env::new();
    let f = "fabrikam.example";
    remote.ok(&["tenant", "create", "--name", "Fabrikam", "--domain", f]);
    let token = remote.ok(&["token", "create", "--tenant", f, "--name", "graph", "--role", "admin"]).trim().to_owned();
    let mut csv = String::from("userPrincipalName\n");
    for i in 0..12 {
        csv.push_str(&format!("p{i:02}@fabrikam.example\n"));
    }
    let file = remote.file("people.csv", &csv);
    remote.ok(&["import", "users", "-t", f, path_str(&file), "--quiet"]);
    let mut everyone: Vec<String> = (0..12).map(|i| format!("p{i:02}@fabrikam.example")).collect();
    // Everyone (12 members: parts of 5, 5 and 2), then Solo: served Everyone 1, Solo,
    // Everyone 2, Everyone 3.
    remote.ok(&["group", "create", "-t", f, "--name", "Everyone"]);
    for upn in &everyone {
        remote.ok(&["group", "add-member", "-t", f, "Everyone", upn]);
    }
    remote.ok(&["group", "create", "-t", f, "--name", "Solo"]);
    remote.ok(&["group", "add-member", "-t", f, "Solo", "p00@fabrikam.example"]);
    everyone.sort();
    let (upstream, public) = (Arc::new(Mutex::new(String::new())), Arc::new(Mutex::new(String::new())));
    let port = interleaving_proxy(upstream.clone(), public.clone());
    let url = format!("http://127.0.0.1:{port}");
    *public.lock().unwrap() = url.clone();
    let served = Served::start(&remote, &["--public-url", &url]);
    *upstream.lock().unwrap() = served.addr.clone();

    let env = Env::new();
    env.ok(&["tenant", "create", "--name", "HR", "--domain", "hr.example"]);
    let file = env.file("graph-token", &token);
    env.ok(&["connector", "add", "fabrikam", "-t", "hr.example", "--import", "--graph-url", &format!("{url}/v1.0"), "--token-file", path_str(&file)]);
    let report = env.json(&["connector", "import", "fabrikam"]);
    assert_eq!(counters(&report)[0], 14, "12 users and two groups: {report}");
    assert_eq!(members(&env, "hr.example", "Everyone"), everyone, "the first part and the parts after Solo add up: {report}");
    assert_eq!(members(&env, "hr.example", "Solo"), ["p00@fabrikam.example"]);

    // Read whole again, split the same way: the first part sets, the later ones add, and
    // the group ends with every member again.
    let report = env.json(&["connector", "import", "fabrikam", "--reconcile"]);
    assert_eq!(report["reconciled"], true, "{report}");
    assert_eq!(members(&env, "hr.example", "Everyone"), everyone, "{report}");
    // A member gone upstream is gone here after the next reconciliation too.
    remote.ok(&["group", "remove-member", "-t", f, "Everyone", "p11@fabrikam.example"]);
    env.json(&["connector", "import", "fabrikam", "--reconcile"]);
    everyone.retain(|u| u != "p11@fabrikam.example");
    assert_eq!(members(&env, "hr.example", "Everyone"), everyone);
}
