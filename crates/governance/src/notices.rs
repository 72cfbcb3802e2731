//! Notifications: each event of the reference's §4.7 as an outbox message (the users it
//! goes to, or the mail of someone with no account yet, a subject and a plain body).
use jiff::Timestamp;
use tenantsync_access::{Assignment, Notice, Request};
use tenantsync_domain::ObjectId;
use tenantsync_store::OutboxMessage;

/// The users a notice about `request` goes to.
pub(crate) fn recipients_of(request: &Request, notice: &Notice) -> Vec<ObjectId> {
    match notice {
        Notice::ApprovalRequired { approvers, .. } | Notice::Escalated { approvers, .. } => approvers.iter().copied().collect(),
        Notice::Expired { approvers } => request.requestor.into_iter().chain(approvers.iter().copied()).collect(),
        Notice::Approved | Notice::Denied | Notice::AccessGranted => request.requestor.into_iter().collect(),
    }
}

fn event(notice: &Notice) -> &'static str {
    match notice {
        Notice::ApprovalRequired { .. } => "approvalRequired",
        Notice::Escalated { .. } => "approvalEscalated",
        Notice::Approved => "requestApproved",
        Notice::Denied => "requestDenied",
        Notice::Expired { .. } => "requestExpired",
        Notice::AccessGranted => "accessGranted",
    }
}

fn subject(notice: &Notice) -> String {
    match notice {
        Notice::ApprovalRequired { stage, .. } => format!("Action required: approve or deny a request (stage {stage})"),
        Notice::Escalated { stage, .. } => format!("Action required: a request was forwarded to you (stage {stage})"),
        Notice::Approved => "Your request was approved".into(),
        Notice::Denied => "Your request was denied".into(),
        Notice::Expired { .. } => "A request expired without a decision; submit it again if it is still needed".into(),
        Notice::AccessGranted => "You now have access".into(),
    }
}

/// The message of `notice` about `request`.
pub(crate) fn message(request: &Request, notice: &Notice, recipients: Vec<ObjectId>, now: Timestamp) -> OutboxMessage {
    // Someone from outside with no guest yet is written to at their mail.
    let to_requestor = matches!(notice, Notice::Approved | Notice::Denied | Notice::Expired { .. } | Notice::AccessGranted);
    let addresses = match (&request.external, request.requestor, to_requestor) {
        (Some(x), None, true) => vec![x.email.clone()],
        _ => Vec::new(),
    };
    let body = format!("access package {}, request {} ({:?})", request.access_package_id, request.id, request.request_type);
    OutboxMessage {
        id: ObjectId::new(),
        created: now,
        event: event(notice).into(),
        recipients,
        addresses,
        subject: subject(notice),
        body,
        attempts: 0,
        next_attempt: now,
        delivered: None,
    }
}

/// A message about an assignment: it ends soon (with the end), or it ended.
pub(crate) fn assignment_message(assignment: &Assignment, event: &'static str, subject: String, now: Timestamp) -> OutboxMessage {
    OutboxMessage {
        id: ObjectId::new(),
        created: now,
        event: event.into(),
        recipients: vec![assignment.target],
        addresses: Vec::new(),
        subject,
        body: format!("access package {}, assignment {}", assignment.access_package_id, assignment.id),
        attempts: 0,
        next_attempt: now,
        delivered: None,
    }
}

/// The outbox messages of the notices among `effects` of a transition of `request`.
pub(crate) fn of_effects(request: &Request, effects: &[tenantsync_access::Effect], now: Timestamp) -> Vec<OutboxMessage> {
    effects
        .iter()
        .filter_map(|e| match e {
            tenantsync_access::Effect::Notify(n) => Some(message(request, n, recipients_of(request, n), now)),
            _ => None,
        })
        .collect()
}
