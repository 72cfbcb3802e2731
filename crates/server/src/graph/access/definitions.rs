//! Connected organizations (with `internalSponsors` and `externalSponsors`), catalogs, and the tenant's
//! entitlement management settings.
use super::{BASE, Paging, entity, entry, flag, gov, id_of, json_of, parse, required, text};
use crate::graph::caller::Caller;
use crate::graph::error::{GraphError, GraphResult};
use crate::graph::openapi::{ApiRouter, Errors, only};
use crate::graph::{Shared, answer, no_content, only_known, read_object};
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use tenantsync_access::{Catalog, CatalogId, ConnectedOrgId, ConnectedOrgState, ConnectedOrganization, IdentitySource};
use tenantsync_domain::ObjectId;
use tenantsync_store::{AccessObjectKind, AuditOperation};

pub(super) fn routes(router: ApiRouter) -> ApiRouter {
    router
        .routes(only(utoipa_axum::routes!(list_orgs, create_org)))
        .routes(only(utoipa_axum::routes!(get_org, patch_org, delete_org)))
        .routes(only(utoipa_axum::routes!(list_internal_sponsors, add_internal_sponsor)))
        .routes(only(utoipa_axum::routes!(remove_internal_sponsor)))
        .routes(only(utoipa_axum::routes!(list_external_sponsors, add_external_sponsor)))
        .routes(only(utoipa_axum::routes!(remove_external_sponsor)))
        .routes(only(utoipa_axum::routes!(list_catalogs, create_catalog)))
        .routes(only(utoipa_axum::routes!(get_catalog)))
        .routes(only(utoipa_axum::routes!(get_settings, patch_settings)))
}

fn org_json(o: &ConnectedOrganization) -> Value {
    let mut v = json_of(o);
    if let Some(m) = v.as_object_mut() {
        m.remove("internalSponsors");
        m.remove("externalSponsors");
    }
    v
}

fn state_of(body: &serde_json::Map<String, Value>) -> GraphResult<Option<ConnectedOrgState>> {
    match text(body, "state")? {
        None => Ok(None),
        Some("configured") => Ok(Some(ConnectedOrgState::Configured)),
        Some("proposed") => Ok(Some(ConnectedOrgState::Proposed)),
        Some(other) => Err(GraphError::bad_request(format!("state '{other}' is not configured or proposed"))),
    }
}

async fn find_org(st: &Shared, caller: &Caller, id: &str) -> GraphResult<ConnectedOrganization> {
    let id: ConnectedOrgId = id_of(id, "connected organization")?;
    Ok(gov(st)?.connected_organization(caller.tenant, id).await?)
}

#[utoipa::path(get, path = "/v1.0/identityGovernance/entitlementManagement/connectedOrganizations", tag = "entitlementManagement", summary = "List connected organizations", params(("$top" = Option<u32>, Query, description = "page size, 1 to 999 (default 100)"), ("$skiptoken" = Option<String>, Query, description = "from @odata.nextLink")), responses((status = 200, description = "a collection of microsoft.graph.connectedOrganization", body = crate::graph::openapi::Object), Errors))]
async fn list_orgs(State(st): State<Shared>, caller: Caller, RawQuery(raw): RawQuery) -> GraphResult<Response> {
    let paging = Paging::of(raw.as_deref(), "connectedOrganizations")?.unfiltered()?;
    let page: Vec<(ObjectId, ConnectedOrganization)> = gov(&st)?.page(caller.tenant, AccessObjectKind::ConnectedOrganization, paging.range()).await?;
    Ok(paging.answer(page, |(id, _)| *id, |(_, o)| org_json(o)))
}

#[utoipa::path(post, path = "/v1.0/identityGovernance/entitlementManagement/connectedOrganizations", tag = "entitlementManagement", summary = "Create a connected organization", request_body(content = crate::graph::openapi::Object, description = "{displayName, description, identitySources, state}", content_type = "application/json"), responses((status = 201, description = "microsoft.graph.connectedOrganization", body = crate::graph::openapi::Object), Errors))]
async fn create_org(State(st): State<Shared>, caller: Caller, body: Body) -> GraphResult<Response> {
    let body = read_object(&st, body).await?;
    only_known(&body, &["displayName", "description", "identitySources", "state"])?;
    let sources: Vec<IdentitySource> = parse(body.get("identitySources").cloned().unwrap_or(Value::Null), "identitySources")?;
    if sources.is_empty() {
        return Err(GraphError::bad_request("the property 'identitySources' must name at least one identity source"));
    }
    let now = st.store.clock().now();
    let org = ConnectedOrganization {
        id: ConnectedOrgId::new(),
        display_name: required(&body, "displayName")?.to_owned(),
        description: text(&body, "description")?.unwrap_or_default().to_owned(),
        identity_sources: sources,
        state: state_of(&body)?.unwrap_or_default(),
        internal_sponsors: Default::default(),
        external_sponsors: Default::default(),
        external_user_lifecycle: None,
        created_date_time: now,
        modified_date_time: now,
    };
    gov(&st)?.put_connected_organization(caller.tenant, &org).await?;
    super::audit(&st, &caller, entry("Create connected organization", AuditOperation::Add, "ConnectedOrganization", org.id).named(Some(&org.display_name)))
        .await;
    Ok(entity(StatusCode::CREATED, "connectedOrganizations", org_json(&org)))
}

#[utoipa::path(get, path = "/v1.0/identityGovernance/entitlementManagement/connectedOrganizations/{id}", tag = "entitlementManagement", summary = "Get a connected organization", params(("id" = String, Path, description = "the organization's id")), responses((status = 200, description = "microsoft.graph.connectedOrganization", body = crate::graph::openapi::Object), Errors))]
async fn get_org(State(st): State<Shared>, caller: Caller, Path(id): Path<String>) -> GraphResult<Response> {
    let org = find_org(&st, &caller, &id).await?;
    Ok(entity(StatusCode::OK, "connectedOrganizations", org_json(&org)))
}

#[utoipa::path(patch, path = "/v1.0/identityGovernance/entitlementManagement/connectedOrganizations/{id}", tag = "entitlementManagement", summary = "Update a connected organization", params(("id" = String, Path, description = "the organization's id")), request_body(content = crate::graph::openapi::Object, description = "{displayName, description, state}", content_type = "application/json"), responses((status = 204, description = "done"), Errors))]
async fn patch_org(State(st): State<Shared>, caller: Caller, Path(id): Path<String>, body: Body) -> GraphResult<Response> {
    let body = read_object(&st, body).await?;
    only_known(&body, &["displayName", "description", "state"])?;
    let old = find_org(&st, &caller, &id).await?;
    let mut org = old.clone();
    if let Some(n) = text(&body, "displayName")? {
        org.display_name = n.to_owned();
    }
    if let Some(d) = text(&body, "description")? {
        org.description = d.to_owned();
    }
    if let Some(s) = state_of(&body)? {
        org.state = s;
    }
    org.modified_date_time = st.store.clock().now();
    gov(&st)?.put_connected_organization(caller.tenant, &org).await?;
    let e = entry("Update connected organization", AuditOperation::Update, "ConnectedOrganization", org.id)
        .named(Some(&org.display_name))
        .change("displayName", Some(old.display_name), Some(org.display_name.clone()))
        .change("description", Some(old.description), Some(org.description.clone()))
        .change("state", Some(format!("{:?}", old.state)), Some(format!("{:?}", org.state)));
    super::audit(&st, &caller, e).await;
    Ok(no_content())
}

#[utoipa::path(delete, path = "/v1.0/identityGovernance/entitlementManagement/connectedOrganizations/{id}", tag = "entitlementManagement", summary = "Delete a connected organization", params(("id" = String, Path, description = "the organization's id")), responses((status = 204, description = "done"), Errors))]
async fn delete_org(State(st): State<Shared>, caller: Caller, Path(id): Path<String>) -> GraphResult<Response> {
    let org = find_org(&st, &caller, &id).await?;
    gov(&st)?.store().delete_access_object(caller.tenant, AccessObjectKind::ConnectedOrganization, ObjectId::from_bytes(*org.id.as_bytes())).await?;
    super::audit(&st, &caller, entry("Delete connected organization", AuditOperation::Delete, "ConnectedOrganization", org.id).named(Some(&org.display_name)))
        .await;
    Ok(no_content())
}

/// Which sponsors of a connected organization a route is about: the internal ones
/// (users of the tenant who answer for the organization) or the external ones (people of
/// the organization, as users of the tenant: usually its guests). Both approve requests
/// of the organization's people when a stage names them.
#[derive(Clone, Copy)]
enum Sponsors {
    Internal,
    External,
}

impl Sponsors {
    /// The property's name in Graph.
    fn property(self) -> &'static str {
        match self {
            Sponsors::Internal => "internalSponsors",
            Sponsors::External => "externalSponsors",
        }
    }

    /// The word in audit activities.
    fn word(self) -> &'static str {
        match self {
            Sponsors::Internal => "internal",
            Sponsors::External => "external",
        }
    }

    fn of(self, org: &mut ConnectedOrganization) -> &mut std::collections::BTreeSet<ObjectId> {
        match self {
            Sponsors::Internal => &mut org.internal_sponsors,
            Sponsors::External => &mut org.external_sponsors,
        }
    }
}

async fn list_sponsors(st: Shared, caller: Caller, id: String, kind: Sponsors) -> GraphResult<Response> {
    let mut org = find_org(&st, &caller, &id).await?;
    let value: Vec<Value> = kind.of(&mut org).iter().map(|u| json!({ "@odata.type": "#microsoft.graph.user", "id": u })).collect();
    Ok(answer(StatusCode::OK, json!({ "@odata.context": crate::graph::context("directoryObjects"), "value": value })))
}

async fn add_sponsor(st: Shared, caller: Caller, id: String, body: Body, kind: Sponsors) -> GraphResult<Response> {
    let body = read_object(&st, body).await?;
    only_known(&body, &[])?;
    let url = body.get("@odata.id").and_then(Value::as_str).ok_or_else(|| GraphError::bad_request("the body must name the sponsor in '@odata.id'"))?;
    let user = crate::graph::members::reference_id(url)?;
    let mut org = find_org(&st, &caller, &id).await?;
    match st.store.get_user(caller.tenant, user).await {
        Ok(u) if !u.is_deleted() => {}
        Ok(_) | Err(tenantsync_store::StoreError::NotFound { .. }) => return Err(GraphError::bad_request(format!("'{user}' is not a user of the tenant"))),
        Err(e) => return Err(e.into()),
    }
    if kind.of(&mut org).insert(user) {
        org.modified_date_time = st.store.clock().now();
        gov(&st)?.put_connected_organization(caller.tenant, &org).await?;
        let e = entry(&format!("Add {} sponsor", kind.word()), AuditOperation::Assign, "ConnectedOrganization", org.id).named(Some(&org.display_name)).change(
            kind.property(),
            None,
            Some(user.to_string()),
        );
        super::audit(&st, &caller, e).await;
    }
    Ok(no_content())
}

async fn remove_sponsor(st: Shared, caller: Caller, id: String, sponsor: String, kind: Sponsors) -> GraphResult<Response> {
    let mut org = find_org(&st, &caller, &id).await?;
    let user: ObjectId = id_of(&sponsor, "sponsor")?;
    if !kind.of(&mut org).remove(&user) {
        return Err(GraphError::not_found(format!("'{user}' is not an {} sponsor of the organization", kind.word())));
    }
    org.modified_date_time = st.store.clock().now();
    gov(&st)?.put_connected_organization(caller.tenant, &org).await?;
    let e = entry(&format!("Remove {} sponsor", kind.word()), AuditOperation::Unassign, "ConnectedOrganization", org.id).named(Some(&org.display_name)).change(
        kind.property(),
        Some(user.to_string()),
        None,
    );
    super::audit(&st, &caller, e).await;
    Ok(no_content())
}

#[utoipa::path(get, path = "/v1.0/identityGovernance/entitlementManagement/connectedOrganizations/{id}/internalSponsors", tag = "entitlementManagement", summary = "The internal sponsors of a connected organization", params(("id" = String, Path, description = "the organization's id")), responses((status = 200, description = "a collection of microsoft.graph.directoryObject", body = crate::graph::openapi::Object), Errors))]
async fn list_internal_sponsors(State(st): State<Shared>, caller: Caller, Path(id): Path<String>) -> GraphResult<Response> {
    list_sponsors(st, caller, id, Sponsors::Internal).await
}

#[utoipa::path(post, path = "/v1.0/identityGovernance/entitlementManagement/connectedOrganizations/{id}/internalSponsors/$ref", tag = "entitlementManagement", summary = "Add an internal sponsor", params(("id" = String, Path, description = "the organization's id")), request_body(content = crate::graph::openapi::Object, description = "{\"@odata.id\": \"…/users/{id}\"}", content_type = "application/json"), responses((status = 204, description = "done"), Errors))]
async fn add_internal_sponsor(State(st): State<Shared>, caller: Caller, Path(id): Path<String>, body: Body) -> GraphResult<Response> {
    add_sponsor(st, caller, id, body, Sponsors::Internal).await
}

#[utoipa::path(delete, path = "/v1.0/identityGovernance/entitlementManagement/connectedOrganizations/{id}/internalSponsors/{sponsor}/$ref", tag = "entitlementManagement", summary = "Remove an internal sponsor", params(("id" = String, Path, description = "the organization's id"), ("sponsor" = String, Path, description = "the sponsor's id")), responses((status = 204, description = "done"), Errors))]
async fn remove_internal_sponsor(State(st): State<Shared>, caller: Caller, Path((id, sponsor)): Path<(String, String)>) -> GraphResult<Response> {
    remove_sponsor(st, caller, id, sponsor, Sponsors::Internal).await
}

#[utoipa::path(get, path = "/v1.0/identityGovernance/entitlementManagement/connectedOrganizations/{id}/externalSponsors", tag = "entitlementManagement", summary = "The external sponsors of a connected organization", params(("id" = String, Path, description = "the organization's id")), responses((status = 200, description = "a collection of microsoft.graph.directoryObject", body = crate::graph::openapi::Object), Errors))]
async fn list_external_sponsors(State(st): State<Shared>, caller: Caller, Path(id): Path<String>) -> GraphResult<Response> {
    list_sponsors(st, caller, id, Sponsors::External).await
}

#[utoipa::path(post, path = "/v1.0/identityGovernance/entitlementManagement/connectedOrganizations/{id}/externalSponsors/$ref", tag = "entitlementManagement", summary = "Add an external sponsor", params(("id" = String, Path, description = "the organization's id")), request_body(content = crate::graph::openapi::Object, description = "{\"@odata.id\": \"…/users/{id}\"}", content_type = "application/json"), responses((status = 204, description = "done"), Errors))]
async fn add_external_sponsor(State(st): State<Shared>, caller: Caller, Path(id): Path<String>, body: Body) -> GraphResult<Response> {
    add_sponsor(st, caller, id, body, Sponsors::External).await
}

#[utoipa::path(delete, path = "/v1.0/identityGovernance/entitlementManagement/connectedOrganizations/{id}/externalSponsors/{sponsor}/$ref", tag = "entitlementManagement", summary = "Remove an external sponsor", params(("id" = String, Path, description = "the organization's id"), ("sponsor" = String, Path, description = "the sponsor's id")), responses((status = 204, description = "done"), Errors))]
async fn remove_external_sponsor(State(st): State<Shared>, caller: Caller, Path((id, sponsor)): Path<(String, String)>) -> GraphResult<Response> {
    remove_sponsor(st, caller, id, sponsor, Sponsors::External).await
}

fn catalog_json(c: &Catalog) -> Value {
    let mut v = json_of(c);
    crate::graph::set(&mut v, "catalogType", json!("userManaged"));
    crate::graph::set(&mut v, "state", json!("published"));
    v
}

#[utoipa::path(get, path = "/v1.0/identityGovernance/entitlementManagement/catalogs", tag = "entitlementManagement", summary = "List catalogs", params(("$top" = Option<u32>, Query, description = "page size, 1 to 999 (default 100)"), ("$skiptoken" = Option<String>, Query, description = "from @odata.nextLink")), responses((status = 200, description = "a collection of microsoft.graph.accessPackageCatalog", body = crate::graph::openapi::Object), Errors))]
async fn list_catalogs(State(st): State<Shared>, caller: Caller, RawQuery(raw): RawQuery) -> GraphResult<Response> {
    let paging = Paging::of(raw.as_deref(), "catalogs")?.unfiltered()?;
    let page: Vec<(ObjectId, Catalog)> = gov(&st)?.page(caller.tenant, AccessObjectKind::Catalog, paging.range()).await?;
    Ok(paging.answer(page, |(id, _)| *id, |(_, c)| catalog_json(c)))
}

#[utoipa::path(post, path = "/v1.0/identityGovernance/entitlementManagement/catalogs", tag = "entitlementManagement", summary = "Create a catalog", request_body(content = crate::graph::openapi::Object, description = "{displayName, description, isExternallyVisible}", content_type = "application/json"), responses((status = 201, description = "microsoft.graph.accessPackageCatalog", body = crate::graph::openapi::Object), Errors))]
async fn create_catalog(State(st): State<Shared>, caller: Caller, body: Body) -> GraphResult<Response> {
    let body = read_object(&st, body).await?;
    only_known(&body, &["displayName", "description", "isExternallyVisible", "catalogType", "state"])?;
    for (key, only) in [("catalogType", "userManaged"), ("state", "published")] {
        if let Some(v) = text(&body, key)?
            && v != only
        {
            return Err(GraphError::bad_request(format!("the property '{key}' can only be '{only}' in tenantsync")));
        }
    }
    let now = st.store.clock().now();
    let catalog = Catalog {
        id: CatalogId::new(),
        display_name: required(&body, "displayName")?.to_owned(),
        description: text(&body, "description")?.unwrap_or_default().to_owned(),
        is_externally_visible: flag(&body, "isExternallyVisible")?.unwrap_or(true),
        created_date_time: now,
        modified_date_time: now,
    };
    gov(&st)?.put_catalog(caller.tenant, &catalog).await?;
    super::audit(&st, &caller, entry("Create catalog", AuditOperation::Add, "AccessPackageCatalog", catalog.id).named(Some(&catalog.display_name))).await;
    Ok(entity(StatusCode::CREATED, "catalogs", catalog_json(&catalog)))
}

#[utoipa::path(get, path = "/v1.0/identityGovernance/entitlementManagement/catalogs/{id}", tag = "entitlementManagement", summary = "Get a catalog", params(("id" = String, Path, description = "the catalog's id")), responses((status = 200, description = "microsoft.graph.accessPackageCatalog", body = crate::graph::openapi::Object), Errors))]
async fn get_catalog(State(st): State<Shared>, caller: Caller, Path(id): Path<String>) -> GraphResult<Response> {
    let id: CatalogId = id_of(&id, "catalog")?;
    let c = gov(&st)?.catalog(caller.tenant, id).await?;
    Ok(entity(StatusCode::OK, "catalogs", catalog_json(&c)))
}

#[utoipa::path(get, path = "/v1.0/identityGovernance/entitlementManagement/settings", tag = "entitlementManagement", summary = "The tenant's entitlement management settings", responses((status = 200, description = "microsoft.graph.entitlementManagementSettings", body = crate::graph::openapi::Object), Errors))]
async fn get_settings(State(st): State<Shared>, caller: Caller) -> GraphResult<Response> {
    let s = gov(&st)?.settings(caller.tenant).await?;
    let mut v = json_of(&s);
    crate::graph::set(&mut v, "id", json!(caller.tenant));
    crate::graph::set(&mut v, "@odata.context", json!(crate::graph::context(&format!("{BASE}/settings/$entity"))));
    Ok(answer(StatusCode::OK, v))
}

#[utoipa::path(patch, path = "/v1.0/identityGovernance/entitlementManagement/settings", tag = "entitlementManagement", summary = "Update the settings", request_body(content = crate::graph::openapi::Object, description = "{externalUserLifecycleAction, durationUntilExternalUserDeletedAfterBlocked}", content_type = "application/json"), responses((status = 204, description = "done"), Errors))]
async fn patch_settings(State(st): State<Shared>, caller: Caller, body: Body) -> GraphResult<Response> {
    let body = read_object(&st, body).await?;
    only_known(&body, &["externalUserLifecycleAction", "durationUntilExternalUserDeletedAfterBlocked"])?;
    let g = gov(&st)?;
    let old = g.settings(caller.tenant).await?;
    let mut v = json_of(&old);
    for (k, x) in &body {
        if !k.contains('@') {
            crate::graph::set(&mut v, k, x.clone());
        }
    }
    let new: tenantsync_governance::Settings = parse(v, "settings")?;
    g.set_settings(caller.tenant, &new).await?;
    let show = |s: &tenantsync_governance::Settings| {
        (json_of(&s.external_user_lifecycle_action).to_string(), s.duration_until_external_user_deleted_after_blocked.to_string())
    };
    let (oa, od) = show(&old);
    let (na, nd) = show(&new);
    let e = entry("Update entitlement management settings", AuditOperation::Update, "EntitlementManagementSettings", caller.tenant)
        .change("externalUserLifecycleAction", Some(oa), Some(na))
        .change("durationUntilExternalUserDeletedAfterBlocked", Some(od), Some(nd));
    super::audit(&st, &caller, e).await;
    Ok(no_content())
}
