//! Groups: create with members, PATCH members in Entra's and Okta's shapes, PUT, filters
//! on members, delete.
use crate::support::*;
use serde_json::{Value, json};

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
        ids.push(
            s.create_user(json!({ "userName": format!("{n}@contoso.example"), "displayName": n.to_uppercase() })).await["id"].as_str().unwrap().to_owned(),
        );
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
        (
            json!([{ "op": "remove", "path": format!("members[value eq \"{}\"]", ids[2]) }, { "op": "add", "path": "members", "value": [{ "value": ids[2] }] }, { "op": "add", "path": "members", "value": [{ "value": ids[2] }] }]),
            vec![2],
        ),
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
    let r = s
        .call("PATCH", &path, Some(&patch(json!([{ "op": "add", "path": "members", "value": [{ "value": tenantsync_domain::ObjectId::new().to_string() }] }]))))
        .await;
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
    let g1 = s.call("POST", "/Groups", Some(&json!({ "displayName": "Sales", "externalId": "G-1", "members": [{ "value": a }] }))).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
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

/// RFC 7643 §4.1.2: a user's `groups` (direct memberships) is returned with the user,
/// honours attributes/excludedAttributes, filters in the store, is listed in /Schemas and
/// is read-only (ignored on POST/PUT, 400 mutability on PATCH).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_groups_attribute() {
    let s = Server::start().await;
    let id = |v: &Value| v["id"].as_str().unwrap().to_owned();
    let a = id(&s.create_user(json!({ "userName": "a@contoso.example", "displayName": "Alice", "groups": [{ "value": "ignored" }] })).await);
    let b = id(&s.create_user(json!({ "userName": "b@contoso.example" })).await);
    let c = id(&s.create_user(json!({ "userName": "c@contoso.example" })).await);
    let sales = id(&s.call("POST", "/Groups", Some(&json!({ "displayName": "Sales", "members": [{ "value": a }, { "value": b }] }))).await.body);
    let ops = id(&s.call("POST", "/Groups", Some(&json!({ "displayName": "Ops", "members": [{ "value": a }] }))).await.body);
    let gone = id(&s.call("POST", "/Groups", Some(&json!({ "displayName": "Gone", "members": [{ "value": a }] }))).await.body);
    assert_eq!(s.call("DELETE", &format!("/Groups/{gone}"), None).await.status, 204);

    let u = s.call("GET", &format!("/Users/{a}"), None).await.body;
    let base = format!("http://{}/scim/v2/contoso.example", s.addr);
    assert_eq!(
        u["groups"],
        json!([
            { "value": ops, "$ref": format!("{base}/Groups/{ops}"), "display": "Ops", "type": "direct" },
            { "value": sales, "$ref": format!("{base}/Groups/{sales}"), "display": "Sales", "type": "direct" },
        ]),
        "live groups by name; the soft-deleted one is gone"
    );
    assert!(s.call("GET", &format!("/Users/{c}"), None).await.body.get("groups").is_none(), "no groups: no attribute");
    let u = s.call("GET", &format!("/Users/{a}?attributes=userName"), None).await.body;
    assert!(u.get("groups").is_none());
    let u = s.call("GET", &format!("/Users/{a}?attributes=groups.display"), None).await.body;
    assert_eq!(u["groups"], json!([{ "display": "Ops" }, { "display": "Sales" }]));
    let u = s.call("GET", &format!("/Users/{a}?excludedAttributes=groups"), None).await.body;
    assert!(u.get("groups").is_none() && u.get("userName").is_some());
    // Listing: every user of the page with its own groups.
    let list = s.call("GET", "/Users?sortBy=userName", None).await.body;
    let counts: Vec<usize> = list["Resources"].as_array().unwrap().iter().map(|u| u["groups"].as_array().map_or(0, Vec::len)).collect();
    assert_eq!(counts, [2, 1, 0]);
    // Filters.
    let names = |r: &Value| -> Vec<String> {
        r["Resources"].as_array().unwrap().iter().map(|u| u["userName"].as_str().unwrap().split('@').next().unwrap().to_owned()).collect()
    };
    for (filter, expected) in [
        (format!(r#"groups.value eq "{sales}""#), vec!["a", "b"]),
        (format!(r#"groups[value eq "{ops}"]"#), vec!["a"]),
        (format!(r#"groups[value eq "{ops}" and type eq "direct"]"#), vec!["a"]),
        (format!(r#"groups[value eq "{ops}" and type eq "indirect"]"#), vec![]),
        (format!(r#"groups eq "{gone}""#), vec![]),
        (format!(r#"not (groups.value eq "{sales}")"#), vec!["c"]),
        ("groups pr".to_owned(), vec!["a", "b"]),
        (r#"groups.value eq "not-an-id""#.to_owned(), vec![]),
        // By the groups' names (live groups only), case-insensitively; in brackets, every
        // test holds for the same group.
        (r#"groups.display eq "sales""#.to_owned(), vec!["a", "b"]),
        (r#"groups.display sw "O""#.to_owned(), vec!["a"]),
        (r#"groups.display eq "Gone""#.to_owned(), vec![]),
        (r#"groups.display ne "Ops""#.to_owned(), vec!["b", "c"]),
        (format!(r#"groups[display eq "Ops" and value eq "{ops}"]"#), vec!["a"]),
        (format!(r#"groups[display eq "Sales" and value eq "{ops}"]"#), vec![]),
        (r#"groups[not (display eq "Sales")]"#.to_owned(), vec!["a"]),
        (r#"groups[display co "e" or display eq "Ops"]"#.to_owned(), vec!["a", "b"]),
    ] {
        let r = s.call("GET", &format!("/Users?sortBy=userName&filter={}", q(&filter)), None).await;
        assert_eq!(r.status, 200, "{filter}: {}", r.body);
        assert_eq!(names(&r.body), expected, "{filter}");
    }
    let r = s.call("GET", &format!("/Users?filter={}", q(r#"groups.nickname eq "Sales""#)), None).await;
    assert_eq!(r.error().1.as_deref(), Some("invalidFilter"));
    // Groups by their members' names, the same way.
    let groups = |f: &str| {
        let (s, f) = (&s, f.to_owned());
        async move {
            let r = s.call("GET", &format!("/Groups?sortBy=displayName&excludedAttributes=members&filter={}", q(&f)), None).await;
            assert_eq!(r.status, 200, "{f}: {}", r.body);
            r.body["Resources"].as_array().unwrap().iter().map(|g| g["displayName"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
        }
    };
    assert_eq!(groups(r#"members.display eq "ALICE""#).await, ["Ops", "Sales"]);
    assert_eq!(groups(r#"members[display sw "al"]"#).await, ["Ops", "Sales"]);
    assert_eq!(groups(&format!(r#"members[display eq "Alice" and value eq "{b}"]"#)).await, Vec::<String>::new());
    assert_eq!(groups(r#"not (members.display pr)"#).await, Vec::<String>::new());
    // Read-only.
    for op in [
        json!({ "op": "add", "path": "groups", "value": [{ "value": ops }] }),
        json!({ "op": "remove", "path": format!("groups[value eq \"{sales}\"]") }),
        json!({ "op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:groups", "value": [] }),
        json!({ "op": "replace", "value": { "Groups": [] } }),
    ] {
        let r = s.call("PATCH", &format!("/Users/{b}"), Some(&patch(json!([op.clone()])))).await;
        assert_eq!(r.error(), (400, Some("mutability".into()), "read_only_attribute".into()), "{op}");
    }
    let r = s.call("PUT", &format!("/Users/{b}"), Some(&json!({ "userName": "b@contoso.example", "title": "T", "groups": [] }))).await;
    assert_eq!((r.status, r.body["groups"][0]["value"].as_str()), (200, Some(sales.as_str())), "PUT ignores groups");
    let schema = s.call("GET", "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", None).await.body;
    let g = schema["attributes"].as_array().unwrap().iter().find(|a| a["name"] == "groups").unwrap().clone();
    assert_eq!((g["mutability"].as_str(), g["multiValued"].as_bool()), (Some("readOnly"), Some(true)));
}
