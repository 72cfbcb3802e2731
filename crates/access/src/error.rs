//! Entitlement management's errors: one row each in the table below (code, HTTP status,
//! meaning), so a refusal is typed and says which requirement failed.
use crate::{AssignmentId, PackageId, RequestState, ScopeMiss};
use jiff::Timestamp;
use tenantsync_domain::{ObjectId, error_table};
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AccessError {
    #[error("invalid duration '{value}': {reason}")]
    InvalidDuration { value: String, reason: &'static str },
    #[error("policy '{policy}': {reason}")]
    InvalidPolicy { policy: String, reason: String },
    #[error("the policy is not one of the access package's policies")]
    PolicyNotOfPackage,
    #[error("policy '{policy}' does not admit the requestor: {reason}")]
    NotInPolicyScope { policy: String, reason: ScopeMiss },
    #[error("policy '{policy}' is not offered to the requestor: the stricter policy '{stricter}' applies")]
    StricterPolicyApplies { policy: String, stricter: String },
    #[error("the requestor holds access package {package}, which is incompatible with this one")]
    IncompatiblePackage { package: PackageId },
    #[error("the requestor is a member of group {group}, which is incompatible with this access package")]
    IncompatibleGroup { group: ObjectId },
    #[error("the requestor already has assignment {assignment} of this access package; extend it instead")]
    AlreadyAssigned { assignment: AssignmentId },
    #[error("the requestor has no active assignment of this access package")]
    NoActiveAssignment,
    #[error("the policy does not let requestors extend their access")]
    ExtensionNotAllowed,
    #[error("the policy does not let requestors remove their access")]
    SelfRemovalNotAllowed,
    #[error("the policy does not let requestors choose their start or end")]
    CustomScheduleNotAllowed,
    #[error("the policy's assignments end at {latest} at the latest")]
    ScheduleBeyondPolicy { latest: Timestamp },
    #[error("invalid schedule: {reason}")]
    InvalidSchedule { reason: String },
    #[error("question '{question}' must be answered")]
    MissingAnswer { question: String },
    #[error("answer to question '{question}': {reason}")]
    InvalidAnswer { question: String, reason: String },
    #[error("the policy requires a justification")]
    JustificationRequired,
    #[error("no one can approve stage {stage}: its approvers and fallback approvers resolve to no one but the requestor")]
    NoApprover { stage: usize },
    #[error("the request has no stage {stage}")]
    NoSuchStage { stage: usize },
    #[error("not an approver of stage {stage} of this request")]
    NotAnApprover { stage: usize },
    #[error("stage {stage} was already decided")]
    StageAlreadyDecided { stage: usize },
    #[error("stage {stage} requires a justification from the approver")]
    ApproverJustificationRequired { stage: usize },
    #[error("the request is {state:?}, not pending approval of that stage")]
    RequestNotPending { state: RequestState },
    #[error("the request is {state:?}; only a submitted, pending or scheduled request can be canceled")]
    RequestNotCancelable { state: RequestState },
    #[error("the request is {state:?}, not being delivered")]
    RequestNotDelivering { state: RequestState },
    #[error("the request is {state:?}; only a delivery that failed within the last 7 days can be reprocessed")]
    RequestNotReprocessable { state: RequestState },
    #[error("the access review is closed")]
    ReviewClosed,
    #[error("the access review has no decision item for that assignment")]
    NoSuchDecision,
    #[error("not a reviewer of that decision item")]
    NotAReviewer,
    #[error("a decision is Approve, Deny or DontKnow")]
    InvalidDecision,
    #[error("the review requires a justification to approve")]
    ReviewerJustificationRequired,
}

error_table! {
    AccessError {
        InvalidDuration => "invalid_duration", 400, "a duration that is not ISO 8601 days, hours, minutes and seconds (`P14D`, `PT3H`)";
        InvalidPolicy => "invalid_policy", 400, "an assignment policy whose settings contradict each other or Entra's limits";
        PolicyNotOfPackage => "policy_not_of_package", 400, "a request names a policy of another access package";
        NotInPolicyScope => "not_in_policy_scope", 403, "the policy does not admit the requestor; the message says which requirement failed";
        StricterPolicyApplies => "stricter_policy_applies", 403, "a stricter policy of the package admits the requestor, so this one is not offered";
        IncompatiblePackage => "incompatible_access_package", 409, "separation of duties: the requestor holds an incompatible access package";
        IncompatibleGroup => "incompatible_group", 409, "separation of duties: the requestor is in an incompatible group";
        AlreadyAssigned => "already_assigned", 409, "the requestor already holds the package";
        NoActiveAssignment => "no_active_assignment", 409, "an extension or removal of a package the requestor does not hold";
        ExtensionNotAllowed => "extension_not_allowed", 403, "the policy does not let requestors extend";
        SelfRemovalNotAllowed => "self_removal_not_allowed", 403, "the policy does not let requestors remove their access";
        CustomScheduleNotAllowed => "custom_schedule_not_allowed", 400, "a requestor asked for a start or end the policy does not let them choose";
        ScheduleBeyondPolicy => "schedule_beyond_policy", 400, "an end later than the policy's expiration allows";
        InvalidSchedule => "invalid_schedule", 400, "an end before the start, or an extension that does not extend";
        MissingAnswer => "missing_answer", 400, "a required question is not answered";
        InvalidAnswer => "invalid_answer", 400, "an answer to no question, not one of the choices, or not matching the pattern";
        JustificationRequired => "justification_required", 400, "the policy requires a justification";
        NoApprover => "no_approver", 409, "a stage's approvers resolve to no one (no manager, no sponsor, and no fallback)";
        NoSuchStage => "no_such_stage", 404, "a decision on a stage the request does not have";
        NotAnApprover => "not_an_approver", 403, "a decision by someone who is not an approver of the stage (requestors never approve themselves)";
        StageAlreadyDecided => "stage_already_decided", 409, "a second decision on a stage: the first one wins";
        ApproverJustificationRequired => "approver_justification_required", 400, "the stage requires the approver's justification";
        RequestNotPending => "request_not_pending", 409, "a decision on a request that is not awaiting that stage";
        RequestNotCancelable => "request_not_cancelable", 409, "a cancellation of a request that is already being delivered or finished";
        RequestNotDelivering => "request_not_delivering", 409, "a delivery result for a request that is not being delivered";
        RequestNotReprocessable => "request_not_reprocessable", 409, "a reprocess of a request that did not fail, or failed more than 7 days ago";
        ReviewClosed => "review_closed", 409, "a decision on an access review that has closed";
        NoSuchDecision => "no_such_decision", 404, "a decision on an assignment the review does not cover";
        NotAReviewer => "not_a_reviewer", 403, "a decision by someone who is not a reviewer of that item";
        InvalidDecision => "invalid_decision", 400, "a decision other than Approve, Deny or DontKnow";
        ReviewerJustificationRequired => "reviewer_justification_required", 400, "the review requires a justification to approve";
    }
}
