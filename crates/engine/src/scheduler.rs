//! Running every active job continuously, event-driven: a commit in a source tenant wakes
//! the jobs reading it at once, and so does a change of a job made outside its cycles
//! (start, restart, a configuration edited) — made by this process or by another on the
//! same store (the CLI, a second `serve`). A periodic pass is the safety net.
//!
//! It records the jobs' metrics as it goes (`crate::metrics`), from what it reads anyway.
use crate::metrics::{self, CycleKind, Heard, JobMetrics, Ran};
use crate::{Engine, EngineError};
use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::hash::BuildHasher;
use std::time::Duration;
use tenantsync_domain::{ChangeCursor, SyncConfigId, TenantId};
use tenantsync_store::{CommitNotice, JobNotice, JobStatusCode};
use tokio::sync::broadcast::error::RecvError;

/// How the scheduler paces itself.
#[derive(Debug, Clone, Copy)]
pub struct SchedulerOptions {
    /// Every job runs at least this often, changes or not (Entra's fixed 40 minutes is the
    /// ceiling; commits wake jobs at once anyway).
    pub interval: Duration,
    /// How often the heads of source tenants are compared, in case a notice of another
    /// process's commit was lost (notices normally wake jobs at once).
    pub external_check: Duration,
    /// How often a job whose lease another process held is tried again: a worker that
    /// died took its leases with it, and its jobs are taken over within this (plus the
    /// cycles of the pass in progress), well inside the 15 s lease timeout.
    pub lease_retry: Duration,
    /// Provisioning log records older than this are purged on every safety-net pass (and
    /// on the first); `None` keeps them forever. Entra keeps them 30 days.
    pub log_retention: Option<Duration>,
}

/// Entra's retention of provisioning logs.
pub const DEFAULT_LOG_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

impl Default for SchedulerOptions {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(40 * 60),
            external_check: Duration::from_secs(10),
            lease_retry: Duration::from_secs(2),
            log_retention: Some(DEFAULT_LOG_RETENTION),
        }
    }
}

/// What happened to one job in one wake-up, for whoever watches (the CLI prints it).
#[derive(Debug, Clone)]
pub enum JobEvent {
    Ran {
        id: SyncConfigId,
        report: crate::CycleReport,
    },
    Failed {
        id: SyncConfigId,
        code: &'static str,
        message: String,
    },
    /// Another task or process holds the job's lease (reported once per job).
    Busy {
        id: SyncConfigId,
    },
}

/// Runs jobs until `shutdown` resolves; a cycle in progress finishes first.
pub async fn run(
    engine: &Engine,
    options: SchedulerOptions,
    shutdown: impl Future<Output = ()>,
    mut on_event: impl FnMut(JobEvent) + Send,
) -> Result<(), EngineError> {
    let store = engine.store().clone();
    let mut notices = store.subscribe();
    let mut job_notices = store.subscribe_jobs();
    let mut by_source: HashMap<TenantId, Vec<SyncConfigId>> = HashMap::new();
    let mut heads: HashMap<TenantId, ChangeCursor> = HashMap::new();
    let mut dirty: BTreeSet<SyncConfigId> = BTreeSet::new();
    let mut refresh = true;
    let mut busy: BTreeSet<SyncConfigId> = BTreeSet::new();
    // Jobs whose last try found the lease held elsewhere: tried again every
    // `lease_retry` (and at every external check), so a job whose holder died (its lease
    // ended with it) is taken over within that period even when no commit wakes it.
    let mut leased: BTreeSet<SyncConfigId> = BTreeSet::new();
    // Random per process: where each pass starts in the list of jobs to run.
    let spread = std::collections::hash_map::RandomState::new();
    let mut passes: u64 = 0;
    // The first pass runs now; the timers fire one period later.
    let start = tokio::time::Instant::now();
    let mut periodic = tokio::time::interval_at(start + options.interval, options.interval);
    let mut external = tokio::time::interval_at(start + options.external_check, options.external_check);
    let mut lease_retry = tokio::time::interval_at(start + options.lease_retry, options.lease_retry);
    lease_retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    metrics::describe();
    let mut observed = JobMetrics::default();
    let leases = metrics::leases_held();
    loop {
        // Quarantined jobs run only on the safety-net pass (Entra lowers their frequency).
        let full_pass = refresh;
        if full_pass && let Some(keep) = options.log_retention {
            purge_logs(store.as_ref(), engine.clock().now(), keep).await;
        }
        if refresh {
            by_source.clear();
            let configs = store.list_sync_configurations().await?;
            for c in &configs {
                by_source.entry(c.source_tenant_id).or_default().push(c.id);
                dirty.insert(c.id);
            }
            observed.configurations(store.as_ref(), &configs).await;
            refresh = false;
        }
        // Each pass starts at a job of its own choosing: workers woken by the same commit
        // start on different jobs, take each other's leases less often, and share the work.
        let running: Vec<SyncConfigId> = {
            let all: Vec<SyncConfigId> = std::mem::take(&mut dirty).into_iter().collect();
            let start = if all.is_empty() { 0 } else { (spread.hash_one(passes) % all.len() as u64) as usize };
            passes += 1;
            all.iter().cycle().skip(start).take(all.len()).copied().collect()
        };
        // The heads of the sources whose jobs run now, read before their cycles: a commit
        // by another process that lands while a cycle runs (after the cycle read its own
        // head) then shows as a change at the next external check. Sources whose jobs do
        // not run keep the head their jobs last covered; re-reading them on a pass woken
        // for something else would pass another process's commit off as seen.
        for (source, ids) in &by_source {
            if ids.iter().any(|id| running.contains(id))
                && let Ok(h) = store.change_head(*source).await
            {
                heads.insert(*source, h);
                observed.head(store.as_ref(), *source, h, Heard::Read).await;
            }
        }
        for id in running {
            let kind = match store.job_state(id).await {
                Ok(state) => {
                    observed.state(id, &state);
                    match state.status {
                        JobStatusCode::Paused => continue,
                        JobStatusCode::Quarantine if !full_pass => continue,
                        _ => CycleKind::of(&state),
                    }
                }
                Err(_) => {
                    // Deleted meanwhile.
                    leased.remove(&id);
                    continue;
                }
            };
            let began = tokio::time::Instant::now();
            // A cycle holds its job's lease while it runs (one cycle at a time here).
            leases.set(1.0);
            let ran = engine.run_cycle(id).await;
            leases.set(0.0);
            match ran {
                Ok(report) => {
                    leased.remove(&id);
                    observed.cycle(store.as_ref(), id, kind, began.elapsed(), Ran::Report(&report)).await;
                    on_event(JobEvent::Ran { id, report });
                }
                Err(EngineError::Leased) => {
                    leased.insert(id);
                    if busy.insert(id) {
                        on_event(JobEvent::Busy { id });
                    }
                }
                Err(e) => {
                    // Paused since its state was read: no cycle ran.
                    if !matches!(e, EngineError::Paused) {
                        observed.cycle(store.as_ref(), id, kind, began.elapsed(), Ran::Failed).await;
                    }
                    tracing::warn!(job = %id, code = e.code(), error = %e, "sync cycle failed");
                    on_event(JobEvent::Failed { id, code: e.code(), message: e.to_string() });
                }
            }
        }
        if full_pass {
            observed.all_lag_seconds(store.as_ref(), engine.clock().now()).await;
        }
        tokio::select! {
            biased;
            () = &mut shutdown => return Ok(()),
            notice = notices.recv() => {
                // The newest head of each tenant in the burst.
                let mut told: HashMap<TenantId, ChangeCursor> = HashMap::new();
                let mut wake = |n: CommitNotice| {
                    if let Some(ids) = by_source.get(&n.tenant_id) {
                        dirty.extend(ids.iter().copied());
                    }
                    let head = told.entry(n.tenant_id).or_default();
                    *head = n.head.max(*head);
                };
                match notice {
                    Ok(n) => wake(n),
                    Err(RecvError::Lagged(_)) => refresh = true,
                    Err(RecvError::Closed) => return Ok(()),
                }
                // Coalesce a burst of commits into one pass.
                while let Ok(n) = notices.try_recv() {
                    wake(n);
                }
                for (tenant, head) in told {
                    observed.head(store.as_ref(), tenant, head, Heard::Notice).await;
                }
            }
            notice = job_notices.recv() => {
                let mut wake = |notice: JobNotice| match notice {
                    JobNotice::Job(id) if by_source.values().any(|ids| ids.contains(&id)) => {
                        dirty.insert(id);
                    }
                    // A new or deleted configuration, or settings that concern every job.
                    JobNotice::Job(_) | JobNotice::All => refresh = true,
                };
                let lagged = match notice {
                    Ok(n) => {
                        wake(n);
                        false
                    }
                    Err(RecvError::Lagged(_)) => true,
                    Err(RecvError::Closed) => return Ok(()),
                };
                while let Ok(n) = job_notices.try_recv() {
                    wake(n);
                }
                refresh |= lagged;
            }
            _ = periodic.tick() => refresh = true,
            _ = lease_retry.tick(), if !leased.is_empty() => dirty.extend(leased.iter().copied()),
            _ = external.tick() => {
                dirty.extend(leased.iter().copied());
                for (source, ids) in &by_source {
                    let now = store.change_head(*source).await.ok();
                    if now.is_some() && now != heads.get(source).copied() {
                        dirty.extend(ids.iter().copied());
                    }
                    if let Some(head) = now {
                        observed.head(store.as_ref(), *source, head, Heard::Read).await;
                    }
                }
                observed.all_lag_seconds(store.as_ref(), engine.clock().now()).await;
                // New or deleted configurations made by other processes.
                let count: usize = by_source.values().map(Vec::len).sum();
                if store.list_sync_configurations().await.map(|l| l.len()).unwrap_or(count) != count {
                    refresh = true;
                }
            }
        }
    }
}

/// Purges the provisioning logs older than `keep`, and the admin API's audit records with
/// them (they share the retention); a failure is logged, not fatal.
async fn purge_logs(store: &dyn tenantsync_store::SyncStore, now: jiff::Timestamp, keep: Duration) {
    let keep = jiff::SignedDuration::try_from(keep).unwrap_or(jiff::SignedDuration::MAX);
    let cutoff = now.checked_sub(keep).unwrap_or(jiff::Timestamp::MIN);
    match store.purge_provisioning_logs(cutoff).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(purged = n, %cutoff, "provisioning logs past retention purged"),
        Err(e) => tracing::warn!(code = e.code(), error = %e, "purging provisioning logs failed"),
    }
    match store.purge_audit_records(cutoff).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(purged = n, %cutoff, "admin audit records past retention purged"),
        Err(e) => tracing::warn!(code = e.code(), error = %e, "purging admin audit records failed"),
    }
}
