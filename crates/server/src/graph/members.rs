//! A group's direct members: `GET /groups/{id}/members` (paged), `POST
//! /groups/{id}/members/$ref` (`{"@odata.id": ".../directoryObjects/{userId}"}`) and
//! `DELETE /groups/{id}/members/{userId}/$ref`. Members are users of the same tenant.
use super::audit::Entry;
use super::caller::Caller;
use super::error::{GraphError, GraphResult};
use super::{Shared, odata, page};
use crate::graph::openapi::{ApiRouter, only};
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use tenantsync_domain::ObjectId;
use tenantsync_store::{AuditCategory, AuditOperation, Keyset, ListQuery, Seek, StoreError, WriteOp};

pub(super) fn routes(router: ApiRouter) -> ApiRouter {
    router.routes(only(utoipa_axum::routes!(list))).routes(only(utoipa_axum::routes!(add))).routes(only(utoipa_axum::routes!(remove)))
}

/// The object id a reference URL (`…/directoryObjects/{id}`, `…/users/{id}`) ends in.
pub fn reference_id(url: &str) -> GraphResult<ObjectId> {
    let last = url.trim_end_matches('/').rsplit('/').next().unwrap_or_default();
    last.parse().map_err(|_| GraphError::bad_request(format!("'{url}' is not a reference to a directory object (…/directoryObjects/{{id}})")))
}

/// Membership errors as Graph answers them: a member that is not a user of the tenant,
/// or is one already, is a bad request.
pub fn member_error(e: StoreError) -> GraphError {
    match e {
        StoreError::MemberExists { .. } => {
            GraphError::bad_request("One or more added object references already exist for the following modified properties: 'members'.")
        }
        StoreError::NotFound { kind: tenantsync_domain::ObjectKind::User, id } => {
            GraphError::bad_request(format!("the member '{id}' is not a user of this tenant"))
        }
        StoreError::ObjectDeleted { kind: tenantsync_domain::ObjectKind::User, id } => {
            GraphError::bad_request(format!("the member '{id}' is not a user of this tenant"))
        }
        other => other.into(),
    }
}

#[utoipa::path(get, path = "/v1.0/groups/{id}/members", tag = "groups", summary = "The members of a group", params(("id" = String, Path, description = "the group's id"), crate::graph::openapi::PageQuery), responses((status = 200, description = "a collection of microsoft.graph.user", body = crate::graph::openapi::Object), crate::graph::openapi::Errors))]
async fn list(State(st): State<Shared>, caller: Caller, Path(id): Path<String>, RawQuery(raw): RawQuery) -> GraphResult<Response> {
    let params = super::params(raw.as_deref());
    let q = odata::parse(&params, &|_: &str| None)?;
    super::user_json::check_select(&q.select)?;
    let g = super::groups::find(&st, &caller, &id).await?;
    let fp = ["members", &g.id.to_string()];
    let after = match page::seek(q.skiptoken.as_deref(), &fp)? {
        Seek::After(k) => Some(k.id),
        _ => None,
    };
    let found = st.store.list_members(caller.tenant, g.id, &ListQuery { after, limit: q.top.unwrap_or(page::DEFAULT_TOP), ..ListQuery::default() }).await?;
    let value: Vec<Value> = found
        .items
        .iter()
        .map(|u| {
            let mut v = super::user_json::render(u, &q.select);
            crate::graph::set(&mut v, "@odata.type", json!("#microsoft.graph.user"));
            v
        })
        .collect();
    let mut body = json!({ "@odata.context": super::context("directoryObjects"), "value": value });
    if let Some(next) = found.next {
        let token = page::skiptoken(&Seek::After(Keyset { value: None, id: next }), &fp);
        crate::graph::set(&mut body, "@odata.nextLink", json!(page::next_link(&super::base(), &format!("/v1.0/groups/{}/members", g.id), &params, &token)));
    }
    Ok(super::answer(StatusCode::OK, body))
}

#[utoipa::path(post, path = "/v1.0/groups/{id}/members/$ref", tag = "groups", summary = "Add a member", params(("id" = String, Path, description = "the group's id")), request_body(content = crate::graph::openapi::Object, description = "{\"@odata.id\": \"…/directoryObjects/{id}\"}", content_type = "application/json"), responses((status = 204, description = "done"), crate::graph::openapi::Errors))]
async fn add(State(st): State<Shared>, caller: Caller, Path(id): Path<String>, body: Body) -> GraphResult<Response> {
    let body = super::read_object(&st, body).await?;
    super::only_known(&body, &[])?;
    let url = body.get("@odata.id").and_then(Value::as_str).ok_or_else(|| GraphError::bad_request("the body must name the member in '@odata.id'"))?;
    let user = reference_id(url)?;
    let g = super::groups::find(&st, &caller, &id).await?;
    let entry = Entry::new("Add member to group", AuditOperation::Assign, AuditCategory::GroupManagement, "Group", g.id)
        .named(Some(&g.attrs.display_name))
        .change("members", None, Some(user.to_string()));
    let op = WriteOp::AddMember { group: g.id, user, if_match: None };
    st.store.apply_audited(caller.tenant, vec![op], entry.record(&st, &caller)).await.map_err(member_error)?;
    Ok(super::no_content())
}

#[utoipa::path(delete, path = "/v1.0/groups/{id}/members/{member}/$ref", tag = "groups", summary = "Remove a member", params(("id" = String, Path, description = "the group's id"), ("member" = String, Path, description = "the member's id")), responses((status = 204, description = "done"), crate::graph::openapi::Errors))]
async fn remove(State(st): State<Shared>, caller: Caller, Path((id, member)): Path<(String, String)>) -> GraphResult<Response> {
    let g = super::groups::find(&st, &caller, &id).await?;
    let user = super::object_id(&member, "member")?;
    let entry = Entry::new("Remove member from group", AuditOperation::Unassign, AuditCategory::GroupManagement, "Group", g.id)
        .named(Some(&g.attrs.display_name))
        .change("members", Some(user.to_string()), None);
    let op = WriteOp::RemoveMember { group: g.id, user, if_match: None };
    match st.store.apply_audited(caller.tenant, vec![op], entry.record(&st, &caller)).await {
        Ok(_) => Ok(super::no_content()),
        Err(StoreError::NotAMember { .. } | StoreError::NotFound { .. }) => Err(GraphError::not_found(format!("'{member}' is not a member of this group"))),
        Err(e) => Err(e.into()),
    }
}
