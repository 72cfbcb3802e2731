//! Delivers the outbox to a webhook, as Entra's custom extensions call a Logic App: each
//! message is one JSON `POST` to a URL, signed with HMAC-SHA256 of a shared secret so
//! the receiver knows it came from tenantsync and was not changed. Any 2xx is taken; a
//! refusal, another status, or no answer within 10 s is retried by the outbox with its
//! back-off (a minute doubling to six hours).
//!
//! The request (`http://` only: tenantsync has no TLS client; put a TLS-terminating
//! relay in front of an `https` receiver):
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
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The longest a receiver may take to answer.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A webhook: where to post, and the secret that signs.
#[derive(Clone)]
pub struct Webhook {
    host: String,
    port: u16,
    path: String,
    secret: Vec<u8>,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook").field("host", &self.host).field("port", &self.port).field("path", &self.path).finish_non_exhaustive()
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
    /// A webhook at `url` (`http://host[:port]/path`) signing with `secret` (not empty).
    pub fn new(url: &str, secret: &[u8]) -> Result<Webhook, MailError> {
        let bad = |reason: &str| MailError::BadWebhook { url: url.to_owned(), reason: reason.to_owned() };
        if url.starts_with("https://") {
            return Err(bad("tenantsync posts http:// only; put a TLS-terminating relay in front of an https receiver"));
        }
        let rest = url.strip_prefix("http://").ok_or_else(|| bad("expected http://host[:port]/path"))?;
        let (authority, path) = rest.find('/').map_or((rest, "/"), |i| (rest.get(..i).unwrap_or_default(), rest.get(i..).unwrap_or("/")));
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, p.parse::<u16>().map_err(|_| bad("the port is not a number from 1 to 65535"))?),
            None => (authority, 80),
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        if secret.is_empty() {
            return Err(bad("the signing secret is empty"));
        }
        Ok(Webhook { host: host.to_owned(), port, path: path.to_owned(), secret: secret.to_vec() })
    }

    async fn post(&self, event: &str, delivery: &str, body: &[u8], now: i64) -> Result<u16, String> {
        let mut stream = tokio::net::TcpStream::connect((self.host.as_str(), self.port)).await.map_err(|e| format!("connect: {e}"))?;
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: {}:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\nUser-Agent: tenantsync\r\n\
             X-Tenantsync-Event: {event}\r\nX-Tenantsync-Delivery: {delivery}\r\nX-Tenantsync-Timestamp: {now}\r\nX-Tenantsync-Signature: {}\r\n\r\n",
            self.path,
            self.host,
            self.port,
            body.len(),
            signature(&self.secret, now, body).ok_or("the secret cannot key HMAC-SHA256")?,
        );
        stream.write_all(head.as_bytes()).await.map_err(|e| format!("send: {e}"))?;
        stream.write_all(body).await.map_err(|e| format!("send: {e}"))?;
        // The status line is all that is read.
        let mut answer = Vec::new();
        let mut buf = [0u8; 256];
        while !answer.windows(2).any(|w| w == b"\r\n") && answer.len() < 4096 {
            let n = stream.read(&mut buf).await.map_err(|e| format!("answer: {e}"))?;
            if n == 0 {
                break;
            }
            answer.extend_from_slice(buf.get(..n).unwrap_or_default());
        }
        let line = String::from_utf8_lossy(&answer);
        line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| "no HTTP answer".to_owned())
    }
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
        match tokio::time::timeout(TIMEOUT, self.post(&m.event, &m.id.to_string(), &body, now)).await {
            Ok(Ok(status)) if (200..300).contains(&status) => Ok(()),
            Ok(Ok(status)) => Err(format!("webhook answered {status}")),
            Ok(Err(e)) => Err(format!("webhook: {e}")),
            Err(_) => Err(format!("webhook: no answer within {} s", TIMEOUT.as_secs())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_http_with_a_host_and_a_secret() {
        let w = Webhook::new("http://hooks.example:8080/tenantsync/events", b"s").unwrap();
        assert_eq!((w.host.as_str(), w.port, w.path.as_str()), ("hooks.example", 8080, "/tenantsync/events"));
        let w = Webhook::new("http://hooks.example", b"s").unwrap();
        assert_eq!((w.port, w.path.as_str()), (80, "/"));
        for (url, secret) in [("https://hooks.example/", &b"s"[..]), ("hooks.example", b"s"), ("http://:80/", b"s"), ("http://h:x/", b"s"), ("http://h/", b"")]
        {
            assert!(Webhook::new(url, secret).is_err(), "{url}");
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
