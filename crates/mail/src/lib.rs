//! Delivers the outbox of entitlement management by SMTP: a [`Mailer`] over lettre's
//! asynchronous SMTP transport to a relay named by URL (`smtp://host:port`, plain, as
//! a local relay or a sink is reached; the relay forwards with its own TLS); and to a
//! webhook ([`Webhook`], HMAC-SHA256-signed JSON posts over http or https).
mod webhook;

use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tenantsync_governance::Mailer;
use thiserror::Error;
pub use webhook::{Webhook, signature};

/// A configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MailError {
    #[error("SMTP URL '{url}': {reason}")]
    BadUrl { url: String, reason: String },
    #[error("sender '{from}': {reason}")]
    BadSender { from: String, reason: String },
    #[error("webhook URL '{url}': {reason}")]
    BadWebhook { url: String, reason: String },
    /// The operator's CA file for the webhook (the caller names the file).
    #[error("{reason}")]
    BadCa { reason: String },
}

/// Sends mail through one SMTP relay.
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer").field("from", &self.from.to_string()).finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// A mailer for the relay at `url` (`smtp://host[:port]`, port 25 by default),
    /// sending as `from`.
    pub fn new(url: &str, from: &str) -> Result<SmtpMailer, MailError> {
        let bad = |reason: &str| MailError::BadUrl { url: url.to_owned(), reason: reason.to_owned() };
        let rest = url.strip_prefix("smtp://").ok_or_else(|| bad("expected smtp://host[:port]"))?;
        let (host, port) = match rest.trim_end_matches('/').rsplit_once(':') {
            Some((h, p)) => (h, p.parse::<u16>().map_err(|_| bad("the port is not a number from 1 to 65535"))?),
            None => (rest.trim_end_matches('/'), 25),
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let from: Mailbox = from.parse().map_err(|e: lettre::address::AddressError| MailError::BadSender { from: from.to_owned(), reason: e.to_string() })?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host).port(port).timeout(Some(std::time::Duration::from_secs(30))).build();
        Ok(SmtpMailer { transport, from })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, to: &[String], subject: &str, body: &str) -> Result<(), String> {
        let mut builder = Message::builder().from(self.from.clone()).subject(subject);
        for address in to {
            let mailbox: Mailbox = address.parse().map_err(|e: lettre::address::AddressError| format!("address '{address}': {e}"))?;
            builder = builder.to(mailbox);
        }
        let message = builder.body(body.to_owned()).map_err(|e| e.to_string())?;
        self.transport.send(message).await.map(|_| ()).map_err(|e| e.to_string())
    }
}
