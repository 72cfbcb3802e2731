//! `tenantsync partner`: a tenant's cross-tenant access settings (who may sync into it).
use super::{Ctx, lookup};
use crate::failure::{Context, Failure};
use clap::Subcommand;
use tenantsync_domain::{Tenant, TenantId};

#[derive(Debug, Subcommand)]
pub enum PartnerCmd {
    /// Set a tenant's cross-tenant access settings towards a partner (or its defaults).
    Set {
        #[arg(long, short)]
        tenant: String,
        /// The partner tenant; without it, the defaults for partners without settings.
        #[arg(long)]
        partner: Option<String>,
        /// Allow the partner to sync users into this tenant.
        #[arg(long)]
        inbound_sync: Option<bool>,
        /// Allow the partner to sync groups into this tenant.
        #[arg(long)]
        inbound_group_sync: Option<bool>,
        /// Redeem the partner's invitations automatically.
        #[arg(long)]
        inbound_auto_redeem: Option<bool>,
        /// Have this tenant's users' invitations redeemed automatically in the partner.
        #[arg(long)]
        outbound_auto_redeem: Option<bool>,
    },
    /// Show the settings (as stored; unset values inherit the defaults).
    Show {
        #[arg(long, short)]
        tenant: String,
        #[arg(long)]
        partner: Option<String>,
    },
}

pub async fn run(ctx: &Ctx, cmd: PartnerCmd) -> Result<(), Failure> {
    match cmd {
        PartnerCmd::Set { tenant, partner, inbound_sync, inbound_group_sync, inbound_auto_redeem, outbound_auto_redeem } => {
            let (t, p) = tenants(ctx, &tenant, partner.as_deref()).await?;
            let subject = || format!("tenant '{tenant}'");
            let mut s = ctx.sync.partner_settings(t.id, p).await.about(subject)?;
            s.inbound_user_sync = inbound_sync.or(s.inbound_user_sync);
            s.inbound_group_sync = inbound_group_sync.or(s.inbound_group_sync);
            s.inbound_auto_redeem = inbound_auto_redeem.or(s.inbound_auto_redeem);
            s.outbound_auto_redeem = outbound_auto_redeem.or(s.outbound_auto_redeem);
            ctx.sync.set_partner_settings(t.id, p, s).await.about(subject)?;
            ctx.show(&s);
        }
        PartnerCmd::Show { tenant, partner } => {
            let (t, p) = tenants(ctx, &tenant, partner.as_deref()).await?;
            let s = ctx.sync.partner_settings(t.id, p).await.about(|| format!("tenant '{tenant}'"))?;
            ctx.show(&s);
        }
    }
    Ok(())
}

/// The tenant whose settings these are, and the partner they are towards (none: the
/// defaults).
async fn tenants(ctx: &Ctx, tenant: &str, partner: Option<&str>) -> Result<(Tenant, Option<TenantId>), Failure> {
    let t = lookup::tenant(ctx.store.as_ref(), tenant).await?;
    let p = match partner {
        Some(p) => Some(lookup::tenant(ctx.store.as_ref(), p).await?.id),
        None => None,
    };
    Ok((t, p))
}
