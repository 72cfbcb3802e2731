//! Topology as code: `plan FILE`, `apply FILE`, `export`, and `topology schema|show|draw`.
//! The file is read and resolved by `tenantsync-topology`; this module reads the store's
//! state in the same terms (`current`), plans (`plan`: the diff, each new or changed
//! arrow's next cycle from the engine's dry run, the warnings), applies (`apply`), and
//! shows the topology (`show`, `draw`).
pub(crate) mod apply;
pub(crate) mod current;
mod draw;
pub(crate) mod packages;
pub(crate) mod plan;

use super::Ctx;
use crate::failure::{CliCode, Failure};
use crate::output::{self, out};
use clap::{Args, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tenantsync_topology::{Located, Notice, ProblemKind, State};

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The topology file (TOML).
    pub file: PathBuf,
    /// Only compare the store with the file (no prediction of cycles): exits 2 when settings were changed outside the file.
    #[arg(long)]
    pub detect_drift: bool,
    /// Objects named per kind of outcome of a predicted cycle.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = super::args::number::<usize, 0>)]
    pub samples: usize,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The topology file (TOML).
    pub file: PathBuf,
    /// Also delete the arrows and access settings the file no longer declares (tenants are never deleted).
    #[arg(long)]
    pub prune: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Write the file here instead of to standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

/// How `topology draw` draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DrawFormat {
    /// Graphviz's DOT language.
    Dot,
    /// A Mermaid flowchart.
    Mermaid,
    /// An SVG image, laid out by layout-rs.
    Svg,
}

#[derive(Debug, Subcommand)]
pub enum TopologyCmd {
    /// Print the JSON Schema of topology files (for editors).
    Schema,
    /// Per tenant: who it receives from, who it sends to, and whose people can appear in it.
    Show {
        /// Show the topology a file declares instead of the store's.
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Draw the topology: tenants as nodes, arrows labelled with their scope and live counts.
    Draw {
        /// Draw the topology a file declares instead of the store's (no live counts).
        #[arg(long)]
        file: Option<PathBuf>,
        /// The drawing's language.
        #[arg(long, value_enum, default_value = "mermaid")]
        format: DrawFormat,
    },
}

/// The CLI's code of a problem in a file.
pub(crate) fn code(l: &Located) -> &'static str {
    if let Some(code) = l.code {
        return code;
    }
    match l.kind {
        ProblemKind::Syntax => CliCode::TopologySyntax.code(),
        ProblemKind::UnknownTenant => CliCode::UnknownTenant.code(),
        ProblemKind::DuplicateTenant => CliCode::DuplicateTenant.code(),
        ProblemKind::DuplicateArrow => CliCode::DuplicateArrow.code(),
        ProblemKind::InvalidSetting => CliCode::InvalidTopology.code(),
    }
}

/// A file read and resolved: its name as given, its text, the state it declares and its
/// notices (`FILE:LINE:COL`, notice).
pub(crate) struct Loaded {
    pub name: String,
    pub text: String,
    pub state: State,
    pub notices: Vec<(String, Notice)>,
}

impl Loaded {
    /// `FILE:LINE:COL` of byte `offset`.
    pub fn place(&self, offset: usize) -> String {
        let (line, column) = tenantsync_topology::error::line_column(&self.text, offset);
        format!("{}:{line}:{column}", self.name)
    }
}

pub(crate) fn load(path: &Path) -> Result<Loaded, Failure> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| Failure::cli(name.clone(), e.to_string(), CliCode::UnreadableFile))?;
    let (state, notices) = tenantsync_topology::load(&name, &text).map_err(|l| Failure::new(l.place(), l.message.clone(), code(&l)))?;
    Ok(Loaded { name, text, state, notices })
}

pub async fn plan(ctx: &Ctx, a: PlanArgs) -> Result<ExitCode, Failure> {
    let file = load(&a.file)?;
    let current = current::read(ctx).await?;
    let planned = plan::plan(ctx, &file, &current, !a.detect_drift, a.samples).await?;
    plan::print(ctx, &planned, a.detect_drift);
    Ok(if planned.diffs.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

pub async fn apply(ctx: &Ctx, a: ApplyArgs) -> Result<ExitCode, Failure> {
    let file = load(&a.file)?;
    let outcome = apply::apply(ctx, &file, a.prune).await?;
    apply::print(ctx, &outcome);
    Ok(ExitCode::SUCCESS)
}

pub async fn export(ctx: &Ctx, a: ExportArgs) -> Result<(), Failure> {
    let current = current::read(ctx).await?;
    let text = tenantsync_topology::export::text(&current.state).map_err(|e| Failure::cli("export", e.to_string(), CliCode::OutputFailed))?;
    match &a.output {
        Some(path) => {
            std::fs::write(path, &text).map_err(|e| Failure::cli(path.display().to_string(), e.to_string(), CliCode::UnreadableFile))?;
            ctx.done(&serde_json::json!({ "file": path.display().to_string(), "bytes": text.len() }), || format!("wrote {}", path.display()));
        }
        None if ctx.json => output::json(&serde_json::json!({ "file": text })),
        None => out!("{}", text.trim_end()),
    }
    Ok(())
}

/// Prints the JSON Schema of topology files (it is JSON with or without `--json`).
pub fn schema() -> Result<(), Failure> {
    out!("{}", tenantsync_topology::schema().trim_end());
    Ok(())
}

pub async fn run(ctx: &Ctx, cmd: TopologyCmd) -> Result<(), Failure> {
    match cmd {
        TopologyCmd::Schema => schema()?,
        TopologyCmd::Show { file } => {
            let (state, live) = draw::source(ctx, file.as_deref()).await?;
            draw::show(ctx, &state, live.as_ref());
        }
        TopologyCmd::Draw { file, format } => {
            let (state, live) = draw::source(ctx, file.as_deref()).await?;
            draw::draw(ctx, &state, live.as_ref(), format);
        }
    }
    Ok(())
}
