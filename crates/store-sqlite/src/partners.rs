//! Listing and deleting a tenant's settings rows towards its partners (the admin API's
//! `crossTenantAccessPolicy/partners`). The all-zero partner id is the defaults' row.
use crate::SqliteStore;
use crate::rows::sql_err;
use rusqlite::params;
use tenantsync_domain::{PartnerSettings, TenantId};
use tenantsync_store::{JobNotice, Result, StoreError};

const DEFAULTS: [u8; 16] = [0; 16];

impl SqliteStore {
    pub(crate) fn partner_settings_list_impl(&self, tenant: TenantId) -> Result<Vec<(TenantId, PartnerSettings)>> {
        let rows = self.read_in(tenant, |c| {
            let mut stmt =
                c.prepare_cached("SELECT partner_id, settings FROM partner_settings WHERE tenant_id = ?1 AND partner_id <> ?2 ORDER BY partner_id")?;
            let rows = stmt.query_map(params![tenant.as_bytes(), DEFAULTS], |r| Ok((TenantId::from_bytes(r.get(0)?), r.get::<_, String>(1)?)))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        rows.into_iter()
            .map(|(p, s)| serde_json::from_str(&s).map(|s| (p, s)).map_err(|e| StoreError::Internal { message: format!("partner settings: {e}") }))
            .collect()
    }

    pub(crate) async fn delete_partner_settings_impl(&self, tenant: TenantId, partner: TenantId) -> Result<bool> {
        let n = self
            .write(move |conn| {
                conn.execute("DELETE FROM partner_settings WHERE tenant_id = ?1 AND partner_id = ?2", params![tenant.as_bytes(), partner.as_bytes()])
                    .map_err(sql_err)
            })
            .await?;
        if n > 0 {
            self.notify_job(JobNotice::All);
        }
        Ok(n > 0)
    }
}
