//! What a connector can fail with, in one table. The split that matters is
//! [`ConnectorError::is_system`]: a failure of the whole external system (unreachable,
//! 5xx, credentials refused, throttled) pauses the export with that status; anything else
//! is about one object and escrows that object alone.
use std::time::Duration;
use tenantsync_domain::error_table;
use tenantsync_store::StoreError;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConnectorError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("connector settings: {reason}")]
    InvalidSettings { reason: String },
    #[error("the secret key: {reason}")]
    SecretKey { reason: String },
    #[error("the connector's secret cannot be opened with this secret key (another key sealed it, or it was altered)")]
    SecretUnreadable,
    #[error("cannot reach {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("{url} refused the credentials (HTTP {status})")]
    AuthFailed { url: String, status: u16 },
    #[error("{url} is throttling requests (HTTP 429); retry after {} s", retry_after.as_secs())]
    Throttled { url: String, retry_after: Duration },
    #[error("{url} failed (HTTP {status}): {detail}")]
    ServerFailed { url: String, status: u16, detail: String },
    #[error("{url} refused the object (HTTP {status}): {detail}")]
    Refused { url: String, status: u16, detail: String },
    #[error("the connector is running in another process (serve); it exports on its own")]
    Running,
    #[error("{url} answered something that is not {expected}: {detail}")]
    BadResponse { url: String, expected: &'static str, detail: String },
}

error_table! {
    ConnectorError {
        InvalidSettings => "invalid_connector_settings", 400, "a connector's settings are incomplete or contradictory (a URL that does not parse, no credentials, an unknown matching attribute)";
        SecretKey => "secret_key_unavailable", 500, "the key that seals connectors' secrets cannot be read or created (`--secret-key-file`, `TENANTSYNC_SECRET_KEY`)";
        SecretUnreadable => "secret_unreadable", 500, "a connector's sealed secret does not open with the secret key in use";
        Unreachable => "connector_unreachable", 503, "the external system cannot be reached (connection refused, reset, DNS, TLS or a timeout): the export pauses and retries";
        AuthFailed => "connector_auth_failed", 502, "the external system refused the connector's credentials (401 or 403): the export pauses until they are fixed";
        Throttled => "connector_throttled", 503, "the external system answered 429: the export waits for its Retry-After";
        ServerFailed => "connector_server_failed", 502, "the external system failed (5xx) after the retries: the export pauses and retries";
        Refused => "connector_refused_object", 422, "the external system refused one object (4xx): that object is escrowed and retried with backoff, the others go on";
        Running => "connector_running", 409, "`connector export` of a connector another process holds (a `serve` runs it): one exporter at a time";
        BadResponse => "connector_bad_response", 502, "the external system answered something the protocol does not allow";
    }
    carried {
        ConnectorError::Store(e) => e.info();
    }
}

impl ConnectorError {
    /// True when the failure is the whole system's rather than one object's: the export
    /// stops and pauses instead of escrowing every object.
    pub fn is_system(&self) -> bool {
        !matches!(self, ConnectorError::Refused { .. } | ConnectorError::BadResponse { .. } | ConnectorError::Running)
    }

    /// How long to wait before the next attempt, when the system said so.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ConnectorError::Throttled { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }
}
