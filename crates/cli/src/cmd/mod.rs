//! The commands.
mod changes;
mod demo;
mod expr;
mod group;
mod import;
pub(crate) mod serve;
pub(crate) mod sync;
mod tenant;
pub(crate) mod token;
mod user;

use crate::cli::{Cli, Command, Show};
use crate::failure::{Context, Failure};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use tenantsync_domain::{AttrValue, DomainName, ObjectId, Tenant, TenantId, Upn};
use tenantsync_store::{Store, SyncStore, Visibility};
use tenantsync_store_sqlite::SqliteStore;

/// What every command gets: the store and the output mode.
#[derive(Debug)]
pub struct Ctx {
    pub store: Arc<dyn Store>,
    /// The same store, seen by the sync engine.
    pub sync: Arc<dyn SyncStore>,
    pub json: bool,
}

pub async fn dispatch(cli: Cli) -> Result<ExitCode, Failure> {
    if let Command::Expr(c) = &cli.command {
        return expr::run(c, cli.json);
    }
    let store = open(&cli.data_dir)?;
    let ctx = Ctx { store: store.clone(), sync: store, json: cli.json };
    match cli.command {
        Command::Tenant(c) => tenant::run(&ctx, c).await,
        Command::User(c) => user::run(&ctx, c).await,
        Command::Group(c) => group::run(&ctx, c).await,
        Command::Import(c) => import::run(&ctx, c).await,
        Command::Changes(a) => changes::run(&ctx, a).await,
        Command::Purge(a) => changes::purge(&ctx, a).await,
        Command::Demo(a) => demo::run(&ctx, a).await,
        Command::Serve(a) => serve::run(&ctx, a).await,
        Command::Token(c) => token::run(&ctx, c).await,
        Command::Partner(c) => sync::partner(&ctx, c).await,
        Command::Sync(c) => sync::run(&ctx, c).await,
        Command::Expr(_) => Ok(()), // handled above: needs no store
    }?;
    Ok(ExitCode::SUCCESS)
}

/// Opens the store of a data directory.
pub fn open(dir: &Path) -> Result<Arc<SqliteStore>, Failure> {
    let store = SqliteStore::open(dir).about(|| format!("data directory '{}'", dir.display()))?;
    Ok(Arc::new(store))
}

/// A tenant named by id or initial domain.
pub async fn tenant(store: &dyn Store, name: &str) -> Result<Tenant, Failure> {
    let subject = || format!("tenant '{name}'");
    if let Ok(id) = name.parse::<TenantId>() {
        return store.get_tenant(id).await.about(subject);
    }
    let domain = DomainName::parse(name).map_err(|_| Failure::new(subject(), "is neither a tenant id nor an initial domain", "tenant_not_found"))?;
    store.find_tenant_by_domain(&domain).await.about(subject)?.ok_or_else(|| Failure::new(subject(), "not found", "tenant_not_found"))
}

/// A user named by object id or userPrincipalName.
pub async fn user_id(store: &dyn Store, tenant: &Tenant, name: &str) -> Result<ObjectId, Failure> {
    let subject = || format!("user '{name}'");
    if let Ok(id) = name.parse::<ObjectId>() {
        return Ok(id);
    }
    let upn = Upn::parse(name).about(subject)?;
    let user = store.find_user_by_upn(tenant.id, &upn).await.about(subject)?;
    user.map(|u| u.id).ok_or_else(|| Failure::new(subject(), format!("not found in tenant '{}'", tenant.initial_domain), "not_found"))
}

/// A group named by object id.
pub fn group_id(name: &str) -> Result<ObjectId, Failure> {
    name.parse::<ObjectId>().about(|| format!("group '{name}'"))
}

/// Reads `--set NAME=VALUE` arguments. An empty value clears the attribute; a name given
/// twice or more makes a list (multi-valued extension attributes).
pub fn pairs(set: &[String]) -> Result<Vec<(String, AttrValue)>, Failure> {
    let mut out: Vec<(String, AttrValue)> = Vec::new();
    for item in set {
        let (name, value) = item.split_once('=').ok_or_else(|| Failure::new(format!("--set '{item}'"), "expected NAME=VALUE", "invalid_argument"))?;
        let name = name.trim().to_owned();
        let value = if value.is_empty() { AttrValue::Null } else { AttrValue::String(value.to_owned()) };
        match out.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(&name)) {
            Some((_, existing)) => {
                let mut list = match std::mem::take(existing) {
                    AttrValue::Strings(v) => v,
                    AttrValue::String(s) => vec![s],
                    _ => Vec::new(),
                };
                if let AttrValue::String(s) = value {
                    list.push(s);
                }
                *existing = AttrValue::Strings(list);
            }
            None => out.push((name, value)),
        }
    }
    Ok(out)
}

pub fn visibility(show: Show) -> Visibility {
    match show {
        Show::Active => Visibility::Active,
        Show::Deleted => Visibility::Deleted,
        Show::All => Visibility::All,
    }
}

pub fn after(after: &Option<String>) -> Result<Option<ObjectId>, Failure> {
    after.as_deref().map(|a| a.parse::<ObjectId>().about(|| format!("--after '{a}'"))).transpose()
}

pub fn opt(s: &Option<String>) -> String {
    s.clone().unwrap_or_default()
}
