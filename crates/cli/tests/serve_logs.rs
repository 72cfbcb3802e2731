//! What `serve` says and names: URLs built from the public URL whatever the request's
//! headers claim (and from a trusted proxy's only when well-formed), request ids, the log
//! on stderr (timestamps, access lines, the cause of a 500 with its request id, JSON
//! lines, sync configurations by name), never a token.
use crate::serving::*;
use crate::support::Env;
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(20);

fn created_location(s: &Served, token: &str, name: &str, headers: &[(&str, &str)]) -> (String, String, Answer) {
    let auth = format!("Bearer {token}");
    let mut all = vec![("Authorization", auth.as_str())];
    all.extend_from_slice(headers);
    let a = s.request("POST", "/scim/v2/contoso.example/Users", &all, Some(&user(name)));
    assert_eq!(a.status, 201, "{a:?}");
    let meta = a.json()["meta"]["location"].as_str().unwrap_or_default().to_owned();
    (a.header("location").unwrap_or_default(), meta, a)
}

const HOSTILE: [(&str, &str); 4] =
    [("Host", "evil.example"), ("X-Forwarded-Proto", "javascript:alert(1)//"), ("X-Forwarded-Host", "evil.example"), ("X-Request-Id", "forged-id")];

#[test]
fn locations_name_the_public_url_whatever_host_and_forwarded_headers_say() {
    let env = Env::new();
    let token = contoso_with_token(&env);
    let s = Served::start(&env, &[]);
    let (location, meta, a) = created_location(&s, &token, "a@contoso.example", &HOSTILE);
    let base = format!("http://{}/scim/v2/contoso.example/Users/", s.addr);
    assert!(location.starts_with(&base), "{location}");
    assert_eq!(location, meta);
    let id = a.header("x-request-id").unwrap();
    assert!(id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()), "a request id is made here, not taken from the client: {id}");
    drop(s);

    let s = Served::start(&env, &["--public-url", "https://scim.example.com/idm/"]);
    let (location, meta, _) = created_location(&s, &token, "b@contoso.example", &HOSTILE);
    assert!(location.starts_with("https://scim.example.com/idm/scim/v2/contoso.example/Users/"), "{location}");
    assert_eq!(location, meta);
    // Discovery documents and Bulk results use it too.
    let auth = format!("Bearer {token}");
    let spc = s.request("GET", "/scim/v2/contoso.example/ServiceProviderConfig", &[("Authorization", &auth), ("Host", "evil.example")], None);
    assert!(!spc.body.contains("evil.example") && spc.body.contains("https://scim.example.com/idm/"), "{}", spc.body);

    let r = env.run(&["serve", "--public-url", "javascript:alert(1)//"]);
    assert!(r.code != 0 && r.stderr.contains("--public-url"), "{}", r.stderr);
}

#[test]
fn a_trusted_proxy_names_scheme_host_and_request_id_only_when_well_formed() {
    let env = Env::new();
    let token = contoso_with_token(&env);
    let s = Served::start(&env, &["--trust-proxy", "--public-url", "https://scim.example.com"]);
    let proxied = [("X-Forwarded-Proto", "http"), ("X-Forwarded-Host", "Public.Example:8443"), ("X-Request-Id", "edge-42")];
    let (location, meta, a) = created_location(&s, &token, "a@contoso.example", &proxied);
    assert!(location.starts_with("http://public.example:8443/scim/v2/contoso.example/Users/"), "{location}");
    assert_eq!(location, meta);
    assert_eq!(a.header("x-request-id").as_deref(), Some("edge-42"));

    let hostile = [("Host", "evil.example"), ("X-Forwarded-Proto", "javascript:alert(1)//"), ("X-Forwarded-Host", "evil.example/@x"), ("X-Request-Id", "a b")];
    let (location, meta, a) = created_location(&s, &token, "b@contoso.example", &hostile);
    assert!(location.starts_with("https://scim.example.com/scim/v2/contoso.example/Users/"), "{location}");
    assert_eq!(location, meta);
    assert_ne!(a.header("x-request-id").as_deref(), Some("a b"));

    // The operations of a Bulk request name the same origin as the request.
    let bulk = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [{"method": "POST", "path": "/Users", "bulkId": "c", "data": {"userName": "c@contoso.example"}}]
    })
    .to_string();
    let auth = format!("Bearer {token}");
    let r = s.request("POST", "/scim/v2/contoso.example/Bulk", &[("Authorization", &auth), proxied[0], proxied[1]], Some(&bulk));
    let op = &r.json()["Operations"][0];
    assert!(op["location"].as_str().unwrap_or_default().starts_with("http://public.example:8443/scim/v2/contoso.example/Users/"), "{}", r.body);
}

fn break_the_users_table(env: &Env) {
    let db = rusqlite::Connection::open(env.data().join("tenantsync.db")).unwrap();
    db.execute_batch("ALTER TABLE users RENAME TO users_gone").unwrap();
}

fn timestamped(line: &str) -> bool {
    let b = line.as_bytes();
    b.len() > 20 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && b[10] == b'T'
}

#[test]
fn a_storage_failure_is_answered_500_and_logged_with_its_request_id() {
    let env = Env::new();
    let token = contoso_with_token(&env);
    let auth = format!("Bearer {token}");
    let s = Served::start(&env, &[]);
    assert_eq!(s.request("GET", "/scim/v2/contoso.example/Users?filter=userName%20sw%20%22a%22", &[("Authorization", &auth)], None).status, 200);
    break_the_users_table(&env);
    let failed = s.request("GET", "/scim/v2/contoso.example/Users", &[("Authorization", &auth)], None);
    assert_eq!(failed.status, 500, "{failed:?}");
    assert!(failed.body.contains("[internal_error]"), "{}", failed.body);
    assert!(!failed.body.contains("users"), "the cause is not told to the client: {}", failed.body);
    let id = failed.header("x-request-id").unwrap();

    let cause = s.log_line(&["storage failure", &id], PATIENCE);
    assert!(cause.as_deref().is_some_and(|l| l.contains("ERROR") && l.contains("no such table")), "{cause:?}\n{}", s.log());
    let access = s.log_line(&["tenantsync_server::access", &id], PATIENCE).unwrap_or_default();
    assert!(
        access.contains("status=500")
            && access.contains("method=GET")
            && access.contains("peer=127.0.0.1:")
            && access.contains("path=/scim/v2/contoso.example/Users"),
        "{access}"
    );
    let log = s.log();
    assert!(log.lines().all(timestamped), "every line has a timestamp:\n{log}");
    assert!(!log.contains(&token) && !log.contains(&token[token.len() - 64..]), "never a token:\n{log}");
    assert!(!log.contains("filter=") && !log.contains("userName"), "never a query string:\n{log}");
}

#[test]
fn json_lines_with_json_or_log_format_json() {
    let env = Env::new();
    let token = contoso_with_token(&env);
    let auth = format!("Bearer {token}");
    for flag in ["--json", "--log-format=json"] {
        let s = Served::start(&env, &[flag]);
        let a = s.request("GET", "/scim/v2/contoso.example/Users", &[("Authorization", &auth)], None);
        let id = a.header("x-request-id").unwrap();
        let line = s.log_line(&["tenantsync_server::access", &id], PATIENCE).unwrap_or_default();
        let access: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        assert_eq!(access["span"]["id"], id.as_str(), "{flag}: {line}\n{}", s.log());
        assert_eq!(access["fields"]["status"], 200, "{line}");
        assert!(access["timestamp"].is_string(), "{line}");
        let log = s.log();
        for l in log.lines() {
            assert!(serde_json::from_str::<serde_json::Value>(l).is_ok_and(|v| v["timestamp"].is_string()), "{flag}: not a JSON line: {l}");
        }
    }
    // A 500's cause in JSON, with the request's id in its span.
    let s = Served::start(&env, &["--log-format", "json"]);
    break_the_users_table(&env);
    let failed = s.request("GET", "/scim/v2/contoso.example/Users", &[("Authorization", &auth)], None);
    assert_eq!(failed.status, 500);
    let id = failed.header("x-request-id").unwrap();
    let line = s.log_line(&["storage failure", &id], PATIENCE).unwrap_or_default();
    let cause: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
    assert_eq!((cause["level"].as_str(), cause["span"]["id"].as_str()), (Some("ERROR"), Some(id.as_str())), "{line}");
}

#[test]
fn log_level_filters_lines_and_job_lines_name_configurations() {
    let env = Env::new();
    let token = contoso_with_token(&env);
    let auth = format!("Bearer {token}");
    env.ok(&["tenant", "create", "--name", "Fabrikam", "--domain", "fabrikam.example"]);
    env.ok(&["user", "create", "-t", "fabrikam.example", "--upn", "alice@fabrikam.example"]);
    env.ok(&["partner", "set", "-t", "fabrikam.example", "--outbound-auto-redeem", "true"]);
    env.ok(&["partner", "set", "-t", "contoso.example", "--inbound-sync", "true", "--inbound-auto-redeem", "true"]);
    let config = env.json(&["sync", "create", "--source", "fabrikam.example", "--target", "contoso.example", "--scope", "all"]);
    let config_id = config["id"].as_str().unwrap().to_owned();

    let s = Served::start(&env, &["--log-level", "info,tenantsync_server::access=off"]);
    let line = s.log_line(&["sync fabrikam.example → contoso.example: initial cycle: 1 created"], PATIENCE);
    assert!(line.as_deref().is_some_and(|l| l.contains(&config_id)), "{line:?}\n{}", s.log());
    assert_eq!(s.request("GET", "/scim/v2/contoso.example/Users", &[("Authorization", &auth)], None).status, 200);
    assert!(s.log_line(&["serving SCIM 2.0 at http://"], PATIENCE).is_some(), "{}", s.log());
    std::thread::sleep(Duration::from_millis(300));
    assert!(!s.log().contains("tenantsync_server::access"), "access lines filtered out:\n{}", s.log());

    let r = env.run(&["serve", "--listen", "127.0.0.1:0", "--log-level", "info,tenantsync=loud"]);
    assert!(r.code != 0 && r.stderr.contains("--log-level"), "{}", r.stderr);
}
