//! The drawing of a topology, shared by `tenantsync topology draw` and the console's
//! topology page: each arrow's scope in a few words, the sources of just-in-time links
//! that are outside the topology, and the SVG (laid out by layout-rs, a Sugiyama-style
//! layered layout as Graphviz's `dot`). The caller gives each arrow's label (its scope,
//! with live counts when it has them), so both draw the same picture from the same state.
use crate::jit::{JitLink, JitSource};
use crate::state::{ArrowState, State, filter_text};
use std::collections::BTreeMap;
use tenantsync_domain::SyncScope;

/// The scope of an arrow in a few words (an access package that assigns people to it
/// counts among its assignments).
pub fn scope(state: &State, a: &ArrowState) -> String {
    let mut s = match a.scope {
        SyncScope::AllUsers => "all users".to_owned(),
        SyncScope::AssignedUsersAndGroups => {
            let mut parts = Vec::new();
            if !a.users.is_empty() {
                parts.push(format!("{} users", a.users.len()));
            }
            match a.groups.as_slice() {
                [] => {}
                // A drawing's label stays short: the first groups, and how many.
                [first, second, _, ..] => parts.push(format!("{first}, {second} and {} more groups", a.groups.len() - 2)),
                few => parts.push(few.join(", ")),
            }
            let packages: Vec<&str> = state.packages.iter().filter(|p| p.tenant == a.source && p.syncs.contains(&a.target)).map(|p| p.name.as_str()).collect();
            if !packages.is_empty() {
                parts.push(format!("by access package {}", packages.join(", ")));
            }
            if parts.is_empty() { "assigned: none yet".to_owned() } else { format!("assigned: {}", parts.join(", ")) }
        }
    };
    if !a.filter.is_empty() {
        let texts: Vec<String> = a.filter.iter().map(filter_text).collect();
        s.push_str(&format!(" where {}", texts.join(" OR ")));
    }
    if a.provision_groups {
        s.push_str(" + groups");
    }
    s
}

/// A just-in-time link's label.
pub fn jit_label(l: &JitLink) -> String {
    format!("on request: {}", l.packages.join(", "))
}

/// The sources of just-in-time links that are not tenants of the topology, each once.
pub fn outside(state: &State, links: &[JitLink]) -> Vec<JitSource> {
    let mut v: Vec<JitSource> =
        links.iter().map(|l| l.source.clone()).filter(|s| !matches!(s, JitSource::Tenant(d) if state.tenants.iter().any(|t| &t.domain == d))).collect();
    v.sort();
    v.dedup();
    v
}

/// An SVG of a topology: one box per tenant, one arrow per sync arrow labelled by
/// `label`, just-in-time links dashed and labelled by `link_label` (their sources outside
/// the topology as ellipses).
pub fn svg(state: &State, label: impl Fn(&ArrowState) -> String, link_label: impl Fn(&JitLink) -> String) -> String {
    use layout::backends::svg::SVGWriter;
    use layout::core::base::Orientation;
    use layout::core::geometry::Point;
    use layout::core::style::{LineStyleKind, StyleAttr};
    use layout::std_shapes::shapes::LineEndKind;
    use layout::std_shapes::shapes::{Arrow, Element, ShapeKind};
    use layout::topo::layout::VisualGraph;
    let mut graph = VisualGraph::new(Orientation::LeftToRight);
    let mut nodes = BTreeMap::new();
    for t in &state.tenants {
        let text = format!("{}\n{}", t.name, t.domain);
        let width = text.lines().map(|l| l.chars().count()).max().unwrap_or(0) as f64 * 8.0 + 30.0;
        let node = Element::create(ShapeKind::new_box(&text), StyleAttr::simple(), Orientation::LeftToRight, Point::new(width, 60.0));
        nodes.insert(t.domain.as_str(), graph.add_node(node));
    }
    for a in &state.arrows {
        if let (Some(s), Some(t)) = (nodes.get(a.source.as_str()), nodes.get(a.target.as_str())) {
            graph.add_edge(Arrow::simple(&label(a)), *s, *t);
        }
    }
    let links = state.jit_links();
    let mut others = BTreeMap::new();
    for o in outside(state, &links) {
        let text = o.text();
        let width = text.chars().count() as f64 * 8.0 + 40.0;
        let node = Element::create(ShapeKind::new_circle(&text), StyleAttr::simple(), Orientation::LeftToRight, Point::new(width, 50.0));
        others.insert(o, graph.add_node(node));
    }
    for l in &links {
        let from = others.get(&l.source).copied().or_else(|| nodes.get(l.source.text().as_str()).copied());
        if let (Some(s), Some(t)) = (from, nodes.get(l.target.as_str())) {
            let arrow = Arrow::new(LineEndKind::None, LineEndKind::Arrow, LineStyleKind::Dashed, &link_label(l), &StyleAttr::simple(), &None, &None);
            graph.add_edge(arrow, s, *t);
        }
    }
    let mut writer = SVGWriter::new();
    if !state.tenants.is_empty() {
        graph.do_it(false, false, false, &mut writer);
    }
    writer.finalize()
}
