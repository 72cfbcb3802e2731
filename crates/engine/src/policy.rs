//! Entra's policy check: the target must allow inbound user sync from the source, and
//! automatic redemption must be on for the source (outbound) and the target (inbound).
use crate::EngineError;
use tenantsync_domain::{PartnerSettings, SyncConfiguration, TenantId};
use tenantsync_store::SyncStore;

async fn effective(store: &dyn SyncStore, tenant: TenantId, partner: TenantId) -> Result<PartnerSettings, EngineError> {
    let own = store.partner_settings(tenant, Some(partner)).await?;
    let defaults = store.partner_settings(tenant, None).await?;
    Ok(own.over(defaults))
}

/// Fails with every unmet condition named.
pub async fn check(store: &dyn SyncStore, config: &SyncConfiguration) -> Result<(), EngineError> {
    let source = effective(store, config.source_tenant_id, config.target_tenant_id).await?;
    let target = effective(store, config.target_tenant_id, config.source_tenant_id).await?;
    let mut missing = Vec::new();
    if source.outbound_auto_redeem != Some(true) {
        missing.push("the source tenant has not enabled automatic user consent (outbound) with the target tenant");
    }
    if target.inbound_user_sync != Some(true) {
        missing.push("the target tenant has not enabled inbound user synchronization from the source tenant");
    }
    if target.inbound_auto_redeem != Some(true) {
        missing.push("the target tenant has not enabled automatic user consent (inbound) from the source tenant");
    }
    if missing.is_empty() { Ok(()) } else { Err(EngineError::PolicyCheck { detail: format!("policy check failed: {}", missing.join("; ")) }) }
}

/// Why the target does not let the source sync groups into it (`groupSyncInbound`), if
/// it does not. Users sync regardless; groups are then skipped with the policy code.
pub async fn group_sync_denied(store: &dyn SyncStore, config: &SyncConfiguration) -> Result<Option<String>, EngineError> {
    let target = effective(store, config.target_tenant_id, config.source_tenant_id).await?;
    Ok(group_sync_denial(target.inbound_group_sync == Some(true)))
}

/// Why groups are not synced, when the target does not allow inbound group sync.
pub fn group_sync_denial(allowed: bool) -> Option<String> {
    (!allowed).then(|| "policy check failed: the target tenant has not enabled inbound group synchronization from the source tenant".to_owned())
}
