//! A user's manager, as Graph has it: `GET /users/{id}/manager` (the manager, `404` when
//! there is none), `PUT /users/{id}/manager/$ref` (`{"@odata.id": "…/users/{managerId}"}`)
//! and `DELETE /users/{id}/manager/$ref`. The manager is the user's `manager` attribute:
//! a write is the same store update (with its change row and audit record) as a `PATCH`
//! of the user, retried when another write came between its read and its commit.
use super::audit::Entry;
use super::caller::Caller;
use super::error::{GraphCode, GraphError, GraphResult};
use super::{Shared, users};
use crate::graph::openapi::{ApiRouter, only};
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use tenantsync_domain::{ObjectId, UserPatch, UserRef};
use tenantsync_store::{AuditCategory, AuditOperation, StoreError, WriteOp};

/// How often a write is retried after another write changed the user meanwhile.
const WRITE_RETRIES: usize = 8;

pub(super) fn routes(router: ApiRouter) -> ApiRouter {
    router.routes(only(utoipa_axum::routes!(read))).routes(only(utoipa_axum::routes!(set, clear)))
}

/// Graph's answer when a user has no manager.
fn none() -> GraphError {
    GraphError::not_found("Resource 'manager' does not exist or one of its queried reference-property objects are not present.")
}

#[utoipa::path(get, path = "/v1.0/users/{id}/manager", tag = "users", summary = "A user's manager", params(("id" = String, Path, description = "the user's id or userPrincipalName")), responses((status = 200, description = "the manager, a microsoft.graph.user", body = crate::graph::openapi::Object), crate::graph::openapi::Errors))]
async fn read(State(st): State<Shared>, caller: Caller, Path(id): Path<String>, RawQuery(raw): RawQuery) -> GraphResult<Response> {
    let params = super::params(raw.as_deref());
    let q = super::odata::parse(&params, &|_: &str| None)?;
    super::user_json::check_select(&q.select)?;
    let u = users::find(&st, &caller, &id).await?;
    let manager = u.attrs.manager.ok_or_else(none)?;
    // A manager deleted since is no manager (as Graph answers once it is gone).
    let m = users::find(&st, &caller, &manager.to_string()).await.map_err(|_| none())?;
    let mut body = super::user_json::render(&m, &q.select);
    super::set(&mut body, "@odata.context", json!(super::context("directoryObjects/$entity")));
    super::set(&mut body, "@odata.type", json!("#microsoft.graph.user"));
    Ok(super::answer(StatusCode::OK, body))
}

#[utoipa::path(put, path = "/v1.0/users/{id}/manager/$ref", tag = "users", summary = "Set a user's manager", params(("id" = String, Path, description = "the user's id or userPrincipalName")), request_body(content = crate::graph::openapi::Object, description = "{\"@odata.id\": \"…/users/{id}\"}", content_type = "application/json"), responses((status = 204, description = "done"), crate::graph::openapi::Errors))]
async fn set(State(st): State<Shared>, caller: Caller, Path(id): Path<String>, body: Body) -> GraphResult<Response> {
    let body = super::read_object(&st, body).await?;
    super::only_known(&body, &[])?;
    let url = body.get("@odata.id").and_then(Value::as_str).ok_or_else(|| GraphError::bad_request("the body must name the manager in '@odata.id'"))?;
    let manager = super::members::reference_id(url)?;
    // The manager must be a live user of the tenant: 404 otherwise, as in Graph.
    let m = users::find(&st, &caller, &manager.to_string()).await?;
    write(&st, &caller, &id, Some(m.id)).await
}

#[utoipa::path(delete, path = "/v1.0/users/{id}/manager/$ref", tag = "users", summary = "Remove a user's manager", params(("id" = String, Path, description = "the user's id or userPrincipalName")), responses((status = 204, description = "done"), crate::graph::openapi::Errors))]
async fn clear(State(st): State<Shared>, caller: Caller, Path(id): Path<String>) -> GraphResult<Response> {
    write(&st, &caller, &id, None).await
}

/// Sets (or, `None`, removes) the manager of user `id`: one update through the store.
async fn write(st: &Shared, caller: &Caller, id: &str, manager: Option<ObjectId>) -> GraphResult<Response> {
    for _ in 0..WRITE_RETRIES {
        let u = users::find(st, caller, id).await?;
        if manager.is_none() && u.attrs.manager.is_none() {
            return Err(none());
        }
        if manager == Some(u.id) {
            return Err(GraphError::bad_request("a user cannot be their own manager"));
        }
        if u.attrs.manager == manager {
            return Ok(super::no_content());
        }
        let entry = Entry::new("Update user", AuditOperation::Update, AuditCategory::UserManagement, "User", u.id)
            .named(u.attrs.display_name.as_deref())
            .upn(u.attrs.user_principal_name.as_str())
            .change("manager", u.attrs.manager.map(|m| m.to_string()), manager.map(|m| m.to_string()));
        let patch = UserPatch { set: Vec::new(), manager: Some(manager.map(UserRef::Id)) };
        let op = WriteOp::UpdateUser { id: u.id, patch, if_match: Some(u.version) };
        match st.store.apply_audited(caller.tenant, vec![op], entry.record(st, caller)).await {
            Ok(_) => return Ok(super::no_content()),
            // Another write came between the read and this one: read again.
            Err(StoreError::VersionMismatch { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(GraphError::new(GraphCode::Conflict, "the user kept changing while its manager was set; retry"))
}
