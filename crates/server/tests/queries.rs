//! Filters (a table against a fixed data set), sorting, paging, attributes projection and
//! .search, over HTTP.
use crate::support::*;
use serde_json::{Value, json};

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

async fn data(s: &Server) {
    s.create_user(json!({
        "userName": "alice@contoso.example", "externalId": "A-1", "displayName": "Alice Adams", "title": "Engineer",
        "name": { "givenName": "Alice", "familyName": "Adams" },
        "emails": [{ "value": "alice@contoso.example", "type": "work" }],
        "phoneNumbers": [{ "value": "+47 1", "type": "work" }],
        ENT: { "department": "Sales" },
    }))
    .await;
    s.create_user(json!({
        "userName": "bob@contoso.example", "externalId": "a-1", "displayName": "Bob Brown", "active": false, "userType": "Guest",
        "phoneNumbers": [{ "value": "+47 2", "type": "mobile" }],
        ENT: { "department": "sales" },
    }))
    .await;
    s.create_user(json!({ "userName": "carol@fabrikam.example", "displayName": "Carol_Cruz", "addresses": [{ "type": "work", "locality": "Oslo" }] })).await;
    s.create_user(json!({ "userName": "dave@contoso.example" })).await;
}

fn names(body: &Value) -> Vec<String> {
    body["Resources"].as_array().unwrap().iter().map(|u| u["userName"].as_str().unwrap().split('@').next().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filter_table() {
    let s = Server::start().await;
    data(&s).await;
    let cases: &[(&str, &[&str])] = &[
        (r#"userName eq "ALICE@contoso.example""#, &["alice"]),
        (r#"userName ne "alice@contoso.example""#, &["bob", "carol", "dave"]),
        (r#"userName sw "b""#, &["bob"]),
        (r#"userName ew "FABRIKAM.example""#, &["carol"]),
        (r#"userName co "contoso""#, &["alice", "bob", "dave"]),
        (r#"userName gt "bob@contoso.example""#, &["carol", "dave"]),
        (r#"userName le "bob@contoso.example""#, &["alice", "bob"]),
        (r#"externalId eq "A-1""#, &["alice"]),
        (r#"externalId eq "a-1""#, &["bob"]),
        (r#"externalId pr"#, &["alice", "bob"]),
        (r#"not (externalId pr)"#, &["carol", "dave"]),
        (r#"displayName co "_""#, &["carol"]),
        (r#"title eq "engineer""#, &["alice"]),
        (r#"active eq false"#, &["bob"]),
        (r#"active ne false"#, &["alice", "carol", "dave"]),
        (r#"userType eq "guest""#, &["bob"]),
        (r#"name.familyName sw "ad""#, &["alice"]),
        (r#"emails pr"#, &["alice"]),
        (r#"emails.value eq "ALICE@contoso.example""#, &["alice"]),
        (r#"emails[type eq "work" and value co "alice"]"#, &["alice"]),
        (r#"emails[type eq "home"]"#, &[]),
        (r#"phoneNumbers[type eq "mobile" and value eq "+47 2"]"#, &["bob"]),
        (r#"phoneNumbers[type eq "work" and value eq "+47 2"]"#, &[]),
        (r#"phoneNumbers[type eq "mobile"]"#, &["bob"]),
        (r#"phoneNumbers.value pr"#, &["alice", "bob"]),
        (r#"addresses[locality eq "oslo"]"#, &["carol"]),
        (r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "SALES""#, &["alice", "bob"]),
        (r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "d""#, &["dave"]),
        (r#"department eq "sales" and active eq true"#, &["alice"]),
        (r#"(userName sw "a" or userName sw "b") and not (userType eq "Guest")"#, &["alice"]),
        (r#"displayName eq "Bob Brown" or externalId eq "A-1""#, &["alice", "bob"]),
        (r#"meta.created gt "2000-01-01T00:00:00Z""#, &["alice", "bob", "carol", "dave"]),
        (r#"meta.lastModified lt "2000-01-01T00:00:00Z""#, &[]),
        (r#"id eq "not-a-uuid""#, &[]),
        (r#"title eq null"#, &["bob", "carol", "dave"]),
    ];
    for (filter, expected) in cases {
        let r = s.call("GET", &format!("/Users?filter={}", q(filter)), None).await;
        assert_eq!(r.status, 200, "{filter}: {}", r.body);
        assert_eq!(names(&r.body), *expected, "{filter}");
        assert_eq!(r.body["totalResults"], expected.len(), "{filter}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_filters_are_invalid_filter() {
    let s = Server::start().await;
    let deep = format!("{}userName pr{}", "(".repeat(40), ")".repeat(40));
    let long = format!("userName eq \"{}\"", "x".repeat(5000));
    let cases = [
        r#"userName eq"#.to_owned(),
        r#"userName zz "a""#.to_owned(),
        r#"colour eq "red""#.to_owned(),
        r#"active gt true"#.to_owned(),
        r#"emails[nope eq "x"]"#.to_owned(),
        r#"meta.created gt "yesterday""#.to_owned(),
        r#"urn:example:other:userName eq "a""#.to_owned(),
        deep,
        long,
    ];
    for f in cases {
        let r = s.call("GET", &format!("/Users?filter={}", q(&f)), None).await;
        assert_eq!(r.error().0, 400, "{f}");
        assert_eq!(r.error().1.as_deref(), Some("invalidFilter"), "{}: {}", &f[..f.len().min(40)], r.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sort_and_page() {
    let s = Server::start().await;
    data(&s).await;
    let get = |query: String| {
        let s = &s;
        async move { s.call("GET", &format!("/Users?{query}"), None).await.body }
    };
    assert_eq!(names(&get("sortBy=displayName".into()).await), ["alice", "bob", "carol", "dave"]);
    assert_eq!(names(&get("sortBy=displayName&sortOrder=descending".into()).await), ["dave", "carol", "bob", "alice"]);
    assert_eq!(names(&get("sortBy=emails".into()).await), ["alice", "bob", "carol", "dave"]);
    let page = get("sortBy=userName&startIndex=2&count=2".into()).await;
    assert_eq!(
        (names(&page), page["totalResults"].clone(), page["startIndex"].clone(), page["itemsPerPage"].clone()),
        (vec!["bob".into(), "carol".into()], json!(4), json!(2), json!(2))
    );
    let page = get("count=0".into()).await;
    assert_eq!((page["totalResults"].clone(), page["Resources"].clone()), (json!(4), json!([])));
    let page = get("startIndex=0&count=1".into()).await;
    assert_eq!((names(&page), page["startIndex"].clone()), (vec!["alice".to_owned()], json!(1)), "startIndex below 1 is 1");
    let page = get("startIndex=9".into()).await;
    assert_eq!((page["totalResults"].clone(), page["itemsPerPage"].clone()), (json!(4), json!(0)));
    assert_eq!(s.call("GET", "/Users?startIndex=x", None).await.error().1.as_deref(), Some("invalidValue"));
    assert_eq!(s.call("GET", "/Users?sortOrder=sideways", None).await.status, 400);
    let filtered = get(format!("filter={}&sortBy=userName&sortOrder=descending&count=1", q(r#"department eq "sales""#))).await;
    assert_eq!((names(&filtered), filtered["totalResults"].clone()), (vec!["bob".to_owned()], json!(2)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attributes_projection_and_search() {
    let s = Server::start().await;
    data(&s).await;
    let r = s.call("GET", &format!("/Users?filter={}&attributes=userName,name.givenName", q(r#"userName sw "alice""#)), None).await;
    let u = &r.body["Resources"][0];
    let mut keys: Vec<&String> = u.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["id", "name", "schemas", "userName"]);
    assert_eq!(u["name"], json!({ "givenName": "Alice" }));
    let r = s.call("GET", &format!("/Users?filter={}&excludedAttributes=emails,meta,{ENT}", q(r#"userName sw "alice""#)), None).await;
    let u = &r.body["Resources"][0];
    assert!(u.get("emails").is_none() && u.get("meta").is_none() && u.get(ENT).is_none() && u.get("displayName").is_some());
    let search = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": "active eq true", "sortBy": "userName", "sortOrder": "descending", "startIndex": 1, "count": 2,
        "attributes": ["userName"],
    });
    let r = s.call("POST", "/Users/.search", Some(&search)).await;
    assert_eq!((names(&r.body), r.body["totalResults"].clone()), (vec!["dave".to_owned(), "carol".to_owned()], json!(3)));
    assert!(r.body["Resources"][0].get("meta").is_none());
    // Root search: users then groups.
    s.call("POST", "/Groups", Some(&json!({ "displayName": "G" }))).await;
    let r = s.call("POST", "/.search", Some(&json!({ "count": 10 }))).await;
    assert_eq!(r.body["totalResults"], 5);
    assert_eq!(r.body["Resources"][4]["displayName"], "G");
}

/// RFC 9865: `cursor=` starts, `nextCursor`/`previousCursor` walk the same order index
/// paging gives (default, sorted, filtered), `count` is honoured, and cursors of another
/// query, forged cursors and cursors combined with startIndex are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cursor_paging() {
    let s = Server::start().await;
    data(&s).await;
    for i in 0..5 {
        s.create_user(json!({ "userName": format!("extra{i}@contoso.example"), "displayName": format!("Zed {}", 4 - i) })).await;
    }
    let all = |query: &str| {
        let s = &s;
        let query = query.to_owned();
        async move { names(&s.call("GET", &format!("/Users?count=100&{query}"), None).await.body) }
    };
    for query in ["", "sortBy=displayName", "sortBy=userName&sortOrder=descending", &format!("filter={}", q(r#"userName co "contoso""#))] {
        let expected = all(query).await;
        let mut seen = Vec::new();
        let mut pages: Vec<Value> = Vec::new();
        let mut cursor = String::new();
        loop {
            let r = s.call("GET", &format!("/Users?{query}&count=3&cursor={}", q(&cursor)), None).await;
            assert_eq!(r.status, 200, "{query}: {}", r.body);
            let b = r.body;
            assert!(b.get("startIndex").is_none() && b.get("totalResults").is_none(), "{b}");
            assert_eq!(b["itemsPerPage"], b["Resources"].as_array().unwrap().len());
            assert_eq!(b.get("previousCursor").is_some(), !pages.is_empty(), "{query}: {b}");
            seen.extend(names(&b));
            pages.push(b.clone());
            match b["nextCursor"].as_str() {
                Some(c) => cursor = c.to_owned(),
                None => break,
            }
        }
        assert_eq!(seen, expected, "{query}");
        assert!(pages.iter().all(|p| p["Resources"].as_array().unwrap().len() <= 3));
        // previousCursor of the last page gives the page before it.
        if pages.len() > 1 {
            let last = &pages[pages.len() - 1];
            let prev = last["previousCursor"].as_str().unwrap();
            let r = s.call("GET", &format!("/Users?{query}&count=3&cursor={}", q(prev)), None).await;
            assert_eq!(names(&r.body), names(&pages[pages.len() - 2]), "{query}: back one page");
        }
    }
    // POST .search takes the cursor in the body.
    let r = s.call("POST", "/Users/.search", Some(&json!({ "cursor": "", "count": 2, "sortBy": "userName" }))).await;
    assert_eq!(names(&r.body), ["alice", "bob"]);
    let next = r.body["nextCursor"].as_str().unwrap().to_owned();
    let r = s.call("POST", "/Users/.search", Some(&json!({ "cursor": next, "count": 2, "sortBy": "userName" }))).await;
    assert_eq!(names(&r.body), ["carol", "dave"]);
    // Refusals.
    let first = s.call("GET", "/Users?cursor=&count=2", None).await.body;
    let c = first["nextCursor"].as_str().unwrap().to_owned();
    for bad in [
        format!("cursor={}&sortBy=userName", q(&c)),
        format!("cursor={}&filter={}", q(&c), q("active eq true")),
        "cursor=bm9wZQ".into(),
        "cursor=%25%25".into(),
    ] {
        let r = s.call("GET", &format!("/Users?{bad}"), None).await;
        assert_eq!(r.error(), (400, Some("invalidCursor".into()), "invalid_cursor".into()), "{bad}");
    }
    let r = s.call("GET", &format!("/Groups?cursor={}", q(&c)), None).await;
    assert_eq!(r.error().1.as_deref(), Some("invalidCursor"), "a cursor of users does not page groups");
    let r = s.call("GET", &format!("/Users?cursor={}&startIndex=3", q(&c)), None).await;
    assert_eq!(r.error().1.as_deref(), Some("invalidValue"));
    // Discovery says so.
    let spc = s.call("GET", "/ServiceProviderConfig", None).await.body;
    assert_eq!(
        spc["pagination"],
        json!({ "cursor": true, "index": true, "defaultPaginationMethod": "index", "defaultPageSize": 100, "maxPageSize": 1000, "cursorTimeout": 86400 })
    );
}
