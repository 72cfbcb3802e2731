//! The commands: one module per command group, each with its clap arguments and its
//! handler, and the few parts several groups share (naming objects, listing pages,
//! `--set` values, the context every handler gets).
pub(crate) mod access;
pub(crate) mod backup;
pub(crate) mod changes;
pub(crate) mod connector;
pub(crate) mod demo;
pub(crate) mod expr;
pub(crate) mod group;
pub(crate) mod import;
pub(crate) mod migrate;
pub(crate) mod partner;
pub(crate) mod purge;
#[allow(clippy::print_stdout, clippy::print_stderr)] // its owner moves it onto `output`
pub(crate) mod serve;
pub(crate) mod sync;
pub(crate) mod tenant;
pub(crate) mod token;
pub(crate) mod topology;
pub(crate) mod user;

mod args;
mod filter;
mod listing;
mod lookup;
mod object;

use crate::failure::{Context, Failure};
use crate::output;
use crate::output::out;
use serde::Serialize;
use std::path::Path;
use std::sync::Arc;
use tenantsync_store::{Store, SyncStore};
use tenantsync_store_postgres::PgStore;
use tenantsync_store_sqlite::SqliteStore;

/// What every command gets: the store and the output mode.
#[derive(Debug)]
pub struct Ctx {
    pub store: Arc<dyn Store>,
    /// The same store, seen by the sync engine.
    pub sync: Arc<dyn SyncStore>,
    /// The same store, for entitlement management (the stores that have it).
    pub access: Option<Arc<dyn tenantsync_governance::GovernanceStore>>,
    /// The same store, for connectors.
    pub connectors: Arc<dyn tenantsync_connectors::worker::WorkerHost>,
    /// The same store, for the web console's sessions and sign-in codes.
    pub console: Arc<dyn tenantsync_store::ConsoleStore>,
    /// The key file that seals connectors' secrets (unless `TENANTSYNC_SECRET_KEY` holds the key).
    pub secret_key_file: std::path::PathBuf,
    pub json: bool,
}

impl Ctx {
    /// Opens the store: the PostgreSQL database at `database_url` when one is given, else
    /// the SQLite store of the data directory.
    pub async fn open(dir: &Path, database_url: Option<&str>, json: bool) -> Result<Self, Failure> {
        let secret_key_file = std::env::var_os("TENANTSYNC_SECRET_KEY_FILE").map(std::path::PathBuf::from).unwrap_or_else(|| dir.join(".secret-key"));
        if let Some(url) = database_url {
            let store = Arc::new(PgStore::open(url).await.about(|| format!("database '{}'", tenantsync_store_postgres::redact(url)))?);
            return Ok(Self {
                store: store.clone(),
                sync: store.clone(),
                access: Some(store.clone()),
                connectors: store.clone(),
                console: store,
                secret_key_file,
                json,
            });
        }
        let store = Arc::new(SqliteStore::open(dir).about(|| format!("data directory '{}'", dir.display()))?);
        if let Some(warning) = store.permission_warning() {
            output::error(format_args!("warning: {warning}"));
        }
        Ok(Self { store: store.clone(), sync: store.clone(), access: Some(store.clone()), connectors: store.clone(), console: store, secret_key_file, json })
    }

    /// Prints an object: as JSON, or its fields one a line.
    pub fn show<T: Serialize>(&self, value: &T) {
        if self.json { output::json(value) } else { output::fields(value) }
    }

    /// Prints what a command made or changed: as JSON, or the one line `text` makes.
    pub fn done<T: Serialize>(&self, value: &T, text: impl FnOnce() -> String) {
        if self.json { output::json(value) } else { out!("{}", text()) }
    }
}
