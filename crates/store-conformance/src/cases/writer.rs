//! The sync writer: a run's commits, in call order, each whole, the stored job state
//! always that of the writes stored with it.
use crate::Fixture;
use crate::support::*;
use std::sync::Arc;
use tenantsync_domain::ChangeCursor;
use tenantsync_store::{ProvisioningStatus, StoreError, SyncWriter};

pub async fn a_flush_commits_the_writes_their_logs_and_the_state(f: Fixture) {
    let a = arrow(&f).await;
    let writer = f.store.sync_writer(a.config.id, a.target.id).await.unwrap();
    for (i, upns) in [["a@fabrikam.example", "b@fabrikam.example"], ["c@fabrikam.example", "a@fabrikam.example"]].iter().enumerate() {
        let (ops, logs) = creates(&a, &f, upns);
        let results = writer.write(ops, at(i as u64 + 1), logs).await.unwrap();
        assert!(results[0].is_ok());
        // A refused write fails alone, and its record says so.
        assert_eq!(results[1].is_err(), i == 1);
    }
    writer.flush().await.unwrap();
    for u in ["a@fabrikam.example", "b@fabrikam.example", "c@fabrikam.example"] {
        assert!(exists(&f, a.target.id, u).await, "{u}");
    }
    assert_eq!(f.store.job_state(a.config.id).await.unwrap().watermark, ChangeCursor(2));
    let logs = logs_of(&f, a.config.id).await;
    assert_eq!(logs.len(), 4);
    let failed: Vec<_> = logs.iter().filter(|l| l.status == ProvisioningStatus::Failure).collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].error_code.as_deref(), Some("upn_conflict"));
    assert_eq!(head(&f, a.target.id).await, ChangeCursor(3));
}

pub async fn a_writer_dropped_without_a_flush_keeps_each_write_whole(f: Fixture) {
    let a = arrow(&f).await;
    let writer = f.store.sync_writer(a.config.id, a.target.id).await.unwrap();
    let (ops, logs) = creates(&a, &f, &["a@fabrikam.example"]);
    writer.write(ops, at(1), logs).await.unwrap();
    writer.flush().await.unwrap();
    let (ops, logs) = creates(&a, &f, &["b@fabrikam.example"]);
    writer.write(ops, at(2), logs).await.unwrap();
    drop(writer);
    // Any later write runs after the stream has ended, one way or the other.
    tenant(&f, "later.example").await;
    let watermark = f.store.job_state(a.config.id).await.unwrap().watermark;
    assert!(exists(&f, a.target.id, "a@fabrikam.example").await);
    let second = exists(&f, a.target.id, "b@fabrikam.example").await;
    assert_eq!(second, watermark == ChangeCursor(2), "the second write's user and state land together or not at all");
    assert_eq!(logs_of(&f, a.config.id).await.len(), if second { 2 } else { 1 });
}

pub async fn other_writers_do_not_wait_for_an_open_stream(f: Fixture) {
    let a = arrow(&f).await;
    let writer = f.store.sync_writer(a.config.id, a.target.id).await.unwrap();
    let (ops, logs) = creates(&a, &f, &["a@fabrikam.example"]);
    writer.write(ops, at(1), logs).await.unwrap();
    // A write of someone else into the same target, while the stream may hold a
    // transaction open: it goes ahead, and the stream goes on after it.
    within("a write beside an open stream", f.store.create_user(a.target.id, new_user("own@fabrikam.example"))).await.unwrap();
    let (ops, logs) = creates(&a, &f, &["b@fabrikam.example"]);
    writer.write(ops, at(2), logs).await.unwrap();
    writer.flush().await.unwrap();
    for u in ["a@fabrikam.example", "own@fabrikam.example", "b@fabrikam.example"] {
        assert!(exists(&f, a.target.id, u).await, "{u}");
    }
    // Three creates, three changes, in the order they were written.
    let changes = changes_after(&f, a.target.id, ChangeCursor::START).await;
    assert_eq!(changes.len(), 3);
    assert_eq!(f.store.job_state(a.config.id).await.unwrap().watermark, ChangeCursor(2));
}

pub async fn writes_in_flight_apply_in_call_order(f: Fixture) {
    let a = arrow(&f).await;
    let writer = f.store.sync_writer(a.config.id, a.target.id).await.unwrap();
    // Queued before their futures are awaited, and awaited in reverse.
    let mut pending = Vec::new();
    let mut ids = Vec::new();
    for i in 0..20u64 {
        let (ops, logs) = creates(&a, &f, &[&format!("u{i}@fabrikam.example")]);
        ids.push(ops[0].target().1);
        pending.push(writer.write(ops, at(i + 1), logs));
    }
    while let Some(p) = pending.pop() {
        assert!(p.await.unwrap()[0].is_ok());
    }
    writer.flush().await.unwrap();
    let changes = changes_after(&f, a.target.id, ChangeCursor::START).await;
    assert_eq!(changes.iter().map(|c| c.object_id).collect::<Vec<_>>(), ids, "the feed has the writes in call order");
    assert_eq!(f.store.job_state(a.config.id).await.unwrap().watermark, ChangeCursor(20), "the last write's state stands");
    let logged: Vec<_> = logs_of(&f, a.config.id).await.into_iter().rev().map(|l| l.source_id).collect();
    assert_eq!(logged, ids, "records in call order");
}

pub async fn a_store_error_fails_the_write_and_loses_none_of_the_committed_ones(f: Fixture) {
    let a = arrow(&f).await;
    let writer: Arc<dyn SyncWriter> = f.store.sync_writer(a.config.id, a.target.id).await.unwrap();
    let (ops, logs) = creates(&a, &f, &["a@fabrikam.example"]);
    writer.write(ops, at(1), logs).await.unwrap();
    // The configuration goes (a write of its own: the stream commits before it runs).
    f.store.delete_sync_configuration(a.config.id).await.unwrap();
    let (ops, logs) = creates(&a, &f, &["b@fabrikam.example"]);
    let err = writer.write(ops, at(2), logs).await.unwrap_err();
    assert!(matches!(err, StoreError::SyncConfigNotFound { .. }), "{err:?}");
    assert!(exists(&f, a.target.id, "a@fabrikam.example").await);
    assert!(!exists(&f, a.target.id, "b@fabrikam.example").await, "the failed write's target writes are rolled back");
    // The writer goes on working after the error.
    writer.flush().await.unwrap();
}

pub async fn a_writer_left_idle_commits_and_goes_on(f: Fixture) {
    let a = arrow(&f).await;
    let writer = f.store.sync_writer(a.config.id, a.target.id).await.unwrap();
    let (ops, logs) = creates(&a, &f, &["a@fabrikam.example"]);
    writer.write(ops, at(1), logs).await.unwrap();
    // Without a flush, what was written becomes visible soon on its own.
    within("an idle writer's commit", async {
        while !exists(&f, a.target.id, "a@fabrikam.example").await {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
    assert_eq!(f.store.job_state(a.config.id).await.unwrap().watermark, ChangeCursor(1));
    writer.flush().await.unwrap();
    let (ops, logs) = creates(&a, &f, &["b@fabrikam.example"]);
    writer.write(ops, at(2), logs).await.unwrap();
    writer.flush().await.unwrap();
    assert!(exists(&f, a.target.id, "b@fabrikam.example").await);
    assert_eq!(f.store.job_state(a.config.id).await.unwrap().watermark, ChangeCursor(2));
    assert_eq!(logs_of(&f, a.config.id).await.len(), 2);
}

/// The copies a run writes (through the writer and `commit_sync`, refused ones aside) are
/// counted by their source as they commit; a later soft delete and hard delete of copies
/// by the run take them off.
pub async fn a_run_s_copies_are_counted_by_their_source(f: Fixture) {
    use tenantsync_domain::Anchor;
    use tenantsync_store::WriteOp;
    let a = arrow(&f).await;
    let (source, target) = (a.source.id, a.target.id);
    let copies = |upns: &[&str]| {
        let (mut ops, logs) = creates(&a, &f, upns);
        for op in &mut ops {
            if let WriteOp::CreateUser(u) = op {
                u.anchor = Some(Anchor::new(source, u.id));
            }
        }
        (ops, logs)
    };
    let count = || f.store.count_users_by_anchor_tenant(target, source);
    assert_eq!(count().await.unwrap(), 0);
    let writer = f.store.sync_writer(a.config.id, target).await.unwrap();
    let (ops, logs) = copies(&["a@fabrikam.example", "b@fabrikam.example"]);
    writer.write(ops, at(1), logs).await.unwrap();
    // `a` again: refused (its name is taken), not counted.
    let (ops, logs) = copies(&["c@fabrikam.example", "a@fabrikam.example"]);
    let results = writer.write(ops, at(2), logs).await.unwrap();
    assert!(results[1].is_err());
    writer.flush().await.unwrap();
    assert_eq!(count().await.unwrap(), 3);
    let (ops, logs) = copies(&["d@fabrikam.example"]);
    f.store.commit_sync(a.config.id, target, ops, at(3), logs).await.unwrap();
    assert_eq!(count().await.unwrap(), 4);
    let b = f.store.find_user_by_upn(target, &upn("b@fabrikam.example")).await.unwrap().unwrap().id;
    let c = f.store.find_user_by_upn(target, &upn("c@fabrikam.example")).await.unwrap().unwrap().id;
    let ops = vec![WriteOp::SoftDeleteUser { id: b, if_match: None }, WriteOp::HardDeleteUser { id: c, if_match: None }];
    let writer = f.store.sync_writer(a.config.id, target).await.unwrap();
    writer.write(ops, at(4), Vec::new()).await.unwrap();
    writer.flush().await.unwrap();
    assert_eq!(count().await.unwrap(), 2);
    assert_eq!(f.store.count_users_by_anchor_tenant(source, target).await.unwrap(), 0, "the other way round");
}

/// A copy naming as its manager a copy that an earlier write of the same run made gets
/// it; one naming a copy the run has since soft-deleted or hard-deleted is created
/// without a manager (as a copy naming a missing one), whether or not the run's
/// transaction has committed in between.
pub async fn a_copy_gets_a_manager_made_earlier_in_the_run_only_while_it_lives(f: Fixture) {
    use tenantsync_domain::{Anchor, UserRef};
    use tenantsync_store::WriteOp;
    let a = arrow(&f).await;
    let copies = |upns: &[&str], managers: &[Option<tenantsync_domain::ObjectId>]| {
        let (mut ops, logs) = creates(&a, &f, upns);
        for (op, manager) in ops.iter_mut().zip(managers) {
            if let WriteOp::CreateUser(u) = op {
                u.anchor = Some(Anchor::new(a.source.id, u.id));
                u.manager = manager.map(UserRef::Id);
            }
        }
        (ops, logs)
    };
    let writer = f.store.sync_writer(a.config.id, a.target.id).await.unwrap();
    let (ops, logs) = copies(&["kept@fabrikam.example", "soft@fabrikam.example", "hard@fabrikam.example"], &[None, None, None]);
    let made: Vec<_> = ops.iter().map(|op| op.target().1).collect();
    assert!(writer.write(ops, at(1), logs).await.unwrap().iter().all(Result::is_ok));
    let gone = vec![WriteOp::SoftDeleteUser { id: made[1], if_match: None }, WriteOp::HardDeleteUser { id: made[2], if_match: None }];
    assert!(writer.write(gone, at(2), Vec::new()).await.unwrap().iter().all(Result::is_ok));
    let upns = ["r1@fabrikam.example", "r2@fabrikam.example", "r3@fabrikam.example"];
    let (ops, logs) = copies(&upns, &[Some(made[0]), Some(made[1]), Some(made[2])]);
    assert!(writer.write(ops, at(3), logs).await.unwrap().iter().all(Result::is_ok));
    // The same after a commit: the run's next transaction.
    writer.flush().await.unwrap();
    let (ops, logs) = copies(&["r4@fabrikam.example", "r5@fabrikam.example"], &[Some(made[0]), Some(made[1])]);
    assert!(writer.write(ops, at(4), logs).await.unwrap().iter().all(Result::is_ok));
    writer.flush().await.unwrap();
    let manager = |u: &'static str| {
        let store = f.store.clone();
        let target = a.target.id;
        async move { store.find_user_by_upn(target, &upn(u)).await.unwrap().unwrap_or_else(|| panic!("{u} was created")).attrs.manager }
    };
    assert_eq!(manager("r1@fabrikam.example").await, Some(made[0]));
    assert_eq!(manager("r2@fabrikam.example").await, None, "its manager was soft-deleted");
    assert_eq!(manager("r3@fabrikam.example").await, None, "its manager was hard-deleted");
    assert_eq!(manager("r4@fabrikam.example").await, Some(made[0]));
    assert_eq!(manager("r5@fabrikam.example").await, None);
}

/// Copies of every shape written one after another in a run (every attribute, only a
/// name, every attribute again, one refused in between, a manager and none, other
/// writes' times): each reads back exactly as it was written, whatever the copy before
/// it held.
pub async fn a_run_s_copies_read_back_as_written_whatever_came_before(f: Fixture) {
    use tenantsync_domain::{Anchor, UserRef};
    use tenantsync_store::WriteOp;
    let a = arrow(&f).await;
    let copy = |n: tenantsync_domain::NewUser, manager: Option<tenantsync_domain::ObjectId>| {
        let mut n = n;
        n.anchor = Some(Anchor::new(a.source.id, n.id));
        n.manager = manager.map(UserRef::Id);
        n
    };
    let writer = f.store.sync_writer(a.config.id, a.target.id).await.unwrap();
    let first = copy(full_user("full1@fabrikam.example"), None);
    let bare = copy(new_user("bare@fabrikam.example"), Some(first.id));
    let mut again = copy(full_user("full2@fabrikam.example"), None);
    again.attrs.city = None;
    again.attrs.account_enabled = true;
    let taken = copy(new_user("bare@fabrikam.example"), None);
    let last = copy(new_user("last@fabrikam.example"), Some(first.id));
    let wanted = [first.clone(), bare.clone(), again.clone(), last.clone()];
    let ops = vec![WriteOp::CreateUser(Box::new(first)), WriteOp::CreateUser(Box::new(bare))];
    assert!(writer.write(ops, at(1), Vec::new()).await.unwrap().iter().all(Result::is_ok));
    let ops = vec![WriteOp::CreateUser(Box::new(again)), WriteOp::CreateUser(Box::new(taken)), WriteOp::CreateUser(Box::new(last))];
    let results = writer.write(ops, at(2), Vec::new()).await.unwrap();
    assert!(results[0].is_ok() && results[1].is_err() && results[2].is_ok(), "{results:?}");
    writer.flush().await.unwrap();
    for n in wanted {
        let u = f.store.get_user(a.target.id, n.id).await.unwrap();
        let mut attrs = n.attrs.clone();
        attrs.manager = n.manager.as_ref().and_then(|m| if let UserRef::Id(id) = m { Some(*id) } else { None });
        assert_eq!(u.attrs, attrs, "{}", n.attrs.user_principal_name);
        assert_eq!(u.anchor, n.anchor);
        assert_eq!(u.version, tenantsync_domain::Version(1));
        assert!(u.deleted_date_time.is_none());
    }
}
