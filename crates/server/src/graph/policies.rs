//! Cross-tenant access settings as Graph's `policies/crossTenantAccessPolicy`: the
//! `default` (the settings towards partners without their own) and `partners/{tenantId}`
//! (a tenantsync tenant), each with `automaticUserConsentSettings`
//! (`inboundAllowed`/`outboundAllowed`), and a partner's `identitySynchronization`
//! (`userSyncInbound.isSyncAllowed`, and Entra beta's `groupSyncInbound.isSyncAllowed`).
//! They are the store's `PartnerSettings`; a partner exists once it has a settings row
//! (created by `POST partners`), its identity synchronization once one of its two
//! settings is set. `null` leaves a setting to the default.
use super::audit::Entry;
use super::caller::Caller;
use super::error::{GraphCode, GraphError, GraphResult};
use super::{GraphState, Shared};
use crate::graph::openapi::{ApiRouter, only};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};
use tenantsync_domain::{PartnerSettings, TenantId};
use tenantsync_store::{AuditCategory, AuditOperation, SyncStore};

pub(super) fn routes(router: ApiRouter) -> ApiRouter {
    router
        .routes(only(utoipa_axum::routes!(policy)))
        .routes(only(utoipa_axum::routes!(read_default, patch_default)))
        .routes(only(utoipa_axum::routes!(list, create)))
        .routes(only(utoipa_axum::routes!(read, update, remove)))
        .routes(only(utoipa_axum::routes!(read_sync, put_sync, patch_sync, delete_sync)))
}

/// Partner properties of Graph that tenantsync does not model: accepted as `null` only.
const UNMODELLED: &[&str] = &[
    "inboundTrust",
    "b2bCollaborationInbound",
    "b2bCollaborationOutbound",
    "b2bDirectConnectInbound",
    "b2bDirectConnectOutbound",
    "tenantRestrictions",
    "isServiceProvider",
    "isInMultiTenantOrganization",
    "invitationRedemptionIdentityProviderConfiguration",
    "crossCloudMeetingConfiguration",
    "protectedContentSharing",
];

fn consent(s: &PartnerSettings) -> Value {
    json!({ "inboundAllowed": s.inbound_auto_redeem, "outboundAllowed": s.outbound_auto_redeem })
}

fn partner_json(partner: TenantId, s: &PartnerSettings) -> Value {
    json!({
        "tenantId": partner,
        "isServiceProvider": null,
        "isInMultiTenantOrganization": false,
        "inboundTrust": null,
        "b2bCollaborationInbound": null,
        "b2bCollaborationOutbound": null,
        "b2bDirectConnectInbound": null,
        "b2bDirectConnectOutbound": null,
        "tenantRestrictions": null,
        "automaticUserConsentSettings": consent(s),
    })
}

fn sync_json(partner: TenantId, s: &PartnerSettings) -> Value {
    json!({
        "@odata.context": super::context(&format!("policies/crossTenantAccessPolicy/partners('{partner}')/identitySynchronization/$entity")),
        "tenantId": partner,
        "displayName": null,
        "userSyncInbound": { "isSyncAllowed": s.inbound_user_sync },
        "groupSyncInbound": { "isSyncAllowed": s.inbound_group_sync },
    })
}

/// A setting of a body: `true`, `false` or `null`.
fn flag(o: &Map<String, Value>, key: &str, at: &str) -> GraphResult<Option<Option<bool>>> {
    match o.get(key) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::Bool(b)) => Ok(Some(Some(*b))),
        Some(_) => Err(GraphError::bad_request(format!("the property '{at}.{key}' must be true, false or null"))),
    }
}

/// An object-valued property's members, only `keys` allowed.
fn object<'a>(v: &'a Value, at: &str, keys: &[&str]) -> GraphResult<Option<&'a Map<String, Value>>> {
    match v {
        Value::Null => Ok(None),
        Value::Object(o) => {
            if let Some(k) = o.keys().find(|k| !k.contains('@') && !keys.contains(&k.as_str())) {
                return Err(GraphError::bad_request(format!("the property '{at}.{k}' does not exist or cannot be written")));
            }
            Ok(Some(o))
        }
        _ => Err(GraphError::bad_request(format!("the property '{at}' must be an object"))),
    }
}

/// Applies `automaticUserConsentSettings` of a body; other partner properties must be
/// null (tenantsync does not model them) or the `extra` ones.
fn apply_consent(body: &Map<String, Value>, s: &mut PartnerSettings, extra: &[&str]) -> GraphResult<()> {
    for (k, v) in body {
        if k.contains('@') || extra.contains(&k.as_str()) {
            continue;
        }
        if k == "automaticUserConsentSettings" {
            if let Some(o) = object(v, k, &["inboundAllowed", "outboundAllowed"])? {
                if let Some(x) = flag(o, "inboundAllowed", k)? {
                    s.inbound_auto_redeem = x;
                }
                if let Some(x) = flag(o, "outboundAllowed", k)? {
                    s.outbound_auto_redeem = x;
                }
            } else {
                (s.inbound_auto_redeem, s.outbound_auto_redeem) = (None, None);
            }
        } else if UNMODELLED.contains(&k.as_str()) {
            if !v.is_null() {
                return Err(GraphError::bad_request(format!("the property '{k}' is not supported by tenantsync (only null)")));
            }
        } else {
            return Err(GraphError::bad_request(format!("the property '{k}' does not exist on this resource or cannot be written")));
        }
    }
    Ok(())
}

/// Adds `partner` to `tenant`'s partners with `s`: another tenant of this tenantsync, not
/// one already there (409). The admin API and the console add partners through it.
pub(crate) async fn add_partner(store: &dyn SyncStore, tenant: TenantId, partner: TenantId, s: PartnerSettings) -> GraphResult<()> {
    if partner == tenant {
        return Err(GraphError::bad_request("a tenant is not its own partner"));
    }
    if store.get_tenant(partner).await.is_err() {
        return Err(GraphError::bad_request(format!("tenantId '{partner}' is not a tenant of this tenantsync")));
    }
    if store.partner_settings_row(tenant, partner).await?.is_some() {
        return Err(GraphError::new(GraphCode::Conflict, format!("a partner configuration for tenant '{partner}' exists")));
    }
    Ok(store.set_partner_settings(tenant, Some(partner), s).await?)
}

/// The audit entry of a settings change, old → new for each setting.
pub(crate) fn entry(activity: &str, op: AuditOperation, target: &str, old: &PartnerSettings, new: &PartnerSettings) -> Entry {
    let t = |v: Option<bool>| v.map(|b| b.to_string());
    Entry::new(activity, op, AuditCategory::Policy, "Policy", target)
        .change("automaticUserConsentSettings.inboundAllowed", t(old.inbound_auto_redeem), t(new.inbound_auto_redeem))
        .change("automaticUserConsentSettings.outboundAllowed", t(old.outbound_auto_redeem), t(new.outbound_auto_redeem))
        .change("userSyncInbound.isSyncAllowed", t(old.inbound_user_sync), t(new.inbound_user_sync))
        .change("groupSyncInbound.isSyncAllowed", t(old.inbound_group_sync), t(new.inbound_group_sync))
}

#[utoipa::path(get, path = "/v1.0/policies/crossTenantAccessPolicy", tag = "policies", summary = "The cross-tenant access policy", responses((status = 200, description = "microsoft.graph.crossTenantAccessPolicy", body = crate::graph::openapi::Object), crate::graph::openapi::Errors))]
async fn policy(_caller: Caller) -> Response {
    super::answer(
        StatusCode::OK,
        json!({
            "@odata.context": super::context("policies/crossTenantAccessPolicy/$entity"),
            "id": "crossTenantAccessPolicy", "displayName": "CrossTenantAccessPolicy", "allowedCloudEndpoints": [],
        }),
    )
}

#[utoipa::path(get, path = "/v1.0/policies/crossTenantAccessPolicy/default", tag = "policies", summary = "The default settings", responses((status = 200, description = "microsoft.graph.crossTenantAccessPolicyConfigurationDefault", body = crate::graph::openapi::Object), crate::graph::openapi::Errors))]
async fn read_default(State(st): State<Shared>, caller: Caller) -> GraphResult<Response> {
    let s = st.store.partner_settings(caller.tenant, None).await?;
    Ok(super::answer(
        StatusCode::OK,
        json!({
            "@odata.context": super::context("policies/crossTenantAccessPolicy/default/$entity"),
            "isServiceDefault": s == PartnerSettings::default(),
            "automaticUserConsentSettings": consent(&s),
        }),
    ))
}

#[utoipa::path(patch, path = "/v1.0/policies/crossTenantAccessPolicy/default", tag = "policies", summary = "Update the default settings", request_body(content = crate::graph::openapi::Object, description = "automaticUserConsentSettings", content_type = "application/json"), responses((status = 204, description = "done"), crate::graph::openapi::Errors))]
async fn patch_default(State(st): State<Shared>, caller: Caller, body: Body) -> GraphResult<Response> {
    let body = super::read_object(&st, body).await?;
    let old = st.store.partner_settings(caller.tenant, None).await?;
    let mut new = old;
    apply_consent(&body, &mut new, &["isServiceDefault"])?;
    st.store.set_partner_settings(caller.tenant, None, new).await?;
    super::audit::after(&st, &caller, entry("Update cross-tenant access default settings", AuditOperation::Update, "default", &old, &new)).await;
    Ok(super::no_content())
}

/// A partner id of a path: a tenant's id (any other text names no partner).
fn partner_id(segment: &str) -> GraphResult<TenantId> {
    segment.parse().map_err(|_| GraphError::not_found(format!("no partner configuration for tenant '{segment}'")))
}

/// The partner's settings row, or 404.
async fn existing(st: &GraphState, caller: &Caller, partner: TenantId) -> GraphResult<PartnerSettings> {
    st.store
        .partner_settings_row(caller.tenant, partner)
        .await?
        .ok_or_else(|| GraphError::not_found(format!("no partner configuration for tenant '{partner}'")))
}

#[utoipa::path(get, path = "/v1.0/policies/crossTenantAccessPolicy/partners", tag = "policies", summary = "List partners", responses((status = 200, description = "a collection of microsoft.graph.crossTenantAccessPolicyConfigurationPartner", body = crate::graph::openapi::Object), crate::graph::openapi::Errors))]
async fn list(State(st): State<Shared>, caller: Caller) -> GraphResult<Response> {
    let value: Vec<Value> = st.store.partner_settings_list(caller.tenant).await?.iter().map(|(p, s)| partner_json(*p, s)).collect();
    Ok(super::answer(StatusCode::OK, json!({ "@odata.context": super::context("policies/crossTenantAccessPolicy/partners"), "value": value })))
}

#[utoipa::path(post, path = "/v1.0/policies/crossTenantAccessPolicy/partners", tag = "policies", summary = "Add a partner", request_body(content = crate::graph::openapi::Object, description = "{tenantId, automaticUserConsentSettings}", content_type = "application/json"), responses((status = 201, description = "microsoft.graph.crossTenantAccessPolicyConfigurationPartner", body = crate::graph::openapi::Object), crate::graph::openapi::Errors))]
async fn create(State(st): State<Shared>, caller: Caller, body: Body) -> GraphResult<Response> {
    let body = super::read_object(&st, body).await?;
    let partner = match body.get("tenantId") {
        Some(Value::String(s)) => s.parse::<TenantId>().map_err(|_| GraphError::bad_request(format!("tenantId '{s}' is not a tenant id")))?,
        Some(_) => return Err(GraphError::bad_request("the property 'tenantId' must be a string")),
        None => return Err(GraphError::bad_request("tenantId is required")),
    };
    let mut s = PartnerSettings::default();
    apply_consent(&body, &mut s, &["tenantId"])?;
    add_partner(st.store.as_ref(), caller.tenant, partner, s).await?;
    super::audit::after(
        &st,
        &caller,
        entry("Add partner to cross-tenant access setting", AuditOperation::Add, &partner.to_string(), &PartnerSettings::default(), &s),
    )
    .await;
    let mut out = partner_json(partner, &s);
    crate::graph::set(&mut out, "@odata.context", json!(super::context("policies/crossTenantAccessPolicy/partners/$entity")));
    Ok(super::answer(StatusCode::CREATED, out))
}

#[utoipa::path(get, path = "/v1.0/policies/crossTenantAccessPolicy/partners/{tenant}", tag = "policies", summary = "Get a partner", params(("tenant" = String, Path, description = "the partner's tenant id")), responses((status = 200, description = "microsoft.graph.crossTenantAccessPolicyConfigurationPartner", body = crate::graph::openapi::Object), crate::graph::openapi::Errors))]
async fn read(State(st): State<Shared>, caller: Caller, Path(tenant): Path<String>) -> GraphResult<Response> {
    let partner = partner_id(&tenant)?;
    let s = existing(&st, &caller, partner).await?;
    let mut out = partner_json(partner, &s);
    crate::graph::set(&mut out, "@odata.context", json!(super::context("policies/crossTenantAccessPolicy/partners/$entity")));
    Ok(super::answer(StatusCode::OK, out))
}

#[utoipa::path(patch, path = "/v1.0/policies/crossTenantAccessPolicy/partners/{tenant}", tag = "policies", summary = "Update a partner", params(("tenant" = String, Path, description = "the partner's tenant id")), request_body(content = crate::graph::openapi::Object, description = "automaticUserConsentSettings", content_type = "application/json"), responses((status = 204, description = "done"), crate::graph::openapi::Errors))]
async fn update(State(st): State<Shared>, caller: Caller, Path(tenant): Path<String>, body: Body) -> GraphResult<Response> {
    let body = super::read_object(&st, body).await?;
    let partner = partner_id(&tenant)?;
    let old = existing(&st, &caller, partner).await?;
    let mut new = old;
    apply_consent(&body, &mut new, &["tenantId"])?;
    st.store.set_partner_settings(caller.tenant, Some(partner), new).await?;
    super::audit::after(&st, &caller, entry("Update a partner cross-tenant access setting", AuditOperation::Update, &partner.to_string(), &old, &new)).await;
    Ok(super::no_content())
}

#[utoipa::path(delete, path = "/v1.0/policies/crossTenantAccessPolicy/partners/{tenant}", tag = "policies", summary = "Delete a partner", params(("tenant" = String, Path, description = "the partner's tenant id")), responses((status = 204, description = "done"), crate::graph::openapi::Errors))]
async fn remove(State(st): State<Shared>, caller: Caller, Path(tenant): Path<String>) -> GraphResult<Response> {
    let partner = partner_id(&tenant)?;
    let old = existing(&st, &caller, partner).await?;
    st.store.delete_partner_settings(caller.tenant, partner).await?;
    super::audit::after(
        &st,
        &caller,
        entry("Delete partner specific cross-tenant access setting", AuditOperation::Delete, &partner.to_string(), &old, &PartnerSettings::default()),
    )
    .await;
    Ok(super::no_content())
}

fn has_sync(s: &PartnerSettings) -> bool {
    s.inbound_user_sync.is_some() || s.inbound_group_sync.is_some()
}

#[utoipa::path(get, path = "/v1.0/policies/crossTenantAccessPolicy/partners/{tenant}/identitySynchronization", tag = "policies", summary = "Get the identity synchronization policy of a partner", params(("tenant" = String, Path, description = "the partner's tenant id")), responses((status = 200, description = "microsoft.graph.crossTenantIdentitySyncPolicyPartner", body = crate::graph::openapi::Object), crate::graph::openapi::Errors))]
async fn read_sync(State(st): State<Shared>, caller: Caller, Path(tenant): Path<String>) -> GraphResult<Response> {
    let partner = partner_id(&tenant)?;
    let s = existing(&st, &caller, partner).await?;
    if !has_sync(&s) {
        return Err(GraphError::not_found(format!("no identity synchronization policy for tenant '{partner}'")));
    }
    Ok(super::answer(StatusCode::OK, sync_json(partner, &s)))
}

/// Applies an identitySynchronization body of `partner` (`displayName` is accepted and not
/// kept; `tenantId`, when given, is the partner's).
fn apply_sync(body: &Map<String, Value>, partner: TenantId, s: &mut PartnerSettings, replace: bool) -> GraphResult<()> {
    if replace {
        (s.inbound_user_sync, s.inbound_group_sync) = (None, None);
    }
    for (k, v) in body {
        match k.as_str() {
            k if k.contains('@') => {}
            "displayName" if v.is_string() || v.is_null() => {}
            "displayName" => return Err(GraphError::bad_request("the property 'displayName' must be a string")),
            "tenantId" if v.is_null() || v.as_str().and_then(|t| t.parse::<TenantId>().ok()) == Some(partner) => {}
            "tenantId" => return Err(GraphError::bad_request(format!("the property 'tenantId' must be the partner's tenant id '{partner}'"))),
            "userSyncInbound" | "groupSyncInbound" => {
                let value = match object(v, k, &["isSyncAllowed"])? {
                    Some(o) => flag(o, "isSyncAllowed", k)?.flatten(),
                    None => None,
                };
                if k == "userSyncInbound" {
                    s.inbound_user_sync = value;
                } else {
                    s.inbound_group_sync = value;
                }
            }
            "externalCloudAuthorizedApplicationId" if v.is_null() => {}
            other => {
                return Err(GraphError::bad_request(format!(
                    "the property '{other}' does not exist on type 'microsoft.graph.crossTenantIdentitySyncPolicyPartner' or cannot be written"
                )));
            }
        }
    }
    Ok(())
}

async fn write_sync(st: &GraphState, caller: &Caller, tenant: &str, body: Body, put: bool) -> GraphResult<Response> {
    let body = super::read_object(st, body).await?;
    let partner = partner_id(tenant)?;
    let old = existing(st, caller, partner).await?;
    if !put && !has_sync(&old) {
        return Err(GraphError::not_found(format!("no identity synchronization policy for tenant '{partner}'")));
    }
    let mut new = old;
    apply_sync(&body, partner, &mut new, put)?;
    st.store.set_partner_settings(caller.tenant, Some(partner), new).await?;
    let activity = if put { "Set identity synchronization policy of a partner" } else { "Update identity synchronization policy of a partner" };
    super::audit::after(st, caller, entry(activity, AuditOperation::Update, &partner.to_string(), &old, &new)).await;
    Ok(super::no_content())
}

#[utoipa::path(put, path = "/v1.0/policies/crossTenantAccessPolicy/partners/{tenant}/identitySynchronization", tag = "policies", summary = "Set the identity synchronization policy of a partner", params(("tenant" = String, Path, description = "the partner's tenant id")), request_body(content = crate::graph::openapi::Object, description = "{displayName, userSyncInbound: {isSyncAllowed}, groupSyncInbound: {isSyncAllowed}}", content_type = "application/json"), responses((status = 204, description = "done"), crate::graph::openapi::Errors))]
async fn put_sync(State(st): State<Shared>, caller: Caller, Path(tenant): Path<String>, body: Body) -> GraphResult<Response> {
    write_sync(&st, &caller, &tenant, body, true).await
}

#[utoipa::path(patch, path = "/v1.0/policies/crossTenantAccessPolicy/partners/{tenant}/identitySynchronization", tag = "policies", summary = "Update the identity synchronization policy of a partner", params(("tenant" = String, Path, description = "the partner's tenant id")), request_body(content = crate::graph::openapi::Object, description = "{displayName, userSyncInbound, groupSyncInbound}", content_type = "application/json"), responses((status = 204, description = "done"), crate::graph::openapi::Errors))]
async fn patch_sync(State(st): State<Shared>, caller: Caller, Path(tenant): Path<String>, body: Body) -> GraphResult<Response> {
    write_sync(&st, &caller, &tenant, body, false).await
}

#[utoipa::path(delete, path = "/v1.0/policies/crossTenantAccessPolicy/partners/{tenant}/identitySynchronization", tag = "policies", summary = "Delete the identity synchronization policy of a partner", params(("tenant" = String, Path, description = "the partner's tenant id")), responses((status = 204, description = "done"), crate::graph::openapi::Errors))]
async fn delete_sync(State(st): State<Shared>, caller: Caller, Path(tenant): Path<String>) -> GraphResult<Response> {
    let partner = partner_id(&tenant)?;
    let old = existing(&st, &caller, partner).await?;
    if !has_sync(&old) {
        return Err(GraphError::not_found(format!("no identity synchronization policy for tenant '{partner}'")));
    }
    let new = PartnerSettings { inbound_user_sync: None, inbound_group_sync: None, ..old };
    st.store.set_partner_settings(caller.tenant, Some(partner), new).await?;
    super::audit::after(&st, &caller, entry("Delete identity synchronization policy of a partner", AuditOperation::Delete, &partner.to_string(), &old, &new))
        .await;
    Ok(super::no_content())
}
