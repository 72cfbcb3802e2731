//! The demo: the tenants of the seed topologies with people of their own, filled with
//! generated users through the same import path as `tenantsync import users` and security
//! groups by department; then the seed topologies as code — each file of `examples/`
//! planned and applied (`seeds`) —, a cycle of every arrow, and what the logs say.
mod seeds;
mod venture;

use super::{Ctx, lookup};
use crate::failure::{CliCode, Context, Failure};
use crate::generate;
use crate::import::{ImportOptions, import_users};
use crate::output::{self, out};
use clap::Args;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Instant;
use tenantsync_domain::{AttrValue, Change, ChangeCursor, GroupAttributes, NewGroup, NewTenant, ObjectId, SyncConfigId, Tenant, User, UserPatch};
use tenantsync_engine::{CycleReport, Engine};
use tenantsync_store::{BatchMode, ListQuery, LogQuery, ProvisioningLog, Store, Visibility, WriteOp};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Users generated into each tenant that has its own users (when it has none yet).
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = super::args::number::<usize, 0>, default_value_t = 2000)]
    pub users: usize,
}

/// The hub provisions groups too: its arrows sync the users of its department groups
/// (assigned scope) and the groups themselves, as static security groups with their
/// members (Entra's "Provision Microsoft Entra ID Groups"), as `examples/hub.toml` says.
const GROUP_HUB: &str = "woodgrove.example";

/// (initial domain, topology, role, has users of its own). The tenants with users of their
/// own are made (and filled) before the files are applied; `apply` makes the others.
const TENANTS: &[(&str, &str, &str, bool)] = &[
    ("contoso.example", "1:1 production -> test", "source (production)", true),
    ("test.contoso.example", "1:1 production -> test", "target (test)", false),
    ("woodgrove.example", "1:N user hub -> resource tenants", "source (user hub)", true),
    ("dev.woodgrove.example", "1:N user hub -> resource tenants", "target (resources)", false),
    ("prod.woodgrove.example", "1:N user hub -> resource tenants", "target (resources)", false),
    ("data.woodgrove.example", "1:N user hub -> resource tenants", "target (resources)", false),
    ("fabrikam.example", "N:1 acquired companies -> parent", "target (parent)", true),
    ("northwind.example", "N:1 acquired companies -> parent", "source (acquired)", true),
    ("tailspin.example", "N:1 acquired companies -> parent", "source (acquired)", true),
    ("proseware.example", "N:N portfolio mesh", "source and target", true),
    ("wingtip.example", "N:N portfolio mesh", "source and target", true),
    ("lamna.example", "N:N portfolio mesh", "source and target", true),
    ("relecloud.example", "N:N portfolio mesh", "provisions a subset only", true),
    ("litware.example", "just-in-time (joint venture with Contoso)", "connected organization", true),
    ("projects.contoso.example", "just-in-time (joint venture with Contoso)", "resource tenant (access package)", false),
];

/// The display name the files give a tenant.
fn display_name(domain: &str) -> String {
    seeds::SEEDS
        .iter()
        .filter_map(|s| tenantsync_topology::resolve::parse(s.text).ok())
        .flat_map(|f| f.tenants)
        .find(|t| t.domain.get_ref().eq_ignore_ascii_case(domain))
        .map_or_else(|| domain.to_owned(), |t| t.name.get_ref().trim().to_owned())
}

/// One row of what the tenants hold.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Holding {
    display_name: String,
    initial_domain: String,
    topology: &'static str,
    role: &'static str,
    internal_users: u64,
    external_users: u64,
    groups: usize,
    changes: u64,
}

/// One arrow's cycle of this run.
#[derive(Debug)]
struct Cycle {
    source: String,
    target: String,
    id: SyncConfigId,
    report: CycleReport,
    millis: u128,
    /// The store's time when the cycle began: its log records are those since.
    began: jiff::Timestamp,
}

/// What one arrow's cycle of this run logged: records by action, status and skip reason.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct LogSummary {
    source: String,
    target: String,
    records: usize,
    by_kind: Vec<serde_json::Value>,
}

/// One source change followed through an incremental cycle.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Followed {
    user: String,
    tenant: String,
    department: String,
    changes_read: u64,
    updated: u64,
    record: Option<ProvisioningLog>,
}

/// Everything the demo did and found: printed as text, or as one JSON document.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary {
    tenants: Vec<Holding>,
    /// Each file planned and applied.
    topologies: Vec<seeds::Applied>,
    /// The joint venture's story, step by step.
    joint_venture: Vec<venture::Step>,
    imported_users: u64,
    import_seconds: f64,
    cycles: Vec<serde_json::Value>,
    groups_provisioned: Vec<serde_json::Value>,
    logs: Vec<LogSummary>,
    followed_change: Option<Followed>,
    first_changes: Vec<Change>,
    /// One user of the first tenant looked up by userPrincipalName, timed.
    lookup: Option<serde_json::Value>,
    seconds: f64,
}

/// The tenants of the seed topologies that have people of their own, created (and
/// filled) if missing. Returns the users imported, with the seconds the imports took.
async fn people(store: &dyn Store, users: usize) -> Result<(u64, f64), Failure> {
    let work = std::env::temp_dir().join(format!("tenantsync-demo-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|e| Failure::cli(work.display().to_string(), e.to_string(), CliCode::UnreadableFile))?;
    let (mut imported, mut seconds) = (0u64, 0f64);
    for (i, (domain, _, _, has_users)) in TENANTS.iter().enumerate() {
        if !has_users {
            continue;
        }
        let subject = || format!("tenant '{domain}'");
        let name = display_name(domain);
        let tenant = match lookup::tenant(store, domain).await {
            Ok(t) => t,
            Err(_) => store.create_tenant(NewTenant::new(&name, domain).about(subject)?).await.about(subject)?,
        };
        let existing = store.count_users(tenant.id, Visibility::All).await.about(subject)?;
        if existing == 0 && users > 0 {
            let file = work.join(format!("{domain}.csv"));
            let out = std::fs::File::create(&file).map_err(|e| Failure::cli(file.display().to_string(), e.to_string(), CliCode::UnreadableFile))?;
            generate::write_csv(std::io::BufWriter::new(out), generate::users(i as u64 + 1, users, domain, &name, true))
                .map_err(|e| Failure::cli(file.display().to_string(), e.to_string(), CliCode::UnreadableFile))?;
            let report = import_users(store, tenant.id, &file, &ImportOptions::default(), &mut |_| {}).await.about(String::new)?;
            if let Some(e) = report.errors.first() {
                return Err(Failure::new(format!("{}:{}", file.display(), e.line), e.message.clone(), e.code));
            }
            imported += report.imported;
            seconds += report.elapsed.as_secs_f64();
        }
        if store.list_groups(tenant.id, &ListQuery { limit: 1, ..ListQuery::default() }).await.about(subject)?.items.is_empty() {
            department_groups(store, &tenant).await?;
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok((imported, seconds))
}

/// The demo's tenants, in the order of [`TENANTS`] (all exist once the files are applied).
async fn tenants(store: &dyn Store) -> Result<Vec<Tenant>, Failure> {
    let mut out = Vec::new();
    for (domain, _, _, _) in TENANTS {
        out.push(lookup::tenant(store, domain).await?);
    }
    Ok(out)
}

/// A cycle of each arrow of the files, in the order each file declares its tenants.
async fn run_arrows(ctx: &Ctx, engine: &Engine) -> Result<Vec<Cycle>, Failure> {
    let mut cycles = Vec::new();
    for seed in seeds::SEEDS {
        for (source, target, id) in seeds::arrows(ctx, seed).await? {
            let (t0, began) = (Instant::now(), ctx.store.clock().now());
            let report = engine.run_cycle(id).await.about(|| format!("sync configuration '{source}:{target}'"))?;
            cycles.push(Cycle { source, target, id, report, millis: t0.elapsed().as_millis(), began });
        }
    }
    Ok(cycles)
}

/// What each tenant holds now.
async fn holdings(store: &dyn Store, tenants: &[Tenant]) -> Result<Vec<Holding>, Failure> {
    let mut rows = Vec::new();
    for (t, (_, topology, role, _)) in tenants.iter().zip(TENANTS) {
        let subject = || format!("tenant '{}'", t.initial_domain);
        let users = store.count_users(t.id, Visibility::Active).await.about(subject)?;
        let external = count_external(store, t).await?;
        let groups = store.list_groups(t.id, &ListQuery { limit: 1000, ..ListQuery::default() }).await.about(subject)?.items.len();
        rows.push(Holding {
            display_name: t.display_name.clone(),
            initial_domain: t.initial_domain.to_string(),
            topology,
            role,
            internal_users: users - external,
            external_users: external,
            groups,
            changes: store.change_head(t.id).await.about(subject)?.0,
        });
    }
    Ok(rows)
}

/// The groups the hub provisioned into one of its resource tenants, with their member
/// counts.
async fn provisioned_groups(store: &dyn Store, tenants: &[Tenant]) -> Result<Vec<serde_json::Value>, Failure> {
    let Some(spoke) = tenants.iter().find(|t| t.initial_domain.as_str() == "dev.woodgrove.example") else { return Ok(Vec::new()) };
    let subject = || format!("tenant '{}'", spoke.initial_domain);
    let groups = store.list_groups(spoke.id, &ListQuery { limit: 1000, ..ListQuery::default() }).await.about(subject)?;
    let mut shown = Vec::new();
    for g in groups.items.iter().filter(|g| g.anchor.is_some()) {
        let members = store.list_members(spoke.id, g.id, &ListQuery { limit: 5000, ..ListQuery::default() }).await.about(subject)?;
        shown.push(serde_json::json!({ "tenant": spoke.initial_domain, "displayName": g.attrs.display_name, "members": members.items.len(), "more": members.next.is_some() }));
    }
    Ok(shown)
}

/// What each arrow's cycle of this run logged.
async fn log_summaries(ctx: &Ctx, cycles: &[Cycle]) -> Result<Vec<LogSummary>, Failure> {
    let mut out = Vec::new();
    for c in cycles {
        let query = LogQuery { config_id: Some(c.id), since: Some(c.began), limit: 100_000, ..LogQuery::default() };
        let records = ctx.sync.provisioning_logs(&query).await.about(String::new)?;
        let mut by_kind: BTreeMap<(String, &str, Option<&str>), usize> = BTreeMap::new();
        for r in &records {
            *by_kind.entry((output::name(&r.provisioning_action), r.status.as_str(), r.skip_reason.map(|w| w.as_str()))).or_default() += 1;
        }
        let by_kind = by_kind
            .into_iter()
            .map(|((action, status, why), count)| serde_json::json!({ "action": action, "status": status, "skipReason": why, "count": count }))
            .collect();
        out.push(LogSummary { source: c.source.clone(), target: c.target.clone(), records: records.len(), by_kind });
    }
    Ok(out)
}

/// Changes the department of a user of the first arrow's source, runs that arrow again,
/// and returns what its record says.
async fn follow_a_change(ctx: &Ctx, engine: &Engine, tenants: &[Tenant], cycles: &[Cycle]) -> Result<Option<Followed>, Failure> {
    let store = ctx.store.as_ref();
    let (Some(contoso), Some(first)) = (tenants.first(), cycles.first()) else { return Ok(None) };
    let subject = || format!("tenant '{}'", contoso.initial_domain);
    let Some(u) = store.list_users(contoso.id, &ListQuery { limit: 1, ..ListQuery::default() }).await.about(subject)?.items.into_iter().next() else {
        return Ok(None);
    };
    let department = if u.attrs.department.as_deref() == Some("Legal") { "Research" } else { "Legal" };
    let patch = UserPatch::from_pairs([("department", AttrValue::String(department.into()))]).about(subject)?;
    store.update_user(contoso.id, u.id, patch, None).await.about(subject)?;
    let report = engine.run_cycle(first.id).await.about(|| format!("sync configuration '{}:{}'", first.source, first.target))?;
    let record = ctx
        .sync
        .provisioning_logs(&LogQuery { config_id: Some(first.id), object_id: Some(u.id), limit: 1, ..LogQuery::default() })
        .await
        .about(String::new)?
        .into_iter()
        .next();
    Ok(Some(Followed {
        user: u.attrs.user_principal_name.to_string(),
        tenant: contoso.initial_domain.to_string(),
        department: department.to_owned(),
        changes_read: report.counters.count_imported_deltas,
        updated: report.updated,
        record,
    }))
}

pub async fn run(ctx: &Ctx, args: DemoArgs) -> Result<(), Failure> {
    let store = ctx.store.as_ref();
    let started = Instant::now();
    let (imported_users, import_seconds) = people(store, args.users).await?;
    // What the joint venture's file names: Contoso's sponsor and Projects group.
    venture::prerequisites(store, &lookup::tenant(store, "contoso.example").await?).await?;
    let mut topologies = Vec::new();
    for seed in seeds::SEEDS {
        topologies.push(seeds::plan_and_apply(ctx, seed).await?);
    }
    let tenants = tenants(store).await?;
    let engine = Engine::new(ctx.sync.clone());
    let cycles = run_arrows(ctx, &engine).await?;
    let logs = log_summaries(ctx, &cycles).await?;
    let followed_change = follow_a_change(ctx, &engine, &tenants, &cycles).await?;
    let joint_venture = venture::run().await?;
    let (first_changes, lookup) = match tenants.first() {
        Some(t) => {
            let subject = || format!("tenant '{}'", t.initial_domain);
            let changes = store.changes_since(t.id, ChangeCursor::START, 3).await.about(subject)?.changes;
            let lookup = match store.list_users(t.id, &ListQuery { limit: 1, ..ListQuery::default() }).await.about(subject)?.items.first() {
                Some(u) => {
                    let t0 = Instant::now();
                    let found = store.find_user_by_upn(t.id, &u.attrs.user_principal_name).await.about(subject)?.is_some();
                    let micros = t0.elapsed().as_micros();
                    Some(serde_json::json!({ "userPrincipalName": u.attrs.user_principal_name, "found": found, "microseconds": micros }))
                }
                None => None,
            };
            (changes, lookup)
        }
        None => (Vec::new(), None),
    };
    let summary = Summary {
        tenants: holdings(store, &tenants).await?,
        topologies,
        joint_venture,
        imported_users,
        import_seconds,
        cycles: cycles
            .iter()
            .map(|c| serde_json::json!({ "source": c.source, "target": c.target, "milliseconds": c.millis, "report": super::sync::report_json(&c.report) }))
            .collect(),
        groups_provisioned: provisioned_groups(store, &tenants).await?,
        logs,
        followed_change,
        first_changes,
        lookup,
        seconds: started.elapsed().as_secs_f64(),
    };
    if ctx.json {
        output::json(&summary);
    } else {
        print(&summary, &cycles);
    }
    Ok(())
}

/// The summary as text.
fn print(s: &Summary, cycles: &[Cycle]) {
    let rows: Vec<Vec<String>> = s
        .tenants
        .iter()
        .map(|h| {
            vec![
                h.display_name.clone(),
                h.initial_domain.clone(),
                h.topology.to_owned(),
                h.role.to_owned(),
                h.internal_users.to_string(),
                h.external_users.to_string(),
                h.groups.to_string(),
                h.changes.to_string(),
            ]
        })
        .collect();
    output::table(&["TENANT", "INITIAL DOMAIN", "TOPOLOGY", "ROLE", "INTERNAL", "EXTERNAL", "GROUPS", "CHANGES"], &rows);
    out!();
    if s.imported_users == 0 {
        out!("the demo's tenants hold users already: nothing was imported, and every arrow ran an incremental cycle");
    }
    seeds::print(&s.topologies);
    out!();
    out!("sync cycles:");
    for c in cycles {
        let r = &c.report;
        let groups =
            if c.source == GROUP_HUB { format!(" (groups: {} created, {} members added)", r.groups.created, r.groups.members_added) } else { String::new() };
        out!(
            "  {} -> {}: {} cycle, {} created, {} updated, {} soft-deleted, {} skipped{groups} in {} ms",
            c.source,
            c.target,
            if r.initial { "initial" } else { "incremental" },
            r.created,
            r.updated,
            r.soft_deleted,
            r.skipped,
            c.millis
        );
    }
    if !s.groups_provisioned.is_empty() {
        let shown: Vec<String> = s
            .groups_provisioned
            .iter()
            .map(|g| format!("{} ({}{} members)", g["displayName"].as_str().unwrap_or_default(), g["members"], if g["more"] == true { "+" } else { "" }))
            .collect();
        out!();
        out!("groups Woodgrove provisioned into dev.woodgrove.example (static security groups): {}", shown.join(", "));
    }
    // What this run's cycles logged, per arrow; then one change followed.
    out!();
    out!("provisioning logs of these cycles (tenantsync sync logs CONFIG):");
    for l in &s.logs {
        let kinds: Vec<String> = l
            .by_kind
            .iter()
            .map(|k| {
                let why = k["skipReason"].as_str().map(|w| format!(" ({w})")).unwrap_or_default();
                format!("{} {}{why} {}", k["action"].as_str().unwrap_or_default(), k["status"].as_str().unwrap_or_default(), k["count"])
            })
            .collect();
        out!("  {} -> {}: {} records{}{}", l.source, l.target, l.records, if kinds.is_empty() { "" } else { ": " }, kinds.join(", "));
    }
    if s.logs.iter().any(|l| l.by_kind.iter().any(|k| k["skipReason"] == "ExternalUser")) {
        out!("  (ExternalUser: users a partner provisioned into the source are never passed on, so a mesh never echoes)");
    }
    if let Some(f) = &s.followed_change {
        let what = match &f.record {
            Some(r) => {
                let changed: Vec<String> = r
                    .modified_properties
                    .iter()
                    .map(|m| format!("{} '{}' -> '{}'", m.display_name, m.old_value.as_deref().unwrap_or(""), m.new_value.as_deref().unwrap_or("")))
                    .collect();
                let steps: Vec<&str> = r.steps.iter().map(|s| s.kind.step_type().as_str()).collect();
                format!(
                    "{} {} {} -> {}: {} (steps: {})",
                    output::name(&r.provisioning_action),
                    r.status.as_str(),
                    r.source_display_name,
                    r.target_id.map(|t| t.to_string()).unwrap_or_default(),
                    changed.join(", "),
                    steps.join(" > ")
                )
            }
            None => "no record".into(),
        };
        out!(
            "  then {}'s department was set to {} in {}; the next incremental cycle ({} change read, {} updated) logged: {what}",
            f.user,
            f.department,
            f.tenant,
            f.changes_read,
            f.updated
        );
    }
    out!();
    if s.imported_users > 0 {
        out!(
            "imported {} users in {:.2}s ({:.0} users/s, each with its change-feed entry in the same transaction)",
            s.imported_users,
            s.import_seconds,
            s.imported_users as f64 / s.import_seconds.max(1e-9)
        );
    }
    if let Some(t) = s.tenants.first() {
        out!("first changes of {}:", t.initial_domain);
        for c in &s.first_changes {
            out!("  #{} {} {} {}", c.seq, c.op, c.object_kind, c.object_id);
        }
    }
    if let Some(l) = &s.lookup {
        let found = if l["found"] == true { "found" } else { "missing" };
        out!("lookup of {} by userPrincipalName: {found} in {} µs", l["userPrincipalName"].as_str().unwrap_or_default(), l["microseconds"]);
    }
    out!();
    venture::print(&s.joint_venture);
    out!();
    out!("demo ready in {:.1}s. Try: tenantsync user list --tenant contoso.example --limit 5", s.seconds);
    out!(
        "Relecloud provisions only its Engineering department to its mesh partners; Woodgrove provisions its department groups and their members to its resource tenants; Litware is a just-in-time partner (no standing sync). The access settings are the files' (tenantsync partner list -t TENANT); tenantsync export writes the whole topology back as one file."
    );
}

/// Calls `f` with every active user of `t`, a page at a time.
async fn each_user(store: &dyn Store, t: &Tenant, mut f: impl FnMut(&User)) -> Result<(), Failure> {
    let mut query = ListQuery { limit: 5000, ..ListQuery::default() };
    loop {
        let page = store.list_users(t.id, &query).await.about(|| format!("tenant '{}'", t.initial_domain))?;
        page.items.iter().for_each(&mut f);
        match page.next {
            Some(next) => query.after = Some(next),
            None => return Ok(()),
        }
    }
}

/// Users of `t` that came from another tenant.
async fn count_external(store: &dyn Store, t: &Tenant) -> Result<u64, Failure> {
    let mut n = 0;
    each_user(store, t, |u| n += u64::from(u.anchor.is_some())).await?;
    Ok(n)
}

/// One security group per department ("Sales team", …, as `examples/hub.toml` names them),
/// with the department's users as direct members.
async fn department_groups(store: &dyn Store, tenant: &Tenant) -> Result<(), Failure> {
    let subject = || format!("tenant '{}'", tenant.initial_domain);
    let mut by_dept: BTreeMap<String, Vec<ObjectId>> = generate::DEPARTMENTS.iter().map(|d| ((*d).to_owned(), Vec::new())).collect();
    each_user(store, tenant, |u| {
        if let Some(d) = &u.attrs.department {
            by_dept.entry(d.clone()).or_default().push(u.id);
        }
    })
    .await?;
    for (dept, members) in by_dept {
        let mut attrs = GroupAttributes::new(&format!("{dept} team")).about(subject)?;
        attrs.description = Some(format!("Everyone in {dept}"));
        let group = store.create_group(tenant.id, NewGroup::new(attrs)).await.about(subject)?;
        let ops: Vec<WriteOp> = members.into_iter().map(|user| WriteOp::AddMember { group: group.id, user, if_match: None }).collect();
        for r in store.apply(tenant.id, ops, BatchMode::Atomic).await.about(subject)? {
            r.about(subject)?;
        }
    }
    Ok(())
}
