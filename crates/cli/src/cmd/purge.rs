//! `tenantsync purge`: hard-deletes what was soft-deleted longer ago than its tenant keeps it.
use super::{Ctx, lookup};
use crate::failure::{Context, Failure};
use crate::output::{self, out};
use clap::Args;
use jiff::{SignedDuration, Timestamp};

#[derive(Debug, Args)]
pub struct PurgeArgs {
    /// Only this tenant (default: all).
    #[arg(long, short)]
    pub tenant: Option<String>,
}

pub async fn run(ctx: &Ctx, args: PurgeArgs) -> Result<(), Failure> {
    let store = ctx.store.as_ref();
    let tenants = match &args.tenant {
        Some(t) => vec![lookup::tenant(store, t).await?],
        None => store.list_tenants().await.about(String::new)?,
    };
    let mut purged = Vec::new();
    for t in tenants {
        let retention = SignedDuration::from_hours(24 * i64::from(t.soft_delete_retention_days));
        let cutoff = store.clock().now().checked_sub(retention).unwrap_or(Timestamp::MIN);
        let n = store.purge_deleted(t.id, cutoff).await.about(|| format!("tenant '{}'", t.initial_domain))?;
        purged.push((t.initial_domain.to_string(), n, cutoff));
    }
    if ctx.json {
        let list: Vec<_> = purged.iter().map(|(t, n, cutoff)| serde_json::json!({ "tenant": t, "purged": n, "deletedBefore": cutoff })).collect();
        output::json(&list);
    } else {
        for (t, n, cutoff) in &purged {
            out!("{t}: purged {n} objects deleted before {}", output::time(*cutoff));
        }
    }
    Ok(())
}
