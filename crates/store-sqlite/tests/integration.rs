//! The one integration test binary of the SQLite store: the conformance suite every
//! store must pass, and what is particular to SQLite (data directory checks, schema
//! versions, reopening).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod backup;
mod locks;
mod log_blocks;
mod modes;
mod sqlite;

use std::sync::Arc;
use tenantsync_domain::FixedClock;
use tenantsync_store_sqlite::SqliteStore;

/// A fresh store in a fresh temporary directory, for one test.
pub async fn fresh_store(clock: Arc<FixedClock>) -> tenantsync_store_conformance::Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_with_clock(dir.path(), clock.clone()).unwrap();
    let path = dir.path().to_owned();
    let reopen: tenantsync_store_conformance::Reopen = Box::new(move || {
        let path = path.clone();
        Box::pin(async move { Arc::new(SqliteStore::open(&path).unwrap()) as Arc<dyn tenantsync_store::SyncStore> })
    });
    tenantsync_store_conformance::Fixture { store: Arc::new(store), clock, reopen, guard: Box::new(dir) }
}

tenantsync_store_conformance::conformance_tests!(crate::fresh_store);

/// The same, for the entitlement-management cases.
pub async fn fresh_access_store(clock: Arc<FixedClock>) -> tenantsync_store_conformance::access::AccessFixture {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_with_clock(dir.path(), clock.clone()).unwrap();
    tenantsync_store_conformance::access::AccessFixture { store: Arc::new(store), clock, guard: Box::new(dir) }
}

tenantsync_store_conformance::access_conformance_tests!(crate::fresh_access_store);

/// The same, for the connector cases.
pub async fn fresh_connector_store(clock: Arc<FixedClock>) -> tenantsync_store_conformance::connector::ConnectorFixture {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_with_clock(dir.path(), clock.clone()).unwrap();
    tenantsync_store_conformance::connector::ConnectorFixture { store: Arc::new(store), clock, guard: Box::new(dir) }
}

tenantsync_store_conformance::connector_conformance_tests!(crate::fresh_connector_store);
tenantsync_store_conformance::dump_conformance_tests!(crate::fresh_access_store);

/// The same, for the console cases.
pub async fn fresh_console_store(clock: Arc<FixedClock>) -> tenantsync_store_conformance::console::ConsoleFixture {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_with_clock(dir.path(), clock.clone()).unwrap();
    tenantsync_store_conformance::console::ConsoleFixture { store: Arc::new(store), clock, guard: Box::new(dir) }
}

tenantsync_store_conformance::console_conformance_tests!(crate::fresh_console_store);
