//! The admin API's audit log and admin objects (`audit_log`, `admin_objects`). An audit
//! record that describes a directory write or an admin object commits in the same
//! transaction as that write.
use crate::PgStore;
use crate::rows::first;
use crate::schema::pg_err;
use tenantsync_domain::{ObjectId, TenantId};
use tenantsync_store::{AdminObjectKind, AuditCursor, AuditPage, AuditQuery, AuditRecord, BatchMode, Result, StoreError, WriteOp, WriteOutcome};
use uuid::Uuid;

fn to_json(record: &AuditRecord) -> Result<String> {
    serde_json::to_string(record).map_err(|e| StoreError::Internal { message: e.to_string() })
}

const INSERT: &str = "INSERT INTO audit_log (tenant_id, at_ms, id, body) VALUES ($1, $2, $3, $4)";

fn wrong_tenant(record: &AuditRecord, tenant: TenantId) -> Result<()> {
    if record.tenant_id != tenant {
        return Err(StoreError::Internal { message: format!("an audit record of tenant {} given for tenant {tenant}", record.tenant_id) });
    }
    Ok(())
}

/// Appends `record`, which must be of `tenant`, inside the caller's transaction (an
/// access step's).
pub(crate) async fn insert_audit(tx: &deadpool_postgres::Transaction<'_>, tenant: TenantId, record: &AuditRecord) -> Result<()> {
    wrong_tenant(record, tenant)?;
    let body = to_json(record)?;
    tx.execute(INSERT, &[&tenant.0, &record.activity_date_time.as_millisecond(), &record.id.0, &body]).await.map(|_| ()).map_err(pg_err)
}

impl PgStore {
    pub(crate) async fn apply_audited_impl(&self, tenant: TenantId, ops: Vec<WriteOp>, audit: AuditRecord) -> Result<Vec<WriteOutcome>> {
        wrong_tenant(&audit, tenant)?;
        let body = to_json(&audit)?;
        let mut client = self.client().await?;
        let mut tx = self.begin(&mut client, tenant).await?;
        let outcome = match tx.apply_all(ops, BatchMode::Atomic).await {
            Ok(results) => match results.into_iter().collect::<Result<Vec<WriteOutcome>>>() {
                Ok(done) => tx.exec(INSERT, &[&tenant.0, &audit.activity_date_time.as_millisecond(), &audit.id.0, &body]).await.map(|_| done),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        match outcome {
            Ok(done) => {
                self.finish(tx).await?;
                Ok(done)
            }
            Err(e) => {
                tx.rollback().await;
                Err(e)
            }
        }
    }

    pub(crate) async fn append_audit_impl(&self, audit: AuditRecord) -> Result<()> {
        self.check_tenant(audit.tenant_id).await?;
        let body = to_json(&audit)?;
        self.execute(INSERT, &[&audit.tenant_id.0, &audit.activity_date_time.as_millisecond(), &audit.id.0, &body]).await?;
        Ok(())
    }

    pub(crate) async fn audit_records_impl(&self, tenant: TenantId, q: &AuditQuery) -> Result<AuditPage> {
        let limit = i64::from(q.limit.max(1));
        let since = q.since.map_or(i64::MIN, |t| t.as_millisecond());
        let until = q.until.map_or(i64::MAX, |t| t.as_millisecond());
        // Newest first: (at, id) below the cursor, walking the primary key backwards.
        let (at, id) = q.after.map_or((i64::MAX, Uuid::max()), |c| (c.at.as_millisecond(), c.id.0));
        let rows = self
            .query(
                "SELECT body FROM audit_log WHERE tenant_id = $1 AND at_ms >= $2 AND at_ms < $3 AND (at_ms, id) < ($4, $5) \
                 ORDER BY at_ms DESC, id DESC LIMIT $6",
                &[&tenant.0, &since, &until, &at, &id, &(limit + 1)],
            )
            .await?;
        if rows.is_empty() {
            self.check_tenant(tenant).await?;
        }
        let mut records = Vec::with_capacity(rows.len());
        for r in &rows {
            records
                .push(serde_json::from_str::<AuditRecord>(&first::<String>(r)?).map_err(|e| StoreError::Internal { message: format!("audit record: {e}") })?);
        }
        let more = records.len() as i64 > limit;
        records.truncate(limit as usize);
        let next = if more { records.last().map(|r| AuditCursor { at: r.activity_date_time, id: r.id }) } else { None };
        Ok(AuditPage { records, next })
    }

    pub(crate) async fn put_admin_object_impl(&self, tenant: TenantId, kind: AdminObjectKind, id: ObjectId, body: String, audit: AuditRecord) -> Result<()> {
        wrong_tenant(&audit, tenant)?;
        self.check_tenant(tenant).await?;
        let record = to_json(&audit)?;
        let now = self.now_ms();
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        tx.execute(
            "INSERT INTO admin_objects (tenant_id, kind, id, created_ms, body) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (tenant_id, kind, id) DO UPDATE SET body = excluded.body",
            &[&tenant.0, &kind.as_str(), &id.0, &now, &body],
        )
        .await
        .map_err(pg_err)?;
        tx.execute(INSERT, &[&tenant.0, &audit.activity_date_time.as_millisecond(), &audit.id.0, &record]).await.map_err(pg_err)?;
        tx.commit().await.map_err(pg_err)
    }

    pub(crate) async fn delete_admin_object_impl(&self, tenant: TenantId, kind: AdminObjectKind, id: ObjectId, audit: AuditRecord) -> Result<bool> {
        wrong_tenant(&audit, tenant)?;
        let record = to_json(&audit)?;
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let n = tx
            .execute("DELETE FROM admin_objects WHERE tenant_id = $1 AND kind = $2 AND id = $3", &[&tenant.0, &kind.as_str(), &id.0])
            .await
            .map_err(pg_err)?;
        if n == 0 {
            return Ok(false);
        }
        tx.execute(INSERT, &[&tenant.0, &audit.activity_date_time.as_millisecond(), &audit.id.0, &record]).await.map_err(pg_err)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(true)
    }
}
