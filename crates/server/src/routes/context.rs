//! What every request starts and ends with: the bearer token and the tenant it may see,
//! the JSON body, conditional headers (`If-Match`, `If-None-Match`) and the SCIM response
//! with its `ETag` and `Location`.
use super::{AppState, TENANT_CACHE_MAX, tenant_not_found};
use crate::SCIM_JSON;
use crate::auth;
use crate::error::{ScimCode, ScimError, ScimResult};
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tenantsync_domain::{DomainName, ObjectId, ObjectKind, TenantId, Version};
use tenantsync_store::TokenRole;

/// An authenticated request on one tenant.
pub(super) struct Ctx {
    pub(super) tenant: TenantId,
    /// The tenant's initial domain (bare userNames live there).
    pub(super) domain: String,
    /// `{public URL}/scim/v2/{tenant}`, for `location` and `$ref` (the public URL is the
    /// configured one, never the request's `Host`: see `crate::origin`).
    pub(super) base: String,
}

/// What a request does, for the token's role: a `reader` token only reads; `admin` and
/// `scim` tokens read and write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Access {
    Read,
    Write,
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Authenticates the request (token, rate limit, the token's role allowing `access`) and
/// resolves `{tenant}`, which must be the token's tenant.
pub(super) async fn ctx(st: &AppState, tenant: &str, headers: &HeaderMap, access: Access) -> ScimResult<Ctx> {
    let (id, secret) = bearer(headers).and_then(auth::parse).ok_or_else(ScimError::unauthorized)?;
    let token = st.store.get_token(id).await?.ok_or_else(ScimError::unauthorized)?;
    let ok = auth::constant_time_eq(&auth::hash_secret(secret), &token.secret_hash) && token.is_usable(st.store.clock().now());
    if !ok {
        return Err(ScimError::unauthorized());
    }
    st.limiter.check(token.id)?;
    if access == Access::Write && token.role == TokenRole::Reader {
        return Err(ScimError::of(ScimCode::Forbidden, "this token may only read (role reader)"));
    }
    // A token only ever sees its own tenant; any other name is "not found", whether or
    // not such a tenant exists.
    let cached = st.tenants.read().ok().and_then(|m| m.get(tenant).cloned());
    let (id, domain) = match cached {
        Some(hit) => hit,
        None => {
            let resolved = match tenant.parse::<TenantId>() {
                Ok(t) if t == token.tenant_id => Some(st.store.get_tenant(t).await?),
                Ok(_) => None,
                Err(_) => match DomainName::parse(tenant) {
                    Ok(d) if d.as_str() == tenant.to_ascii_lowercase() => st.store.find_tenant_by_domain(&d).await?,
                    _ => None,
                },
            };
            let Some(t) = resolved else { return Err(tenant_not_found()) };
            let entry = (t.id, t.initial_domain.to_string());
            if let Ok(mut m) = st.tenants.write() {
                if m.len() >= TENANT_CACHE_MAX {
                    m.clear();
                }
                m.insert(tenant.to_owned(), entry.clone());
            }
            entry
        }
    };
    if id != token.tenant_id {
        return Err(tenant_not_found());
    }
    Ok(Ctx { tenant: token.tenant_id, domain, base: format!("{}/scim/v2/{tenant}", crate::origin::current()) })
}

/// The request body as JSON, refused past `max_body_bytes` (413) or when it did not arrive
/// within the body-read timeout (408; see `crate::http`).
pub(super) async fn read_json(st: &AppState, body: Body) -> ScimResult<Value> {
    let limit = st.config.max_body_bytes;
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|e| match crate::http::BodyTimeout::in_chain(&e) {
        Some(timeout) => {
            tracing::warn!("the request body did not arrive within {timeout:?} (body-read timeout); answering 408 and closing the connection");
            ScimError::request_timeout(timeout)
        }
        None => ScimError::too_large(limit),
    })?;
    serde_json::from_slice(&bytes).map_err(|e| ScimError::invalid_syntax(format!("the body is not valid JSON: {e}")))
}

fn set_etag(headers: &mut HeaderMap, version: Version) {
    if let Ok(etag) = HeaderValue::from_str(&version.etag()) {
        headers.insert(header::ETAG, etag);
    }
}

/// A SCIM JSON response, with the resource's version as `ETag` and its `Location`.
pub(super) fn respond(status: StatusCode, body: &Value, version: Option<Version>, location: Option<&str>) -> Response {
    // Straight to bytes: `to_string` goes through `fmt::Write` a fragment at a time.
    let mut res = (status, serde_json::to_vec(body).unwrap_or_default()).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    if let Some(v) = version {
        set_etag(h, v);
    }
    if let Some(l) = location
        && let Ok(l) = HeaderValue::from_str(l)
    {
        h.insert(header::LOCATION, l);
    }
    res
}

/// 304 with the current `ETag`.
pub(super) fn not_modified(version: Version) -> Response {
    let mut res = StatusCode::NOT_MODIFIED.into_response();
    set_etag(res.headers_mut(), version);
    res
}

/// `If-Match`: `None` when absent or `*`; a version that matches nothing when unreadable.
pub(super) fn if_match(headers: &HeaderMap) -> Option<Version> {
    let v = headers.get(header::IF_MATCH)?.to_str().ok()?.trim();
    if v == "*" {
        return None;
    }
    Some(Version::parse_etag(v).unwrap_or(Version(0)))
}

/// Whether `If-None-Match` names `version` (or `*`).
pub(super) fn if_none_match(headers: &HeaderMap, version: Version) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|h| h.split(',').any(|e| e.trim() == "*" || Version::parse_etag(e) == Some(version)))
}

/// The `{id}` of a resource URL; one that is not an id names nothing.
pub(super) fn object_id(id: &str, kind: ObjectKind) -> ScimResult<ObjectId> {
    id.parse().map_err(|_| ScimError::not_found(format!("{kind} {id} not found")))
}
