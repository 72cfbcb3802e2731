//! POST /Bulk: bulkId references, per-operation results, failOnErrors, limits.
use crate::support::*;
use serde_json::{json, Value};

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
