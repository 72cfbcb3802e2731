//! Delivers the outbox to a webhook, as Entra's custom extensions call a Logic App: each
//! message is one JSON `POST` to a URL, signed with HMAC-SHA256 of a shared secret so
//! the receiver knows it came from tenantsync and was not changed. Any 2xx is taken; a
//! refusal, another status (a redirect too: it is not followed), a certificate that is
//! not trusted, or no answer within 10 s is retried by the outbox with its back-off (a
//! minute doubling to six hours): nothing is lost while a receiver is down or misconfigured.
//!
//! The client is reqwest over rustls (no OpenSSL): `http://` and `https://` receivers.
//! An `https` receiver's certificate is checked against the Web PKI's roots (webpki-roots,
//! built in, the same on every machine) and, when the operator gives one, a CA file of
//! their own (`serve --webhook-ca-file`, PEM), for receivers whose certificate an
//! internal CA signed.
//!
//! The request:
//!
//! ```text
//! POST /path HTTP/1.1
//! Content-Type: application/json
//! X-Tenantsync-Event: accessGranted
//! X-Tenantsync-Delivery: <message id>          (the same on every retry)
//! X-Tenantsync-Timestamp: <unix seconds>
//! X-Tenantsync-Signature: sha256=<hex of HMAC-SHA256(secret, "<timestamp>.<body>")>
//!
//! {"id", "tenantId", "event", "createdDateTime", "recipients", "to", "subject", "body", "attempt"}
//! ```
use crate::MailError;
use async_trait::async_trait;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::Duration;
use tenantsync_domain::TenantId;
use tenantsync_governance::Notifier;
use tenantsync_store::OutboxMessage;

/// The longest a receiver may take to answer.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A webhook: where to post, the client that posts (with the roots it trusts), and the
/// secret that signs.
#[derive(Clone)]
pub struct Webhook {
    url: reqwest::Url,
    client: reqwest::Client,
    secret: Vec<u8>,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook").field("url", &self.url.as_str()).finish_non_exhaustive()
    }
}

/// The signature header's value of `body` sent at `timestamp` (unix seconds). (HMAC
/// takes a key of any length: `None` is never the answer.)
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> Option<String> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).ok()?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    Some(format!("sha256={hex}"))
}

impl Webhook {
    /// A webhook at `url` (`http[s]://host[:port]/path`) signing with `secret` (not
    /// empty); an `https` receiver is trusted by the Web PKI's roots.
    pub fn new(url: &str, secret: &[u8]) -> Result<Webhook, MailError> {
        Webhook::build(url, secret, None)
    }

    /// Like [`Webhook::new`], also trusting the CA certificates of `ca_pem` (PEM, one or
    /// more): for receivers whose certificate an internal CA signed.
    pub fn trusting(url: &str, secret: &[u8], ca_pem: &[u8]) -> Result<Webhook, MailError> {
        Webhook::build(url, secret, Some(ca_pem))
    }

    fn build(url: &str, secret: &[u8], ca_pem: Option<&[u8]>) -> Result<Webhook, MailError> {
        let bad = |reason: &str| MailError::BadWebhook { url: url.to_owned(), reason: reason.to_owned() };
        let parsed = reqwest::Url::parse(url).map_err(|e| bad(&format!("expected http[s]://host[:port]/path ({e})")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(bad("expected http[s]://host[:port]/path"));
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(bad("no host"));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(bad("credentials in the URL would be sent in the clear to anyone who reads logs; the signature authenticates"));
        }
        if secret.is_empty() {
            return Err(bad("the signing secret is empty"));
        }
        let mut builder = reqwest::Client::builder().use_rustls_tls().timeout(TIMEOUT).redirect(reqwest::redirect::Policy::none()).user_agent("tenantsync");
        if let Some(pem) = ca_pem {
            let roots = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| MailError::BadCa { reason: format!("not PEM certificates: {e}") })?;
            if roots.is_empty() {
                return Err(MailError::BadCa { reason: "it holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into() });
            }
            for root in roots {
                builder = builder.add_root_certificate(root);
            }
        }
        let client = builder.build().map_err(|e| MailError::BadCa { reason: format!("the certificates cannot be trusted: {e}") })?;
        Ok(Webhook { url: parsed, client, secret: secret.to_vec() })
    }

    /// Posts `body`; the answer's status, or why there was none.
    async fn post(&self, event: &str, delivery: &str, body: Vec<u8>, now: i64) -> Result<u16, String> {
        let signed = signature(&self.secret, now, &body).ok_or("the secret cannot key HMAC-SHA256")?;
        let answer = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("X-Tenantsync-Event", event)
            .header("X-Tenantsync-Delivery", delivery)
            .header("X-Tenantsync-Timestamp", now.to_string())
            .header("X-Tenantsync-Signature", signed)
            .body(body)
            .send()
            .await
            .map_err(|e| describe(&e))?;
        Ok(answer.status().as_u16())
    }
}

/// A failed post in one line, with its causes (reqwest's own message hides whether the
/// connection was refused or the certificate untrusted).
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return format!("no answer within {} s", TIMEOUT.as_secs());
    }
    let mut line = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let text = c.to_string();
        if !line.contains(&text) {
            line = format!("{line}: {text}");
        }
        cause = c.source();
    }
    line
}

#[async_trait]
impl Notifier for Webhook {
    async fn notify(&self, tenant: TenantId, m: &OutboxMessage, to: &[String]) -> Result<(), String> {
        let payload = serde_json::json!({
            "id": m.id,
            "tenantId": tenant,
            "event": m.event,
            "createdDateTime": m.created,
            "recipients": m.recipients,
            "to": to,
            "subject": m.subject,
            "body": m.body,
            "attempt": m.attempts + 1,
        });
        let body = serde_json::to_vec(&payload).map_err(|e| e.to_string())?;
        let now = jiff::Timestamp::now().as_second();
        match self.post(&m.event, &m.id.to_string(), body, now).await {
            Ok(status) if (200..300).contains(&status) => Ok(()),
            Ok(status) => Err(format!("webhook answered {status}")),
            Err(e) => Err(format!("webhook: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_http_or_https_with_a_host_and_a_secret() {
        let w = Webhook::new("http://hooks.example:8080/tenantsync/events", b"s").unwrap();
        assert_eq!((w.url.host_str(), w.url.port_or_known_default(), w.url.path()), (Some("hooks.example"), Some(8080), "/tenantsync/events"));
        let w = Webhook::new("http://hooks.example", b"s").unwrap();
        assert_eq!((w.url.port_or_known_default(), w.url.path()), (Some(80), "/"));
        let w = Webhook::new("https://hooks.example/in", b"s").unwrap();
        assert_eq!(w.url.port_or_known_default(), Some(443));
        for (url, secret) in [
            ("ftp://hooks.example/", &b"s"[..]),
            ("hooks.example", b"s"),
            ("http://:80/", b"s"),
            ("http://h:x/", b"s"),
            ("https://user:pw@h/", b"s"),
            ("http://h/", b""),
        ] {
            assert!(Webhook::new(url, secret).is_err(), "{url}");
        }
    }

    #[test]
    fn a_ca_file_must_hold_pem_certificates() {
        for pem in [&b""[..], b"not a certificate", b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n"] {
            let e = Webhook::trusting("https://hooks.example/", b"s", pem).unwrap_err();
            assert!(matches!(e, MailError::BadCa { .. }), "{e}");
        }
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_the_timestamp_and_body() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let s = signature(b"Jefe", 0, b"").unwrap();
        assert!(s.starts_with("sha256=") && s.len() == 7 + 64, "{s}");
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        assert_ne!(signature(b"Jefe", 1, b"x"), signature(b"Jefe", 2, b"x"), "the timestamp is signed");
    }
}
