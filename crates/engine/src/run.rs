//! A run's state: the batches it hands to the store's writer, the deletions it holds back
//! under the threshold, its escrows, its report, and the provisioning log records of its
//! decisions. Cycles and on-demand provisioning both write through a [`Run`].
use crate::EngineError;
use crate::context::Shared;
use crate::plan::Action;
use crate::report::CycleReport;
use std::borrow::Cow;
use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tenantsync_domain::{Anchor, Clock, ObjectId, ObjectKind, RetryPolicy, SkipReason, SyncConfigId, TenantId};
use tenantsync_store::{
    Escrow, JobState, ModifiedProperty, ProvisioningAction, ProvisioningLog, ProvisioningStatus, StepFacts, StoreError, SyncWriter, WriteOp, WriteOutcome,
};

/// The smallest batch: when several runs share the store, each gets a share of the
/// store writer's batch (`SyncWriter::batch_objects`; its batches wait for the one
/// writer anyway, so a hub's memory stays that of one run), but not less than this.
const MIN_BATCH_OBJECTS: usize = 1000;

/// Batches queued for the writer at most: the one it applies and the next, ready when it
/// is done (the planning of a batch does not always take as long as its writing). With
/// the one being planned, at most `IN_FLIGHT` + 1 are in memory.
const IN_FLIGHT: usize = 2;

/// What one object's writes did, once all of them succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Done {
    Created,
    Updated,
    Restored,
    SoftDeleted,
    HardDeleted,
}

impl Done {
    /// What a decision's writes do; `None` for a skip (it writes nothing).
    pub(crate) fn of(action: &Action) -> Option<Done> {
        match action {
            Action::Create => Some(Done::Created),
            Action::Update => Some(Done::Updated),
            Action::Restore => Some(Done::Restored),
            Action::SoftDelete => Some(Done::SoftDeleted),
            Action::HardDelete => Some(Done::HardDeleted),
            Action::Skip(_) => None,
        }
    }
}

/// What an object's writes add to the run's report. It is counted when the store has
/// applied every one of them, so a report counts only what was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tally {
    /// Nothing to count when written (a skip is counted when it is decided).
    Nothing,
    User(Done),
    Group {
        done: Done,
        members_added: u64,
        members_removed: u64,
    },
}

impl Tally {
    pub(crate) fn count(self, r: &mut CycleReport) {
        let (done, counts) = match self {
            Tally::Nothing => return,
            Tally::User(done) => (done, [&mut r.created, &mut r.updated, &mut r.restored, &mut r.soft_deleted, &mut r.hard_deleted]),
            Tally::Group { done, members_added, members_removed } => {
                let g = &mut r.groups;
                g.members_added += members_added;
                g.members_removed += members_removed;
                (done, [&mut g.created, &mut g.updated, &mut g.restored, &mut g.soft_deleted, &mut g.hard_deleted])
            }
        };
        let [created, updated, restored, soft_deleted, hard_deleted] = counts;
        *match done {
            Done::Created => created,
            Done::Updated => updated,
            Done::Restored => restored,
            Done::SoftDeleted => soft_deleted,
            Done::HardDeleted => hard_deleted,
        } += 1;
    }
}

/// Writes and their log records, committed together, and what each object's writes will
/// add to the report.
#[derive(Default)]
pub(crate) struct Batch {
    pub(crate) ops: Vec<(ObjectId, WriteOp)>,
    pub(crate) logs: Vec<ProvisioningLog>,
    /// (first op, number of ops, tally) of each object whose writes count.
    tallies: Vec<(usize, usize, Tally)>,
}

impl Batch {
    /// An empty batch with room for `objects` (no reallocation while it fills).
    pub(crate) fn with_room(objects: usize) -> Batch {
        Batch { ops: Vec::with_capacity(objects), logs: Vec::with_capacity(objects), tallies: Vec::new() }
    }

    pub(crate) fn add(&mut self, source: ObjectId, ops: Vec<WriteOp>, mut log: ProvisioningLog, tally: Tally) {
        if !ops.is_empty() {
            // The record reports the object's last write (the update after a restore).
            log.op_index = Some(self.ops.len() + ops.len() - 1);
            if tally != Tally::Nothing {
                self.tallies.push((self.ops.len(), ops.len(), tally));
            }
        }
        self.ops.extend(ops.into_iter().map(|op| (source, op)));
        self.logs.push(log);
    }

    /// Moves everything of `other` to the end of this batch.
    pub(crate) fn append(&mut self, other: Batch) {
        let base = self.ops.len();
        self.ops.extend(other.ops);
        self.logs.extend(other.logs.into_iter().map(|mut log| {
            log.op_index = log.op_index.map(|i| i + base);
            log
        }));
        self.tallies.extend(other.tallies.into_iter().map(|(first, n, t)| (first + base, n, t)));
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
    pub(crate) held: Batch,
    /// Deletions staged instead of applied (0 while the threshold holds).
    pub(crate) staged: u64,
}

impl Deletions {
    pub(crate) fn new(threshold: Option<u64>) -> Deletions {
        Deletions { threshold, held: Batch::default(), staged: 0 }
    }

    /// Adds one object's deletion (its ops, record and tally) to `batch` or holds it.
    pub(crate) fn add(&mut self, batch: &mut Batch, source: ObjectId, ops: Vec<WriteOp>, log: ProvisioningLog, tally: Tally) {
        let Some(threshold) = self.threshold else {
            batch.add(source, ops, log, tally);
            return;
        };
        if self.staged > 0 {
            self.staged += 1;
            batch.logs.push(staged(log));
            return;
        }
        self.held.add(source, ops, log, tally);
        let held = self.held.logs.len() as u64;
        if held > threshold {
            // Nothing held is written, nor counted.
            self.staged = held;
            let Batch { logs, .. } = std::mem::take(&mut self.held);
            batch.logs.extend(logs.into_iter().map(staged));
        }
    }
}

/// The record of a deletion held back by the threshold.
fn staged(mut log: ProvisioningLog) -> ProvisioningLog {
    log.provisioning_action = ProvisioningAction::StagedDelete;
    log.status = ProvisioningStatus::Skipped;
    log.skip_reason = Some(SkipReason::TooManyDeletes);
    log.op_index = None;
    log
}

/// Objects per batch of each of `runs` runs going at once, of a writer that takes
/// `batch` at a time.
fn batch_share(batch: usize, runs: usize) -> usize {
    (batch / runs.max(1)).max(MIN_BATCH_OBJECTS.min(batch))
}

/// One run counted among those an engine has going (see [`Run::batch_objects`]).
struct RunShare(Arc<AtomicUsize>);

impl RunShare {
    fn new(runs: Arc<AtomicUsize>) -> RunShare {
        runs.fetch_add(1, Ordering::Relaxed);
        RunShare(runs)
    }
}

impl Drop for RunShare {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

type Committed = Result<(Vec<ObjectId>, Vec<(usize, usize, Tally)>, Vec<Result<WriteOutcome, StoreError>>), EngineError>;
type InFlight = tokio::task::JoinHandle<Committed>;

/// One run of a job: a cycle, or one on-demand provisioning.
pub(crate) struct Run {
    retry: RetryPolicy,
    id: SyncConfigId,
    pub(crate) cycle_id: String,
    change: u64,
    pub(crate) state: JobState,
    pub(crate) report: CycleReport,
    /// The escrows of this run's failures.
    pub(crate) escrows: Vec<Escrow>,
    /// The source groups this run looked at (their escrows are group escrows).
    pub(crate) groups: BTreeSet<ObjectId>,
    /// The batches the store is working on while the cycle plans the next one, oldest
    /// first.
    inflight: VecDeque<InFlight>,
    /// The run's stream of commits.
    writer: Arc<dyn SyncWriter>,
    /// Where time comes from (log times, escrow retry times).
    pub(crate) clock: Arc<dyn Clock>,
    /// Counts this run among the engine's runs while it lives.
    share: RunShare,
    /// Whether the target allows inbound group sync from the source, when the caller says
    /// so (a prediction, on the settings a plan leaves); `None`: the store's settings.
    pub(crate) group_sync: Option<bool>,
    /// The shared scan an initial cycle's walk takes its source pages from (dry runs of
    /// several arrows from one source); `None`: it reads them itself.
    pub(crate) scan: Option<crate::source::Walker>,
    /// Whether log records carry their text (ids, steps): a dry run's writer keeps only
    /// their kinds and names, so it makes records without it.
    pub(crate) log_text: bool,
    /// A dry run's tally of its users' decisions (see [`crate::tally::DryTally`]).
    pub(crate) dry: Option<crate::tally::DryTally>,
}

impl Run {
    pub(crate) async fn new(
        engine: &Shared,
        id: SyncConfigId,
        target: TenantId,
        state: JobState,
        retry: RetryPolicy,
        initial: bool,
    ) -> Result<Run, EngineError> {
        Self::named(engine, id, target, uuid::Uuid::now_v7().to_string(), state, retry, initial).await
    }

    /// A run for one on-demand action.
    pub(crate) async fn on_demand(engine: &Shared, id: SyncConfigId, target: TenantId) -> Result<Run, EngineError> {
        let cycle_id = format!("ondemand-{}", uuid::Uuid::now_v7());
        Self::named(engine, id, target, cycle_id, JobState::default(), RetryPolicy::default(), false).await
    }

    async fn named(
        engine: &Shared,
        id: SyncConfigId,
        target: TenantId,
        cycle_id: String,
        state: JobState,
        retry: RetryPolicy,
        initial: bool,
    ) -> Result<Run, EngineError> {
        let writer = engine.store().sync_writer(id, target).await?;
        Ok(Self::with_writer(engine, id, cycle_id, state, retry, initial, writer))
    }

    /// A run whose writes go to `writer` (a dry run's writer keeps them from the store).
    pub(crate) fn with_writer(
        engine: &Shared,
        id: SyncConfigId,
        cycle_id: String,
        state: JobState,
        retry: RetryPolicy,
        initial: bool,
        writer: Arc<dyn SyncWriter>,
    ) -> Run {
        Run {
            retry,
            id,
            cycle_id: cycle_id.clone(),
            change: 0,
            state,
            report: CycleReport { cycle_id, initial, ..CycleReport::default() },
            escrows: Vec::new(),
            groups: BTreeSet::new(),
            inflight: VecDeque::new(),
            writer,
            clock: engine.clock().clone(),
            share: RunShare::new(engine.runs()),
            group_sync: None,
            scan: None,
            log_text: true,
            dry: None,
        }
    }

    /// Objects per batch: the writer's batch (`SyncWriter::batch_objects`) shared among
    /// the runs going at once.
    pub(crate) fn batch_objects(&self) -> usize {
        batch_share(self.writer.batch_objects(), self.share.0.load(Ordering::Relaxed))
    }

    /// Hands target writes, their log records and the job state to the store's writer,
    /// which applies them together while the cycle goes on planning (the single writer
    /// thread and the planning overlap), in transactions that may span several batches
    /// (see `SyncWriter`). Up to [`IN_FLIGHT`] batches are queued, in order, so the
    /// writer finds the next one ready; the one carrying the new watermark lands last.
    pub(crate) async fn send(&mut self, batch: Batch, state: JobState) -> Result<(), EngineError> {
        while self.inflight.len() >= IN_FLIGHT {
            self.settle_one().await?;
        }
        let (sources, writes): (Vec<ObjectId>, Vec<WriteOp>) = batch.ops.into_iter().unzip();
        // Queued now; the task only waits for the answer.
        let answer = self.writer.write(writes, state, batch.logs);
        let tallies = batch.tallies;
        self.inflight.push_back(tokio::spawn(async move { Ok((sources, tallies, answer.await?)) }));
        Ok(())
    }

    /// Sends `batch` with the job state as it was (the watermark moves only with the
    /// cycle's last commit) and leaves a fresh batch in its place.
    pub(crate) async fn send_pending(&mut self, batch: &mut Batch) -> Result<(), EngineError> {
        let full = std::mem::replace(batch, Batch::with_room(self.batch_objects()));
        let state = self.state.clone();
        self.send(full, state).await
    }

    /// Waits for the batch in flight and makes everything sent so far durable (and
    /// visible to reads).
    pub(crate) async fn flush(&mut self) -> Result<(), EngineError> {
        self.settle().await?;
        self.writer.flush().await?;
        Ok(())
    }

    /// Waits for every batch in flight; their failed writes become escrows.
    pub(crate) async fn settle(&mut self) -> Result<(), EngineError> {
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
        let (sources, tallies, results) = handle.await.map_err(|e| EngineError::Store(StoreError::Internal { message: format!("commit task: {e}") }))??;
        for (first, n, tally) in tallies {
            if results.get(first..first + n).is_some_and(|r| r.iter().all(Result::is_ok)) {
                tally.count(&mut self.report);
            }
        }
        for (source, result) in sources.into_iter().zip(results) {
            match result {
                Ok(_) => self.report.counters.count_exported += 1,
                Err(e) => self.escrow(source, e.code(), e.to_string()),
            }
        }
        Ok(())
    }

    /// Commits and waits: durable when it returns.
    pub(crate) async fn commit(&mut self, batch: Batch, state: JobState) -> Result<(), EngineError> {
        self.send(batch, state).await?;
        self.flush().await
    }

    /// Commits writes made before the cycle's end, with the job state as it was (the
    /// watermark moves only with the last commit).
    pub(crate) async fn commit_pending(&mut self, batch: Batch) -> Result<(), EngineError> {
        let state = self.state.clone();
        self.commit(batch, state).await
    }

    /// Puts `source` in escrow: it is retried after a back-off that doubles with every
    /// failed attempt.
    pub(crate) fn escrow(&mut self, source: ObjectId, code: &str, message: String) {
        let attempts = self.state.escrows.iter().find(|e| e.source_object_id == source).map_or(1, |e| e.attempts + 1);
        self.escrows.retain(|e| e.source_object_id != source);
        // Back off: base, 2×base, 4×base, … at most max apart.
        let delay = self.retry.base_seconds.saturating_mul(1u64 << (attempts.saturating_sub(1)).min(20)).min(self.retry.max_seconds);
        let next_attempt = self.clock.now().checked_add(jiff::SignedDuration::from_secs(delay as i64)).unwrap_or(jiff::Timestamp::MAX);
        let object_type = if self.groups.contains(&source) { ObjectKind::Group } else { ObjectKind::User };
        self.escrows.push(Escrow { source_object_id: source, object_type, error_code: code.to_owned(), message, attempts, next_attempt });
        self.report.escrowed += 1;
        self.report.counters.count_escrowed += 1;
    }

    /// A new provisioning log record of this run.
    pub(crate) fn log(
        &mut self,
        source: ObjectId,
        name: impl Into<String>,
        target: Option<ObjectId>,
        action: ProvisioningAction,
        status: ProvisioningStatus,
    ) -> ProvisioningLog {
        self.change += 1;
        let (id, cycle_id, change_id) = if self.log_text {
            (record_id(), self.cycle_id.clone(), change_id(&self.cycle_id, self.change))
        } else {
            (String::new(), String::new(), String::new())
        };
        ProvisioningLog { id, cycle_id, change_id, target_id: target, ..ProvisioningLog::new(self.id, source, name.into(), action, status, self.clock.now()) }
    }

    /// The record of a decision about one object: its action and status, skip reason,
    /// modified properties and the four steps (import, scoping, matching, export).
    pub(crate) fn record(&mut self, d: Decision<'_>, modified: Vec<ModifiedProperty>, t0: std::time::Instant) -> ProvisioningLog {
        let (action, status) = outcome(d.action, &modified);
        let mut log = self.log(d.id, d.name, d.target, action, status);
        log.object_type = d.kind;
        if let Action::Skip(reason) = d.action {
            log.skip_reason = Some(*reason);
        }
        if self.log_text {
            log.step_facts = Some(d.facts(status));
        }
        log.modified_properties = modified;
        log.duration_in_milliseconds = t0.elapsed().as_millis() as u64;
        log
    }
}

/// A new record id: a UUIDv7 in its lowercase hyphenated form (made without the
/// formatting machinery: one per record).
fn record_id() -> String {
    let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    tenantsync_domain::new_v7().hyphenated().encode_lower(&mut buf).to_owned()
}

/// `<cycle id>-<n>`, the change id of a cycle's `n`th record.
fn change_id(cycle_id: &str, n: u64) -> String {
    // Digits pushed by hand: the formatting machinery cost more than the rest of it.
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n;
    loop {
        at -= 1;
        if let Some(d) = digits.get_mut(at) {
            *d = b'0' + (rest % 10) as u8;
        }
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    let mut out = String::with_capacity(cycle_id.len() + 1 + digits.len() - at);
    out.push_str(cycle_id);
    out.push('-');
    out.extend(digits.get(at..).unwrap_or_default().iter().map(|&d| char::from(d)));
    out
}

/// What a record says about the object a decision was made for.
pub(crate) struct Decision<'a> {
    pub kind: ObjectKind,
    pub id: ObjectId,
    /// The UPN of a user, the display name of a group, or the id when it is gone.
    pub name: &'a str,
    /// Whether the object still exists in the source.
    pub found: bool,
    pub anchor: Anchor,
    /// The copy in the target, when one was matched.
    pub matched: Option<ObjectId>,
    /// The copy the decision writes or keeps.
    pub target: Option<ObjectId>,
    pub scope_detail: Cow<'static, str>,
    pub action: &'a Action,
}

impl Decision<'_> {
    /// What the record's four steps say, kept as facts: the store makes their text when
    /// the record is read.
    fn facts(self, status: ProvisioningStatus) -> StepFacts {
        StepFacts {
            found: self.found,
            source_tenant: self.anchor.tenant,
            matched: self.matched,
            scope_detail: self.scope_detail,
            export: match self.action {
                Action::Create => Cow::Borrowed("Create"),
                Action::Update => Cow::Borrowed("Update"),
                Action::Restore => Cow::Borrowed("Restore"),
                Action::SoftDelete => Cow::Borrowed("SoftDelete"),
                Action::HardDelete => Cow::Borrowed("HardDelete"),
                skip @ Action::Skip(_) => Cow::Owned(skip.to_string()),
            },
            export_status: status,
        }
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
    fn record_and_change_ids_read_as_the_formatting_machinery_writes_them() {
        for n in [0, 7, 10, 99, 1_000_003, u64::MAX] {
            assert_eq!(change_id("c", n), format!("c-{n}"));
        }
        let id = record_id();
        assert_eq!(uuid::Uuid::try_parse(&id).unwrap().to_string(), id);
    }

    #[test]
    fn concurrent_runs_share_the_batch_size_down_to_a_floor() {
        let b = tenantsync_store::DEFAULT_BATCH_OBJECTS;
        assert_eq!(batch_share(b, 0), b);
        assert_eq!(batch_share(b, 1), b);
        assert_eq!(batch_share(b, 2), b / 2);
        assert_eq!(batch_share(b, 10), MIN_BATCH_OBJECTS);
        assert_eq!(batch_share(b, 1000), MIN_BATCH_OBJECTS);
        // A writer that wants small batches gets them, shared down to the same floor.
        assert_eq!(batch_share(2000, 1), 2000);
        assert_eq!(batch_share(2000, 3), MIN_BATCH_OBJECTS);
        // One that wants fewer than the floor gets what it wants.
        assert_eq!(batch_share(10, 1), 10);
        assert_eq!(batch_share(10, 4), 10);
    }

    #[test]
    fn a_run_counts_while_it_lives() {
        let runs = Arc::new(AtomicUsize::new(0));
        let (a, b) = (RunShare::new(runs.clone()), RunShare::new(runs.clone()));
        assert_eq!(runs.load(Ordering::Relaxed), 2);
        drop(a);
        drop(b);
        assert_eq!(runs.load(Ordering::Relaxed), 0);
    }
}
