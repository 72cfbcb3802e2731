use super::Ctx;
use crate::cli::TenantCmd;
use crate::failure::{Context, Failure};
use crate::output;
use serde::Serialize;
use tenantsync_domain::{NewTenant, Tenant};
use tenantsync_store::Visibility;

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
            if ctx.json {
                output::json(&t);
            } else {
                println!("created tenant {} ({}) {}", t.display_name, t.initial_domain, t.id);
            }
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
            let t = super::tenant(store, &tenant).await?;
            let subject = || format!("tenant '{tenant}'");
            let view = TenantView {
                user_count: store.count_users(t.id, Visibility::Active).await.about(subject)?,
                deleted_user_count: store.count_users(t.id, Visibility::Deleted).await.about(subject)?,
                change_head: store.change_head(t.id).await.about(subject)?.0,
                tenant: t,
            };
            if ctx.json { output::json(&view) } else { output::fields(&view) }
        }
        TenantCmd::Update { tenant, retention_days } => {
            let t = super::tenant(store, &tenant).await?;
            let t = store.set_tenant_retention(t.id, retention_days).await.about(|| format!("tenant '{tenant}'"))?;
            if ctx.json { output::json(&t) } else { output::fields(&t) }
        }
    }
    Ok(())
}
