//! The command line, as clap reads it: the global options and the command groups. Each
//! group's own arguments are declared beside its handler in `cmd/<group>.rs`.
use crate::cmd::{access, backup, changes, connector, demo, expr, group, import, migrate, partner, purge, serve, sync, tenant, token, topology, user};
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// tenantsync keeps identities in sync across tenants.
#[derive(Debug, Parser)]
#[command(name = "tenantsync", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Where the data lives (an SQLite database is created there).
    #[arg(long, global = true, env = "TENANTSYNC_DATA_DIR", default_value = "./tenantsync-data")]
    pub data_dir: PathBuf,

    /// A PostgreSQL database to use instead of the data directory
    /// (`postgres://user:password@host:port/db`): several `serve` workers may share it.
    #[arg(long, global = true, env = "TENANTSYNC_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Print JSON instead of text: one document per command (`changes --follow`: one line per change).
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create, list and show tenants.
    #[command(subcommand)]
    Tenant(tenant::TenantCmd),
    /// Create, change, delete, restore, list and show users.
    #[command(subcommand)]
    User(user::UserCmd),
    /// Create, change, delete, restore, list and show groups, and their members.
    #[command(subcommand)]
    Group(group::GroupCmd),
    /// Import users in bulk from CSV or JSON Lines.
    #[command(subcommand)]
    Import(import::ImportCmd),
    /// Show a tenant's change feed.
    Changes(changes::ChangesArgs),
    /// Hard-delete objects soft-deleted longer ago than their tenant's retention.
    Purge(purge::PurgeArgs),
    /// Create the tenants of the seed topologies and fill them with generated users.
    Demo(demo::DemoArgs),
    /// Set and show cross-tenant access settings (who may sync into a tenant).
    #[command(subcommand)]
    Partner(partner::PartnerCmd),
    /// Create, list, show, delete, assign and run sync configurations.
    #[command(subcommand)]
    Sync(sync::SyncCmd),
    /// Evaluate, check and list attribute-mapping expressions (no data directory needed).
    #[command(subcommand)]
    Expr(expr::ExprCmd),
    /// Serve every tenant over SCIM 2.0 at /scim/v2/{tenant}/.
    Serve(serve::ServeArgs),
    /// Create, list and revoke the bearer tokens of a tenant's SCIM endpoint.
    #[command(subcommand)]
    Token(token::TokenCmd),
    /// Copy the data directory to a backup file while it is in use (serve may run).
    Backup(backup::BackupArgs),
    /// Restore a backup file into an empty data directory.
    Restore(backup::RestoreArgs),
    /// Copy everything a store holds into an empty one: SQLite data directory to PostgreSQL, or back (verified).
    Migrate(migrate::MigrateArgs),
    /// Just-in-time access: connected organizations, access packages, policies, requests and approvals.
    #[command(subcommand)]
    Access(access::AccessCmd),
    /// Connectors: export a tenant to an external system (a SCIM 2.0 service).
    #[command(subcommand)]
    Connector(connector::ConnectorCmd),
    /// Show what `apply` would change to make the store match a topology file, and what each new or changed arrow's next cycle would do (exit 2: changes pending).
    Plan(topology::PlanArgs),
    /// Make the store match a topology file: tenants, access settings and sync arrows, only what differs.
    Apply(topology::ApplyArgs),
    /// Write the store's topology as a topology file.
    Export(topology::ExportArgs),
    /// The topology: its file's JSON Schema, who syncs to whom, and drawings.
    #[command(subcommand)]
    Topology(topology::TopologyCmd),
}
