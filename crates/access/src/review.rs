//! Access reviews of a policy's assignments (reference §5): an instance opens on the
//! policy's schedule with one decision item per active assignment, reviewers decide
//! until it closes (the last decision wins; "don't know" keeps access), and at the close
//! every item gets its outcome: a decision, or for no decision the policy's
//! `expirationBehavior` (keep, remove, or follow the recommendation). Removals are then
//! `systemRemove` requests made by the caller.
use crate::{AccessError, Assignment, AssignmentId, IsoDuration, NoResponse, PackageId, People, PolicyId, Requestor, ReviewSettings, Standing, resolve_sets};
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use tenantsync_domain::{ObjectId, uuid_id};

uuid_id!(
    /// The id of an access review instance.
    ReviewId
);

/// How far back activity counts for a recommendation.
pub const LOOK_BACK: IsoDuration = IsoDuration::days(30);

/// A reviewer's decision (Graph's `decision`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReviewDecision {
    #[default]
    NotReviewed,
    Approve,
    Deny,
    DontKnow,
}

/// What the data suggests (Graph's `recommendation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Recommendation {
    Approve,
    Deny,
    NoInfoAvailable,
}

/// An instance's status (Graph's `accessReviewInstance.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReviewStatus {
    InProgress,
    Completed,
}

/// What is known of a person's activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    /// No activity data is kept for them: no recommendation.
    Unknown,
    /// Their last sign-in or activity, `None` for never.
    Last(Option<Timestamp>),
}

/// The outcome of one item at the close.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    Keep,
    Remove,
}

/// One assignment under review (Graph's `accessReviewInstanceDecisionItem`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DecisionItem {
    pub assignment_id: AssignmentId,
    pub principal: ObjectId,
    pub reviewers: BTreeSet<ObjectId>,
    pub decision: ReviewDecision,
    pub justification: String,
    pub reviewed_by: Option<ObjectId>,
    pub reviewed_date_time: Option<Timestamp>,
    pub recommendation: Recommendation,
    /// Set at the close.
    pub outcome: Option<Outcome>,
}

/// One recurrence of a policy's review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewInstance {
    pub id: ReviewId,
    pub assignment_policy_id: PolicyId,
    pub access_package_id: PackageId,
    pub start_date_time: Timestamp,
    pub end_date_time: Timestamp,
    pub status: ReviewStatus,
    pub expiration_behavior: NoResponse,
    pub is_reviewer_justification_required: bool,
    pub decisions: Vec<DecisionItem>,
}

impl ReviewSettings {
    /// The start of the `n`th instance (from 0): the first start plus `n` times the
    /// recurrence, in calendar months (UTC).
    pub fn nth_start(&self, n: u32) -> Timestamp {
        let months = i64::from(n) * i64::from(self.recurrence_months.max(1));
        let span = Span::new().try_months(months).unwrap_or_default();
        self.start_date_time.to_zoned(TimeZone::UTC).checked_add(span).map(|z| z.timestamp()).unwrap_or(Timestamp::MAX)
    }

    /// The instance due at `now` when `opened` instances were opened so far: the start of
    /// the next one once it is reached, `None` before (or when reviews are off).
    pub fn due(&self, opened: u32, now: Timestamp) -> Option<Timestamp> {
        let start = self.nth_start(opened);
        (self.is_enabled && start <= now).then_some(start)
    }
}

/// Opens an instance of `settings` at `start` over the policy's `assignments` that are
/// active then. Reviewers: the person themselves for a self review, else the primary
/// reviewers resolved for that person (their manager, a group, users), or the fallback
/// reviewers when those are no one; never the person under review otherwise.
pub fn open(
    settings: &ReviewSettings,
    policy: PolicyId,
    package: PackageId,
    start: Timestamp,
    assignments: &[Assignment],
    people: &dyn People,
    activity: &dyn Fn(ObjectId) -> Activity,
) -> ReviewInstance {
    let decisions = assignments
        .iter()
        .filter(|a| a.assignment_policy_id == policy && a.is_active(start))
        .map(|a| {
            let as_requestor = Requestor { standing: Standing::Member { user: a.target }, groups: BTreeSet::new(), organization: None };
            let reviewers = if settings.is_self_review {
                BTreeSet::from([a.target])
            } else {
                let primary = resolve_sets(&settings.primary_reviewers, &as_requestor, people);
                if primary.is_empty() { resolve_sets(&settings.fallback_reviewers, &as_requestor, people) } else { primary }
            };
            DecisionItem {
                assignment_id: a.id,
                principal: a.target,
                reviewers,
                decision: ReviewDecision::NotReviewed,
                justification: String::new(),
                reviewed_by: None,
                reviewed_date_time: None,
                recommendation: recommend(settings.is_recommendation_enabled, activity(a.target), start),
                outcome: None,
            }
        })
        .collect();
    ReviewInstance {
        id: ReviewId::new(),
        assignment_policy_id: policy,
        access_package_id: package,
        start_date_time: start,
        end_date_time: settings.duration.after(start),
        status: ReviewStatus::InProgress,
        expiration_behavior: settings.expiration_behavior,
        is_reviewer_justification_required: settings.is_reviewer_justification_required,
        decisions,
    }
}

fn recommend(enabled: bool, activity: Activity, start: Timestamp) -> Recommendation {
    match (enabled, activity) {
        (false, _) | (true, Activity::Unknown) => Recommendation::NoInfoAvailable,
        (true, Activity::Last(Some(t))) if t >= LOOK_BACK.before(start) => Recommendation::Approve,
        (true, Activity::Last(_)) => Recommendation::Deny,
    }
}

impl ReviewInstance {
    /// A reviewer's decision on the item of `assignment`; they may change it until the
    /// instance closes, and the last decision of any reviewer is the one that counts.
    pub fn decide(
        &mut self,
        assignment: AssignmentId,
        reviewer: ObjectId,
        decision: ReviewDecision,
        justification: &str,
        now: Timestamp,
    ) -> Result<(), AccessError> {
        if self.status != ReviewStatus::InProgress || now >= self.end_date_time {
            return Err(AccessError::ReviewClosed);
        }
        let item = self.decisions.iter_mut().find(|d| d.assignment_id == assignment).ok_or(AccessError::NoSuchDecision)?;
        if !item.reviewers.contains(&reviewer) {
            return Err(AccessError::NotAReviewer);
        }
        if decision == ReviewDecision::NotReviewed {
            return Err(AccessError::InvalidDecision);
        }
        if self.is_reviewer_justification_required && decision == ReviewDecision::Approve && justification.trim().is_empty() {
            return Err(AccessError::ReviewerJustificationRequired);
        }
        item.decision = decision;
        item.justification = justification.trim().to_owned();
        item.reviewed_by = Some(reviewer);
        item.reviewed_date_time = Some(now);
        Ok(())
    }

    /// Closes the instance once its end is reached (or at once when `stop`), giving each
    /// item its outcome; returns the assignments to remove. Idempotent.
    pub fn close(&mut self, now: Timestamp, stop: bool) -> Vec<AssignmentId> {
        if self.status == ReviewStatus::Completed || (!stop && now < self.end_date_time) {
            return Vec::new();
        }
        self.status = ReviewStatus::Completed;
        let behavior = self.expiration_behavior;
        let mut removed = Vec::new();
        for item in &mut self.decisions {
            let outcome = match (item.decision, behavior) {
                (ReviewDecision::Approve | ReviewDecision::DontKnow, _) => Outcome::Keep,
                (ReviewDecision::Deny, _) => Outcome::Remove,
                (ReviewDecision::NotReviewed, NoResponse::RemoveAccess) => Outcome::Remove,
                (ReviewDecision::NotReviewed, NoResponse::AcceptAccessRecommendation) if item.recommendation == Recommendation::Deny => Outcome::Remove,
                (ReviewDecision::NotReviewed, _) => Outcome::Keep,
            };
            item.outcome = Some(outcome);
            if outcome == Outcome::Remove {
                removed.push(item.assignment_id);
            }
        }
        removed
    }
}
