//! One sync cycle: initial (the whole source) or incremental (the source's change feed
//! since the watermark).
use crate::compile::Compiled;
use crate::plan::{self, Action, ScopeInput};
use crate::{groups, policy, Engine, EngineError};
use jiff::Timestamp;
use std::collections::BTreeSet;
use tenantsync_domain::{Anchor, Assignment, ChangeCursor, ChangeOp, ObjectId, ObjectKind, SyncConfigId, TenantId};
use tenantsync_store::{
    CycleCounters, CycleExecution, Escrow, JobState, JobStatusCode, ListQuery, ProvisioningAction, ProvisioningLog,
    ProvisioningStatus, ProvisioningStep, StoreError, Visibility, WriteOp,
};

/// Target writes committed per transaction.
pub(crate) const COMMIT_EVERY: usize = 1000;

/// What a cycle did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CycleReport {
    pub cycle_id: String,
    pub initial: bool,
    pub counters: CycleCounters,
    pub created: u64,
    pub updated: u64,
    pub restored: u64,
    pub soft_deleted: u64,
    pub hard_deleted: u64,
    pub skipped: u64,
    pub escrowed: u64,
    /// Deletions held back because the cycle would have exceeded the deletion threshold.
    pub staged_deletes: u64,
    pub watermark: ChangeCursor,
    /// What the cycle did to groups (group provisioning).
    pub groups: crate::groups::GroupReport,
}


/// Writes and their log records, committed together.
#[derive(Default)]
pub(crate) struct Batch {
    ops: Vec<(ObjectId, WriteOp)>,
    logs: Vec<ProvisioningLog>,
}

impl Batch {
    pub(crate) fn add(&mut self, source: ObjectId, ops: Vec<WriteOp>, mut log: ProvisioningLog) {
        if !ops.is_empty() {
            // The record reports the object's last write (the update after a restore).
            log.op_index = Some(self.ops.len() + ops.len() - 1);
        }
        self.ops.extend(ops.into_iter().map(|op| (source, op)));
        self.logs.push(log);
    }

    pub(crate) fn len(&self) -> usize {
        self.ops.len() + self.logs.len()
    }
}

pub(crate) struct Run<'a> {
    engine: &'a Engine,
    retry: tenantsync_domain::RetryPolicy,
    id: SyncConfigId,
    target: TenantId,
    cycle_id: String,
    change: u64,
    state: JobState,
    pub(crate) report: CycleReport,
    escrows: Vec<Escrow>,
    /// The source groups this run looked at (their escrows are group escrows).
    pub(crate) groups: BTreeSet<ObjectId>,
}

impl<'a> Run<'a> {
    /// A run for one on-demand action.
    pub fn on_demand(engine: &'a Engine, id: SyncConfigId, target: TenantId) -> Run<'a> {
        let cycle_id = format!("ondemand-{}", uuid::Uuid::now_v7());
        Run {
            engine,
            retry: tenantsync_domain::RetryPolicy::default(),
            id,
            target,
            cycle_id: cycle_id.clone(),
            change: 0,
            state: JobState::default(),
            report: CycleReport { cycle_id, ..CycleReport::default() },
            escrows: Vec::new(),
            groups: BTreeSet::new(),
        }
    }

    /// Commits target writes, their log records and the job state together; failed writes
    /// become escrows.
    async fn commit(&mut self, batch: Batch, state: JobState) -> Result<(), EngineError> {
        let (sources, writes): (Vec<ObjectId>, Vec<WriteOp>) = batch.ops.into_iter().unzip();
        let results = self.engine.store().commit_sync(self.id, self.target, writes, state, batch.logs).await?;
        for (source, result) in sources.into_iter().zip(results) {
            match result {
                Ok(_) => self.report.counters.count_exported += 1,
                Err(e) => self.escrow(source, e.code(), e.to_string()),
            }
        }
        Ok(())
    }

    /// Commits writes made before the cycle's end, with the job state as it was (the
    /// watermark moves only with the last commit).
    pub(crate) async fn commit_pending(&mut self, batch: Batch) -> Result<(), EngineError> {
        let state = self.state.clone();
        self.commit(batch, state).await
    }

    pub(crate) fn escrow(&mut self, source: ObjectId, code: &str, message: String) {
        let attempts = self.state.escrows.iter().find(|e| e.source_object_id == source).map_or(1, |e| e.attempts + 1);
        self.escrows.retain(|e| e.source_object_id != source);
        // Back off: base, 2×base, 4×base, … at most max apart.
        let delay = self.retry.base_seconds.saturating_mul(1u64 << (attempts.saturating_sub(1)).min(20)).min(self.retry.max_seconds);
        let next_attempt = Timestamp::now().checked_add(jiff::SignedDuration::from_secs(delay as i64)).unwrap_or(Timestamp::MAX);
        let object_type = if self.groups.contains(&source) { ObjectKind::Group } else { ObjectKind::User };
        self.escrows.push(Escrow { source_object_id: source, object_type, error_code: code.to_owned(), message, attempts, next_attempt });
        self.report.escrowed += 1;
        self.report.counters.count_escrowed += 1;
    }

    pub(crate) fn log(&mut self, source: ObjectId, name: &str, target: Option<ObjectId>, action: ProvisioningAction, status: ProvisioningStatus) -> ProvisioningLog {
        self.change += 1;
        ProvisioningLog {
            id: uuid::Uuid::now_v7().to_string(),
            config_id: self.id,
            cycle_id: self.cycle_id.clone(),
            change_id: format!("{}-{}", self.cycle_id, self.change),
            activity_date_time: Timestamp::now(),
            provisioning_action: action,
            status,
            object_type: ObjectKind::User,
            source_id: source,
            source_display_name: name.to_owned(),
            target_id: target,
            skip_reason: None,
            error_code: None,
            error_message: None,
            modified_properties: Vec::new(),
            steps: Vec::new(),
            duration_in_milliseconds: 0,
            op_index: None,
        }
    }
}

pub(crate) fn step(name: &str, kind: &str, status: ProvisioningStatus, description: String) -> ProvisioningStep {
    ProvisioningStep { name: name.into(), provisioning_step_type: kind.into(), status, description, details: serde_json::Map::new() }
}

async fn page_users(store: &dyn tenantsync_store::SyncStore, tenant: TenantId, mut each: impl FnMut(&tenantsync_domain::User)) -> Result<u64, EngineError> {
    let mut query = ListQuery { limit: 5000, visibility: Visibility::All, ..ListQuery::default() };
    let mut n = 0;
    loop {
        let page = store.list_users(tenant, &query).await?;
        for u in &page.items {
            each(u);
            n += 1;
        }
        match page.next {
            Some(next) => query.after = Some(next),
            None => return Ok(n),
        }
    }
}

pub async fn run(engine: &Engine, id: SyncConfigId) -> Result<CycleReport, EngineError> {
    let store = engine.store().as_ref();
    // One cycle of a job at a time, across tasks and processes.
    let _lease = store.try_lease_job(id).await?.ok_or(EngineError::Leased)?;
    let config = store.get_sync_configuration(id).await?;
    let compiled = Compiled::new(config)?;
    let cfg = &compiled.config;
    let state = store.job_state(id).await?;
    if state.status == JobStatusCode::Paused {
        return Err(EngineError::Paused);
    }
    policy::check(store, cfg).await?;
    let (source, target) = (cfg.source_tenant_id, cfg.target_tenant_id);
    let target_tenant = store.get_tenant(target).await?;
    let began = Timestamp::now();
    // Everything up to this head is covered by this cycle.
    let head = store.change_head(source).await?;
    let initial = state.watermark == ChangeCursor::START;
    let cycle_id = uuid::Uuid::now_v7().to_string();
    let mut run = Run {
        engine,
        retry: cfg.retry,
        id,
        target,
        cycle_id: cycle_id.clone(),
        change: 0,
        report: CycleReport { cycle_id: cycle_id.clone(), initial, ..CycleReport::default() },
        escrows: Vec::new(),
        groups: BTreeSet::new(),
        state,
    };

    let (assigned_users, assigned_groups) = assignments(cfg);

    // Which source users (and groups) this cycle looks at.
    let mut candidates: BTreeSet<ObjectId> = BTreeSet::new();
    let mut group_candidates = groups::Candidates::default();
    if initial {
        groups::initial_candidates(store, cfg, &assigned_groups, &mut group_candidates.full).await?;
        run.report.counters.count_imported = page_users(store, source, |u| {
            candidates.insert(u.id);
        })
        .await?;
        // Target users this configuration made whose source user is gone for good.
        page_users(store, target, |u| {
            if let Some(a) = u.anchor
                && a.tenant == source
            {
                candidates.insert(a.object);
            }
        })
        .await?;
    } else {
        let mut cursor = run.state.watermark;
        while cursor < head {
            let page = store.changes_since(source, cursor, 10_000).await?;
            if page.changes.is_empty() {
                break;
            }
            for c in &page.changes {
                if c.seq > head.0 {
                    break;
                }
                run.report.counters.count_imported_deltas += 1;
                if c.object_kind == ObjectKind::Group {
                    group_candidates.full.insert(c.object_id);
                }
                match (c.object_kind, c.op) {
                    (ObjectKind::User, _) => {
                        candidates.insert(c.object_id);
                    }
                    (ObjectKind::Group, ChangeOp::MemberAdd | ChangeOp::MemberRemove) if assigned_groups.contains(&c.object_id) => {
                        if let Some(m) = c.member_id {
                            candidates.insert(m);
                        }
                    }
                    (ObjectKind::Group, ChangeOp::SoftDelete | ChangeOp::Restore) if assigned_groups.contains(&c.object_id) => {
                        let members = store.list_members(source, c.object_id, &ListQuery { limit: 100_000, ..ListQuery::default() }).await;
                        if let Ok(page) = members {
                            candidates.extend(page.items.iter().map(|u| u.id));
                        }
                    }
                    _ => {}
                }
            }
            cursor = page.next_cursor;
        }
    }
    // Earlier failures are retried when their time has come (or at once if the source
    // object changed: it is a candidate anyway); the others wait in escrow.
    let now = Timestamp::now();
    for e in run.state.escrows.iter().filter(|e| e.next_attempt <= now) {
        match e.object_type {
            ObjectKind::User => candidates.insert(e.source_object_id),
            ObjectKind::Group => group_candidates.full.insert(e.source_object_id),
        };
    }
    let waiting: Vec<Escrow> = run
        .state
        .escrows
        .iter()
        .filter(|e| !candidates.contains(&e.source_object_id) && !group_candidates.full.contains(&e.source_object_id))
        .cloned()
        .collect();

    let mut batch = Batch::default();
    let mut deletes = Batch::default();
    let mut managers: Vec<(ObjectId, ObjectId)> = Vec::new();
    let live = live_groups(store, source, assigned_groups.clone()).await;
    let scope = Scope { compiled: &compiled, source, target, target_domain: &target_tenant.initial_domain, assigned_users, assigned_groups: live };
    for sid in candidates {
        let t0 = std::time::Instant::now();
        let seen = scope.look(store, sid).await?;
        let p = match seen.plan() {
            Ok(p) => p,
            Err(message) => {
                let mut log = run.log(sid, &seen.name(), seen.matched.as_ref().map(|m| m.id), ProvisioningAction::Other, ProvisioningStatus::Failure);
                log.error_code = Some("MappingEvaluationFailed".into());
                log.error_message = Some(message.clone());
                batch.add(sid, Vec::new(), log);
                run.escrow(sid, "MappingEvaluationFailed", message);
                continue;
            }
        };
        match p.action {
            Action::Create => run.report.created += 1,
            Action::Update => run.report.updated += 1,
            Action::Restore => run.report.restored += 1,
            Action::SoftDelete => run.report.soft_deleted += 1,
            Action::HardDelete => run.report.hard_deleted += 1,
            Action::Skip(_) => run.report.skipped += 1,
        }
        if matches!(p.action, Action::Create | Action::Update | Action::Restore | Action::Skip("RedundantExport")) {
            run.report.counters.count_entitled += 1;
        }
        if let (Some(m), Some(t)) = (p.manager, p.target_id) {
            managers.push((t, m));
        }
        if !initial && cfg.provision_groups {
            groups::groups_of_user(store, cfg, &assigned_groups, &seen.member_of, seen.matched.as_ref(), &p.action, &mut group_candidates.members).await?;
        }
        let log = seen.record(&mut run, &p, t0);
        let into = if matches!(p.action, Action::SoftDelete | Action::HardDelete) { &mut deletes } else { &mut batch };
        into.add(sid, p.ops, log);
        if batch.len() >= COMMIT_EVERY {
            let state = run.state.clone();
            run.commit(std::mem::take(&mut batch), state).await?;
        }
    }

    // Groups, once the users they may contain are written.
    if !group_candidates.full.is_empty() || !group_candidates.members.is_empty() {
        if !batch.ops.is_empty() {
            run.commit_pending(std::mem::take(&mut batch)).await?;
        }
        let denied = if cfg.provision_groups { policy::group_sync_denied(store, cfg).await? } else { None };
        let pass = groups::GroupPass { compiled: &compiled, source, target, assigned: &assigned_groups, denied };
        pass.run(&mut run, store, group_candidates, &mut batch, &mut deletes).await?;
    }

    // Accidental-deletion prevention: too many deletions in one cycle are held back and
    // the job goes into quarantine until an admin allows them (restart ForceDeletes).
    let mut watermark = head;
    let mut status = JobStatusCode::Active;
    let mut quarantine = None;
    let deletions = deletes.ops.len() as u64;
    if let Some(threshold) = cfg.deletion_threshold
        && deletions > u64::from(threshold)
        && !run.state.force_deletes
    {
        run.report.staged_deletes = deletions;
        run.report.soft_deleted = 0;
        run.report.hard_deleted = 0;
        run.report.groups.soft_deleted = 0;
        run.report.groups.hard_deleted = 0;
        for mut log in std::mem::take(&mut deletes.logs) {
            log.provisioning_action = ProvisioningAction::StagedDelete;
            log.status = ProvisioningStatus::Skipped;
            log.skip_reason = Some("TooManyDeletes".into());
            log.op_index = None;
            batch.logs.push(log);
        }
        deletes.ops.clear();
        status = JobStatusCode::Quarantine;
        quarantine = Some("TooManyDeletes".to_owned());
        // The held-back deletions must be seen again: keep the old watermark.
        watermark = run.state.watermark;
    }
    for ((sid, op), mut log) in deletes.ops.into_iter().zip(deletes.logs) {
        log.op_index = None;
        batch.add(sid, vec![op], log);
    }
    if !batch.ops.is_empty() {
        let state = run.state.clone();
        run.commit(std::mem::take(&mut batch), state).await?;
    }

    // References: managers resolve once both users exist in the target.
    for (target_user, source_manager) in managers {
        let Ok(t) = store.get_user(target, target_user).await else { continue };
        let wanted = store.find_user_by_anchor(target, &Anchor::new(source, source_manager)).await?.map(|m| m.id);
        if let Some(op) = plan::manager_op(&t, wanted) {
            batch.ops.push((t.anchor.map_or(target_user, |a| a.object), op));
        }
    }

    let ended = Timestamp::now();
    run.report.watermark = watermark;
    let mut escrows = std::mem::take(&mut run.escrows);
    // Quarantine by Entra's thresholds; a cycle without failures lifts an escrow
    // quarantine. (TooManyDeletes stays until an admin decides.)
    let failed = run.report.escrowed;
    let total = run.report.counters.count_exported + failed;
    if quarantine.is_none() {
        if let Some(reason) = cfg.quarantine.reason(failed, total) {
            status = JobStatusCode::Quarantine;
            quarantine = Some(reason.to_owned());
        } else if run.state.quarantine_reason.as_deref() == Some("TooManyDeletes") && run.state.force_deletes {
            // Allowed this time: the quarantine ends.
        } else if run.state.status == JobStatusCode::Quarantine && failed > 0 {
            status = JobStatusCode::Quarantine;
            quarantine = run.state.quarantine_reason.clone();
        }
    }
    escrows.extend(waiting);
    let final_state = JobState {
        watermark,
        status,
        last_execution: Some(CycleExecution {
            cycle_id,
            state: if escrows.is_empty() { "Succeeded".into() } else { "EntryLevelErrors".into() },
            initial,
            time_began: began,
            time_ended: ended,
            counters: run.report.counters,
            error: None,
        }),
        escrows: escrows.clone(),
        quarantine_reason: quarantine,
        force_deletes: false,
    };
    // The last commit carries the new watermark: target writes and watermark together.
    run.commit(std::mem::take(&mut batch), final_state.clone()).await?;
    // Escrows found while committing the final batch go into the stored state too.
    if !run.escrows.is_empty() {
        let mut all = final_state;
        all.escrows.append(&mut run.escrows);
        if let Some(exec) = &mut all.last_execution {
            exec.state = "EntryLevelErrors".into();
            exec.counters = run.report.counters;
        }
        store.set_job_state(id, all).await?;
    }
    Ok(run.report)
}

/// The assigned users and groups of a configuration.
pub(crate) fn assignments(cfg: &tenantsync_domain::SyncConfiguration) -> (BTreeSet<ObjectId>, Vec<ObjectId>) {
    let users = cfg.assignments.iter().filter_map(|a| if let Assignment::User(u) = a { Some(*u) } else { None }).collect();
    let groups = cfg.assignments.iter().filter_map(|a| if let Assignment::Group(g) = a { Some(*g) } else { None }).collect();
    (users, groups)
}

/// The assigned groups that entitle their members: only live ones (the members of a
/// soft-deleted assigned group are out of scope until it is restored).
pub(crate) async fn live_groups(store: &dyn tenantsync_store::SyncStore, source: TenantId, groups: Vec<ObjectId>) -> Vec<ObjectId> {
    let mut live = Vec::with_capacity(groups.len());
    for g in groups {
        if store.get_group(source, g).await.is_ok_and(|g| !g.is_deleted()) {
            live.push(g);
        }
    }
    live
}

/// What one configuration needs to look at one source user.
pub(crate) struct Scope<'a> {
    pub compiled: &'a Compiled,
    pub source: TenantId,
    pub target: TenantId,
    pub target_domain: &'a tenantsync_domain::DomainName,
    pub assigned_users: BTreeSet<ObjectId>,
    pub assigned_groups: Vec<ObjectId>,
}

/// A source user as one configuration sees it: the user (or its absence), its copy in the
/// target, and its groups.
pub(crate) struct Seen<'a> {
    pub scope: &'a Scope<'a>,
    pub id: ObjectId,
    pub user: Option<tenantsync_domain::User>,
    pub matched: Option<tenantsync_domain::User>,
    pub member_of: Vec<ObjectId>,
}

impl Scope<'_> {
    /// Import and match: reads the source user, its groups and its copy in the target.
    pub async fn look(&self, store: &dyn tenantsync_store::SyncStore, sid: ObjectId) -> Result<Seen<'_>, EngineError> {
        let user = match store.get_user(self.source, sid).await {
            Ok(u) => Some(u),
            Err(StoreError::NotFound { .. }) => None,
            Err(e) => return Err(e.into()),
        };
        let matched = store.find_user_by_anchor(self.target, &Anchor::new(self.source, sid)).await?;
        let member_of = match &user {
            Some(_) if !self.assigned_groups.is_empty() => store.member_of(self.source, sid).await?,
            _ => Vec::new(),
        };
        Ok(Seen { scope: self, id: sid, user, matched, member_of })
    }
}

impl Seen<'_> {
    pub fn input(&self) -> ScopeInput<'_> {
        ScopeInput {
            assigned_directly: self.scope.assigned_users.contains(&self.id),
            assigned_groups: &self.scope.assigned_groups,
            member_of: &self.member_of,
        }
    }

    /// Map and decide.
    pub fn plan(&self) -> Result<plan::Plan, String> {
        let s = self.scope;
        plan::plan(s.compiled, s.source, self.id, self.user.as_ref(), self.matched.as_ref(), &self.input(), s.target_domain)
    }

    pub fn name(&self) -> String {
        self.user.as_ref().map_or_else(|| self.id.to_string(), |u| u.attrs.user_principal_name.to_string())
    }

    /// The provisioning log record of a decision.
    pub fn record(&self, run: &mut Run<'_>, p: &plan::Plan, t0: std::time::Instant) -> ProvisioningLog {
        let (action, status) = outcome(p);
        let mut log = run.log(self.id, &self.name(), p.target_id, action, status);
        if let Action::Skip(reason) = p.action {
            log.skip_reason = Some(reason.to_owned());
        }
        let anchor = Anchor::new(self.scope.source, self.id);
        log.steps = vec![
            step("EntryImport", "import", ProvisioningStatus::Success, match &self.user {
                Some(_) => format!("Retrieved user '{}' from the source tenant", self.name()),
                None => format!("User '{}' no longer exists in the source tenant", self.id),
            }),
            step("EntrySynchronizationScoping", "scoping", ProvisioningStatus::Success, p.scope_detail.clone()),
            step("EntrySynchronizationMatching", "matching", ProvisioningStatus::Success, match &self.matched {
                Some(m) => format!("Matched target user '{}' by anchor {anchor}", m.id),
                None => format!("No target user carries anchor {anchor}"),
            }),
            step("EntryExport", "export", status, format!("{:?}", p.action)),
        ];
        log.modified_properties = p.modified.clone();
        log.duration_in_milliseconds = t0.elapsed().as_millis() as u64;
        log
    }
}

/// The log action and status of a decision.
pub(crate) fn outcome(p: &plan::Plan) -> (ProvisioningAction, ProvisioningStatus) {
    match p.action {
        Action::Create => (ProvisioningAction::Create, ProvisioningStatus::Success),
        Action::Update | Action::Restore => {
            let disables = p.modified.iter().any(|m| m.display_name == "accountEnabled" && m.new_value.as_deref() == Some("false"));
            (if disables { ProvisioningAction::Disable } else { ProvisioningAction::Update }, ProvisioningStatus::Success)
        }
        Action::SoftDelete | Action::HardDelete => (ProvisioningAction::Delete, ProvisioningStatus::Success),
        Action::Skip(_) => (ProvisioningAction::Other, ProvisioningStatus::Skipped),
    }
}
