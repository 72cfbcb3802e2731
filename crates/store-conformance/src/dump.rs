//! The conformance cases of [`DumpStore`] (what `tenantsync migrate` copies), stamped by
//! [`dump_conformance_tests!`](crate::dump_conformance_tests) with the factory of the
//! entitlement-management cases: each case takes two fresh stores, a source and a
//! destination. The copy between the two kinds of store is checked by the CLI's tests.
use crate::access::AccessFixture;
use crate::support::{assert_code, full_user, log_record, new_group, new_user, text};
use tenantsync_access::IsoDuration;
use tenantsync_domain::{Clock, NewTenant, ObjectId, PartnerSettings, SyncConfiguration, TenantId, UserRef};
use tenantsync_store::migrate::copy;
use tenantsync_store::{
    AccessObjectKind, AccessStep, AdminObjectKind, AuditRecord, BatchMode, CompareOp, DumpRecord, DumpStore, DumpTable, Filter, GuestSchedule, JobState,
    NewApiToken, ObjectQuery, OutboxMessage, TokenRole, Visibility, WriteOp,
};

/// Stamps one `#[tokio::test]` per case into module `dump_restore`; `$factory` is the
/// factory of [`crate::access_conformance_tests!`].
#[macro_export]
macro_rules! dump_conformance_tests {
    ($factory:path) => {
        mod dump_restore {
            #[allow(unused_imports)]
            use super::*;
            $crate::__dump_cases!($factory;
                a_copy_holds_every_record_of_every_table,
                a_copy_into_a_store_that_is_not_empty_is_refused,
                a_restore_dropped_before_its_commit_leaves_nothing,
            );
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __dump_cases {
    ($factory:path; $($case:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let source = $factory($crate::start_clock()).await;
                let destination = $factory($crate::start_clock()).await;
                $crate::dump::$case(source, destination).await
            }
        )*
    };
}

fn audit(f: &AccessFixture, tenant: TenantId) -> AuditRecord {
    crate::support::audit_record(tenant, f.clock.now(), "Add user")
}

/// What the fill made that a case looks up again.
struct Filled {
    source: TenantId,
    target: TenantId,
    alice: ObjectId,
}

/// A row in every table: two tenants, users of every kind (every attribute, a manager,
/// soft-deleted, named without a domain), groups, members, a feed with updates, tokens,
/// access settings, a configuration with its job state and log records, audit records,
/// an admin object, and entitlement management's documents, outbox and guests.
async fn fill(f: &AccessFixture) -> Filled {
    let s = &f.store;
    let source = s.create_tenant(NewTenant::new("Contoso", "contoso.example").unwrap()).await.unwrap().id;
    let target = s.create_tenant(NewTenant::new("Fabrikam", "fabrikam.example").unwrap()).await.unwrap().id;
    let alice = full_user("alice@contoso.example");
    let mut bob = new_user("bob@contoso.example");
    bob.manager = Some(UserRef::Id(alice.id));
    let carol = new_user("carol@contoso.example");
    let group = new_group("Engineering");
    let gone = new_group("Gone");
    let (a, b, c, g, h) = (alice.id, bob.id, carol.id, group.id, gone.id);
    let ops = vec![
        WriteOp::CreateUser(Box::new(alice)),
        WriteOp::CreateUser(Box::new(bob)),
        WriteOp::CreateUser(Box::new(carol)),
        WriteOp::CreateGroup(group),
        WriteOp::CreateGroup(gone),
        WriteOp::AddMember { group: g, user: a, if_match: None },
        WriteOp::AddMember { group: g, user: b, if_match: None },
        WriteOp::SoftDeleteUser { id: c, if_match: None },
        WriteOp::SoftDeleteGroup { id: h, if_match: None },
        WriteOp::SetBareName { id: b, bare: true },
    ];
    for r in s.apply(source, ops, BatchMode::Atomic).await.unwrap() {
        r.unwrap();
    }
    let patch = tenantsync_domain::UserPatch::from_pairs([("city", text("Bergen"))]).unwrap();
    s.update_user(source, a, patch, None).await.unwrap();
    for i in 0..5 {
        s.create_user(target, new_user(&format!("user{i}@fabrikam.example"))).await.unwrap();
    }
    let token = NewApiToken {
        id: ObjectId::new(),
        tenant_id: source,
        name: "ci".into(),
        role: TokenRole::Admin,
        secret_hash: [7; 32],
        expires_date_time: Some(IsoDuration::hours(24).after(f.clock.now())),
    };
    let token = s.create_token(token).await.unwrap();
    s.revoke_token(source, token.id).await.unwrap();
    s.set_partner_settings(target, None, PartnerSettings { inbound_user_sync: Some(false), ..PartnerSettings::default() }).await.unwrap();
    s.set_partner_settings(target, Some(source), PartnerSettings { inbound_user_sync: Some(true), ..PartnerSettings::default() }).await.unwrap();
    let config = s.create_sync_configuration(SyncConfiguration::new("arrow", source, target).unwrap()).await.unwrap();
    let logs: Vec<_> = (0..7).map(|i| log_record(config.id, ObjectId::new(), (i % 2 == 0).then(ObjectId::new), f.clock.now())).collect();
    let state = JobState { watermark: tenantsync_domain::ChangeCursor(4), ..JobState::default() };
    // Copies of source's users, one of them soft-deleted: the anchored count is derived.
    let copy = |upn: &str, object| {
        let mut u = new_user(upn);
        u.anchor = Some(tenantsync_domain::Anchor::new(source, object));
        WriteOp::CreateUser(Box::new(u))
    };
    let gone_copy = ObjectId::new();
    let ops = vec![copy("copy@fabrikam.example", a), copy("copy2@fabrikam.example", b), copy("copy3@fabrikam.example", gone_copy)];
    let made = s.commit_sync(config.id, target, ops, state, logs).await.unwrap();
    let third = made.into_iter().nth(2).unwrap().unwrap().into_user().unwrap().id;
    s.apply_one(target, WriteOp::SoftDeleteUser { id: third, if_match: None }).await.unwrap();
    s.append_audit(audit(f, source)).await.unwrap();
    s.put_admin_object(target, AdminObjectKind::ServicePrincipal, ObjectId::new(), r#"{"appId":"x"}"#.into(), audit(f, target)).await.unwrap();
    s.put_access_object(source, AccessObjectKind::Catalog, ObjectId::new(), serde_json::json!({"displayName": "General"})).await.unwrap();
    let at = f.clock.now();
    let message = OutboxMessage {
        id: ObjectId::new(),
        created: at,
        event: "accessGranted".into(),
        recipients: vec![a],
        addresses: vec![],
        subject: "Granted".into(),
        body: String::new(),
        attempts: 0,
        next_attempt: at,
        delivered: None,
    };
    let guests = vec![GuestSchedule { user: b, delete_at: IsoDuration::hours(1).after(at) }];
    s.commit_access(source, AccessStep { outbox: vec![message], guests, ..AccessStep::default() }).await.unwrap();
    // A connector exporting the target, with a state, a link and an escrowed link.
    let connector = tenantsync_store::ConnectorRecord {
        id: ObjectId::new(),
        name: "app".into(),
        tenant: target,
        created: at,
        body: serde_json::json!({"protocol": "scim"}),
    };
    s.create_connector(connector.clone()).await.unwrap();
    let link = |object, external: Option<&str>, fault| tenantsync_store::Link {
        object,
        kind: tenantsync_domain::ObjectKind::User,
        external_id: external.map(Into::into),
        digest: Some(vec![7; 32]),
        exported: Some(serde_json::json!({"userName": "x"})),
        fault,
    };
    let fault = tenantsync_store::LinkFault { error: "connector_refused_object: no".into(), attempts: 2, retry_at: at };
    let step = tenantsync_store::ConnectorStep {
        links: vec![link(ObjectId::new(), Some("ext-1"), None), link(ObjectId::new(), None, Some(fault))],
        unlinked: vec![],
        state: Some(serde_json::json!({"cursor": 3})),
        seen: None,
    };
    s.commit_connector(connector.key(), step).await.unwrap();
    Filled { source, target, alice: a }
}

/// Every record of a table, read a few at a time.
async fn records(store: &dyn DumpStore, table: DumpTable) -> Vec<DumpRecord> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = store.dump_page(table, after.as_ref(), 2).await.unwrap();
        assert!(page.records.len() <= 256 || table == DumpTable::ProvisioningLogs, "a page is bounded");
        out.extend(page.records);
        match page.next {
            Some(next) => after = Some(next),
            None => return out,
        }
    }
}

pub async fn a_copy_holds_every_record_of_every_table(source: AccessFixture, destination: AccessFixture) {
    let filled = fill(&source).await;
    let (from, to): (&dyn DumpStore, &dyn DumpStore) = (source.store.as_ref(), destination.store.as_ref());
    let report = copy(from, to, "destination", 3).await.unwrap();
    for t in &report.tables {
        // Access requests and assignments are the access cases' (their rows are copied like
        // the outbox's); every other table has rows here.
        if !matches!(t.table, DumpTable::AccessRequests | DumpTable::AccessAssignments) {
            assert!(t.source > 0, "the fill has no {:?}", t.table);
        }
        assert_eq!(t.source, t.destination, "{:?}", t.table);
    }
    for table in DumpTable::ALL {
        assert_eq!(records(from, table).await, records(to, table).await, "{table:?}");
    }
    // What the destination derives from its rows, read through its own reads.
    let (s, d) = (&source.store, &destination.store);
    for t in [filled.source, filled.target] {
        assert_eq!(s.change_head(t).await.unwrap(), d.change_head(t).await.unwrap());
        for v in [Visibility::Active, Visibility::Deleted, Visibility::All] {
            assert_eq!(s.count_users(t, v).await.unwrap(), d.count_users(t, v).await.unwrap(), "{v:?} users");
            assert_eq!(s.count_groups(t, v).await.unwrap(), d.count_groups(t, v).await.unwrap(), "{v:?} groups");
        }
        assert_eq!(s.changes_since(t, Default::default(), 1000).await.unwrap(), d.changes_since(t, Default::default(), 1000).await.unwrap());
    }
    assert_eq!(s.count_users_by_anchor_tenant(filled.target, filled.source).await.unwrap(), 2);
    assert_eq!(d.count_users_by_anchor_tenant(filled.target, filled.source).await.unwrap(), 2, "the live copies, counted again by the restore");
    assert_eq!(d.count_users_by_anchor_tenant(filled.source, filled.target).await.unwrap(), 0);
    let by_extension = ObjectQuery {
        filter: Some(Filter::Extension { name: crate::support::ext("skills"), test: Some((CompareOp::Eq, "rust".into())), ignore_case: false }),
        limit: 10,
        ..ObjectQuery::default()
    };
    let found = d.query_users(filled.source, &by_extension).await.unwrap();
    assert_eq!(found.items.iter().map(|u| u.id).collect::<Vec<_>>(), vec![filled.alice], "the extension values are indexed again");
    assert_eq!(d.find_tenant_by_domain(&"fabrikam.example".parse().unwrap()).await.unwrap().map(|t| t.id), Some(filled.target));
    assert_eq!(d.get_user(filled.source, filled.alice).await.unwrap(), s.get_user(filled.source, filled.alice).await.unwrap());
}

pub async fn a_copy_into_a_store_that_is_not_empty_is_refused(source: AccessFixture, destination: AccessFixture) {
    fill(&source).await;
    let other = destination.store.create_tenant(NewTenant::new("Other", "other.example").unwrap()).await.unwrap();
    let before = destination.store.tally().await.unwrap();
    assert_code(copy(source.store.as_ref(), destination.store.as_ref(), "destination", 100).await, "destination_exists");
    assert_eq!(destination.store.tally().await.unwrap(), before, "nothing was written");
    assert_eq!(destination.store.list_tenants().await.unwrap(), vec![other]);
}

pub async fn a_restore_dropped_before_its_commit_leaves_nothing(source: AccessFixture, destination: AccessFixture) {
    fill(&source).await;
    let mut restore = destination.store.restore().await.unwrap();
    for table in [DumpTable::Tenants, DumpTable::Users, DumpTable::Changes] {
        restore.push(records(source.store.as_ref(), table).await).await.unwrap();
    }
    assert!(restore.tally().await.unwrap().tables[&DumpTable::Users] > 0, "the open transaction holds the users");
    drop(restore);
    // The store's other connections see nothing, now and once the rollback is through.
    let store = &destination.store;
    crate::support::within("the rollback", async {
        while !store.tally().await.unwrap().is_empty() {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(store.list_tenants().await.unwrap().is_empty());
    // And the store takes a whole copy afterwards.
    copy(source.store.as_ref(), store.as_ref(), "destination", 50).await.unwrap();
}
