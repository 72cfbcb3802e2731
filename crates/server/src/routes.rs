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
use std::sync::{Arc, Mutex, RwLock, Weak};
use tenantsync_domain::{Group, ObjectId, TenantId, User};
use tenantsync_store::{Store, SyncStore};

/// How often a write without `If-Match` that names the version it read is tried (after
/// losing a race it takes its turn, so only writers outside this server can make it lose
/// again).
const WRITE_RETRIES: usize = 8;

/// One turn per object at a time, for writes applied again after losing a race (see
/// `resource`): they then take turns in this server instead of losing to each other again.
#[derive(Default)]
struct Turns {
    /// The objects with a turn taken or waited for; entries no one holds are dropped as
    /// the map grows.
    map: Mutex<HashMap<(TenantId, ObjectId), Weak<Turn>>>,
}

type Turn = tokio::sync::Mutex<()>;

impl Turns {
    const PRUNE_AT: usize = 1024;

    /// Waits for the object's turn; it lasts as long as the guard.
    async fn take(&self, tenant: TenantId, id: ObjectId) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        let lock = {
            let Ok(mut map) = self.map.lock() else { return None };
            if map.len() >= Self::PRUNE_AT {
                map.retain(|_, w| w.strong_count() > 0);
            }
            match map.get(&(tenant, id)).and_then(Weak::upgrade) {
                Some(l) => l,
                None => {
                    let l = Arc::new(Turn::new(()));
                    map.insert((tenant, id), Arc::downgrade(&l));
                    l
                }
            }
        };
        Some(lock.lock_owned().await)
    }
}

struct AppState {
    store: Arc<dyn Store>,
    limiter: RateLimiter,
    config: Config,
    /// `{tenant}` path segments already resolved: the tenant's id and initial domain.
    /// Tenants are never deleted and never change their initial domain, so an entry stays
    /// true; only existing tenants are kept, so the map holds at most a few spellings per
    /// tenant (and is emptied should it ever grow past `TENANT_CACHE_MAX`).
    tenants: RwLock<HashMap<String, (TenantId, String)>>,
    turns: Turns,
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

/// A write that names the version it read lost the race `WRITE_RETRIES` times (to
/// writers outside this server).
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

/// The endpoints under `/scim/v2/{tenant}/` as the routes spell them.
const ENDPOINTS: [&str; 8] = ["Users", "Groups", "ServiceProviderConfig", "ResourceTypes", "Schemas", "Bulk", "Me", ".search"];

/// A request path as the routes spell it, when it is spelt otherwise: the endpoint after
/// `/scim/v2/{tenant}/` (and a `.search` after it) in any case, and a trailing slash, as
/// common SCIM clients send them (`/users`, `/Users/?filter=…`). Ids and the tenant are
/// left as they are.
fn canonical_path(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/scim/v2/")?;
    let (tenant, rest) = rest.split_once('/')?;
    let trimmed = rest.strip_suffix('/').unwrap_or(rest);
    let (segment, tail) = match trimmed.split_once('/') {
        Some((s, t)) => (s, Some(t)),
        None => (trimmed, None),
    };
    let endpoint = ENDPOINTS.iter().find(|e| e.eq_ignore_ascii_case(segment))?;
    let tail = tail.map(|t| if t.eq_ignore_ascii_case(".search") { ".search" } else { t });
    let canonical = match tail {
        Some(t) => format!("/scim/v2/{tenant}/{endpoint}/{t}"),
        None => format!("/scim/v2/{tenant}/{endpoint}"),
    };
    (canonical != path).then_some(canonical)
}

/// Rewrites the request's path to its canonical spelling before it is routed.
fn canonical_request(mut req: axum::extract::Request) -> axum::extract::Request {
    if let Some(path) = canonical_path(req.uri().path()) {
        let uri = match req.uri().query() {
            Some(q) => format!("{path}?{q}"),
            None => path,
        };
        if let Ok(uri) = uri.parse() {
            *req.uri_mut() = uri;
        }
    }
    req
}

/// SCIM under `/scim/v2/{tenant}/`, the admin API under `/v1.0/`, and the console at `/`
/// when the configuration has one.
pub fn router(store: Arc<dyn SyncStore>, config: Config) -> Router {
    let graph = crate::graph::router(store.clone(), config.clone());
    let console = config.console.clone().map(|c| crate::console::router(store.clone(), config.access.clone(), c));
    let router = scim(store, config).merge(graph);
    match console {
        Some(c) => router.merge(c),
        None => router,
    }
}

/// The SCIM routes (Bulk runs its operations through them too). Paths are made canonical
/// before the routes see them (a layer of the routes would run after routing).
fn scim(store: Arc<dyn Store>, config: Config) -> Router {
    Router::new().fallback_service(tower::util::MapRequest::new(routes(store, config), canonical_request))
}

fn routes(store: Arc<dyn Store>, config: Config) -> Router {
    let state = Arc::new(AppState {
        store,
        limiter: RateLimiter::new(config.rate_per_second, config.rate_burst),
        config,
        tenants: RwLock::new(HashMap::new()),
        turns: Turns::default(),
    });
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
        .route_layer(axum::middleware::from_fn(crate::observe::expose_route))
        .fallback(|| async { ScimError::not_found("no such endpoint") })
        // Request ids, spans and access lines are added around the routes by
        // `crate::observe` (once per request, not again for each Bulk operation).
        .with_state(state)
}

/// [`router`] and the operations endpoints (`crate::ops`), outside every tenant.
pub fn with_ops(store: Arc<dyn SyncStore>, config: Config, ops: crate::ops::Ops) -> Router {
    router(store.clone(), config).merge(crate::ops::routes(store, ops))
}

#[cfg(test)]
mod tests {
    use super::canonical_path;

    #[test]
    fn paths_in_any_case_and_with_a_trailing_slash_are_made_canonical() {
        let t = |p: &str| canonical_path(p);
        assert_eq!(t("/scim/v2/contoso.example/users"), Some("/scim/v2/contoso.example/Users".into()));
        assert_eq!(t("/scim/v2/contoso.example/Users/"), Some("/scim/v2/contoso.example/Users".into()));
        assert_eq!(t("/scim/v2/Contoso.example/GROUPS/AbC/"), Some("/scim/v2/Contoso.example/Groups/AbC".into()));
        assert_eq!(t("/scim/v2/t/users/.Search"), Some("/scim/v2/t/Users/.search".into()));
        assert_eq!(t("/scim/v2/t/.SEARCH"), Some("/scim/v2/t/.search".into()));
        assert_eq!(t("/scim/v2/t/schemas/urn:x:User"), Some("/scim/v2/t/Schemas/urn:x:User".into()));
        assert_eq!(t("/scim/v2/t/Users"), None);
        assert_eq!(t("/scim/v2/t/Users/1"), None);
        assert_eq!(t("/scim/v2/t/Nothing/"), None);
        assert_eq!(t("/other/Users/"), None);
    }
}
