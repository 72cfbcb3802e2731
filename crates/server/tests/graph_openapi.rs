//! `GET /v1.0/$openapi`: an OpenAPI 3.1 document generated from the handlers, listing
//! every route the server answers, each with Graph's error responses; on each route a
//! reader only reads and a SCIM token is refused.
use crate::graph_support::{Api, admin_token};
use crate::support::Server;
use serde_json::Value;
use tenantsync_store::TokenRole;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_every_route_and_matches_what_is_served() {
    let s = Server::governed().await;
    let reader = Api::new(&s, admin_token(&s, TokenRole::Reader).await);
    let r = reader.get("/v1.0/$openapi").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let doc = r.body;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    assert_eq!(doc["info"]["title"], "tenantsync admin API");
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    let paths = doc["paths"].as_object().unwrap();
    let ops: Vec<(String, String)> =
        paths.iter().flat_map(|(p, item)| METHODS.iter().filter(|m| item.get(**m).is_some()).map(move |m| (m.to_uppercase(), p.clone()))).collect();
    // What issue 15 asks for is there.
    for (method, path) in [
        ("GET", "/v1.0/users"),
        ("POST", "/v1.0/users"),
        ("PATCH", "/v1.0/users/{id}"),
        ("GET", "/v1.0/users/{id}/memberOf"),
        ("GET", "/v1.0/users/{id}/manager"),
        ("PUT", "/v1.0/users/{id}/manager/$ref"),
        ("DELETE", "/v1.0/users/{id}/manager/$ref"),
        ("POST", "/v1.0/groups/{id}/members/$ref"),
        ("DELETE", "/v1.0/groups/{id}/members/{member}/$ref"),
        ("GET", "/v1.0/users/delta"),
        ("GET", "/v1.0/groups/delta"),
        ("PATCH", "/v1.0/policies/crossTenantAccessPolicy/default"),
        ("POST", "/v1.0/policies/crossTenantAccessPolicy/partners"),
        ("PUT", "/v1.0/policies/crossTenantAccessPolicy/partners/{tenant}/identitySynchronization"),
        ("POST", "/v1.0/applicationTemplates/{template}/instantiate"),
        ("PUT", "/v1.0/servicePrincipals/{id}/synchronization/secrets"),
        ("POST", "/v1.0/servicePrincipals/{id}/synchronization/jobs/{job}/provisionOnDemand"),
        ("POST", "/v1.0/servicePrincipals/{id}/synchronization/jobs/{job}/restart"),
        ("PUT", "/v1.0/servicePrincipals/{id}/synchronization/jobs/{job}/schema"),
        ("POST", "/v1.0/servicePrincipals/{id}/synchronization/jobs/{job}/schema/parseExpression"),
        ("POST", "/v1.0/servicePrincipals/{id}/appRoleAssignedTo"),
        ("GET", "/v1.0/auditLogs/provisioning"),
        ("GET", "/v1.0/auditLogs/directoryAudits"),
        ("GET", "/v1.0/$openapi"),
        ("POST", "/v1.0/identityGovernance/entitlementManagement/assignmentRequests"),
        ("PATCH", "/v1.0/identityGovernance/entitlementManagement/accessPackageAssignmentApprovals/{id}/stages/{stage}"),
    ] {
        assert!(ops.contains(&(method.to_owned(), path.to_owned())), "{method} {path} is not in the document");
    }
    assert!(ops.len() >= 50, "{} operations", ops.len());
    let list = &paths["/v1.0/users"]["get"];
    let params: Vec<&str> = list["parameters"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    for p in ["$filter", "$select", "$top", "$orderby", "$count", "$skiptoken", "ConsistencyLevel"] {
        assert!(params.contains(&p), "{p} in {params:?}");
    }
    // Every operation: a summary, a tag, Graph's error answers (from GraphCode's table).
    for (method, path) in &ops {
        let op = &paths[path][method.to_lowercase()];
        assert!(op["summary"].is_string() && op["tags"][0].is_string(), "{method} {path}");
        for status in ["400", "401", "403", "404", "429"] {
            let e = &op["responses"][status];
            assert_eq!(e["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/GraphErrorBody", "{method} {path} {status}");
        }
        // Each is served: a reader reaches the handler (200, 403 for a write, 404 of an
        // object), never the fallback for unknown segments.
        let concrete = path.replace("{template}", "518e5f48-1fc8-4c48-9387-9fdf28b0dfe7").replace('{', "x").replace('}', "");
        let res = reader.raw(method, &concrete, None).await;
        let msg = res.body["error"]["message"].as_str().unwrap_or_default();
        assert!(res.status < 500 && res.status != 405 && msg != "Resource not found for the segment", "{method} {concrete}: {} {}", res.status, res.body);
        // Readers only read: every write route refuses them before reading the body
        // (a batch is let in, its requests checked one by one).
        if method != "GET" && path != "/v1.0/$batch" {
            assert_eq!((res.status, res.body["error"]["code"].as_str()), (403, Some("Authorization_RequestDenied")), "{method} {concrete}");
        }
        // SCIM tokens are refused on every route.
        let scim = s.raw(method, &concrete, Some(&s.token), None, &[]).await;
        assert_eq!((scim.status, scim.body["error"]["code"].as_str()), (403, Some("Authorization_RequestDenied")), "{method} {concrete} with a SCIM token");
    }
    // A method a path does not document is not served either.
    assert_eq!(reader.raw("PUT", "/v1.0/users", None).await.status, 405);
    assert_eq!(reader.raw("DELETE", "/v1.0/auditLogs/provisioning", None).await.status, 405);
    // The document names the error body's schema.
    let body: &Value = &doc["components"]["schemas"]["GraphErrorBody"];
    assert_eq!(body["properties"]["error"]["$ref"], "#/components/schemas/GraphErrorDetail");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_client_body_makes_a_5xx_or_a_write_on_any_route() {
    let s = Server::governed_with(tenantsync_server::Config { max_body_bytes: 4096, rate_per_second: 0, rate_burst: 0, access: None, console: None }).await;
    let api = Api::new(&s, admin_token(&s, TokenRole::Admin).await);
    let other = crate::support::tenant(s.store.as_ref(), "fabrikam.example").await;
    // One of everything, so bodies reach the handlers' validation.
    let user = api.user("a@contoso.example", "A").await;
    let group = api.post("/v1.0/groups", serde_json::json!({"displayName": "G"})).await.body["id"].as_str().unwrap().to_owned();
    let policy = "/v1.0/policies/crossTenantAccessPolicy";
    assert_eq!(api.post(&format!("{policy}/partners"), serde_json::json!({"tenantId": other.id})).await.status, 201);
    let t = "518e5f48-1fc8-4c48-9387-9fdf28b0dfe7";
    let sp = api.post(&format!("/v1.0/applicationTemplates/{t}/instantiate"), serde_json::json!({"displayName": "F"})).await.body["servicePrincipal"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let job = api.post(&format!("/v1.0/servicePrincipals/{sp}/synchronization/jobs"), serde_json::json!({"templateId": "Azure2Azure"})).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let audits = || async { api.values("/v1.0/auditLogs/directoryAudits?$top=999").await.len() };
    let before = audits().await;
    let doc = api.get("/v1.0/$openapi").await.body;
    let mut tried = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            if op.get("requestBody").is_none() {
                continue;
            }
            let concrete = path
                .replace("{template}", t)
                .replace("{tenant}", &other.id.to_string())
                .replace("{member}", &user)
                .replace("{job}", &job)
                .replace("{assignment}", &user)
                .replace(
                    "{id}",
                    if path.starts_with("/v1.0/users") {
                        &user
                    } else if path.starts_with("/v1.0/groups") {
                        &group
                    } else {
                        &sp
                    },
                );
            let big = format!("{{\"displayName\": \"{}\"}}", "x".repeat(5000));
            for body in ["{", "[1]", "\"text\"", "{\"noSuchProperty\": 1}", "{\"displayName\": {\"nested\": [1]}, \"tenantId\": 7}", big.as_str()] {
                let r = api.raw(&method.to_uppercase(), &concrete, Some(body)).await;
                let ok = (400..500).contains(&r.status) && r.body["error"]["code"].is_string();
                assert!(ok, "{method} {concrete} with {}: {} {}", &body[..body.len().min(60)], r.status, r.body);
                tried += 1;
            }
        }
    }
    assert!(tried >= 20 * 6, "{tried}");
    assert_eq!(audits().await, before, "nothing was written");
}
