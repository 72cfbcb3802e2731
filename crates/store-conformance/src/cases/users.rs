//! Users: create, lookups, uniqueness, origin, manager, updates, listing, counting.
use crate::Fixture;
use crate::support::*;
use tenantsync_domain::{AttrValue, ChangeCursor, ChangeOp, Clock, ObjectId, ObjectKind, Origin, UserPatch, UserRef, UserType, Version};
use tenantsync_store::{Fields, ListQuery, StoreError, Visibility, WriteOp};

pub async fn create_round_trips_every_attribute(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let new = full_user("Full.Person@contoso.example");
    let created = f.store.create_user(t, new.clone()).await.unwrap();
    assert_eq!(created.id, new.id);
    assert_eq!(created.tenant_id, t);
    assert_eq!(created.attrs, new.attrs, "every attribute must be stored as given");
    let got = f.store.get_user(t, new.id).await.unwrap();
    assert_eq!(got, created, "get_user must return what create_user returned");
    assert_eq!(got.attrs.user_principal_name.as_str(), "Full.Person@contoso.example", "UPN case is kept as given");
    assert_eq!(got.attrs.user_type, UserType::Guest);
    assert!(!got.attrs.account_enabled);

    // And a minimal user: every optional attribute absent.
    let min = f.store.create_user(t, new_user("min@contoso.example")).await.unwrap();
    assert_eq!(f.store.get_user(t, min.id).await.unwrap().attrs, new_user("min@contoso.example").attrs);
}

pub async fn create_sets_version_timestamps_and_one_create_change(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    tick(&f, 3600);
    let u = f.store.create_user(t, new_user("alice@contoso.example")).await.unwrap();
    assert_eq!(u.version, Version::FIRST);
    assert_eq!(u.created_date_time, f.clock.now());
    assert_eq!(u.last_modified_date_time, f.clock.now());
    assert_eq!(u.deleted_date_time, None);
    assert!(!u.is_deleted());
    assert_eq!(u.origin, Origin::Internal);
    assert_eq!(u.anchor, None);
    let changes = changes_after(&f, t, ChangeCursor::START).await;
    assert_changes(&changes, &[Ch::user(ChangeOp::Create, u.id)]);
    assert_eq!(changes[0].seq, 1);
    assert_changes_at_now(&f, &changes);
    assert_eq!(head(&f, t).await, ChangeCursor(1));
}

/// A listing of `Fields::Sync` carries every attribute, the anchor and the deletion of
/// each user as a whole listing does (a store may leave the version and times out).
pub async fn a_sync_listing_carries_what_a_sync_reads(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let full = f.store.create_user(t, full_user("Full.Person@contoso.example")).await.unwrap();
    let mut min = new_user("min@contoso.example");
    min.manager = Some(tenantsync_domain::UserRef::Id(full.id));
    let min = f.store.create_user(t, min).await.unwrap();
    let mut copy = new_user("copy@contoso.example");
    copy.anchor = Some(anchor());
    let copy = f.store.create_user(t, copy).await.unwrap();
    f.store.apply_one(t, WriteOp::SoftDeleteUser { id: min.id, if_match: None }).await.unwrap();
    let whole = f.store.list_users(t, &query(None, 10, Visibility::All)).await.unwrap();
    let sync = f.store.list_users(t, &ListQuery { fields: Fields::Sync, ..query(None, 10, Visibility::All) }).await.unwrap();
    assert_eq!(whole.items.len(), 3);
    assert_eq!(sync.items.len(), 3);
    for (s, w) in sync.items.iter().zip(&whole.items) {
        assert_eq!(
            (s.tenant_id, s.id, &s.attrs, s.anchor, s.origin, s.deleted_date_time),
            (w.tenant_id, w.id, &w.attrs, w.anchor, w.origin, w.deleted_date_time)
        );
    }
    let by_id = |id| sync.items.iter().find(|u| u.id == id).unwrap();
    assert!(by_id(min.id).is_deleted(), "a soft-deleted user is listed as deleted");
    assert_eq!(by_id(min.id).attrs.manager, Some(full.id));
    assert_eq!(by_id(copy.id).origin, Origin::External);
    assert_eq!(by_id(full.id).attrs, full.attrs);
}

pub async fn find_by_upn_ignores_case(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let alice = f.store.create_user(t, new_user("Alice.Smith@contoso.example")).await.unwrap();
    let _bob = f.store.create_user(t, new_user("bob@contoso.example")).await.unwrap();
    for probe in ["Alice.Smith@contoso.example", "alice.smith@contoso.example", "ALICE.SMITH@CONTOSO.EXAMPLE"] {
        let found = f.store.find_user_by_upn(t, &upn(probe)).await.unwrap();
        assert_eq!(found, Some(alice.clone()), "lookup by {probe}");
    }
    assert_eq!(f.store.find_user_by_upn(t, &upn("alice.smit@contoso.example")).await.unwrap(), None);
    assert_eq!(f.store.find_user_by_upn(t, &upn("alice.smith@contoso.example.org")).await.unwrap(), None);
}

pub async fn find_by_mail_returns_every_match(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let mut a = new_user("a@contoso.example");
    a.attrs.mail = Some(mail("Shared@contoso.example"));
    let mut b = new_user("b@contoso.example");
    b.attrs.mail = Some(mail("shared@CONTOSO.example"));
    let mut c = new_user("c@contoso.example");
    c.attrs.mail = Some(mail("other@contoso.example"));
    let d = new_user("d@contoso.example");
    let mut created = Vec::new();
    for u in [a, b, c, d] {
        created.push(f.store.create_user(t, u).await.unwrap());
    }
    let mut found = f.store.find_users_by_mail(t, &mail("SHARED@contoso.example")).await.unwrap();
    found.sort_by_key(|u| u.id);
    let mut want = vec![created[0].clone(), created[1].clone()];
    want.sort_by_key(|u| u.id);
    assert_eq!(found, want, "every user with that mail, ignoring case");
    assert_eq!(f.store.find_users_by_mail(t, &mail("other@contoso.example")).await.unwrap(), vec![created[2].clone()]);
    assert_eq!(f.store.find_users_by_mail(t, &mail("nobody@contoso.example")).await.unwrap(), vec![]);
}

pub async fn anchor_makes_a_user_external_and_finds_it(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let anc = anchor();
    let mut ext = new_user("alice_fabrikam.example#EXT#@contoso.example");
    ext.anchor = Some(anc);
    let ext = f.store.create_user(t, ext).await.unwrap();
    assert_eq!(ext.origin, Origin::External);
    assert_eq!(ext.anchor, Some(anc));
    let internal = f.store.create_user(t, new_user("bob@contoso.example")).await.unwrap();
    assert_eq!(internal.origin, Origin::Internal);
    assert_eq!(internal.anchor, None);

    assert_eq!(f.store.get_user(t, ext.id).await.unwrap().origin, Origin::External);
    assert_eq!(f.store.find_user_by_anchor(t, &anc).await.unwrap(), Some(ext.clone()));
    assert_eq!(f.store.find_user_by_anchor(t, &anchor()).await.unwrap(), None);
    // Same source tenant, other object; same object id, other source tenant.
    let other_object = tenantsync_domain::Anchor::new(anc.tenant, ObjectId::new());
    assert_eq!(f.store.find_user_by_anchor(t, &other_object).await.unwrap(), None);
    let other_tenant = tenantsync_domain::Anchor::new(tenantsync_domain::TenantId::new(), anc.object);
    assert_eq!(f.store.find_user_by_anchor(t, &other_tenant).await.unwrap(), None);
}

pub async fn users_by_anchor_tenant_page_in_anchor_order(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let (source, other) = (tenantsync_domain::TenantId::new(), tenantsync_domain::TenantId::new());
    let mut objects: Vec<ObjectId> = (0..5).map(|_| ObjectId::new()).collect();
    // Created in reverse anchor order, so the listing cannot just follow creation.
    objects.sort();
    let mut made = Vec::new();
    for (i, o) in objects.iter().enumerate().rev() {
        let mut u = new_user(&format!("copy{i}@contoso.example"));
        u.anchor = Some(tenantsync_domain::Anchor::new(source, *o));
        made.push(f.store.create_user(t, u).await.unwrap());
    }
    let mut foreign = new_user("foreign@contoso.example");
    foreign.anchor = Some(tenantsync_domain::Anchor::new(other, objects[2]));
    f.store.create_user(t, foreign).await.unwrap();
    f.store.create_user(t, new_user("internal@contoso.example")).await.unwrap();
    // Soft-deleted copies are listed too: a cycle restores them.
    let deleted = made[0].id;
    f.store.apply_one(t, WriteOp::SoftDeleteUser { id: deleted, if_match: None }).await.unwrap();

    let (mut seen, mut after) = (Vec::new(), None);
    loop {
        let page = f.store.list_users_by_anchor_tenant(t, source, after, 2).await.unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(page.items.iter().map(|u| u.anchor.map(|a| a.object)));
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(seen, objects.iter().map(|o| Some(*o)).collect::<Vec<_>>(), "only this source's copies, in anchor order");
    let all = f.store.list_users_by_anchor_tenant(t, source, None, 100).await.unwrap();
    assert!(all.items.iter().any(|u| u.id == deleted && u.is_deleted()));
    assert_eq!(all.next, None);
    assert!(f.store.list_users_by_anchor_tenant(t, tenantsync_domain::TenantId::new(), None, 100).await.unwrap().items.is_empty());
    // The count is of this source's copies that are not soft-deleted.
    assert_eq!(f.store.count_users_by_anchor_tenant(t, source).await.unwrap(), 4);
    assert_eq!(f.store.count_users_by_anchor_tenant(t, other).await.unwrap(), 1);
    assert_eq!(f.store.count_users_by_anchor_tenant(t, tenantsync_domain::TenantId::new()).await.unwrap(), 0);
}

/// The count a drawing shows per arrow: the live copies of one source, without reading them.
pub async fn live_copies_are_counted_by_anchor_tenant(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let (source, other) = (tenantsync_domain::TenantId::new(), tenantsync_domain::TenantId::new());
    assert_eq!(f.store.count_users_by_anchor_tenant(t, source).await.unwrap(), 0);
    let mut copies = Vec::new();
    for i in 0..4 {
        let mut u = new_user(&format!("copy{i}@contoso.example"));
        u.anchor = Some(tenantsync_domain::Anchor::new(source, ObjectId::new()));
        copies.push(f.store.create_user(t, u).await.unwrap().id);
    }
    let mut foreign = new_user("foreign@contoso.example");
    foreign.anchor = Some(tenantsync_domain::Anchor::new(other, ObjectId::new()));
    f.store.create_user(t, foreign).await.unwrap();
    f.store.create_user(t, new_user("internal@contoso.example")).await.unwrap();
    assert_eq!(f.store.count_users_by_anchor_tenant(t, source).await.unwrap(), 4);
    assert_eq!(f.store.count_users_by_anchor_tenant(t, other).await.unwrap(), 1);
    // A soft-deleted copy is not live; restored, it counts again.
    let gone = copies[1];
    f.store.apply_one(t, WriteOp::SoftDeleteUser { id: gone, if_match: None }).await.unwrap();
    assert_eq!(f.store.count_users_by_anchor_tenant(t, source).await.unwrap(), 3);
    let listed = f.store.list_users_by_anchor_tenant(t, source, None, 100).await.unwrap().items.iter().filter(|u| !u.is_deleted()).count() as u64;
    assert_eq!(f.store.count_users_by_anchor_tenant(t, source).await.unwrap(), listed, "the count is the listing's live users");
    // Another tenant's copies are not counted here.
    let b = tenant(&f, "b.example").await.id;
    assert_eq!(f.store.count_users_by_anchor_tenant(b, source).await.unwrap(), 0);
}

pub async fn upn_differing_only_in_case_is_upn_conflict(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let alice = f.store.create_user(t, new_user("alice@contoso.example")).await.unwrap();
    let before = snapshot(&f, t).await;
    assert_code(f.store.create_user(t, new_user("ALICE@Contoso.Example")).await, "upn_conflict");
    assert_code(f.store.create_user(t, new_user("alice@contoso.example")).await, "upn_conflict");
    assert_unchanged(&f, t, &before, "a refused create").await;
    assert_eq!(f.store.count_users(t, Visibility::All).await.unwrap(), 1);
    assert_eq!(f.store.find_user_by_upn(t, &upn("alice@contoso.example")).await.unwrap(), Some(alice));
}

pub async fn duplicate_anchor_is_anchor_conflict(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let anc = anchor();
    let mut first = new_user("first@contoso.example");
    first.anchor = Some(anc);
    let first = f.store.create_user(t, first).await.unwrap();
    let before = snapshot(&f, t).await;
    let mut second = new_user("second@contoso.example");
    second.anchor = Some(anc);
    assert_code(f.store.create_user(t, second).await, "anchor_conflict");
    assert_unchanged(&f, t, &before, "a refused create").await;
    assert_eq!(f.store.find_user_by_anchor(t, &anc).await.unwrap(), Some(first));
    // The same anchor in another tenant is fine: uniqueness is per tenant.
    let t2 = tenant(&f, "fabrikam.example").await.id;
    let mut elsewhere = new_user("second@fabrikam.example");
    elsewhere.anchor = Some(anc);
    let elsewhere = f.store.create_user(t2, elsewhere).await.unwrap();
    assert_eq!(f.store.find_user_by_anchor(t2, &anc).await.unwrap(), Some(elsewhere));
}

pub async fn duplicate_id_is_id_conflict(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let alice = f.store.create_user(t, new_user("alice@contoso.example")).await.unwrap();
    let before = snapshot(&f, t).await;
    let mut again = new_user("bob@contoso.example");
    again.id = alice.id;
    let e = err(f.store.create_user(t, again).await);
    assert_eq!(e, StoreError::IdTaken { kind: ObjectKind::User, id: alice.id });
    assert_unchanged(&f, t, &before, "a refused create").await;
}

pub async fn users_are_isolated_per_tenant(f: Fixture) {
    let a = tenant(&f, "contoso.example").await.id;
    let b = tenant(&f, "fabrikam.example").await.id;
    let mut ua = new_user("alice@shared.example");
    ua.attrs.mail = Some(mail("alice@shared.example"));
    let ua = f.store.create_user(a, ua).await.unwrap();
    // The same UPN in another tenant is a different user.
    let mut ub = new_user("alice@shared.example");
    ub.attrs.mail = Some(mail("alice@shared.example"));
    let ub = f.store.create_user(b, ub).await.unwrap();
    assert_ne!(ua.id, ub.id);
    assert_eq!(ub.tenant_id, b);

    let e = err(f.store.get_user(b, ua.id).await);
    assert_eq!(e, StoreError::NotFound { kind: ObjectKind::User, id: ua.id });
    assert_eq!(f.store.find_user_by_upn(a, &upn("alice@shared.example")).await.unwrap(), Some(ua.clone()));
    assert_eq!(f.store.find_user_by_upn(b, &upn("alice@shared.example")).await.unwrap(), Some(ub.clone()));
    assert_eq!(f.store.find_users_by_mail(a, &mail("alice@shared.example")).await.unwrap(), vec![ua.clone()]);
    assert_eq!(all_users(&f, a, Visibility::All).await, vec![ua.clone()]);
    assert_eq!(f.store.count_users(b, Visibility::All).await.unwrap(), 1);
    // Writes through the wrong tenant do not reach the user.
    let e = err(f.store.update_user(b, ua.id, user_patch(&[("city", text("Oslo"))]), None).await);
    assert_eq!(e, StoreError::NotFound { kind: ObjectKind::User, id: ua.id });
    assert_eq!(f.store.get_user(a, ua.id).await.unwrap(), ua);
}

pub async fn manager_by_id_and_by_upn(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let boss = f.store.create_user(t, new_user("Boss@contoso.example")).await.unwrap();
    let mut by_id = new_user("a@contoso.example");
    by_id.manager = Some(UserRef::Id(boss.id));
    let by_id = f.store.create_user(t, by_id).await.unwrap();
    assert_eq!(by_id.attrs.manager, Some(boss.id));
    let mut by_upn = new_user("b@contoso.example");
    by_upn.manager = Some(UserRef::Upn(upn("bOSS@CONTOSO.example")));
    let by_upn = f.store.create_user(t, by_upn).await.unwrap();
    assert_eq!(by_upn.attrs.manager, Some(boss.id), "a manager named by UPN resolves to its id, ignoring case");
    assert_eq!(f.store.get_user(t, by_upn.id).await.unwrap().attrs.manager, Some(boss.id));
    assert_eq!(f.store.get_user(t, by_id.id).await.unwrap().attrs.manager, Some(boss.id));
}

pub async fn a_copy_naming_a_missing_manager_is_created_without_one(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let boss = f.store.create_user(t, new_user("boss@contoso.example")).await.unwrap();
    // A user provisioned from another tenant (it carries an anchor) names its manager's
    // copy, which may be missing: the reference is left unset instead of refusing.
    let mut copy = new_user("copy_fabrikam.example#EXT#@contoso.example");
    copy.anchor = Some(anchor());
    copy.manager = Some(UserRef::Id(ObjectId::new()));
    let created = f.store.create_user(t, copy).await.unwrap();
    assert_eq!(created.attrs.manager, None);
    let mut present = new_user("other_fabrikam.example#EXT#@contoso.example");
    present.anchor = Some(anchor());
    present.manager = Some(UserRef::Id(boss.id));
    assert_eq!(f.store.create_user(t, present).await.unwrap().attrs.manager, Some(boss.id), "a manager that exists is set");
}

pub async fn unknown_manager_is_refused(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let other = tenant(&f, "fabrikam.example").await.id;
    let stranger = f.store.create_user(other, new_user("stranger@fabrikam.example")).await.unwrap();
    let u = f.store.create_user(t, new_user("u@contoso.example")).await.unwrap();
    let before = snapshot(&f, t).await;
    for r in [
        UserRef::Id(ObjectId::new()),
        UserRef::Upn(upn("nobody@contoso.example")),
        // A user of another tenant is not a user of this one.
        UserRef::Id(stranger.id),
        UserRef::Upn(upn("stranger@fabrikam.example")),
    ] {
        let mut n = new_user("new@contoso.example");
        n.manager = Some(r.clone());
        assert_code(f.store.create_user(t, n).await, "unknown_manager");
        let patch = UserPatch { set: vec![], manager: Some(Some(r.clone())) };
        assert_code(f.store.update_user(t, u.id, patch, None).await, "unknown_manager");
    }
    assert_unchanged(&f, t, &before, "a write naming an unknown manager").await;
}

pub async fn self_manager_is_refused(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let u = f.store.create_user(t, new_user("u@contoso.example")).await.unwrap();
    let before = snapshot(&f, t).await;
    let mut n = new_user("new@contoso.example");
    n.manager = Some(UserRef::Id(n.id));
    assert_code(f.store.create_user(t, n).await, "self_manager");
    for r in [UserRef::Id(u.id), UserRef::Upn(upn("U@contoso.example"))] {
        let patch = UserPatch { set: vec![], manager: Some(Some(r)) };
        let e = err(f.store.update_user(t, u.id, patch, None).await);
        assert_eq!(e, StoreError::SelfManager);
    }
    assert_unchanged(&f, t, &before, "a write naming the user as its own manager").await;
}

pub async fn update_records_only_changed_attributes(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let mut n = new_user("alice@contoso.example");
    n.attrs.department = Some("Sales".into());
    n.attrs.city = Some("Oslo".into());
    n.attrs.extensions.insert(ext("costCenter"), text("CC-1"));
    let u = f.store.create_user(t, n).await.unwrap();
    let h = head(&f, t).await;
    tick(&f, 120);
    let patch = user_patch(&[
        ("department", text("Sales")),                                           // unchanged
        ("jobTitle", text("Lead")),                                              // null -> Lead
        ("city", AttrValue::Null),                                               // Oslo -> null
        ("accountEnabled", AttrValue::Bool(true)),                               // unchanged
        ("extension_0123456789abcdef0123456789abcdef_costCenter", text("CC-1")), // unchanged
        ("extension_0123456789abcdef0123456789abcdef_skills", AttrValue::Strings(vec!["a".into(), "b".into()])),
    ]);
    let updated = f.store.update_user(t, u.id, patch, None).await.unwrap();
    assert_eq!(updated.version, Version(2));
    assert_eq!(updated.attrs.job_title.as_deref(), Some("Lead"));
    assert_eq!(updated.attrs.city, None);
    assert_eq!(updated.attrs.department.as_deref(), Some("Sales"));
    assert_eq!(updated.attrs.extensions.get(&ext("skills")), Some(&AttrValue::Strings(vec!["a".into(), "b".into()])));
    assert_eq!(updated.attrs.extensions.get(&ext("costCenter")), Some(&text("CC-1")));
    assert_eq!(updated.created_date_time, u.created_date_time);
    assert_eq!(updated.last_modified_date_time, f.clock.now());
    assert_eq!(f.store.get_user(t, u.id).await.unwrap(), updated);

    let changes = changes_after(&f, t, h).await;
    assert_changes(
        &changes,
        &[Ch::user(ChangeOp::Update, u.id).attr("jobTitle", AttrValue::Null, text("Lead")).attr("city", text("Oslo"), AttrValue::Null).attr(
            &ext("skills").to_string(),
            AttrValue::Null,
            AttrValue::Strings(vec!["a".into(), "b".into()]),
        )],
    );
    assert_changes_at_now(&f, &changes);
}

pub async fn update_that_changes_nothing_keeps_version_and_feed(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let mut n = new_user("alice@contoso.example");
    n.attrs.department = Some("Sales".into());
    let u = f.store.create_user(t, n).await.unwrap();
    let before = snapshot(&f, t).await;
    tick(&f, 60);
    for patch in [
        user_patch(&[("department", text("Sales")), ("city", AttrValue::Null), ("userPrincipalName", text("alice@contoso.example"))]),
        UserPatch::default(),
        UserPatch { set: vec![], manager: Some(None) },
    ] {
        let same = f.store.update_user(t, u.id, patch.clone(), None).await.unwrap();
        assert_eq!(same, u, "an update that changes nothing returns the user unchanged, same version ({patch:?})");
        let same = f.store.update_user(t, u.id, patch.clone(), Some(u.version)).await.unwrap();
        assert_eq!(same, u, "the same with if_match");
    }
    assert_unchanged(&f, t, &before, "an update that changes nothing").await;
    // A stale version is refused even when the patch would change nothing.
    let e = err(f.store.update_user(t, u.id, UserPatch::default(), Some(Version(7))).await);
    assert_eq!(e, StoreError::VersionMismatch { kind: ObjectKind::User, id: u.id, expected: Version(7), actual: u.version });
}

pub async fn update_sets_and_clears_the_manager(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let m1 = f.store.create_user(t, new_user("m1@contoso.example")).await.unwrap();
    let m2 = f.store.create_user(t, new_user("m2@contoso.example")).await.unwrap();
    let u = f.store.create_user(t, new_user("u@contoso.example")).await.unwrap();
    let h = head(&f, t).await;

    let u1 = f.store.update_user(t, u.id, UserPatch { set: vec![], manager: Some(Some(UserRef::Id(m1.id))) }, None).await.unwrap();
    assert_eq!(u1.attrs.manager, Some(m1.id));
    assert_eq!(u1.version, Version(2));
    let u2 = f.store.update_user(t, u.id, UserPatch { set: vec![], manager: Some(Some(UserRef::Upn(upn("M2@contoso.example")))) }, None).await.unwrap();
    assert_eq!(u2.attrs.manager, Some(m2.id));
    assert_eq!(u2.version, Version(3));
    let u3 = f.store.update_user(t, u.id, UserPatch { set: vec![], manager: Some(None) }, None).await.unwrap();
    assert_eq!(u3.attrs.manager, None);
    assert_eq!(u3.version, Version(4));
    assert_eq!(f.store.get_user(t, u.id).await.unwrap(), u3);

    let id = |x: ObjectId| text(&x.to_string());
    assert_changes(
        &changes_after(&f, t, h).await,
        &[
            Ch::user(ChangeOp::Update, u.id).attr("manager", AttrValue::Null, id(m1.id)),
            Ch::user(ChangeOp::Update, u.id).attr("manager", id(m1.id), id(m2.id)),
            Ch::user(ChangeOp::Update, u.id).attr("manager", id(m2.id), AttrValue::Null),
        ],
    );
    // The managers themselves did not change.
    assert_eq!(f.store.get_user(t, m1.id).await.unwrap(), m1);
    assert_eq!(f.store.get_user(t, m2.id).await.unwrap(), m2);
}

pub async fn upn_change_frees_the_old_upn(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let u = f.store.create_user(t, new_user("old@contoso.example")).await.unwrap();
    let h = head(&f, t).await;
    let moved = f.store.update_user(t, u.id, user_patch(&[("userPrincipalName", text("new@contoso.example"))]), None).await.unwrap();
    assert_eq!(moved.attrs.user_principal_name, upn("new@contoso.example"));
    assert_changes(
        &changes_after(&f, t, h).await,
        &[Ch::user(ChangeOp::Update, u.id).attr("userPrincipalName", text("old@contoso.example"), text("new@contoso.example"))],
    );
    assert_eq!(f.store.find_user_by_upn(t, &upn("old@contoso.example")).await.unwrap(), None);
    assert_eq!(f.store.find_user_by_upn(t, &upn("NEW@contoso.example")).await.unwrap(), Some(moved.clone()));
    let reuse = f.store.create_user(t, new_user("OLD@contoso.example")).await.unwrap();
    assert_eq!(f.store.find_user_by_upn(t, &upn("old@contoso.example")).await.unwrap(), Some(reuse));
    assert_code(f.store.create_user(t, new_user("new@contoso.example")).await, "upn_conflict");
}

pub async fn upn_change_to_a_taken_upn_is_upn_conflict(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let _a = f.store.create_user(t, new_user("a@contoso.example")).await.unwrap();
    let b = f.store.create_user(t, new_user("b@contoso.example")).await.unwrap();
    let before = snapshot(&f, t).await;
    let patch = user_patch(&[("userPrincipalName", text("A@CONTOSO.EXAMPLE")), ("city", text("Oslo"))]);
    assert_code(f.store.update_user(t, b.id, patch, None).await, "upn_conflict");
    assert_unchanged(&f, t, &before, "a refused UPN change").await;
}

pub async fn upn_change_of_case_only_is_allowed(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let u = f.store.create_user(t, new_user("alice@contoso.example")).await.unwrap();
    let h = head(&f, t).await;
    let moved = f.store.update_user(t, u.id, user_patch(&[("userPrincipalName", text("Alice@contoso.example"))]), Some(u.version)).await.unwrap();
    assert_eq!(moved.attrs.user_principal_name.as_str(), "Alice@contoso.example");
    assert_eq!(moved.version, Version(2));
    assert_changes(
        &changes_after(&f, t, h).await,
        &[Ch::user(ChangeOp::Update, u.id).attr("userPrincipalName", text("alice@contoso.example"), text("Alice@contoso.example"))],
    );
    assert_eq!(f.store.find_user_by_upn(t, &upn("alice@contoso.example")).await.unwrap(), Some(moved));
}

pub async fn invalid_patch_is_refused_and_changes_nothing(f: Fixture) {
    // A patch built without `from_pairs` validation must still be validated by the store.
    let t = tenant(&f, "contoso.example").await.id;
    let u = f.store.create_user(t, new_user("alice@contoso.example")).await.unwrap();
    let before = snapshot(&f, t).await;
    let bad = UserPatch {
        set: vec![
            (tenantsync_domain::UserAttrName::Builtin(tenantsync_domain::UserAttribute::City), text("Oslo")),
            (tenantsync_domain::UserAttrName::Builtin(tenantsync_domain::UserAttribute::UsageLocation), text("norway")),
        ],
        manager: None,
    };
    assert_code(f.store.update_user(t, u.id, bad, None).await, "invalid_attribute_value");
    let bad_mail =
        UserPatch { set: vec![(tenantsync_domain::UserAttrName::Builtin(tenantsync_domain::UserAttribute::Mail), text("not-a-mail"))], manager: None };
    assert_code(f.store.update_user(t, u.id, bad_mail, None).await, "invalid_mail");
    assert_unchanged(&f, t, &before, "a refused patch").await;
}

pub async fn unknown_user_is_not_found(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let _someone = f.store.create_user(t, new_user("someone@contoso.example")).await.unwrap();
    let before = snapshot(&f, t).await;
    let id = ObjectId::new();
    let nf = StoreError::NotFound { kind: ObjectKind::User, id };
    assert_eq!(err(f.store.get_user(t, id).await), nf);
    assert_eq!(err(f.store.update_user(t, id, user_patch(&[("city", text("Oslo"))]), None).await), nf);
    for op in [WriteOp::SoftDeleteUser { id, if_match: None }, WriteOp::RestoreUser { id, if_match: None }, WriteOp::HardDeleteUser { id, if_match: None }] {
        assert_eq!(err(f.store.apply_one(t, op.clone()).await), nf, "{op:?}");
    }
    assert_unchanged(&f, t, &before, "writes to an unknown user").await;
}

pub async fn list_pages_in_id_order(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    // Ids deliberately created out of order: listings follow ids, not insertion.
    let mut ids: Vec<ObjectId> = (0..7).map(|_| ObjectId::new()).collect();
    ids.sort();
    for &i in &[3usize, 0, 6, 1, 5, 2, 4] {
        let mut n = new_user(&format!("user{i}@contoso.example"));
        n.id = ids[i];
        f.store.create_user(t, n).await.unwrap();
    }
    let all = f.store.list_users(t, &query(None, 100, Visibility::Active)).await.unwrap();
    assert_eq!(ids_of_users(&all.items), ids, "users in id order");
    assert_eq!(all.next, None, "a page that holds everything has no next page");

    // Explicit windows.
    let p = f.store.list_users(t, &query(Some(ids[2]), 2, Visibility::Active)).await.unwrap();
    assert_eq!(ids_of_users(&p.items), ids[3..5].to_vec(), "ids after `after`, at most `limit`");
    assert!(p.next.is_some(), "more users follow, so there is a next page");
    let p = f.store.list_users(t, &query(Some(ids[6]), 3, Visibility::Active)).await.unwrap();
    assert_eq!(p.items, vec![]);
    assert_eq!(p.next, None);
    let p = f.store.list_users(t, &query(Some(ids[4]), 5, Visibility::Active)).await.unwrap();
    assert_eq!(ids_of_users(&p.items), ids[5..].to_vec());
    assert_eq!(p.next, None, "a short page is the last one");

    // Following `next` visits every user once.
    let mut seen = Vec::new();
    let mut after = None;
    for round in 0.. {
        assert!(round < 10, "paging did not end");
        let p = f.store.list_users(t, &query(after, 3, Visibility::Active)).await.unwrap();
        assert!(p.items.len() <= 3);
        let start = seen.len();
        seen.extend(ids_of_users(&p.items));
        assert_eq!(seen, ids[..seen.len()].to_vec(), "page {round} (from {start}) must continue where `next` pointed");
        match p.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(seen, ids);
}

pub async fn list_and_count_by_visibility(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let mut users = Vec::new();
    for i in 0..5 {
        users.push(f.store.create_user(t, new_user(&format!("u{i}@contoso.example"))).await.unwrap());
    }
    users.sort_by_key(|u| u.id);
    let ids = ids_of_users(&users);
    for i in [1, 3] {
        f.store.apply_one(t, WriteOp::SoftDeleteUser { id: ids[i], if_match: None }).await.unwrap();
    }
    let active = vec![ids[0], ids[2], ids[4]];
    let deleted = vec![ids[1], ids[3]];
    assert_eq!(ids_of_users(&all_users(&f, t, Visibility::Active).await), active);
    assert_eq!(ids_of_users(&all_users(&f, t, Visibility::Deleted).await), deleted);
    assert_eq!(ids_of_users(&all_users(&f, t, Visibility::All).await), ids);
    assert_eq!(f.store.count_users(t, Visibility::Active).await.unwrap(), 3);
    assert_eq!(f.store.count_users(t, Visibility::Deleted).await.unwrap(), 2);
    assert_eq!(f.store.count_users(t, Visibility::All).await.unwrap(), 5);
    // Paging through a filtered listing, one at a time.
    let mut seen = Vec::new();
    let mut after = None;
    for _ in 0..10 {
        let p = f.store.list_users(t, &query(after, 1, Visibility::Deleted)).await.unwrap();
        assert!(p.items.len() <= 1);
        seen.extend(ids_of_users(&p.items));
        for u in &p.items {
            assert!(u.is_deleted(), "the Deleted listing shows only soft-deleted users");
        }
        match p.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(seen, deleted);
    // Paging from an id that is not in the filtered listing.
    let p = f.store.list_users(t, &query(Some(ids[1]), 10, Visibility::Active)).await.unwrap();
    assert_eq!(ids_of_users(&p.items), vec![ids[2], ids[4]]);
}
