//! On-demand provisioning of one user: the same scope → match → map → act and the same
//! commit as a cycle, for one user now, with every step explained.
use crate::context::Shared;
use crate::plan::{self, Action};
use crate::run::Run;
use crate::scope::{Scope, assignments, live_groups};
use crate::{Compiled, EngineError, policy};
use serde_json::{Map, Value, json};
use tenantsync_domain::{Anchor, AttrValue, ObjectId, SkipReason, StepKind, SyncConfigId, SyncScope};
use tenantsync_store::{ProvisioningLog, ProvisioningStatus, ProvisioningStep, WriteOutcome};

fn step(kind: StepKind, status: ProvisioningStatus, description: String, details: Map<String, Value>) -> ProvisioningStep {
    ProvisioningStep { details, ..ProvisioningStep::new(kind, status, description) }
}

fn text(v: &AttrValue) -> Value {
    match v {
        AttrValue::Null => Value::Null,
        AttrValue::Bool(b) => json!(b.to_string()),
        AttrValue::String(s) => json!(s),
        AttrValue::Strings(v) => json!(v),
    }
}

/// Provisions one source user now and returns the provisioning log record of what was
/// done, with detailed steps: import (the source attributes), scoping (each condition and
/// each scoping clause with its result), matching (what was searched, what was found) and
/// export (per mapping: source value, expression, old and new target value).
pub async fn provision(engine: &Shared, id: SyncConfigId, user: ObjectId) -> Result<ProvisioningLog, EngineError> {
    let store = engine.store().as_ref();
    // Not beside a running cycle of the same job: both write its state.
    let _lease = store.try_lease_job(id).await?.ok_or(EngineError::Leased)?;
    let compiled = Compiled::new(store.get_sync_configuration(id).await?)?;
    let cfg = &compiled.config;
    policy::check(store, cfg).await?;
    let (source, target) = (cfg.source_tenant_id, cfg.target_tenant_id);
    let target_tenant = store.get_tenant(target).await?;
    let (assigned_users, assigned_groups) = assignments(cfg);
    let assigned_groups = live_groups(store, source, assigned_groups).await;
    let clock = engine.clock().as_ref();
    let scope = Scope { compiled: &compiled, source, target, target_domain: &target_tenant.initial_domain, assigned_users, assigned_groups, clock, dry: false };
    let t0 = std::time::Instant::now();
    let seen = scope.look(store, user).await?;
    let Some(src) = &seen.user else {
        if store.get_group(source, user).await.is_ok() {
            // As in Entra: groups cannot be provisioned on demand in cross-tenant sync.
            return Err(EngineError::GroupOnDemand);
        }
        return Err(EngineError::Store(tenantsync_store::StoreError::NotFound { kind: tenantsync_domain::ObjectKind::User, id: user }));
    };
    let p = seen.plan().map_err(|e| EngineError::MappingFailed { message: e.to_string() })?;
    let mut run = Run::on_demand(engine, id, target).await?;
    let mut log = seen.record(&mut run, &p, p.modified.clone(), t0);

    // Import: the source attributes.
    let row = compiled.row(src);
    let mut imported = Map::new();
    for (i, name) in compiled.schema.names().iter().enumerate() {
        let v = row.get(tenantsync_expression::Slot(i));
        if !v.is_null() {
            imported.insert(name.clone(), json!(v.to_string()));
        }
    }
    // Scoping: every condition.
    let input = seen.input();
    let mut scoping = Map::new();
    scoping.insert("Active in the source system".into(), json!(!src.is_deleted()));
    scoping.insert("Internal to the source tenant (filter external users: anchor EQUALS 'None')".into(), json!(src.anchor.is_none()));
    let assigned = cfg.scope == SyncScope::AllUsers || input.assigned_directly || input.member_of.iter().any(|g| input.assigned_groups.contains(g));
    scoping.insert(if cfg.scope == SyncScope::AllUsers { "Sync all users".into() } else { "Assigned to the configuration".into() }, json!(assigned));
    if let Some(filter) = &compiled.filter {
        let result = filter.evaluate(&row);
        for g in &result.groups {
            for c in &g.clauses {
                let key = format!("{}.{} {} '{}'", g.name, c.clause.source_operand_name, c.clause.operator_name, c.clause.target_operand.values.join(","));
                scoping.insert(key, json!(c.result));
            }
        }
        scoping.insert("Scoping filter evaluation passed".into(), json!(result.in_scope));
    }
    let in_scope = !matches!(p.action, Action::Skip(r) if r != SkipReason::RedundantExport);
    // Matching.
    let anchor = Anchor::new(source, user);
    let mut matching = Map::new();
    matching.insert("searched".into(), json!(format!("anchor (alternativeSecurityIds) EQUALS '{anchor}'")));
    matching.insert("found".into(), seen.matched.as_ref().map_or(Value::Null, |m| json!(m.id.to_string())));
    // Export: per mapping.
    let mut export = Map::new();
    for m in &compiled.mappings {
        let reads: Vec<Value> = m.program.reads().iter().map(|s| json!(row.get(*s).to_string())).collect();
        let old = seen.matched.as_ref().map_or(Value::Null, |t| text(&t.attrs.get(&m.target)));
        let new = p.modified.iter().find(|x| x.display_name == m.target.as_str()).map(|x| json!(x.new_value)).unwrap_or(old.clone());
        export.insert(m.target.to_string(), json!({ "sourceValue": reads, "expression": m.source_text, "oldValue": old, "newValue": new }));
    }
    let status = log.status;
    // The detailed steps replace the usual four.
    log.step_facts = None;
    log.steps = vec![
        step(StepKind::EntryImport, ProvisioningStatus::Success, format!("Retrieved user '{}' from the source tenant", seen.name()), imported),
        step(
            StepKind::EntrySynchronizationScoping,
            if in_scope { ProvisioningStatus::Success } else { ProvisioningStatus::Skipped },
            p.scope_detail.to_string(),
            scoping,
        ),
        step(
            StepKind::EntrySynchronizationMatching,
            ProvisioningStatus::Success,
            match &seen.matched {
                Some(t) => format!("Matched target user '{}'", t.attrs.user_principal_name),
                None => "No matching user in the target tenant".into(),
            },
            matching,
        ),
        step(StepKind::EntryExport, status, p.action.to_string(), export),
    ];

    // Commit exactly as a cycle does, keeping the job's watermark.
    let state = store.job_state(id).await?;
    let ops = p.ops.clone();
    let n = ops.len();
    if n > 0 {
        log.op_index = Some(n - 1);
    }
    // The values a create's record leaves in its copy, as the stored record has them.
    tenantsync_store::fill_values_from(std::slice::from_mut(&mut log), &ops);
    let results = store.commit_sync(id, target, ops, state.clone(), vec![log.clone()]).await?;
    if let Some(Err(e)) = results.last() {
        log.status = ProvisioningStatus::Failure;
        log.error_code = Some(e.code().to_owned());
        log.error_message = Some(e.to_string());
        if log.provisioning_action == tenantsync_store::ProvisioningAction::Create {
            log.target_id = None;
        }
    } else if let Some(Ok(WriteOutcome::User(u))) = results.last() {
        log.target_id = Some(u.id);
    }
    // References, as in a cycle's second pass.
    if let (Some(m), Some(t)) = (p.manager, log.target_id)
        && let Ok(tu) = store.get_user(target, t).await
    {
        let wanted = store.find_user_by_anchor(target, &Anchor::new(source, m)).await?.map(|x| x.id);
        if let Some(op) = plan::manager_op(&tu, wanted) {
            store.commit_sync(id, target, vec![op], state, Vec::new()).await?;
        }
    }
    Ok(log)
}
