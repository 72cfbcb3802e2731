//! The admin API under `/v1.0/`, shaped like Microsoft Graph v1.0, so the clients identity
//! admins already use (msgraph-sdk, PowerShell, Terraform providers) drive tenantsync by
//! changing the base URL and the token. The bearer token decides the tenant and what the
//! request may do ([`caller`]); every answer and error has Graph's shapes ([`error`]),
//! collections page with an absolute `@odata.nextLink` ([`page`]) and take Graph's OData
//! options ([`odata`]). Like SCIM, it has no business logic of its own: directory writes
//! are the store's, sync semantics the engine's.
//!
//! - `caller`: the token, its tenant and role;
//! - `error`: Graph's error body and [`error::GraphCode`]'s table;
//! - `odata`: `$filter`, `$select`, `$top`, `$orderby`, `$count`, `$skiptoken`;
//! - `page`: `$skiptoken` and `@odata.nextLink`;
//! - `organization`: the token's tenant as Graph's `organization`;
//! - `audit`: the admin audit log (`auditLogs/directoryAudits`) and the records writes make;
//! - `user_json`, `users`: Graph's `user` and `/users` (with `memberOf`);
//! - `manager`: `/users/{id}/manager` and `manager/$ref`;
//! - `groups`, `members`: Graph's `group`, `/groups`, `members` and `members/$ref`;
//! - `delta`: `/users/delta` and `/groups/delta` from the change feed;
//! - `policies`: `policies/crossTenantAccessPolicy` (default, partners, identitySynchronization);
//! - `sync`: service principals of the cross-tenant sync template and their synchronization jobs;
//! - `logs`: `auditLogs/provisioning`;
//! - `access`: entitlement management (`identityGovernance/entitlementManagement`);
//! - `openapi`: the OpenAPI document of `/v1.0`, generated from the handlers.
pub(crate) mod access;
pub mod audit;
mod batch;
pub mod caller;
mod delta;
pub mod error;
mod groups;
mod invitations;
mod logs;
mod manager;
pub use logs::action_name as logs_action_name;
mod members;
pub mod odata;
pub mod openapi;
mod organization;
pub mod page;
pub(crate) mod policies;
mod sync;
mod user_json;
mod users;

use crate::Config;
use crate::auth::RateLimiter;
use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use error::{GraphCode, GraphError, GraphResult};
use serde_json::{Map, Value};
use std::sync::Arc;
use tenantsync_engine::Engine;
use tenantsync_store::SyncStore;

/// What every admin API handler shares.
pub struct GraphState {
    pub store: Arc<dyn SyncStore>,
    pub engine: Engine,
    pub limiter: RateLimiter,
    pub config: Config,
    /// The OpenAPI document of the routes, set once they are built.
    pub openapi: std::sync::OnceLock<openapi::Document>,
    /// The routes themselves, for `$batch` to run its requests through (set once built;
    /// it holds this state in turn, for the life of the server).
    pub batch: std::sync::OnceLock<Router>,
}

impl std::fmt::Debug for GraphState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphState").finish_non_exhaustive()
    }
}

pub type Shared = Arc<GraphState>;

/// The routes of `/v1.0`.
pub fn router(store: Arc<dyn SyncStore>, config: Config) -> Router {
    let limiter = RateLimiter::new(config.rate_per_second, config.rate_burst);
    let state = Arc::new(GraphState {
        engine: Engine::new(store.clone()),
        store,
        limiter,
        config,
        openapi: std::sync::OnceLock::new(),
        batch: std::sync::OnceLock::new(),
    });
    let mut routes = openapi::ApiRouter::new();
    for add in [
        organization::routes,
        users::routes,
        invitations::routes,
        batch::routes,
        manager::routes,
        groups::routes,
        members::routes,
        delta::routes,
        policies::routes,
        sync::routes,
        logs::routes,
        audit::routes,
        access::routes,
        openapi::routes,
    ] {
        routes = add(routes);
    }
    let (routes, doc) = routes.split_for_parts();
    // Set once, here: the state is new.
    let _ = state.openapi.set(openapi::Document::new(&openapi::finish(doc)));
    let router = routes
        .route("/v1.0", axum::routing::any(not_found))
        .route("/v1.0/", axum::routing::any(not_found))
        .route("/v1.0/{*rest}", axum::routing::any(not_found))
        .layer(axum::middleware::from_fn(request_id))
        .with_state(state.clone());
    let _ = state.batch.set(router.clone());
    router
}

async fn not_found() -> GraphError {
    GraphError::not_found("Resource not found for the segment")
}

async fn method_not_allowed() -> GraphError {
    GraphError::new(GraphCode::MethodNotAllowed, "this method is not supported on this resource")
}

/// `method` on a route; any other method is Graph's 405.
pub fn only(method: axum::routing::MethodRouter<Shared>) -> axum::routing::MethodRouter<Shared> {
    method.fallback(method_not_allowed)
}

/// Errors of the request name its id (`innerError.request-id`).
async fn request_id(req: Request, next: Next) -> Response {
    let id: Arc<str> = req.extensions().get::<crate::observe::RequestId>().map_or_else(|| Arc::from(""), |r| r.0.clone());
    error::with_request_id(id, next.run(req)).await
}

/// The request body as a JSON object, refused past `max_body_bytes` (413) and when it is
/// not an object (400).
pub async fn read_object(st: &GraphState, body: Body) -> GraphResult<Map<String, Value>> {
    let limit = st.config.max_body_bytes;
    let bytes =
        axum::body::to_bytes(body, limit).await.map_err(|_| GraphError::new(GraphCode::TooLarge, format!("the request body is larger than {limit} bytes")))?;
    if bytes.is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(_) => Err(GraphError::bad_request("the request body must be a JSON object")),
        Err(e) => Err(GraphError::bad_request(format!("the request body is not valid JSON: {e}"))),
    }
}

/// The query string's parameters, percent-decoded, in order.
pub fn params(raw: Option<&str>) -> Vec<(String, String)> {
    raw.map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default()
}

/// Whether the request says `ConsistencyLevel: eventual` (Graph's advanced queries:
/// `$count`, `ne`, `not`, `endsWith`).
pub fn eventual(headers: &axum::http::HeaderMap) -> bool {
    headers.get("consistencylevel").and_then(|v| v.to_str().ok()).is_some_and(|v| v.trim().eq_ignore_ascii_case("eventual"))
}

/// The public base of absolute links (`@odata.nextLink`, `@odata.context`).
pub fn base() -> Arc<str> {
    crate::origin::current()
}

/// `@odata.context` of `what` (`users`, `groups/$entity`, …).
pub fn context(what: &str) -> String {
    format!("{}/v1.0/$metadata#{what}", base())
}

/// Sets `key` of the object `v` (a null becomes an object; anything else is left as it is).
pub fn set(v: &mut Value, key: &str, value: Value) {
    if v.is_null() {
        *v = Value::Object(Map::new());
    }
    if let Some(o) = v.as_object_mut() {
        o.insert(key.to_owned(), value);
    }
}

/// A JSON answer with a status.
pub fn answer(status: axum::http::StatusCode, body: Value) -> Response {
    use axum::response::IntoResponse;
    // Straight to bytes: `to_string` goes through `fmt::Write` a fragment at a time.
    let mut res = (status, serde_json::to_vec(&body).unwrap_or_default()).into_response();
    res.headers_mut().insert(axum::http::header::CONTENT_TYPE, axum::http::HeaderValue::from_static("application/json"));
    res
}

/// `204 No Content`.
pub fn no_content() -> Response {
    use axum::response::IntoResponse;
    axum::http::StatusCode::NO_CONTENT.into_response()
}

/// An object id of a path segment; anything else names no object (404, as Graph).
pub fn object_id(segment: &str, what: &str) -> GraphResult<tenantsync_domain::ObjectId> {
    segment.parse().map_err(|_| GraphError::not_found(format!("{what} '{segment}' does not exist")))
}

/// Refuses the properties of `body` that are not `allowed` (OData annotations such as
/// `@odata.type` aside), naming them.
pub fn only_known(body: &Map<String, Value>, allowed: &[&str]) -> GraphResult<()> {
    let unknown: Vec<&str> = body.keys().map(String::as_str).filter(|k| !k.contains('@') && !allowed.contains(k)).collect();
    match unknown.as_slice() {
        [] => Ok(()),
        [one] => Err(GraphError::bad_request(format!("the property '{one}' does not exist on this resource or cannot be written"))),
        many => Err(GraphError::bad_request(format!("the properties {} do not exist on this resource or cannot be written", many.join(", ")))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_properties_are_named() {
        let body: Map<String, Value> = serde_json::from_str(r##"{"displayName":"x","@odata.type":"#microsoft.graph.user","nmae":1}"##).unwrap();
        let e = only_known(&body, &["displayName"]).unwrap_err();
        assert_eq!(e.code, GraphCode::BadRequest);
        assert!(e.message.contains("'nmae'"), "{}", e.message);
        assert!(only_known(&body, &["displayName", "nmae"]).is_ok());
    }
}
