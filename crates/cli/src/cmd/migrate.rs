//! `tenantsync migrate --from SRC --to DST`: copies everything a store holds into an empty
//! one, SQLite data directory to PostgreSQL database or back (either side may be either).
//! The work is `tenantsync_store::migrate::copy`: the tables a page at a time, into one
//! transaction of the destination that commits only once every table's row count and
//! every tenant's change head match the source's.
use crate::failure::{Context, Failure};
use clap::Args;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use tenantsync_store::DumpStore;
use tenantsync_store::migrate::{CopyReport, PAGE, copy};
use tenantsync_store_postgres::PgStore;
use tenantsync_store_sqlite::SqliteStore;

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// What to copy: an SQLite data directory, or a PostgreSQL URL (`postgres://…`).
    #[arg(long, value_name = "SRC")]
    pub from: String,
    /// Where to copy it, empty: a data directory (created if missing) or a PostgreSQL URL.
    #[arg(long, value_name = "DST")]
    pub to: String,
}

/// One side of a migration.
enum Side {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Side {
    fn parse(text: &str) -> Side {
        let lower = text.to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") { Side::Postgres(text.to_owned()) } else { Side::Sqlite(PathBuf::from(text)) }
    }

    /// How messages name it: a PostgreSQL URL without its password.
    fn name(&self) -> String {
        match self {
            Side::Sqlite(dir) => dir.display().to_string(),
            Side::Postgres(url) => tenantsync_store_postgres::redact(url),
        }
    }

    async fn open(&self) -> Result<Arc<dyn DumpStore>, Failure> {
        Ok(match self {
            Side::Sqlite(dir) => Arc::new(SqliteStore::open(dir).about(|| format!("data directory '{}'", dir.display()))?),
            Side::Postgres(url) => Arc::new(PgStore::open(url).await.about(|| format!("database '{}'", self.name()))?),
        })
    }
}

pub async fn run(json: bool, args: MigrateArgs) -> Result<(), Failure> {
    let started = Instant::now();
    let (from, to) = (Side::parse(&args.from), Side::parse(&args.to));
    let (from_name, to_name) = (from.name(), to.name());
    if let (Side::Sqlite(a), Side::Sqlite(b)) = (&from, &to)
        && a == b
    {
        return Err(Failure::cli("--to", "is the same data directory as --from", crate::failure::CliCode::InvalidArgument));
    }
    let source = from.open().await?;
    let destination = to.open().await?;
    let report = copy(source.as_ref(), destination.as_ref(), &to_name, PAGE).await.about(|| format!("migrate from '{from_name}' to '{to_name}'"))?;
    print(&report, json, started, &from_name, &to_name);
    Ok(())
}

fn print(r: &CopyReport, json: bool, started: Instant, from: &str, to: &str) {
    let seconds = started.elapsed().as_secs_f64();
    if json {
        crate::output::json(&serde_json::json!({
            "from": from,
            "to": to,
            "verified": true,
            "tables": r.tables.iter().map(|t| serde_json::json!({
                "table": t.table.as_str(),
                "source": t.source,
                "destination": t.destination,
            })).collect::<Vec<_>>(),
            "changeHeads": r.heads.iter().map(|h| serde_json::json!({
                "tenant": h.tenant.to_string(),
                "source": h.source,
                "destination": h.destination,
            })).collect::<Vec<_>>(),
            "seconds": seconds,
        }));
        return;
    }
    let rows: u64 = r.tables.iter().map(|t| t.destination).sum();
    crate::output::line(format_args!("migrated {from} to {to}: {rows} rows, {} tenants, verified ({seconds:.1}s)", r.heads.len()));
    for t in &r.tables {
        crate::output::line(format_args!("  {:<20} {:>10} = {}", t.table.as_str(), t.source, t.destination));
    }
    for h in &r.heads {
        crate::output::line(format_args!("  change head of {}  {} = {}", h.tenant, h.source, h.destination));
    }
}
