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
//! - `policy_shape`: a policy between Graph's shape and the access crate's;
//! - `edits`: the changes to a package or a policy the console makes too;
//! - `requests`: assignment requests, assignments, approvals;
//! - `resources`: a catalog's resources and the resource requests;
//! - `reviews`: access reviews of assignments (`identityGovernance/accessReviews`).
mod definitions;
pub(crate) mod edits;
mod packages;
mod policy_shape;
mod requests;
mod resources;
mod reviews;

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
    resources::routes(reviews::routes(requests::routes(packages::routes(definitions::routes(router)))))
}

/// Entitlement management of the server's store, or 501 when the store has none.
pub(crate) fn gov(st: &GraphState) -> GraphResult<&Governance> {
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

/// The header an admin token names the user it acts for with (an approver, a reviewer).
pub const ACTING_USER_HEADER: &str = "x-tenantsync-approver";

/// The user a call acts as: a personal token's user; for an admin token, the one its
/// `X-Tenantsync-Approver` header names (a user id or userPrincipalName of the tenant), if any.
async fn acting_user(st: &GraphState, caller: &Caller, headers: &axum::http::HeaderMap) -> GraphResult<Option<tenantsync_domain::ObjectId>> {
    if caller.user.is_some() {
        return Ok(caller.user);
    }
    let Some(v) = headers.get(ACTING_USER_HEADER) else { return Ok(None) };
    let v = v.to_str().map_err(|_| GraphError::bad_request("the X-Tenantsync-Approver header is not text"))?.trim();
    if let Ok(id) = v.parse::<tenantsync_domain::ObjectId>() {
        return Ok(Some(id));
    }
    let upn = tenantsync_domain::Upn::parse(v)
        .map_err(|_| GraphError::bad_request(format!("X-Tenantsync-Approver '{v}' is neither a user id nor a userPrincipalName")))?;
    match st.store.find_user_by_upn(caller.tenant, &upn).await? {
        Some(u) => Ok(Some(u.id)),
        None => Err(GraphError::new(GraphCode::Forbidden, format!("'{v}' is not a user of the tenant, so not an approver or reviewer"))),
    }
}

/// The `on` of a path segment `filterByCurrentUser(on='…')` (quotes optional), if it is one.
fn current_user_filter(segment: &str) -> Option<&str> {
    let inner = segment.strip_prefix("filterByCurrentUser(")?.strip_suffix(')')?;
    let value = inner.trim().strip_prefix("on")?.trim_start().strip_prefix('=')?.trim();
    Some(value.trim_matches('\''))
}

/// The user of a `filterByCurrentUser` call: the personal token's, or the one an admin
/// token names; a 400 when there is none.
async fn current_user(st: &GraphState, caller: &Caller, headers: &axum::http::HeaderMap) -> GraphResult<tenantsync_domain::ObjectId> {
    acting_user(st, caller, headers)
        .await?
        .ok_or_else(|| GraphError::bad_request("filterByCurrentUser needs a current user: use a personal token, or name the user in X-Tenantsync-Approver"))
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
pub(crate) fn text<'a>(body: &'a Map<String, Value>, key: &str) -> GraphResult<Option<&'a str>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(GraphError::bad_request(format!("the property '{key}' must be a string"))),
    }
}

/// A required string property.
pub(crate) fn required<'a>(body: &'a Map<String, Value>, key: &str) -> GraphResult<&'a str> {
    text(body, key)?.ok_or_else(|| GraphError::bad_request(format!("the property '{key}' is required")))
}

/// A boolean property (`None`: absent).
pub(crate) fn flag(body: &Map<String, Value>, key: &str) -> GraphResult<Option<bool>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(GraphError::bad_request(format!("the property '{key}' must be true or false"))),
    }
}

/// An object-valued property with only `keys` (`None`: absent).
pub(crate) fn object<'a>(body: &'a Map<String, Value>, key: &str, keys: &[&str]) -> GraphResult<Option<&'a Map<String, Value>>> {
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

/// A page of an entitlement collection: `$top` (default 100, at most 999) items in id
/// order after the one `$skiptoken` names, bound to the collection and its `$filter`.
struct Paging {
    params: Vec<(String, String)>,
    /// The collection's path under `/v1.0/` (its `@odata.context` and next link).
    path: String,
    filter: String,
    top: u32,
    after: Option<tenantsync_domain::ObjectId>,
}

impl Paging {
    /// The paging of a request's query; only `$filter`, `$top` and `$skiptoken` are taken.
    fn of(raw: Option<&str>, what: &'static str) -> GraphResult<Paging> {
        Self::at(raw, format!("{BASE}/{what}"), what)
    }

    /// The same for the collection at `path` (under `/v1.0/`), named `what` in errors.
    fn at(raw: Option<&str>, path: String, what: &str) -> GraphResult<Paging> {
        use super::page;
        let params = super::params(raw);
        let mut filter = String::new();
        let (mut top, mut token) = (None, None);
        for (k, v) in &params {
            match k.to_ascii_lowercase().as_str() {
                "$filter" => filter.clone_from(v),
                "$top" => {
                    let n: u32 = v.trim().parse().map_err(|_| GraphError::bad_request(format!("$top must be a whole number from 1 to 999, not '{v}'")))?;
                    if !(1..=999).contains(&n) {
                        return Err(GraphError::bad_request(format!("$top must be from 1 to 999, not {n}")));
                    }
                    top = Some(n);
                }
                "$skiptoken" => token = Some(v.clone()),
                o if o.starts_with('$') => return Err(GraphError::bad_request(format!("{what} take $filter, $top and $skiptoken, not {k}"))),
                _ => {}
            }
        }
        let after = match page::seek(token.as_deref(), &[&path, &filter])? {
            tenantsync_store::Seek::First => None,
            tenantsync_store::Seek::After(k) if k.value.is_none() => Some(k.id),
            _ => return Err(GraphError::bad_request("$skiptoken is not one this server issued for this query")),
        };
        Ok(Paging { params, path, filter, top: top.unwrap_or(page::DEFAULT_TOP), after })
    }

    /// How many to read: one more than a page, to know whether another follows.
    fn limit(&self) -> u32 {
        self.top + 1
    }

    /// The store range of the page: [`Paging::limit`] definitions after the cursor.
    fn range(&self) -> tenantsync_store::IdRange {
        tenantsync_store::IdRange { after: self.after, before: None, limit: self.limit() }
    }

    /// This paging, for a list that takes no `$filter` (400 otherwise).
    fn unfiltered(self) -> GraphResult<Paging> {
        if self.filter.is_empty() {
            Ok(self)
        } else {
            Err(GraphError::new(GraphCode::UnsupportedQuery, format!("/v1.0/{} takes $top and $skiptoken, not $filter", self.path)))
        }
    }

    /// The answer: the first `$top` of `items` (read with [`Paging::limit`]), and a next
    /// link when there were more.
    fn answer<T>(&self, mut items: Vec<T>, id: impl Fn(&T) -> tenantsync_domain::ObjectId, json: impl Fn(&T) -> Value) -> axum::response::Response {
        use super::page;
        let more = items.len() > self.top as usize;
        items.truncate(self.top as usize);
        let mut body = serde_json::json!({
            "@odata.context": super::context(&self.path),
            "value": items.iter().map(json).collect::<Vec<_>>(),
        });
        if let Some(last) = items.last().filter(|_| more) {
            let seek = tenantsync_store::Seek::After(tenantsync_store::Keyset { value: None, id: id(last) });
            let token = page::skiptoken(&seek, &[&self.path, &self.filter]);
            super::set(&mut body, "@odata.nextLink", Value::String(page::next_link(&super::base(), &format!("/v1.0/{}", self.path), &self.params, &token)));
        }
        super::answer(axum::http::StatusCode::OK, body)
    }
}

/// An entity answer with its `@odata.context`.
fn entity(status: axum::http::StatusCode, what: &str, mut v: Value) -> axum::response::Response {
    super::set(&mut v, "@odata.context", Value::String(super::context(&format!("{BASE}/{what}/$entity"))));
    super::answer(status, v)
}
