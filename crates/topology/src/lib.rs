//! Topology as code: one file declares tenants, their cross-tenant access settings and the
//! sync arrows between them (explicitly, or by the `mesh`, `hub` and `consolidate`
//! templates). This crate reads the file ([`model`], TOML with spans: every problem names
//! its line and column), resolves it into a [`State`] ([`resolve`]), compares two states
//! ([`diff`]), draws it ([`draw`]), writes a state back as a file ([`export`]) and gives the file's JSON Schema
//! ([`schema`]). It reads no files: the CLI does. [`stored`] reads the store's entitlement
//! management (through governance and the store's traits) into the state, for the CLI's
//! drawings and the console's topology page alike.
pub mod diff;
pub mod draw;
pub mod error;
pub mod export;
pub mod jit;
pub mod model;
pub mod packages;
pub mod policy;
pub mod resolve;
pub mod state;
pub mod stored;

pub use diff::{ObjectDiff, ObjectKind, Op, SettingChange, diff};
pub use error::{Located, Problem, ProblemKind};
pub use jit::{JitLink, JitSource};
pub use model::TopologyFile;
pub use resolve::Notice;
pub use state::{AccessState, ArrowState, State, TenantState};

/// Reads and resolves the text of a file named `file`: the state it declares and its
/// notices, or its first problem, located.
pub fn load(file: &str, text: &str) -> Result<(State, Vec<(String, Notice)>), Located> {
    let parsed = resolve::parse(text).map_err(|p| p.locate(file, text))?;
    let (state, notices) = resolve::resolve(&parsed).map_err(|p| p.locate(file, text))?;
    let notices = notices
        .into_iter()
        .map(|n| {
            let (line, column) = error::line_column(text, n.span.start);
            (format!("{file}:{line}:{column}"), n)
        })
        .collect();
    Ok((state, notices))
}

/// The JSON Schema of the file, generated from its types, pretty-printed.
pub fn schema() -> String {
    let schema = schemars::schema_for!(TopologyFile);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests;
