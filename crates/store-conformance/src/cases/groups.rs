//! Groups: lifecycle and direct user members.
use crate::Fixture;
use crate::support::*;
use tenantsync_domain::{Anchor, AttrValue, ChangeCursor, ChangeOp, Clock, GroupPatch, ObjectId, ObjectKind, Origin, TenantId, Version};
use tenantsync_store::{StoreError, Visibility, WriteOp, WriteOutcome};

pub async fn create_get_and_find_by_anchor(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    tick(&f, 30);
    let mut n = new_group("Sales");
    n.attrs.description = Some("Everyone in sales".into());
    n.attrs.mail_nickname = Some("sales".into());
    n.attrs.security_enabled = false;
    let internal = f.store.create_group(t, n.clone()).await.unwrap();
    assert_eq!(internal.id, n.id);
    assert_eq!(internal.tenant_id, t);
    assert_eq!(internal.attrs, n.attrs);
    assert_eq!(internal.origin, Origin::Internal);
    assert_eq!(internal.anchor, None);
    assert_eq!(internal.version, Version::FIRST);
    assert_eq!(internal.created_date_time, f.clock.now());
    assert_eq!(internal.last_modified_date_time, f.clock.now());
    assert_eq!(internal.deleted_date_time, None);
    assert_eq!(f.store.get_group(t, n.id).await.unwrap(), internal);

    let anc = anchor();
    let mut e = new_group("Sales (Fabrikam)");
    e.anchor = Some(anc);
    let external = f.store.create_group(t, e).await.unwrap();
    assert_eq!(external.origin, Origin::External);
    assert_eq!(external.anchor, Some(anc));
    assert_eq!(f.store.find_group_by_anchor(t, &anc).await.unwrap(), Some(external.clone()));
    assert_eq!(f.store.find_group_by_anchor(t, &anchor()).await.unwrap(), None);
    assert_eq!(f.store.find_group_by_anchor(t, &Anchor::new(TenantId::new(), anc.object)).await.unwrap(), None);

    assert_changes(&changes_after(&f, t, ChangeCursor::START).await, &[Ch::group(ChangeOp::Create, internal.id), Ch::group(ChangeOp::Create, external.id)]);

    let before = snapshot(&f, t).await;
    let mut dup = new_group("Duplicate anchor");
    dup.anchor = Some(anc);
    assert_code(f.store.create_group(t, dup).await, "anchor_conflict");
    let mut dup_id = new_group("Duplicate id");
    dup_id.id = internal.id;
    assert_eq!(err(f.store.create_group(t, dup_id).await), StoreError::IdTaken { kind: ObjectKind::Group, id: internal.id });
    assert_unchanged(&f, t, &before, "a refused group create").await;
    let missing = ObjectId::new();
    assert_eq!(err(f.store.get_group(t, missing).await), StoreError::NotFound { kind: ObjectKind::Group, id: missing });
}

pub async fn update_records_only_changed_attributes(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let mut n = new_group("Sales");
    n.attrs.mail_nickname = Some("sales".into());
    let g = f.store.create_group(t, n).await.unwrap();
    let h = head(&f, t).await;
    tick(&f, 60);
    let patch = group_patch(&[
        ("displayName", text("Sales")),
        ("description", text("All of sales")),
        ("mailNickname", AttrValue::Null),
        ("securityEnabled", AttrValue::Bool(true)),
    ]);
    let up = f.store.update_group(t, g.id, patch, None).await.unwrap();
    assert_eq!(up.version, Version(2));
    assert_eq!(up.attrs.description.as_deref(), Some("All of sales"));
    assert_eq!(up.attrs.mail_nickname, None);
    assert_eq!(up.last_modified_date_time, f.clock.now());
    assert_eq!(up.created_date_time, g.created_date_time);
    assert_eq!(f.store.get_group(t, g.id).await.unwrap(), up);
    let changes = changes_after(&f, t, h).await;
    assert_changes(
        &changes,
        &[Ch::group(ChangeOp::Update, g.id).attr("description", AttrValue::Null, text("All of sales")).attr("mailNickname", text("sales"), AttrValue::Null)],
    );
    assert_changes_at_now(&f, &changes);

    // Nothing to change: same group, same version, no change.
    let before = snapshot(&f, t).await;
    tick(&f, 60);
    for patch in [group_patch(&[("displayName", text("Sales")), ("securityEnabled", text("true"))]), GroupPatch::default()] {
        assert_eq!(f.store.update_group(t, g.id, patch.clone(), Some(Version(2))).await.unwrap(), up, "{patch:?}");
    }
    assert_unchanged(&f, t, &before, "a group update that changes nothing").await;
    let missing = ObjectId::new();
    let e = err(f.store.update_group(t, missing, group_patch(&[("description", text("x"))]), None).await);
    assert_eq!(e, StoreError::NotFound { kind: ObjectKind::Group, id: missing });
}

pub async fn list_pages_and_visibility(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let mut ids: Vec<ObjectId> = (0..5).map(|_| ObjectId::new()).collect();
    ids.sort();
    for &i in &[4usize, 2, 0, 3, 1] {
        let mut n = new_group(&format!("Group {i}"));
        n.id = ids[i];
        f.store.create_group(t, n).await.unwrap();
    }
    f.store.apply_one(t, WriteOp::SoftDeleteGroup { id: ids[1], if_match: None }).await.unwrap();
    let active = vec![ids[0], ids[2], ids[3], ids[4]];
    assert_eq!(ids_of_groups(&all_groups(&f, t, Visibility::Active).await), active);
    assert_eq!(ids_of_groups(&all_groups(&f, t, Visibility::Deleted).await), vec![ids[1]]);
    assert_eq!(ids_of_groups(&all_groups(&f, t, Visibility::All).await), ids);

    let p = f.store.list_groups(t, &query(None, 2, Visibility::Active)).await.unwrap();
    assert_eq!(ids_of_groups(&p.items), active[..2].to_vec());
    assert!(p.next.is_some());
    let p = f.store.list_groups(t, &query(p.next, 2, Visibility::Active)).await.unwrap();
    assert_eq!(ids_of_groups(&p.items), active[2..].to_vec());
    let p = f.store.list_groups(t, &query(Some(ids[3]), 10, Visibility::All)).await.unwrap();
    assert_eq!(ids_of_groups(&p.items), vec![ids[4]]);
    assert_eq!(p.next, None);
}

pub async fn soft_delete_restore_and_hard_delete(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let g = f.store.create_group(t, new_group("Sales")).await.unwrap();
    let h = head(&f, t).await;
    tick(&f, 60);
    let d = f.store.apply_one(t, WriteOp::SoftDeleteGroup { id: g.id, if_match: Some(Version(1)) }).await.unwrap().into_group().unwrap();
    assert_eq!(d.deleted_date_time, Some(f.clock.now()));
    assert_eq!(d.version, Version(2));
    assert_eq!(d.attrs, g.attrs);
    assert_eq!(f.store.get_group(t, g.id).await.unwrap(), d, "a soft-deleted group is still found by id");
    assert_eq!(all_groups(&f, t, Visibility::Active).await, vec![]);
    assert_eq!(ids_of_groups(&all_groups(&f, t, Visibility::Deleted).await), vec![g.id]);
    let e = err(f.store.apply_one(t, WriteOp::SoftDeleteGroup { id: g.id, if_match: None }).await);
    assert_eq!(e, StoreError::ObjectDeleted { kind: ObjectKind::Group, id: g.id });

    tick(&f, 60);
    let r = f.store.apply_one(t, WriteOp::RestoreGroup { id: g.id, if_match: Some(Version(2)) }).await.unwrap().into_group().unwrap();
    assert_eq!(r.deleted_date_time, None);
    assert_eq!(r.version, Version(3));
    assert_eq!(ids_of_groups(&all_groups(&f, t, Visibility::Active).await), vec![g.id]);

    let out = f.store.apply_one(t, WriteOp::HardDeleteGroup { id: g.id, if_match: Some(Version(3)) }).await.unwrap();
    assert_eq!(out, WriteOutcome::HardDeleted { kind: ObjectKind::Group, id: g.id });
    assert_eq!(err(f.store.get_group(t, g.id).await), StoreError::NotFound { kind: ObjectKind::Group, id: g.id });
    assert_eq!(all_groups(&f, t, Visibility::All).await, vec![]);
    assert_changes(
        &changes_after(&f, t, h).await,
        &[Ch::group(ChangeOp::SoftDelete, g.id), Ch::group(ChangeOp::Restore, g.id), Ch::group(ChangeOp::HardDelete, g.id)],
    );
}

pub async fn soft_deleted_group_cannot_be_updated(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let g = f.store.create_group(t, new_group("Sales")).await.unwrap();
    f.store.apply_one(t, WriteOp::SoftDeleteGroup { id: g.id, if_match: None }).await.unwrap();
    let before = snapshot(&f, t).await;
    let e = err(f.store.update_group(t, g.id, group_patch(&[("description", text("x"))]), None).await);
    assert_eq!(e, StoreError::ObjectDeleted { kind: ObjectKind::Group, id: g.id });
    assert_unchanged(&f, t, &before, "updating a soft-deleted group").await;
}

pub async fn add_and_remove_members_with_changes(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let g = f.store.create_group(t, new_group("Sales")).await.unwrap();
    let a = f.store.create_user(t, new_user("a@contoso.example")).await.unwrap();
    let b = f.store.create_user(t, new_user("b@contoso.example")).await.unwrap();
    let h = head(&f, t).await;
    tick(&f, 60);
    f.store.apply_one(t, WriteOp::AddMember { group: g.id, user: a.id, if_match: None }).await.unwrap();
    f.store.apply_one(t, WriteOp::AddMember { group: g.id, user: b.id, if_match: Some(Version(2)) }).await.unwrap();
    let mut both = vec![a.id, b.id];
    both.sort();
    assert_eq!(member_ids(&f, t, g.id).await, both);
    assert_eq!(member_of(&f, t, a.id).await, vec![g.id]);
    assert_eq!(f.store.get_group(t, g.id).await.unwrap().version, Version(3));
    f.store.apply_one(t, WriteOp::RemoveMember { group: g.id, user: a.id, if_match: Some(Version(3)) }).await.unwrap();
    assert_eq!(member_ids(&f, t, g.id).await, vec![b.id]);
    assert_eq!(member_of(&f, t, a.id).await, vec![]);
    assert_eq!(f.store.get_group(t, g.id).await.unwrap().version, Version(4));
    let changes = changes_after(&f, t, h).await;
    assert_changes(&changes, &[Ch::member_add(g.id, a.id), Ch::member_add(g.id, b.id), Ch::member_remove(g.id, a.id)]);
    assert_changes_at_now(&f, &changes);
    // The users themselves are untouched by membership changes.
    assert_eq!(f.store.get_user(t, a.id).await.unwrap(), a);
}

pub async fn list_members_pages_in_id_order(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let g = f.store.create_group(t, new_group("Sales")).await.unwrap();
    let other = f.store.create_group(t, new_group("Other")).await.unwrap();
    let mut ids: Vec<ObjectId> = (0..6).map(|_| ObjectId::new()).collect();
    ids.sort();
    for &i in &[5usize, 1, 3, 0, 4, 2] {
        let mut n = new_user(&format!("u{i}@contoso.example"));
        n.id = ids[i];
        f.store.create_user(t, n).await.unwrap();
        // Added to the group out of id order too.
        f.store.apply_one(t, WriteOp::AddMember { group: g.id, user: ids[i], if_match: None }).await.unwrap();
    }
    let outsider = f.store.create_user(t, new_user("outsider@contoso.example")).await.unwrap();
    f.store.apply_one(t, WriteOp::AddMember { group: other.id, user: outsider.id, if_match: None }).await.unwrap();

    assert_eq!(member_ids(&f, t, g.id).await, ids);
    let p = f.store.list_members(t, g.id, &query(Some(ids[1]), 2, Visibility::Active)).await.unwrap();
    assert_eq!(ids_of_users(&p.items), ids[2..4].to_vec());
    assert!(p.next.is_some());
    let mut seen = Vec::new();
    let mut after = None;
    for round in 0.. {
        assert!(round < 10, "paging did not end");
        let p = f.store.list_members(t, g.id, &query(after, 4, Visibility::Active)).await.unwrap();
        seen.extend(ids_of_users(&p.items));
        match p.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(seen, ids);
    assert_eq!(member_ids(&f, t, other.id).await, vec![outsider.id]);
}

pub async fn member_exists_and_not_a_member(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let g = f.store.create_group(t, new_group("Sales")).await.unwrap();
    let a = f.store.create_user(t, new_user("a@contoso.example")).await.unwrap();
    let b = f.store.create_user(t, new_user("b@contoso.example")).await.unwrap();
    f.store.apply_one(t, WriteOp::AddMember { group: g.id, user: a.id, if_match: None }).await.unwrap();
    let before = snapshot(&f, t).await;
    let e = err(f.store.apply_one(t, WriteOp::AddMember { group: g.id, user: a.id, if_match: None }).await);
    assert_eq!(e, StoreError::MemberExists { group: g.id, user: a.id });
    let e = err(f.store.apply_one(t, WriteOp::RemoveMember { group: g.id, user: b.id, if_match: None }).await);
    assert_eq!(e, StoreError::NotAMember { group: g.id, user: b.id });
    assert_unchanged(&f, t, &before, "a refused membership change").await;
}

pub async fn soft_deleted_user_or_group_cannot_gain_members(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let g = f.store.create_group(t, new_group("Sales")).await.unwrap();
    let gone_group = f.store.create_group(t, new_group("Gone")).await.unwrap();
    let live = f.store.create_user(t, new_user("live@contoso.example")).await.unwrap();
    let gone = f.store.create_user(t, new_user("gone@contoso.example")).await.unwrap();
    f.store.apply_one(t, WriteOp::SoftDeleteUser { id: gone.id, if_match: None }).await.unwrap();
    f.store.apply_one(t, WriteOp::SoftDeleteGroup { id: gone_group.id, if_match: None }).await.unwrap();
    let before = snapshot(&f, t).await;
    let e = err(f.store.apply_one(t, WriteOp::AddMember { group: g.id, user: gone.id, if_match: None }).await);
    assert_eq!(e, StoreError::ObjectDeleted { kind: ObjectKind::User, id: gone.id });
    let e = err(f.store.apply_one(t, WriteOp::AddMember { group: gone_group.id, user: live.id, if_match: None }).await);
    assert_eq!(e, StoreError::ObjectDeleted { kind: ObjectKind::Group, id: gone_group.id });
    assert_unchanged(&f, t, &before, "adding members involving soft-deleted objects").await;
}

pub async fn membership_of_unknown_objects_is_not_found(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let g = f.store.create_group(t, new_group("Sales")).await.unwrap();
    let u = f.store.create_user(t, new_user("a@contoso.example")).await.unwrap();
    // A user of another tenant is unknown here.
    let t2 = tenant(&f, "fabrikam.example").await.id;
    let stranger = f.store.create_user(t2, new_user("s@fabrikam.example")).await.unwrap();
    let before = snapshot(&f, t).await;
    let missing = ObjectId::new();
    for (op, want) in [
        (WriteOp::AddMember { group: g.id, user: missing, if_match: None }, StoreError::NotFound { kind: ObjectKind::User, id: missing }),
        (WriteOp::AddMember { group: missing, user: u.id, if_match: None }, StoreError::NotFound { kind: ObjectKind::Group, id: missing }),
        (WriteOp::AddMember { group: g.id, user: stranger.id, if_match: None }, StoreError::NotFound { kind: ObjectKind::User, id: stranger.id }),
        (WriteOp::RemoveMember { group: missing, user: u.id, if_match: None }, StoreError::NotFound { kind: ObjectKind::Group, id: missing }),
    ] {
        assert_eq!(err(f.store.apply_one(t, op.clone()).await), want, "{op:?}");
    }
    assert_unchanged(&f, t, &before, "membership changes naming unknown objects").await;
}

pub async fn member_of_lists_direct_groups(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let u = f.store.create_user(t, new_user("a@contoso.example")).await.unwrap();
    let v = f.store.create_user(t, new_user("b@contoso.example")).await.unwrap();
    let mut groups = Vec::new();
    for i in 0..3 {
        groups.push(f.store.create_group(t, new_group(&format!("G{i}"))).await.unwrap().id);
    }
    assert_eq!(member_of(&f, t, u.id).await, vec![]);
    for &g in &groups[..2] {
        f.store.apply_one(t, WriteOp::AddMember { group: g, user: u.id, if_match: None }).await.unwrap();
    }
    f.store.apply_one(t, WriteOp::AddMember { group: groups[2], user: v.id, if_match: None }).await.unwrap();
    let mut want = groups[..2].to_vec();
    want.sort();
    assert_eq!(member_of(&f, t, u.id).await, want);
    assert_eq!(member_of(&f, t, v.id).await, vec![groups[2]]);
}

pub async fn hard_delete_group_removes_its_memberships(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let g = f.store.create_group(t, new_group("Sales")).await.unwrap();
    let keep = f.store.create_group(t, new_group("Keep")).await.unwrap();
    let u = f.store.create_user(t, new_user("a@contoso.example")).await.unwrap();
    for grp in [g.id, keep.id] {
        f.store.apply_one(t, WriteOp::AddMember { group: grp, user: u.id, if_match: None }).await.unwrap();
    }
    let h = head(&f, t).await;
    f.store.apply_one(t, WriteOp::HardDeleteGroup { id: g.id, if_match: None }).await.unwrap();
    assert_eq!(member_of(&f, t, u.id).await, vec![keep.id]);
    let changes = changes_after(&f, t, h).await;
    // The trait does not say whether deleting a group records a memberRemove for each
    // member; it must record the hardDelete, and nothing about other objects.
    assert!(changes.iter().any(|c| Ch::of(c) == Ch::group(ChangeOp::HardDelete, g.id)), "{changes:#?}");
    for c in &changes {
        let ch = Ch::of(c);
        assert!(ch == Ch::group(ChangeOp::HardDelete, g.id) || ch == Ch::member_remove(g.id, u.id), "unexpected change for a group hard delete: {c:?}");
    }
    assert_eq!(f.store.get_user(t, u.id).await.unwrap(), u);
    // Memberships in other groups stay.
    assert_eq!(member_ids(&f, t, keep.id).await, vec![u.id]);
}

pub async fn users_and_groups_are_distinct(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let u = f.store.create_user(t, new_user("a@contoso.example")).await.unwrap();
    let g = f.store.create_group(t, new_group("Sales")).await.unwrap();
    let before = snapshot(&f, t).await;
    assert_eq!(err(f.store.get_user(t, g.id).await), StoreError::NotFound { kind: ObjectKind::User, id: g.id });
    assert_eq!(err(f.store.get_group(t, u.id).await), StoreError::NotFound { kind: ObjectKind::Group, id: u.id });
    let e = err(f.store.apply_one(t, WriteOp::AddMember { group: u.id, user: g.id, if_match: None }).await);
    assert_eq!(e.code(), "not_found", "{e:?}");
    let e = err(f.store.apply_one(t, WriteOp::SoftDeleteGroup { id: u.id, if_match: None }).await);
    assert_eq!(e, StoreError::NotFound { kind: ObjectKind::Group, id: u.id });
    let e = err(f.store.apply_one(t, WriteOp::HardDeleteUser { id: g.id, if_match: None }).await);
    assert_eq!(e, StoreError::NotFound { kind: ObjectKind::User, id: g.id });
    assert_unchanged(&f, t, &before, "writes naming an object of the other kind").await;
}
