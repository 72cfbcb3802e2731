//! Entitlement management as Graph's `identityGovernance/entitlementManagement`: connected
//! organizations with their sponsors, catalogs, access packages with their resource role
//! scopes and incompatible packages, assignment policies, assignment requests, assignments,
//! approvals and the settings. Like the rest of the admin API it keeps no rules of its
//! own: it parses Graph's bodies, calls [`Governance`], and shapes Graph's JSON.
//!
//! The routes need a store with entitlement management (`Config::access`); without one
//! they answer 501 `Request_NotImplemented`.
//!
//! - `definitions`: connected organizations, catalogs, settings;
//! - `packages`: access packages, resource role scopes, incompatible packages, policies;
//! - `requests`: assignment requests, assignments, approvals.
mod definitions;
mod packages;
mod requests;

use super::audit::Entry;
use super::caller::Caller;
use super::error::{GraphCode, GraphError, GraphResult};
use super::{GraphState, openapi::ApiRouter};
use serde_json::{Map, Value};
use tenantsync_governance::{Governance, GovernanceError};
use tenantsync_store::{AuditCategory, AuditOperation};

/// The base path of entitlement management.
pub(crate) const BASE: &str = "identityGovernance/entitlementManagement";

pub(super) fn routes(router: ApiRouter) -> ApiRouter {
    requests::routes(packages::routes(definitions::routes(router)))
}

/// Entitlement management of the server's store, or 501 when the store has none.
fn gov(st: &GraphState) -> GraphResult<&Governance> {
    st.config
        .access
        .as_ref()
        .ok_or_else(|| GraphError::new(GraphCode::NotImplemented, "this server was started without entitlement management (its store does not keep it)"))
}

impl From<GovernanceError> for GraphError {
    fn from(e: GovernanceError) -> GraphError {
        match e {
            GovernanceError::Store(s) => s.into(),
            GovernanceError::Engine(s) => s.into(),
            other => GraphError::from_info(other.info(), other.to_string()),
        }
    }
}

/// The audit entry of a write of entitlement management.
fn entry(activity: &str, op: AuditOperation, kind: &str, id: impl ToString) -> Entry {
    Entry::new(activity, op, AuditCategory::EntitlementManagement, kind, id)
}

/// Records `entry` for a write that committed.
async fn audit(st: &GraphState, caller: &Caller, entry: Entry) {
    super::audit::after(st, caller, entry).await;
}

/// A path segment as an id of type `T`; anything else names no object (404).
fn id_of<T: std::str::FromStr>(segment: &str, what: &str) -> GraphResult<T> {
    segment.parse().map_err(|_| GraphError::not_found(format!("{what} '{segment}' does not exist")))
}

/// A string property of a body (`None`: absent); another type is a 400 naming it.
fn text<'a>(body: &'a Map<String, Value>, key: &str) -> GraphResult<Option<&'a str>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(GraphError::bad_request(format!("the property '{key}' must be a string"))),
    }
}

/// A required string property.
fn required<'a>(body: &'a Map<String, Value>, key: &str) -> GraphResult<&'a str> {
    text(body, key)?.ok_or_else(|| GraphError::bad_request(format!("the property '{key}' is required")))
}

/// A boolean property (`None`: absent).
fn flag(body: &Map<String, Value>, key: &str) -> GraphResult<Option<bool>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(GraphError::bad_request(format!("the property '{key}' must be true or false"))),
    }
}

/// An object-valued property with only `keys` (`None`: absent).
fn object<'a>(body: &'a Map<String, Value>, key: &str, keys: &[&str]) -> GraphResult<Option<&'a Map<String, Value>>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => {
            if let Some(k) = o.keys().find(|k| !k.contains('@') && !keys.contains(&k.as_str())) {
                return Err(GraphError::bad_request(format!("the property '{key}.{k}' does not exist or cannot be written")));
            }
            Ok(Some(o))
        }
        Some(_) => Err(GraphError::bad_request(format!("the property '{key}' must be an object"))),
    }
}

/// A value of a Graph type read with serde (a 400 naming `what` and the problem).
fn parse<T: serde::de::DeserializeOwned>(v: Value, what: &str) -> GraphResult<T> {
    serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        let at = if path == "." { String::new() } else { format!(" at '{path}'") };
        GraphError::bad_request(format!("{what}{at}: {}", e.inner()))
    })
}

/// A value as JSON (the access crate's types serialize as Graph's).
fn json_of<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// A collection answer of `what` (`connectedOrganizations`, …).
fn collection(what: &str, value: Vec<Value>) -> axum::response::Response {
    super::answer(axum::http::StatusCode::OK, serde_json::json!({ "@odata.context": super::context(&format!("{BASE}/{what}")), "value": value }))
}

/// An entity answer with its `@odata.context`.
fn entity(status: axum::http::StatusCode, what: &str, mut v: Value) -> axum::response::Response {
    super::set(&mut v, "@odata.context", Value::String(super::context(&format!("{BASE}/{what}/$entity"))));
    super::answer(status, v)
}
