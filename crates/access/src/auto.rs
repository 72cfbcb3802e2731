//! Auto-assignment policies (reference §3.10): everyone who passes the policy's rule is
//! assigned, and someone who stops passing loses the assignment after the grace period,
//! unless they pass again before it ends. Evaluated on every change of the tenant's feed.
use crate::AutomaticRequestSettings;
use jiff::Timestamp;

/// What an auto-assignment policy wants done for one person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoAction {
    /// Assign them (a `systemAdd` request).
    Assign,
    /// Remove their assignment at this time unless they pass again by then.
    RemoveAt(Timestamp),
    /// They pass again: forget the pending removal.
    CancelRemoval,
    /// Remove it now (a `systemRemove` request).
    Remove,
    Nothing,
}

/// The action for a person who `passes` the rule (or not), who holds an assignment of
/// the policy (`assigned`), with a removal pending at `removal_at`, if any.
pub fn auto_action(settings: &AutomaticRequestSettings, passes: bool, assigned: bool, removal_at: Option<Timestamp>, now: Timestamp) -> AutoAction {
    match (passes, assigned, removal_at) {
        (true, false, _) if settings.request_access_for_allowed_targets => AutoAction::Assign,
        (true, true, Some(_)) => AutoAction::CancelRemoval,
        (false, true, _) if !settings.remove_access_when_target_leaves_allowed_targets => AutoAction::Nothing,
        (false, true, Some(at)) if at <= now => AutoAction::Remove,
        (false, true, None) if settings.grace_period_before_access_removal.is_zero() => AutoAction::Remove,
        (false, true, None) => AutoAction::RemoveAt(settings.grace_period_before_access_removal.after(now)),
        _ => AutoAction::Nothing,
    }
}
