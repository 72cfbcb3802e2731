//! `tenantsync serve`: the SCIM 2.0 service provider of every tenant, and every active
//! sync job, event-driven; its log on stderr (`crate::logging`); `/healthz`, `/readyz` and
//! `/metrics` (Prometheus: the server's requests and the engine's jobs, both through the
//! `metrics` facade into the recorder installed here); SIGINT or SIGTERM stops both
//! (`/readyz` fails at once, the listener closes after `--drain-delay`, requests in flight
//! get `--shutdown-grace`, a sync cycle in progress finishes).
use super::Ctx;
use crate::failure::{CliCode, Failure};
use crate::logging::{self, LogFormat};
use clap::Args;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tenantsync_domain::{SyncConfigId, TenantId};
use tenantsync_engine::scheduler::{self, JobEvent, SchedulerOptions};
use tenantsync_server::{Limits, Metrics, Ops, PublicUrl, Serving};
use tenantsync_store::{Store, SyncStore};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The URL clients reach this server at (scheme, host, optional port and path prefix):
    /// the base of every Location and meta.location. Default: http:// and the listen
    /// address.
    #[arg(long, value_parser = PublicUrl::parse)]
    pub public_url: Option<PublicUrl>,
    /// Behind a reverse proxy: take the scheme and host of URLs from its X-Forwarded-Proto
    /// and X-Forwarded-Host (when well-formed) and the request id from its X-Request-Id.
    #[arg(long)]
    pub trust_proxy: bool,
    /// Requests per second allowed per token (0: no limit); bursts may reach twice this.
    #[arg(long, default_value_t = 1000)]
    pub rate_limit: u32,
    /// Largest request body accepted, in bytes (larger ones get 413).
    #[arg(long, default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Time a client has to send a request head (10s, 500ms, 2m; plain numbers are
    /// seconds; 0: no limit).
    #[arg(long, default_value = "10s", value_parser = duration)]
    pub header_read_timeout: Duration,
    /// Time a client has to send a whole request body, after its head (later: 408).
    #[arg(long, default_value = "30s", value_parser = duration)]
    pub body_read_timeout: Duration,
    /// Time a kept-alive connection may wait for its next request.
    #[arg(long, default_value = "60s", value_parser = duration)]
    pub idle_timeout: Duration,
    /// Connections served at once; at the cap the longest-idle one is closed for a new
    /// one, or the new one waits. Default: the open-file limit less 64, at most 1024.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: Option<u32>,
    /// Time requests in flight get to finish on SIGINT or SIGTERM; then every connection
    /// is closed.
    #[arg(long, default_value = "10s", value_parser = duration)]
    pub shutdown_grace: Duration,
    /// Time between SIGINT or SIGTERM and closing the listener, during which /readyz
    /// answers 503 and requests are served as usual (a load balancer's time to stop
    /// sending any).
    #[arg(long, default_value = "0s", value_parser = duration)]
    pub drain_delay: Duration,
    /// Serve /metrics only to requests bearing this token (Authorization: Bearer …);
    /// without it, /metrics is open to whoever reaches the server.
    #[arg(long, env = "TENANTSYNC_METRICS_TOKEN", hide_env_values = true, value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub metrics_token: Option<String>,
    /// Log lines as text or as JSON objects (the global --json also selects JSON).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Which log lines to write, RUST_LOG's syntax: a level (error, warn, info, debug,
    /// trace) and per-target levels (info,tenantsync_server::access=off).
    #[arg(long, env = "RUST_LOG", default_value = logging::DEFAULT_FILTER)]
    pub log_level: String,
    /// Seconds between the safety-net runs of every sync job (commits wake jobs at once).
    #[arg(long, default_value_t = 2400)]
    pub sync_interval: u64,
    /// Days provisioning logs are kept (0: forever); older records are purged on every
    /// safety-net run.
    #[arg(long, default_value_t = 30)]
    pub log_retention_days: u64,
    /// How often entitlement management's due work is done (escalations, automatic
    /// denials, reminders, expiries, guest deletions, auto-assignment grace periods) and
    /// its outbox sent; auto-assignment rules are also evaluated on every commit.
    #[arg(long, default_value = "30s", value_parser = duration)]
    pub access_interval: Duration,
    /// The SMTP relay entitlement management's notifications are sent through
    /// (smtp://host[:port]); without it they stay in the outbox (`access outbox`).
    #[arg(long, env = "TENANTSYNC_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// The sender of those notifications.
    #[arg(long, default_value = "tenantsync <noreply@localhost>")]
    pub mail_from: String,
    /// A webhook the notifications are also posted to, as signed JSON (http[s]://host[:port]/path).
    #[arg(long, env = "TENANTSYNC_WEBHOOK_URL", requires = "webhook_secret_file")]
    pub webhook_url: Option<String>,
    /// The file holding the secret that signs the webhook's posts (HMAC-SHA256).
    #[arg(long, requires = "webhook_url")]
    pub webhook_secret_file: Option<std::path::PathBuf>,
    /// A PEM file of CA certificates an https webhook's certificate may also be signed by
    /// (besides the Web PKI's roots): for a receiver with an internal CA's certificate.
    #[arg(long, requires = "webhook_url")]
    pub webhook_ca_file: Option<std::path::PathBuf>,
    /// Do not serve the web console at / (admin pages and My Access).
    #[arg(long)]
    pub no_console: bool,
    /// A console session unused this long ends.
    #[arg(long, default_value = "30m", value_parser = duration)]
    pub console_idle_timeout: Duration,
    /// A console session ends this long after sign-in, used or not.
    #[arg(long, default_value = "8h", value_parser = duration)]
    pub console_absolute_timeout: Duration,
    /// Speak HTTPS with this certificate chain (PEM, the server's certificate first);
    /// with --tls-key. Console cookies are then Secure.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,
}

/// `10s`, `500ms`, `2m`, `1m 30s` (jiff's friendly format or ISO 8601), or seconds.
fn duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let d: jiff::SignedDuration = s.parse().map_err(|e| format!("expected seconds or a duration such as 10s, 500ms or 2m ({e})"))?;
    Duration::try_from(d).map_err(|_| "a duration cannot be negative".to_owned())
}

pub async fn run(ctx: &Ctx, args: ServeArgs) -> Result<(), Failure> {
    // Settings checked before anything is logged or bound: a bad one is the only line.
    let mailer = match &args.smtp_url {
        Some(url) => Some(Arc::new(
            tenantsync_mail::SmtpMailer::new(url, &args.mail_from).map_err(|e| Failure::cli("--smtp-url", e.to_string(), CliCode::InvalidArgument))?,
        )),
        None => None,
    };
    if args.console_idle_timeout.is_zero() || args.console_absolute_timeout.is_zero() {
        return Err(Failure::cli("--console-idle-timeout", "console timeouts must be longer than 0", CliCode::InvalidArgument));
    }
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(tenantsync_server::Tls::from_pem_files(cert, key).map_err(|e| {
            let flag = if e.file == *cert { "--tls-cert" } else { "--tls-key" };
            Failure::cli(format!("{flag} {}", e.file.display()), e.reason, CliCode::InvalidArgument)
        })?),
        _ => None,
    };
    let webhook = match (&args.webhook_url, &args.webhook_secret_file) {
        (Some(url), Some(file)) => {
            let secret =
                std::fs::read(file).map_err(|e| Failure::cli(format!("--webhook-secret-file {}", file.display()), e.to_string(), CliCode::InvalidArgument))?;
            let secret = secret.trim_ascii();
            let webhook = match &args.webhook_ca_file {
                None => tenantsync_mail::Webhook::new(url, secret).map_err(|e| Failure::cli("--webhook-url", e.to_string(), CliCode::InvalidArgument)),
                Some(ca) => {
                    let named = || format!("--webhook-ca-file {}", ca.display());
                    let pem = std::fs::read(ca).map_err(|e| Failure::cli(named(), e.to_string(), CliCode::InvalidArgument))?;
                    tenantsync_mail::Webhook::trusting(url, secret, &pem).map_err(|e| match e {
                        tenantsync_mail::MailError::BadCa { reason } => Failure::cli(named(), reason, CliCode::InvalidArgument),
                        other => Failure::cli("--webhook-url", other.to_string(), CliCode::InvalidArgument),
                    })
                }
            };
            Some(webhook?)
        }
        _ => None,
    };
    logging::install(if ctx.json { LogFormat::Json } else { args.log_format }, &args.log_level)?;
    // Before anything records: the server's requests and the scheduler's jobs.
    let metrics = Metrics::install(&[(tenantsync_engine::metrics::CYCLE_DURATION, tenantsync_engine::metrics::CYCLE_BUCKETS)])
        .map_err(|e| Failure::cli("metrics", e, CliCode::ServeFailed))?;
    let subject = || format!("--listen {}", args.listen);
    let listener =
        tokio::net::TcpListener::bind(args.listen).await.map_err(|e| Failure::cli(subject(), format!("cannot listen: {e}"), CliCode::ListenFailed))?;
    let addr = listener.local_addr().map_err(|e| Failure::cli(subject(), e.to_string(), CliCode::ListenFailed))?;
    // Registered before anyone can know the port: a signal from then on stops gracefully.
    let stop = Signals::register().map_err(|e| Failure::cli("signals", e.to_string(), CliCode::ServeFailed))?;
    // The one line scripts wait for (the port is real even with --listen …:0).
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!("serving SCIM 2.0 on {scheme}://{addr}/scim/v2/{{tenant}}/");
    let public_url = args.public_url.clone().unwrap_or_else(|| {
        let listen = PublicUrl::from_listen(addr);
        if tls.is_some() { listen.with_https() } else { listen }
    });
    let limits = Limits {
        header_read_timeout: args.header_read_timeout,
        body_read_timeout: args.body_read_timeout,
        idle_timeout: args.idle_timeout,
        max_connections: args.max_connections.map_or_else(tenantsync_server::http::default_max_connections, |n| n as usize),
        shutdown_grace: args.shutdown_grace,
    };
    announce(addr, &public_url, &args, &limits);
    let config = tenantsync_server::Config {
        max_body_bytes: args.max_body_bytes,
        rate_per_second: args.rate_limit,
        rate_burst: args.rate_limit.saturating_mul(2),
        access: ctx.access.clone().map(tenantsync_governance::Governance::new),
        console: (!args.no_console).then(|| tenantsync_server::console::ConsoleConfig {
            store: ctx.console.clone(),
            idle_timeout: args.console_idle_timeout,
            absolute_timeout: args.console_absolute_timeout,
            secure_cookies: public_url.is_https() || tls.is_some(),
            mailer: mailer.clone().map(|m| m as Arc<dyn tenantsync_governance::Mailer>),
        }),
    };
    // Every active sync job runs beside the server, woken by commits (SCIM writes
    // included); a signal stops both, letting a cycle in progress finish.
    let (stop_jobs, stopped) = tokio::sync::watch::channel(false);
    let engine = tenantsync_engine::Engine::new(ctx.sync.clone());
    let options = SchedulerOptions {
        interval: Duration::from_secs(args.sync_interval.max(1)),
        log_retention: (args.log_retention_days > 0).then(|| Duration::from_secs(args.log_retention_days.saturating_mul(86_400))),
        ..SchedulerOptions::default()
    };
    let access = ctx
        .access
        .clone()
        .map(|store| tokio::spawn(access_loop(tenantsync_governance::Governance::new(store), mailer, webhook, args.access_interval, stopped.clone())));
    let connectors = tokio::spawn(tenantsync_connectors::worker::run(ctx.connectors.clone(), ctx.secret_key_file.clone(), stopped.clone()));
    let (events, received) = tokio::sync::mpsc::unbounded_channel();
    let logger = tokio::spawn(log_events(ctx.store.clone(), ctx.sync.clone(), received));
    let jobs = tokio::spawn(async move {
        let mut stopped = stopped;
        let until = async move {
            let _ = stopped.wait_for(|s| *s).await;
        };
        scheduler::run(&engine, options, until, move |e| {
            let _ = events.send(e);
        })
        .await
    });
    let shutdown = async move {
        let signal = stop.received().await;
        tracing::info!("{signal}: shutting down");
        let _ = stop_jobs.send(true);
    };
    let ops = Ops::default().with_metrics(metrics, args.metrics_token.as_deref()).with_drain_delay(args.drain_delay);
    let serving = Serving { public_url, trust_proxy: args.trust_proxy, limits, ops, tls };
    let served = tenantsync_server::serve_with(listener, ctx.sync.clone(), config, serving, shutdown)
        .await
        .map_err(|e| Failure::cli(subject(), format!("server failed: {e}"), CliCode::ServeFailed));
    let jobs = jobs.await;
    let _ = logger.await;
    let _ = connectors.await;
    if let Some(access) = access {
        let _ = access.await;
    }
    match jobs {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(Failure::new("sync jobs", e.to_string(), e.code())),
        Err(e) => return Err(Failure::cli("sync jobs", e.to_string(), CliCode::ServeFailed)),
    }
    if served.is_ok() {
        tracing::info!("stopped");
    }
    served
}

/// Entitlement management beside the server: what the clock made due, then the outbox
/// (by mail, by webhook), every `interval` until the stop.
async fn access_loop(
    gov: tenantsync_governance::Governance,
    mailer: Option<Arc<tenantsync_mail::SmtpMailer>>,
    webhook: Option<tenantsync_mail::Webhook>,
    interval: Duration,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    let interval = interval.max(Duration::from_secs(1));
    let mut commits = gov.store().subscribe();
    loop {
        match gov.sweep().await {
            Ok(r) if r != tenantsync_governance::SweepReport::default() => {
                tracing::info!(
                    requests = r.requests,
                    reminders = r.reminders,
                    assignments_ended = r.assignments_ended,
                    guests_deleted = r.guests_deleted,
                    reviews_opened = r.reviews_opened,
                    reviews_closed = r.reviews_closed,
                    auto_assigned = r.auto_assigned,
                    auto_removed = r.auto_removed,
                    "access sweep"
                );
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, code = e.code(), "access sweep failed"),
        }
        if mailer.is_some() || webhook.is_some() {
            let mail = mailer.as_deref().map(|m| m as &dyn tenantsync_governance::Mailer);
            let hook = webhook.as_ref().map(|w| w as &dyn tenantsync_governance::Notifier);
            match gov.deliver_outbox(mail, hook).await {
                Ok(r) if r.sent + r.deferred > 0 => tracing::info!(sent = r.sent, deferred = r.deferred, "access outbox"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, code = e.code(), "access outbox failed"),
            }
        }
        // Until the next sweep, each commit re-evaluates its tenant's auto-assignment
        // policies (from their watermarks: only what changed); a pass that failed (the
        // store busy with another process's write) is tried again a moment later.
        let next = tokio::time::sleep(interval);
        tokio::pin!(next);
        let mut dirty = std::collections::BTreeSet::new();
        loop {
            // Decided first, acted on after: nothing of the select is held across the work.
            let notice = tokio::select! {
                () = &mut next => break,
                _ = stopped.wait_for(|s| *s) => return,
                notice = commits.recv() => Some(notice),
                () = tokio::time::sleep(AUTO_RETRY), if !dirty.is_empty() => None,
            };
            match notice {
                Some(Ok(n)) => {
                    dirty.insert(n.tenant_id);
                }
                // Notices lost or the store gone: the sweep catches up from the watermarks.
                Some(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) | None => {}
                Some(Err(tokio::sync::broadcast::error::RecvError::Closed)) => {
                    next.as_mut().await;
                    break;
                }
            }
            for tenant in std::mem::take(&mut dirty) {
                let mut r = tenantsync_governance::AutoReport::default();
                match gov.auto_assign_tenant(tenant, &mut r).await {
                    Ok(()) if r.assigned + r.removed > 0 => tracing::info!(assigned = r.assigned, removed = r.removed, "access auto-assignment"),
                    Ok(()) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, code = e.code(), "access auto-assignment failed; trying again");
                        dirty.insert(tenant);
                    }
                }
            }
        }
    }
}

/// The wait before a failed auto-assignment pass is tried again.
const AUTO_RETRY: Duration = Duration::from_millis(500);

/// The log lines that say how the server runs.
fn announce(addr: SocketAddr, public_url: &PublicUrl, args: &ServeArgs, limits: &Limits) {
    tracing::info!(%addr, public_url = %public_url, trust_proxy = args.trust_proxy, "serving SCIM 2.0 at {public_url}/scim/v2/{{tenant}}/");
    tracing::info!(
        header_read_timeout = ?limits.header_read_timeout,
        body_read_timeout = ?limits.body_read_timeout,
        idle_timeout = ?limits.idle_timeout,
        max_connections = limits.max_connections,
        shutdown_grace = ?limits.shutdown_grace,
        drain_delay = ?args.drain_delay,
        max_body_bytes = args.max_body_bytes,
        rate_limit = args.rate_limit,
        "limits"
    );
    tracing::info!(
        metrics_token = args.metrics_token.is_some(),
        "operations: /healthz, /readyz, /metrics ({})",
        if args.metrics_token.is_some() { "with the metrics token" } else { "open: firewall it, or set --metrics-token" }
    );
    if args.public_url.is_none() && public_url.is_local_only() {
        tracing::warn!("listening on every address without --public-url: answers name http://localhost:{}; set --public-url", addr.port());
    }
    if let Some(files) = tenantsync_server::http::open_file_limit()
        && limits.max_connections as u64 + 32 > files
    {
        tracing::warn!(open_file_limit = files, "--max-connections {} leaves too few of the {files} open files for the database", limits.max_connections);
    }
}

/// SIGINT (Ctrl-C) and SIGTERM.
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn register() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self { interrupt: signal(SignalKind::interrupt())?, terminate: signal(SignalKind::terminate())? })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    /// Completes on the first signal, and names it.
    async fn received(mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => "SIGINT",
                _ = self.terminate.recv() => "SIGTERM",
            }
        }
        #[cfg(not(unix))]
        {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
            "Ctrl-C"
        }
    }
}

/// Logs each job event, naming its configuration by its tenants' domains.
async fn log_events(store: Arc<dyn Store>, sync: Arc<dyn SyncStore>, mut events: tokio::sync::mpsc::UnboundedReceiver<JobEvent>) {
    while let Some(event) = events.recv().await {
        match event {
            JobEvent::Ran { id, report: r } if r.created + r.updated + r.restored + r.soft_deleted + r.hard_deleted + r.escrowed + r.staged_deletes > 0 => {
                let name = name(store.as_ref(), sync.as_ref(), id).await;
                tracing::info!(
                    config_id = %id,
                    "sync {name}: {} cycle: {} created, {} updated, {} restored, {} soft-deleted, {} hard-deleted, {} escrowed, {} staged",
                    if r.initial { "initial" } else { "incremental" },
                    r.created,
                    r.updated,
                    r.restored,
                    r.soft_deleted,
                    r.hard_deleted,
                    r.escrowed,
                    r.staged_deletes
                );
            }
            JobEvent::Ran { .. } => {}
            JobEvent::Failed { id, code, message } => {
                let name = name(store.as_ref(), sync.as_ref(), id).await;
                tracing::error!(config_id = %id, code, "sync {name}: {message} [{code}]");
            }
            JobEvent::Busy { id } => {
                let name = name(store.as_ref(), sync.as_ref(), id).await;
                tracing::warn!(config_id = %id, "sync {name}: running in another process on this data directory; this one leaves it alone [job_running]");
            }
        }
    }
}

/// `source.example → target.example` (the tenants' initial domains), or the id when the
/// configuration is gone.
async fn name(store: &dyn Store, sync: &dyn SyncStore, id: SyncConfigId) -> String {
    async fn domain(store: &dyn Store, t: TenantId) -> String {
        store.get_tenant(t).await.map(|t| t.initial_domain.to_string()).unwrap_or_else(|_| t.to_string())
    }
    match sync.get_sync_configuration(id).await {
        Ok(c) => format!("{} → {}", domain(store, c.source_tenant_id).await, domain(store, c.target_tenant_id).await),
        Err(_) => id.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_seconds_or_with_units() {
        assert_eq!(duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(duration("200ms"), Ok(Duration::from_millis(200)));
        assert_eq!(duration("1m 30s"), Ok(Duration::from_secs(90)));
        assert_eq!(duration("0"), Ok(Duration::ZERO));
        assert!(duration("-5s").is_err());
        assert!(duration("soon").is_err());
    }
}
