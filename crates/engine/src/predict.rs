//! A dry run: what a configuration's next cycle would do, decided by the cycle's own code
//! ([`crate::cycle`]) against the store as it is, with a writer that keeps every write from
//! the store. Nothing is written: not the target, not the logs, not the job state.
//!
//! Every write is answered as done, so the counts are those of a cycle whose writes all
//! succeed. What a cycle reads back of its own writes is not there: the members a new
//! group gets from users created in the same cycle are not counted (their copies do not
//! exist yet), nor are manager references, which are not counted by a cycle either.
use crate::compile::Compiled;
use crate::context::Shared;
use crate::report::CycleReport;
use crate::run::Run;
pub use crate::tally::{CreatedMail, MAILS_KEPT, Outcome, mail_hash};
use crate::tally::{DryTally, Seen};
use crate::{EngineError, cycle};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tenantsync_domain::{DomainName, ObjectKind, SyncConfiguration};
use tenantsync_store::{JobState, ProvisioningLog, SyncWriter, WriteFuture, WriteOp, WriteOutcome};

/// What a configuration's next cycle would do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prediction {
    /// The cycle's report, as the cycle would make it.
    pub report: CycleReport,
    /// The log records it would write, by kind of object, action, status, skip reason and
    /// error code, with a sample of the objects of each.
    pub outcomes: Vec<Outcome>,
    /// Each user the cycle would create with a mail: the mail's [`mail_hash`] and the
    /// source user, to find people who would reach a tenant by two paths (24 bytes a user,
    /// where the text would be several times that for millions of users).
    pub created_mails: Vec<CreatedMail>,
    /// The mails (lowercase) of the first [`MAILS_KEPT`] of those users, to look up in the
    /// target as text.
    pub first_created_mails: Vec<String>,
}

/// A writer that writes nothing: it answers every write as done and keeps a tally of the
/// records it was given.
#[derive(Debug)]
struct DryWriter {
    samples: usize,
    seen: Arc<Mutex<Seen>>,
}

#[async_trait::async_trait]
impl SyncWriter for DryWriter {
    fn write(&self, ops: Vec<WriteOp>, _state: JobState, mut logs: Vec<ProvisioningLog>) -> WriteFuture {
        // As a store stores them (a dry run's creates leave no values in their copies, but
        // the records it samples are shown whatever made them).
        tenantsync_store::fill_values_from(&mut logs, &ops);
        if let Ok(mut seen) = self.seen.lock() {
            for log in &logs {
                seen.record(log, self.samples);
            }
            for op in &ops {
                if let WriteOp::CreateUser(new) = op
                    && let Some(mail) = &new.attrs.mail
                {
                    seen.created(mail.as_str(), new.anchor.map_or(new.id, |a| a.object));
                }
            }
        }
        // Nothing in a cycle reads what a write returns but whether it succeeded.
        let answers =
            ops.iter().map(|_| Ok(WriteOutcome::HardDeleted { kind: ObjectKind::User, id: tenantsync_domain::ObjectId::from_bytes([0; 16]) })).collect();
        Box::pin(async move { Ok(answers) })
    }

    async fn flush(&self) -> tenantsync_store::Result<()> {
        Ok(())
    }
}

/// What the next cycle of `config` would do, starting from job state `state` (a new
/// configuration's is the default: an initial cycle), into a target whose initial domain
/// is `target_domain` (a target that does not exist yet is taken as empty). The policy
/// check is not made (the caller tells access apart), nor is the job's lease taken:
/// nothing is written. `group_sync` says whether the target allows inbound group sync
/// from the source (`None`: as the store's settings say now).
pub(crate) async fn predict(
    engine: &Shared,
    config: SyncConfiguration,
    state: JobState,
    target_domain: &DomainName,
    samples: usize,
    group_sync: Option<bool>,
) -> Result<Prediction, EngineError> {
    predict_walking(engine, PredictArrow { config, state, target_domain: target_domain.clone(), group_sync }, samples, None).await
}

/// One arrow whose next cycle [`predict_all`] predicts.
#[derive(Debug, Clone)]
pub struct PredictArrow {
    pub config: SyncConfiguration,
    /// The job state the cycle would start from (a new configuration's is the default).
    pub state: JobState,
    /// The target's initial domain.
    pub target_domain: DomainName,
    /// Whether the target allows inbound group sync from the source (`None`: as the
    /// store's settings say now).
    pub group_sync: Option<bool>,
}

/// The next cycles of `arrows`, each as [`predict`] makes it, in their order. The initial
/// cycles of arrows from the same source share one scan of it (each page of the source is
/// read and decoded once for all of them), and the arrows of up to as many sources as
/// there are cores are predicted at once.
pub(crate) async fn predict_all(engine: &Shared, arrows: Vec<PredictArrow>, samples: usize) -> Vec<Result<Prediction, EngineError>> {
    // Arrows by source, for those whose next cycle walks the whole source.
    let mut groups: BTreeMap<(bool, tenantsync_domain::TenantId), Vec<(usize, PredictArrow)>> = BTreeMap::new();
    for (i, a) in arrows.into_iter().enumerate() {
        let initial = a.state.watermark == tenantsync_domain::ChangeCursor::START;
        // Incremental cycles read no pages: each is a group of its own.
        let key = (initial, if initial { a.config.source_tenant_id } else { tenantsync_domain::TenantId::new() });
        groups.entry(key).or_default().push((i, a));
    }
    let total: usize = groups.values().map(Vec::len).sum();
    let parallel = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
    let permits = Arc::new(tokio::sync::Semaphore::new(parallel));
    let mut tasks = tokio::task::JoinSet::new();
    for ((initial, source), group) in groups {
        let Ok(permit) = permits.clone().acquire_owned().await else { break };
        // Every walk of a shared scan runs at once (the scan waits for the slowest).
        let mut walkers =
            if initial && group.len() > 1 { crate::source::SharedScan::walkers(source, engine.limits().page_users, &classes(&group)) } else { Vec::new() }
                .into_iter();
        let mut members = tokio::task::JoinSet::new();
        for (i, arrow) in group {
            let (engine, walker) = (engine.clone(), walkers.next());
            members.spawn(async move { (i, predict_walking(&engine, arrow, samples, walker).await) });
        }
        tasks.spawn(async move {
            let done = members.join_all().await;
            drop(permit);
            done
        });
    }
    let mut out: Vec<Option<Result<Prediction, EngineError>>> = (0..total).map(|_| None).collect();
    while let Some(done) = tasks.join_next().await {
        let Ok(done) = done else { continue };
        for (i, result) in done {
            if let Some(slot) = out.get_mut(i) {
                *slot = Some(result);
            }
        }
    }
    let lost = || Err(EngineError::Store(tenantsync_store::StoreError::Internal { message: "a prediction's task ended without an answer".into() }));
    out.into_iter().map(|r| r.unwrap_or_else(lost)).collect()
}

/// The memo class of each arrow of a shared scan: arrows with the same mappings and
/// scoping filter would map each user the same, so they share what it made (`None` for an
/// arrow alone in its class: nothing to share).
fn classes(group: &[(usize, PredictArrow)]) -> Vec<Option<usize>> {
    let same = |a: &PredictArrow, b: &PredictArrow| a.config.user_mappings == b.config.user_mappings && a.config.scoping_filter == b.config.scoping_filter;
    let mut out = Vec::with_capacity(group.len());
    let mut next = 0;
    for (i, (_, arrow)) in group.iter().enumerate() {
        let earlier = group.iter().take(i).position(|(_, b)| same(arrow, b));
        let class = match earlier.and_then(|j| out.get(j).copied().flatten()) {
            Some(c) => Some(c),
            None if group.iter().skip(i + 1).any(|(_, b)| same(arrow, b)) => {
                next += 1;
                Some(next - 1)
            }
            None => None,
        };
        out.push(class);
    }
    out
}

/// [`predict`], its initial walk taking the source's pages from `walker` when given.
async fn predict_walking(engine: &Shared, arrow: PredictArrow, samples: usize, walker: Option<crate::source::Walker>) -> Result<Prediction, EngineError> {
    let PredictArrow { config, state, target_domain, group_sync } = arrow;
    let target_domain = &target_domain;
    let mut compiled = Compiled::new(config)?;
    let target = compiled.config.target_tenant_id;
    if let Err(tenantsync_store::StoreError::TenantNotFound { .. }) = engine.store().get_tenant(target).await {
        // A target not created yet is empty. The source stands in for it: it holds nothing
        // carrying its own anchors, so the cycle matches nothing there, as in a new tenant
        // (the copies' UPNs take `target_domain`, the new tenant's).
        compiled.config.target_tenant_id = compiled.config.source_tenant_id;
    }
    let writer = Arc::new(DryWriter { samples, seen: Arc::new(Mutex::new(Seen::default())) });
    let cfg = &compiled.config;
    let initial = state.watermark == tenantsync_domain::ChangeCursor::START;
    let cycle_id = format!("dryrun-{}", uuid::Uuid::now_v7());
    let mut run = Run::with_writer(engine, cfg.id, cycle_id, state, cfg.retry, initial, writer.clone());
    run.group_sync = group_sync;
    run.scan = walker;
    // The writer keeps only the records' kinds and names; the users' decisions are
    // tallied as they are made.
    run.log_text = false;
    run.dry = Some(DryTally::new(samples, writer.seen.clone()));
    let report = cycle::walk(engine, &compiled, run, target_domain, engine.clock().now()).await?;
    let seen = writer.seen.lock().map(|mut s| std::mem::take(&mut *s)).unwrap_or_default();
    Ok(Prediction { report, outcomes: seen.outcomes.into_values().collect(), created_mails: seen.created_mails, first_created_mails: seen.first_created_mails })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tenantsync_domain::{ScopingClause, ScopingFilterGroup, ScopingOperand, TenantId};

    fn arrow(source: TenantId, department: Option<&str>) -> (usize, PredictArrow) {
        let mut config = SyncConfiguration::new("a", source, TenantId::new()).unwrap();
        if let Some(d) = department {
            let clause = ScopingClause {
                source_operand_name: "department".into(),
                operator_name: "EQUALS".into(),
                target_operand: ScopingOperand { values: vec![d.into()] },
            };
            config.scoping_filter = vec![ScopingFilterGroup { name: "f".into(), clauses: vec![clause] }];
        }
        (0, PredictArrow { config, state: JobState::default(), target_domain: DomainName::parse("t.example").unwrap(), group_sync: None })
    }

    #[test]
    fn arrows_with_the_same_mappings_and_filter_share_a_class_and_a_lone_one_none() {
        let s = TenantId::new();
        let group = [arrow(s, None), arrow(s, Some("Legal")), arrow(s, None), arrow(s, Some("Sales")), arrow(s, Some("Legal")), arrow(s, None)];
        assert_eq!(classes(&group), vec![Some(0), Some(1), Some(0), None, Some(1), Some(0)]);
        let mut other = arrow(s, None);
        other.1.config.user_mappings.pop();
        assert_eq!(classes(&[arrow(s, None), other]), vec![None, None]);
    }
}
