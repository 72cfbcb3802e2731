//! The tenantsync command line: argument parsing, wiring of the store, and the
//! commands. The binary (`main.rs`) only calls [`run`].
//!
//! Everything is printed through `output` (it ends the process quietly when the reader
//! of a pipe goes away): `println!` and `eprintln!` are refused here.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod cli;
pub mod cmd;
pub mod failure;
pub mod generate;
pub mod import;
pub mod logging;
pub mod output;
mod usage;

pub use failure::Failure;

/// mimalloc instead of the system allocator: a sync cycle allocates and frees per user
/// on one thread what another thread made (records built by the planner are freed after
/// the writer thread commits them), where glibc's arenas spent a fifth of the cycle's
/// time. Declared in the library so the binary, its tests and its benchmarks all use it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use cli::{Cli, Command};
use cmd::Ctx;
use std::process::ExitCode;

/// Parses the arguments, runs the command, prints any failure on one line, and returns
/// the process exit code (0 success, 1 error, 2 changes pending).
pub fn run(args: impl IntoIterator<Item = std::ffi::OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => match usage::failure(&e) {
            None => {
                let _ = e.print(); // --help, --version
                return ExitCode::SUCCESS;
            }
            Some(failure) => {
                output::error(format_args!("error: {failure}"));
                return ExitCode::from(1);
            }
        },
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            output::error(format_args!("error: cannot start the runtime: {e}"));
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(code) => code,
        Err(failure) => {
            output::error(format_args!("error: {failure}"));
            ExitCode::from(1)
        }
    }
}

/// Runs the command the line names, with the store of the data directory (`expr` needs none).
async fn dispatch(cli: Cli) -> Result<ExitCode, Failure> {
    let command = match cli.command {
        Command::Expr(c) => return cmd::expr::run(&c, cli.json),
        // These two copy the database file itself: they do not open the store first.
        Command::Backup(_) | Command::Restore(_) if cli.database_url.is_some() => {
            return Err(Failure::cli(
                "--database-url",
                "backup and restore copy an SQLite data directory; back a PostgreSQL database up with its own tools (pg_dump, base backups)",
                failure::CliCode::InvalidArgument,
            ));
        }
        Command::Backup(a) => return cmd::backup::backup(&cli.data_dir, cli.json, a).map(|()| ExitCode::SUCCESS),
        Command::Restore(a) => return cmd::backup::restore(&cli.data_dir, cli.json, a).map(|()| ExitCode::SUCCESS),
        // Names both of its stores itself.
        Command::Migrate(a) => return cmd::migrate::run(cli.json, a).await.map(|()| ExitCode::SUCCESS),
        Command::Topology(cmd::topology::TopologyCmd::Schema) => return cmd::topology::schema().map(|()| ExitCode::SUCCESS),
        other => other,
    };
    let ctx = Ctx::open(&cli.data_dir, cli.database_url.as_deref(), cli.json).await?;
    match command {
        Command::Tenant(c) => cmd::tenant::run(&ctx, c).await,
        Command::User(c) => cmd::user::run(&ctx, c).await,
        Command::Group(c) => cmd::group::run(&ctx, c).await,
        Command::Import(c) => cmd::import::run(&ctx, c).await,
        Command::Changes(a) => cmd::changes::run(&ctx, a).await,
        Command::Purge(a) => cmd::purge::run(&ctx, a).await,
        Command::Demo(a) => cmd::demo::run(&ctx, a).await,
        Command::Serve(a) => cmd::serve::run(&ctx, a).await,
        Command::Token(c) => cmd::token::run(&ctx, c).await,
        Command::Partner(c) => cmd::partner::run(&ctx, c).await,
        Command::Sync(c) => cmd::sync::run(&ctx, c).await,
        Command::Access(c) => cmd::access::run(&ctx, c).await,
        Command::Connector(c) => cmd::connector::run(&ctx, c).await,
        Command::Plan(a) => return cmd::topology::plan(&ctx, a).await,
        Command::Apply(a) => return cmd::topology::apply(&ctx, a).await,
        Command::Export(a) => cmd::topology::export(&ctx, a).await,
        Command::Topology(c) => cmd::topology::run(&ctx, c).await,
        Command::Expr(_) | Command::Backup(_) | Command::Restore(_) | Command::Migrate(_) => Ok(()), // handled above: they open no store of the global options
    }?;
    Ok(ExitCode::SUCCESS)
}
