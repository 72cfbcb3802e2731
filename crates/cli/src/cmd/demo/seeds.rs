//! The seed topologies as code: each is one of the files of `examples/` (embedded in the
//! binary), planned — the changes, and what each new arrow's first cycle would do — and
//! applied the way `tenantsync plan` and `tenantsync apply` do it.
use crate::cmd::Ctx;
use crate::cmd::topology::{Loaded, apply, current, plan};
use crate::failure::Failure;
use crate::output::out;
use serde::Serialize;
use tenantsync_domain::SyncConfigId;
use tenantsync_engine::CycleReport;
use tenantsync_topology::{ObjectKind, Op};

/// A seed topology: what it is and the file that declares it.
pub(super) struct Seed {
    pub topology: &'static str,
    pub file: &'static str,
    pub text: &'static str,
}

/// The joint venture: an access package rather than standing sync.
pub(super) const JOINT_VENTURE: Seed =
    Seed { topology: "just-in-time (joint venture)", file: "examples/joint-venture.toml", text: include_str!("../../../../../examples/joint-venture.toml") };

/// The seed topologies, in the order their arrows run.
pub(super) const SEEDS: &[Seed] = &[
    Seed { topology: "1:1 production -> test", file: "examples/one-to-one.toml", text: include_str!("../../../../../examples/one-to-one.toml") },
    Seed { topology: "1:N user hub -> resource tenants", file: "examples/hub.toml", text: include_str!("../../../../../examples/hub.toml") },
    Seed { topology: "N:1 acquired companies -> parent", file: "examples/consolidate.toml", text: include_str!("../../../../../examples/consolidate.toml") },
    Seed { topology: "N:N portfolio mesh", file: "examples/mesh.toml", text: include_str!("../../../../../examples/mesh.toml") },
    JOINT_VENTURE,
];

impl Seed {
    /// The file, read and resolved as `plan` and `apply` read theirs.
    pub fn load(&self) -> Result<Loaded, Failure> {
        let (state, notices) =
            tenantsync_topology::load(self.file, self.text).map_err(|l| Failure::new(l.place(), l.message.clone(), crate::cmd::topology::code(&l)))?;
        Ok(Loaded { name: self.file.to_owned(), text: self.text.to_owned(), state, notices })
    }

    /// The tenants the file declares, by initial domain (lowercase), in the order it declares them.
    pub fn domains(&self) -> Vec<String> {
        match tenantsync_topology::resolve::parse(self.text) {
            Ok(f) => f.tenants.iter().map(|t| t.domain.get_ref().trim().to_ascii_lowercase()).collect(),
            Err(_) => Vec::new(),
        }
    }
}

/// One arrow the plan would create or change, with its predicted next cycle.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Predicted {
    pub source: String,
    pub target: String,
    pub op: Op,
    #[serde(skip)]
    pub report: Option<CycleReport>,
    pub next_cycle: serde_json::Value,
}

/// What planning and applying one file did.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Applied {
    pub file: &'static str,
    pub topology: &'static str,
    /// Objects of the file the store lacked or held otherwise (objects of the other files aside).
    pub to_add: usize,
    pub to_change: usize,
    pub arrows: Vec<Predicted>,
    pub warnings: Vec<String>,
    /// Objects apply wrote.
    pub written: usize,
}

/// Plans `seed` against the store, then applies it.
pub(super) async fn plan_and_apply(ctx: &Ctx, seed: &Seed) -> Result<Applied, Failure> {
    let file = seed.load()?;
    let current = current::read(ctx).await?;
    let planned = plan::plan(ctx, &file, &current, true, 0).await?;
    let count = |op: Op| planned.diffs.iter().filter(|d| d.op == op).count();
    let mut arrows = Vec::new();
    for d in planned.diffs.iter().filter(|d| d.kind == ObjectKind::Arrow && d.op != Op::Remove) {
        let Some((source, target)) = d.object.split_once(" → ") else { continue };
        let prediction = planned.next.iter().find(|n| n.arrow == d.object).and_then(|n| n.prediction.as_ref());
        arrows.push(Predicted {
            source: source.to_owned(),
            target: target.to_owned(),
            op: d.op,
            report: prediction.map(|p| p.report.clone()),
            next_cycle: prediction.map_or(serde_json::Value::Null, plan::prediction_json),
        });
    }
    let order = seed.domains();
    let place = |d: &str| order.iter().position(|o| o == d).unwrap_or(usize::MAX);
    arrows.sort_by_key(|p| (place(&p.source), place(&p.target)));
    let warnings = planned.warnings.iter().map(|w| w.message.clone()).collect();
    let outcome = apply::apply(ctx, &file, false).await?;
    Ok(Applied { file: seed.file, topology: seed.topology, to_add: count(Op::Add), to_change: count(Op::Change), arrows, warnings, written: outcome.written() })
}

/// The configuration of each arrow of `seed`, in the order the file declares their
/// tenants (sources first, then targets): the order the demo runs them in.
pub(super) async fn arrows(ctx: &Ctx, seed: &Seed) -> Result<Vec<(String, String, SyncConfigId)>, Failure> {
    let file = seed.load()?;
    let order = seed.domains();
    let place = |d: &str| order.iter().position(|o| o == d).unwrap_or(usize::MAX);
    let current = current::read(ctx).await?;
    let mut out: Vec<(String, String, SyncConfigId)> = file
        .state
        .arrows
        .iter()
        .filter_map(|a| current.configs.get(&(a.source.clone(), a.target.clone())).map(|c| (a.source.clone(), a.target.clone(), c.id)))
        .collect();
    out.sort_by_key(|(s, t, _)| (place(s), place(t)));
    Ok(out)
}

/// Prints what planning and applying the files did: per file, the objects to add and
/// change, and each arrow's predicted next cycle.
pub(super) fn print(all: &[Applied]) {
    out!("topology as code (tenantsync plan FILE, then tenantsync apply FILE):");
    for a in all {
        if a.to_add + a.to_change == 0 {
            out!("  {} ({}): nothing to do, the store matches the file", a.file, a.topology);
            continue;
        }
        out!("  {} ({}): plan: {} to add, {} to change; applied: {} objects written", a.file, a.topology, a.to_add, a.to_change, a.written);
        for p in &a.arrows {
            let Some(r) = &p.report else {
                out!("    {} -> {}: no cycle to predict", p.source, p.target);
                continue;
            };
            let groups = if r.groups.created > 0 { format!(", {} groups create", r.groups.created) } else { String::new() };
            out!(
                "    {} -> {}: next cycle ({}) predicted: {} create, {} update, {} soft-delete, {} skip{groups}",
                p.source,
                p.target,
                if r.initial { "initial" } else { "incremental" },
                r.created,
                r.updated,
                r.soft_deleted,
                r.skipped
            );
        }
        for w in &a.warnings {
            out!("    warning: {w}");
        }
    }
    if all.iter().any(|a| a.file.ends_with("mesh.toml") && !a.arrows.is_empty()) {
        out!(
            "  (a plan predicts each arrow against the data as it is: in a mesh, the people earlier arrows bring into a source are skipped too, ExternalUser)"
        );
    }
}
