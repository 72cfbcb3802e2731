//! `tenantsync changes`: a tenant's change feed, a page of it or followed as it grows.
use super::args::number;
use super::{Ctx, lookup};
use crate::failure::{Context, Failure};
use crate::output;
use crate::output::out;
use clap::Args;
use tenantsync_domain::{Change, ChangeCursor};

#[derive(Debug, Args)]
pub struct ChangesArgs {
    /// Tenant id or initial domain.
    #[arg(long, short)]
    pub tenant: String,
    /// Show changes after this cursor (0: from the start).
    #[arg(long, value_name = "CURSOR", allow_negative_numbers = true, value_parser = number::<u64, 0>, default_value_t = 0)]
    pub from: u64,
    /// At most this many changes.
    #[arg(long, value_parser = number::<u32, 1>, default_value_t = 100)]
    pub limit: u32,
    /// Keep waiting for new changes and print them as they commit (Ctrl-C ends).
    #[arg(long)]
    pub follow: bool,
}

/// How often `--follow` looks for commits made by other processes.
const FOLLOW_RECHECK: std::time::Duration = std::time::Duration::from_millis(500);

fn line(c: &Change) -> String {
    let mut s = format!("{:>8}  {}  {:<12} {:<5} {}", c.seq, output::time(c.at), c.op.as_str(), c.object_kind.as_str(), c.object_id);
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
    let t = lookup::tenant(store, &args.tenant).await?;
    let subject = || format!("tenant '{}'", args.tenant);
    let mut cursor = ChangeCursor(args.from);
    if !args.follow {
        let page = store.changes_since(t.id, cursor, args.limit).await.about(subject)?;
        if ctx.json {
            output::json(&serde_json::json!({ "changes": page.changes, "nextCursor": page.next_cursor }));
        } else {
            for c in &page.changes {
                out!("{}", line(c));
            }
            out!("next cursor: {}", page.next_cursor);
        }
        return Ok(());
    }
    // Follow: print as changes commit, waking on the store's notification.
    loop {
        let page = store.changes_since(t.id, cursor, 1000).await.about(subject)?;
        for c in &page.changes {
            if ctx.json {
                output::json_line(c);
            } else {
                out!("{}", line(c));
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
