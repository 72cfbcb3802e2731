//! `tenantsync backup` and `tenantsync restore`: a consistent copy of the data directory
//! taken while `serve` and other writers go on, and its restore into an empty data
//! directory (the work is `tenantsync_store_sqlite::{backup, restore}`; docs/storage.md).
use crate::failure::{Context, Failure};
use clap::Args;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tenantsync_store_sqlite::{Copied, SqliteStore};

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The backup file to write (not replaced unless --force).
    pub file: PathBuf,
    /// Replace FILE if it exists (at once, when the new copy is complete).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// A file written by `tenantsync backup`.
    pub file: PathBuf,
}

pub fn backup(data_dir: &Path, json: bool, args: BackupArgs) -> Result<(), Failure> {
    let started = Instant::now();
    let copied = tenantsync_store_sqlite::backup(data_dir, &args.file, args.force).about(|| format!("backup of '{}'", data_dir.display()))?;
    report(&copied, json, started, "backed up", data_dir, &args.file);
    Ok(())
}

pub fn restore(data_dir: &Path, json: bool, args: RestoreArgs) -> Result<(), Failure> {
    let started = Instant::now();
    let copied = tenantsync_store_sqlite::restore(&args.file, data_dir).about(|| format!("restore of '{}'", args.file.display()))?;
    // Opens as every command will: the restored directory is ready to use.
    let store = SqliteStore::open(data_dir).about(|| format!("data directory '{}'", data_dir.display()))?;
    drop(store);
    report(&copied, json, started, "restored", &args.file, data_dir);
    Ok(())
}

fn report(c: &Copied, json: bool, started: Instant, done: &str, from: &Path, to: &Path) {
    let users: u64 = c.tenants.iter().map(|t| t.users).sum();
    let groups: u64 = c.tenants.iter().map(|t| t.groups).sum();
    let seconds = started.elapsed().as_secs_f64();
    if json {
        crate::output::json(&serde_json::json!({
            "from": from.display().to_string(),
            "to": to.display().to_string(),
            "file": c.file.display().to_string(),
            "bytes": c.bytes,
            "schemaVersion": c.schema_version,
            "users": users,
            "groups": groups,
            "tenants": c.tenants.iter().map(|t| serde_json::json!({
                "id": t.id.to_string(),
                "initialDomain": t.initial_domain,
                "users": t.users,
                "groups": t.groups,
                "changeHead": t.change_head,
            })).collect::<Vec<_>>(),
            "seconds": seconds,
        }));
        return;
    }
    crate::output::line(format_args!(
        "{done} {} to {}: {} tenants, {users} users, {groups} groups ({:.1} MiB in {seconds:.1}s)",
        from.display(),
        to.display(),
        c.tenants.len(),
        c.bytes as f64 / (1024.0 * 1024.0)
    ));
    for t in &c.tenants {
        let changes = if t.change_head == 0 { "no changes".to_owned() } else { format!("changes 1..{}", t.change_head) };
        crate::output::line(format_args!("  {}  {} users  {} groups  {changes}", t.initial_domain, t.users, t.groups));
    }
}
