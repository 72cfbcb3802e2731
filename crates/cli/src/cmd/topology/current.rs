//! The store's topology in the file's terms: tenants by initial domain, users by UPN and
//! groups by display name, with the ids behind them kept for plan and apply.
use crate::cmd::Ctx;
use crate::failure::{Context, Failure};
use std::collections::BTreeMap;
use tenantsync_domain::{Assignment, PartnerSettings, SyncConfiguration, Tenant, TenantId};
use tenantsync_topology::{AccessState, ArrowState, State, TenantState};

/// What the store holds.
pub(crate) struct Current {
    pub state: State,
    /// Tenants by lowercase initial domain.
    pub tenants: BTreeMap<String, Tenant>,
    /// Configurations by (source domain, target domain).
    pub configs: BTreeMap<(String, String), SyncConfiguration>,
    /// Entitlement management's definitions, by label.
    pub defs: tenantsync_topology::stored::Definitions,
}

impl Current {
    pub fn tenant(&self, domain: &str) -> Option<&Tenant> {
        self.tenants.get(domain)
    }

    /// The domain of tenant `id`, if the store has it.
    pub fn tenant_domain(&self, id: TenantId) -> Option<String> {
        self.tenants.values().find(|t| t.id == id).map(domain)
    }

    /// The domain of tenant `id` (its id when it is unknown).
    fn domain(&self, id: TenantId) -> String {
        self.tenants.values().find(|t| t.id == id).map_or_else(|| id.to_string(), domain)
    }
}

pub(crate) use tenantsync_topology::stored::domain;

/// Reads the store's tenants, access settings and configurations.
pub(crate) async fn read(ctx: &Ctx) -> Result<Current, Failure> {
    let all = ctx.store.list_tenants().await.about(String::new)?;
    let tenants: BTreeMap<String, Tenant> = all.into_iter().map(|t| (domain(&t), t)).collect();
    let mut state = State::default();
    for (d, t) in &tenants {
        state.tenants.push(TenantState { name: t.display_name.clone(), domain: d.clone(), retention_days: t.soft_delete_retention_days });
    }
    for (d, t) in &tenants {
        let subject = || format!("tenant '{d}'");
        let defaults = ctx.sync.partner_settings(t.id, None).await.about(subject)?;
        if defaults != PartnerSettings::default() {
            state.access.push(AccessState { tenant: d.clone(), partner: None, settings: defaults });
        }
        for (pd, p) in tenants.iter().filter(|(pd, _)| *pd != d) {
            let own = ctx.sync.partner_settings(t.id, Some(p.id)).await.about(subject)?;
            if own != PartnerSettings::default() {
                state.access.push(AccessState { tenant: d.clone(), partner: Some(pd.clone()), settings: own });
            }
        }
    }
    state.access.sort_by(|a, b| (&a.tenant, &a.partner).cmp(&(&b.tenant, &b.partner)));
    let mut current = Current { state, tenants, configs: BTreeMap::new(), defs: Default::default() };
    let configs = ctx.sync.list_sync_configurations().await.about(String::new)?;
    if let Some(access) = &ctx.access {
        let gov = tenantsync_governance::Governance::new(access.clone());
        let read = tenantsync_topology::stored::read(&gov, &current.tenants, None, &configs).await.map_err(|e| Failure::coded(e.subject, &e.error))?;
        (current.state.organizations, current.state.catalogs, current.state.packages, current.defs) =
            (read.organizations, read.catalogs, read.packages, read.defs);
    }
    for c in configs {
        let (source, target) = (current.domain(c.source_tenant_id), current.domain(c.target_tenant_id));
        let arrow = arrow(ctx, &c, source.clone(), target.clone()).await?;
        current.state.arrows.push(arrow);
        current.configs.insert((source, target), c);
    }
    current.state.arrows.sort_by(|a, b| (&a.source, &a.target).cmp(&(&b.source, &b.target)));
    Ok(current)
}

/// A configuration as an arrow: its assignments by UPN and display name (an object gone
/// from the source by its id).
async fn arrow(ctx: &Ctx, c: &SyncConfiguration, source: String, target: String) -> Result<ArrowState, Failure> {
    let (mut users, mut groups) = (Vec::new(), Vec::new());
    for a in &c.assignments {
        match a {
            Assignment::User(id) => {
                users.push(ctx.store.get_user(c.source_tenant_id, *id).await.map_or_else(|_| id.to_string(), |u| u.attrs.user_principal_name.to_string()))
            }
            Assignment::Group(id) => groups.push(ctx.store.get_group(c.source_tenant_id, *id).await.map_or_else(|_| id.to_string(), |g| g.attrs.display_name)),
        }
    }
    Ok(ArrowState::of(c, source, target, users, groups))
}
