//! The one error type of the HTTP layer and its one mapping to HTTP: a status, an RFC 7644
//! §3.12 error body with `scimType` where one applies, and our stable code (the same codes
//! as the CLI's) at the end of `detail` in brackets, as the CLI prints it: `… [not_found]`.
//! (SCIM clients validate error bodies strictly, so the code gets no attribute of its own.)
//!
//! The status always comes from an error table: [`ScimCode`]'s for the errors of this
//! layer, the store's and the domain's for theirs.
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tenantsync_domain::{DomainError, ErrorInfo};
use tenantsync_store::StoreError;

pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The errors of the HTTP layer itself (those of the store and the domain keep their own
/// codes and statuses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimCode {
    InvalidFilter,
    InvalidSyntax,
    InvalidValue,
    InvalidPath,
    NoTarget,
    InvalidCursor,
    TooLarge,
    RequestTimeout,
    Unauthorized,
    Forbidden,
    MethodNotAllowed,
    NotImplemented,
    RateLimited,
    WriteContention,
    CircularBulkReference,
    UnresolvedBulkId,
    Internal,
}

tenantsync_domain::error_table! {
    ScimCode {
        InvalidFilter => "invalid_filter", 400, "a filter that does not parse, or names an attribute or operator tenantsync cannot filter on (`scimType` `invalidFilter`)";
        InvalidSyntax => "invalid_syntax", 400, "a request body that is not the JSON the endpoint expects (`invalidSyntax`)";
        InvalidValue => "invalid_value", 400, "a value of the wrong type or form in a request (`invalidValue`)";
        InvalidPath => "invalid_path", 400, "a PATCH path that does not parse or names no attribute (`invalidPath`)";
        NoTarget => "no_target", 400, "a PATCH path whose value filter matches nothing (`noTarget`)";
        InvalidCursor => "invalid_cursor", 400, "a `cursor` that this server did not issue, or for another query (RFC 9865; `invalidCursor`)";
        TooLarge => "too_large", 413, "a request body over the configured limit, or a Bulk request of more than 1,000 operations (`tooLarge`)";
        RequestTimeout => "request_timeout", 408, "the request body did not arrive within the body-read timeout (`serve --body-read-timeout`); the connection is closed";
        Unauthorized => "unauthorized", 401, "no bearer token, or one that is unknown, expired or revoked (a token used on another tenant gets `tenant_not_found`, 404, whether or not that tenant exists)";
        Forbidden => "forbidden", 403, "a write (POST, PUT, PATCH, DELETE, Bulk) with a token of role `reader`, which only reads (`.search` is a read)";
        MethodNotAllowed => "method_not_allowed", 405, "a method the endpoint does not support";
        NotImplemented => "not_implemented", 501, "an optional SCIM feature tenantsync does not offer (named in the detail)";
        RateLimited => "rate_limited", 429, "too many requests for this token (with `Retry-After`)";
        WriteContention => "write_contention", 409, "a PUT or PATCH whose result depends on the values it read lost the race to writers in other processes 8 times; retry (concurrent SCIM writes of one resource do not conflict)";
        CircularBulkReference => "circular_bulk_reference", 409, "Bulk operations whose `bulkId` references form a cycle";
        UnresolvedBulkId => "unresolved_bulk_id", 409, "a Bulk `bulkId` reference to no resource created earlier in the request";
        Internal => "internal_error", 500, "the server failed (the cause is logged with the request id, not returned)";
    }
}

impl ScimCode {
    /// RFC 7644 §3.12 `scimType`, for the codes the RFC names one for.
    pub fn scim_type(self) -> Option<&'static str> {
        match self {
            ScimCode::InvalidFilter => Some("invalidFilter"),
            ScimCode::InvalidSyntax => Some("invalidSyntax"),
            ScimCode::InvalidValue => Some("invalidValue"),
            ScimCode::InvalidPath => Some("invalidPath"),
            ScimCode::NoTarget => Some("noTarget"),
            ScimCode::InvalidCursor => Some("invalidCursor"),
            ScimCode::TooLarge => Some("tooLarge"),
            ScimCode::RequestTimeout
            | ScimCode::Unauthorized
            | ScimCode::Forbidden
            | ScimCode::MethodNotAllowed
            | ScimCode::NotImplemented
            | ScimCode::RateLimited
            | ScimCode::WriteContention
            | ScimCode::CircularBulkReference
            | ScimCode::UnresolvedBulkId
            | ScimCode::Internal => None,
        }
    }
}

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
    /// Seconds for `Retry-After` (429, 503).
    pub retry_after: Option<u64>,
}

pub type ScimResult<T> = Result<T, ScimError>;

impl ScimError {
    /// An error of a table's row: its status and code, with `scim_type` and `detail`.
    fn row(info: ErrorInfo, scim_type: Option<&'static str>, detail: impl Into<String>) -> Self {
        let status = StatusCode::from_u16(info.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Self { status, scim_type, detail: detail.into(), code: info.code, retry_after: None }
    }

    /// An error of this layer.
    pub fn of(code: ScimCode, detail: impl Into<String>) -> Self {
        Self::row(code.info(), code.scim_type(), detail)
    }

    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::of(ScimCode::InvalidFilter, detail)
    }

    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::of(ScimCode::InvalidValue, detail)
    }

    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::of(ScimCode::InvalidSyntax, detail)
    }

    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::of(ScimCode::InvalidPath, detail)
    }

    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::of(ScimCode::NoTarget, detail)
    }

    /// A resource that does not exist for this tenant (or is soft-deleted: SCIM does not
    /// see those).
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::row(NOT_FOUND, None, detail)
    }

    /// Any tenant but the token's own, whether or not it exists.
    pub fn tenant_not_found() -> Self {
        Self::row(TENANT_NOT_FOUND, None, "tenant not found")
    }

    /// An attribute tenantsync does not keep, in a request body (`scimType`
    /// `invalidSyntax`: the body does not conform to the resource's schema).
    pub fn unknown_attribute(detail: impl Into<String>) -> Self {
        Self::row(UNKNOWN_ATTRIBUTE, Some("invalidSyntax"), detail)
    }

    /// A read-only attribute written to (`scimType` `mutability`).
    pub fn read_only(detail: impl Into<String>) -> Self {
        Self::row(READ_ONLY, Some("mutability"), detail)
    }

    pub fn unauthorized() -> Self {
        Self::of(ScimCode::Unauthorized, "a valid bearer token is required")
    }

    pub fn method_not_allowed() -> Self {
        Self::of(ScimCode::MethodNotAllowed, "this method is not supported on this endpoint")
    }

    pub fn not_implemented(what: &str) -> Self {
        Self::of(ScimCode::NotImplemented, format!("{what} is not implemented"))
    }

    pub fn too_large(limit: usize) -> Self {
        Self::of(ScimCode::TooLarge, format!("the request body is larger than {limit} bytes"))
    }

    pub fn request_timeout(timeout: std::time::Duration) -> Self {
        Self::of(ScimCode::RequestTimeout, format!("the request body did not arrive within {timeout:?}"))
    }

    pub fn too_many(retry_after: u64) -> Self {
        Self { retry_after: Some(retry_after.max(1)), ..Self::of(ScimCode::RateLimited, "too many requests for this token; retry later") }
    }

    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        Self::row(VERSION_MISMATCH, None, detail)
    }

    pub fn internal() -> Self {
        Self::of(ScimCode::Internal, "the server could not complete the request")
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

const NOT_FOUND: ErrorInfo = ErrorInfo::find(StoreError::TABLE, "not_found");
const TENANT_NOT_FOUND: ErrorInfo = ErrorInfo::find(StoreError::TABLE, "tenant_not_found");
const VERSION_MISMATCH: ErrorInfo = ErrorInfo::find(StoreError::TABLE, "version_mismatch");
const READ_ONLY: ErrorInfo = ErrorInfo::find(DomainError::TABLE, "read_only_attribute");
const UNKNOWN_ATTRIBUTE: ErrorInfo = ErrorInfo::find(DomainError::TABLE, "unknown_attribute");

impl From<DomainError> for ScimError {
    fn from(e: DomainError) -> Self {
        use DomainError as D;
        let scim_type = match &e {
            D::ReadOnlyAttribute { .. } => "mutability",
            D::UnknownAttribute { .. } | D::MalformedExtensionName { .. } => "invalidPath",
            D::InvalidUpn { .. }
            | D::InvalidMail { .. }
            | D::InvalidDomain { .. }
            | D::InvalidAttributeValue { .. }
            | D::MissingAttribute { .. }
            | D::InvalidId { .. }
            | D::InvalidAnchor { .. }
            | D::InvalidDisplayName { .. } => "invalidValue",
        };
        ScimError::row(e.info(), Some(scim_type), e.to_string())
    }
}

impl From<StoreError> for ScimError {
    fn from(e: StoreError) -> Self {
        use StoreError as E;
        let info = e.info();
        match e {
            E::Invalid(d) => d.into(),
            // Never say whether another tenant exists.
            E::TenantNotFound { .. } => ScimError::tenant_not_found(),
            // A soft-deleted object does not exist for SCIM.
            E::NotFound { kind, id } | E::ObjectDeleted { kind, id } => ScimError::not_found(format!("{kind} {id} not found")),
            E::TokenNotFound { .. } => ScimError::unauthorized(),
            E::UpnTaken { .. }
            | E::AnchorTaken { .. }
            | E::IdTaken { .. }
            | E::MemberExists { .. }
            | E::DomainTaken { .. }
            | E::TenantExists { .. }
            | E::ConnectorExists { .. } => ScimError::row(info, Some("uniqueness"), e.to_string()),
            E::VersionMismatch { .. } => ScimError::precondition_failed(e.to_string()),
            E::UnknownManager { .. } | E::SelfManager | E::NotDeleted { .. } | E::NotAMember { .. } | E::SyncConfigExists { .. } | E::AccessConflict { .. } => {
                ScimError::row(info, Some("invalidValue"), e.to_string())
            }
            E::SyncConfigNotFound { .. } | E::ConnectorNotFound { .. } => ScimError::row(info, None, e.to_string()),
            E::UnsupportedQuery { .. } => ScimError::row(info, Some("invalidFilter"), e.to_string()),
            E::Closed => Self { retry_after: Some(1), ..ScimError::row(info, None, "the store is shutting down; retry") },
            // Another process (an import, say) holds the write lock: a client may retry.
            E::Busy => Self { retry_after: Some(2), ..ScimError::row(info, None, "the store is busy with another process's write; retry") },
            // The database server is away (a restart, a network pause): a client may retry.
            E::Unreachable { .. } => {
                tracing::error!(error = %e, code = info.code, "database unreachable");
                Self { retry_after: Some(5), ..ScimError::row(info, None, "the store's database cannot be reached; retry") }
            }
            E::SchemaTooNew { .. }
            | E::ForeignDataDirectory { .. }
            | E::Unreadable { .. }
            | E::Corrupt { .. }
            | E::NotABackup { .. }
            | E::DestinationExists { .. }
            | E::MigrationMismatch { .. }
            | E::Internal { .. } => {
                tracing::error!(error = %e, code = info.code, "storage failure");
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_store_error_answers_with_the_status_of_its_table_row() {
        use StoreError as E;
        let id = tenantsync_domain::ObjectId::new();
        let kind = tenantsync_domain::ObjectKind::User;
        // Those SCIM shows as something else: a soft-deleted object and a token's
        // absence are not visible to clients.
        let cases = [
            (E::DomainTaken { domain: "x.example".into() }, 409),
            (E::TenantExists { tenant: "t".into() }, 409),
            (E::Closed, 503),
            (E::NotAMember { group: id, user: id }, 404),
            (E::SyncConfigNotFound { id: "c".into() }, 404),
            (E::SelfManager, 400),
            (E::VersionMismatch { kind, id, expected: tenantsync_domain::Version::FIRST, actual: tenantsync_domain::Version::FIRST }, 412),
        ];
        for (e, status) in cases {
            assert_eq!(e.status(), status, "{e}");
            let answer = ScimError::from(e.clone());
            assert_eq!((answer.status.as_u16(), answer.code), (status, e.code()), "{e}");
        }
        assert_eq!(ScimError::from(E::ObjectDeleted { kind, id }).code, "not_found");
        assert_eq!(ScimError::from(E::Internal { message: "disk".into() }).code, "internal_error");
        assert_eq!(ScimError::from(E::Closed).retry_after, Some(1));
    }

    #[test]
    fn a_scim_code_answers_with_its_row() {
        for code in [ScimCode::TooLarge, ScimCode::RateLimited, ScimCode::Unauthorized, ScimCode::InvalidCursor] {
            let e = ScimError::of(code, "x");
            assert_eq!((e.status.as_u16(), e.code, e.scim_type), (code.status(), code.code(), code.scim_type()));
        }
    }
}
