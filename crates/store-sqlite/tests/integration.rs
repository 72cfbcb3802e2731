//! The one integration test binary of the SQLite store: the conformance suite every
//! store must pass, and what is particular to SQLite (data directory checks, schema
//! versions, reopening).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod backup;
mod locks;
mod logs;
mod modes;
mod sqlite;
mod writer;

use std::sync::Arc;
use tenantsync_domain::FixedClock;
use tenantsync_store_sqlite::SqliteStore;

/// A fresh store in a fresh temporary directory, for one test.
pub async fn fresh_store(clock: Arc<FixedClock>) -> tenantsync_store_conformance::Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_with_clock(dir.path(), clock.clone()).unwrap();
    tenantsync_store_conformance::Fixture { store: Arc::new(store), clock, guard: Box::new(dir) }
}

tenantsync_store_conformance::conformance_tests!(crate::fresh_store);

/// The same, for the entitlement-management cases.
pub async fn fresh_access_store(clock: Arc<FixedClock>) -> tenantsync_store_conformance::access::AccessFixture {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_with_clock(dir.path(), clock.clone()).unwrap();
    tenantsync_store_conformance::access::AccessFixture { store: Arc::new(store), clock, guard: Box::new(dir) }
}

tenantsync_store_conformance::access_conformance_tests!(crate::fresh_access_store);
