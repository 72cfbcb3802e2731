//! Routes and handlers, one module per responsibility:
//!
//! - `context`: what every request starts with: the bearer token, the tenant, the body,
//!   and the response with its `ETag`/`Location`;
//! - `list`: list parameters (query string or `.search` body), the store query they make
//!   (filter, sort, index and cursor paging) and the ListResponse;
//! - `projection`: `attributes` / `excludedAttributes`;
//! - `resource`: the `Resource` trait and the handlers users and groups share
//!   (list, search, get, PUT, PATCH, DELETE, the write retried after a lost race);
//! - `users`, `groups`: what is particular to each (documents, create, the write itself;
//!   group membership changes);
//! - `discovery`: ServiceProviderConfig, ResourceTypes, Schemas;
//! - `search`: `POST /.search` across resource types;
//! - `bulk`: `POST /Bulk`, run through this same router by `crate::bulk`.
//!
//! [`with_ops`] adds the operations endpoints (`crate::ops`: `/healthz`, `/readyz`,
//! `/metrics`) beside them.
mod bulk;
mod context;
mod discovery;
mod groups;
mod list;
mod projection;
mod resource;
mod search;
mod users;

use crate::Config;
use crate::auth::RateLimiter;
use crate::error::ScimError;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::{MethodRouter, any, get, post};
use resource::Resource;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use tenantsync_domain::{Group, TenantId, User};
use tenantsync_store::Store;

/// How often a write without `If-Match` is retried after losing a race.
const WRITE_RETRIES: usize = 8;

struct AppState {
    store: Arc<dyn Store>,
    limiter: RateLimiter,
    config: Config,
    /// `{tenant}` path segments already resolved: the tenant's id and initial domain.
    /// Tenants are never deleted and never change their initial domain, so an entry stays
    /// true; only existing tenants are kept, so the map holds at most a few spellings per
    /// tenant (and is emptied should it ever grow past `TENANT_CACHE_MAX`).
    tenants: RwLock<HashMap<String, (TenantId, String)>>,
}

const TENANT_CACHE_MAX: usize = 10_000;

type Shared = Arc<AppState>;
type St = State<Shared>;
type Params = Query<Vec<(String, String)>>;

// The errors the routes make themselves (besides `ScimError`'s own constructors).

/// Any tenant but the token's own, whether or not it exists.
fn tenant_not_found() -> ScimError {
    ScimError::tenant_not_found()
}

/// A write without `If-Match` lost the race `WRITE_RETRIES` times.
fn write_contention() -> ScimError {
    ScimError::of(crate::error::ScimCode::WriteContention, "the resource kept changing; retry")
}

/// A PATCH of a user's `groups`.
fn groups_read_only() -> ScimError {
    ScimError::read_only("groups is read-only: change memberships through /Groups")
}

async fn method_not_allowed() -> ScimError {
    ScimError::method_not_allowed()
}

/// `method` on `path`; any other method is 405.
fn only(method: MethodRouter<Shared>) -> MethodRouter<Shared> {
    method.fallback(method_not_allowed)
}

/// `/{R::ENDPOINT}`, `/{R::ENDPOINT}/.search` and `/{R::ENDPOINT}/{id}`.
fn resource_routes<R: Resource>(router: Router<Shared>) -> Router<Shared> {
    let base = format!("/scim/v2/{{tenant}}/{}", R::ENDPOINT);
    router
        .route(&base, only(get(resource::list::<R>).post(resource::create::<R>)))
        .route(&format!("{base}/.search"), only(post(resource::search::<R>)))
        .route(&format!("{base}/{{id}}"), only(get(resource::get::<R>).put(resource::write::<R>).patch(resource::write::<R>).delete(resource::delete::<R>)))
}

pub fn router(store: Arc<dyn Store>, config: Config) -> Router {
    let state =
        Arc::new(AppState { store, limiter: RateLimiter::new(config.rate_per_second, config.rate_burst), config, tenants: RwLock::new(HashMap::new()) });
    let router = resource_routes::<Group>(resource_routes::<User>(Router::new()));
    router
        .route("/scim/v2/{tenant}/.search", only(post(search::search_root)))
        .route("/scim/v2/{tenant}/ServiceProviderConfig", only(get(discovery::service_provider_config)))
        .route("/scim/v2/{tenant}/ResourceTypes", only(discovery::all(discovery::RESOURCE_TYPES)))
        .route("/scim/v2/{tenant}/ResourceTypes/{id}", only(discovery::one(discovery::RESOURCE_TYPES)))
        .route("/scim/v2/{tenant}/Schemas", only(discovery::all(discovery::SCHEMAS)))
        .route("/scim/v2/{tenant}/Schemas/{id}", only(discovery::one(discovery::SCHEMAS)))
        .route("/scim/v2/{tenant}/Bulk", only(post(bulk::bulk)))
        .route("/scim/v2/{tenant}/Me", any(|| async { ScimError::not_implemented("/Me") }))
        .route("/scim/v2/{tenant}/Me/{*rest}", any(method_not_allowed))
        .fallback(|| async { ScimError::not_found("no such endpoint") })
        // Request ids, spans and access lines are added around the routes by
        // `crate::observe` (once per request, not again for each Bulk operation).
        .with_state(state)
}

/// [`router`] and the operations endpoints (`crate::ops`), outside every tenant.
pub fn with_ops(store: Arc<dyn Store>, config: Config, ops: crate::ops::Ops) -> Router {
    router(store.clone(), config).merge(crate::ops::routes(store, ops))
}
