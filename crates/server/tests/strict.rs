//! Strict requests (issue F): a PATCH on an unknown or read-only path, an unknown or
//! wrongly typed attribute, a bad SearchRequest or Bulk parameter is refused with 400
//! naming it, and a refused PATCH writes nothing. Paths as clients spell them (issue D).
use crate::support::*;
use serde_json::{Value, json};

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// The status, scimType and whether the detail names `what`.
fn refused(r: &Res, what: &str) -> (u16, Option<String>, bool) {
    (r.status, r.body["scimType"].as_str().map(str::to_owned), r.body["detail"].as_str().is_some_and(|d| d.contains(what)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patch_paths_must_exist_and_be_writable_and_a_refused_patch_writes_nothing() {
    let s = Server::start().await;
    let u = s.create_user(json!({ "userName": "a@contoso.example", "title": "T" })).await;
    let path = format!("/Users/{}", u["id"].as_str().unwrap());
    let g = s.call("POST", "/Groups", Some(&json!({ "displayName": "G" }))).await.body;
    let gpath = format!("/Groups/{}", g["id"].as_str().unwrap());
    let cases = [
        (&path, json!({ "op": "replace", "path": "favouriteColour", "value": "red" }), "invalidPath", "favouriteColour"),
        (&path, json!({ "op": "add", "path": "name.nickname", "value": "x" }), "invalidPath", "name.nickname"),
        (&path, json!({ "op": "remove", "path": "colour" }), "invalidPath", "colour"),
        (&path, json!({ "op": "replace", "path": format!("{ENT}:costCentre"), "value": "x" }), "invalidPath", "costCentre"),
        (&path, json!({ "op": "replace", "path": "urn:example:other:1.0:User:x", "value": "x" }), "invalidPath", "urn:example:other"),
        (&path, json!({ "op": "replace", "value": { "title": "U", "colour": "red" } }), "invalidPath", "colour"),
        (&path, json!({ "op": "replace", "path": "emails[type eq \"work\"].display", "value": "x" }), "invalidPath", "display"),
        (&path, json!({ "op": "replace", "path": "id", "value": "x" }), "mutability", "id"),
        (&path, json!({ "op": "replace", "path": "meta.created", "value": "2020-01-01T00:00:00Z" }), "mutability", "meta"),
        (&path, json!({ "op": "replace", "path": "name", "value": "x" }), "invalidValue", "name"),
        (&path, json!({ "op": "replace", "path": "emails", "value": "x" }), "invalidValue", "emails"),
        (&path, json!({ "op": "replace", "path": "title", "value": { "a": 1 } }), "invalidValue", "title"),
        (&gpath, json!({ "op": "replace", "path": "colour", "value": "red" }), "invalidPath", "colour"),
        (&gpath, json!({ "op": "replace", "path": "members[value eq \"x\"].display", "value": "x" }), "invalidPath", "members"),
        (&gpath, json!({ "op": "replace", "path": "meta.lastModified", "value": "x" }), "mutability", "meta"),
    ];
    for (p, op, scim_type, what) in cases {
        // The valid operation first: it must not be applied either.
        let other = if p == &path {
            json!({ "op": "replace", "path": "title", "value": "CHANGED" })
        } else {
            json!({ "op": "replace", "path": "displayName", "value": "CHANGED" })
        };
        let r = s.call("PATCH", p, Some(&patch(json!([other, op.clone()])))).await;
        assert_eq!(refused(&r, what), (400, Some(scim_type.to_owned()), true), "{op}: {}", r.body);
    }
    let u = s.call("GET", &path, None).await.body;
    assert_eq!((u["title"].clone(), u["meta"]["version"].clone()), (json!("T"), json!("W/\"1\"")), "nothing applied");
    let g = s.call("GET", &gpath, None).await.body;
    assert_eq!((g["displayName"].clone(), g["meta"]["version"].clone()), (json!("G"), json!("W/\"1\"")), "nothing applied");
    // A refused member makes the whole PATCH refused.
    let other = json!({ "op": "replace", "path": "displayName", "value": "CHANGED" });
    let bad = json!({ "op": "add", "path": "members", "value": [{ "value": tenantsync_domain::ObjectId::new().to_string() }] });
    assert_eq!(s.call("PATCH", &gpath, Some(&patch(json!([other, bad])))).await.status, 400);
    assert_eq!(s.call("GET", &gpath, None).await.body["displayName"], "G");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_and_wrongly_typed_attributes_are_refused_on_post_and_put() {
    let s = Server::start().await;
    let cases = [
        (json!({ "userName": "a@contoso.example", "name": "x" }), "name"),
        (json!({ "userName": "a@contoso.example", "colour": "red" }), "colour"),
        (json!({ "userName": "a@contoso.example", "name": { "givenName": "A", "middleName": "B" } }), "middleName"),
        (json!({ "userName": "a@contoso.example", "emails": [{ "value": "a@contoso.example", "type": "work", "display": "A" }] }), "display"),
        (json!({ "userName": "a@contoso.example", "emails": [{ "value": "a@contoso.example", "type": "home" }] }), "emails"),
        (json!({ "userName": "a@contoso.example", "phoneNumbers": [{ "value": "1", "type": "fax" }] }), "phoneNumbers"),
        (json!({ "userName": "a@contoso.example", "phoneNumbers": [{ "value": "1", "type": "work" }, { "value": "2", "type": "work" }] }), "phoneNumbers"),
        (json!({ "userName": "a@contoso.example", "addresses": [{ "type": "work", "formatted": "1 Main St" }] }), "formatted"),
        (json!({ "userName": "a@contoso.example", "title": ["x"] }), "title"),
        (json!({ "userName": "a@contoso.example", "active": { "x": 1 } }), "active"),
        (json!({ "userName": "a@contoso.example", ENT: { "costCentre": "x" } }), "costCentre"),
        (json!({ "userName": "a@contoso.example", ENT: "x" }), ENT),
        (json!({ "userName": "a@contoso.example", "urn:example:other:1.0:User": { "x": 1 } }), "urn:example:other:1.0:User"),
        (json!({ "userName": ["a@contoso.example"] }), "userName"),
    ];
    for (body, what) in &cases {
        let r = s.call("POST", "/Users", Some(body)).await;
        assert_eq!((r.status, r.body["detail"].as_str().is_some_and(|d| d.contains(what))), (400, true), "{body}: {}", r.body);
    }
    assert_eq!(s.call("GET", "/Users", None).await.body["totalResults"], 0);
    let u = s.create_user(user("a@contoso.example")).await;
    let path = format!("/Users/{}", u["id"].as_str().unwrap());
    for (body, what) in &cases {
        let r = s.call("PUT", &path, Some(body)).await;
        assert_eq!((r.status, r.body["detail"].as_str().is_some_and(|d| d.contains(what))), (400, true), "{body}: {}", r.body);
    }
    for (body, what) in [
        (json!({ "displayName": "G", "colour": "red" }), "colour"),
        (json!({ "displayName": { "x": 1 } }), "displayName"),
        (json!({ "displayName": "G", "members": [{ "value": u["id"], "colour": 1 }] }), "colour"),
    ] {
        let r = s.call("POST", "/Groups", Some(&body)).await;
        assert_eq!((r.status, r.body["detail"].as_str().is_some_and(|d| d.contains(what))), (400, true), "{body}: {}", r.body);
    }
    // What clients send back from a GET is accepted: read-only attributes are ignored.
    let mut got = s.call("GET", &path, None).await.body;
    got["title"] = json!("T");
    got["emails"] = json!([{ "value": "a@contoso.example", "type": "work", "primary": true }]);
    let r = s.call("PUT", &path, Some(&got)).await;
    assert_eq!((r.status, r.body["title"].clone()), (200, json!("T")), "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_list_search_and_bulk_parameters_are_refused() {
    let s = Server::start().await;
    s.create_user(user("a@contoso.example")).await;
    for (body, what) in [
        (json!({ "filter": 5 }), "filter"),
        (json!({ "filter": "" }), "filter"),
        (json!({ "filter": "  " }), "filter"),
        (json!({ "count": "ten" }), "count"),
        (json!({ "sortBy": 1 }), "sortBy"),
        (json!({ "attributes": 7 }), "attributes"),
        (json!({ "colour": "red" }), "colour"),
    ] {
        for endpoint in ["/Users/.search", "/.search"] {
            let r = s.call("POST", endpoint, Some(&body)).await;
            assert_eq!(refused(&r, what).0, 400, "{endpoint} {body}: {}", r.body);
            assert!(refused(&r, what).2, "{endpoint} {body}: {}", r.body);
        }
    }
    for query in ["filter=", "filter=%20", "filter=&count=1"] {
        let r = s.call("GET", &format!("/Users?{query}"), None).await;
        assert_eq!(refused(&r, "filter"), (400, Some("invalidFilter".into()), true), "{query}: {}", r.body);
    }
    let op = json!({ "method": "POST", "path": "/Users", "bulkId": "b", "data": { "userName": "b@contoso.example" } });
    for fail_on_errors in [json!("1"), json!(true), json!(-1), json!(1.5)] {
        let bulk = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "failOnErrors": fail_on_errors, "Operations": [op] });
        let r = s.call("POST", "/Bulk", Some(&bulk)).await;
        assert_eq!(refused(&r, "failOnErrors").0, 400, "{fail_on_errors}: {}", r.body);
        assert!(refused(&r, "failOnErrors").2, "{fail_on_errors}: {}", r.body);
    }
    assert_eq!(s.call("GET", "/Users", None).await.body["totalResults"], 1, "no bulk operation ran");
    // A date far in the future is a valid filter value.
    for filter in [r#"meta.lastModified gt "9999-12-31T23:59:59Z""#, r#"meta.created lt "9999-12-31T23:59:59Z""#, r#"meta.created gt "0001-01-01T00:00:00Z""#] {
        let r = s.call("GET", &format!("/Users?filter={}", q(filter)), None).await;
        assert_eq!(r.status, 200, "{filter}: {}", r.body);
        let expected = if filter.contains("lastModified gt") { 0 } else { 1 };
        assert_eq!(r.body["totalResults"], expected, "{filter}");
    }
}

/// Issue D: the resource type segment in any case and a trailing slash, as common SCIM
/// clients send them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_paths_in_any_case_and_with_a_trailing_slash() {
    let s = Server::start().await;
    let u = s.create_user(user("a@contoso.example")).await;
    let id = u["id"].as_str().unwrap();
    let filter = q(r#"userName eq "a@contoso.example""#);
    for p in [format!("/Users/?filter={filter}"), format!("/users?filter={filter}"), format!("/USERS/?filter={filter}")] {
        let r = s.call("GET", &p, None).await;
        assert_eq!((r.status, r.body["totalResults"].clone()), (200, json!(1)), "{p}: {}", r.body);
    }
    for p in [format!("/users/{id}"), format!("/Users/{id}/")] {
        assert_eq!(s.call("GET", &p, None).await.status, 200, "{p}");
    }
    let r = s.call("POST", "/users/", Some(&user("b@contoso.example"))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.header("location").unwrap().contains("/Users/"), "the Location is canonical");
    assert_eq!(s.call("POST", "/groups", Some(&json!({ "displayName": "G" }))).await.status, 201);
    assert_eq!(s.call("POST", "/users/.search", Some(&json!({ "count": 1 }))).await.status, 200);
    assert_eq!(s.call("GET", "/serviceproviderconfig", None).await.status, 200);
    assert_eq!(s.call("GET", "/Schemas/", None).await.status, 200);
    let bulk = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [
        { "method": "POST", "path": "/users", "bulkId": "c", "data": { "userName": "c@contoso.example" } } ] });
    assert_eq!(s.call("POST", "/bulk", Some(&bulk)).await.body["Operations"][0]["status"], "201");
    assert_eq!(s.call("GET", "/Nothing/", None).await.status, 404);
    let _: Value = s.call("GET", "/Users", None).await.body;
}
