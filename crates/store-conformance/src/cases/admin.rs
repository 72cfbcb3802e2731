//! The admin API's storage: the audit log (committed with its write, per tenant, newest
//! first, paged, purged), admin objects, and paged provisioning-log reads.
use crate::Fixture;
use crate::support::*;
use tenantsync_domain::{ObjectId, SyncConfiguration, TenantId};
use tenantsync_store::{AdminObjectKind, AuditQuery, AuditRecord, JobState, LogQuery, ProvisioningAction, ProvisioningLog, ProvisioningStatus, WriteOp};

fn record(f: &Fixture, tenant: TenantId, activity: &str) -> AuditRecord {
    audit_record(tenant, tenantsync_domain::Clock::now(f.clock.as_ref()), activity)
}

async fn all(f: &Fixture, t: TenantId) -> Vec<AuditRecord> {
    f.store.audit_records(t, &AuditQuery { limit: 1000, ..AuditQuery::default() }).await.unwrap().records
}

pub async fn audit_commits_with_its_write_or_not_at_all(f: Fixture) {
    let t = tenant(&f, "contoso.example").await;
    let alice = new_user("alice@contoso.example");
    let done = f.store.apply_audited(t.id, vec![WriteOp::CreateUser(Box::new(alice.clone()))], record(&f, t.id, "Add user")).await.unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(all(&f, t.id).await.len(), 1, "the record is there with the user");
    assert!(f.store.get_user(t.id, alice.id).await.is_ok());

    let before = snapshot(&f, t.id).await;
    // The second op fails (the UPN is taken): the first is rolled back, and no record stays.
    let ops = vec![WriteOp::CreateUser(Box::new(new_user("bob@contoso.example"))), WriteOp::CreateUser(Box::new(new_user("alice@contoso.example")))];
    assert_code(f.store.apply_audited(t.id, ops, record(&f, t.id, "Add user")).await, "upn_conflict");
    assert_unchanged(&f, t.id, &before, "a refused audited batch").await;
    assert_eq!(all(&f, t.id).await.len(), 1, "no record of a write that did not happen");

    let other = tenant(&f, "fabrikam.example").await;
    assert!(f.store.apply_audited(t.id, vec![], record(&f, other.id, "Add user")).await.is_err(), "a record of another tenant is refused");
}

pub async fn audit_pages_newest_first_per_tenant_and_purges(f: Fixture) {
    let t = tenant(&f, "contoso.example").await;
    let other = tenant(&f, "fabrikam.example").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let r = record(&f, t.id, &format!("Update user {i}"));
        ids.push(r.id);
        f.store.append_audit(r).await.unwrap();
        tick(&f, 1);
    }
    f.store.append_audit(record(&f, other.id, "Add user")).await.unwrap();
    let mut seen = Vec::new();
    let mut q = AuditQuery { limit: 2, ..AuditQuery::default() };
    loop {
        let page = f.store.audit_records(t.id, &q).await.unwrap();
        assert!(page.records.len() <= 2);
        seen.extend(page.records.iter().map(|r| r.id));
        match page.next {
            Some(n) => q.after = Some(n),
            None => break,
        }
    }
    ids.reverse();
    assert_eq!(seen, ids, "newest first, each once, only the tenant's");
    let since = crate::start().checked_add(jiff::SignedDuration::from_secs(3)).unwrap();
    let recent = f.store.audit_records(t.id, &AuditQuery { since: Some(since), limit: 10, ..AuditQuery::default() }).await.unwrap();
    assert_eq!(recent.records.len(), 2);
    assert_code(f.store.audit_records(TenantId::new(), &AuditQuery::default()).await, "tenant_not_found");
    assert_code(f.store.append_audit(record(&f, TenantId::new(), "x")).await, "tenant_not_found");

    assert_eq!(f.store.purge_audit_records(since).await.unwrap(), 3, "those older than the cutoff");
    assert_eq!(all(&f, t.id).await.len(), 2);
    assert_eq!(all(&f, other.id).await.len(), 1, "the other tenant's newer record stays");
    let later = crate::start().checked_add(jiff::SignedDuration::from_secs(60)).unwrap();
    assert_eq!(f.store.purge_audit_records(later).await.unwrap(), 3, "every tenant's");
}

pub async fn admin_objects_are_per_tenant_and_audited(f: Fixture) {
    let t = tenant(&f, "contoso.example").await;
    let other = tenant(&f, "fabrikam.example").await;
    let kind = AdminObjectKind::ServicePrincipal;
    let (a, b) = (ObjectId::new(), ObjectId::new());
    f.store.put_admin_object(t.id, kind, a, "{\"n\":1}".into(), record(&f, t.id, "Add service principal")).await.unwrap();
    tick(&f, 1);
    f.store.put_admin_object(t.id, kind, b, "{\"n\":2}".into(), record(&f, t.id, "Add service principal")).await.unwrap();
    f.store.put_admin_object(t.id, kind, a, "{\"n\":3}".into(), record(&f, t.id, "Update service principal")).await.unwrap();
    assert_eq!(f.store.admin_object(t.id, kind, a).await.unwrap().as_deref(), Some("{\"n\":3}"), "replaced");
    assert_eq!(f.store.admin_object(other.id, kind, a).await.unwrap(), None, "another tenant's is not there");
    let listed: Vec<ObjectId> = f.store.admin_objects(t.id, kind).await.unwrap().into_iter().map(|(id, _)| id).collect();
    assert_eq!(listed, vec![a, b], "in creation order");
    assert!(f.store.admin_objects(other.id, kind).await.unwrap().is_empty());
    assert!(!f.store.delete_admin_object(other.id, kind, a, record(&f, other.id, "x")).await.unwrap());
    assert!(f.store.delete_admin_object(t.id, kind, a, record(&f, t.id, "Delete service principal")).await.unwrap());
    assert_eq!(f.store.admin_object(t.id, kind, a).await.unwrap(), None);
    assert_eq!(all(&f, t.id).await.len(), 4, "each change with its record");
    assert!(all(&f, other.id).await.is_empty(), "no record of a delete that deleted nothing");
}

fn log(config: &SyncConfiguration, f: &Fixture, i: usize, action: ProvisioningAction, status: ProvisioningStatus, source: ObjectId) -> ProvisioningLog {
    ProvisioningLog {
        id: ObjectId::new().to_string(),
        cycle_id: "c1".into(),
        change_id: format!("c1-{i}"),
        duration_in_milliseconds: 1,
        ..ProvisioningLog::new(config.id, source, format!("user {i}"), action, status, tenantsync_domain::Clock::now(f.clock.as_ref()))
    }
}

pub async fn provisioning_log_pages_filter_and_continue(f: Fixture) {
    let a = tenant(&f, "contoso.example").await;
    let b = tenant(&f, "fabrikam.example").await;
    let ab = f.store.create_sync_configuration(SyncConfiguration::new("a to b", a.id, b.id).unwrap()).await.unwrap();
    let ba = f.store.create_sync_configuration(SyncConfiguration::new("b to a", b.id, a.id).unwrap()).await.unwrap();
    let alice = ObjectId::new();
    // 600 records over three commits (more than one block each), every third a delete.
    let mut expected = Vec::new();
    for commit in 0..3 {
        let mut logs = Vec::new();
        for i in 0..200 {
            let n = commit * 200 + i;
            let (action, source) = if n % 3 == 0 { (ProvisioningAction::Delete, alice) } else { (ProvisioningAction::Create, ObjectId::new()) };
            let status = if n % 2 == 0 { ProvisioningStatus::Success } else { ProvisioningStatus::Failure };
            let l = log(&ab, &f, n, action, status, source);
            expected.push(l.id.clone());
            logs.push(l);
        }
        f.store.commit_sync(ab.id, b.id, vec![], JobState::default(), logs).await.unwrap();
        tick(&f, 1);
    }
    f.store
        .commit_sync(ba.id, a.id, vec![], JobState::default(), vec![log(&ba, &f, 0, ProvisioningAction::Create, ProvisioningStatus::Success, alice)])
        .await
        .unwrap();
    expected.reverse();

    // Every record of the tenant's configurations, newest first, pages of 7.
    let mut q = LogQuery { source_tenant: Some(a.id), limit: 7, ..LogQuery::default() };
    let mut seen = Vec::new();
    loop {
        let page = f.store.provisioning_log_page(&q).await.unwrap();
        assert!(page.records.len() <= 7);
        seen.extend(page.records.into_iter().map(|r| r.id));
        match page.next {
            Some(n) => q.after = Some(n),
            None => break,
        }
    }
    assert_eq!(seen, expected, "each record once, newest first, only of the tenant's configurations");

    let count = |q: LogQuery| {
        let store = f.store.clone();
        async move { store.provisioning_log_page(&LogQuery { limit: 10_000, ..q }).await.unwrap().records }
    };
    let deletes = count(LogQuery { config_id: Some(ab.id), action: Some(ProvisioningAction::Delete), ..LogQuery::default() }).await;
    assert_eq!(deletes.len(), 200);
    assert!(deletes.iter().all(|l| l.provisioning_action == ProvisioningAction::Delete && l.source_id == alice));
    let alices = count(LogQuery { source_id: Some(alice), ..LogQuery::default() }).await;
    assert_eq!(alices.len(), 201, "both configurations");
    assert!(count(LogQuery { target_id: Some(alice), ..LogQuery::default() }).await.is_empty(), "alice is never a target");
    let failed_deletes = count(LogQuery { action: Some(ProvisioningAction::Delete), status: Some(ProvisioningStatus::Failure), ..LogQuery::default() }).await;
    assert_eq!(failed_deletes.len(), 100);
    let in_b = count(LogQuery { source_tenant: Some(b.id), ..LogQuery::default() }).await;
    assert_eq!(in_b.len(), 1);
    let since = crate::start().checked_add(jiff::SignedDuration::from_secs(2)).unwrap();
    assert_eq!(count(LogQuery { config_id: Some(ab.id), since: Some(since), ..LogQuery::default() }).await.len(), 200);
    let bad = LogQuery { after: Some(tenantsync_store::LogCursor("not a position".into())), ..LogQuery::default() };
    assert_code(f.store.provisioning_log_page(&bad).await, "unsupported_query");
}

pub async fn partner_rows_are_listed_and_deleted(f: Fixture) {
    let t = tenant(&f, "contoso.example").await;
    let (p, q) = (tenant(&f, "fabrikam.example").await, tenant(&f, "litware.example").await);
    assert!(f.store.partner_settings_list(t.id).await.unwrap().is_empty());
    let on = tenantsync_domain::PartnerSettings { inbound_user_sync: Some(true), ..Default::default() };
    f.store.set_partner_settings(t.id, None, on).await.unwrap();
    f.store.set_partner_settings(t.id, Some(q.id), on).await.unwrap();
    f.store.set_partner_settings(t.id, Some(p.id), Default::default()).await.unwrap();
    let mut expected = vec![(p.id, Default::default()), (q.id, on)];
    expected.sort_by_key(|(id, _)| *id.as_bytes());
    assert_eq!(f.store.partner_settings_list(t.id).await.unwrap(), expected, "a row set to nothing is listed; the defaults are not");
    assert!(f.store.partner_settings_list(q.id).await.unwrap().is_empty(), "settings are the tenant's own");
    assert!(f.store.delete_partner_settings(t.id, q.id).await.unwrap());
    assert!(!f.store.delete_partner_settings(t.id, q.id).await.unwrap());
    assert_eq!(f.store.partner_settings(t.id, Some(q.id)).await.unwrap(), Default::default());
    assert_eq!(f.store.partner_settings(t.id, None).await.unwrap(), on, "the defaults stay");
    assert_code(f.store.partner_settings_list(TenantId::new()).await, "tenant_not_found");
}
