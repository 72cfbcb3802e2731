//! Who is asking, and which of a package's policies admit them: Entra's scopes
//! (`allowedTargetScope`), its strictness categories, and a typed reason when no
//! policy admits someone (instead of "you don't meet policy requirements").
use crate::{AssignmentPolicy, ConnectedOrgState, ConnectedOrganization, Home, SubjectSet, TargetScope};
use serde::Serialize;
use std::collections::BTreeSet;
use std::fmt;
use tenantsync_domain::ObjectId;

/// How the requestor stands to the tenant the package belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// A member of the tenant.
    Member { user: ObjectId },
    /// A guest of the tenant, homed elsewhere.
    Guest { user: ObjectId, home: Home },
    /// Someone from outside with no account in the tenant yet.
    Outsider { home: Home },
}

/// What the rules need to know of a requestor; the caller gathers it from the store.
#[derive(Debug, Clone)]
pub struct Requestor<'a> {
    pub standing: Standing,
    /// The groups of the tenant the requestor is a member of.
    pub groups: BTreeSet<ObjectId>,
    /// Their connected organization (see [`crate::organization_of`]), for people from outside.
    pub organization: Option<&'a ConnectedOrganization>,
}

impl Requestor<'_> {
    /// The requestor's user in the tenant, `None` for an outsider.
    pub fn user(&self) -> Option<ObjectId> {
        match &self.standing {
            Standing::Member { user } | Standing::Guest { user, .. } => Some(*user),
            Standing::Outsider { .. } => None,
        }
    }

    pub fn is_external(&self) -> bool {
        !matches!(self.standing, Standing::Member { .. })
    }
}

/// Why a policy does not admit a requestor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ScopeMiss {
    /// The policy is for admins' direct assignments only.
    AdminAssignmentsOnly,
    /// The policy does not take requests (requestor settings).
    RequestsNotEnabled,
    /// The policy is for people from outside; the requestor is a member.
    ForExternalUsersOnly,
    /// The policy is for the tenant's own users; the requestor has no account here.
    ForDirectoryUsersOnly,
    /// The policy is for members; the requestor is a guest.
    GuestsExcluded,
    /// The requestor is neither one of the policy's users nor in one of its groups.
    NotASpecifiedUserOrGroupMember,
    /// The requestor's organization is not one of the policy's.
    OrganizationNotAllowed,
    /// The requestor belongs to no connected organization.
    NoConnectedOrganization,
    /// The requestor's organization is only proposed, and the policy admits configured ones.
    OrganizationOnlyProposed,
    /// The catalog is not visible to people from outside.
    CatalogNotExternallyVisible,
    /// The scope is one this version does not know.
    UnknownScope,
}

impl fmt::Display for ScopeMiss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ScopeMiss::AdminAssignmentsOnly => "it is for administrators' direct assignments only",
            ScopeMiss::RequestsNotEnabled => "it does not take requests",
            ScopeMiss::ForExternalUsersOnly => "it is for users from connected organizations, and the requestor is a member of the tenant",
            ScopeMiss::ForDirectoryUsersOnly => "it is for users of the tenant, and the requestor has no account here",
            ScopeMiss::GuestsExcluded => "it is for members of the tenant, and the requestor is a guest",
            ScopeMiss::NotASpecifiedUserOrGroupMember => "the requestor is none of its users and in none of its groups",
            ScopeMiss::OrganizationNotAllowed => "the requestor's organization is not one of its connected organizations",
            ScopeMiss::NoConnectedOrganization => "the requestor belongs to no connected organization",
            ScopeMiss::OrganizationOnlyProposed => "the requestor's connected organization is only proposed, not configured",
            ScopeMiss::CatalogNotExternallyVisible => "its catalog is not enabled for external users",
            ScopeMiss::UnknownScope => "its scope is unknown to this version",
        })
    }
}

/// Whether `policy` admits `requestor`'s own requests. `externally_visible`: the
/// catalog's setting. A rule (`attributeRuleMembers`) admits only through
/// auto-assignment, never a request.
pub fn admits(policy: &AssignmentPolicy, requestor: &Requestor<'_>, externally_visible: bool) -> Result<(), ScopeMiss> {
    let scope = policy.allowed_target_scope;
    if scope == TargetScope::NotSpecified {
        return Err(ScopeMiss::AdminAssignmentsOnly);
    }
    if policy.automatic_request_settings.is_some() || !policy.requestor_settings.enable_targets_to_self_add_access {
        return Err(ScopeMiss::RequestsNotEnabled);
    }
    in_scope(policy, requestor, externally_visible)
}

/// Whether `requestor` is among the people `policy`'s scope names, whoever asks (an
/// admin's direct assignment is checked against the scope too, except `notSpecified`).
pub fn in_scope(policy: &AssignmentPolicy, requestor: &Requestor<'_>, externally_visible: bool) -> Result<(), ScopeMiss> {
    let scope = policy.allowed_target_scope;
    if scope.is_external() {
        if !requestor.is_external() {
            return Err(ScopeMiss::ForExternalUsersOnly);
        }
        if !externally_visible {
            return Err(ScopeMiss::CatalogNotExternallyVisible);
        }
    }
    match scope {
        TargetScope::NotSpecified => Ok(()),
        TargetScope::UnknownFutureValue => Err(ScopeMiss::UnknownScope),
        TargetScope::AllMemberUsers => match requestor.standing {
            Standing::Member { .. } => Ok(()),
            Standing::Guest { .. } => Err(ScopeMiss::GuestsExcluded),
            Standing::Outsider { .. } => Err(ScopeMiss::ForDirectoryUsersOnly),
        },
        TargetScope::AllDirectoryUsers => requestor.user().map(|_| ()).ok_or(ScopeMiss::ForDirectoryUsersOnly),
        TargetScope::SpecificDirectoryUsers => {
            let user = requestor.user().ok_or(ScopeMiss::ForDirectoryUsersOnly)?;
            let named = policy.specific_allowed_targets.iter().any(|t| match t {
                SubjectSet::SingleUser { user_id } => *user_id == user,
                SubjectSet::GroupMembers { group_id } => requestor.groups.contains(group_id),
                _ => false,
            });
            if named { Ok(()) } else { Err(ScopeMiss::NotASpecifiedUserOrGroupMember) }
        }
        TargetScope::SpecificConnectedOrganizationUsers => {
            let org = requestor.organization.ok_or(ScopeMiss::NoConnectedOrganization)?;
            let named = policy
                .specific_allowed_targets
                .iter()
                .any(|t| matches!(t, SubjectSet::ConnectedOrganizationMembers { connected_organization_id } if *connected_organization_id == org.id));
            if named { Ok(()) } else { Err(ScopeMiss::OrganizationNotAllowed) }
        }
        TargetScope::AllConfiguredConnectedOrganizationUsers => match requestor.organization {
            None => Err(ScopeMiss::NoConnectedOrganization),
            Some(o) if o.state == ConnectedOrgState::Configured => Ok(()),
            Some(_) => Err(ScopeMiss::OrganizationOnlyProposed),
        },
        // Anyone from outside; a proposed organization is made at approval when needed.
        TargetScope::AllExternalUsers => Ok(()),
    }
}

/// The policies of a package a requestor may request under: those that admit them,
/// of the strictest category among those (Entra hides the others). Empty when none
/// admits them; then [`why_not`] says why for each.
pub fn applicable<'p>(policies: &'p [AssignmentPolicy], requestor: &Requestor<'_>, externally_visible: bool) -> Vec<&'p AssignmentPolicy> {
    let admitting: Vec<&AssignmentPolicy> = policies.iter().filter(|p| admits(p, requestor, externally_visible).is_ok()).collect();
    let strictest = admitting.iter().filter_map(|p| p.allowed_target_scope.category()).min();
    admitting.into_iter().filter(|p| p.allowed_target_scope.category() == strictest).collect()
}

/// Each policy's reason for not admitting the requestor.
pub fn why_not(policies: &[AssignmentPolicy], requestor: &Requestor<'_>, externally_visible: bool) -> Vec<(String, ScopeMiss)> {
    policies.iter().filter_map(|p| admits(p, requestor, externally_visible).err().map(|miss| (p.display_name.clone(), miss))).collect()
}
