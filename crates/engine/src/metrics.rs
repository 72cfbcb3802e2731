//! The metrics of the sync jobs, recorded through the `metrics` facade: a process that
//! installs a recorder (`tenantsync serve` installs Prometheus's) gets them; without one,
//! every call is a no-op. The engine depends on the facade only, never on an exporter.
//!
//! The scheduler feeds them from what it has at hand: each cycle's report and duration,
//! the job states it reads before and after a cycle, the sources' heads it reads anyway
//! (before a pass and every `external_check`), and the heads that commit notices carry.
//! The only reads made for the metrics alone are, after a cycle, the job's state and its
//! source's head, one lookup of a tenant's initial domain the first time it is seen,
//! and — for a job behind its source, after its cycles and every `external_check` — the
//! first change it has not processed (for its age). Nothing is read per scrape, and
//! nothing scans.
//!
//! Labels: a job is named by `config_id` and the initial domains of its `source` and
//! `target` tenants; a tenant by its initial domain (`tenant`). No user or group ever
//! names a series. Every name, type and label is listed in `docs/operations.md`.
use crate::CycleReport;
use ::metrics::{Counter, Gauge, Histogram, Label, Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tenantsync_domain::{ChangeCursor, ExecutionState, ObjectKind, QuarantineReason, SyncConfigId, SyncConfiguration, TenantId};
use tenantsync_store::{JobState, SyncStore};

/// Cycles run, by `kind` and `outcome` (counter).
pub const CYCLES: &str = "tenantsync_job_cycles_total";
/// Objects a cycle acted on or skipped, by `object` and `action` (counter).
pub const OBJECTS: &str = "tenantsync_job_objects_total";
/// Objects put in escrow (failed, retried later), users and groups together (counter).
pub const ESCROWED: &str = "tenantsync_job_escrowed_total";
/// Deletions held back by the accidental-deletion threshold (counter).
pub const STAGED_DELETES: &str = "tenantsync_job_staged_deletes_total";
/// Members added to and removed from synced groups, by `change` (counter).
pub const GROUP_MEMBERS: &str = "tenantsync_job_group_members_total";
/// How long cycles took (histogram, seconds).
pub const CYCLE_DURATION: &str = "tenantsync_job_cycle_duration_seconds";
/// How long the job's last cycle took (gauge, seconds).
pub const LAST_CYCLE_DURATION: &str = "tenantsync_job_last_cycle_duration_seconds";
/// Objects in escrow now (gauge).
pub const ESCROWS: &str = "tenantsync_job_escrows";
/// 1 for the reason the job is quarantined for, 0 for the others (gauge, by `reason`).
pub const QUARANTINED: &str = "tenantsync_job_quarantined";
/// Changes of the source after the job's watermark (gauge).
pub const LAG_CHANGES: &str = "tenantsync_job_lag_changes";
/// Age of the oldest source change the job has not processed; 0 when caught up (gauge,
/// seconds).
pub const LAG_SECONDS: &str = "tenantsync_job_lag_seconds";
/// The newest change of a tenant's feed (gauge).
pub const CHANGE_HEAD: &str = "tenantsync_tenant_change_head";
/// Job leases this process holds now (a cycle runs under its job's lease): with several
/// workers on one PostgreSQL, what each one is running.
pub const LEASES_HELD: &str = "tenantsync_job_leases_held";

/// The upper bounds of the cycle-duration histogram's buckets, in seconds.
pub const CYCLE_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0];

/// Registers the help text of every metric above with the installed recorder.
pub fn describe() {
    describe_counter!(CYCLES, "Sync cycles run, by kind (initial, incremental) and outcome (Succeeded, EntryLevelErrors, Failed).");
    describe_counter!(OBJECTS, "Objects a cycle acted on, by object (user, group) and action (created, updated, restored, softDeleted, hardDeleted, skipped).");
    describe_counter!(ESCROWED, "Objects put in escrow by a cycle (their write failed; they are retried), users and groups together.");
    describe_counter!(STAGED_DELETES, "Deletions held back by the accidental-deletion threshold.");
    describe_counter!(GROUP_MEMBERS, "Members added to (added) and removed from (removed) synced groups.");
    describe_histogram!(CYCLE_DURATION, Unit::Seconds, "Duration of sync cycles.");
    describe_gauge!(LAST_CYCLE_DURATION, Unit::Seconds, "Duration of the job's last cycle.");
    describe_gauge!(ESCROWS, "Objects in escrow, waiting to be retried.");
    describe_gauge!(QUARANTINED, "1 when the job is quarantined for this reason, else 0.");
    describe_gauge!(LAG_CHANGES, "Changes of the source tenant after the job's watermark.");
    describe_gauge!(LAG_SECONDS, Unit::Seconds, "Age of the oldest source change the job has not processed (0 when caught up).");
    describe_gauge!(CHANGE_HEAD, "Sequence number of the newest change in the tenant's change feed.");
    describe_gauge!(LEASES_HELD, "Job leases this process holds now (cycles running here).");
}

/// What a cycle did to an object, as the `action` label spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ObjectAction {
    Created,
    Updated,
    Restored,
    SoftDeleted,
    HardDeleted,
    Skipped,
}

impl ObjectAction {
    const ALL: [ObjectAction; 6] =
        [ObjectAction::Created, ObjectAction::Updated, ObjectAction::Restored, ObjectAction::SoftDeleted, ObjectAction::HardDeleted, ObjectAction::Skipped];

    const fn as_str(self) -> &'static str {
        match self {
            ObjectAction::Created => "created",
            ObjectAction::Updated => "updated",
            ObjectAction::Restored => "restored",
            ObjectAction::SoftDeleted => "softDeleted",
            ObjectAction::HardDeleted => "hardDeleted",
            ObjectAction::Skipped => "skipped",
        }
    }
}

/// An initial or an incremental cycle (the `kind` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CycleKind {
    Initial,
    Incremental,
}

impl CycleKind {
    pub(crate) fn of(state: &JobState) -> CycleKind {
        if state.watermark == ChangeCursor::START { CycleKind::Initial } else { CycleKind::Incremental }
    }

    const fn as_str(self) -> &'static str {
        match self {
            CycleKind::Initial => "initial",
            CycleKind::Incremental => "incremental",
        }
    }
}

/// Where a head comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Heard {
    /// Read from the store: what the feed is now.
    Read,
    /// Told by a commit notice, which may be overtaken by a later read or notice: it
    /// only ever raises the head.
    Notice,
}

/// How a cycle the scheduler ran ended.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ran<'a> {
    Report(&'a CycleReport),
    Failed,
}

/// One job's series (every one registered when the job is first seen, so counters start
/// at 0 and `rate()` sees their first increase).
#[derive(Debug)]
struct Job {
    source: TenantId,
    target: TenantId,
    /// The watermark of the state last read, once one was.
    watermark: Option<ChangeCursor>,
    cycles: Vec<((CycleKind, ExecutionState), Counter)>,
    objects: Vec<((ObjectKind, ObjectAction), Counter)>,
    escrowed: Counter,
    staged_deletes: Counter,
    members_added: Counter,
    members_removed: Counter,
    durations: Histogram,
    last_duration: Gauge,
    escrows: Gauge,
    quarantined: Vec<(QuarantineReason, Gauge)>,
    lag_changes: Gauge,
    lag_seconds: Gauge,
}

impl Job {
    fn new(id: SyncConfigId, source: (TenantId, Arc<str>), target: (TenantId, Arc<str>)) -> Job {
        let labels = [Label::new("config_id", id.to_string()), Label::new("source", source.1.to_string()), Label::new("target", target.1.to_string())];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut l = labels.to_vec();
            l.extend(extra.iter().map(|(k, v)| Label::new(*k, *v)));
            l
        };
        let mut cycles = Vec::new();
        for kind in [CycleKind::Initial, CycleKind::Incremental] {
            for outcome in ExecutionState::ALL {
                cycles.push(((kind, *outcome), counter!(CYCLES, with(&[("kind", kind.as_str()), ("outcome", outcome.as_str())]))));
            }
        }
        let mut objects = Vec::new();
        for object in [ObjectKind::User, ObjectKind::Group] {
            for action in ObjectAction::ALL {
                objects.push(((object, action), counter!(OBJECTS, with(&[("object", object.as_str()), ("action", action.as_str())]))));
            }
        }
        let job = Job {
            source: source.0,
            target: target.0,
            watermark: None,
            cycles,
            objects,
            escrowed: counter!(ESCROWED, with(&[])),
            staged_deletes: counter!(STAGED_DELETES, with(&[])),
            members_added: counter!(GROUP_MEMBERS, with(&[("change", "added")])),
            members_removed: counter!(GROUP_MEMBERS, with(&[("change", "removed")])),
            durations: histogram!(CYCLE_DURATION, with(&[])),
            last_duration: gauge!(LAST_CYCLE_DURATION, with(&[])),
            escrows: gauge!(ESCROWS, with(&[])),
            quarantined: QuarantineReason::ALL.iter().map(|r| (*r, gauge!(QUARANTINED, with(&[("reason", r.as_str())])))).collect(),
            lag_changes: gauge!(LAG_CHANGES, with(&[])),
            lag_seconds: gauge!(LAG_SECONDS, with(&[])),
        };
        // Registered at 0: a series exists before its first increase.
        let counters = job.cycles.iter().map(|(_, c)| c).chain(job.objects.iter().map(|(_, c)| c));
        for c in counters.chain([&job.escrowed, &job.staged_deletes, &job.members_added, &job.members_removed]) {
            c.increment(0);
        }
        job
    }

    /// Adds a cycle's report to the job's counters.
    fn count(&self, r: &CycleReport) {
        let g = &r.groups;
        for ((object, action), counter) in &self.objects {
            let n = match (object, action) {
                (ObjectKind::User, ObjectAction::Created) => r.created,
                (ObjectKind::User, ObjectAction::Updated) => r.updated,
                (ObjectKind::User, ObjectAction::Restored) => r.restored,
                (ObjectKind::User, ObjectAction::SoftDeleted) => r.soft_deleted,
                (ObjectKind::User, ObjectAction::HardDeleted) => r.hard_deleted,
                (ObjectKind::User, ObjectAction::Skipped) => r.skipped,
                (ObjectKind::Group, ObjectAction::Created) => g.created,
                (ObjectKind::Group, ObjectAction::Updated) => g.updated,
                (ObjectKind::Group, ObjectAction::Restored) => g.restored,
                (ObjectKind::Group, ObjectAction::SoftDeleted) => g.soft_deleted,
                (ObjectKind::Group, ObjectAction::HardDeleted) => g.hard_deleted,
                (ObjectKind::Group, ObjectAction::Skipped) => g.skipped,
            };
            counter.increment(n);
        }
        self.escrowed.increment(r.escrowed);
        self.staged_deletes.increment(r.staged_deletes);
        self.members_added.increment(g.members_added);
        self.members_removed.increment(g.members_removed);
    }
}

/// One tenant's head.
#[derive(Debug)]
struct Tenant {
    head: ChangeCursor,
    gauge: Gauge,
}

/// The scheduler's metrics: the series of each job and tenant it has seen, and what the
/// gauges derived from several reads (lags) need.
#[derive(Debug, Default)]
pub(crate) struct JobMetrics {
    jobs: HashMap<SyncConfigId, Job>,
    tenants: HashMap<TenantId, Tenant>,
    /// Initial domains (tenants never change theirs).
    domains: HashMap<TenantId, Arc<str>>,
}

impl JobMetrics {
    /// The jobs as the configurations now are, and the heads of their tenants. New jobs
    /// get their series. A deleted one's gauges drop to 0 (nothing is behind, in escrow
    /// or quarantined any more) and are no longer set; its counters keep their values;
    /// the exporter keeps both until the process ends.
    pub(crate) async fn configurations(&mut self, store: &dyn SyncStore, configs: &[SyncConfiguration]) {
        self.jobs.retain(|id, job| {
            let kept = configs.iter().any(|c| c.id == *id);
            if !kept {
                for g in [&job.escrows, &job.lag_changes, &job.lag_seconds].into_iter().chain(job.quarantined.iter().map(|(_, g)| g)) {
                    g.set(0.0);
                }
            }
            kept
        });
        for c in configs {
            if !self.jobs.contains_key(&c.id) {
                let source = self.domain(store, c.source_tenant_id).await;
                let target = self.domain(store, c.target_tenant_id).await;
                self.jobs.insert(c.id, Job::new(c.id, (c.source_tenant_id, source), (c.target_tenant_id, target)));
            }
            for t in [c.source_tenant_id, c.target_tenant_id] {
                if !self.tenants.contains_key(&t)
                    && let Ok(head) = store.change_head(t).await
                {
                    self.head(store, t, head, Heard::Read).await;
                }
            }
        }
    }

    /// A tenant's head, read or told by a commit notice.
    pub(crate) async fn head(&mut self, store: &dyn SyncStore, tenant: TenantId, head: ChangeCursor, heard: Heard) {
        if !self.tenants.contains_key(&tenant) {
            let domain = self.domain(store, tenant).await;
            let gauge = gauge!(CHANGE_HEAD, vec![Label::new("tenant", domain.to_string())]);
            self.tenants.insert(tenant, Tenant { head: ChangeCursor::START, gauge });
        }
        let Some(t) = self.tenants.get_mut(&tenant) else { return };
        if heard == Heard::Notice && head < t.head {
            return;
        }
        t.head = head;
        t.gauge.set(head.0 as f64);
        for job in self.jobs.values().filter(|j| j.source == tenant) {
            if let Some(w) = job.watermark {
                job.lag_changes.set(head.0.saturating_sub(w.0) as f64);
            }
        }
    }

    /// A job's state as just read: escrows, quarantine and watermark.
    pub(crate) fn state(&mut self, id: SyncConfigId, state: &JobState) {
        let Some(job) = self.jobs.get_mut(&id) else { return };
        job.escrows.set(state.escrows.len() as f64);
        for (reason, g) in &job.quarantined {
            g.set(if state.quarantine_reason == Some(*reason) { 1.0 } else { 0.0 });
        }
        job.watermark = Some(state.watermark);
        if let Some(t) = self.tenants.get(&job.source) {
            job.lag_changes.set(t.head.0.saturating_sub(state.watermark.0) as f64);
        }
    }

    /// A cycle the scheduler ran (not one refused for a lease held elsewhere): its
    /// counters and duration; then the job's state and lag as they are after it.
    pub(crate) async fn cycle(&mut self, store: &dyn SyncStore, id: SyncConfigId, kind: CycleKind, took: Duration, ran: Ran<'_>) {
        let after = store.job_state(id).await.ok();
        let Some(job) = self.jobs.get(&id) else { return };
        let outcome = match ran {
            Ran::Failed => ExecutionState::Failed,
            Ran::Report(r) => match after.as_ref().and_then(|s| s.last_execution.as_ref()).filter(|x| x.cycle_id == r.cycle_id) {
                Some(x) => x.state,
                None if r.escrowed > 0 => ExecutionState::EntryLevelErrors,
                None => ExecutionState::Succeeded,
            },
        };
        if let Some((_, c)) = job.cycles.iter().find(|(k, _)| *k == (kind, outcome)) {
            c.increment(1);
        }
        job.durations.record(took.as_secs_f64());
        job.last_duration.set(took.as_secs_f64());
        if let Ran::Report(r) = ran {
            job.count(r);
        }
        let tenants = [job.source, job.target];
        if let Some(state) = after {
            self.state(id, &state);
        }
        // The source's head for the lag; the target's, which the cycle moved.
        for t in tenants {
            if let Ok(head) = store.change_head(t).await {
                self.head(store, t, head, Heard::Read).await;
            }
        }
        self.lag_seconds(store, id, store.clock().now()).await;
    }

    /// The age of the oldest change each job has not processed (its source's change
    /// after its watermark), for the jobs behind their source; 0 for the others.
    pub(crate) async fn all_lag_seconds(&mut self, store: &dyn SyncStore, now: jiff::Timestamp) {
        let ids: Vec<SyncConfigId> = self.jobs.keys().copied().collect();
        for id in ids {
            self.lag_seconds(store, id, now).await;
        }
    }

    async fn lag_seconds(&mut self, store: &dyn SyncStore, id: SyncConfigId, now: jiff::Timestamp) {
        let Some(job) = self.jobs.get(&id) else { return };
        let (Some(watermark), Some(head)) = (job.watermark, self.tenants.get(&job.source).map(|t| t.head)) else { return };
        if head <= watermark {
            job.lag_seconds.set(0.0);
            return;
        }
        if let Ok(page) = store.changes_since(job.source, watermark, 1).await
            && let Some(first) = page.changes.first()
        {
            let age = now.duration_since(first.at).as_secs_f64().max(0.0);
            job.lag_seconds.set(age);
        }
    }

    /// A tenant's initial domain, looked up once (its id when it cannot be read).
    async fn domain(&mut self, store: &dyn SyncStore, tenant: TenantId) -> Arc<str> {
        if let Some(d) = self.domains.get(&tenant) {
            return d.clone();
        }
        match store.get_tenant(tenant).await {
            Ok(t) => {
                let d: Arc<str> = Arc::from(t.initial_domain.as_str());
                self.domains.insert(tenant, d.clone());
                d
            }
            // Not kept: the next sighting tries again.
            Err(_) => Arc::from(tenant.to_string()),
        }
    }
}

/// The gauge of the job leases this process holds.
pub fn leases_held() -> Gauge {
    gauge!(LEASES_HELD)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::metrics::{Counter, Key, KeyName, Metadata, Recorder, SharedString};
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU64, Ordering};
    use tenantsync_store_sqlite::SqliteStore;

    /// A recorder that keeps its gauges, to be read back.
    #[derive(Default)]
    struct Gauges(Mutex<Vec<(Key, Arc<AtomicU64>)>>);

    impl Recorder for Gauges {
        fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn register_counter(&self, _: &Key, _: &Metadata<'_>) -> Counter {
            Counter::noop()
        }
        fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
            let g = Arc::new(AtomicU64::new(0));
            self.0.lock().unwrap().push((key.clone(), g.clone()));
            Gauge::from_arc(g)
        }
        fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
            Histogram::noop()
        }
    }

    impl Gauges {
        /// The gauge named `name` whose labels include `labels`.
        fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
            let all = self.0.lock().unwrap();
            let mut found = all.iter().filter(|(k, _)| k.name() == name && labels.iter().all(|(n, v)| k.labels().any(|l| l.key() == *n && l.value() == *v)));
            let (_, g) = found.next()?;
            assert!(found.next().is_none(), "{name} {labels:?} names several gauges");
            Some(f64::from_bits(g.load(Ordering::Relaxed)))
        }
    }

    #[test]
    fn lags_follow_heads_and_a_deleted_job_drops_its_gauges_to_zero() {
        let gauges = Gauges::default();
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let (source, target) = (TenantId::new(), TenantId::new());
        let config = SyncConfiguration::new("a to b", source, target).unwrap();
        let id = config.id.to_string();
        let job = [("config_id", id.as_str())];
        let reason = [("config_id", id.as_str()), ("reason", "TooManyDeletes")];
        // Unknown tenants: named by their ids.
        let source_label = source.to_string();
        let head = [("tenant", source_label.as_str())];
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        ::metrics::with_local_recorder(&gauges, || {
            rt.block_on(async {
                let mut m = JobMetrics::default();
                m.configurations(&store, std::slice::from_ref(&config)).await;
                assert_eq!(gauges.value(LAG_CHANGES, &[("source", source_label.as_str())]), Some(0.0));
                m.head(&store, source, ChangeCursor(5), Heard::Read).await;
                let state = JobState { watermark: ChangeCursor(2), quarantine_reason: Some(QuarantineReason::TooManyDeletes), ..JobState::default() };
                m.state(config.id, &state);
                assert_eq!(gauges.value(LAG_CHANGES, &job), Some(3.0));
                assert_eq!(gauges.value(QUARANTINED, &reason), Some(1.0));
                assert_eq!(gauges.value(QUARANTINED, &[("config_id", id.as_str()), ("reason", "EncounteredBaseEscrowThreshold")]), Some(0.0));
                assert_eq!(gauges.value(CHANGE_HEAD, &head), Some(5.0));
                // A notice older than what was read changes nothing; a newer one moves both.
                m.head(&store, source, ChangeCursor(4), Heard::Notice).await;
                assert_eq!((gauges.value(CHANGE_HEAD, &head), gauges.value(LAG_CHANGES, &job)), (Some(5.0), Some(3.0)));
                m.head(&store, source, ChangeCursor(7), Heard::Notice).await;
                assert_eq!((gauges.value(CHANGE_HEAD, &head), gauges.value(LAG_CHANGES, &job)), (Some(7.0), Some(5.0)));
                // The configuration is gone.
                m.configurations(&store, &[]).await;
                assert_eq!((gauges.value(LAG_CHANGES, &job), gauges.value(QUARANTINED, &reason)), (Some(0.0), Some(0.0)));
                m.head(&store, source, ChangeCursor(9), Heard::Read).await;
                assert_eq!(gauges.value(LAG_CHANGES, &job), Some(0.0), "no longer set");
            })
        });
    }
}
