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
    assert_eq!(
        sweep,
        serde_json::json!({"requests": 0, "reminders": 0, "assignmentsEnded": 0, "guestsDeleted": 0, "reviewsOpened": 0, "reviewsClosed": 0, "autoAssigned": 0, "autoRemoved": 0})
    );

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

/// What a sink received: each message's recipients and data.
type Mailbag = std::sync::Arc<std::sync::Mutex<Vec<(Vec<String>, String)>>>;

/// A local SMTP sink on a thread: it answers the protocol and keeps each message's
/// recipients and data.
fn smtp_sink() -> (String, Mailbag) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("smtp://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = got.clone();
    std::thread::spawn(move || {
        for socket in listener.incoming() {
            let Ok(mut socket) = socket else { return };
            let mut lines = BufReader::new(socket.try_clone().unwrap()).lines();
            let _ = socket.write_all(b"220 sink\r\n");
            let (mut to, mut data) = (Vec::new(), String::new());
            while let Some(Ok(line)) = lines.next() {
                let upper = line.to_ascii_uppercase();
                if upper.starts_with("EHLO") {
                    let _ = socket.write_all(b"250 sink\r\n");
                } else if upper.starts_with("RCPT TO") {
                    to.push(line[8..].trim().to_owned());
                    let _ = socket.write_all(b"250 ok\r\n");
                } else if upper == "DATA" {
                    let _ = socket.write_all(b"354 go on\r\n");
                    for l in lines.by_ref() {
                        let l = l.unwrap_or_default();
                        if l == "." {
                            break;
                        }
                        data.push_str(&l);
                        data.push('\n');
                    }
                    keep.lock().unwrap().push((std::mem::take(&mut to), std::mem::take(&mut data)));
                    let _ = socket.write_all(b"250 queued\r\n");
                } else if upper == "QUIT" {
                    let _ = socket.write_all(b"221 bye\r\n");
                    break;
                } else {
                    let _ = socket.write_all(b"250 ok\r\n");
                }
            }
        }
    });
    (url, got)
}

#[test]
fn serve_sends_the_outbox_by_smtp() {
    let env = Env::new();
    env.contoso();
    env.ok(&["user", "create", "-t", "contoso.example", "--upn", "sam@contoso.example", "--set", "mail=sam.smith@contoso.example"]);
    env.ok(&["user", "create", "-t", "contoso.example", "--upn", "kim@contoso.example"]);
    env.ok(&["access", "catalog", "create", "-t", "contoso.example", "--name", "General"]);
    env.ok(&["group", "create", "-t", "contoso.example", "--name", "Finance"]);
    env.ok(&["access", "package", "create", "-t", "contoso.example", "--catalog", "General", "--name", "Finance", "--group", "Finance"]);
    env.ok(&[
        "access",
        "policy",
        "create",
        "-t",
        "contoso.example",
        "--package",
        "Finance",
        "--name",
        "Staff",
        "--scope",
        "all-members",
        "--stage",
        "sam@contoso.example",
    ]);
    let (url, got) = smtp_sink();
    let served = crate::serving::Served::start(&env, &["--smtp-url", &url, "--mail-from", "noreply@contoso.example", "--access-interval", "200ms"]);
    env.ok(&["access", "request", "-t", "contoso.example", "--package", "Finance", "--user", "kim@contoso.example"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while got.lock().unwrap().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let got = got.lock().unwrap();
    assert_eq!(got.len(), 1, "{}", served.log());
    assert_eq!(got[0].0, vec!["<sam.smith@contoso.example>"]);
    assert!(got[0].1.contains("Subject: Action required: approve or deny a request (stage 1)"), "{}", got[0].1);
    // The sink has the message once the relay accepted it; serve records the delivery
    // right after, so the outbox says so within the deadline.
    let mut outbox = env.json(&["access", "outbox", "-t", "contoso.example"]);
    while !outbox["value"][0]["delivered"].is_string() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
        outbox = env.json(&["access", "outbox", "-t", "contoso.example"]);
    }
    assert!(outbox["value"][0]["delivered"].is_string(), "{outbox}");
}

#[test]
fn serve_refuses_a_bad_smtp_url() {
    let env = Env::new();
    let run = env.run(&["serve", "--listen", "127.0.0.1:0", "--smtp-url", "mail.example"]);
    assert_eq!(run.code, 1);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.starts_with("error: --smtp-url: ") && run.stderr.trim_end().ends_with("[invalid_argument]"), "{}", run.stderr);
}

fn members(env: &Env, group: &str) -> String {
    env.ok(&["group", "members", "-t", "contoso.example", group])
}

/// Waits until `check` holds (serve works beside the test).
fn eventually(what: &str, served: &crate::serving::Served, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !check() {
        assert!(std::time::Instant::now() < deadline, "{what}: {}", served.log());
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn serve_assigns_by_rule_on_each_commit_and_removes_who_leaves() {
    let env = Env::new();
    env.contoso();
    env.ok(&["user", "create", "-t", "contoso.example", "--upn", "alice@contoso.example", "--set", "department=Legal"]);
    env.ok(&["group", "create", "-t", "contoso.example", "--name", "Legal"]);
    env.ok(&["access", "catalog", "create", "-t", "contoso.example", "--name", "General"]);
    env.ok(&["access", "package", "create", "-t", "contoso.example", "--catalog", "General", "--name", "Legal", "--group", "Legal"]);
    let policy = env.json(&[
        "access",
        "policy",
        "create",
        "-t",
        "contoso.example",
        "--package",
        "Legal",
        "--name",
        "Everyone in Legal",
        "--scope",
        "specific-users",
        "--rule",
        "department EQUALS Legal",
    ]);
    assert_eq!(policy["automaticRequestSettings"]["gracePeriodBeforeAccessRemoval"], "PT0S");
    assert_eq!(policy["specificAllowedTargets"][0]["membershipRule"], "department EQUALS Legal");
    // A whole hour between sweeps: what happens below is driven by the commits.
    let served = crate::serving::Served::start(&env, &["--access-interval", "1h"]);
    eventually("the first pass walks the tenant", &served, || members(&env, "Legal").contains("alice@contoso.example"));
    env.ok(&["user", "create", "-t", "contoso.example", "--upn", "bob@contoso.example", "--set", "department=Legal"]);
    eventually("bob is assigned on his creation", &served, || members(&env, "Legal").contains("bob@contoso.example"));
    env.ok(&["user", "update", "-t", "contoso.example", "alice@contoso.example", "--set", "department=Sales"]);
    eventually("alice is removed when she leaves (no grace period)", &served, || !members(&env, "Legal").contains("alice@contoso.example"));
    let requests = env.json(&["access", "requests", "-t", "contoso.example"]);
    let kinds: Vec<&str> = requests["value"].as_array().unwrap().iter().map(|r| r["requestType"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["systemAdd", "systemAdd", "systemRemove"], "{requests}\n{}", served.log());
    let bad = env.run(&[
        "access",
        "policy",
        "create",
        "-t",
        "contoso.example",
        "--package",
        "Legal",
        "--name",
        "Typo",
        "--scope",
        "specific-users",
        "--rule",
        "departmnt EQUALS Legal",
    ]);
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.trim_end().ends_with("[invalid_policy]"), "{}", bad.stderr);
}

#[test]
fn reviews_reprocess_and_personal_tokens_from_the_command_line() {
    let env = Env::new();
    env.contoso();
    env.ok(&["user", "create", "-t", "contoso.example", "--upn", "sam@contoso.example"]);
    env.ok(&["user", "create", "-t", "contoso.example", "--upn", "kim@contoso.example"]);
    env.ok(&["group", "create", "-t", "contoso.example", "--name", "Finance"]);
    env.ok(&["access", "catalog", "create", "-t", "contoso.example", "--name", "General"]);
    env.ok(&["access", "package", "create", "-t", "contoso.example", "--catalog", "General", "--name", "Finance", "--group", "Finance"]);
    // The first review in a moment: it covers the assignments active at its start.
    let start = jiff::Timestamp::now() + jiff::SignedDuration::from_millis(1500);
    env.ok(&[
        "access",
        "policy",
        "create",
        "-t",
        "contoso.example",
        "--package",
        "Finance",
        "--name",
        "Staff",
        "--scope",
        "all-members",
        "--review-every-months",
        "3",
        "--review-start",
        &start.to_string(),
        "--reviewer",
        "sam@contoso.example",
    ]);
    let r = env.json(&["access", "request", "-t", "contoso.example", "--package", "Finance", "--user", "kim@contoso.example"]);
    assert_eq!(r["state"], "delivered");
    let assignment = r["assignmentId"].as_str().unwrap().to_owned();

    // Someone took Kim out of the group by hand: reprocess grants it again.
    env.ok(&["group", "remove-member", "-t", "contoso.example", "Finance", "kim@contoso.example"]);
    assert!(!members(&env, "Finance").contains("kim@contoso.example"));
    let text = env.ok(&["access", "reprocess", "-t", "contoso.example", &assignment]);
    assert!(text.starts_with(&format!("reprocessed assignment {assignment}")), "{text}");
    assert!(members(&env, "Finance").contains("kim@contoso.example"));
    let refused = env.run(&["access", "reprocess", "-t", "contoso.example", r["id"].as_str().unwrap()]);
    assert!(refused.stderr.trim_end().ends_with("[request_not_reprocessable]"), "{}", refused.stderr);

    // The review opens with the sweep; Sam decides, Kim may not.
    while jiff::Timestamp::now() <= start {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(env.json(&["access", "sweep"])["reviewsOpened"], 1);
    let items = env.json(&["access", "review", "list", "-t", "contoso.example", "--reviewer", "sam@contoso.example"]);
    let items = items["value"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!((items[0]["assignmentId"].as_str(), items[0]["decision"].as_str()), (Some(assignment.as_str()), Some("NotReviewed")));
    let review = items[0]["reviewId"].as_str().unwrap().to_owned();
    let not_his =
        env.run(&["access", "review", "decide", "-t", "contoso.example", &review, &assignment, "--as", "kim@contoso.example", "--decision", "approve"]);
    assert!(not_his.stderr.trim_end().ends_with("[not_a_reviewer]"), "{}", not_his.stderr);
    let text = env.ok(&[
        "access",
        "review",
        "decide",
        "-t",
        "contoso.example",
        &review,
        &assignment,
        "--as",
        "sam@contoso.example",
        "--decision",
        "deny",
        "--justification",
        "moved on",
    ]);
    assert!(text.starts_with("recorded Deny"), "{text}");
    let items = env.json(&["access", "review", "list", "-t", "contoso.example"]);
    assert_eq!(items["value"][0]["decision"], "Deny");
    assert!(env.json(&["access", "review", "list", "-t", "contoso.example", "--reviewer", "kim@contoso.example"])["value"].as_array().unwrap().is_empty());

    // A personal token acts as Kim.
    let token = env.json(&["token", "create", "-t", "contoso.example", "--user", "kim@contoso.example", "--name", "kim's laptop"]);
    assert_eq!((token["role"].as_str(), token["user"].as_str()), (Some("personal"), Some("kim@contoso.example")));
    assert!(token["token"].is_string());
    let list = env.ok(&["token", "list", "-t", "contoso.example"]);
    assert!(list.contains("personal (kim@contoso.example)"), "{list}");
    let bad = env.run(&["token", "create", "-t", "contoso.example", "--user", "nobody@contoso.example"]);
    assert_eq!(bad.code, 1, "{}", bad.stderr);
}

/// What a receiver got: each request's head and body.
type Posts = std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>;

/// A local HTTP receiver on a thread: it keeps each request's head and body, answers 204.
fn http_receiver() -> (String, Posts) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}/events", listener.local_addr().unwrap().port());
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = got.clone();
    std::thread::spawn(move || {
        for socket in listener.incoming() {
            let Ok(mut socket) = socket else { return };
            let mut data = Vec::new();
            let mut buf = [0u8; 4096];
            let text = loop {
                let n = socket.read(&mut buf).unwrap_or(0);
                if n == 0 {
                    break String::from_utf8_lossy(&data).into_owned();
                }
                data.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&data).into_owned();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length: usize =
                        head.lines().find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap())).unwrap_or(0);
                    if body.len() >= length {
                        break text;
                    }
                }
            };
            let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
            keep.lock().unwrap().push((head.to_owned(), body.to_owned()));
            let _ = socket.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
        }
    });
    (url, got)
}

#[test]
fn serve_posts_the_outbox_to_a_signed_webhook() {
    let env = Env::new();
    env.contoso();
    env.ok(&["user", "create", "-t", "contoso.example", "--upn", "sam@contoso.example"]);
    env.ok(&["user", "create", "-t", "contoso.example", "--upn", "kim@contoso.example"]);
    env.ok(&["access", "catalog", "create", "-t", "contoso.example", "--name", "General"]);
    env.ok(&["group", "create", "-t", "contoso.example", "--name", "Finance"]);
    env.ok(&["access", "package", "create", "-t", "contoso.example", "--catalog", "General", "--name", "Finance", "--group", "Finance"]);
    env.ok(&[
        "access",
        "policy",
        "create",
        "-t",
        "contoso.example",
        "--package",
        "Finance",
        "--name",
        "Staff",
        "--scope",
        "all-members",
        "--stage",
        "sam@contoso.example",
    ]);
    let (url, got) = http_receiver();
    let secret = env.file("webhook.secret", "s3cret\n");
    let served = crate::serving::Served::start(&env, &["--webhook-url", &url, "--webhook-secret-file", secret.to_str().unwrap(), "--access-interval", "200ms"]);
    env.ok(&["access", "request", "-t", "contoso.example", "--package", "Finance", "--user", "kim@contoso.example"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while got.lock().unwrap().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let got = got.lock().unwrap();
    assert_eq!(got.len(), 1, "{}", served.log());
    let (head, body) = &got[0];
    assert!(head.starts_with("POST /events HTTP/1.1"), "{head}");
    let header = |name: &str| head.lines().find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim().to_owned()));
    assert_eq!(header("x-tenantsync-event").as_deref(), Some("approvalRequired"));
    let ts: i64 = header("x-tenantsync-timestamp").unwrap().parse().unwrap();
    assert_eq!(header("x-tenantsync-signature"), tenantsync_mail::signature(b"s3cret", ts, body.as_bytes()), "signed with the file's secret, trimmed");
    let body: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["to"], serde_json::json!(["sam@contoso.example"]));
    let bad = env.run(&["serve", "--listen", "127.0.0.1:0", "--webhook-url", "ftp://hooks.example/", "--webhook-secret-file", secret.to_str().unwrap()]);
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.starts_with("error: --webhook-url: ") && bad.stderr.trim_end().ends_with("[invalid_argument]"), "{}", bad.stderr);
    // A CA file that is not there, or holds no certificate: one line naming the flag and the file.
    let not_pem = env.file("ca.pem", "not a certificate\n");
    let missing = not_pem.with_file_name("missing.pem");
    for ca in [&not_pem, &missing] {
        let bad = env.run(&[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--webhook-url",
            "https://hooks.example/",
            "--webhook-secret-file",
            secret.to_str().unwrap(),
            "--webhook-ca-file",
            ca.to_str().unwrap(),
        ]);
        assert_eq!(bad.code, 1, "{}", bad.stderr);
        assert!(bad.stderr.starts_with(&format!("error: --webhook-ca-file {}: ", ca.display())), "{}", bad.stderr);
        assert_eq!(bad.stderr.trim_end().lines().count(), 1, "{}", bad.stderr);
    }
}
