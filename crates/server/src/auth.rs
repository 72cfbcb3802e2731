//! Bearer tokens and the per-token rate limit.
//!
//! A token reads `tsync_<id>_<secret>`: the token's id (32 hex digits, a UUID) and a
//! secret of 32 random bytes (64 hex digits). The store keeps the id and SHA-256 of the
//! secret, never the token. A request's token is found by id and its secret's hash
//! compared in constant time; the token's tenant must be the tenant of the URL.
use crate::error::ScimError;
use governor::clock::{Clock, DefaultClock, Reference};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::HashMapStateStore;
use governor::{NotUntil, Quota};
use sha2::{Digest, Sha256};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use subtle::ConstantTimeEq;
use tenantsync_domain::{ObjectId, TenantId};
use tenantsync_store::{NewApiToken, TokenRole};

const PREFIX: &str = "tsync_";

/// A freshly issued token: what to store, and the text to show once.
#[derive(Debug)]
pub struct Issued {
    pub record: NewApiToken,
    pub token: String,
}

pub fn hash_secret(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Issues a new token for `tenant` with `role`.
pub fn issue(tenant: TenantId, name: String, role: TokenRole, expires: Option<jiff::Timestamp>) -> Result<Issued, getrandom::Error> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret)?;
    let secret = hex::encode(secret);
    let id = ObjectId::new();
    let token = format!("{PREFIX}{}_{secret}", id.as_uuid().simple());
    Ok(Issued { record: NewApiToken { id, tenant_id: tenant, name, role, secret_hash: hash_secret(&secret), expires_date_time: expires }, token })
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
    a.ct_eq(b).into()
}

/// The keyed GCRA limiter under [`RateLimiter`]: one state (a theoretical arrival time)
/// per token id, in a mutex-guarded `HashMap` (named rather than governor's default store,
/// which changes with the crate's features).
type Keyed<C> = governor::RateLimiter<ObjectId, HashMapStateStore<ObjectId>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// Shortest time between two sweeps of forgotten tokens.
const MIN_SWEEP: Duration = Duration::from_secs(1);

/// The per-token rate limit: `rate` requests a second on average, bursts of `burst` (a
/// token bucket of `burst` requests refilled at `rate` a second, which is what governor's
/// GCRA computes), over the limit: 429 with the seconds until the next request is allowed.
///
/// Memory is bounded by the tokens seen recently, not by all tokens ever seen. A token's
/// state is kept only while it differs from a fresh one: once a token has been idle for a
/// burst period (the time its bucket takes to fill up again, `burst / rate` seconds) and
/// one more request interval, governor's `retain_recent` may drop it without changing any
/// answer. Such a sweep (`retain_recent`, then `shrink_to_fit` to give back the map's
/// capacity) is run by whichever request arrives first once a burst period (at least
/// `MIN_SWEEP`) has passed since the last one, so the map holds only the tokens used
/// within about the last two burst periods. There is no background task: without
/// requests the map does not grow, and a sweep's cost (linear in the tokens held) is paid
/// once a period.
pub struct RateLimiter<C: Clock = DefaultClock> {
    /// `None`: no limit.
    keyed: Option<Keyed<C>>,
    /// When this limiter was made (sweep times count from it).
    start: C::Instant,
    /// Time between sweeps, in nanoseconds.
    sweep_every: u64,
    /// When the next sweep is due, in nanoseconds since `start`.
    next_sweep: AtomicU64,
}

impl<C: Clock> std::fmt::Debug for RateLimiter<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("enabled", &self.keyed.is_some())
            .field("sweep_every", &Duration::from_nanos(self.sweep_every))
            .finish_non_exhaustive()
    }
}

impl RateLimiter {
    /// `rate` 0 disables the limit.
    pub fn new(rate: u32, burst: u32) -> Self {
        Self::with_clock(rate, burst, DefaultClock::default())
    }
}

impl<C: Clock> RateLimiter<C> {
    /// A limiter reading time from `clock`.
    pub fn with_clock(rate: u32, burst: u32, clock: C) -> Self {
        let start = clock.now();
        let Some(rate) = NonZeroU32::new(rate) else {
            return Self { keyed: None, start, sweep_every: u64::MAX, next_sweep: AtomicU64::new(u64::MAX) };
        };
        let quota = Quota::per_second(rate).allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN));
        let sweep_every = nanos(quota.burst_size_replenished_in().max(MIN_SWEEP));
        Self { keyed: Some(governor::RateLimiter::hashmap_with_clock(quota, clock)), start, sweep_every, next_sweep: AtomicU64::new(sweep_every) }
    }

    /// Takes one request from the token's bucket, or says how many seconds to wait.
    pub fn check(&self, token: ObjectId) -> Result<(), ScimError> {
        let Some(keyed) = &self.keyed else { return Ok(()) };
        let now = keyed.clock().now();
        self.sweep_if_due(keyed, now);
        keyed.check_key(&token).map_err(|not_until: NotUntil<C::Instant>| {
            let wait = not_until.wait_time_from(now);
            ScimError::too_many(wait.as_secs() + u64::from(wait.subsec_nanos() > 0))
        })
    }

    /// Forgets the tokens whose state is the same as a fresh one, when a sweep is due; of
    /// requests arriving together, one sweeps and the others go on.
    fn sweep_if_due(&self, keyed: &Keyed<C>, now: C::Instant) {
        let elapsed = nanos(now.duration_since(self.start).into());
        let due = self.next_sweep.load(Ordering::Relaxed);
        if elapsed < due {
            return;
        }
        if self.next_sweep.compare_exchange(due, elapsed.saturating_add(self.sweep_every), Ordering::Relaxed, Ordering::Relaxed).is_ok() {
            keyed.retain_recent();
            keyed.shrink_to_fit();
        }
    }

    /// How many tokens the limiter holds a state for.
    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.keyed.as_ref().map_or(0, Keyed::len)
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_parse_and_verify() {
        let t = TenantId::new();
        let issued = issue(t, "x".into(), TokenRole::Scim, None).unwrap();
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

    #[test]
    fn memory_does_not_grow_with_tokens_seen_long_ago() {
        let clock = governor::clock::FakeRelativeClock::default();
        // 10 a second in bursts of 20: a bucket fills up again in 2 s.
        let rl = RateLimiter::with_clock(10, 20, clock.clone());
        for _ in 0..10_000 {
            assert!(rl.check(ObjectId::new()).is_ok());
        }
        assert_eq!(rl.tracked(), 10_000);
        // A token that empties its bucket just before a sweep is due…
        clock.advance(Duration::from_millis(1_950));
        let busy = ObjectId::new();
        for _ in 0..20 {
            assert!(rl.check(busy).is_ok());
        }
        assert!(rl.check(busy).is_err());
        // …keeps its state through the sweep; the 10,000 idle ones are forgotten.
        clock.advance(Duration::from_millis(50));
        assert!(rl.check(ObjectId::new()).is_ok());
        assert_eq!(rl.tracked(), 2);
        let e = rl.check(busy).unwrap_err();
        assert_eq!((e.status.as_u16(), e.retry_after), (429, Some(1)));
        // However many tokens come and go, the limiter holds only the recent ones.
        for _ in 0..5 {
            clock.advance(Duration::from_secs(10));
            for _ in 0..1_000 {
                assert!(rl.check(ObjectId::new()).is_ok());
            }
            assert_eq!(rl.tracked(), 1_000);
        }
    }

    #[test]
    fn the_limit_follows_the_configured_rate() {
        let clock = governor::clock::FakeRelativeClock::default();
        let rl = RateLimiter::with_clock(2, 4, clock.clone());
        let id = ObjectId::new();
        for _ in 0..4 {
            assert!(rl.check(id).is_ok());
        }
        assert_eq!(rl.check(id).unwrap_err().retry_after, Some(1));
        // Two a second come back: one each half second, never more than the burst.
        clock.advance(Duration::from_millis(500));
        assert!(rl.check(id).is_ok());
        assert!(rl.check(id).is_err());
        clock.advance(Duration::from_secs(60));
        for _ in 0..4 {
            assert!(rl.check(id).is_ok());
        }
        assert!(rl.check(id).is_err());
        // Retry-After is the wait rounded up to whole seconds.
        let slow = RateLimiter::with_clock(1, 1, clock.clone());
        assert!(slow.check(id).is_ok());
        clock.advance(Duration::from_millis(200));
        assert_eq!(slow.check(id).unwrap_err().retry_after, Some(1));
        assert!(RateLimiter::with_clock(0, 0, clock).check(id).is_ok());
    }
}
