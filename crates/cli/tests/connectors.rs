//! Connectors through the CLI, against real SCIM services: the third-party `scim2-server`
//! (python-scim, started by `.ci/scim2-server`), checked with its own `scim2` client;
//! and tenantsync's own SCIM endpoint, exported to by a running `serve`.
use crate::serving::Served;
use crate::support::{Env, path_str};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

fn script() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.ci/scim2-server")
}

/// A fresh scim2-server with `token`; its base URL. It stops when this test process ends.
pub fn scim2_server(token: &str) -> String {
    let out = Command::new("bash").arg(script()).args(["start", token, &std::process::id().to_string()]).output().unwrap();
    assert!(out.status.success(), "scim2-server did not start: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// `scim2 query <resource> --filter FILTER` with python-scim's own client: the resources found.
pub fn scim2_query(url: &str, token: &str, resource: &str, filter: &str) -> Vec<Value> {
    let bin = Command::new("bash").arg(script()).arg("venv").output().unwrap();
    let bin = PathBuf::from(String::from_utf8(bin.stdout).unwrap().trim()).join("scim2");
    let out = Command::new(bin)
        .env("SCIM_CLI_URL", url)
        .env("SCIM_CLI_HEADERS", format!("Authorization: Bearer {token}"))
        .args(["query", resource, "--filter", filter, "--no-indent"])
        .output()
        .unwrap();
    assert!(out.status.success(), "scim2 query: {}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("scim2 query printed {}: {e}", String::from_utf8_lossy(&out.stdout)));
    v["Resources"].as_array().cloned().unwrap_or_default()
}

/// Contoso (the source) and App (the tenant a connector exports), with a sync
/// configuration Contoso → App and a group of App's own.
fn world(env: &Env) {
    contoso_and_app(env);
    env.ok(&["user", "create", "-t", "contoso.example", "--upn", "bob@contoso.example", "--set", "displayName=Bob", "--set", "mail=bob@contoso.example"]);
    env.ok(&[
        "user",
        "create",
        "-t",
        "contoso.example",
        "--upn",
        "alice@contoso.example",
        "--set",
        "displayName=Alice",
        "--set",
        "department=Sales",
        "--set",
        "manager=bob@contoso.example",
    ]);
    env.ok(&["sync", "create", "--source", "contoso.example", "--target", "app.example", "--scope", "all", "--user-type", "member"]);
    env.ok(&["sync", "run", "contoso.example:app.example"]);
    env.ok(&["group", "create", "-t", "app.example", "--name", "Projects"]);
    let alice = copy_upn("alice");
    env.ok(&["group", "add-member", "-t", "app.example", "Projects", &alice]);
}

/// The tenants Contoso and App, with access settings that let Contoso sync into App.
pub fn contoso_and_app(env: &Env) {
    env.ok(&["tenant", "create", "--name", "Contoso", "--domain", "contoso.example"]);
    env.ok(&["tenant", "create", "--name", "App", "--domain", "app.example"]);
    env.ok(&["partner", "set", "-t", "contoso.example", "--partner", "app.example", "--outbound-auto-redeem", "true"]);
    env.ok(&["partner", "set", "-t", "app.example", "--partner", "contoso.example", "--inbound-sync", "true", "--inbound-auto-redeem", "true"]);
}

fn copy_upn(name: &str) -> String {
    format!("{name}_contoso.example#EXT#@app.example")
}

fn filter_user(name: &str) -> String {
    format!("userName eq \"{}\"", copy_upn(name))
}

#[test]
fn a_tenant_is_exported_to_a_third_party_scim_service_and_follows_it() {
    let env = Env::new();
    world(&env);
    let url = scim2_server("s3cret");
    let token = env.file("token", "s3cret\n");
    env.ok(&["connector", "add", "app-scim", "-t", "app.example", "--scim-url", &url, "--token-file", path_str(&token)]);
    // The secret is sealed at rest and never shown.
    let shown = env.ok(&["connector", "show", "app-scim", "--json"]);
    assert!(!shown.contains("s3cret"), "{shown}");
    assert!(shown.contains("(sealed)"), "{shown}");
    let facts = env.ok(&["connector", "test", "app-scim"]);
    assert!(facts.contains("credentials accepted: 0 users readable"), "{facts}");

    let report = env.json(&["connector", "export", "app-scim"]);
    assert_eq!(report["initial"], true);
    assert_eq!((report["counters"]["created"].as_u64(), report["counters"]["escrowed"].as_u64()), (Some(3), Some(0)), "{report}");
    let alice = scim2_query(&url, "s3cret", "user", &filter_user("alice"));
    assert_eq!(alice.len(), 1, "{alice:?}");
    assert_eq!(alice[0]["displayName"], "Alice");
    assert_eq!(alice[0]["active"], true);
    let enterprise = &alice[0]["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"];
    assert_eq!(enterprise["department"], "Sales");
    let bob = scim2_query(&url, "s3cret", "user", &filter_user("bob"));
    assert_eq!(enterprise["manager"]["value"], bob[0]["id"], "the manager is the manager's id in the service");
    let projects = scim2_query(&url, "s3cret", "group", "displayName eq \"Projects\"");
    assert_eq!(projects.len(), 1);
    let members: Vec<&Value> = projects[0]["members"].as_array().unwrap().iter().map(|m| &m["value"]).collect();
    assert_eq!(members, vec![&alice[0]["id"]]);

    // Nothing changed: nothing sent.
    let report = env.json(&["connector", "export", "app-scim"]);
    assert_eq!(
        report["counters"],
        serde_json::json!({"created": 0, "matched": 0, "updated": 0, "deprovisioned": 0, "deleted": 0, "unchanged": 0, "escrowed": 0})
    );

    // A change at the source flows through the sync into App, and the connector sends it.
    env.ok(&["user", "update", "-t", "contoso.example", "alice@contoso.example", "--set", "jobTitle=Lead"]);
    env.ok(&["user", "delete", "-t", "contoso.example", "bob@contoso.example"]);
    env.ok(&["sync", "run", "contoso.example:app.example"]);
    env.ok(&["group", "remove-member", "-t", "app.example", "Projects", &copy_upn("alice")]);
    let report = env.json(&["connector", "export", "app-scim"]);
    assert_eq!(report["counters"]["updated"], 2, "alice and the group: {report}");
    assert_eq!(report["counters"]["deprovisioned"], 1, "bob: {report}");
    let alice = scim2_query(&url, "s3cret", "user", &filter_user("alice"));
    assert_eq!(alice[0]["title"], "Lead");
    let bob = scim2_query(&url, "s3cret", "user", &filter_user("bob"));
    assert_eq!(bob[0]["active"], false, "a soft-deleted user is disabled, not deleted");
    let projects = scim2_query(&url, "s3cret", "group", "displayName eq \"Projects\"");
    assert!(projects[0]["members"].as_array().is_none_or(|m| m.is_empty()), "{projects:?}");

    // Links lost (as after a crash between a create and its commit): the next export
    // finds every object by its matching attribute and creates no second one.
    env.ok(&["connector", "remove", "app-scim"]);
    env.ok(&["connector", "add", "app-scim", "-t", "app.example", "--scim-url", &url, "--token-file", path_str(&token)]);
    let report = env.json(&["connector", "export", "app-scim"]);
    // (Bob, soft-deleted, has nothing to deprovision again: he is matched when restored.)
    assert_eq!((report["counters"]["created"].as_u64(), report["counters"]["matched"].as_u64()), (Some(0), Some(2)), "{report}");
    assert_eq!(scim2_query(&url, "s3cret", "user", "userName co \"contoso.example\"").len(), 2, "no second copy of anyone");
    env.ok(&["user", "restore", "-t", "contoso.example", "bob@contoso.example"]);
    env.ok(&["sync", "run", "contoso.example:app.example"]);
    let report = env.json(&["connector", "export", "app-scim"]);
    assert_eq!(report["counters"]["matched"], 1, "{report}");
    assert_eq!(scim2_query(&url, "s3cret", "user", &filter_user("bob"))[0]["active"], true);
}

#[test]
fn a_failing_service_pauses_the_connector_with_one_clear_line() {
    let env = Env::new();
    world(&env);
    let url = scim2_server("right");
    let wrong = env.file("wrong", "wrong\n");
    env.ok(&["connector", "add", "bad-token", "-t", "app.example", "--scim-url", &url, "--token-file", path_str(&wrong)]);
    let r = env.run(&["connector", "test", "bad-token"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("connector 'bad-token'") && r.stderr.trim().ends_with("[connector_auth_failed]"), "{}", r.stderr);
    let r = env.run(&["connector", "export", "bad-token"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.trim().ends_with("[connector_auth_failed]"), "{}", r.stderr);
    let state = env.json(&["connector", "show", "bad-token"]);
    assert_eq!(state["state"]["health"], "paused");
    assert_eq!(state["state"]["error"]["code"], "connector_auth_failed");
    assert_eq!(state["links"]["total"], 0, "a system failure escrows no object");

    // Nobody listens there: unreachable, paused, nothing lost; fixed, it resumes.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    env.ok(&["connector", "add", "away", "-t", "app.example", "--scim-url", &format!("http://127.0.0.1:{closed}/v2"), "--timeout", "2"]);
    let r = env.run(&["connector", "export", "away"]);
    assert!(r.stderr.trim().ends_with("[connector_unreachable]"), "{}", r.stderr);

    // Bad settings are refused before anything is stored.
    for (args, code) in [
        (vec!["--scim-url", "ftp://x"], "invalid_connector_settings"),
        (vec!["--scim-url", &url, "--matching", "mail"], "invalid_argument"),
        (vec!["--scim-url", &url, "--token-env", "TENANTSYNC_NO_SUCH_VAR"], "invalid_argument"),
    ] {
        let mut all = vec!["connector", "add", "x", "-t", "app.example"];
        all.extend(args);
        let r = env.run(&all);
        assert_eq!(r.code, 1);
        assert!(r.stderr.trim().ends_with(&format!("[{code}]")), "{all:?}: {}", r.stderr);
    }
    let r = env.run(&["connector", "add", "away", "-t", "app.example", "--scim-url", &url]);
    assert!(r.stderr.trim().ends_with("[connector_conflict]"), "{}", r.stderr);
    let listed = env.json(&["connector", "list"]);
    assert_eq!(listed.as_array().unwrap().len(), 2);
}

#[test]
fn serve_exports_to_tenantsyncs_own_scim_endpoint_as_changes_happen() {
    let env = Env::new();
    world(&env);
    env.ok(&["tenant", "create", "--name", "Fabrikam", "--domain", "fabrikam.example"]);
    let token = env.ok(&["token", "create", "--tenant", "fabrikam.example", "--name", "connector"]).trim().to_owned();
    let served = Served::start(&env, &[]);
    let base = format!("http://{}/scim/v2/fabrikam.example", served.addr);
    let file = env.file("fabrikam-token", &token);
    env.ok(&["connector", "add", "to-fabrikam", "-t", "app.example", "--scim-url", &base, "--token-file", path_str(&file)]);
    let find = |name: &str| -> Vec<Value> {
        let filter = format!("userName eq \"{}\"", copy_upn(name)).replace(' ', "%20").replace('"', "%22").replace('#', "%23");
        let a = served.request("GET", &format!("/scim/v2/fabrikam.example/Users?filter={filter}"), &[("Authorization", &format!("Bearer {token}"))], None);
        a.json()["Resources"].as_array().cloned().unwrap_or_default()
    };
    let wait_for = |what: &str, ok: &dyn Fn() -> bool| {
        let until = Instant::now() + Duration::from_secs(30);
        while !ok() {
            assert!(Instant::now() < until, "{what} never happened; log:\n{}", served.log());
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait_for("the initial export", &|| find("alice").len() == 1 && find("bob").len() == 1);
    // A change in App reaches Fabrikam without a command: serve's connector follows the feed.
    env.ok(&["user", "update", "-t", "app.example", &copy_upn("alice"), "--set", "jobTitle=Director"]);
    wait_for("the update", &|| find("alice").first().is_some_and(|u| u["title"] == "Director"));
}

#[test]
fn a_tenant_is_exported_to_a_graph_api_tenantsyncs_own_v1() {
    let env = Env::new();
    world(&env);
    // Fabrikam is served from a data directory of its own: another tenantsync, as an
    // Entra tenant would be.
    let remote = Env::new();
    remote.ok(&["tenant", "create", "--name", "Fabrikam", "--domain", "fabrikam.example"]);
    let token = remote.ok(&["token", "create", "--tenant", "fabrikam.example", "--name", "graph", "--role", "admin"]).trim().to_owned();
    let served = Served::start(&remote, &[]);
    let file = env.file("graph-token", &token);
    let base = format!("http://{}/v1.0", served.addr);
    let auth = format!("Bearer {token}");
    let get = |path: &str| served.request("GET", path, &[("Authorization", &auth)], None).json();
    let user = |name: &str| -> Option<Value> {
        let filter = format!("userPrincipalName eq '{}'", copy_upn(name)).replace(' ', "%20").replace('\'', "%27").replace('#', "%23");
        get(&format!("/v1.0/users?$filter={filter}"))["value"].as_array().and_then(|v| v.first().cloned())
    };
    // A guest of App's own, invited from Litware: made the B2B way in Fabrikam.
    let carol = ["--set", "displayName=Carol", "--set", "mail=carol@litware.example", "--set", "userType=Guest", "--set", "jobTitle=Partner"];
    env.ok(&[&["user", "create", "-t", "app.example", "--upn", "carol_litware.example#EXT#@app.example"][..], &carol[..]].concat());
    env.ok(&["group", "add-member", "-t", "app.example", "Projects", "carol_litware.example#EXT#@app.example"]);
    let guest = || -> Vec<Value> { get("/v1.0/users?$filter=mail%20eq%20%27carol@litware.example%27")["value"].as_array().unwrap().clone() };
    env.ok(&["connector", "add", "to-graph", "-t", "app.example", "--graph-url", &base, "--token-file", path_str(&file)]);
    assert!(env.ok(&["connector", "test", "to-graph"]).contains("credentials accepted"));
    let report = env.json(&["connector", "export", "to-graph"]);
    assert_eq!((report["counters"]["created"].as_u64(), report["counters"]["escrowed"].as_u64()), (Some(4), Some(0)), "{report}");
    let invited = guest();
    assert_eq!(invited.len(), 1, "{invited:?}");
    let c = &invited[0];
    assert_eq!(
        (c["userPrincipalName"].as_str(), c["userType"].as_str(), c["displayName"].as_str(), c["jobTitle"].as_str()),
        (Some("carol_litware.example#EXT#@fabrikam.example"), Some("Guest"), Some("Carol"), Some("Partner")),
        "named by the service, set up by PATCH: {c}"
    );
    let alice = user("alice").expect("alice in Fabrikam");
    assert_eq!((alice["displayName"].as_str(), alice["department"].as_str(), alice["accountEnabled"].as_bool()), (Some("Alice"), Some("Sales"), Some(true)));
    let groups = get("/v1.0/groups?$filter=displayName%20eq%20%27Projects%27");
    let group = groups["value"][0]["id"].as_str().unwrap().to_owned();
    // Two members: added by one `$batch`.
    let members = get(&format!("/v1.0/groups/{group}/members"));
    let mut ids: Vec<&str> = members["value"].as_array().unwrap().iter().filter_map(|m| m["id"].as_str()).collect();
    ids.sort_unstable();
    let mut expected = vec![alice["id"].as_str().unwrap(), c["id"].as_str().unwrap()];
    expected.sort_unstable();
    assert_eq!(ids, expected);

    // Changes: an update sends what changed, a soft delete disables, a member leaves.
    env.ok(&["user", "update", "-t", "contoso.example", "alice@contoso.example", "--set", "jobTitle=Lead"]);
    env.ok(&["user", "delete", "-t", "contoso.example", "bob@contoso.example"]);
    env.ok(&["sync", "run", "contoso.example:app.example"]);
    env.ok(&["user", "update", "-t", "app.example", &copy_upn("alice"), "--set", "department="]);
    env.ok(&["group", "remove-member", "-t", "app.example", "Projects", &copy_upn("alice")]);
    let report = env.json(&["connector", "export", "to-graph"]);
    assert_eq!((report["counters"]["updated"].as_u64(), report["counters"]["deprovisioned"].as_u64()), (Some(2), Some(1)), "{report}");
    let alice = user("alice").unwrap();
    assert_eq!((alice["jobTitle"].as_str(), alice["department"].as_str()), (Some("Lead"), None), "{alice}");
    assert_eq!(user("bob").unwrap()["accountEnabled"], false);
    let left: Vec<Value> = get(&format!("/v1.0/groups/{group}/members"))["value"].as_array().unwrap().clone();
    assert_eq!(left.iter().map(|m| m["id"].as_str()).collect::<Vec<_>>(), [c["id"].as_str()], "alice left, carol stays");

    // Links lost: matched by userPrincipalName (the guest by mail), nobody made twice.
    env.ok(&["connector", "remove", "to-graph"]);
    env.ok(&["connector", "add", "to-graph", "-t", "app.example", "--graph-url", &base, "--token-file", path_str(&file)]);
    let report = env.json(&["connector", "export", "to-graph"]);
    assert_eq!((report["counters"]["created"].as_u64(), report["counters"]["matched"].as_u64()), (Some(0), Some(3)), "{report}");
    assert_eq!(get("/v1.0/users")["value"].as_array().unwrap().len(), 3);
    assert_eq!(guest().len(), 1);

    // While one process exports a connector, another does not.
    let r = env.cmd().args(["connector", "export", "to-graph"]).output().unwrap();
    assert!(r.status.success());
}

#[test]
fn a_users_manager_is_read_set_and_removed_through_v1_and_a_graph_export_sets_it_by_ref() {
    let remote = Env::new();
    let f = "fabrikam.example";
    remote.ok(&["tenant", "create", "--name", "Fabrikam", "--domain", f]);
    let token = remote.ok(&["token", "create", "--tenant", f, "--name", "graph", "--role", "admin"]).trim().to_owned();
    let reader = remote.ok(&["token", "create", "--tenant", f, "--name", "reader", "--role", "reader"]).trim().to_owned();
    remote.ok(&["user", "create", "-t", f, "--upn", "x@fabrikam.example"]);
    remote.ok(&["user", "create", "-t", f, "--upn", "y@fabrikam.example", "--set", "displayName=Y"]);
    let y = remote.json(&["user", "show", "-t", f, "y@fabrikam.example"])["id"].as_str().unwrap().to_owned();
    let served = Served::start(&remote, &[]);
    let auth = format!("Bearer {token}");
    let call = |method: &str, path: &str, body: Option<&str>| served.request(method, path, &[("Authorization", &auth)], body);
    let feed = || remote.json(&["changes", "-t", f, "--limit", "10000"])["changes"].as_array().unwrap().clone();

    // The routes, as Graph has them: PUT $ref, GET the manager, DELETE $ref; each write
    // one update of the user, with its change row.
    let before = feed().len();
    let r = call("GET", "/v1.0/users/x@fabrikam.example/manager", None);
    assert_eq!((r.status, r.json()["error"]["code"].as_str()), (404, Some("Request_ResourceNotFound")), "no manager yet: {}", r.body);
    let body = format!(r#"{{"@odata.id": "https://graph.microsoft.com/v1.0/users/{y}"}}"#);
    assert_eq!(call("PUT", "/v1.0/users/x@fabrikam.example/manager/$ref", Some(&body)).status, 204);
    let m = call("GET", "/v1.0/users/x@fabrikam.example/manager", None).json();
    assert_eq!((m["id"].as_str(), m["displayName"].as_str(), m["@odata.type"].as_str()), (Some(y.as_str()), Some("Y"), Some("#microsoft.graph.user")), "{m}");
    let x = remote.json(&["user", "show", "-t", f, "x@fabrikam.example"]);
    assert_eq!(x["manager"], y.as_str(), "the store's own attribute");
    let changes = feed();
    assert_eq!(changes.len(), before + 1, "one change row");
    let last = changes.last().unwrap();
    assert_eq!((last["op"].as_str(), last["objectId"].as_str()), (Some("update"), x["id"].as_str()), "{last}");
    assert_eq!(call("PUT", "/v1.0/users/x@fabrikam.example/manager/$ref", Some(&body)).status, 204, "the same again: nothing to write");
    assert_eq!(feed().len(), before + 1);
    // Bad references are Graph-shaped errors, and write nothing.
    let missing = r#"{"@odata.id": "https://graph.microsoft.com/v1.0/users/00000000-0000-7000-8000-000000000000"}"#;
    for (body, status, code) in [
        (missing, 404, "Request_ResourceNotFound"),
        (r#"{"@odata.id": "not a reference"}"#, 400, "Request_BadRequest"),
        (r#"{"manager": "y"}"#, 400, "Request_BadRequest"),
        ("[1]", 400, "Request_BadRequest"),
    ] {
        let r = call("PUT", "/v1.0/users/x@fabrikam.example/manager/$ref", Some(body));
        assert_eq!((r.status, r.json()["error"]["code"].as_str()), (status, Some(code)), "{body}: {}", r.body);
    }
    let own = format!(r#"{{"@odata.id": "https://graph.microsoft.com/v1.0/users/{}"}}"#, x["id"].as_str().unwrap());
    assert_eq!(call("PUT", "/v1.0/users/x@fabrikam.example/manager/$ref", Some(&own)).status, 400, "one's own manager");
    let r = served.request("PUT", "/v1.0/users/x@fabrikam.example/manager/$ref", &[("Authorization", &format!("Bearer {reader}"))], Some(&body));
    assert_eq!(r.status, 403, "a reader does not write: {}", r.body);
    assert_eq!(feed().len(), before + 1);
    assert_eq!(call("DELETE", "/v1.0/users/x@fabrikam.example/manager/$ref", None).status, 204);
    assert_eq!(call("GET", "/v1.0/users/x@fabrikam.example/manager", None).status, 404);
    assert_eq!(call("DELETE", "/v1.0/users/x@fabrikam.example/manager/$ref", None).status, 404, "no manager to remove");
    assert!(remote.json(&["user", "show", "-t", f, "x@fabrikam.example"])["manager"].is_null());

    // The export: 501 users, p000's manager p500 on the walk's second page (500 a page),
    // exported after p000: set at the run's end. dave's manager carol is on the same page.
    let env = Env::new();
    env.ok(&["tenant", "create", "--name", "App", "--domain", "app.example"]);
    let mut csv = String::from("userPrincipalName\n");
    for i in 0..501 {
        csv.push_str(&format!("p{i:03}@app.example\n"));
    }
    let people = env.file("people.csv", &csv);
    env.ok(&["import", "users", "-t", "app.example", path_str(&people), "--quiet"]);
    env.ok(&["user", "update", "-t", "app.example", "p000@app.example", "--set", "manager=p500@app.example"]);
    env.ok(&["user", "update", "-t", "app.example", "p002@app.example", "--set", "manager=p001@app.example"]);
    let file = env.file("graph-token", &token);
    env.ok(&["connector", "add", "to-graph", "-t", "app.example", "--graph-url", &format!("http://{}/v1.0", served.addr), "--token-file", path_str(&file)]);
    let report = env.json(&["connector", "export", "to-graph"]);
    assert_eq!((report["counters"]["created"].as_u64(), report["counters"]["escrowed"].as_u64()), (Some(501), Some(0)), "{report}");
    let id_of = |upn: &str| call("GET", &format!("/v1.0/users/{upn}"), None).json()["id"].as_str().unwrap().to_owned();
    let manager_of = |upn: &str| {
        let r = call("GET", &format!("/v1.0/users/{upn}/manager"), None);
        (r.status == 200).then(|| r.json()["id"].as_str().unwrap().to_owned())
    };
    assert_eq!(manager_of("p000@app.example"), Some(id_of("p500@app.example")), "a manager exported later in the run");
    assert_eq!(manager_of("p002@app.example"), Some(id_of("p001@app.example")));
    assert_eq!(manager_of("p003@app.example"), None);
    assert_eq!(env.json(&["connector", "show", "to-graph"])["links"]["escrowed"], 0, "nothing left waiting");

    // Changed and removed by the feed; a run with nothing new sends nothing.
    env.ok(&["user", "update", "-t", "app.example", "p000@app.example", "--set", "manager=p001@app.example"]);
    env.ok(&["user", "update", "-t", "app.example", "p002@app.example", "--set", "manager="]);
    let report = env.json(&["connector", "export", "to-graph"]);
    assert_eq!(report["counters"]["updated"], 2, "{report}");
    assert_eq!(manager_of("p000@app.example"), Some(id_of("p001@app.example")));
    assert_eq!(manager_of("p002@app.example"), None);
    let report = env.json(&["connector", "export", "to-graph"]);
    assert_eq!(report["counters"]["updated"], 0, "{report}");
}
