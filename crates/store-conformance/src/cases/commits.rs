//! `commit_sync`: a sync batch's target writes, their log records and the job state in one
//! transaction.
use crate::Fixture;
use crate::support::*;
use tenantsync_domain::{Anchor, ChangeCursor, ChangeOp, Clock, ObjectId, SyncConfigId, TenantId, UserRef};
use tenantsync_store::{ProvisioningStatus, WriteOp, WriteOutcome};

pub async fn commit_sync_writes_ops_logs_and_state_together(f: Fixture) {
    let a = arrow(&f).await;
    let (ops, logs) = creates(&a, &f, &["a@fabrikam.example", "b@fabrikam.example"]);
    tick(&f, 5);
    let results = f.store.commit_sync(a.config.id, a.target.id, ops, at(9), logs.clone()).await.unwrap();
    assert_eq!(results.len(), 2);
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert!(exists(&f, a.target.id, "a@fabrikam.example").await);
    assert!(exists(&f, a.target.id, "b@fabrikam.example").await);
    assert_eq!(f.store.job_state(a.config.id).await.unwrap(), at(9));
    let got = logs_of(&f, a.config.id).await;
    let want: Vec<_> = logs.into_iter().rev().map(|mut l| (l.op_index.take(), l).1).collect();
    assert_eq!(got, want, "records are kept as given, newest (last written) first");
    let changes = changes_after(&f, a.target.id, ChangeCursor::START).await;
    assert_eq!(changes.len(), 2);
    assert_changes_at_now(&f, &changes);
    // Nothing went to the source.
    assert_eq!(head(&f, a.source.id).await, ChangeCursor::START);
}

pub async fn refused_writes_fail_alone_and_their_records_say_so(f: Fixture) {
    let a = arrow(&f).await;
    f.store.create_user(a.target.id, new_user("taken@fabrikam.example")).await.unwrap();
    let (ops, mut logs) = creates(&a, &f, &["a@fabrikam.example", "TAKEN@fabrikam.example", "c@fabrikam.example"]);
    // A record not tied to a write is kept as it is.
    let mut loose = log_record(a.config.id, ObjectId::new(), None, f.clock.now());
    loose.status = ProvisioningStatus::Skipped;
    logs.push(loose.clone());
    let results = f.store.commit_sync(a.config.id, a.target.id, ops, at(3), logs.clone()).await.unwrap();
    let codes: Vec<_> = results.iter().map(|r| r.as_ref().err().map(|e| e.code())).collect();
    assert_eq!(codes, [None, Some("upn_conflict"), None]);
    assert!(exists(&f, a.target.id, "c@fabrikam.example").await);
    assert_eq!(f.store.job_state(a.config.id).await.unwrap(), at(3));
    let got = logs_of(&f, a.config.id).await;
    assert_eq!(got.len(), 4);
    assert_eq!(got[0], loose);
    let failed = &got[2];
    assert_eq!(failed.source_id, logs[1].source_id);
    assert_eq!(failed.status, ProvisioningStatus::Failure);
    assert_eq!(failed.error_code.as_deref(), Some("upn_conflict"));
    assert!(failed.error_message.as_deref().is_some_and(|m| m.contains("already used")), "{failed:?}");
    assert_eq!(failed.target_id, None, "a create that was refused made no copy");
    assert_eq!(got[1].status, ProvisioningStatus::Success);
    assert_eq!(got[3].status, ProvisioningStatus::Success);
    // One create change for each created user, after the one made before.
    assert_eq!(head(&f, a.target.id).await, ChangeCursor(3));
}

pub async fn commit_sync_of_an_unknown_configuration_writes_nothing(f: Fixture) {
    let a = arrow(&f).await;
    let before = snapshot(&f, a.target.id).await;
    let (ops, logs) = creates(&a, &f, &["a@fabrikam.example"]);
    let ghost = SyncConfigId::new();
    assert_code(f.store.commit_sync(ghost, a.target.id, ops, at(1), logs).await, "sync_configuration_not_found");
    assert_unchanged(&f, a.target.id, &before, "a commit of an unknown configuration").await;
    assert!(f.store.provisioning_logs(&tenantsync_store::LogQuery { limit: 10, ..Default::default() }).await.unwrap().is_empty());
}

pub async fn commit_sync_to_an_unknown_tenant_writes_nothing(f: Fixture) {
    let a = arrow(&f).await;
    let (ops, logs) = creates(&a, &f, &["a@fabrikam.example"]);
    assert_code(f.store.commit_sync(a.config.id, TenantId::new(), ops, at(1), logs).await, "tenant_not_found");
    assert_eq!(f.store.job_state(a.config.id).await.unwrap(), at(0));
    assert!(logs_of(&f, a.config.id).await.is_empty());
}

pub async fn commit_sync_notifies_the_target_and_not_job_subscribers(f: Fixture) {
    let a = arrow(&f).await;
    let mut commits = f.store.subscribe();
    let mut jobs = f.store.subscribe_jobs();
    let (ops, logs) = creates(&a, &f, &["a@fabrikam.example", "b@fabrikam.example"]);
    f.store.commit_sync(a.config.id, a.target.id, ops, at(1), logs).await.unwrap();
    let n = within("commit notice", commits.recv()).await.unwrap();
    assert_eq!((n.tenant_id, n.head), (a.target.id, ChangeCursor(2)));
    // A commit of state and logs alone appends no change and notifies nobody.
    f.store.commit_sync(a.config.id, a.target.id, Vec::new(), at(2), Vec::new()).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(commits.try_recv().is_err(), "no change, no notice");
    assert!(jobs.try_recv().is_err(), "a cycle's own commits are not job notices");
}

/// A run of copies may be applied in any order inside the store, which no caller may
/// notice: results in the batch's order, the first of two creates of one UPN wins, a
/// manager created in the same batch is set, one whose create is refused is left unset.
pub async fn a_run_of_copies_keeps_its_results_in_order_and_its_managers_right(f: Fixture) {
    let a = arrow(&f).await;
    f.store.create_user(a.target.id, new_user("taken@fabrikam.example")).await.unwrap();
    let copy = |u: &str| {
        let mut n = new_user(u);
        n.anchor = Some(Anchor::new(a.source.id, ObjectId::new()));
        n
    };
    let (mut zed, bob, mut amy, bob_again, mut cat, dan) = (
        copy("zed@fabrikam.example"),
        copy("bob@fabrikam.example"),
        copy("amy@fabrikam.example"),
        copy("BOB@fabrikam.example"),
        copy("cat@fabrikam.example"),
        copy("taken@fabrikam.example"),
    );
    zed.manager = Some(UserRef::Id(bob.id));
    amy.manager = Some(UserRef::Id(zed.id));
    cat.manager = Some(UserRef::Id(dan.id));
    let ids = [zed.id, bob.id, amy.id, bob_again.id, cat.id, dan.id];
    let ops: Vec<WriteOp> = [zed, bob, amy, bob_again, cat, dan].into_iter().map(|u| WriteOp::CreateUser(Box::new(u))).collect();
    let results = f.store.commit_sync(a.config.id, a.target.id, ops, at(1), Vec::new()).await.unwrap();
    let codes: Vec<_> = results.iter().map(|r| r.as_ref().err().map(|e| e.code())).collect();
    assert_eq!(codes, [None, None, None, Some("upn_conflict"), None, Some("upn_conflict")]);
    for (result, id) in results.iter().zip(ids) {
        if let Ok(WriteOutcome::User(u)) = result {
            assert_eq!(u.id, id, "results stay in the batch's order");
        }
    }
    let manager = |id| {
        let store = f.store.clone();
        let target = a.target.id;
        async move { store.get_user(target, id).await.unwrap().attrs.manager }
    };
    assert_eq!(manager(ids[0]).await, Some(ids[1]));
    assert_eq!(manager(ids[2]).await, Some(ids[0]));
    assert_eq!(manager(ids[4]).await, None, "its manager's create was refused");
    match &results[4] {
        Ok(WriteOutcome::User(u)) => assert_eq!(u.attrs.manager, None),
        other => panic!("{other:?}"),
    }
    // One create change per created user.
    let changes = changes_after(&f, a.target.id, ChangeCursor::START).await;
    assert_eq!(changes.len(), 5);
    assert!(changes.iter().all(|c| c.op == ChangeOp::Create));
}

/// A create's record may leave a new value in the copy its write creates
/// (`ModifiedProperty::in_copy`, and its anchor: `anchor_in_copy`): stored, the record
/// carries it as its own — through `commit_sync` and a sync writer, and when a refused
/// write in its block turns another record into a failure (the block packed again).
pub async fn values_a_record_leaves_in_its_copy_are_stored_as_its_own(f: Fixture) {
    use tenantsync_domain::UserAttribute;
    use tenantsync_store::{ModifiedProperty, ProvisioningLog, fill_values_from};
    let a = arrow(&f).await;
    f.store.create_user(a.target.id, new_user("taken@fabrikam.example")).await.unwrap();
    let batch = |upns: &[&str]| {
        let (mut ops, mut logs) = creates(&a, &f, upns);
        for (op, log) in ops.iter_mut().zip(logs.iter_mut()) {
            if let WriteOp::CreateUser(u) = op {
                u.attrs.city = Some(format!("City of {}", u.attrs.user_principal_name));
                u.attrs.account_enabled = false;
                u.anchor = Some(tenantsync_domain::Anchor::new(a.source.id, log.source_id));
            }
            log.modified_properties.insert(0, ModifiedProperty::in_copy(UserAttribute::City));
            log.modified_properties.insert(1, ModifiedProperty::in_copy(UserAttribute::UserPrincipalName));
            log.modified_properties.insert(2, ModifiedProperty::anchor_in_copy());
            log.modified_properties.push(ModifiedProperty::in_copy(UserAttribute::AccountEnabled));
        }
        let mut want = logs.clone();
        fill_values_from(&mut want, &ops);
        (ops, logs, want)
    };
    let (ops, logs, mut want) = batch(&["a@fabrikam.example", "TAKEN@fabrikam.example"]);
    let results = f.store.commit_sync(a.config.id, a.target.id, ops, at(1), logs).await.unwrap();
    assert!(results[0].is_ok() && results[1].is_err(), "{results:?}");
    let writer = f.store.sync_writer(a.config.id, a.target.id).await.unwrap();
    let (ops, logs, more) = batch(&["b@fabrikam.example", "Taken@fabrikam.example"]);
    want.extend(more);
    let results = writer.write(ops, at(2), logs).await.unwrap();
    assert!(results[0].is_ok() && results[1].is_err(), "{results:?}");
    writer.flush().await.unwrap();
    let got = logs_of(&f, a.config.id).await;
    assert_eq!(got.len(), 4);
    for w in &want {
        let g: &ProvisioningLog = got.iter().find(|g| g.source_id == w.source_id).unwrap();
        assert_eq!(g.modified_properties, w.modified_properties, "{}", w.source_display_name);
        let city = g.modified_properties.first().and_then(|m| m.new_value.clone());
        assert_eq!(city, Some(format!("City of {}", w.source_display_name)));
        assert_eq!(g.modified_properties.last().and_then(|m| m.new_value.as_deref()), Some("false"));
        let value = |name: &str| g.modified_properties.iter().find(|m| m.display_name == name).and_then(|m| m.new_value.clone());
        assert!(value("userPrincipalName").is_some_and(|u| u.eq_ignore_ascii_case(&w.source_display_name)), "{g:?}");
        assert_eq!(value("anchor"), Some(tenantsync_domain::Anchor::new(a.source.id, w.source_id).text()));
        let refused = w.source_display_name.eq_ignore_ascii_case("taken@fabrikam.example");
        assert_eq!(g.status == ProvisioningStatus::Failure, refused, "{g:?}");
    }
}
