//! `tenantsync partner`: a tenant's cross-tenant access settings (who may sync into it).
use super::{Ctx, lookup};
use crate::failure::{Context, Failure};
use crate::output;
use clap::Subcommand;
use serde::Serialize;
use tenantsync_domain::{PartnerSettings, Tenant, TenantId};

#[derive(Debug, Subcommand)]
pub enum PartnerCmd {
    /// Set a tenant's cross-tenant access settings towards a partner (or its defaults).
    Set {
        /// The tenant whose settings these are (id or initial domain).
        #[arg(long, short)]
        tenant: String,
        /// The partner tenant; without it, the defaults for partners without settings of their own.
        #[arg(long)]
        partner: Option<String>,
        /// Allow the partner to sync users into this tenant.
        #[arg(long, value_name = "BOOL")]
        inbound_sync: Option<bool>,
        /// Allow the partner to sync groups into this tenant.
        #[arg(long, value_name = "BOOL")]
        inbound_group_sync: Option<bool>,
        /// Redeem the partner's invitations automatically.
        #[arg(long, value_name = "BOOL")]
        inbound_auto_redeem: Option<bool>,
        /// Have this tenant's users' invitations redeemed automatically in the partner.
        #[arg(long, value_name = "BOOL")]
        outbound_auto_redeem: Option<bool>,
    },
    /// Show the settings in effect towards a partner (or the defaults), and where each comes from.
    Show {
        /// The tenant whose settings these are (id or initial domain).
        #[arg(long, short)]
        tenant: String,
        /// The partner tenant; without it, the defaults for partners without settings of their own.
        #[arg(long)]
        partner: Option<String>,
    },
    /// List the partners a tenant has settings for, with the settings in effect, and its defaults.
    List {
        /// The tenant whose settings these are (id or initial domain).
        #[arg(long, short)]
        tenant: String,
    },
}

/// Where a value in effect comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
enum Source {
    /// Set towards this partner.
    Partner,
    /// The tenant's default for partners without settings of their own.
    Default,
    /// Set nowhere: `false`.
    Unset,
}

/// One setting in effect.
#[derive(Debug, Clone, Copy, Serialize)]
struct Effective {
    value: bool,
    from: Source,
}

fn effective(own: Option<bool>, default: Option<bool>, partner: bool) -> Effective {
    match (own, default) {
        (Some(v), _) if partner => Effective { value: v, from: Source::Partner },
        (Some(v), _) | (None, Some(v)) => Effective { value: v, from: Source::Default },
        (None, None) => Effective { value: false, from: Source::Unset },
    }
}

/// The settings in effect: the partner's own (`own`, for a partner) over the defaults.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct View {
    tenant: String,
    /// `null` for the defaults.
    partner: Option<String>,
    inbound_user_sync: Effective,
    inbound_group_sync: Effective,
    inbound_auto_redeem: Effective,
    outbound_auto_redeem: Effective,
}

impl View {
    fn new(tenant: &Tenant, partner: Option<&Tenant>, own: PartnerSettings, defaults: PartnerSettings) -> View {
        let p = partner.is_some();
        View {
            tenant: tenant.initial_domain.to_string(),
            partner: partner.map(|t| t.initial_domain.to_string()),
            inbound_user_sync: effective(own.inbound_user_sync, defaults.inbound_user_sync, p),
            inbound_group_sync: effective(own.inbound_group_sync, defaults.inbound_group_sync, p),
            inbound_auto_redeem: effective(own.inbound_auto_redeem, defaults.inbound_auto_redeem, p),
            outbound_auto_redeem: effective(own.outbound_auto_redeem, defaults.outbound_auto_redeem, p),
        }
    }

    fn rows(&self) -> [(&'static str, Effective); 4] {
        [
            ("inboundUserSync", self.inbound_user_sync),
            ("inboundGroupSync", self.inbound_group_sync),
            ("inboundAutoRedeem", self.inbound_auto_redeem),
            ("outboundAutoRedeem", self.outbound_auto_redeem),
        ]
    }

    /// One value as a cell: `true`, `false (default)`, `false (unset)`.
    fn cell(e: Effective) -> String {
        match e.from {
            Source::Partner => e.value.to_string(),
            Source::Default => format!("{} (default)", e.value),
            Source::Unset => format!("{} (unset)", e.value),
        }
    }

    fn print(&self, ctx: &Ctx) {
        if ctx.json {
            output::json(self);
            return;
        }
        let towards = self.partner.as_ref().map_or_else(|| "its defaults for partners without settings of their own".to_owned(), |p| format!("towards {p}"));
        let mut rows = vec![("settings of".to_owned(), format!("{} {towards}", self.tenant))];
        rows.extend(self.rows().into_iter().map(|(k, e)| (k.to_owned(), Self::cell(e))));
        output::pairs(&rows);
    }
}

/// The settings of `t` towards `p` (none: the defaults), in effect.
async fn view(ctx: &Ctx, t: &Tenant, p: Option<&Tenant>) -> Result<View, Failure> {
    let subject = || format!("tenant '{}'", t.initial_domain);
    let defaults = ctx.sync.partner_settings(t.id, None).await.about(subject)?;
    let own = match p {
        Some(p) => ctx.sync.partner_settings(t.id, Some(p.id)).await.about(subject)?,
        None => defaults,
    };
    Ok(View::new(t, p, own, defaults))
}

pub async fn run(ctx: &Ctx, cmd: PartnerCmd) -> Result<(), Failure> {
    match cmd {
        PartnerCmd::Set { tenant, partner, inbound_sync, inbound_group_sync, inbound_auto_redeem, outbound_auto_redeem } => {
            let (t, p) = tenants(ctx, &tenant, partner.as_deref()).await?;
            let subject = || format!("tenant '{tenant}'");
            let pid: Option<TenantId> = p.as_ref().map(|p| p.id);
            let mut s = ctx.sync.partner_settings(t.id, pid).await.about(subject)?;
            s.inbound_user_sync = inbound_sync.or(s.inbound_user_sync);
            s.inbound_group_sync = inbound_group_sync.or(s.inbound_group_sync);
            s.inbound_auto_redeem = inbound_auto_redeem.or(s.inbound_auto_redeem);
            s.outbound_auto_redeem = outbound_auto_redeem.or(s.outbound_auto_redeem);
            ctx.sync.set_partner_settings(t.id, pid, s).await.about(subject)?;
            view(ctx, &t, p.as_ref()).await?.print(ctx);
        }
        PartnerCmd::Show { tenant, partner } => {
            let (t, p) = tenants(ctx, &tenant, partner.as_deref()).await?;
            view(ctx, &t, p.as_ref()).await?.print(ctx);
        }
        PartnerCmd::List { tenant } => {
            let t = lookup::tenant(ctx.store.as_ref(), &tenant).await?;
            let mut views = vec![view(ctx, &t, None).await?];
            for p in ctx.store.list_tenants().await.about(String::new)? {
                if p.id == t.id {
                    continue;
                }
                let own = ctx.sync.partner_settings(t.id, Some(p.id)).await.about(|| format!("tenant '{tenant}'"))?;
                if own != PartnerSettings::default() {
                    views.push(view(ctx, &t, Some(&p)).await?);
                }
            }
            if ctx.json {
                output::json(&views);
            } else {
                let rows: Vec<Vec<String>> = views
                    .iter()
                    .map(|v| {
                        let mut row = vec![v.partner.clone().unwrap_or_else(|| "(defaults)".into())];
                        row.extend(v.rows().into_iter().map(|(_, e)| View::cell(e)));
                        row
                    })
                    .collect();
                output::table(&["PARTNER", "INBOUND USER SYNC", "INBOUND GROUP SYNC", "INBOUND AUTO-REDEEM", "OUTBOUND AUTO-REDEEM"], &rows);
            }
        }
    }
    Ok(())
}

/// The tenant whose settings these are, and the partner they are towards (none: the
/// defaults).
async fn tenants(ctx: &Ctx, tenant: &str, partner: Option<&str>) -> Result<(Tenant, Option<Tenant>), Failure> {
    let t = lookup::tenant(ctx.store.as_ref(), tenant).await?;
    let p = match partner {
        Some(p) => Some(lookup::tenant(ctx.store.as_ref(), p).await?),
        None => None,
    };
    Ok((t, p))
}
