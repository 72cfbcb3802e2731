//! Tokens, tenant isolation, limits, discovery and the error shapes.
use crate::support::*;
use serde_json::json;
use tenantsync_server::Config;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_bad_revoked_and_expired_tokens_get_401() {
    let s = Server::start().await;
    let path = "/scim/v2/contoso.example/Users";
    let r = s.raw("GET", path, None, None, &[]).await;
    assert_eq!(r.error(), (401, None, "unauthorized".into()));
    assert_eq!(r.header("www-authenticate"), Some("Bearer realm=\"SCIM\""));
    assert_eq!(r.body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error");
    assert_eq!(s.raw("GET", path, Some("nope"), None, &[]).await.status, 401);
    // Right id, wrong secret.
    let mut forged = s.token.clone();
    forged.replace_range(forged.len() - 4.., "0000");
    assert_eq!(s.raw("GET", path, Some(&forged), None, &[]).await.status, 401);
    assert_eq!(s.raw("GET", path, Some(&s.token), None, &[]).await.status, 200);

    let (id, _) = tenantsync_server::auth::parse(&s.token).unwrap();
    s.store.revoke_token(s.tenant.id, id).await.unwrap();
    assert_eq!(s.raw("GET", path, Some(&s.token), None, &[]).await.status, 401, "revoked at once");

    let expired = tenantsync_server::auth::issue(
        s.tenant.id,
        "old".into(),
        tenantsync_store::TokenRole::Scim,
        Some(jiff::Timestamp::now() - jiff::SignedDuration::from_secs(1)),
    )
    .unwrap();
    s.store.create_token(expired.record).await.unwrap();
    assert_eq!(s.raw("GET", path, Some(&expired.token), None, &[]).await.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_of_one_tenant_sees_nothing_of_another() {
    let s = Server::start().await;
    let other = tenant(s.store.as_ref(), "fabrikam.example").await;
    let other_token = token_for(s.store.as_ref(), &other).await;
    let alice = s.create_user(user("alice@contoso.example")).await;
    let id = alice["id"].as_str().unwrap();
    let mut answers = Vec::new();
    for (method, path) in [
        ("GET", format!("/scim/v2/contoso.example/Users/{id}")),
        ("GET", format!("/scim/v2/{}/Users/{id}", s.tenant.id)),
        ("GET", "/scim/v2/contoso.example/Users".to_owned()),
        ("DELETE", format!("/scim/v2/contoso.example/Users/{id}")),
        ("GET", "/scim/v2/contoso.example/Schemas".to_owned()),
        ("GET", "/scim/v2/nosuch.example/Users".to_owned()),
    ] {
        let r = s.raw(method, &path, Some(&other_token), None, &[]).await;
        assert_eq!(r.error(), (404, None, "tenant_not_found".into()), "{method} {path}");
        answers.push(r.body.to_string());
    }
    // An existing and a missing tenant look the same.
    assert_eq!(answers[0], answers[5]);
    assert!(!answers.iter().any(|a| a.contains("alice") || a.contains(id)));
    // The user is untouched and the other tenant's own path works.
    assert_eq!(s.call("GET", &format!("/Users/{id}"), None).await.status, 200);
    assert_eq!(s.raw("GET", "/scim/v2/fabrikam.example/Users", Some(&other_token), None, &[]).await.body["totalResults"], 0);
    assert_eq!(s.raw("GET", &format!("/scim/v2/{}/Users", other.id), Some(&other_token), None, &[]).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_get_413() {
    let s = Server::with(Config { max_body_bytes: 1024, rate_per_second: 0, rate_burst: 0, access: None, console: None }).await;
    let mut body = user("big@contoso.example");
    body["displayName"] = json!("x".repeat(2000));
    let r = s.call("POST", "/Users", Some(&body)).await;
    assert_eq!(r.error(), (413, Some("tooLarge".into()), "too_large".into()));
    assert_eq!(s.call("GET", "/Users", None).await.body["totalResults"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_limit_answers_429_with_retry_after() {
    let s = Server::with(Config { max_body_bytes: 1 << 20, rate_per_second: 1, rate_burst: 3, access: None, console: None }).await;
    let statuses: Vec<u16> = {
        let mut v = Vec::new();
        for _ in 0..5 {
            v.push(s.call("GET", "/ServiceProviderConfig", None).await.status);
        }
        v
    };
    assert_eq!(&statuses[..3], &[200, 200, 200]);
    let r = s.call("GET", "/ServiceProviderConfig", None).await;
    assert_eq!(r.error(), (429, None, "rate_limited".into()));
    assert_eq!(r.header("retry-after"), Some("1"));
    // Another token has its own bucket.
    let other = token_for(s.store.as_ref(), &s.tenant).await;
    assert_eq!(s.raw("GET", "/scim/v2/contoso.example/ServiceProviderConfig", Some(&other), None, &[]).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_me_bulk_and_unknown_paths() {
    let s = Server::start().await;
    let spc = s.call("GET", "/ServiceProviderConfig", None).await;
    assert_eq!(spc.status, 200);
    assert_eq!(spc.header("content-type"), Some("application/scim+json"));
    assert_eq!((spc.body["patch"]["supported"].clone(), spc.body["etag"]["supported"].clone()), (json!(true), json!(true)));
    assert_eq!(s.call("GET", "/ResourceTypes", None).await.body["totalResults"], 2);
    assert_eq!(
        s.call("GET", "/ResourceTypes/User", None).await.body["schemaExtensions"][0]["schema"],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    );
    assert_eq!(s.call("GET", "/Schemas", None).await.body["totalResults"], 4, "core User, enterprise, directory extensions, Group");
    assert_eq!(s.call("GET", "/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group", None).await.body["name"], "Group");
    assert_eq!(s.call("GET", "/Schemas/nope", None).await.error().0, 404);
    for m in ["POST", "PUT", "PATCH", "DELETE"] {
        assert_eq!(s.call(m, "/ServiceProviderConfig", None).await.error(), (405, None, "method_not_allowed".into()));
        assert_eq!(s.call(m, "/Schemas", None).await.status, 405);
    }
    assert_eq!(s.call("GET", "/Me", None).await.error(), (501, None, "not_implemented".into()));
    let r = s.call("GET", "/0b7f1c2e-0000-4000-8000-000000000000", None).await;
    assert_eq!(r.error(), (404, None, "not_found".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_on_scim_readers_read_admin_and_scim_tokens_write() {
    use tenantsync_store::TokenRole;
    let s = Server::start().await;
    let token = |role: TokenRole| {
        let issued = tenantsync_server::auth::issue(s.tenant.id, format!("{role:?}"), role, None).unwrap();
        let store = s.store.clone();
        async move {
            store.create_token(issued.record).await.unwrap();
            issued.token
        }
    };
    let (reader, admin) = (token(TokenRole::Reader).await, token(TokenRole::Admin).await);
    let alice = s.create_user(user("alice@contoso.example")).await;
    let id = alice["id"].as_str().unwrap();
    let base = "/scim/v2/contoso.example";
    // Reads, `.search` included, are for every role.
    for (method, path, body) in [
        ("GET", format!("{base}/Users"), None),
        ("GET", format!("{base}/Users/{id}"), None),
        ("POST", format!("{base}/Users/.search"), Some(json!({"filter": "userName sw \"a\""}))),
        ("POST", format!("{base}/.search"), Some(json!({}))),
        ("GET", format!("{base}/Schemas"), None),
    ] {
        for t in [&reader, &admin, &s.token] {
            let r = s.raw(method, &path, Some(t), body.as_ref().map(|b| b.to_string()).as_deref(), &[]).await;
            assert_eq!(r.status, 200, "{method} {path}: {}", r.body);
        }
    }
    // Writes: a reader gets SCIM's 403 and nothing changes.
    let bulk = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [
        {"method": "POST", "path": "/Users", "bulkId": "b", "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bulk@contoso.example"}}]});
    let writes = [
        ("POST", format!("{base}/Users"), Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bob@contoso.example"}))),
        (
            "PATCH",
            format!("{base}/Users/{id}"),
            Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "title", "value": "x"}]})),
        ),
        (
            "PUT",
            format!("{base}/Users/{id}"),
            Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "alice@contoso.example", "title": "y"})),
        ),
        ("POST", format!("{base}/Bulk"), Some(bulk)),
        ("DELETE", format!("{base}/Users/{id}"), None),
    ];
    for (method, path, body) in &writes {
        let r = s.raw(method, path, Some(&reader), body.as_ref().map(|b| b.to_string()).as_deref(), &[]).await;
        assert_eq!(r.error(), (403, None, "forbidden".into()), "{method} {path}: {}", r.body);
        assert_eq!(r.body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error");
        assert_eq!(r.body["status"], "403");
    }
    let now = s.call("GET", &format!("/Users/{id}"), None).await;
    assert_eq!((now.body["meta"]["version"].clone(), now.body.get("title")), (alice["meta"]["version"].clone(), None), "the reader wrote nothing");
    assert_eq!(s.call("GET", "/Users", None).await.body["totalResults"], 1);
    // Admin and SCIM tokens write.
    for t in [&admin, &s.token] {
        for (method, path, body) in &writes[..4] {
            let r = s.raw(method, path, Some(t), body.as_ref().map(|b| b.to_string()).as_deref(), &[]).await;
            assert!(r.status < 300 || r.status == 409, "{method} {path}: {} {}", r.status, r.body);
        }
    }
    assert_eq!(s.raw("DELETE", &format!("{base}/Users/{id}"), Some(&admin), None, &[]).await.status, 204);
}
