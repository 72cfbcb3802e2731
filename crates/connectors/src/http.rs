//! One HTTP call with the rules every connector call follows: a timeout; connection
//! failures and 5xx retried with backoff; 429 waited out by its `Retry-After` (up to a
//! bound, then [`ConnectorError::Throttled`]); 401/403 are the credentials' fault; any
//! other 4xx is the object's, with the service's error detail (SCIM's `detail`, Graph's
//! `error.message`, OAuth's `error_description`).
use crate::ConnectorError;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::time::Duration;

/// Attempts of a call that fails for a reason that may pass (connection, 5xx, 429).
const ATTEMPTS: u32 = 4;
/// The longest `Retry-After` waited inside one call; longer pauses the export instead.
const LONGEST_WAIT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct Http {
    client: reqwest::Client,
    accept: &'static str,
}

/// What a request carries besides its method and URL.
#[derive(Debug, Default)]
pub struct Req<'a> {
    pub query: &'a [(&'a str, &'a str)],
    pub json: Option<&'a Value>,
    /// A form body (OAuth token requests).
    pub form: Option<&'a [(&'a str, &'a str)]>,
    pub bearer: Option<&'a str>,
    /// The JSON media type of the body (`application/scim+json` for SCIM).
    pub content_type: Option<&'static str>,
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Duration {
    let secs = headers.get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
    Duration::from_secs(secs.unwrap_or(1))
}

/// The service's own words for a refusal, for messages.
fn detail(body: &Value, text: &str) -> String {
    let said = body
        .get("detail")
        .and_then(Value::as_str)
        .or_else(|| body.get("error").and_then(|e| e.get("message")).and_then(Value::as_str))
        .or_else(|| body.get("error_description").and_then(Value::as_str));
    match said {
        Some(d) => d.to_owned(),
        None => text.chars().take(300).collect(),
    }
}

impl Http {
    pub fn new(timeout: Duration, in_flight: usize, accept: &'static str) -> Result<Http, ConnectorError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .pool_max_idle_per_host(in_flight)
            .user_agent(concat!("tenantsync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ConnectorError::InvalidSettings { reason: format!("HTTP client: {e}") })?;
        Ok(Http { client, accept })
    }

    /// Sends one request, retrying what may pass; the answer's JSON body (`Null` when empty).
    ///
    /// A `POST` whose fate is unknown (sent, then the connection failed, or a 5xx other
    /// than 503) is not sent again: it may have been carried out, and a second one would
    /// make a second object. The failure goes up instead, and the exporter's next attempt
    /// matches before it creates.
    pub async fn call(&self, method: Method, url: &str, req: Req<'_>) -> Result<Value, ConnectorError> {
        let mut backoff = Duration::from_millis(100);
        let mut attempt = 0;
        let idempotent = method != Method::POST;
        loop {
            attempt += 1;
            let last = attempt >= ATTEMPTS;
            let mut rb = self.client.request(method.clone(), url).header(reqwest::header::ACCEPT, self.accept);
            if !req.query.is_empty() {
                rb = rb.query(req.query);
            }
            if let Some(t) = req.bearer {
                rb = rb.bearer_auth(t);
            }
            if let Some(b) = req.json {
                rb = rb.header(reqwest::header::CONTENT_TYPE, req.content_type.unwrap_or("application/json")).body(b.to_string());
            }
            if let Some(f) = req.form {
                rb = rb.form(f);
            }
            let resp = match rb.send().await {
                Ok(r) => r,
                Err(e) => {
                    if last || !(idempotent || e.is_connect()) {
                        return Err(ConnectorError::Unreachable { url: url.to_owned(), reason: describe(&e) });
                    }
                    tokio::time::sleep(backoff).await;
                    backoff *= 4;
                    continue;
                }
            };
            let status = resp.status();
            let wait = retry_after(resp.headers());
            let text = match resp.text().await {
                Ok(t) => t,
                Err(e) if last || !idempotent => return Err(ConnectorError::Unreachable { url: url.to_owned(), reason: describe(&e) }),
                Err(_) => {
                    tokio::time::sleep(backoff).await;
                    backoff *= 4;
                    continue;
                }
            };
            let json: Value = if text.trim().is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::Null) };
            match status {
                s if s.is_success() => return Ok(json),
                StatusCode::TOO_MANY_REQUESTS => {
                    if last || wait > LONGEST_WAIT {
                        return Err(ConnectorError::Throttled { url: url.to_owned(), retry_after: wait });
                    }
                    tokio::time::sleep(wait).await;
                }
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => return Err(ConnectorError::AuthFailed { url: url.to_owned(), status: status.as_u16() }),
                s if s.is_server_error() => {
                    if last || !(idempotent || s == StatusCode::SERVICE_UNAVAILABLE) {
                        return Err(ConnectorError::ServerFailed { url: url.to_owned(), status: s.as_u16(), detail: detail(&json, &text) });
                    }
                    tokio::time::sleep(backoff).await;
                    backoff *= 4;
                }
                s => return Err(ConnectorError::Refused { url: url.to_owned(), status: s.as_u16(), detail: detail(&json, &text) }),
            }
        }
    }
}

/// A transport error with its causes.
fn describe(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() { "timed out".to_owned() } else { e.to_string() };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}
