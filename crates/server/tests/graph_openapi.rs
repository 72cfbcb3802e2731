//! `GET /v1.0/$openapi`: an OpenAPI 3.1 document generated from the handlers, listing
//! every route the server answers, each with Graph's error responses.
use crate::graph_support::{Api, admin_token};
use crate::support::Server;
use serde_json::Value;
use tenantsync_store::TokenRole;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_every_route_and_matches_what_is_served() {
    let s = Server::start().await;
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
    }
    // A method a path does not document is not served either.
    assert_eq!(reader.raw("PUT", "/v1.0/users", None).await.status, 405);
    assert_eq!(reader.raw("DELETE", "/v1.0/auditLogs/provisioning", None).await.status, 405);
    // The document names the error body's schema.
    let body: &Value = &doc["components"]["schemas"]["GraphErrorBody"];
    assert_eq!(body["properties"]["error"]["$ref"], "#/components/schemas/GraphErrorDetail");
    // SCIM tokens are refused here as everywhere under /v1.0.
    assert_eq!(s.raw("GET", "/v1.0/$openapi", Some(&s.token), None, &[]).await.status, 403);
}
