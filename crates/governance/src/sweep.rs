//! The clock-driven sweep: requests that escalate, are denied for want of a decision or
//! reach their scheduled start; assignments that near their end (reminders) or reach it;
//! guests whose deletion is due; auto-assignment policies' changes and ended grace periods. Due work is found from stored state by its due time, so
//! a restart misses nothing and a sweep costs what is due, not what is held.
use crate::{Governance, Result};
use std::collections::BTreeMap;
use tenantsync_access::{AssignmentEvent, Effect, PolicyId};
use tenantsync_store::{AccessStep, StepRow, StoreError, WriteOp};

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub requests: usize,
    pub reminders: usize,
    pub assignments_ended: usize,
    pub guests_deleted: usize,
    pub reviews_opened: usize,
    pub reviews_closed: usize,
    /// `systemAdd` requests of auto-assignment policies.
    pub auto_assigned: usize,
    /// `systemRemove` requests of auto-assignment policies (grace periods that ended).
    pub auto_removed: usize,
}

/// Rows read per pass.
const PASS: u32 = 500;

impl Governance {
    /// Does what is due now, pass after pass until nothing is (or a pass changed nothing).
    pub async fn sweep(&self) -> Result<SweepReport> {
        let mut report = SweepReport::default();
        let auto = self.auto_assign().await?;
        report.auto_assigned = auto.assigned;
        report.auto_removed = auto.removed;
        let mut extendable: BTreeMap<PolicyId, bool> = BTreeMap::new();
        for _ in 0..1000 {
            let now = self.now();
            let work = self.store.due_access_work(now, PASS).await?;
            if work.is_empty() {
                break;
            }
            let before = report;
            for (tenant, v) in work.requests {
                let mut r = v.value;
                let mut effects = r.tick(now);
                if effects.is_empty() && Self::interrupted(&r) {
                    effects.push(Effect::Deliver);
                }
                match self.record(tenant, r, Some(v.version), &effects, now).await {
                    Ok(_) => report.requests += 1,
                    Err(crate::GovernanceError::Store(StoreError::AccessConflict { .. })) => {}
                    Err(e) => return Err(e),
                }
            }
            for (tenant, v) in work.assignments {
                let mut a = v.value;
                let can_extend = match extendable.get(&a.assignment_policy_id) {
                    Some(x) => *x,
                    None => {
                        let x = self
                            .policy(tenant, a.assignment_policy_id)
                            .await
                            .map(|p| p.requestor_settings.enable_targets_to_self_update_access)
                            .unwrap_or(false);
                        extendable.insert(a.assignment_policy_id, x);
                        x
                    }
                };
                let events = a.tick(now, can_extend);
                if events.contains(&AssignmentEvent::Ended) {
                    self.end_assignment(tenant, a.id, now).await?;
                    report.assignments_ended += 1;
                    continue;
                }
                let mut step = AccessStep::default();
                for e in &events {
                    if let AssignmentEvent::EndsSoon { end } = e {
                        let subject = format!("Your access ends on {end}; extend it if you still need it");
                        step.outbox.push(crate::notices::assignment_message(&a, "accessEndsSoon", subject, now));
                        report.reminders += 1;
                    }
                }
                step.assignments.push(StepRow { due: a.next_due(can_extend), value: a, expect: Some(v.version) });
                match self.store.commit_access(tenant, step).await {
                    Ok(()) | Err(StoreError::AccessConflict { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            for (tenant, g) in work.guests {
                match self.store.apply(tenant, vec![WriteOp::SoftDeleteUser { id: g.user, if_match: None }], tenantsync_store::BatchMode::Atomic).await {
                    Ok(_) | Err(StoreError::NotFound { .. } | StoreError::ObjectDeleted { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
                self.store.forget_guest(tenant, g.user).await?;
                report.guests_deleted += 1;
            }
            if report == before {
                break;
            }
        }
        let (opened, closed) = self.review_pass(self.now()).await?;
        report.reviews_opened = opened;
        report.reviews_closed = closed;
        Ok(report)
    }
}
