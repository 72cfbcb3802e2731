//! The checks a request passes before it exists (reference §10.3), each refusal typed
//! and naming what failed: the policy belongs to the package and admits the requestor
//! (and is of the strictest category that does), separation of duties, no second active
//! assignment, a schedule within the policy, the required answers and justification, and
//! someone to approve every stage.
use crate::requestor::{Requestor, admits, applicable, in_scope};
use crate::{
    AccessError, AccessPackage, Answer, AssignmentId, AssignmentPolicy, People, PolicyId, Question, Request, RequestId, RequestState, RequestStatus,
    RequestType, Schedule, Stage,
};
use jiff::Timestamp;
use std::collections::BTreeSet;

/// An assignment the requestor holds, as far as the checks go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    pub assignment: AssignmentId,
    pub package: crate::PackageId,
    pub policy: PolicyId,
    /// Its end, if any.
    pub end: Option<Timestamp>,
}

/// A request as asked, before the checks.
#[derive(Debug, Clone)]
pub struct Draft<'a> {
    pub request_type: RequestType,
    pub package: &'a AccessPackage,
    /// Every policy of the package (for the strictness category).
    pub policies: &'a [AssignmentPolicy],
    pub policy: PolicyId,
    pub requestor: &'a Requestor<'a>,
    /// The catalog's "enabled for external users".
    pub externally_visible: bool,
    /// The requestor's active assignments, of every package.
    pub held: &'a [Held],
    /// For updates: the new end asked for; for adds: the start and end asked for.
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
    pub answers: &'a [Answer],
    pub justification: &'a str,
}

/// Checks `draft` and returns the request to [`Request::submit`], or the first reason
/// it cannot be made. Nothing is written by the checks.
pub fn validate(draft: &Draft<'_>, people: &dyn People, now: Timestamp) -> Result<Request, AccessError> {
    let kind = draft.request_type;
    let policy = draft.policies.iter().find(|p| p.id == draft.policy && p.access_package_id == draft.package.id).ok_or(AccessError::PolicyNotOfPackage)?;
    check_scope(draft, policy)?;
    let existing = draft.held.iter().find(|h| h.package == draft.package.id).copied();
    if kind.is_add() {
        check_separation(draft)?;
        if let Some(h) = existing {
            return Err(AccessError::AlreadyAssigned { assignment: h.assignment });
        }
    } else if existing.is_none() {
        return Err(AccessError::NoActiveAssignment);
    }
    if kind == RequestType::UserUpdate && !policy.requestor_settings.enable_targets_to_self_update_access {
        return Err(AccessError::ExtensionNotAllowed);
    }
    if kind == RequestType::UserRemove && !policy.requestor_settings.enable_targets_to_self_remove_access {
        return Err(AccessError::SelfRemovalNotAllowed);
    }
    let schedule = if kind.is_remove() { Schedule { start_date_time: now, end_date_time: Some(now) } } else { schedule(draft, policy, existing, now)? };
    if kind.by_user() && !kind.is_remove() {
        check_answers(&policy.questions, draft.answers)?;
        if policy.request_approval_settings.is_requestor_justification_required && draft.justification.trim().is_empty() {
            return Err(AccessError::JustificationRequired);
        }
    }
    let stages = if policy.needs_approval(kind) {
        let settings = &policy.request_approval_settings.stages;
        settings.iter().enumerate().map(|(i, s)| Stage::resolve(i + 1, s, draft.requestor, people)).collect::<Result<Vec<_>, _>>()?
    } else {
        Vec::new()
    };
    Ok(Request {
        id: RequestId::new(),
        request_type: kind,
        state: RequestState::Submitted,
        status: RequestStatus::Accepted,
        access_package_id: draft.package.id,
        assignment_policy_id: policy.id,
        requestor: draft.requestor.user(),
        external: None,
        assignment_id: existing.filter(|_| !kind.is_add()).map(|h| h.assignment),
        schedule,
        answers: draft.answers.to_vec(),
        justification: draft.justification.trim().to_owned(),
        stages,
        created_date_time: now,
        completed_date_time: None,
    })
}

fn check_scope(draft: &Draft<'_>, policy: &AssignmentPolicy) -> Result<(), AccessError> {
    let miss = |reason| AccessError::NotInPolicyScope { policy: policy.display_name.clone(), reason };
    match draft.request_type {
        RequestType::UserAdd => {
            admits(policy, draft.requestor, draft.externally_visible).map_err(miss)?;
            let offered = applicable(draft.policies, draft.requestor, draft.externally_visible);
            if !offered.iter().any(|p| p.id == policy.id) {
                let stricter = offered.first().map(|p| p.display_name.clone()).unwrap_or_default();
                return Err(AccessError::StricterPolicyApplies { policy: policy.display_name.clone(), stricter });
            }
            Ok(())
        }
        // Admins assign anyone the scope names; a `notSpecified` policy is theirs, when it is enabled.
        RequestType::AdminAdd => {
            if policy.allowed_target_scope == crate::TargetScope::NotSpecified && !policy.requestor_settings.enable_targets_to_self_add_access {
                return Err(miss(crate::ScopeMiss::RequestsNotEnabled));
            }
            in_scope(policy, draft.requestor, true).map_err(miss)
        }
        // Extending needs the requestor still in scope (Entra's rule); removing does not.
        RequestType::UserUpdate => in_scope(policy, draft.requestor, draft.externally_visible).map_err(miss),
        _ => Ok(()),
    }
}

fn check_separation(draft: &Draft<'_>) -> Result<(), AccessError> {
    let package = draft.package;
    if let Some(h) = draft.held.iter().find(|h| package.incompatible_packages.contains(&h.package)) {
        return Err(AccessError::IncompatiblePackage { package: h.package });
    }
    if let Some(g) = package.incompatible_groups.intersection(&draft.requestor.groups).next() {
        return Err(AccessError::IncompatibleGroup { group: *g });
    }
    Ok(())
}

fn schedule(draft: &Draft<'_>, policy: &AssignmentPolicy, existing: Option<Held>, now: Timestamp) -> Result<Schedule, AccessError> {
    let bad = |reason: &str| AccessError::InvalidSchedule { reason: reason.to_owned() };
    let ending = |start: Timestamp| match (draft.end, policy.latest_end(start)) {
        (Some(e), Some(latest)) if e > latest => Err(AccessError::ScheduleBeyondPolicy { latest }),
        (Some(e), _) => Ok(Some(e)),
        (None, latest) => Ok(latest),
    };
    if draft.request_type.is_update() {
        let old_end = existing.and_then(|h| h.end).ok_or_else(|| bad("the assignment does not end; there is nothing to extend"))?;
        let end = ending(now)?;
        if end.is_some_and(|e| e <= old_end) {
            return Err(bad("an extension must end later than the assignment does"));
        }
        return Ok(Schedule { start_date_time: now, end_date_time: end });
    }
    let custom = draft.start.is_some() || draft.end.is_some();
    if custom && draft.request_type.by_user() && !policy.requestor_settings.allow_custom_assignment_schedule {
        return Err(AccessError::CustomScheduleNotAllowed);
    }
    let start = draft.start.unwrap_or(now).max(now);
    let end = ending(start)?;
    if end.is_some_and(|e| e <= start) {
        return Err(bad("it ends before it starts"));
    }
    Ok(Schedule { start_date_time: start, end_date_time: end })
}

fn check_answers(questions: &[Question], answers: &[Answer]) -> Result<(), AccessError> {
    let known: BTreeSet<&str> = questions.iter().map(Question::id).collect();
    if let Some(a) = answers.iter().find(|a| !known.contains(a.question_id.as_str())) {
        return Err(AccessError::InvalidAnswer { question: a.question_id.clone(), reason: "no such question".into() });
    }
    for q in questions {
        let answer = answers.iter().find(|a| a.question_id == q.id()).map(|a| a.value.trim()).filter(|v| !v.is_empty());
        let Some(value) = answer else {
            if q.is_required() {
                return Err(AccessError::MissingAnswer { question: q.id().to_owned() });
            }
            continue;
        };
        match q {
            Question::Choice { choices, .. } if !choices.iter().any(|c| c == value) => {
                return Err(AccessError::InvalidAnswer { question: q.id().to_owned(), reason: format!("not one of: {}", choices.join(", ")) });
            }
            Question::Text { regex_pattern: Some(p), .. } => {
                let whole = format!("^(?:{p})$");
                if !regex::Regex::new(&whole).is_ok_and(|r| r.is_match(value)) {
                    return Err(AccessError::InvalidAnswer { question: q.id().to_owned(), reason: format!("does not match {p}") });
                }
            }
            _ => {}
        }
    }
    Ok(())
}
