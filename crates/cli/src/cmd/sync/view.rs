//! Configurations as text: `sync show` (every setting, one a line, then the job's state)
//! and what `sync update` changed (old → new). A setting is named by its JSON path in the
//! configuration (`scope`, `userMappings.userType`, `retry.baseSeconds`, …), so the text,
//! the JSON and the options of `sync update` name the same things.
use super::{Ctx, tenants};
use crate::failure::Failure;
use crate::output::{self, out};
use tenantsync_domain::{Assignment, AttributeMapping, FlowType, MappingSource, ScopingFilterGroup, SyncConfiguration};
use tenantsync_expression::scoping::FilterClause;
use tenantsync_store::JobState;

/// Escrows `sync show` lists one by one (the rest are counted).
const SHOWN_ESCROWS: usize = 10;

/// A mapping's source as text: `[attribute]`, `"constant"` or the expression, then its
/// flow when it is not `Always` and its default value when it has one.
fn mapping(m: &AttributeMapping) -> String {
    let mut s = match &m.source {
        MappingSource::Attribute(a) => format!("[{a}]"),
        MappingSource::Constant(c) => serde_json::Value::String(c.clone()).to_string(),
        MappingSource::Expression(e) => e.clone(),
    };
    let mut notes = Vec::new();
    if m.flow_type != FlowType::Always {
        notes.push(format!("flow {}", output::name(&m.flow_type)));
    }
    if let Some(d) = &m.default_value {
        notes.push(format!("default {}", serde_json::Value::String(d.clone())));
    }
    if !notes.is_empty() {
        s.push_str(&format!(" ({})", notes.join(", ")));
    }
    s
}

/// A scoping filter as `sync create --filter` takes it: clauses of a group joined by
/// `AND`, groups by `OR`.
pub fn filter_text(groups: &[ScopingFilterGroup]) -> String {
    if groups.is_empty() {
        return "(none: every user in scope passes)".into();
    }
    groups.iter().map(|g| g.clauses.iter().map(|c| FilterClause::from(c).to_string()).collect::<Vec<_>>().join(" AND ")).collect::<Vec<_>>().join(" OR ")
}

/// Every setting of `c`, as `(name, text)`, in the order `sync show` prints them.
pub async fn settings(ctx: &Ctx, c: &SyncConfiguration) -> Result<Vec<(String, String)>, Failure> {
    let (source, _) = tenants(ctx, c).await?;
    let mut assigned = Vec::new();
    for a in &c.assignments {
        assigned.push(match a {
            Assignment::User(id) => match ctx.store.get_user(source.id, *id).await {
                Ok(u) => format!("user {}", u.attrs.user_principal_name),
                Err(_) => format!("user {id} (gone)"),
            },
            Assignment::Group(id) => match ctx.store.get_group(source.id, *id).await {
                Ok(g) => format!("group {} ({id})", g.attrs.display_name),
                Err(_) => format!("group {id} (gone)"),
            },
        });
    }
    let mut s = vec![
        ("displayName".to_owned(), c.display_name.clone()),
        ("scope".to_owned(), output::name(&c.scope)),
        ("scopingFilter".to_owned(), filter_text(&c.scoping_filter)),
        ("assignments".to_owned(), if assigned.is_empty() { "(none)".into() } else { assigned.join(", ") }),
    ];
    s.extend(c.user_mappings.iter().map(|m| (format!("userMappings.{}", m.target_attribute_name), mapping(m))));
    s.push(("provisionGroups".into(), c.provision_groups.to_string()));
    s.extend(c.group_mappings.iter().map(|m| (format!("groupMappings.{}", m.target_attribute_name), mapping(m))));
    s.extend([
        ("actions.create".to_owned(), c.actions.create.to_string()),
        ("actions.update".to_owned(), c.actions.update.to_string()),
        ("actions.delete".to_owned(), c.actions.delete.to_string()),
        ("deletionThreshold".to_owned(), c.deletion_threshold.map_or_else(|| "off".to_owned(), |n| n.to_string())),
        ("retry.baseSeconds".to_owned(), c.retry.base_seconds.to_string()),
        ("retry.maxSeconds".to_owned(), c.retry.max_seconds.to_string()),
        ("quarantine.evaluateAfter".to_owned(), c.quarantine.evaluate_after.to_string()),
        ("quarantine.failurePercent".to_owned(), c.quarantine.failure_percent.to_string()),
        ("quarantine.failures".to_owned(), c.quarantine.failures.to_string()),
        ("quarantine.absolute".to_owned(), c.quarantine.absolute.to_string()),
    ]);
    Ok(s)
}

/// `sync show`: as JSON `{"configuration", "status"}`; as text the configuration's
/// identity, every setting and the job's state, one a line.
pub async fn print_show(ctx: &Ctx, c: &SyncConfiguration, state: &JobState) -> Result<(), Failure> {
    if ctx.json {
        output::json(&serde_json::json!({ "configuration": c, "status": state }));
        return Ok(());
    }
    let (s, t) = tenants(ctx, c).await?;
    let mut rows =
        vec![("id".to_owned(), c.id.to_string()), ("source".to_owned(), s.initial_domain.to_string()), ("target".to_owned(), t.initial_domain.to_string())];
    rows.extend(settings(ctx, c).await?);
    rows.push(("status".into(), output::name(&state.status)));
    rows.push(("watermark".into(), state.watermark.to_string()));
    if let Some(e) = &state.last_execution {
        let n = &e.counters;
        let mut text = format!(
            "{} cycle {}, {} to {}: {}; imported {}, deltas {}, entitled {}, exported {}, escrowed {}",
            if e.initial { "initial" } else { "incremental" },
            e.cycle_id,
            output::time(e.time_began),
            output::time(e.time_ended),
            e.state,
            n.count_imported,
            n.count_imported_deltas,
            n.count_entitled,
            n.count_exported,
            n.count_escrowed
        );
        if let Some(err) = &e.error {
            text.push_str(&format!("; error: {err}"));
        }
        rows.push(("lastExecution".into(), text));
    }
    rows.push(("escrows".into(), state.escrows.len().to_string()));
    for e in state.escrows.iter().take(SHOWN_ESCROWS) {
        let next = output::time(e.next_attempt);
        rows.push((
            String::new(),
            format!("{} {}: {} (attempt {}, next {next}) {}", e.object_type.as_str(), e.source_object_id, e.error_code, e.attempts, e.message),
        ));
    }
    if state.escrows.len() > SHOWN_ESCROWS {
        rows.push((String::new(), format!("… and {} more (--json lists them)", state.escrows.len() - SHOWN_ESCROWS)));
    }
    if let Some(q) = state.quarantine_reason {
        rows.push(("quarantineReason".into(), format!("{}: {}", q.as_str(), q.meaning())));
    }
    if state.force_deletes {
        rows.push(("forceDeletes".into(), "true (the next cycle applies the deletions the threshold held back)".into()));
    }
    output::pairs(&rows);
    Ok(())
}

/// One setting that changed: its name, the old text and the new (`None`: absent).
type Changed = (String, Option<String>, Option<String>);

/// The settings that differ between `old` and `new`, in `new`'s order, then those only
/// `old` had.
fn diff(old: &[(String, String)], new: &[(String, String)]) -> Vec<Changed> {
    let find = |list: &[(String, String)], key: &str| list.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let mut out: Vec<Changed> = new
        .iter()
        .filter_map(|(k, v)| {
            let before = find(old, k);
            (before.as_deref() != Some(v.as_str())).then(|| (k.clone(), before, Some(v.clone())))
        })
        .collect();
    out.extend(old.iter().filter(|(k, _)| find(new, k).is_none()).map(|(k, v)| (k.clone(), Some(v.clone()), None)));
    out
}

/// What `sync update` changed: as JSON `{"configuration", "changes": [{"setting", "old",
/// "new"}], "nextCycleInitial"}`; as text a line per change, `setting: old -> new`.
pub async fn print_update(ctx: &Ctx, old: &SyncConfiguration, new: &SyncConfiguration, initial: bool) -> Result<(), Failure> {
    let changes = diff(&settings(ctx, old).await?, &settings(ctx, new).await?);
    if ctx.json {
        let list: Vec<_> = changes.iter().map(|(k, o, n)| serde_json::json!({ "setting": k, "old": o, "new": n })).collect();
        output::json(&serde_json::json!({ "configuration": new, "changes": list, "nextCycleInitial": initial }));
        return Ok(());
    }
    let (s, t) = tenants(ctx, new).await?;
    out!("updated sync configuration {} ({} -> {})", new.id, s.initial_domain, t.initial_domain);
    if changes.is_empty() {
        out!("  nothing changed");
    }
    for (k, o, n) in &changes {
        out!("  {k}: {} -> {}", o.as_deref().unwrap_or("(none)"), n.as_deref().unwrap_or("(none)"));
    }
    out!("next cycle: {}", if initial { "initial (everything is re-evaluated)" } else { "incremental" });
    Ok(())
}
