//! `tenantsync import`: users in bulk from a CSV or JSON Lines file, with a progress bar
//! and a summary (the import itself is `crate::import`).
use super::args::number;
use super::{Ctx, lookup};
use crate::failure::{CliCode, Context, Failure};
use crate::import::{Format, ImportOptions, ImportReport, Progress, import_users};
use crate::output::out;
use clap::{Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Csv,
    Jsonl,
}

#[derive(Debug, Subcommand)]
pub enum ImportCmd {
    /// Import users from a CSV or JSON Lines file (column or key names = attribute names).
    Users {
        /// Tenant id or initial domain.
        #[arg(long, short)]
        tenant: String,
        /// The file: CSV with a header row of attribute names, or JSON Lines (one object per line).
        file: PathBuf,
        /// The file's format; by default guessed from its name (.csv, .jsonl, .ndjson).
        #[arg(long, value_enum)]
        format: Option<FormatArg>,
        /// Commit every N rows instead of the whole file at once (see docs/cli.md).
        #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = number::<usize, 1>)]
        batch_size: Option<usize>,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
}

/// Row errors printed before the summary line.
const SHOWN_ERRORS: usize = 20;

pub async fn run(ctx: &Ctx, cmd: ImportCmd) -> Result<(), Failure> {
    let ImportCmd::Users { tenant, file, format, batch_size, quiet } = cmd;
    let t = lookup::tenant(ctx.store.as_ref(), &tenant).await?;
    let options = ImportOptions {
        format: format.map(|f| match f {
            FormatArg::Csv => Format::Csv,
            FormatArg::Jsonl => Format::JsonLines,
        }),
        commit_every: batch_size,
    };
    let bar = if quiet || !std::io::stderr().is_terminal() {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr_with_hz(8));
        bar.set_style(
            ProgressStyle::with_template("{spinner} importing [{bar:30}] {bytes}/{total_bytes} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar
    };
    let mut on_progress = |p: Progress| {
        bar.set_length(p.total_bytes);
        bar.set_position(p.bytes);
        bar.set_message(format!("{} rows", p.rows));
    };
    let report = import_users(ctx.store.as_ref(), t.id, &file, &options, &mut on_progress).await.about(String::new)?;
    bar.finish_and_clear();
    summarize(ctx, &report, &t.initial_domain.to_string(), batch_size.is_some())
}

fn summarize(ctx: &Ctx, r: &ImportReport, domain: &str, batched: bool) -> Result<(), Failure> {
    let file = r.file.display().to_string();
    let rate = r.imported as f64 / r.elapsed.as_secs_f64().max(1e-9);
    if ctx.json {
        crate::output::json(&serde_json::json!({
            "file": file,
            "rows": r.rows,
            "imported": r.imported,
            "errorCount": r.error_count,
            "errors": r.errors.iter().map(|e| serde_json::json!({"line": e.line, "code": e.code, "message": e.message})).collect::<Vec<_>>(),
            "lastCommittedLine": r.last_committed_line,
            "seconds": r.elapsed.as_secs_f64(),
        }));
    }
    if r.succeeded() {
        if !ctx.json {
            out!("imported {} users into {domain} from {file} in {:.1}s ({:.0} users/s)", r.imported, r.elapsed.as_secs_f64(), rate);
        }
        return Ok(());
    }
    for e in r.errors.iter().take(SHOWN_ERRORS) {
        crate::output::error(format_args!("{file}:{}: {} [{}]", e.line, e.message.replace('\n', " "), e.code));
    }
    if r.error_count as usize > SHOWN_ERRORS {
        crate::output::error(format_args!("… and {} more bad rows", r.error_count as usize - SHOWN_ERRORS));
    }
    let outcome = match (batched, r.last_committed_line) {
        (false, _) | (true, None) => "nothing was imported".to_owned(),
        (true, Some(line)) => format!("{} rows up to line {line} were imported, nothing after", r.imported),
    };
    let first = r.errors.first().map(|e| e.line).unwrap_or(0);
    Err(Failure::cli(
        format!("{file}:{first}"),
        format!("{} bad row{}; {outcome}", r.error_count, if r.error_count == 1 { "" } else { "s" }),
        CliCode::ImportRejected,
    ))
}
