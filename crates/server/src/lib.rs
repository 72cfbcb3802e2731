//! tenantsync's HTTP layer: a SCIM 2.0 service provider (RFC 7643, RFC 7644) for every
//! tenant, under `/scim/v2/{tenant}/` where `{tenant}` is the tenant's id or initial
//! domain. It talks to storage only through the `Store` and `SyncStore` traits: filters, sorting and
//! paging run in the store; writes are ordinary directory writes (`Store::apply`), so they
//! land in the change feed like any other write.
//!
//! Errors: every failure is a [`ScimError`], turned into HTTP in one place
//! (`error.rs`).
//!
//! Serving: [`serve_with`] runs HTTP/1.1 connections with timeouts, a connection cap and
//! a bounded graceful shutdown (`http.rs`); every request gets an id, a span its log lines
//! carry, an access-log line (`observe.rs`) and URLs built from the configured public URL,
//! never from its `Host` (`origin.rs`).
//!
//! Operations: `/healthz`, `/readyz` and `/metrics` (Prometheus) beside the tenants
//! (`ops.rs`); requests are counted by route pattern (`observe.rs`).
//!
//! The web console (`console/`): server-rendered pages at `/` for administrators and
//! for people (My Access), when [`Config::console`] is set.

pub mod auth;
mod bulk;
pub mod console;
mod cursor;
pub mod error;
mod filter;
pub mod graph;
mod group;
pub mod http;
mod json;
pub mod observe;
pub mod ops;
pub mod origin;
mod patch;
mod routes;
pub mod schema;
pub mod tls;
mod user;

pub use error::ScimError;
pub use http::Limits;
pub use ops::{Metrics, Ops};
pub use origin::PublicUrl;
pub use tls::{Tls, TlsError};

use std::sync::Arc;
use tenantsync_store::SyncStore;

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
    /// Entitlement management over the same store, when the store keeps it (`serve`
    /// passes the store's): without it `/v1.0/identityGovernance/entitlementManagement`
    /// answers 501.
    pub access: Option<tenantsync_governance::Governance>,
    /// The web console at `/` (`console`): without it, `/` is not served.
    pub console: Option<console::ConsoleConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Self { max_body_bytes: 1024 * 1024, rate_per_second: 1000, rate_burst: 2000, access: None, console: None }
    }
}

/// How the server is reached and what it tolerates: the public URL its answers name, whether
/// a reverse proxy in front of it is trusted, the connection limits, and its operations
/// endpoints (metrics, drain delay).
#[derive(Debug, Clone)]
pub struct Serving {
    /// The base of every URL in answers (`Location`, `meta.location`, `$ref`).
    pub public_url: PublicUrl,
    /// Take the scheme and host from a well-formed `X-Forwarded-Proto`/`X-Forwarded-Host`,
    /// and the request id from `X-Request-Id` (set only behind a proxy that sets them).
    pub trust_proxy: bool,
    pub limits: Limits,
    pub ops: Ops,
    /// Speak HTTPS on the listener (`serve --tls-cert/--tls-key`); `None`: plain HTTP.
    pub tls: Option<Tls>,
}

impl Serving {
    /// The defaults for a server listening on `addr`: its address as public URL, no proxy
    /// trusted, [`Limits::default`], no metrics and no drain delay.
    pub fn at(addr: std::net::SocketAddr) -> Self {
        Self { public_url: PublicUrl::from_listen(addr), trust_proxy: false, limits: Limits::default(), ops: Ops::default(), tls: None }
    }
}

/// The routes alone: no request ids, spans or access lines, and URLs on `http://localhost`
/// (what [`app`] adds).
pub fn router(store: Arc<dyn SyncStore>, config: Config) -> axum::Router {
    routes::router(store, config)
}

/// The application as served: the routes and `/healthz`, `/readyz` (no metrics), with
/// request ids, spans, access-log lines and the public URL.
pub fn app(store: Arc<dyn SyncStore>, config: Config, public_url: PublicUrl, trust_proxy: bool) -> axum::Router {
    let ops = Ops::default();
    observe::wrap(routes::with_ops(store, config, ops.clone()), public_url, trust_proxy, ops)
}

/// Serves on `listener` with the defaults of [`Serving::at`] its address until `shutdown`
/// completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    store: Arc<dyn SyncStore>,
    config: Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let serving = Serving::at(listener.local_addr()?);
    serve_with(listener, store, config, serving, shutdown).await
}

/// Serves on `listener` until `shutdown` completes and the drain delay
/// (`serving.ops`) has passed; then finishes the requests in flight, for at most
/// `serving.limits.shutdown_grace`.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    store: Arc<dyn SyncStore>,
    config: Config,
    serving: Serving,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let ops = serving.ops;
    let app = observe::wrap(routes::with_ops(store, config, ops.clone()), serving.public_url, serving.trust_proxy, ops.clone());
    // Not ready from the signal on; served as usual for the drain delay, then closed.
    let shutdown = async move {
        shutdown.await;
        ops.begin_draining();
        let delay = ops.drain_delay();
        if !delay.is_zero() {
            tracing::info!("draining: /readyz answers 503; serving {delay:?} more before closing the listener");
            tokio::time::sleep(delay).await;
        }
    };
    http::serve(listener, app, serving.limits, serving.tls, shutdown).await
}
