//! Service principals of the cross-tenant sync template: `applicationTemplates/{id}/
//! instantiate`, `servicePrincipals` (create, list, get, delete), their
//! `synchronization/secrets` (the target tenant, `CompanyId`, and the scope, `SyncAll`),
//! and `appRoleAssignedTo` (the users and groups in scope). Assignment ids are the
//! assigned principal's id.
use super::{APP_ROLE_ID, Principal, TEMPLATE_ID, configuration, ensure_configuration, entry, principal, save};
use crate::graph::caller::Caller;
use crate::graph::error::{GraphCode, GraphError, GraphResult};
use crate::graph::openapi::{ApiRouter, only};
use crate::graph::{GraphState, Shared};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};
use tenantsync_domain::{Assignment, ObjectId, SyncScope, TenantId};
use tenantsync_store::{AdminObjectKind, AuditOperation, StoreError};

pub(super) fn routes(router: ApiRouter) -> ApiRouter {
    router
        .routes(only(utoipa_axum::routes!(instantiate)))
        .routes(only(utoipa_axum::routes!(list, create)))
        .routes(only(utoipa_axum::routes!(read, remove)))
        .routes(only(utoipa_axum::routes!(secrets)))
        .routes(only(utoipa_axum::routes!(assignments, assign)))
        .routes(only(utoipa_axum::routes!(unassign)))
}

fn app_role() -> Value {
    json!({
        "id": APP_ROLE_ID, "allowedMemberTypes": ["User"], "description": "msiam_access", "displayName": "msiam_access",
        "isEnabled": true, "origin": "Application", "value": null,
    })
}

/// The principal as Graph's `servicePrincipal`.
pub fn render(p: &Principal) -> Value {
    json!({
        "id": p.id,
        "appId": p.app_id,
        "displayName": p.display_name,
        "appDisplayName": p.display_name,
        "servicePrincipalType": "Application",
        "accountEnabled": true,
        "appRoleAssignmentRequired": true,
        "appRoles": [app_role()],
        "applicationTemplateId": TEMPLATE_ID,
        "homepage": "https://account.activedirectory.windowsazure.com:444/applications/default.aspx?metadata=aad2aadsync|ISV9.1|primary|z",
        "servicePrincipalNames": [p.app_id.to_string()],
        "tags": ["WindowsAzureActiveDirectoryIntegratedApp"],
    })
}

fn application(p: &Principal) -> Value {
    json!({
        "id": p.application_id, "appId": p.app_id, "displayName": p.display_name, "createdDateTime": p.created,
        "signInAudience": "AzureADMyOrg", "appRoles": [app_role()],
    })
}

fn display_name(body: &Map<String, Value>) -> GraphResult<String> {
    match body.get("displayName") {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
        Some(_) => Err(GraphError::bad_request("the property 'displayName' must be a non-empty string")),
        None => Err(GraphError::bad_request("displayName is required")),
    }
}

async fn new_principal(st: &GraphState, caller: &Caller, name: String, app_id: ObjectId, activity: &str) -> GraphResult<Principal> {
    let p = Principal {
        id: ObjectId::new(),
        application_id: ObjectId::new(),
        app_id,
        display_name: name,
        created: st.store.clock().now(),
        job: false,
        target: None,
        sync_all: false,
        other_secrets: Vec::new(),
        assignments: Vec::new(),
        configured: false,
    };
    save(st, caller, &p, entry(activity, AuditOperation::Add, &p).change("displayName", None, Some(p.display_name.clone()))).await?;
    Ok(p)
}

#[utoipa::path(post, path = "/v1.0/applicationTemplates/{template}/instantiate", tag = "synchronization", summary = "Create a configuration from the cross-tenant sync template", params(("template" = String, Path, description = "518e5f48-1fc8-4c48-9387-9fdf28b0dfe7")), request_body(content = crate::graph::openapi::Object, description = "{displayName}", content_type = "application/json"), responses((status = 201, description = "microsoft.graph.applicationServicePrincipal", body = crate::graph::openapi::Object), crate::graph::openapi::Errors))]
async fn instantiate(State(st): State<Shared>, caller: Caller, Path(template): Path<String>, body: Body) -> GraphResult<Response> {
    let body = crate::graph::read_object(&st, body).await?;
    crate::graph::only_known(&body, &["displayName", "serviceManagementReference"])?;
    if !template.eq_ignore_ascii_case(TEMPLATE_ID) {
        return Err(GraphError::not_found(format!(
            "application template '{template}' does not exist (tenantsync offers cross-tenant synchronization, {TEMPLATE_ID})"
        )));
    }
    let p = new_principal(&st, &caller, display_name(&body)?, ObjectId::new(), "Add service principal").await?;
    tracing::info!(configuration = %p.display_name, "admin API: cross-tenant sync application instantiated");
    let out = json!({
        "@odata.context": crate::graph::context("microsoft.graph.applicationServicePrincipal"),
        "application": application(&p),
        "servicePrincipal": render(&p),
    });
    Ok(crate::graph::answer(StatusCode::CREATED, out))
}

#[utoipa::path(post, path = "/v1.0/servicePrincipals", tag = "synchronization", summary = "Create a service principal", request_body(content = crate::graph::openapi::Object, description = "{appId, displayName}", content_type = "application/json"), responses((status = 201, description = "microsoft.graph.servicePrincipal", body = crate::graph::openapi::Object), crate::graph::openapi::Errors))]
async fn create(State(st): State<Shared>, caller: Caller, body: Body) -> GraphResult<Response> {
    let body = crate::graph::read_object(&st, body).await?;
    crate::graph::only_known(&body, &["appId", "displayName", "accountEnabled", "appRoleAssignmentRequired", "tags"])?;
    let app_id = match body.get("appId") {
        Some(Value::String(s)) => s.parse::<ObjectId>().map_err(|_| GraphError::bad_request(format!("appId '{s}' is not an application id (a GUID)")))?,
        _ => return Err(GraphError::bad_request("appId is required (a GUID)")),
    };
    let name = match body.get("displayName") {
        None => format!("Cross-tenant sync {app_id}"),
        Some(_) => display_name(&body)?,
    };
    let p = new_principal(&st, &caller, name, app_id, "Add service principal").await?;
    let mut out = render(&p);
    crate::graph::set(&mut out, "@odata.context", json!(crate::graph::context("servicePrincipals/$entity")));
    Ok(crate::graph::answer(StatusCode::CREATED, out))
}

#[utoipa::path(get, path = "/v1.0/servicePrincipals", tag = "synchronization", summary = "List service principals", responses((status = 200, description = "a collection of microsoft.graph.servicePrincipal", body = crate::graph::openapi::Object), crate::graph::openapi::Errors))]
async fn list(State(st): State<Shared>, caller: Caller) -> GraphResult<Response> {
    let mut value = Vec::new();
    for (_, body) in st.store.admin_objects(caller.tenant, AdminObjectKind::ServicePrincipal).await? {
        if let Ok(p) = serde_json::from_str::<Principal>(&body) {
            value.push(render(&p));
        }
    }
    Ok(crate::graph::answer(StatusCode::OK, json!({ "@odata.context": crate::graph::context("servicePrincipals"), "value": value })))
}

#[utoipa::path(get, path = "/v1.0/servicePrincipals/{id}", tag = "synchronization", summary = "Get a service principal", params(("id" = String, Path, description = "the service principal's id")), responses((status = 200, description = "microsoft.graph.servicePrincipal", body = crate::graph::openapi::Object), crate::graph::openapi::Errors))]
async fn read(State(st): State<Shared>, caller: Caller, Path(id): Path<String>) -> GraphResult<Response> {
    let p = principal(&st, &caller, &id).await?;
    let mut out = render(&p);
    crate::graph::set(&mut out, "@odata.context", json!(crate::graph::context("servicePrincipals/$entity")));
    Ok(crate::graph::answer(StatusCode::OK, out))
}

#[utoipa::path(delete, path = "/v1.0/servicePrincipals/{id}", tag = "synchronization", summary = "Delete a service principal and its configuration", params(("id" = String, Path, description = "the service principal's id")), responses((status = 204, description = "done"), crate::graph::openapi::Errors))]
async fn remove(State(st): State<Shared>, caller: Caller, Path(id): Path<String>) -> GraphResult<Response> {
    let mut p = principal(&st, &caller, &id).await?;
    super::drop_configuration(&st, &mut p).await?;
    let record = entry("Delete service principal", AuditOperation::Delete, &p).record(&st, &caller);
    st.store.delete_admin_object(caller.tenant, AdminObjectKind::ServicePrincipal, p.id, record).await?;
    Ok(crate::graph::no_content())
}

/// The credentials of a `secrets` or `validateCredentials` body (`[{key, value}]`).
pub fn key_values(list: &Value, at: &str) -> GraphResult<Vec<(String, String)>> {
    let items = list.as_array().ok_or_else(|| GraphError::bad_request(format!("'{at}' must be a list of {{key, value}}")))?;
    items
        .iter()
        .map(|i| match (i.get("key").and_then(Value::as_str), i.get("value")) {
            (Some(k), Some(Value::String(v))) => Ok((k.to_owned(), v.clone())),
            (Some(k), Some(Value::Null) | None) => Ok((k.to_owned(), String::new())),
            _ => Err(GraphError::bad_request(format!("each item of '{at}' must be {{\"key\": string, \"value\": string}}"))),
        })
        .collect()
}

/// The target a `CompanyId` names: another tenant of this tenantsync.
pub async fn target_of(st: &GraphState, caller: &Caller, company: &str) -> GraphResult<TenantId> {
    let t: TenantId = company.trim().parse().map_err(|_| GraphError::bad_request(format!("CompanyId '{company}' is not a tenant id")))?;
    if t == caller.tenant {
        return Err(GraphError::bad_request("CompanyId names this tenant: a configuration syncs to another tenant"));
    }
    match st.store.get_tenant(t).await {
        Ok(_) => Ok(t),
        Err(StoreError::TenantNotFound { .. }) => Err(GraphError::bad_request(format!("CompanyId '{company}' is not a tenant of this tenantsync"))),
        Err(e) => Err(e.into()),
    }
}

#[utoipa::path(put, path = "/v1.0/servicePrincipals/{id}/synchronization/secrets", tag = "synchronization", summary = "Save the credentials (CompanyId: the target tenant)", params(("id" = String, Path, description = "the service principal's id")), request_body(content = crate::graph::openapi::Object, description = "{value: [{key, value}]}", content_type = "application/json"), responses((status = 204, description = "done"), crate::graph::openapi::Errors))]
async fn secrets(State(st): State<Shared>, caller: Caller, Path(id): Path<String>, body: Body) -> GraphResult<Response> {
    let body = crate::graph::read_object(&st, body).await?;
    crate::graph::only_known(&body, &["value"])?;
    let pairs = key_values(body.get("value").unwrap_or(&Value::Null), "value")?;
    let mut p = principal(&st, &caller, &id).await?;
    let old = p.clone();
    for (k, v) in pairs {
        match k.as_str() {
            "CompanyId" => {
                let t = target_of(&st, &caller, &v).await?;
                if p.configured && p.target != Some(t) {
                    return Err(GraphError::new(
                        GraphCode::Conflict,
                        "the job already syncs to another tenant: delete the job and create it again to change the target",
                    ));
                }
                p.target = Some(t);
            }
            "SyncAll" => p.sync_all = v.eq_ignore_ascii_case("true"),
            "AuthenticationType" if v == "SyncPolicy" || v.is_empty() => {}
            "AuthenticationType" => return Err(GraphError::bad_request(format!("AuthenticationType '{v}' is not supported (SyncPolicy)"))),
            _ => {
                p.other_secrets.retain(|(key, _)| *key != k);
                p.other_secrets.push((k, v));
            }
        }
    }
    ensure_configuration(&st, &caller, &mut p).await?;
    if let Some(mut c) = configuration(&st, &p).await? {
        let scope = if p.sync_all { SyncScope::AllUsers } else { SyncScope::AssignedUsersAndGroups };
        if c.scope != scope {
            c.scope = scope;
            st.engine.update_configuration(c).await?;
        }
    }
    let e = entry("Update provisioning setting or credentials", AuditOperation::Update, &p)
        .change("CompanyId", old.target.map(|t| t.to_string()), p.target.map(|t| t.to_string()))
        .change("SyncAll", Some(old.sync_all.to_string()), Some(p.sync_all.to_string()));
    save(&st, &caller, &p, e).await?;
    Ok(crate::graph::no_content())
}

/// The assignments in effect: the configuration's, or those waiting for it.
async fn current(st: &GraphState, p: &Principal) -> GraphResult<Vec<Assignment>> {
    Ok(match configuration(st, p).await? {
        Some(c) => c.assignments,
        None => p.assignments.clone(),
    })
}

async fn assignment_json(st: &GraphState, caller: &Caller, p: &Principal, a: Assignment) -> Value {
    let (id, kind, name) = match a {
        Assignment::User(id) => (id, "User", st.store.get_user(caller.tenant, id).await.ok().and_then(|u| u.attrs.display_name)),
        Assignment::Group(id) => (id, "Group", st.store.get_group(caller.tenant, id).await.ok().map(|g| g.attrs.display_name)),
    };
    json!({
        "id": id, "appRoleId": APP_ROLE_ID, "createdDateTime": null, "deletedDateTime": null,
        "principalDisplayName": name, "principalId": id, "principalType": kind,
        "resourceDisplayName": p.display_name, "resourceId": p.id,
    })
}

#[utoipa::path(get, path = "/v1.0/servicePrincipals/{id}/appRoleAssignedTo", tag = "synchronization", summary = "Users and groups assigned", params(("id" = String, Path, description = "the service principal's id")), responses((status = 200, description = "a collection of microsoft.graph.appRoleAssignment", body = crate::graph::openapi::Object), crate::graph::openapi::Errors))]
async fn assignments(State(st): State<Shared>, caller: Caller, Path(id): Path<String>) -> GraphResult<Response> {
    let p = principal(&st, &caller, &id).await?;
    let mut value = Vec::new();
    for a in current(&st, &p).await? {
        value.push(assignment_json(&st, &caller, &p, a).await);
    }
    Ok(crate::graph::answer(StatusCode::OK, json!({ "@odata.context": crate::graph::context("servicePrincipals/appRoleAssignedTo"), "value": value })))
}

/// Replaces the assignments: the configuration's through the engine, or the waiting ones.
async fn set_assignments(st: &GraphState, p: &mut Principal, list: Vec<Assignment>) -> GraphResult<()> {
    match configuration(st, p).await? {
        Some(mut c) => {
            c.assignments = list;
            st.engine.update_configuration(c).await?;
        }
        None => p.assignments = list,
    }
    Ok(())
}

#[utoipa::path(post, path = "/v1.0/servicePrincipals/{id}/appRoleAssignedTo", tag = "synchronization", summary = "Assign a user or group", params(("id" = String, Path, description = "the service principal's id")), request_body(content = crate::graph::openapi::Object, description = "{principalId, resourceId, appRoleId}", content_type = "application/json"), responses((status = 201, description = "microsoft.graph.appRoleAssignment", body = crate::graph::openapi::Object), crate::graph::openapi::Errors))]
async fn assign(State(st): State<Shared>, caller: Caller, Path(id): Path<String>, body: Body) -> GraphResult<Response> {
    let body = crate::graph::read_object(&st, body).await?;
    crate::graph::only_known(&body, &["appRoleId", "principalId", "resourceId", "principalType"])?;
    let mut p = principal(&st, &caller, &id).await?;
    let principal_id = match body.get("principalId") {
        Some(Value::String(s)) => s.parse::<ObjectId>().map_err(|_| GraphError::bad_request(format!("principalId '{s}' is not an object id")))?,
        _ => return Err(GraphError::bad_request("principalId is required")),
    };
    if let Some(r) = body.get("resourceId").and_then(Value::as_str)
        && r.parse::<ObjectId>().ok() != Some(p.id)
    {
        return Err(GraphError::bad_request("resourceId must be this service principal's id"));
    }
    let a = if st.store.get_user(caller.tenant, principal_id).await.is_ok_and(|u| !u.is_deleted()) {
        Assignment::User(principal_id)
    } else if st.store.get_group(caller.tenant, principal_id).await.is_ok_and(|g| !g.is_deleted()) {
        Assignment::Group(principal_id)
    } else {
        return Err(GraphError::bad_request(format!("principalId '{principal_id}' is not a user or group of this tenant")));
    };
    let mut list = current(&st, &p).await?;
    if list.contains(&a) {
        return Err(GraphError::new(GraphCode::Conflict, "Permission being assigned already exists on the object"));
    }
    list.push(a);
    set_assignments(&st, &mut p, list).await?;
    save(
        &st,
        &caller,
        &p,
        entry("Add app role assignment grant to user", AuditOperation::Assign, &p).change("principalId", None, Some(principal_id.to_string())),
    )
    .await?;
    let mut out = assignment_json(&st, &caller, &p, a).await;
    crate::graph::set(&mut out, "@odata.context", json!(crate::graph::context("servicePrincipals/appRoleAssignedTo/$entity")));
    Ok(crate::graph::answer(StatusCode::CREATED, out))
}

#[utoipa::path(delete, path = "/v1.0/servicePrincipals/{id}/appRoleAssignedTo/{assignment}", tag = "synchronization", summary = "Remove an assignment", params(("id" = String, Path, description = "the service principal's id"), ("assignment" = String, Path, description = "the assignment's id")), responses((status = 204, description = "done"), crate::graph::openapi::Errors))]
async fn unassign(State(st): State<Shared>, caller: Caller, Path((id, assignment)): Path<(String, String)>) -> GraphResult<Response> {
    let mut p = principal(&st, &caller, &id).await?;
    let missing = || GraphError::not_found(format!("app role assignment '{assignment}' does not exist"));
    let target: ObjectId = assignment.parse().map_err(|_| missing())?;
    let mut list = current(&st, &p).await?;
    let before = list.len();
    list.retain(|a| !matches!(a, Assignment::User(x) | Assignment::Group(x) if *x == target));
    if list.len() == before {
        return Err(missing());
    }
    set_assignments(&st, &mut p, list).await?;
    save(&st, &caller, &p, entry("Remove app role assignment from user", AuditOperation::Unassign, &p).change("principalId", Some(target.to_string()), None))
        .await?;
    Ok(crate::graph::no_content())
}
