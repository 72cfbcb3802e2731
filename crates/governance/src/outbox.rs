//! Sending the outbox: each message to its recipients' mail (their `mail`, else their
//! userPrincipalName) and the addresses it carries, through a [`Mailer`], and to a
//! webhook through a [`Notifier`]; a failure is tried again later, backing off from a
//! minute to six hours.
use crate::{Governance, Result};
use async_trait::async_trait;
use tenantsync_access::IsoDuration;
use tenantsync_domain::TenantId;
use tenantsync_store::OutboxMessage;

/// Where the outbox's messages go (SMTP: `tenantsync-mail`).
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends one message to `to`; an `Err` says why it was not accepted.
    async fn send(&self, to: &[String], subject: &str, body: &str) -> std::result::Result<(), String>;
}

/// Where the outbox's messages go besides mail: a webhook (`tenantsync-mail`'s
/// `Webhook`). It gets the whole message, its tenant, and the addresses it was mailed to.
#[async_trait]
pub trait Notifier: Send + Sync {
    /// Delivers one message; an `Err` says why it was not accepted.
    async fn notify(&self, tenant: TenantId, message: &OutboxMessage, to: &[String]) -> std::result::Result<(), String>;
}

/// What one pass over the outbox did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxReport {
    pub sent: usize,
    pub deferred: usize,
}

/// Messages sent per pass.
const PASS: u32 = 200;

/// The wait before attempt `n + 1` (after `n` failures): 1 minute doubling, at most 6 hours.
pub fn backoff(failures: u32) -> IsoDuration {
    let minutes = 1u64.checked_shl(failures.min(16)).unwrap_or(u64::MAX).min(360);
    IsoDuration::seconds(minutes * 60)
}

impl Governance {
    /// Sends what the outbox holds due now.
    pub async fn send_outbox(&self, mailer: &dyn Mailer) -> Result<OutboxReport> {
        self.deliver_outbox(Some(mailer), None).await
    }

    /// Delivers what the outbox holds due now by mail, by webhook, or both. A message is
    /// done when every channel took it; when one refused, it is tried again later on
    /// every channel (at least once: a receiver knows a repeat by the message's id).
    pub async fn deliver_outbox(&self, mailer: Option<&dyn Mailer>, notifier: Option<&dyn Notifier>) -> Result<OutboxReport> {
        let now = self.now();
        let mut report = OutboxReport::default();
        for (tenant, m) in self.store.pending_outbox(now, PASS).await? {
            let mut to = m.addresses.clone();
            for user in &m.recipients {
                if let Ok(u) = self.store.get_user(tenant, *user).await {
                    to.push(u.attrs.mail.as_ref().map_or_else(|| u.attrs.user_principal_name.to_string(), |mail| mail.as_str().to_owned()));
                }
            }
            to.sort();
            to.dedup();
            let mailed = match mailer {
                Some(mailer) if !to.is_empty() => mailer.send(&to, &m.subject, &m.body).await,
                _ => Ok(()),
            };
            let outcome = match (mailed, notifier) {
                (Ok(()), Some(n)) => n.notify(tenant, &m, &to).await,
                (other, _) => other,
            };
            match outcome {
                Ok(()) => {
                    self.store.outbox_attempted(tenant, m.id, true, now).await?;
                    report.sent += 1;
                }
                Err(why) => {
                    tracing::warn!(message = %m.id, error = %why, "outbox message not sent; will retry");
                    self.store.outbox_attempted(tenant, m.id, false, backoff(m.attempts).after(now)).await?;
                    report.deferred += 1;
                }
            }
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_a_minute_to_six_hours() {
        let minutes: Vec<u64> = (0..12).map(|n| backoff(n).as_seconds() / 60).collect();
        assert_eq!(minutes, [1, 2, 4, 8, 16, 32, 64, 128, 256, 360, 360, 360]);
        assert_eq!(backoff(u32::MAX).as_seconds(), 360 * 60);
    }
}
