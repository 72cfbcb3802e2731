//! What wraps every request before the routes see it: its id, its origin (the base of the
//! URLs it is answered with, see `crate::origin`), the span its log lines are written in,
//! and its access-log line.
//!
//! - The request id: 16 hex digits made here, or — only behind a trusted proxy
//!   (`trust_proxy`) — the proxy's `X-Request-Id` when it is 1 to 128 characters of
//!   letters, digits and `-._:`. It is answered in `X-Request-Id` and is a field of the
//!   request's span, so every line logged while the request is handled carries it.
//! - The span: `request`, with the id, the peer's address (when served by `crate::http`),
//!   the method and the path.
//! - The access line: one per request, at `info` under the target
//!   `tenantsync_server::access`, in the span: status and duration; never the query string
//!   (it may hold names and filters) and never a header (so never a token).
//! - Its metrics, when the server records them (`crate::ops`): counted by the *pattern*
//!   of the route it matched (`/scim/v2/{tenant}/Users/{id}`, axum's `MatchedPath`),
//!   never its path, so no tenant, user or group names a series; requests that match no
//!   route share `route="unmatched"`.
use crate::ops::{MethodLabel, Ops, UNMATCHED};
use crate::origin::{self, PublicUrl};
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Response};
use axum::middleware::Next;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower_http::trace::TraceLayer;
use tracing::Span;

/// `X-Request-Id`, in requests (from a trusted proxy) and in every response.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The target of the access-log lines.
pub const ACCESS_TARGET: &str = "tenantsync_server::access";

/// The id of the request being handled (a request extension).
#[derive(Debug, Clone)]
pub struct RequestId(pub Arc<str>);

#[derive(Debug)]
struct Frame {
    public_url: PublicUrl,
    trust_proxy: bool,
    ops: Ops,
}

/// `router` with request ids, origins, spans, access lines and, when `ops` records them,
/// metrics.
pub(crate) fn wrap(router: Router, public_url: PublicUrl, trust_proxy: bool, ops: Ops) -> Router {
    let trace = TraceLayer::new_for_http()
        .make_span_with(|req: &Request| {
            let id = req.extensions().get::<RequestId>().map(|r| r.0.clone()).unwrap_or_else(|| Arc::from("-"));
            let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| tracing::field::display(c.0));
            tracing::info_span!("request", id = %id, peer, method = %req.method(), path = %req.uri().path())
        })
        .on_request(())
        .on_response(|res: &Response<Body>, latency: Duration, _: &Span| {
            let ms = latency.as_secs_f64() * 1000.0;
            tracing::info!(target: ACCESS_TARGET, status = res.status().as_u16(), ms = format_args!("{ms:.2}"), "answered");
        })
        .on_body_chunk(())
        .on_eos(())
        // 5xx are in the access line; their cause is logged where it happens.
        .on_failure(());
    router.layer(trace).layer(axum::middleware::from_fn_with_state(Arc::new(Frame { public_url, trust_proxy, ops }), frame))
}

async fn frame(State(frame): State<Arc<Frame>>, mut req: Request, next: Next) -> Response<Body> {
    let measured = frame.ops.records().then(|| (Instant::now(), req.extensions().get::<MatchedPath>().cloned(), MethodLabel::of(req.method())));
    let id: Arc<str> = frame
        .trust_proxy
        .then(|| req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).filter(|v| valid_request_id(v)).map(Arc::from))
        .flatten()
        .unwrap_or_else(new_request_id);
    let origin: Arc<str> = Arc::from(frame.public_url.for_request(req.headers(), frame.trust_proxy));
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut res = origin::scope(origin, next.run(req)).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, v);
    }
    if let Some((began, route, method)) = measured {
        // A router served as a fallback service (SCIM, whose paths are made canonical
        // first) names the route it matched in the response.
        let inner = res.extensions().get::<MatchedPath>().cloned();
        let route = inner.as_ref().or(route.as_ref()).map_or(UNMATCHED, MatchedPath::as_str);
        frame.ops.http().record(route, method, res.status(), began.elapsed());
    }
    res
}

/// A route layer of a router that runs as another's fallback service: it puts the route
/// it matched into the response, where [`frame`] finds it (the outer router matched none).
pub(crate) async fn expose_route(req: Request, next: Next) -> Response<Body> {
    let route = req.extensions().get::<MatchedPath>().cloned();
    let mut res = next.run(req).await;
    if let Some(route) = route {
        res.extensions_mut().insert(route);
    }
    res
}

fn valid_request_id(v: &str) -> bool {
    (1..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._:".contains(&b))
}

/// 64 random bits as 16 hex digits (a counter when the system has no randomness to give).
fn new_request_id() -> Arc<str> {
    static FALLBACK: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        bytes = FALLBACK.fetch_add(1, std::sync::atomic::Ordering::Relaxed).to_be_bytes();
    }
    Arc::from(hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_made_here_and_taken_only_when_well_formed() {
        let a = new_request_id();
        assert_eq!(a.len(), 16);
        assert_ne!(a, new_request_id());
        for ok in ["abc", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "edge:1.2_3"] {
            assert!(valid_request_id(ok), "{ok}");
        }
        let long = "x".repeat(129);
        for bad in ["", "a b", "a\"b", "<script>", long.as_str(), "ünï"] {
            assert!(!valid_request_id(bad), "{bad}");
        }
    }
}
