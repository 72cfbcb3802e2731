use super::Ctx;
use crate::cli::{ChangesArgs, PurgeArgs};
use crate::failure::{Context, Failure};
use crate::output;
use jiff::{SignedDuration, Timestamp};
use tenantsync_domain::{Change, ChangeCursor};

/// How often `--follow` looks for commits made by other processes.
const FOLLOW_RECHECK: std::time::Duration = std::time::Duration::from_millis(500);

fn line(c: &Change) -> String {
    let mut s = format!("{:>8}  {}  {:<12} {:<5} {}", c.seq, c.at, c.op.as_str(), c.object_kind.as_str(), c.object_id);
    if let Some(m) = c.member_id {
        s.push_str(&format!("  member {m}"));
    }
    for a in &c.attributes {
        s.push_str(&format!("  {}: {} -> {}", a.name, a.old, a.new));
    }
    s
}

pub async fn run(ctx: &Ctx, args: ChangesArgs) -> Result<(), Failure> {
    let store = ctx.store.as_ref();
    let t = super::tenant(store, &args.tenant).await?;
    let subject = || format!("tenant '{}'", args.tenant);
    let mut cursor = ChangeCursor(args.from);
    if !args.follow {
        let page = store.changes_since(t.id, cursor, args.limit.max(1)).await.about(subject)?;
        if ctx.json {
            output::json(&serde_json::json!({ "changes": page.changes, "nextCursor": page.next_cursor }));
        } else {
            for c in &page.changes {
                println!("{}", line(c));
            }
            println!("next cursor: {}", page.next_cursor);
        }
        return Ok(());
    }
    // Follow: print as changes commit, waking on the store's notification.
    loop {
        let page = store.changes_since(t.id, cursor, 1000).await.about(subject)?;
        for c in &page.changes {
            if ctx.json {
                println!("{}", serde_json::to_string(c).unwrap_or_default());
            } else {
                println!("{}", line(c));
            }
        }
        cursor = page.next_cursor;
        if page.changes.is_empty() {
            // Commits of this process wake us at once; commits of other processes on
            // the same data directory are seen at the next re-check.
            tokio::select! {
                r = tokio::time::timeout(FOLLOW_RECHECK, store.wait_for_changes(t.id, cursor)) => {
                    if let Ok(r) = r { r.about(subject)?; }
                }
                _ = tokio::signal::ctrl_c() => return Ok(()),
            }
        }
    }
}

pub async fn purge(ctx: &Ctx, args: PurgeArgs) -> Result<(), Failure> {
    let store = ctx.store.as_ref();
    let tenants = match &args.tenant {
        Some(t) => vec![super::tenant(store, t).await?],
        None => store.list_tenants().await.about(String::new)?,
    };
    for t in tenants {
        let retention = SignedDuration::from_hours(24 * i64::from(t.soft_delete_retention_days));
        let cutoff = Timestamp::now().checked_sub(retention).unwrap_or(Timestamp::MIN);
        let n = store.purge_deleted(t.id, cutoff).await.about(|| format!("tenant '{}'", t.initial_domain))?;
        if ctx.json {
            println!("{}", serde_json::json!({"tenant": t.initial_domain, "purged": n}));
        } else {
            println!("{}: purged {n} objects deleted before {cutoff}", t.initial_domain);
        }
    }
    Ok(())
}
