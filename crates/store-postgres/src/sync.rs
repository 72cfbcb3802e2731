//! The sync engine's state in PostgreSQL (see `tenantsync_store::SyncStore`). A
//! configuration, its job state and its provisioning logs live with the configuration's
//! target tenant (`tenant_id`), so a cycle's commit — target writes, logs and job state —
//! is one transaction on one tenant's rows.
use crate::PgStore;
use crate::rows::{self, first};
use crate::schema::{pg_err, unique_violation};
use crate::write::Tx;
use async_trait::async_trait;
use jiff::Timestamp;
use tenantsync_domain::{ObjectId, PartnerSettings, SyncConfigId, SyncConfiguration, TenantId};
use tenantsync_store::{
    AdminObjectKind, AuditPage, AuditQuery, AuditRecord, ConfigEnd, ConfigPage, JobLease, JobNotice, JobState, LogPage, LogQuery, ProvisioningAction,
    ProvisioningLog, ProvisioningStatus, Result, Store, StoreError, SyncStore, SyncWriter, WriteOp, WriteOutcome,
};
use uuid::Uuid;

fn json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Internal { message: e.to_string() })
}

fn parse<T: serde::de::DeserializeOwned>(s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|_| rows::corrupt("sync state"))
}

fn not_found(id: SyncConfigId) -> StoreError {
    StoreError::SyncConfigNotFound { id: id.to_string() }
}

/// A record's action as the `action` column holds it (its JSON name).
pub(crate) fn action_name(a: ProvisioningAction) -> Result<String> {
    match serde_json::to_value(a) {
        Ok(serde_json::Value::String(s)) => Ok(s),
        _ => Err(StoreError::Internal { message: "a provisioning action without a name".into() }),
    }
}

pub(crate) fn status_code(s: ProvisioningStatus) -> i16 {
    match s {
        ProvisioningStatus::Success => 0,
        ProvisioningStatus::Failure => 1,
        ProvisioningStatus::Skipped => 2,
        ProvisioningStatus::Warning => 3,
    }
}

#[async_trait]
impl SyncStore for PgStore {
    async fn set_partner_settings(&self, tenant: TenantId, partner: Option<TenantId>, settings: PartnerSettings) -> Result<()> {
        self.get_tenant(tenant).await?;
        let body = json(&settings)?;
        let partner = partner.map_or(Uuid::nil(), |p| p.0);
        self.execute(
            "INSERT INTO partner_settings (tenant_id, partner_id, settings) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id, partner_id) DO UPDATE SET settings = excluded.settings",
            &[&tenant.0, &partner, &body],
        )
        .await?;
        self.notify_job(JobNotice::All).await;
        Ok(())
    }

    async fn partner_settings(&self, tenant: TenantId, partner: Option<TenantId>) -> Result<PartnerSettings> {
        let partner = partner.map_or(Uuid::nil(), |p| p.0);
        let rows = self.query("SELECT settings FROM partner_settings WHERE tenant_id = $1 AND partner_id = $2", &[&tenant.0, &partner]).await?;
        match rows.first() {
            Some(r) => parse(&first::<String>(r)?),
            None => {
                self.check_tenant(tenant).await?;
                Ok(PartnerSettings::default())
            }
        }
    }

    async fn create_sync_configuration(&self, config: SyncConfiguration) -> Result<SyncConfiguration> {
        self.get_tenant(config.source_tenant_id).await?;
        self.get_tenant(config.target_tenant_id).await?;
        let body = json(&config)?;
        let state = json(&JobState::default())?;
        let now = self.now_ms();
        let (target, source) = (config.target_tenant_id.0, config.source_tenant_id.0);
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let inserted = tx
            .execute(
                "INSERT INTO sync_configurations (tenant_id, id, source_tenant_id, body, created_ms) VALUES ($1, $2, $3, $4, $5)",
                &[&target, &config.id.0, &source, &body, &now],
            )
            .await;
        if let Err(e) = inserted {
            drop(tx);
            if unique_violation(&e).is_some() {
                let existing = self.query("SELECT id FROM sync_configurations WHERE tenant_id = $1 AND source_tenant_id = $2", &[&target, &source]).await?;
                return Err(StoreError::SyncConfigExists {
                    source_tenant: config.source_tenant_id.to_string(),
                    target_tenant: config.target_tenant_id.to_string(),
                    existing: existing.first().map(first::<Uuid>).transpose()?.map(|u| SyncConfigId(u).to_string()).unwrap_or_default(),
                });
            }
            return Err(pg_err(e));
        }
        tx.execute("INSERT INTO job_states (tenant_id, config_id, watermark, body) VALUES ($1, $2, 0, $3)", &[&target, &config.id.0, &state])
            .await
            .map_err(pg_err)?;
        tx.commit().await.map_err(pg_err)?;
        self.notify_job(JobNotice::Job(config.id)).await;
        Ok(config)
    }

    async fn update_sync_configuration(&self, config: SyncConfiguration) -> Result<SyncConfiguration> {
        let old = self.get_sync_configuration(config.id).await?;
        if old.source_tenant_id != config.source_tenant_id || old.target_tenant_id != config.target_tenant_id {
            return Err(StoreError::Invalid(tenantsync_domain::DomainError::ReadOnlyAttribute { name: "sourceTenantId/targetTenantId".into() }));
        }
        let body = json(&config)?;
        if self.execute("UPDATE sync_configurations SET body = $1 WHERE tenant_id = $2 AND id = $3", &[&body, &config.target_tenant_id.0, &config.id.0]).await?
            == 0
        {
            return Err(not_found(config.id));
        }
        self.notify_job(JobNotice::Job(config.id)).await;
        Ok(config)
    }

    async fn get_sync_configuration(&self, id: SyncConfigId) -> Result<SyncConfiguration> {
        let rows = self.query("SELECT body FROM sync_configurations WHERE id = $1", &[&id.0]).await?;
        parse(&first::<String>(rows.first().ok_or_else(|| not_found(id))?)?)
    }

    async fn list_sync_configurations(&self) -> Result<Vec<SyncConfiguration>> {
        let rows = self.query("SELECT body FROM sync_configurations ORDER BY created_ms, id", &[]).await?;
        rows.iter().map(|r| parse(&first::<String>(r)?)).collect()
    }

    async fn sync_configurations_at(&self, page: ConfigPage) -> Result<Vec<SyncConfiguration>> {
        self.sync_configurations_at_impl(page).await
    }

    async fn count_sync_configurations_at(&self, tenant: TenantId, end: ConfigEnd) -> Result<u64> {
        self.count_sync_configurations_at_impl(tenant, end).await
    }

    async fn delete_sync_configuration(&self, id: SyncConfigId) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        tx.execute("DELETE FROM job_states WHERE config_id = $1", &[&id.0]).await.map_err(pg_err)?;
        if tx.execute("DELETE FROM sync_configurations WHERE id = $1", &[&id.0]).await.map_err(pg_err)? == 0 {
            return Err(not_found(id));
        }
        tx.commit().await.map_err(pg_err)?;
        self.notify_job(JobNotice::Job(id)).await;
        Ok(())
    }

    async fn job_state(&self, id: SyncConfigId) -> Result<JobState> {
        let rows = self.query("SELECT body FROM job_states WHERE config_id = $1", &[&id.0]).await?;
        parse(&first::<String>(rows.first().ok_or_else(|| not_found(id))?)?)
    }

    async fn set_job_state(&self, id: SyncConfigId, state: JobState) -> Result<()> {
        let body = json(&state)?;
        let watermark = state.watermark.0 as i64;
        if self.execute("UPDATE job_states SET watermark = $1, body = $2 WHERE config_id = $3", &[&watermark, &body, &id.0]).await? == 0 {
            return Err(not_found(id));
        }
        self.notify_job(JobNotice::Job(id)).await;
        Ok(())
    }

    fn subscribe_jobs(&self) -> tokio::sync::broadcast::Receiver<JobNotice> {
        self.inner.notices.subscribe_jobs()
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
        let mut client = self.client().await?;
        let mut tx = self.begin(&mut client, target).await?;
        match apply_write(&mut tx, id, ops, &mut logs, state.watermark.0 as i64, &body).await {
            Ok(results) => {
                self.finish(tx).await?;
                Ok(results)
            }
            Err(e) => {
                tx.rollback().await;
                Err(e)
            }
        }
    }

    async fn sync_writer(&self, id: SyncConfigId, target: TenantId) -> Result<std::sync::Arc<dyn SyncWriter>> {
        Ok(std::sync::Arc::new(crate::session::PgSyncWriter::start(self.clone(), id, target)))
    }

    async fn try_lease_job(&self, id: SyncConfigId) -> Result<Option<JobLease>> {
        self.get_sync_configuration(id).await?;
        crate::lease::try_lease(&self.inner.leases, &self.inner.config, &self.inner.url, id).await
    }

    async fn provisioning_logs(&self, q: &LogQuery) -> Result<Vec<ProvisioningLog>> {
        Ok(self.provisioning_log_page(q).await?.records)
    }

    async fn provisioning_log_page(&self, q: &LogQuery) -> Result<LogPage> {
        crate::logs::page(self, q).await
    }

    async fn purge_provisioning_logs(&self, cutoff: Timestamp) -> Result<u64> {
        self.execute("DELETE FROM provisioning_logs WHERE at_ms < $1", &[&cutoff.as_millisecond()]).await
    }

    async fn partner_settings_list(&self, tenant: TenantId) -> Result<Vec<(TenantId, PartnerSettings)>> {
        let rows = self
            .query(
                "SELECT partner_id, settings FROM partner_settings WHERE tenant_id = $1 AND partner_id <> $2 ORDER BY partner_id",
                &[&tenant.0, &Uuid::nil()],
            )
            .await?;
        if rows.is_empty() {
            self.check_tenant(tenant).await?;
        }
        rows.iter().map(|r| Ok((TenantId(r.try_get(0).map_err(pg_err)?), parse(r.try_get::<_, &str>(1).map_err(pg_err)?)?))).collect()
    }

    async fn partner_settings_row(&self, tenant: TenantId, partner: TenantId) -> Result<Option<PartnerSettings>> {
        self.partner_settings_row_impl(tenant, partner).await
    }

    async fn partner_settings_page(&self, tenant: TenantId, after: Option<TenantId>, limit: u32) -> Result<Vec<(TenantId, PartnerSettings)>> {
        self.partner_settings_page_impl(tenant, after, limit).await
    }

    async fn delete_partner_settings(&self, tenant: TenantId, partner: TenantId) -> Result<bool> {
        let n = self.execute("DELETE FROM partner_settings WHERE tenant_id = $1 AND partner_id = $2", &[&tenant.0, &partner.0]).await?;
        if n > 0 {
            self.notify_job(JobNotice::All).await;
        }
        Ok(n > 0)
    }

    async fn apply_audited(&self, tenant: TenantId, ops: Vec<WriteOp>, audit: AuditRecord) -> Result<Vec<WriteOutcome>> {
        self.apply_audited_impl(tenant, ops, audit).await
    }

    async fn append_audit(&self, audit: AuditRecord) -> Result<()> {
        self.append_audit_impl(audit).await
    }

    async fn audit_records(&self, tenant: TenantId, q: &AuditQuery) -> Result<AuditPage> {
        self.audit_records_impl(tenant, q).await
    }

    async fn purge_audit_records(&self, cutoff: Timestamp) -> Result<u64> {
        self.execute("DELETE FROM audit_log WHERE at_ms < $1", &[&cutoff.as_millisecond()]).await
    }

    async fn put_admin_object(&self, tenant: TenantId, kind: AdminObjectKind, id: ObjectId, body: String, audit: AuditRecord) -> Result<()> {
        self.put_admin_object_impl(tenant, kind, id, body, audit).await
    }

    async fn admin_object(&self, tenant: TenantId, kind: AdminObjectKind, id: ObjectId) -> Result<Option<String>> {
        let rows = self.query("SELECT body FROM admin_objects WHERE tenant_id = $1 AND kind = $2 AND id = $3", &[&tenant.0, &kind.as_str(), &id.0]).await?;
        rows.first().map(first::<String>).transpose()
    }

    async fn admin_objects(&self, tenant: TenantId, kind: AdminObjectKind) -> Result<Vec<(ObjectId, String)>> {
        let rows =
            self.query("SELECT id, body FROM admin_objects WHERE tenant_id = $1 AND kind = $2 ORDER BY created_ms, id", &[&tenant.0, &kind.as_str()]).await?;
        if rows.is_empty() {
            self.check_tenant(tenant).await?;
        }
        rows.iter().map(|r| Ok((ObjectId(r.try_get(0).map_err(pg_err)?), r.try_get(1).map_err(pg_err)?))).collect()
    }

    async fn delete_admin_object(&self, tenant: TenantId, kind: AdminObjectKind, id: ObjectId, audit: AuditRecord) -> Result<bool> {
        self.delete_admin_object_impl(tenant, kind, id, audit).await
    }
}

/// One write of a run inside an open transaction: target writes, their log records (a
/// record of a refused write becomes a failure with its error), the job state. On error
/// the caller rolls the transaction back.
pub(crate) async fn apply_write(
    tx: &mut Tx<'_>,
    id: SyncConfigId,
    ops: Vec<WriteOp>,
    logs: &mut [ProvisioningLog],
    watermark: i64,
    body: &str,
) -> Result<Vec<Result<WriteOutcome>>> {
    // Values a create's record leaves in its copy are its own before the writes go.
    tenantsync_store::fill_values_from(logs, &ops);
    let results = tx.apply_sync(ops).await?;
    for log in logs.iter_mut() {
        if let Some(Some(result)) = log.op_index.map(|i| results.get(i)) {
            match result {
                Err(e) => {
                    log.status = ProvisioningStatus::Failure;
                    log.error_code = Some(e.code().to_owned());
                    log.error_message = Some(e.to_string());
                    if log.provisioning_action == ProvisioningAction::Create {
                        // The copy was not made: the record names no target.
                        log.target_id = None;
                    }
                }
                Ok(WriteOutcome::User(u)) => log.target_id = Some(u.id),
                Ok(_) => {}
            }
        }
    }
    insert_logs(tx, id, logs).await?;
    let stored = tx.exec("UPDATE job_states SET watermark = $1, body = $2 WHERE config_id = $3", &[&watermark, &body, &id.0]).await?;
    if stored != 1 {
        return Err(not_found(id));
    }
    Ok(results)
}

/// Appends records in one statement (arrays unnested), in order.
async fn insert_logs(tx: &Tx<'_>, config: SyncConfigId, logs: &[ProvisioningLog]) -> Result<()> {
    if logs.is_empty() {
        return Ok(());
    }
    let mut at = Vec::with_capacity(logs.len());
    let mut status = Vec::with_capacity(logs.len());
    let mut source = Vec::with_capacity(logs.len());
    let mut target: Vec<Option<Uuid>> = Vec::with_capacity(logs.len());
    let mut body = Vec::with_capacity(logs.len());
    let mut action = Vec::with_capacity(logs.len());
    for log in logs {
        action.push(action_name(log.provisioning_action)?);
        at.push(log.activity_date_time.as_millisecond());
        status.push(status_code(log.status));
        source.push(log.source_id.0);
        target.push(log.target_id.map(|t| t.0));
        body.push(json(log)?);
    }
    tx.exec(
        "INSERT INTO provisioning_logs (tenant_id, config_id, at_ms, status, source_id, target_id, action, body) \
         SELECT $1, $2, a, s, src, tgt, act, b FROM unnest($3::bigint[], $4::smallint[], $5::uuid[], $6::uuid[], $7::text[], $8::text[]) \
         WITH ORDINALITY AS x (a, s, src, tgt, act, b, n) ORDER BY n",
        &[&tx.tenant.0, &config.0, &at, &status, &source, &target, &action, &body],
    )
    .await?;
    Ok(())
}
