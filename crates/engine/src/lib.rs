//! The sync engine: runs sync configurations — one-way arrows from a source tenant to a
//! target tenant — with Entra cross-tenant synchronization's semantics.
//!
//! A cycle reads the source (all of it in an initial cycle; the change feed since the
//! watermark in an incremental one), and for each affected source user decides:
//! **scope** (internal only; assigned or all; scoping filter) → **match** (the target user
//! carrying the anchor `<source tenant>:<source user>`) → **map** (compiled attribute
//! mappings) → **act** (create, update, restore, soft delete, hard delete, or skip). The
//! target writes and the job state, watermark included, commit together: a cycle through
//! its run's [`SyncStore::sync_writer`] (whole batches, several to a transaction), an
//! on-demand provisioning through [`SyncStore::commit_sync`].
//!
//! The engine does no I/O of its own: it talks to storage only through the store traits.

// The modules form a line, each using only those before it (a test below checks it):
// error, context, compile, plan, policy, report, source (the pages of a source an initial
// cycle walks, its own reads or a scan shared by dry runs), tally (what a dry run would write, by
// kind), run (a run's batches, escrows and log
// records), scope (one source user as a configuration sees it), managers, groups, cycle,
// on_demand, predict (a dry run of a cycle), engine, metrics (the jobs' metrics, through the `metrics` facade), scheduler.
mod compile;
mod context;
mod cycle;
mod engine;
mod error;
mod groups;
mod managers;
pub mod metrics;
mod on_demand;
mod plan;
mod policy;
mod predict;
mod report;
mod run;
pub mod scheduler;
mod scope;
mod source;
mod tally;

pub use compile::{Compiled, CompiledGroups, IS_SOFT_DELETED, MappingPreview, NET_ID};
pub use context::Limits;
pub use engine::{Engine, ResetScope};
pub use error::{EngineError, PlanError};
pub use plan::{Action, Plan};
pub use predict::{CreatedMail, MAILS_KEPT, Outcome, PredictArrow, Prediction, mail_hash};
pub use report::{CycleReport, GroupReport};

#[cfg(test)]
mod tests {
    /// The modules in their line: each may use only those before it.
    const LINE: &[(&str, &str)] = &[
        ("error", include_str!("error.rs")),
        ("context", include_str!("context.rs")),
        ("compile", include_str!("compile.rs")),
        ("plan", include_str!("plan.rs")),
        ("policy", include_str!("policy.rs")),
        ("report", include_str!("report.rs")),
        ("source", include_str!("source.rs")),
        ("tally", include_str!("tally.rs")),
        ("run", include_str!("run.rs")),
        ("scope", include_str!("scope.rs")),
        ("managers", include_str!("managers.rs")),
        ("groups", include_str!("groups.rs")),
        ("cycle", include_str!("cycle.rs")),
        ("on_demand", include_str!("on_demand.rs")),
        ("predict", include_str!("predict.rs")),
        ("engine", include_str!("engine.rs")),
        ("metrics", include_str!("metrics.rs")),
        ("scheduler", include_str!("scheduler.rs")),
    ];

    /// The module that defines a name re-exported at the crate's root.
    fn home(name: &str) -> &str {
        match name {
            "EngineError" | "PlanError" => "error",
            "Limits" => "context",
            "Compiled" | "CompiledGroups" | "IS_SOFT_DELETED" | "MappingPreview" | "NET_ID" => "compile",
            "Action" | "Plan" => "plan",
            "Outcome" | "PredictArrow" | "Prediction" => "predict",
            "CycleReport" | "GroupReport" => "report",
            "Engine" | "ResetScope" => "engine",
            module => module,
        }
    }

    /// What a module names through `crate::`: `crate::x::…` and `crate::{a, b::…}`.
    fn uses(source: &str) -> Vec<String> {
        let mut out = Vec::new();
        for (i, _) in source.match_indices("crate::") {
            let rest = &source[i + "crate::".len()..];
            let ident = |s: &str| s.trim_start().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>();
            if let Some(group) = rest.strip_prefix('{') {
                let group = &group[..group.find('}').unwrap_or(group.len())];
                out.extend(group.split(',').map(ident).filter(|n| !n.is_empty()));
            } else {
                out.push(ident(rest));
            }
        }
        out
    }

    #[test]
    fn the_modules_form_a_line() {
        let position = |m: &str| LINE.iter().position(|(name, _)| *name == m);
        for (at, (name, source)) in LINE.iter().enumerate() {
            for used in uses(source) {
                let module = home(&used);
                let Some(p) = position(module) else { panic!("{name}.rs uses crate::{used}, which is in no module of the line") };
                assert!(p < at || module == *name, "{name}.rs uses crate::{used} ({module}.rs), which comes after it in the line");
            }
        }
    }
}
