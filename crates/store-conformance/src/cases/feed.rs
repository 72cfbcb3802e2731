//! The change feed: contents, ordering, paging, notification and waiting.
use crate::Fixture;
use crate::support::*;
use std::time::Duration;
use tenantsync_domain::{AttrValue, ChangeCursor, ChangeOp, Clock, UserPatch, UserRef, Version};
use tenantsync_store::{BatchMode, CommitNotice, WriteOp};
use tokio::sync::broadcast;

pub async fn every_write_appends_the_expected_changes(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let a = new_user("a@contoso.example");
    let mut b = new_user("b@contoso.example");
    b.manager = Some(UserRef::Id(a.id));
    let g = new_group("Sales");
    let aid = a.id;
    let bid = b.id;
    let gid = g.id;
    let writes: Vec<(WriteOp, Vec<Ch>)> = vec![
        (WriteOp::CreateUser(Box::new(a)), vec![Ch::user(ChangeOp::Create, aid)]),
        (WriteOp::CreateUser(Box::new(b)), vec![Ch::user(ChangeOp::Create, bid)]),
        (
            WriteOp::UpdateUser { id: aid, patch: user_patch(&[("department", text("Sales")), ("jobTitle", text("Lead"))]), if_match: None },
            vec![Ch::user(ChangeOp::Update, aid).attr("department", AttrValue::Null, text("Sales")).attr("jobTitle", AttrValue::Null, text("Lead"))],
        ),
        (WriteOp::UpdateUser { id: bid, patch: UserPatch { set: vec![], manager: Some(None) }, if_match: None }, vec![Ch::manager_cleared(bid, aid)]),
        (WriteOp::CreateGroup(g), vec![Ch::group(ChangeOp::Create, gid)]),
        (
            WriteOp::UpdateGroup { id: gid, patch: group_patch(&[("description", text("All of sales"))]), if_match: None },
            vec![Ch::group(ChangeOp::Update, gid).attr("description", AttrValue::Null, text("All of sales"))],
        ),
        (WriteOp::AddMember { group: gid, user: aid, if_match: None }, vec![Ch::member_add(gid, aid)]),
        (WriteOp::RemoveMember { group: gid, user: aid, if_match: None }, vec![Ch::member_remove(gid, aid)]),
        (WriteOp::SoftDeleteUser { id: aid, if_match: None }, vec![Ch::user(ChangeOp::SoftDelete, aid)]),
        (WriteOp::RestoreUser { id: aid, if_match: None }, vec![Ch::user(ChangeOp::Restore, aid)]),
        (WriteOp::SoftDeleteGroup { id: gid, if_match: None }, vec![Ch::group(ChangeOp::SoftDelete, gid)]),
        (WriteOp::RestoreGroup { id: gid, if_match: None }, vec![Ch::group(ChangeOp::Restore, gid)]),
        (WriteOp::HardDeleteUser { id: bid, if_match: None }, vec![Ch::user(ChangeOp::HardDelete, bid)]),
        (WriteOp::HardDeleteGroup { id: gid, if_match: None }, vec![Ch::group(ChangeOp::HardDelete, gid)]),
    ];
    let mut expected = Vec::new();
    let mut times = Vec::new();
    for (op, changes) in writes {
        tick(&f, 7);
        let h = head(&f, t).await;
        f.store.apply_one(t, op.clone()).await.unwrap_or_else(|e| panic!("{op:?} failed: {e:?}"));
        let got = changes_after(&f, t, h).await;
        assert_changes(&got, &changes);
        assert_changes_at_now(&f, &got);
        for c in &got {
            assert_eq!(c.member_id.is_some(), matches!(c.op, ChangeOp::MemberAdd | ChangeOp::MemberRemove), "member id exactly on membership changes: {c:?}");
            if !matches!(c.op, ChangeOp::Update | ChangeOp::Create) {
                assert!(c.attributes.is_empty(), "only updates list attributes: {c:?}");
            }
        }
        times.extend(changes.iter().map(|_| f.clock.now()));
        expected.extend(changes);
    }
    let all = changes_after(&f, t, ChangeCursor::START).await;
    assert_changes(&all, &expected);
    assert_eq!(all.iter().map(|c| c.seq).collect::<Vec<_>>(), (1..=expected.len() as u64).collect::<Vec<_>>());
    assert_eq!(all.iter().map(|c| c.at).collect::<Vec<_>>(), times);
    assert_eq!(head(&f, t).await, ChangeCursor(expected.len() as u64));
}

pub async fn sequences_start_at_one_per_tenant(f: Fixture) {
    let a = tenant(&f, "contoso.example").await.id;
    let b = tenant(&f, "fabrikam.example").await.id;
    let mut ids_a = Vec::new();
    let mut ids_b = Vec::new();
    for (i, t) in [a, b, a, b, b].into_iter().enumerate() {
        let u = f.store.create_user(t, new_user(&format!("u{i}@shared.example"))).await.unwrap();
        if t == a { ids_a.push(u.id) } else { ids_b.push(u.id) }
    }
    let ca = changes_after(&f, a, ChangeCursor::START).await;
    let cb = changes_after(&f, b, ChangeCursor::START).await;
    assert_eq!(ca.iter().map(|c| c.seq).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(cb.iter().map(|c| c.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(ca.iter().map(|c| c.object_id).collect::<Vec<_>>(), ids_a);
    assert_eq!(cb.iter().map(|c| c.object_id).collect::<Vec<_>>(), ids_b);
    assert_eq!(head(&f, a).await, ChangeCursor(2));
    assert_eq!(head(&f, b).await, ChangeCursor(3));
}

pub async fn rejected_writes_consume_no_sequence_number(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let a = f.store.create_user(t, new_user("a@contoso.example")).await.unwrap();
    assert_code(f.store.create_user(t, new_user("A@contoso.example")).await, "upn_conflict");
    assert_code(f.store.update_user(t, a.id, user_patch(&[("city", text("x"))]), Some(Version(9))).await, "version_mismatch");
    assert_code(f.store.apply_one(t, WriteOp::RestoreUser { id: a.id, if_match: None }).await, "not_deleted");
    let ops = vec![WriteOp::CreateUser(Box::new(new_user("c@contoso.example"))), WriteOp::RestoreUser { id: a.id, if_match: None }];
    assert_code(f.store.apply(t, ops, BatchMode::Atomic).await, "not_deleted");
    assert_eq!(head(&f, t).await, ChangeCursor(1));
    let b = f.store.create_user(t, new_user("b@contoso.example")).await.unwrap();
    let all = changes_after(&f, t, ChangeCursor::START).await;
    assert_changes(&all, &[Ch::user(ChangeOp::Create, a.id), Ch::user(ChangeOp::Create, b.id)]);
    assert_eq!(all.iter().map(|c| c.seq).collect::<Vec<_>>(), vec![1, 2]);
}

pub async fn changes_since_pages_with_cursor_and_limit(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    for i in 0..7 {
        f.store.create_user(t, new_user(&format!("u{i}@contoso.example"))).await.unwrap();
    }
    let all = changes_after(&f, t, ChangeCursor::START).await;
    assert_eq!(all.len(), 7);
    let mut cursor = ChangeCursor::START;
    let mut seen = Vec::new();
    for want in [vec![1, 2, 3], vec![4, 5, 6], vec![7], vec![]] {
        let page = f.store.changes_since(t, cursor, 3).await.unwrap();
        assert_eq!(page.changes.iter().map(|c| c.seq).collect::<Vec<_>>(), want, "page after {cursor}");
        let next = want.last().map_or(cursor, |&s| ChangeCursor(s));
        assert_eq!(page.next_cursor, next, "next_cursor after {cursor}");
        seen.extend(page.changes);
        cursor = page.next_cursor;
    }
    assert_eq!(seen, all, "pages put together are the whole feed");
    let page = f.store.changes_since(t, ChangeCursor(2), 100).await.unwrap();
    assert_eq!(page.changes, all[2..].to_vec());
    assert_eq!(page.next_cursor, ChangeCursor(7));
    let page = f.store.changes_since(t, ChangeCursor(5), 1).await.unwrap();
    assert_eq!(page.changes, all[5..6].to_vec());
    assert_eq!(page.next_cursor, ChangeCursor(6));
    assert_eq!(head(&f, t).await, ChangeCursor(7));
}

pub async fn changes_since_with_nothing_new_returns_the_given_cursor(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let page = f.store.changes_since(t, ChangeCursor::START, 10).await.unwrap();
    assert_eq!(page.changes, vec![]);
    assert_eq!(page.next_cursor, ChangeCursor::START);
    f.store.create_user(t, new_user("a@contoso.example")).await.unwrap();
    f.store.create_user(t, new_user("b@contoso.example")).await.unwrap();
    for c in [2, 5, 1000] {
        let page = f.store.changes_since(t, ChangeCursor(c), 10).await.unwrap();
        assert_eq!(page.changes, vec![], "nothing after {c}");
        assert_eq!(page.next_cursor, ChangeCursor(c), "next_cursor is the cursor given when nothing is returned");
    }
}

async fn notice(rx: &mut broadcast::Receiver<CommitNotice>) -> CommitNotice {
    within("waiting for a commit notice", rx.recv()).await.unwrap()
}

pub async fn subscribe_notifies_after_commit_with_the_head(f: Fixture) {
    let a = tenant(&f, "contoso.example").await.id;
    let b = tenant(&f, "fabrikam.example").await.id;
    let mut rx = f.store.subscribe();
    let u = f.store.create_user(a, new_user("u@contoso.example")).await.unwrap();
    let n = notice(&mut rx).await;
    assert_eq!(n, CommitNotice { tenant_id: a, head: ChangeCursor(1) });
    // The commit is visible once the notice is out.
    let page = f.store.changes_since(a, ChangeCursor::START, 10).await.unwrap();
    assert_eq!(page.changes.iter().map(|c| c.seq).collect::<Vec<_>>(), vec![1]);
    assert_eq!(f.store.get_user(a, u.id).await.unwrap(), u);

    f.store.create_user(b, new_user("u@fabrikam.example")).await.unwrap();
    assert_eq!(notice(&mut rx).await, CommitNotice { tenant_id: b, head: ChangeCursor(1) });
    f.store.update_user(a, u.id, user_patch(&[("city", text("Oslo"))]), None).await.unwrap();
    assert_eq!(notice(&mut rx).await, CommitNotice { tenant_id: a, head: ChangeCursor(2) });

    // Every subscriber hears it, including one that subscribed later.
    let mut late = f.store.subscribe();
    f.store.apply_one(a, WriteOp::SoftDeleteUser { id: u.id, if_match: None }).await.unwrap();
    let want = CommitNotice { tenant_id: a, head: ChangeCursor(3) };
    assert_eq!(notice(&mut rx).await, want);
    assert_eq!(notice(&mut late).await, want);
}

pub async fn no_notice_for_rejected_or_noop_writes(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let u = f.store.create_user(t, new_user("u@contoso.example")).await.unwrap();
    let mut rx = f.store.subscribe();
    assert_code(f.store.create_user(t, new_user("U@contoso.example")).await, "upn_conflict");
    assert_code(f.store.update_user(t, u.id, user_patch(&[("city", text("x"))]), Some(Version(5))).await, "version_mismatch");
    let same = f.store.update_user(t, u.id, user_patch(&[("city", AttrValue::Null)]), None).await.unwrap();
    assert_eq!(same.version, Version(1));
    let empty = f.store.apply(t, vec![], BatchMode::Atomic).await;
    if let Ok(results) = empty {
        assert!(results.is_empty(), "an empty batch has no results");
    }
    f.store.create_user(t, new_user("v@contoso.example")).await.unwrap();
    // The first notice heard is for the one commit that appended a change.
    assert_eq!(notice(&mut rx).await, CommitNotice { tenant_id: t, head: ChangeCursor(2) });
    assert_eq!(head(&f, t).await, ChangeCursor(2));
}

pub async fn one_notice_per_batch(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let mut rx = f.store.subscribe();
    let g = new_group("Sales");
    let u = new_user("u@contoso.example");
    let ops = vec![WriteOp::CreateUser(Box::new(u.clone())), WriteOp::CreateGroup(g.clone()), WriteOp::AddMember { group: g.id, user: u.id, if_match: None }];
    f.store.apply(t, ops, BatchMode::Atomic).await.unwrap();
    assert_eq!(notice(&mut rx).await, CommitNotice { tenant_id: t, head: ChangeCursor(3) }, "one notice after the batch commits");
    f.store.create_user(t, new_user("v@contoso.example")).await.unwrap();
    assert_eq!(notice(&mut rx).await, CommitNotice { tenant_id: t, head: ChangeCursor(4) });
}

pub async fn wait_for_changes_returns_at_once_when_behind(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    for i in 0..3 {
        f.store.create_user(t, new_user(&format!("u{i}@contoso.example"))).await.unwrap();
    }
    for c in [0, 1, 2] {
        let got = within("wait_for_changes with changes already there", f.store.wait_for_changes(t, ChangeCursor(c))).await.unwrap();
        assert_eq!(got, ChangeCursor(3), "returns the head");
    }
}

pub async fn wait_for_changes_wakes_on_a_change_from_another_task(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    f.store.create_user(t, new_user("first@contoso.example")).await.unwrap();
    let h = head(&f, t).await;
    let store = f.store.clone();
    let waiter = tokio::spawn(async move { store.wait_for_changes(t, h).await });
    // Give the waiter a chance to start waiting; the case passes whether or not it has.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let writer_store = f.store.clone();
    let writer = tokio::spawn(async move { writer_store.create_user(t, new_user("second@contoso.example")).await });
    within("the writer", writer).await.unwrap().unwrap();
    let got = within("wait_for_changes after a change from another task", waiter).await.unwrap().unwrap();
    assert_eq!(got, ChangeCursor(h.0 + 1));
}

pub async fn wait_for_changes_ignores_other_tenants(f: Fixture) {
    let a = tenant(&f, "contoso.example").await.id;
    let b = tenant(&f, "fabrikam.example").await.id;
    f.store.create_user(a, new_user("a0@contoso.example")).await.unwrap();
    for i in 0..3 {
        f.store.create_user(b, new_user(&format!("b{i}@fabrikam.example"))).await.unwrap();
    }
    let store = f.store.clone();
    let waiter = tokio::spawn(async move { store.wait_for_changes(a, ChangeCursor(1)).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    // A change in tenant b (head 4) must not wake a waiter on tenant a with b's head.
    f.store.create_user(b, new_user("b3@fabrikam.example")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    f.store.create_user(a, new_user("a1@contoso.example")).await.unwrap();
    let got = within("wait_for_changes on tenant a", waiter).await.unwrap().unwrap();
    assert_eq!(got, ChangeCursor(2), "the head of the tenant waited on");
}

pub async fn purge_and_hard_delete_notify_subscribers(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let a = f.store.create_user(t, new_user("a@contoso.example")).await.unwrap();
    let b = f.store.create_user(t, new_user("b@contoso.example")).await.unwrap();
    f.store.apply_one(t, WriteOp::SoftDeleteUser { id: a.id, if_match: None }).await.unwrap();
    tick(&f, 60);
    let mut rx = f.store.subscribe();
    // Nothing to purge: no commit that appended changes, so no notice.
    assert_eq!(f.store.purge_deleted(t, a.created_date_time).await.unwrap(), 0);
    assert_eq!(f.store.purge_deleted(t, f.clock.now()).await.unwrap(), 1);
    assert_eq!(notice(&mut rx).await, CommitNotice { tenant_id: t, head: ChangeCursor(4) });
    f.store.apply_one(t, WriteOp::HardDeleteUser { id: b.id, if_match: None }).await.unwrap();
    assert_eq!(notice(&mut rx).await, CommitNotice { tenant_id: t, head: ChangeCursor(5) });
}
