//! `tenantsync tenant`: create, list, show and change tenants.
use super::args::number;
use super::{Ctx, lookup};
use crate::failure::{Context, Failure};
use crate::output;
use clap::Subcommand;
use serde::Serialize;
use tenantsync_domain::{NewTenant, Tenant};
use tenantsync_store::Visibility;

#[derive(Debug, Subcommand)]
pub enum TenantCmd {
    /// Create a tenant.
    Create {
        /// Display name, e.g. "Contoso".
        #[arg(long)]
        name: String,
        /// Initial domain, unique among tenants, e.g. contoso.example.
        #[arg(long, allow_hyphen_values = true)]
        domain: String,
        /// Days soft-deleted objects are kept before a purge removes them.
        #[arg(long, value_name = "DAYS", allow_negative_numbers = true, value_parser = number::<u32, 0>,
              default_value_t = tenantsync_domain::DEFAULT_SOFT_DELETE_RETENTION_DAYS)]
        retention_days: u32,
    },
    /// List tenants.
    List,
    /// Show one tenant, with counts.
    Show {
        /// Tenant id or initial domain.
        tenant: String,
    },
    /// Change a tenant's settings.
    Update {
        /// Tenant id or initial domain.
        tenant: String,
        /// Days soft-deleted objects are kept before a purge removes them.
        #[arg(long, value_name = "DAYS", allow_negative_numbers = true, value_parser = number::<u32, 0>)]
        retention_days: u32,
    },
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TenantView {
    #[serde(flatten)]
    tenant: Tenant,
    user_count: u64,
    deleted_user_count: u64,
    change_head: u64,
}

pub async fn run(ctx: &Ctx, cmd: TenantCmd) -> Result<(), Failure> {
    let store = ctx.store.as_ref();
    match cmd {
        TenantCmd::Create { name, domain, retention_days } => {
            let new = NewTenant::new(&name, &domain).about(|| format!("tenant '{domain}'"))?.with_retention_days(retention_days);
            let t = store.create_tenant(new).await.about(|| format!("tenant '{domain}'"))?;
            ctx.done(&t, || format!("created tenant {} ({}) {}", t.display_name, t.initial_domain, t.id));
        }
        TenantCmd::List => {
            let tenants = store.list_tenants().await.about(String::new)?;
            if ctx.json {
                output::json(&tenants);
            } else {
                let rows: Vec<Vec<String>> = tenants.iter().map(|t| vec![t.id.to_string(), t.initial_domain.to_string(), t.display_name.clone()]).collect();
                output::table(&["ID", "INITIAL DOMAIN", "NAME"], &rows);
            }
        }
        TenantCmd::Show { tenant } => {
            let t = lookup::tenant(store, &tenant).await?;
            let subject = || format!("tenant '{tenant}'");
            let view = TenantView {
                user_count: store.count_users(t.id, Visibility::Active).await.about(subject)?,
                deleted_user_count: store.count_users(t.id, Visibility::Deleted).await.about(subject)?,
                change_head: store.change_head(t.id).await.about(subject)?.0,
                tenant: t,
            };
            ctx.show(&view);
        }
        TenantCmd::Update { tenant, retention_days } => {
            let t = lookup::tenant(store, &tenant).await?;
            let t = store.set_tenant_retention(t.id, retention_days).await.about(|| format!("tenant '{tenant}'"))?;
            ctx.show(&t);
        }
    }
    Ok(())
}
