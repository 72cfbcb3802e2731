//! The one integration test binary of the PostgreSQL store: the conformance suite every
//! store must pass, on a real throwaway cluster, and what is particular to PostgreSQL
//! (the schema's readiness for Citus, schema versions, an unreachable server).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod cluster;
mod postgres;

use std::sync::Arc;
use tenantsync_domain::FixedClock;
use tenantsync_store_postgres::PgStore;

/// A fresh store in a fresh schema, for one test.
pub async fn fresh_store(clock: Arc<FixedClock>) -> tenantsync_store_conformance::Fixture {
    let (_, url) = cluster::fresh_schema().await;
    let store = PgStore::open_with_clock(&url, clock.clone()).await.unwrap();
    let reopen: tenantsync_store_conformance::Reopen = Box::new(move || {
        let url = url.clone();
        Box::pin(async move { Arc::new(PgStore::open(&url).await.unwrap()) as Arc<dyn tenantsync_store::SyncStore> })
    });
    tenantsync_store_conformance::Fixture { store: Arc::new(store), clock, reopen, guard: Box::new(()) }
}

tenantsync_store_conformance::conformance_tests!(crate::fresh_store);

/// A fresh store in a fresh schema, for one case of entitlement management.
pub async fn fresh_access_store(clock: Arc<FixedClock>) -> tenantsync_store_conformance::access::AccessFixture {
    let (_, url) = cluster::fresh_schema().await;
    let store = PgStore::open_with_clock(&url, clock.clone()).await.unwrap();
    tenantsync_store_conformance::access::AccessFixture { store: Arc::new(store), clock, guard: Box::new(()) }
}

tenantsync_store_conformance::access_conformance_tests!(crate::fresh_access_store);

/// A fresh store in a fresh schema, for one connector case.
pub async fn fresh_connector_store(clock: Arc<FixedClock>) -> tenantsync_store_conformance::connector::ConnectorFixture {
    let (_, url) = cluster::fresh_schema().await;
    let store = PgStore::open_with_clock(&url, clock.clone()).await.unwrap();
    tenantsync_store_conformance::connector::ConnectorFixture { store: Arc::new(store), clock, guard: Box::new(()) }
}

tenantsync_store_conformance::connector_conformance_tests!(crate::fresh_connector_store);
tenantsync_store_conformance::dump_conformance_tests!(crate::fresh_access_store);

/// A fresh store in a fresh schema, for one console case.
pub async fn fresh_console_store(clock: Arc<FixedClock>) -> tenantsync_store_conformance::console::ConsoleFixture {
    let (_, url) = cluster::fresh_schema().await;
    let store = PgStore::open_with_clock(&url, clock.clone()).await.unwrap();
    tenantsync_store_conformance::console::ConsoleFixture { store: Arc::new(store), clock, guard: Box::new(()) }
}

tenantsync_store_conformance::console_conformance_tests!(crate::fresh_console_store);
