use crate::support::*;
use std::collections::BTreeMap;
use tenantsync_access::*;
use tenantsync_domain::ObjectId;

fn settings(behavior: NoResponse) -> ReviewSettings {
    ReviewSettings {
        is_enabled: true,
        start_date_time: at("2027-01-31T00:00:00Z"),
        recurrence_months: 3,
        duration: IsoDuration::days(14),
        is_self_review: false,
        primary_reviewers: vec![SubjectSet::RequestorManager { manager_level: 1 }],
        fallback_reviewers: vec![],
        expiration_behavior: behavior,
        is_recommendation_enabled: true,
        is_reviewer_justification_required: true,
    }
}

fn held(policy: PolicyId, target: ObjectId) -> Assignment {
    Assignment {
        id: AssignmentId::new(),
        access_package_id: PackageId::new(),
        assignment_policy_id: policy,
        target,
        state: AssignmentState::Delivered,
        schedule: Schedule { start_date_time: t0(), end_date_time: None },
        expired_date_time: None,
        reminders_sent: 0,
        governed: false,
    }
}

#[test]
fn instances_recur_by_calendar_months() {
    let s = settings(NoResponse::KeepAccess);
    assert_eq!(s.nth_start(0), at("2027-01-31T00:00:00Z"));
    assert_eq!(s.nth_start(1), at("2027-04-30T00:00:00Z"), "the month's last day when the 31st does not exist");
    assert_eq!(s.nth_start(4), at("2028-01-31T00:00:00Z"));
    assert_eq!(s.due(0, at("2027-01-30T00:00:00Z")), None);
    assert_eq!(s.due(0, at("2027-02-02T00:00:00Z")), Some(at("2027-01-31T00:00:00Z")));
    assert_eq!(s.due(1, at("2027-02-02T00:00:00Z")), None);
    let off = ReviewSettings { is_enabled: false, ..s };
    assert_eq!(off.due(0, at("2030-01-01T00:00:00Z")), None);
}

#[test]
fn managers_review_their_reports_and_the_outcomes_follow_the_decisions_and_the_no_response_rule() {
    let mut w = World::new();
    let policy = PolicyId::new();
    let (ann, bob, cid, dan, eve) = (ObjectId::new(), ObjectId::new(), ObjectId::new(), ObjectId::new(), ObjectId::new());
    let boss = ObjectId::new();
    for p in [ann, bob, cid, dan, eve] {
        w.managers.insert(p, boss);
    }
    let assignments: Vec<Assignment> = [ann, bob, cid, dan, eve].iter().map(|p| held(policy, *p)).collect();
    let mut ended = held(policy, ObjectId::new());
    ended.end(t0());
    let mut all = assignments.clone();
    all.push(ended);
    all.push(held(PolicyId::new(), ann));
    let start = at("2027-01-31T00:00:00Z");
    // Ann signed in last week, Bob two months ago, Cid never, Dan and Eve are unknown.
    let activity = BTreeMap::from([
        (ann, Activity::Last(Some(IsoDuration::days(7).before(start)))),
        (bob, Activity::Last(Some(IsoDuration::days(60).before(start)))),
        (cid, Activity::Last(None)),
    ]);
    let look = |p: ObjectId| activity.get(&p).copied().unwrap_or(Activity::Unknown);
    for (behavior, removed) in
        [(NoResponse::KeepAccess, vec![1]), (NoResponse::RemoveAccess, vec![1, 2, 4]), (NoResponse::AcceptAccessRecommendation, vec![1, 2])]
    {
        let s = settings(behavior);
        let mut review = open_review(&s, policy, PackageId::new(), start, &all, &w, &look);
        assert_eq!(review.decisions.len(), 5, "active assignments of the policy only");
        assert!(review.decisions.iter().all(|d| d.reviewers == [boss].into()));
        let recs: Vec<Recommendation> = review.decisions.iter().map(|d| d.recommendation).collect();
        use Recommendation::*;
        assert_eq!(recs, vec![Approve, Deny, Deny, NoInfoAvailable, NoInfoAvailable]);
        let id = |i: usize| assignments[i].id;
        let day = IsoDuration::days(1).after(start);
        assert_eq!(review.decide(id(0), boss, ReviewDecision::Approve, "", day).unwrap_err().code(), "reviewer_justification_required");
        assert_eq!(review.decide(id(0), ann, ReviewDecision::Approve, "me", day).unwrap_err().code(), "not_a_reviewer");
        review.decide(id(0), boss, ReviewDecision::Deny, "", day).unwrap();
        // The last decision wins: Ann is approved after all; Bob denied; Dan "don't know".
        review.decide(id(0), boss, ReviewDecision::Approve, "still on the project", day).unwrap();
        review.decide(id(1), boss, ReviewDecision::Deny, "", day).unwrap();
        review.decide(id(3), boss, ReviewDecision::DontKnow, "", day).unwrap();
        assert_eq!(review.decide(AssignmentId::new(), boss, ReviewDecision::Deny, "", day).unwrap_err().code(), "no_such_decision");
        assert_eq!(review.close(IsoDuration::days(13).after(start), false), vec![], "not before the end");
        let end = IsoDuration::days(14).after(start);
        assert_eq!(review.decide(id(2), boss, ReviewDecision::Deny, "", end).unwrap_err().code(), "review_closed");
        let want: Vec<AssignmentId> = removed.iter().map(|i| id(*i)).collect();
        assert_eq!(review.close(end, false), want, "{behavior:?}");
        assert_eq!(review.close(end, false), vec![], "closed once");
        assert_eq!(review.status, ReviewStatus::Completed);
    }
}

#[test]
fn a_self_review_is_decided_by_the_person_and_a_reviewerless_item_falls_back() {
    let w = World::new();
    let policy = PolicyId::new();
    let ann = ObjectId::new();
    let start = at("2027-01-31T00:00:00Z");
    let own = ReviewSettings { is_self_review: true, ..settings(NoResponse::KeepAccess) };
    let review = open_review(&own, policy, PackageId::new(), start, &[held(policy, ann)], &w, &|_| Activity::Unknown);
    assert_eq!(review.decisions[0].reviewers, [ann].into());
    // No manager: the fallback reviewers.
    let fallback = ReviewSettings { fallback_reviewers: vec![SubjectSet::SingleUser { user_id: w.admin }], ..settings(NoResponse::KeepAccess) };
    let mut review = open_review(&fallback, policy, PackageId::new(), start, &[held(policy, ann)], &w, &|_| Activity::Unknown);
    assert_eq!(review.decisions[0].reviewers, [w.admin].into());
    // An admin may stop it early.
    let a = review.decisions[0].assignment_id;
    review.decide(a, w.admin, ReviewDecision::Deny, "", start).unwrap();
    assert_eq!(review.close(start, true), vec![a]);
}

#[test]
fn auto_assignment_adds_and_removes_after_the_grace_period() {
    let s = AutomaticRequestSettings {
        request_access_for_allowed_targets: true,
        remove_access_when_target_leaves_allowed_targets: true,
        grace_period_before_access_removal: IsoDuration::days(7),
    };
    let later = IsoDuration::days(7).after(t0());
    assert_eq!(auto_action(&s, true, false, None, t0()), AutoAction::Assign);
    assert_eq!(auto_action(&s, true, true, None, t0()), AutoAction::Nothing);
    assert_eq!(auto_action(&s, false, true, None, t0()), AutoAction::RemoveAt(later));
    assert_eq!(auto_action(&s, false, true, Some(later), IsoDuration::days(3).after(t0())), AutoAction::Nothing);
    assert_eq!(auto_action(&s, true, true, Some(later), IsoDuration::days(3).after(t0())), AutoAction::CancelRemoval);
    assert_eq!(auto_action(&s, false, true, Some(later), later), AutoAction::Remove);
    assert_eq!(auto_action(&s, false, false, None, t0()), AutoAction::Nothing);
    let now = AutomaticRequestSettings { grace_period_before_access_removal: IsoDuration::ZERO, ..s };
    assert_eq!(auto_action(&now, false, true, None, t0()), AutoAction::Remove);
    let keep = AutomaticRequestSettings { remove_access_when_target_leaves_allowed_targets: false, ..s };
    assert_eq!(auto_action(&keep, false, true, Some(later), later), AutoAction::Nothing);
}
