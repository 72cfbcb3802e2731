//! POST /Bulk: bulkId references, per-operation results, failOnErrors, limits.
use crate::support::*;
use serde_json::{Value, json};

fn bulk(ops: Value, fail_on_errors: Option<u64>) -> Value {
    let mut b = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops });
    if let Some(n) = fail_on_errors {
        b["failOnErrors"] = json!(n);
    }
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_ids_link_operations_and_each_gets_a_result() {
    let s = Server::start().await;
    let ops = json!([
        { "method": "POST", "path": "/Users", "bulkId": "u1", "data": { "userName": "alice@contoso.example" } },
        { "method": "POST", "path": "/Groups", "bulkId": "g1", "data": { "displayName": "Sales", "members": [{ "value": "bulkId:u1" }] } },
        { "method": "PATCH", "path": "/Users/bulkId:u1", "version": "W/\"1\"", "data": {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{ "op": "replace", "path": "title", "value": "Lead" }] } },
        { "method": "POST", "path": "/Users", "bulkId": "dup", "data": { "userName": "alice@contoso.example" } },
        { "method": "DELETE", "path": "/Users/bulkId:nope" },
        { "method": "PUT", "path": "/Users/bulkId:u1", "version": "W/\"1\"", "data": { "userName": "alice@contoso.example" } },
    ]);
    let r = s.call("POST", "/Bulk", Some(&bulk(ops, None))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:BulkResponse");
    let res = r.body["Operations"].as_array().unwrap();
    let statuses: Vec<&str> = res.iter().map(|o| o["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["201", "201", "200", "409", "409", "412"]);
    assert_eq!(res[0]["bulkId"], "u1");
    assert!(res[0]["location"].as_str().unwrap().contains("/Users/"));
    assert_eq!(res[0]["version"], "W/\"1\"");
    assert_eq!(res[2]["version"], "W/\"2\"");
    assert_eq!(res[3]["response"]["scimType"], "uniqueness");
    assert!(res[4]["response"]["detail"].as_str().unwrap().contains("nope"));
    let user_id = res[0]["location"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    let u = s.call("GET", &format!("/Users/{user_id}"), None).await.body;
    assert_eq!(u["title"], "Lead");
    let g = s.call("GET", res[1]["location"].as_str().unwrap().split("/scim/v2/contoso.example").nth(1).unwrap(), None).await.body;
    assert_eq!(g["members"][0]["value"], user_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_on_errors_stops_and_limits_hold() {
    let s = Server::start().await;
    let ops = json!([
        { "method": "POST", "path": "/Users", "bulkId": "a", "data": { "displayName": "no userName" } },
        { "method": "GET", "path": "/Users" },
        { "method": "POST", "path": "/Users", "bulkId": "c", "data": { "userName": "c@contoso.example" } },
    ]);
    let r = s.call("POST", "/Bulk", Some(&bulk(ops, Some(2)))).await;
    let statuses: Vec<&str> = r.body["Operations"].as_array().unwrap().iter().map(|o| o["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["400", "400"], "stopped after two errors");
    assert_eq!(s.call("GET", "/Users", None).await.body["totalResults"], 0);

    let many: Vec<Value> = (0..1001).map(|i| json!({ "method": "DELETE", "path": format!("/Users/{i}") })).collect();
    let r = s.call("POST", "/Bulk", Some(&bulk(Value::Array(many), None))).await;
    assert_eq!(r.error().0, 413);
    let r = s.call("POST", "/Bulk", Some(&json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [] }))).await;
    assert_eq!(r.error().1.as_deref(), Some("invalidSyntax"));
    let r = s.call("POST", "/Bulk", Some(&bulk(json!([{ "method": "POST", "path": "/Schemas", "bulkId": "x", "data": {} }]), None))).await;
    assert_eq!(r.body["Operations"][0]["response"]["scimType"], "invalidPath");
    let spc = s.call("GET", "/ServiceProviderConfig", None).await.body;
    assert_eq!((spc["bulk"]["supported"].clone(), spc["bulk"]["maxOperations"].clone()), (json!(true), json!(1000)));
}

/// RFC 7644 §3.7.2: an operation may name a bulkId a later POST defines; it waits for
/// that POST. Operations referencing each other in a cycle (and what waits on them) fail
/// with 409; the rest of the request runs. Results come back in request order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forward_references_resolve_and_cycles_fail_alone() {
    let s = Server::start().await;
    let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let ops = json!([
        // The group names a user defined two operations later.
        { "method": "POST", "path": "/Groups", "bulkId": "g1", "data": { "displayName": "Sales", "members": [{ "value": "bulkId:u2" }] } },
        // A PATCH of a user created later.
        { "method": "PATCH", "path": "/Users/bulkId:u2", "data": {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{ "op": "replace", "path": "title", "value": "Lead" }] } },
        // u2's manager is u3, defined last: a chain of forward references.
        { "method": "POST", "path": "/Users", "bulkId": "u2", "data": { "userName": "bob@contoso.example", ent: { "manager": { "value": "bulkId:u3" } } } },
        // a ↔ b: a cycle; c waits on it; self refers to itself.
        { "method": "POST", "path": "/Users", "bulkId": "a", "data": { "userName": "a@contoso.example", ent: { "manager": { "value": "bulkId:b" } } } },
        { "method": "POST", "path": "/Users", "bulkId": "b", "data": { "userName": "b@contoso.example", ent: { "manager": { "value": "bulkId:a" } } } },
        { "method": "POST", "path": "/Groups", "bulkId": "c", "data": { "displayName": "Waits", "members": [{ "value": "bulkId:a" }] } },
        { "method": "POST", "path": "/Users", "bulkId": "self", "data": { "userName": "s@contoso.example", ent: { "manager": { "value": "bulkId:self" } } } },
        { "method": "POST", "path": "/Users", "bulkId": "u3", "data": { "userName": "carol@contoso.example" } },
    ]);
    let r = s.call("POST", "/Bulk", Some(&bulk(ops, None))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let res = r.body["Operations"].as_array().unwrap();
    let got: Vec<(&str, &str)> = res.iter().map(|o| (o["bulkId"].as_str().unwrap_or("-"), o["status"].as_str().unwrap())).collect();
    assert_eq!(got, [("g1", "201"), ("-", "200"), ("u2", "201"), ("a", "409"), ("b", "409"), ("c", "409"), ("self", "409"), ("u3", "201")]);
    for o in &res[3..7] {
        assert!(o["response"]["detail"].as_str().unwrap().contains("[circular_bulk_reference]"), "{o}");
        assert!(o.get("location").is_none());
    }
    let id = |i: usize| res[i]["location"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    let bob = s.call("GET", &format!("/Users/{}", id(2)), None).await.body;
    assert_eq!((bob["title"].as_str(), bob[ent]["manager"]["value"].as_str()), (Some("Lead"), Some(id(7).as_str())));
    let g = s.call("GET", &format!("/Groups/{}", id(0)), None).await.body;
    assert_eq!(g["members"][0]["value"], id(2));
    // Nothing of the cycle was written.
    assert_eq!(s.call("GET", "/Users", None).await.body["totalResults"], 2);
    assert_eq!(s.call("GET", "/Groups", None).await.body["totalResults"], 1);
}
