//! Batches of writes: atomic and independent.
use crate::Fixture;
use crate::support::*;
use tenantsync_domain::{ChangeOp, UserRef, Version};
use tenantsync_store::{BatchMode, Visibility, WriteOp};

pub async fn atomic_success_results_line_up(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let x = f.store.create_user(t, new_user("x@contoso.example")).await.unwrap();
    let h = head(&f, t).await;
    let a = new_user("a@contoso.example");
    let g = new_group("Sales");
    let ops = vec![
        WriteOp::CreateUser(Box::new(a.clone())),
        WriteOp::CreateGroup(g.clone()),
        WriteOp::AddMember { group: g.id, user: a.id, if_match: None },
        WriteOp::UpdateUser { id: x.id, patch: user_patch(&[("city", text("Oslo"))]), if_match: Some(Version(1)) },
    ];
    let results = f.store.apply(t, ops, BatchMode::Atomic).await.unwrap();
    assert_eq!(results.len(), 4, "one result per operation");
    let mut results = results.into_iter();
    let ra = results.next().unwrap().unwrap().into_user().unwrap();
    assert_eq!((ra.id, ra.version), (a.id, Version(1)));
    let rg = results.next().unwrap().unwrap().into_group().unwrap();
    assert_eq!(rg.id, g.id);
    results.next().unwrap().unwrap();
    let rx = results.next().unwrap().unwrap().into_user().unwrap();
    assert_eq!((rx.id, rx.version, rx.attrs.city.as_deref()), (x.id, Version(2), Some("Oslo")));
    assert_eq!(f.store.get_user(t, x.id).await.unwrap(), rx);
    assert_eq!(member_ids(&f, t, g.id).await, vec![a.id]);
    assert_changes(
        &changes_after(&f, t, h).await,
        &[
            Ch::user(ChangeOp::Create, a.id),
            Ch::group(ChangeOp::Create, g.id),
            Ch::member_add(g.id, a.id),
            Ch::user(ChangeOp::Update, x.id).attr("city", tenantsync_domain::AttrValue::Null, text("Oslo")),
        ],
    );
}

pub async fn atomic_failure_leaves_nothing(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let x = f.store.create_user(t, new_user("x@contoso.example")).await.unwrap();
    let before = snapshot(&f, t).await;
    let a = new_user("a@contoso.example");
    let g = new_group("Sales");
    let ops = vec![
        WriteOp::CreateUser(Box::new(a.clone())),
        WriteOp::UpdateUser { id: x.id, patch: user_patch(&[("city", text("Oslo"))]), if_match: None },
        WriteOp::CreateUser(Box::new(new_user("X@CONTOSO.example"))),
        WriteOp::CreateGroup(g.clone()),
        WriteOp::AddMember { group: g.id, user: a.id, if_match: None },
    ];
    let e = err(f.store.apply(t, ops, BatchMode::Atomic).await);
    assert_eq!(e.code(), "upn_conflict", "the first failure is returned: {e:?}");
    assert_unchanged(&f, t, &before, "a failed atomic batch").await;
    assert_code(f.store.get_user(t, a.id).await, "not_found");
    assert_code(f.store.get_group(t, g.id).await, "not_found");

    // Failing on the last operation rolls back all the earlier ones too.
    let ops = vec![WriteOp::CreateUser(Box::new(a.clone())), WriteOp::CreateGroup(g.clone()), WriteOp::RestoreUser { id: x.id, if_match: None }];
    let e = err(f.store.apply(t, ops, BatchMode::Atomic).await);
    assert_eq!(e.code(), "not_deleted", "{e:?}");
    assert_unchanged(&f, t, &before, "a failed atomic batch").await;
    // And the store still takes writes afterwards, numbering changes without a gap.
    f.store.create_user(t, a).await.unwrap();
    let changes = changes_after(&f, t, before.head).await;
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].seq, before.head.0 + 1);
}

pub async fn independent_failure_keeps_the_others(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let x = f.store.create_user(t, new_user("x@contoso.example")).await.unwrap();
    let h = head(&f, t).await;
    let a = new_user("a@contoso.example");
    let dup = new_user("X@contoso.example");
    let g = new_group("Sales");
    let ops = vec![
        WriteOp::CreateUser(Box::new(a.clone())),
        WriteOp::CreateUser(Box::new(dup.clone())),
        WriteOp::UpdateUser { id: x.id, patch: user_patch(&[("city", text("Oslo"))]), if_match: Some(Version(1)) },
        WriteOp::RestoreUser { id: x.id, if_match: None },
        WriteOp::UpdateUser { id: x.id, patch: user_patch(&[("city", text("Bergen"))]), if_match: Some(Version(1)) },
        WriteOp::CreateGroup(g.clone()),
    ];
    let results = f.store.apply(t, ops, BatchMode::Independent).await.unwrap();
    assert_eq!(results.len(), 6, "results line up with the operations");
    let codes: Vec<Option<&str>> = results.iter().map(|r| r.as_ref().err().map(|e| e.code())).collect();
    assert_eq!(codes, vec![None, Some("upn_conflict"), None, Some("not_deleted"), Some("version_mismatch"), None], "{results:#?}");
    assert_eq!(results[0].clone().unwrap().into_user().unwrap().id, a.id);
    assert_eq!(results[2].clone().unwrap().into_user().unwrap().version, Version(2));
    assert_eq!(results[5].clone().unwrap().into_group().unwrap().id, g.id);

    assert_eq!(f.store.get_user(t, a.id).await.unwrap().id, a.id);
    assert_code(f.store.get_user(t, dup.id).await, "not_found");
    let x_now = f.store.get_user(t, x.id).await.unwrap();
    assert_eq!((x_now.version, x_now.attrs.city.as_deref()), (Version(2), Some("Oslo")));
    assert_eq!(f.store.get_group(t, g.id).await.unwrap().id, g.id);
    assert_eq!(f.store.count_users(t, Visibility::All).await.unwrap(), 2);
    // Only the successful operations appear, numbered without gaps.
    assert_changes(
        &changes_after(&f, t, h).await,
        &[
            Ch::user(ChangeOp::Create, a.id),
            Ch::user(ChangeOp::Update, x.id).attr("city", tenantsync_domain::AttrValue::Null, text("Oslo")),
            Ch::group(ChangeOp::Create, g.id),
        ],
    );
}

pub async fn later_ops_see_earlier_ops_of_the_batch(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let boss = new_user("boss@contoso.example");
    let mut r = new_user("report@contoso.example");
    r.manager = Some(UserRef::Upn(upn("BOSS@contoso.example")));
    let g = new_group("Sales");
    let ops = vec![
        WriteOp::CreateUser(Box::new(boss.clone())),
        WriteOp::CreateUser(Box::new(r.clone())),
        WriteOp::CreateGroup(g.clone()),
        WriteOp::AddMember { group: g.id, user: r.id, if_match: Some(Version(1)) },
        WriteOp::UpdateUser { id: r.id, patch: user_patch(&[("city", text("Oslo"))]), if_match: Some(Version(1)) },
        WriteOp::SoftDeleteUser { id: boss.id, if_match: Some(Version(1)) },
    ];
    let results = f.store.apply(t, ops, BatchMode::Atomic).await.unwrap();
    assert!(results.iter().all(Result::is_ok), "{results:#?}");
    let report = f.store.get_user(t, r.id).await.unwrap();
    assert_eq!(report.attrs.manager, Some(boss.id), "a manager created earlier in the batch resolves");
    assert_eq!(report.version, Version(2));
    assert_eq!(member_ids(&f, t, g.id).await, vec![r.id]);
    assert_eq!(f.store.get_group(t, g.id).await.unwrap().version, Version(2));
    assert!(f.store.get_user(t, boss.id).await.unwrap().is_deleted());

    // A UPN taken earlier in the same batch is taken.
    let before = snapshot(&f, t).await;
    let ops = vec![WriteOp::CreateUser(Box::new(new_user("twin@contoso.example"))), WriteOp::CreateUser(Box::new(new_user("TWIN@contoso.example")))];
    assert_eq!(err(f.store.apply(t, ops, BatchMode::Atomic).await).code(), "upn_conflict");
    assert_unchanged(&f, t, &before, "a batch creating the same UPN twice").await;
    // A version that the batch itself made stale is stale.
    let ops = vec![
        WriteOp::UpdateUser { id: r.id, patch: user_patch(&[("city", text("Bergen"))]), if_match: Some(Version(2)) },
        WriteOp::UpdateUser { id: r.id, patch: user_patch(&[("city", text("Tromsø"))]), if_match: Some(Version(2)) },
    ];
    assert_eq!(err(f.store.apply(t, ops, BatchMode::Atomic).await).code(), "version_mismatch");
    assert_unchanged(&f, t, &before, "a batch that made its own version stale").await;
}
