//! The command line, as clap reads it.
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// tenantsync keeps identities in sync across tenants.
#[derive(Debug, Parser)]
#[command(name = "tenantsync", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Where the data lives (an SQLite database is created there).
    #[arg(long, global = true, env = "TENANTSYNC_DATA_DIR", default_value = "./tenantsync-data")]
    pub data_dir: PathBuf,

    /// Print JSON instead of text (list and show commands).
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create, list and show tenants.
    #[command(subcommand)]
    Tenant(TenantCmd),
    /// Create, change, delete, restore, list and show users.
    #[command(subcommand)]
    User(UserCmd),
    /// Create, change, delete, restore, list and show groups, and their members.
    #[command(subcommand)]
    Group(GroupCmd),
    /// Import users in bulk from CSV or JSON Lines.
    #[command(subcommand)]
    Import(ImportCmd),
    /// Show a tenant's change feed.
    Changes(ChangesArgs),
    /// Hard-delete objects soft-deleted longer ago than their tenant's retention.
    Purge(PurgeArgs),
    /// Create the tenants of the seed topologies and fill them with generated users.
    Demo(DemoArgs),
    /// Set and show cross-tenant access settings (who may sync into a tenant).
    #[command(subcommand)]
    Partner(crate::cmd::sync::PartnerCmd),
    /// Create, list, show, delete, assign and run sync configurations.
    #[command(subcommand)]
    Sync(crate::cmd::sync::SyncCmd),
    /// Evaluate, check and list attribute-mapping expressions (no data directory needed).
    #[command(subcommand)]
    Expr(ExprCmd),
    /// Serve every tenant over SCIM 2.0 at /scim/v2/{tenant}/.
    Serve(crate::cmd::serve::ServeArgs),
    /// Create, list and revoke the bearer tokens of a tenant's SCIM endpoint.
    #[command(subcommand)]
    Token(crate::cmd::token::TokenCmd),
}

#[derive(Debug, Subcommand)]
pub enum TenantCmd {
    /// Create a tenant.
    Create {
        /// Display name, e.g. "Contoso".
        #[arg(long)]
        name: String,
        /// Initial domain, unique among tenants, e.g. contoso.example.
        #[arg(long)]
        domain: String,
        /// Days soft-deleted objects are kept before a purge removes them.
        #[arg(long, default_value_t = tenantsync_domain::DEFAULT_SOFT_DELETE_RETENTION_DAYS)]
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
        tenant: String,
        #[arg(long)]
        retention_days: u32,
    },
}

/// Which objects a listing shows.
#[derive(Debug, Clone, Copy, ValueEnum, Default)]
pub enum Show {
    #[default]
    Active,
    Deleted,
    All,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Tenant id or initial domain.
    #[arg(long, short)]
    pub tenant: String,
    /// Active objects (default), only soft-deleted ones, or all.
    #[arg(long, value_enum, default_value_t = Show::Active)]
    pub show: Show,
    /// At most this many.
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
    /// Start after this object id (the `next` of the previous page).
    #[arg(long)]
    pub after: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum UserCmd {
    /// Create a user.
    Create {
        #[arg(long, short)]
        tenant: String,
        #[arg(long)]
        upn: String,
        /// NAME=VALUE, repeatable; a repeated extension name makes a multi-valued attribute.
        #[arg(long = "set", value_name = "NAME=VALUE")]
        set: Vec<String>,
        /// Manager: object id or userPrincipalName.
        #[arg(long)]
        manager: Option<String>,
        /// Makes the user external: <source tenant id>:<source object id>.
        #[arg(long)]
        anchor: Option<String>,
    },
    /// Change a user's attributes (an empty VALUE clears one).
    Update {
        #[arg(long, short)]
        tenant: String,
        /// Object id or userPrincipalName.
        user: String,
        #[arg(long = "set", value_name = "NAME=VALUE")]
        set: Vec<String>,
        /// Only if the user still has this version (its ETag).
        #[arg(long)]
        if_match: Option<u64>,
    },
    /// Soft-delete a user (or hard-delete with --hard).
    Delete {
        #[arg(long, short)]
        tenant: String,
        user: String,
        /// Delete for good, at once.
        #[arg(long)]
        hard: bool,
        #[arg(long)]
        if_match: Option<u64>,
    },
    /// Restore a soft-deleted user.
    Restore {
        #[arg(long, short)]
        tenant: String,
        user: String,
        #[arg(long)]
        if_match: Option<u64>,
    },
    /// List users.
    List(ListArgs),
    /// Show one user.
    Show {
        #[arg(long, short)]
        tenant: String,
        user: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum GroupCmd {
    /// Create a security group.
    Create {
        #[arg(long, short)]
        tenant: String,
        #[arg(long)]
        name: String,
        #[arg(long = "set", value_name = "NAME=VALUE")]
        set: Vec<String>,
        #[arg(long)]
        anchor: Option<String>,
    },
    /// Change a group's attributes.
    Update {
        #[arg(long, short)]
        tenant: String,
        group: String,
        #[arg(long = "set", value_name = "NAME=VALUE")]
        set: Vec<String>,
        #[arg(long)]
        if_match: Option<u64>,
    },
    /// Soft-delete a group (or hard-delete with --hard).
    Delete {
        #[arg(long, short)]
        tenant: String,
        group: String,
        #[arg(long)]
        hard: bool,
        #[arg(long)]
        if_match: Option<u64>,
    },
    /// Restore a soft-deleted group.
    Restore {
        #[arg(long, short)]
        tenant: String,
        group: String,
        #[arg(long)]
        if_match: Option<u64>,
    },
    /// List groups.
    List(ListArgs),
    /// Show one group.
    Show {
        #[arg(long, short)]
        tenant: String,
        group: String,
    },
    /// Add a user to a group.
    AddMember {
        #[arg(long, short)]
        tenant: String,
        group: String,
        /// Object id or userPrincipalName.
        user: String,
    },
    /// Remove a user from a group.
    RemoveMember {
        #[arg(long, short)]
        tenant: String,
        group: String,
        user: String,
    },
    /// List a group's direct members.
    Members {
        #[arg(long, short)]
        tenant: String,
        group: String,
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[arg(long)]
        after: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Csv,
    Jsonl,
}

#[derive(Debug, Subcommand)]
pub enum ImportCmd {
    /// Import users from a CSV or JSON Lines file (column or key names = attribute names).
    Users {
        #[arg(long, short)]
        tenant: String,
        file: PathBuf,
        /// The file's format; by default guessed from its name (.csv, .jsonl, .ndjson).
        #[arg(long, value_enum)]
        format: Option<FormatArg>,
        /// Commit every N rows instead of the whole file at once (see docs/cli.md).
        #[arg(long)]
        batch_size: Option<usize>,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
}

#[derive(Debug, Args)]
pub struct ChangesArgs {
    #[arg(long, short)]
    pub tenant: String,
    /// Show changes after this cursor (0: from the start).
    #[arg(long, default_value_t = 0)]
    pub from: u64,
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
    /// Keep waiting for new changes and print them as they commit (Ctrl-C ends).
    #[arg(long)]
    pub follow: bool,
}

#[derive(Debug, Args)]
pub struct PurgeArgs {
    /// Only this tenant (default: all).
    #[arg(long, short)]
    pub tenant: Option<String>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Users generated into each tenant that has its own users.
    #[arg(long, default_value_t = 2000)]
    pub users: usize,
}

#[derive(Debug, Subcommand)]
pub enum ExprCmd {
    /// Evaluate an expression against attribute values (absent attributes are NULL).
    Eval {
        /// The expression, e.g. 'ToLower(Join("@", [givenName], "contoso.com"))'.
        expression: String,
        /// NAME=VALUE, repeatable; a repeated name makes a multi-valued attribute.
        #[arg(long = "attr", value_name = "NAME=VALUE")]
        attr: Vec<String>,
        /// A JSON object of attribute name to string, array of strings, or null.
        #[arg(long, value_name = "FILE.json")]
        input: Option<PathBuf>,
    },
    /// Check an expression's syntax, function names and argument counts without evaluating it.
    Check { expression: String },
    /// List the functions with their signatures.
    Functions,
}
