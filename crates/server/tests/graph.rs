//! The admin API's foundation: the token decides the tenant and what it may do; errors
//! have Graph's shape with our code and the request id inside.
use crate::support::Server;
use tenantsync_store::TokenRole;

async fn token(s: &Server, role: TokenRole) -> String {
    let issued = tenantsync_server::auth::issue(s.tenant.id, format!("{role:?}"), role, None).unwrap();
    s.store.create_token(issued.record).await.unwrap();
    issued.token
}

#[tokio::test]
async fn the_token_decides_the_tenant_and_its_role_what_it_may_do() {
    let s = Server::start().await;
    let admin = token(&s, TokenRole::Admin).await;
    let reader = token(&s, TokenRole::Reader).await;
    let r = s.raw("GET", "/v1.0/organization", Some(&admin), None, &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["value"][0]["id"], s.tenant.id.to_string());
    assert_eq!(r.body["value"][0]["verifiedDomains"][0]["name"], "contoso.example");
    assert_eq!(s.raw("GET", "/v1.0/organization", Some(&reader), None, &[]).await.status, 200, "a reader reads");

    let r = s.raw("POST", "/v1.0/organization", Some(&reader), Some("{}"), &[]).await;
    assert_eq!((r.status, r.body["error"]["code"].as_str()), (405, Some("Request_MethodNotAllowed")), "{}", r.body);
    let r = s.raw("GET", "/v1.0/organization", Some(&s.token), None, &[]).await;
    assert_eq!((r.status, r.body["error"]["code"].as_str()), (403, Some("Authorization_RequestDenied")), "a SCIM token is for SCIM only");
    for bad in [None, Some("tsync_nope"), Some(&*format!("{admin}0"))] {
        let r = s.raw("GET", "/v1.0/organization", bad, None, &[]).await;
        assert_eq!((r.status, r.body["error"]["code"].as_str()), (401, Some("InvalidAuthenticationToken")), "{bad:?}");
    }
}

#[tokio::test]
async fn unknown_segments_are_graph_s_not_found_with_the_request_id() {
    let s = Server::start().await;
    let admin = token(&s, TokenRole::Admin).await;
    for path in ["/v1.0", "/v1.0/", "/v1.0/nothingHere", "/v1.0/users/x/y/z"] {
        let r = s.raw("GET", path, Some(&admin), None, &[]).await;
        assert_eq!(r.status, 404, "{path}");
        let e = &r.body["error"];
        assert_eq!(e["code"], "Request_ResourceNotFound", "{path}: {}", r.body);
        assert!(e["message"].is_string() && e["innerError"]["date"].is_string(), "{}", r.body);
        assert_eq!(r.header("content-type"), Some("application/json"));
    }
}
