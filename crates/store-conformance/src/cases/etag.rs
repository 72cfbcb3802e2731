//! Optimistic concurrency: every write that takes `if_match` refuses a version other
//! than the current one with `version_mismatch` and changes nothing (object, version,
//! memberships, change feed); with the current version it succeeds and the version
//! grows by one.
use crate::Fixture;
use crate::support::*;
use tenantsync_domain::{ChangeOp, Clock, ObjectId, ObjectKind, TenantId, Version};
use tenantsync_store::{BatchMode, StoreError, WriteOp, WriteOutcome};

/// Sends `make(stale)` for versions just below and just above `current`, atomically and
/// independently, and checks each is refused exactly and leaves the tenant unchanged.
async fn refuses_other_versions(f: &Fixture, t: TenantId, kind: ObjectKind, id: ObjectId, current: Version, make: &dyn Fn(Option<Version>) -> WriteOp) {
    let before = snapshot(f, t).await;
    for wrong in [Version(current.0 - 1), Version(current.0 + 1)] {
        let want = StoreError::VersionMismatch { kind, id, expected: wrong, actual: current };
        let e = err(f.store.apply_one(t, make(Some(wrong))).await);
        assert_eq!(e, want, "{:?} with if_match {wrong}", make(Some(wrong)));
        let results = f.store.apply(t, vec![make(Some(wrong))], BatchMode::Independent).await.unwrap();
        assert_eq!(results.len(), 1);
        let e = err(results.into_iter().next().unwrap());
        assert_eq!(e, want, "independently applied");
    }
    assert_unchanged(f, t, &before, "a write with a wrong version").await;
}

async fn setup_user(f: &Fixture) -> (TenantId, ObjectId) {
    let t = tenant(f, "contoso.example").await.id;
    let u = f.store.create_user(t, new_user("alice@contoso.example")).await.unwrap();
    let u = f.store.update_user(t, u.id, user_patch(&[("city", text("Oslo"))]), Some(Version(1))).await.unwrap();
    assert_eq!(u.version, Version(2));
    (t, u.id)
}

async fn setup_group(f: &Fixture) -> (TenantId, ObjectId) {
    let t = tenant(f, "contoso.example").await.id;
    let g = f.store.create_group(t, new_group("Sales")).await.unwrap();
    let g = f.store.update_group(t, g.id, group_patch(&[("description", text("All of sales"))]), Some(Version(1))).await.unwrap();
    assert_eq!(g.version, Version(2));
    (t, g.id)
}

pub async fn update_user(f: Fixture) {
    let (t, id) = setup_user(&f).await;
    let make = |v| WriteOp::UpdateUser { id, patch: user_patch(&[("city", text("Bergen"))]), if_match: v };
    refuses_other_versions(&f, t, ObjectKind::User, id, Version(2), &make).await;
    let h = head(&f, t).await;
    let u = f.store.apply_one(t, make(Some(Version(2)))).await.unwrap().into_user().unwrap();
    assert_eq!(u.version, Version(3));
    assert_eq!(u.attrs.city.as_deref(), Some("Bergen"));
    assert_eq!(f.store.get_user(t, id).await.unwrap(), u);
    assert_changes(&changes_after(&f, t, h).await, &[Ch::user(ChangeOp::Update, id).attr("city", text("Oslo"), text("Bergen"))]);
}

pub async fn soft_delete_user(f: Fixture) {
    let (t, id) = setup_user(&f).await;
    let make = |v| WriteOp::SoftDeleteUser { id, if_match: v };
    refuses_other_versions(&f, t, ObjectKind::User, id, Version(2), &make).await;
    let h = head(&f, t).await;
    let u = f.store.apply_one(t, make(Some(Version(2)))).await.unwrap().into_user().unwrap();
    assert_eq!(u.version, Version(3));
    assert_eq!(u.deleted_date_time, Some(f.clock.now()));
    assert_eq!(f.store.get_user(t, id).await.unwrap(), u);
    assert_changes(&changes_after(&f, t, h).await, &[Ch::user(ChangeOp::SoftDelete, id)]);
}

pub async fn restore_user(f: Fixture) {
    let (t, id) = setup_user(&f).await;
    f.store.apply_one(t, WriteOp::SoftDeleteUser { id, if_match: Some(Version(2)) }).await.unwrap();
    let make = |v| WriteOp::RestoreUser { id, if_match: v };
    refuses_other_versions(&f, t, ObjectKind::User, id, Version(3), &make).await;
    let h = head(&f, t).await;
    let u = f.store.apply_one(t, make(Some(Version(3)))).await.unwrap().into_user().unwrap();
    assert_eq!(u.version, Version(4));
    assert_eq!(u.deleted_date_time, None);
    assert_eq!(f.store.get_user(t, id).await.unwrap(), u);
    assert_changes(&changes_after(&f, t, h).await, &[Ch::user(ChangeOp::Restore, id)]);
}

pub async fn hard_delete_user(f: Fixture) {
    let (t, id) = setup_user(&f).await;
    let make = |v| WriteOp::HardDeleteUser { id, if_match: v };
    refuses_other_versions(&f, t, ObjectKind::User, id, Version(2), &make).await;
    let h = head(&f, t).await;
    let out = f.store.apply_one(t, make(Some(Version(2)))).await.unwrap();
    assert_eq!(out, WriteOutcome::HardDeleted { kind: ObjectKind::User, id });
    assert_eq!(err(f.store.get_user(t, id).await), StoreError::NotFound { kind: ObjectKind::User, id });
    assert_changes(&changes_after(&f, t, h).await, &[Ch::user(ChangeOp::HardDelete, id)]);
}

pub async fn update_group(f: Fixture) {
    let (t, id) = setup_group(&f).await;
    let make = |v| WriteOp::UpdateGroup { id, patch: group_patch(&[("displayName", text("Sales EMEA"))]), if_match: v };
    refuses_other_versions(&f, t, ObjectKind::Group, id, Version(2), &make).await;
    let h = head(&f, t).await;
    let g = f.store.apply_one(t, make(Some(Version(2)))).await.unwrap().into_group().unwrap();
    assert_eq!(g.version, Version(3));
    assert_eq!(g.attrs.display_name, "Sales EMEA");
    assert_eq!(f.store.get_group(t, id).await.unwrap(), g);
    assert_changes(&changes_after(&f, t, h).await, &[Ch::group(ChangeOp::Update, id).attr("displayName", text("Sales"), text("Sales EMEA"))]);
}

pub async fn soft_delete_group(f: Fixture) {
    let (t, id) = setup_group(&f).await;
    let make = |v| WriteOp::SoftDeleteGroup { id, if_match: v };
    refuses_other_versions(&f, t, ObjectKind::Group, id, Version(2), &make).await;
    let h = head(&f, t).await;
    let g = f.store.apply_one(t, make(Some(Version(2)))).await.unwrap().into_group().unwrap();
    assert_eq!(g.version, Version(3));
    assert_eq!(g.deleted_date_time, Some(f.clock.now()));
    assert_eq!(f.store.get_group(t, id).await.unwrap(), g);
    assert_changes(&changes_after(&f, t, h).await, &[Ch::group(ChangeOp::SoftDelete, id)]);
}

pub async fn restore_group(f: Fixture) {
    let (t, id) = setup_group(&f).await;
    f.store.apply_one(t, WriteOp::SoftDeleteGroup { id, if_match: Some(Version(2)) }).await.unwrap();
    let make = |v| WriteOp::RestoreGroup { id, if_match: v };
    refuses_other_versions(&f, t, ObjectKind::Group, id, Version(3), &make).await;
    let h = head(&f, t).await;
    let g = f.store.apply_one(t, make(Some(Version(3)))).await.unwrap().into_group().unwrap();
    assert_eq!(g.version, Version(4));
    assert_eq!(g.deleted_date_time, None);
    assert_eq!(f.store.get_group(t, id).await.unwrap(), g);
    assert_changes(&changes_after(&f, t, h).await, &[Ch::group(ChangeOp::Restore, id)]);
}

pub async fn hard_delete_group(f: Fixture) {
    let (t, id) = setup_group(&f).await;
    let make = |v| WriteOp::HardDeleteGroup { id, if_match: v };
    refuses_other_versions(&f, t, ObjectKind::Group, id, Version(2), &make).await;
    let h = head(&f, t).await;
    let out = f.store.apply_one(t, make(Some(Version(2)))).await.unwrap();
    assert_eq!(out, WriteOutcome::HardDeleted { kind: ObjectKind::Group, id });
    assert_eq!(err(f.store.get_group(t, id).await), StoreError::NotFound { kind: ObjectKind::Group, id });
    assert_changes(&changes_after(&f, t, h).await, &[Ch::group(ChangeOp::HardDelete, id)]);
}

pub async fn add_member(f: Fixture) {
    let (t, group) = setup_group(&f).await;
    let user = f.store.create_user(t, new_user("alice@contoso.example")).await.unwrap();
    let make = |v| WriteOp::AddMember { group, user: user.id, if_match: v };
    refuses_other_versions(&f, t, ObjectKind::Group, group, Version(2), &make).await;
    let h = head(&f, t).await;
    f.store.apply_one(t, make(Some(Version(2)))).await.unwrap();
    assert_eq!(f.store.get_group(t, group).await.unwrap().version, Version(3), "a membership change is a write to the group");
    assert_eq!(member_ids(&f, t, group).await, vec![user.id]);
    assert_changes(&changes_after(&f, t, h).await, &[Ch::member_add(group, user.id)]);
}

pub async fn remove_member(f: Fixture) {
    let (t, group) = setup_group(&f).await;
    let user = f.store.create_user(t, new_user("alice@contoso.example")).await.unwrap();
    f.store.apply_one(t, WriteOp::AddMember { group, user: user.id, if_match: Some(Version(2)) }).await.unwrap();
    let make = |v| WriteOp::RemoveMember { group, user: user.id, if_match: v };
    refuses_other_versions(&f, t, ObjectKind::Group, group, Version(3), &make).await;
    let h = head(&f, t).await;
    f.store.apply_one(t, make(Some(Version(3)))).await.unwrap();
    assert_eq!(f.store.get_group(t, group).await.unwrap().version, Version(4));
    assert_eq!(member_ids(&f, t, group).await, vec![]);
    assert_changes(&changes_after(&f, t, h).await, &[Ch::member_remove(group, user.id)]);
}
