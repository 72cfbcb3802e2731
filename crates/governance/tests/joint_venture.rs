use jiff::Timestamp;
use std::collections::BTreeSet;
use std::sync::Arc;
use tenantsync_access::*;
use tenantsync_domain::{
    FixedClock, Group, GroupAttributes, NewGroup, NewTenant, NewUser, ObjectId, PartnerSettings, SyncConfiguration, TenantId, Upn, UserType,
};
use tenantsync_governance::{Actor, Governance, NewRequest, Subject};
use tenantsync_store::{AccessStore, Store, SyncStore};
use tenantsync_store_sqlite::SqliteStore;

fn t0() -> Timestamp {
    "2026-12-06T09:00:00Z".parse().unwrap()
}

struct Venture {
    _dir: tempfile::TempDir,
    clock: Arc<FixedClock>,
    store: Arc<SqliteStore>,
    gov: Governance,
    contoso: TenantId,
    litware: TenantId,
    ann: ObjectId,
    sam: ObjectId,
    projects: Group,
    package: AccessPackage,
    policy: AssignmentPolicy,
}

async fn venture() -> Venture {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::new(t0()));
    let store = Arc::new(SqliteStore::open_with_clock(dir.path(), clock.clone()).unwrap());
    let contoso = store.create_tenant(NewTenant::new("Contoso", "contoso.example").unwrap()).await.unwrap().id;
    let litware = store.create_tenant(NewTenant::new("Litware", "litware.example").unwrap()).await.unwrap().id;
    let ann = store.create_user(litware, NewUser::new(Upn::parse("ann@litware.example").unwrap())).await.unwrap().id;
    let sam = store.create_user(contoso, NewUser::new(Upn::parse("sam@contoso.example").unwrap())).await.unwrap().id;
    let projects = store.create_group(contoso, NewGroup::new(GroupAttributes::new("Projects").unwrap())).await.unwrap();
    let gov = Governance::new(store.clone());
    let org = ConnectedOrganization {
        id: ConnectedOrgId::new(),
        display_name: "Litware".into(),
        description: String::new(),
        identity_sources: vec![IdentitySource::Tenant { tenant_id: litware, display_name: "Litware".into() }],
        state: ConnectedOrgState::Configured,
        internal_sponsors: BTreeSet::from([sam]),
        external_sponsors: BTreeSet::new(),
        external_user_lifecycle: None,
        created_date_time: t0(),
        modified_date_time: t0(),
    };
    gov.put_connected_organization(contoso, &org).await.unwrap();
    let catalog = Catalog {
        id: CatalogId::new(),
        display_name: "Joint venture".into(),
        description: String::new(),
        is_externally_visible: true,
        created_date_time: t0(),
        modified_date_time: t0(),
    };
    gov.put_catalog(contoso, &catalog).await.unwrap();
    let package = AccessPackage {
        id: PackageId::new(),
        catalog_id: catalog.id,
        display_name: "Falcon project".into(),
        description: String::new(),
        is_hidden: true,
        roles: BTreeSet::from([ResourceRole::new(ResourceOrigin::Group(projects.id), RoleKind::Member).unwrap()]),
        incompatible_packages: BTreeSet::new(),
        incompatible_groups: BTreeSet::new(),
        created_date_time: t0(),
        modified_date_time: t0(),
    };
    gov.put_access_package(contoso, &package).await.unwrap();
    let policy = AssignmentPolicy {
        id: PolicyId::new(),
        access_package_id: package.id,
        display_name: "Litware employees".into(),
        description: String::new(),
        allowed_target_scope: TargetScope::SpecificConnectedOrganizationUsers,
        specific_allowed_targets: vec![SubjectSet::ConnectedOrganizationMembers { connected_organization_id: org.id }],
        requestor_settings: RequestorSettings {
            enable_targets_to_self_add_access: true,
            enable_targets_to_self_update_access: true,
            enable_targets_to_self_remove_access: true,
            allow_custom_assignment_schedule: false,
        },
        request_approval_settings: ApprovalSettings {
            is_approval_required_for_add: true,
            is_approval_required_for_update: false,
            is_requestor_justification_required: false,
            stages: vec![ApprovalStageSettings {
                duration_before_automatic_denial: IsoDuration::days(14),
                is_approver_justification_required: false,
                is_escalation_enabled: false,
                duration_before_escalation: IsoDuration::ZERO,
                primary_approvers: vec![SubjectSet::InternalSponsors {}],
                fallback_primary_approvers: vec![],
                escalation_approvers: vec![],
                fallback_escalation_approvers: vec![],
            }],
        },
        expiration: Expiration::AfterDuration { duration: IsoDuration::days(90) },
        review_settings: None,
        automatic_request_settings: None,
        questions: vec![],
    };
    gov.put_policy(contoso, &policy).await.unwrap();
    Venture { _dir: dir, clock, store, gov, contoso, litware, ann, sam, projects, package, policy }
}

impl Venture {
    fn ask(&self) -> NewRequest {
        NewRequest {
            kind: RequestType::UserAdd,
            package: self.package.id,
            policy: self.policy.id,
            subject: Subject::TenantUser { tenant: self.litware, user: self.ann },
            start: None,
            end: None,
            answers: vec![],
            justification: "Falcon".into(),
        }
    }

    fn at_day(&self, days: u64) {
        self.clock.set(IsoDuration::days(days).after(t0()));
    }

    async fn members(&self) -> Vec<ObjectId> {
        let page = self.store.list_members(self.contoso, self.projects.id, &tenantsync_store::ListQuery::default()).await.unwrap();
        page.items.iter().map(|u| u.id).collect()
    }

    async fn events(&self) -> Vec<String> {
        let mut all = self.store.outbox(self.contoso, 100).await.unwrap();
        all.reverse();
        all.into_iter().map(|m| m.event).collect()
    }
}

#[tokio::test]
async fn the_joint_venture_from_request_to_deletion() {
    let v = venture().await;
    let r = v.gov.submit(v.contoso, v.ask(), Actor::Subject).await.unwrap();
    assert_eq!(r.state, RequestState::PendingApproval);
    assert_eq!(r.stages[0].approvers, BTreeSet::from([v.sam]));
    assert!(v.members().await.is_empty());
    // The sponsor approves: the guest appears, anchored to Ann at home, in the group.
    let r = v.gov.decide(v.contoso, r.id, 0, v.sam, true, "welcome").await.unwrap();
    assert_eq!(r.state, RequestState::Delivered);
    let guest_id = r.requestor.unwrap();
    let guest = v.store.get_user(v.contoso, guest_id).await.unwrap();
    assert_eq!(guest.attrs.user_principal_name.as_str(), "ann_litware.example#EXT#@contoso.example");
    assert_eq!(guest.attrs.user_type, UserType::Guest);
    assert_eq!(guest.anchor.map(|a| (a.tenant, a.object)), Some((v.litware, v.ann)));
    assert_eq!(v.members().await, vec![guest_id]);
    assert_eq!(v.events().await, vec!["approvalRequired", "requestApproved", "accessGranted"]);
    // A second decision loses.
    assert_eq!(v.gov.decide(v.contoso, r.id, 0, v.sam, false, "").await.unwrap_err().code(), "stage_already_decided");
    // Asking again while assigned is refused and writes nothing.
    let again = Subject::User(guest_id);
    let err = v.gov.submit(v.contoso, NewRequest { subject: again.clone(), ..v.ask() }, Actor::Subject).await.unwrap_err();
    assert_eq!(err.code(), "already_assigned");

    // Reminders 14 days and 1 day before the end, then the end: removal, block, deletion planned.
    v.at_day(75);
    assert_eq!(v.gov.sweep().await.unwrap().reminders, 0);
    v.at_day(76);
    assert_eq!(v.gov.sweep().await.unwrap().reminders, 1);
    v.at_day(89);
    assert_eq!(v.gov.sweep().await.unwrap().reminders, 1);
    v.at_day(90);
    let report = v.gov.sweep().await.unwrap();
    assert_eq!(report.assignments_ended, 1);
    assert!(v.members().await.is_empty());
    assert!(!v.store.get_user(v.contoso, guest_id).await.unwrap().attrs.account_enabled, "blocked");
    assert_eq!(v.gov.sweep().await.unwrap(), Default::default(), "nothing twice");
    // Thirty days later the guest is deleted (a restarted process finds it from the store).
    let reopened = Governance::new(v.store.clone());
    v.at_day(119);
    assert_eq!(reopened.sweep().await.unwrap().guests_deleted, 0);
    v.at_day(120);
    assert_eq!(reopened.sweep().await.unwrap().guests_deleted, 1);
    assert!(v.store.get_user(v.contoso, guest_id).await.unwrap().is_deleted());
    let events = v.events().await;
    assert_eq!(&events[3..], ["accessEndsSoon", "accessEndsSoon", "accessEnded"]);
}

#[tokio::test]
async fn a_blocked_guest_who_asks_again_is_let_back_in() {
    let v = venture().await;
    let r = v.gov.submit(v.contoso, v.ask(), Actor::Subject).await.unwrap();
    let r = v.gov.decide(v.contoso, r.id, 0, v.sam, true, "").await.unwrap();
    let guest = r.requestor.unwrap();
    v.at_day(90);
    v.gov.sweep().await.unwrap();
    assert!(!v.store.get_user(v.contoso, guest).await.unwrap().attrs.account_enabled);
    v.at_day(100);
    let r = v.gov.submit(v.contoso, NewRequest { subject: Subject::User(guest), ..v.ask() }, Actor::Subject).await.unwrap();
    let r = v.gov.decide(v.contoso, r.id, 0, v.sam, true, "again").await.unwrap();
    assert_eq!((r.state, r.requestor), (RequestState::Delivered, Some(guest)));
    assert!(v.store.get_user(v.contoso, guest).await.unwrap().attrs.account_enabled, "unblocked");
    assert_eq!(v.members().await, vec![guest]);
    // The deletion planned at the end of the first assignment is called off.
    v.at_day(125);
    assert_eq!(v.gov.sweep().await.unwrap().guests_deleted, 0);
    assert!(!v.store.get_user(v.contoso, guest).await.unwrap().is_deleted());
}

#[tokio::test]
async fn no_decision_in_time_denies_and_a_removal_takes_the_role_away() {
    let v = venture().await;
    let r = v.gov.submit(v.contoso, v.ask(), Actor::Subject).await.unwrap();
    v.at_day(14);
    assert_eq!(v.gov.sweep().await.unwrap().requests, 1);
    let read = v.gov.request(v.contoso, r.id).await.unwrap().value;
    assert_eq!((read.state, read.status), (RequestState::Denied, RequestStatus::Expired));
    assert!(
        v.store.find_user_by_upn(v.contoso, &Upn::parse("ann_litware.example#EXT#@contoso.example").unwrap()).await.unwrap().is_none(),
        "no guest for a denied request"
    );
    // Asked again, approved, then given up by Ann herself: the role goes at once.
    let r = v.gov.submit(v.contoso, v.ask(), Actor::Subject).await.unwrap();
    let r = v.gov.decide(v.contoso, r.id, 0, v.sam, true, "").await.unwrap();
    let guest = r.requestor.unwrap();
    assert_eq!(v.members().await, vec![guest]);
    let leave = NewRequest { kind: RequestType::UserRemove, subject: Subject::User(guest), ..v.ask() };
    let r = v.gov.submit(v.contoso, leave, Actor::Subject).await.unwrap();
    assert_eq!(r.state, RequestState::Delivered);
    assert!(v.members().await.is_empty());
}

#[tokio::test]
async fn refusals_are_typed_and_write_nothing() {
    let v = venture().await;
    // A member of Contoso is not a Litware employee.
    let member = NewRequest { subject: Subject::User(v.sam), ..v.ask() };
    let err = v.gov.submit(v.contoso, member, Actor::Subject).await.unwrap_err();
    assert_eq!(err.code(), "not_in_policy_scope");
    assert!(err.to_string().contains("member of the tenant"), "{err}");
    // Someone of another organization.
    let other = v.store.create_tenant(NewTenant::new("Other", "other.example").unwrap()).await.unwrap().id;
    let bob = v.store.create_user(other, NewUser::new(Upn::parse("bob@other.example").unwrap())).await.unwrap().id;
    let err = v.gov.submit(v.contoso, NewRequest { subject: Subject::TenantUser { tenant: other, user: bob }, ..v.ask() }, Actor::Subject).await.unwrap_err();
    assert_eq!(err.code(), "not_in_policy_scope");
    // An unknown package; a policy of a package that does not exist.
    let err = v.gov.submit(v.contoso, NewRequest { package: PackageId::new(), ..v.ask() }, Actor::Subject).await.unwrap_err();
    assert_eq!((err.code(), err.status()), ("access_object_not_found", 404));
    let mut stray = v.policy.clone();
    stray.id = PolicyId::new();
    stray.access_package_id = PackageId::new();
    assert_eq!(v.gov.put_policy(v.contoso, &stray).await.unwrap_err().code(), "access_object_not_found");
    // A package granting a group of another tenant.
    let foreign = v.store.create_group(other, NewGroup::new(GroupAttributes::new("Theirs").unwrap())).await.unwrap();
    let mut bad = v.package.clone();
    bad.id = PackageId::new();
    bad.roles = BTreeSet::from([ResourceRole::new(ResourceOrigin::Group(foreign.id), RoleKind::Member).unwrap()]);
    assert_eq!(v.gov.put_access_package(v.contoso, &bad).await.unwrap_err().code(), "invalid_resource");
    // A sync configuration's assignment next to a policy for Litware's people: the guest
    // would never be synced (only internal members are), so both orders are refused.
    let arrow = v.store.create_sync_configuration(SyncConfiguration::new("Contoso to Litware", v.contoso, v.litware).unwrap()).await.unwrap();
    let sync_role = ResourceRole::new(ResourceOrigin::SyncConfiguration(arrow.id), RoleKind::DefaultAccess).unwrap();
    let mut synced = v.package.clone();
    synced.roles.insert(sync_role);
    let err = v.gov.put_access_package(v.contoso, &synced).await.unwrap_err();
    assert_eq!((err.code(), err.status()), ("sync_role_for_guests", 400));
    assert!(err.to_string().contains("only the tenant's internal members are synced"), "{err}");
    let mut fresh = synced.clone();
    fresh.id = PackageId::new();
    v.gov.put_access_package(v.contoso, &fresh).await.unwrap();
    let mut outsiders = v.policy.clone();
    outsiders.id = PolicyId::new();
    outsiders.access_package_id = fresh.id;
    assert_eq!(v.gov.put_policy(v.contoso, &outsiders).await.unwrap_err().code(), "sync_role_for_guests");
    assert!(v.gov.policies_of(v.contoso, fresh.id).await.unwrap().is_empty());
    assert_eq!(v.gov.access_package(v.contoso, v.package.id).await.unwrap().roles, v.package.roles);
    assert!(v.store.access_requests(v.contoso, Default::default()).await.unwrap().is_empty());
    assert!(v.store.outbox(v.contoso, 10).await.unwrap().is_empty());
    assert!(v.members().await.is_empty());
}

#[tokio::test]
async fn a_review_opens_on_schedule_and_a_denial_ends_the_assignment_at_its_close() {
    let v = venture().await;
    let mut policy = v.policy.clone();
    policy.expiration = Expiration::NoExpiration;
    policy.review_settings = Some(ReviewSettings {
        is_enabled: true,
        start_date_time: IsoDuration::days(30).after(t0()),
        recurrence_months: 3,
        duration: IsoDuration::days(14),
        is_self_review: false,
        primary_reviewers: vec![SubjectSet::RequestorManager { manager_level: 1 }],
        fallback_reviewers: vec![SubjectSet::SingleUser { user_id: v.sam }],
        expiration_behavior: NoResponse::KeepAccess,
        is_recommendation_enabled: true,
        is_reviewer_justification_required: false,
    });
    v.gov.put_policy(v.contoso, &policy).await.unwrap();
    let r = v.gov.submit(v.contoso, v.ask(), Actor::Subject).await.unwrap();
    let r = v.gov.decide(v.contoso, r.id, 0, v.sam, true, "").await.unwrap();
    let guest = r.requestor.unwrap();
    v.at_day(29);
    assert_eq!(v.gov.sweep().await.unwrap().reviews_opened, 0);
    v.at_day(31);
    assert_eq!(v.gov.sweep().await.unwrap().reviews_opened, 1);
    assert_eq!(v.gov.sweep().await.unwrap().reviews_opened, 0, "one instance per recurrence");
    let review = v.gov.reviews(v.contoso).await.unwrap().pop().unwrap();
    assert_eq!(review.decisions.len(), 1);
    assert_eq!(review.decisions[0].reviewers, BTreeSet::from([v.sam]), "no manager: the fallback reviewer");
    assert_eq!(v.events().await.last().map(String::as_str), Some("reviewStarted"));
    let a = review.decisions[0].assignment_id;
    let err = v.gov.review_decide(v.contoso, review.id, a, guest, ReviewDecision::Approve, "me").await.unwrap_err();
    assert_eq!(err.code(), "not_a_reviewer");
    v.gov.review_decide(v.contoso, review.id, a, v.sam, ReviewDecision::Deny, "project over").await.unwrap();
    assert_eq!(v.members().await, vec![guest], "denied users stay until the review closes");
    v.at_day(44);
    let report = v.gov.sweep().await.unwrap();
    assert_eq!((report.reviews_closed, report.reviews_opened), (1, 0));
    assert!(v.members().await.is_empty());
    let closed = v.gov.reviews(v.contoso).await.unwrap().pop().unwrap();
    assert_eq!(closed.status, ReviewStatus::Completed);
    assert_eq!(closed.decisions[0].outcome, Some(Outcome::Remove));
}

/// Reviewers deciding one decision at once: each write is of the review as its writer
/// read it, so the second of two overlapping ones gets `access_conflict` (409) and no
/// decision is lost; one after the other, the later one stands (a reviewer may change
/// a decision until the review ends).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reviewers_deciding_at_once_lose_no_decision() {
    let v = venture().await;
    let mut policy = v.policy.clone();
    policy.expiration = Expiration::NoExpiration;
    policy.review_settings = Some(ReviewSettings {
        is_enabled: true,
        start_date_time: IsoDuration::days(30).after(t0()),
        recurrence_months: 3,
        duration: IsoDuration::days(14),
        is_self_review: false,
        primary_reviewers: vec![SubjectSet::SingleUser { user_id: v.sam }],
        fallback_reviewers: vec![],
        expiration_behavior: NoResponse::KeepAccess,
        is_recommendation_enabled: false,
        is_reviewer_justification_required: false,
    });
    v.gov.put_policy(v.contoso, &policy).await.unwrap();
    let r = v.gov.submit(v.contoso, v.ask(), Actor::Subject).await.unwrap();
    v.gov.decide(v.contoso, r.id, 0, v.sam, true, "").await.unwrap();
    v.at_day(31);
    assert_eq!(v.gov.sweep().await.unwrap().reviews_opened, 1);
    let review = v.gov.reviews(v.contoso).await.unwrap().pop().unwrap();
    let a = review.decisions[0].assignment_id;
    let mut conflicts = 0;
    for round in 0..20 {
        let (one, two) = (v.gov.clone(), v.gov.clone());
        let (x, y) = tokio::join!(
            tokio::spawn(async move { one.review_decide(v.contoso, review.id, a, v.sam, ReviewDecision::Approve, &format!("keep {round}")).await }),
            tokio::spawn(async move { two.review_decide(v.contoso, review.id, a, v.sam, ReviewDecision::Deny, &format!("drop {round}")).await }),
        );
        let (x, y) = (x.unwrap(), y.unwrap());
        let stored = v.gov.reviews(v.contoso).await.unwrap().pop().unwrap().decisions[0].clone();
        match (&x, &y) {
            (Ok(_), Ok(_)) => assert!(stored.justification.ends_with(&format!(" {round}"))),
            (Ok(_), Err(e)) => {
                assert_eq!((e.code(), e.status()), ("access_conflict", 409));
                assert_eq!((stored.decision, stored.justification), (ReviewDecision::Approve, format!("keep {round}")));
                conflicts += 1;
            }
            (Err(e), Ok(_)) => {
                assert_eq!((e.code(), e.status()), ("access_conflict", 409));
                assert_eq!((stored.decision, stored.justification), (ReviewDecision::Deny, format!("drop {round}")));
                conflicts += 1;
            }
            (Err(_), Err(_)) => panic!("one of two decisions always stands: {x:?} {y:?}"),
        }
    }
    // Which rounds overlap is the scheduler's; the outcome of each is checked above.
    let _ = conflicts;
}

/// "One access package can grant 'be synced into Litware'": a member of Contoso who gets
/// the package is assigned to the arrow, so its next cycle provisions them; when the
/// assignment ends, they leave the arrow's scope and the next cycle removes their copy.
#[tokio::test]
async fn a_package_with_a_sync_role_provisions_its_holder_and_its_end_deprovisions() {
    let v = venture().await;
    v.store
        .set_partner_settings(
            v.litware,
            Some(v.contoso),
            PartnerSettings { inbound_user_sync: Some(true), inbound_auto_redeem: Some(true), ..PartnerSettings::default() },
        )
        .await
        .unwrap();
    v.store.set_partner_settings(v.contoso, Some(v.litware), PartnerSettings { outbound_auto_redeem: Some(true), ..PartnerSettings::default() }).await.unwrap();
    let arrow = v.store.create_sync_configuration(SyncConfiguration::new("Contoso to Litware", v.contoso, v.litware).unwrap()).await.unwrap();
    let mut package = v.package.clone();
    package.id = PackageId::new();
    package.display_name = "Work at Litware".into();
    package.roles = BTreeSet::from([ResourceRole::new(ResourceOrigin::SyncConfiguration(arrow.id), RoleKind::DefaultAccess).unwrap()]);
    v.gov.put_access_package(v.contoso, &package).await.unwrap();
    let mut policy = v.policy.clone();
    policy.id = PolicyId::new();
    policy.access_package_id = package.id;
    policy.allowed_target_scope = TargetScope::AllMemberUsers;
    policy.specific_allowed_targets = vec![];
    policy.request_approval_settings.is_approval_required_for_add = false;
    policy.request_approval_settings.stages = vec![];
    v.gov.put_policy(v.contoso, &policy).await.unwrap();

    let engine = tenantsync_engine::Engine::new(v.store.clone());
    let copies = || async {
        let page = v.store.list_users(v.litware, &tenantsync_store::ListQuery::default()).await.unwrap();
        page.items.into_iter().filter(|u| u.anchor.is_some_and(|a| a.object == v.sam)).map(|u| u.attrs.account_enabled).collect::<Vec<_>>()
    };
    assert_eq!(engine.run_cycle(arrow.id).await.unwrap().created, 0, "no one is assigned yet");
    let ask = NewRequest { package: package.id, policy: policy.id, subject: Subject::User(v.sam), ..v.ask() };
    let r = v.gov.submit(v.contoso, ask, Actor::Subject).await.unwrap();
    assert_eq!(r.state, RequestState::Delivered);
    let config = v.store.get_sync_configuration(arrow.id).await.unwrap();
    assert!(config.assignments.contains(&tenantsync_domain::Assignment::User(v.sam)), "{:?}", config.assignments);
    assert_eq!(engine.run_cycle(arrow.id).await.unwrap().created, 1);
    assert_eq!(copies().await, vec![true], "Sam's copy in Litware");

    // The assignment ends (90 days): Sam leaves the arrow's scope; the cycle removes the copy.
    v.at_day(90);
    assert_eq!(v.gov.sweep().await.unwrap().assignments_ended, 1);
    assert!(v.store.get_sync_configuration(arrow.id).await.unwrap().assignments.is_empty());
    let report = engine.run_cycle(arrow.id).await.unwrap();
    assert_eq!(report.soft_deleted + report.hard_deleted, 1, "{report:?}");
}

/// An approver's waiting requests, a page at a time both ways, across the batches the
/// open requests are read in; requests decided are no longer among them, and someone who
/// approves nothing waits for nothing.
#[tokio::test]
async fn an_approver_s_waiting_requests_are_paged_both_ways_across_batches() {
    let v = venture().await;
    let mut ids = Vec::new();
    for i in 0..230 {
        let u = v.store.create_user(v.litware, NewUser::new(Upn::parse(&format!("u{i:03}@litware.example")).unwrap())).await.unwrap().id;
        let r = v.gov.submit(v.contoso, NewRequest { subject: Subject::TenantUser { tenant: v.litware, user: u }, ..v.ask() }, Actor::Subject).await.unwrap();
        ids.push(r.id);
    }
    for id in ids.iter().step_by(23) {
        v.gov.decide(v.contoso, *id, 0, v.sam, false, "not now").await.unwrap();
    }
    let mut waiting: Vec<RequestId> = ids.iter().enumerate().filter(|(i, _)| i % 23 != 0).map(|(_, id)| *id).collect();
    waiting.sort();
    let mut forward = Vec::new();
    let mut after = None;
    loop {
        let page = v.gov.pending_page(v.contoso, v.sam, after, None, 50).await.unwrap();
        assert!(page.len() <= 50);
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        forward.extend(page.iter().map(|r| r.id));
    }
    assert_eq!(forward, waiting);
    let last = *waiting.last().unwrap();
    let mut backward = vec![last];
    let mut before = Some(last);
    loop {
        let page = v.gov.pending_page(v.contoso, v.sam, None, before, 50).await.unwrap();
        let Some(first) = page.first() else { break };
        before = Some(first.id);
        backward.splice(0..0, page.iter().map(|r| r.id));
    }
    assert_eq!(backward, waiting);
    assert!(v.gov.pending_page(v.contoso, ObjectId::new(), None, None, 50).await.unwrap().is_empty());
}

/// Approvals beside a sweep that runs all the time: a guest to make does not fit one step,
/// so each decision is committed first (`delivering`) and delivered after. The sweep
/// leaves a delivery under way alone (it takes one for interrupted only after a grace),
/// so each approver is told the decision stands and each request is delivered once: one
/// guest, one assignment, one membership. (Before, the sweep delivered beside the
/// approver: one of the two found the other's guest and marked the request failed, or the
/// approver got `access_conflict`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approvals_beside_a_running_sweep_stand_and_are_delivered_once() {
    let v = venture().await;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Stops the sweeper however the test ends (a failed assertion included).
    struct Stop(Arc<std::sync::atomic::AtomicBool>);
    impl Drop for Stop {
        fn drop(&mut self) {
            self.0.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
    let _stop = Stop(stop.clone());
    let sweeper = {
        let (gov, stop) = (v.gov.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                gov.sweep().await.unwrap();
                tokio::task::yield_now().await;
            }
        })
    };
    for i in 0..12 {
        let person = v.store.create_user(v.litware, NewUser::new(Upn::parse(&format!("p{i}@litware.example")).unwrap())).await.unwrap().id;
        let ask = NewRequest { subject: Subject::TenantUser { tenant: v.litware, user: person }, ..v.ask() };
        let r = v.gov.submit(v.contoso, ask, Actor::Subject).await.unwrap();
        let decided = v.gov.decide(v.contoso, r.id, 0, v.sam, true, "welcome").await;
        let decided = decided.unwrap_or_else(|e| panic!("round {i}: the approval stands: {e}"));
        assert_eq!(decided.state, RequestState::Delivered, "round {i}");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    sweeper.await.unwrap();
    v.gov.sweep().await.unwrap();
    let requests = v.store.access_requests(v.contoso, Default::default()).await.unwrap();
    assert_eq!(requests.len(), 12);
    assert!(requests.iter().all(|r| r.value.state == RequestState::Delivered), "{:?}", requests.iter().map(|r| r.value.state).collect::<Vec<_>>());
    let assignments = v.store.access_assignments(v.contoso, Default::default()).await.unwrap();
    assert_eq!(assignments.len(), 12, "one assignment per request");
    let members = v.members().await;
    assert_eq!(members.len(), 12, "one guest per person, each once in the group: {members:?}");
}
