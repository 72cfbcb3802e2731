//! Tenants: create, get, list, find by domain, retention, and tenant_not_found on
//! every tenant-scoped call.
use crate::Fixture;
use crate::support::*;
use tenantsync_domain::{Anchor, ChangeCursor, Clock, DEFAULT_SOFT_DELETE_RETENTION_DAYS, DomainName, NewTenant, ObjectId, TenantId, Version};
use tenantsync_store::{BatchMode, BulkOptions, ListQuery, StoreError, Visibility, WriteOp};

pub async fn create_get_and_list(f: Fixture) {
    assert_eq!(f.store.list_tenants().await.unwrap(), vec![], "a fresh store has no tenants");
    let new = NewTenant::new("Contoso", "contoso.example").unwrap();
    let created = f.store.create_tenant(new.clone()).await.unwrap();
    assert_eq!(created.id, new.id);
    assert_eq!(created.display_name, "Contoso");
    assert_eq!(created.initial_domain, DomainName::parse("contoso.example").unwrap());
    assert_eq!(created.created_date_time, f.clock.now(), "createdDateTime comes from the store's clock");
    assert_eq!(created.soft_delete_retention_days, new.soft_delete_retention_days);
    assert_eq!(f.store.get_tenant(created.id).await.unwrap(), created);

    tick(&f, 60);
    let second = f.store.create_tenant(NewTenant::new("Fabrikam", "fabrikam.example").unwrap()).await.unwrap();
    assert_eq!(second.created_date_time, f.clock.now());
    let mut listed = f.store.list_tenants().await.unwrap();
    listed.sort_by_key(|t| t.id);
    let mut want = vec![created, second];
    want.sort_by_key(|t| t.id);
    assert_eq!(listed, want);
}

pub async fn find_by_domain_ignores_case(f: Fixture) {
    let t = tenant(&f, "contoso.example").await;
    let _other = tenant(&f, "fabrikam.example").await;
    let found = f.store.find_tenant_by_domain(&DomainName::parse("Contoso.EXAMPLE").unwrap()).await.unwrap();
    assert_eq!(found, Some(t.clone()));
    let found = f.store.find_tenant_by_domain(&DomainName::parse("contoso.example").unwrap()).await.unwrap();
    assert_eq!(found, Some(t));
    let none = f.store.find_tenant_by_domain(&DomainName::parse("contoso.example.org").unwrap()).await.unwrap();
    assert_eq!(none, None);
}

pub async fn duplicate_domain_is_domain_conflict(f: Fixture) {
    let t = tenant(&f, "contoso.example").await;
    let again = NewTenant::new("Another Contoso", "CONTOSO.example").unwrap();
    assert_code(f.store.create_tenant(again).await, "domain_conflict");
    assert_eq!(f.store.list_tenants().await.unwrap(), vec![t], "the refused tenant must not exist");
}

pub async fn duplicate_id_is_tenant_conflict(f: Fixture) {
    let t = tenant(&f, "contoso.example").await;
    let mut again = NewTenant::new("Fabrikam", "fabrikam.example").unwrap();
    again.id = t.id;
    assert_code(f.store.create_tenant(again).await, "tenant_conflict");
    assert_eq!(f.store.list_tenants().await.unwrap(), vec![t.clone()]);
    assert_eq!(f.store.find_tenant_by_domain(&DomainName::parse("fabrikam.example").unwrap()).await.unwrap(), None);
}

pub async fn retention_defaults_and_can_be_set(f: Fixture) {
    let t = tenant(&f, "contoso.example").await;
    assert_eq!(t.soft_delete_retention_days, DEFAULT_SOFT_DELETE_RETENTION_DAYS);
    let custom = f.store.create_tenant(NewTenant::new("Fabrikam", "fabrikam.example").unwrap().with_retention_days(7)).await.unwrap();
    assert_eq!(custom.soft_delete_retention_days, 7);
    assert_eq!(f.store.get_tenant(custom.id).await.unwrap().soft_delete_retention_days, 7);

    let updated = f.store.set_tenant_retention(t.id, 90).await.unwrap();
    assert_eq!(updated.soft_delete_retention_days, 90);
    assert_eq!(updated.id, t.id);
    assert_eq!(updated.initial_domain, t.initial_domain);
    assert_eq!(updated.display_name, t.display_name);
    assert_eq!(updated.created_date_time, t.created_date_time);
    assert_eq!(f.store.get_tenant(t.id).await.unwrap(), updated);
    assert_eq!(f.store.get_tenant(custom.id).await.unwrap().soft_delete_retention_days, 7, "other tenants keep theirs");
    assert_eq!(head(&f, t.id).await, ChangeCursor::START, "a tenant setting is not a directory change");
}

pub async fn new_tenant_has_an_empty_feed(f: Fixture) {
    let t = tenant(&f, "contoso.example").await;
    assert_eq!(head(&f, t.id).await, ChangeCursor::START);
    let page = f.store.changes_since(t.id, ChangeCursor::START, 100).await.unwrap();
    assert_eq!(page.changes, vec![]);
    assert_eq!(page.next_cursor, ChangeCursor::START);
    assert_eq!(f.store.count_users(t.id, Visibility::All).await.unwrap(), 0);
    let users = f.store.list_users(t.id, &ListQuery::default()).await.unwrap();
    assert_eq!(users.items, vec![]);
    assert_eq!(users.next, None);
    let groups = f.store.list_groups(t.id, &ListQuery::default()).await.unwrap();
    assert_eq!(groups.items, vec![]);
    assert_eq!(groups.next, None);
}

#[track_caller]
fn not_found<T: std::fmt::Debug>(what: &str, r: tenantsync_store::Result<T>) {
    let e = err(r);
    assert_eq!(e.code(), "tenant_not_found", "{what} on an unknown tenant: expected tenant_not_found, got {e:?}");
}

pub async fn unknown_tenant_is_tenant_not_found_everywhere(f: Fixture) {
    // A real tenant with data, so a store that ignores the tenant id would find something.
    let real = tenant(&f, "contoso.example").await;
    let user = f.store.create_user(real.id, new_user("alice@contoso.example")).await.unwrap();
    let group = f.store.create_group(real.id, new_group("Sales")).await.unwrap();
    let t = TenantId::new();
    let s = &f.store;
    let q = ListQuery::default();
    let a = Anchor::new(TenantId::new(), ObjectId::new());

    not_found("get_tenant", s.get_tenant(t).await);
    not_found("set_tenant_retention", s.set_tenant_retention(t, 5).await);
    not_found("get_user", s.get_user(t, user.id).await);
    not_found("find_user_by_upn", s.find_user_by_upn(t, &upn("alice@contoso.example")).await);
    not_found("find_users_by_mail", s.find_users_by_mail(t, &mail("alice@contoso.example")).await);
    not_found("find_user_by_anchor", s.find_user_by_anchor(t, &a).await);
    not_found("list_users_by_anchor_tenant", s.list_users_by_anchor_tenant(t, a.tenant, None, 10).await);
    not_found("count_users_by_anchor_tenant", s.count_users_by_anchor_tenant(t, a.tenant).await);
    not_found("list_users", s.list_users(t, &q).await);
    for v in [Visibility::Active, Visibility::Deleted, Visibility::All] {
        not_found("count_users", s.count_users(t, v).await);
    }
    not_found("get_group", s.get_group(t, group.id).await);
    not_found("find_group_by_anchor", s.find_group_by_anchor(t, &a).await);
    not_found("list_groups", s.list_groups(t, &q).await);
    not_found("list_members", s.list_members(t, group.id, &q).await);
    not_found("member_of", s.member_of(t, user.id).await);
    not_found("purge_deleted", s.purge_deleted(t, f.clock.now()).await);
    not_found("changes_since", s.changes_since(t, ChangeCursor::START, 10).await);
    not_found("change_head", s.change_head(t).await);
    not_found("wait_for_changes", within("wait_for_changes on an unknown tenant", s.wait_for_changes(t, ChangeCursor::START)).await);
    not_found("bulk_import_users", s.bulk_import_users(t, BulkOptions::default()).await);

    not_found("create_user", s.create_user(t, new_user("bob@contoso.example")).await);
    not_found("update_user", s.update_user(t, user.id, user_patch(&[("city", text("Oslo"))]), None).await);
    not_found("create_group", s.create_group(t, new_group("Ops")).await);
    not_found("update_group", s.update_group(t, group.id, group_patch(&[("description", text("x"))]), None).await);
    let ops = || {
        vec![
            WriteOp::CreateUser(Box::new(new_user("carol@contoso.example"))),
            WriteOp::SoftDeleteUser { id: user.id, if_match: None },
            WriteOp::RestoreUser { id: user.id, if_match: None },
            WriteOp::HardDeleteUser { id: user.id, if_match: Some(Version::FIRST) },
            WriteOp::SoftDeleteGroup { id: group.id, if_match: None },
            WriteOp::RestoreGroup { id: group.id, if_match: None },
            WriteOp::HardDeleteGroup { id: group.id, if_match: None },
            WriteOp::AddMember { group: group.id, user: user.id, if_match: None },
            WriteOp::RemoveMember { group: group.id, user: user.id, if_match: None },
        ]
    };
    for op in ops() {
        not_found(&format!("apply_one({op:?})"), s.apply_one(t, op.clone()).await);
    }
    not_found("apply(Atomic)", s.apply(t, ops(), BatchMode::Atomic).await);
    // Independent: the trait leaves open whether the batch fails whole or each operation
    // fails alone; either way every operation must be refused with tenant_not_found.
    match s.apply(t, ops(), BatchMode::Independent).await {
        Err(e) => assert_eq!(e.code(), "tenant_not_found", "apply(Independent): {e:?}"),
        Ok(results) => {
            assert_eq!(results.len(), ops().len(), "results must line up with the operations");
            for r in results {
                not_found("apply(Independent) operation", r);
            }
        }
    }

    // Nothing leaked into the real tenant, and no tenant was created on the fly.
    assert_eq!(f.store.list_tenants().await.unwrap(), vec![real.clone()]);
    assert_eq!(head(&f, real.id).await, ChangeCursor(2));
    assert_eq!(f.store.get_user(real.id, user.id).await.unwrap(), user);
    assert_eq!(f.store.get_group(real.id, group.id).await.unwrap(), group);
    let e = err(f.store.get_tenant(t).await);
    assert!(matches!(e, StoreError::TenantNotFound { .. }), "{e:?}");
}
