//! The operations endpoints, outside every tenant and without a SCIM token:
//!
//! - `GET /healthz`: the process answers (`200 {"status":"ok"}`), whatever the store does.
//! - `GET /readyz`: it can serve: the store answers a read by primary key (which also
//!   proves the migrated schema is there) and the server is not shutting down. Otherwise
//!   `503 {"status":"unavailable","reason":…}` with `Retry-After`, so a load balancer
//!   sends its requests elsewhere; while shutting down (from the signal on, through the
//!   drain delay) it always answers so.
//! - `GET /metrics`: Prometheus' text exposition format, rendered from the process'
//!   recorder ([`Metrics::install`]: `metrics-exporter-prometheus`, with no listener of
//!   its own). Open, unless a metrics token is set (`Authorization: Bearer …`, checked
//!   in constant time): keep it off networks that should not see it.
//!
//! What is recorded: the HTTP layer's requests by route *pattern* (`crate::observe`
//! through [`HttpMetrics`]) and the sync jobs (the engine's scheduler, through the same
//! `metrics` facade). Every metric is listed in `docs/operations.md`.
use crate::auth;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics::{Counter, Histogram, Unit, counter, describe_counter, describe_histogram, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};
use std::time::Duration;
use tenantsync_domain::TenantId;
use tenantsync_store::{Store, StoreError};

/// Requests answered, by `route` (pattern), `method` and `status` (counter).
pub const HTTP_REQUESTS: &str = "tenantsync_http_requests_total";
/// Time to answer a request, by `route` (histogram, seconds).
pub const HTTP_DURATION: &str = "tenantsync_http_request_duration_seconds";
/// The upper bounds of the request-duration histogram's buckets, in seconds.
pub const HTTP_BUCKETS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// The `route` of a request that matched no route.
pub const UNMATCHED: &str = "unmatched";

/// How long `/readyz` waits for the store.
const READY_TIMEOUT: Duration = Duration::from_secs(2);
/// `Retry-After` of an unavailable `/readyz`, in seconds.
const RETRY_AFTER_SECS: &str = "5";
/// How often histograms are folded (and the recorder's memory bounded) between scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// The Prometheus recorder of this process.
#[derive(Clone, Debug)]
pub struct Metrics {
    handle: PrometheusHandle,
}

static INSTALLED: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();

impl Metrics {
    /// Installs Prometheus' recorder as the process' `metrics` recorder, with histogram
    /// buckets for the HTTP metrics and for `histograms` (name, upper bounds); once per
    /// process: later calls get the same recorder (and their `histograms` are ignored).
    /// Fails when another recorder was installed first.
    pub fn install(histograms: &[(&str, &[f64])]) -> Result<Metrics, String> {
        let installed = INSTALLED.get_or_init(|| {
            let mut builder = PrometheusBuilder::new().set_buckets_for_metric(Matcher::Full(HTTP_DURATION.to_owned()), HTTP_BUCKETS);
            for (name, buckets) in histograms {
                builder = builder.and_then(|b| b.set_buckets_for_metric(Matcher::Full((*name).to_owned()), buckets));
            }
            let handle = builder.and_then(|b| b.install_recorder()).map_err(|e| format!("cannot install the metrics recorder: {e}"))?;
            describe_counter!(HTTP_REQUESTS, "HTTP requests answered, by route pattern, method and status.");
            describe_histogram!(HTTP_DURATION, Unit::Seconds, "Time to answer an HTTP request (to its response head), by route pattern.");
            // Histograms are folded on every scrape; this bounds what they hold without one.
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("tenantsync-metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(UPKEEP_EVERY);
                        upkeep.run_upkeep();
                    }
                })
                .map_err(|e| format!("cannot start the metrics upkeep thread: {e}"))?;
            Ok(handle)
        });
        installed.clone().map(|handle| Metrics { handle })
    }

    /// The exposition text of every series recorded so far.
    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 * 1024);
        // Writing to a Vec cannot fail.
        let _ = self.handle.render_to_write(&mut out);
        out
    }
}

/// What the operations endpoints of a server need: the metrics to render (none: no
/// `/metrics`), the digest of the token that guards them, how long to keep serving once
/// shutdown begins, and whether it has.
#[derive(Clone, Debug, Default)]
pub struct Ops {
    metrics: Option<Metrics>,
    token: Option<[u8; 32]>,
    drain_delay: Duration,
    state: Arc<OpsState>,
}

#[derive(Debug, Default)]
struct OpsState {
    draining: AtomicBool,
    /// The last `/readyz` found the store unavailable (its changes are logged, not every
    /// answer).
    store_down: AtomicBool,
    /// Requests by route, for `crate::observe`.
    http: HttpMetrics,
}

impl Ops {
    /// Serves `/metrics` from `metrics`, to requests bearing `token` when one is given.
    pub fn with_metrics(mut self, metrics: Metrics, token: Option<&str>) -> Ops {
        self.metrics = Some(metrics);
        self.token = token.map(auth::hash_secret);
        self
    }

    /// Once shutdown begins, `/readyz` answers 503 and everything else is served for
    /// `delay` more before the listener closes (a load balancer's time to notice).
    pub fn with_drain_delay(mut self, delay: Duration) -> Ops {
        self.drain_delay = delay;
        self
    }

    pub fn drain_delay(&self) -> Duration {
        self.drain_delay
    }

    /// Whether requests are counted (a recorder renders them).
    pub fn records(&self) -> bool {
        self.metrics.is_some()
    }

    /// Shutdown has begun: `/readyz` answers 503 from now on.
    pub fn begin_draining(&self) {
        self.state.draining.store(true, Ordering::Release);
    }

    pub fn is_draining(&self) -> bool {
        self.state.draining.load(Ordering::Acquire)
    }

    pub(crate) fn http(&self) -> &HttpMetrics {
        &self.state.http
    }
}

#[derive(Clone)]
struct OpsRoutes {
    store: Arc<dyn Store>,
    ops: Ops,
}

/// `/healthz`, `/readyz` and, with metrics, `/metrics`.
pub(crate) fn routes(store: Arc<dyn Store>, ops: Ops) -> Router {
    let metrics = ops.metrics.is_some();
    let router = Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz));
    let router = if metrics { router.route("/metrics", get(render)) } else { router };
    router.with_state(OpsRoutes { store, ops })
}

fn json(status: StatusCode, body: serde_json::Value) -> Response {
    let mut res = (status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body.to_string()).into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECS));
    }
    res
}

async fn healthz() -> Response {
    json(StatusCode::OK, serde_json::json!({ "status": "ok" }))
}

/// Why the server is not ready.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Unready {
    ShuttingDown,
    /// The store failed a read: its error's code.
    Store(&'static str),
    StoreTimeout,
}

impl Unready {
    fn reason(&self) -> String {
        match self {
            Unready::ShuttingDown => "shutting down".to_owned(),
            Unready::Store(code) => format!("the store cannot be read ({code})"),
            Unready::StoreTimeout => format!("the store did not answer within {} s", READY_TIMEOUT.as_secs()),
        }
    }
}

/// What a read of a tenant that cannot exist says about the store: not found is an
/// answer (the store is there); any other error is not, and its cause is for the log.
fn store_verdict(read: Result<Result<tenantsync_domain::Tenant, StoreError>, tokio::time::error::Elapsed>) -> Result<(), (Unready, String)> {
    match read {
        Ok(Ok(_)) | Ok(Err(StoreError::TenantNotFound { .. })) => Ok(()),
        Ok(Err(e)) => Err((Unready::Store(e.code()), e.to_string())),
        Err(_) => Err((Unready::StoreTimeout, "timed out".to_owned())),
    }
}

async fn readyz(State(s): State<OpsRoutes>) -> Response {
    let verdict = if s.ops.is_draining() {
        Err(Unready::ShuttingDown)
    } else {
        let read = tokio::time::timeout(READY_TIMEOUT, s.store.get_tenant(TenantId::from_bytes([0; 16]))).await;
        let verdict = store_verdict(read);
        let down = verdict.is_err();
        if s.ops.state.store_down.swap(down, Ordering::AcqRel) != down {
            match &verdict {
                Err((why, cause)) => tracing::warn!(error = %cause, "not ready: {}", why.reason()),
                Ok(()) => tracing::info!("ready again: the store answers"),
            }
        }
        verdict.map_err(|(why, _)| why)
    };
    match verdict {
        Ok(()) => json(StatusCode::OK, serde_json::json!({ "status": "ready" })),
        Err(why) => json(StatusCode::SERVICE_UNAVAILABLE, serde_json::json!({ "status": "unavailable", "reason": why.reason() })),
    }
}

async fn render(State(s): State<OpsRoutes>, headers: HeaderMap) -> Response {
    let Some(metrics) = &s.ops.metrics else { return StatusCode::NOT_FOUND.into_response() };
    if let Some(expected) = &s.ops.token {
        let given = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.split_once(' '));
        let ok =
            given.is_some_and(|(scheme, token)| scheme.eq_ignore_ascii_case("bearer") && auth::constant_time_eq(&auth::hash_secret(token.trim()), expected));
        if !ok {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"metrics\""))],
                "a metrics token is required\n",
            )
                .into_response();
        }
    }
    let body = metrics.render();
    ([(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"))], body).into_response()
}

/// A request's method as the `method` label spells it: the methods the routes serve,
/// and `other` for the rest (a label must not take whatever a client sends).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum MethodLabel {
    Get,
    Post,
    Put,
    Patch,
    Delete,
    Head,
    Options,
    Other,
}

impl MethodLabel {
    pub(crate) fn of(m: &Method) -> MethodLabel {
        match *m {
            Method::GET => MethodLabel::Get,
            Method::POST => MethodLabel::Post,
            Method::PUT => MethodLabel::Put,
            Method::PATCH => MethodLabel::Patch,
            Method::DELETE => MethodLabel::Delete,
            Method::HEAD => MethodLabel::Head,
            Method::OPTIONS => MethodLabel::Options,
            _ => MethodLabel::Other,
        }
    }

    const fn as_str(self) -> &'static str {
        match self {
            MethodLabel::Get => "GET",
            MethodLabel::Post => "POST",
            MethodLabel::Put => "PUT",
            MethodLabel::Patch => "PATCH",
            MethodLabel::Delete => "DELETE",
            MethodLabel::Head => "HEAD",
            MethodLabel::Options => "OPTIONS",
            MethodLabel::Other => "other",
        }
    }
}

/// The series of one route pattern.
#[derive(Debug)]
struct RouteSeries {
    duration: Histogram,
    requests: Vec<((MethodLabel, u16), Counter)>,
}

/// Request counters and latency histograms by route pattern, their handles kept so a
/// request costs a read-locked lookup, not a registration (which allocates its labels).
/// Bounded: route patterns, methods and statuses are closed sets.
#[derive(Debug, Default)]
pub(crate) struct HttpMetrics {
    routes: RwLock<HashMap<Box<str>, RouteSeries>>,
}

impl HttpMetrics {
    /// Counts a request answered with `status` after `took`.
    pub(crate) fn record(&self, route: &str, method: MethodLabel, status: StatusCode, took: Duration) {
        let key = (method, status.as_u16());
        {
            let routes = self.routes.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(r) = routes.get(route)
                && let Some((_, c)) = r.requests.iter().find(|(k, _)| *k == key)
            {
                c.increment(1);
                r.duration.record(took.as_secs_f64());
                return;
            }
        }
        let mut routes = self.routes.write().unwrap_or_else(PoisonError::into_inner);
        let r = routes
            .entry(Box::from(route))
            .or_insert_with(|| RouteSeries { duration: histogram!(HTTP_DURATION, "route" => route.to_owned()), requests: Vec::new() });
        let c = match r.requests.iter().position(|(k, _)| *k == key) {
            Some(i) => r.requests.get(i).map(|(_, c)| c.clone()),
            None => {
                let c = counter!(HTTP_REQUESTS, "route" => route.to_owned(), "method" => method.as_str(), "status" => status.as_str().to_owned());
                r.requests.push((key, c.clone()));
                Some(c)
            }
        };
        if let Some(c) = c {
            c.increment(1);
        }
        r.duration.record(took.as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_is_ready_when_it_answers_even_not_found() {
        let missing = StoreError::TenantNotFound { tenant: "x".into() };
        assert_eq!(store_verdict(Ok(Err(missing))), Ok(()));
        assert_eq!(store_verdict(Ok(Err(StoreError::Closed))).map_err(|(why, _)| why), Err(Unready::Store("store_closed")));
        assert!(Unready::Store("store_closed").reason().contains("store_closed"));
    }

    #[test]
    fn methods_outside_the_served_ones_share_one_label() {
        assert_eq!(MethodLabel::of(&Method::PATCH).as_str(), "PATCH");
        let odd = Method::from_bytes(b"BREW").unwrap();
        assert_eq!(MethodLabel::of(&odd), MethodLabel::Other);
    }
}
