//! The conformance cases of [`ConsoleStore`] (the web console's sessions and one-time
//! sign-in codes), stamped by [`console_conformance_tests!`](crate::console_conformance_tests)
//! into the test binary of each store.
use jiff::{SignedDuration, Timestamp};
use std::sync::Arc;
use tenantsync_domain::{Clock, FixedClock, NewTenant, TenantId};
use tenantsync_store::{CodeCheck, ConsoleSession, ConsoleStore, SignInCode, Store};

/// A store with both traits.
pub trait ConsoleFullStore: Store + ConsoleStore {}
impl<T: Store + ConsoleStore> ConsoleFullStore for T {}

/// A fresh, empty store for one console case.
pub struct ConsoleFixture {
    pub store: Arc<dyn ConsoleFullStore>,
    pub clock: Arc<FixedClock>,
    pub guard: Box<dyn std::any::Any + Send>,
}

impl std::fmt::Debug for ConsoleFixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleFixture").finish_non_exhaustive()
    }
}

/// Stamps one `#[tokio::test]` per console case into module `console_store`.
#[macro_export]
macro_rules! console_conformance_tests {
    ($factory:path) => {
        mod console_store {
            #[allow(unused_imports)]
            use super::*;
            $crate::__console_cases!($factory;
                sessions_are_found_by_tenant_and_hash_touched_and_deleted,
                purge_removes_idle_and_old_sessions_and_expired_codes,
                a_right_code_is_taken_once,
                wrong_codes_are_counted_and_the_last_one_removes_the_code,
                a_new_code_replaces_the_old_and_an_expired_one_is_missing,
            );
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __console_cases {
    ($factory:path; $($case:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $crate::console::$case($factory($crate::start_clock()).await).await
            }
        )*
    };
}

async fn tenant(f: &ConsoleFixture, domain: &str) -> TenantId {
    f.store.create_tenant(NewTenant::new(domain, domain).unwrap()).await.unwrap().id
}

fn session(tenant: TenantId, n: u8, created: Timestamp) -> ConsoleSession {
    ConsoleSession { tenant, id_hash: [n; 32], created, last_seen: created, principal: serde_json::json!({ "admin": { "token": n } }) }
}

fn minutes(n: i64) -> SignedDuration {
    SignedDuration::from_mins(n)
}

pub async fn sessions_are_found_by_tenant_and_hash_touched_and_deleted(f: ConsoleFixture) {
    let (a, b) = (tenant(&f, "a.example").await, tenant(&f, "b.example").await);
    let now = f.clock.now();
    f.store.create_session(session(a, 1, now)).await.unwrap();
    let got = f.store.session(a, [1; 32]).await.unwrap().unwrap();
    assert_eq!(got, session(a, 1, now));
    // Another tenant, another hash: nothing.
    assert!(f.store.session(b, [1; 32]).await.unwrap().is_none());
    assert!(f.store.session(a, [2; 32]).await.unwrap().is_none());
    let later = now + minutes(5);
    f.store.touch_session(a, [1; 32], later).await.unwrap();
    // An older touch (a slower worker) does not move it back.
    f.store.touch_session(a, [1; 32], now).await.unwrap();
    let got = f.store.session(a, [1; 32]).await.unwrap().unwrap();
    assert_eq!((got.created, got.last_seen), (now, later));
    assert!(f.store.delete_session(a, [1; 32]).await.unwrap());
    assert!(!f.store.delete_session(a, [1; 32]).await.unwrap());
    assert!(f.store.session(a, [1; 32]).await.unwrap().is_none());
}

pub async fn purge_removes_idle_and_old_sessions_and_expired_codes(f: ConsoleFixture) {
    let t = tenant(&f, "a.example").await;
    let now = f.clock.now();
    // 1: idle for an hour; 2: active but created nine hours ago; 3: fresh.
    let mut idle = session(t, 1, now - minutes(70));
    idle.last_seen = now - minutes(60);
    let mut old = session(t, 2, now - minutes(9 * 60));
    old.last_seen = now - minutes(1);
    f.store.create_session(idle).await.unwrap();
    f.store.create_session(old).await.unwrap();
    f.store.create_session(session(t, 3, now)).await.unwrap();
    let expired = SignInCode { tenant: t, email_hash: [7; 32], code_hash: [8; 32], expires: now - minutes(1) };
    f.store.put_code(expired).await.unwrap();
    let gone = f.store.purge_console(now - minutes(30), now - minutes(8 * 60), now).await.unwrap();
    assert_eq!(gone, 2);
    assert!(f.store.session(t, [1; 32]).await.unwrap().is_none());
    assert!(f.store.session(t, [2; 32]).await.unwrap().is_none());
    assert!(f.store.session(t, [3; 32]).await.unwrap().is_some());
    assert_eq!(f.store.check_code(t, [7; 32], [8; 32], now - minutes(2), 5).await.unwrap(), CodeCheck::Missing);
}

pub async fn a_right_code_is_taken_once(f: ConsoleFixture) {
    let (a, b) = (tenant(&f, "a.example").await, tenant(&f, "b.example").await);
    let now = f.clock.now();
    f.store.put_code(SignInCode { tenant: a, email_hash: [1; 32], code_hash: [2; 32], expires: now + minutes(10) }).await.unwrap();
    // The same address in another tenant has no code.
    assert_eq!(f.store.check_code(b, [1; 32], [2; 32], now, 5).await.unwrap(), CodeCheck::Missing);
    assert_eq!(f.store.check_code(a, [1; 32], [2; 32], now, 5).await.unwrap(), CodeCheck::Accepted);
    assert_eq!(f.store.check_code(a, [1; 32], [2; 32], now, 5).await.unwrap(), CodeCheck::Missing);
}

pub async fn wrong_codes_are_counted_and_the_last_one_removes_the_code(f: ConsoleFixture) {
    let t = tenant(&f, "a.example").await;
    let now = f.clock.now();
    f.store.put_code(SignInCode { tenant: t, email_hash: [1; 32], code_hash: [2; 32], expires: now + minutes(10) }).await.unwrap();
    for left in (0..5).rev() {
        assert_eq!(f.store.check_code(t, [1; 32], [9; 32], now, 5).await.unwrap(), CodeCheck::Wrong { attempts_left: left });
    }
    // Exhausted: even the right code is refused now.
    assert_eq!(f.store.check_code(t, [1; 32], [2; 32], now, 5).await.unwrap(), CodeCheck::Missing);
}

pub async fn a_new_code_replaces_the_old_and_an_expired_one_is_missing(f: ConsoleFixture) {
    let t = tenant(&f, "a.example").await;
    let now = f.clock.now();
    f.store.put_code(SignInCode { tenant: t, email_hash: [1; 32], code_hash: [2; 32], expires: now + minutes(10) }).await.unwrap();
    assert_eq!(f.store.check_code(t, [1; 32], [9; 32], now, 5).await.unwrap(), CodeCheck::Wrong { attempts_left: 4 });
    // A new code: the old one no longer works, and the attempts start again.
    f.store.put_code(SignInCode { tenant: t, email_hash: [1; 32], code_hash: [3; 32], expires: now + minutes(10) }).await.unwrap();
    assert_eq!(f.store.check_code(t, [1; 32], [2; 32], now, 5).await.unwrap(), CodeCheck::Wrong { attempts_left: 4 });
    assert_eq!(f.store.check_code(t, [1; 32], [3; 32], now + minutes(11), 5).await.unwrap(), CodeCheck::Missing);
}
