//! `POST /Bulk` (RFC 7644 §3.7): operations run in order, each as an internal request
//! through the same routes (so each is authorized, validated and written exactly like a
//! single request). `bulkId:<id>` in a path or anywhere in `data` names the resource a
//! POST of the same request created, before or after it in the request: an operation
//! waits for the POST it names. Not atomic: each operation commits alone; `failOnErrors`
//! stops after that many failures.
use crate::error::{ScimError, ScimResult};
use crate::json;
use axum::body::Body;
use axum::http::{HeaderMap, Request, header};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use tower::ServiceExt;

pub const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
pub const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
/// Most operations in one bulk request.
pub const MAX_OPERATIONS: usize = 1000;

/// Replaces every string `bulkId:<id>` by the created resource's id.
fn resolve(v: &mut Value, ids: &HashMap<String, String>) -> Result<(), String> {
    match v {
        Value::String(s) => {
            if let Some(b) = s.strip_prefix("bulkId:") {
                *s = ids.get(b).cloned().ok_or_else(|| b.to_owned())?;
            }
        }
        Value::Array(a) => {
            for x in a {
                resolve(x, ids)?;
            }
        }
        Value::Object(o) => {
            for (_, x) in o.iter_mut() {
                resolve(x, ids)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn resolve_path(path: &str, ids: &HashMap<String, String>) -> Result<String, String> {
    let mut out = Vec::new();
    for seg in path.split('/') {
        match seg.strip_prefix("bulkId:") {
            Some(b) => out.push(ids.get(b).cloned().ok_or_else(|| b.to_owned())?),
            None => out.push(seg.to_owned()),
        }
    }
    Ok(out.join("/"))
}

fn op_error(method: &str, bulk_id: Option<&str>, e: &ScimError) -> Value {
    let mut v = json!({ "method": method, "status": e.status.as_u16().to_string(), "response": e.body() });
    if let (Some(b), Some(o)) = (bulk_id, v.as_object_mut()) {
        o.insert("bulkId".into(), b.into());
    }
    v
}

/// The bulkIds an operation refers to (`bulkId:<id>` in its path or anywhere in its data).
fn references(op: &Map<String, Value>) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => {
                if let Some(b) = s.strip_prefix("bulkId:")
                    && !out.iter().any(|x| x == b)
                {
                    out.push(b.to_owned());
                }
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            Value::Object(o) => o.values().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Some(path) = json::get(op, "path").and_then(Value::as_str) {
        for seg in path.split('/') {
            walk(&Value::String(seg.to_owned()), &mut out);
        }
    }
    if let Some(data) = json::get(op, "data") {
        walk(data, &mut out);
    }
    out
}

/// Runs a bulk request. `app` serves the operations; `prefix` is `/scim/v2/{tenant}`.
///
/// Operations run in request order, except that one naming a bulkId that a later POST
/// defines waits until that POST has run (RFC 7644 §3.7.2: forward references resolve).
/// Operations whose references can never resolve because they wait on each other in a
/// cycle fail with 409 (the RFC's answer to circular references), as does everything that
/// waits on them; the rest of the request runs. The response lists the operations that
/// ran, in request order.
pub async fn run(app: axum::Router, prefix: &str, headers: &HeaderMap, body: &Value, max_body: usize) -> ScimResult<Value> {
    let (o, ops) = json::operations_message(body, BULK_REQUEST)?;
    if ops.len() > MAX_OPERATIONS {
        return Err(ScimError::too_large(max_body).with_detail(format!("a bulk request holds at most {MAX_OPERATIONS} operations")));
    }
    let fail_on_errors = match json::get(o, "failOnErrors") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_u64().filter(|n| *n > 0).ok_or_else(|| ScimError::invalid_value("failOnErrors must be a positive integer"))?),
    };
    let ops: Vec<Map<String, Value>> = ops.iter().map(|op| op.as_object().cloned().unwrap_or_default()).collect();
    let method_of = |op: &Map<String, Value>| json::get(op, "method").and_then(Value::as_str).unwrap_or_default().to_ascii_uppercase();
    let bulk_id_of = |op: &Map<String, Value>| json::get(op, "bulkId").and_then(Value::as_str).map(str::to_owned);
    // Which operation defines each bulkId (the first POST naming it).
    let mut defined_by: HashMap<String, usize> = HashMap::new();
    for (i, op) in ops.iter().enumerate() {
        if method_of(op) == "POST"
            && let Some(b) = bulk_id_of(op)
        {
            defined_by.entry(b).or_insert(i);
        }
    }
    /// One operation of the request and what became of it.
    struct Slot {
        op: Map<String, Value>,
        refs: Vec<String>,
        done: bool,
        result: Option<Value>,
    }
    let mut slots: Vec<Slot> = ops.into_iter().map(|op| Slot { refs: references(&op), op, done: false, result: None }).collect();
    let mut ids: HashMap<String, String> = HashMap::new();
    let mut errors = 0u64;
    loop {
        // The first operation, in request order, that waits on no POST still to run.
        let waits_on_nothing =
            |s: &Slot, slots: &[Slot]| s.refs.iter().all(|r| ids.contains_key(r) || defined_by.get(r).is_none_or(|&d| slots.get(d).is_none_or(|x| x.done)));
        let Some(i) = slots.iter().position(|s| !s.done && waits_on_nothing(s, &slots)) else { break };
        if fail_on_errors.is_some_and(|n| errors >= n) {
            return Ok(response(slots.into_iter().map(|s| s.result).collect()));
        }
        let Some(slot) = slots.get_mut(i) else { break };
        let method = method_of(&slot.op);
        let bulk_id = bulk_id_of(&slot.op);
        slot.done = true;
        match one(&app, prefix, headers, &slot.op, &method, bulk_id.as_deref(), &ids).await {
            Ok((result, created)) => {
                if let (Some(b), Some(id)) = (&bulk_id, created) {
                    ids.entry(b.clone()).or_insert(id);
                }
                if result.get("status").and_then(Value::as_str).is_some_and(|s| !s.starts_with('2')) {
                    errors += 1;
                }
                slot.result = Some(result);
            }
            Err(e) => {
                errors += 1;
                slot.result = Some(op_error(&method, bulk_id.as_deref(), &e));
            }
        }
    }
    // What is left waits, directly or through others, on a cycle of bulkId references.
    for slot in slots.iter_mut().filter(|s| !s.done) {
        if fail_on_errors.is_some_and(|n| errors >= n) {
            break;
        }
        errors += 1;
        let waits: Vec<&str> = slot.refs.iter().filter(|r| !ids.contains_key(*r)).map(String::as_str).collect();
        let e = ScimError::of(
            crate::error::ScimCode::CircularBulkReference,
            format!("bulkId references form a cycle: this operation waits on {} and none of them can be created first", waits.join(", ")),
        );
        slot.result = Some(op_error(&method_of(&slot.op), bulk_id_of(&slot.op).as_deref(), &e));
    }
    Ok(response(slots.into_iter().map(|s| s.result).collect()))
}

fn response(results: Vec<Option<Value>>) -> Value {
    json!({ "schemas": [BULK_RESPONSE], "Operations": results.into_iter().flatten().collect::<Vec<_>>() })
}

async fn one(
    app: &axum::Router,
    prefix: &str,
    headers: &HeaderMap,
    op: &Map<String, Value>,
    method: &str,
    bulk_id: Option<&str>,
    ids: &HashMap<String, String>,
) -> ScimResult<(Value, Option<String>)> {
    if !matches!(method, "POST" | "PUT" | "PATCH" | "DELETE") {
        return Err(ScimError::invalid_syntax(format!("unknown bulk method '{method}'")));
    }
    if method == "POST" && bulk_id.is_none() {
        return Err(ScimError::invalid_syntax("a POST in a bulk request needs a bulkId"));
    }
    let path = json::get(op, "path").and_then(Value::as_str).ok_or_else(|| ScimError::invalid_syntax("each operation needs a path"))?;
    // The resource type in any case, as in a request's path.
    let endpoint = path.strip_prefix('/').and_then(|p| p.split('/').next()).unwrap_or_default();
    if !(endpoint.eq_ignore_ascii_case("Users") || endpoint.eq_ignore_ascii_case("Groups")) || path.contains("..") || path.contains('?') {
        return Err(ScimError::invalid_path(format!("bulk operations address /Users or /Groups, not '{path}'")));
    }
    let unresolved =
        |b: String| ScimError::of(crate::error::ScimCode::UnresolvedBulkId, format!("bulkId '{b}' names no resource created earlier in this request"));
    let path = resolve_path(path, ids).map_err(unresolved)?;
    let mut data = json::get(op, "data").cloned().unwrap_or(Value::Null);
    resolve(&mut data, ids).map_err(unresolved)?;

    let mut req = Request::builder().method(method).uri(format!("{prefix}{path}"));
    for h in [header::AUTHORIZATION, header::HOST] {
        if let Some(v) = headers.get(&h) {
            req = req.header(h, v);
        }
    }
    if let Some(v) = json::get(op, "version").and_then(Value::as_str) {
        req = req.header(header::IF_MATCH, v);
    }
    let body = if data.is_null() { Body::empty() } else { Body::from(data.to_string()) };
    let req = req.body(body).map_err(|_| ScimError::invalid_path("the operation's path is not a valid URI path"))?;
    let res = app.clone().oneshot(req).await.map_err(|_| ScimError::internal())?;
    let status = res.status();
    let location = res.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let version = res.headers().get(header::ETAG).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.map_err(|_| ScimError::internal())?;
    let response: Value = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
    let created = (method == "POST" && status.is_success()).then(|| response.get("id").and_then(Value::as_str).map(str::to_owned)).flatten();
    let mut out = Map::new();
    out.insert("method".into(), method.into());
    if let Some(b) = bulk_id {
        out.insert("bulkId".into(), b.into());
    }
    if let Some(l) = location.or_else(|| {
        (status.is_success() && method != "DELETE").then(|| response.pointer("/meta/location").and_then(Value::as_str).map(str::to_owned)).flatten()
    }) {
        out.insert("location".into(), l.into());
    }
    if let Some(v) = version {
        out.insert("version".into(), v.into());
    }
    out.insert("status".into(), status.as_u16().to_string().into());
    if !status.is_success() {
        out.insert("response".into(), response);
    }
    Ok((Value::Object(out), created))
}
