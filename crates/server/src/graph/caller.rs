//! Who calls the admin API: the bearer token decides the tenant, as in Graph, and its role
//! what the call may do — `admin` everything in its tenant, `reader` reads only; a `scim`
//! token is for SCIM and is refused here.
use super::GraphState;
use super::error::{GraphCode, GraphError};
use crate::auth;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, header};
use std::sync::Arc;
use tenantsync_domain::{ObjectId, TenantId};
use tenantsync_store::TokenRole;

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The token's tenant: the only tenant the request sees.
    pub tenant: TenantId,
    pub token_id: ObjectId,
    /// The token's name (who did it, in the audit log).
    pub token_name: String,
    pub role: TokenRole,
}

fn bearer(parts: &Parts) -> Option<&str> {
    let v = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

impl FromRequestParts<Arc<GraphState>> for Caller {
    type Rejection = GraphError;

    async fn from_request_parts(parts: &mut Parts, st: &Arc<GraphState>) -> Result<Caller, GraphError> {
        let unauthorized = || GraphError::new(GraphCode::Unauthorized, "a valid bearer token is required");
        let (id, secret) = bearer(parts).and_then(auth::parse).ok_or_else(unauthorized)?;
        let token = st.store.get_token(id).await?.ok_or_else(unauthorized)?;
        if !auth::constant_time_eq(&auth::hash_secret(secret), &token.secret_hash) || !token.is_usable(st.store.clock().now()) {
            return Err(unauthorized());
        }
        if let Err(e) = st.limiter.check(token.id) {
            return Err(GraphError { retry_after: e.retry_after, ..GraphError::new(GraphCode::Throttled, "too many requests for this token; retry later") });
        }
        let reading = matches!(parts.method, Method::GET | Method::HEAD);
        match token.role {
            TokenRole::Admin => {}
            TokenRole::Reader if reading => {}
            TokenRole::Reader => return Err(GraphError::new(GraphCode::Forbidden, "this token may only read (role reader)")),
            TokenRole::Scim => {
                return Err(GraphError::new(GraphCode::Forbidden, "this token is for SCIM only (role scim); the admin API takes admin and reader tokens"));
            }
        }
        Ok(Caller { tenant: token.tenant_id, token_id: token.id, token_name: token.name, role: token.role })
    }
}
