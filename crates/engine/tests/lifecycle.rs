//! Entra's lifecycle table, row by row.
use crate::support::World;
use tenantsync_domain::{Assignment, Origin, PartnerSettings, SyncScope, UserType};
use tenantsync_store::{JobStatusCode, WriteOp};

#[tokio::test]
async fn in_scope_without_match_is_created_as_an_external_b2b_user() {
    let w = World::new();
    let (s, t) = (w.tenant("Fabrikam").await, w.tenant("Contoso").await);
    let alice = w.user(&s, "alice", &[("displayName", "Alice"), ("department", "Sales"), ("mail", "alice@fabrikam.example")]).await;
    let c = w.arrow(&s, &t, |_| {}).await;
    let r = w.run(&c).await;
    assert!(r.initial);
    assert_eq!(r.created, 1);
    let copy = w.copy(&t, &alice).await.expect("created");
    assert_eq!(copy.attrs.user_principal_name.as_str(), "alice_fabrikam.example#EXT#@contoso.example");
    assert_eq!(copy.origin, Origin::External);
    assert_eq!(copy.attrs.display_name.as_deref(), Some("Alice"));
    assert_eq!(copy.attrs.department.as_deref(), Some("Sales"));
    assert_eq!(copy.attrs.mail.as_ref().map(|m| m.as_str()), Some("alice@fabrikam.example"));
    assert_eq!(copy.attrs.user_type, UserType::Member);
    let state = w.store.job_state(c.id).await.unwrap();
    assert_eq!(state.watermark, w.store.change_head(s.id).await.unwrap());
    assert_eq!(state.status, JobStatusCode::Active);
    // A second cycle has nothing to do.
    let again = w.run(&c).await;
    assert!(!again.initial);
    assert_eq!((again.created, again.updated), (0, 0));
}

#[tokio::test]
async fn attribute_changes_flow_on_the_next_incremental_cycle() {
    let w = World::new();
    let (s, t) = (w.tenant("Fabrikam").await, w.tenant("Contoso").await);
    let alice = w.user(&s, "alice", &[("department", "Sales")]).await;
    let c = w.arrow(&s, &t, |_| {}).await;
    w.run(&c).await;
    w.update(&s, &alice, &[("department", "Marketing"), ("jobTitle", "Lead")]).await;
    let r = w.run(&c).await;
    assert!(!r.initial);
    assert_eq!(r.updated, 1);
    assert_eq!(r.counters.count_imported_deltas, 1);
    let copy = w.copy(&t, &alice).await.unwrap();
    assert_eq!(copy.attrs.department.as_deref(), Some("Marketing"));
    assert_eq!(copy.attrs.job_title.as_deref(), Some("Lead"));
}

#[tokio::test]
async fn disabling_in_the_source_disables_in_the_target() {
    let w = World::new();
    let (s, t) = (w.tenant("Fabrikam").await, w.tenant("Contoso").await);
    let alice = w.user(&s, "alice", &[]).await;
    let c = w.arrow(&s, &t, |_| {}).await;
    w.run(&c).await;
    w.update(&s, &alice, &[("accountEnabled", "false")]).await;
    w.run(&c).await;
    let copy = w.copy(&t, &alice).await.unwrap();
    assert!(!copy.attrs.account_enabled);
    assert!(!copy.is_deleted(), "a disable is not a deletion");
}

#[tokio::test]
async fn soft_delete_in_source_soft_deletes_and_restore_restores() {
    let w = World::new();
    let (s, t) = (w.tenant("Fabrikam").await, w.tenant("Contoso").await);
    let alice = w.user(&s, "alice", &[]).await;
    let c = w.arrow(&s, &t, |_| {}).await;
    w.run(&c).await;
    w.store.apply_one(s.id, WriteOp::SoftDeleteUser { id: alice.id, if_match: None }).await.unwrap();
    let r = w.run(&c).await;
    assert_eq!(r.soft_deleted, 1);
    assert!(w.copy(&t, &alice).await.unwrap().is_deleted());
    w.store.apply_one(s.id, WriteOp::RestoreUser { id: alice.id, if_match: None }).await.unwrap();
    let r = w.run(&c).await;
    assert_eq!(r.restored, 1);
    assert!(!w.copy(&t, &alice).await.unwrap().is_deleted());
    assert_eq!(w.count(t.id).await, 1, "restored, not duplicated");
}

#[tokio::test]
async fn hard_delete_in_source_hard_deletes_in_target() {
    let w = World::new();
    let (s, t) = (w.tenant("Fabrikam").await, w.tenant("Contoso").await);
    let alice = w.user(&s, "alice", &[]).await;
    let c = w.arrow(&s, &t, |_| {}).await;
    w.run(&c).await;
    w.store.apply_one(s.id, WriteOp::HardDeleteUser { id: alice.id, if_match: None }).await.unwrap();
    let r = w.run(&c).await;
    assert_eq!(r.hard_deleted, 1);
    assert!(w.copy(&t, &alice).await.is_none());
}

#[tokio::test]
async fn unassigning_and_group_removal_soft_delete() {
    let w = World::new();
    let (s, t) = (w.tenant("Fabrikam").await, w.tenant("Contoso").await);
    let alice = w.user(&s, "alice", &[]).await;
    let bob = w.user(&s, "bob", &[]).await;
    let carol = w.user(&s, "carol", &[]).await;
    let g = w.store.create_group(s.id, tenantsync_domain::NewGroup::new(tenantsync_domain::GroupAttributes::new("Sync").unwrap())).await.unwrap();
    w.store.apply_one(s.id, WriteOp::AddMember { group: g.id, user: bob.id, if_match: None }).await.unwrap();
    let mut c = w
        .arrow(&s, &t, |c| {
            c.scope = SyncScope::AssignedUsersAndGroups;
            c.assignments = vec![Assignment::User(alice.id), Assignment::Group(g.id)];
        })
        .await;
    let r = w.run(&c).await;
    assert_eq!(r.created, 2, "alice (assigned) and bob (member of an assigned group), not carol");
    assert!(w.copy(&t, &carol).await.is_none());
    // Removed from the assigned group: soft-deleted in the target.
    w.store.apply_one(s.id, WriteOp::RemoveMember { group: g.id, user: bob.id, if_match: None }).await.unwrap();
    let r = w.run(&c).await;
    assert_eq!(r.soft_deleted, 1);
    assert!(w.copy(&t, &bob).await.unwrap().is_deleted());
    // Unassigned: soft-deleted after the configuration change (a new initial cycle).
    c.assignments = vec![Assignment::Group(g.id)];
    let c = w.engine.update_configuration(c).await.unwrap();
    let r = w.run(&c).await;
    assert!(r.initial);
    assert!(w.copy(&t, &alice).await.unwrap().is_deleted());
}

#[tokio::test]
async fn a_disabled_user_removed_from_scope_stays_disabled_not_deleted() {
    let w = World::new();
    let (s, t) = (w.tenant("Fabrikam").await, w.tenant("Contoso").await);
    let alice = w.user(&s, "alice", &[("accountEnabled", "false")]).await;
    let g = w.store.create_group(s.id, tenantsync_domain::NewGroup::new(tenantsync_domain::GroupAttributes::new("Sync").unwrap())).await.unwrap();
    w.store.apply_one(s.id, WriteOp::AddMember { group: g.id, user: alice.id, if_match: None }).await.unwrap();
    let c = w
        .arrow(&s, &t, |c| {
            c.scope = SyncScope::AssignedUsersAndGroups;
            c.assignments = vec![Assignment::Group(g.id)];
        })
        .await;
    w.run(&c).await;
    w.store.apply_one(s.id, WriteOp::RemoveMember { group: g.id, user: alice.id, if_match: None }).await.unwrap();
    w.run(&c).await;
    let copy = w.copy(&t, &alice).await.unwrap();
    assert!(!copy.is_deleted());
    assert!(!copy.attrs.account_enabled);
}

#[tokio::test]
async fn scoping_filter_failure_soft_deletes() {
    let w = World::new();
    let (s, t) = (w.tenant("Fabrikam").await, w.tenant("Contoso").await);
    let alice = w.user(&s, "alice", &[("department", "Sales")]).await;
    let bob = w.user(&s, "bob", &[("department", "Legal")]).await;
    let c = w
        .arrow(&s, &t, |c| {
            c.scoping_filter = vec![tenantsync_domain::ScopingFilterGroup {
                name: "Sales only".into(),
                clauses: vec![tenantsync_domain::ScopingClause {
                    source_operand_name: "department".into(),
                    operator_name: "EQUALS".into(),
                    target_operand: tenantsync_domain::ScopingOperand { values: vec!["Sales".into()] },
                }],
            }];
        })
        .await;
    w.run(&c).await;
    assert!(w.copy(&t, &alice).await.is_some());
    assert!(w.copy(&t, &bob).await.is_none());
    w.update(&s, &alice, &[("department", "Legal")]).await;
    w.run(&c).await;
    assert!(w.copy(&t, &alice).await.unwrap().is_deleted());
}

#[tokio::test]
async fn an_existing_external_user_with_the_anchor_is_adopted_and_keeps_its_user_type() {
    let w = World::new();
    let (s, t) = (w.tenant("Fabrikam").await, w.tenant("Contoso").await);
    let alice = w.user(&s, "alice", &[("displayName", "Alice")]).await;
    // Invited earlier by hand as a Guest, carrying the anchor.
    let mut guest = tenantsync_domain::NewUser::new(World::upn("alice_fabrikam.example#EXT#@contoso.example"));
    guest.anchor = Some(tenantsync_domain::Anchor::new(s.id, alice.id));
    guest.attrs.user_type = UserType::Guest;
    w.store.create_user(t.id, guest).await.unwrap();
    let c = w.arrow(&s, &t, |_| {}).await;
    let r = w.run(&c).await;
    assert_eq!(r.created, 0);
    let copy = w.copy(&t, &alice).await.unwrap();
    assert_eq!(copy.attrs.display_name.as_deref(), Some("Alice"));
    assert_eq!(copy.attrs.user_type, UserType::Guest, "userType flows only on create by default");
    assert_eq!(w.count(t.id).await, 1);
}

#[tokio::test]
async fn managers_resolve_when_both_are_in_scope() {
    let w = World::new();
    let (s, t) = (w.tenant("Fabrikam").await, w.tenant("Contoso").await);
    let boss = w.user(&s, "boss", &[]).await;
    let alice = w.user(&s, "alice", &[("manager", &boss.id.to_string())]).await;
    let c = w.arrow(&s, &t, |_| {}).await;
    w.run(&c).await;
    let (boss_copy, alice_copy) = (w.copy(&t, &boss).await.unwrap(), w.copy(&t, &alice).await.unwrap());
    assert_eq!(alice_copy.attrs.manager, Some(boss_copy.id));
}

/// A cycle bigger than the engine's memory bounds (made tiny here) resolves every
/// manager all the same: managers far behind in the walk (out of the recent copies),
/// ahead of it (forward references, which wait), and those of matched copies, while
/// manager references are resolved early, in the middle of the walk.
#[tokio::test]
async fn managers_resolve_in_cycles_beyond_the_memory_bounds() {
    let w = World::with_limits(tenantsync_engine::Limits { recent_copies: 2, pending_managers: 3, page_users: 2 });
    let (s, t) = (w.tenant("Fabrikam").await, w.tenant("Contoso").await);
    let mut users = Vec::new();
    for i in 0..30 {
        users.push(w.user(&s, &format!("u{i:02}"), &[]).await);
    }
    // Every user but a few gets a manager: far behind, just behind, ahead, far ahead.
    fn manager_of(i: usize, round: usize) -> Option<usize> {
        match (i + round) % 5 {
            0 => None,
            1 => Some((i + 20) % 30),
            2 => Some((i + 29) % 30),
            3 => Some((i + 1) % 30),
            _ => Some((i + 7) % 30),
        }
    }
    async fn expect(w: &World, t: &tenantsync_domain::Tenant, users: &[tenantsync_domain::User], round: usize) {
        for (i, u) in users.iter().enumerate() {
            let copy = w.copy(t, u).await.unwrap();
            let wanted = match manager_of(i, round) {
                Some(m) => Some(w.copy(t, &users[m]).await.unwrap().id),
                // Without a source manager: none at first; later, what the target had.
                None => copy.attrs.manager.filter(|_| round > 0),
            };
            assert_eq!(copy.attrs.manager, wanted, "round {round}, user {i}");
        }
    }
    for (i, u) in users.iter().enumerate() {
        if let Some(m) = manager_of(i, 0) {
            w.update(&s, u, &[("manager", &users[m].id.to_string())]).await;
        }
    }
    let c = w.arrow(&s, &t, |_| {}).await;
    let report = w.run(&c).await;
    assert_eq!((report.created, report.escrowed), (30, 0), "{report:?}");
    expect(&w, &t, &users, 0).await;
    // New managers for everyone (a source manager removed leaves the target's as it
    // was, as in Entra): an incremental cycle of matched copies.
    for (i, u) in users.iter().enumerate() {
        if let Some(m) = manager_of(i, 1) {
            w.update(&s, u, &[("manager", &users[m].id.to_string())]).await;
        }
    }
    w.run(&c).await;
    expect(&w, &t, &users, 1).await;
    // And a full re-run of the initial cycle over matched copies.
    w.engine.restart(c.id, tenantsync_engine::ResetScope::parse("Full").unwrap()).await.unwrap();
    w.run(&c).await;
    expect(&w, &t, &users, 1).await;
}

#[tokio::test]
async fn a_manager_whose_copy_fails_does_not_take_its_reports_down() {
    let w = World::new();
    let (s, t) = (w.tenant("Fabrikam").await, w.tenant("Contoso").await);
    let boss = w.user(&s, "boss", &[]).await;
    let alice = w.user(&s, "alice", &[("manager", &boss.id.to_string())]).await;
    // The boss's copy cannot be created: its UPN is taken in the target.
    w.user(&t, "boss_fabrikam.example#EXT#", &[]).await;
    let c = w.arrow(&s, &t, |_| {}).await;
    let report = w.run(&c).await;
    assert_eq!((report.created, report.escrowed), (1, 1), "{report:?}");
    assert!(w.copy(&t, &boss).await.is_none());
    let alice_copy = w.copy(&t, &alice).await.expect("the report is created all the same");
    assert_eq!(alice_copy.attrs.manager, None);
    // Once the boss's copy can be made, the report's manager follows with its next change.
    let taken = w.store.find_user_by_upn(t.id, &World::upn("boss_fabrikam.example#EXT#@contoso.example")).await.unwrap().unwrap();
    w.store.apply_one(t.id, tenantsync_store::WriteOp::HardDeleteUser { id: taken.id, if_match: None }).await.unwrap();
    w.engine.restart(c.id, tenantsync_engine::ResetScope::DEFAULT).await.unwrap();
    w.run(&c).await;
    let boss_copy = w.copy(&t, &boss).await.expect("created on retry");
    assert_eq!(w.copy(&t, &alice).await.unwrap().attrs.manager, Some(boss_copy.id));
}

#[tokio::test]
async fn without_the_policy_nothing_is_written_and_the_error_says_why() {
    let w = World::new();
    let (s, t) = (w.tenant("Fabrikam").await, w.tenant("Contoso").await);
    w.user(&s, "alice", &[]).await;
    let c = w.arrow(&s, &t, |_| {}).await;
    w.store.set_partner_settings(t.id, Some(s.id), PartnerSettings { inbound_user_sync: Some(false), ..PartnerSettings::default() }).await.unwrap();
    let err = w.engine.run_cycle(c.id).await.unwrap_err();
    assert_eq!(err.code(), "AzureActiveDirectoryCrossTenantSyncPolicyCheckFailure");
    assert!(err.to_string().contains("inbound user synchronization"), "{err}");
    assert_eq!(w.count(t.id).await, 0);
    // Revoking inbound sync stops the job; users already synced stay untouched.
    w.store.set_partner_settings(t.id, Some(s.id), PartnerSettings::default()).await.unwrap();
    w.run(&c).await;
    assert_eq!(w.count(t.id).await, 1);
    w.store.set_partner_settings(t.id, Some(s.id), PartnerSettings { inbound_user_sync: Some(false), ..PartnerSettings::default() }).await.unwrap();
    assert!(w.engine.run_cycle(c.id).await.is_err());
    assert_eq!(w.count(t.id).await, 1);
}

#[tokio::test]
async fn too_many_deletions_are_staged_and_quarantine_the_job() {
    let w = World::new();
    let (s, t) = (w.tenant("Fabrikam").await, w.tenant("Contoso").await);
    let mut users = Vec::new();
    for i in 0..5 {
        users.push(w.user(&s, &format!("u{i}"), &[]).await);
    }
    let c = w.arrow(&s, &t, |c| c.deletion_threshold = Some(3)).await;
    w.run(&c).await;
    for u in &users {
        w.store.apply_one(s.id, WriteOp::SoftDeleteUser { id: u.id, if_match: None }).await.unwrap();
    }
    let r = w.run(&c).await;
    assert_eq!(r.staged_deletes, 5);
    assert_eq!(w.count(t.id).await, 5, "nothing deleted");
    let state = w.store.job_state(c.id).await.unwrap();
    assert_eq!(state.status, JobStatusCode::Quarantine);
    assert_eq!(state.quarantine_reason, Some(tenantsync_domain::QuarantineReason::TooManyDeletes));
}

#[tokio::test]
async fn invalid_configurations_are_rejected_before_anything_runs() {
    let w = World::new();
    let (s, t) = (w.tenant("Fabrikam").await, w.tenant("Contoso").await);
    let cases: Vec<(tenantsync_domain::AttributeMapping, &str)> = vec![
        (tenantsync_domain::AttributeMapping::direct("favouriteColour", "department"), "unknown_attribute"),
        (tenantsync_domain::AttributeMapping::direct("department", "favouriteColour"), "unknown_attribute"),
        (tenantsync_domain::AttributeMapping::direct("department", "id"), "read_only_attribute"),
        (tenantsync_domain::AttributeMapping::direct("mail", "userPrincipalName"), "read_only_attribute"),
        (tenantsync_domain::AttributeMapping::expression("Join(\".\", [givenName]", "displayName"), "expression.parse.unexpected_token"),
        (tenantsync_domain::AttributeMapping::expression("Jion(\".\", [givenName])", "displayName"), "expression.parse.unknown_function"),
    ];
    for (mapping, code) in cases {
        let mut c = tenantsync_domain::SyncConfiguration::new("bad", s.id, t.id).unwrap();
        c.user_mappings.push(mapping.clone());
        let err = w.engine.create_configuration(c).await.unwrap_err();
        assert_eq!(err.code(), code, "{mapping:?}: {err}");
    }
    assert!(w.store.list_sync_configurations().await.unwrap().is_empty());
    let same = tenantsync_domain::SyncConfiguration::new("loop", s.id, s.id).unwrap();
    assert_eq!(w.engine.create_configuration(same).await.unwrap_err().code(), "same_tenant");
    w.arrow(&s, &t, |_| {}).await;
    let twice = tenantsync_domain::SyncConfiguration::new("again", s.id, t.id).unwrap();
    assert_eq!(w.engine.create_configuration(twice).await.unwrap_err().code(), "sync_configuration_conflict");
}

#[tokio::test]
async fn members_of_a_soft_deleted_assigned_group_leave_scope_and_return_on_restore() {
    let w = World::new();
    let (s, t) = (w.tenant("Fabrikam").await, w.tenant("Contoso").await);
    let alice = w.user(&s, "alice", &[]).await;
    let g = w.store.create_group(s.id, tenantsync_domain::NewGroup::new(tenantsync_domain::GroupAttributes::new("Sync").unwrap())).await.unwrap();
    w.store.apply_one(s.id, WriteOp::AddMember { group: g.id, user: alice.id, if_match: None }).await.unwrap();
    let c = w
        .arrow(&s, &t, |c| {
            c.scope = SyncScope::AssignedUsersAndGroups;
            c.assignments = vec![Assignment::Group(g.id)];
        })
        .await;
    assert_eq!(w.run(&c).await.created, 1);
    w.store.apply_one(s.id, WriteOp::SoftDeleteGroup { id: g.id, if_match: None }).await.unwrap();
    assert_eq!(w.run(&c).await.soft_deleted, 1);
    assert!(w.copy(&t, &alice).await.unwrap().is_deleted());
    w.store.apply_one(s.id, WriteOp::RestoreGroup { id: g.id, if_match: None }).await.unwrap();
    assert_eq!(w.run(&c).await.restored, 1);
    assert!(!w.copy(&t, &alice).await.unwrap().is_deleted());
}
