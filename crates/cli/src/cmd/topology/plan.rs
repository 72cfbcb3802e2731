//! `tenantsync plan FILE`: what `apply` would change, object by object; for each arrow it
//! would create or change, what the arrow's next cycle would do (the engine's own cycle in
//! a dry run, [`Engine::predict`]); and the warnings.
use super::Loaded;
use super::current::Current;
use crate::cmd::{Ctx, lookup};
use crate::failure::{Context, Failure};
use crate::output::{self, out};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasherDefault;
use tenantsync_domain::{Assignment, DomainName, Mail, ObjectId, PartnerSettings, SyncConfigId, SyncConfiguration, Tenant, TenantId};
use tenantsync_engine::{Engine, PredictArrow, Prediction};
use tenantsync_store::JobState;
use tenantsync_topology::{AccessState, ArrowState, ObjectDiff, ObjectKind, Op, State};

/// Mails of a predicted cycle's creates looked up in the target, per arrow, at most.
const LOOKED_UP_MAILS: usize = 1000;
/// People named per target tenant in two-path warnings, at most.
const NAMED_TWO_PATHS: usize = 5;

/// The kinds of warnings a plan gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum WarningKind {
    /// The target does not allow inbound sync from the source (or the source does not allow
    /// outbound redemption): the arrow's cycles would fail the policy check.
    NotAllowed,
    /// The same person (by mail) would reach a tenant by two paths.
    TwoPaths,
    /// The next cycle would delete more than the arrow's deletion threshold.
    DeletionThreshold,
    /// A template and an explicit declaration both define an arrow.
    TemplateOverridden,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Warning {
    pub kind: WarningKind,
    pub message: String,
}

/// An arrow's next cycle, or why there is none to predict.
#[derive(Debug)]
pub(crate) struct Next {
    pub arrow: String,
    pub prediction: Option<Prediction>,
    pub note: Option<String>,
}

#[derive(Debug)]
pub(crate) struct Planned {
    pub diffs: Vec<ObjectDiff>,
    pub next: Vec<Next>,
    pub warnings: Vec<Warning>,
}

/// The access settings the store will hold after `apply` (without `--prune`, those the
/// file does not declare stay; with it, they go).
pub(crate) fn access_after(desired: &State, current: &State, prune: bool) -> Vec<AccessState> {
    let mut out = desired.access.clone();
    if !prune {
        out.extend(current.access.iter().filter(|c| !desired.access.iter().any(|d| d.tenant == c.tenant && d.partner == c.partner)).cloned());
    }
    out
}

fn effective(access: &[AccessState], tenant: &str, partner: &str) -> PartnerSettings {
    let find = |p: Option<&str>| access.iter().find(|a| a.tenant == tenant && a.partner.as_deref() == p).map_or_else(PartnerSettings::default, |a| a.settings);
    find(Some(partner)).over(find(None))
}

/// What the access settings `access` leave unmet for an arrow from `source` to `target`
/// (Entra's policy check, as the engine makes it).
pub(crate) fn unmet(access: &[AccessState], source: &str, target: &str) -> Vec<&'static str> {
    let (s, t) = (effective(access, source, target), effective(access, target, source));
    let mut missing = Vec::new();
    if t.inbound_user_sync != Some(true) {
        missing.push("the target does not allow inbound user sync from the source (inbound_user_sync)");
    }
    if t.inbound_auto_redeem != Some(true) {
        missing.push("the target does not redeem the source's invitations automatically (inbound_auto_redeem)");
    }
    if s.outbound_auto_redeem != Some(true) {
        missing.push("the source does not allow automatic redemption towards the target (outbound_auto_redeem)");
    }
    missing
}

/// The configuration `arrow` of `file` is: between `source` and target `target`, with its
/// assignments looked up in the source (a name not found is named at its place in the
/// file), the id of `existing` if there is one.
pub(crate) async fn config_of(
    ctx: &Ctx,
    file: &Loaded,
    arrow: &ArrowState,
    source: &Tenant,
    target: TenantId,
    existing: Option<&SyncConfiguration>,
) -> Result<SyncConfiguration, Failure> {
    let mut assignments = Vec::new();
    for (i, upn) in arrow.users.iter().enumerate() {
        let place = arrow.place.users.get(i).map_or_else(|| file.name.clone(), |s| file.place(s.start));
        let id = lookup::user_id(ctx.store.as_ref(), source, upn).await.map_err(|f| Failure {
            subject: place,
            message: format!("{}: {}", f.subject, f.message),
            ..f
        })?;
        assignments.push(Assignment::User(id));
    }
    for (i, name) in arrow.groups.iter().enumerate() {
        let place = arrow.place.groups.get(i).map_or_else(|| file.name.clone(), |s| file.place(s.start));
        let id = lookup::group_id(ctx.store.as_ref(), source, name).await.map_err(|f| Failure {
            subject: place,
            message: format!("{}: {}", f.subject, f.message),
            ..f
        })?;
        assignments.push(Assignment::Group(id));
    }
    // Kept in the order the store had them when they are the same set (no change to report).
    if let Some(old) = existing {
        let (mut a, mut b) = (old.assignments.clone(), assignments.clone());
        a.sort();
        b.sort();
        if a == b {
            assignments = old.assignments.clone();
        }
    }
    let id = existing.map_or_else(SyncConfigId::new, |c| c.id);
    let mut config = arrow.config(id, source.id, target, assignments).about(|| file.place(arrow.place.decl.start))?;
    if let Some(old) = existing {
        // What the file does not tell apart stays as stored: filter group names, mapping order.
        if tenantsync_topology::state::same_filter(&old.scoping_filter, &config.scoping_filter) {
            config.scoping_filter = old.scoping_filter.clone();
        }
        if same_set(&old.user_mappings, &config.user_mappings) {
            config.user_mappings = old.user_mappings.clone();
        }
        if same_set(&old.group_mappings, &config.group_mappings) {
            config.group_mappings = old.group_mappings.clone();
        }
    }
    Ok(config)
}

fn same_set<T: PartialEq>(a: &[T], b: &[T]) -> bool {
    a.len() == b.len() && a.iter().all(|x| b.contains(x))
}

/// What is needed to predict the next cycle of arrow `arrow` once applied, or, when there
/// is nothing to predict (its source does not exist yet), why.
async fn next_cycle(ctx: &Ctx, file: &Loaded, current: &Current, arrow: &ArrowState, access: &[AccessState]) -> Result<Result<PredictArrow, Next>, Failure> {
    let label = arrow.label();
    let Some(source) = current.tenant(&arrow.source) else {
        return Ok(Err(Next { arrow: label, prediction: None, note: Some("its source is created by this apply: no users to sync yet".into()) }));
    };
    let (target, target_domain) = match current.tenant(&arrow.target) {
        Some(t) => (t.id, t.initial_domain.clone()),
        // Created by this apply: the prediction takes it as empty.
        None => (TenantId::new(), DomainName::parse(&arrow.target).about(|| file.place(arrow.place.decl.start))?),
    };
    let existing = current.configs.get(&(arrow.source.clone(), arrow.target.clone()));
    let config = config_of(ctx, file, arrow, source, target, existing).await?;
    let state = match existing {
        Some(old) => {
            let mut state = ctx.sync.job_state(old.id).await.about(|| label.clone())?;
            if Engine::needs_initial_cycle(old, &config) {
                state.watermark = tenantsync_domain::ChangeCursor::START;
            }
            state
        }
        None => JobState::default(),
    };
    // Groups as the access settings will be once applied.
    let group_sync = effective(access, &arrow.target, &arrow.source).inbound_group_sync == Some(true);
    Ok(Ok(PredictArrow { config, state, target_domain, group_sync: Some(group_sync) }))
}

/// The next cycles of `arrows` once applied, in their order: predicted together by the
/// engine (the arrows from one source share one read of it).
async fn next_cycles(
    ctx: &Ctx,
    file: &Loaded,
    current: &Current,
    arrows: &[&ArrowState],
    samples: usize,
    access: &[AccessState],
) -> Result<Vec<Next>, Failure> {
    let mut next = Vec::with_capacity(arrows.len());
    let mut wanted = Vec::new();
    for (i, arrow) in arrows.iter().enumerate() {
        match next_cycle(ctx, file, current, arrow, access).await? {
            Ok(p) => wanted.push((i, p)),
            Err(n) => next.push((i, n)),
        }
    }
    let (at, predict): (Vec<usize>, Vec<PredictArrow>) = wanted.into_iter().unzip();
    let engine = Engine::new(ctx.sync.clone());
    for (i, prediction) in at.into_iter().zip(engine.predict_all(predict, samples).await) {
        let label = arrows.get(i).map(|a| a.label()).unwrap_or_default();
        let prediction = prediction.about(|| label.clone())?;
        next.push((i, Next { arrow: label, prediction: Some(prediction), note: None }));
    }
    next.sort_by_key(|(i, _)| *i);
    Ok(next.into_iter().map(|(_, n)| n).collect())
}

/// A hasher for keys that are hashes already ([`tenantsync_engine::mail_hash`]).
#[derive(Default)]
struct Prehashed(u64);

impl std::hash::Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// The mail two source users share (ignoring case), if they do: a hash match confirmed.
async fn shared_mail(ctx: &Ctx, current: &Current, a: (&str, ObjectId), b: (&str, ObjectId)) -> Result<Option<String>, Failure> {
    let mut mails = Vec::with_capacity(2);
    for (domain, user) in [a, b] {
        let Some(tenant) = current.tenant(domain) else { return Ok(None) };
        let user = ctx.store.get_user(tenant.id, user).await.about(|| format!("tenant '{domain}'"))?;
        mails.push(user.attrs.mail.map(|m| m.as_str().to_ascii_lowercase()));
    }
    Ok(match (mails.pop().flatten(), mails.pop().flatten()) {
        (Some(x), Some(y)) if x == y => Some(x),
        _ => None,
    })
}

/// People who would reach a tenant by two paths: the same mail created by two arrows into
/// it, or created by one where the tenant already has a user with that mail. The arrows'
/// created users are compared by the hash of their mail (a match confirmed by reading the
/// two users), so a target's check holds a hash and an id per arriving user, not its mail.
async fn two_paths(ctx: &Ctx, current: &Current, desired: &State, next: &[Next]) -> Result<Vec<Warning>, Failure> {
    let mut by_target: BTreeMap<&str, Vec<(&str, &Prediction)>> = BTreeMap::new();
    for n in next {
        if let (Some(p), Some(a)) = (&n.prediction, desired.arrows.iter().find(|a| a.label() == n.arrow)) {
            by_target.entry(a.target.as_str()).or_default().push((a.source.as_str(), p));
        }
    }
    let mut warnings = Vec::new();
    for (target, arrows) in by_target {
        let mut seen: HashMap<u64, (&str, ObjectId), BuildHasherDefault<Prehashed>> = HashMap::default();
        let mut found: Vec<String> = Vec::new();
        let mut count = 0usize;
        let tenant = current.tenant(target);
        for (source, p) in arrows {
            for c in &p.created_mails {
                let first = *seen.entry(c.hash).or_insert((source, c.source_user));
                if first.0 == source {
                    continue;
                }
                if let Some(mail) = shared_mail(ctx, current, first, (source, c.source_user)).await? {
                    count += 1;
                    if found.len() < NAMED_TWO_PATHS {
                        found.push(format!("{mail} (from {} and from {source})", first.0));
                    }
                }
            }
            let Some(t) = tenant else { continue };
            for mail in p.first_created_mails.iter().take(LOOKED_UP_MAILS) {
                let Ok(m) = Mail::parse(mail) else { continue };
                let there = ctx.store.find_users_by_mail(t.id, &m).await.about(|| format!("tenant '{target}'"))?;
                if let Some(u) = there.iter().find(|u| u.anchor.is_none_or(|a| current.tenant_domain(a.tenant).as_deref() != Some(source))) {
                    count += 1;
                    if found.len() < NAMED_TWO_PATHS {
                        let origin = u
                            .anchor
                            .map_or_else(|| "its own user".to_owned(), |a| format!("a copy from {}", current.tenant_domain(a.tenant).unwrap_or_default()));
                        found.push(format!("{mail} (from {source}; {target} already has {origin} with this mail)"));
                    }
                }
            }
        }
        if count > 0 {
            let more = if count > found.len() { format!(" and {} more", count - found.len()) } else { String::new() };
            warnings.push(Warning {
                kind: WarningKind::TwoPaths,
                message: format!("{count} people would reach {target} by two paths: {}{more}", found.join(", ")),
            });
        }
    }
    Ok(warnings)
}

/// Plans `file` against the store's `current` state; with `predict`, each new or changed
/// arrow's next cycle too.
pub(crate) async fn plan(ctx: &Ctx, file: &Loaded, current: &Current, predict: bool, samples: usize) -> Result<Planned, Failure> {
    let desired = &file.state;
    let diffs = tenantsync_topology::diff(desired, &current.state);
    let mut warnings: Vec<Warning> =
        file.notices.iter().map(|(place, n)| Warning { kind: WarningKind::TemplateOverridden, message: format!("{place}: {}", n.message) }).collect();
    let mut next = Vec::new();
    if !predict {
        return Ok(Planned { diffs, next, warnings });
    }
    let access = access_after(desired, &current.state, false);
    let arrows: Vec<&ArrowState> = diffs
        .iter()
        .filter(|d| d.kind == ObjectKind::Arrow && d.op != Op::Remove)
        .filter_map(|d| desired.arrows.iter().find(|a| a.label() == d.object))
        .collect();
    next = next_cycles(ctx, file, current, &arrows, samples, &access).await?;
    for a in &desired.arrows {
        let missing = unmet(&access, &a.source, &a.target);
        if !missing.is_empty() {
            let message = format!("{}: {} would not run: {}", file.place(a.place.decl.start), a.label(), missing.join("; "));
            warnings.push(Warning { kind: WarningKind::NotAllowed, message });
        } else if a.provision_groups && effective(&access, &a.target, &a.source).inbound_group_sync != Some(true) {
            let message = format!(
                "{}: {} would skip its groups: the target does not allow inbound group sync from the source (inbound_group_sync)",
                file.place(a.place.decl.start),
                a.label()
            );
            warnings.push(Warning { kind: WarningKind::NotAllowed, message });
        }
    }
    for n in &next {
        if let Some(p) = n.prediction.as_ref().filter(|p| p.report.staged_deletes > 0) {
            let message = format!(
                "{}: the next cycle would delete {} objects, more than its deletion threshold: it would stage them and quarantine the job (TooManyDeletes)",
                n.arrow, p.report.staged_deletes
            );
            warnings.push(Warning { kind: WarningKind::DeletionThreshold, message });
        }
    }
    warnings.extend(two_paths(ctx, current, desired, &next).await?);
    Ok(Planned { diffs, next, warnings })
}

fn op_word(op: Op) -> &'static str {
    match op {
        Op::Add => "add",
        Op::Change => "change",
        Op::Remove => "remove",
    }
}

pub(crate) fn kind_word(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Tenant => "tenant",
        ObjectKind::Partner => "partner",
        ObjectKind::Arrow => "arrow",
        ObjectKind::Organization => "connected organization",
        ObjectKind::Catalog => "catalog",
        ObjectKind::Package => "access package",
    }
}

/// A prediction as JSON.
pub(crate) fn prediction_json(p: &Prediction) -> serde_json::Value {
    let outcomes: Vec<serde_json::Value> = p
        .outcomes
        .iter()
        .map(|o| {
            serde_json::json!({
                "object": o.object, "action": o.action, "status": o.status, "skipReason": o.skip_reason,
                "errorCode": o.error_code, "count": o.count, "samples": o.samples,
            })
        })
        .collect();
    serde_json::json!({ "report": crate::cmd::sync::report_json(&p.report), "outcomes": outcomes })
}

fn print_prediction(p: &Prediction) {
    let r = &p.report;
    out!(
        "    next cycle ({}): users {} create, {} update, {} restore, {} soft-delete, {} hard-delete, {} skip{}",
        if r.initial { "initial" } else { "incremental" },
        r.created,
        r.updated,
        r.restored,
        r.soft_deleted,
        r.hard_deleted,
        r.skipped,
        if r.staged_deletes > 0 { format!(", {} deletions staged", r.staged_deletes) } else { String::new() }
    );
    let g = &r.groups;
    if *g != tenantsync_engine::GroupReport::default() {
        out!(
            "      groups {} create, {} update, {} restore, {} soft-delete, {} hard-delete, {} skip",
            g.created,
            g.updated,
            g.restored,
            g.soft_deleted,
            g.hard_deleted,
            g.skipped
        );
    }
    for o in &p.outcomes {
        let what = match o.skip_reason {
            Some(reason) => format!("{} {} ({reason})", output::name(&o.object), output::name(&o.action)),
            None => format!("{} {} {}", output::name(&o.object), output::name(&o.action), output::name(&o.status)),
        };
        let code = o.error_code.as_deref().map(|c| format!(" [{c}]")).unwrap_or_default();
        out!("      {what}{code}: {} — e.g. {}", o.count, o.samples.join(", "));
    }
}

/// Prints a plan: as JSON, or object by object with the settings that change.
pub(crate) fn print(ctx: &Ctx, planned: &Planned, drift: bool) {
    let count = |op: Op| planned.diffs.iter().filter(|d| d.op == op).count();
    let (add, change, remove) = (count(Op::Add), count(Op::Change), count(Op::Remove));
    if ctx.json {
        let changes: Vec<serde_json::Value> = planned
            .diffs
            .iter()
            .map(|d| {
                let mut v = serde_json::json!(d);
                if let (Some(n), Some(object)) = (planned.next.iter().find(|n| d.kind == ObjectKind::Arrow && n.arrow == d.object), v.as_object_mut()) {
                    object.insert("nextCycle".into(), n.prediction.as_ref().map_or(serde_json::Value::Null, prediction_json));
                    if let Some(note) = &n.note {
                        object.insert("note".into(), serde_json::json!(note));
                    }
                }
                v
            })
            .collect();
        output::json(&serde_json::json!({
            "changes": changes, "warnings": planned.warnings, "drift": drift,
            "summary": { "add": add, "change": change, "remove": remove },
        }));
        return;
    }
    let defaults = tenantsync_topology::state::default_arrow_settings();
    for d in &planned.diffs {
        out!("{} {}: {}", kind_word(d.kind), d.object, op_word(d.op));
        let mut hidden = 0;
        for s in &d.settings {
            // A new arrow's settings that are Entra's defaults go unsaid.
            if d.op == Op::Add && d.kind == ObjectKind::Arrow && s.setting != "scope" && defaults.get(&s.setting) == s.new.as_ref() {
                hidden += 1;
                continue;
            }
            match (&s.old, &s.new) {
                (None, Some(new)) => out!("  + {} = {new}", s.setting),
                (Some(old), Some(new)) => out!("  ~ {}: {old} -> {new}", s.setting),
                (Some(old), None) => out!("  - {} = {old}", s.setting),
                (None, None) => {}
            }
        }
        if hidden > 0 {
            out!("    (and {hidden} settings at their defaults)");
        }
        if let Some(n) = planned.next.iter().find(|n| d.kind == ObjectKind::Arrow && n.arrow == d.object) {
            if let Some(p) = &n.prediction {
                print_prediction(p);
            }
            if let Some(note) = &n.note {
                out!("    next cycle: {note}");
            }
        }
        if d.op == Op::Remove && d.kind != ObjectKind::Tenant {
            out!("    (removed only by apply --prune)");
        }
        if d.op == Op::Remove && d.kind == ObjectKind::Tenant {
            out!("    (apply never deletes tenants)");
        }
    }
    for w in &planned.warnings {
        out!("warning: {}", w.message);
    }
    if planned.diffs.is_empty() {
        out!("{}", if drift { "no drift: the store matches the file" } else { "nothing to do: the store matches the file" });
    } else {
        let what = if drift { "drift" } else { "plan" };
        out!("{what}: {add} to add, {change} to change, {remove} not in the file");
    }
}
