//! A tenant's short lists read a page at a time through an index: its tokens, its
//! partners' settings rows and the sync configurations at either end of it. Each page
//! costs the page, however many rows the deployment holds (the global
//! `list_sync_configurations` reads them all).
use crate::SqliteStore;
use rusqlite::{OptionalExtension, params};
use tenantsync_domain::{ObjectId, PartnerSettings, SyncConfiguration, TenantId};
use tenantsync_store::{ApiToken, ConfigEnd, ConfigPage, Result, StoreError};

/// A key below every id: where a first page starts (blobs compare bytewise, and the
/// empty one first; the all-zero partner id is the defaults' row, never listed).
const START: [u8; 16] = [0; 16];

impl SqliteStore {
    pub(crate) fn tokens_page_impl(&self, tenant: TenantId, after: Option<ObjectId>, limit: u32) -> Result<Vec<ApiToken>> {
        let after = after.map_or(START, |a| *a.as_bytes());
        self.read_in(tenant, |c| {
            let sql = format!("SELECT {} FROM api_tokens WHERE tenant_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3", crate::TOKEN_COLS);
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt.query_map(params![tenant.as_bytes(), after, limit], crate::token_row)?;
            rows.collect()
        })
    }

    pub(crate) fn partner_settings_page_impl(&self, tenant: TenantId, after: Option<TenantId>, limit: u32) -> Result<Vec<(TenantId, PartnerSettings)>> {
        let after = after.map_or(START, |a| *a.as_bytes());
        let rows = self.read_in(tenant, |c| {
            let mut stmt =
                c.prepare_cached("SELECT partner_id, settings FROM partner_settings WHERE tenant_id = ?1 AND partner_id > ?2 ORDER BY partner_id LIMIT ?3")?;
            let rows = stmt.query_map(params![tenant.as_bytes(), after, limit], |r| Ok((TenantId::from_bytes(r.get(0)?), r.get::<_, String>(1)?)))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        rows.into_iter()
            .map(|(p, s)| serde_json::from_str(&s).map(|s| (p, s)).map_err(|e| StoreError::Internal { message: format!("partner settings: {e}") }))
            .collect()
    }

    pub(crate) fn partner_settings_row_impl(&self, tenant: TenantId, partner: TenantId) -> Result<Option<PartnerSettings>> {
        let found = self.read_in(tenant, |c| {
            c.prepare_cached("SELECT settings FROM partner_settings WHERE tenant_id = ?1 AND partner_id = ?2 AND partner_id <> ?3")?
                .query_row(params![tenant.as_bytes(), partner.as_bytes(), START], |r| r.get::<_, String>(0))
                .optional()
        })?;
        found.map(|s| serde_json::from_str(&s).map_err(|e| StoreError::Internal { message: format!("partner settings: {e}") })).transpose()
    }

    pub(crate) fn sync_configurations_at_impl(&self, page: ConfigPage) -> Result<Vec<SyncConfiguration>> {
        let sql = match page.end {
            // sync_configurations_pair (source, target)
            ConfigEnd::Source => {
                "SELECT body FROM sync_configurations WHERE source_tenant_id = ?1 AND target_tenant_id > ?2 ORDER BY target_tenant_id LIMIT ?3"
            }
            // sync_configurations_target (target, source)
            ConfigEnd::Target => {
                "SELECT body FROM sync_configurations WHERE target_tenant_id = ?1 AND source_tenant_id > ?2 ORDER BY source_tenant_id LIMIT ?3"
            }
        };
        let after = page.after.map_or(START, |a| *a.as_bytes());
        let bodies = self.read_in(page.tenant, |c| {
            let mut stmt = c.prepare_cached(sql)?;
            let rows = stmt.query_map(params![page.tenant.as_bytes(), after, page.limit], |r| r.get::<_, String>(0))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        bodies.iter().map(|b| serde_json::from_str(b).map_err(|e| StoreError::Internal { message: format!("sync configuration: {e}") })).collect()
    }

    pub(crate) fn count_sync_configurations_at_impl(&self, tenant: TenantId, end: ConfigEnd) -> Result<u64> {
        let sql = match end {
            ConfigEnd::Source => "SELECT count(*) FROM sync_configurations WHERE source_tenant_id = ?1",
            ConfigEnd::Target => "SELECT count(*) FROM sync_configurations WHERE target_tenant_id = ?1",
        };
        self.read_in(tenant, |c| c.prepare_cached(sql)?.query_row([tenant.as_bytes()], |r| r.get::<_, i64>(0))).map(|n| u64::try_from(n).unwrap_or(0))
    }
}
