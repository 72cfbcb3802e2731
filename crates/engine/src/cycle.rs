//! One sync cycle: initial (the whole source) or incremental (the source's change feed
//! since the watermark), in phases: [`plan_users`] (scope → match → map → act for every
//! affected user, written batch by batch), [`plan_groups`] (group provisioning, once the
//! users are written), [`hold_or_apply_deletions`] (the accidental-deletion threshold),
//! manager references, and [`finish`] (the job state with the new watermark).
use crate::compile::Compiled;
use crate::context::Shared;
use crate::groups::{self, Candidates, GroupPass};
use crate::managers::{self, ManagerRef, RecentCopies};
use crate::plan::Action;
use crate::report::CycleReport;
use crate::run::{Batch, Deletions, Done, Run, Tally};
use crate::scope::{Held, Scope, Seen, assignments, live_groups};
use crate::source::{Page, Pages};
use crate::{EngineError, policy};
use jiff::Timestamp;
use std::collections::BTreeSet;
use std::sync::Arc;
use tenantsync_domain::{
    ChangeCursor, ChangeOp, DomainName, ExecutionState, ObjectId, ObjectKind, QuarantineReason, SyncConfigId, SyncConfiguration, TenantId, User,
};
use tenantsync_store::{
    CycleExecution, Escrow, JobState, JobStatusCode, ListQuery, ProvisioningAction, ProvisioningLog, ProvisioningStatus, SyncStore, WriteOp,
};

/// Runs one cycle of job `id`.
pub async fn run(engine: &Shared, id: SyncConfigId) -> Result<CycleReport, EngineError> {
    let store = engine.store().as_ref();
    // One cycle of a job at a time, across tasks and processes.
    let _lease = store.try_lease_job(id).await?.ok_or(EngineError::Leased)?;
    let compiled = Compiled::new(store.get_sync_configuration(id).await?)?;
    let cfg = &compiled.config;
    let state = store.job_state(id).await?;
    if state.status == JobStatusCode::Paused {
        return Err(EngineError::Paused);
    }
    let began = engine.clock().now();
    if let Err(e) = policy::check(store, cfg).await {
        record_failure(engine, cfg, state, &e, began).await?;
        return Err(e);
    }
    let target_tenant = store.get_tenant(cfg.target_tenant_id).await?;
    let initial = state.watermark == ChangeCursor::START;
    let run = Run::new(engine, id, cfg.target_tenant_id, state, cfg.retry, initial).await?;
    walk(engine, &compiled, run, &target_tenant.initial_domain, began).await
}

/// The cycle itself, once it may run: every phase, its writes through `run`'s writer (a
/// dry run's keeps them from the store: the same decisions, nothing written).
pub(crate) async fn walk(engine: &Shared, compiled: &Compiled, mut run: Run, target_domain: &DomainName, began: Timestamp) -> Result<CycleReport, EngineError> {
    let store = engine.store().as_ref();
    let cfg = &compiled.config;
    let (source, target) = (cfg.source_tenant_id, cfg.target_tenant_id);
    // Everything up to this head is covered by this cycle.
    let head = store.change_head(source).await?;

    let (assigned_users, assigned_groups) = assignments(cfg);
    let live = live_groups(store, source, assigned_groups.clone()).await;
    let clock = engine.clock().as_ref();
    let scope = Scope { compiled, source, target, target_domain, assigned_users, assigned_groups: live, clock, dry: run.dry.is_some() };
    let threshold = cfg.deletion_threshold.filter(|_| !run.state.force_deletes).map(u64::from);
    let mut work = Work::new(engine.limits(), threshold);
    let mut candidates = Candidates::default();

    let waiting = match plan_users(&mut run, &mut work, &scope, store, head, &assigned_groups, &mut candidates).await {
        Ok(waiting) => waiting,
        Err(e) => {
            // Let what was written land before the lease goes (it keeps the old watermark).
            let _ = run.flush().await;
            return Err(e);
        }
    };
    let Work { mut batch, mut deletes, managers, copies, .. } = work;
    plan_groups(&mut run, store, compiled, &assigned_groups, candidates, &mut batch, &mut deletes).await?;
    let verdict = hold_or_apply_deletions(&mut run, &mut batch, deletes, head);
    if !batch.ops.is_empty() {
        let state = run.state.clone();
        run.send(std::mem::take(&mut batch), state).await?;
    }
    // Every user of the cycle is written (and readable) before references resolve.
    run.flush().await?;
    // References: managers resolve once both users exist in the target. The copies made
    // or matched recently in this cycle are known; others are looked up by anchor.
    managers::resolve(&mut run, &mut batch, managers, &copies, store, (source, target), None).await?;
    finish(&mut run, batch, verdict, waiting, compiled, began).await?;
    Ok(run.report)
}

/// A cycle that could not start (the policy check failed): the job's last execution says
/// so, with the error's code and message, and a provisioning log record names it — once
/// for as long as the same error repeats (the job state's time moves on every attempt).
async fn record_failure(engine: &Shared, cfg: &SyncConfiguration, mut state: JobState, e: &EngineError, began: Timestamp) -> Result<(), EngineError> {
    let error = format!("{}: {e}", e.code());
    let repeated = state.last_execution.as_ref().is_some_and(|x| x.state == ExecutionState::Failed && x.error.as_deref() == Some(error.as_str()));
    let cycle_id = uuid::Uuid::now_v7().to_string();
    let now = engine.clock().now();
    let mut logs = Vec::new();
    if !repeated {
        logs.push(ProvisioningLog {
            id: uuid::Uuid::now_v7().to_string(),
            cycle_id: cycle_id.clone(),
            change_id: format!("{cycle_id}-1"),
            error_code: Some(e.code().to_owned()),
            error_message: Some(e.to_string()),
            // A job-level record: its source is the configuration itself.
            ..ProvisioningLog::new(
                cfg.id,
                ObjectId::from_bytes(*cfg.id.as_bytes()),
                cfg.display_name.clone(),
                ProvisioningAction::Other,
                ProvisioningStatus::Failure,
                now,
            )
        });
    }
    state.last_execution = Some(CycleExecution {
        cycle_id,
        state: ExecutionState::Failed,
        initial: state.watermark == ChangeCursor::START,
        time_began: began,
        time_ended: now,
        counters: Default::default(),
        error: Some(error),
    });
    engine.store().commit_sync(cfg.id, cfg.target_tenant_id, Vec::new(), state, logs).await?;
    Ok(())
}

/// Phase 1: every affected source user is planned and its writes queued. An initial
/// cycle walks the whole source; an incremental one the users the feed names since the
/// watermark and the escrows that are due. Returns the escrows that are not due yet (they
/// stay as they are). Collects the groups to look at in `candidates`.
async fn plan_users(
    run: &mut Run,
    work: &mut Work,
    scope: &Scope<'_>,
    store: &dyn SyncStore,
    head: ChangeCursor,
    assigned_groups: &[ObjectId],
    candidates: &mut Candidates,
) -> Result<Vec<Escrow>, EngineError> {
    let cfg = &scope.compiled.config;
    if run.report.initial {
        groups::initial_candidates(store, cfg, assigned_groups, &mut candidates.full).await?;
        initial_pass(run, work, scope, store).await?;
        return Ok(Vec::new());
    }
    let mut users = changed_since(run, store, scope.source, head, assigned_groups, &mut candidates.full).await?;
    // Earlier failures are retried when their time has come (or at once if the source
    // object changed: it is a candidate anyway); the others wait in escrow.
    let now = scope.clock.now();
    for e in run.state.escrows.iter().filter(|e| e.next_attempt <= now) {
        match e.object_type {
            ObjectKind::User => users.insert(e.source_object_id),
            ObjectKind::Group => candidates.full.insert(e.source_object_id),
        };
    }
    let waiting =
        run.state.escrows.iter().filter(|e| !users.contains(&e.source_object_id) && !candidates.full.contains(&e.source_object_id)).cloned().collect();
    // A user's change may change the members of its groups.
    let groups_of_users = cfg.provision_groups;
    for sid in users {
        let seen = scope.look(store, sid).await?;
        let looked = groups_of_users.then(|| (seen.member_of.clone(), seen.matched.clone()));
        let action = work.process(run, seen).await?;
        work.relieve(run, scope, store, sid).await?;
        if let (Some((member_of, matched)), Some(action)) = (looked, action) {
            groups::groups_of_user(store, cfg, assigned_groups, &member_of, matched.as_deref(), &action, &mut candidates.members).await?;
        }
    }
    Ok(waiting)
}

/// Phase 2: groups, once the users they may contain are written.
async fn plan_groups(
    run: &mut Run,
    store: &dyn SyncStore,
    compiled: &Compiled,
    assigned: &[ObjectId],
    candidates: Candidates,
    batch: &mut Batch,
    deletes: &mut Deletions,
) -> Result<(), EngineError> {
    if candidates.full.is_empty() && candidates.members.is_empty() {
        return Ok(());
    }
    if !batch.ops.is_empty() {
        run.commit_pending(std::mem::take(batch)).await?;
    }
    run.flush().await?;
    let cfg = &compiled.config;
    let denied = match (cfg.provision_groups, run.group_sync) {
        (false, _) => None,
        (true, None) => policy::group_sync_denied(store, cfg).await?,
        (true, Some(allowed)) => policy::group_sync_denial(allowed),
    };
    let clock = run.clock.clone();
    let pass = GroupPass { compiled, source: cfg.source_tenant_id, target: cfg.target_tenant_id, assigned, denied, clock: clock.as_ref() };
    pass.run(run, store, candidates, batch, deletes).await
}

/// How the threshold leaves the cycle: the job status, quarantine reason and watermark
/// it ends with (before the escrow thresholds are looked at).
struct Verdict {
    status: JobStatusCode,
    quarantine: Option<QuarantineReason>,
    watermark: ChangeCursor,
}

/// Phase 3: accidental-deletion prevention. Too many deletions in one cycle are staged
/// (logged, not applied) and the job goes into quarantine until an admin allows them
/// (restart ForceDeletes); otherwise the held deletions join the batch.
fn hold_or_apply_deletions(run: &mut Run, batch: &mut Batch, mut deletes: Deletions, head: ChangeCursor) -> Verdict {
    let mut verdict = Verdict { status: JobStatusCode::Active, quarantine: None, watermark: head };
    if deletes.staged > 0 {
        run.report.staged_deletes = deletes.staged;
        verdict.status = JobStatusCode::Quarantine;
        verdict.quarantine = Some(QuarantineReason::TooManyDeletes);
        // The held-back deletions must be seen again: keep the old watermark.
        verdict.watermark = run.state.watermark;
    }
    batch.append(std::mem::take(&mut deletes.held));
    verdict
}

/// Phase 4: the job state the cycle ends with — the new watermark, the status after the
/// escrow thresholds, the last execution, and every escrow, including those of the
/// cycle's last writes — committed after every write of the cycle has been answered, so
/// the escrows are stored with the watermark that passes their objects.
async fn finish(run: &mut Run, batch: Batch, mut verdict: Verdict, waiting: Vec<Escrow>, compiled: &Compiled, began: Timestamp) -> Result<(), EngineError> {
    if batch.len() > 0 {
        let state = run.state.clone();
        run.send(batch, state).await?;
    }
    run.settle().await?;
    // Every write of the cycle is answered (some may be committed); the watermark and
    // the escrows are not stored yet.
    crate::context::crash_point("cycle-written");
    let cfg = &compiled.config;
    let mut escrows = std::mem::take(&mut run.escrows);
    // Quarantine by Entra's thresholds; a cycle without failures lifts an escrow
    // quarantine. (TooManyDeletes stays until an admin decides.)
    let failed = run.report.escrowed;
    let total = run.report.counters.count_exported + failed;
    if verdict.quarantine.is_none() {
        if let Some(reason) = cfg.quarantine.reason(failed, total) {
            verdict.status = JobStatusCode::Quarantine;
            verdict.quarantine = Some(reason);
        } else if run.state.quarantine_reason == Some(QuarantineReason::TooManyDeletes) && run.state.force_deletes {
            // Allowed this time: the quarantine ends.
        } else if run.state.status == JobStatusCode::Quarantine && failed > 0 {
            verdict.status = JobStatusCode::Quarantine;
            verdict.quarantine = run.state.quarantine_reason;
        }
    }
    escrows.extend(waiting);
    run.report.watermark = verdict.watermark;
    let final_state = JobState {
        watermark: verdict.watermark,
        status: verdict.status,
        last_execution: Some(CycleExecution {
            cycle_id: run.cycle_id.clone(),
            state: if escrows.is_empty() { ExecutionState::Succeeded } else { ExecutionState::EntryLevelErrors },
            initial: run.report.initial,
            time_began: began,
            time_ended: run.clock.now(),
            counters: run.report.counters,
            error: None,
        }),
        escrows,
        quarantine_reason: verdict.quarantine,
        force_deletes: false,
    };
    run.commit(Batch::default(), final_state).await
}

/// What a cycle has decided so far.
struct Work {
    batch: Batch,
    /// Deletions, held back while the threshold may still stop them.
    deletes: Deletions,
    managers: Vec<ManagerRef>,
    /// Resolve `managers` early once it holds this many (see [`Work::relieve`]).
    relieve_at: usize,
    /// `Limits::pending_managers`.
    pending_managers: usize,
    /// Source user → its target copy, for the users this cycle created or matched most
    /// recently.
    copies: RecentCopies,
    /// `Limits::page_users`.
    page: u32,
}

impl Work {
    fn new(limits: crate::Limits, deletion_threshold: Option<u64>) -> Work {
        Work {
            batch: Batch::default(),
            deletes: Deletions::new(deletion_threshold),
            managers: Vec::new(),
            relieve_at: limits.pending_managers.max(1),
            pending_managers: limits.pending_managers.max(1),
            copies: RecentCopies::new(limits.recent_copies),
            page: limits.page_users.max(1),
        }
    }

    /// Keeps the manager references of a big cycle bounded: once
    /// `Limits::pending_managers` wait, everything planned so far is committed and they
    /// are resolved now, except those whose manager comes later in the walk (`position`
    /// is where it is).
    async fn relieve(&mut self, run: &mut Run, scope: &Scope<'_>, store: &dyn SyncStore, position: ObjectId) -> Result<(), EngineError> {
        if self.managers.len() < self.relieve_at {
            return Ok(());
        }
        if self.batch.len() > 0 {
            run.send_pending(&mut self.batch).await?;
        }
        run.flush().await?;
        let managers = std::mem::take(&mut self.managers);
        self.managers = managers::resolve(run, &mut self.batch, managers, &self.copies, store, (scope.source, scope.target), Some(position)).await?;
        // Those still waiting do not trigger this again until as many more have come.
        self.relieve_at = (self.managers.len() * 2).max(self.pending_managers);
        Ok(())
    }

    /// Plans one source user and queues its writes and log record.
    /// Returns the action decided, or `None` if the mapping failed (escrowed).
    async fn process(&mut self, run: &mut Run, mut seen: Seen<'_>) -> Result<Option<Action>, EngineError> {
        // A dry run's records carry no duration (nor time): no clock read per user.
        let t0 = run.dry.is_none().then(std::time::Instant::now);
        let sid = seen.id;
        // Of the source user only its name is read after this (the record's).
        let mut p = match seen.plan_spending() {
            Ok(p) => p,
            Err(e) => {
                let mut log = run.log(sid, seen.name(), seen.matched.as_ref().map(|m| m.id), ProvisioningAction::Other, ProvisioningStatus::Failure);
                log.error_code = Some(e.code().to_owned());
                log.error_message = Some(e.to_string());
                self.batch.add(sid, Vec::new(), log, Tally::Nothing);
                run.escrow(sid, e.code(), e.to_string());
                return Ok(None);
            }
        };
        let r = &mut run.report;
        // A skip counts now; a write when it is written.
        let tally = Done::of(&p.action).map_or(Tally::Nothing, Tally::User);
        if tally == Tally::Nothing {
            r.skipped += 1;
        }
        if p.action.entitled() {
            r.counters.count_entitled += 1;
            if let Some(t) = p.target_id {
                self.copies.insert(sid, t);
            }
        }
        // A new copy whose manager's copy this cycle already made or matched gets its
        // manager in the create itself (an earlier write of the same or an earlier
        // commit); the others wait for the second pass.
        if let (Action::Create, Some(m)) = (&p.action, p.manager)
            && let Some(manager_copy) = self.copies.get(&m)
            && let Some(WriteOp::CreateUser(new)) = p.ops.first_mut()
        {
            new.manager = Some(tenantsync_domain::UserRef::Id(*manager_copy));
            p.manager = None;
        }
        if let (Some(m), Some(t)) = (p.manager, p.target_id) {
            let current = seen.matched.as_ref().and_then(|u| u.attrs.manager);
            self.managers.push(ManagerRef { source_user: sid, target_user: t, current, source_manager: m });
        }
        let modified = std::mem::take(&mut p.modified);
        let deletes = matches!(p.action, Action::SoftDelete | Action::HardDelete);
        if let Some(dry) = run.dry.as_mut().filter(|_| !deletes) {
            // Written at once, as far as a dry run goes: counted now, and no record made.
            let (action, status) = crate::run::outcome(&p.action, &modified);
            let skip = if let Action::Skip(reason) = p.action { Some(reason) } else { None };
            dry.decided(action, status, skip, || seen.name());
            if p.action == Action::Create {
                dry.created(p.created_mail.as_ref().map(tenantsync_domain::Mail::as_str), sid);
            }
            run.report.counters.count_exported += p.writes() as u64;
            tally.count(&mut run.report);
            return Ok(Some(p.action));
        }
        let log = seen.record(run, &p, modified, t0.unwrap_or_else(std::time::Instant::now));
        let action = p.action.clone();
        if deletes {
            self.deletes.add(&mut self.batch, sid, p.ops, log, tally);
        } else {
            self.batch.add(sid, p.ops, log, tally);
        }
        if self.batch.len() >= run.batch_objects() {
            run.send_pending(&mut self.batch).await?;
        }
        Ok(Some(action))
    }
}

/// The initial cycle's walk: every source user and every copy this configuration made in
/// the target, side by side in source-id order (the anchor index is in that order too),
/// so each user is read once and matched without a lookup of its own. The source's pages
/// are the walk's own reads, or a scan shared with other dry runs (`Run::scan`).
async fn initial_pass(run: &mut Run, work: &mut Work, scope: &Scope<'_>, store: &dyn SyncStore) -> Result<(), EngineError> {
    use std::collections::VecDeque;
    let (source, target) = (scope.source, scope.target);
    let mut pages = run.scan.take().map_or_else(|| Pages::own(work.page), Pages::Shared);
    // A page is walked in place, borrowed (a user is big; moving or copying it costs).
    let (mut page, mut at, mut src_done): (Page, usize, bool) = (Page::default(), 0, false);
    let (mut copies, mut copies_after, mut copies_done) = (VecDeque::new(), None, false);
    let mut last: Option<ObjectId> = None;
    loop {
        if at >= page.len() && !src_done {
            match pages.next(store, source).await? {
                Some(p) => (page, at) = (p, 0),
                None => src_done = true,
            }
            continue;
        }
        if copies.is_empty() && !copies_done {
            let found = store.list_users_by_anchor_tenant(target, source, copies_after, work.page).await?;
            // Copies made by this cycle's own earlier commits are behind the walk already.
            copies.extend(found.items.into_iter().filter(|u| u.anchor.is_some_and(|a| last.is_none_or(|l| a.object > l))));
            match found.next {
                Some(n) => copies_after = Some(n),
                None => copies_done = true,
            }
            if copies.is_empty() && !copies_done {
                continue;
            }
        }
        let next_src = page.get(at).map(|u: &User| u.id);
        let next_copy = copies.front().and_then(|u: &User| u.anchor).map(|a| a.object);
        let sid = match (next_src, next_copy) {
            (None, None) => return Ok(()),
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (Some(a), Some(b)) => a.min(b),
        };
        // A page only this walk holds gives its users up (see `PageData::take`).
        let user = if next_src != Some(sid) {
            None
        } else if let Some(own) = Arc::get_mut(&mut page) {
            own.take(at).map(|u| Held::Own(Box::new(u)))
        } else {
            page.get(at).map(Held::Shared)
        };
        let matched = if next_copy == Some(sid) { copies.pop_front().map(Box::new) } else { None };
        if user.is_some() {
            run.report.counters.count_imported += 1;
        }
        let member_of = match &user {
            Some(_) if !scope.assigned_groups.is_empty() => store.member_of(source, sid).await?,
            _ => Vec::new(),
        };
        last = Some(sid);
        let taken = user.is_some();
        let memo = if taken { page.memo(at, pages.class()) } else { None };
        work.process(run, Seen { scope, id: sid, user, matched, member_of, memo }).await?;
        if taken {
            at += 1;
        }
        work.relieve(run, scope, store, sid).await?;
    }
}

/// The source users an incremental cycle looks at: those the change feed names since the
/// watermark, up to `head`.
async fn changed_since(
    run: &mut Run,
    store: &dyn SyncStore,
    source: TenantId,
    head: ChangeCursor,
    assigned_groups: &[ObjectId],
    changed_groups: &mut BTreeSet<ObjectId>,
) -> Result<BTreeSet<ObjectId>, EngineError> {
    let mut candidates = BTreeSet::new();
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
                changed_groups.insert(c.object_id);
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
    Ok(candidates)
}
