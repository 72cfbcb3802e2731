use crate::support::*;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use tenantsync_access::*;
use tenantsync_domain::ObjectId;

fn assignment(package: PackageId, target: ObjectId, start: jiff::Timestamp, end: Option<jiff::Timestamp>) -> Assignment {
    Assignment {
        id: AssignmentId::new(),
        access_package_id: package,
        assignment_policy_id: PolicyId::new(),
        target,
        state: AssignmentState::Delivered,
        schedule: Schedule { start_date_time: start, end_date_time: end },
        expired_date_time: None,
        reminders_sent: 0,
        governed: false,
    }
}

#[test]
fn reminders_come_14_days_and_1_day_before_the_end_then_it_expires() {
    let end = IsoDuration::days(90).after(t0());
    let mut a = assignment(PackageId::new(), ObjectId::new(), t0(), Some(end));
    assert_eq!(a.next_due(true), Some(IsoDuration::days(14).before(end)));
    assert_eq!(a.tick(IsoDuration::days(70).after(t0()), true), vec![]);
    assert_eq!(a.tick(IsoDuration::days(14).before(end), true), vec![AssignmentEvent::EndsSoon { end }]);
    assert_eq!(a.tick(IsoDuration::days(80).after(t0()), true), vec![], "each reminder once");
    assert_eq!(a.next_due(true), Some(IsoDuration::days(1).before(end)));
    // A scheduler that was down for both reminders sends one, not two.
    let mut late = assignment(PackageId::new(), ObjectId::new(), t0(), Some(end));
    assert_eq!(late.tick(IsoDuration::hours(1).before(end), true), vec![AssignmentEvent::EndsSoon { end }]);
    assert_eq!(late.next_due(true), Some(end));
    // Not extendable: no reminders, only the end.
    let mut fixed = assignment(PackageId::new(), ObjectId::new(), t0(), Some(end));
    assert_eq!(fixed.next_due(false), Some(end));
    assert_eq!(fixed.tick(IsoDuration::days(1).before(end), false), vec![]);
    assert!(fixed.is_active(IsoDuration::days(1).before(end)));
    assert_eq!(fixed.tick(end, false), vec![AssignmentEvent::Ended]);
    assert_eq!((fixed.state, fixed.expired_date_time, fixed.is_active(end)), (AssignmentState::Expired, Some(end), false));
    assert_eq!(fixed.tick(end, false), vec![], "ended once");
    assert_eq!(fixed.next_due(false), None);
    // An extension starts the reminders over.
    a.extend(Some(IsoDuration::days(30).after(end)));
    assert_eq!(a.next_due(true), Some(IsoDuration::days(16).after(end)));
}

#[test]
fn a_role_granted_by_two_packages_stays_until_both_end() {
    let w = World::new();
    let role = *w.package.roles.iter().next().unwrap();
    let mut second = w.package.clone();
    second.id = PackageId::new();
    let packages = BTreeMap::from([(w.package.id, w.package.clone()), (second.id, second.clone())]);
    let alice = ObjectId::new();
    let mut first = assignment(w.package.id, alice, t0(), None);
    let other = assignment(second.id, alice, t0(), None);
    let held = grants([&first, &other], &packages, t0());
    assert_eq!(held, BTreeSet::from([(alice, role)]));
    first.end(t0());
    let diff = GrantDiff::between(&held, &grants([&first, &other], &packages, t0()));
    assert!(diff.is_empty(), "the other package still grants it");
    let diff = GrantDiff::between(&held, &grants([&first], &packages, t0()));
    assert_eq!(diff.revoke, BTreeSet::from([(alice, role)]));
}

#[test]
fn the_guest_lifecycle_blocks_then_deletes_and_an_organization_may_override_it() {
    let default = ExternalUserLifecycle::default();
    assert_eq!(default.plan(t0()), GuestPlan { block: true, delete_at: Some(IsoDuration::days(30).after(t0())) });
    let keep = ExternalUserLifecycle { external_user_lifecycle_action: LifecycleAction::None, ..default };
    assert_eq!(keep.plan(t0()), GuestPlan { block: false, delete_at: None });
    let block = ExternalUserLifecycle { external_user_lifecycle_action: LifecycleAction::BlockSignIn, ..default };
    assert_eq!(block.plan(t0()), GuestPlan { block: true, delete_at: None });
    let json = serde_json::to_value(default).unwrap();
    assert_eq!(json, serde_json::json!({"externalUserLifecycleAction": "blockSignInAndDelete", "durationUntilExternalUserDeletedAfterBlocked": "P30D"}));
    // The organization's override, when set, is the one that applies.
    let mut w = World::new();
    w.litware.external_user_lifecycle = Some(keep);
    let effective = w.litware.external_user_lifecycle.unwrap_or_default();
    assert!(!effective.plan(t0()).block);
}

#[derive(Debug, Clone)]
enum Op {
    Assign { user: usize, package: usize, days: Option<u8> },
    Remove { user: usize, package: usize },
    Extend { user: usize, package: usize, days: u8 },
    Advance { hours: u16 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..3usize, 0..3usize, proptest::option::of(1..20u8)).prop_map(|(user, package, days)| Op::Assign { user, package, days }),
        (0..3usize, 0..3usize).prop_map(|(user, package)| Op::Remove { user, package }),
        (0..3usize, 0..3usize, 1..20u8).prop_map(|(user, package, days)| Op::Extend { user, package, days }),
        (1..400u16).prop_map(|hours| Op::Advance { hours }),
    ]
}

proptest! {
    /// Roles kept up to date incrementally (only for the people an operation or the clock
    /// touched, from their own assignments) are exactly what the active assignments grant.
    #[test]
    fn a_person_holds_a_role_exactly_while_an_active_assignment_grants_it(ops in proptest::collection::vec(op(), 1..60)) {
        let users: Vec<ObjectId> = (0..3).map(|_| ObjectId::new()).collect();
        let groups: Vec<ObjectId> = (0..3).map(|_| ObjectId::new()).collect();
        let config = tenantsync_domain::SyncConfigId::new();
        let member = |g: usize| ResourceRole::new(ResourceOrigin::Group(groups[g]), RoleKind::Member).unwrap();
        let synced = ResourceRole::new(ResourceOrigin::SyncConfiguration(config), RoleKind::DefaultAccess).unwrap();
        // Overlapping packages: 0 → {A}, 1 → {A, synced}, 2 → {synced, C}.
        let roles = [vec![member(0)], vec![member(0), synced], vec![synced, member(2)]];
        let w = World::new();
        let packages: BTreeMap<PackageId, AccessPackage> = roles
            .iter()
            .map(|r| {
                let p = AccessPackage { id: PackageId::new(), roles: r.iter().copied().collect(), ..w.package.clone() };
                (p.id, p)
            })
            .collect();
        let ids: Vec<PackageId> = packages.keys().copied().collect();
        let mut now = t0();
        let mut assignments: Vec<Assignment> = Vec::new();
        let mut held: BTreeSet<(ObjectId, ResourceRole)> = BTreeSet::new();
        for op in ops {
            let mut touched = BTreeSet::new();
            match op {
                Op::Assign { user, package, days } => {
                    let (who, pkg) = (users[user], ids[package]);
                    if !assignments.iter().any(|a| a.target == who && a.access_package_id == pkg && a.is_active(now)) {
                        assignments.push(assignment(pkg, who, now, days.map(|d| IsoDuration::days(u64::from(d)).after(now))));
                        touched.insert(who);
                    }
                }
                Op::Remove { user, package } => {
                    let (who, pkg) = (users[user], ids[package]);
                    if let Some(a) = assignments.iter_mut().find(|a| a.target == who && a.access_package_id == pkg && a.is_active(now)) {
                        a.end(now);
                        touched.insert(who);
                    }
                }
                Op::Extend { user, package, days } => {
                    let (who, pkg) = (users[user], ids[package]);
                    if let Some(a) = assignments.iter_mut().find(|a| a.target == who && a.access_package_id == pkg && a.is_active(now))
                        && let Some(end) = a.schedule.end_date_time
                    {
                        a.extend(Some(IsoDuration::days(u64::from(days)).after(end)));
                    }
                }
                Op::Advance { hours } => {
                    now = IsoDuration::hours(u64::from(hours)).after(now);
                    for a in &mut assignments {
                        if a.tick(now, true).contains(&AssignmentEvent::Ended) {
                            touched.insert(a.target);
                        }
                    }
                }
            }
            for who in touched {
                let mine: BTreeSet<_> = held.iter().filter(|(u, _)| *u == who).copied().collect();
                let wanted = grants(assignments.iter().filter(|a| a.target == who), &packages, now);
                let diff = GrantDiff::between(&mine, &wanted);
                held.retain(|g| !diff.revoke.contains(g));
                held.extend(diff.grant);
            }
            prop_assert_eq!(&held, &grants(&assignments, &packages, now));
        }
    }
}
