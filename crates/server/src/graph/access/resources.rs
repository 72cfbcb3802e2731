//! A catalog's resources (`catalogs/{id}/resources`) and the requests that bring them in
//! or take them out (`resourceRequests`, `adminAdd` / `adminRemove`, delivered at once).
//! A group is `AadGroup` with its id as `originId`; a sync configuration `AadApplication`
//! with its service principal's id.
use super::{collection, entity, entry, gov, id_of, json_of, object, parse, required};
use crate::graph::caller::Caller;
use crate::graph::error::{GraphError, GraphResult};
use crate::graph::openapi::{ApiRouter, Errors, only};
use crate::graph::{Shared, only_known, read_object};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use tenantsync_access::{CatalogId, ResourceOrigin, ResourceRole, RoleKind};
use tenantsync_governance::{CatalogResource, ResourceRequest, ResourceRequestType};
use tenantsync_store::AuditOperation;

pub(super) fn routes(router: ApiRouter) -> ApiRouter {
    router.routes(only(utoipa_axum::routes!(list_resources))).routes(only(utoipa_axum::routes!(list_requests, create_request)))
}

fn resource_json(r: &CatalogResource) -> Value {
    let (system, origin) = match r.origin {
        ResourceOrigin::Group(g) => ("AadGroup", g.to_string()),
        ResourceOrigin::SyncConfiguration(c) => ("AadApplication", c.to_string()),
    };
    let roles: Vec<Value> = RoleKind::of(r.origin)
        .iter()
        .filter_map(|k| ResourceRole::new(r.origin, *k))
        .map(|role| json!({ "id": role.origin_id(), "originId": role.origin_id(), "originSystem": system, "displayName": json_of(&role.role) }))
        .collect();
    json!({
        "id": r.id,
        "displayName": r.display_name,
        "description": "",
        "originId": origin,
        "originSystem": system,
        "createdDateTime": r.created_date_time,
        "modifiedDateTime": r.created_date_time,
        "roles": roles,
    })
}

fn request_json(r: &ResourceRequest) -> Value {
    json!({
        "id": r.id,
        "requestType": r.request_type,
        "state": r.state,
        "createdDateTime": r.created_date_time,
        "catalog": { "id": r.catalog_id },
        "resource": resource_json(&r.resource),
    })
}

#[utoipa::path(get, path = "/v1.0/identityGovernance/entitlementManagement/catalogs/{id}/resources", tag = "entitlementManagement", summary = "A catalog's resources", params(("id" = String, Path, description = "the catalog's id")), responses((status = 200, description = "a collection of microsoft.graph.accessPackageResource", body = crate::graph::openapi::Object), Errors))]
async fn list_resources(State(st): State<Shared>, caller: Caller, Path(id): Path<String>) -> GraphResult<Response> {
    let catalog: CatalogId = id_of(&id, "catalog")?;
    let all = gov(&st)?.catalog_resources(caller.tenant, catalog).await?;
    Ok(collection(&format!("catalogs/{id}/resources"), all.iter().map(resource_json).collect()))
}

#[utoipa::path(get, path = "/v1.0/identityGovernance/entitlementManagement/resourceRequests", tag = "entitlementManagement", summary = "List resource requests", responses((status = 200, description = "a collection of microsoft.graph.accessPackageResourceRequest", body = crate::graph::openapi::Object), Errors))]
async fn list_requests(State(st): State<Shared>, caller: Caller) -> GraphResult<Response> {
    caller.admin_only()?;
    let all = gov(&st)?.resource_requests(caller.tenant).await?;
    Ok(collection("resourceRequests", all.iter().map(request_json).collect()))
}

#[utoipa::path(post, path = "/v1.0/identityGovernance/entitlementManagement/resourceRequests", tag = "entitlementManagement", summary = "Add a resource to a catalog, or remove it", request_body(content = crate::graph::openapi::Object, description = "{requestType: adminAdd | adminRemove, resource: {originId, originSystem}, catalog: {id}}", content_type = "application/json"), responses((status = 201, description = "microsoft.graph.accessPackageResourceRequest", body = crate::graph::openapi::Object), Errors))]
async fn create_request(State(st): State<Shared>, caller: Caller, body: Body) -> GraphResult<Response> {
    let body = read_object(&st, body).await?;
    only_known(&body, &["requestType", "resource", "catalog"])?;
    let kind: ResourceRequestType = parse(json!(required(&body, "requestType")?), "requestType")?;
    if kind == ResourceRequestType::UnknownFutureValue {
        return Err(GraphError::bad_request("requestType must be adminAdd or adminRemove"));
    }
    let catalog = object(&body, "catalog", &["id"])?.ok_or_else(|| GraphError::bad_request("the property 'catalog' is required"))?;
    let catalog: CatalogId = required(catalog, "id")?.parse().map_err(|_| GraphError::bad_request("catalog.id is not a catalog id"))?;
    let resource = object(&body, "resource", &["id", "originId", "originSystem", "displayName", "description", "resourceType"])?
        .ok_or_else(|| GraphError::bad_request("the property 'resource' is required"))?;
    let origin_id = required(resource, "originId")?;
    let origin = match required(resource, "originSystem")? {
        "AadGroup" => ResourceOrigin::Group(origin_id.parse().map_err(|_| GraphError::bad_request(format!("originId '{origin_id}' is not a group id")))?),
        "AadApplication" => ResourceOrigin::SyncConfiguration(
            origin_id.parse().map_err(|_| GraphError::bad_request(format!("originId '{origin_id}' is not a sync configuration's service principal id")))?,
        ),
        other => return Err(GraphError::bad_request(format!("originSystem '{other}' is not AadGroup or AadApplication"))),
    };
    let r = gov(&st)?.request_resource(caller.tenant, catalog, origin, kind).await?;
    let (activity, op) = match kind {
        ResourceRequestType::AdminAdd => ("Add resource to catalog", AuditOperation::Add),
        _ => ("Remove resource from catalog", AuditOperation::Delete),
    };
    super::audit(&st, &caller, entry(activity, op, "AccessPackageResource", r.resource.id).named(Some(&r.resource.display_name))).await;
    Ok(entity(StatusCode::CREATED, "resourceRequests", request_json(&r)))
}
