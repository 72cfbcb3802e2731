//! `tenantsync serve`: the SCIM 2.0 service provider of every tenant.
use super::Ctx;
use crate::failure::Failure;
use clap::Args;
use std::net::SocketAddr;

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
}

pub async fn run(ctx: &Ctx, args: ServeArgs) -> Result<(), Failure> {
    let subject = || format!("--listen {}", args.listen);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| Failure::new(subject(), format!("cannot listen: {e}"), "listen_failed"))?;
    let addr = listener.local_addr().map_err(|e| Failure::new(subject(), e.to_string(), "listen_failed"))?;
    // The one line scripts wait for (the port is real even with --listen …:0).
    println!("serving SCIM 2.0 on http://{addr}/scim/v2/{{tenant}}/");
    let config = tenantsync_server::Config {
        max_body_bytes: args.max_body_bytes,
        rate_per_second: args.rate_limit,
        rate_burst: args.rate_limit.saturating_mul(2),
    };
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    tenantsync_server::serve(listener, ctx.store.clone(), config, shutdown)
        .await
        .map_err(|e| Failure::new(subject(), format!("server failed: {e}"), "serve_failed"))
}
