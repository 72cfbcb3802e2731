//! One sync cycle: initial (the whole source) or incremental (the source's change feed
//! since the watermark).
use crate::compile::Compiled;
use crate::plan::{self, Action, ScopeInput};
use crate::{Engine, EngineError, groups, policy};
use jiff::Timestamp;
use std::collections::{BTreeSet, HashMap};
use tenantsync_domain::{Anchor, Assignment, ChangeCursor, ChangeOp, ObjectId, ObjectKind, SyncConfigId, TenantId};
use tenantsync_store::{
    CycleCounters, CycleExecution, Escrow, JobState, JobStatusCode, ListQuery, ModifiedProperty, ProvisioningAction, ProvisioningLog, ProvisioningStatus,
    ProvisioningStep, StoreError, SyncWriter, Visibility, WriteOp, WriteOutcome,
};

/// Objects (log records) per batch handed to the store's writer. The store groups
/// batches into larger transactions (`SyncWriter`), so this bounds memory, not the
/// transaction: while batches are applied the next is planned, so at most
/// [`IN_FLIGHT`] + 1 are in memory (a few tens of MiB).
pub(crate) const BATCH_OBJECTS: usize = 8000;

/// The smallest batch: when several runs share the store, each gets a share of
/// [`BATCH_OBJECTS`] (its batches wait for the one writer anyway, so a hub's memory stays
/// that of one run), but not less than this.
const MIN_BATCH_OBJECTS: usize = 1000;

/// Batches queued for the writer at most: the one it applies and the next, ready when it
/// is done (the planning of a batch does not always take as long as its writing).
const IN_FLIGHT: usize = 2;

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
    /// An empty batch with room for `objects` (no reallocation while it fills).
    fn with_room(objects: usize) -> Batch {
        Batch { ops: Vec::with_capacity(objects), logs: Vec::with_capacity(objects) }
    }

    pub(crate) fn add(&mut self, source: ObjectId, ops: Vec<WriteOp>, mut log: ProvisioningLog) {
        if !ops.is_empty() {
            // The record reports the object's last write (the update after a restore).
            log.op_index = Some(self.ops.len() + ops.len() - 1);
        }
        self.ops.extend(ops.into_iter().map(|op| (source, op)));
        self.logs.push(log);
    }

    pub(crate) fn len(&self) -> usize {
        self.logs.len().max(self.ops.len())
    }
}

/// A cycle's deletions of users and groups, under the accidental-deletion threshold.
/// While they may still exceed it, they are held back (at most `threshold` of them);
/// once they do, every one of them — those held and those still to come — becomes a
/// staged deletion, written as a log record only. Without a threshold in force (none
/// configured, or an admin's ForceDeletes) they go straight into the cycle's batches.
/// So memory holds at most the threshold's worth, however many the cycle deletes.
pub(crate) struct Deletions {
    threshold: Option<u64>,
    held: Batch,
    /// Deletions staged instead of applied (0 while the threshold holds).
    staged: u64,
}

impl Deletions {
    fn new(threshold: Option<u64>) -> Deletions {
        Deletions { threshold, held: Batch::default(), staged: 0 }
    }

    /// Adds one object's deletion (its ops and record) to `batch` or holds it.
    pub(crate) fn add(&mut self, batch: &mut Batch, source: ObjectId, ops: Vec<WriteOp>, log: ProvisioningLog) {
        let Some(threshold) = self.threshold else {
            batch.add(source, ops, log);
            return;
        };
        if self.staged > 0 {
            self.staged += 1;
            batch.logs.push(staged(log));
            return;
        }
        self.held.add(source, ops, log);
        let held = self.held.ops.len() as u64;
        if held > threshold {
            self.staged = held;
            self.held.ops.clear();
            batch.logs.extend(std::mem::take(&mut self.held.logs).into_iter().map(staged));
        }
    }
}

/// The record of a deletion held back by the threshold.
fn staged(mut log: ProvisioningLog) -> ProvisioningLog {
    log.provisioning_action = ProvisioningAction::StagedDelete;
    log.status = ProvisioningStatus::Skipped;
    log.skip_reason = Some("TooManyDeletes".into());
    log.op_index = None;
    log
}

pub(crate) struct Run {
    retry: tenantsync_domain::RetryPolicy,
    id: SyncConfigId,
    cycle_id: String,
    change: u64,
    state: JobState,
    pub(crate) report: CycleReport,
    escrows: Vec<Escrow>,
    /// The source groups this run looked at (their escrows are group escrows).
    pub(crate) groups: BTreeSet<ObjectId>,
    /// The batches the store is working on while the cycle plans the next one, oldest
    /// first.
    inflight: std::collections::VecDeque<InFlight>,
    /// The run's stream of commits.
    writer: std::sync::Arc<dyn SyncWriter>,
    /// Counts this run among the engine's runs while it lives.
    share: RunShare,
}

/// Objects per batch of each of `runs` runs going at once.
fn batch_share(runs: usize) -> usize {
    (BATCH_OBJECTS / runs.max(1)).max(MIN_BATCH_OBJECTS)
}

/// One run counted among those an engine has going (see [`Run::batch_objects`]).
struct RunShare(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl RunShare {
    fn new(runs: std::sync::Arc<std::sync::atomic::AtomicUsize>) -> RunShare {
        runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        RunShare(runs)
    }
}

impl Drop for RunShare {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

type Committed = Result<(Vec<ObjectId>, Vec<Result<WriteOutcome, StoreError>>), EngineError>;
type InFlight = tokio::task::JoinHandle<Committed>;

impl Run {
    async fn new(
        engine: &Engine,
        id: SyncConfigId,
        target: TenantId,
        cycle_id: String,
        state: JobState,
        retry: tenantsync_domain::RetryPolicy,
        initial: bool,
    ) -> Result<Run, EngineError> {
        Ok(Run {
            retry,
            id,
            cycle_id: cycle_id.clone(),
            change: 0,
            state,
            report: CycleReport { cycle_id, initial, ..CycleReport::default() },
            escrows: Vec::new(),
            groups: BTreeSet::new(),
            inflight: std::collections::VecDeque::new(),
            writer: engine.store().sync_writer(id, target).await?,
            share: RunShare::new(engine.runs()),
        })
    }

    /// Objects per batch: [`BATCH_OBJECTS`] shared among the runs going at once.
    pub(crate) fn batch_objects(&self) -> usize {
        batch_share(self.share.0.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// A run for one on-demand action.
    pub async fn on_demand(engine: &Engine, id: SyncConfigId, target: TenantId) -> Result<Run, EngineError> {
        let cycle_id = format!("ondemand-{}", uuid::Uuid::now_v7());
        Run::new(engine, id, target, cycle_id, JobState::default(), tenantsync_domain::RetryPolicy::default(), false).await
    }

    /// Hands target writes, their log records and the job state to the store's writer,
    /// which applies them together while the cycle goes on planning (the single writer
    /// thread and the planning overlap), in transactions that may span several batches
    /// (see `SyncWriter`). Up to [`IN_FLIGHT`] batches are queued, in order, so the
    /// writer finds the next one ready; the one carrying the new watermark lands last.
    async fn send(&mut self, batch: Batch, state: JobState) -> Result<(), EngineError> {
        while self.inflight.len() >= IN_FLIGHT {
            self.settle_one().await?;
        }
        let (sources, writes): (Vec<ObjectId>, Vec<WriteOp>) = batch.ops.into_iter().unzip();
        // Queued now; the task only waits for the answer.
        let answer = self.writer.write(writes, state, batch.logs);
        self.inflight.push_back(tokio::spawn(async move { Ok((sources, answer.await?)) }));
        Ok(())
    }

    /// Waits for the batch in flight and makes everything sent so far durable (and
    /// visible to reads).
    pub(crate) async fn flush(&mut self) -> Result<(), EngineError> {
        self.settle().await?;
        self.writer.flush().await?;
        Ok(())
    }

    /// Waits for every batch in flight; their failed writes become escrows.
    async fn settle(&mut self) -> Result<(), EngineError> {
        while !self.inflight.is_empty() {
            self.settle_one().await?;
        }
        Ok(())
    }

    /// Waits for the oldest batch in flight.
    async fn settle_one(&mut self) -> Result<(), EngineError> {
        let Some(handle) = self.inflight.pop_front() else {
            return Ok(());
        };
        let (sources, results) = handle.await.map_err(|e| EngineError::Store(StoreError::Internal { message: format!("commit task: {e}") }))??;
        for (source, result) in sources.into_iter().zip(results) {
            match result {
                Ok(_) => self.report.counters.count_exported += 1,
                Err(e) => self.escrow(source, e.code(), e.to_string()),
            }
        }
        Ok(())
    }

    /// Commits and waits: durable when it returns.
    async fn commit(&mut self, batch: Batch, state: JobState) -> Result<(), EngineError> {
        self.send(batch, state).await?;
        self.flush().await
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

    pub(crate) fn log(
        &mut self,
        source: ObjectId,
        name: impl Into<String>,
        target: Option<ObjectId>,
        action: ProvisioningAction,
        status: ProvisioningStatus,
    ) -> ProvisioningLog {
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
            source_display_name: name.into(),
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

pub(crate) fn step(name: &'static str, kind: &'static str, status: ProvisioningStatus, description: String) -> ProvisioningStep {
    ProvisioningStep { name: name.into(), provisioning_step_type: kind.into(), status, description, details: serde_json::Map::new() }
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
    let mut run = Run::new(engine, id, target, cycle_id.clone(), state, cfg.retry, initial).await?;

    let (assigned_users, assigned_groups) = assignments(cfg);
    let live = live_groups(store, source, assigned_groups.clone()).await;
    let scope = Scope { compiled: &compiled, source, target, target_domain: &target_tenant.initial_domain, assigned_users, assigned_groups: live };
    // Which source groups this cycle looks at (group provisioning).
    let mut group_candidates = groups::Candidates::default();
    let threshold = cfg.deletion_threshold.filter(|_| !run.state.force_deletes).map(u64::from);
    let mut work = Work::new(engine.limits(), threshold);
    // In incremental cycles a user's change may change the members of its groups.
    let groups_of_users = !initial && cfg.provision_groups;
    let mut waiting = Vec::new();
    let outcome = async {
        if initial {
            groups::initial_candidates(store, cfg, &assigned_groups, &mut group_candidates.full).await?;
            initial_pass(&mut run, &mut work, &scope, store).await?;
        } else {
            let mut candidates = changed_since(&mut run, store, source, head, &assigned_groups, &mut group_candidates.full).await?;
            // Earlier failures are retried when their time has come (or at once if the
            // source object changed: it is a candidate anyway); the others wait in escrow.
            let now = Timestamp::now();
            for e in run.state.escrows.iter().filter(|e| e.next_attempt <= now) {
                match e.object_type {
                    ObjectKind::User => candidates.insert(e.source_object_id),
                    ObjectKind::Group => group_candidates.full.insert(e.source_object_id),
                };
            }
            waiting = run
                .state
                .escrows
                .iter()
                .filter(|e| !candidates.contains(&e.source_object_id) && !group_candidates.full.contains(&e.source_object_id))
                .cloned()
                .collect();
            for sid in candidates {
                let seen = scope.look(store, sid).await?;
                let looked = groups_of_users.then(|| (seen.member_of.clone(), seen.matched.clone()));
                let action = work.process(&mut run, seen).await?;
                work.relieve(&mut run, &scope, store, sid).await?;
                if let (Some((member_of, matched)), Some(action)) = (looked, action) {
                    groups::groups_of_user(store, cfg, &assigned_groups, &member_of, matched.as_ref(), &action, &mut group_candidates.members).await?;
                }
            }
        }
        Ok::<(), EngineError>(())
    }
    .await;
    if let Err(e) = outcome {
        // Let what was written land before the lease goes (it keeps the old watermark).
        let _ = run.flush().await;
        return Err(e);
    }
    let Work { mut batch, mut deletes, managers, copies, .. } = work;

    // Groups, once the users they may contain are written.
    if !group_candidates.full.is_empty() || !group_candidates.members.is_empty() {
        if !batch.ops.is_empty() {
            run.commit_pending(std::mem::take(&mut batch)).await?;
        }
        run.flush().await?;
        let denied = if cfg.provision_groups { policy::group_sync_denied(store, cfg).await? } else { None };
        let pass = groups::GroupPass { compiled: &compiled, source, target, assigned: &assigned_groups, denied };
        pass.run(&mut run, store, group_candidates, &mut batch, &mut deletes).await?;
    }

    // Accidental-deletion prevention: too many deletions in one cycle are held back and
    // the job goes into quarantine until an admin allows them (restart ForceDeletes).
    let mut watermark = head;
    let mut status = JobStatusCode::Active;
    let mut quarantine = None;
    if deletes.staged > 0 {
        run.report.staged_deletes = deletes.staged;
        run.report.soft_deleted = 0;
        run.report.hard_deleted = 0;
        run.report.groups.soft_deleted = 0;
        run.report.groups.hard_deleted = 0;
        status = JobStatusCode::Quarantine;
        quarantine = Some("TooManyDeletes".to_owned());
        // The held-back deletions must be seen again: keep the old watermark.
        watermark = run.state.watermark;
    }
    let held = std::mem::take(&mut deletes.held);
    for ((sid, op), mut log) in held.ops.into_iter().zip(held.logs) {
        log.op_index = None;
        batch.add(sid, vec![op], log);
    }
    if !batch.ops.is_empty() {
        let state = run.state.clone();
        run.send(std::mem::take(&mut batch), state).await?;
    }
    // Every user of the cycle is written (and readable) before references resolve.
    run.flush().await?;

    // References: managers resolve once both users exist in the target. The copies made
    // or matched recently in this cycle are known; others are looked up by anchor.
    resolve_managers(&mut run, &mut batch, managers, &copies, store, (source, target), None).await?;
    run.settle().await?;

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

/// A manager reference to resolve after the cycle's users are written.
struct ManagerRef {
    source_user: ObjectId,
    target_user: ObjectId,
    /// The target user's manager now (none for a user this cycle creates).
    current: Option<ObjectId>,
    source_manager: ObjectId,
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
}

/// The copies a cycle made or matched most recently, source id → target id: two
/// generations of at most `Limits::recent_copies`, so memory does not grow with the
/// directory. A copy made earlier is found by its anchor once the cycle's writes are
/// committed.
struct RecentCopies {
    young: HashMap<ObjectId, ObjectId>,
    old: HashMap<ObjectId, ObjectId>,
    generation: usize,
}

impl RecentCopies {
    fn new(generation: usize) -> RecentCopies {
        RecentCopies { young: HashMap::new(), old: HashMap::new(), generation: generation.max(1) }
    }

    fn insert(&mut self, source: ObjectId, target: ObjectId) {
        if self.young.len() >= self.generation {
            self.old = std::mem::take(&mut self.young);
        }
        self.young.insert(source, target);
    }

    fn get(&self, source: &ObjectId) -> Option<&ObjectId> {
        self.young.get(source).or_else(|| self.old.get(source))
    }
}

/// Resolves manager references once every write before them is committed: each target
/// user gets the copy of its source manager (a recent copy, or found by anchor), if that
/// changes anything. With `position` (the source id the cycle's walk has reached, early
/// resolution), a reference whose manager has no copy yet but comes later in the walk is
/// returned, to wait; otherwise nothing is returned.
async fn resolve_managers(
    run: &mut Run,
    batch: &mut Batch,
    managers: Vec<ManagerRef>,
    copies: &RecentCopies,
    store: &dyn tenantsync_store::SyncStore,
    (source, target): (TenantId, TenantId),
    position: Option<ObjectId>,
) -> Result<Vec<ManagerRef>, EngineError> {
    // Users whose write failed in this cycle have no copy to point at or from.
    let failed: std::collections::HashSet<ObjectId> = run.escrows.iter().map(|e| e.source_object_id).collect();
    let mut waiting = Vec::new();
    for r in managers {
        if failed.contains(&r.source_user) {
            continue;
        }
        let wanted = match copies.get(&r.source_manager).filter(|_| !failed.contains(&r.source_manager)) {
            Some(t) => Some(*t),
            None => store.find_user_by_anchor(target, &Anchor::new(source, r.source_manager)).await?.map(|m| m.id),
        };
        if wanted.is_none() && position.is_some_and(|p| r.source_manager > p) {
            waiting.push(r);
            continue;
        }
        if let Some(op) = plan::manager_op_for(r.target_user, r.current, wanted) {
            batch.ops.push((r.source_user, op));
            if batch.ops.len() >= run.batch_objects() {
                let state = run.state.clone();
                run.send(std::mem::take(batch), state).await?;
            }
        }
    }
    Ok(waiting)
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
        }
    }

    /// Keeps the manager references of a big cycle bounded: once
    /// `Limits::pending_managers` wait, everything planned so far is committed and they are resolved now, except
    /// those whose manager comes later in the walk (`position` is where it is).
    async fn relieve(&mut self, run: &mut Run, scope: &Scope<'_>, store: &dyn tenantsync_store::SyncStore, position: ObjectId) -> Result<(), EngineError> {
        if self.managers.len() < self.relieve_at {
            return Ok(());
        }
        if self.batch.len() > 0 {
            let state = run.state.clone();
            run.send(std::mem::replace(&mut self.batch, Batch::with_room(run.batch_objects())), state).await?;
        }
        run.flush().await?;
        let managers = std::mem::take(&mut self.managers);
        self.managers = resolve_managers(run, &mut self.batch, managers, &self.copies, store, (scope.source, scope.target), Some(position)).await?;
        // Those still waiting do not trigger this again until as many more have come.
        self.relieve_at = (self.managers.len() * 2).max(self.pending_managers);
        Ok(())
    }

    /// Plans one source user and queues its writes and log record.
    /// Returns the action decided, or `None` if the mapping failed (escrowed).
    async fn process(&mut self, run: &mut Run, seen: Seen<'_>) -> Result<Option<Action>, EngineError> {
        let t0 = std::time::Instant::now();
        let sid = seen.id;
        let mut p = match seen.plan() {
            Ok(p) => p,
            Err(message) => {
                let mut log = run.log(sid, seen.name(), seen.matched.as_ref().map(|m| m.id), ProvisioningAction::Other, ProvisioningStatus::Failure);
                log.error_code = Some("MappingEvaluationFailed".into());
                log.error_message = Some(message.clone());
                self.batch.add(sid, Vec::new(), log);
                run.escrow(sid, "MappingEvaluationFailed", message);
                return Ok(None);
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
        let entitled = matches!(p.action, Action::Create | Action::Update | Action::Restore | Action::Skip("RedundantExport"));
        if entitled {
            run.report.counters.count_entitled += 1;
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
        let log = seen.record(run, &p, modified, t0);
        let action = p.action.clone();
        if matches!(p.action, Action::SoftDelete | Action::HardDelete) {
            self.deletes.add(&mut self.batch, sid, p.ops, log);
        } else {
            self.batch.add(sid, p.ops, log);
        }
        if self.batch.len() >= run.batch_objects() {
            let state = run.state.clone();
            run.send(std::mem::replace(&mut self.batch, Batch::with_room(run.batch_objects())), state).await?;
        }
        Ok(Some(action))
    }
}

/// Users read per page in an initial cycle.
const PAGE: u32 = 2000;

/// The initial cycle's walk: every source user and every copy this configuration made in
/// the target, side by side in source-id order (the anchor index is in that order too),
/// so each user is read once and matched without a lookup of its own.
async fn initial_pass(run: &mut Run, work: &mut Work, scope: &Scope<'_>, store: &dyn tenantsync_store::SyncStore) -> Result<(), EngineError> {
    use std::collections::VecDeque;
    let (source, target) = (scope.source, scope.target);
    let mut src_query = ListQuery { limit: PAGE, visibility: Visibility::All, ..ListQuery::default() };
    // A page is walked in place (a user is big; moving it into a queue copies it).
    let (mut src, mut src_done) = (Vec::new().into_iter().peekable(), false);
    let (mut copies, mut copies_after, mut copies_done) = (VecDeque::new(), None, false);
    let mut last: Option<ObjectId> = None;
    loop {
        if src.peek().is_none() && !src_done {
            let page = store.list_users(source, &src_query).await?;
            src = page.items.into_iter().peekable();
            match page.next {
                Some(n) => src_query.after = Some(n),
                None => src_done = true,
            }
        }
        if copies.is_empty() && !copies_done {
            let page = store.list_users_by_anchor_tenant(target, source, copies_after, PAGE).await?;
            // Copies made by this cycle's own earlier commits are behind the walk already.
            copies.extend(page.items.into_iter().filter(|u| u.anchor.is_some_and(|a| last.is_none_or(|l| a.object > l))));
            match page.next {
                Some(n) => copies_after = Some(n),
                None => copies_done = true,
            }
            if copies.is_empty() && !copies_done {
                continue;
            }
        }
        let next_src = src.peek().map(|u: &tenantsync_domain::User| u.id);
        let next_copy = copies.front().and_then(|u: &tenantsync_domain::User| u.anchor).map(|a| a.object);
        let sid = match (next_src, next_copy) {
            (None, None) => return Ok(()),
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (Some(a), Some(b)) => a.min(b),
        };
        let user = if next_src == Some(sid) { src.next() } else { None };
        let matched = if next_copy == Some(sid) { copies.pop_front() } else { None };
        if user.is_some() {
            run.report.counters.count_imported += 1;
        }
        let member_of = match &user {
            Some(_) if !scope.assigned_groups.is_empty() => store.member_of(source, sid).await?,
            _ => Vec::new(),
        };
        last = Some(sid);
        work.process(run, Seen { scope, id: sid, user, matched, member_of }).await?;
        work.relieve(run, scope, store, sid).await?;
    }
}

/// The source users an incremental cycle looks at: those the change feed names since the
/// watermark, up to `head`.
async fn changed_since(
    run: &mut Run,
    store: &dyn tenantsync_store::SyncStore,
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
        ScopeInput { assigned_directly: self.scope.assigned_users.contains(&self.id), assigned_groups: &self.scope.assigned_groups, member_of: &self.member_of }
    }

    /// Map and decide.
    pub fn plan(&self) -> Result<plan::Plan, String> {
        let s = self.scope;
        plan::plan(s.compiled, s.source, self.id, self.user.as_ref(), self.matched.as_ref(), &self.input(), s.target_domain)
    }

    pub fn name(&self) -> String {
        self.user.as_ref().map_or_else(|| self.id.to_string(), |u| u.attrs.user_principal_name.to_string())
    }

    /// The provisioning log record of a decision, with the plan's modified properties
    /// (moved in by the cycle, which needs them no more; the on-demand report keeps a copy).
    pub fn record(&self, run: &mut Run, p: &plan::Plan, modified: Vec<ModifiedProperty>, t0: std::time::Instant) -> ProvisioningLog {
        let (action, status) = outcome(&p.action, &modified);
        let name = self.name();
        let anchor = Anchor::new(self.scope.source, self.id);
        let steps = vec![
            step(
                "EntryImport",
                "import",
                ProvisioningStatus::Success,
                match &self.user {
                    Some(_) => format!("Retrieved user '{name}' from the source tenant"),
                    None => format!("User '{}' no longer exists in the source tenant", self.id),
                },
            ),
            step("EntrySynchronizationScoping", "scoping", ProvisioningStatus::Success, p.scope_detail.clone()),
            step(
                "EntrySynchronizationMatching",
                "matching",
                ProvisioningStatus::Success,
                match &self.matched {
                    Some(m) => format!("Matched target user '{}' by anchor {anchor}", m.id),
                    None => format!("No target user carries anchor {anchor}"),
                },
            ),
            step("EntryExport", "export", status, format!("{:?}", p.action)),
        ];
        let mut log = run.log(self.id, name, p.target_id, action, status);
        if let Action::Skip(reason) = p.action {
            log.skip_reason = Some(reason.to_owned());
        }
        log.steps = steps;
        log.modified_properties = modified;
        log.duration_in_milliseconds = t0.elapsed().as_millis() as u64;
        log
    }
}

/// The log action and status of a decision.
pub(crate) fn outcome(action: &Action, modified: &[ModifiedProperty]) -> (ProvisioningAction, ProvisioningStatus) {
    match action {
        Action::Create => (ProvisioningAction::Create, ProvisioningStatus::Success),
        Action::Update | Action::Restore => {
            let disables = modified.iter().any(|m| m.display_name == "accountEnabled" && m.new_value.as_deref() == Some("false"));
            (if disables { ProvisioningAction::Disable } else { ProvisioningAction::Update }, ProvisioningStatus::Success)
        }
        Action::SoftDelete | Action::HardDelete => (ProvisioningAction::Delete, ProvisioningStatus::Success),
        Action::Skip(_) => (ProvisioningAction::Other, ProvisioningStatus::Skipped),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_runs_share_the_batch_size_down_to_a_floor() {
        assert_eq!(batch_share(0), BATCH_OBJECTS);
        assert_eq!(batch_share(1), BATCH_OBJECTS);
        assert_eq!(batch_share(2), BATCH_OBJECTS / 2);
        assert_eq!(batch_share(10), MIN_BATCH_OBJECTS);
        assert_eq!(batch_share(1000), MIN_BATCH_OBJECTS);
    }

    #[test]
    fn a_run_counts_while_it_lives() {
        let runs = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (a, b) = (RunShare::new(runs.clone()), RunShare::new(runs.clone()));
        assert_eq!(runs.load(std::sync::atomic::Ordering::Relaxed), 2);
        drop(a);
        drop(b);
        assert_eq!(runs.load(std::sync::atomic::Ordering::Relaxed), 0);
    }
}
