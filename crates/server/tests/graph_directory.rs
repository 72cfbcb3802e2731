//! The admin API's directory: users and groups, memberships, queries and paging, bad
//! input, roles, and the audit record every write leaves.
use crate::graph_support::{Api, admin_token};
use crate::support::{Server, q};
use serde_json::{Value, json};
use tenantsync_store::TokenRole;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_round_trip_in_graph_s_shape() {
    let s = Server::start().await;
    let api = Api::new(&s, admin_token(&s, TokenRole::Admin).await);
    let r = api
        .post(
            "/v1.0/users",
            json!({
                "@odata.type": "#microsoft.graph.user", "accountEnabled": true, "displayName": "Adele Vance", "mailNickname": "adele",
                "passwordProfile": {"forceChangePasswordNextSignIn": true, "password": "x!Y1z2w3"}, "userPrincipalName": "adele@contoso.example",
                "givenName": "Adele", "surname": "Vance", "businessPhones": ["+1 555 0100"], "usageLocation": "US", "showInAddressList": true,
                "extension_0123456789abcdef0123456789abcdef_costCenter": "CC-1",
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert!(r.body["@odata.context"].as_str().unwrap().ends_with("/v1.0/$metadata#users/$entity"));
    for (k, v) in [
        ("userPrincipalName", json!("adele@contoso.example")),
        ("businessPhones", json!(["+1 555 0100"])),
        ("accountEnabled", json!(true)),
        ("userType", json!("Member")),
        ("extension_0123456789abcdef0123456789abcdef_costCenter", json!("CC-1")),
    ] {
        assert_eq!(r.body[k], v, "{k}");
    }
    assert!(r.body.get("passwordProfile").is_none(), "no password is kept");
    let got = api.get(&format!("/v1.0/users/{id}?$select=displayName,mail")).await;
    assert_eq!(got.status, 200);
    let keys: Vec<&String> = got.body.as_object().unwrap().keys().filter(|k| !k.starts_with('@')).collect();
    assert_eq!(keys, ["id", "displayName", "mail"], "$select projects");
    assert_eq!(api.get("/v1.0/users/adele@contoso.example").await.body["id"], json!(id), "by userPrincipalName too");

    let r = api.patch(&format!("/v1.0/users/{id}"), json!({ "jobTitle": "Lead", "department": "R&D" })).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(api.get(&format!("/v1.0/users/{id}")).await.body["jobTitle"], "Lead");
    assert_eq!(api.delete(&format!("/v1.0/users/{id}")).await.status, 204);
    assert_eq!(api.get(&format!("/v1.0/users/{id}")).await.status, 404, "soft-deleted users are gone from the API");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_order_count_and_pages_across_many_pages() {
    let s = Server::start().await;
    let api = Api::new(&s, admin_token(&s, TokenRole::Admin).await);
    for i in 0..25 {
        api.user(&format!("u{i:02}@contoso.example"), &format!("User {i:02}")).await;
    }
    // Paging: 25 users, 7 a page, 4 pages; each link is absolute and the union is exact.
    let mut url = format!("/v1.0/users?$top=7&$orderby=userPrincipalName%20desc&$filter={}", q("startsWith(userPrincipalName,'u')"));
    let (mut seen, mut pages) = (Vec::new(), 0);
    loop {
        let r = api.get(&url).await;
        assert_eq!(r.status, 200, "{url}: {}", r.body);
        pages += 1;
        seen.extend(r.body["value"].as_array().unwrap().iter().map(|u| u["userPrincipalName"].as_str().unwrap().to_owned()));
        match r.body["@odata.nextLink"].as_str() {
            Some(next) => {
                assert!(next.starts_with(&format!("http://{}/v1.0/users?", s.addr)), "absolute: {next}");
                url = next.split_once(&s.addr.to_string()).unwrap().1.to_owned();
            }
            None => break,
        }
    }
    assert_eq!(pages, 4);
    let mut expected: Vec<String> = (0..25).map(|i| format!("u{i:02}@contoso.example")).collect();
    expected.reverse();
    assert_eq!(seen, expected);

    let r = api.get(&format!("/v1.0/users?$filter={}", q("userPrincipalName in ('u01@contoso.example', 'u02@contoso.example')"))).await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 2);
    let r = api.get(&format!("/v1.0/users?$filter={}", q("displayName eq 'User 03' or mail eq 'nobody@x.example'"))).await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 1, "{}", r.body);
    // $count needs ConsistencyLevel: eventual, as in Graph.
    let r = api.get("/v1.0/users?$count=true&$top=1").await;
    assert_eq!((r.status, r.body["error"]["code"].as_str()), (400, Some("Request_BadRequest")));
    let r = api.get_with("/v1.0/users?$count=true&$top=1", &[("ConsistencyLevel", "eventual")]).await;
    assert_eq!((r.status, r.body["@odata.count"].as_u64()), (200, Some(25)), "{}", r.body);
    let ne = format!("/v1.0/users?$filter={}", q("userPrincipalName ne 'u00@contoso.example'"));
    assert_eq!(api.get(&ne).await.body["error"]["code"], "Request_UnsupportedQuery", "ne is an advanced query");
    assert_eq!(api.get_with(&ne, &[("ConsistencyLevel", "eventual")]).await.body["value"].as_array().unwrap().len(), 24);
}

/// Method, path, body; the status, Graph code and a part of the message expected.
type BadCase = (&'static str, String, Option<String>, u16, &'static str, &'static str);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_a_graph_4xx_naming_the_problem_and_writes_nothing() {
    let s = Server::with(tenantsync_server::Config { max_body_bytes: 2048, rate_per_second: 0, rate_burst: 0, access: None, console: None }).await;
    let api = Api::new(&s, admin_token(&s, TokenRole::Admin).await);
    let id = api.user("a@contoso.example", "A").await;
    let before = api.get("/v1.0/auditLogs/directoryAudits").await.body["value"].as_array().unwrap().len();
    let cases: Vec<BadCase> = vec![
        ("POST", "/v1.0/users".into(), Some("{\"userPrincipalName\": ".into()), 400, "Request_BadRequest", "not valid JSON"),
        ("POST", "/v1.0/users".into(), Some("[1]".into()), 400, "Request_BadRequest", "JSON object"),
        (
            "POST",
            "/v1.0/users".into(),
            Some(json!({"userPrincipalName": "b@contoso.example", "favouriteColour": "red"}).to_string()),
            400,
            "Request_BadRequest",
            "'favouriteColour'",
        ),
        (
            "POST",
            "/v1.0/users".into(),
            Some(json!({"userPrincipalName": "b@contoso.example", "accountEnabled": "yes"}).to_string()),
            400,
            "Request_BadRequest",
            "'accountEnabled'",
        ),
        ("POST", "/v1.0/users".into(), Some(json!({"userPrincipalName": "not a upn"}).to_string()), 400, "Request_BadRequest", "userPrincipalName"),
        (
            "POST",
            "/v1.0/users".into(),
            Some(json!({"userPrincipalName": "b@contoso.example", "displayName": "x".repeat(3000)}).to_string()),
            413,
            "Request_EntityTooLarge",
            "larger than",
        ),
        ("PATCH", format!("/v1.0/users/{id}"), Some(json!({"id": "x"}).to_string()), 400, "Request_BadRequest", "read-only"),
        ("PATCH", format!("/v1.0/users/{id}"), Some(json!({"usageLocation": "usa"}).to_string()), 400, "Request_BadRequest", "usageLocation"),
        (
            "POST",
            "/v1.0/users".into(),
            Some(json!({"userPrincipalName": "a@contoso.example"}).to_string()),
            409,
            "Request_MultipleObjectsWithSameKeyValue",
            "a@contoso.example",
        ),
        ("GET", format!("/v1.0/users?$filter={}", q("userPrincipalName eq")), None, 400, "Request_BadRequest", "$filter"),
        ("GET", format!("/v1.0/users?$filter={}", q("jobTitle eq 'x'")), None, 400, "Request_UnsupportedQuery", "'jobTitle'"),
        ("GET", format!("/v1.0/users?$filter={}", q("employeeId eq 'x'")), None, 400, "Request_UnsupportedQuery", "'employeeId'"),
        ("GET", format!("/v1.0/users?$filter={}", q("endsWith(mail,'x')")), None, 400, "Request_UnsupportedQuery", "endsWith"),
        ("GET", "/v1.0/users?$top=0".into(), None, 400, "Request_BadRequest", "$top"),
        ("GET", "/v1.0/users?$top=100000".into(), None, 400, "Request_BadRequest", "$top"),
        ("GET", "/v1.0/users?$orderby=jobTitle".into(), None, 400, "Request_UnsupportedQuery", "jobTitle"),
        ("GET", "/v1.0/users?$select=nope".into(), None, 400, "Request_BadRequest", "'nope'"),
        ("GET", "/v1.0/users?$skiptoken=garbage".into(), None, 400, "Request_BadRequest", "$skiptoken"),
        ("GET", "/v1.0/users?$expand=manager".into(), None, 400, "Request_BadRequest", "$expand"),
        ("POST", "/v1.0/groups".into(), Some(json!({"displayName": "G", "mailEnabled": true}).to_string()), 400, "Request_BadRequest", "mail-enabled"),
        ("POST", "/v1.0/groups".into(), Some(json!({"description": "no name"}).to_string()), 400, "Request_BadRequest", "displayName"),
        ("PUT", "/v1.0/users".into(), Some("{}".into()), 405, "Request_MethodNotAllowed", "method"),
    ];
    for (method, path, body, status, code, needle) in cases {
        let r = api.raw(method, &path, body.as_deref()).await;
        assert_eq!((r.status, r.body["error"]["code"].as_str()), (status, Some(code)), "{method} {path}: {}", r.body);
        let message = r.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(needle), "{method} {path}: '{message}' names {needle}");
        assert!(r.body["error"]["innerError"]["request-id"].as_str().is_some_and(|id| !id.is_empty()));
    }
    let after = api.get("/v1.0/auditLogs/directoryAudits").await.body["value"].as_array().unwrap().len();
    assert_eq!(after, before, "nothing was written");
    assert_eq!(api.get("/v1.0/users").await.body["value"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_members_and_member_of() {
    let s = Server::start().await;
    let api = Api::new(&s, admin_token(&s, TokenRole::Admin).await);
    let users: Vec<String> = make_users(&api, 5).await;
    let bind: Vec<String> = users[..2].iter().map(|u| format!("https://graph.microsoft.com/v1.0/directoryObjects/{u}")).collect();
    let r = api
        .post(
            "/v1.0/groups",
            json!({"displayName": "Sales", "mailEnabled": false, "securityEnabled": true, "mailNickname": "sales", "members@odata.bind": bind}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let g = r.body["id"].as_str().unwrap().to_owned();
    for u in &users[2..] {
        let r =
            api.post(&format!("/v1.0/groups/{g}/members/$ref"), json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{u}")})).await;
        assert_eq!(r.status, 204, "{}", r.body);
    }
    let again = api.post(&format!("/v1.0/groups/{g}/members/$ref"), json!({"@odata.id": format!("https://x/v1.0/directoryObjects/{}", users[0])})).await;
    assert_eq!(again.status, 400, "already a member: {}", again.body);
    let stranger = api.post(&format!("/v1.0/groups/{g}/members/$ref"), json!({"@odata.id": format!("https://x/v1.0/directoryObjects/{}", uuid_like())})).await;
    assert_eq!(stranger.status, 400, "not a user of the tenant: {}", stranger.body);
    // Members page, two at a time.
    let (mut url, mut seen) = (format!("/v1.0/groups/{g}/members?$top=2"), Vec::new());
    loop {
        let r = api.get(&url).await;
        assert_eq!(r.status, 200, "{}", r.body);
        for m in r.body["value"].as_array().unwrap() {
            assert_eq!(m["@odata.type"], "#microsoft.graph.user");
            seen.push(m["id"].as_str().unwrap().to_owned());
        }
        match r.body["@odata.nextLink"].as_str() {
            Some(next) => url = next.split_once(&s.addr.to_string()).unwrap().1.to_owned(),
            None => break,
        }
    }
    let mut expected = users.clone();
    expected.sort();
    seen.sort();
    assert_eq!(seen, expected);
    let of = api.get(&format!("/v1.0/users/{}/memberOf", users[0])).await;
    assert_eq!(of.body["value"][0]["displayName"], "Sales");
    assert_eq!(of.body["value"][0]["@odata.type"], "#microsoft.graph.group");
    assert_eq!(api.delete(&format!("/v1.0/groups/{g}/members/{}/$ref", users[0])).await.status, 204);
    assert_eq!(api.delete(&format!("/v1.0/groups/{g}/members/{}/$ref", users[0])).await.status, 404);
    assert!(api.get(&format!("/v1.0/users/{}/memberOf", users[0])).await.body["value"].as_array().unwrap().is_empty());
    assert_eq!(api.patch(&format!("/v1.0/groups/{g}"), json!({"description": "the sales team"})).await.status, 204);
    let r = api.get(&format!("/v1.0/groups?$filter={}", q("displayName eq 'sales'"))).await;
    assert_eq!(r.body["value"][0]["description"], "the sales team");
    assert_eq!(api.delete(&format!("/v1.0/groups/{g}")).await.status, 204);
    assert_eq!(api.get(&format!("/v1.0/groups/{g}")).await.status, 404);
}

fn uuid_like() -> String {
    tenantsync_domain::ObjectId::new().to_string()
}

async fn make_users(api: &Api<'_>, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..n {
        out.push(api.user(&format!("m{i}@contoso.example"), &format!("Member {i}")).await);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_read_scim_tokens_are_refused_and_the_rate_is_limited() {
    let s = Server::with(tenantsync_server::Config { max_body_bytes: 1 << 20, rate_per_second: 1, rate_burst: 4, access: None, console: None }).await;
    let admin = Api::new(&s, admin_token(&s, TokenRole::Admin).await);
    let id = admin.user("a@contoso.example", "A").await;
    let reader = Api::new(&s, admin_token(&s, TokenRole::Reader).await);
    assert_eq!(reader.get(&format!("/v1.0/users/{id}")).await.status, 200);
    for (method, path, body) in [
        ("POST", "/v1.0/users".to_owned(), json!({"userPrincipalName": "b@contoso.example"})),
        ("PATCH", format!("/v1.0/users/{id}"), json!({"jobTitle": "x"})),
        ("DELETE", format!("/v1.0/users/{id}"), Value::Null),
    ] {
        let r = reader.raw(method, &path, Some(&body.to_string())).await;
        assert_eq!((r.status, r.body["error"]["code"].as_str()), (403, Some("Authorization_RequestDenied")), "{method} {path}");
    }
    let scim = Api::new(&s, s.token.clone());
    assert_eq!(scim.get("/v1.0/users").await.status, 403, "a SCIM token is for SCIM");
    // The reader's bucket: four more requests go, then 429 with Retry-After.
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(reader.get("/v1.0/users").await.status);
    }
    let r = reader.get("/v1.0/users").await;
    assert!(statuses.contains(&429) || r.status == 429, "{statuses:?} {}", r.status);
    let limited = if r.status == 429 { r } else { reader.get("/v1.0/users").await };
    assert_eq!(limited.body["error"]["code"], "TooManyRequests");
    assert!(limited.header("retry-after").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_leaves_an_audit_record_with_who_what_and_old_to_new() {
    let s = Server::start().await;
    let api = Api::new(&s, admin_token(&s, TokenRole::Admin).await);
    let other = crate::support::tenant(s.store.as_ref(), "fabrikam.example").await;
    let mut expected: Vec<&str> = Vec::new();
    let id = api.user("a@contoso.example", "A").await;
    expected.push("Add user");
    api.patch(&format!("/v1.0/users/{id}"), json!({"displayName": "Ann"})).await;
    expected.push("Update user");
    let g = api.post("/v1.0/groups", json!({"displayName": "G"})).await.body["id"].as_str().unwrap().to_owned();
    expected.push("Add group");
    api.patch(&format!("/v1.0/groups/{g}"), json!({"description": "d"})).await;
    expected.push("Update group");
    api.post(&format!("/v1.0/groups/{g}/members/$ref"), json!({"@odata.id": format!("https://x/directoryObjects/{id}")})).await;
    expected.push("Add member to group");
    api.delete(&format!("/v1.0/groups/{g}/members/{id}/$ref")).await;
    expected.push("Remove member from group");
    let base = "/v1.0/policies/crossTenantAccessPolicy";
    api.patch(&format!("{base}/default"), json!({"automaticUserConsentSettings": {"outboundAllowed": true}})).await;
    expected.push("Update cross-tenant access default settings");
    assert_eq!(api.post(&format!("{base}/partners"), json!({"tenantId": other.id})).await.status, 201);
    expected.push("Add partner to cross-tenant access setting");
    api.patch(&format!("{base}/partners/{}", other.id), json!({"automaticUserConsentSettings": {"inboundAllowed": true}})).await;
    expected.push("Update a partner cross-tenant access setting");
    api.put(&format!("{base}/partners/{}/identitySynchronization", other.id), json!({"userSyncInbound": {"isSyncAllowed": true}})).await;
    expected.push("Set identity synchronization policy of a partner");
    api.patch(&format!("{base}/partners/{}/identitySynchronization", other.id), json!({"groupSyncInbound": {"isSyncAllowed": true}})).await;
    expected.push("Update identity synchronization policy of a partner");
    api.delete(&format!("{base}/partners/{}/identitySynchronization", other.id)).await;
    expected.push("Delete identity synchronization policy of a partner");
    api.delete(&format!("{base}/partners/{}", other.id)).await;
    expected.push("Delete partner specific cross-tenant access setting");
    api.delete(&format!("/v1.0/groups/{g}")).await;
    expected.push("Delete group");
    api.delete(&format!("/v1.0/users/{id}")).await;
    expected.push("Delete user");

    let r = api.get("/v1.0/auditLogs/directoryAudits?$top=999").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let records = r.body["value"].as_array().unwrap();
    let mut activities: Vec<&str> = records.iter().map(|a| a["activityDisplayName"].as_str().unwrap()).collect();
    activities.reverse();
    assert_eq!(activities, expected, "one record per write, newest first");
    let update = records.iter().find(|a| a["activityDisplayName"] == "Update user").unwrap();
    assert_eq!(update["initiatedBy"]["app"]["displayName"], "Admin", "who: the token's name");
    assert_eq!(update["result"], "success");
    let changed = &update["targetResources"][0]["modifiedProperties"][0];
    assert_eq!(
        (changed["displayName"].as_str(), changed["oldValue"].as_str(), changed["newValue"].as_str()),
        (Some("displayName"), Some("\"A\""), Some("\"Ann\""))
    );
    assert_eq!(update["targetResources"][0]["id"], json!(id));
    // Another tenant sees none of them.
    let theirs = Api::new(&s, crate::graph_support::token_of(&s, other.id, TokenRole::Admin).await);
    assert!(theirs.get("/v1.0/auditLogs/directoryAudits").await.body["value"].as_array().unwrap().is_empty());
    // Paged, with a time filter.
    let page = api.get("/v1.0/auditLogs/directoryAudits?$top=4").await;
    assert!(page.body["@odata.nextLink"].is_string());
    let since = api.get(&format!("/v1.0/auditLogs/directoryAudits?$filter={}", q("activityDateTime ge 2000-01-01T00:00:00Z"))).await;
    assert_eq!(since.body["value"].as_array().unwrap().len(), expected.len());
}

#[tokio::test]
async fn an_invitation_makes_a_guest_once_and_bad_ones_are_refused() {
    let s = Server::start().await;
    let api = Api::new(&s, admin_token(&s, TokenRole::Admin).await);
    let invite = json!({
        "invitedUserEmailAddress": "carol@litware.example", "inviteRedirectUrl": "https://myapps.microsoft.com",
        "invitedUserDisplayName": "Carol", "sendInvitationMessage": false,
    });
    let r = api.post("/v1.0/invitations", invite.clone()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.body["@odata.context"].as_str().unwrap().ends_with("/v1.0/$metadata#invitations/$entity"));
    // No acceptance step in tenantsync: completed at once, redeemed where it leads.
    assert_eq!((r.body["status"].as_str(), r.body["invitedUserType"].as_str()), (Some("Completed"), Some("Guest")));
    assert_eq!(r.body["inviteRedeemUrl"], "https://myapps.microsoft.com");
    assert_eq!(r.body["sendInvitationMessage"], false);
    let id = r.body["invitedUser"]["id"].as_str().unwrap().to_owned();
    let u = api.get(&format!("/v1.0/users/{id}")).await.body;
    assert_eq!(
        (u["userPrincipalName"].as_str(), u["userType"].as_str(), u["mail"].as_str(), u["displayName"].as_str()),
        (Some("carol_litware.example#EXT#@contoso.example"), Some("Guest"), Some("carol@litware.example"), Some("Carol")),
        "{u}"
    );
    // Again: the same guest (Entra's re-invitation), no second one.
    let again = api.post("/v1.0/invitations", invite).await;
    assert_eq!((again.status, again.body["invitedUser"]["id"].as_str()), (201, Some(id.as_str())));
    assert_eq!(api.values("/v1.0/users").await.len(), 1);
    // Refusals: each a Graph 400 naming what is wrong, nobody made.
    for (body, names) in [
        (json!({ "inviteRedirectUrl": "https://x.example" }), "invitedUserEmailAddress"),
        (json!({ "invitedUserEmailAddress": "not an address", "inviteRedirectUrl": "https://x.example" }), "not an e-mail address"),
        (json!({ "invitedUserEmailAddress": "d@litware.example" }), "inviteRedirectUrl"),
        (json!({ "invitedUserEmailAddress": "d@litware.example", "inviteRedirectUrl": "ftp://x" }), "http(s)"),
        (json!({ "invitedUserEmailAddress": "d@litware.example", "inviteRedirectUrl": "https://x.example", "sendInvitationMessage": "yes" }), "true or false"),
        (json!({ "invitedUserEmailAddress": "d@litware.example", "inviteRedirectUrl": "https://x.example", "invitedUserType": "Owner" }), "Guest or Member"),
        (json!({ "invitedUserEmailAddress": "d@litware.example", "inviteRedirectUrl": "https://x.example", "colour": 1 }), "colour"),
    ] {
        let r = api.post("/v1.0/invitations", body).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body["error"]["message"].as_str().unwrap().contains(names), "{names}: {}", r.body);
    }
    assert_eq!(api.values("/v1.0/users").await.len(), 1);
    // A server without entitlement management keeps no outbox: no mail, said so.
    let mailed = json!({ "invitedUserEmailAddress": "d@litware.example", "inviteRedirectUrl": "https://x.example", "sendInvitationMessage": true });
    let r = api.post("/v1.0/invitations", mailed).await;
    assert_eq!((r.status, r.body["error"]["code"].as_str()), (501, Some("NotImplemented")), "{}", r.body);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("sendInvitationMessage to false"), "{}", r.body);
    assert_eq!(api.values("/v1.0/users").await.len(), 1);
    let reader = Api::new(&s, admin_token(&s, TokenRole::Reader).await);
    let r = reader.post("/v1.0/invitations", json!({ "invitedUserEmailAddress": "e@litware.example", "inviteRedirectUrl": "https://x.example" })).await;
    assert_eq!(r.status, 403, "{}", r.body);
}

#[tokio::test]
async fn an_invitation_is_mailed_with_its_guest_and_record_in_one_commit_when_asked() {
    let s = Server::governed().await;
    let api = Api::new(&s, admin_token(&s, TokenRole::Admin).await);
    let outbox = || async { tenantsync_store::AccessStore::outbox(&*s.sqlite, s.tenant.id, 10).await.unwrap() };
    let audits = || async { api.values("/v1.0/auditLogs/directoryAudits").await.len() };
    let before = audits().await;
    let invite = json!({
        "invitedUserEmailAddress": "carol@litware.example", "inviteRedirectUrl": "https://apps.contoso.example/start",
        "sendInvitationMessage": true,
        "invitedUserMessageInfo": {
            "customizedMessageBody": "Welcome to the Falcon project, Carol.",
            "ccRecipients": [{ "emailAddress": { "name": "Sam", "address": "sam@litware.example" } }],
        },
    });
    let r = api.post("/v1.0/invitations", invite.clone()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!((r.body["sendInvitationMessage"].as_bool(), r.body["status"].as_str()), (Some(true), Some("Completed")));
    let info = &r.body["invitedUserMessageInfo"];
    assert_eq!(info["ccRecipients"][0]["emailAddress"]["address"], "sam@litware.example", "{info}");
    assert_eq!(info["customizedMessageBody"], "Welcome to the Falcon project, Carol.");
    let sent = outbox().await;
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].event.as_str(), sent[0].addresses.as_slice()),
        ("invitation", &["carol@litware.example".to_owned(), "sam@litware.example".to_owned()][..])
    );
    assert_eq!(sent[0].subject, format!("{} invited you to its organization", s.tenant.display_name));
    assert!(
        sent[0].body.starts_with("Welcome to the Falcon project, Carol.") && sent[0].body.contains("https://apps.contoso.example/start"),
        "{}",
        sent[0].body
    );
    assert_eq!(audits().await, before + 1);
    // Again: the same guest, the mail once more, audited.
    let again = api.post("/v1.0/invitations", invite).await;
    assert_eq!((again.status, again.body["invitedUser"]["id"].clone()), (201, r.body["invitedUser"]["id"].clone()));
    assert_eq!((outbox().await.len(), audits().await, api.values("/v1.0/users").await.len()), (2, before + 2, 1));
    // The default text, in English.
    let plain = json!({ "invitedUserEmailAddress": "dan@litware.example", "inviteRedirectUrl": "https://x.example", "sendInvitationMessage": true,
                        "invitedUserMessageInfo": { "messageLanguage": "en-GB" } });
    assert_eq!(api.post("/v1.0/invitations", plain).await.status, 201);
    let sent = outbox().await;
    let dan = sent.iter().find(|m| m.addresses == ["dan@litware.example"]).unwrap();
    assert!(dan.body.contains("invited you (dan@litware.example)") && dan.body.contains("https://x.example"), "{}", dan.body);
    // A guest the tenant cannot take (its B2B name is taken): no mail, no record.
    s.store
        .create_user(s.tenant.id, tenantsync_domain::NewUser::new(tenantsync_domain::Upn::parse("eve_litware.example#EXT#@contoso.example").unwrap()))
        .await
        .unwrap();
    let (mails, records) = (outbox().await.len(), audits().await);
    let taken = json!({ "invitedUserEmailAddress": "eve@litware.example", "inviteRedirectUrl": "https://x.example", "sendInvitationMessage": true });
    let r = api.post("/v1.0/invitations", taken).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!((outbox().await.len(), audits().await), (mails, records));
    // What the mail may ask, refused with the property named; nothing made or sent.
    let users = api.values("/v1.0/users").await.len();
    for (info, names) in [
        (json!(5), "must be an object"),
        (json!({ "colour": "red" }), "invitedUserMessageInfo.colour"),
        (
            json!({ "ccRecipients": [{ "emailAddress": { "address": "a@x.example" } }, { "emailAddress": { "address": "b@x.example" } }] }),
            "only one additional recipient",
        ),
        (json!({ "ccRecipients": [{ "emailAddress": { "address": "nope" } }] }), "not an e-mail address"),
        (json!({ "ccRecipients": [{ "address": "a@x.example" }] }), "a recipient is"),
        (json!({ "ccRecipients": "a@x.example" }), "array of recipients"),
        (json!({ "customizedMessageBody": 7 }), "invitedUserMessageInfo.customizedMessageBody"),
        (json!({ "messageLanguage": "not a tag" }), "not a language tag"),
        (json!({ "messageLanguage": "fr-FR" }), "in English"),
    ] {
        let body = json!({ "invitedUserEmailAddress": "fay@litware.example", "inviteRedirectUrl": "https://x.example", "sendInvitationMessage": true,
                           "invitedUserMessageInfo": info });
        let r = api.post("/v1.0/invitations", body).await;
        assert_eq!(r.status, 400, "{names}: {}", r.body);
        assert!(r.body["error"]["message"].as_str().unwrap().contains(names), "{names}: {}", r.body);
    }
    assert_eq!((api.values("/v1.0/users").await.len(), outbox().await.len()), (users, mails));
    // In another language with the caller's own text: sent as given.
    let own = json!({ "invitedUserEmailAddress": "fay@litware.example", "inviteRedirectUrl": "https://x.example", "sendInvitationMessage": true,
                      "invitedUserMessageInfo": { "messageLanguage": "fr-FR", "customizedMessageBody": "Bienvenue, Fay." } });
    assert_eq!(api.post("/v1.0/invitations", own).await.status, 201);
    assert!(outbox().await.iter().any(|m| m.body.starts_with("Bienvenue, Fay.")));
}

#[tokio::test]
async fn a_batch_runs_its_requests_in_order_as_the_caller_and_refuses_what_it_cannot_hold() {
    let s = Server::start().await;
    let api = Api::new(&s, admin_token(&s, TokenRole::Admin).await);
    let adele = json!({ "accountEnabled": true, "displayName": "Adele", "mailNickname": "adele", "userPrincipalName": "adele@contoso.example",
                        "passwordProfile": { "password": "x!Y1z2w3" } });
    let batch = json!({ "requests": [
        { "id": "1", "method": "POST", "url": "/users", "headers": { "Content-Type": "application/json" }, "body": adele },
        { "id": "2", "method": "GET", "url": "users?$select=userPrincipalName", "dependsOn": ["1"] },
        { "id": "3", "method": "POST", "url": "/users", "body": { "displayName": "No name" } },
        { "id": "4", "method": "GET", "url": "/organization", "dependsOn": ["3"] },
        { "id": "5", "method": "PATCH", "url": "/v1.0/users/nobody@contoso.example", "body": { "jobTitle": "X" } },
    ] });
    let r = api.post("/v1.0/$batch", batch).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let got: Vec<(&str, u64)> = r.body["responses"].as_array().unwrap().iter().map(|x| (x["id"].as_str().unwrap(), x["status"].as_u64().unwrap())).collect();
    assert_eq!(got, [("1", 201), ("2", 200), ("3", 400), ("4", 424), ("5", 404)], "{}", r.body);
    let responses = &r.body["responses"];
    assert_eq!(responses[0]["body"]["userPrincipalName"], "adele@contoso.example");
    assert!(responses[0]["headers"]["content-type"].as_str().unwrap().starts_with("application/json"));
    assert_eq!(responses[1]["body"]["value"][0]["userPrincipalName"], "adele@contoso.example", "the second sees what the first made");
    assert!(responses[2]["body"]["error"]["message"].as_str().unwrap().contains("userPrincipalName"), "{}", responses[2]);
    assert_eq!(responses[3]["body"]["error"]["code"], "FailedDependency");

    // Refused whole, before anything runs.
    let one = |id: &str| json!({ "id": id, "method": "POST", "url": "/users", "body": { "displayName": "Z", "userPrincipalName": format!("z{id}@contoso.example"), "mailNickname": "z", "accountEnabled": true } });
    let many: Vec<Value> = (0..21).map(|i| one(&i.to_string())).collect();
    for (body, names) in [
        (json!({ "requests": many }), "1 to 20"),
        (json!({ "requests": [] }), "1 to 20"),
        (json!({ "nothing": [] }), "requests"),
        (json!({ "requests": [one("a"), one("a")] }), "taken"),
        (json!({ "requests": [one("a"), { "id": "b", "method": "GET", "url": "https://graph.microsoft.com/v1.0/users" }] }), "relative"),
        (json!({ "requests": [one("a"), { "id": "b", "method": "POST", "url": "/$batch", "body": {} }] }), "batch may hold"),
        (json!({ "requests": [one("a"), { "id": "b", "method": "GET", "url": "/users", "dependsOn": ["c"] }] }), "no earlier request"),
        (json!({ "requests": [one("a"), { "id": "b", "method": "TRACE", "url": "/users" }] }), "TRACE"),
        (json!({ "requests": [one("a"), { "id": "b", "method": "GET", "url": "/users", "headers": { "Authorization": "Bearer x" } }] }), "own token"),
        (json!({ "requests": [one("a"), { "method": "GET", "url": "/users" }] }), "requests[1]"),
    ] {
        let r = api.post("/v1.0/$batch", body).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body["error"]["message"].as_str().unwrap().contains(names), "{names}: {}", r.body);
    }
    assert_eq!(api.values("/v1.0/users").await.len(), 1, "a refused batch wrote nothing");

    // A reader's batch: its writes are refused one by one, as on their own.
    let reader = Api::new(&s, admin_token(&s, TokenRole::Reader).await);
    let r = reader.post("/v1.0/$batch", json!({ "requests": [one("w"), { "id": "r", "method": "GET", "url": "/users" }] })).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!((r.body["responses"][0]["status"].as_u64(), r.body["responses"][1]["status"].as_u64()), (Some(403), Some(200)));
    assert_eq!(s.raw("POST", "/v1.0/$batch", None, Some("{}"), &[]).await.status, 401, "no token, no batch");
}
