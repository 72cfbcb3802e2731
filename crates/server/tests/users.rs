//! Users: create, read, replace, PATCH in Entra's and Okta's shapes, ETags, conflicts,
//! soft delete through the change feed, and concurrent PATCHes.
use crate::support::*;
use serde_json::{Value, json};
use tenantsync_domain::{ChangeCursor, ChangeOp, ObjectId};

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_maps_every_attribute_and_reads_back() {
    let s = Server::start().await;
    let boss = s.create_user(user("boss@contoso.example")).await;
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENT],
        "externalId": "EXT-1",
        "userName": "Alice@Fabrikam.example",
        "name": { "givenName": "Alice", "familyName": "Adams" },
        "displayName": "Alice Adams",
        "nickName": "alice",
        "title": "Engineer",
        "userType": "Guest",
        "preferredLanguage": "nb-NO",
        "active": "False",
        "emails": [{ "value": "alice@fabrikam.example", "type": "work", "primary": true }],
        "phoneNumbers": [{ "value": "+47 1", "type": "work" }, { "value": "+47 2", "type": "mobile" }],
        "addresses": [{ "type": "work", "streetAddress": "1 Main St", "locality": "Oslo", "region": "Oslo", "postalCode": "0150", "country": "NO" }],
        ENT: { "employeeNumber": "E-1", "organization": "Fabrikam", "department": "R&D", "manager": { "value": boss["id"] } },
    });
    let r = s.call("POST", "/Users", Some(&body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(r.header("etag"), Some("W/\"1\""));
    assert_eq!(r.header("location").unwrap(), format!("http://{}/scim/v2/contoso.example/Users/{id}", s.addr));
    let got = s.call("GET", &format!("/Users/{id}"), None).await;
    assert_eq!(got.status, 200);
    let u = &got.body;
    assert_eq!(u["userName"], "Alice@fabrikam.example", "the domain is lower-cased, the local part kept");
    assert_eq!((u["externalId"].clone(), u["active"].clone(), u["userType"].clone()), (json!("EXT-1"), json!(false), json!("Guest")));
    assert_eq!(u["name"], json!({ "givenName": "Alice", "familyName": "Adams" }));
    assert_eq!(u["emails"], json!([{ "value": "alice@fabrikam.example", "type": "work" }]));
    assert_eq!(u["phoneNumbers"], json!([{ "value": "+47 1", "type": "work" }, { "value": "+47 2", "type": "mobile" }]));
    assert_eq!(u["addresses"][0]["locality"], "Oslo");
    assert_eq!(u[ENT]["manager"]["value"], boss["id"]);
    assert_eq!((u[ENT]["employeeNumber"].clone(), u[ENT]["department"].clone()), (json!("E-1"), json!("R&D")));
    assert_eq!(u["meta"]["version"], "W/\"1\"");
    // The directory holds the Graph-named attributes.
    let stored = s.store.get_user(s.tenant.id, id.parse().unwrap()).await.unwrap();
    assert_eq!(stored.attrs.external_id.as_deref(), Some("EXT-1"));
    assert_eq!(stored.attrs.mobile_phone.as_deref(), Some("+47 2"));
    assert!(!stored.attrs.account_enabled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bare_user_names_live_in_the_initial_domain() {
    let s = Server::start().await;
    let u = s.create_user(user("bob")).await;
    assert_eq!(u["userName"], "bob", "given back as written");
    let stored = s.store.get_user(s.tenant.id, u["id"].as_str().unwrap().parse().unwrap()).await.unwrap();
    assert_eq!(stored.attrs.user_principal_name.as_str(), "bob@contoso.example");
    let found = s.call("GET", &format!("/Users?filter={}", q("userName eq \"BOB@contoso.example\"")), None).await;
    assert_eq!(found.body["totalResults"], 1);
    let found = s.call("GET", &format!("/Users?filter={}", q("userName eq \"Bob\"")), None).await;
    assert_eq!(found.body["totalResults"], 1);
    assert_eq!(s.call("POST", "/Users", Some(&user("bob@contoso.example"))).await.error(), (409, Some("uniqueness".into()), "upn_conflict".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bodies_are_400_with_scim_types() {
    let s = Server::start().await;
    let cases = [
        (json!({ "displayName": "no name" }), "invalidValue"),
        (json!({ "userName": "a@contoso.example", "active": "maybe" }), "invalidValue"),
        (json!({ "userName": "a@contoso.example", "emails": "x" }), "invalidValue"),
        (json!({ "userName": "a@contoso.example", "emails": [{ "value": "not a mail" }] }), "invalidValue"),
        (json!({ "userName": "a@contoso.example", ENT: { "manager": { "value": ObjectId::new().to_string() } } }), "invalidValue"),
        (json!([1, 2]), "invalidSyntax"),
    ];
    for (body, scim_type) in cases {
        let r = s.call("POST", "/Users", Some(&body)).await;
        assert_eq!((r.status, r.body["scimType"].as_str()), (400, Some(scim_type)), "{body}: {}", r.body);
    }
    let r = s.raw("POST", "/scim/v2/contoso.example/Users", Some(&s.token), Some("{not json"), &[]).await;
    assert_eq!(r.error().1.as_deref(), Some("invalidSyntax"));
    assert_eq!(s.call("GET", "/Users", None).await.body["totalResults"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_replaces_and_conflicts_are_409() {
    let s = Server::start().await;
    let a = s.create_user(json!({ "userName": "a@contoso.example", "title": "T", "displayName": "A" })).await;
    s.create_user(user("b@contoso.example")).await;
    let id = a["id"].as_str().unwrap();
    let r = s.call("PUT", &format!("/Users/{id}"), Some(&json!({ "userName": "a2@contoso.example", "displayName": "A2" }))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!((r.body["userName"].clone(), r.body["displayName"].clone(), r.body.get("title")), (json!("a2@contoso.example"), json!("A2"), None));
    assert_eq!(r.header("etag"), Some("W/\"2\""));
    let r = s.call("PUT", &format!("/Users/{id}"), Some(&user("B@contoso.example"))).await;
    assert_eq!(r.error(), (409, Some("uniqueness".into()), "upn_conflict".into()));
    let r = s.call("PUT", &format!("/Users/{}", ObjectId::new()), Some(&user("c@contoso.example"))).await;
    assert_eq!(r.error(), (404, None, "not_found".into()));
    assert_eq!(s.call("GET", "/Users/not-an-id", None).await.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etags_give_412_and_304() {
    let s = Server::start().await;
    let a = s.create_user(user("a@contoso.example")).await;
    let path = format!("/Users/{}", a["id"].as_str().unwrap());
    let body = patch(json!([{ "op": "replace", "path": "title", "value": "X" }]));
    let r = s.call_with("PATCH", &path, Some(&body), &[("If-Match", "W/\"7\"")]).await;
    assert_eq!(r.error(), (412, None, "version_mismatch".into()));
    let r = s.call_with("PATCH", &path, Some(&body), &[("If-Match", "W/\"1\"")]).await;
    assert_eq!((r.status, r.header("etag")), (200, Some("W/\"2\"")));
    let r = s.call_with("PUT", &path, Some(&user("a@contoso.example")), &[("If-Match", "W/\"1\"")]).await;
    assert_eq!(r.status, 412);
    assert_eq!(s.call_with("GET", &path, None, &[("If-None-Match", "W/\"2\"")]).await.status, 304);
    assert_eq!(s.call_with("GET", &path, None, &[("If-None-Match", "W/\"1\"")]).await.status, 200);
    assert_eq!(s.call_with("DELETE", &path, None, &[("If-Match", "W/\"1\"")]).await.status, 412);
    assert_eq!(s.call_with("DELETE", &path, None, &[("If-Match", "W/\"2\"")]).await.status, 204);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patch_in_entra_and_okta_shapes() {
    let s = Server::start().await;
    let boss = s.create_user(user("boss@contoso.example")).await;
    let a = s.create_user(json!({ "userName": "a@contoso.example", "emails": [{ "value": "a@contoso.example", "type": "work" }] })).await;
    let path = format!("/Users/{}", a["id"].as_str().unwrap());
    type Check = Box<dyn Fn(&Value)>;
    let steps: Vec<(Value, Check)> = vec![
        // Entra: capitalised ops, string booleans, filtered paths, URN paths, manager as a string.
        (
            json!([
                { "op": "Replace", "path": "active", "value": "False" },
                { "op": "Replace", "path": "emails[type eq \"work\"].value", "value": "new@contoso.example" },
                { "op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555" },
                { "op": "Add", "path": format!("{ENT}:department"), "value": "Ops" },
                { "op": "Add", "path": format!("{ENT}:manager"), "value": boss["id"] },
                { "op": "Replace", "path": "name.givenName", "value": "Ann" },
            ]),
            Box::new(|u: &Value| {
                assert_eq!(u["active"], false);
                assert_eq!(u["emails"][0]["value"], "new@contoso.example");
                assert_eq!(u["phoneNumbers"], json!([{ "value": "+1 555", "type": "mobile" }]));
                assert_eq!(u[ENT]["department"], "Ops");
                assert_eq!(u["name"]["givenName"], "Ann");
                assert!(u[ENT]["manager"]["value"].is_string());
            }),
        ),
        // Okta: no path, an object of attributes; the extension as an object.
        (
            json!([{ "op": "replace", "value": { "active": true, "displayName": "Ann A", "name.familyName": "A", ENT: { "organization": "Contoso" } } }]),
            Box::new(|u: &Value| {
                assert_eq!((u["active"].clone(), u["displayName"].clone(), u["name"]["familyName"].clone()), (json!(true), json!("Ann A"), json!("A")));
                assert_eq!((u[ENT]["organization"].clone(), u[ENT]["department"].clone()), (json!("Contoso"), json!("Ops")));
            }),
        ),
        // Removals: a manager, a filtered element, a plain attribute.
        (
            json!([
                { "op": "Remove", "path": format!("{ENT}:manager") },
                { "op": "remove", "path": "phoneNumbers[type eq \"mobile\"]" },
                { "op": "remove", "path": "displayName" },
            ]),
            Box::new(|u: &Value| {
                assert!(u[ENT].get("manager").is_none() && u.get("phoneNumbers").is_none() && u.get("displayName").is_none(), "{u}");
            }),
        ),
        // A filtered path as a key of a no-path value (Entra).
        (
            json!([{ "op": "replace", "value": { "emails[type eq \"work\"].value": "z@contoso.example" } }]),
            Box::new(|u: &Value| assert_eq!(u["emails"], json!([{ "value": "z@contoso.example", "type": "work" }]))),
        ),
        // Setting to null clears (Microsoft's validator).
        (json!([{ "op": "replace", "path": "title", "value": null }]), Box::new(|u: &Value| assert!(u.get("title").is_none()))),
    ];
    for (ops, check) in steps {
        let r = s.call("PATCH", &path, Some(&patch(ops.clone()))).await;
        assert_eq!(r.status, 200, "{ops}: {}", r.body);
        check(&r.body);
        check(&s.call("GET", &path, None).await.body);
    }
    let bad = [
        (json!([{ "op": "replace", "path": "emails[type eq", "value": "x" }]), "invalidPath"),
        (json!([{ "op": "remove" }]), "noTarget"),
        (json!([{ "op": "jump", "path": "title" }]), "invalidSyntax"),
        (json!([{ "op": "replace", "path": "preferredLanguage", "value": "not a tag" }]), "invalidValue"),
    ];
    for (ops, t) in bad {
        let r = s.call("PATCH", &path, Some(&patch(ops.clone()))).await;
        assert_eq!((r.status, r.body["scimType"].as_str()), (400, Some(t)), "{ops}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_land_in_the_change_feed_and_delete_is_soft() {
    let s = Server::start().await;
    let a = s.create_user(user("a@contoso.example")).await;
    let id: ObjectId = a["id"].as_str().unwrap().parse().unwrap();
    let path = format!("/Users/{id}");
    s.call("PATCH", &path, Some(&patch(json!([{ "op": "replace", "path": "title", "value": "T" }])))).await;
    assert_eq!(s.call("DELETE", &path, None).await.status, 204);
    assert_eq!(s.call("GET", &path, None).await.status, 404);
    assert_eq!(s.call("DELETE", &path, None).await.status, 404);
    assert_eq!(s.call("GET", "/Users", None).await.body["totalResults"], 0);
    let feed = s.store.changes_since(s.tenant.id, ChangeCursor::START, 100).await.unwrap();
    let ops: Vec<ChangeOp> = feed.changes.iter().map(|c| c.op).collect();
    assert_eq!(ops, [ChangeOp::Create, ChangeOp::Update, ChangeOp::SoftDelete]);
    assert_eq!(feed.changes[1].attributes[0].name, "jobTitle");
    let stored = s.store.get_user(s.tenant.id, id).await.unwrap();
    assert!(stored.is_deleted(), "kept, soft-deleted, restorable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_patches_lose_no_update() {
    let s = std::sync::Arc::new(Server::start().await);
    let a = s.create_user(user("a@contoso.example")).await;
    let path = format!("/Users/{}", a["id"].as_str().unwrap());
    // Each task sets a different attribute; every one must survive.
    let attrs = ["title", "displayName", "nickName", "preferredLanguage", "externalId", "name.givenName", "name.familyName", "userType"];
    let values = ["T", "D", "nick", "en-US", "X-1", "G", "F", "Guest"];
    let mut tasks = Vec::new();
    for (attr, value) in attrs.iter().zip(values) {
        let s = s.clone();
        let path = path.clone();
        let body = patch(json!([{ "op": "replace", "path": attr, "value": value }]));
        tasks.push(tokio::spawn(async move { s.call("PATCH", &path, Some(&body)).await.status }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    let u = s.call("GET", &path, None).await.body;
    assert_eq!(
        (u["title"].clone(), u["displayName"].clone(), u["nickName"].clone(), u["preferredLanguage"].clone()),
        (json!("T"), json!("D"), json!("nick"), json!("en-US"))
    );
    assert_eq!(
        (u["externalId"].clone(), u["name"].clone(), u["userType"].clone()),
        (json!("X-1"), json!({ "givenName": "G", "familyName": "F" }), json!("Guest"))
    );
    assert_eq!(u["meta"]["version"], format!("W/\"{}\"", 1 + attrs.len()));
}

/// Directory extension attributes under their schema URN: written by POST/PUT/PATCH,
/// returned and projected, filtered in the store, refused when malformed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_extension_attributes() {
    const EXT: &str = "urn:ietf:params:scim:schemas:extension:tenantsync:2.0:User";
    const CC: &str = "extension_0123456789abcdef0123456789abcdef_costCenter";
    const SK: &str = "extension_0123456789abcdef0123456789abcdef_skills";
    let s = Server::start().await;
    let a =
        s.create_user(json!({ "userName": "a@contoso.example", EXT: { "schemas": [EXT], "officeLocation": "Oslo", CC: "CC-1", SK: ["Rust", "SQL"] } })).await;
    assert_eq!(a[EXT], json!({ "officeLocation": "Oslo", CC: "CC-1", SK: ["Rust", "SQL"] }), "keys that are no attribute are ignored");
    assert!(a["schemas"].as_array().unwrap().contains(&json!(EXT)));
    let a = a["id"].as_str().unwrap().to_owned();
    let b = s.create_user(json!({ "userName": "b@contoso.example", EXT: { CC: "cc-2" } })).await["id"].as_str().unwrap().to_owned();
    s.create_user(json!({ "userName": "c@contoso.example" })).await;
    let names = |r: &Value| -> Vec<String> {
        r["Resources"].as_array().unwrap().iter().map(|u| u["userName"].as_str().unwrap().split('@').next().unwrap().to_owned()).collect()
    };
    for (filter, expected) in [
        (format!(r#"{EXT}:{CC} eq "cc-1""#), vec!["a"]),
        (format!(r#"{CC} sw "CC""#), vec!["a", "b"]),
        (format!(r#"{EXT}:{SK} eq "sql" and {CC} pr"#), vec!["a"]),
        (format!(r#"{CC} ne "CC-1""#), vec!["b", "c"]),
        (format!(r#"{CC} eq null"#), vec!["c"]),
        (format!(r#"not ({SK} pr)"#), vec!["b", "c"]),
        (format!(r#"{EXT}:officeLocation eq "OSLO""#), vec!["a"]),
    ] {
        let r = s.call("GET", &format!("/Users?sortBy=userName&filter={}", q(&filter)), None).await;
        assert_eq!(r.status, 200, "{filter}: {}", r.body);
        assert_eq!(names(&r.body), expected, "{filter}");
    }
    for bad in [format!(r#"{EXT}:extension_12_x eq "a""#), format!(r#"{EXT}:{CC}.sub eq "a""#), format!(r#"{CC}[value eq "a"]"#)] {
        assert_eq!(s.call("GET", &format!("/Users?filter={}", q(&bad)), None).await.error().1.as_deref(), Some("invalidFilter"), "{bad}");
    }
    // Projection.
    let u = s.call("GET", &format!("/Users/{a}?attributes={}", q(&format!("{EXT}:{CC}"))), None).await.body;
    assert_eq!(u[EXT], json!({ CC: "CC-1" }));
    let u = s.call("GET", &format!("/Users/{a}?excludedAttributes={}", q(EXT)), None).await.body;
    assert!(u.get(EXT).is_none());
    // PATCH: a path into the extension, the no-path form, removal.
    let r = s
        .call(
            "PATCH",
            &format!("/Users/{a}"),
            Some(&patch(json!([
                { "op": "add", "path": format!("{EXT}:{SK}"), "value": ["Go"] },
                { "op": "replace", "value": { EXT: { CC: "CC-9" } } },
            ]))),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body[EXT], json!({ "officeLocation": "Oslo", CC: "CC-9", SK: ["Rust", "SQL", "Go"] }));
    let r = s.call("PATCH", &format!("/Users/{a}"), Some(&patch(json!([{ "op": "remove", "path": format!("{EXT}:{SK}") }])))).await;
    assert_eq!(r.body[EXT], json!({ "officeLocation": "Oslo", CC: "CC-9" }));
    let r = s.call("PATCH", &format!("/Users/{a}"), Some(&patch(json!([{ "op": "remove", "path": EXT }])))).await;
    assert!(r.body.get(EXT).is_none(), "{}", r.body);
    // PUT without the extension object leaves the values alone; with it, replaces them.
    let r = s.call("PUT", &format!("/Users/{b}"), Some(&json!({ "userName": "b@contoso.example", "title": "T" }))).await;
    assert_eq!(r.body[EXT], json!({ CC: "cc-2" }));
    let r = s.call("PUT", &format!("/Users/{b}"), Some(&json!({ "userName": "b@contoso.example", EXT: { SK: "one", "usageLocation": "NO" } }))).await;
    assert_eq!(r.body[EXT], json!({ "usageLocation": "NO", SK: "one" }));
    let r = s.call("PUT", &format!("/Users/{b}"), Some(&json!({ "userName": "b@contoso.example", EXT: { "usageLocation": "Norway" } }))).await;
    assert_eq!(r.error().1.as_deref(), Some("invalidValue"));
    // Malformed names and values.
    let r = s.call("POST", "/Users", Some(&json!({ "userName": "d@contoso.example", EXT: { "extension_12_x": "v" } }))).await;
    assert_eq!(r.error(), (400, Some("invalidPath".into()), "malformed_attribute_name".into()));
    let r = s.call("POST", "/Users", Some(&json!({ "userName": "d@contoso.example", EXT: { CC: { "x": 1 } } }))).await;
    assert_eq!(r.error().1.as_deref(), Some("invalidValue"));
    // Discovery.
    let rt = s.call("GET", "/ResourceTypes/User", None).await.body;
    assert!(rt["schemaExtensions"].as_array().unwrap().iter().any(|e| e["schema"] == EXT));
    assert_eq!(s.call("GET", &format!("/Schemas/{EXT}"), None).await.status, 200);
}
