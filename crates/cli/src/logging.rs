//! The log of `serve`: tracing's events on stderr, one line each, with a UTC timestamp,
//! as text (the default) or as JSON objects (`--log-format json`, or the global
//! `--json`), filtered by `--log-level` (RUST_LOG's syntax and variable: `info`,
//! `warn,tenantsync_server::access=off`, …).
//!
//! Text: `2026-01-02T03:04:05.678901Z  INFO request{id=… peer=… method=GET path=/…}:
//! tenantsync_server::access: answered status=200 ms="0.41"`. JSON: one object a line with
//! `timestamp`, `level`, `target`, `fields` (the message among them) and `span` (the
//! request's fields: `id`, `peer`, `method`, `path`).
use crate::failure::{CliCode, Failure};
use clap::ValueEnum;
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object a line.
    Json,
}

/// The filter when neither `--log-level` nor RUST_LOG names one.
pub const DEFAULT_FILTER: &str = "info";

/// Installs the subscriber of this process. `filter` is a RUST_LOG-style list of
/// directives. Fails on a filter that does not parse, or when one is installed already.
pub fn install(format: LogFormat, filter: &str) -> Result<(), Failure> {
    let filter = EnvFilter::builder()
        .parse(filter)
        .map_err(|e| Failure::cli(format!("--log-level '{filter}'"), format!("not a log filter: {e}"), CliCode::InvalidArgument))?;
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).try_init(),
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(false).try_init(),
    };
    installed.map_err(|e| Failure::cli("log", format!("cannot install the log: {e}"), CliCode::ServeFailed))
}
