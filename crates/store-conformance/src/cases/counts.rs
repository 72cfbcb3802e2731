//! Counts kept by the store (`count_users`, `count_groups`, the total of an unfiltered
//! query): always what a listing counts, after every kind of write and after writes that
//! were refused or rolled back. Also the writes SCIM relies on: `SetMembership`,
//! `ReleaseUpn` and `SetBareName`.
use crate::Fixture;
use crate::support::*;
use tenantsync_domain::{ChangeOp, Clock, ObjectId, TenantId};
use tenantsync_store::{BatchMode, BulkOptions, ObjectQuery, StoreError, Visibility, WriteOp};

/// Every count the store keeps, next to what the listings count.
async fn assert_counts(f: &Fixture, t: TenantId, what: &str) {
    for v in [Visibility::Active, Visibility::Deleted, Visibility::All] {
        let users = all_users(f, t, v).await.len() as u64;
        let groups = all_groups(f, t, v).await.len() as u64;
        assert_eq!(f.store.count_users(t, v).await.unwrap(), users, "{what}: users {v:?}");
        assert_eq!(f.store.count_groups(t, v).await.unwrap(), groups, "{what}: groups {v:?}");
    }
    // The total of an unfiltered query (not the first page, so it is not the page's size).
    let q = ObjectQuery { offset: 1, limit: 1, ..ObjectQuery::default() };
    let live_users = all_users(f, t, Visibility::Active).await.len() as u64;
    let live_groups = all_groups(f, t, Visibility::Active).await.len() as u64;
    assert_eq!(f.store.query_users(t, &q).await.unwrap().total, Some(live_users), "{what}: query_users total");
    assert_eq!(f.store.query_groups(t, &q).await.unwrap().total, Some(live_groups), "{what}: query_groups total");
    let count_only = ObjectQuery { limit: 0, ..ObjectQuery::default() };
    assert_eq!(f.store.query_users(t, &count_only).await.unwrap().total, Some(live_users), "{what}: count=0");
    // The live users per anchor source: a soft-deleted copy is not counted, a restored
    // one is again (`count_users_by_anchor_tenant` is read, not counted).
    let mut sources: Vec<TenantId> = all_users(f, t, Visibility::All).await.iter().filter_map(|u| u.anchor.map(|a| a.tenant)).collect();
    sources.extend([SOURCE_A, SOURCE_B]);
    sources.sort();
    sources.dedup();
    let live = all_users(f, t, Visibility::Active).await;
    for s in sources {
        let want = live.iter().filter(|u| u.anchor.is_some_and(|a| a.tenant == s)).count() as u64;
        assert_eq!(f.store.count_users_by_anchor_tenant(t, s).await.unwrap(), want, "{what}: users anchored to {s}");
    }
}

/// Two source tenants whose copies the cases make (they need not exist in the store).
const SOURCE_A: TenantId = TenantId(uuid::Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_00a1));
const SOURCE_B: TenantId = TenantId(uuid::Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_00b2));

/// A user carrying an anchor from `source`, as a sync from it creates one.
fn copy(upn: &str, source: TenantId) -> tenantsync_domain::NewUser {
    let mut u = new_user(upn);
    u.anchor = Some(tenantsync_domain::Anchor::new(source, ObjectId::new()));
    u
}

pub async fn counts_follow_every_write(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let other = tenant(&f, "fabrikam.example").await.id;
    assert_counts(&f, t, "an empty tenant").await;
    let mut users = Vec::new();
    for i in 0..6 {
        // Copies of two sources and users of the tenant's own, mixed.
        let u = match i % 3 {
            0 => copy(&format!("u{i}@contoso.example"), SOURCE_A),
            1 => copy(&format!("u{i}@contoso.example"), SOURCE_B),
            _ => new_user(&format!("u{i}@contoso.example")),
        };
        users.push(f.store.create_user(t, u).await.unwrap().id);
    }
    let g1 = f.store.create_group(t, new_group("G1")).await.unwrap().id;
    let g2 = f.store.create_group(t, new_group("G2")).await.unwrap().id;
    f.store.create_user(other, new_user("x@fabrikam.example")).await.unwrap();
    assert_counts(&f, t, "creates").await;
    assert_counts(&f, other, "another tenant's creates").await;

    for op in [
        WriteOp::SoftDeleteUser { id: users[0], if_match: None },
        WriteOp::SoftDeleteUser { id: users[1], if_match: None },
        WriteOp::SoftDeleteGroup { id: g1, if_match: None },
    ] {
        f.store.apply_one(t, op).await.unwrap();
    }
    assert_counts(&f, t, "soft deletes").await;
    f.store.apply_one(t, WriteOp::RestoreUser { id: users[1], if_match: None }).await.unwrap();
    f.store.apply_one(t, WriteOp::RestoreGroup { id: g1, if_match: None }).await.unwrap();
    assert_counts(&f, t, "restores").await;
    // Hard deletes of a live and of a soft-deleted object; then a purge.
    f.store.apply_one(t, WriteOp::HardDeleteUser { id: users[0], if_match: None }).await.unwrap();
    f.store.apply_one(t, WriteOp::HardDeleteUser { id: users[2], if_match: None }).await.unwrap();
    f.store.apply_one(t, WriteOp::HardDeleteGroup { id: g2, if_match: None }).await.unwrap();
    assert_counts(&f, t, "hard deletes").await;
    f.store.apply_one(t, WriteOp::SoftDeleteUser { id: users[3], if_match: None }).await.unwrap();
    tick(&f, 60);
    assert_eq!(f.store.purge_deleted(t, f.clock.now()).await.unwrap(), 1);
    assert_counts(&f, t, "a purge").await;

    // Refused and rolled back writes change nothing.
    assert_code(f.store.create_user(t, new_user("u4@contoso.example")).await, "upn_conflict");
    let batch = vec![
        WriteOp::CreateUser(Box::new(copy("new@contoso.example", SOURCE_A))),
        WriteOp::SoftDeleteUser { id: users[4], if_match: None },
        WriteOp::CreateGroup(new_group("G3")),
        WriteOp::HardDeleteUser { id: users[5], if_match: None },
        WriteOp::SoftDeleteUser { id: ObjectId::new(), if_match: None },
    ];
    assert!(matches!(f.store.apply(t, batch.clone(), BatchMode::Atomic).await, Err(StoreError::NotFound { .. })));
    assert_counts(&f, t, "a rolled back batch").await;
    // In Independent mode the others stand.
    let results = f.store.apply(t, batch, BatchMode::Independent).await.unwrap();
    assert_eq!(results.iter().filter(|r| r.is_err()).count(), 1);
    assert_counts(&f, t, "an independent batch with a refusal").await;

    // Bulk imports: whole (one bad row: nothing), unit by unit (the units before the bad
    // one), and a clean one.
    let rows = |prefix: &str, n: u64| -> Vec<(u64, tenantsync_domain::NewUser)> {
        (1..=n)
            .map(|i| (i, if i % 2 == 0 { copy(&format!("{prefix}{i}@contoso.example"), SOURCE_B) } else { new_user(&format!("{prefix}{i}@contoso.example")) }))
            .collect()
    };
    for (k, options) in
        [BulkOptions { commit_every: None }, BulkOptions { commit_every: Some(4) }, BulkOptions { commit_every: Some(100) }].into_iter().enumerate()
    {
        let mut bad = rows(&format!("w{k}x"), 10);
        bad.push((11, new_user("u4@contoso.example")));
        let mut imp = f.store.bulk_import_users(t, options).await.unwrap();
        imp.push(bad).await.unwrap();
        within("finishing an import", imp.finish()).await.unwrap();
        assert_counts(&f, t, &format!("a bulk import with a bad row, {options:?}")).await;
    }
    let mut imp = f.store.bulk_import_users(t, BulkOptions { commit_every: Some(3) }).await.unwrap();
    imp.push(rows("ok", 8)).await.unwrap();
    within("finishing an import", imp.finish()).await.unwrap();
    assert_counts(&f, t, "a clean bulk import").await;
    let imp = f.store.bulk_import_users(t, BulkOptions { commit_every: None }).await.unwrap();
    drop(imp);
    assert_counts(&f, t, "a dropped import").await;
    assert_counts(&f, other, "the other tenant, untouched").await;
}

/// `SetMembership`: an add of a member or a remove of a non-member is no error and writes
/// nothing; other changes are ordinary membership changes.
pub async fn set_membership_is_idempotent(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let u = f.store.create_user(t, new_user("a@contoso.example")).await.unwrap().id;
    let g = f.store.create_group(t, new_group("G")).await.unwrap().id;
    let h = head(&f, t).await;
    let set = |member| WriteOp::SetMembership { group: g, user: u, member };
    let v = |out: tenantsync_store::WriteOutcome| out.into_group().unwrap().version.0;
    assert_eq!(v(f.store.apply_one(t, set(true)).await.unwrap()), 2);
    assert_eq!(v(f.store.apply_one(t, set(true)).await.unwrap()), 2, "already a member: unchanged");
    assert_eq!(member_ids(&f, t, g).await, vec![u]);
    assert_eq!(v(f.store.apply_one(t, set(false)).await.unwrap()), 3);
    assert_eq!(v(f.store.apply_one(t, set(false)).await.unwrap()), 3, "not a member: unchanged");
    assert_changes(&changes_after(&f, t, h).await, &[Ch::member_add(g, u), Ch::member_remove(g, u)]);
    // Refusals as AddMember's.
    let nobody = ObjectId::new();
    assert_code(f.store.apply_one(t, WriteOp::SetMembership { group: g, user: nobody, member: true }).await, "not_found");
    assert_code(f.store.apply_one(t, WriteOp::SetMembership { group: nobody, user: u, member: true }).await, "not_found");
    f.store.apply_one(t, WriteOp::SoftDeleteUser { id: u, if_match: None }).await.unwrap();
    assert_code(f.store.apply_one(t, set(true)).await, "object_deleted");
}

/// `ReleaseUpn`: a soft-deleted user gives its name up (Entra's form: its id, then the
/// name), another user takes it, and a restore takes it back only once it is free again.
pub async fn release_upn_frees_the_name_until_restore(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let ann = f.store.create_user(t, new_user("Ann@contoso.example")).await.unwrap();
    assert_code(f.store.apply_one(t, WriteOp::ReleaseUpn { id: ann.id }).await, "not_deleted");
    f.store.apply_one(t, WriteOp::SoftDeleteUser { id: ann.id, if_match: None }).await.unwrap();
    let h = head(&f, t).await;
    let released = f.store.apply_one(t, WriteOp::ReleaseUpn { id: ann.id }).await.unwrap().into_user().unwrap();
    let freed = format!("{}Ann@contoso.example", ann.id.as_uuid().simple());
    assert_eq!(released.attrs.user_principal_name.as_str(), freed);
    assert!(released.is_deleted());
    let change = Ch::user(ChangeOp::Update, ann.id).attr("userPrincipalName", text("Ann@contoso.example"), text(&freed));
    assert_changes(&changes_after(&f, t, h).await, &[change]);
    let again = f.store.apply_one(t, WriteOp::ReleaseUpn { id: ann.id }).await.unwrap().into_user().unwrap();
    assert_eq!(again, released, "a name given up once stays as it is");
    let taker = f.store.create_user(t, new_user("ann@contoso.example")).await.unwrap();
    assert_eq!(f.store.find_user_by_upn(t, &upn("ANN@contoso.example")).await.unwrap(), Some(taker.clone()));
    let before = snapshot(&f, t).await;
    assert_code(f.store.apply_one(t, WriteOp::RestoreUser { id: ann.id, if_match: None }).await, "upn_conflict");
    assert_unchanged(&f, t, &before, "a restore onto a taken name").await;
    f.store.apply_one(t, WriteOp::HardDeleteUser { id: taker.id, if_match: None }).await.unwrap();
    let back = f.store.apply_one(t, WriteOp::RestoreUser { id: ann.id, if_match: None }).await.unwrap().into_user().unwrap();
    assert_eq!((back.attrs.user_principal_name.as_str(), back.is_deleted()), ("Ann@contoso.example", false));
    assert_code(f.store.apply_one(t, WriteOp::ReleaseUpn { id: ObjectId::new() }).await, "not_found");
    assert_counts(&f, t, "after release and restore").await;
}

/// `SetBareName`: kept per user, read for many users at once, cleared, refused for
/// deleted users, gone with a hard delete; no change in the feed.
pub async fn bare_names_are_kept_until_the_user_goes(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let other = tenant(&f, "fabrikam.example").await.id;
    let a = f.store.create_user(t, new_user("a@contoso.example")).await.unwrap().id;
    let b = f.store.create_user(t, new_user("b@contoso.example")).await.unwrap().id;
    let c = f.store.create_user(t, new_user("c@contoso.example")).await.unwrap().id;
    let h = head(&f, t).await;
    let set = |id, bare| WriteOp::SetBareName { id, bare };
    f.store.apply(t, vec![set(a, true), set(b, true), set(b, true)], BatchMode::Atomic).await.unwrap();
    let sorted = |mut v: Vec<ObjectId>| {
        v.sort();
        v
    };
    assert_eq!(sorted(f.store.bare_names(t, &[a, b, c]).await.unwrap()), sorted(vec![a, b]));
    assert_eq!(f.store.bare_names(t, &[c]).await.unwrap(), Vec::<ObjectId>::new());
    assert_eq!(f.store.bare_names(other, &[a, b]).await.unwrap(), Vec::<ObjectId>::new(), "per tenant");
    assert_eq!(f.store.bare_names(t, &[]).await.unwrap(), Vec::<ObjectId>::new());
    f.store.apply_one(t, set(b, false)).await.unwrap();
    assert_eq!(f.store.bare_names(t, &[a, b]).await.unwrap(), vec![a]);
    assert_eq!(f.store.get_user(t, a).await.unwrap().version.0, 1, "no new version");
    assert_eq!(changes_after(&f, t, h).await, Vec::new(), "no change in the feed");
    assert_code(f.store.apply_one(t, set(ObjectId::new(), true)).await, "not_found");
    f.store.apply_one(t, WriteOp::SoftDeleteUser { id: c, if_match: None }).await.unwrap();
    assert_code(f.store.apply_one(t, set(c, true)).await, "object_deleted");
    f.store.apply_one(t, WriteOp::HardDeleteUser { id: a, if_match: None }).await.unwrap();
    assert_eq!(f.store.bare_names(t, &[a]).await.unwrap(), Vec::<ObjectId>::new(), "gone with the user");
}
