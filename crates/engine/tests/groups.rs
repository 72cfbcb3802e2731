//! Group provisioning (Entra's "Provision Microsoft Entra ID Groups"), rule by rule.
use crate::support::{ALLOW, World};
use std::collections::BTreeSet;
use tenantsync_domain::{
    Assignment, AttrValue, AttributeMapping, GroupAttributes, GroupPatch, NewGroup, ObjectKind, Origin, PartnerSettings, ScopingClause, ScopingFilterGroup,
    ScopingOperand, SyncConfiguration, SyncScope,
};
use tenantsync_store::{JobStatusCode, LogQuery, ProvisioningAction, ProvisioningLog, ProvisioningStatus, WriteOp};

async fn logs(w: &World, c: &SyncConfiguration) -> Vec<ProvisioningLog> {
    w.store.provisioning_logs(&LogQuery { config_id: Some(c.id), limit: 1000, ..LogQuery::default() }).await.unwrap()
}

fn department(d: &str) -> Vec<ScopingFilterGroup> {
    vec![ScopingFilterGroup {
        name: "dept".into(),
        clauses: vec![ScopingClause {
            source_operand_name: "department".into(),
            operator_name: "EQUALS".into(),
            target_operand: ScopingOperand { values: vec![d.into()] },
        }],
    }]
}

#[tokio::test]
async fn an_assigned_group_is_created_as_a_static_security_group_with_its_members() {
    let w = World::new();
    let (s, t) = (w.tenant("Fabrikam").await, w.tenant("Contoso").await);
    let alice = w.user(&s, "alice", &[]).await;
    let bob = w.user(&s, "bob", &[]).await;
    let carol = w.user(&s, "carol", &[]).await;
    let mut g = w.group(&s, "Sales", &[&alice, &bob]).await;
    // A non-security (Microsoft 365-like) group is still provisioned as a security group.
    g = w.store.update_group(s.id, g.id, GroupPatch::from_pairs([("securityEnabled", AttrValue::Bool(false))]).unwrap(), None).await.unwrap();
    let c = w.group_arrow(&s, &t, vec![Assignment::Group(g.id)], |_| {}).await;
    let r = w.run(&c).await;
    assert_eq!(r.created, 2, "the members, not carol");
    assert_eq!((r.groups.created, r.groups.members_added), (1, 2));
    let copy = w.group_copy(&t, &g).await.expect("group created");
    assert_eq!(copy.origin, Origin::External);
    assert!(copy.attrs.security_enabled);
    assert_eq!(copy.attrs.display_name, "Sales");
    assert_eq!(copy.attrs.description.as_deref(), Some("The Sales people"));
    assert_eq!(copy.attrs.mail_nickname.as_deref(), Some("sales"));
    let want: BTreeSet<_> = [w.copy(&t, &alice).await.unwrap().id, w.copy(&t, &bob).await.unwrap().id].into();
    assert_eq!(w.members(&t, copy.id).await, want);
    assert!(w.copy(&t, &carol).await.is_none());
    // Logged as a group, in the same shape as users.
    let log = logs(&w, &c).await.into_iter().find(|l| l.source_id == g.id).unwrap();
    assert_eq!(log.object_type, ObjectKind::Group);
    assert_eq!((log.provisioning_action, log.status), (ProvisioningAction::Create, ProvisioningStatus::Success));
    assert_eq!(log.target_id, Some(copy.id));
    assert_eq!(log.modified_properties.iter().filter(|m| m.display_name == "members").count(), 2);
    assert_eq!(log.steps.len(), 4);
    // Counters include the group; a second cycle has nothing to do.
    let state = w.store.job_state(c.id).await.unwrap();
    let exec = state.last_execution.unwrap();
    assert_eq!(exec.counters.count_entitled, 3, "two users and the group");
    assert_eq!(exec.counters.count_exported, 2 + 1 + 2, "two users, the group and two memberships");
    let again = w.run(&c).await;
    assert_eq!(again.groups, Default::default());
    assert_eq!(w.store.list_groups(t.id, &Default::default()).await.unwrap().items.len(), 1, "no duplicate");
}

#[tokio::test]
async fn membership_follows_member_additions_and_removals() {
    let w = World::new();
    let (s, t) = (w.tenant("Fabrikam").await, w.tenant("Contoso").await);
    let alice = w.user(&s, "alice", &[]).await;
    let bob = w.user(&s, "bob", &[]).await;
    let g = w.group(&s, "Sales", &[&alice]).await;
    let c = w.group_arrow(&s, &t, vec![Assignment::Group(g.id)], |_| {}).await;
    w.run(&c).await;
    let copy = w.group_copy(&t, &g).await.unwrap();
    w.store.apply_one(s.id, WriteOp::AddMember { group: g.id, user: bob.id, if_match: None }).await.unwrap();
    let r = w.run(&c).await;
    assert!(!r.initial);
    assert_eq!((r.created, r.groups.members_added, r.groups.updated), (1, 1, 1));
    let bob_copy = w.copy(&t, &bob).await.unwrap();
    assert!(w.members(&t, copy.id).await.contains(&bob_copy.id));
    w.store.apply_one(s.id, WriteOp::RemoveMember { group: g.id, user: alice.id, if_match: None }).await.unwrap();
    let r = w.run(&c).await;
    assert_eq!((r.soft_deleted, r.groups.members_removed), (1, 1), "alice leaves scope and the group");
    let alice_copy = w.copy(&t, &alice).await.unwrap();
    assert!(alice_copy.is_deleted());
    assert_eq!(w.members(&t, copy.id).await, [bob_copy.id].into());
    assert!(w.store.member_of(t.id, alice_copy.id).await.unwrap().is_empty(), "the membership itself is gone, not just hidden");
}

#[tokio::test]
async fn a_member_leaving_scope_leaves_the_group_and_a_filtered_out_member_never_joins() {
    let w = World::new();
    let (s, t) = (w.tenant("Fabrikam").await, w.tenant("Contoso").await);
    let alice = w.user(&s, "alice", &[("department", "Sales")]).await;
    let bob = w.user(&s, "bob", &[("department", "Sales")]).await;
    let carol = w.user(&s, "carol", &[("department", "Legal")]).await;
    let g = w.group(&s, "Team", &[&alice, &bob, &carol]).await;
    let c = w.group_arrow(&s, &t, vec![Assignment::Group(g.id)], |c| c.scoping_filter = department("Sales")).await;
    w.run(&c).await;
    let copy = w.group_copy(&t, &g).await.unwrap();
    assert_eq!(w.members(&t, copy.id).await.len(), 2, "carol is filtered out");
    w.update(&s, &bob, &[("department", "Legal")]).await;
    let r = w.run(&c).await;
    assert_eq!((r.soft_deleted, r.groups.members_removed), (1, 1));
    assert_eq!(w.members(&t, copy.id).await, [w.copy(&t, &alice).await.unwrap().id].into());
    // Back in scope: back in the group.
    w.update(&s, &bob, &[("department", "Sales")]).await;
    let r = w.run(&c).await;
    assert_eq!((r.restored, r.groups.members_added), (1, 1));
    assert_eq!(w.members(&t, copy.id).await.len(), 2);
}

#[tokio::test]
async fn soft_deleted_and_restored_members_leave_and_rejoin() {
    let w = World::new();
    let (s, t) = (w.tenant("Fabrikam").await, w.tenant("Contoso").await);
    let alice = w.user(&s, "alice", &[]).await;
    let bob = w.user(&s, "bob", &[]).await;
    let g = w.group(&s, "Sales", &[&alice, &bob]).await;
    let c = w.group_arrow(&s, &t, vec![Assignment::Group(g.id)], |_| {}).await;
    w.run(&c).await;
    let copy = w.group_copy(&t, &g).await.unwrap();
    w.store.apply_one(s.id, WriteOp::SoftDeleteUser { id: alice.id, if_match: None }).await.unwrap();
    let r = w.run(&c).await;
    assert_eq!((r.soft_deleted, r.groups.members_removed), (1, 1));
    assert_eq!(w.members(&t, copy.id).await.len(), 1);
    w.store.apply_one(s.id, WriteOp::RestoreUser { id: alice.id, if_match: None }).await.unwrap();
    let r = w.run(&c).await;
    assert_eq!((r.restored, r.groups.members_added), (1, 1));
    assert_eq!(w.members(&t, copy.id).await.len(), 2);
    // Removed from the group while deleted, then restored: the copy does not come back in
    // the group (nor at all: it is no longer assigned).
    w.store.apply_one(s.id, WriteOp::SoftDeleteUser { id: bob.id, if_match: None }).await.unwrap();
    w.run(&c).await;
    w.store.apply_one(s.id, WriteOp::RemoveMember { group: g.id, user: bob.id, if_match: None }).await.unwrap();
    w.run(&c).await;
    w.store.apply_one(s.id, WriteOp::RestoreUser { id: bob.id, if_match: None }).await.unwrap();
    w.run(&c).await;
    assert_eq!(w.members(&t, copy.id).await, [w.copy(&t, &alice).await.unwrap().id].into());
    // Hard-deleted member: gone from the target and from the group.
    w.store.apply_one(s.id, WriteOp::HardDeleteUser { id: alice.id, if_match: None }).await.unwrap();
    let r = w.run(&c).await;
    assert_eq!(r.hard_deleted, 1);
    assert!(w.members(&t, copy.id).await.is_empty());
}

#[tokio::test]
async fn unassigned_group_is_soft_deleted_and_comes_back_when_reassigned() {
    let w = World::new();
    let (s, t) = (w.tenant("Fabrikam").await, w.tenant("Contoso").await);
    let alice = w.user(&s, "alice", &[]).await;
    let g = w.group(&s, "Sales", &[&alice]).await;
    let mut c = w.group_arrow(&s, &t, vec![Assignment::User(alice.id), Assignment::Group(g.id)], |_| {}).await;
    w.run(&c).await;
    let copy = w.group_copy(&t, &g).await.unwrap();
    c.assignments = vec![Assignment::User(alice.id)];
    c = w.engine.update_configuration(c).await.unwrap();
    let r = w.run(&c).await;
    assert!(r.initial);
    assert_eq!(r.groups.soft_deleted, 1);
    assert!(w.group_copy(&t, &g).await.unwrap().is_deleted());
    assert!(!w.copy(&t, &alice).await.unwrap().is_deleted(), "alice stays: she is assigned herself");
    let log = logs(&w, &c).await.into_iter().find(|l| l.source_id == g.id && l.cycle_id == r.cycle_id).unwrap();
    assert_eq!(log.provisioning_action, ProvisioningAction::Delete);
    c.assignments.push(Assignment::Group(g.id));
    c = w.engine.update_configuration(c).await.unwrap();
    let r = w.run(&c).await;
    assert_eq!(r.groups.restored, 1);
    let back = w.group_copy(&t, &g).await.unwrap();
    assert_eq!((back.id, back.is_deleted()), (copy.id, false), "restored, not recreated");
    assert_eq!(w.members(&t, copy.id).await.len(), 1);
}

#[tokio::test]
async fn source_group_deletion_restore_and_hard_delete_follow() {
    let w = World::new();
    let (s, t) = (w.tenant("Fabrikam").await, w.tenant("Contoso").await);
    let alice = w.user(&s, "alice", &[]).await;
    let g = w.group(&s, "Sales", &[&alice]).await;
    let c = w.group_arrow(&s, &t, vec![Assignment::User(alice.id), Assignment::Group(g.id)], |_| {}).await;
    w.run(&c).await;
    w.store.apply_one(s.id, WriteOp::SoftDeleteGroup { id: g.id, if_match: None }).await.unwrap();
    let r = w.run(&c).await;
    assert_eq!(r.groups.soft_deleted, 1);
    assert!(w.group_copy(&t, &g).await.unwrap().is_deleted());
    w.store.apply_one(s.id, WriteOp::RestoreGroup { id: g.id, if_match: None }).await.unwrap();
    let r = w.run(&c).await;
    assert_eq!(r.groups.restored, 1);
    let copy = w.group_copy(&t, &g).await.unwrap();
    assert!(!copy.is_deleted());
    assert_eq!(w.members(&t, copy.id).await.len(), 1);
    w.store.apply_one(s.id, WriteOp::HardDeleteGroup { id: g.id, if_match: None }).await.unwrap();
    let r = w.run(&c).await;
    assert_eq!(r.groups.hard_deleted, 1);
    assert!(w.group_copy(&t, &g).await.is_none());
    assert!(!w.copy(&t, &alice).await.unwrap().is_deleted(), "alice is assigned herself");
}

#[tokio::test]
async fn with_group_provisioning_off_groups_are_skipped_as_entity_type_not_supported() {
    let w = World::new();
    let (s, t) = (w.tenant("Fabrikam").await, w.tenant("Contoso").await);
    let alice = w.user(&s, "alice", &[]).await;
    let g = w.group(&s, "Sales", &[&alice]).await;
    let c = w.group_arrow(&s, &t, vec![Assignment::Group(g.id)], |c| c.provision_groups = false).await;
    assert!(!SyncConfiguration::new("x", s.id, t.id).unwrap().provision_groups, "off by default");
    let r = w.run(&c).await;
    assert_eq!(r.created, 1, "the members still sync");
    assert_eq!(r.groups.skipped, 1);
    assert!(w.group_copy(&t, &g).await.is_none());
    let skipped: Vec<_> = logs(&w, &c).await.into_iter().filter(|l| l.object_type == ObjectKind::Group).collect();
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].status, ProvisioningStatus::Skipped);
    assert_eq!(skipped[0].skip_reason, Some(tenantsync_domain::SkipReason::EntityTypeNotSupported));
    // A cycle in which the group did not change logs nothing more about it.
    w.update(&s, &alice, &[("department", "Sales")]).await;
    w.run(&c).await;
    assert_eq!(logs(&w, &c).await.iter().filter(|l| l.object_type == ObjectKind::Group).count(), 1);
    // Turning it on resets the watermark: the next cycle is an initial one and creates it.
    let mut on = c.clone();
    on.provision_groups = true;
    let on = w.engine.update_configuration(on).await.unwrap();
    let r = w.run(&on).await;
    assert!(r.initial);
    assert_eq!(r.groups.created, 1);
}

#[tokio::test]
async fn without_inbound_group_sync_groups_are_skipped_with_the_policy_code_and_users_sync() {
    let w = World::new();
    let (s, t) = (w.tenant("Fabrikam").await, w.tenant("Contoso").await);
    w.store.set_partner_settings(t.id, Some(s.id), PartnerSettings { inbound_group_sync: Some(false), ..ALLOW }).await.unwrap();
    let alice = w.user(&s, "alice", &[]).await;
    let g = w.group(&s, "Sales", &[&alice]).await;
    let c = w.group_arrow(&s, &t, vec![Assignment::Group(g.id)], |_| {}).await;
    let r = w.run(&c).await;
    assert_eq!(r.created, 1);
    assert_eq!(r.groups.skipped, 1);
    assert!(w.group_copy(&t, &g).await.is_none());
    let log = logs(&w, &c).await.into_iter().find(|l| l.source_id == g.id).unwrap();
    assert_eq!(log.status, ProvisioningStatus::Skipped);
    assert_eq!(log.error_code.as_deref(), Some("AzureActiveDirectoryCrossTenantSyncPolicyCheckFailure"));
    assert!(log.error_message.unwrap().contains("inbound group synchronization"));
    // Allowed later: the group arrives when it is next processed (here, a membership change).
    w.store.set_partner_settings(t.id, Some(s.id), ALLOW).await.unwrap();
    let bob = w.user(&s, "bob", &[]).await;
    w.store.apply_one(s.id, WriteOp::AddMember { group: g.id, user: bob.id, if_match: None }).await.unwrap();
    let r = w.run(&c).await;
    assert_eq!(r.groups.created, 1);
    assert_eq!(w.members(&t, w.group_copy(&t, &g).await.unwrap().id).await.len(), 2);
    // Revoked again: what was synced stays as it is.
    w.store.set_partner_settings(t.id, Some(s.id), PartnerSettings { inbound_group_sync: Some(false), ..ALLOW }).await.unwrap();
    w.store.apply_one(s.id, WriteOp::SoftDeleteGroup { id: g.id, if_match: None }).await.unwrap();
    w.run(&c).await;
    assert!(!w.group_copy(&t, &g).await.unwrap().is_deleted());
}

#[tokio::test]
async fn invalid_group_configurations_are_rejected() {
    let w = World::new();
    let (s, t) = (w.tenant("Fabrikam").await, w.tenant("Contoso").await);
    let mut all = SyncConfiguration::new("all", s.id, t.id).unwrap();
    all.scope = SyncScope::AllUsers;
    all.provision_groups = true;
    assert_eq!(w.engine.create_configuration(all).await.unwrap_err().code(), "groups_need_assigned_scope");
    let cases: Vec<(AttributeMapping, &str)> = vec![
        (AttributeMapping::direct("department", "description"), "unknown_attribute"),
        (AttributeMapping::direct("displayName", "owner"), "unknown_attribute"),
        (AttributeMapping::direct("displayName", "id"), "read_only_attribute"),
        (AttributeMapping::constant("false", "securityEnabled"), "read_only_attribute"),
        (AttributeMapping::expression("Join(\"-\", [displayName]", "mailNickname"), "expression.parse.unexpected_token"),
    ];
    for (mapping, code) in cases {
        let mut c = SyncConfiguration::new("bad", s.id, t.id).unwrap();
        c.group_mappings.push(mapping.clone());
        let err = w.engine.create_configuration(c).await.unwrap_err();
        assert_eq!(err.code(), code, "{mapping:?}: {err}");
        assert!(err.to_string().starts_with("group mapping to"), "{err}");
    }
    let mut c = SyncConfiguration::new("bad", s.id, t.id).unwrap();
    c.group_mappings.push(AttributeMapping::expression("Join(\"-\", [displayName]", "mailNickname"));
    let err = w.engine.create_configuration(c).await.unwrap_err();
    assert!(err.to_string().contains("position") || err.to_string().contains("column") || err.to_string().contains(" at "), "{err}");
    assert!(w.store.list_sync_configurations().await.unwrap().is_empty());
    // Switching an existing configuration to all users with groups on is refused too.
    let mut ok = w.group_arrow(&s, &t, vec![], |_| {}).await;
    ok.scope = SyncScope::AllUsers;
    assert_eq!(w.engine.update_configuration(ok).await.unwrap_err().code(), "groups_need_assigned_scope");
}

#[tokio::test]
async fn target_groups_the_sync_did_not_create_are_never_touched() {
    let w = World::new();
    let (s, t) = (w.tenant("Fabrikam").await, w.tenant("Contoso").await);
    let alice = w.user(&s, "alice", &[]).await;
    let g = w.group(&s, "Sales", &[&alice]).await;
    // The target has its own "Sales" group with an internal member.
    let dave = w.user(&t, "dave", &[]).await;
    let own = w.group(&t, "Sales", &[&dave]).await;
    let c = w.group_arrow(&s, &t, vec![Assignment::Group(g.id)], |_| {}).await;
    w.run(&c).await;
    let copy = w.group_copy(&t, &g).await.unwrap();
    assert_ne!(copy.id, own.id, "not adopted by name");
    assert_eq!(w.store.get_group(t.id, own.id).await.unwrap(), own, "not updated");
    // An admin of the target adds an internal user to the synced group: the sync manages
    // only the members it brings, so dave stays through membership changes.
    w.store.apply_one(t.id, WriteOp::AddMember { group: copy.id, user: dave.id, if_match: None }).await.unwrap();
    w.store.apply_one(s.id, WriteOp::RemoveMember { group: g.id, user: alice.id, if_match: None }).await.unwrap();
    let c2 = {
        let mut c2 = c.clone();
        c2.assignments = vec![];
        w.engine.update_configuration(c2).await.unwrap()
    };
    w.run(&c2).await;
    assert_eq!(w.store.get_group(t.id, own.id).await.unwrap(), own, "not deleted either");
    assert!(w.group_copy(&t, &g).await.unwrap().is_deleted(), "only the synced one goes");
}

#[tokio::test]
async fn target_side_edits_persist_until_the_source_group_changes() {
    let w = World::new();
    let (s, t) = (w.tenant("Fabrikam").await, w.tenant("Contoso").await);
    let alice = w.user(&s, "alice", &[]).await;
    let g = w.group(&s, "Sales", &[&alice]).await;
    let c = w.group_arrow(&s, &t, vec![Assignment::Group(g.id)], |_| {}).await;
    w.run(&c).await;
    let copy = w.group_copy(&t, &g).await.unwrap();
    w.store.update_group(t.id, copy.id, GroupPatch::from_pairs([("displayName", AttrValue::String("Renamed here".into()))]).unwrap(), None).await.unwrap();
    w.update(&s, &alice, &[("jobTitle", "Lead")]).await;
    w.run(&c).await;
    assert_eq!(w.group_copy(&t, &g).await.unwrap().attrs.display_name, "Renamed here", "an unrelated change leaves it");
    w.store.update_group(s.id, g.id, GroupPatch::from_pairs([("description", AttrValue::String("New".into()))]).unwrap(), None).await.unwrap();
    let r = w.run(&c).await;
    assert_eq!(r.groups.updated, 1);
    let now = w.group_copy(&t, &g).await.unwrap();
    assert_eq!((now.attrs.display_name.as_str(), now.attrs.description.as_deref()), ("Sales", Some("New")));
}

#[tokio::test]
async fn a_mesh_with_groups_does_not_echo() {
    let w = World::new();
    let (a, b) = (w.tenant("Alpha").await, w.tenant("Beta").await);
    let alice = w.user(&a, "alice", &[]).await;
    let bert = w.user(&b, "bert", &[]).await;
    let ga = w.group(&a, "Alpha team", &[&alice]).await;
    let gb = w.group(&b, "Beta team", &[&bert]).await;
    let ab = w.group_arrow(&a, &b, vec![Assignment::Group(ga.id)], |_| {}).await;
    w.run(&ab).await;
    let ga_in_b = w.group_copy(&b, &ga).await.unwrap();
    // Beta assigns its own group and, by mistake, the copy of Alpha's; alice's copy joins
    // Beta's group too.
    let alice_in_b = w.copy(&b, &alice).await.unwrap();
    w.store.apply_one(b.id, WriteOp::AddMember { group: gb.id, user: alice_in_b.id, if_match: None }).await.unwrap();
    let ba = w.group_arrow(&b, &a, vec![Assignment::Group(gb.id), Assignment::Group(ga_in_b.id)], |_| {}).await;
    for _ in 0..2 {
        w.run(&ab).await;
        w.run(&ba).await;
    }
    let groups_in_a = w.store.list_groups(a.id, &Default::default()).await.unwrap().items;
    assert_eq!(groups_in_a.len(), 2, "its own group and Beta's, no copy of its copy: {groups_in_a:?}");
    let gb_in_a = w.group_copy(&a, &gb).await.unwrap();
    assert_eq!(w.members(&a, gb_in_a.id).await, [w.copy(&a, &bert).await.unwrap().id].into(), "alice's copy is not passed back");
    assert!(w.group_copy(&a, &ga_in_b).await.is_none());
    let skipped = logs(&w, &ba).await.into_iter().find(|l| l.source_id == ga_in_b.id).unwrap();
    assert_eq!(skipped.skip_reason, Some(tenantsync_domain::SkipReason::ExternalGroup));
    assert_eq!(w.store.list_groups(b.id, &Default::default()).await.unwrap().items.len(), 2);
}

#[tokio::test]
async fn group_deletions_count_towards_the_deletion_threshold() {
    let w = World::new();
    let (s, t) = (w.tenant("Fabrikam").await, w.tenant("Contoso").await);
    let alice = w.user(&s, "alice", &[]).await;
    let mut groups = Vec::new();
    for i in 0..3 {
        groups.push(w.group(&s, &format!("G{i}"), &[&alice]).await);
    }
    let mut assignments: Vec<_> = groups.iter().map(|g| Assignment::Group(g.id)).collect();
    assignments.push(Assignment::User(alice.id));
    let c = w.group_arrow(&s, &t, assignments, |c| c.deletion_threshold = Some(2)).await;
    w.run(&c).await;
    for g in &groups {
        w.store.apply_one(s.id, WriteOp::SoftDeleteGroup { id: g.id, if_match: None }).await.unwrap();
    }
    let r = w.run(&c).await;
    assert_eq!((r.staged_deletes, r.groups.soft_deleted), (3, 0));
    for g in &groups {
        assert!(!w.group_copy(&t, g).await.unwrap().is_deleted());
    }
    let state = w.store.job_state(c.id).await.unwrap();
    assert_eq!((state.status, state.quarantine_reason), (JobStatusCode::Quarantine, Some(tenantsync_domain::QuarantineReason::TooManyDeletes)));
    let staged = logs(&w, &c).await.into_iter().filter(|l| l.provisioning_action == ProvisioningAction::StagedDelete).count();
    assert_eq!(staged, 3);
    w.engine.restart(c.id, tenantsync_engine::ResetScope { force_deletes: true, ..Default::default() }).await.unwrap();
    let r = w.run(&c).await;
    assert_eq!(r.groups.soft_deleted, 3);
}

#[tokio::test]
async fn a_failed_group_write_is_escrowed_as_a_group_and_retried() {
    let w = World::new();
    let (s, t) = (w.tenant("Fabrikam").await, w.tenant("Contoso").await);
    let alice = w.user(&s, "alice", &[]).await;
    let g = w.group(&s, "Sales", &[&alice]).await;
    // A mailNickname cannot hold spaces: mapping the display name into it fails for
    // "Sales team".
    w.store.update_group(s.id, g.id, GroupPatch::from_pairs([("displayName", AttrValue::String("Sales team".into()))]).unwrap(), None).await.unwrap();
    let c = w
        .group_arrow(&s, &t, vec![Assignment::Group(g.id)], |c| {
            c.group_mappings.retain(|m| m.target_attribute_name != "mailNickname");
            c.group_mappings.push(AttributeMapping::direct("displayName", "mailNickname"));
            c.retry = tenantsync_domain::RetryPolicy { base_seconds: 0, max_seconds: 0 };
        })
        .await;
    let r = w.run(&c).await;
    assert_eq!(r.created, 1, "the member is created");
    assert!(w.group_copy(&t, &g).await.is_none());
    let state = w.store.job_state(c.id).await.unwrap();
    assert_eq!(state.escrows.len(), 1);
    assert_eq!(state.escrows[0].object_type, ObjectKind::Group);
    let log = logs(&w, &c).await.into_iter().find(|l| l.source_id == g.id).unwrap();
    assert_eq!(log.status, ProvisioningStatus::Failure);
    // The cause goes away; the retry creates the group.
    w.store.update_group(s.id, g.id, GroupPatch::from_pairs([("displayName", AttrValue::String("Sales".into()))]).unwrap(), None).await.unwrap();
    let r = w.run(&c).await;
    assert_eq!(r.groups.created, 1);
    assert!(w.store.job_state(c.id).await.unwrap().escrows.is_empty());
}

#[tokio::test]
async fn groups_cannot_be_provisioned_on_demand() {
    let w = World::new();
    let (s, t) = (w.tenant("Fabrikam").await, w.tenant("Contoso").await);
    let g = w.store.create_group(s.id, NewGroup::new(GroupAttributes::new("Sales").unwrap())).await.unwrap();
    let c = w.group_arrow(&s, &t, vec![Assignment::Group(g.id)], |_| {}).await;
    let err = w.engine.provision_on_demand(c.id, g.id).await.unwrap_err();
    assert_eq!(err.code(), "EntityTypeNotSupported");
    assert!(err.to_string().contains("groups"), "{err}");
}

#[tokio::test]
async fn a_restored_copy_does_not_bring_back_a_membership_the_source_dropped_meanwhile() {
    let w = World::new();
    let (s, t) = (w.tenant("Fabrikam").await, w.tenant("Contoso").await);
    let alice = w.user(&s, "alice", &[]).await;
    let g = w.group(&s, "Sales", &[&alice]).await;
    let c = w.group_arrow(&s, &t, vec![Assignment::User(alice.id), Assignment::Group(g.id)], |_| {}).await;
    w.run(&c).await;
    let copy = w.group_copy(&t, &g).await.unwrap();
    let alice_copy = w.copy(&t, &alice).await.unwrap();
    // While the target refuses groups, the source drops alice from the group: the target
    // group keeps her. Then a target admin deletes her copy (the membership row stays).
    w.store.set_partner_settings(t.id, Some(s.id), PartnerSettings { inbound_group_sync: Some(false), ..ALLOW }).await.unwrap();
    w.store.apply_one(s.id, WriteOp::RemoveMember { group: g.id, user: alice.id, if_match: None }).await.unwrap();
    w.run(&c).await;
    assert!(w.members(&t, copy.id).await.contains(&alice_copy.id));
    w.store.apply_one(t.id, WriteOp::SoftDeleteUser { id: alice_copy.id, if_match: None }).await.unwrap();
    w.store.set_partner_settings(t.id, Some(s.id), ALLOW).await.unwrap();
    // Alice changes: her copy comes back (she is assigned herself), but not into the group.
    w.update(&s, &alice, &[("jobTitle", "Lead")]).await;
    let r = w.run(&c).await;
    assert_eq!((r.restored, r.groups.members_removed), (1, 1));
    assert!(w.members(&t, copy.id).await.is_empty());
}

#[tokio::test]
async fn a_group_larger_than_a_commit_gets_all_its_members() {
    let w = World::new();
    let (s, t) = (w.tenant("Fabrikam").await, w.tenant("Contoso").await);
    let g = w.group(&s, "Everyone", &[]).await;
    let small = w.group(&s, "Few", &[]).await;
    let mut creates = Vec::new();
    for i in 0..1100 {
        let upn = World::upn(&format!("u{i}@fabrikam.example"));
        creates.push(WriteOp::CreateUser(Box::new(tenantsync_domain::NewUser::new(upn))));
    }
    let users: Vec<_> =
        w.store.apply(s.id, creates, tenantsync_store::BatchMode::Atomic).await.unwrap().into_iter().map(|r| r.unwrap().into_user().unwrap()).collect();
    let mut adds: Vec<_> = users.iter().map(|u| WriteOp::AddMember { group: g.id, user: u.id, if_match: None }).collect();
    adds.extend(users.iter().take(3).map(|u| WriteOp::AddMember { group: small.id, user: u.id, if_match: None }));
    w.store.apply(s.id, adds, tenantsync_store::BatchMode::Atomic).await.unwrap();
    let c = w.group_arrow(&s, &t, vec![Assignment::Group(g.id), Assignment::Group(small.id)], |_| {}).await;
    let r = w.run(&c).await;
    assert_eq!((r.created, r.groups.created, r.groups.members_added), (1100, 2, 1103));
    let big = w.group_copy(&t, &g).await.unwrap();
    let page = w.store.list_members(t.id, big.id, &tenantsync_store::ListQuery { limit: 5000, ..Default::default() }).await.unwrap();
    assert_eq!(page.items.len(), 1100);
    assert_eq!(w.members(&t, w.group_copy(&t, &small).await.unwrap().id).await.len(), 3);
    assert_eq!(w.store.job_state(c.id).await.unwrap().watermark, w.store.change_head(s.id).await.unwrap());
}
