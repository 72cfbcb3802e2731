//! `topology show` and `topology draw`: the topology as text (per tenant: who it receives
//! from, who it sends to, whose people can appear in it) and as a drawing (DOT or
//! Mermaid), arrows labelled with their scope and, for the store's topology, live counts;
//! just-in-time links (people who may request a tenant's access packages) dashed beside
//! them, sources outside the topology as ellipses.
use super::current;
use super::{DrawFormat, load};
use crate::cmd::Ctx;
use crate::failure::{Context, Failure};
use crate::output::{self, out};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;
use tenantsync_store::JobStatusCode;
use tenantsync_topology::draw::{outside, scope};
use tenantsync_topology::{ArrowState, JitLink, State};

/// An arrow's live counts.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Live {
    /// Users in the target carrying an anchor from the source.
    pub synced: u64,
    pub escrows: usize,
    pub status: JobStatusCode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quarantine: Option<String>,
    /// The last cycle's state, if one ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_cycle: Option<String>,
}

/// A just-in-time link's live counts (the console's topology page shows the same).
pub(crate) use tenantsync_topology::stored::LinkCounts as LinkLive;

/// The store's live counts: per arrow (by label) and per just-in-time link (by [`link_key`]).
#[derive(Debug, Default)]
pub(crate) struct LiveCounts {
    pub arrows: BTreeMap<String, Live>,
    pub links: BTreeMap<String, LinkLive>,
}

/// A just-in-time link's key among the live counts.
fn link_key(l: &JitLink) -> String {
    format!("{} ⇢ {}", l.source.text(), l.target)
}

/// The topology to show: the file's (no live counts), or the store's with its live counts,
/// read by count queries: a query per arrow and per package of a link, whatever the
/// number of users, assignments or requests.
pub(crate) async fn source(ctx: &Ctx, file: Option<&Path>) -> Result<(State, Option<LiveCounts>), Failure> {
    if let Some(path) = file {
        return Ok((load(path)?.state, None));
    }
    let current = current::read(ctx).await?;
    let mut live = LiveCounts::default();
    for ((source, target), c) in &current.configs {
        let label = format!("{source} → {target}");
        let subject = || label.clone();
        let state = ctx.sync.job_state(c.id).await.about(subject)?;
        let synced = ctx.store.count_users_by_anchor_tenant(c.target_tenant_id, c.source_tenant_id).await.about(subject)?;
        let last_cycle = state.last_execution.as_ref().map(|x| format!("{} {}", output::name(&x.state), output::time(x.time_ended)));
        live.arrows.insert(
            label,
            Live { synced, escrows: state.escrows.len(), status: state.status, quarantine: state.quarantine_reason.map(|q| output::name(&q)), last_cycle },
        );
    }
    if let Some(access) = &ctx.access {
        let gov = tenantsync_governance::Governance::new(access.clone());
        for l in current.state.jit_links() {
            let Some(t) = current.tenant(&l.target) else { continue };
            let counts = tenantsync_topology::stored::link_counts(&gov, t.id, &l, &current.defs).await.map_err(|e| Failure::coded(e.subject, &e.error))?;
            live.links.insert(link_key(&l), counts);
        }
    }
    Ok((current.state, Some(live)))
}

fn live_text(l: &Live) -> String {
    let mut s = format!("{} synced", l.synced);
    if l.escrows > 0 {
        s.push_str(&format!(", {} escrows", l.escrows));
    }
    if let Some(q) = &l.quarantine {
        s.push_str(&format!(", quarantine {q}"));
    } else if l.status != JobStatusCode::Active {
        s.push_str(&format!(", {}", output::name(&l.status)));
    }
    if let Some(c) = &l.last_cycle {
        s.push_str(&format!(", last cycle {c}"));
    }
    s
}

/// One tenant as `show` prints it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct TenantView {
    tenant: String,
    name: String,
    sends_to: Vec<String>,
    receives_from: Vec<String>,
    /// Whose people can appear here: the tenant's own, and each source's through its arrow
    /// (only internal users are ever passed on, so nobody arrives by more than one hop).
    reach: Vec<Reach>,
    /// Who may request its access packages, and which.
    on_request: Vec<OnRequest>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct OnRequest {
    source: String,
    packages: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    live: Option<LinkLive>,
}

fn link_live(live: Option<&LiveCounts>, l: &JitLink) -> Option<LinkLive> {
    live.and_then(|c| c.links.get(&link_key(l))).copied()
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Reach {
    source: String,
    arrow: String,
    scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    live: Option<Live>,
}

pub(crate) fn show(ctx: &Ctx, state: &State, live: Option<&LiveCounts>) {
    let links = state.jit_links();
    let views: Vec<TenantView> = state
        .tenants
        .iter()
        .map(|t| TenantView {
            tenant: t.domain.clone(),
            name: t.name.clone(),
            sends_to: state.arrows.iter().filter(|a| a.source == t.domain).map(|a| a.target.clone()).collect(),
            receives_from: state.arrows.iter().filter(|a| a.target == t.domain).map(|a| a.source.clone()).collect(),
            reach: state
                .arrows
                .iter()
                .filter(|a| a.target == t.domain)
                .map(|a| Reach {
                    source: a.source.clone(),
                    arrow: a.label(),
                    scope: scope(state, a),
                    live: live.and_then(|l| l.arrows.get(&a.label())).cloned(),
                })
                .collect(),
            on_request: links
                .iter()
                .filter(|l| l.target == t.domain)
                .map(|l| OnRequest { source: l.source.text(), packages: l.packages.clone(), live: link_live(live, l) })
                .collect(),
        })
        .collect();
    if ctx.json {
        output::json(&views);
        return;
    }
    let list = |v: &[String]| if v.is_empty() { "-".to_owned() } else { v.join(", ") };
    for v in &views {
        out!("{} ({})", v.name, v.tenant);
        out!("  sends to: {}", list(&v.sends_to));
        out!("  receives from: {}", list(&v.receives_from));
        out!("  reach: its own people");
        for r in &v.reach {
            let live = r.live.as_ref().map(|l| format!(" [{}]", live_text(l))).unwrap_or_default();
            out!("    + {}'s people through {} ({}){live}", r.source, r.arrow, r.scope);
        }
        for j in &v.on_request {
            let live = j.live.as_ref().map(|l| format!(" [{}]", l.text())).unwrap_or_default();
            out!("    + {}'s people on request: {}{live}", j.source, j.packages.join(", "));
        }
    }
}

/// A label with its double quotes escaped (DOT and Mermaid alike).
fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "#quot;"))
}

fn label(state: &State, a: &ArrowState, live: Option<&LiveCounts>) -> String {
    match live.and_then(|l| l.arrows.get(&a.label())) {
        Some(l) => format!("{} · {}", scope(state, a), live_text(l)),
        None => scope(state, a),
    }
}

/// The DOT text of a topology.
pub(crate) fn dot(state: &State, live: Option<&LiveCounts>) -> String {
    let mut s = String::from("digraph topology {\n  rankdir=LR;\n  node [shape=box, style=rounded];\n");
    for t in &state.tenants {
        let _ = writeln!(s, "  {} [label={}];", quoted(&t.domain), quoted(&format!("{}\\n{}", t.name, t.domain)));
    }
    for a in &state.arrows {
        let _ = writeln!(s, "  {} -> {} [label={}];", quoted(&a.source), quoted(&a.target), quoted(&label(state, a, live)).replace("#quot;", "\\\""));
    }
    let links = state.jit_links();
    for o in outside(state, &links) {
        let _ = writeln!(s, "  {} [shape=ellipse, style=dashed];", quoted(&o.text()));
    }
    for l in &links {
        let _ = writeln!(s, "  {} -> {} [style=dashed, label={}];", quoted(&l.source.text()), quoted(&l.target), quoted(&jit_label(l, live)));
    }
    s.push_str("}\n");
    s
}

/// The Mermaid text of a topology.
pub(crate) fn mermaid(state: &State, live: Option<&LiveCounts>) -> String {
    let mut s = String::from("flowchart LR\n");
    let id = |domain: &str| state.tenants.iter().position(|t| t.domain == domain).map_or_else(|| "t".to_owned(), |i| format!("t{i}"));
    for (i, t) in state.tenants.iter().enumerate() {
        let _ = writeln!(s, "  t{i}[{}]", quoted(&format!("{}<br/>{}", t.name, t.domain)));
    }
    for a in &state.arrows {
        let _ = writeln!(s, "  {} -->|{}| {}", id(&a.source), quoted(&label(state, a, live)), id(&a.target));
    }
    let links = state.jit_links();
    let others = outside(state, &links);
    for (i, o) in others.iter().enumerate() {
        let _ = writeln!(s, "  x{i}([{}])", quoted(&o.text()));
    }
    for l in &links {
        let from = others.iter().position(|o| *o == l.source).map_or_else(|| id(&l.source.text()), |i| format!("x{i}"));
        let _ = writeln!(s, "  {from} -.->|{}| {}", quoted(&jit_label(l, live)), id(&l.target));
    }
    s
}

/// A just-in-time link's label, with its live counts when the store's.
fn jit_label(l: &JitLink, live: Option<&LiveCounts>) -> String {
    tenantsync_topology::stored::link_label(l, link_live(live, l).as_ref())
}

/// An SVG of a topology (the drawing the console's topology page shows too).
pub(crate) fn svg(state: &State, live: Option<&LiveCounts>) -> String {
    tenantsync_topology::draw::svg(state, |a| label(state, a, live), |l| jit_label(l, live))
}

pub(crate) fn draw(ctx: &Ctx, state: &State, live: Option<&LiveCounts>, format: DrawFormat) {
    let text = match format {
        DrawFormat::Dot => dot(state, live),
        DrawFormat::Mermaid => mermaid(state, live),
        DrawFormat::Svg => svg(state, live),
    };
    if ctx.json {
        output::json(&serde_json::json!({ "format": format!("{format:?}").to_ascii_lowercase(), "text": text }));
    } else {
        out!("{}", text.trim_end());
    }
}
