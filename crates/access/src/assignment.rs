//! Assignments (Graph's `accessPackageAssignment`), what they grant, and what happens to a
//! guest when their last one ends.
//!
//! Grants are counted, not toggled: a person holds a resource role exactly when some
//! active assignment of theirs grants it, so an assignment that ends takes away only the
//! roles no other assignment still grants ([`grants`], [`GrantDiff`]).
use crate::{AccessPackage, AssignmentId, IsoDuration, PackageId, PolicyId, ResourceRole, Schedule};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use tenantsync_domain::ObjectId;

/// Reminders before an assignment that may be extended ends: 14 days and 1 day before.
pub const REMINDERS: [IsoDuration; 2] = [IsoDuration::days(14), IsoDuration::days(1)];

/// Where an assignment stands (Graph's `state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AssignmentState {
    Delivering,
    PartiallyDelivered,
    Delivered,
    Expired,
    DeliveryFailed,
    #[serde(other)]
    UnknownFutureValue,
}

/// An assignment of an access package to a person (a user of the tenant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Assignment {
    pub id: AssignmentId,
    pub access_package_id: PackageId,
    pub assignment_policy_id: PolicyId,
    pub target: ObjectId,
    pub state: AssignmentState,
    pub schedule: Schedule,
    pub expired_date_time: Option<Timestamp>,
    /// How many of [`REMINDERS`] were sent for the current end.
    pub reminders_sent: u8,
    /// The target is a guest entitlement management made (or took over): when their last
    /// assignment ends, the external user lifecycle applies to them.
    #[serde(default)]
    pub governed: bool,
}

/// What the clock brings to an assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignmentEvent {
    /// A reminder that it ends at `end` (only for assignments their holder may extend).
    EndsSoon { end: Timestamp },
    /// It reached its end: it is expired; take its roles away.
    Ended,
}

impl Assignment {
    /// Whether it grants its roles at `now`.
    pub fn is_active(&self, now: Timestamp) -> bool {
        matches!(self.state, AssignmentState::Delivering | AssignmentState::Delivered | AssignmentState::PartiallyDelivered)
            && self.schedule.start_date_time <= now
            && self.schedule.end_date_time.is_none_or(|e| now < e)
    }

    /// Ends it now (a removal, a review's denial, a rule no longer met).
    pub fn end(&mut self, now: Timestamp) {
        self.state = AssignmentState::Expired;
        self.expired_date_time = Some(now);
        if self.schedule.end_date_time.is_none_or(|e| e > now) {
            self.schedule.end_date_time = Some(now);
        }
    }

    /// Gives it a new end (an extension); its reminders start over.
    pub fn extend(&mut self, end: Option<Timestamp>) {
        self.schedule.end_date_time = end;
        self.reminders_sent = 0;
    }

    /// What is due at `now`. `extendable`: its policy lets holders extend (only then are
    /// reminders sent, as Entra does). Idempotent.
    pub fn tick(&mut self, now: Timestamp, extendable: bool) -> Vec<AssignmentEvent> {
        let mut events = Vec::new();
        let Some(end) = self.schedule.end_date_time else { return events };
        if self.state == AssignmentState::Expired {
            return events;
        }
        if end <= now {
            self.end(now);
            events.push(AssignmentEvent::Ended);
            return events;
        }
        let due = REMINDERS.iter().filter(|r| r.before(end) <= now).count();
        let due = u8::try_from(due).unwrap_or(u8::MAX);
        if extendable && due > self.reminders_sent {
            events.push(AssignmentEvent::EndsSoon { end });
        }
        self.reminders_sent = self.reminders_sent.max(due);
        events
    }

    /// When the clock next has something to do for it.
    pub fn next_due(&self, extendable: bool) -> Option<Timestamp> {
        let end = self.schedule.end_date_time.filter(|_| self.state != AssignmentState::Expired)?;
        let reminder = REMINDERS.get(usize::from(self.reminders_sent)).filter(|_| extendable).map(|r| r.before(end));
        Some(reminder.map_or(end, |r| r.min(end)))
    }
}

/// What a set of assignments grants: each person's resource roles.
pub fn grants<'a>(
    assignments: impl IntoIterator<Item = &'a Assignment>,
    packages: &BTreeMap<PackageId, AccessPackage>,
    now: Timestamp,
) -> BTreeSet<(ObjectId, ResourceRole)> {
    assignments
        .into_iter()
        .filter(|a| a.is_active(now))
        .filter_map(|a| packages.get(&a.access_package_id).map(|p| (a.target, p)))
        .flat_map(|(who, p)| p.roles.iter().map(move |r| (who, *r)))
        .collect()
}

/// The roles to grant and to take away to go from what is held to what is wanted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GrantDiff {
    pub grant: BTreeSet<(ObjectId, ResourceRole)>,
    pub revoke: BTreeSet<(ObjectId, ResourceRole)>,
}

impl GrantDiff {
    pub fn between(held: &BTreeSet<(ObjectId, ResourceRole)>, wanted: &BTreeSet<(ObjectId, ResourceRole)>) -> GrantDiff {
        GrantDiff { grant: wanted.difference(held).copied().collect(), revoke: held.difference(wanted).copied().collect() }
    }

    pub fn is_empty(&self) -> bool {
        self.grant.is_empty() && self.revoke.is_empty()
    }
}

/// What happens to a guest whose last assignment ended (Graph's
/// `externalUserLifecycleAction`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum LifecycleAction {
    None,
    BlockSignIn,
    #[default]
    BlockSignInAndDelete,
    #[serde(other)]
    UnknownFutureValue,
}

/// The tenant's external user lifecycle (and a connected organization's override).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalUserLifecycle {
    pub external_user_lifecycle_action: LifecycleAction,
    pub duration_until_external_user_deleted_after_blocked: IsoDuration,
}

impl Default for ExternalUserLifecycle {
    /// Entra's default: block sign-in, delete 30 days later.
    fn default() -> Self {
        ExternalUserLifecycle {
            external_user_lifecycle_action: LifecycleAction::BlockSignInAndDelete,
            duration_until_external_user_deleted_after_blocked: IsoDuration::days(30),
        }
    }
}

/// What to do to a governed guest whose last assignment ended at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuestPlan {
    /// Block sign-in now.
    pub block: bool,
    /// Delete then.
    pub delete_at: Option<Timestamp>,
}

impl ExternalUserLifecycle {
    pub fn plan(&self, now: Timestamp) -> GuestPlan {
        match self.external_user_lifecycle_action {
            LifecycleAction::BlockSignIn => GuestPlan { block: true, delete_at: None },
            LifecycleAction::BlockSignInAndDelete => {
                GuestPlan { block: true, delete_at: Some(self.duration_until_external_user_deleted_after_blocked.after(now)) }
            }
            LifecycleAction::None | LifecycleAction::UnknownFutureValue => GuestPlan { block: false, delete_at: None },
        }
    }
}
