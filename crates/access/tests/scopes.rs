use crate::support::*;
use std::collections::BTreeSet;
use tenantsync_access::*;
use tenantsync_domain::{ObjectId, TenantId};

fn with_scope(w: &World, scope: TargetScope, targets: Vec<SubjectSet>) -> AssignmentPolicy {
    AssignmentPolicy { allowed_target_scope: scope, specific_allowed_targets: targets, id: PolicyId::new(), ..w.litware_policy() }
}

#[test]
fn each_scope_admits_whom_entra_s_does_and_says_why_not_otherwise() {
    let w = World::new();
    let alice = ObjectId::new();
    let sales = ObjectId::new();
    let member = w.member(alice, &[sales]);
    let guest = Requestor {
        standing: Standing::Guest { user: ObjectId::new(), home: Home { tenant: Some(w.litware_tenant), domain: domain("litware.example") } },
        groups: BTreeSet::new(),
        organization: Some(&w.litware),
    };
    let stranger = Requestor {
        standing: Standing::Outsider { home: Home { tenant: None, domain: domain("elsewhere.example") } },
        groups: BTreeSet::new(),
        organization: None,
    };
    let outsider = w.outsider();
    let mut proposed_org = w.litware.clone();
    proposed_org.state = ConnectedOrgState::Proposed;
    let proposed = Requestor { organization: Some(&proposed_org), ..w.outsider() };

    use ScopeMiss::*;
    use TargetScope::*;
    let cases: Vec<(AssignmentPolicy, [Result<(), ScopeMiss>; 5])> = vec![
        (with_scope(&w, NotSpecified, vec![]), [Err(AdminAssignmentsOnly); 5]),
        (
            with_scope(&w, AllMemberUsers, vec![]),
            [Ok(()), Err(GuestsExcluded), Err(ForDirectoryUsersOnly), Err(ForDirectoryUsersOnly), Err(ForDirectoryUsersOnly)],
        ),
        (with_scope(&w, AllDirectoryUsers, vec![]), [Ok(()), Ok(()), Err(ForDirectoryUsersOnly), Err(ForDirectoryUsersOnly), Err(ForDirectoryUsersOnly)]),
        (
            with_scope(&w, SpecificDirectoryUsers, vec![SubjectSet::GroupMembers { group_id: sales }]),
            [Ok(()), Err(NotASpecifiedUserOrGroupMember), Err(ForDirectoryUsersOnly), Err(ForDirectoryUsersOnly), Err(ForDirectoryUsersOnly)],
        ),
        (
            with_scope(&w, SpecificConnectedOrganizationUsers, vec![SubjectSet::ConnectedOrganizationMembers { connected_organization_id: w.litware.id }]),
            [Err(ForExternalUsersOnly), Ok(()), Ok(()), Err(NoConnectedOrganization), Ok(())],
        ),
        (
            with_scope(&w, AllConfiguredConnectedOrganizationUsers, vec![]),
            [Err(ForExternalUsersOnly), Ok(()), Ok(()), Err(NoConnectedOrganization), Err(OrganizationOnlyProposed)],
        ),
        (with_scope(&w, AllExternalUsers, vec![]), [Err(ForExternalUsersOnly), Ok(()), Ok(()), Ok(()), Ok(())]),
    ];
    for (policy, expected) in cases {
        let got = [&member, &guest, &outsider, &stranger, &proposed].map(|r| admits(&policy, r, true));
        assert_eq!(got, expected, "{:?}", policy.allowed_target_scope);
    }
    // A connected organization's people need a catalog visible to them.
    let external = with_scope(&w, AllExternalUsers, vec![]);
    assert_eq!(admits(&external, &outsider, false), Err(CatalogNotExternallyVisible));
    // A policy of another organization does not admit Litware's people.
    let other =
        with_scope(&w, SpecificConnectedOrganizationUsers, vec![SubjectSet::ConnectedOrganizationMembers { connected_organization_id: ConnectedOrgId::new() }]);
    assert_eq!(admits(&other, &outsider, true), Err(OrganizationNotAllowed));
    // Requests switched off, or an auto-assignment policy: no requests.
    let mut off = with_scope(&w, AllExternalUsers, vec![]);
    off.requestor_settings.enable_targets_to_self_add_access = false;
    assert_eq!(admits(&off, &outsider, true), Err(RequestsNotEnabled));
}

#[test]
fn only_the_strictest_category_is_offered() {
    let w = World::new();
    let specific = w.litware_policy();
    let everyone = with_scope(&w, TargetScope::AllExternalUsers, vec![]);
    let policies = vec![everyone.clone(), specific.clone()];
    let outsider = w.outsider();
    let offered: Vec<PolicyId> = applicable(&policies, &outsider, true).iter().map(|p| p.id).collect();
    assert_eq!(offered, vec![specific.id]);
    // Someone of no organization only fits the broad one, which is then offered.
    let stranger = Requestor {
        standing: Standing::Outsider { home: Home { tenant: Some(TenantId::new()), domain: domain("x.example") } },
        groups: BTreeSet::new(),
        organization: None,
    };
    let offered: Vec<PolicyId> = applicable(&policies, &stranger, true).iter().map(|p| p.id).collect();
    assert_eq!(offered, vec![everyone.id]);
    // And requesting under the hidden broad policy names the stricter one.
    let answers = World::answers();
    let mut draft = w.draft(&outsider, &policies, &[], &answers);
    draft.policy = everyone.id;
    let err = validate(&draft, &w, t0()).unwrap_err();
    assert_eq!(err.code(), "stricter_policy_applies");
    assert!(err.to_string().contains("'Litware employees'"), "{err}");
    let why = why_not(&policies, &w.member(ObjectId::new(), &[]), true);
    assert_eq!(why.len(), 2);
    assert!(why.iter().all(|(_, m)| *m == ScopeMiss::ForExternalUsersOnly));
}

#[test]
fn policies_that_contradict_themselves_are_refused_when_written() {
    let w = World::new();
    assert_eq!(w.litware_policy().check(), Ok(()));
    let mut cases: Vec<(&str, AssignmentPolicy)> = Vec::new();
    let mut p = w.litware_policy();
    p.request_approval_settings.stages = vec![p.request_approval_settings.stages[0].clone(); 4];
    cases.push(("4 approval stages", p));
    let mut p = w.litware_policy();
    p.request_approval_settings.stages.clear();
    cases.push(("no approval stage", p));
    let mut p = w.litware_policy();
    p.request_approval_settings.stages[0].primary_approvers.clear();
    cases.push(("no primary approvers", p));
    let mut p = w.litware_policy();
    p.request_approval_settings.stages[0].duration_before_escalation = IsoDuration::days(20);
    cases.push(("escalates only after", p));
    let mut p = w.litware_policy();
    p.expiration = Expiration::AfterDuration { duration: IsoDuration::days(MAX_EXPIRY_DAYS + 1) };
    cases.push(("at most 3660 days", p));
    let mut p = w.litware_policy();
    p.specific_allowed_targets = vec![SubjectSet::SingleUser { user_id: ObjectId::new() }];
    cases.push(("does not fit the scope", p));
    let mut p = w.litware_policy();
    p.specific_allowed_targets.clear();
    cases.push(("admits no one", p));
    let mut p = w.litware_policy();
    p.questions = vec![Question::Text { id: "q".into(), text: "?".into(), is_required: true, regex_pattern: Some("(".into()) }];
    cases.push(("does not compile", p));
    let review = ReviewSettings {
        is_enabled: true,
        start_date_time: t0(),
        recurrence_months: 3,
        duration: IsoDuration::days(14),
        is_self_review: false,
        primary_reviewers: vec![SubjectSet::InternalSponsors {}],
        fallback_reviewers: vec![],
        expiration_behavior: NoResponse::KeepAccess,
        is_recommendation_enabled: true,
        is_reviewer_justification_required: false,
    };
    let mut p = w.litware_policy();
    p.review_settings = Some(review.clone());
    assert_eq!(p.check(), Ok(()));
    p.review_settings = Some(ReviewSettings { recurrence_months: 13, ..review.clone() });
    cases.push(("every 1 to 12 months, not every 13", p.clone()));
    p.review_settings = Some(ReviewSettings { duration: IsoDuration::ZERO, ..review.clone() });
    cases.push(("at least a day", p.clone()));
    p.review_settings = Some(ReviewSettings { primary_reviewers: vec![], ..review });
    cases.push(("name no reviewers", p));
    for (why, p) in cases {
        let err = p.check().unwrap_err();
        assert_eq!(err.code(), "invalid_policy");
        assert!(err.to_string().contains(why), "{why}: {err}");
    }
}

#[test]
fn policies_read_and_write_graph_s_json() {
    let w = World::new();
    let policy = w.litware_policy();
    let json = serde_json::to_value(&policy).unwrap();
    assert_eq!(json["allowedTargetScope"], "specificConnectedOrganizationUsers");
    assert_eq!(json["specificAllowedTargets"][0]["@odata.type"], "#microsoft.graph.connectedOrganizationMembers");
    assert_eq!(json["requestApprovalSettings"]["stages"][0]["durationBeforeAutomaticDenial"], "P14D");
    assert_eq!(json["requestApprovalSettings"]["stages"][0]["primaryApprovers"][0]["@odata.type"], "#microsoft.graph.internalSponsors");
    assert_eq!(json["expiration"], serde_json::json!({"type": "afterDuration", "duration": "P90D"}));
    assert_eq!(serde_json::from_value::<AssignmentPolicy>(json).unwrap(), policy);
    let unknown: TargetScope = serde_json::from_value("somethingLater".into()).unwrap();
    assert_eq!(unknown, TargetScope::UnknownFutureValue);
}
