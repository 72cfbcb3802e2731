//! The web console's sessions and one-time codes in PostgreSQL (`console_sessions`,
//! `console_codes`, version 3), keyed by tenant first. A code's check locks its row
//! (`FOR UPDATE`), so two workers cannot both take it nor race past its attempts.
use crate::PgStore;
use crate::schema::pg_err;
use async_trait::async_trait;
use jiff::Timestamp;
use tenantsync_domain::TenantId;
use tenantsync_store::{CodeCheck, ConsoleSession, ConsoleStore, Result, SignInCode, StoreError};

fn internal(message: impl std::fmt::Display) -> StoreError {
    StoreError::Internal { message: message.to_string() }
}

fn ts(ms: i64) -> Result<Timestamp> {
    Timestamp::from_millisecond(ms).map_err(internal)
}

#[async_trait]
impl ConsoleStore for PgStore {
    async fn create_session(&self, s: ConsoleSession) -> Result<()> {
        let principal = serde_json::to_string(&s.principal).map_err(internal)?;
        self.execute(
            "INSERT INTO console_sessions (tenant_id, id_hash, created_ms, last_seen_ms, principal) VALUES ($1, $2, $3, $4, $5)",
            &[&s.tenant.0, &s.id_hash.as_slice(), &s.created.as_millisecond(), &s.last_seen.as_millisecond(), &principal],
        )
        .await
        .map(|_| ())
    }

    async fn session(&self, tenant: TenantId, id_hash: [u8; 32]) -> Result<Option<ConsoleSession>> {
        let rows = self
            .query("SELECT created_ms, last_seen_ms, principal FROM console_sessions WHERE tenant_id = $1 AND id_hash = $2", &[&tenant.0, &id_hash.as_slice()])
            .await?;
        let Some(r) = rows.first() else { return Ok(None) };
        let principal: String = r.try_get(2).map_err(pg_err)?;
        Ok(Some(ConsoleSession {
            tenant,
            id_hash,
            created: ts(r.try_get(0).map_err(pg_err)?)?,
            last_seen: ts(r.try_get(1).map_err(pg_err)?)?,
            principal: serde_json::from_str(&principal).map_err(|e| internal(format!("stored console session: {e}")))?,
        }))
    }

    async fn touch_session(&self, tenant: TenantId, id_hash: [u8; 32], at: Timestamp) -> Result<()> {
        self.execute(
            "UPDATE console_sessions SET last_seen_ms = greatest(last_seen_ms, $3) WHERE tenant_id = $1 AND id_hash = $2",
            &[&tenant.0, &id_hash.as_slice(), &at.as_millisecond()],
        )
        .await
        .map(|_| ())
    }

    async fn delete_session(&self, tenant: TenantId, id_hash: [u8; 32]) -> Result<bool> {
        let n = self.execute("DELETE FROM console_sessions WHERE tenant_id = $1 AND id_hash = $2", &[&tenant.0, &id_hash.as_slice()]).await?;
        Ok(n > 0)
    }

    async fn purge_console(&self, idle_before: Timestamp, created_before: Timestamp, now: Timestamp) -> Result<u64> {
        let n = self
            .execute(
                "DELETE FROM console_sessions WHERE last_seen_ms < $1 OR created_ms < $2",
                &[&idle_before.as_millisecond(), &created_before.as_millisecond()],
            )
            .await?;
        self.execute("DELETE FROM console_codes WHERE expires_ms < $1", &[&now.as_millisecond()]).await?;
        Ok(n)
    }

    async fn put_code(&self, c: SignInCode) -> Result<()> {
        self.execute(
            "INSERT INTO console_codes (tenant_id, email_hash, code_hash, expires_ms, attempts) VALUES ($1, $2, $3, $4, 0) \
             ON CONFLICT (tenant_id, email_hash) DO UPDATE SET code_hash = excluded.code_hash, expires_ms = excluded.expires_ms, attempts = 0",
            &[&c.tenant.0, &c.email_hash.as_slice(), &c.code_hash.as_slice(), &c.expires.as_millisecond()],
        )
        .await
        .map(|_| ())
    }

    async fn check_code(&self, tenant: TenantId, email_hash: [u8; 32], code_hash: [u8; 32], now: Timestamp, max_attempts: u32) -> Result<CodeCheck> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let key: (&uuid::Uuid, &[u8]) = (&tenant.0, email_hash.as_slice());
        let rows = tx
            .query("SELECT code_hash, expires_ms, attempts FROM console_codes WHERE tenant_id = $1 AND email_hash = $2 FOR UPDATE", &[key.0, &key.1])
            .await
            .map_err(pg_err)?;
        let delete = "DELETE FROM console_codes WHERE tenant_id = $1 AND email_hash = $2";
        let outcome = match rows.first() {
            None => CodeCheck::Missing,
            Some(r) => {
                let stored: Vec<u8> = r.try_get(0).map_err(pg_err)?;
                let expires: i64 = r.try_get(1).map_err(pg_err)?;
                let attempts: i32 = r.try_get(2).map_err(pg_err)?;
                if expires < now.as_millisecond() {
                    tx.execute(delete, &[key.0, &key.1]).await.map_err(pg_err)?;
                    CodeCheck::Missing
                } else if stored.as_slice() == code_hash.as_slice() {
                    tx.execute(delete, &[key.0, &key.1]).await.map_err(pg_err)?;
                    CodeCheck::Accepted
                } else {
                    let used = u32::try_from(attempts).unwrap_or(0).saturating_add(1);
                    if used >= max_attempts {
                        tx.execute(delete, &[key.0, &key.1]).await.map_err(pg_err)?;
                    } else {
                        let n = i32::try_from(used).unwrap_or(i32::MAX);
                        tx.execute("UPDATE console_codes SET attempts = $3 WHERE tenant_id = $1 AND email_hash = $2", &[key.0, &key.1, &n])
                            .await
                            .map_err(pg_err)?;
                    }
                    CodeCheck::Wrong { attempts_left: max_attempts.saturating_sub(used) }
                }
            }
        };
        tx.commit().await.map_err(pg_err)?;
        Ok(outcome)
    }
}
