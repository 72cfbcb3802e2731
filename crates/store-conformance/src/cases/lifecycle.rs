//! The user lifecycle: soft delete, restore, hard delete, purge.
use crate::Fixture;
use crate::support::*;
use tenantsync_domain::{ChangeCursor, ChangeOp, Clock, ObjectKind, UserRef, Version};
use tenantsync_store::{StoreError, Visibility, WriteOp, WriteOutcome};

pub async fn soft_delete_hides_user_and_keeps_upn_reserved(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let mut a = new_user("alice@contoso.example");
    a.attrs.department = Some("Sales".into());
    let alice = f.store.create_user(t, a).await.unwrap();
    let bob = f.store.create_user(t, new_user("bob@contoso.example")).await.unwrap();
    let h = head(&f, t).await;
    tick(&f, 3600);
    let out = f.store.apply_one(t, WriteOp::SoftDeleteUser { id: alice.id, if_match: None }).await.unwrap();
    let deleted = out.into_user().unwrap();
    assert_eq!(deleted.deleted_date_time, Some(f.clock.now()), "deletedDateTime comes from the store's clock");
    assert!(deleted.is_deleted());
    assert_eq!(deleted.version, Version(2));
    assert_eq!(deleted.attrs, alice.attrs, "a soft-deleted user keeps its attributes");
    assert_eq!(deleted.created_date_time, alice.created_date_time);
    let changes = changes_after(&f, t, h).await;
    assert_changes(&changes, &[Ch::user(ChangeOp::SoftDelete, alice.id)]);
    assert_changes_at_now(&f, &changes);

    assert_eq!(f.store.get_user(t, alice.id).await.unwrap(), deleted, "found by id with deletedDateTime set");
    assert_eq!(ids_of_users(&all_users(&f, t, Visibility::Active).await), vec![bob.id], "hidden from the normal listing");
    assert_eq!(ids_of_users(&all_users(&f, t, Visibility::Deleted).await), vec![alice.id]);
    assert_eq!(f.store.count_users(t, Visibility::Active).await.unwrap(), 1);
    assert_eq!(f.store.count_users(t, Visibility::Deleted).await.unwrap(), 1);
    assert_eq!(f.store.find_user_by_upn(t, &upn("Alice@contoso.example")).await.unwrap(), Some(deleted.clone()));

    let before = snapshot(&f, t).await;
    assert_code(f.store.create_user(t, new_user("ALICE@contoso.example")).await, "upn_conflict");
    assert_code(f.store.update_user(t, bob.id, user_patch(&[("userPrincipalName", text("alice@contoso.example"))]), None).await, "upn_conflict");
    assert_unchanged(&f, t, &before, "taking the UPN of a soft-deleted user").await;
}

pub async fn soft_deleted_user_cannot_be_updated(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let u = f.store.create_user(t, new_user("alice@contoso.example")).await.unwrap();
    let d = f.store.apply_one(t, WriteOp::SoftDeleteUser { id: u.id, if_match: None }).await.unwrap().into_user().unwrap();
    let before = snapshot(&f, t).await;
    let want = StoreError::ObjectDeleted { kind: ObjectKind::User, id: u.id };
    for if_match in [None, Some(d.version)] {
        let e = err(f.store.update_user(t, u.id, user_patch(&[("city", text("Oslo"))]), if_match).await);
        assert_eq!(e, want);
    }
    assert_unchanged(&f, t, &before, "updating a soft-deleted user").await;
}

pub async fn soft_delete_of_a_deleted_user_is_object_deleted(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let u = f.store.create_user(t, new_user("alice@contoso.example")).await.unwrap();
    f.store.apply_one(t, WriteOp::SoftDeleteUser { id: u.id, if_match: None }).await.unwrap();
    let before = snapshot(&f, t).await;
    let e = err(f.store.apply_one(t, WriteOp::SoftDeleteUser { id: u.id, if_match: None }).await);
    assert_eq!(e, StoreError::ObjectDeleted { kind: ObjectKind::User, id: u.id });
    assert_unchanged(&f, t, &before, "soft-deleting a soft-deleted user").await;
}

pub async fn restore_brings_the_user_back(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let mut n = full_user("alice@contoso.example");
    n.anchor = Some(anchor());
    let u = f.store.create_user(t, n).await.unwrap();
    tick(&f, 60);
    f.store.apply_one(t, WriteOp::SoftDeleteUser { id: u.id, if_match: Some(Version(1)) }).await.unwrap();
    tick(&f, 60);
    let h = head(&f, t).await;
    let r = f.store.apply_one(t, WriteOp::RestoreUser { id: u.id, if_match: Some(Version(2)) }).await.unwrap().into_user().unwrap();
    assert_eq!(r.deleted_date_time, None);
    assert_eq!(r.version, Version(3));
    assert_eq!(r.attrs, u.attrs, "a restored user has its attributes back");
    assert_eq!(r.anchor, u.anchor);
    assert_eq!(r.origin, u.origin);
    assert_eq!(r.created_date_time, u.created_date_time);
    assert_eq!(f.store.get_user(t, u.id).await.unwrap(), r);
    assert_eq!(ids_of_users(&all_users(&f, t, Visibility::Active).await), vec![u.id]);
    assert_eq!(all_users(&f, t, Visibility::Deleted).await, vec![]);
    let changes = changes_after(&f, t, h).await;
    assert_changes(&changes, &[Ch::user(ChangeOp::Restore, u.id)]);
    assert_changes_at_now(&f, &changes);
    // Live again: it can be updated.
    let up = f.store.update_user(t, u.id, user_patch(&[("city", text("Bergen"))]), Some(Version(3))).await.unwrap();
    assert_eq!(up.version, Version(4));
}

pub async fn restore_of_a_live_user_is_not_deleted(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let u = f.store.create_user(t, new_user("alice@contoso.example")).await.unwrap();
    let g = f.store.create_group(t, new_group("Sales")).await.unwrap();
    let before = snapshot(&f, t).await;
    let e = err(f.store.apply_one(t, WriteOp::RestoreUser { id: u.id, if_match: None }).await);
    assert_eq!(e, StoreError::NotDeleted { kind: ObjectKind::User, id: u.id });
    let e = err(f.store.apply_one(t, WriteOp::RestoreUser { id: u.id, if_match: Some(u.version) }).await);
    assert_eq!(e, StoreError::NotDeleted { kind: ObjectKind::User, id: u.id });
    let e = err(f.store.apply_one(t, WriteOp::RestoreGroup { id: g.id, if_match: None }).await);
    assert_eq!(e, StoreError::NotDeleted { kind: ObjectKind::Group, id: g.id });
    assert_unchanged(&f, t, &before, "restoring a live object").await;
}

pub async fn soft_deleted_member_is_hidden_and_returns_on_restore(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let g = f.store.create_group(t, new_group("Sales")).await.unwrap();
    let a = f.store.create_user(t, new_user("a@contoso.example")).await.unwrap();
    let b = f.store.create_user(t, new_user("b@contoso.example")).await.unwrap();
    for u in [a.id, b.id] {
        f.store.apply_one(t, WriteOp::AddMember { group: g.id, user: u, if_match: None }).await.unwrap();
    }
    let mut both = vec![a.id, b.id];
    both.sort();
    assert_eq!(member_ids(&f, t, g.id).await, both);
    let h = head(&f, t).await;
    f.store.apply_one(t, WriteOp::SoftDeleteUser { id: a.id, if_match: None }).await.unwrap();
    assert_eq!(member_ids(&f, t, g.id).await, vec![b.id], "soft-deleted users are hidden from the members list");
    f.store.apply_one(t, WriteOp::RestoreUser { id: a.id, if_match: None }).await.unwrap();
    assert_eq!(member_ids(&f, t, g.id).await, both, "a restored user is a member again");
    assert_eq!(member_of(&f, t, a.id).await, vec![g.id]);
    // Soft delete and restore keep memberships, so they record no membership changes.
    assert_changes(&changes_after(&f, t, h).await, &[Ch::user(ChangeOp::SoftDelete, a.id), Ch::user(ChangeOp::Restore, a.id)]);
}

pub async fn hard_delete_removes_memberships_and_clears_reports(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let boss = f.store.create_user(t, new_user("boss@contoso.example")).await.unwrap();
    let other = f.store.create_user(t, new_user("other@contoso.example")).await.unwrap();
    let mut reports = Vec::new();
    for i in 0..2 {
        let mut n = new_user(&format!("r{i}@contoso.example"));
        n.manager = Some(UserRef::Id(boss.id));
        reports.push(f.store.create_user(t, n).await.unwrap());
    }
    let mut n = new_user("r-other@contoso.example");
    n.manager = Some(UserRef::Id(other.id));
    let other_report = f.store.create_user(t, n).await.unwrap();
    let g1 = f.store.create_group(t, new_group("One")).await.unwrap();
    let g2 = f.store.create_group(t, new_group("Two")).await.unwrap();
    for (g, u) in [(g1.id, boss.id), (g2.id, boss.id), (g1.id, other.id)] {
        f.store.apply_one(t, WriteOp::AddMember { group: g, user: u, if_match: None }).await.unwrap();
    }
    let h = head(&f, t).await;
    tick(&f, 60);

    let out = f.store.apply_one(t, WriteOp::HardDeleteUser { id: boss.id, if_match: Some(boss.version) }).await.unwrap();
    assert_eq!(out, WriteOutcome::HardDeleted { kind: ObjectKind::User, id: boss.id });
    let changes = changes_after(&f, t, h).await;
    // The trait does not fix the order of these changes within the write.
    assert_changes_any_order(
        &changes,
        &[
            Ch::member_remove(g1.id, boss.id),
            Ch::member_remove(g2.id, boss.id),
            Ch::manager_cleared(reports[0].id, boss.id),
            Ch::manager_cleared(reports[1].id, boss.id),
            Ch::user(ChangeOp::HardDelete, boss.id),
        ],
    );
    assert_changes_at_now(&f, &changes);

    assert_eq!(err(f.store.get_user(t, boss.id).await), StoreError::NotFound { kind: ObjectKind::User, id: boss.id });
    assert_eq!(f.store.find_user_by_upn(t, &upn("boss@contoso.example")).await.unwrap(), None);
    for r in &reports {
        assert_eq!(f.store.get_user(t, r.id).await.unwrap().attrs.manager, None, "reports lose their manager");
    }
    assert_eq!(f.store.get_user(t, other_report.id).await.unwrap(), other_report, "other reports are untouched");
    assert_eq!(member_ids(&f, t, g1.id).await, vec![other.id]);
    assert_eq!(member_ids(&f, t, g2.id).await, vec![]);
    assert_eq!(member_of(&f, t, other.id).await, vec![g1.id]);
    assert_eq!(all_users(&f, t, Visibility::All).await.len(), 4);
}

pub async fn hard_delete_frees_the_upn(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let live = f.store.create_user(t, new_user("alice@contoso.example")).await.unwrap();
    f.store.apply_one(t, WriteOp::HardDeleteUser { id: live.id, if_match: None }).await.unwrap();
    let again = f.store.create_user(t, new_user("Alice@contoso.example")).await.unwrap();
    assert_ne!(again.id, live.id);
    assert_eq!(f.store.find_user_by_upn(t, &upn("alice@contoso.example")).await.unwrap(), Some(again.clone()));

    f.store.apply_one(t, WriteOp::SoftDeleteUser { id: again.id, if_match: None }).await.unwrap();
    f.store.apply_one(t, WriteOp::HardDeleteUser { id: again.id, if_match: None }).await.unwrap();
    let third = f.store.create_user(t, new_user("alice@contoso.example")).await.unwrap();
    assert_eq!(f.store.find_user_by_upn(t, &upn("alice@contoso.example")).await.unwrap(), Some(third));
}

pub async fn hard_delete_of_a_soft_deleted_user(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let u = f.store.create_user(t, new_user("alice@contoso.example")).await.unwrap();
    f.store.apply_one(t, WriteOp::SoftDeleteUser { id: u.id, if_match: None }).await.unwrap();
    let h = head(&f, t).await;
    let out = f.store.apply_one(t, WriteOp::HardDeleteUser { id: u.id, if_match: Some(Version(2)) }).await.unwrap();
    assert_eq!(out, WriteOutcome::HardDeleted { kind: ObjectKind::User, id: u.id });
    assert_changes(&changes_after(&f, t, h).await, &[Ch::user(ChangeOp::HardDelete, u.id)]);
    assert_eq!(all_users(&f, t, Visibility::All).await, vec![]);
    assert_eq!(f.store.count_users(t, Visibility::Deleted).await.unwrap(), 0);
    assert_eq!(err(f.store.get_user(t, u.id).await), StoreError::NotFound { kind: ObjectKind::User, id: u.id });
    let e = err(f.store.apply_one(t, WriteOp::RestoreUser { id: u.id, if_match: None }).await);
    assert_eq!(e, StoreError::NotFound { kind: ObjectKind::User, id: u.id }, "a hard-deleted user cannot be restored");
}

pub async fn purge_removes_only_objects_deleted_before_cutoff(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let start = f.clock.now();
    let early_user = f.store.create_user(t, new_user("early@contoso.example")).await.unwrap();
    let late_user = f.store.create_user(t, new_user("late@contoso.example")).await.unwrap();
    let live_user = f.store.create_user(t, new_user("live@contoso.example")).await.unwrap();
    let early_group = f.store.create_group(t, new_group("Early")).await.unwrap();
    let late_group = f.store.create_group(t, new_group("Late")).await.unwrap();
    let live_group = f.store.create_group(t, new_group("Live")).await.unwrap();
    // Deleted on day 0.
    f.store.apply_one(t, WriteOp::SoftDeleteUser { id: early_user.id, if_match: None }).await.unwrap();
    f.store.apply_one(t, WriteOp::SoftDeleteGroup { id: early_group.id, if_match: None }).await.unwrap();
    // Deleted on day 10.
    tick(&f, 10 * DAY_SECONDS);
    f.store.apply_one(t, WriteOp::SoftDeleteUser { id: late_user.id, if_match: None }).await.unwrap();
    f.store.apply_one(t, WriteOp::SoftDeleteGroup { id: late_group.id, if_match: None }).await.unwrap();
    tick(&f, DAY_SECONDS);

    // A cutoff before every deletion purges nothing.
    let before = snapshot(&f, t).await;
    assert_eq!(f.store.purge_deleted(t, start.checked_sub(jiff::SignedDuration::from_secs(1)).unwrap()).await.unwrap(), 0);
    assert_unchanged(&f, t, &before, "a purge with nothing to purge").await;

    // Day 5: only what was deleted on day 0.
    let h = head(&f, t).await;
    let cutoff = start.checked_add(jiff::SignedDuration::from_secs(5 * DAY_SECONDS)).unwrap();
    assert_eq!(f.store.purge_deleted(t, cutoff).await.unwrap(), 2);
    let changes = changes_after(&f, t, h).await;
    assert_changes_any_order(&changes, &[Ch::user(ChangeOp::HardDelete, early_user.id), Ch::group(ChangeOp::HardDelete, early_group.id)]);
    assert_changes_at_now(&f, &changes);
    assert_eq!(err(f.store.get_user(t, early_user.id).await), StoreError::NotFound { kind: ObjectKind::User, id: early_user.id });
    assert_eq!(err(f.store.get_group(t, early_group.id).await), StoreError::NotFound { kind: ObjectKind::Group, id: early_group.id });
    assert!(f.store.get_user(t, late_user.id).await.unwrap().is_deleted());
    assert!(f.store.get_group(t, late_group.id).await.unwrap().is_deleted());
    assert_eq!(f.store.get_user(t, live_user.id).await.unwrap(), live_user);
    assert_eq!(f.store.get_group(t, live_group.id).await.unwrap(), live_group);
    assert_eq!(f.store.find_user_by_upn(t, &upn("early@contoso.example")).await.unwrap(), None);

    // The same cutoff again: nothing left to purge.
    let before = snapshot(&f, t).await;
    assert_eq!(f.store.purge_deleted(t, cutoff).await.unwrap(), 0);
    assert_unchanged(&f, t, &before, "a second purge with the same cutoff").await;

    // Now: the rest of the recycle bin.
    let h = head(&f, t).await;
    assert_eq!(f.store.purge_deleted(t, f.clock.now()).await.unwrap(), 2);
    assert_changes_any_order(&changes_after(&f, t, h).await, &[Ch::user(ChangeOp::HardDelete, late_user.id), Ch::group(ChangeOp::HardDelete, late_group.id)]);
    assert_eq!(ids_of_users(&all_users(&f, t, Visibility::All).await), vec![live_user.id]);
    assert_eq!(ids_of_groups(&all_groups(&f, t, Visibility::All).await), vec![live_group.id]);
    assert_eq!(head(&f, t).await, ChangeCursor(h.0 + 2));
}

pub async fn purge_of_a_user_cleans_memberships_and_reports(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let boss = f.store.create_user(t, new_user("boss@contoso.example")).await.unwrap();
    let mut n = new_user("report@contoso.example");
    n.manager = Some(UserRef::Upn(upn("boss@contoso.example")));
    let report = f.store.create_user(t, n).await.unwrap();
    let g = f.store.create_group(t, new_group("Sales")).await.unwrap();
    for u in [boss.id, report.id] {
        f.store.apply_one(t, WriteOp::AddMember { group: g.id, user: u, if_match: None }).await.unwrap();
    }
    f.store.apply_one(t, WriteOp::SoftDeleteUser { id: boss.id, if_match: None }).await.unwrap();
    tick(&f, 31 * DAY_SECONDS);
    let h = head(&f, t).await;
    let cutoff = f.clock.now().checked_sub(jiff::SignedDuration::from_secs(30 * DAY_SECONDS)).unwrap();
    assert_eq!(f.store.purge_deleted(t, cutoff).await.unwrap(), 1);
    let changes = changes_after(&f, t, h).await;
    assert_changes_any_order(&changes, &[Ch::member_remove(g.id, boss.id), Ch::manager_cleared(report.id, boss.id), Ch::user(ChangeOp::HardDelete, boss.id)]);
    assert_changes_at_now(&f, &changes);
    assert_eq!(f.store.get_user(t, report.id).await.unwrap().attrs.manager, None);
    assert_eq!(member_ids(&f, t, g.id).await, vec![report.id]);
    assert_eq!(member_of(&f, t, report.id).await, vec![g.id]);
    assert!(!f.store.get_group(t, g.id).await.unwrap().is_deleted());
}

pub async fn purge_keeps_objects_deleted_exactly_at_cutoff(f: Fixture) {
    // "soft-deleted before `cutoff`": an object deleted at the cutoff itself stays.
    let t = tenant(&f, "contoso.example").await.id;
    let u = f.store.create_user(t, new_user("a@contoso.example")).await.unwrap();
    let g = f.store.create_group(t, new_group("Sales")).await.unwrap();
    tick(&f, 60);
    let at = f.clock.now();
    f.store.apply_one(t, WriteOp::SoftDeleteUser { id: u.id, if_match: None }).await.unwrap();
    f.store.apply_one(t, WriteOp::SoftDeleteGroup { id: g.id, if_match: None }).await.unwrap();
    tick(&f, DAY_SECONDS);
    let before = snapshot(&f, t).await;
    assert_eq!(f.store.purge_deleted(t, at).await.unwrap(), 0);
    assert_unchanged(&f, t, &before, "a purge at the exact deletion time").await;
    assert_eq!(f.store.purge_deleted(t, at.checked_add(jiff::SignedDuration::from_millis(1)).unwrap()).await.unwrap(), 2);
    assert_eq!(all_users(&f, t, Visibility::All).await, vec![]);
}
