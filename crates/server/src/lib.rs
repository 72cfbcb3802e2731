//! tenantsync's HTTP layer: a SCIM 2.0 service provider (RFC 7643, RFC 7644) for every
//! tenant, under `/scim/v2/{tenant}/` where `{tenant}` is the tenant's id or initial
//! domain. It talks to storage only through the [`Store`] trait: filters, sorting and
//! paging run in the store; writes are ordinary directory writes (`Store::apply`), so they
//! land in the change feed like any other write.
//!
//! Errors: every failure is a [`ScimError`], turned into HTTP in one place
//! (`error.rs`).

pub mod auth;
mod bulk;
mod cursor;
pub mod error;
mod filter;
mod group;
mod json;
mod patch;
mod routes;
pub mod schema;
mod user;

pub use error::ScimError;

use std::sync::Arc;
use tenantsync_store::Store;

/// The media type of every SCIM response.
pub const SCIM_JSON: &str = "application/scim+json";

/// Settings of the server.
#[derive(Debug, Clone)]
pub struct Config {
    /// Largest request body accepted (bytes); larger ones get 413.
    pub max_body_bytes: usize,
    /// Requests per second per token (0: no limit) and the burst allowed.
    pub rate_per_second: u32,
    pub rate_burst: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self { max_body_bytes: 1024 * 1024, rate_per_second: 1000, rate_burst: 2000 }
    }
}

/// The application: all routes, ready to serve.
pub fn router(store: Arc<dyn Store>, config: Config) -> axum::Router {
    routes::router(store, config)
}

/// Serves `router` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    store: Arc<dyn Store>,
    config: Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(store, config)).with_graceful_shutdown(shutdown).await
}
