//! Groups: create with members, PATCH members in Entra's and Okta's shapes, PUT, filters
//! on members, delete.
use crate::support::*;
use serde_json::{json, Value};

fn member_ids(g: &Value) -> Vec<String> {
    let mut v: Vec<String> = g["members"].as_array().map(|a| a.iter().map(|m| m["value"].as_str().unwrap().to_owned()).collect()).unwrap_or_default();
    v.sort();
    v
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_through_create_patch_and_put() {
    let s = Server::start().await;
    let mut ids = Vec::new();
    for n in ["a", "b", "c"] {
        ids.push(s.create_user(json!({ "userName": format!("{n}@contoso.example"), "displayName": n.to_uppercase() })).await["id"].as_str().unwrap().to_owned());
    }
    let r = s.call("POST", "/Groups", Some(&json!({ "displayName": "Sales", "externalId": "G-1", "members": [{ "value": ids[0] }] }))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let gid = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(member_ids(&r.body), [ids[0].clone()]);
    assert_eq!(r.body["members"][0]["display"], "A");
    let path = format!("/Groups/{gid}");

    // Entra: add members with a path; remove with a filtered path; Okta: replace without path.
    let steps = [
        (json!([{ "op": "Add", "path": "members", "value": [{ "value": ids[1] }, { "value": ids[0] }] }]), vec![0, 1]),
        (json!([{ "op": "Remove", "path": format!("members[value eq \"{}\"]", ids[0]) }]), vec![1]),
        (json!([{ "op": "remove", "path": "members", "value": [{ "value": ids[1] }] }]), vec![]),
        (json!([{ "op": "add", "value": { "members": [{ "value": ids[2] }], "displayName": "Sales EU" } }]), vec![2]),
        (json!([{ "op": "replace", "path": "members", "value": [{ "value": ids[0] }, { "value": ids[1] }] }]), vec![0, 1]),
        (json!([{ "op": "remove", "path": "members" }]), vec![]),
        // Removing a non-member and adding twice change nothing more.
        (json!([{ "op": "remove", "path": format!("members[value eq \"{}\"]", ids[2]) }, { "op": "add", "path": "members", "value": [{ "value": ids[2] }] }, { "op": "add", "path": "members", "value": [{ "value": ids[2] }] }]), vec![2]),
    ];
    for (ops, expected) in steps {
        let r = s.call("PATCH", &path, Some(&patch(ops.clone()))).await;
        assert_eq!(r.status, 200, "{ops}: {}", r.body);
        let want = sorted(expected.iter().map(|i: &usize| ids[*i].clone()).collect());
        assert_eq!(member_ids(&r.body), want, "{ops}");
        assert_eq!(member_ids(&s.call("GET", &path, None).await.body), want, "{ops}");
    }
    assert_eq!(s.call("GET", &path, None).await.body["displayName"], "Sales EU");
    // Okta renames with the id in the value; the id is read-only and ignored.
    let r = s.call("PATCH", &path, Some(&patch(json!([{ "op": "replace", "value": { "id": gid, "displayName": "Sales EMEA" } }])))).await;
    assert_eq!((r.status, r.body["displayName"].clone(), r.body["id"].clone()), (200, json!("Sales EMEA"), json!(gid)));
    let r = s.call("PATCH", &path, Some(&patch(json!([{ "op": "add", "path": "members", "value": [{ "value": tenantsync_domain::ObjectId::new().to_string() }] }])))).await;
    assert_eq!(r.error().1.as_deref(), Some("invalidValue"), "an unknown member is a bad value, not a missing group");

    let r = s.call("PUT", &path, Some(&json!({ "displayName": "Sales", "members": [{ "value": ids[0] }, { "value": ids[1] }] }))).await;
    assert_eq!((r.status, member_ids(&r.body)), (200, sorted(vec![ids[0].clone(), ids[1].clone()])));
    let r = s.call("GET", &format!("{path}?excludedAttributes=members"), None).await;
    assert!(r.body.get("members").is_none());
    assert_eq!(r.body["externalId"], json!(null), "PUT without externalId clears it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_filters_and_delete() {
    let s = Server::start().await;
    let a = s.create_user(user("a@contoso.example")).await["id"].as_str().unwrap().to_owned();
    let g1 = s.call("POST", "/Groups", Some(&json!({ "displayName": "Sales", "externalId": "G-1", "members": [{ "value": a }] }))).await.body["id"].as_str().unwrap().to_owned();
    let g2 = s.call("POST", "/Groups", Some(&json!({ "displayName": "Empty" }))).await.body["id"].as_str().unwrap().to_owned();
    let find = |f: String| {
        let s = &s;
        async move {
            let r = s.call("GET", &format!("/Groups?filter={}&excludedAttributes=members", q(&f)), None).await;
            assert_eq!(r.status, 200, "{f}: {}", r.body);
            r.body["Resources"].as_array().unwrap().iter().map(|g| g["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
        }
    };
    assert_eq!(find(r#"displayName eq "sales""#.into()).await, vec![g1.clone()]);
    assert_eq!(find(r#"externalId eq "G-1""#.into()).await, vec![g1.clone()]);
    assert_eq!(find(format!("members[value eq \"{a}\"]")).await, vec![g1.clone()]);
    assert_eq!(find(format!("members.value eq \"{a}\"")).await, vec![g1.clone()]);
    // Entra's membership probe.
    assert_eq!(find(format!("id eq \"{g2}\" and members[value eq \"{a}\"]")).await, Vec::<String>::new());
    assert_eq!(find(format!("id eq \"{g1}\" and members[value eq \"{a}\"]")).await, vec![g1.clone()]);
    assert_eq!(find("not (members pr)".into()).await, vec![g2.clone()]);
    assert_eq!(s.call("DELETE", &format!("/Groups/{g1}"), None).await.status, 204);
    assert_eq!(s.call("GET", &format!("/Groups/{g1}"), None).await.status, 404);
    assert_eq!(find(r#"displayName pr"#.into()).await, [g2]);
    assert_eq!(s.call("POST", "/Groups", Some(&json!({ "displayName": "" }))).await.status, 400);
}
