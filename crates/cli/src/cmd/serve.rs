//! `tenantsync serve`: the SCIM 2.0 service provider of every tenant, and every active
//! sync job, event-driven.
use super::Ctx;
use crate::failure::{CliCode, Failure};
use clap::Args;
use std::net::SocketAddr;
use tenantsync_engine::scheduler::{self, JobEvent, SchedulerOptions};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Requests per second allowed per token (0: no limit); bursts may reach twice this.
    #[arg(long, default_value_t = 1000)]
    pub rate_limit: u32,
    /// Largest request body accepted, in bytes (larger ones get 413).
    #[arg(long, default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Seconds between the safety-net runs of every sync job (commits wake jobs at once).
    #[arg(long, default_value_t = 2400)]
    pub sync_interval: u64,
    /// Days provisioning logs are kept (0: forever); older records are purged on every
    /// safety-net run.
    #[arg(long, default_value_t = 30)]
    pub log_retention_days: u64,
}

pub async fn run(ctx: &Ctx, args: ServeArgs) -> Result<(), Failure> {
    let subject = || format!("--listen {}", args.listen);
    let listener =
        tokio::net::TcpListener::bind(args.listen).await.map_err(|e| Failure::cli(subject(), format!("cannot listen: {e}"), CliCode::ListenFailed))?;
    let addr = listener.local_addr().map_err(|e| Failure::cli(subject(), e.to_string(), CliCode::ListenFailed))?;
    // The one line scripts wait for (the port is real even with --listen …:0).
    println!("serving SCIM 2.0 on http://{addr}/scim/v2/{{tenant}}/");
    let config =
        tenantsync_server::Config { max_body_bytes: args.max_body_bytes, rate_per_second: args.rate_limit, rate_burst: args.rate_limit.saturating_mul(2) };
    // Every active sync job runs beside the server, woken by commits (SCIM writes
    // included); Ctrl-C stops both, letting a cycle in progress finish.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let engine = tenantsync_engine::Engine::new(ctx.sync.clone());
    let options = SchedulerOptions {
        interval: std::time::Duration::from_secs(args.sync_interval.max(1)),
        log_retention: (args.log_retention_days > 0).then(|| std::time::Duration::from_secs(args.log_retention_days.saturating_mul(86_400))),
        ..SchedulerOptions::default()
    };
    let jobs = tokio::spawn(async move {
        let mut stopped = stopped;
        let until = async move {
            let _ = stopped.wait_for(|s| *s).await;
        };
        scheduler::run(&engine, options, until, report).await
    });
    let shutdown = async move {
        let _ = tokio::signal::ctrl_c().await;
        let _ = stop.send(true);
    };
    let served = tenantsync_server::serve(listener, ctx.store.clone(), config, shutdown)
        .await
        .map_err(|e| Failure::cli(subject(), format!("server failed: {e}"), CliCode::ServeFailed));
    match jobs.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(Failure::new("sync jobs", e.to_string(), e.code())),
        Err(e) => return Err(Failure::cli("sync jobs", e.to_string(), CliCode::ServeFailed)),
    }
    served
}

/// One line per job event, on stderr.
fn report(event: JobEvent) {
    match event {
        JobEvent::Ran { id, report: r } if r.created + r.updated + r.restored + r.soft_deleted + r.hard_deleted + r.escrowed + r.staged_deletes > 0 => {
            eprintln!(
                "sync {id}: {} cycle: {} created, {} updated, {} restored, {} soft-deleted, {} hard-deleted, {} escrowed, {} staged",
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
        JobEvent::Failed { id, code, message } => eprintln!("sync {id}: {message} [{code}]"),
        JobEvent::Busy { id } => eprintln!("sync {id}: running in another process on this data directory; this one leaves it alone [job_running]"),
    }
}
