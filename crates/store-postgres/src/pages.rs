//! A tenant's short lists read a page at a time through an index: its tokens
//! (`(tenant_id, id)`, the key), its partners' settings rows (the key) and the sync
//! configurations at either end of it (`sync_configurations_pair` for those to it,
//! `sync_configurations_source` for those from it). Each page costs the page, however
//! many rows the deployment holds.
use crate::PgStore;
use crate::rows::{self, TOKEN_COLS};
use crate::schema::pg_err;
use tenantsync_domain::{ObjectId, PartnerSettings, SyncConfiguration, TenantId};
use tenantsync_store::{ApiToken, ConfigEnd, ConfigPage, Result, StoreError};
use uuid::Uuid;

fn parse<T: serde::de::DeserializeOwned>(s: &str, what: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Internal { message: format!("{what}: {e}") })
}

fn limit(n: u32) -> i64 {
    i64::from(n)
}

impl PgStore {
    pub(crate) async fn tokens_page_impl(&self, tenant: TenantId, after: Option<ObjectId>, n: u32) -> Result<Vec<ApiToken>> {
        let after = after.map_or(Uuid::nil(), |a| a.0);
        let sql = format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3");
        self.query_in(tenant, &sql, &[&tenant.0, &after, &limit(n)]).await?.iter().map(rows::token).collect()
    }

    pub(crate) async fn partner_settings_page_impl(&self, tenant: TenantId, after: Option<TenantId>, n: u32) -> Result<Vec<(TenantId, PartnerSettings)>> {
        // The nil partner id is the defaults' row: never after anything, so never listed.
        let after = after.map_or(Uuid::nil(), |a| a.0);
        let sql = "SELECT partner_id, settings FROM partner_settings WHERE tenant_id = $1 AND partner_id > $2 ORDER BY partner_id LIMIT $3";
        let found = self.query_in(tenant, sql, &[&tenant.0, &after, &limit(n)]).await?;
        found.iter().map(|r| Ok((TenantId(r.try_get(0).map_err(pg_err)?), parse(r.try_get::<_, &str>(1).map_err(pg_err)?, "partner settings")?))).collect()
    }

    pub(crate) async fn partner_settings_row_impl(&self, tenant: TenantId, partner: TenantId) -> Result<Option<PartnerSettings>> {
        let sql = "SELECT settings FROM partner_settings WHERE tenant_id = $1 AND partner_id = $2 AND partner_id <> $3";
        let found = self.query_in(tenant, sql, &[&tenant.0, &partner.0, &Uuid::nil()]).await?;
        found.first().map(|r| parse(r.try_get::<_, &str>(0).map_err(pg_err)?, "partner settings")).transpose()
    }

    pub(crate) async fn sync_configurations_at_impl(&self, page: ConfigPage) -> Result<Vec<SyncConfiguration>> {
        let sql = match page.end {
            ConfigEnd::Source => "SELECT body FROM sync_configurations WHERE source_tenant_id = $1 AND tenant_id > $2 ORDER BY tenant_id LIMIT $3",
            ConfigEnd::Target => "SELECT body FROM sync_configurations WHERE tenant_id = $1 AND source_tenant_id > $2 ORDER BY source_tenant_id LIMIT $3",
        };
        let after = page.after.map_or(Uuid::nil(), |a| a.0);
        let found = self.query_in(page.tenant, sql, &[&page.tenant.0, &after, &limit(page.limit)]).await?;
        found.iter().map(|r| parse(r.try_get::<_, &str>(0).map_err(pg_err)?, "sync configuration")).collect()
    }

    pub(crate) async fn count_sync_configurations_at_impl(&self, tenant: TenantId, end: ConfigEnd) -> Result<u64> {
        let sql = match end {
            ConfigEnd::Source => "SELECT count(*) FROM sync_configurations WHERE source_tenant_id = $1",
            ConfigEnd::Target => "SELECT count(*) FROM sync_configurations WHERE tenant_id = $1",
        };
        let n: i64 = rows::first(self.query(sql, &[&tenant.0]).await?.first().ok_or_else(|| StoreError::Internal { message: "count without a row".into() })?)?;
        if n == 0 {
            self.check_tenant(tenant).await?;
        }
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
