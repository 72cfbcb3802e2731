use jiff::Timestamp;
use std::collections::{BTreeMap, BTreeSet};
use tenantsync_access::*;
use tenantsync_domain::{DomainName, ObjectId, TenantId};

pub fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

pub fn t0() -> Timestamp {
    at("2026-12-06T09:00:00Z")
}

pub fn domain(s: &str) -> DomainName {
    DomainName::parse(s).unwrap()
}

/// The seed's joint venture: Contoso holds the packages, Litware is connected.
pub struct World {
    pub litware_tenant: TenantId,
    pub litware: ConnectedOrganization,
    pub package: AccessPackage,
    pub sponsor: ObjectId,
    pub admin: ObjectId,
    pub managers: BTreeMap<ObjectId, ObjectId>,
    pub groups: BTreeMap<ObjectId, Vec<ObjectId>>,
}

impl World {
    pub fn new() -> World {
        let litware_tenant = TenantId::new();
        let sponsor = ObjectId::new();
        let litware = ConnectedOrganization {
            id: ConnectedOrgId::new(),
            display_name: "Litware".into(),
            description: String::new(),
            identity_sources: vec![IdentitySource::Tenant { tenant_id: litware_tenant, display_name: "Litware".into() }],
            state: ConnectedOrgState::Configured,
            internal_sponsors: BTreeSet::from([sponsor]),
            external_sponsors: BTreeSet::new(),
            external_user_lifecycle: None,
            created_date_time: t0(),
            modified_date_time: t0(),
        };
        let projects = ObjectId::new();
        let package = AccessPackage {
            id: PackageId::new(),
            catalog_id: CatalogId::new(),
            display_name: "Joint venture".into(),
            description: String::new(),
            is_hidden: true,
            roles: BTreeSet::from([ResourceRole::new(ResourceOrigin::Group(projects), RoleKind::Member).unwrap()]),
            incompatible_packages: BTreeSet::new(),
            incompatible_groups: BTreeSet::new(),
            created_date_time: t0(),
            modified_date_time: t0(),
        };
        World { litware_tenant, litware, package, sponsor, admin: ObjectId::new(), managers: BTreeMap::new(), groups: BTreeMap::new() }
    }

    /// A Litware employee with no account in Contoso yet.
    pub fn outsider(&self) -> Requestor<'_> {
        Requestor {
            standing: Standing::Outsider { home: Home { tenant: Some(self.litware_tenant), domain: domain("litware.example") } },
            groups: BTreeSet::new(),
            organization: Some(&self.litware),
        }
    }

    pub fn member(&self, user: ObjectId, groups: &[ObjectId]) -> Requestor<'_> {
        Requestor { standing: Standing::Member { user }, groups: groups.iter().copied().collect(), organization: None }
    }

    /// A policy for Litware: sponsor approval in one stage (14 days, escalation to the
    /// admin after 2), 90-day assignments that may be extended, one required question.
    pub fn litware_policy(&self) -> AssignmentPolicy {
        AssignmentPolicy {
            id: PolicyId::new(),
            access_package_id: self.package.id,
            display_name: "Litware employees".into(),
            description: String::new(),
            allowed_target_scope: TargetScope::SpecificConnectedOrganizationUsers,
            specific_allowed_targets: vec![SubjectSet::ConnectedOrganizationMembers { connected_organization_id: self.litware.id }],
            requestor_settings: RequestorSettings {
                enable_targets_to_self_add_access: true,
                enable_targets_to_self_update_access: true,
                enable_targets_to_self_remove_access: true,
                allow_custom_assignment_schedule: false,
            },
            request_approval_settings: ApprovalSettings {
                is_approval_required_for_add: true,
                is_approval_required_for_update: false,
                is_requestor_justification_required: true,
                stages: vec![ApprovalStageSettings {
                    duration_before_automatic_denial: IsoDuration::days(14),
                    is_approver_justification_required: false,
                    is_escalation_enabled: true,
                    duration_before_escalation: IsoDuration::days(2),
                    primary_approvers: vec![SubjectSet::InternalSponsors {}],
                    fallback_primary_approvers: vec![],
                    escalation_approvers: vec![SubjectSet::SingleUser { user_id: self.admin }],
                    fallback_escalation_approvers: vec![],
                }],
            },
            expiration: Expiration::AfterDuration { duration: IsoDuration::days(90) },
            review_settings: None,
            automatic_request_settings: None,
            questions: vec![Question::Choice { id: "site".into(), text: "Which site?".into(), is_required: true, choices: vec!["Oslo".into(), "Lyon".into()] }],
        }
    }

    pub fn answers() -> Vec<Answer> {
        vec![Answer { question_id: "site".into(), value: "Oslo".into() }]
    }

    pub fn draft<'a>(&'a self, requestor: &'a Requestor<'a>, policies: &'a [AssignmentPolicy], held: &'a [Held], answers: &'a [Answer]) -> Draft<'a> {
        Draft {
            request_type: RequestType::UserAdd,
            package: &self.package,
            policies,
            policy: policies.first().map(|p| p.id).unwrap(),
            requestor,
            externally_visible: true,
            held,
            start: None,
            end: None,
            answers,
            justification: "Project Falcon",
        }
    }
}

impl People for World {
    fn manager(&self, user: ObjectId) -> Option<ObjectId> {
        self.managers.get(&user).copied()
    }

    fn group_members(&self, group: ObjectId) -> Vec<ObjectId> {
        self.groups.get(&group).cloned().unwrap_or_default()
    }
}
