//! Connectors at work in `serve`: one task per connector, each holding the connector's
//! lease (one worker at a time exports a connector, whatever the number of processes on
//! the store), running the exporter whenever the tenant's feed moves (event-driven, no
//! polling), when an escrowed object is due, and after a pause's `retryAt`. An import
//! connector runs under the same lease and rules, polling its system every `pollSecs`
//! (the systems it reads tell nothing of their changes).
use crate::definition::{Definition, Direction};
use crate::export::{ExportState, Exporter, Health, Host};
use crate::import::{ImportState, Importer};
use crate::{ConnectorError, SecretKey, connect, open_source};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tenantsync_domain::{ChangeCursor, ObjectId};
use tenantsync_store::{ConnectorStore, SyncStore};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What the worker needs of the store: leases (the sync store's) and connectors.
pub trait WorkerHost: Host + SyncStore {}
impl<T: SyncStore + ConnectorStore + ?Sized> WorkerHost for T {}

/// How often the worker looks for connectors added or removed, and the longest a
/// connector waits between runs when nothing wakes it (escrows come due this way).
const TICK: Duration = Duration::from_secs(5);
const IDLE: Duration = Duration::from_secs(30);

/// Runs every connector of the store until `stop` turns true.
/// The secret key is read from `key_file` (or `TENANTSYNC_SECRET_KEY`) when a connector
/// starts, so a store without connectors never needs one.
pub async fn run(host: Arc<dyn WorkerHost>, key_file: PathBuf, mut stop: watch::Receiver<bool>) {
    let mut tasks: HashMap<ObjectId, JoinHandle<()>> = HashMap::new();
    loop {
        match host.connectors().await {
            Ok(all) => {
                tasks.retain(|_, t| !t.is_finished());
                for c in all {
                    if let std::collections::hash_map::Entry::Vacant(slot) = tasks.entry(c.id) {
                        slot.insert(tokio::spawn(one(host.clone(), key_file.clone(), c.name.clone(), stop.clone())));
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "connectors: cannot list"),
        }
        tokio::select! {
            _ = tokio::time::sleep(TICK) => {}
            _ = stop.changed() => break,
        }
    }
    for (_, t) in tasks {
        let _ = t.await;
    }
}

async fn sleep_or_stop(d: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => false,
        _ = stop.changed() => true,
    }
}

/// One connector's loop; ends when the connector is removed or the worker stops.
async fn one(host: Arc<dyn WorkerHost>, key_file: PathBuf, name: String, mut stop: watch::Receiver<bool>) {
    loop {
        if *stop.borrow() {
            return;
        }
        let record = match host.connector_by_name(&name).await {
            Ok(Some(r)) => r,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(connector = %name, error = %e, "connector: cannot read");
                if sleep_or_stop(TICK, &mut stop).await {
                    return;
                }
                continue;
            }
        };
        let lease = match host.try_lease_connector(record.key()).await {
            Ok(Some(l)) => l,
            Ok(None) | Err(_) => {
                if sleep_or_stop(TICK, &mut stop).await {
                    return;
                }
                continue;
            }
        };
        let outcome = serve_leased(host.as_ref(), &key_file, &name, &mut stop).await;
        drop(lease);
        match outcome {
            Ok(true) => return,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(connector = %name, error = %e, code = e.code(), "connector: stopped; retrying");
                if sleep_or_stop(IDLE, &mut stop).await {
                    return;
                }
            }
        }
    }
}

/// Runs the connector while the lease is held. `Ok(true)`: stop for good (worker
/// stopping or connector removed); `Ok(false)`: the definition changed, start over.
async fn serve_leased(host: &dyn WorkerHost, key_file: &Path, name: &str, stop: &mut watch::Receiver<bool>) -> Result<bool, ConnectorError> {
    let Some(record) = host.connector_by_name(name).await? else { return Ok(true) };
    let definition = Definition::from_body(&record.body)?;
    if definition.direction == Direction::Import {
        return import_leased(host, key_file, &record, &definition, stop).await;
    }
    let target = connect(&definition, &SecretKey::load(key_file)?)?;
    let exporter_host: &dyn Host = host;
    loop {
        let state = ExportState::load(exporter_host, record.key()).await?;
        let now = tenantsync_domain::Clock::now(host.clock().as_ref());
        if state.health == Health::Paused
            && let Some(at) = state.retry_at
            && at > now
        {
            let wait = Duration::try_from(at.duration_since(now)).unwrap_or(IDLE).min(IDLE);
            if sleep_or_stop(wait, stop).await {
                return Ok(true);
            }
            continue;
        }
        let report = Exporter::new(exporter_host, &record, &definition, target.as_ref()).run().await?;
        let c = report.counters;
        if c.created + c.matched + c.updated + c.deprovisioned + c.deleted + c.escrowed > 0 || report.paused.is_some() {
            tracing::info!(connector = %name, created = c.created, matched = c.matched, updated = c.updated, deprovisioned = c.deprovisioned,
                deleted = c.deleted, escrowed = c.escrowed, paused = report.paused.as_ref().map(|p| p.code.as_str()), "connector: exported");
        }
        if report.paused.is_some() {
            continue;
        }
        let cursor = report.cursor.unwrap_or(ChangeCursor::START);
        tokio::select! {
            _ = host.wait_for_changes(record.tenant, cursor) => {}
            _ = tokio::time::sleep(IDLE) => {}
            _ = stop.changed() => return Ok(true),
        }
        // Removed or redefined meanwhile: start over with what is stored.
        match host.connector_by_name(name).await? {
            None => return Ok(true),
            Some(r) if r.body != record.body => return Ok(false),
            Some(_) => {}
        }
    }
}

/// An import connector while the lease is held: a run, then a wait of `pollSecs` (or
/// until a pause's `retryAt`), until the worker stops or the connector changes.
async fn import_leased(
    host: &dyn WorkerHost,
    key_file: &Path,
    record: &tenantsync_store::ConnectorRecord,
    definition: &Definition,
    stop: &mut watch::Receiver<bool>,
) -> Result<bool, ConnectorError> {
    let tenant = host.get_tenant(record.tenant).await?;
    let source = open_source(definition, &SecretKey::load(key_file)?, tenant.initial_domain.as_str())?;
    let importer_host: &dyn Host = host;
    let poll = Duration::from_secs(u64::from(definition.import_options().poll_secs));
    loop {
        let state = ImportState::load(importer_host, record.key()).await?;
        let now = tenantsync_domain::Clock::now(host.clock().as_ref());
        let wait = match (state.health, state.retry_at) {
            (Health::Paused, Some(at)) if at > now => Some(Duration::try_from(at.duration_since(now)).unwrap_or(IDLE).min(IDLE)),
            _ => None,
        };
        if wait.is_none() {
            let report = Importer::new(importer_host, record, definition, source.as_ref()).run().await?;
            let c = report.counters;
            if c.created + c.matched + c.updated + c.restored + c.deleted + c.escrowed > 0 || report.paused.is_some() {
                tracing::info!(connector = %record.name, created = c.created, matched = c.matched, updated = c.updated, restored = c.restored,
                    deleted = c.deleted, escrowed = c.escrowed, reconciled = report.reconciled,
                    paused = report.paused.as_ref().map(|p| p.code.as_str()), "connector: imported");
            }
        }
        if sleep_or_stop(wait.unwrap_or(poll), stop).await {
            return Ok(true);
        }
        match host.connector_by_name(&record.name).await? {
            None => return Ok(true),
            Some(r) if r.body != record.body => return Ok(false),
            Some(_) => {}
        }
    }
}
