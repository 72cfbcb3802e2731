//! The admin API's audit log and admin objects in SQLite (`audit_log`, `admin_objects`;
//! schema versions 12 and 13). An audit record that describes a directory write or an
//! admin object commits in the same transaction as that write.
use crate::SqliteStore;
use crate::rows::sql_err;
use crate::write::Tx;
use rusqlite::{Connection, OptionalExtension, params};
use tenantsync_domain::{ObjectId, TenantId};
use tenantsync_store::{AdminObjectKind, AuditCursor, AuditPage, AuditQuery, AuditRecord, BatchMode, Result, StoreError, WriteOp, WriteOutcome};

fn to_json(record: &AuditRecord) -> Result<String> {
    serde_json::to_string(record).map_err(|e| StoreError::Internal { message: e.to_string() })
}

/// Appends one audit record inside the caller's transaction.
fn insert(conn: &Connection, record: &AuditRecord, body: &str) -> Result<()> {
    conn.prepare_cached("INSERT INTO audit_log (tenant_id, at_ms, id, body) VALUES (?1, ?2, ?3, ?4)")
        .and_then(|mut s| s.execute(params![record.tenant_id.as_bytes(), record.activity_date_time.as_millisecond(), record.id.as_bytes(), body]))
        .map(|_| ())
        .map_err(sql_err)
}

/// Appends `record`, which must be of `tenant`, inside the caller's transaction (an
/// access step's).
pub(crate) fn insert_audit(conn: &Connection, tenant: TenantId, record: &AuditRecord) -> Result<()> {
    if let Some(e) = wrong_tenant(record, tenant) {
        return Err(e);
    }
    insert(conn, record, &to_json(record)?)
}

fn wrong_tenant(record: &AuditRecord, tenant: TenantId) -> Option<StoreError> {
    (record.tenant_id != tenant).then(|| StoreError::Internal { message: format!("an audit record of tenant {} given for tenant {tenant}", record.tenant_id) })
}

impl SqliteStore {
    pub(crate) async fn apply_audited_impl(&self, tenant: TenantId, ops: Vec<WriteOp>, audit: AuditRecord) -> Result<Vec<WriteOutcome>> {
        if let Some(e) = wrong_tenant(&audit, tenant) {
            return Err(e);
        }
        let body = to_json(&audit)?;
        let now = self.now_ms();
        let (results, head) = self
            .write(move |conn| {
                let mut tx = Tx::begin(conn, tenant, now)?;
                let outcome = tx.apply_all(ops, BatchMode::Atomic).and_then(|results| {
                    let done: Result<Vec<WriteOutcome>> = results.into_iter().collect();
                    let done = done?;
                    insert(tx.conn, &audit, &body)?;
                    Ok(done)
                });
                match outcome {
                    Ok(done) => Ok((done, tx.commit()?)),
                    Err(e) => {
                        tx.rollback();
                        Err(e)
                    }
                }
            })
            .await?;
        self.notify(tenant, head);
        Ok(results)
    }

    pub(crate) async fn append_audit_impl(&self, audit: AuditRecord) -> Result<()> {
        let body = to_json(&audit)?;
        self.write(move |conn| {
            let known = conn.prepare_cached("SELECT 1 FROM tenants WHERE id = ?1").and_then(|mut s| s.exists([audit.tenant_id.as_bytes()])).map_err(sql_err)?;
            if !known {
                return Err(StoreError::TenantNotFound { tenant: audit.tenant_id.to_string() });
            }
            insert(conn, &audit, &body)
        })
        .await
    }

    pub(crate) fn audit_records_impl(&self, tenant: TenantId, q: &AuditQuery) -> Result<AuditPage> {
        let limit = i64::from(q.limit.max(1));
        let since = q.since.map_or(i64::MIN, |t| t.as_millisecond());
        let until = q.until.map_or(i64::MAX, |t| t.as_millisecond());
        // Newest first: (at, id) below the cursor, walking the primary key backwards.
        let (at, id) = q.after.map_or((i64::MAX, [0xff; 16]), |c| (c.at.as_millisecond(), *c.id.as_bytes()));
        let rows = self.read_in(tenant, |c| {
            let mut stmt = c.prepare_cached(
                "SELECT body FROM audit_log WHERE tenant_id = ?1 AND at_ms >= ?2 AND at_ms < ?3 AND (at_ms, id) < (?4, ?5) \
                 ORDER BY at_ms DESC, id DESC LIMIT ?6",
            )?;
            let rows = stmt.query_map(params![tenant.as_bytes(), since, until, at, id, limit + 1], |r| r.get::<_, String>(0))?;
            rows.collect::<rusqlite::Result<Vec<String>>>()
        })?;
        let mut records = Vec::with_capacity(rows.len());
        for body in rows {
            records.push(serde_json::from_str::<AuditRecord>(&body).map_err(|e| StoreError::Internal { message: format!("audit record: {e}") })?);
        }
        let more = records.len() as i64 > limit;
        records.truncate(limit as usize);
        let next = if more { records.last().map(|r| AuditCursor { at: r.activity_date_time, id: r.id }) } else { None };
        Ok(AuditPage { records, next })
    }

    pub(crate) async fn purge_audit_records_impl(&self, cutoff: jiff::Timestamp) -> Result<u64> {
        let cutoff = cutoff.as_millisecond();
        self.write(move |conn| {
            conn.prepare_cached("DELETE FROM audit_log WHERE at_ms < ?1").and_then(|mut s| s.execute([cutoff])).map(|n| n as u64).map_err(sql_err)
        })
        .await
    }

    pub(crate) async fn put_admin_object_impl(&self, tenant: TenantId, kind: AdminObjectKind, id: ObjectId, body: String, audit: AuditRecord) -> Result<()> {
        if let Some(e) = wrong_tenant(&audit, tenant) {
            return Err(e);
        }
        let record = to_json(&audit)?;
        let now = self.now_ms();
        self.write(move |conn| {
            let tx = conn.transaction().map_err(sql_err)?;
            let known = tx.prepare_cached("SELECT 1 FROM tenants WHERE id = ?1").and_then(|mut s| s.exists([tenant.as_bytes()])).map_err(sql_err)?;
            if !known {
                return Err(StoreError::TenantNotFound { tenant: tenant.to_string() });
            }
            tx.prepare_cached(
                "INSERT INTO admin_objects (tenant_id, kind, id, created_ms, body) VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (tenant_id, kind, id) DO UPDATE SET body = excluded.body",
            )
            .and_then(|mut s| s.execute(params![tenant.as_bytes(), kind.as_str(), id.as_bytes(), now, body]))
            .map_err(sql_err)?;
            insert(&tx, &audit, &record)?;
            tx.commit().map_err(sql_err)
        })
        .await
    }

    pub(crate) fn admin_object_impl(&self, tenant: TenantId, kind: AdminObjectKind, id: ObjectId) -> Result<Option<String>> {
        self.read(|c| {
            c.prepare_cached("SELECT body FROM admin_objects WHERE tenant_id = ?1 AND kind = ?2 AND id = ?3")?
                .query_row(params![tenant.as_bytes(), kind.as_str(), id.as_bytes()], |r| r.get(0))
                .optional()
        })
    }

    pub(crate) fn admin_objects_impl(&self, tenant: TenantId, kind: AdminObjectKind) -> Result<Vec<(ObjectId, String)>> {
        self.read_in(tenant, |c| {
            let mut stmt = c.prepare_cached("SELECT id, body FROM admin_objects WHERE tenant_id = ?1 AND kind = ?2 ORDER BY created_ms, id")?;
            let rows = stmt.query_map(params![tenant.as_bytes(), kind.as_str()], |r| Ok((ObjectId::from_bytes(r.get(0)?), r.get(1)?)))?;
            rows.collect()
        })
    }

    pub(crate) async fn delete_admin_object_impl(&self, tenant: TenantId, kind: AdminObjectKind, id: ObjectId, audit: AuditRecord) -> Result<bool> {
        if let Some(e) = wrong_tenant(&audit, tenant) {
            return Err(e);
        }
        let record = to_json(&audit)?;
        self.write(move |conn| {
            let tx = conn.transaction().map_err(sql_err)?;
            let n = tx
                .prepare_cached("DELETE FROM admin_objects WHERE tenant_id = ?1 AND kind = ?2 AND id = ?3")
                .and_then(|mut s| s.execute(params![tenant.as_bytes(), kind.as_str(), id.as_bytes()]))
                .map_err(sql_err)?;
            if n == 0 {
                return Ok(false);
            }
            insert(&tx, &audit, &record)?;
            tx.commit().map_err(sql_err)?;
            Ok(true)
        })
        .await
    }
}
