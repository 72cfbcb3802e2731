//! Job control and provisioning logs.
use crate::support::World;
use tenantsync_domain::{AttributeMapping, Clock};
use tenantsync_engine::ResetScope;
use tenantsync_store::{JobStatusCode, LogQuery, ProvisioningAction, ProvisioningStatus, WriteOp};

#[tokio::test]
async fn a_paused_job_does_not_run_and_resumes_where_it_stopped() {
    let w = World::new();
    let (s, t) = (w.tenant("Fabrikam").await, w.tenant("Contoso").await);
    let alice = w.user(&s, "alice", &[]).await;
    let c = w.arrow(&s, &t, |_| {}).await;
    w.run(&c).await;
    w.engine.pause(c.id).await.unwrap();
    w.update(&s, &alice, &[("department", "Sales")]).await;
    let err = w.engine.run_cycle(c.id).await.unwrap_err();
    assert_eq!(err.code(), "job_paused");
    assert_eq!(w.copy(&t, &alice).await.unwrap().attrs.department, None);
    w.engine.start(c.id).await.unwrap();
    let r = w.run(&c).await;
    assert!(!r.initial, "the watermark survived the pause");
    assert_eq!(w.copy(&t, &alice).await.unwrap().attrs.department.as_deref(), Some("Sales"));
}

#[tokio::test]
async fn restart_with_force_deletes_applies_staged_deletions() {
    let w = World::new();
    let (s, t) = (w.tenant("Fabrikam").await, w.tenant("Contoso").await);
    let mut users = Vec::new();
    for i in 0..4 {
        users.push(w.user(&s, &format!("u{i}"), &[]).await);
    }
    let c = w.arrow(&s, &t, |c| c.deletion_threshold = Some(2)).await;
    w.run(&c).await;
    for u in &users {
        w.store.apply_one(s.id, WriteOp::SoftDeleteUser { id: u.id, if_match: None }).await.unwrap();
    }
    assert_eq!(w.run(&c).await.staged_deletes, 4);
    assert_eq!(w.count(t.id).await, 4, "nothing is deleted while the deletions are staged");
    let staged = w.store.provisioning_logs(&LogQuery { config_id: Some(c.id), limit: 100, ..LogQuery::default() }).await.unwrap();
    assert_eq!(staged.iter().filter(|l| l.provisioning_action == ProvisioningAction::StagedDelete).count(), 4);
    // Running again without an admin's decision still holds them back.
    assert_eq!(w.run(&c).await.staged_deletes, 4);
    let state = w.engine.restart(c.id, ResetScope::parse("ForceDeletes").unwrap()).await.unwrap();
    assert!(state.force_deletes);
    let r = w.run(&c).await;
    assert_eq!((r.staged_deletes, r.soft_deleted), (0, 4));
    assert_eq!(w.count(t.id).await, 0);
    let state = w.store.job_state(c.id).await.unwrap();
    assert_eq!(state.status, JobStatusCode::Active);
    assert!(!state.force_deletes, "allowing deletes is for one cycle");
}

#[tokio::test]
async fn restart_with_watermark_re_evaluates_everything() {
    let w = World::new();
    let (s, t) = (w.tenant("Fabrikam").await, w.tenant("Contoso").await);
    let alice = w.user(&s, "alice", &[("department", "Sales")]).await;
    let c = w.arrow(&s, &t, |_| {}).await;
    w.run(&c).await;
    // A target-side edit persists until the source changes or the job restarts.
    let copy = w.copy(&t, &alice).await.unwrap();
    w.update(&t, &copy, &[("department", "Edited in target")]).await;
    assert_eq!(w.run(&c).await.updated, 0);
    w.engine.restart(c.id, ResetScope::DEFAULT).await.unwrap();
    let r = w.run(&c).await;
    assert!(r.initial);
    assert_eq!(r.updated, 1);
    assert_eq!(w.copy(&t, &alice).await.unwrap().attrs.department.as_deref(), Some("Sales"));
    assert!(ResetScope::parse("Watermark, Bogus").is_err());
}

#[tokio::test]
async fn every_object_action_is_logged_with_its_outcome() {
    let w = World::new();
    let (s, t) = (w.tenant("Fabrikam").await, w.tenant("Contoso").await);
    let alice = w.user(&s, "alice", &[("department", "Sales"), ("employeeId", "E1")]).await;
    let bob = w.user(&s, "bob", &[]).await;
    // Someone took bob's B2B UPN in the target by hand (an internal user): his create fails.
    w.store.create_user(t.id, tenantsync_domain::NewUser::new(World::upn("bob_fabrikam.example#EXT#@contoso.example"))).await.unwrap();
    let c = w
        .arrow(&s, &t, |c| {
            c.user_mappings.retain(|m| m.target_attribute_name != "officeLocation");
            c.user_mappings.push(AttributeMapping::expression("Redact([employeeId])", "officeLocation"));
        })
        .await;
    let r = w.run(&c).await;
    assert_eq!((r.created, r.escrowed, r.counters.count_exported), (1, 1, 1), "only what was written counts");
    let logs = w.store.provisioning_logs(&LogQuery { config_id: Some(c.id), limit: 100, ..LogQuery::default() }).await.unwrap();
    let of = |id| logs.iter().find(|l| l.source_id == id).unwrap();
    let a = of(alice.id);
    assert_eq!((a.provisioning_action, a.status), (ProvisioningAction::Create, ProvisioningStatus::Success));
    assert_eq!(a.target_id, w.copy(&t, &alice).await.map(|u| u.id));
    let dept = a.modified_properties.iter().find(|m| m.display_name == "department").unwrap();
    assert_eq!(dept.new_value.as_deref(), Some("Sales"));
    let office = a.modified_properties.iter().find(|m| m.display_name == "officeLocation").unwrap();
    assert_eq!(office.new_value.as_deref(), Some("[Redact]"), "Redact hides the value in logs");
    assert_eq!(w.copy(&t, &alice).await.unwrap().attrs.office_location.as_deref(), Some("E1"), "but it still flows");
    assert_eq!(a.steps.len(), 4);
    let b = of(bob.id);
    assert_eq!(b.status, ProvisioningStatus::Failure);
    assert_eq!(b.error_code.as_deref(), Some("upn_conflict"));
    assert_eq!(b.target_id, None, "a create that failed made no copy to name");
    let state = w.store.job_state(c.id).await.unwrap();
    assert_eq!(state.escrows.len(), 1);
    assert_eq!(state.last_execution.unwrap().state, tenantsync_domain::ExecutionState::EntryLevelErrors);
    // Queries by status and by object.
    let failures = w.store.provisioning_logs(&LogQuery { status: Some(ProvisioningStatus::Failure), limit: 10, ..LogQuery::default() }).await.unwrap();
    assert_eq!(failures.len(), 1);
    let alices = w.store.provisioning_logs(&LogQuery { object_id: Some(alice.id), limit: 10, ..LogQuery::default() }).await.unwrap();
    assert_eq!(alices.len(), 1);
    // The next cycle has no changes, and bob's retry is not due yet (backoff): no new
    // records, and bob stays in escrow.
    let r = w.run(&c).await;
    assert_eq!(r.escrowed, 0);
    assert_eq!(w.store.job_state(c.id).await.unwrap().escrows.len(), 1);
    assert_eq!(w.store.purge_provisioning_logs(w.clock.now().checked_add(jiff::SignedDuration::from_secs(1)).unwrap()).await.unwrap() as usize, logs.len());
}

fn redact(s: &str) -> String {
    let b = s.as_bytes();
    let is_uuid = |w: &[u8]| w.len() == 36 && w.iter().enumerate().all(|(i, c)| if [8, 13, 18, 23].contains(&i) { *c == b'-' } else { c.is_ascii_hexdigit() });
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        if i + 36 <= b.len() && is_uuid(&b[i..i + 36]) {
            out.push_str("<id>");
            i += 36;
        } else {
            let ch = s[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

#[tokio::test]
async fn on_demand_provisioning_explains_every_step_and_really_writes() {
    let w = World::new();
    let (s, t) = (w.tenant("Fabrikam").await, w.tenant("Contoso").await);
    let alice = w.user(&s, "alice", &[("displayName", "Alice"), ("department", "Sales")]).await;
    let bob = w.user(&s, "bob", &[("department", "Legal")]).await;
    let c = w
        .arrow(&s, &t, |c| {
            c.scoping_filter = vec![tenantsync_domain::ScopingFilterGroup {
                name: "Sales".into(),
                clauses: vec![tenantsync_domain::ScopingClause {
                    source_operand_name: "department".into(),
                    operator_name: "EQUALS".into(),
                    target_operand: tenantsync_domain::ScopingOperand { values: vec!["Sales".into()] },
                }],
            }];
        })
        .await;
    let log = w.engine.provision_on_demand(c.id, alice.id).await.unwrap();
    assert_eq!((log.provisioning_action, log.status), (ProvisioningAction::Create, ProvisioningStatus::Success));
    let copy = w.copy(&t, &alice).await.expect("on-demand really writes");
    assert_eq!(log.target_id, Some(copy.id));
    let skipped = w.engine.provision_on_demand(c.id, bob.id).await.unwrap();
    assert_eq!(skipped.status, ProvisioningStatus::Skipped);
    assert!(w.copy(&t, &bob).await.is_none());
    // The job's watermark did not move: the next cycle is still the initial one.
    assert!(w.run(&c).await.initial);
    let shown = |l: &tenantsync_store::ProvisioningLog| {
        let mut out = String::new();
        for st in &l.steps {
            out.push_str(&format!("{} [{}] {:?}: {}\n", st.kind, st.kind.step_type(), st.status, st.description));
            for (k, v) in &st.details {
                out.push_str(&format!("    {k}: {v}\n"));
            }
        }
        redact(&out)
    };
    insta::assert_snapshot!("on_demand_create", shown(&log));
    insta::assert_snapshot!("on_demand_out_of_scope", shown(&skipped));
}

#[tokio::test]
async fn failures_back_off_and_enough_of_them_quarantine_the_job() {
    let w = World::new();
    let (s, t) = (w.tenant("Fabrikam").await, w.tenant("Contoso").await);
    let alice = w.user(&s, "alice", &[]).await;
    let bob = w.user(&s, "bob", &[]).await;
    // bob's B2B UPN is taken in the target by an internal user: his create fails.
    w.store.create_user(t.id, tenantsync_domain::NewUser::new(World::upn("bob_fabrikam.example#EXT#@contoso.example"))).await.unwrap();
    let c = w
        .arrow(&s, &t, |c| {
            c.retry = tenantsync_domain::RetryPolicy { base_seconds: 3600, max_seconds: 7200 };
            c.quarantine = tenantsync_domain::QuarantineThresholds { evaluate_after: 1, failure_percent: 40, failures: 100, absolute: 1000 };
        })
        .await;
    let r = w.run(&c).await;
    assert_eq!((r.created, r.escrowed), (1, 1));
    let state = w.store.job_state(c.id).await.unwrap();
    assert_eq!(state.status, JobStatusCode::Quarantine, "1 of 2 failed: above 40 %");
    assert_eq!(state.quarantine_reason, Some(tenantsync_domain::QuarantineReason::EncounteredEscrowProportionThreshold));
    let escrow = &state.escrows[0];
    let hour = jiff::SignedDuration::from_hours(1);
    assert_eq!((escrow.source_object_id, escrow.attempts), (bob.id, 1));
    assert_eq!(escrow.next_attempt, w.clock.now() + hour, "retried after the base delay");
    // Not due yet (a minute before): the next cycle leaves bob in escrow without trying.
    w.clock.advance_ms(59 * 60 * 1000);
    let r = w.run(&c).await;
    assert_eq!(r.escrowed, 0);
    assert_eq!(w.store.job_state(c.id).await.unwrap().escrows, state.escrows, "kept as it was while waiting");
    // Due: retried without any change of bob; it fails again and backs off twice as
    // long, up to the maximum of two hours.
    w.clock.advance_ms(60 * 1000);
    let r = w.run(&c).await;
    assert_eq!(r.escrowed, 1);
    let escrow = w.store.job_state(c.id).await.unwrap().escrows[0].clone();
    assert_eq!((escrow.attempts, escrow.next_attempt), (2, w.clock.now() + hour * 2));
    w.clock.advance_ms(2 * 3600 * 1000);
    let r = w.run(&c).await;
    let escrow = w.store.job_state(c.id).await.unwrap().escrows[0].clone();
    assert_eq!((r.escrowed, escrow.attempts, escrow.next_attempt), (1, 3, w.clock.now() + hour * 2), "capped at max_seconds");
    // A change of the source object retries it at once; the cause is gone, so it works
    // and the quarantine lifts.
    let blocker = w.store.find_user_by_upn(t.id, &World::upn("bob_fabrikam.example#EXT#@contoso.example")).await.unwrap().unwrap();
    w.store.apply_one(t.id, WriteOp::HardDeleteUser { id: blocker.id, if_match: None }).await.unwrap();
    w.update(&s, &bob, &[("department", "Legal")]).await;
    let r = w.run(&c).await;
    assert_eq!((r.created, r.escrowed), (1, 0));
    let state = w.store.job_state(c.id).await.unwrap();
    assert!(state.escrows.is_empty());
    assert_eq!(state.status, JobStatusCode::Active);
    assert!(w.copy(&t, &alice).await.is_some() && w.copy(&t, &bob).await.is_some());
}

/// A cycle of several batches (three here: the writer has two in flight while the third
/// is planned) lands whole, and a refused write in any batch is escrowed.
#[tokio::test]
async fn a_cycle_of_several_batches_escrows_the_failures_of_every_batch() {
    let w = World::new();
    let s = w.tenant("Contoso").await;
    let t = w.tenant("Fabrikam").await;
    const USERS: usize = 17_000;
    let ops: Vec<WriteOp> = (0..USERS)
        .map(|i| WriteOp::CreateUser(Box::new(tenantsync_domain::NewUser::new(tenantsync_domain::Upn::parse(&format!("u{i}@contoso.example")).unwrap()))))
        .collect();
    for chunk in ops.chunks(5000) {
        w.store.apply(s.id, chunk.to_vec(), tenantsync_store::BatchMode::Atomic).await.unwrap();
    }
    // Internal users of the target already hold the UPNs two copies would get: one in
    // the first batch, one in the last.
    for i in [5, 16_990] {
        let upn = tenantsync_domain::Upn::parse(&format!("u{i}_contoso.example#EXT#@fabrikam.example")).unwrap();
        w.store.create_user(t.id, tenantsync_domain::NewUser::new(upn)).await.unwrap();
    }
    let c = w.arrow(&s, &t, |_| {}).await;
    let report = w.run(&c).await;
    assert_eq!(report.created as usize, USERS - 2, "the two refused creates are not counted");
    assert_eq!(report.escrowed, 2);
    assert_eq!(report.counters.count_exported as usize, USERS - 2);
    assert_eq!(w.count(t.id).await as usize, USERS);
    let state = w.store.job_state(c.id).await.unwrap();
    assert_eq!(state.watermark, w.store.change_head(s.id).await.unwrap());
    let mut escrowed: Vec<String> = Vec::new();
    for e in &state.escrows {
        assert_eq!(e.error_code, "upn_conflict");
        escrowed.push(w.store.get_user(s.id, e.source_object_id).await.unwrap().attrs.user_principal_name.to_string());
    }
    escrowed.sort();
    assert_eq!(escrowed, ["u16990@contoso.example", "u5@contoso.example"]);
    let failures = w
        .store
        .provisioning_logs(&LogQuery { config_id: Some(c.id), status: Some(ProvisioningStatus::Failure), limit: 10, ..LogQuery::default() })
        .await
        .unwrap();
    assert_eq!(failures.len(), 2);
    let logged = w.store.provisioning_logs(&LogQuery { config_id: Some(c.id), limit: 20_000, ..LogQuery::default() }).await.unwrap();
    assert_eq!(logged.len(), USERS);
}
