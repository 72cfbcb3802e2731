//! Concurrent writers: optimistic concurrency holds under contention, and the change
//! feed stays gapless.
use crate::Fixture;
use crate::support::*;
use std::sync::Arc;
use tenantsync_domain::{AttrValue, ChangeCursor, ChangeOp, ObjectId, Version};
use tenantsync_store::{StoreError, Visibility};
use tokio::sync::Barrier;

pub async fn racing_updates_on_one_version_have_one_winner(f: Fixture) {
    const TASKS: usize = 8;
    let t = tenant(&f, "contoso.example").await.id;
    let u = f.store.create_user(t, new_user("alice@contoso.example")).await.unwrap();
    let barrier = Arc::new(Barrier::new(TASKS));
    let mut handles = Vec::new();
    for i in 0..TASKS {
        let store = f.store.clone();
        let barrier = barrier.clone();
        handles.push(tokio::spawn(async move {
            barrier.wait().await;
            store.update_user(t, u.id, user_patch(&[("department", text(&format!("D{i}")))]), Some(Version(1))).await
        }));
    }
    let mut winners = Vec::new();
    for (i, h) in handles.into_iter().enumerate() {
        match within("a racing update", h).await.unwrap() {
            Ok(user) => winners.push((i, user)),
            Err(e) => {
                assert_eq!(e, StoreError::VersionMismatch { kind: tenantsync_domain::ObjectKind::User, id: u.id, expected: Version(1), actual: Version(2) })
            }
        }
    }
    assert_eq!(winners.len(), 1, "exactly one update of version 1 wins: {winners:?}");
    let (i, won) = winners.pop().unwrap();
    assert_eq!(won.version, Version(2));
    let now = f.store.get_user(t, u.id).await.unwrap();
    assert_eq!(now, won);
    assert_eq!(now.attrs.department, Some(format!("D{i}")));
    assert_changes(
        &changes_after(&f, t, ChangeCursor::START).await,
        &[Ch::user(ChangeOp::Create, u.id), Ch::user(ChangeOp::Update, u.id).attr("department", AttrValue::Null, text(&format!("D{i}")))],
    );
}

pub async fn concurrent_increments_lose_no_update(f: Fixture) {
    const TASKS: u64 = 4;
    const EACH: u64 = 10;
    let t = tenant(&f, "contoso.example").await.id;
    let mut n = new_user("counter@contoso.example");
    n.attrs.employee_id = Some("0".into());
    let u = f.store.create_user(t, n).await.unwrap();
    let mut handles = Vec::new();
    for _ in 0..TASKS {
        let store = f.store.clone();
        handles.push(tokio::spawn(async move {
            let mut won: Vec<Version> = Vec::new();
            let mut attempts = 0;
            while (won.len() as u64) < EACH {
                attempts += 1;
                assert!(attempts < 100_000, "no progress");
                let cur = store.get_user(t, u.id).await.unwrap();
                let value: u64 = cur.attrs.employee_id.as_deref().unwrap().parse().unwrap();
                let patch = user_patch(&[("employeeId", text(&(value + 1).to_string()))]);
                match store.update_user(t, u.id, patch, Some(cur.version)).await {
                    Ok(next) => {
                        assert_eq!(next.version, cur.version.next(), "a write grows the version by one");
                        assert_eq!(next.attrs.employee_id, Some((value + 1).to_string()));
                        won.push(cur.version);
                    }
                    Err(StoreError::VersionMismatch { expected, actual, .. }) => {
                        assert_eq!(expected, cur.version);
                        assert!(actual > expected, "the version only grows: {actual} after {expected}");
                    }
                    Err(e) => panic!("unexpected error: {e:?}"),
                }
                tokio::task::yield_now().await;
            }
            won
        }));
    }
    let mut won: Vec<Version> = Vec::new();
    for h in handles {
        won.extend(within("incrementing tasks", h).await.unwrap());
    }
    won.sort();
    let total = TASKS * EACH;
    assert_eq!(won, (1..=total).map(Version).collect::<Vec<_>>(), "each version was won exactly once");
    let end = f.store.get_user(t, u.id).await.unwrap();
    assert_eq!(end.attrs.employee_id, Some(total.to_string()), "no update was lost");
    assert_eq!(end.version, Version(total + 1));
    let changes = changes_after(&f, t, ChangeCursor(1)).await;
    let expected: Vec<Ch> = (0..total).map(|i| Ch::user(ChangeOp::Update, u.id).attr("employeeId", text(&i.to_string()), text(&(i + 1).to_string()))).collect();
    assert_changes(&changes, &expected);
}

pub async fn concurrent_writers_keep_the_feed_gapless(f: Fixture) {
    const TASKS: usize = 4;
    const EACH: usize = 15;
    let a = tenant(&f, "contoso.example").await.id;
    let b = tenant(&f, "fabrikam.example").await.id;
    let mut handles = Vec::new();
    for task in 0..TASKS {
        let store = f.store.clone();
        // Half the tasks write to each tenant.
        let t = if task % 2 == 0 { a } else { b };
        handles.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..EACH {
                ids.push(store.create_user(t, new_user(&format!("t{task}u{i}@contoso.example"))).await.unwrap().id);
            }
            (t, ids)
        }));
    }
    let mut ids_a: Vec<ObjectId> = Vec::new();
    let mut ids_b: Vec<ObjectId> = Vec::new();
    for h in handles {
        let (t, ids) = within("concurrent writers", h).await.unwrap();
        if t == a { ids_a.extend(ids) } else { ids_b.extend(ids) }
    }
    for (t, ids) in [(a, ids_a), (b, ids_b)] {
        // changes_after checks the sequence numbers run 1, 2, 3, ... without gaps.
        let changes = changes_after(&f, t, ChangeCursor::START).await;
        assert_eq!(changes.len(), ids.len());
        let expected: Vec<Ch> = ids.iter().map(|&id| Ch::user(ChangeOp::Create, id)).collect();
        assert_changes_any_order(&changes, &expected);
        assert_eq!(head(&f, t).await, ChangeCursor(ids.len() as u64));
        assert_eq!(f.store.count_users(t, Visibility::All).await.unwrap(), ids.len() as u64);
    }
}

pub async fn readers_see_changes_and_objects_together(f: Fixture) {
    const USERS: u64 = 60;
    let t = tenant(&f, "contoso.example").await.id;
    let total = USERS + USERS / 3;
    let writer_store = f.store.clone();
    let writer = tokio::spawn(async move {
        for i in 0..USERS {
            let u = writer_store.create_user(t, new_user(&format!("u{i}@contoso.example"))).await.unwrap();
            if i % 3 == 0 {
                writer_store.update_user(t, u.id, user_patch(&[("city", text("Oslo"))]), Some(Version(1))).await.unwrap();
            }
        }
    });
    // A reader following the feed: changes arrive in order without gaps, and the object
    // of each change is visible as soon as its change is.
    let reader_store = f.store.clone();
    let reader = tokio::spawn(async move {
        let mut cursor = ChangeCursor::START;
        let mut polls = 0u64;
        while cursor.0 < total {
            polls += 1;
            assert!(polls < 1_000_000, "the reader made no progress");
            let page = reader_store.changes_since(t, cursor, 7).await.unwrap();
            for c in &page.changes {
                assert_eq!(c.seq, cursor.0 + 1, "a reader never sees change N+1 before N");
                cursor = c.cursor();
                let u = reader_store.get_user(t, c.object_id).await.unwrap_or_else(|e| panic!("{c:?} is visible but its user is not: {e:?}"));
                if c.op == ChangeOp::Update {
                    assert!(u.version >= Version(2), "an update is visible but the user is at {:?}", u.version);
                }
            }
            assert_eq!(page.next_cursor, cursor);
            if page.changes.is_empty() {
                tokio::task::yield_now().await;
            }
        }
        cursor
    });
    // A subscriber: once a notice is out, the feed reaches its head.
    let mut rx = f.store.subscribe();
    let sub_store = f.store.clone();
    let subscriber = tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(n) => {
                    assert_eq!(n.tenant_id, t);
                    let page = sub_store.changes_since(t, ChangeCursor(n.head.0 - 1), 10).await.unwrap();
                    assert_eq!(page.changes.first().map(|c| c.seq), Some(n.head.0), "the change a notice announces is visible");
                    if n.head.0 == total {
                        return;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(e) => panic!("subscription ended: {e:?}"),
            }
        }
    });
    within("the writer", writer).await.unwrap();
    assert_eq!(within("the reader", reader).await.unwrap(), ChangeCursor(total));
    within("the subscriber", subscriber).await.unwrap();
    assert_eq!(head(&f, t).await, ChangeCursor(total));
}
