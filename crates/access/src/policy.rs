//! Assignment policies: who may request an access package, with which answers, approved
//! by whom, for how long, and reviewed how often. Graph's `accessPackageAssignmentPolicy`.
use crate::{ConnectedOrgId, IsoDuration, PackageId, PolicyId};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tenantsync_domain::ObjectId;

/// Who the policy is for (Graph's `allowedTargetScope`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TargetScope {
    /// No one requests; admins assign directly.
    #[default]
    NotSpecified,
    /// The users and groups in `specificAllowedTargets`.
    SpecificDirectoryUsers,
    /// Every member of the tenant, guests excluded.
    AllMemberUsers,
    /// Everyone in the tenant, guests included.
    AllDirectoryUsers,
    /// People of the connected organizations in `specificAllowedTargets`.
    SpecificConnectedOrganizationUsers,
    /// People of every *configured* connected organization.
    AllConfiguredConnectedOrganizationUsers,
    /// Anyone from outside: connected organizations, and people of no known organization
    /// (a *proposed* organization is made for them when they are approved).
    AllExternalUsers,
    #[serde(other)]
    UnknownFutureValue,
}

impl TargetScope {
    /// Whether the scope is for people from outside the tenant (a policy is for one side).
    pub fn is_external(self) -> bool {
        matches!(self, TargetScope::SpecificConnectedOrganizationUsers | TargetScope::AllConfiguredConnectedOrganizationUsers | TargetScope::AllExternalUsers)
    }

    /// Entra's strictness category when several policies admit a requestor: only the
    /// policies of the strictest category present are offered (1 is strictest). `None`:
    /// the scope admits no requestor.
    pub fn category(self) -> Option<u8> {
        match self {
            TargetScope::SpecificDirectoryUsers | TargetScope::SpecificConnectedOrganizationUsers => Some(1),
            TargetScope::AllMemberUsers => Some(2),
            TargetScope::AllDirectoryUsers => Some(3),
            TargetScope::AllConfiguredConnectedOrganizationUsers | TargetScope::AllExternalUsers => Some(4),
            TargetScope::NotSpecified | TargetScope::UnknownFutureValue => None,
        }
    }
}

/// A set of people, resolved when it is used (Graph's `subjectSet`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "@odata.type")]
pub enum SubjectSet {
    #[serde(rename = "#microsoft.graph.singleUser", rename_all = "camelCase")]
    SingleUser { user_id: ObjectId },
    #[serde(rename = "#microsoft.graph.groupMembers", rename_all = "camelCase")]
    GroupMembers { group_id: ObjectId },
    /// The requestor's manager (level 1) or their manager's manager (level 2).
    #[serde(rename = "#microsoft.graph.requestorManager", rename_all = "camelCase")]
    RequestorManager {
        #[serde(default = "one")]
        manager_level: u8,
    },
    /// The internal sponsors of the requestor's connected organization.
    #[serde(rename = "#microsoft.graph.internalSponsors")]
    InternalSponsors {},
    /// The external sponsors of the requestor's connected organization.
    #[serde(rename = "#microsoft.graph.externalSponsors")]
    ExternalSponsors {},
    #[serde(rename = "#microsoft.graph.connectedOrganizationMembers", rename_all = "camelCase")]
    ConnectedOrganizationMembers { connected_organization_id: ConnectedOrgId },
    /// People whose attributes pass a scoping filter of tenantsync's expression
    /// language (`department EQUALS Legal`), for auto-assignment policies.
    #[serde(rename = "#microsoft.graph.attributeRuleMembers", rename_all = "camelCase")]
    AttributeRuleMembers { membership_rule: String },
}

fn one() -> u8 {
    1
}

/// What a requestor may do themselves (Graph's `requestorSettings`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RequestorSettings {
    /// Requests may be made under this policy at all (for a `notSpecified` policy, this
    /// also switches admins' direct assignments through it).
    pub enable_targets_to_self_add_access: bool,
    /// Requestors may extend their assignment.
    pub enable_targets_to_self_update_access: bool,
    /// Requestors may give their assignment up.
    pub enable_targets_to_self_remove_access: bool,
    /// Requestors may ask for their own start and end.
    pub allow_custom_assignment_schedule: bool,
}

/// One approval stage (Graph's `accessPackageApprovalStage`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalStageSettings {
    /// With no decision in this long, the request is denied ("expired").
    pub duration_before_automatic_denial: IsoDuration,
    #[serde(default)]
    pub is_approver_justification_required: bool,
    #[serde(default)]
    pub is_escalation_enabled: bool,
    #[serde(default)]
    pub duration_before_escalation: IsoDuration,
    pub primary_approvers: Vec<SubjectSet>,
    /// Used when the primary approvers resolve to no one (no manager, no sponsor).
    #[serde(default)]
    pub fallback_primary_approvers: Vec<SubjectSet>,
    #[serde(default)]
    pub escalation_approvers: Vec<SubjectSet>,
    #[serde(default)]
    pub fallback_escalation_approvers: Vec<SubjectSet>,
}

/// Approval (Graph's `requestApprovalSettings`): 0 to 3 stages, one after another.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ApprovalSettings {
    pub is_approval_required_for_add: bool,
    pub is_approval_required_for_update: bool,
    pub is_requestor_justification_required: bool,
    pub stages: Vec<ApprovalStageSettings>,
}

/// The most stages a policy may have.
pub const MAX_STAGES: usize = 3;
/// The most policies an access package may have.
pub const MAX_POLICIES: usize = 10;
/// The longest expiry after a number of days Entra allows.
pub const MAX_EXPIRY_DAYS: u64 = 3660;

/// The longest recurrence of access reviews, in months: yearly.
pub const MAX_REVIEW_MONTHS: u8 = 12;

/// When assignments end (Graph's `expirationPattern`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Expiration {
    #[default]
    NoExpiration,
    #[serde(rename_all = "camelCase")]
    AfterDateTime {
        end_date_time: Timestamp,
    },
    AfterDuration {
        duration: IsoDuration,
    },
}

/// What happens to an assignment that no reviewer decided (Graph's `expirationBehavior`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum NoResponse {
    #[default]
    KeepAccess,
    RemoveAccess,
    AcceptAccessRecommendation,
    #[serde(other)]
    UnknownFutureValue,
}

/// Recurring reviews of the policy's assignments (Graph's `reviewSettings`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewSettings {
    pub is_enabled: bool,
    /// The first review starts then; the next ones every `recurrence_months`.
    pub start_date_time: Timestamp,
    /// How often: 1 (monthly), 3 (quarterly), 6, 12 (annually).
    pub recurrence_months: u8,
    /// How long each review is open.
    pub duration: IsoDuration,
    #[serde(default)]
    pub is_self_review: bool,
    #[serde(default)]
    pub primary_reviewers: Vec<SubjectSet>,
    #[serde(default)]
    pub fallback_reviewers: Vec<SubjectSet>,
    #[serde(default)]
    pub expiration_behavior: NoResponse,
    #[serde(default = "yes")]
    pub is_recommendation_enabled: bool,
    #[serde(default = "yes")]
    pub is_reviewer_justification_required: bool,
}

fn yes() -> bool {
    true
}

/// An auto-assignment policy: everyone who passes the rule is assigned, and removed
/// (after a grace period) when they stop passing (Graph's `automaticRequestSettings`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AutomaticRequestSettings {
    pub request_access_for_allowed_targets: bool,
    pub remove_access_when_target_leaves_allowed_targets: bool,
    pub grace_period_before_access_removal: IsoDuration,
}

/// A question a requestor answers (Graph's `accessPackageQuestion` subtypes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "@odata.type")]
pub enum Question {
    #[serde(rename = "#microsoft.graph.accessPackageTextInputQuestion", rename_all = "camelCase")]
    Text {
        id: String,
        text: String,
        #[serde(default)]
        is_required: bool,
        /// The whole answer must match it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        regex_pattern: Option<String>,
    },
    #[serde(rename = "#microsoft.graph.accessPackageMultipleChoiceQuestion", rename_all = "camelCase")]
    Choice {
        id: String,
        text: String,
        #[serde(default)]
        is_required: bool,
        choices: Vec<String>,
    },
}

impl Question {
    pub fn id(&self) -> &str {
        match self {
            Question::Text { id, .. } | Question::Choice { id, .. } => id,
        }
    }

    pub fn is_required(&self) -> bool {
        match self {
            Question::Text { is_required, .. } | Question::Choice { is_required, .. } => *is_required,
        }
    }
}

/// One of an access package's policies (at most [`MAX_POLICIES`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignmentPolicy {
    pub id: PolicyId,
    pub access_package_id: PackageId,
    pub display_name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub allowed_target_scope: TargetScope,
    #[serde(default)]
    pub specific_allowed_targets: Vec<SubjectSet>,
    #[serde(default)]
    pub requestor_settings: RequestorSettings,
    #[serde(default)]
    pub request_approval_settings: ApprovalSettings,
    #[serde(default)]
    pub expiration: Expiration,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_settings: Option<ReviewSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automatic_request_settings: Option<AutomaticRequestSettings>,
    #[serde(default)]
    pub questions: Vec<Question>,
}

impl AssignmentPolicy {
    /// Whether a request of `kind` needs approval under this policy.
    pub fn needs_approval(&self, kind: crate::RequestType) -> bool {
        let a = &self.request_approval_settings;
        let wanted = match kind {
            crate::RequestType::UserAdd => a.is_approval_required_for_add,
            crate::RequestType::UserUpdate => a.is_approval_required_for_update,
            _ => false,
        };
        wanted && !a.stages.is_empty()
    }

    /// The latest end an assignment that starts at `start` may have; `None`: no limit.
    pub fn latest_end(&self, start: Timestamp) -> Option<Timestamp> {
        match self.expiration {
            Expiration::NoExpiration => None,
            Expiration::AfterDateTime { end_date_time } => Some(end_date_time),
            Expiration::AfterDuration { duration } => Some(duration.after(start)),
        }
    }

    /// The settings' own consistency, checked when a policy is written: Entra's limits
    /// (3 stages, 3,660 days, one side of the tenant per policy), approval stages when
    /// approval is required, targets that match the scope.
    pub fn check(&self) -> Result<(), crate::AccessError> {
        let bad = |reason: String| Err(crate::AccessError::InvalidPolicy { policy: self.display_name.clone(), reason });
        let a = &self.request_approval_settings;
        if a.stages.len() > MAX_STAGES {
            return bad(format!("{} approval stages; at most {MAX_STAGES}", a.stages.len()));
        }
        if (a.is_approval_required_for_add || a.is_approval_required_for_update) && a.stages.is_empty() {
            return bad("approval is required but there is no approval stage".into());
        }
        for (i, stage) in a.stages.iter().enumerate() {
            if stage.primary_approvers.is_empty() {
                return bad(format!("approval stage {} has no primary approvers", i + 1));
            }
            if stage.duration_before_automatic_denial.is_zero() {
                return bad(format!("approval stage {} has no time before automatic denial", i + 1));
            }
            if stage.is_escalation_enabled && stage.escalation_approvers.is_empty() {
                return bad(format!("approval stage {} escalates to no one", i + 1));
            }
            if stage.is_escalation_enabled && stage.duration_before_escalation >= stage.duration_before_automatic_denial {
                return bad(format!("approval stage {} escalates only after it is denied automatically", i + 1));
            }
        }
        if let Expiration::AfterDuration { duration } = self.expiration
            && (duration.is_zero() || duration > IsoDuration::days(MAX_EXPIRY_DAYS))
        {
            return bad(format!("assignments must last more than 0 and at most {MAX_EXPIRY_DAYS} days"));
        }
        if let Some(r) = &self.review_settings {
            if !(1..=MAX_REVIEW_MONTHS).contains(&r.recurrence_months) {
                return bad(format!("reviews recur every 1 to {MAX_REVIEW_MONTHS} months, not every {}", r.recurrence_months));
            }
            if r.duration.as_seconds() < 86_400 {
                return bad("each review lasts at least a day".into());
            }
            if r.is_enabled && !r.is_self_review && r.primary_reviewers.is_empty() {
                return bad("reviews are on but name no reviewers (nor self-review)".into());
            }
        }
        let external = self.allowed_target_scope.is_external();
        for target in &self.specific_allowed_targets {
            let fits = match target {
                SubjectSet::ConnectedOrganizationMembers { .. } => self.allowed_target_scope == TargetScope::SpecificConnectedOrganizationUsers,
                SubjectSet::SingleUser { .. } | SubjectSet::GroupMembers { .. } | SubjectSet::AttributeRuleMembers { .. } => {
                    self.allowed_target_scope == TargetScope::SpecificDirectoryUsers
                }
                _ => false,
            };
            if !fits {
                return bad(format!("a target of kind {} does not fit the scope {:?}", kind_name(target), self.allowed_target_scope));
            }
        }
        if matches!(self.allowed_target_scope, TargetScope::SpecificDirectoryUsers | TargetScope::SpecificConnectedOrganizationUsers)
            && self.specific_allowed_targets.is_empty()
        {
            return bad("a specific scope without targets admits no one".into());
        }
        if self.automatic_request_settings.is_some()
            && (external || !self.specific_allowed_targets.iter().all(|t| matches!(t, SubjectSet::AttributeRuleMembers { .. })))
        {
            return bad("an auto-assignment policy takes attribute rules of directory users only".into());
        }
        for q in &self.questions {
            if let Question::Text { regex_pattern: Some(p), .. } = q
                && regex::Regex::new(p).is_err()
            {
                return bad(format!("question {} has a pattern that does not compile", q.id()));
            }
        }
        Ok(())
    }
}

fn kind_name(s: &SubjectSet) -> &'static str {
    match s {
        SubjectSet::SingleUser { .. } => "singleUser",
        SubjectSet::GroupMembers { .. } => "groupMembers",
        SubjectSet::RequestorManager { .. } => "requestorManager",
        SubjectSet::InternalSponsors {} => "internalSponsors",
        SubjectSet::ExternalSponsors {} => "externalSponsors",
        SubjectSet::ConnectedOrganizationMembers { .. } => "connectedOrganizationMembers",
        SubjectSet::AttributeRuleMembers { .. } => "attributeRuleMembers",
    }
}
