//! The sync writer: a run's commits grouped into larger transactions, each write whole.
use std::sync::Arc;
use tenantsync_domain::{ChangeCursor, NewTenant, NewUser, ObjectKind, SyncConfiguration, Tenant, Upn};
use tenantsync_store::{JobState, LogQuery, ProvisioningAction, ProvisioningLog, ProvisioningStatus, Store, StoreError, SyncStore, SyncWriter, WriteOp};
use tenantsync_store_sqlite::SqliteStore;

struct Setup {
    store: SqliteStore,
    target: Tenant,
    config: SyncConfiguration,
    _dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let source = store.create_tenant(NewTenant::new("Contoso", "contoso.example").unwrap()).await.unwrap();
    let target = store.create_tenant(NewTenant::new("Fabrikam", "fabrikam.example").unwrap()).await.unwrap();
    let config = store.create_sync_configuration(SyncConfiguration::new("arrow", source.id, target.id).unwrap()).await.unwrap();
    Setup { store, target, config, _dir: dir }
}

/// A write creating `upns` in the target, with one log record each, and the state at `watermark`.
fn batch(s: &Setup, upns: &[&str]) -> (Vec<WriteOp>, Vec<ProvisioningLog>) {
    let mut ops = Vec::new();
    let mut logs = Vec::new();
    for (i, upn) in upns.iter().enumerate() {
        let user = NewUser::new(Upn::parse(upn).unwrap());
        logs.push(ProvisioningLog {
            id: uuid::Uuid::now_v7().to_string(),
            config_id: s.config.id,
            cycle_id: "cycle".into(),
            change_id: format!("cycle-{i}"),
            activity_date_time: jiff::Timestamp::now(),
            provisioning_action: ProvisioningAction::Create,
            status: ProvisioningStatus::Success,
            object_type: ObjectKind::User,
            source_id: user.id,
            source_display_name: (*upn).to_owned(),
            target_id: Some(user.id),
            skip_reason: None,
            error_code: None,
            error_message: None,
            modified_properties: Vec::new(),
            steps: Vec::new(),
            duration_in_milliseconds: 0,
            op_index: Some(i),
        });
        ops.push(WriteOp::CreateUser(Box::new(user)));
    }
    (ops, logs)
}

fn at(watermark: u64) -> JobState {
    JobState { watermark: ChangeCursor(watermark), ..JobState::default() }
}

async fn exists(s: &Setup, upn: &str) -> bool {
    s.store.find_user_by_upn(s.target.id, &Upn::parse(upn).unwrap()).await.unwrap().is_some()
}

async fn logged(s: &Setup) -> usize {
    s.store.provisioning_logs(&LogQuery { config_id: Some(s.config.id), limit: 1000, ..LogQuery::default() }).await.unwrap().len()
}

#[tokio::test]
async fn a_flush_commits_the_writes_their_logs_and_the_state() {
    let s = setup().await;
    let writer = s.store.sync_writer(s.config.id, s.target.id).await.unwrap();
    for (i, upns) in [["a@fabrikam.example", "b@fabrikam.example"], ["c@fabrikam.example", "a@fabrikam.example"]].iter().enumerate() {
        let (ops, logs) = batch(&s, upns);
        let results = writer.write(ops, at(i as u64 + 1), logs).await.unwrap();
        assert!(results[0].is_ok());
        // A refused write fails alone, and its record says so.
        assert_eq!(results[1].is_err(), i == 1);
    }
    writer.flush().await.unwrap();
    for upn in ["a@fabrikam.example", "b@fabrikam.example", "c@fabrikam.example"] {
        assert!(exists(&s, upn).await, "{upn}");
    }
    assert_eq!(s.store.job_state(s.config.id).await.unwrap().watermark, ChangeCursor(2));
    let logs = s.store.provisioning_logs(&LogQuery { config_id: Some(s.config.id), limit: 10, ..LogQuery::default() }).await.unwrap();
    assert_eq!(logs.len(), 4);
    let failed: Vec<_> = logs.iter().filter(|l| l.status == ProvisioningStatus::Failure).collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].error_code.as_deref(), Some("upn_conflict"));
    assert_eq!(s.store.change_head(s.target.id).await.unwrap(), ChangeCursor(3));
}

#[tokio::test]
async fn a_writer_dropped_without_a_flush_keeps_each_write_whole() {
    let s = setup().await;
    let writer = s.store.sync_writer(s.config.id, s.target.id).await.unwrap();
    let (ops, logs) = batch(&s, &["a@fabrikam.example"]);
    writer.write(ops, at(1), logs).await.unwrap();
    writer.flush().await.unwrap();
    let (ops, logs) = batch(&s, &["b@fabrikam.example"]);
    writer.write(ops, at(2), logs).await.unwrap();
    drop(writer);
    // Any later write runs after the stream has ended, one way or the other.
    s.store.create_tenant(NewTenant::new("Later", "later.example").unwrap()).await.unwrap();
    let watermark = s.store.job_state(s.config.id).await.unwrap().watermark;
    assert!(exists(&s, "a@fabrikam.example").await);
    let second = exists(&s, "b@fabrikam.example").await;
    assert_eq!(second, watermark == ChangeCursor(2), "the second write's user and state land together or not at all");
    assert_eq!(logged(&s).await, if second { 2 } else { 1 });
}

#[tokio::test]
async fn other_writers_do_not_wait_for_an_open_stream() {
    let s = setup().await;
    let writer = s.store.sync_writer(s.config.id, s.target.id).await.unwrap();
    let (ops, logs) = batch(&s, &["a@fabrikam.example"]);
    writer.write(ops, at(1), logs).await.unwrap();
    // A write of someone else into the same target, while the stream may hold a
    // transaction open: it goes ahead, and the stream goes on after it.
    s.store.create_user(s.target.id, NewUser::new(Upn::parse("own@fabrikam.example").unwrap())).await.unwrap();
    let (ops, logs) = batch(&s, &["b@fabrikam.example"]);
    writer.write(ops, at(2), logs).await.unwrap();
    writer.flush().await.unwrap();
    for upn in ["a@fabrikam.example", "own@fabrikam.example", "b@fabrikam.example"] {
        assert!(exists(&s, upn).await, "{upn}");
    }
    // Three creates, three changes, in the order they were written.
    let page = s.store.changes_since(s.target.id, ChangeCursor::START, 10).await.unwrap();
    assert_eq!(page.changes.len(), 3);
    assert_eq!(page.next_cursor, ChangeCursor(3));
    assert_eq!(s.store.job_state(s.config.id).await.unwrap().watermark, ChangeCursor(2));
}

#[tokio::test]
async fn a_store_error_fails_the_write_and_loses_none_of_the_committed_ones() {
    let s = setup().await;
    let writer: Arc<dyn SyncWriter> = s.store.sync_writer(s.config.id, s.target.id).await.unwrap();
    let (ops, logs) = batch(&s, &["a@fabrikam.example"]);
    writer.write(ops, at(1), logs).await.unwrap();
    // The configuration goes (a write of its own: the stream commits before it runs).
    s.store.delete_sync_configuration(s.config.id).await.unwrap();
    let (ops, logs) = batch(&s, &["b@fabrikam.example"]);
    let err = writer.write(ops, at(2), logs).await.unwrap_err();
    assert!(matches!(err, StoreError::SyncConfigNotFound { .. }), "{err:?}");
    assert!(exists(&s, "a@fabrikam.example").await);
    assert!(!exists(&s, "b@fabrikam.example").await, "the failed write's target writes are rolled back");
    // The writer goes on working after the error.
    writer.flush().await.unwrap();
}

#[tokio::test]
async fn a_stream_left_idle_ends_and_the_writer_goes_on() {
    let s = setup().await;
    let writer = s.store.sync_writer(s.config.id, s.target.id).await.unwrap();
    let (ops, logs) = batch(&s, &["a@fabrikam.example"]);
    writer.write(ops, at(1), logs).await.unwrap();
    // Long enough for the stream to commit on its own and end (it waits 100 ms).
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    writer.flush().await.unwrap();
    assert!(exists(&s, "a@fabrikam.example").await);
    assert_eq!(s.store.job_state(s.config.id).await.unwrap().watermark, ChangeCursor(1));
    // The next write starts a new stream.
    let (ops, logs) = batch(&s, &["b@fabrikam.example"]);
    writer.write(ops, at(2), logs).await.unwrap();
    writer.flush().await.unwrap();
    assert!(exists(&s, "b@fabrikam.example").await);
    assert_eq!(s.store.job_state(s.config.id).await.unwrap().watermark, ChangeCursor(2));
    assert_eq!(logged(&s).await, 2);
}

/// A run of copies is applied in UPN order (see `Tx::apply_sync`), which no caller may
/// notice: results in the batch's order, the first of two creates of one UPN wins, a
/// manager created in the same run is set, one whose create is refused is left unset.
#[tokio::test]
async fn a_run_of_copies_keeps_its_results_in_order_and_its_managers_right() {
    use tenantsync_domain::{Anchor, ObjectId, UserRef};
    let s = setup().await;
    s.store.create_user(s.target.id, NewUser::new(Upn::parse("taken@fabrikam.example").unwrap())).await.unwrap();
    let copy = |upn: &str| {
        let mut u = NewUser::new(Upn::parse(upn).unwrap());
        u.anchor = Some(Anchor::new(s.config.source_tenant_id, ObjectId::new()));
        u
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
    let results = s.store.commit_sync(s.config.id, s.target.id, ops, at(1), Vec::new()).await.unwrap();
    let codes: Vec<_> = results.iter().map(|r| r.as_ref().err().map(|e| e.code())).collect();
    assert_eq!(codes, [None, None, None, Some("upn_conflict"), None, Some("upn_conflict")]);
    for (result, id) in results.iter().zip(ids) {
        if let Ok(tenantsync_store::WriteOutcome::User(u)) = result {
            assert_eq!(u.id, id, "results stay in the batch's order");
        }
    }
    let manager = |id| {
        let store = s.store.clone();
        let target = s.target.id;
        async move { store.get_user(target, id).await.unwrap().attrs.manager }
    };
    assert_eq!(manager(ids[0]).await, Some(ids[1]));
    assert_eq!(manager(ids[2]).await, Some(ids[0]));
    assert_eq!(manager(ids[4]).await, None, "its manager's create was refused");
    match &results[4] {
        Ok(tenantsync_store::WriteOutcome::User(u)) => assert_eq!(u.attrs.manager, None),
        other => panic!("{other:?}"),
    }
    // One create change per created user.
    assert_eq!(s.store.change_head(s.target.id).await.unwrap(), ChangeCursor(5));
}
