//! The dry run (`Engine::predict`), as a property: over arbitrary small topologies and
//! directories, interleaving source changes, configuration changes and cycles, the
//! prediction of an arrow's next cycle counts exactly what that cycle then does, and
//! writes nothing (the target's feed and the job state stay as they were).
use crate::support::World;
use proptest::prelude::*;
use tenantsync_domain::{ScopingClause, ScopingFilterGroup, ScopingOperand, SyncConfiguration, SyncScope, Tenant, User};
use tenantsync_engine::CycleReport;
use tenantsync_store::WriteOp;

const DEPARTMENTS: [&str; 3] = ["Sales", "Legal", "Research"];

#[derive(Debug, Clone)]
enum Step {
    Create {
        tenant: usize,
        department: usize,
    },
    SetDepartment {
        user: usize,
        department: usize,
    },
    SetEnabled {
        user: usize,
        enabled: bool,
    },
    SoftDelete {
        user: usize,
    },
    Restore {
        user: usize,
    },
    /// Changes an arrow: scope, filter, delete action, deletion threshold.
    Reconfigure {
        arrow: usize,
        all_users: bool,
        filter: Option<usize>,
        delete: bool,
        threshold: Option<u32>,
    },
    /// Predicts an arrow's next cycle, runs it, compares.
    Cycle {
        arrow: usize,
    },
}

#[derive(Debug, Clone)]
struct Scenario {
    tenants: usize,
    arrows: Vec<(usize, usize)>,
    steps: Vec<Step>,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..4usize, 0..3usize).prop_map(|(tenant, department)| Step::Create { tenant, department }),
        2 => (0..64usize, 0..3usize).prop_map(|(user, department)| Step::SetDepartment { user, department }),
        1 => (0..64usize, any::<bool>()).prop_map(|(user, enabled)| Step::SetEnabled { user, enabled }),
        1 => (0..64usize).prop_map(|user| Step::SoftDelete { user }),
        1 => (0..64usize).prop_map(|user| Step::Restore { user }),
        1 => (0..8usize, any::<bool>(), proptest::option::of(0..3usize), any::<bool>(), proptest::option::of(0..3u32))
            .prop_map(|(arrow, all_users, filter, delete, threshold)| Step::Reconfigure { arrow, all_users, filter, delete, threshold }),
        3 => (0..8usize).prop_map(|arrow| Step::Cycle { arrow }),
    ]
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (2..=4usize, proptest::collection::vec((0..4usize, 0..4usize), 1..6), proptest::collection::vec(step(), 1..40)).prop_map(|(tenants, arrows, steps)| {
        let mut pairs: Vec<(usize, usize)> = arrows.into_iter().map(|(s, t)| (s % tenants, t % tenants)).filter(|(s, t)| s != t).collect();
        pairs.sort();
        pairs.dedup();
        if pairs.is_empty() {
            pairs.push((0, 1));
        }
        Scenario { tenants, arrows: pairs, steps }
    })
}

/// What a prediction must match of a report.
fn counts(r: &CycleReport) -> [u64; 8] {
    [r.created, r.updated, r.restored, r.soft_deleted, r.hard_deleted, r.skipped, r.staged_deletes, u64::from(r.initial)]
}

async fn play(s: &Scenario) {
    // Pages of two users: walks of several pages, and scans shared over several pages.
    let w = World::with_limits(tenantsync_engine::Limits { page_users: 2, ..tenantsync_engine::Limits::default() });
    let mut tenants: Vec<Tenant> = Vec::new();
    for i in 0..s.tenants {
        tenants.push(w.tenant(&format!("T{i}")).await);
    }
    let mut arrows: Vec<SyncConfiguration> = Vec::new();
    for (a, b) in &s.arrows {
        arrows.push(w.arrow(&tenants[*a], &tenants[*b], |_| {}).await);
    }
    let mut users: Vec<(usize, User)> = Vec::new();
    for step in &s.steps {
        let pick = |i: usize| (!users.is_empty()).then(|| users[i % users.len()].clone());
        match step.clone() {
            Step::Create { tenant, department } => {
                let t = tenant % s.tenants;
                let u = w
                    .user(
                        &tenants[t],
                        &format!("u{}", users.len()),
                        &[("department", DEPARTMENTS[department]), ("mail", &format!("u{}@m.example", users.len()))],
                    )
                    .await;
                users.push((t, u));
            }
            Step::SetDepartment { user, department } => {
                if let Some((t, u)) = pick(user) {
                    let _ = w
                        .store
                        .update_user(
                            tenants[t].id,
                            u.id,
                            tenantsync_domain::UserPatch::from_pairs([("department", tenantsync_domain::AttrValue::String(DEPARTMENTS[department].into()))])
                                .unwrap(),
                            None,
                        )
                        .await;
                }
            }
            Step::SetEnabled { user, enabled } => {
                if let Some((t, u)) = pick(user) {
                    let _ = w
                        .store
                        .update_user(
                            tenants[t].id,
                            u.id,
                            tenantsync_domain::UserPatch::from_pairs([("accountEnabled", tenantsync_domain::AttrValue::Bool(enabled))]).unwrap(),
                            None,
                        )
                        .await;
                }
            }
            Step::SoftDelete { user } => {
                if let Some((t, u)) = pick(user) {
                    let _ = w.store.apply_one(tenants[t].id, WriteOp::SoftDeleteUser { id: u.id, if_match: None }).await;
                }
            }
            Step::Restore { user } => {
                if let Some((t, u)) = pick(user) {
                    let _ = w.store.apply_one(tenants[t].id, WriteOp::RestoreUser { id: u.id, if_match: None }).await;
                }
            }
            Step::Reconfigure { arrow, all_users, filter, delete, threshold } => {
                let i = arrow % arrows.len();
                let mut c = w.store.get_sync_configuration(arrows[i].id).await.unwrap();
                c.scope = if all_users { SyncScope::AllUsers } else { SyncScope::AssignedUsersAndGroups };
                c.scoping_filter = filter
                    .map(|d| {
                        let clause = ScopingClause {
                            source_operand_name: "department".into(),
                            operator_name: "EQUALS".into(),
                            target_operand: ScopingOperand { values: vec![DEPARTMENTS[d].into()] },
                        };
                        vec![ScopingFilterGroup { name: "f".into(), clauses: vec![clause] }]
                    })
                    .unwrap_or_default();
                c.actions.delete = delete;
                c.deletion_threshold = threshold;
                arrows[i] = w.engine.update_configuration(c).await.unwrap();
            }
            Step::Cycle { arrow } => {
                let c = w.store.get_sync_configuration(arrows[arrow % arrows.len()].id).await.unwrap();
                let target = w.store.get_tenant(c.target_tenant_id).await.unwrap();
                let (head, state) = (w.store.change_head(target.id).await.unwrap(), w.store.job_state(c.id).await.unwrap());
                let predicted = w.engine.predict(c.clone(), state.clone(), &target.initial_domain, 2).await.unwrap();
                // Predicted together with every other arrow (those from one source sharing
                // one scan of it), each arrow's prediction is the one made alone.
                let mut all = Vec::new();
                for a in &arrows {
                    let a = w.store.get_sync_configuration(a.id).await.unwrap();
                    let domain = w.store.get_tenant(a.target_tenant_id).await.unwrap().initial_domain;
                    let state = w.store.job_state(a.id).await.unwrap();
                    all.push(tenantsync_engine::PredictArrow { config: a, state, target_domain: domain, group_sync: None });
                }
                let together = w.engine.predict_all(all, 2).await;
                let mine = together[arrow % arrows.len()].as_ref().unwrap();
                assert_eq!(
                    (counts(&mine.report), &mine.outcomes, &mine.created_mails),
                    (counts(&predicted.report), &predicted.outcomes, &predicted.created_mails)
                );
                assert_eq!(w.store.change_head(target.id).await.unwrap(), head, "a prediction writes nothing to the target");
                assert_eq!(w.store.job_state(c.id).await.unwrap(), state, "nor the job state");
                let actual = w.run(&c).await;
                if actual.escrowed == 0 {
                    assert_eq!(counts(&predicted.report), counts(&actual), "{c:?}\npredicted {:?}\nactual {actual:?}", predicted.report);
                    let skips: u64 = predicted
                        .outcomes
                        .iter()
                        .filter(|o| o.skip_reason.is_some() && o.action == tenantsync_store::ProvisioningAction::Other)
                        .map(|o| o.count)
                        .sum();
                    assert_eq!(skips, actual.skipped, "{:?}", predicted.outcomes);
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(32),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn a_prediction_counts_what_the_cycle_then_does(s in scenario()) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(play(&s));
    }
}
