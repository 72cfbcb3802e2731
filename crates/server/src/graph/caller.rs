//! Who calls the admin API: the bearer token decides the tenant, as in Graph, and its role
//! what the call may do — `admin` everything in its tenant, `reader` reads only; a `scim`
//! token is for SCIM and is refused here. A **personal** token (a `reader` token bound to
//! a user of the tenant, `token create --user`) acts as that user: it reads like a reader
//! and makes, beside, the writes a person makes for themselves in entitlement management
//! (request, cancel their request, approve, review); nothing an administrator does.
use super::GraphState;
use super::error::{GraphCode, GraphError};
use crate::auth;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, header};
use std::sync::Arc;
use tenantsync_domain::{ObjectId, TenantId};
use tenantsync_store::{AccessObjectKind, TokenRole};

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The token's tenant: the only tenant the request sees.
    pub tenant: TenantId,
    pub token_id: ObjectId,
    /// The token's name (who did it, in the audit log).
    pub token_name: String,
    pub role: TokenRole,
    /// The user a personal token acts as.
    pub user: Option<ObjectId>,
}

impl Caller {
    /// Refuses a personal token where only an administrator may act (403).
    pub fn admin_only(&self) -> Result<(), GraphError> {
        match self.user {
            Some(_) => Err(personal_refused()),
            None => Ok(()),
        }
    }
}

fn personal_refused() -> GraphError {
    GraphError::new(GraphCode::Forbidden, "a personal token acts as its user: it may request, approve and review for that user, not administer")
}

fn bearer(parts: &Parts) -> Option<&str> {
    let v = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The user a `reader` token is bound to, if it is a personal token.
async fn personal_user(st: &GraphState, tenant: TenantId, token: ObjectId) -> Result<Option<ObjectId>, GraphError> {
    let Some(gov) = st.config.access.as_ref() else { return Ok(None) };
    let Some(body) = gov.store().access_object(tenant, AccessObjectKind::PersonalToken, token).await? else { return Ok(None) };
    Ok(body.get("userId").and_then(|v| v.as_str()).and_then(|s| s.parse().ok()))
}

/// What a personal token may do besides reading: the writes a person makes for
/// themselves (the handlers check that it is for themselves). Under entitlement
/// management it reads only what concerns them: packages to request, their requests,
/// assignments and approvals, and review items.
/// Graph's JSON batching: its requests go through these checks one by one.
const BATCH: &str = "/v1.0/$batch";

fn personal_may(method: &Method, path: &str) -> bool {
    if path == BATCH {
        return true;
    }
    const EM: &str = "/v1.0/identityGovernance/entitlementManagement/";
    const REVIEWS: &str = "/v1.0/identityGovernance/accessReviews/definitions";
    let reading = matches!(*method, Method::GET | Method::HEAD);
    if let Some(rest) = path.strip_prefix(EM) {
        let parts: Vec<&str> = rest.split('/').collect();
        let mine = |s: &str| s.starts_with("filterByCurrentUser(");
        return match (reading, parts.as_slice()) {
            (true, ["accessPackages" | "catalogs", ..]) => true,
            (true, ["assignmentRequests" | "assignments" | "accessPackageAssignmentApprovals", f]) => mine(f) || !f.is_empty(),
            (true, ["accessPackageAssignmentApprovals", _, "stages", ..]) => true,
            (false, ["assignmentRequests"]) if *method == Method::POST => true,
            (false, ["assignmentRequests", _, "cancel"]) if *method == Method::POST => true,
            (false, ["accessPackageAssignmentApprovals", _, "stages", _]) if *method == Method::PATCH => true,
            _ => false,
        };
    }
    if let Some(rest) = path.strip_prefix(REVIEWS) {
        return reading || (*method == Method::PATCH && rest.split('/').filter(|s| !s.is_empty()).count() == 5);
    }
    reading
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
        // A batch is let in as a read: each of its requests is checked as its own.
        let reading = matches!(parts.method, Method::GET | Method::HEAD) || parts.uri.path() == BATCH;
        let mut user = None;
        match token.role {
            TokenRole::Admin => {}
            TokenRole::Reader => {
                user = personal_user(st, token.tenant_id, token.id).await?;
                match user {
                    Some(_) if !personal_may(&parts.method, parts.uri.path()) => return Err(personal_refused()),
                    Some(_) => {}
                    None if reading => {}
                    None => return Err(GraphError::new(GraphCode::Forbidden, "this token may only read (role reader)")),
                }
            }
            TokenRole::Scim => {
                return Err(GraphError::new(GraphCode::Forbidden, "this token is for SCIM only (role scim); the admin API takes admin and reader tokens"));
            }
        }
        Ok(Caller { tenant: token.tenant_id, token_id: token.id, token_name: token.name, role: token.role, user })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_personal_token_writes_only_for_itself_and_reads_only_its_own_in_entitlement_management() {
        let em = "/v1.0/identityGovernance/entitlementManagement";
        for (m, p) in [
            (Method::POST, format!("{em}/assignmentRequests")),
            (Method::POST, format!("{em}/assignmentRequests/x/cancel")),
            (Method::PATCH, format!("{em}/accessPackageAssignmentApprovals/x/stages/1")),
            (Method::GET, format!("{em}/assignments/filterByCurrentUser(on='target')")),
            (Method::GET, format!("{em}/accessPackages")),
            (Method::PATCH, "/v1.0/identityGovernance/accessReviews/definitions/d/instances/i/decisions/x".to_owned()),
            (Method::GET, "/v1.0/users".to_owned()),
        ] {
            assert!(personal_may(&m, &p), "{m} {p}");
        }
        for (m, p) in [
            (Method::GET, format!("{em}/assignmentRequests")),
            (Method::GET, format!("{em}/assignments")),
            (Method::GET, format!("{em}/connectedOrganizations")),
            (Method::POST, format!("{em}/accessPackages")),
            (Method::POST, format!("{em}/assignments/x/reprocess")),
            (Method::PATCH, format!("{em}/settings")),
            (Method::POST, "/v1.0/users".to_owned()),
            (Method::PATCH, "/v1.0/identityGovernance/accessReviews/definitions/d".to_owned()),
        ] {
            assert!(!personal_may(&m, &p), "{m} {p}");
        }
    }
}
