//! Access packages (with `resourceRoleScopes` and `incompatibleAccessPackages`) and their
//! assignment policies.
use super::policy_shape::{policy_json, questions_from_graph, review_settings_from_graph};
use super::{Paging, collection, entity, entry, flag, gov, id_of, json_of, object, parse, required, text};
use crate::graph::caller::Caller;
use crate::graph::error::{GraphCode, GraphError, GraphResult};
use crate::graph::openapi::{ApiRouter, Errors, only};
use crate::graph::{Shared, answer, no_content, only_known, params, read_object};
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};
use tenantsync_access::{AccessPackage, AssignmentPolicy, CatalogId, PackageId, PolicyId, ResourceOrigin, ResourceRole, RoleKind};
use tenantsync_domain::ObjectId;
use tenantsync_store::{AccessObjectKind, AuditOperation};

pub(super) fn routes(router: ApiRouter) -> ApiRouter {
    router
        .routes(only(utoipa_axum::routes!(list_packages, create_package)))
        .routes(only(utoipa_axum::routes!(get_package)))
        .routes(only(utoipa_axum::routes!(list_scopes, add_scope)))
        .routes(only(utoipa_axum::routes!(list_incompatible)))
        .routes(only(utoipa_axum::routes!(add_incompatible)))
        .routes(only(utoipa_axum::routes!(remove_incompatible)))
        .routes(only(utoipa_axum::routes!(list_policies, create_policy)))
        .routes(only(utoipa_axum::routes!(get_policy, replace_policy, delete_policy)))
}

fn package_json(p: &AccessPackage) -> Value {
    let mut v = json_of(p);
    if let Some(m) = v.as_object_mut() {
        m.remove("roles");
        m.remove("incompatiblePackages");
        m.remove("incompatibleGroups");
        m.remove("catalogId");
        m.insert("catalog".into(), json!({ "id": p.catalog_id }));
    }
    v
}

pub(super) async fn find_package(st: &Shared, caller: &Caller, id: &str) -> GraphResult<AccessPackage> {
    let id: PackageId = id_of(id, "access package")?;
    Ok(gov(st)?.access_package(caller.tenant, id).await?)
}

/// The id in an `{"id": …}` object of a body (`what` names it in errors).
fn id_in<T: std::str::FromStr>(body: &Map<String, Value>, key: &str, what: &str) -> GraphResult<T> {
    let o = object(body, key, &["id"])?.ok_or_else(|| GraphError::bad_request(format!("the property '{key}' ({{\"id\": …}}) is required")))?;
    let s = required(o, "id").map_err(|_| GraphError::bad_request(format!("the property '{key}.id' must be a string")))?;
    s.parse().map_err(|_| GraphError::bad_request(format!("{key}.id '{s}' is not the id of a {what}")))
}

#[utoipa::path(get, path = "/v1.0/identityGovernance/entitlementManagement/accessPackages", tag = "entitlementManagement", summary = "List access packages", params(("$top" = Option<u32>, Query, description = "page size, 1 to 999 (default 100)"), ("$skiptoken" = Option<String>, Query, description = "from @odata.nextLink")), responses((status = 200, description = "a collection of microsoft.graph.accessPackage", body = crate::graph::openapi::Object), Errors))]
async fn list_packages(State(st): State<Shared>, caller: Caller, RawQuery(raw): RawQuery) -> GraphResult<Response> {
    let paging = Paging::of(raw.as_deref(), "accessPackages")?.unfiltered()?;
    let page: Vec<(ObjectId, AccessPackage)> = gov(&st)?.page(caller.tenant, AccessObjectKind::AccessPackage, paging.range()).await?;
    Ok(paging.answer(page, |(id, _)| *id, |(_, p)| package_json(p)))
}

#[utoipa::path(post, path = "/v1.0/identityGovernance/entitlementManagement/accessPackages", tag = "entitlementManagement", summary = "Create an access package", request_body(content = crate::graph::openapi::Object, description = "{displayName, description, isHidden, catalog: {id}}", content_type = "application/json"), responses((status = 201, description = "microsoft.graph.accessPackage", body = crate::graph::openapi::Object), Errors))]
async fn create_package(State(st): State<Shared>, caller: Caller, body: Body) -> GraphResult<Response> {
    let body = read_object(&st, body).await?;
    only_known(&body, &["displayName", "description", "isHidden", "catalog"])?;
    let catalog: CatalogId = id_in(&body, "catalog", "catalog")?;
    let now = st.store.clock().now();
    let p = AccessPackage {
        id: PackageId::new(),
        catalog_id: catalog,
        display_name: required(&body, "displayName")?.to_owned(),
        description: text(&body, "description")?.unwrap_or_default().to_owned(),
        is_hidden: flag(&body, "isHidden")?.unwrap_or(false),
        roles: Default::default(),
        incompatible_packages: Default::default(),
        incompatible_groups: Default::default(),
        created_date_time: now,
        modified_date_time: now,
    };
    gov(&st)?.put_access_package(caller.tenant, &p).await?;
    super::audit(&st, &caller, entry("Create access package", AuditOperation::Add, "AccessPackage", p.id).named(Some(&p.display_name))).await;
    Ok(entity(StatusCode::CREATED, "accessPackages", package_json(&p)))
}

#[utoipa::path(get, path = "/v1.0/identityGovernance/entitlementManagement/accessPackages/{id}", tag = "entitlementManagement", summary = "Get an access package", params(("id" = String, Path, description = "the package's id")), responses((status = 200, description = "microsoft.graph.accessPackage", body = crate::graph::openapi::Object), Errors))]
async fn get_package(State(st): State<Shared>, caller: Caller, Path(id): Path<String>) -> GraphResult<Response> {
    let p = find_package(&st, &caller, &id).await?;
    Ok(entity(StatusCode::OK, "accessPackages", package_json(&p)))
}

/// The one role a resource has: a group's members, a configuration's default access.
fn role_of(origin: ResourceOrigin) -> ResourceRole {
    let role = match origin {
        ResourceOrigin::Group(_) => RoleKind::Member,
        ResourceOrigin::SyncConfiguration(_) => RoleKind::DefaultAccess,
    };
    ResourceRole { origin, role }
}

fn scope_json(r: &ResourceRole) -> Value {
    let (system, origin, role) = match r.origin {
        ResourceOrigin::Group(g) => ("AadGroup", g.to_string(), "Member"),
        ResourceOrigin::SyncConfiguration(c) => ("AadApplication", c.to_string(), "Default Access"),
    };
    let resource = json!({ "id": origin, "originId": origin, "originSystem": system });
    json!({
        "id": r.origin_id(),
        "role": { "id": r.origin_id(), "originId": r.origin_id(), "originSystem": system, "displayName": role, "resource": resource },
        "scope": { "id": origin, "originId": origin, "originSystem": system, "displayName": "Root", "isRootScope": true },
    })
}

/// The resource a resource role scope's body names: `role.resource` or `scope`, by
/// `originSystem` (`AadGroup`, `AadApplication`) and `originId`.
fn origin_of(body: &Map<String, Value>) -> GraphResult<ResourceOrigin> {
    let role = object(body, "role", &["id", "originId", "originSystem", "displayName", "description", "resource"])?;
    let scope = object(body, "scope", &["id", "originId", "originSystem", "displayName", "description", "isRootScope"])?;
    let keys = &["id", "originId", "originSystem", "displayName", "description", "resourceType", "url", "attributes"];
    let resource = match role {
        Some(r) => object(r, "resource", keys)?,
        None => None,
    };
    let named = resource.or(scope).ok_or_else(|| GraphError::bad_request("the body must name the resource in 'role.resource' or 'scope'"))?;
    let origin_id = required(named, "originId")?;
    let origin = match required(named, "originSystem")? {
        "AadGroup" => ResourceOrigin::Group(origin_id.parse().map_err(|_| GraphError::bad_request(format!("originId '{origin_id}' is not a group id")))?),
        "AadApplication" => ResourceOrigin::SyncConfiguration(
            origin_id.parse().map_err(|_| GraphError::bad_request(format!("originId '{origin_id}' is not a sync configuration's service principal id")))?,
        ),
        other => return Err(GraphError::bad_request(format!("originSystem '{other}' is not AadGroup or AadApplication"))),
    };
    if let Some(role_origin) = role.map(|r| text(r, "originId")).transpose()?.flatten() {
        let expected = role_of(origin).origin_id();
        if role_origin != expected {
            return Err(GraphError::bad_request(format!("role.originId '{role_origin}' is not a role of the resource (it has '{expected}')")));
        }
    }
    Ok(origin)
}

#[utoipa::path(get, path = "/v1.0/identityGovernance/entitlementManagement/accessPackages/{id}/resourceRoleScopes", tag = "entitlementManagement", summary = "The resource roles an access package grants", params(("id" = String, Path, description = "the package's id")), responses((status = 200, description = "a collection of microsoft.graph.accessPackageResourceRoleScope", body = crate::graph::openapi::Object), Errors))]
async fn list_scopes(State(st): State<Shared>, caller: Caller, Path(id): Path<String>) -> GraphResult<Response> {
    let p = find_package(&st, &caller, &id).await?;
    Ok(collection(&format!("accessPackages('{}')/resourceRoleScopes", p.id), p.roles.iter().map(scope_json).collect()))
}

#[utoipa::path(post, path = "/v1.0/identityGovernance/entitlementManagement/accessPackages/{id}/resourceRoleScopes", tag = "entitlementManagement", summary = "Add a resource role to an access package", params(("id" = String, Path, description = "the package's id")), request_body(content = crate::graph::openapi::Object, description = "{role: {originId, originSystem, resource: {originId, originSystem}}, scope: {originId, originSystem}}", content_type = "application/json"), responses((status = 201, description = "microsoft.graph.accessPackageResourceRoleScope", body = crate::graph::openapi::Object), Errors))]
async fn add_scope(State(st): State<Shared>, caller: Caller, Path(id): Path<String>, body: Body) -> GraphResult<Response> {
    let body = read_object(&st, body).await?;
    only_known(&body, &["role", "scope", "id", "createdDateTime"])?;
    let origin = origin_of(&body)?;
    let mut p = find_package(&st, &caller, &id).await?;
    let role = role_of(origin);
    if let Some(e) = super::edits::add_role(gov(&st)?, st.store.clock().now(), caller.tenant, &mut p, role).await? {
        super::audit(&st, &caller, e).await;
    }
    Ok(answer(StatusCode::CREATED, scope_json(&role)))
}

#[utoipa::path(get, path = "/v1.0/identityGovernance/entitlementManagement/accessPackages/{id}/incompatibleAccessPackages", tag = "entitlementManagement", summary = "The access packages incompatible with this one", params(("id" = String, Path, description = "the package's id")), responses((status = 200, description = "a collection of microsoft.graph.accessPackage", body = crate::graph::openapi::Object), Errors))]
async fn list_incompatible(State(st): State<Shared>, caller: Caller, Path(id): Path<String>) -> GraphResult<Response> {
    let p = find_package(&st, &caller, &id).await?;
    let g = gov(&st)?;
    let mut value = Vec::new();
    for other in &p.incompatible_packages {
        match g.access_package(caller.tenant, *other).await {
            Ok(o) => value.push(package_json(&o)),
            Err(tenantsync_governance::GovernanceError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(collection(&format!("accessPackages('{}')/incompatibleAccessPackages", p.id), value))
}

#[utoipa::path(post, path = "/v1.0/identityGovernance/entitlementManagement/accessPackages/{id}/incompatibleAccessPackages/$ref", tag = "entitlementManagement", summary = "Mark an access package incompatible with this one", params(("id" = String, Path, description = "the package's id")), request_body(content = crate::graph::openapi::Object, description = "{\"@odata.id\": \"…/accessPackages/{id}\"}", content_type = "application/json"), responses((status = 204, description = "done"), Errors))]
async fn add_incompatible(State(st): State<Shared>, caller: Caller, Path(id): Path<String>, body: Body) -> GraphResult<Response> {
    let body = read_object(&st, body).await?;
    only_known(&body, &[])?;
    let url = body.get("@odata.id").and_then(Value::as_str).ok_or_else(|| GraphError::bad_request("the body must name the access package in '@odata.id'"))?;
    let last = url.trim_end_matches('/').rsplit('/').next().unwrap_or_default();
    let other: PackageId =
        last.parse().map_err(|_| GraphError::bad_request(format!("'{url}' is not a reference to an access package (…/accessPackages/{{id}})")))?;
    let mut p = find_package(&st, &caller, &id).await?;
    if let Some(e) = super::edits::add_incompatible(gov(&st)?, st.store.clock().now(), caller.tenant, &mut p, other).await? {
        super::audit(&st, &caller, e).await;
    }
    Ok(no_content())
}

#[utoipa::path(delete, path = "/v1.0/identityGovernance/entitlementManagement/accessPackages/{id}/incompatibleAccessPackages/{other}/$ref", tag = "entitlementManagement", summary = "Remove an incompatible access package", params(("id" = String, Path, description = "the package's id"), ("other" = String, Path, description = "the incompatible package's id")), responses((status = 204, description = "done"), Errors))]
async fn remove_incompatible(State(st): State<Shared>, caller: Caller, Path((id, other)): Path<(String, String)>) -> GraphResult<Response> {
    let mut p = find_package(&st, &caller, &id).await?;
    let other: PackageId = id_of(&other, "access package")?;
    let e = super::edits::remove_incompatible(gov(&st)?, st.store.clock().now(), caller.tenant, &mut p, other).await?;
    super::audit(&st, &caller, e).await;
    Ok(no_content())
}

/// The package of `$filter=accessPackage/id eq '…'` (the one filter policies take).
fn package_filter(raw: Option<&str>) -> GraphResult<Option<PackageId>> {
    let Some((_, f)) = params(raw).into_iter().find(|(k, _)| k == "$filter") else { return Ok(None) };
    let unsupported = || GraphError::new(GraphCode::UnsupportedQuery, "$filter on assignmentPolicies takes accessPackage/id eq '{id}'");
    let rest = f.trim().strip_prefix("accessPackage/id").ok_or_else(unsupported)?.trim_start();
    let quoted = rest.strip_prefix("eq").ok_or_else(unsupported)?.trim();
    let id = quoted.strip_prefix('\'').and_then(|q| q.strip_suffix('\'')).ok_or_else(unsupported)?;
    id.parse().map(Some).map_err(|_| GraphError::bad_request(format!("'{id}' is not an access package id")))
}

#[utoipa::path(get, path = "/v1.0/identityGovernance/entitlementManagement/assignmentPolicies", tag = "entitlementManagement", summary = "List assignment policies", params(("$filter" = Option<String>, Query, description = "accessPackage/id eq '{id}'"), ("$top" = Option<u32>, Query, description = "page size, 1 to 999 (default 100)"), ("$skiptoken" = Option<String>, Query, description = "from @odata.nextLink")), responses((status = 200, description = "a collection of microsoft.graph.accessPackageAssignmentPolicy", body = crate::graph::openapi::Object), Errors))]
async fn list_policies(State(st): State<Shared>, caller: Caller, RawQuery(raw): RawQuery) -> GraphResult<Response> {
    let g = gov(&st)?;
    let paging = Paging::of(raw.as_deref(), "assignmentPolicies")?;
    let page: Vec<(ObjectId, AssignmentPolicy)> = match package_filter(raw.as_deref())? {
        // A package has at most 10 policies.
        Some(p) => g
            .policies_of(caller.tenant, p)
            .await?
            .into_iter()
            .map(|x| (ObjectId::from_bytes(*x.id.as_bytes()), x))
            .filter(|(id, _)| paging.after.is_none_or(|a| *id > a))
            .collect(),
        None => g.page(caller.tenant, AccessObjectKind::AssignmentPolicy, paging.range()).await?,
    };
    Ok(paging.answer(page, |(id, _)| *id, |(_, p)| policy_json(p)))
}

const POLICY_PROPERTIES: &[&str] = &[
    "displayName",
    "description",
    "accessPackage",
    "allowedTargetScope",
    "specificAllowedTargets",
    "requestorSettings",
    "requestApprovalSettings",
    "expiration",
    "reviewSettings",
    "automaticRequestSettings",
    "questions",
];

#[utoipa::path(post, path = "/v1.0/identityGovernance/entitlementManagement/assignmentPolicies", tag = "entitlementManagement", summary = "Create an assignment policy", request_body(content = crate::graph::openapi::Object, description = "microsoft.graph.accessPackageAssignmentPolicy with accessPackage: {id}", content_type = "application/json"), responses((status = 201, description = "microsoft.graph.accessPackageAssignmentPolicy", body = crate::graph::openapi::Object), Errors))]
async fn create_policy(State(st): State<Shared>, caller: Caller, body: Body) -> GraphResult<Response> {
    let mut body = read_object(&st, body).await?;
    only_known(&body, POLICY_PROPERTIES)?;
    let package: PackageId = id_in(&body, "accessPackage", "access package")?;
    required(&body, "displayName")?;
    body.retain(|k, _| !k.contains('@') && k != "accessPackage");
    body.insert("id".into(), json!(PolicyId::new()));
    body.insert("accessPackageId".into(), json!(package));
    review_settings_from_graph(&mut body)?;
    questions_from_graph(&mut body)?;
    let policy: AssignmentPolicy = parse(Value::Object(body), "the assignment policy")?;
    gov(&st)?.put_policy(caller.tenant, &policy).await?;
    let e = entry("Create assignment policy", AuditOperation::Add, "AccessPackageAssignmentPolicy", policy.id).named(Some(&policy.display_name)).change(
        "accessPackage",
        None,
        Some(package.to_string()),
    );
    super::audit(&st, &caller, e).await;
    Ok(entity(StatusCode::CREATED, "assignmentPolicies", policy_json(&policy)))
}

#[utoipa::path(get, path = "/v1.0/identityGovernance/entitlementManagement/assignmentPolicies/{id}", tag = "entitlementManagement", summary = "Get an assignment policy", params(("id" = String, Path, description = "the policy's id")), responses((status = 200, description = "microsoft.graph.accessPackageAssignmentPolicy", body = crate::graph::openapi::Object), Errors))]
async fn get_policy(State(st): State<Shared>, caller: Caller, Path(id): Path<String>) -> GraphResult<Response> {
    let id: PolicyId = id_of(&id, "assignment policy")?;
    let p = gov(&st)?.policy(caller.tenant, id).await?;
    Ok(entity(StatusCode::OK, "assignmentPolicies", policy_json(&p)))
}

#[utoipa::path(put, path = "/v1.0/identityGovernance/entitlementManagement/assignmentPolicies/{id}", tag = "entitlementManagement", summary = "Replace an assignment policy (its package stays; assignments made under it keep it)", params(("id" = String, Path, description = "the policy's id")), request_body(content = crate::graph::openapi::Object, description = "microsoft.graph.accessPackageAssignmentPolicy, whole", content_type = "application/json"), responses((status = 200, description = "microsoft.graph.accessPackageAssignmentPolicy", body = crate::graph::openapi::Object), Errors))]
async fn replace_policy(State(st): State<Shared>, caller: Caller, Path(id): Path<String>, body: Body) -> GraphResult<Response> {
    let id: PolicyId = id_of(&id, "assignment policy")?;
    let g = gov(&st)?;
    let old = g.policy(caller.tenant, id).await?;
    let mut body = read_object(&st, body).await?;
    only_known(&body, &[POLICY_PROPERTIES, &["id", "accessPackageId"]].concat())?;
    required(&body, "displayName")?;
    if body.get("accessPackage").is_some() && id_in::<PackageId>(&body, "accessPackage", "access package")? != old.access_package_id {
        return Err(GraphError::bad_request("a policy stays with its access package: accessPackage.id cannot change"));
    }
    body.retain(|k, _| !k.contains('@') && k != "accessPackage");
    body.insert("id".into(), json!(id));
    body.insert("accessPackageId".into(), json!(old.access_package_id));
    review_settings_from_graph(&mut body)?;
    questions_from_graph(&mut body)?;
    let policy: AssignmentPolicy = parse(Value::Object(body), "the assignment policy")?;
    let e = super::edits::replace_policy(g, caller.tenant, &old, &policy).await?;
    super::audit(&st, &caller, e).await;
    Ok(entity(StatusCode::OK, "assignmentPolicies", policy_json(&policy)))
}

#[utoipa::path(delete, path = "/v1.0/identityGovernance/entitlementManagement/assignmentPolicies/{id}", tag = "entitlementManagement", summary = "Delete an assignment policy", params(("id" = String, Path, description = "the policy's id")), responses((status = 204, description = "done"), Errors))]
async fn delete_policy(State(st): State<Shared>, caller: Caller, Path(id): Path<String>) -> GraphResult<Response> {
    let id: PolicyId = id_of(&id, "assignment policy")?;
    let g = gov(&st)?;
    let p = g.policy(caller.tenant, id).await?;
    g.store().delete_access_object(caller.tenant, AccessObjectKind::AssignmentPolicy, ObjectId::from_bytes(*p.id.as_bytes())).await?;
    super::audit(&st, &caller, entry("Delete assignment policy", AuditOperation::Delete, "AccessPackageAssignmentPolicy", p.id).named(Some(&p.display_name)))
        .await;
    Ok(no_content())
}
