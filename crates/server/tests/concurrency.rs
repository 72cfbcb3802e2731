//! Concurrent writes to one object (issue G): changes that do not conflict all succeed,
//! serialized by the store's single writer; only an If-Match that no longer holds fails.
//! And listing totals kept by the store (issue E) stay right through every kind of write.
use crate::support::*;
use serde_json::json;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// At most this many requests of a test in flight at once: the test client opens a
/// connection per request, and a burst of hundreds of connects overflows the loopback
/// listener's accept queue on a loaded machine (connections reset before any request is
/// read). Clients keep pools of connections; this is one.
const IN_FLIGHT: usize = 48;

/// 400 concurrent add-member PATCHes on one group, through the real HTTP server: every
/// one succeeds and the group ends with 400 members.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_member_adds_all_succeed() {
    const N: usize = 400;
    let s = Arc::new(Server::start().await);
    let pool = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut users = Vec::with_capacity(N);
    for chunk in 0..N / 100 {
        let ops: Vec<_> = (0..100)
            .map(|i| json!({ "method": "POST", "path": "/Users", "bulkId": format!("u{i}"), "data": { "userName": format!("u{}@contoso.example", chunk * 100 + i) } }))
            .collect();
        let r = s.call("POST", "/Bulk", Some(&json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops }))).await;
        for op in r.body["Operations"].as_array().unwrap() {
            assert_eq!(op["status"], "201", "{op}");
            users.push(op["location"].as_str().unwrap().rsplit('/').next().unwrap().to_owned());
        }
    }
    let g = s.call("POST", "/Groups", Some(&json!({ "displayName": "Everyone" }))).await.body;
    let path = format!("/Groups/{}?excludedAttributes=members", g["id"].as_str().unwrap());
    let tasks: Vec<_> = users
        .iter()
        .map(|u| {
            let (s, path, pool) = (s.clone(), path.clone(), pool.clone());
            let body = patch(json!([{ "op": "add", "path": "members", "value": [{ "value": u }] }]));
            tokio::spawn(async move {
                let _slot = pool.acquire().await.unwrap();
                s.call("PATCH", &path, Some(&body)).await
            })
        })
        .collect();
    let mut failed = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        if r.status != 200 {
            failed.push(format!("{} {}", r.status, r.body));
        }
    }
    assert!(failed.is_empty(), "{} of {N} failed, first: {:?}", failed.len(), failed.first());
    let r = s.call("GET", &format!("/Users?count=0&filter={}", q(&format!("groups.value eq \"{}\"", g["id"].as_str().unwrap()))), None).await;
    assert_eq!(r.body["totalResults"], N);
    // Concurrent removes and adds of other members, and a rename, all land too.
    let gpath = format!("/Groups/{}", g["id"].as_str().unwrap());
    let mut tasks = Vec::new();
    for (i, u) in users.iter().take(50).enumerate() {
        let (s, p, pool) = (s.clone(), format!("{gpath}?excludedAttributes=members"), pool.clone());
        let body = if i == 0 {
            patch(json!([{ "op": "replace", "path": "displayName", "value": "All" }]))
        } else {
            patch(json!([{ "op": "remove", "path": format!("members[value eq \"{u}\"]") }]))
        };
        tasks.push(tokio::spawn(async move {
            let _slot = pool.acquire().await.unwrap();
            s.call("PATCH", &p, Some(&body)).await.status
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    let g = s.call("GET", &gpath, None).await.body;
    assert_eq!((g["displayName"].clone(), g["members"].as_array().unwrap().len()), (json!("All"), N - 49));
}

/// An If-Match that no longer holds is the one conflict (412); without it, PATCHes of
/// different attributes, and PATCHes adding to the same multi-valued attribute, all land.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn only_a_stale_if_match_conflicts() {
    const EXT: &str = "urn:ietf:params:scim:schemas:extension:tenantsync:2.0:User";
    const SK: &str = "extension_0123456789abcdef0123456789abcdef_skills";
    let s = Arc::new(Server::start().await);
    let u = s.create_user(user("a@contoso.example")).await;
    let path = format!("/Users/{}", u["id"].as_str().unwrap());
    let mut tasks = Vec::new();
    for i in 0..40 {
        let (s, path) = (s.clone(), path.clone());
        let body = patch(json!([{ "op": "add", "path": format!("{EXT}:{SK}"), "value": [format!("skill{i}")] }]));
        tasks.push(tokio::spawn(async move { s.call("PATCH", &path, Some(&body)).await }));
    }
    for (attr, value) in [("title", "T"), ("displayName", "D"), ("nickName", "n"), ("name.givenName", "G")] {
        let (s, path) = (s.clone(), path.clone());
        let body = patch(json!([{ "op": "replace", "path": attr, "value": value }]));
        tasks.push(tokio::spawn(async move { s.call("PATCH", &path, Some(&body)).await }));
    }
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let got = s.call("GET", &path, None).await.body;
    assert_eq!(got[EXT][SK].as_array().unwrap().len(), 40, "{got}");
    assert_eq!(
        (got["title"].clone(), got["displayName"].clone(), got["nickName"].clone(), got["name"]["givenName"].clone()),
        (json!("T"), json!("D"), json!("n"), json!("G"))
    );
    let stale = "W/\"1\"";
    let r = s.call_with("PATCH", &path, Some(&patch(json!([{ "op": "replace", "path": "title", "value": "X" }]))), &[("If-Match", stale)]).await;
    assert_eq!(r.error(), (412, None, "version_mismatch".into()));
    let g = s.call("POST", "/Groups", Some(&json!({ "displayName": "G" }))).await.body;
    let r = s
        .call_with(
            "PATCH",
            &format!("/Groups/{}", g["id"].as_str().unwrap()),
            Some(&patch(json!([{ "op": "add", "path": "members", "value": [{ "value": u["id"] }] }]))),
            &[("If-Match", "W/\"9\"")],
        )
        .await;
    assert_eq!(r.error(), (412, None, "version_mismatch".into()));
}

/// Issue E: the unfiltered `totalResults` (kept by the store, not counted) follows creates,
/// deletes, restores, purges and failed writes, for users and groups.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unfiltered_totals_follow_every_write() {
    let s = Server::start().await;
    let total = |p: &'static str| {
        let s = &s;
        async move { s.call("GET", &format!("{p}?count=1"), None).await.body["totalResults"].as_u64().unwrap() }
    };
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(s.create_user(user(&format!("u{i}@contoso.example"))).await["id"].as_str().unwrap().to_owned());
    }
    let g = s.call("POST", "/Groups", Some(&json!({ "displayName": "G" }))).await.body["id"].as_str().unwrap().to_owned();
    s.call("POST", "/Groups", Some(&json!({ "displayName": "H" }))).await;
    assert_eq!((total("/Users").await, total("/Groups").await), (5, 2));
    assert_eq!(s.call("POST", "/Users", Some(&user("u0@contoso.example"))).await.status, 409);
    assert_eq!(s.call("DELETE", &format!("/Users/{}", ids[0]), None).await.status, 204);
    assert_eq!(s.call("DELETE", &format!("/Users/{}", ids[0]), None).await.status, 404);
    assert_eq!(s.call("DELETE", &format!("/Groups/{g}"), None).await.status, 204);
    assert_eq!((total("/Users").await, total("/Groups").await), (4, 1));
    s.store.apply_one(s.tenant.id, tenantsync_store::WriteOp::RestoreUser { id: ids[0].parse().unwrap(), if_match: None }).await.unwrap();
    assert_eq!(total("/Users").await, 5);
    assert_eq!(s.call("DELETE", &format!("/Users/{}", ids[1]), None).await.status, 204);
    s.store.purge_deleted(s.tenant.id, s.store.clock().now() + jiff::SignedDuration::from_secs(1)).await.unwrap();
    assert_eq!((total("/Users").await, total("/Groups").await), (4, 1));
    let r = s.call("POST", "/.search", Some(&json!({ "count": 0 }))).await;
    assert_eq!(r.body["totalResults"], 5);
}
