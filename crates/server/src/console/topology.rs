//! The topology page: the tenants the session's tenant is related to (its partners, the
//! sources and targets of its configurations) and the arrows to and from it, drawn as
//! `tenantsync topology draw --format svg` draws them (the topology crate's state, scope
//! words and layout), each arrow with its live counts ([`super::live`]). The drawing is
//! an image with a text alternative; the table below it says the same in words and is
//! what the page's script updates in place from the server-sent events. Without the
//! script the page shows the counts of its load.
//!
//! Just-in-time links are drawn as the CLI draws them (dashed, from a connected
//! organization's tenant or mail domain to this tenant, labelled by access package with
//! the live counts of assignments and waiting requests): the session's tenant's
//! connected organizations, packages and policies are read by the topology crate's
//! `stored` reader, the one `tenantsync topology draw` uses, and listed in a second
//! table. The page's event stream carries their counts too (a `links` event with those
//! that changed): entitlement management's writes send no notice, so the stream reads
//! them again in rounds spaced so that a round's reads take at most a fiftieth of the
//! time between rounds, and at least [`LINK_ROUND`] apart.
//!
//! Only the relation is shown of another tenant: its name and domain, and the scope of an
//! arrow from it without the names of its groups (its directory is its own).
use super::live::{self, Live};
use super::page::{self, prefix};
use super::session::Session;
use super::{ConsoleError, ConsoleResult, ConsoleState, Shared};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::html;
use std::collections::BTreeMap;
use std::time::Duration;
use tenantsync_domain::{Assignment, SyncConfiguration, Tenant, TenantId};
use tenantsync_topology::stored::{self, LinkCounts};
use tenantsync_topology::{ArrowState, JitLink, State as Topology, TenantState};

const SCRIPT: &str = include_str!("console.js");

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/admin/topology", get(topology_page))
        .route("/admin/topology.svg", get(drawing))
        .route("/admin/topology/events", get(events))
        .route("/console.js", get(script))
}

/// The tenant's part of the topology, its arrows' configurations in the same order, and
/// their counts by configuration id; its just-in-time links with their counts.
struct View {
    state: Topology,
    configs: Vec<SyncConfiguration>,
    live: BTreeMap<String, Live>,
    links: Vec<(JitLink, LinkCounts)>,
    /// The definitions the links' counts are read by (none without entitlement management).
    defs: Option<stored::Definitions>,
}

/// A tenant as the topology names it: by its initial domain, lowercase.
fn domain(t: &Tenant) -> String {
    t.initial_domain.as_str().to_ascii_lowercase()
}

async fn view(st: &ConsoleState, me: &Tenant) -> ConsoleResult<View> {
    let configs = live::arrows(st, me.id).await?;
    let mut related: Vec<TenantId> = st.store.partner_settings_list(me.id).await?.into_iter().map(|(p, _)| p).collect();
    related.extend(configs.iter().flat_map(|c| [c.source_tenant_id, c.target_tenant_id]));
    let mut tenants: BTreeMap<TenantId, Tenant> = BTreeMap::from([(me.id, me.clone())]);
    for id in related {
        if !tenants.contains_key(&id)
            && let Ok(t) = st.store.get_tenant(id).await
        {
            tenants.insert(id, t);
        }
    }
    let name = |id: TenantId| tenants.get(&id).map_or_else(|| id.to_string(), domain);
    let mut state = Topology::default();
    for t in tenants.values() {
        state.tenants.push(TenantState { name: t.display_name.clone(), domain: domain(t), retention_days: t.soft_delete_retention_days });
    }
    state.tenants.sort_by(|a, b| a.domain.cmp(&b.domain));
    let mut links = Vec::new();
    let mut defs = None;
    if let Some(gov) = &st.gov {
        let by_domain: BTreeMap<String, Tenant> = tenants.values().map(|t| (domain(t), t.clone())).collect();
        let read = stored::read(gov, &by_domain, Some(me.id), &configs).await.map_err(|e| ConsoleError::from(e.error))?;
        (state.organizations, state.catalogs, state.packages) = (read.organizations, read.catalogs, read.packages);
        for l in state.jit_links() {
            let counts = stored::link_counts(gov, me.id, &l, &read.defs).await.map_err(|e| ConsoleError::from(e.error))?;
            links.push((l, counts));
        }
        defs = Some(read.defs);
    }
    let mut live = BTreeMap::new();
    for c in &configs {
        let (mut users, mut groups) = (Vec::new(), Vec::new());
        for (i, a) in c.assignments.iter().enumerate() {
            match a {
                Assignment::User(id) => users.push(id.to_string()),
                // Group names of this tenant's directory only.
                Assignment::Group(id) if c.source_tenant_id == me.id => {
                    groups.push(st.store.get_group(me.id, *id).await.map_or_else(|_| id.to_string(), |g| g.attrs.display_name))
                }
                Assignment::Group(_) => groups.push(format!("group {}", i + 1)),
            }
        }
        state.arrows.push(ArrowState::of(c, name(c.source_tenant_id), name(c.target_tenant_id), users, groups));
        live.insert(c.id.to_string(), live::counts(st, c).await?);
    }
    Ok(View { state, configs, live, links, defs })
}

/// The label of an arrow in the drawing: its scope and its counts.
fn label(v: &View, i: usize, a: &ArrowState) -> String {
    let scope = tenantsync_topology::draw::scope(&v.state, a);
    match v.configs.get(i).and_then(|c| v.live.get(&c.id.to_string())) {
        Some(l) => format!("{scope} · {}", l.text()),
        None => scope,
    }
}

fn svg(v: &View) -> String {
    // The arrows are the configurations in the same order: an arrow's place names its counts.
    tenantsync_topology::draw::svg(
        &v.state,
        |a| label(v, v.state.arrows.iter().position(|x| std::ptr::eq(x, a)).unwrap_or(usize::MAX), a),
        |l| stored::link_label(l, v.links.iter().find(|(x, _)| x == l).map(|(_, c)| c)),
    )
}

/// `GET /admin/topology`.
async fn topology_page(State(st): State<Shared>, session: Session) -> ConsoleResult {
    session.admin()?;
    let v = view(&st, &session.tenant).await?;
    let base = prefix();
    let body = html! {
        p.note { "The tenants " (session.tenant.display_name) " is related to, and its sync configurations from and to them, with their counts. "
            "The numbers change as sync cycles run." }
        figure.drawing {
            img id="drawing" src={(base) "/admin/topology.svg"} data-src={(base) "/admin/topology.svg"}
                alt={"Drawing of " (v.state.tenants.len()) " tenants and " (v.state.arrows.len()) " sync arrows, and " (v.links.len()) " just-in-time links; the tables below list every arrow and link with its counts."};
            figcaption.note { "Boxes are tenants; an arrow is a sync configuration from its source to its target, labelled with its scope and counts. "
                "A dashed arrow is a just-in-time link: people of a connected organization who may request this tenant's access packages, labelled with the packages and their assignments." }
        }
        @if !v.configs.is_empty() || !v.links.is_empty() {
            p.note id="live-status" role="status" aria-live="polite" data-events={(base) "/admin/topology/events"} { "Counts as of loading the page." }
            script src={(base) "/console.js"} defer {}
        }
        h2 id="arrows-heading" { "Arrows" }
        @if v.configs.is_empty() { p.note id="no-arrows" { "No sync configuration from or to this tenant." } }
        @else {
            div.scroll { table.responsive id="arrows" aria-labelledby="arrows-heading" {
                thead { tr {
                    th scope="col" { "Arrow" } th scope="col" { "Configuration" } th scope="col" { "Scope" }
                    th scope="col" { "Users synced" } th scope="col" { "Escrows" } th scope="col" { "Health" } th scope="col" { "Last cycle" }
                } }
                tbody { @for (c, a) in v.configs.iter().zip(&v.state.arrows) {
                    @let id = c.id.to_string();
                    @if let Some(l) = v.live.get(&id) {
                        tr id={"arrow-" (id)} {
                            td data-label="Arrow" { (a.label()) }
                            td data-label="Configuration" {
                                @if c.source_tenant_id == session.tenant.id { a href={"/admin/sync/" (id)} { (c.display_name) } } @else { (c.display_name) }
                            }
                            td data-label="Scope" { (tenantsync_topology::draw::scope(&v.state, a)) }
                            td data-label="Users synced" id={"arrow-" (id) "-synced"} { (l.synced) }
                            td data-label="Escrows" id={"arrow-" (id) "-escrows"} { (l.escrows) }
                            td data-label="Health" id={"arrow-" (id) "-status"} { (l.status) }
                            td data-label="Last cycle" id={"arrow-" (id) "-lastCycle"} { (l.last_cycle) }
                        }
                    }
                } }
            } }
        }
        (links_table(&v))
    };
    Ok(page::ok("Topology", &session, "/admin/topology", body))
}

/// The table of the just-in-time links: who may request which packages of the tenant,
/// and how many hold them or wait.
fn links_table(v: &View) -> maud::Markup {
    html! {
        h2 id="links-heading" { "Just-in-time links" }
        @if v.links.is_empty() { p.note id="no-links" { "No access package of this tenant is open to people of a connected organization or from outside." } }
        @else {
            div.scroll { table.responsive id="links" aria-labelledby="links-heading" {
                thead { tr {
                    th scope="col" { "People of" } th scope="col" { "May request" } th scope="col" { "Assigned" } th scope="col" { "Requests waiting" }
                } }
                tbody { @for (i, (l, c)) in v.links.iter().enumerate() {
                    tr id={"link-" (i)} {
                        td data-label="People of" { (l.source.text()) }
                        td data-label="May request" { (l.packages.join(", ")) }
                        td data-label="Assigned" id={"link-" (i) "-assigned"} { (c.assignments) }
                        td data-label="Requests waiting" id={"link-" (i) "-pending"} { (c.pending_requests) }
                    }
                } }
            } }
        }
    }
}

/// `GET /admin/topology.svg`: the drawing with the counts of now. Its own CSP lets the
/// SVG's inline styles (its fonts) apply; it runs nothing.
async fn drawing(State(st): State<Shared>, session: Session) -> ConsoleResult {
    session.admin()?;
    let v = view(&st, &session.tenant).await?;
    let mut res = svg(&v).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"));
    Ok(res)
}

/// `GET /admin/topology/events`: server-sent events, one `counts` event per arrow whose
/// counts changed, for as long as the browser listens.
async fn events(State(st): State<Shared>, session: Session) -> ConsoleResult {
    session.admin()?;
    let v = view(&st, &session.tenant).await?;
    let listener = st.hub.subscribe(v.configs).await;
    let arrows = futures_util::stream::unfold(listener, |mut w| async move {
        let live = w.next().await?;
        Some((Ok::<_, std::convert::Infallible>(live::event(&live)), w))
    });
    let links = LinkWatch { st: st.clone(), tenant: session.tenant.id, links: v.links, defs: v.defs, pause: LINK_ROUND };
    let stream = futures_util::stream::select(arrows, futures_util::stream::unfold(links, LinkWatch::next));
    let mut res = Sse::new(stream).keep_alive(KeepAlive::default()).into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// The shortest time between two rounds of the links' reads.
const LINK_ROUND: Duration = Duration::from_secs(2);

/// A page's just-in-time links, read again round after round for its event stream.
struct LinkWatch {
    st: Shared,
    tenant: TenantId,
    links: Vec<(JitLink, LinkCounts)>,
    defs: Option<stored::Definitions>,
    pause: Duration,
}

/// One link's counts as the page's script reads them.
#[derive(serde::Serialize)]
struct LinkEvent {
    link: usize,
    assigned: u64,
    pending: u64,
}

impl LinkWatch {
    /// The next `links` event: waits for a round in which some link's counts changed.
    /// Ends (the stream goes on with the arrows alone) where there is nothing to watch or
    /// a read fails.
    async fn next(mut self) -> Option<(Result<Event, std::convert::Infallible>, LinkWatch)> {
        let (Some(gov), Some(defs)) = (self.st.gov.as_ref(), self.defs.as_ref()) else { return None };
        if self.links.is_empty() {
            return None;
        }
        loop {
            tokio::time::sleep(self.pause).await;
            let started = std::time::Instant::now();
            let mut changed = Vec::new();
            for (i, (l, last)) in self.links.iter_mut().enumerate() {
                let now = stored::link_counts(gov, self.tenant, l, defs).await.ok()?;
                if now != *last {
                    *last = now;
                    changed.push(LinkEvent { link: i, assigned: now.assignments, pending: now.pending_requests });
                }
            }
            self.pause = LINK_ROUND.max(started.elapsed() * 50);
            if !changed.is_empty() {
                let event = Event::default().event("links").data(serde_json::to_string(&changed).unwrap_or_default());
                return Some((Ok(event), self));
            }
        }
    }
}

/// `GET /console.js`: the console's only script (the topology page's live counts).
async fn script() -> Response {
    let mut res = SCRIPT.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    res
}
