//! The one error type of the HTTP layer and its one mapping to HTTP: a status, an RFC 7644
//! §3.12 error body with `scimType` where one applies, and our stable code (the same codes
//! as the CLI's) at the end of `detail` in brackets, as the CLI prints it: `… [not_found]`.
//! (SCIM clients validate error bodies strictly, so the code gets no attribute of its own.)
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tenantsync_domain::DomainError;
use tenantsync_store::StoreError;

pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {code}: {detail}")]
pub struct ScimError {
    pub status: StatusCode,
    /// RFC 7644 §3.12 `scimType` (only for 400, 409 and 413 where the RFC names one).
    pub scim_type: Option<&'static str>,
    pub detail: String,
    /// Our stable code.
    pub code: &'static str,
    /// Seconds for `Retry-After` (429).
    pub retry_after: Option<u64>,
}

pub type ScimResult<T> = Result<T, ScimError>;

impl ScimError {
    pub fn new(status: StatusCode, scim_type: Option<&'static str>, code: &'static str, detail: impl Into<String>) -> Self {
        Self { status, scim_type, detail: detail.into(), code, retry_after: None }
    }

    pub fn bad_request(scim_type: &'static str, code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some(scim_type), code, detail)
    }

    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::bad_request("invalidFilter", "invalid_filter", detail)
    }

    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::bad_request("invalidValue", "invalid_value", detail)
    }

    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::bad_request("invalidSyntax", "invalid_syntax", detail)
    }

    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::bad_request("invalidPath", "invalid_path", detail)
    }

    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::bad_request("noTarget", "no_target", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, None, "not_found", detail)
    }

    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, None, "unauthorized", "a valid bearer token is required")
    }

    pub fn method_not_allowed() -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, None, "method_not_allowed", "this method is not supported on this endpoint")
    }

    pub fn not_implemented(what: &str) -> Self {
        Self::new(StatusCode::NOT_IMPLEMENTED, None, "not_implemented", format!("{what} is not implemented"))
    }

    pub fn too_large(limit: usize) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, Some("tooLarge"), "too_large", format!("the request body is larger than {limit} bytes"))
    }

    pub fn too_many(retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after.max(1)),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, None, "rate_limited", "too many requests for this token; retry later")
        }
    }

    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::PRECONDITION_FAILED, None, "version_mismatch", detail)
    }

    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, None, "internal_error", "the server could not complete the request")
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }

    pub fn body(&self) -> serde_json::Value {
        let mut body = serde_json::json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.as_u16().to_string(),
            "detail": format!("{} [{}]", self.detail, self.code),
        });
        if let (Some(t), Some(obj)) = (self.scim_type, body.as_object_mut()) {
            obj.insert("scimType".into(), t.into());
        }
        body
    }
}

impl From<DomainError> for ScimError {
    fn from(e: DomainError) -> Self {
        let scim_type = match &e {
            DomainError::ReadOnlyAttribute { .. } => "mutability",
            DomainError::UnknownAttribute { .. } | DomainError::MalformedExtensionName { .. } => "invalidPath",
            _ => "invalidValue",
        };
        ScimError::bad_request(scim_type, e.code(), e.to_string())
    }
}

impl From<StoreError> for ScimError {
    fn from(e: StoreError) -> Self {
        use StoreError as E;
        let code = e.code();
        match e {
            E::Invalid(d) => d.into(),
            // Never say whether another tenant exists.
            E::TenantNotFound { .. } => ScimError::new(StatusCode::NOT_FOUND, None, code, "tenant not found"),
            E::NotFound { kind, id } | E::ObjectDeleted { kind, id } => {
                ScimError::new(StatusCode::NOT_FOUND, None, "not_found", format!("{kind} {id} not found"))
            }
            E::UpnTaken { .. } | E::AnchorTaken { .. } | E::IdTaken { .. } | E::MemberExists { .. } => {
                ScimError::new(StatusCode::CONFLICT, Some("uniqueness"), code, e.to_string())
            }
            E::VersionMismatch { .. } => ScimError::precondition_failed(e.to_string()),
            E::UnknownManager { .. } | E::SelfManager | E::NotAMember { .. } | E::NotDeleted { .. } => {
                ScimError::bad_request("invalidValue", code, e.to_string())
            }
            E::UnsupportedQuery { .. } => ScimError::bad_request("invalidFilter", code, e.to_string()),
            E::TokenNotFound { .. } => ScimError::unauthorized(),
            other => {
                tracing::error!(error = %other, code = other.code(), "storage failure");
                ScimError::internal()
            }
        }
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let body = self.body().to_string();
        let mut res = (self.status, body).into_response();
        let headers = res.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(crate::SCIM_JSON));
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"SCIM\""));
        }
        if let Some(s) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        res
    }
}
