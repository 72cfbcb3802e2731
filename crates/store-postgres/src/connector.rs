//! Connectors in PostgreSQL (`connectors`, a reference table, and `connector_links`,
//! keyed by the connector's tenant first): the definition and state as documents, links
//! as rows found by object id (the key), by external id and by fault time (partial
//! indexes). A step commits in one transaction.
use crate::PgStore;
use crate::schema::{pg_err, unique_violation};
use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tenantsync_domain::{ObjectId, ObjectKind, TenantId};
use tenantsync_store::{ConnectorKey, ConnectorRecord, ConnectorStep, ConnectorStore, Link, LinkFault, Result, StoreError};
use tokio_postgres::Row;
use uuid::Uuid;

fn internal(message: impl std::fmt::Display) -> StoreError {
    StoreError::Internal { message: message.to_string() }
}

fn ts(ms: i64) -> Result<Timestamp> {
    Timestamp::from_millisecond(ms).map_err(internal)
}

/// A fault as its column keeps it (the time has its own, indexed, column).
#[derive(Serialize, Deserialize)]
struct FaultDoc {
    error: String,
    attempts: u32,
}

fn kind_code(kind: ObjectKind) -> i16 {
    match kind {
        ObjectKind::User => 1,
        ObjectKind::Group => 2,
    }
}

fn kind_of(code: i16) -> Result<ObjectKind> {
    match code {
        1 => Ok(ObjectKind::User),
        2 => Ok(ObjectKind::Group),
        other => Err(internal(format!("a link of unknown kind {other}"))),
    }
}

const RECORD_COLUMNS: &str = "id, name, tenant_id, created_ms, body";

fn record(r: &Row) -> Result<ConnectorRecord> {
    let body: String = r.try_get(4).map_err(pg_err)?;
    Ok(ConnectorRecord {
        id: ObjectId(r.try_get(0).map_err(pg_err)?),
        name: r.try_get(1).map_err(pg_err)?,
        tenant: TenantId(r.try_get(2).map_err(pg_err)?),
        created: ts(r.try_get(3).map_err(pg_err)?)?,
        body: serde_json::from_str(&body).map_err(|e| internal(format!("stored connector: {e}")))?,
    })
}

const LINK_COLUMNS: &str = "object_id, kind, external_id, digest, exported, fault, retry_ms";

fn link(r: &Row) -> Result<Link> {
    let exported: Option<String> = r.try_get(4).map_err(pg_err)?;
    let fault: Option<String> = r.try_get(5).map_err(pg_err)?;
    let retry: Option<i64> = r.try_get(6).map_err(pg_err)?;
    let fault = match (fault, retry) {
        (Some(f), Some(at)) => {
            let doc: FaultDoc = serde_json::from_str(&f).map_err(|e| internal(format!("stored link fault: {e}")))?;
            Some(LinkFault { error: doc.error, attempts: doc.attempts, retry_at: ts(at)? })
        }
        _ => None,
    };
    Ok(Link {
        object: ObjectId(r.try_get(0).map_err(pg_err)?),
        kind: kind_of(r.try_get(1).map_err(pg_err)?)?,
        external_id: r.try_get(2).map_err(pg_err)?,
        digest: r.try_get(3).map_err(pg_err)?,
        exported: exported.map(|e| serde_json::from_str(&e)).transpose().map_err(|e| internal(format!("stored link: {e}")))?,
        fault,
    })
}

fn links(rows: &[Row]) -> Result<Vec<Link>> {
    rows.iter().map(link).collect()
}

#[async_trait]
impl ConnectorStore for PgStore {
    async fn create_connector(&self, r: ConnectorRecord) -> Result<()> {
        self.check_tenant(r.tenant).await?;
        let body = serde_json::to_string(&r.body).map_err(internal)?;
        let inserted = self
            .execute(
                "INSERT INTO connectors (id, name, tenant_id, created_ms, body) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                &[&r.id.0, &r.name, &r.tenant.0, &r.created.as_millisecond(), &body],
            )
            .await?;
        if inserted == 1 { Ok(()) } else { Err(StoreError::ConnectorExists { name: r.name }) }
    }

    async fn update_connector(&self, r: ConnectorRecord) -> Result<()> {
        let body = serde_json::to_string(&r.body).map_err(internal)?;
        let n = self.execute("UPDATE connectors SET body = $2 WHERE id = $1", &[&r.id.0, &body]).await?;
        if n == 1 { Ok(()) } else { Err(StoreError::ConnectorNotFound { name: r.name }) }
    }

    async fn connector_by_name(&self, name: &str) -> Result<Option<ConnectorRecord>> {
        let rows = self.query(&format!("SELECT {RECORD_COLUMNS} FROM connectors WHERE name = $1"), &[&name]).await?;
        rows.first().map(record).transpose()
    }

    async fn connectors(&self) -> Result<Vec<ConnectorRecord>> {
        let rows = self.query(&format!("SELECT {RECORD_COLUMNS} FROM connectors ORDER BY name"), &[]).await?;
        rows.iter().map(record).collect()
    }

    async fn delete_connector(&self, c: ConnectorKey) -> Result<bool> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        tx.execute("DELETE FROM connector_links WHERE tenant_id = $1 AND connector_id = $2", &[&c.tenant.0, &c.id.0]).await.map_err(pg_err)?;
        let n = tx.execute("DELETE FROM connectors WHERE id = $1", &[&c.id.0]).await.map_err(pg_err)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(n > 0)
    }

    async fn connector_state(&self, c: ConnectorKey) -> Result<Option<serde_json::Value>> {
        let rows = self.query("SELECT state FROM connectors WHERE id = $1", &[&c.id.0]).await?;
        let Some(row) = rows.first() else { return Err(StoreError::ConnectorNotFound { name: c.id.to_string() }) };
        let state: Option<String> = row.try_get(0).map_err(pg_err)?;
        state.map(|s| serde_json::from_str(&s).map_err(|e| internal(format!("stored connector state: {e}")))).transpose()
    }

    async fn commit_connector(&self, c: ConnectorKey, step: ConnectorStep) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        // Locks the connector's row: one step of a connector at a time.
        let known = tx.query("SELECT 1 FROM connectors WHERE id = $1 FOR UPDATE", &[&c.id.0]).await.map_err(pg_err)?;
        if known.is_empty() {
            return Err(StoreError::ConnectorNotFound { name: c.id.to_string() });
        }
        let upsert = tx
            .prepare(
                "INSERT INTO connector_links (tenant_id, connector_id, object_id, kind, external_id, digest, exported, fault, retry_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (tenant_id, connector_id, object_id) DO UPDATE SET \
                 kind = excluded.kind, external_id = excluded.external_id, digest = excluded.digest, exported = excluded.exported, \
                 fault = excluded.fault, retry_ms = excluded.retry_ms",
            )
            .await
            .map_err(pg_err)?;
        for l in &step.links {
            let exported = l.exported.as_ref().map(serde_json::to_string).transpose().map_err(internal)?;
            let fault =
                l.fault.as_ref().map(|f| serde_json::to_string(&FaultDoc { error: f.error.clone(), attempts: f.attempts })).transpose().map_err(internal)?;
            let retry = l.fault.as_ref().map(|f| f.retry_at.as_millisecond());
            let kind = kind_code(l.kind);
            tx.execute(&upsert, &[&c.tenant.0, &c.id.0, &l.object.0, &kind, &l.external_id, &l.digest, &exported, &fault, &retry]).await.map_err(|e| {
                if unique_violation(&e).is_some() {
                    StoreError::AccessConflict { what: format!("the link of external id '{}'", l.external_id.as_deref().unwrap_or_default()) }
                } else {
                    pg_err(e)
                }
            })?;
        }
        if !step.unlinked.is_empty() {
            let objects: Vec<Uuid> = step.unlinked.iter().map(|o| o.0).collect();
            tx.execute("DELETE FROM connector_links WHERE tenant_id = $1 AND connector_id = $2 AND object_id = ANY($3)", &[&c.tenant.0, &c.id.0, &objects])
                .await
                .map_err(pg_err)?;
        }
        if let Some(seen) = step.seen.as_ref().filter(|s| !s.external_ids.is_empty()) {
            let generation = i64::try_from(seen.generation).map_err(internal)?;
            tx.execute(
                "UPDATE connector_links SET seen = $3 WHERE tenant_id = $1 AND connector_id = $2 AND external_id = ANY($4)",
                &[&c.tenant.0, &c.id.0, &generation, &seen.external_ids],
            )
            .await
            .map_err(pg_err)?;
        }
        if let Some(state) = &step.state {
            let state = serde_json::to_string(state).map_err(internal)?;
            tx.execute("UPDATE connectors SET state = $2 WHERE id = $1", &[&c.id.0, &state]).await.map_err(pg_err)?;
        }
        tx.commit().await.map_err(pg_err)
    }

    async fn links(&self, c: ConnectorKey, objects: &[ObjectId]) -> Result<Vec<Link>> {
        let objects: Vec<Uuid> = objects.iter().map(|o| o.0).collect();
        let sql = format!("SELECT {LINK_COLUMNS} FROM connector_links WHERE tenant_id = $1 AND connector_id = $2 AND object_id = ANY($3)");
        links(&self.query(&sql, &[&c.tenant.0, &c.id.0, &objects]).await?)
    }

    async fn link_by_external_id(&self, c: ConnectorKey, external_id: &str) -> Result<Option<Link>> {
        let sql = format!("SELECT {LINK_COLUMNS} FROM connector_links WHERE tenant_id = $1 AND connector_id = $2 AND external_id = $3");
        self.query(&sql, &[&c.tenant.0, &c.id.0, &external_id]).await?.first().map(link).transpose()
    }

    async fn link_page(&self, c: ConnectorKey, after: Option<ObjectId>, limit: u32) -> Result<Vec<Link>> {
        let after = after.map(|a| a.0).unwrap_or(Uuid::nil());
        let sql =
            format!("SELECT {LINK_COLUMNS} FROM connector_links WHERE tenant_id = $1 AND connector_id = $2 AND object_id > $3 ORDER BY object_id LIMIT $4");
        links(&self.query(&sql, &[&c.tenant.0, &c.id.0, &after, &i64::from(limit)]).await?)
    }

    async fn unseen_links(&self, c: ConnectorKey, generation: u64, after: Option<ObjectId>, limit: u32) -> Result<Vec<Link>> {
        let generation = i64::try_from(generation).map_err(internal)?;
        let after = after.map(|a| a.0).unwrap_or(Uuid::nil());
        let sql = format!(
            "SELECT {LINK_COLUMNS} FROM connector_links WHERE tenant_id = $1 AND connector_id = $2 AND object_id > $3 AND external_id IS NOT NULL \
             AND seen IS DISTINCT FROM $4 ORDER BY object_id LIMIT $5"
        );
        links(&self.query(&sql, &[&c.tenant.0, &c.id.0, &after, &generation, &i64::from(limit)]).await?)
    }

    async fn link_seen(&self, c: ConnectorKey, external_id: &str) -> Result<Option<u64>> {
        let sql = "SELECT seen FROM connector_links WHERE tenant_id = $1 AND connector_id = $2 AND external_id = $3";
        let rows = self.query(sql, &[&c.tenant.0, &c.id.0, &external_id]).await?;
        let seen: Option<i64> = rows.first().map(|r| r.try_get(0)).transpose().map_err(internal)?.flatten();
        Ok(seen.and_then(|g| u64::try_from(g).ok()))
    }

    async fn due_faults(&self, c: ConnectorKey, now: Timestamp, limit: u32) -> Result<Vec<Link>> {
        let sql = format!(
            "SELECT {LINK_COLUMNS} FROM connector_links WHERE tenant_id = $1 AND connector_id = $2 AND retry_ms IS NOT NULL AND retry_ms <= $3 \
             ORDER BY retry_ms LIMIT $4"
        );
        links(&self.query(&sql, &[&c.tenant.0, &c.id.0, &now.as_millisecond(), &i64::from(limit)]).await?)
    }

    async fn link_counts(&self, c: ConnectorKey) -> Result<(u64, u64)> {
        let rows = self
            .query("SELECT count(*)::bigint, count(retry_ms)::bigint FROM connector_links WHERE tenant_id = $1 AND connector_id = $2", &[&c.tenant.0, &c.id.0])
            .await?;
        let Some(r) = rows.first() else { return Ok((0, 0)) };
        let (all, faults): (i64, i64) = (r.try_get(0).map_err(pg_err)?, r.try_get(1).map_err(pg_err)?);
        Ok((u64::try_from(all).unwrap_or(0), u64::try_from(faults).unwrap_or(0)))
    }

    async fn try_lease_connector(&self, c: ConnectorKey) -> Result<Option<tenantsync_store::JobLease>> {
        self.connector_state(c).await?;
        // The advisory lock's key space is the jobs': connector ids are UUIDv7s, distinct from every job's.
        crate::lease::try_lease(&self.inner.leases, &self.inner.config, &self.inner.url, tenantsync_domain::SyncConfigId::from_bytes(*c.id.as_bytes())).await
    }
}
