//! Connections: HTTP/1.1 (hyper) with one task per connection and the limits a server on
//! an open network needs, which `axum::serve` does not have.
//!
//! - **Header-read timeout**: a new connection must send a complete request head within
//!   it, and so must a kept-alive connection once the first byte of its next request has
//!   arrived.
//! - **Body-read timeout**: the whole request body must arrive within it, counted from the
//!   end of the head; a late body is answered `408` (`request_timeout`) and the
//!   connection is closed.
//! - **Idle timeout**: a kept-alive connection with no request under way is closed after
//!   it (also when the client stops reading its response).
//! - **Connection cap**: at most `max_connections` connections are served at once. At the
//!   cap, a new connection closes the connection idle the longest (as nginx reuses its
//!   idle keep-alive connections); when none is idle, it waits until one closes (the
//!   timeouts make that soon). The default cap stays below the process' open-file limit,
//!   so accepting never runs out of descriptors while the database needs some.
//! - **Shutdown**: when `shutdown` completes, the listener closes, connections with no
//!   request in flight close at once, those with one finish it (and close), and after
//!   `shutdown_grace` whatever is still open is closed.
//!
//! Each of these is logged when it bites (at most one line per kind every 10 s, with the
//! count of those not shown): connections closed for a slow head are a `warn`, for
//! sending nothing an `info`, idle ones a `debug`; the cap a `warn`; a late body is a
//! `warn` in the span of its request.
//!
//! A timeout of zero means no limit.
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use hyper::body::{Bytes, Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

/// The limits of [`crate::serve_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Time to receive a request head (from the connection's start for its first request,
    /// from the head's first byte for later ones).
    pub header_read_timeout: Duration,
    /// Time to receive a whole request body, from the end of its head.
    pub body_read_timeout: Duration,
    /// Time a kept-alive connection may wait for its next request.
    pub idle_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// Time in-flight requests get to finish at shutdown.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_connections: default_max_connections(),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// File descriptors kept for the rest of the process (database, logs, listener).
const FD_RESERVE: u64 = 64;
/// The largest default cap.
const MAX_DEFAULT_CONNECTIONS: usize = 1024;
/// How often a kind of limit is logged at most.
const LOG_EVERY: Duration = Duration::from_secs(10);

/// The soft limit on open files of this process (Linux; `None` elsewhere or unlimited).
pub fn open_file_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find_map(|l| l.strip_prefix("Max open files"))?;
    line.split_whitespace().next()?.parse().ok()
}

/// The default cap: the open-file limit less what the rest of the process needs (at
/// least half of it), at most 1,024.
pub fn default_max_connections() -> usize {
    match open_file_limit() {
        Some(n) => usize::try_from(n.saturating_sub(FD_RESERVE).max(n / 2)).unwrap_or(usize::MAX).clamp(1, MAX_DEFAULT_CONNECTIONS),
        None => MAX_DEFAULT_CONNECTIONS,
    }
}

/// The error of a request body that did not arrive within the body-read timeout.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {0:?}")]
pub struct BodyTimeout(pub Duration);

impl BodyTimeout {
    /// The timeout, when `e` or an error it wraps is a [`BodyTimeout`].
    pub(crate) fn in_chain(e: &(dyn std::error::Error + 'static)) -> Option<Duration> {
        let mut cur = Some(e);
        while let Some(e) = cur {
            if let Some(t) = e.downcast_ref::<BodyTimeout>() {
                return Some(t.0);
            }
            cur = e.source();
        }
        None
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then drains (see the module).
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    tls: Option<crate::Tls>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let cap = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let mut builder = hyper::server::conn::http1::Builder::new();
    // Our own watchdog times heads (hyper's timer would also cut idle keep-alives).
    builder.header_read_timeout(None).keep_alive(true);
    let shared = Arc::new(Shared { app, limits, builder, registry: Registry::default(), logs: Logs::default(), tls });
    let permits = Arc::new(Semaphore::new(cap));
    let (drain, draining) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut shutdown = pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            biased;
            () = &mut shutdown => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
            r = listener.accept() => r,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of descriptors, or a connection reset before it was accepted.
                if let Some(skipped) = shared.logs.accept.pass() {
                    tracing::error!(error = %e, skipped, "cannot accept a connection; retrying in 100 ms");
                }
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(Duration::from_millis(100)) => continue,
                }
            }
        };
        let permit = match permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                match shared.registry.evict_idlest() {
                    Some(idle) => {
                        if let Some(skipped) = shared.logs.evicted.pass() {
                            tracing::warn!(
                                max_connections = cap,
                                skipped,
                                "connection limit reached: closing the connection idle the longest (from {idle}) for one from {peer}"
                            );
                        }
                    }
                    None => {
                        if let Some(skipped) = shared.logs.waiting.pass() {
                            tracing::warn!(
                                max_connections = cap,
                                skipped,
                                "connection limit reached and no connection is idle: the connection from {peer} waits for one to close"
                            );
                        }
                    }
                }
                tokio::select! {
                    biased;
                    () = &mut shutdown => break,
                    p = permits.clone().acquire_owned() => match p {
                        Ok(p) => p,
                        Err(_) => break,
                    },
                }
            }
        };
        let _ = stream.set_nodelay(true);
        tasks.spawn(connection(shared.clone(), stream, peer, permit, draining.clone()));
    }
    drop(listener);
    let _ = drain.send(true);
    let in_flight = shared.registry.busy();
    if in_flight > 0 {
        tracing::info!(in_flight, "shutting down: finishing the requests in flight (at most {:?})", shared.limits.shutdown_grace);
    }
    let finished = tokio::time::timeout(shared.limits.shutdown_grace, async { while tasks.join_next().await.is_some() {} }).await;
    if finished.is_err() {
        tracing::warn!(open = tasks.len(), "closing the connections still open after the shutdown grace period of {:?}", shared.limits.shutdown_grace);
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
    }
    Ok(())
}

struct Shared {
    app: Router,
    /// HTTPS: each connection's TLS handshake first.
    tls: Option<crate::Tls>,
    limits: Limits,
    builder: hyper::server::conn::http1::Builder,
    registry: Registry,
    logs: Logs,
}

/// Where a connection is between requests.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// No byte of the next request yet (`first`: none served so far).
    Waiting { since: Instant, first: bool },
    /// Part of a request head has arrived (`since`: when the head timeout started).
    Head { since: Instant },
    /// Requests handed to the routes whose response bodies are not yet written.
    Busy { requests: usize },
}

/// One connection, as the watchdog, the cap and the request handler see it.
#[derive(Debug)]
struct Conn {
    id: u64,
    peer: SocketAddr,
    phase: Mutex<Phase>,
    changed: Notify,
    evict: AtomicBool,
}

impl Conn {
    fn phase(&self) -> Phase {
        *self.phase.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Changes the phase; wakes the watchdog when `change` says its deadline moved.
    fn update(&self, change: impl FnOnce(&mut Phase) -> bool) {
        let wake = change(&mut self.phase.lock().unwrap_or_else(PoisonError::into_inner));
        if wake {
            self.changed.notify_one();
        }
    }

    /// Bytes arrived: the head timeout starts, unless a request is under way.
    fn on_read(&self) {
        self.update(|p| match *p {
            Phase::Waiting { since, first } => {
                *p = Phase::Head { since: if first { since } else { Instant::now() } };
                true
            }
            Phase::Head { .. } | Phase::Busy { .. } => false,
        });
    }

    /// A request head was read and handed to the routes.
    fn begin(self: &Arc<Self>) -> InFlight {
        self.update(|p| {
            *p = Phase::Busy { requests: if let Phase::Busy { requests } = *p { requests + 1 } else { 1 } };
            false
        });
        InFlight(self.clone())
    }
}

/// A request in flight on its connection; its drop (with the response body, once written,
/// or with the handler, when the connection dies first) ends it.
#[derive(Debug)]
struct InFlight(Arc<Conn>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.update(|p| match *p {
            Phase::Busy { requests } if requests > 1 => {
                *p = Phase::Busy { requests: requests - 1 };
                false
            }
            _ => {
                *p = Phase::Waiting { since: Instant::now(), first: false };
                true
            }
        });
    }
}

/// Why the watchdog closed a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Closed {
    /// A new connection sent nothing within the header-read timeout.
    Silent,
    /// A request head did not complete within the header-read timeout.
    SlowHead,
    /// A kept-alive connection waited for its next request longer than the idle timeout.
    Idle,
    /// Closed to make room under the connection cap.
    Evicted,
}

fn deadline(since: Instant, limit: Duration) -> Option<Instant> {
    if limit.is_zero() { None } else { since.checked_add(limit) }
}

/// Completes when `conn` is to be closed, and says why.
async fn watchdog(conn: &Conn, limits: &Limits) -> Closed {
    loop {
        let phase = conn.phase();
        // Chosen for eviction while waiting; should a request have begun since, it is
        // served first, and the connection closes once it waits again.
        if conn.evict.load(Ordering::Acquire) && matches!(phase, Phase::Waiting { .. }) {
            return Closed::Evicted;
        }
        let due = match phase {
            Phase::Waiting { since, first: true } => deadline(since, limits.header_read_timeout).map(|d| (d, Closed::Silent)),
            Phase::Head { since } => deadline(since, limits.header_read_timeout).map(|d| (d, Closed::SlowHead)),
            Phase::Waiting { since, first: false } => deadline(since, limits.idle_timeout).map(|d| (d, Closed::Idle)),
            Phase::Busy { .. } => None,
        };
        match due {
            Some((at, why)) if Instant::now() >= at => return why,
            Some((at, _)) => {
                tokio::select! {
                    () = tokio::time::sleep_until(at) => {}
                    () = conn.changed.notified() => {}
                }
            }
            None => conn.changed.notified().await,
        }
    }
}

/// The connections being served.
#[derive(Debug, Default)]
struct Registry {
    next: AtomicU64,
    conns: Mutex<HashMap<u64, Arc<Conn>>>,
}

impl Registry {
    fn add(&self, peer: SocketAddr) -> Arc<Conn> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn {
            id,
            peer,
            phase: Mutex::new(Phase::Waiting { since: Instant::now(), first: true }),
            changed: Notify::new(),
            evict: AtomicBool::new(false),
        });
        self.conns.lock().unwrap_or_else(PoisonError::into_inner).insert(id, conn.clone());
        conn
    }

    fn remove(&self, id: u64) {
        self.conns.lock().unwrap_or_else(PoisonError::into_inner).remove(&id);
    }

    /// Tells the connection waiting for a request the longest to close; its peer.
    fn evict_idlest(&self) -> Option<SocketAddr> {
        let conns = self.conns.lock().unwrap_or_else(PoisonError::into_inner);
        let idlest = conns
            .values()
            .filter(|c| !c.evict.load(Ordering::Acquire))
            .filter_map(|c| match c.phase() {
                Phase::Waiting { since, .. } => Some((since, c)),
                Phase::Head { .. } | Phase::Busy { .. } => None,
            })
            .min_by_key(|(since, c)| (*since, c.id))
            .map(|(_, c)| c.clone())?;
        drop(conns);
        idlest.evict.store(true, Ordering::Release);
        idlest.changed.notify_one();
        Some(idlest.peer)
    }

    /// Connections with a request in flight.
    fn busy(&self) -> usize {
        self.conns.lock().unwrap_or_else(PoisonError::into_inner).values().filter(|c| matches!(c.phase(), Phase::Busy { .. })).count()
    }
}

/// Removes a connection from the registry when its task ends.
struct Registered<'a>(&'a Registry, u64);

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        self.0.remove(self.1);
    }
}

/// One connection's task: hyper serves it until it ends, the watchdog closes it, or the
/// server shuts down.
async fn connection(shared: Arc<Shared>, stream: TcpStream, peer: SocketAddr, _permit: OwnedSemaphorePermit, mut draining: watch::Receiver<bool>) {
    let conn = shared.registry.add(peer);
    let _registered = Registered(&shared.registry, conn.id);
    let limits = &shared.limits;
    let watched = Watched { stream, conn: conn.clone() };
    let end = match &shared.tls {
        None => http(&shared, &conn, peer, TokioIo::new(watched), &mut draining).await,
        // The handshake's bytes count as the first request's head: it must be done within
        // the header-read timeout too, so a client cannot hold a connection by stalling it.
        Some(tls) => {
            let accepted = tokio::select! {
                r = tls.acceptor.accept(watched) => Ok(r),
                why = watchdog(&conn, limits) => Err(End::Closed(why)),
                _ = draining.wait_for(|d| *d) => Err(End::Draining),
            };
            match accepted {
                Ok(Ok(stream)) => http(&shared, &conn, peer, TokioIo::new(stream), &mut draining).await,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(end) => end,
            }
        }
    };
    match end {
        End::Served(Ok(())) | End::Draining | End::Closed(Closed::Evicted) => {}
        End::Served(Err(e)) => tracing::debug!(%peer, error = %e, "connection ended"),
        End::Closed(Closed::Idle) => tracing::debug!(%peer, "closed an idle connection after {:?}", limits.idle_timeout),
        End::Closed(Closed::Silent) => {
            if let Some(skipped) = shared.logs.silent.pass() {
                tracing::info!(%peer, skipped, "closed a connection that sent no request within {:?} (header-read timeout)", limits.header_read_timeout);
            }
        }
        End::Closed(Closed::SlowHead) => {
            if let Some(skipped) = shared.logs.slow_head.pass() {
                tracing::warn!(%peer, skipped, "closed a connection whose request head was not complete within {:?} (header-read timeout)", limits.header_read_timeout);
            }
        }
    }
}

/// HTTP/1.1 on `io` (the socket, or TLS over it) until the connection ends, the watchdog
/// closes it, or the server shuts down.
async fn http<I>(shared: &Shared, conn: &Arc<Conn>, peer: SocketAddr, io: I, draining: &mut watch::Receiver<bool>) -> End
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let limits = &shared.limits;
    let handler = Handler { app: shared.app.clone(), conn: conn.clone(), peer, body_timeout: limits.body_read_timeout };
    let mut served = pin!(shared.builder.serve_connection(io, handler));
    let end = tokio::select! {
        r = served.as_mut() => End::Served(r),
        why = watchdog(conn, limits) => End::Closed(why),
        _ = draining.wait_for(|d| *d) => End::Draining,
    };
    match end {
        // A request is in flight: hyper finishes it, then closes.
        End::Draining if matches!(conn.phase(), Phase::Busy { .. }) => {
            served.as_mut().graceful_shutdown();
            tokio::select! {
                r = served.as_mut() => End::Served(r),
                why = watchdog(conn, limits) => End::Closed(why),
            }
        }
        end => end,
    }
}

enum End {
    Served(hyper::Result<()>),
    Closed(Closed),
    Draining,
}

/// The socket, reporting arriving bytes to its connection's watchdog.
struct Watched {
    stream: TcpStream,
    conn: Arc<Conn>,
}

impl AsyncRead for Watched {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let r = Pin::new(&mut this.stream).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.conn.on_read();
        }
        r
    }
}

impl AsyncWrite for Watched {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[std::io::IoSlice<'_>]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// Hands each request to the routes, with its body under the body-read timeout and its
/// peer address (`ConnectInfo`), and tracks it until its response is written.
#[derive(Clone)]
struct Handler {
    app: Router,
    conn: Arc<Conn>,
    peer: SocketAddr,
    body_timeout: Duration,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl hyper::service::Service<Request<Incoming>> for Handler {
    type Response = Response<Tracked>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        let in_flight = self.conn.begin();
        let app = self.app.clone();
        let timeout = self.body_timeout;
        let mut req = req.map(|body| Body::new(Deadline { body, timeout, deadline: deadline(Instant::now(), timeout), sleep: None }));
        req.extensions_mut().insert(ConnectInfo(self.peer));
        Box::pin(async move {
            let mut res = match app.oneshot(req).await {
                Ok(res) => res,
                Err(never) => match never {},
            };
            // The rest of a late body is not read: the connection cannot be reused.
            if res.status() == StatusCode::REQUEST_TIMEOUT {
                res.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            Ok(res.map(|body| Tracked { body, _in_flight: in_flight }))
        })
    }
}

/// A request body that fails with [`BodyTimeout`] once its deadline passes.
struct Deadline {
    body: Incoming,
    timeout: Duration,
    deadline: Option<Instant>,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl hyper::body::Body for Deadline {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.body).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|f| f.map_err(Into::into))),
            Poll::Pending => {
                let Some(at) = this.deadline else { return Poll::Pending };
                let sleep = this.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
                match sleep.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyTimeout(this.timeout))))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A response body that ends its request's time in flight when dropped.
struct Tracked {
    body: Body,
    _in_flight: InFlight,
}

impl hyper::body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// One kind of log line, shown at most once every [`LOG_EVERY`].
#[derive(Debug, Default)]
struct Throttle {
    last: Mutex<Option<Instant>>,
    skipped: AtomicU64,
}

impl Throttle {
    /// `Some(lines skipped since the last one shown)` when this one is to be shown.
    fn pass(&self) -> Option<u64> {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        if last.is_some_and(|t| now.saturating_duration_since(t) < LOG_EVERY) {
            self.skipped.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        *last = Some(now);
        Some(self.skipped.swap(0, Ordering::Relaxed))
    }
}

/// The throttles of the connection-level log lines.
#[derive(Debug, Default)]
struct Logs {
    accept: Throttle,
    evicted: Throttle,
    waiting: Throttle,
    silent: Throttle,
    slow_head: Throttle,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_ten_thirty_and_sixty_seconds_and_a_cap_under_the_file_limit() {
        let l = Limits::default();
        assert_eq!(
            (l.header_read_timeout, l.body_read_timeout, l.idle_timeout, l.shutdown_grace),
            (Duration::from_secs(10), Duration::from_secs(30), Duration::from_secs(60), Duration::from_secs(10))
        );
        assert!((1..=MAX_DEFAULT_CONNECTIONS).contains(&l.max_connections));
        if let Some(files) = open_file_limit() {
            assert!((l.max_connections as u64) < files, "{} connections with {files} files", l.max_connections);
        }
    }

    #[test]
    fn a_throttled_line_shows_once_and_counts_the_rest() {
        let t = Throttle::default();
        assert_eq!(t.pass(), Some(0));
        assert_eq!((t.pass(), t.pass()), (None, None));
        assert_eq!(t.skipped.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn a_body_timeout_is_found_inside_the_errors_that_wrap_it() {
        let inner: Box<dyn std::error::Error + Send + Sync> = Box::new(BodyTimeout(Duration::from_millis(5)));
        let wrapped = axum::Error::new(inner);
        assert_eq!(BodyTimeout::in_chain(&wrapped), Some(Duration::from_millis(5)));
        assert_eq!(BodyTimeout::in_chain(&std::io::Error::other("x")), None);
    }

    #[tokio::test]
    async fn the_cap_evicts_the_connection_waiting_longest_and_never_a_busy_one() {
        let r = Registry::default();
        let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let (a, b, c) = (r.add(peer), r.add(peer), r.add(peer));
        let _busy = a.begin();
        c.on_read();
        assert_eq!(r.evict_idlest(), Some(peer));
        assert!(b.evict.load(Ordering::Acquire) && !a.evict.load(Ordering::Acquire) && !c.evict.load(Ordering::Acquire));
        assert_eq!(r.evict_idlest(), None, "a is busy, b is already leaving, c has part of a head");
        assert_eq!(r.busy(), 1);
        assert_eq!(watchdog(&b, &Limits::default()).await, Closed::Evicted);
    }

    #[tokio::test]
    async fn a_connection_chosen_for_eviction_that_got_a_request_meanwhile_finishes_it_first() {
        let r = Registry::default();
        let conn = r.add("127.0.0.1:1".parse().unwrap());
        assert!(r.evict_idlest().is_some());
        let request = conn.begin();
        let limits = Limits::default();
        let mut closing = std::pin::pin!(watchdog(&conn, &limits));
        assert!(poll_once(closing.as_mut()).await.is_none(), "not while the request is in flight");
        drop(request);
        assert_eq!(closing.await, Closed::Evicted);
    }

    /// Polls `fut` once.
    async fn poll_once<F: Future + Unpin>(mut fut: F) -> Option<F::Output> {
        std::future::poll_fn(|cx| {
            Poll::Ready(match Pin::new(&mut fut).poll(cx) {
                Poll::Ready(v) => Some(v),
                Poll::Pending => None,
            })
        })
        .await
    }
}
