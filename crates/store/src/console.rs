//! What the web console keeps between requests, so that several `serve` workers on one
//! database answer the same browser: **sessions** and **one-time sign-in codes**.
//!
//! Neither is kept in clear. A session is found by the SHA-256 of the secret its cookie
//! carries, a code by the SHA-256 of the code; a copy of the database lets no one sign
//! in. Both belong to a tenant (the key starts with it, as every per-tenant table's), and
//! both are transient: expired ones are purged, and `tenantsync migrate` does not copy
//! them (`dump.rs` says why).
//!
//! The promises: [`ConsoleStore::check_code`] counts a wrong attempt and takes a right
//! code in one atomic step, so two workers cannot both accept a code, nor can attempts
//! past the limit be made by racing; a code taken or exhausted cannot be used again.
use crate::Result;
use async_trait::async_trait;
use jiff::Timestamp;
use tenantsync_domain::TenantId;

/// A console session as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsoleSession {
    pub tenant: TenantId,
    /// SHA-256 of the secret the cookie carries.
    pub id_hash: [u8; 32],
    pub created: Timestamp,
    /// The last request seen (the idle timeout counts from it).
    pub last_seen: Timestamp,
    /// Who signed in, as the console writes it (an admin token, or a person).
    pub principal: serde_json::Value,
}

/// A one-time sign-in code waiting to be entered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInCode {
    pub tenant: TenantId,
    /// SHA-256 of the (lower-cased) address the code was sent to.
    pub email_hash: [u8; 32],
    /// SHA-256 of the code.
    pub code_hash: [u8; 32],
    pub expires: Timestamp,
}

/// What entering a code did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    /// The code was right and in time: it is gone now.
    Accepted,
    /// The code was wrong; `attempts_left` more may be made (0: the code is gone).
    Wrong { attempts_left: u32 },
    /// No code is waiting for this address (never sent, used, expired or exhausted).
    Missing,
}

/// The storage of the console.
#[async_trait]
pub trait ConsoleStore: Send + Sync + std::fmt::Debug + 'static {
    /// Adds a session.
    async fn create_session(&self, session: ConsoleSession) -> Result<()>;
    /// The session with this hash, if any (expired or not: the console decides).
    async fn session(&self, tenant: TenantId, id_hash: [u8; 32]) -> Result<Option<ConsoleSession>>;
    /// Moves a session's `last_seen` to `at`.
    async fn touch_session(&self, tenant: TenantId, id_hash: [u8; 32], at: Timestamp) -> Result<()>;
    /// Removes a session; false if there was none.
    async fn delete_session(&self, tenant: TenantId, id_hash: [u8; 32]) -> Result<bool>;
    /// Removes, in every tenant, the sessions last seen before `idle_before` or created
    /// before `created_before`, and the codes that expired before `now`; says how many
    /// sessions went.
    async fn purge_console(&self, idle_before: Timestamp, created_before: Timestamp, now: Timestamp) -> Result<u64>;

    /// Puts a code for an address, replacing any code that address was waiting with.
    async fn put_code(&self, code: SignInCode) -> Result<()>;
    /// Checks a code entered for an address at `now`: a right one in time is taken; a
    /// wrong one counts an attempt, and the `max_attempts`-th wrong one removes the code.
    async fn check_code(&self, tenant: TenantId, email_hash: [u8; 32], code_hash: [u8; 32], now: Timestamp, max_attempts: u32) -> Result<CodeCheck>;
}
