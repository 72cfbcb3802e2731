//! The sync engine's state in SQLite (see `tenantsync_store::SyncStore`).
use crate::SqliteStore;
use crate::logblock;
use crate::rows::sql_err;
use crate::write::Tx;
use async_trait::async_trait;
use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};
use tenantsync_domain::{ObjectId, PartnerSettings, SyncConfigId, SyncConfiguration, TenantId};
use tenantsync_store::{
    ConfigEnd, ConfigPage, JobLease, JobNotice, JobState, LogQuery, ProvisioningAction, ProvisioningLog, ProvisioningStatus, Result, Store, StoreError,
    SyncStore, SyncWriter, WriteOp, WriteOutcome,
};

const DEFAULTS: [u8; 16] = [0; 16];

fn json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Internal { message: e.to_string() })
}

fn parse<T: serde::de::DeserializeOwned>(s: &str) -> rusqlite::Result<T> {
    serde_json::from_str(s).map_err(|_| crate::rows::corrupt("sync state"))
}

fn not_found(id: SyncConfigId) -> StoreError {
    StoreError::SyncConfigNotFound { id: id.to_string() }
}

impl SqliteStore {
    async fn check_pair(&self, c: &SyncConfiguration) -> Result<()> {
        self.get_tenant(c.source_tenant_id).await?;
        self.get_tenant(c.target_tenant_id).await?;
        Ok(())
    }
}

fn map_conflict(e: rusqlite::Error, c: &SyncConfiguration, conn: &rusqlite::Connection) -> StoreError {
    if let rusqlite::Error::SqliteFailure(err, _) = &e
        && err.code == rusqlite::ErrorCode::ConstraintViolation
    {
        let existing: Option<[u8; 16]> = conn
            .query_row(
                "SELECT id FROM sync_configurations WHERE source_tenant_id = ?1 AND target_tenant_id = ?2",
                params![c.source_tenant_id.as_bytes(), c.target_tenant_id.as_bytes()],
                |r| r.get(0),
            )
            .optional()
            .ok()
            .flatten();
        return StoreError::SyncConfigExists {
            source_tenant: c.source_tenant_id.to_string(),
            target_tenant: c.target_tenant_id.to_string(),
            existing: existing.map(|b| SyncConfigId::from_bytes(b).to_string()).unwrap_or_default(),
        };
    }
    sql_err(e)
}

#[async_trait]
impl SyncStore for SqliteStore {
    async fn set_partner_settings(&self, tenant: TenantId, partner: Option<TenantId>, settings: PartnerSettings) -> Result<()> {
        self.get_tenant(tenant).await?;
        let body = json(&settings)?;
        let partner = partner.map_or(DEFAULTS, |p| *p.as_bytes());
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO partner_settings (tenant_id, partner_id, settings) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (tenant_id, partner_id) DO UPDATE SET settings = excluded.settings",
                params![tenant.as_bytes(), partner, body],
            )
            .map_err(sql_err)?;
            Ok(())
        })
        .await?;
        self.notify_job(JobNotice::All);
        Ok(())
    }

    async fn partner_settings(&self, tenant: TenantId, partner: Option<TenantId>) -> Result<PartnerSettings> {
        let partner = partner.map_or(DEFAULTS, |p| *p.as_bytes());
        let found = self.read_in(tenant, |c| {
            c.prepare_cached("SELECT settings FROM partner_settings WHERE tenant_id = ?1 AND partner_id = ?2")?
                .query_row(params![tenant.as_bytes(), partner], |r| r.get::<_, String>(0))
                .optional()
        })?;
        match found {
            Some(s) => serde_json::from_str(&s).map_err(|e| StoreError::Internal { message: e.to_string() }),
            None => Ok(PartnerSettings::default()),
        }
    }

    async fn partner_settings_list(&self, tenant: TenantId) -> Result<Vec<(TenantId, PartnerSettings)>> {
        self.partner_settings_list_impl(tenant)
    }

    async fn partner_settings_row(&self, tenant: TenantId, partner: TenantId) -> Result<Option<PartnerSettings>> {
        self.partner_settings_row_impl(tenant, partner)
    }

    async fn partner_settings_page(&self, tenant: TenantId, after: Option<TenantId>, limit: u32) -> Result<Vec<(TenantId, PartnerSettings)>> {
        self.partner_settings_page_impl(tenant, after, limit)
    }

    async fn delete_partner_settings(&self, tenant: TenantId, partner: TenantId) -> Result<bool> {
        self.delete_partner_settings_impl(tenant, partner).await
    }

    async fn create_sync_configuration(&self, config: SyncConfiguration) -> Result<SyncConfiguration> {
        self.check_pair(&config).await?;
        let body = json(&config)?;
        let state = json(&JobState::default())?;
        let now = self.now_ms();
        self.write(move |conn| {
            let tx = conn.transaction().map_err(sql_err)?;
            tx.execute(
                "INSERT INTO sync_configurations (id, source_tenant_id, target_tenant_id, body, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![config.id.as_bytes(), config.source_tenant_id.as_bytes(), config.target_tenant_id.as_bytes(), body, now],
            )
            .map_err(|e| map_conflict(e, &config, &tx))?;
            tx.execute("INSERT INTO job_states (config_id, watermark, body) VALUES (?1, 0, ?2)", params![config.id.as_bytes(), state]).map_err(sql_err)?;
            tx.commit().map_err(sql_err)?;
            Ok(config)
        })
        .await
        .inspect(|c| self.notify_job(JobNotice::Job(c.id)))
    }

    async fn update_sync_configuration(&self, config: SyncConfiguration) -> Result<SyncConfiguration> {
        let old = self.get_sync_configuration(config.id).await?;
        if old.source_tenant_id != config.source_tenant_id || old.target_tenant_id != config.target_tenant_id {
            return Err(StoreError::Invalid(tenantsync_domain::DomainError::ReadOnlyAttribute { name: "sourceTenantId/targetTenantId".into() }));
        }
        let body = json(&config)?;
        self.write(move |conn| {
            let n = conn.execute("UPDATE sync_configurations SET body = ?1 WHERE id = ?2", params![body, config.id.as_bytes()]).map_err(sql_err)?;
            if n == 0 {
                return Err(not_found(config.id));
            }
            Ok(config)
        })
        .await
        .inspect(|c| self.notify_job(JobNotice::Job(c.id)))
    }

    async fn get_sync_configuration(&self, id: SyncConfigId) -> Result<SyncConfiguration> {
        self.read(|c| {
            c.prepare_cached("SELECT body FROM sync_configurations WHERE id = ?1")?
                .query_row([id.as_bytes()], |r| parse::<SyncConfiguration>(&r.get::<_, String>(0)?))
                .optional()
        })?
        .ok_or_else(|| not_found(id))
    }

    async fn list_sync_configurations(&self) -> Result<Vec<SyncConfiguration>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached("SELECT body FROM sync_configurations ORDER BY created_ms, id")?;
            let rows = stmt.query_map([], |r| parse::<SyncConfiguration>(&r.get::<_, String>(0)?))?;
            rows.collect()
        })
    }

    async fn sync_configurations_at(&self, page: ConfigPage) -> Result<Vec<SyncConfiguration>> {
        self.sync_configurations_at_impl(page)
    }

    async fn count_sync_configurations_at(&self, tenant: TenantId, end: ConfigEnd) -> Result<u64> {
        self.count_sync_configurations_at_impl(tenant, end)
    }

    async fn delete_sync_configuration(&self, id: SyncConfigId) -> Result<()> {
        self.write(move |conn| {
            let tx = conn.transaction().map_err(sql_err)?;
            tx.execute("DELETE FROM job_states WHERE config_id = ?1", [id.as_bytes()]).map_err(sql_err)?;
            let n = tx.execute("DELETE FROM sync_configurations WHERE id = ?1", [id.as_bytes()]).map_err(sql_err)?;
            if n == 0 {
                return Err(not_found(id));
            }
            tx.commit().map_err(sql_err)
        })
        .await
        .inspect(|()| self.notify_job(JobNotice::Job(id)))
    }

    async fn job_state(&self, id: SyncConfigId) -> Result<JobState> {
        self.read(|c| {
            c.prepare_cached("SELECT body FROM job_states WHERE config_id = ?1")?
                .query_row([id.as_bytes()], |r| parse::<JobState>(&r.get::<_, String>(0)?))
                .optional()
        })?
        .ok_or_else(|| not_found(id))
    }

    async fn set_job_state(&self, id: SyncConfigId, state: JobState) -> Result<()> {
        let body = json(&state)?;
        let watermark = state.watermark.0 as i64;
        self.write(move |conn| {
            let n = conn
                .execute("UPDATE job_states SET watermark = ?1, body = ?2 WHERE config_id = ?3", params![watermark, body, id.as_bytes()])
                .map_err(sql_err)?;
            if n == 0 {
                return Err(not_found(id));
            }
            Ok(())
        })
        .await
        .inspect(|()| self.notify_job(JobNotice::Job(id)))
    }

    fn subscribe_jobs(&self) -> tokio::sync::broadcast::Receiver<JobNotice> {
        self.notifier().subscribe_jobs()
    }

    async fn commit_sync(
        &self,
        id: SyncConfigId,
        target: TenantId,
        ops: Vec<WriteOp>,
        state: JobState,
        mut logs: Vec<ProvisioningLog>,
    ) -> Result<Vec<Result<WriteOutcome>>> {
        let body = json(&state)?;
        let watermark: i64 = state.watermark.0 as i64;
        let now = self.now_ms();
        // Records are packed here, off the single writer thread (the values they leave in
        // their copies read from the writes); the writer repacks only a block one of
        // whose writes it refuses.
        let mut packed = logblock::encode_all(&logs, &ops)?;
        // And the order of its creates worked out here too.
        let orders = crate::write::create_orders(&ops);
        let (results, head, returned, _packed) = self
            .write(move |conn| {
                let mut tx = Tx::begin(conn, target, now)?;
                match apply_write(&mut tx, id, (ops, orders), &mut logs, &mut packed, watermark, &body) {
                    Ok(results) => {
                        let head = tx.commit()?;
                        // The records go back to be freed on the caller's thread, not the writer's.
                        Ok((results, head, logs, packed))
                    }
                    Err(e) => {
                        tx.rollback();
                        Err(e)
                    }
                }
            })
            .await?;
        drop(returned);
        self.notify(target, head);
        Ok(results)
    }

    async fn sync_writer(&self, id: SyncConfigId, target: TenantId) -> Result<std::sync::Arc<dyn SyncWriter>> {
        Ok(std::sync::Arc::new(crate::session::SqliteSyncWriter::new(self.clone(), id, target)))
    }

    async fn try_lease_job(&self, id: SyncConfigId) -> Result<Option<JobLease>> {
        self.get_sync_configuration(id).await?;
        self.file_lease(&id.to_string())
    }

    async fn provisioning_logs(&self, q: &LogQuery) -> Result<Vec<ProvisioningLog>> {
        // Records written before blocks (schema version 8) are older than every block;
        // the page reads blocks first, then those (see `logpage.rs`).
        Ok(self.provisioning_log_page(q).await?.records)
    }

    async fn provisioning_log_page(&self, q: &LogQuery) -> Result<tenantsync_store::LogPage> {
        let from = crate::logpage::parse(q.after.as_ref())?;
        self.read(|c| crate::logpage::page(c, q, from))
    }

    async fn apply_audited(&self, tenant: TenantId, ops: Vec<WriteOp>, audit: tenantsync_store::AuditRecord) -> Result<Vec<WriteOutcome>> {
        self.apply_audited_impl(tenant, ops, audit).await
    }

    async fn append_audit(&self, audit: tenantsync_store::AuditRecord) -> Result<()> {
        self.append_audit_impl(audit).await
    }

    async fn audit_records(&self, tenant: TenantId, q: &tenantsync_store::AuditQuery) -> Result<tenantsync_store::AuditPage> {
        self.audit_records_impl(tenant, q)
    }

    async fn purge_audit_records(&self, cutoff: Timestamp) -> Result<u64> {
        self.purge_audit_records_impl(cutoff).await
    }

    async fn put_admin_object(
        &self,
        tenant: TenantId,
        kind: tenantsync_store::AdminObjectKind,
        id: ObjectId,
        body: String,
        audit: tenantsync_store::AuditRecord,
    ) -> Result<()> {
        self.put_admin_object_impl(tenant, kind, id, body, audit).await
    }

    async fn admin_object(&self, tenant: TenantId, kind: tenantsync_store::AdminObjectKind, id: ObjectId) -> Result<Option<String>> {
        self.admin_object_impl(tenant, kind, id)
    }

    async fn admin_objects(&self, tenant: TenantId, kind: tenantsync_store::AdminObjectKind) -> Result<Vec<(ObjectId, String)>> {
        self.admin_objects_impl(tenant, kind)
    }

    async fn delete_admin_object(
        &self,
        tenant: TenantId,
        kind: tenantsync_store::AdminObjectKind,
        id: ObjectId,
        audit: tenantsync_store::AuditRecord,
    ) -> Result<bool> {
        self.delete_admin_object_impl(tenant, kind, id, audit).await
    }

    async fn purge_provisioning_logs(&self, cutoff: Timestamp) -> Result<u64> {
        let cutoff = cutoff.as_millisecond();
        self.write(move |conn| {
            let tx = conn.transaction().map_err(sql_err)?;
            let mut purged = tx.execute("DELETE FROM provisioning_logs WHERE at_ms < ?1", [cutoff]).map(|n| n as u64).map_err(sql_err)?;
            purged += purge_blocks(&tx, cutoff)?;
            tx.commit().map_err(sql_err)?;
            Ok(purged)
        })
        .await
    }
}

/// Removes the block records older than `cutoff` (ms): whole blocks, and the old part of
/// a block that straddles the cutoff (the rest is packed again). Returns how many.
fn purge_blocks(conn: &rusqlite::Connection, cutoff: i64) -> Result<u64> {
    let blocks: Vec<(i64, [u8; 16], Vec<u8>)> = conn
        .prepare("SELECT id, config_id, body FROM provisioning_log_blocks WHERE first_ms < ?1")
        .and_then(|mut s| s.query_map([cutoff], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect())
        .map_err(sql_err)?;
    let mut purged = 0;
    for (block, config, body) in blocks {
        // As packed (steps still facts), to be packed again the same way.
        let records = logblock::decode_stored(&body, SyncConfigId::from_bytes(config))?;
        for log in &records {
            for object in std::iter::once(log.source_id).chain(log.target_id) {
                conn.prepare_cached("DELETE FROM provisioning_log_objects WHERE object_id = ?1 AND block_id = ?2")
                    .and_then(|mut s| s.execute(params![object.as_bytes(), block]))
                    .map_err(sql_err)?;
            }
        }
        let (old, kept): (Vec<_>, Vec<_>) = records.into_iter().partition(|l| l.activity_date_time.as_millisecond() < cutoff);
        purged += old.len() as u64;
        conn.execute("DELETE FROM provisioning_log_blocks WHERE id = ?1", [block]).map_err(sql_err)?;
        if !kept.is_empty() {
            // Under the same id, so the newest-first order stays.
            insert_block(conn, SyncConfigId::from_bytes(config), Some(block), &kept, &logblock::encode(&kept)?)?;
        }
    }
    Ok(purged)
}

/// One write of a run inside an open transaction: target writes, their log records (a
/// record of a refused write becomes a failure with its error, repacked), the job state.
/// On error the caller rolls the transaction back.
pub(crate) fn apply_write(
    tx: &mut Tx<'_>,
    id: SyncConfigId,
    (ops, orders): (Vec<WriteOp>, Vec<crate::write::RunOrder>),
    logs: &mut [ProvisioningLog],
    packed: &mut [Vec<u8>],
    watermark: i64,
    body: &str,
) -> Result<Vec<Result<WriteOutcome>>> {
    let results = tx.apply_sync(ops, orders)?;
    record_write(tx, id, &results, logs, packed, watermark, body)?;
    Ok(results)
}

/// The second half of [`apply_write`], after the target writes: their log records and the
/// job state.
pub(crate) fn record_write(
    tx: &mut Tx<'_>,
    id: SyncConfigId,
    results: &[Result<WriteOutcome>],
    logs: &mut [ProvisioningLog],
    blocks: &mut [Vec<u8>],
    watermark: i64,
    body: &str,
) -> Result<()> {
    // Logs report what really happened to their write; a block holding a record that
    // changes is packed again.
    for (k, chunk) in logs.chunks_mut(logblock::BLOCK_RECORDS).enumerate() {
        let Some(body) = blocks.get_mut(k) else {
            return Err(StoreError::Internal { message: "a provisioning log block is missing".into() });
        };
        if !chunk.iter().any(|log| change(log, results).is_some()) {
            insert_block(tx.conn, id, None, chunk, body)?;
            continue;
        }
        if chunk.iter().any(|log| log.modified_properties.iter().any(|m| m.new_in_copy.is_some())) {
            // Values left in copies were packed from writes the writer has taken since:
            // the records are read back from their block.
            for (log, back) in chunk.iter_mut().zip(logblock::decode_stored(body, id)?) {
                *log = ProvisioningLog { op_index: log.op_index, ..back };
            }
        }
        for log in chunk.iter_mut() {
            match change(log, results) {
                Some(Change::Refused(e)) => {
                    log.status = ProvisioningStatus::Failure;
                    log.error_code = Some(e.code().to_owned());
                    log.error_message = Some(e.to_string());
                    if log.provisioning_action == ProvisioningAction::Create {
                        // The copy was not made: the record names no target.
                        log.target_id = None;
                    }
                }
                Some(Change::Target(t)) => log.target_id = Some(t),
                None => {}
            }
        }
        *body = logblock::encode(chunk)?;
        insert_block(tx.conn, id, None, chunk, body)?;
    }
    let stored = tx
        .conn
        .prepare_cached("UPDATE job_states SET watermark = ?1, body = ?2 WHERE config_id = ?3")
        .and_then(|mut s| s.execute(params![watermark, body, id.as_bytes()]))
        .map_err(sql_err)?;
    if stored != 1 {
        return Err(not_found(id));
    }
    Ok(())
}

/// What a record must say of its write that it does not yet.
enum Change<'a> {
    /// The write was refused: the record becomes a failure.
    Refused(&'a StoreError),
    /// The write's object is another than the record names.
    Target(ObjectId),
}

/// How `log` must change for what happened to its write (`results`, by `op_index`).
fn change<'a>(log: &ProvisioningLog, results: &'a [Result<WriteOutcome>]) -> Option<Change<'a>> {
    match log.op_index.and_then(|i| results.get(i))? {
        Err(e) => Some(Change::Refused(e)),
        Ok(WriteOutcome::User(u)) if log.target_id != Some(u.id) => Some(Change::Target(u.id)),
        Ok(_) => None,
    }
}

/// Stores one block of records of configuration `config` (as its id `id` when given)
/// and the objects it names.
pub(crate) fn insert_block(conn: &rusqlite::Connection, config: SyncConfigId, id: Option<i64>, records: &[ProvisioningLog], body: &[u8]) -> Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    let s = logblock::summary(records);
    conn.prepare_cached("INSERT INTO provisioning_log_blocks (id, config_id, first_ms, last_ms, statuses, records, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
        .and_then(|mut st| st.execute(params![id, config.as_bytes(), s.first_ms, s.last_ms, s.statuses, s.count, body]))
        .map_err(sql_err)?;
    let block = conn.last_insert_rowid();
    // The block's objects in one statement, in key order: a statement per object cost
    // more to run than its row cost to insert (a cycle's block names 512).
    let mut objects: Vec<[u8; 16]> = records.iter().flat_map(|log| std::iter::once(log.source_id).chain(log.target_id)).map(|o| *o.as_bytes()).collect();
    objects.sort_unstable();
    objects.dedup();
    let objects = crate::rows::id_array(objects);
    conn.prepare_cached("INSERT OR IGNORE INTO provisioning_log_objects (object_id, block_id) SELECT value, ?2 FROM rarray(?1)")
        .and_then(|mut st| st.execute(params![objects, block]))
        .map_err(sql_err)?;
    Ok(())
}
