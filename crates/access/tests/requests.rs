use crate::support::*;
use std::collections::BTreeSet;
use tenantsync_access::*;
use tenantsync_domain::ObjectId;

fn submitted(w: &World) -> (Request, Vec<Effect>) {
    let policies = vec![w.litware_policy()];
    let outsider = w.outsider();
    let answers = World::answers();
    let request = validate(&w.draft(&outsider, &policies, &[], &answers), w, t0()).unwrap();
    request.submit(t0())
}

#[test]
fn the_joint_venture_request_is_approved_by_the_sponsor_and_delivered() {
    let w = World::new();
    let (mut r, effects) = submitted(&w);
    assert_eq!((r.state, r.status), (RequestState::PendingApproval, RequestStatus::PendingApproval));
    assert_eq!(effects, vec![Effect::Notify(Notice::ApprovalRequired { stage: 1, approvers: BTreeSet::from([w.sponsor]) })]);
    assert_eq!(r.schedule.end_date_time, Some(IsoDuration::days(90).after(t0())));
    assert_eq!(r.next_due(), Some(IsoDuration::days(2).after(t0())), "escalation comes first");
    // Someone else cannot decide; the sponsor can.
    let err = r.decide(0, ObjectId::new(), true, "", t0()).unwrap_err();
    assert_eq!((err.code(), err.status()), ("not_an_approver", 403));
    let later = IsoDuration::hours(3).after(t0());
    let effects = r.decide(0, w.sponsor, true, "known partner", later).unwrap();
    assert_eq!(effects, vec![Effect::Notify(Notice::Approved), Effect::Deliver]);
    assert_eq!(r.state, RequestState::Delivering);
    assert_eq!(r.stages[0].review_result, ReviewResult::Approved);
    assert_eq!(r.stages[0].reviewed_by, Some(w.sponsor));
    // The first decision won: a second one is a conflict, whoever makes it.
    let err = r.decide(0, w.sponsor, false, "", later).unwrap_err();
    assert_eq!((err.code(), err.status()), ("stage_already_decided", 409));
    let a = AssignmentId::new();
    assert_eq!(r.delivered(Delivery::Delivered, a, later).unwrap(), vec![Effect::Notify(Notice::AccessGranted)]);
    assert_eq!((r.state, r.completed_date_time, r.assignment_id), (RequestState::Delivered, Some(later), Some(a)));
    assert_eq!(r.next_due(), None);
    assert_eq!(r.cancel(later).unwrap_err().code(), "request_not_cancelable");
}

#[test]
fn no_decision_escalates_then_denies_automatically() {
    let w = World::new();
    let (mut r, _) = submitted(&w);
    assert_eq!(r.tick(IsoDuration::days(1).after(t0())), vec![]);
    // The admin is not an approver before the escalation.
    assert_eq!(r.decide(0, w.admin, true, "", IsoDuration::days(1).after(t0())).unwrap_err().code(), "not_an_approver");
    let day2 = IsoDuration::days(2).after(t0());
    assert_eq!(r.tick(day2), vec![Effect::Notify(Notice::Escalated { stage: 1, approvers: BTreeSet::from([w.admin]) })]);
    assert_eq!(r.status, RequestStatus::PendingApprovalEscalated);
    assert_eq!(r.tick(day2), vec![], "a tick is idempotent");
    assert_eq!(r.next_due(), Some(IsoDuration::days(14).after(t0())));
    let day14 = IsoDuration::days(14).after(t0());
    assert_eq!(r.tick(day14), vec![Effect::Notify(Notice::Expired { approvers: BTreeSet::from([w.sponsor, w.admin]) })]);
    assert_eq!((r.state, r.status, r.completed_date_time), (RequestState::Denied, RequestStatus::Expired, Some(day14)));
    assert_eq!(r.stages[0].status, StageStatus::Expired);
    let err = r.decide(0, w.sponsor, true, "", day14).unwrap_err();
    assert_eq!(err.code(), "stage_already_decided");
}

#[test]
fn escalation_approvers_decide_after_escalation_and_primary_ones_still_may() {
    let w = World::new();
    let (mut r, _) = submitted(&w);
    r.tick(IsoDuration::days(3).after(t0()));
    let mut other = r.clone();
    assert_eq!(r.decide(0, w.admin, false, "", IsoDuration::days(3).after(t0())).unwrap(), vec![Effect::Notify(Notice::Denied)]);
    assert_eq!(r.state, RequestState::Denied);
    assert!(other.decide(0, w.sponsor, true, "", IsoDuration::days(3).after(t0())).is_ok());
}

#[test]
fn stages_follow_each_other_and_a_manager_stage_has_a_fallback() {
    let mut w = World::new();
    let alice = ObjectId::new();
    let boss = ObjectId::new();
    let security = ObjectId::new();
    let officer = ObjectId::new();
    w.managers.insert(alice, boss);
    w.groups.insert(security, vec![officer, alice]);
    let mut p = w.litware_policy();
    p.allowed_target_scope = TargetScope::AllMemberUsers;
    p.specific_allowed_targets.clear();
    let stage = |approvers: Vec<SubjectSet>, fallback: Vec<SubjectSet>| ApprovalStageSettings {
        duration_before_automatic_denial: IsoDuration::days(7),
        is_approver_justification_required: true,
        is_escalation_enabled: false,
        duration_before_escalation: IsoDuration::ZERO,
        primary_approvers: approvers,
        fallback_primary_approvers: fallback,
        escalation_approvers: vec![],
        fallback_escalation_approvers: vec![],
    };
    p.request_approval_settings.stages = vec![
        stage(vec![SubjectSet::RequestorManager { manager_level: 1 }], vec![SubjectSet::SingleUser { user_id: w.admin }]),
        stage(vec![SubjectSet::GroupMembers { group_id: security }], vec![]),
    ];
    assert_eq!(p.check(), Ok(()));
    let policies = vec![p];
    let answers = World::answers();
    let requestor = w.member(alice, &[]);
    let (mut r, effects) = validate(&w.draft(&requestor, &policies, &[], &answers), &w, t0()).unwrap().submit(t0());
    assert_eq!(effects, vec![Effect::Notify(Notice::ApprovalRequired { stage: 1, approvers: BTreeSet::from([boss]) })]);
    // Alice is in the security group but never approves herself.
    assert_eq!(r.stages[1].approvers, BTreeSet::from([officer]));
    assert_eq!(r.decide(0, boss, true, " ", t0()).unwrap_err().code(), "approver_justification_required");
    assert_eq!(r.decide(1, officer, true, "ok", t0()).unwrap_err().code(), "request_not_pending");
    let effects = r.decide(0, boss, true, "fine", t0()).unwrap();
    assert_eq!(effects, vec![Effect::Notify(Notice::ApprovalRequired { stage: 2, approvers: BTreeSet::from([officer]) })]);
    assert_eq!(r.decide(1, alice, true, "me", t0()).unwrap_err().code(), "not_an_approver");
    assert_eq!(r.decide(2, officer, true, "x", t0()).unwrap_err().code(), "no_such_stage");
    assert_eq!(r.decide(1, officer, true, "cleared", t0()).unwrap(), vec![Effect::Notify(Notice::Approved), Effect::Deliver]);

    // Without a manager the fallback approves; with neither, the request is refused at once.
    let bob = ObjectId::new();
    let requestor = w.member(bob, &[]);
    let r = validate(&w.draft(&requestor, &policies, &[], &answers), &w, t0()).unwrap();
    assert_eq!(r.stages[0].approvers, BTreeSet::from([w.admin]));
    let mut lonely = policies.clone();
    lonely[0].request_approval_settings.stages[0].fallback_primary_approvers.clear();
    let err = validate(&w.draft(&requestor, &lonely, &[], &answers), &w, t0()).unwrap_err();
    assert_eq!((err.code(), err.to_string().contains("stage 1")), ("no_approver", true));
}

#[test]
fn each_refusal_is_typed_and_names_the_requirement() {
    let mut w = World::new();
    let other_package = PackageId::new();
    let incompatible_group = ObjectId::new();
    w.package.incompatible_packages.insert(other_package);
    w.package.incompatible_groups.insert(incompatible_group);
    let policies = vec![w.litware_policy()];
    let outsider = w.outsider();
    let answers = World::answers();
    let held_other = [Held { assignment: AssignmentId::new(), package: other_package, policy: PolicyId::new(), end: None }];
    let held_same = [Held { assignment: AssignmentId::new(), package: w.package.id, policy: policies[0].id, end: Some(IsoDuration::days(5).after(t0())) }];
    let in_group = Requestor { groups: BTreeSet::from([incompatible_group]), ..w.outsider() };
    let wrong_choice = vec![Answer { question_id: "site".into(), value: "Paris".into() }];
    let stray = vec![Answer { question_id: "site".into(), value: "Oslo".into() }, Answer { question_id: "colour".into(), value: "red".into() }];

    let base = || w.draft(&outsider, &policies, &[], &answers);
    let cases: Vec<(Draft<'_>, &str)> = vec![
        (Draft { held: &held_other, ..base() }, "incompatible_access_package"),
        (Draft { requestor: &in_group, ..base() }, "incompatible_group"),
        (Draft { held: &held_same, ..base() }, "already_assigned"),
        (Draft { answers: &[], ..base() }, "missing_answer"),
        (Draft { answers: &wrong_choice, ..base() }, "invalid_answer"),
        (Draft { answers: &stray, ..base() }, "invalid_answer"),
        (Draft { justification: "  ", ..base() }, "justification_required"),
        (Draft { end: Some(IsoDuration::days(10).after(t0())), ..base() }, "custom_schedule_not_allowed"),
        (Draft { policy: PolicyId::new(), ..base() }, "policy_not_of_package"),
        (Draft { externally_visible: false, ..base() }, "not_in_policy_scope"),
        (Draft { request_type: RequestType::UserUpdate, ..base() }, "no_active_assignment"),
    ];
    for (draft, code) in cases {
        let err = validate(&draft, &w, t0()).unwrap_err();
        assert_eq!(err.code(), code, "{err}");
    }
    let err = validate(&Draft { externally_visible: false, ..base() }, &w, t0()).unwrap_err();
    assert_eq!(err.to_string(), "policy 'Litware employees' does not admit the requestor: its catalog is not enabled for external users");
}

#[test]
fn schedules_stay_within_the_policy_and_extensions_extend() {
    let w = World::new();
    let mut p = w.litware_policy();
    p.requestor_settings.allow_custom_assignment_schedule = true;
    let policies = vec![p];
    let outsider = w.outsider();
    let answers = World::answers();
    let base = || w.draft(&outsider, &policies, &[], &answers);
    let start = IsoDuration::days(10).after(t0());
    let r = validate(&Draft { start: Some(start), ..base() }, &w, t0()).unwrap();
    assert_eq!(r.schedule, Schedule { start_date_time: start, end_date_time: Some(IsoDuration::days(90).after(start)) });
    let err = validate(&Draft { end: Some(IsoDuration::days(91).after(t0())), ..base() }, &w, t0()).unwrap_err();
    assert_eq!(err.code(), "schedule_beyond_policy");
    let err = validate(&Draft { start: Some(start), end: Some(IsoDuration::days(5).after(t0())), ..base() }, &w, t0()).unwrap_err();
    assert_eq!(err.code(), "invalid_schedule");
    // A scheduled request waits for its start after approval.
    let (mut r, _) = validate(&Draft { start: Some(start), ..base() }, &w, t0()).unwrap().submit(t0());
    r.decide(0, w.sponsor, true, "", t0()).unwrap();
    assert_eq!((r.state, r.status, r.next_due()), (RequestState::Scheduled, RequestStatus::PendingNotBefore, Some(start)));
    assert_eq!(r.tick(IsoDuration::days(9).after(t0())), vec![]);
    assert_eq!(r.tick(start), vec![Effect::Deliver]);

    // Extending: later than today's end, within the policy, no approval needed here.
    let old_end = IsoDuration::days(5).after(t0());
    let held = [Held { assignment: AssignmentId::new(), package: w.package.id, policy: policies[0].id, end: Some(old_end) }];
    let update = |end| Draft { request_type: RequestType::UserUpdate, held: &held, end, ..base() };
    let (r, effects) = validate(&update(None), &w, t0()).unwrap().submit(t0());
    assert_eq!(effects, vec![Effect::Deliver]);
    assert_eq!((r.assignment_id, r.schedule.end_date_time), (Some(held[0].assignment), Some(IsoDuration::days(90).after(t0()))));
    assert_eq!(validate(&update(Some(IsoDuration::days(4).after(t0()))), &w, t0()).unwrap_err().code(), "invalid_schedule");
    // A removal by the requestor ends the assignment at once.
    let remove = Draft { request_type: RequestType::UserRemove, held: &held, ..base() };
    let (r, effects) = validate(&remove, &w, t0()).unwrap().submit(t0());
    assert_eq!(effects, vec![Effect::EndAssignment(held[0].assignment)]);
    assert_eq!(r.state, RequestState::Delivered);
}

#[test]
fn cancel_and_reprocess_follow_the_state_machine() {
    let w = World::new();
    let (mut r, _) = submitted(&w);
    r.cancel(t0()).unwrap();
    assert_eq!((r.state, r.stages[0].status), (RequestState::Canceled, StageStatus::Expired));
    assert_eq!(r.decide(0, w.sponsor, true, "", t0()).unwrap_err().code(), "stage_already_decided");
    assert_eq!(r.tick(IsoDuration::days(30).after(t0())), vec![]);

    let (mut r, _) = submitted(&w);
    r.decide(0, w.sponsor, true, "", t0()).unwrap();
    let a = AssignmentId::new();
    assert_eq!(r.delivered(Delivery::Failed, a, t0()).unwrap(), vec![]);
    assert_eq!(r.state, RequestState::DeliveryFailed);
    assert_eq!(r.delivered(Delivery::Delivered, a, t0()).unwrap_err().code(), "request_not_delivering");
    let mut late = r.clone();
    assert_eq!(late.reprocess(IsoDuration::days(8).after(t0())).unwrap_err().code(), "request_not_reprocessable");
    assert_eq!(r.reprocess(IsoDuration::days(6).after(t0())).unwrap(), vec![Effect::Deliver]);
    assert_eq!((r.state, r.completed_date_time), (RequestState::Delivering, None));
    r.delivered(Delivery::Partial, a, IsoDuration::days(6).after(t0())).unwrap();
    assert_eq!(r.state, RequestState::PartiallyDelivered);
}

#[test]
fn requests_serialize_in_graph_s_vocabulary() {
    let w = World::new();
    let (r, _) = submitted(&w);
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["requestType"], "userAdd");
    assert_eq!(json["state"], "pendingApproval");
    assert_eq!(json["status"], "PendingApproval");
    assert_eq!(json["stages"][0]["status"], "InProgress");
    assert_eq!(json["stages"][0]["reviewResult"], "NotReviewed");
    assert_eq!(serde_json::from_value::<Request>(json).unwrap(), r);
}
