//! The web console's sessions and one-time codes in SQLite (`console_sessions`,
//! `console_codes`, schema version 16): rows keyed by tenant and hash. A code's check is
//! one job of the writer thread, so its attempt count cannot be raced.
use crate::SqliteStore;
use crate::rows::sql_err;
use async_trait::async_trait;
use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};
use tenantsync_domain::TenantId;
use tenantsync_store::{CodeCheck, ConsoleSession, ConsoleStore, Result, SignInCode, StoreError};

fn internal(message: impl std::fmt::Display) -> StoreError {
    StoreError::Internal { message: message.to_string() }
}

fn ts(ms: i64) -> Result<Timestamp> {
    Timestamp::from_millisecond(ms).map_err(internal)
}

#[async_trait]
impl ConsoleStore for SqliteStore {
    async fn create_session(&self, s: ConsoleSession) -> Result<()> {
        let principal = serde_json::to_string(&s.principal).map_err(internal)?;
        self.write(move |conn| {
            conn.prepare_cached("INSERT INTO console_sessions (tenant_id, id_hash, created_ms, last_seen_ms, principal) VALUES (?1, ?2, ?3, ?4, ?5)")
                .and_then(|mut st| st.execute(params![s.tenant.as_bytes(), s.id_hash, s.created.as_millisecond(), s.last_seen.as_millisecond(), principal]))
                .map(|_| ())
                .map_err(sql_err)
        })
        .await
    }

    async fn session(&self, tenant: TenantId, id_hash: [u8; 32]) -> Result<Option<ConsoleSession>> {
        let raw = self.read(|c| {
            c.prepare_cached("SELECT created_ms, last_seen_ms, principal FROM console_sessions WHERE tenant_id = ?1 AND id_hash = ?2")?
                .query_row(params![tenant.as_bytes(), id_hash], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?)))
                .optional()
        })?;
        let Some((created, seen, principal)) = raw else { return Ok(None) };
        Ok(Some(ConsoleSession {
            tenant,
            id_hash,
            created: ts(created)?,
            last_seen: ts(seen)?,
            principal: serde_json::from_str(&principal).map_err(|e| internal(format!("stored console session: {e}")))?,
        }))
    }

    async fn touch_session(&self, tenant: TenantId, id_hash: [u8; 32], at: Timestamp) -> Result<()> {
        self.write(move |conn| {
            conn.prepare_cached("UPDATE console_sessions SET last_seen_ms = max(last_seen_ms, ?3) WHERE tenant_id = ?1 AND id_hash = ?2")
                .and_then(|mut s| s.execute(params![tenant.as_bytes(), id_hash, at.as_millisecond()]))
                .map(|_| ())
                .map_err(sql_err)
        })
        .await
    }

    async fn delete_session(&self, tenant: TenantId, id_hash: [u8; 32]) -> Result<bool> {
        self.write(move |conn| {
            conn.prepare_cached("DELETE FROM console_sessions WHERE tenant_id = ?1 AND id_hash = ?2")
                .and_then(|mut s| s.execute(params![tenant.as_bytes(), id_hash]))
                .map(|n| n > 0)
                .map_err(sql_err)
        })
        .await
    }

    async fn purge_console(&self, idle_before: Timestamp, created_before: Timestamp, now: Timestamp) -> Result<u64> {
        self.write(move |conn| {
            let tx = conn.transaction().map_err(sql_err)?;
            let n = tx
                .execute(
                    "DELETE FROM console_sessions WHERE last_seen_ms < ?1 OR created_ms < ?2",
                    params![idle_before.as_millisecond(), created_before.as_millisecond()],
                )
                .map_err(sql_err)?;
            tx.execute("DELETE FROM console_codes WHERE expires_ms < ?1", params![now.as_millisecond()]).map_err(sql_err)?;
            tx.commit().map_err(sql_err)?;
            Ok(n as u64)
        })
        .await
    }

    async fn put_code(&self, c: SignInCode) -> Result<()> {
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO console_codes (tenant_id, email_hash, code_hash, expires_ms, attempts) VALUES (?1, ?2, ?3, ?4, 0) \
                 ON CONFLICT (tenant_id, email_hash) DO UPDATE SET code_hash = excluded.code_hash, expires_ms = excluded.expires_ms, attempts = 0",
            )
            .and_then(|mut s| s.execute(params![c.tenant.as_bytes(), c.email_hash, c.code_hash, c.expires.as_millisecond()]))
            .map(|_| ())
            .map_err(sql_err)
        })
        .await
    }

    async fn check_code(&self, tenant: TenantId, email_hash: [u8; 32], code_hash: [u8; 32], now: Timestamp, max_attempts: u32) -> Result<CodeCheck> {
        self.write(move |conn| {
            let tx = conn.transaction().map_err(sql_err)?;
            let row = tx
                .prepare_cached("SELECT code_hash, expires_ms, attempts FROM console_codes WHERE tenant_id = ?1 AND email_hash = ?2")
                .and_then(|mut s| {
                    s.query_row(params![tenant.as_bytes(), email_hash], |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))).optional()
                })
                .map_err(sql_err)?;
            let delete = |tx: &rusqlite::Transaction<'_>| {
                tx.execute("DELETE FROM console_codes WHERE tenant_id = ?1 AND email_hash = ?2", params![tenant.as_bytes(), email_hash]).map_err(sql_err)
            };
            let outcome = match row {
                None => CodeCheck::Missing,
                Some((_, expires, _)) if expires < now.as_millisecond() => {
                    delete(&tx)?;
                    CodeCheck::Missing
                }
                Some((stored, _, _)) if stored.as_slice() == code_hash.as_slice() => {
                    delete(&tx)?;
                    CodeCheck::Accepted
                }
                Some((_, _, attempts)) => {
                    let used = u32::try_from(attempts).unwrap_or(u32::MAX).saturating_add(1);
                    if used >= max_attempts {
                        delete(&tx)?;
                    } else {
                        tx.execute(
                            "UPDATE console_codes SET attempts = ?3 WHERE tenant_id = ?1 AND email_hash = ?2",
                            params![tenant.as_bytes(), email_hash, i64::from(used)],
                        )
                        .map_err(sql_err)?;
                    }
                    CodeCheck::Wrong { attempts_left: max_attempts.saturating_sub(used) }
                }
            };
            tx.commit().map_err(sql_err)?;
            Ok(outcome)
        })
        .await
    }
}
