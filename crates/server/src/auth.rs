//! Bearer tokens and the per-token rate limit.
//!
//! A token reads `tsync_<id>_<secret>`: the token's id (32 hex digits, a UUID) and a
//! secret of 32 random bytes (64 hex digits). The store keeps the id and SHA-256 of the
//! secret, never the token. A request's token is found by id and its secret's hash
//! compared in constant time; the token's tenant must be the tenant of the URL.
use crate::error::ScimError;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;
use tenantsync_domain::{ObjectId, TenantId};
use tenantsync_store::NewApiToken;

const PREFIX: &str = "tsync_";

/// A freshly issued token: what to store, and the text to show once.
#[derive(Debug)]
pub struct Issued {
    pub record: NewApiToken,
    pub token: String,
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

pub fn hash_secret(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Issues a new token for `tenant`.
pub fn issue(tenant: TenantId, name: String, expires: Option<jiff::Timestamp>) -> Result<Issued, getrandom::Error> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret)?;
    let secret = hex(&secret);
    let id = ObjectId::new();
    let token = format!("{PREFIX}{}_{secret}", id.as_uuid().simple());
    Ok(Issued { record: NewApiToken { id, tenant_id: tenant, name, secret_hash: hash_secret(&secret), expires_date_time: expires }, token })
}

/// Splits a presented token into id and secret; `None` if it is not one of ours.
pub fn parse(token: &str) -> Option<(ObjectId, &str)> {
    let rest = token.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    if id.len() != 32 || secret.len() != 64 || !secret.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some((id.parse().ok()?, secret))
}

/// Compares two hashes in time independent of where they differ.
pub fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b.iter()) {
        diff |= x ^ y;
    }
    std::hint::black_box(diff) == 0
}

/// A token bucket per token id: `rate` requests a second on average, bursts of `burst`.
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<ObjectId, (f64, Instant)>>,
}

impl RateLimiter {
    /// `rate` 0 disables the limit.
    pub fn new(rate: u32, burst: u32) -> Self {
        Self { rate: f64::from(rate), burst: f64::from(burst.max(1)), buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one request from the token's bucket, or says how many seconds to wait.
    pub fn check(&self, token: ObjectId) -> Result<(), ScimError> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut buckets = self.buckets.lock().map_err(|_| ScimError::internal())?;
        let (tokens, last) = buckets.entry(token).or_insert((self.burst, now));
        let refilled = (*tokens + now.duration_since(*last).as_secs_f64() * self.rate).min(self.burst);
        *last = now;
        if refilled >= 1.0 {
            *tokens = refilled - 1.0;
            Ok(())
        } else {
            *tokens = refilled;
            let wait = ((1.0 - refilled) / self.rate).ceil() as u64;
            Err(ScimError::too_many(wait))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_parse_and_verify() {
        let t = TenantId::new();
        let issued = issue(t, "x".into(), None).unwrap();
        let (id, secret) = parse(&issued.token).unwrap();
        assert_eq!(id, issued.record.id);
        assert!(constant_time_eq(&hash_secret(secret), &issued.record.secret_hash));
        assert!(!constant_time_eq(&hash_secret("other"), &issued.record.secret_hash));
        assert!(parse("Bearer nope").is_none());
        assert!(parse(&issued.token[..issued.token.len() - 1]).is_none());
    }

    #[test]
    fn bucket_refuses_past_the_burst() {
        let rl = RateLimiter::new(1, 2);
        let id = ObjectId::new();
        assert!(rl.check(id).is_ok());
        assert!(rl.check(id).is_ok());
        let e = rl.check(id).unwrap_err();
        assert_eq!((e.status.as_u16(), e.retry_after), (429, Some(1)));
        assert!(rl.check(ObjectId::new()).is_ok(), "buckets are per token");
        assert!(RateLimiter::new(0, 0).check(id).is_ok());
    }
}
