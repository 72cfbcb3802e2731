//! `/v1.0/groups`: Graph's `group` (security groups with direct user members): list
//! (`$filter` on the indexed properties, `$select`, `$top`, `$orderby`, `$count`, keyset
//! pages), create (with `members@odata.bind`), get, update, delete. Each write and its
//! audit record commit together.
use super::audit::Entry;
use super::caller::Caller;
use super::error::{GraphCode, GraphError, GraphResult};
use super::users::Listing;
use super::{GraphState, Shared, odata};
use crate::graph::openapi::{ApiRouter, only};
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};
use tenantsync_domain::{AttrValue, Group, GroupAttribute as G, GroupAttributes, GroupPatch, NewGroup, ObjectId};
use tenantsync_store::{AuditCategory, AuditOperation, Field, StoreError, WriteOp};

const WRITE_RETRIES: usize = 8;

/// Every property a group is shown with.
pub const PROPERTIES: &[&str] =
    &["id", "displayName", "description", "mailNickname", "securityEnabled", "mailEnabled", "groupTypes", "createdDateTime", "externalId"];

pub(super) fn routes(router: ApiRouter) -> ApiRouter {
    router.routes(only(utoipa_axum::routes!(list, create))).routes(only(utoipa_axum::routes!(read, update, remove)))
}

/// What `$filter` and `$orderby` may name on groups: the indexed properties.
pub fn properties(name: &str) -> Option<odata::Property> {
    let p = |field, kind, sortable| Some(odata::Property { field, kind, sortable });
    match name {
        "id" => p(Field::Id, odata::Kind::Id, true),
        "displayName" => p(Field::Group(G::DisplayName), odata::Kind::Text, true),
        "externalId" => p(Field::Group(G::ExternalId), odata::Kind::ExactText, false),
        _ => None,
    }
}

pub fn check_select(select: &[String]) -> GraphResult<()> {
    match select.iter().find(|s| !PROPERTIES.contains(&s.as_str())) {
        Some(name) => Err(GraphError::bad_request(format!("$select: could not find a property named '{name}' on type 'microsoft.graph.group'"))),
        None => Ok(()),
    }
}

/// The `$select` of a request that takes no other option.
pub fn select_of(raw: Option<&str>) -> GraphResult<Vec<String>> {
    let q = odata::parse(&super::params(raw), &|_: &str| None)?;
    check_select(&q.select)?;
    Ok(q.select)
}

/// A group as Graph shows it (a security group), projected on `select`.
pub fn render(g: &Group, select: &[String]) -> Value {
    let a = &g.attrs;
    let mut m = Map::new();
    m.insert("id".into(), json!(g.id));
    m.insert("displayName".into(), json!(a.display_name));
    m.insert("description".into(), json!(a.description));
    m.insert("mailNickname".into(), json!(a.mail_nickname));
    m.insert("securityEnabled".into(), json!(a.security_enabled));
    m.insert("mailEnabled".into(), json!(false));
    m.insert("groupTypes".into(), json!([]));
    m.insert("createdDateTime".into(), json!(g.created_date_time));
    if let Some(x) = &a.external_id {
        m.insert("externalId".into(), json!(x));
    }
    if !select.is_empty() {
        m.retain(|k, _| k == "id" || select.iter().any(|s| s == k));
    }
    Value::Object(m)
}

/// The attribute writes of a body; `mailEnabled` and `groupTypes` are accepted when they
/// say what every group here is (not mail-enabled, no types).
fn writes(body: &Map<String, Value>) -> GraphResult<Vec<(G, AttrValue)>> {
    let mut out = Vec::new();
    for (name, value) in body {
        if name.contains('@') {
            continue;
        }
        let typed = |want: &str| GraphError::bad_request(format!("the property '{name}' must be {want}"));
        match name.as_str() {
            "displayName" | "description" | "mailNickname" | "externalId" => {
                let a = G::lookup(name).ok_or_else(GraphError::internal)?;
                match value {
                    Value::String(s) => out.push((a, AttrValue::String(s.clone()))),
                    Value::Null => out.push((a, AttrValue::Null)),
                    _ => return Err(typed("a string")),
                }
            }
            "securityEnabled" => out.push((G::SecurityEnabled, AttrValue::Bool(value.as_bool().ok_or_else(|| typed("true or false"))?))),
            "mailEnabled" => match value {
                Value::Bool(false) => {}
                Value::Bool(true) => return Err(GraphError::bad_request("mail-enabled groups are not supported: every group is a security group")),
                _ => return Err(typed("true or false")),
            },
            "groupTypes" => match value.as_array() {
                Some(v) if v.is_empty() => {}
                Some(_) => return Err(GraphError::bad_request("groupTypes: only security groups are supported (no Unified or DynamicMembership)")),
                None => return Err(typed("a list of strings")),
            },
            "id" | "createdDateTime" | "deletedDateTime" => return Err(GraphError::bad_request(format!("the property '{name}' is read-only"))),
            other => {
                return Err(GraphError::bad_request(format!("the property '{other}' does not exist on type 'microsoft.graph.group' or cannot be written")));
            }
        }
    }
    Ok(out)
}

/// The user ids of `members@odata.bind` (URLs ending in the object id).
fn member_binds(body: &Map<String, Value>) -> GraphResult<Vec<ObjectId>> {
    let Some(v) = body.get("members@odata.bind") else { return Ok(Vec::new()) };
    let urls = v.as_array().ok_or_else(|| GraphError::bad_request("members@odata.bind must be a list of object URLs"))?;
    urls.iter()
        .map(|u| {
            let url = u.as_str().ok_or_else(|| GraphError::bad_request("members@odata.bind must be a list of object URLs"))?;
            super::members::reference_id(url)
        })
        .collect()
}

#[utoipa::path(get, path = "/v1.0/groups", tag = "groups", summary = "List groups", params(crate::graph::openapi::ODataQuery, ("ConsistencyLevel" = Option<String>, Header, description = "eventual: allows $count and the advanced queries (ne, not)")), responses((status = 200, description = "a collection of microsoft.graph.group", body = crate::graph::openapi::Object), crate::graph::openapi::Errors))]
async fn list(State(st): State<Shared>, caller: Caller, headers: HeaderMap, RawQuery(raw): RawQuery) -> GraphResult<Response> {
    let listing = Listing::parse("groups", raw.as_deref(), &headers, &properties)?;
    check_select(&listing.options.select)?;
    let found = st.store.query_groups(caller.tenant, &listing.query()?).await?;
    let total = match listing.count_query() {
        Some(q) => st.store.query_groups(caller.tenant, &q).await?.total,
        None => None,
    };
    let value = found.items.iter().map(|g| render(g, &listing.options.select)).collect();
    Ok(listing.answer("/v1.0/groups", "groups", value, total, found.next))
}

/// A live group of the caller's tenant; anything else is 404.
pub async fn find(st: &GraphState, caller: &Caller, key: &str) -> GraphResult<Group> {
    let missing = || GraphError::not_found(format!("group '{key}' does not exist"));
    let id = key.parse::<ObjectId>().map_err(|_| missing())?;
    match st.store.get_group(caller.tenant, id).await {
        Ok(g) if !g.is_deleted() => Ok(g),
        Ok(_) | Err(StoreError::NotFound { .. }) => Err(missing()),
        Err(e) => Err(e.into()),
    }
}

#[utoipa::path(get, path = "/v1.0/groups/{id}", tag = "groups", summary = "Get a group", params(("id" = String, Path, description = "the group's id")), responses((status = 200, description = "microsoft.graph.group", body = crate::graph::openapi::Object), crate::graph::openapi::Errors))]
async fn read(State(st): State<Shared>, caller: Caller, Path(id): Path<String>, RawQuery(raw): RawQuery) -> GraphResult<Response> {
    let select = select_of(raw.as_deref())?;
    let g = find(&st, &caller, &id).await?;
    let mut body = render(&g, &select);
    crate::graph::set(&mut body, "@odata.context", json!(super::context("groups/$entity")));
    Ok(super::answer(StatusCode::OK, body))
}

#[utoipa::path(post, path = "/v1.0/groups", tag = "groups", summary = "Create a group", request_body(content = crate::graph::openapi::Object, description = "microsoft.graph.group", content_type = "application/json"), responses((status = 201, description = "the microsoft.graph.group created", body = crate::graph::openapi::Object), crate::graph::openapi::Errors))]
async fn create(State(st): State<Shared>, caller: Caller, body: Body) -> GraphResult<Response> {
    let body = super::read_object(&st, body).await?;
    let pairs = writes(&body)?;
    let members = member_binds(&body)?;
    let name = match pairs.iter().find(|(a, _)| *a == G::DisplayName) {
        Some((_, AttrValue::String(s))) => s.clone(),
        _ => return Err(GraphError::bad_request("displayName is required")),
    };
    let mut attrs = GroupAttributes::new(&name)?;
    for (a, v) in &pairs {
        attrs.set(*a, v.clone())?;
    }
    let group = NewGroup::new(attrs);
    let id = group.id;
    let mut entry = Entry::new("Add group", AuditOperation::Add, AuditCategory::GroupManagement, "Group", id).named(Some(&name));
    for (a, v) in &pairs {
        entry = entry.change(a.name(), None, super::audit::text(v));
    }
    if !members.is_empty() {
        entry = entry.change("members", None, Some(members.iter().map(ObjectId::to_string).collect::<Vec<_>>().join(", ")));
    }
    let mut ops = vec![WriteOp::CreateGroup(group)];
    ops.extend(members.iter().map(|&user| WriteOp::AddMember { group: id, user, if_match: None }));
    let done = st.store.apply_audited(caller.tenant, ops, entry.record(&st, &caller)).await.map_err(super::members::member_error)?;
    let created = done.into_iter().next().ok_or_else(GraphError::internal)?.into_group()?;
    let created = if members.is_empty() { created } else { st.store.get_group(caller.tenant, id).await? };
    let mut out = render(&created, &[]);
    crate::graph::set(&mut out, "@odata.context", json!(super::context("groups/$entity")));
    Ok(super::answer(StatusCode::CREATED, out))
}

#[utoipa::path(patch, path = "/v1.0/groups/{id}", tag = "groups", summary = "Update a group", params(("id" = String, Path, description = "the group's id")), request_body(content = crate::graph::openapi::Object, description = "the microsoft.graph.group properties to change", content_type = "application/json"), responses((status = 204, description = "done"), crate::graph::openapi::Errors))]
async fn update(State(st): State<Shared>, caller: Caller, Path(id): Path<String>, body: Body) -> GraphResult<Response> {
    let body = super::read_object(&st, body).await?;
    if body.keys().any(|k| k.starts_with("members")) {
        return Err(GraphError::bad_request("change members through /groups/{id}/members/$ref"));
    }
    let pairs = writes(&body)?;
    let patch = GroupPatch { set: pairs };
    for _ in 0..WRITE_RETRIES {
        let g = find(&st, &caller, &id).await?;
        let mut next = g.attrs.clone();
        let changes = next.apply(&patch)?;
        if changes.is_empty() {
            return Ok(super::no_content());
        }
        let entry =
            Entry::new("Update group", AuditOperation::Update, AuditCategory::GroupManagement, "Group", g.id).named(Some(&next.display_name)).changes(&changes);
        let op = WriteOp::UpdateGroup { id: g.id, patch: patch.clone(), if_match: Some(g.version) };
        match st.store.apply_audited(caller.tenant, vec![op], entry.record(&st, &caller)).await {
            Ok(_) => return Ok(super::no_content()),
            Err(StoreError::VersionMismatch { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(GraphError::new(GraphCode::Conflict, "the group kept changing while it was updated; retry"))
}

#[utoipa::path(delete, path = "/v1.0/groups/{id}", tag = "groups", summary = "Delete a group (soft)", params(("id" = String, Path, description = "the group's id")), responses((status = 204, description = "done"), crate::graph::openapi::Errors))]
async fn remove(State(st): State<Shared>, caller: Caller, Path(id): Path<String>) -> GraphResult<Response> {
    let g = find(&st, &caller, &id).await?;
    let entry = Entry::new("Delete group", AuditOperation::Delete, AuditCategory::GroupManagement, "Group", g.id).named(Some(&g.attrs.display_name)).change(
        "deletedDateTime",
        None,
        Some(st.store.clock().now().to_string()),
    );
    st.store.apply_audited(caller.tenant, vec![WriteOp::SoftDeleteGroup { id: g.id, if_match: None }], entry.record(&st, &caller)).await?;
    Ok(super::no_content())
}
