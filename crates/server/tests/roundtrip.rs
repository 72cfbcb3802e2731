//! What a client writes is what it reads back, so clients that compare the two (Entra,
//! Okta) see no change on the next pass: userName in full (issue A), a userName freed by a
//! deleted user (issue B), an e-mail added over an existing one (issue C).
use crate::support::*;
use serde_json::{Value, json};
use tenantsync_domain::ObjectId;

fn ids(list: &Value) -> Vec<String> {
    list["Resources"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap().to_owned()).collect()
}

/// Issue A: `someone@<initial domain>` comes back as written from POST, GET, a list, a
/// filter, PUT and PATCH; so does a bare name (the user of the initial domain).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_names_come_back_as_written() {
    let s = Server::start().await;
    let created = s.create_user(user("someone@contoso.example")).await;
    assert_eq!(created["userName"], "someone@contoso.example");
    let id = created["id"].as_str().unwrap().to_owned();
    let path = format!("/Users/{id}");
    assert_eq!(s.call("GET", &path, None).await.body["userName"], "someone@contoso.example");
    assert_eq!(s.call("GET", "/Users", None).await.body["Resources"][0]["userName"], "someone@contoso.example");
    for filter in [r#"userName eq "someone@contoso.example""#, r#"userName eq "someone""#, r#"userName sw "someone@""#] {
        let r = s.call("GET", &format!("/Users?filter={}", q(filter)), None).await;
        assert_eq!((r.body["totalResults"].clone(), r.body["Resources"][0]["userName"].clone()), (json!(1), json!("someone@contoso.example")), "{filter}");
    }
    let r = s.call("POST", "/Users/.search", Some(&json!({ "filter": "userName eq \"someone@contoso.example\"" }))).await;
    assert_eq!(r.body["Resources"][0]["userName"], "someone@contoso.example");
    let r = s.call("PATCH", &path, Some(&patch(json!([{ "op": "replace", "path": "title", "value": "T" }])))).await;
    assert_eq!((r.status, r.body["userName"].clone()), (200, json!("someone@contoso.example")));
    let r = s.call("PUT", &path, Some(&json!({ "userName": "someone@contoso.example", "title": "U" }))).await;
    assert_eq!((r.status, r.body["userName"].clone()), (200, json!("someone@contoso.example")));
    let r = s.call("PATCH", &path, Some(&patch(json!([{ "op": "replace", "path": "userName", "value": "renamed@contoso.example" }])))).await;
    assert_eq!(r.body["userName"], "renamed@contoso.example");
    // A bare name is the user in the initial domain, and comes back bare, found by
    // either spelling.
    let bob = s.create_user(user("bob")).await;
    assert_eq!(bob["userName"], "bob");
    let bob_path = format!("/Users/{}", bob["id"].as_str().unwrap());
    assert_eq!(s.call("GET", &bob_path, None).await.body["userName"], "bob");
    for filter in [r#"userName eq "bob""#, r#"userName eq "BOB@contoso.example""#] {
        let r = s.call("GET", &format!("/Users?filter={}", q(filter)), None).await;
        assert_eq!(r.body["Resources"][0]["userName"], "bob", "{filter}");
    }
    let r = s.call("PATCH", &bob_path, Some(&patch(json!([{ "op": "replace", "path": "title", "value": "T" }])))).await;
    assert_eq!(r.body["userName"], "bob");
    let stored = s.store.get_user(s.tenant.id, bob["id"].as_str().unwrap().parse().unwrap()).await.unwrap();
    assert_eq!(stored.attrs.user_principal_name.as_str(), "bob@contoso.example");
    // Written in full, it comes back in full; bare again, bare; the version follows only
    // real changes.
    let r = s.call("PUT", &bob_path, Some(&json!({ "userName": "bob@contoso.example", "title": "T" }))).await;
    assert_eq!((r.body["userName"].clone(), r.body["meta"]["version"].clone()), (json!("bob@contoso.example"), json!("W/\"2\"")));
    let r = s.call("PATCH", &bob_path, Some(&patch(json!([{ "op": "replace", "path": "userName", "value": "bob" }])))).await;
    assert_eq!(r.body["userName"], "bob");
    // Another domain is always in full.
    assert_eq!(s.create_user(user("eve@fabrikam.example")).await["userName"], "eve@fabrikam.example");
}

/// Issue B, Entra's sequence: create, delete, look up (0), create again (201), look up (1).
/// The deleted user gives its userName up (Entra's form for deleted users, the id before
/// the name) and gets it back on restore when it is still free.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_users_name_does_not_block_a_create() {
    let s = Server::start().await;
    let lookup = format!("/Users?filter={}", q(r#"userName eq "ann@contoso.example""#));
    let first = s.create_user(json!({ "userName": "ann@contoso.example", "externalId": "E-1" })).await;
    let old: ObjectId = first["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(s.call("DELETE", &format!("/Users/{old}"), None).await.status, 204);
    assert_eq!(s.call("GET", &lookup, None).await.body["totalResults"], 0);
    let r = s.call("POST", "/Users", Some(&json!({ "userName": "ann@contoso.example", "externalId": "E-1" }))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let new = r.body["id"].as_str().unwrap().to_owned();
    assert_ne!(new, old.to_string(), "a new user, not the deleted one");
    let found = s.call("GET", &lookup, None).await.body;
    assert_eq!((found["totalResults"].clone(), ids(&found)), (json!(1), vec![new.clone()]));
    let gone = s.store.get_user(s.tenant.id, old).await.unwrap();
    assert!(gone.is_deleted());
    assert_eq!(gone.attrs.user_principal_name.as_str(), format!("{}ann@contoso.example", old.as_uuid().simple()));
    // A live holder still makes a 409; so does a rename onto it.
    assert_eq!(s.call("POST", "/Users", Some(&user("ANN@contoso.example"))).await.error(), (409, Some("uniqueness".into()), "upn_conflict".into()));
    // A rename onto a name a deleted user holds frees it the same way.
    let carl = s.create_user(user("carl@contoso.example")).await["id"].as_str().unwrap().to_owned();
    assert_eq!(s.call("DELETE", &format!("/Users/{carl}"), None).await.status, 204);
    let r = s.call("PATCH", &format!("/Users/{new}"), Some(&patch(json!([{ "op": "replace", "path": "userName", "value": "carl@contoso.example" }])))).await;
    assert_eq!((r.status, r.body["userName"].clone()), (200, json!("carl@contoso.example")), "{}", r.body);
    // Restore gives the first user its name back, now free again.
    let restored = s.store.apply_one(s.tenant.id, tenantsync_store::WriteOp::RestoreUser { id: old, if_match: None }).await.unwrap().into_user().unwrap();
    assert_eq!(restored.attrs.user_principal_name.as_str(), "ann@contoso.example");
    // Bulk creates go the same way.
    assert_eq!(s.call("DELETE", &format!("/Users/{old}"), None).await.status, 204);
    let bulk = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [
        { "method": "POST", "path": "/Users", "bulkId": "a", "data": { "userName": "ann@contoso.example" } } ] });
    assert_eq!(s.call("POST", "/Bulk", Some(&bulk)).await.body["Operations"][0]["status"], "201");
}

/// Issue C: the directory keeps one mail; adding one replaces it (RFC 7644 §3.5.2.1 lets
/// a provider that keeps one value replace it), in every shape Entra and Okta send.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adding_an_email_replaces_the_one_kept() {
    let s = Server::start().await;
    let u = s.create_user(json!({ "userName": "a@contoso.example", "emails": [{ "value": "old@contoso.example", "type": "work", "primary": true }] })).await;
    let path = format!("/Users/{}", u["id"].as_str().unwrap());
    let steps = [
        (json!([{ "op": "add", "path": "emails", "value": [{ "value": "new@contoso.example", "type": "work" }] }]), "new@contoso.example"),
        (json!([{ "op": "add", "path": "emails", "value": [{ "value": "untyped@contoso.example", "primary": true }] }]), "untyped@contoso.example"),
        (json!([{ "op": "add", "value": { "emails": [{ "value": "okta@contoso.example", "type": "work" }] } }]), "okta@contoso.example"),
        (json!([{ "op": "add", "path": "emails[type eq \"work\"].value", "value": "entra@contoso.example" }]), "entra@contoso.example"),
    ];
    for (ops, mail) in steps {
        let r = s.call("PATCH", &path, Some(&patch(ops.clone()))).await;
        assert_eq!(r.status, 200, "{ops}: {}", r.body);
        assert_eq!(r.body["emails"], json!([{ "value": mail, "type": "work" }]), "{ops}");
        assert_eq!(s.call("GET", &path, None).await.body["emails"], json!([{ "value": mail, "type": "work" }]), "{ops}");
    }
    // A second address of another type cannot be kept: refused, not dropped.
    let r = s.call("PATCH", &path, Some(&patch(json!([{ "op": "add", "path": "emails", "value": [{ "value": "h@x.example", "type": "home" }] }])))).await;
    assert_eq!(r.error().0, 400, "{}", r.body);
    assert!(r.body["detail"].as_str().unwrap().contains("emails"), "{}", r.body);
    // Phone numbers: one per type; an add replaces that type's number only.
    let r = s
        .call(
            "PATCH",
            &path,
            Some(&patch(
                json!([{ "op": "add", "path": "phoneNumbers", "value": [{ "value": "+47 1", "type": "work" }, { "value": "+47 2", "type": "mobile" }] }]),
            )),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = s.call("PATCH", &path, Some(&patch(json!([{ "op": "add", "path": "phoneNumbers", "value": [{ "value": "+47 3", "type": "mobile" }] }])))).await;
    assert_eq!(r.body["phoneNumbers"], json!([{ "value": "+47 1", "type": "work" }, { "value": "+47 3", "type": "mobile" }]));
}
