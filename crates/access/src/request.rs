//! Assignment requests, the only write path to assignments, and their state machine
//! (Graph's `accessPackageAssignmentRequest`):
//!
//! ```text
//! submitted ─┬─ approval needed ──► pendingApproval(stage k) ─ approve ─► next stage … ─┐
//!            │                        │ deny ─► denied    no decision in time ─► denied  │
//!            │                        │ cancel ─► canceled      (status Expired)         │
//!            ├─ start in the future ─► scheduled ─ start ──────────────────────────────┤
//!            └──────────────────────────────────────────────────────────────────────► delivering
//!                                  delivering ─► delivered | partiallyDelivered | deliveryFailed
//!                        partiallyDelivered, deliveryFailed ─ reprocess (≤ 7 days) ─► delivering
//! ```
//!
//! Each transition returns the [`Effect`]s the caller carries out (deliver, end an
//! assignment, notify), so the same code serves the API, the scheduler and the tests.
use crate::{AccessError, AssignmentId, IsoDuration, PackageId, PolicyId, RequestId, ReviewResult, Stage, StageStatus};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use tenantsync_domain::ObjectId;

/// How long after completion a failed delivery may be reprocessed by hand.
pub const REPROCESS_WINDOW: IsoDuration = IsoDuration::days(7);

/// What a request asks for (Graph's `requestType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RequestType {
    /// A requestor asks for the package for themselves.
    UserAdd,
    /// A requestor extends their assignment.
    UserUpdate,
    /// A requestor gives their assignment up.
    UserRemove,
    /// An admin assigns directly.
    AdminAdd,
    /// An admin extends an assignment.
    AdminUpdate,
    /// An admin removes an assignment.
    AdminRemove,
    /// tenantsync assigns (an auto-assignment rule).
    SystemAdd,
    /// tenantsync removes (expiry, review denial, a rule no longer met).
    SystemRemove,
    #[serde(other)]
    UnknownFutureValue,
}

impl RequestType {
    pub fn is_add(self) -> bool {
        matches!(self, RequestType::UserAdd | RequestType::AdminAdd | RequestType::SystemAdd)
    }

    pub fn is_update(self) -> bool {
        matches!(self, RequestType::UserUpdate | RequestType::AdminUpdate)
    }

    pub fn is_remove(self) -> bool {
        matches!(self, RequestType::UserRemove | RequestType::AdminRemove | RequestType::SystemRemove)
    }

    pub fn by_user(self) -> bool {
        matches!(self, RequestType::UserAdd | RequestType::UserUpdate | RequestType::UserRemove)
    }
}

/// Where a request stands (Graph's `state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RequestState {
    Submitted,
    PendingApproval,
    Scheduled,
    Delivering,
    Delivered,
    PartiallyDelivered,
    DeliveryFailed,
    Denied,
    Canceled,
    #[serde(other)]
    UnknownFutureValue,
}

impl RequestState {
    /// Whether the request is finished (it then has a `completedDateTime`).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            RequestState::Delivered | RequestState::PartiallyDelivered | RequestState::DeliveryFailed | RequestState::Denied | RequestState::Canceled
        )
    }
}

/// The finer status Graph shows beside the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RequestStatus {
    Accepted,
    PendingApproval,
    PendingApprovalEscalated,
    PendingNotBefore,
    Delivering,
    Delivered,
    PartiallyDelivered,
    DeliveryFailed,
    Denied,
    /// Denied because no one decided in time.
    Expired,
    Canceled,
}

/// When the assignment a request asks for starts and ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Schedule {
    pub start_date_time: Timestamp,
    /// `None`: no end.
    pub end_date_time: Option<Timestamp>,
}

/// Someone from outside, as far as a guest of them can be made: their home tenant and
/// user there when they are of a tenantsync tenant (the guest is then anchored to that
/// user, so edits at home flow through), and their mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSubject {
    pub home_tenant: Option<tenantsync_domain::TenantId>,
    pub home_user: Option<ObjectId>,
    pub email: String,
    pub display_name: String,
}

/// A requestor's answer to a policy question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Answer {
    pub question_id: String,
    pub value: String,
}

/// The outcome of delivering a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Delivered,
    /// Some roles were granted, some failed.
    Partial,
    Failed,
}

/// Who a notice goes to and what it says (Entra's mail events).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// Approvers of a stage: a request awaits their decision.
    ApprovalRequired { stage: usize, approvers: BTreeSet<ObjectId> },
    /// Escalation approvers: a request was forwarded to them.
    Escalated { stage: usize, approvers: BTreeSet<ObjectId> },
    /// Requestor: approved (delivery follows).
    Approved,
    /// Requestor: denied by an approver.
    Denied,
    /// Requestor (and the stage's approvers): no one decided in time.
    Expired { approvers: BTreeSet<ObjectId> },
    /// Requestor: access granted.
    AccessGranted,
}

/// What the caller does after a transition, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Deliver the request: for an add, make the guest if needed, grant the package's roles
    /// and record the assignment; for an update, extend it; then report with
    /// [`Request::delivered`].
    Deliver,
    /// End the assignment (a remove request).
    EndAssignment(AssignmentId),
    Notify(Notice),
}

/// A request, with its approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    pub id: RequestId,
    pub request_type: RequestType,
    pub state: RequestState,
    pub status: RequestStatus,
    pub access_package_id: PackageId,
    pub assignment_policy_id: PolicyId,
    /// The requestor's user in the tenant; `None` until an outsider's guest exists.
    pub requestor: Option<ObjectId>,
    /// Who asks from outside with no account here yet (the guest made at delivery).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalSubject>,
    /// For updates and removes: the assignment; for adds, set at delivery.
    pub assignment_id: Option<AssignmentId>,
    pub schedule: Schedule,
    pub answers: Vec<Answer>,
    pub justification: String,
    pub stages: Vec<Stage>,
    pub created_date_time: Timestamp,
    pub completed_date_time: Option<Timestamp>,
}

impl Request {
    /// A request that passed validation ([`crate::validate`]), with its resolved stages
    /// (empty: no approval). It starts at once.
    pub fn submit(mut self, now: Timestamp) -> (Request, Vec<Effect>) {
        self.created_date_time = now;
        self.state = RequestState::Submitted;
        self.status = RequestStatus::Accepted;
        let mut effects = Vec::new();
        if self.request_type.is_remove() {
            if let Some(a) = self.assignment_id {
                effects.push(Effect::EndAssignment(a));
            }
            self.finish(RequestState::Delivered, RequestStatus::Delivered, now);
        } else if self.stages.is_empty() {
            self.after_approval(now, &mut effects);
        } else {
            self.start_stage(0, now, &mut effects);
        }
        (self, effects)
    }

    /// The stage under decision, by index.
    pub fn current_stage(&self) -> Option<usize> {
        (self.state == RequestState::PendingApproval).then(|| self.stages.iter().position(|s| s.status == StageStatus::InProgress)).flatten()
    }

    /// An approver's decision on stage `stage` (from 0). The first decision of a stage
    /// wins; a later one is `stage_already_decided` (409).
    pub fn decide(&mut self, stage: usize, approver: ObjectId, approve: bool, justification: &str, now: Timestamp) -> Result<Vec<Effect>, AccessError> {
        let current = self.current_stage();
        let s = self.stages.get_mut(stage).ok_or(AccessError::NoSuchStage { stage: stage + 1 })?;
        if matches!(s.status, StageStatus::Completed | StageStatus::Expired) {
            return Err(AccessError::StageAlreadyDecided { stage: stage + 1 });
        }
        if current != Some(stage) {
            return Err(AccessError::RequestNotPending { state: self.state });
        }
        if !s.may_decide(approver) {
            return Err(AccessError::NotAnApprover { stage: stage + 1 });
        }
        if s.settings.is_approver_justification_required && justification.trim().is_empty() {
            return Err(AccessError::ApproverJustificationRequired { stage: stage + 1 });
        }
        s.status = StageStatus::Completed;
        s.review_result = if approve { ReviewResult::Approved } else { ReviewResult::Denied };
        s.reviewed_by = Some(approver);
        s.reviewed_date_time = Some(now);
        s.justification = justification.trim().to_owned();
        let mut effects = Vec::new();
        if !approve {
            self.finish(RequestState::Denied, RequestStatus::Denied, now);
            effects.push(Effect::Notify(Notice::Denied));
        } else if stage + 1 < self.stages.len() {
            self.start_stage(stage + 1, now, &mut effects);
        } else {
            effects.push(Effect::Notify(Notice::Approved));
            self.after_approval(now, &mut effects);
        }
        Ok(effects)
    }

    /// What the clock brings at `now`: escalation, automatic denial, a scheduled start.
    /// Idempotent: a second call at the same time does nothing more.
    pub fn tick(&mut self, now: Timestamp) -> Vec<Effect> {
        let mut effects = Vec::new();
        match self.state {
            RequestState::PendingApproval => {
                let Some(i) = self.current_stage() else { return effects };
                let Some(s) = self.stages.get_mut(i) else { return effects };
                if s.denied_at().is_some_and(|t| t <= now) {
                    s.status = StageStatus::Expired;
                    let approvers = s.approvers.union(&s.escalation_approvers).copied().collect();
                    self.finish(RequestState::Denied, RequestStatus::Expired, now);
                    effects.push(Effect::Notify(Notice::Expired { approvers }));
                } else if s.escalates_at().is_some_and(|t| t <= now) {
                    s.escalated = Some(now);
                    effects.push(Effect::Notify(Notice::Escalated { stage: i + 1, approvers: s.escalation_approvers.clone() }));
                    self.status = RequestStatus::PendingApprovalEscalated;
                }
            }
            RequestState::Scheduled if self.schedule.start_date_time <= now => {
                self.state = RequestState::Delivering;
                self.status = RequestStatus::Delivering;
                effects.push(Effect::Deliver);
            }
            _ => {}
        }
        effects
    }

    /// When the clock next has something to do for this request, if ever. A scheduler
    /// finds due requests by this time, stored beside the request.
    pub fn next_due(&self) -> Option<Timestamp> {
        match self.state {
            RequestState::PendingApproval => {
                let s = self.stages.get(self.current_stage()?)?;
                [s.escalates_at(), s.denied_at()].into_iter().flatten().min()
            }
            RequestState::Scheduled => Some(self.schedule.start_date_time),
            _ => None,
        }
    }

    /// Cancels a request not yet delivered (by its requestor or an admin).
    pub fn cancel(&mut self, now: Timestamp) -> Result<(), AccessError> {
        if !matches!(self.state, RequestState::Submitted | RequestState::PendingApproval | RequestState::Scheduled) {
            return Err(AccessError::RequestNotCancelable { state: self.state });
        }
        for s in &mut self.stages {
            if s.status == StageStatus::InProgress {
                s.status = StageStatus::Expired;
            }
        }
        self.finish(RequestState::Canceled, RequestStatus::Canceled, now);
        Ok(())
    }

    /// The result of a delivery the caller carried out.
    pub fn delivered(&mut self, outcome: Delivery, assignment: AssignmentId, now: Timestamp) -> Result<Vec<Effect>, AccessError> {
        if self.state != RequestState::Delivering {
            return Err(AccessError::RequestNotDelivering { state: self.state });
        }
        self.assignment_id = Some(assignment);
        let (state, status) = match outcome {
            Delivery::Delivered => (RequestState::Delivered, RequestStatus::Delivered),
            Delivery::Partial => (RequestState::PartiallyDelivered, RequestStatus::PartiallyDelivered),
            Delivery::Failed => (RequestState::DeliveryFailed, RequestStatus::DeliveryFailed),
        };
        self.finish(state, status, now);
        Ok(if outcome == Delivery::Failed { Vec::new() } else { vec![Effect::Notify(Notice::AccessGranted)] })
    }

    /// Delivers again a request whose delivery failed in part or whole, within
    /// [`REPROCESS_WINDOW`] of its completion.
    pub fn reprocess(&mut self, now: Timestamp) -> Result<Vec<Effect>, AccessError> {
        let recent = self.completed_date_time.is_some_and(|c| now < REPROCESS_WINDOW.after(c));
        if !matches!(self.state, RequestState::DeliveryFailed | RequestState::PartiallyDelivered) || !recent {
            return Err(AccessError::RequestNotReprocessable { state: self.state });
        }
        self.state = RequestState::Delivering;
        self.status = RequestStatus::Delivering;
        self.completed_date_time = None;
        Ok(vec![Effect::Deliver])
    }

    fn start_stage(&mut self, i: usize, now: Timestamp, effects: &mut Vec<Effect>) {
        self.state = RequestState::PendingApproval;
        self.status = RequestStatus::PendingApproval;
        if let Some(s) = self.stages.get_mut(i) {
            s.status = StageStatus::InProgress;
            s.started = Some(now);
            effects.push(Effect::Notify(Notice::ApprovalRequired { stage: i + 1, approvers: s.approvers.clone() }));
        }
    }

    fn after_approval(&mut self, now: Timestamp, effects: &mut Vec<Effect>) {
        if self.schedule.start_date_time > now {
            self.state = RequestState::Scheduled;
            self.status = RequestStatus::PendingNotBefore;
        } else {
            self.state = RequestState::Delivering;
            self.status = RequestStatus::Delivering;
            effects.push(Effect::Deliver);
        }
    }

    fn finish(&mut self, state: RequestState, status: RequestStatus, now: Timestamp) {
        self.state = state;
        self.status = status;
        self.completed_date_time = Some(now);
    }
}
