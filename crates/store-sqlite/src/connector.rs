//! Connectors in SQLite (`connectors` and `connector_links`, schema versions 15 and 17):
//! the definition and state as documents, links as rows found by object id (the key), by
//! external id and by fault time (partial indexes), with the generation of the
//! reconciliation that last saw them. A step commits in one transaction.
use crate::SqliteStore;
use crate::rows::sql_err;
use async_trait::async_trait;
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};
use tenantsync_domain::{ObjectId, ObjectKind, TenantId};
use tenantsync_store::{ConnectorKey, ConnectorRecord, ConnectorStep, ConnectorStore, Link, LinkFault, Result, StoreError};

fn internal(message: impl std::fmt::Display) -> StoreError {
    StoreError::Internal { message: message.to_string() }
}

fn id16(bytes: Vec<u8>, what: &str) -> Result<[u8; 16]> {
    bytes.try_into().map_err(|_| internal(format!("a {what} id that is not 16 bytes")))
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

pub(crate) fn kind_code(kind: ObjectKind) -> i64 {
    match kind {
        ObjectKind::User => 1,
        ObjectKind::Group => 2,
    }
}

pub(crate) fn kind_of(code: i64) -> Result<ObjectKind> {
    match code {
        1 => Ok(ObjectKind::User),
        2 => Ok(ObjectKind::Group),
        other => Err(internal(format!("a link of unknown kind {other}"))),
    }
}

type RawRecord = (Vec<u8>, String, Vec<u8>, i64, String);

fn record((id, name, tenant, created, body): RawRecord) -> Result<ConnectorRecord> {
    Ok(ConnectorRecord {
        id: ObjectId::from_bytes(id16(id, "connector")?),
        name,
        tenant: TenantId::from_bytes(id16(tenant, "tenant")?),
        created: ts(created)?,
        body: serde_json::from_str(&body).map_err(|e| internal(format!("stored connector: {e}")))?,
    })
}

const LINK_COLUMNS: &str = "object_id, kind, external_id, digest, exported, fault, retry_ms";

type RawLink = (Vec<u8>, i64, Option<String>, Option<Vec<u8>>, Option<String>, Option<String>, Option<i64>);

fn raw_link(r: &Row<'_>) -> rusqlite::Result<RawLink> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
}

fn link((object, kind, external_id, digest, exported, fault, retry): RawLink) -> Result<Link> {
    let exported = exported.map(|e| serde_json::from_str(&e)).transpose().map_err(|e| internal(format!("stored link: {e}")))?;
    let fault = match (fault, retry) {
        (Some(f), Some(at)) => {
            let doc: FaultDoc = serde_json::from_str(&f).map_err(|e| internal(format!("stored link fault: {e}")))?;
            Some(LinkFault { error: doc.error, attempts: doc.attempts, retry_at: ts(at)? })
        }
        _ => None,
    };
    Ok(Link { object: ObjectId::from_bytes(id16(object, "object")?), kind: kind_of(kind)?, external_id, digest, exported, fault })
}

fn links(rows: Vec<RawLink>) -> Result<Vec<Link>> {
    rows.into_iter().map(link).collect()
}

fn commit(conn: &mut Connection, id: ObjectId, step: &ConnectorStep) -> Result<()> {
    let tx = conn.transaction().map_err(sql_err)?;
    let c = id.as_bytes();
    let known = tx.prepare_cached("SELECT 1 FROM connectors WHERE id = ?1").and_then(|mut s| s.exists([c])).map_err(sql_err)?;
    if !known {
        return Err(StoreError::ConnectorNotFound { name: id.to_string() });
    }
    for l in &step.links {
        let exported = l.exported.as_ref().map(serde_json::to_string).transpose().map_err(internal)?;
        let fault =
            l.fault.as_ref().map(|f| serde_json::to_string(&FaultDoc { error: f.error.clone(), attempts: f.attempts })).transpose().map_err(internal)?;
        let retry = l.fault.as_ref().map(|f| f.retry_at.as_millisecond());
        tx.prepare_cached(
            "INSERT INTO connector_links (connector_id, object_id, kind, external_id, digest, exported, fault, retry_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (connector_id, object_id) DO UPDATE SET kind = excluded.kind, \
             external_id = excluded.external_id, digest = excluded.digest, exported = excluded.exported, fault = excluded.fault, retry_ms = excluded.retry_ms",
        )
        .and_then(|mut s| s.execute(params![c, l.object.as_bytes(), kind_code(l.kind), l.external_id, l.digest, exported, fault, retry]))
        .map_err(|e| match e {
            rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
                StoreError::AccessConflict { what: format!("the link of external id '{}'", l.external_id.as_deref().unwrap_or_default()) }
            }
            e => sql_err(e),
        })?;
    }
    for object in &step.unlinked {
        tx.prepare_cached("DELETE FROM connector_links WHERE connector_id = ?1 AND object_id = ?2")
            .and_then(|mut s| s.execute(params![c, object.as_bytes()]))
            .map_err(sql_err)?;
    }
    if let Some(seen) = &step.seen {
        let generation = i64::try_from(seen.generation).map_err(internal)?;
        for external_id in &seen.external_ids {
            tx.prepare_cached("UPDATE connector_links SET seen = ?3 WHERE connector_id = ?1 AND external_id = ?2")
                .and_then(|mut s| s.execute(params![c, external_id, generation]))
                .map_err(sql_err)?;
        }
    }
    if let Some(state) = &step.state {
        let state = serde_json::to_string(state).map_err(internal)?;
        tx.prepare_cached("UPDATE connectors SET state = ?2 WHERE id = ?1").and_then(|mut s| s.execute(params![c, state])).map_err(sql_err)?;
    }
    tx.commit().map_err(sql_err)
}

#[async_trait]
impl ConnectorStore for SqliteStore {
    async fn create_connector(&self, r: ConnectorRecord) -> Result<()> {
        let body = serde_json::to_string(&r.body).map_err(internal)?;
        self.write(move |conn| {
            let tenant = conn.prepare_cached("SELECT 1 FROM tenants WHERE id = ?1").and_then(|mut s| s.exists([r.tenant.as_bytes()])).map_err(sql_err)?;
            if !tenant {
                return Err(StoreError::TenantNotFound { tenant: r.tenant.to_string() });
            }
            let taken = conn.prepare_cached("SELECT 1 FROM connectors WHERE name = ?1").and_then(|mut s| s.exists([&r.name])).map_err(sql_err)?;
            if taken {
                return Err(StoreError::ConnectorExists { name: r.name });
            }
            conn.prepare_cached("INSERT INTO connectors (id, name, tenant_id, created_ms, body) VALUES (?1, ?2, ?3, ?4, ?5)")
                .and_then(|mut s| s.execute(params![r.id.as_bytes(), r.name, r.tenant.as_bytes(), r.created.as_millisecond(), body]))
                .map(|_| ())
                .map_err(sql_err)
        })
        .await
    }

    async fn update_connector(&self, r: ConnectorRecord) -> Result<()> {
        let body = serde_json::to_string(&r.body).map_err(internal)?;
        self.write(move |conn| {
            let n = conn
                .prepare_cached("UPDATE connectors SET body = ?2 WHERE id = ?1")
                .and_then(|mut s| s.execute(params![r.id.as_bytes(), body]))
                .map_err(sql_err)?;
            if n == 1 { Ok(()) } else { Err(StoreError::ConnectorNotFound { name: r.name }) }
        })
        .await
    }

    async fn connector_by_name(&self, name: &str) -> Result<Option<ConnectorRecord>> {
        let raw = self.read(|c| {
            c.prepare_cached("SELECT id, name, tenant_id, created_ms, body FROM connectors WHERE name = ?1")?
                .query_row([name], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
                .optional()
        })?;
        raw.map(record).transpose()
    }

    async fn connectors(&self) -> Result<Vec<ConnectorRecord>> {
        let raw = self.read(|c| {
            let mut s = c.prepare_cached("SELECT id, name, tenant_id, created_ms, body FROM connectors ORDER BY name")?;
            let rows = s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?;
            rows.collect::<rusqlite::Result<Vec<RawRecord>>>()
        })?;
        raw.into_iter().map(record).collect()
    }

    async fn delete_connector(&self, c: ConnectorKey) -> Result<bool> {
        let id = c.id;
        self.write(move |conn| {
            let tx = conn.transaction().map_err(sql_err)?;
            tx.prepare_cached("DELETE FROM connector_links WHERE connector_id = ?1").and_then(|mut s| s.execute([id.as_bytes()])).map_err(sql_err)?;
            let n = tx.prepare_cached("DELETE FROM connectors WHERE id = ?1").and_then(|mut s| s.execute([id.as_bytes()])).map_err(sql_err)?;
            tx.commit().map_err(sql_err)?;
            Ok(n > 0)
        })
        .await
    }

    async fn connector_state(&self, c: ConnectorKey) -> Result<Option<serde_json::Value>> {
        let id = c.id;
        let state = self.read(|c| {
            c.prepare_cached("SELECT state FROM connectors WHERE id = ?1")?.query_row([id.as_bytes()], |r| r.get::<_, Option<String>>(0)).optional()
        })?;
        match state {
            None => Err(StoreError::ConnectorNotFound { name: id.to_string() }),
            Some(None) => Ok(None),
            Some(Some(s)) => serde_json::from_str(&s).map(Some).map_err(|e| internal(format!("stored connector state: {e}"))),
        }
    }

    async fn commit_connector(&self, c: ConnectorKey, step: ConnectorStep) -> Result<()> {
        let id = c.id;
        self.write(move |conn| commit(conn, id, &step)).await
    }

    async fn links(&self, c: ConnectorKey, objects: &[ObjectId]) -> Result<Vec<Link>> {
        let id = c.id;
        let keys = serde_json::to_string(&objects.iter().map(|o| o.as_uuid().simple().to_string()).collect::<Vec<_>>()).map_err(internal)?;
        let rows = self.read(|c| {
            let sql = format!("SELECT {LINK_COLUMNS} FROM connector_links WHERE connector_id = ?1 AND object_id IN (SELECT unhex(value) FROM json_each(?2))");
            let mut s = c.prepare_cached(&sql)?;
            let rows = s.query_map(params![id.as_bytes(), keys], raw_link)?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        links(rows)
    }

    async fn link_by_external_id(&self, c: ConnectorKey, external_id: &str) -> Result<Option<Link>> {
        let id = c.id;
        let row = self.read(|c| {
            let sql = format!("SELECT {LINK_COLUMNS} FROM connector_links WHERE connector_id = ?1 AND external_id = ?2");
            c.prepare_cached(&sql)?.query_row(params![id.as_bytes(), external_id], raw_link).optional()
        })?;
        row.map(link).transpose()
    }

    async fn link_page(&self, c: ConnectorKey, after: Option<ObjectId>, limit: u32) -> Result<Vec<Link>> {
        let id = c.id;
        let after = after.map(|a| *a.as_bytes()).unwrap_or([0; 16]);
        let rows = self.read(|c| {
            let sql = format!("SELECT {LINK_COLUMNS} FROM connector_links WHERE connector_id = ?1 AND object_id > ?2 ORDER BY object_id LIMIT ?3");
            let mut s = c.prepare_cached(&sql)?;
            let rows = s.query_map(params![id.as_bytes(), after, i64::from(limit)], raw_link)?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        links(rows)
    }

    async fn unseen_links(&self, c: ConnectorKey, generation: u64, after: Option<ObjectId>, limit: u32) -> Result<Vec<Link>> {
        let id = c.id;
        let generation = i64::try_from(generation).map_err(internal)?;
        let after = after.map(|a| *a.as_bytes()).unwrap_or([0; 16]);
        let rows = self.read(|c| {
            let sql = format!(
                "SELECT {LINK_COLUMNS} FROM connector_links WHERE connector_id = ?1 AND object_id > ?2 AND external_id IS NOT NULL \
                 AND (seen IS NULL OR seen <> ?3) ORDER BY object_id LIMIT ?4"
            );
            let mut s = c.prepare_cached(&sql)?;
            let rows = s.query_map(params![id.as_bytes(), after, generation, i64::from(limit)], raw_link)?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        links(rows)
    }

    async fn link_seen(&self, c: ConnectorKey, external_id: &str) -> Result<Option<u64>> {
        let id = c.id;
        let seen = self.read(|c| {
            let sql = "SELECT seen FROM connector_links WHERE connector_id = ?1 AND external_id = ?2";
            c.prepare_cached(sql)?.query_row(params![id.as_bytes(), external_id], |r| r.get::<_, Option<i64>>(0)).optional()
        })?;
        Ok(seen.flatten().and_then(|g| u64::try_from(g).ok()))
    }

    async fn due_faults(&self, c: ConnectorKey, now: Timestamp, limit: u32) -> Result<Vec<Link>> {
        let id = c.id;
        let rows = self.read(|c| {
            let sql = format!(
                "SELECT {LINK_COLUMNS} FROM connector_links WHERE connector_id = ?1 AND retry_ms IS NOT NULL AND retry_ms <= ?2 ORDER BY retry_ms LIMIT ?3"
            );
            let mut s = c.prepare_cached(&sql)?;
            let rows = s.query_map(params![id.as_bytes(), now.as_millisecond(), i64::from(limit)], raw_link)?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        links(rows)
    }

    async fn link_counts(&self, c: ConnectorKey) -> Result<(u64, u64)> {
        let id = c.id;
        let (all, faults) = self.read(|c| {
            c.prepare_cached("SELECT count(*), count(retry_ms) FROM connector_links WHERE connector_id = ?1")?
                .query_row([id.as_bytes()], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))
        })?;
        Ok((u64::try_from(all).unwrap_or(0), u64::try_from(faults).unwrap_or(0)))
    }

    async fn try_lease_connector(&self, c: ConnectorKey) -> Result<Option<tenantsync_store::JobLease>> {
        self.connector_state(c).await?;
        self.file_lease(&format!("connector-{}", c.id))
    }
}
