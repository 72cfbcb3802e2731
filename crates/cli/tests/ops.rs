//! The operations endpoints of a real `serve`: `/healthz`, `/readyz` (ready, a store that
//! cannot be read, shutting down) and `/metrics` (Prometheus' text format that parses,
//! the series of a sync cycle and of SCIM requests by route pattern, a quarantined job
//! and its lag, never a token, a tenant path or an object id; the metrics token).
use crate::serving::*;
use crate::support::Env;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const PATIENCE: Duration = Duration::from_secs(20);

#[test]
fn healthz_and_readyz_answer_without_a_token() {
    let env = Env::new();
    env.contoso();
    let s = Served::start(&env, &[]);
    let health = s.request("GET", "/healthz", &[], None);
    assert_eq!((health.status, health.json()), (200, serde_json::json!({"status": "ok"})), "{health:?}");
    assert_eq!(health.header("content-type").as_deref(), Some("application/json"));
    assert!(health.header("x-request-id").is_some(), "a request like any other");
    let ready = s.request("GET", "/readyz", &[], None);
    assert_eq!((ready.status, ready.json()), (200, serde_json::json!({"status": "ready"})), "{ready:?}");
    assert_eq!(s.request("POST", "/healthz", &[], Some("{}")).status, 405);
}

#[test]
fn readyz_is_unavailable_while_the_store_cannot_be_read_and_ready_again_after() {
    let env = Env::new();
    env.contoso();
    let s = Served::start(&env, &[]);
    assert_eq!(s.request("GET", "/readyz", &[], None).status, 200);
    let db = rusqlite::Connection::open(env.data().join("tenantsync.db")).unwrap();
    db.execute_batch("ALTER TABLE tenants RENAME TO tenants_gone").unwrap();
    let down = s.request("GET", "/readyz", &[], None);
    assert_eq!(down.status, 503, "{down:?}");
    assert_eq!(down.header("retry-after").as_deref(), Some("5"));
    assert_eq!(down.json()["status"], "unavailable");
    let reason = down.json()["reason"].as_str().unwrap_or_default().to_owned();
    assert!(reason.starts_with("the store cannot be read ("), "{reason}");
    assert!(!reason.contains("tenants"), "the cause stays in the log: {reason}");
    assert_eq!(s.request("GET", "/healthz", &[], None).status, 200, "the process is up all the same");
    assert!(s.log_line(&["WARN", "not ready: the store cannot be read"], PATIENCE).is_some(), "{}", s.log());
    db.execute_batch("ALTER TABLE tenants_gone RENAME TO tenants").unwrap();
    assert_eq!(s.request("GET", "/readyz", &[], None).status, 200);
    assert!(s.log_line(&["ready again"], PATIENCE).is_some(), "{}", s.log());
    let warnings = s.log().lines().filter(|l| l.contains("not ready")).count();
    assert_eq!(warnings, 1, "a change is logged, not every answer:\n{}", s.log());
}

#[test]
fn readyz_is_unavailable_from_the_signal_on_while_the_drain_delay_runs() {
    let env = Env::new();
    env.contoso();
    let mut s = Served::start(&env, &["--drain-delay", "3s"]);
    assert_eq!(s.request("GET", "/readyz", &[], None).status, 200);
    s.signal("TERM");
    let end = Instant::now() + PATIENCE;
    let draining = loop {
        let a = s.request("GET", "/readyz", &[], None);
        if a.status != 200 || Instant::now() > end {
            break a;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!((draining.status, draining.json()["reason"].as_str()), (503, Some("shutting down")), "{draining:?}");
    assert_eq!(draining.header("retry-after").as_deref(), Some("5"));
    assert_eq!(s.request("GET", "/healthz", &[], None).status, 200, "still serving while draining");
    let status = s.exit_within(PATIENCE).expect("serve exits after the drain delay");
    assert!(status.success(), "{status:?}\n{}", s.log());
    assert!(s.log_line(&["draining: /readyz answers 503"], PATIENCE).is_some(), "{}", s.log());
}

/// One sample of the exposition text.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses Prometheus' text exposition format strictly enough to catch a malformed line:
/// every line is empty, `# HELP name text`, `# TYPE name type` (once per name, before its
/// samples) or `name{label="value",…} value`; every sample's family has a TYPE.
fn parse_exposition(text: &str) -> Result<Vec<Sample>, String> {
    let valid_name =
        |n: &str| !n.is_empty() && n.chars().enumerate().all(|(i, c)| c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit()));
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (kind, name, what) = (parts.next(), parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
            if !valid_name(name) {
                return Err(format!("bad name in {line:?}"));
            }
            match kind {
                Some("HELP") => {}
                Some("TYPE") => {
                    if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&what) {
                        return Err(format!("bad type in {line:?}"));
                    }
                    if types.insert(name.to_owned(), what.to_owned()).is_some() {
                        return Err(format!("second TYPE for {name}"));
                    }
                }
                _ => return Err(format!("unknown comment {line:?}")),
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').ok_or_else(|| format!("no value in {line:?}"))?;
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().map_err(|_| format!("bad value in {line:?}"))?,
        };
        let (name, labels) = match series.split_once('{') {
            None => (series, BTreeMap::new()),
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').ok_or_else(|| format!("unclosed labels in {line:?}"))?;
                (name, parse_labels(body).ok_or_else(|| format!("bad labels in {line:?}"))?)
            }
        };
        if !valid_name(name) {
            return Err(format!("bad name in {line:?}"));
        }
        let family = ["_bucket", "_sum", "_count"].iter().find_map(|s| name.strip_suffix(s).filter(|f| types.get(*f).is_some_and(|t| t == "histogram")));
        if !types.contains_key(family.unwrap_or(name)) {
            return Err(format!("no TYPE before {line:?}"));
        }
        samples.push(Sample { name: name.to_owned(), labels, value });
    }
    Ok(samples)
}

/// `a="x",b="y\"z"` (values escaped with `\\`, `\"`, `\n`).
fn parse_labels(body: &str) -> Option<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let mut rest = body;
    while !rest.is_empty() {
        let (name, after) = rest.split_once("=\"")?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next()? {
                (i, '"') => break i,
                (_, '\\') => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    c @ ('\\' | '"') => value.push(c),
                    _ => return None,
                },
                (_, c) => value.push(c),
            }
        };
        out.insert(name.to_owned(), value);
        rest = after.get(end + 1..)?;
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
    Some(out)
}

/// The value of the one sample named `name` whose labels include `labels`.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let found: Vec<&Sample> =
        samples.iter().filter(|s| s.name == name && labels.iter().all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))).collect();
    assert!(found.len() <= 1, "{name} {labels:?} names several series: {found:?}");
    found.first().map(|s| s.value)
}

#[test]
fn the_exposition_parser_refuses_what_prometheus_would() {
    assert!(parse_exposition("# TYPE a counter\na{x=\"1\"} 2\n").is_ok());
    for bad in ["a 1\n", "# TYPE a counter\na{x=1} 2\n", "# TYPE a counter\na{x=\"1\"}\n", "# TYPE a counter\na 1 2 3\n", "# TYPE a nonsense\n"] {
        assert!(parse_exposition(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn metrics_count_a_sync_cycle_and_scim_requests_by_route_pattern() {
    let env = Env::new();
    let token = contoso_with_token(&env);
    let auth = format!("Bearer {token}");
    env.ok(&["tenant", "create", "--name", "Fabrikam", "--domain", "fabrikam.example"]);
    let mut source_ids = Vec::new();
    for name in ["alice", "bob", "carol"] {
        let created = env.json(&["user", "create", "-t", "fabrikam.example", "--upn", &format!("{name}@fabrikam.example")]);
        source_ids.push(created["id"].as_str().unwrap().to_owned());
    }
    env.ok(&["partner", "set", "-t", "fabrikam.example", "--outbound-auto-redeem", "true"]);
    env.ok(&["partner", "set", "-t", "contoso.example", "--inbound-sync", "true", "--inbound-auto-redeem", "true"]);
    let config = env.json(&["sync", "create", "--source", "fabrikam.example", "--target", "contoso.example", "--scope", "all"]);
    let config_id = config["id"].as_str().unwrap().to_owned();

    let s = Served::start(&env, &[]);
    assert!(s.log_line(&["sync fabrikam.example → contoso.example: initial cycle: 3 created"], PATIENCE).is_some(), "{}", s.log());
    let filtered = s.request("GET", "/scim/v2/contoso.example/Users?filter=userName%20sw%20%22alice%22", &[("Authorization", &auth)], None);
    assert_eq!(filtered.status, 200, "{filtered:?}");
    let copy = filtered.json()["Resources"][0]["id"].as_str().unwrap_or_default().to_owned();
    assert!(!copy.is_empty(), "{}", filtered.body);
    assert_eq!(s.request("GET", &format!("/scim/v2/contoso.example/Users/{copy}"), &[("Authorization", &auth)], None).status, 200);
    let stranger = "0192f5a4-1111-7222-8333-944445555666";
    assert_eq!(s.request("GET", &format!("/scim/v2/contoso.example/Users/{stranger}"), &[("Authorization", &auth)], None).status, 404);
    assert_eq!(s.request("GET", "/scim/v2/contoso.example/Users", &[], None).status, 401);
    assert_eq!(s.request("GET", "/no/such/thing", &[], None).status, 404);

    let scraped = s.request("GET", "/metrics", &[], None);
    assert_eq!(scraped.status, 200, "{scraped:?}");
    assert!(scraped.header("content-type").is_some_and(|t| t.starts_with("text/plain; version=0.0.4")), "{scraped:?}");
    let text = scraped.body;
    let samples = parse_exposition(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    for family in ["tenantsync_job_cycles_total", "tenantsync_job_objects_total", "tenantsync_http_requests_total", "tenantsync_http_request_duration_seconds"]
    {
        assert!(text.contains(&format!("# HELP {family} ")), "{family} has no HELP:\n{text}");
        assert!(text.contains(&format!("# TYPE {family} ")), "{family} has no TYPE:\n{text}");
    }

    // The job, named by its id and its tenants' initial domains.
    let job = [("config_id", config_id.as_str()), ("source", "fabrikam.example"), ("target", "contoso.example")];
    let with = |extra: &[(&'static str, &'static str)]| job.iter().copied().chain(extra.iter().copied()).collect::<Vec<_>>();
    assert_eq!(value(&samples, "tenantsync_job_cycles_total", &with(&[("kind", "initial"), ("outcome", "Succeeded")])), Some(1.0), "{text}");
    assert_eq!(value(&samples, "tenantsync_job_cycles_total", &with(&[("kind", "initial"), ("outcome", "Failed")])), Some(0.0), "{text}");
    assert_eq!(value(&samples, "tenantsync_job_objects_total", &with(&[("object", "user"), ("action", "created")])), Some(3.0), "{text}");
    assert_eq!(value(&samples, "tenantsync_job_objects_total", &with(&[("object", "user"), ("action", "updated")])), Some(0.0), "{text}");
    assert_eq!(value(&samples, "tenantsync_job_escrows", &job), Some(0.0), "{text}");
    assert_eq!(value(&samples, "tenantsync_job_quarantined", &with(&[("reason", "TooManyDeletes")])), Some(0.0), "{text}");
    assert_eq!(value(&samples, "tenantsync_job_lag_changes", &job), Some(0.0), "{text}");
    assert_eq!(value(&samples, "tenantsync_job_lag_seconds", &job), Some(0.0), "{text}");
    assert_eq!(value(&samples, "tenantsync_job_cycle_duration_seconds_count", &job), Some(1.0), "{text}");
    assert!(value(&samples, "tenantsync_job_last_cycle_duration_seconds", &job).is_some_and(|d| d > 0.0), "{text}");
    // Three creates in the source; three creates in the target (and their changes).
    assert_eq!(value(&samples, "tenantsync_tenant_change_head", &[("tenant", "fabrikam.example")]), Some(3.0), "{text}");
    assert!(value(&samples, "tenantsync_tenant_change_head", &[("tenant", "contoso.example")]).is_some_and(|h| h >= 3.0), "{text}");

    // Requests by route pattern: never the path a client sent.
    let users_id = "/scim/v2/{tenant}/Users/{id}";
    let get = |route: &str, status: &str| value(&samples, "tenantsync_http_requests_total", &[("route", route), ("method", "GET"), ("status", status)]);
    assert_eq!(get(users_id, "200"), Some(1.0), "{text}");
    assert_eq!(get(users_id, "404"), Some(1.0), "{text}");
    assert_eq!(get("/scim/v2/{tenant}/Users", "200"), Some(1.0), "{text}");
    assert_eq!(get("/scim/v2/{tenant}/Users", "401"), Some(1.0), "{text}");
    assert_eq!(get("unmatched", "404"), Some(1.0), "{text}");
    assert_eq!(value(&samples, "tenantsync_http_request_duration_seconds_count", &[("route", users_id)]), Some(2.0), "{text}");
    assert_eq!(value(&samples, "tenantsync_http_request_duration_seconds_bucket", &[("route", users_id), ("le", "+Inf")]), Some(2.0), "{text}");

    // No token, no tenant in a path, no object id: only patterns and names.
    assert!(!text.contains(&token) && !text.contains(&token[token.len() - 64..]), "a token in:\n{text}");
    assert!(!text.contains("/scim/v2/contoso.example") && !text.contains("/no/such/thing"), "a raw path in:\n{text}");
    for id in source_ids.iter().chain([&copy, &stranger.to_owned()]) {
        assert!(!text.contains(id.as_str()), "the object id {id} in:\n{text}");
    }
    assert!(!text.contains("alice"), "a user's name in:\n{text}");
}

#[test]
fn metrics_show_a_quarantined_job_its_staged_deletes_and_its_lag() {
    let env = Env::new();
    env.contoso();
    env.ok(&["tenant", "create", "--name", "Fabrikam", "--domain", "fabrikam.example"]);
    for name in ["alice", "bob", "carol"] {
        env.ok(&["user", "create", "-t", "fabrikam.example", "--upn", &format!("{name}@fabrikam.example")]);
    }
    env.ok(&["partner", "set", "-t", "fabrikam.example", "--outbound-auto-redeem", "true"]);
    env.ok(&["partner", "set", "-t", "contoso.example", "--inbound-sync", "true", "--inbound-auto-redeem", "true"]);
    let config = env.json(&["sync", "create", "--source", "fabrikam.example", "--target", "contoso.example", "--scope", "all", "--deletion-threshold", "1"]);
    let config_id = config["id"].as_str().unwrap().to_owned();
    let s = Served::start(&env, &[]);
    assert!(s.log_line(&["initial cycle: 3 created"], PATIENCE).is_some(), "{}", s.log());
    // Two deletions in one cycle against a threshold of one: held back, the job
    // quarantined, the watermark kept behind the two changes.
    env.ok(&["sync", "pause", &config_id]);
    env.ok(&["user", "delete", "-t", "fabrikam.example", "alice@fabrikam.example"]);
    env.ok(&["user", "delete", "-t", "fabrikam.example", "bob@fabrikam.example"]);
    env.ok(&["sync", "start", &config_id]);
    let end = Instant::now() + PATIENCE;
    let (text, samples) = loop {
        let text = s.request("GET", "/metrics", &[], None).body;
        let samples = parse_exposition(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let staged = value(&samples, "tenantsync_job_staged_deletes_total", &[("config_id", &config_id)]);
        if staged == Some(2.0) || Instant::now() > end {
            break (text, samples);
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let job = [("config_id", config_id.as_str()), ("source", "fabrikam.example"), ("target", "contoso.example")];
    let with = |extra: &[(&'static str, &'static str)]| job.iter().copied().chain(extra.iter().copied()).collect::<Vec<_>>();
    assert_eq!(value(&samples, "tenantsync_job_staged_deletes_total", &job), Some(2.0), "{text}\n{}", s.log());
    assert_eq!(value(&samples, "tenantsync_job_quarantined", &with(&[("reason", "TooManyDeletes")])), Some(1.0), "{text}");
    assert_eq!(value(&samples, "tenantsync_job_quarantined", &with(&[("reason", "EncounteredBaseEscrowThreshold")])), Some(0.0), "{text}");
    assert_eq!(value(&samples, "tenantsync_job_objects_total", &with(&[("object", "user"), ("action", "softDeleted")])), Some(0.0), "{text}");
    let cycles: f64 = ["Succeeded", "EntryLevelErrors", "Failed"]
        .iter()
        .filter_map(|o| value(&samples, "tenantsync_job_cycles_total", &with(&[("kind", "incremental"), ("outcome", o)])))
        .sum();
    assert!(cycles >= 1.0, "{text}");
    assert_eq!(value(&samples, "tenantsync_job_lag_changes", &job), Some(2.0), "{text}");
    assert!(value(&samples, "tenantsync_job_lag_seconds", &job).is_some_and(|s| s > 0.0), "{text}");
}

#[test]
fn a_metrics_token_guards_metrics_and_nothing_else() {
    let env = Env::new();
    env.contoso();
    let secret = "s3cret-metrics-token-for-the-test";
    let s = Served::start(&env, &["--metrics-token", secret]);
    let bare = s.request("GET", "/metrics", &[], None);
    assert_eq!(bare.status, 401, "{bare:?}");
    assert_eq!(bare.header("www-authenticate").as_deref(), Some("Bearer realm=\"metrics\""));
    assert_eq!(s.request("GET", "/metrics", &[("Authorization", "Bearer wrong")], None).status, 401);
    let scraped = s.request("GET", "/metrics", &[("Authorization", &format!("bearer {secret}"))], None);
    assert_eq!(scraped.status, 200, "{scraped:?}");
    assert!(parse_exposition(&scraped.body).is_ok(), "{}", scraped.body);
    assert!(!scraped.body.contains(secret));
    assert_eq!(s.request("GET", "/healthz", &[], None).status, 200);
    assert_eq!(s.request("GET", "/readyz", &[], None).status, 200);
    assert!(!s.log().contains(secret), "never in the log:\n{}", s.log());
}

#[test]
fn the_console_is_served_at_the_root_beside_the_apis_unless_turned_off() {
    let env = Env::new();
    env.contoso();
    let s = Served::start(&env, &["--console-idle-timeout", "10m"]);
    let signin = s.request("GET", "/signin", &[], None);
    assert_eq!(signin.status, 200, "{signin:?}");
    assert_eq!(signin.header("content-type").as_deref(), Some("text/html; charset=utf-8"));
    assert_eq!(s.request("GET", "/", &[], None).header("location").as_deref(), Some("/signin"));
    assert_eq!(s.request("GET", "/healthz", &[], None).status, 200);
    drop(s);
    let s = Served::start(&env, &["--no-console"]);
    assert_eq!(s.request("GET", "/signin", &[], None).status, 404);
    assert_eq!(s.request("GET", "/healthz", &[], None).status, 200);
}
