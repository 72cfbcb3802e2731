//! `POST /v1.0/$batch`: Graph's JSON batching. Up to 20 requests in one body, each with
//! an `id`, a `method`, a `url` relative to `/v1.0`, optional `headers` and `body`, and
//! `dependsOn` (ids of earlier requests of the batch). They run one after another in
//! the order given, through the same routes and checks as on their own, as the caller
//! (its token goes with each); a request whose dependency did not succeed is answered
//! 424 without running. The answer lists a response per request, in the same order,
//! each with its `id`, `status`, `headers` and JSON `body`.
//!
//! What a batch cannot hold is refused whole with a 400 naming it, before anything runs:
//! more than 20 requests, a request without `id`, `method` or `url`, a repeated id, an
//! absolute URL or one to `$batch`, a `dependsOn` naming no earlier request.
use super::access::required;
use super::error::{GraphError, GraphResult};
use super::openapi::{ApiRouter, Errors, only};
use super::{Shared, answer, read_object};
use crate::graph::caller::Caller;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use axum::response::Response;
use serde_json::{Map, Value, json};
use tower::ServiceExt;

/// Graph's limit on the requests of one batch.
const MAX_REQUESTS: usize = 20;

pub(super) fn routes(router: ApiRouter) -> ApiRouter {
    router.routes(only(utoipa_axum::routes!(batch)))
}

/// One request of a batch, checked.
struct Part {
    id: String,
    method: Method,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<Value>,
    depends_on: Vec<String>,
}

fn bad(i: usize, what: impl std::fmt::Display) -> GraphError {
    GraphError::bad_request(format!("requests[{i}]: {what}"))
}

fn part(i: usize, v: &Value, earlier: &[Part]) -> GraphResult<Part> {
    let o = v.as_object().ok_or_else(|| bad(i, "a request is an object"))?;
    let id = required(o, "id").map_err(|e| bad(i, e.message))?.to_owned();
    if earlier.iter().any(|p| p.id == id) {
        return Err(bad(i, format!("the id '{id}' is taken by an earlier request")));
    }
    let method_text = required(o, "method").map_err(|e| bad(i, e.message))?;
    let method = match method_text.to_ascii_uppercase().as_str() {
        "GET" => Method::GET,
        "POST" => Method::POST,
        "PATCH" => Method::PATCH,
        "PUT" => Method::PUT,
        "DELETE" => Method::DELETE,
        _ => return Err(bad(i, format!("the method '{method_text}' is not GET, POST, PATCH, PUT or DELETE"))),
    };
    let url = required(o, "url").map_err(|e| bad(i, e.message))?;
    if url.contains("://") || url.starts_with("//") {
        return Err(bad(i, format!("the url '{url}' must be relative to /v1.0, as '/users/{{id}}'")));
    }
    let relative = url.trim_start_matches('/');
    let relative = relative.strip_prefix("v1.0/").unwrap_or(relative);
    if relative.is_empty() || relative.starts_with("$batch") {
        return Err(bad(i, format!("the url '{url}' names no resource a batch may hold")));
    }
    let mut headers = Vec::new();
    match o.get("headers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(h)) => {
            for (k, v) in h {
                let v = v.as_str().ok_or_else(|| bad(i, format!("the header '{k}' must be a string")))?;
                if k.eq_ignore_ascii_case("authorization") {
                    return Err(bad(i, "a request of a batch is made with the batch's own token; it takes no Authorization header"));
                }
                headers.push((k.clone(), v.to_owned()));
            }
        }
        Some(_) => return Err(bad(i, "headers is an object of strings")),
    }
    let depends_on = match o.get("dependsOn") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(ids)) => {
            ids.iter().map(|d| d.as_str().map(str::to_owned).ok_or_else(|| bad(i, "dependsOn holds request ids"))).collect::<GraphResult<_>>()?
        }
        Some(_) => return Err(bad(i, "dependsOn is an array of request ids")),
    };
    if let Some(d) = depends_on.iter().find(|d| !earlier.iter().any(|p| &p.id == *d)) {
        return Err(bad(i, format!("dependsOn '{d}' names no earlier request of the batch")));
    }
    Ok(Part { id, method, path: format!("/v1.0/{relative}"), headers, body: o.get("body").filter(|b| !b.is_null()).cloned(), depends_on })
}

/// The response of one part, run through the routes as the caller.
async fn run(st: &Shared, auth: Option<&HeaderValue>, p: &Part) -> GraphResult<(u16, Map<String, Value>, Value)> {
    let router = st.batch.get().ok_or_else(GraphError::internal)?.clone();
    let mut req = Request::builder().method(p.method.clone()).uri(&p.path);
    if let Some(a) = auth {
        req = req.header(header::AUTHORIZATION, a);
    }
    for (k, v) in &p.headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let body = match &p.body {
        Some(b) => {
            if !p.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
                req = req.header(header::CONTENT_TYPE, "application/json");
            }
            Body::from(b.to_string())
        }
        None => Body::empty(),
    };
    let req = req.body(body).map_err(|e| GraphError::bad_request(format!("request '{}': {e}", p.id)))?;
    let res = router.oneshot(req).await.map_err(|_| GraphError::internal())?;
    let status = res.status().as_u16();
    let mut headers = Map::new();
    for (k, v) in res.headers() {
        if let Ok(v) = v.to_str()
            && matches!(k.as_str(), "content-type" | "location" | "retry-after" | "etag" | "odata-version")
        {
            headers.insert(k.as_str().to_owned(), Value::String(v.to_owned()));
        }
    }
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.map_err(|_| GraphError::internal())?;
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    Ok((status, headers, body))
}

#[utoipa::path(post, path = "/v1.0/$batch", tag = "batch", summary = "Run up to 20 requests in one: Graph's JSON batching", request_body(content = crate::graph::openapi::Object, description = "{requests: [{id, method, url, headers, body, dependsOn}]}", content_type = "application/json"), responses((status = 200, description = "{responses: [{id, status, headers, body}]} in the order of the requests", body = crate::graph::openapi::Object), Errors))]
async fn batch(State(st): State<Shared>, _caller: Caller, headers: HeaderMap, body: Body) -> GraphResult<Response> {
    // The caller is checked once here (401 otherwise); each request again as its own.
    let body = read_object(&st, body).await?;
    let requests = match body.get("requests") {
        Some(Value::Array(r)) => r,
        _ => return Err(GraphError::bad_request("a batch is {\"requests\": [ … ]}")),
    };
    if requests.is_empty() || requests.len() > MAX_REQUESTS {
        return Err(GraphError::bad_request(format!("a batch holds 1 to {MAX_REQUESTS} requests, not {}", requests.len())));
    }
    let mut parts: Vec<Part> = Vec::with_capacity(requests.len());
    for (i, r) in requests.iter().enumerate() {
        let p = part(i, r, &parts)?;
        parts.push(p);
    }
    let auth = headers.get(header::AUTHORIZATION);
    let mut done: Vec<(String, u16)> = Vec::new();
    let mut responses = Vec::with_capacity(parts.len());
    for p in &parts {
        let failed = p.depends_on.iter().find(|d| done.iter().any(|(id, s)| id == *d && !(200..300).contains(s)));
        let (status, headers, body) = match failed {
            Some(d) => {
                let e = json!({ "error": { "code": "FailedDependency", "message": format!("request '{d}' that this one depends on did not succeed") } });
                (StatusCode::FAILED_DEPENDENCY.as_u16(), Map::new(), e)
            }
            None => run(&st, auth, p).await?,
        };
        done.push((p.id.clone(), status));
        let mut r = json!({ "id": p.id, "status": status, "headers": headers });
        if !body.is_null() {
            super::set(&mut r, "body", body);
        }
        responses.push(r);
    }
    Ok(answer(StatusCode::OK, json!({ "responses": responses })))
}
