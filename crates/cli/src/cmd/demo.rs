//! The demo: the tenants of the seed topologies, filled with generated users through the
//! same import path as `tenantsync import users`, and security groups by department.
use super::{Ctx, lookup};
use crate::failure::{CliCode, Context, Failure};
use crate::generate;
use crate::import::{ImportOptions, import_users};
use crate::output;
use clap::Args;
use std::collections::BTreeMap;
use std::time::Instant;
use tenantsync_domain::{
    Assignment, AttrValue, ChangeCursor, GroupAttributes, NewGroup, NewTenant, ObjectId, PartnerSettings, ScopingClause, ScopingFilterGroup, ScopingOperand,
    SyncConfiguration, SyncScope, Tenant, User, UserPatch,
};
use tenantsync_engine::Engine;
use tenantsync_store::{BatchMode, ListQuery, LogQuery, Store, Visibility, WriteOp};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Users generated into each tenant that has its own users.
    #[arg(long, default_value_t = 2000)]
    pub users: usize,
}

/// The arrows: (source, target, department filter).
const ARROWS: &[(&str, &str, Option<&str>)] = &[
    ("contoso.example", "test.contoso.example", None),
    ("woodgrove.example", "dev.woodgrove.example", None),
    ("woodgrove.example", "prod.woodgrove.example", None),
    ("woodgrove.example", "data.woodgrove.example", None),
    ("northwind.example", "fabrikam.example", None),
    ("tailspin.example", "fabrikam.example", None),
    ("proseware.example", "wingtip.example", None),
    ("proseware.example", "lamna.example", None),
    ("proseware.example", "relecloud.example", None),
    ("wingtip.example", "proseware.example", None),
    ("wingtip.example", "lamna.example", None),
    ("wingtip.example", "relecloud.example", None),
    ("lamna.example", "proseware.example", None),
    ("lamna.example", "wingtip.example", None),
    ("lamna.example", "relecloud.example", None),
    ("relecloud.example", "proseware.example", Some("Engineering")),
    ("relecloud.example", "wingtip.example", Some("Engineering")),
    ("relecloud.example", "lamna.example", Some("Engineering")),
];

/// The hub provisions groups too: its arrows sync the users of its department groups
/// (assigned scope) and the groups themselves, as static security groups with their
/// members (Entra's "Provision Microsoft Entra ID Groups").
const GROUP_HUB: &str = "woodgrove.example";

const ALLOW: PartnerSettings =
    PartnerSettings { inbound_auto_redeem: Some(true), outbound_auto_redeem: Some(true), inbound_user_sync: Some(true), inbound_group_sync: Some(true) };

/// (display name, initial domain, topology, role, has users of its own)
const TENANTS: &[(&str, &str, &str, &str, bool)] = &[
    ("Contoso", "contoso.example", "1:1 production -> test", "source (production)", true),
    ("Contoso Test", "test.contoso.example", "1:1 production -> test", "target (test)", false),
    ("Woodgrove", "woodgrove.example", "1:N user hub -> resource tenants", "source (user hub)", true),
    ("Woodgrove Dev", "dev.woodgrove.example", "1:N user hub -> resource tenants", "target (resources)", false),
    ("Woodgrove Prod", "prod.woodgrove.example", "1:N user hub -> resource tenants", "target (resources)", false),
    ("Woodgrove Data", "data.woodgrove.example", "1:N user hub -> resource tenants", "target (resources)", false),
    ("Fabrikam", "fabrikam.example", "N:1 acquired companies -> parent", "target (parent)", true),
    ("Northwind", "northwind.example", "N:1 acquired companies -> parent", "source (acquired)", true),
    ("Tailspin", "tailspin.example", "N:1 acquired companies -> parent", "source (acquired)", true),
    ("Proseware", "proseware.example", "N:N portfolio mesh", "source and target", true),
    ("Wingtip", "wingtip.example", "N:N portfolio mesh", "source and target", true),
    ("Lamna", "lamna.example", "N:N portfolio mesh", "source and target", true),
    ("Relecloud", "relecloud.example", "N:N portfolio mesh", "provisions a subset only", true),
    ("Litware", "litware.example", "just-in-time (joint venture with Contoso)", "connected organization", true),
];

pub async fn run(ctx: &Ctx, args: DemoArgs) -> Result<(), Failure> {
    let store = ctx.store.as_ref();
    let started = Instant::now();
    let work = std::env::temp_dir().join(format!("tenantsync-demo-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|e| Failure::cli(work.display().to_string(), e.to_string(), CliCode::UnreadableFile))?;
    let mut imported_total = 0u64;
    let mut import_secs = 0f64;
    let mut tenants = Vec::new();
    for (i, (name, domain, _, _, has_users)) in TENANTS.iter().enumerate() {
        let tenant = match lookup::tenant(store, domain).await {
            Ok(t) => t,
            Err(_) => store.create_tenant(NewTenant::new(name, domain).about(|| format!("tenant '{domain}'"))?).await.about(|| format!("tenant '{domain}'"))?,
        };
        let existing = store.count_users(tenant.id, Visibility::All).await.about(|| format!("tenant '{domain}'"))?;
        if *has_users && existing == 0 && args.users > 0 {
            let file = work.join(format!("{domain}.csv"));
            let out = std::fs::File::create(&file).map_err(|e| Failure::cli(file.display().to_string(), e.to_string(), CliCode::UnreadableFile))?;
            generate::write_csv(std::io::BufWriter::new(out), generate::users(i as u64 + 1, args.users, domain, name, true))
                .map_err(|e| Failure::cli(file.display().to_string(), e.to_string(), CliCode::UnreadableFile))?;
            let report = import_users(store, tenant.id, &file, &ImportOptions::default(), &mut |_| {}).await.about(String::new)?;
            if let Some(e) = report.errors.first() {
                return Err(Failure::new(format!("{}:{}", file.display(), e.line), e.message.clone(), e.code));
            }
            imported_total += report.imported;
            import_secs += report.elapsed.as_secs_f64();
            department_groups(store, &tenant).await?;
        }
        tenants.push(tenant);
    }
    let _ = std::fs::remove_dir_all(&work);

    // The arrows of the seed topologies. Every demo tenant allows inbound sync and
    // automatic redemption from its partners (as tenants of one organization do).
    for t in &tenants {
        ctx.sync.set_partner_settings(t.id, None, ALLOW).await.about(|| format!("tenant '{}'", t.initial_domain))?;
    }
    let engine = Engine::new(ctx.sync.clone());
    let by_domain = |d: &str| tenants.iter().find(|t| t.initial_domain.as_str() == d).cloned();
    let mut cycles = Vec::new();
    for (source, target, filter) in ARROWS {
        let (Some(s), Some(t)) = (by_domain(source), by_domain(target)) else { continue };
        let existing = ctx.sync.list_sync_configurations().await.about(String::new)?;
        let config = match existing.into_iter().find(|c| c.source_tenant_id == s.id && c.target_tenant_id == t.id) {
            Some(c) => c,
            None => {
                let mut c = SyncConfiguration::new(&format!("{} to {}", s.display_name, t.display_name), s.id, t.id)
                    .about(|| format!("sync configuration '{source}:{target}'"))?;
                c.scope = SyncScope::AllUsers;
                if *source == GROUP_HUB {
                    c.scope = SyncScope::AssignedUsersAndGroups;
                    c.provision_groups = true;
                    let groups = store.list_groups(s.id, &ListQuery { limit: 1000, ..ListQuery::default() }).await.about(|| format!("tenant '{source}'"))?;
                    c.assignments = groups.items.iter().filter(|g| g.anchor.is_none()).map(|g| Assignment::Group(g.id)).collect();
                }
                if let Some(department) = filter {
                    c.scoping_filter = vec![ScopingFilterGroup {
                        name: format!("{department} only"),
                        clauses: vec![ScopingClause {
                            source_operand_name: "department".into(),
                            operator_name: "EQUALS".into(),
                            target_operand: ScopingOperand { values: vec![(*department).to_owned()] },
                        }],
                    }];
                }
                engine.create_configuration(c).await.about(|| format!("sync configuration '{source}:{target}'"))?
            }
        };
        let t0 = Instant::now();
        let report = engine.run_cycle(config.id).await.about(|| format!("sync configuration '{source}:{target}'"))?;
        cycles.push((*source, *target, report, t0.elapsed(), config.id));
    }

    let mut rows = Vec::new();
    for (t, (_, _, topology, role, _)) in tenants.iter().zip(TENANTS) {
        let subject = || format!("tenant '{}'", t.initial_domain);
        let users = store.count_users(t.id, Visibility::Active).await.about(subject)?;
        let external = count_external(store, t).await?;
        let groups = store.list_groups(t.id, &ListQuery { limit: 1000, ..ListQuery::default() }).await.about(subject)?.items.len();
        let head = store.change_head(t.id).await.about(subject)?;
        rows.push(vec![
            t.display_name.clone(),
            t.initial_domain.to_string(),
            topology.to_string(),
            role.to_string(),
            (users - external).to_string(),
            external.to_string(),
            groups.to_string(),
            head.to_string(),
        ]);
    }
    if ctx.json {
        output::json(&tenants);
        return Ok(());
    }
    output::table(&["TENANT", "INITIAL DOMAIN", "TOPOLOGY", "ROLE", "INTERNAL", "EXTERNAL", "GROUPS", "CHANGES"], &rows);
    println!();
    println!("sync cycles:");
    for (source, target, r, took, _) in &cycles {
        let groups =
            if *source == GROUP_HUB { format!(" (groups: {} created, {} members added)", r.groups.created, r.groups.members_added) } else { String::new() };
        println!(
            "  {source} -> {target}: {} cycle, {} created, {} updated, {} soft-deleted, {} skipped{groups} in {} ms",
            if r.initial { "initial" } else { "incremental" },
            r.created,
            r.updated,
            r.soft_deleted,
            r.skipped,
            took.as_millis()
        );
    }
    // The groups the hub provisioned into one of its resource tenants.
    if let Some(spoke) = tenants.iter().find(|t| t.initial_domain.as_str() == "dev.woodgrove.example") {
        let subject = || format!("tenant '{}'", spoke.initial_domain);
        let groups = store.list_groups(spoke.id, &ListQuery { limit: 1000, ..ListQuery::default() }).await.about(subject)?;
        let mut shown = Vec::new();
        for g in groups.items.iter().filter(|g| g.anchor.is_some()) {
            let members = store.list_members(spoke.id, g.id, &ListQuery { limit: 5000, ..ListQuery::default() }).await.about(subject)?;
            let more = if members.next.is_some() { "+" } else { "" };
            shown.push(format!("{} ({}{more} members)", g.attrs.display_name, members.items.len()));
        }
        if !shown.is_empty() {
            println!();
            println!("groups Woodgrove provisioned into {} (static security groups): {}", spoke.initial_domain, shown.join(", "));
        }
    }
    // What the provisioning logs say: per arrow, its records by action and status; then
    // one change in a source, the event it becomes, and its record.
    println!();
    println!("provisioning logs (tenantsync sync logs CONFIG):");
    for (source, target, _, _, id) in &cycles {
        let records = ctx.sync.provisioning_logs(&LogQuery { config_id: Some(*id), limit: 100_000, ..LogQuery::default() }).await.about(String::new)?;
        let mut by_kind: BTreeMap<(String, &str, String), usize> = BTreeMap::new();
        for r in &records {
            let why = r.skip_reason.as_ref().map(|w| format!(" ({w})")).unwrap_or_default();
            *by_kind.entry((format!("{:?}", r.provisioning_action).to_lowercase(), r.status.as_str(), why)).or_default() += 1;
        }
        let kinds: Vec<String> = by_kind.iter().map(|((a, st, why), n)| format!("{a} {st}{why} {n}")).collect();
        println!("  {source} -> {target}: {} records: {}", records.len(), kinds.join(", "));
    }
    if let (Some(contoso), Some((_, _, _, _, id))) = (tenants.first(), cycles.first()) {
        let subject = || format!("tenant '{}'", contoso.initial_domain);
        if let Some(u) = store.list_users(contoso.id, &ListQuery { limit: 1, ..ListQuery::default() }).await.about(subject)?.items.first() {
            let department = if u.attrs.department.as_deref() == Some("Legal") { "Research" } else { "Legal" };
            let patch = UserPatch::from_pairs([("department", AttrValue::String(department.into()))]).about(subject)?;
            store.update_user(contoso.id, u.id, patch, None).await.about(subject)?;
            let report = engine.run_cycle(*id).await.about(|| "sync configuration 'contoso.example:test.contoso.example'".into())?;
            let last = ctx
                .sync
                .provisioning_logs(&LogQuery { config_id: Some(*id), object_id: Some(u.id), limit: 1, ..LogQuery::default() })
                .await
                .about(String::new)?;
            if let Some(r) = last.first() {
                let changed: Vec<String> = r
                    .modified_properties
                    .iter()
                    .map(|m| format!("{} '{}' -> '{}'", m.display_name, m.old_value.as_deref().unwrap_or(""), m.new_value.as_deref().unwrap_or("")))
                    .collect();
                let steps: Vec<&str> = r.steps.iter().map(|s| s.kind.step_type().as_str()).collect();
                println!(
                    "  then {}'s department was set to {department} in {}; the next incremental cycle ({} change read, {} updated) logged: {:?} {} {} -> {}: {} (steps: {})",
                    u.attrs.user_principal_name,
                    contoso.initial_domain,
                    report.counters.count_imported_deltas,
                    report.updated,
                    r.provisioning_action,
                    r.status.as_str(),
                    r.source_display_name,
                    r.target_id.map(|t| t.to_string()).unwrap_or_default(),
                    changed.join(", "),
                    steps.join(" > ")
                );
            }
        }
    }
    println!();
    if imported_total > 0 {
        println!(
            "imported {imported_total} users in {import_secs:.2}s ({:.0} users/s, each with its change-feed entry in the same transaction)",
            imported_total as f64 / import_secs.max(1e-9)
        );
    }
    if let Some(contoso) = tenants.first() {
        let page = store.changes_since(contoso.id, ChangeCursor::START, 3).await.about(|| "tenant 'contoso.example'".into())?;
        println!("first changes of {}:", contoso.initial_domain);
        for c in page.changes {
            println!("  #{} {} {} {}", c.seq, c.op, c.object_kind, c.object_id);
        }
        if let Some(u) = store.list_users(contoso.id, &ListQuery { limit: 1, ..ListQuery::default() }).await.about(String::new)?.items.first() {
            let t0 = Instant::now();
            let found = store.find_user_by_upn(contoso.id, &u.attrs.user_principal_name).await.about(String::new)?;
            println!(
                "lookup of {} by userPrincipalName: {} in {} µs",
                u.attrs.user_principal_name,
                if found.is_some() { "found" } else { "missing" },
                t0.elapsed().as_micros()
            );
        }
    }
    println!("demo ready in {:.1}s. Try: tenantsync user list --tenant contoso.example --limit 5", started.elapsed().as_secs_f64());
    println!(
        "Relecloud provisions only its Engineering department to its mesh partners; Woodgrove provisions its department groups and their members to its resource tenants; Litware is a just-in-time partner (no standing sync)."
    );
    Ok(())
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

/// One security group per department, with the department's users as direct members.
async fn department_groups(store: &dyn Store, tenant: &Tenant) -> Result<(), Failure> {
    let subject = || format!("tenant '{}'", tenant.initial_domain);
    let mut by_dept: BTreeMap<String, Vec<ObjectId>> = BTreeMap::new();
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
