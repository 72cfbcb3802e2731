//! Approval stages: who may decide (resolved when the request is submitted, so a request
//! no one could approve is refused at once instead of expiring unseen), the first decision
//! wins, escalation and automatic denial by the clock.
use crate::{AccessError, ApprovalStageSettings, Requestor, SubjectSet};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use tenantsync_domain::ObjectId;

/// What the rules ask of the directory to resolve approvers.
pub trait People {
    /// The user's manager, if any.
    fn manager(&self, user: ObjectId) -> Option<ObjectId>;
    /// The group's members (users).
    fn group_members(&self, group: ObjectId) -> Vec<ObjectId>;
}

/// A stage's result (Graph's `reviewResult`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReviewResult {
    #[default]
    NotReviewed,
    Approved,
    Denied,
}

/// Where a stage stands (Graph's approval stage `status`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum StageStatus {
    /// A later stage, not started yet.
    #[default]
    Initializing,
    InProgress,
    Completed,
    /// No decision came in time: the request was denied automatically.
    Expired,
}

/// One stage of a request's approval, with its approvers and deadlines fixed when the
/// request was submitted (a policy edited later does not change a pending request).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stage {
    pub approvers: BTreeSet<ObjectId>,
    pub escalation_approvers: BTreeSet<ObjectId>,
    pub settings: ApprovalStageSettings,
    pub started: Option<Timestamp>,
    pub escalated: Option<Timestamp>,
    pub status: StageStatus,
    pub review_result: ReviewResult,
    pub reviewed_by: Option<ObjectId>,
    pub reviewed_date_time: Option<Timestamp>,
    pub justification: String,
}

impl Stage {
    /// The stage of `settings` for `requestor`: primary approvers (or the fallback ones
    /// when the primary resolve to no one), escalation approvers likewise; never the
    /// requestor. `number` counts from 1 (for the error).
    pub fn resolve(number: usize, settings: &ApprovalStageSettings, requestor: &Requestor<'_>, people: &dyn People) -> Result<Stage, AccessError> {
        let approvers = first_non_empty(&settings.primary_approvers, &settings.fallback_primary_approvers, requestor, people);
        if approvers.is_empty() {
            return Err(AccessError::NoApprover { stage: number });
        }
        let escalation_approvers = if settings.is_escalation_enabled {
            first_non_empty(&settings.escalation_approvers, &settings.fallback_escalation_approvers, requestor, people)
        } else {
            BTreeSet::new()
        };
        Ok(Stage {
            approvers,
            escalation_approvers,
            settings: settings.clone(),
            started: None,
            escalated: None,
            status: StageStatus::Initializing,
            review_result: ReviewResult::NotReviewed,
            reviewed_by: None,
            reviewed_date_time: None,
            justification: String::new(),
        })
    }

    /// Whether `who` may decide the stage now: one of its approvers, or of its escalation
    /// approvers once it escalated (the primary ones keep the right).
    pub fn may_decide(&self, who: ObjectId) -> bool {
        self.approvers.contains(&who) || (self.escalated.is_some() && self.escalation_approvers.contains(&who))
    }

    /// When the stage escalates, if it will.
    pub fn escalates_at(&self) -> Option<Timestamp> {
        let started = self.started?;
        (self.settings.is_escalation_enabled && self.escalated.is_none() && !self.escalation_approvers.is_empty())
            .then(|| self.settings.duration_before_escalation.after(started))
    }

    /// When the stage is denied automatically.
    pub fn denied_at(&self) -> Option<Timestamp> {
        self.started.map(|s| self.settings.duration_before_automatic_denial.after(s))
    }
}

fn first_non_empty(primary: &[SubjectSet], fallback: &[SubjectSet], requestor: &Requestor<'_>, people: &dyn People) -> BTreeSet<ObjectId> {
    let resolved = resolve_sets(primary, requestor, people);
    if resolved.is_empty() { resolve_sets(fallback, requestor, people) } else { resolved }
}

/// The users `sets` name for `requestor`, the requestor left out.
pub fn resolve_sets(sets: &[SubjectSet], requestor: &Requestor<'_>, people: &dyn People) -> BTreeSet<ObjectId> {
    let mut out = BTreeSet::new();
    for set in sets {
        match set {
            SubjectSet::SingleUser { user_id } => {
                out.insert(*user_id);
            }
            SubjectSet::GroupMembers { group_id } => out.extend(people.group_members(*group_id)),
            SubjectSet::RequestorManager { manager_level } => {
                let mut at = requestor.user();
                for _ in 0..(*manager_level).max(1) {
                    at = at.and_then(|u| people.manager(u));
                }
                out.extend(at);
            }
            SubjectSet::InternalSponsors {} => out.extend(requestor.organization.iter().flat_map(|o| o.internal_sponsors.iter().copied())),
            SubjectSet::ExternalSponsors {} => out.extend(requestor.organization.iter().flat_map(|o| o.external_sponsors.iter().copied())),
            // Sets of requestors, not of approvers.
            SubjectSet::ConnectedOrganizationMembers { .. } | SubjectSet::AttributeRuleMembers { .. } => {}
        }
    }
    if let Some(me) = requestor.user() {
        out.remove(&me);
    }
    out
}
