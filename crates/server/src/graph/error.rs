//! The admin API's errors, shaped as Microsoft Graph's: `{"error": {"code", "message",
//! "innerError": {"code", "request-id", "date"}}}`. `error.code` is Graph's code (what SDKs
//! and scripts test), from [`GraphCode`]'s table with its HTTP status; `innerError.code`
//! is tenantsync's own stable code of the cause (the store's, the engine's, …), as the CLI
//! and SCIM report it.
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use tenantsync_domain::{DomainError, ErrorInfo};
use tenantsync_store::StoreError;

/// Graph's error codes, as the admin API answers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphCode {
    BadRequest,
    UnsupportedQuery,
    NotFound,
    Conflict,
    PreconditionFailed,
    Unauthorized,
    Forbidden,
    MethodNotAllowed,
    TooLarge,
    Throttled,
    Unavailable,
    Internal,
}

tenantsync_domain::error_table! {
    GraphCode {
        BadRequest => "Request_BadRequest", 400, "admin API: a request that is not what the endpoint takes (malformed JSON, an unknown property named in the message, a wrong type, a bad OData option)";
        UnsupportedQuery => "Request_UnsupportedQuery", 400, "admin API: a `$filter` or `$orderby` on a property or with an operator the endpoint does not offer (it would have to walk the tenant)";
        NotFound => "Request_ResourceNotFound", 404, "admin API: no such object in the token's tenant (another tenant's objects answer the same)";
        Conflict => "Request_MultipleObjectsWithSameKeyValue", 409, "admin API: an object with that key exists (a userPrincipalName, a partner, a configuration for the pair)";
        PreconditionFailed => "Request_PreconditionFailed", 412, "admin API: the object changed since the `If-Match` version was read";
        Unauthorized => "InvalidAuthenticationToken", 401, "admin API: no bearer token, or one that is unknown, expired or revoked";
        Forbidden => "Authorization_RequestDenied", 403, "admin API: the token's role does not allow this (a reader writing, a SCIM token on the admin API)";
        MethodNotAllowed => "Request_MethodNotAllowed", 405, "admin API: a method the endpoint does not support";
        TooLarge => "Request_EntityTooLarge", 413, "admin API: a request body over the configured limit";
        Throttled => "TooManyRequests", 429, "admin API: too many requests for this token (with `Retry-After`)";
        Unavailable => "Service_ServiceUnavailable", 503, "admin API: the store is busy or shutting down (with `Retry-After`)";
        Internal => "Service_InternalServerError", 500, "admin API: the server failed (the cause is logged with the request id, not returned)";
    }
}

/// An admin API error answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} {}: {message}", code.status(), code.code())]
pub struct GraphError {
    pub code: GraphCode,
    pub message: String,
    /// tenantsync's own code of the cause (`innerError.code`).
    pub cause: &'static str,
    /// Seconds for `Retry-After` (429, 503).
    pub retry_after: Option<u64>,
}

pub type GraphResult<T> = Result<T, GraphError>;

tokio::task_local! {
    /// The id of the request being answered (`innerError.request-id`).
    static REQUEST_ID: Arc<str>;
}

/// Runs `fut` as the handling of request `id`: its errors name it.
pub(crate) async fn with_request_id<F: Future>(id: Arc<str>, fut: F) -> F::Output {
    REQUEST_ID.scope(id, fut).await
}

/// The id of the request being answered (empty outside a request).
pub(crate) fn request_id() -> String {
    REQUEST_ID.try_with(|id| id.to_string()).unwrap_or_default()
}

impl GraphError {
    pub fn new(code: GraphCode, message: impl Into<String>) -> GraphError {
        GraphError { code, message: message.into(), cause: code.code(), retry_after: None }
    }

    /// An error whose cause is a row of another table (the store's, the engine's, …).
    pub fn caused(code: GraphCode, cause: ErrorInfo, message: impl Into<String>) -> GraphError {
        GraphError { cause: cause.code, ..GraphError::new(code, message) }
    }

    pub fn not_found(what: impl Into<String>) -> GraphError {
        GraphError::new(GraphCode::NotFound, what)
    }

    pub fn bad_request(message: impl Into<String>) -> GraphError {
        GraphError::new(GraphCode::BadRequest, message)
    }

    pub fn internal() -> GraphError {
        GraphError::new(GraphCode::Internal, "the server could not complete the request")
    }

    /// The Graph code that answers a cause with HTTP status `status`.
    pub fn code_for(status: u16) -> GraphCode {
        match status {
            401 => GraphCode::Unauthorized,
            403 => GraphCode::Forbidden,
            404 => GraphCode::NotFound,
            405 => GraphCode::MethodNotAllowed,
            409 => GraphCode::Conflict,
            412 => GraphCode::PreconditionFailed,
            413 => GraphCode::TooLarge,
            429 => GraphCode::Throttled,
            503 => GraphCode::Unavailable,
            400..=499 => GraphCode::BadRequest,
            _ => GraphCode::Internal,
        }
    }

    /// An error of another table answered with the Graph code of its status; the causes
    /// of 5xx are logged and not returned.
    pub fn from_info(info: ErrorInfo, message: String) -> GraphError {
        let code = Self::code_for(info.status);
        if code == GraphCode::Internal {
            tracing::error!(code = info.code, error = %message, "admin API request failed");
            return GraphError { cause: info.code, ..GraphError::internal() };
        }
        let retry_after = (code == GraphCode::Unavailable).then_some(1);
        GraphError { code, message, cause: info.code, retry_after }
    }

    pub fn body(&self) -> serde_json::Value {
        let request_id = REQUEST_ID.try_with(|id| id.to_string()).unwrap_or_default();
        serde_json::json!({
            "error": {
                "code": self.code.code(),
                "message": self.message,
                "innerError": {
                    "code": self.cause,
                    "request-id": request_id,
                    "client-request-id": request_id,
                    "date": jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%S").to_string(),
                },
            }
        })
    }
}

impl From<StoreError> for GraphError {
    fn from(e: StoreError) -> GraphError {
        match &e {
            // Another tenant's objects do not exist for this token.
            StoreError::TenantNotFound { .. } => GraphError::caused(GraphCode::NotFound, e.info(), "not found"),
            StoreError::ObjectDeleted { kind, id } => GraphError::caused(GraphCode::NotFound, e.info(), format!("{kind} '{id}' does not exist")),
            StoreError::UnsupportedQuery { .. } => GraphError::caused(GraphCode::UnsupportedQuery, e.info(), e.to_string()),
            _ => GraphError::from_info(e.info(), e.to_string()),
        }
    }
}

impl From<DomainError> for GraphError {
    fn from(e: DomainError) -> GraphError {
        GraphError::from_info(e.info(), e.to_string())
    }
}

impl From<tenantsync_engine::EngineError> for GraphError {
    fn from(e: tenantsync_engine::EngineError) -> GraphError {
        match e {
            tenantsync_engine::EngineError::Store(s) => s.into(),
            other => GraphError::from_info(other.info(), other.to_string()),
        }
    }
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut res = (status, self.body().to_string()).into_response();
        let headers = res.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"tenantsync\""));
        }
        if let Some(s) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_answer_with_the_graph_code_of_their_status() {
        let id = tenantsync_domain::ObjectId::new();
        let kind = tenantsync_domain::ObjectKind::User;
        let cases = [
            (StoreError::NotFound { kind, id }, GraphCode::NotFound, "not_found"),
            (StoreError::ObjectDeleted { kind, id }, GraphCode::NotFound, "object_deleted"),
            (StoreError::UpnTaken { upn: "a@b.example".into() }, GraphCode::Conflict, "upn_conflict"),
            (StoreError::SelfManager, GraphCode::BadRequest, "self_manager"),
            (StoreError::Closed, GraphCode::Unavailable, "store_closed"),
            (StoreError::Internal { message: "disk".into() }, GraphCode::Internal, "storage_failure"),
        ];
        for (e, code, cause) in cases {
            let g = GraphError::from(e.clone());
            assert_eq!((g.code, g.cause), (code, cause), "{e}");
        }
        let hidden = GraphError::from(StoreError::Internal { message: "/var/secret/path".into() });
        assert!(!hidden.message.contains("secret"), "a 5xx does not say why");
    }

    #[test]
    fn the_body_is_graph_s() {
        let body = GraphError::not_found("user 'x' does not exist").body();
        assert_eq!(body["error"]["code"], "Request_ResourceNotFound");
        assert_eq!(body["error"]["innerError"]["code"], "Request_ResourceNotFound");
        assert!(body["error"]["innerError"]["date"].is_string());
    }
}
