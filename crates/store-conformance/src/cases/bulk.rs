//! Bulk import of users: whole-import and unit-by-unit commits, rejected rows, manager
//! references, abort.
use crate::Fixture;
use crate::support::*;
use tenantsync_domain::{ChangeCursor, ChangeOp, NewUser, ObjectId, TenantId, UserRef};
use tenantsync_store::{BulkOptions, BulkSummary, CommitNotice, Visibility};

const WHOLE: BulkOptions = BulkOptions { commit_every: None };

fn rows(prefix: &str, tags: std::ops::RangeInclusive<u64>) -> Vec<(u64, NewUser)> {
    tags.map(|i| (i, new_user(&format!("{prefix}{i}@contoso.example")))).collect()
}

async fn import(f: &Fixture, t: TenantId, options: BulkOptions, pushes: Vec<Vec<(u64, NewUser)>>) -> BulkSummary {
    let mut imp = f.store.bulk_import_users(t, options).await.unwrap();
    for p in pushes {
        imp.push(p).await.unwrap();
    }
    within("finishing an import", imp.finish()).await.unwrap()
}

/// The rejected rows as (tag, error code), in tag order.
fn rejected(s: &BulkSummary) -> Vec<(u64, &'static str)> {
    let mut v: Vec<(u64, &'static str)> = s.rejected.iter().map(|r| (r.tag, r.error.code())).collect();
    v.sort();
    v
}

/// Checks that the tenant holds exactly `users` (by id) and that the feed after `h` is
/// one create change for each of `created`.
async fn assert_written(f: &Fixture, t: TenantId, h: ChangeCursor, users: &[ObjectId], created: &[ObjectId]) {
    let mut want = users.to_vec();
    want.sort();
    assert_eq!(ids_of_users(&all_users(f, t, Visibility::All).await), want, "users in the tenant");
    let changes = changes_after(f, t, h).await;
    let expected: Vec<Ch> = created.iter().map(|&id| Ch::user(ChangeOp::Create, id)).collect();
    assert_changes_any_order(&changes, &expected);
}

pub async fn whole_import_commits_all_good_rows(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let existing = f.store.create_user(t, new_user("existing@contoso.example")).await.unwrap();
    let h = head(&f, t).await;
    let mut r = rows("u", 1..=5);
    r[2].1 = full_user("full@contoso.example");
    r[3].1.anchor = Some(anchor());
    let ids: Vec<ObjectId> = r.iter().map(|(_, u)| u.id).collect();
    let news: Vec<NewUser> = r.iter().map(|(_, u)| u.clone()).collect();
    let s = import(&f, t, WHOLE, vec![r[..2].to_vec(), r[2..].to_vec()]).await;
    assert_eq!(s, BulkSummary { committed: 5, rejected_count: 0, rejected: vec![], rolled_back: 0, last_committed_tag: Some(5) });
    let mut all = ids.clone();
    all.push(existing.id);
    assert_written(&f, t, h, &all, &ids).await;
    for n in news {
        let u = f.store.get_user(t, n.id).await.unwrap();
        assert_eq!(u.attrs, n.attrs, "imported attributes are stored as given");
        assert_eq!(u.anchor, n.anchor);
        assert_eq!(u.version, tenantsync_domain::Version::FIRST);
    }
    assert_eq!(f.store.count_users(t, Visibility::Active).await.unwrap(), 6);
}

async fn whole_import_with_one_bad_row(f: &Fixture, t: TenantId, bad: NewUser, code: &str) {
    let before = snapshot(f, t).await;
    let mut r = rows("u", 1..=5);
    r[2].1 = bad;
    let s = import(f, t, WHOLE, vec![r[..3].to_vec(), r[3..].to_vec()]).await;
    assert_eq!(s.committed, 0, "{s:?}");
    assert_eq!(s.rejected_count, 1, "{s:?}");
    assert_eq!(rejected(&s), vec![(3, code)], "{s:?}");
    assert_eq!(s.rolled_back, 4, "the four good rows were valid but not committed: {s:?}");
    assert_eq!(s.last_committed_tag, None);
    assert_unchanged(f, t, &before, "an import with a rejected row").await;
}

pub async fn whole_import_with_upn_of_existing_user_writes_nothing(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    f.store.create_user(t, new_user("taken@contoso.example")).await.unwrap();
    whole_import_with_one_bad_row(&f, t, new_user("TAKEN@contoso.example"), "upn_conflict").await;
}

pub async fn whole_import_with_duplicate_inside_import_writes_nothing(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    // Row 3 repeats row 1's UPN in another case.
    whole_import_with_one_bad_row(&f, t, new_user("U1@CONTOSO.example"), "upn_conflict").await;
}

pub async fn whole_import_with_unknown_manager_writes_nothing(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let mut bad = new_user("orphan@contoso.example");
    bad.manager = Some(UserRef::Upn(upn("nobody@contoso.example")));
    whole_import_with_one_bad_row(&f, t, bad, "unknown_manager").await;
    let mut bad = new_user("orphan@contoso.example");
    bad.manager = Some(UserRef::Id(ObjectId::new()));
    whole_import_with_one_bad_row(&f, t, bad, "unknown_manager").await;
}

pub async fn whole_import_reports_every_rejected_row(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    f.store.create_user(t, new_user("taken@contoso.example")).await.unwrap();
    let before = snapshot(&f, t).await;
    let anc = anchor();
    let mut r = rows("u", 1..=7);
    r[1].1 = new_user("Taken@contoso.example");
    r[2].1.anchor = Some(anc);
    r[3].1.manager = Some(UserRef::Id(ObjectId::new()));
    r[4].1 = new_user("u1@Contoso.Example");
    r[5].1.anchor = Some(anc);
    let s = import(&f, t, WHOLE, vec![r]).await;
    assert_eq!(rejected(&s), vec![(2, "upn_conflict"), (4, "unknown_manager"), (5, "upn_conflict"), (6, "anchor_conflict")], "{s:?}");
    assert_eq!(s.rejected_count, 4);
    assert_eq!(s.committed, 0);
    assert_eq!(s.rolled_back, 3, "rows 1, 3 and 7 were valid: {s:?}");
    assert_eq!(s.last_committed_tag, None);
    assert_unchanged(&f, t, &before, "an import with rejected rows").await;
}

pub async fn forward_manager_references_resolve(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let boss = f.store.create_user(t, new_user("boss@contoso.example")).await.unwrap();
    let h = head(&f, t).await;
    let mut r = rows("u", 1..=4);
    let (id1, id3) = (r[0].1.id, r[2].1.id);
    r[0].1.manager = Some(UserRef::Upn(upn("U3@CONTOSO.EXAMPLE"))); // forward, by UPN, in a later push
    r[1].1.manager = Some(UserRef::Id(id3)); // forward, by id, in a later push
    r[2].1.manager = Some(UserRef::Upn(upn("boss@contoso.example"))); // an existing user
    r[3].1.manager = Some(UserRef::Id(id1)); // backward
    let ids: Vec<ObjectId> = r.iter().map(|(_, u)| u.id).collect();
    let s = import(&f, t, WHOLE, vec![r[..2].to_vec(), r[2..].to_vec()]).await;
    assert_eq!(s, BulkSummary { committed: 4, rejected_count: 0, rejected: vec![], rolled_back: 0, last_committed_tag: Some(4) });
    let manager = |id| {
        let store = f.store.clone();
        async move { store.get_user(t, id).await.unwrap().attrs.manager }
    };
    assert_eq!(manager(ids[0]).await, Some(id3));
    assert_eq!(manager(ids[1]).await, Some(id3));
    assert_eq!(manager(ids[2]).await, Some(boss.id));
    assert_eq!(manager(ids[3]).await, Some(id1));
    let mut all = ids.clone();
    all.push(boss.id);
    assert_written(&f, t, h, &all, &ids).await;
}

pub async fn abort_writes_nothing(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    f.store.create_user(t, new_user("taken@contoso.example")).await.unwrap();
    let before = snapshot(&f, t).await;
    let mut imp = f.store.bulk_import_users(t, WHOLE).await.unwrap();
    imp.push(rows("u", 1..=4)).await.unwrap();
    let s = within("aborting an import", imp.abort()).await.unwrap();
    assert_eq!(s.committed, 0, "{s:?}");
    assert_eq!(s.rejected_count, 0, "{s:?}");
    assert_eq!(s.last_committed_tag, None);
    assert_unchanged(&f, t, &before, "an aborted import").await;

    // Abort reports what the store rejected so far.
    let mut imp = f.store.bulk_import_users(t, WHOLE).await.unwrap();
    let mut r = rows("v", 1..=3);
    r[1].1 = new_user("taken@contoso.example");
    imp.push(r).await.unwrap();
    let s = within("aborting an import", imp.abort()).await.unwrap();
    assert_eq!(s.committed, 0);
    assert_eq!(rejected(&s), vec![(2, "upn_conflict")], "{s:?}");
    assert_eq!(s.rejected_count, 1);
    assert_unchanged(&f, t, &before, "an aborted import").await;
    // The store is usable afterwards.
    f.store.create_user(t, new_user("u1@contoso.example")).await.unwrap();
}

pub async fn drop_without_finish_writes_nothing(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let before = snapshot(&f, t).await;
    let mut imp = f.store.bulk_import_users(t, WHOLE).await.unwrap();
    imp.push(rows("u", 1..=4)).await.unwrap();
    drop(imp);
    // The store must not stay blocked by the abandoned import.
    let n = within("a write after dropping an import", f.store.create_user(t, new_user("u2@contoso.example"))).await.unwrap();
    assert_eq!(ids_of_users(&all_users(&f, t, Visibility::All).await), vec![n.id], "the dropped import left nothing");
    assert_changes(&changes_after(&f, t, before.head).await, &[Ch::user(ChangeOp::Create, n.id)]);
}

pub async fn empty_import_commits_nothing(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let before = snapshot(&f, t).await;
    for options in [WHOLE, BulkOptions { commit_every: Some(10) }] {
        let s = import(&f, t, options, vec![]).await;
        assert_eq!(s, BulkSummary::default(), "{options:?}");
        let s = import(&f, t, options, vec![vec![]]).await;
        assert_eq!(s, BulkSummary::default(), "{options:?}");
    }
    assert_unchanged(&f, t, &before, "an empty import").await;
}

pub async fn commit_every_stops_at_the_first_failing_unit(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let existing = f.store.create_user(t, new_user("taken@contoso.example")).await.unwrap();
    let h = head(&f, t).await;
    // Units of 3: [1 2 3] [4 5 6] [7]; row 5 is bad.
    let mut r = rows("u", 1..=7);
    r[4].1 = new_user("TAKEN@contoso.example");
    let ids: Vec<ObjectId> = r.iter().map(|(_, u)| u.id).collect();
    let mut imp = f.store.bulk_import_users(t, BulkOptions { commit_every: Some(3) }).await.unwrap();
    for chunk in r.chunks(2) {
        // A rejected row is not a storage failure: push goes on returning Ok.
        imp.push(chunk.to_vec()).await.unwrap();
    }
    let s = within("finishing an import", imp.finish()).await.unwrap();
    assert_eq!(s.committed, 3, "{s:?}");
    assert_eq!(s.last_committed_tag, Some(3), "{s:?}");
    assert_eq!(rejected(&s), vec![(5, "upn_conflict")], "{s:?}");
    assert_eq!(s.rejected_count, 1);
    assert_eq!(s.rolled_back, 2, "rows 4 and 6 were valid but in the failing unit: {s:?}");
    assert_written(&f, t, h, &[existing.id, ids[0], ids[1], ids[2]], &ids[..3]).await;
}

pub async fn commit_every_commits_all_units_across_uneven_pushes(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let r = rows("u", 1..=8);
    let ids: Vec<ObjectId> = r.iter().map(|(_, u)| u.id).collect();
    let mut imp = f.store.bulk_import_users(t, BulkOptions { commit_every: Some(3) }).await.unwrap();
    imp.push(r[..1].to_vec()).await.unwrap();
    imp.push(r[1..5].to_vec()).await.unwrap();
    imp.push(r[5..].to_vec()).await.unwrap();
    let s = within("finishing an import", imp.finish()).await.unwrap();
    assert_eq!(s, BulkSummary { committed: 8, rejected_count: 0, rejected: vec![], rolled_back: 0, last_committed_tag: Some(8) });
    assert_written(&f, t, ChangeCursor::START, &ids, &ids).await;
    assert_eq!(head(&f, t).await, ChangeCursor(8));
}

pub async fn commit_every_abort_keeps_committed_units(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let r = rows("u", 1..=5);
    let ids: Vec<ObjectId> = r.iter().map(|(_, u)| u.id).collect();
    let mut imp = f.store.bulk_import_users(t, BulkOptions { commit_every: Some(2) }).await.unwrap();
    imp.push(r).await.unwrap();
    let s = within("aborting an import", imp.abort()).await.unwrap();
    // Whether full units are committed as soon as they are pushed is up to the store;
    // what the summary says is committed must be exactly what is in the tenant.
    assert!(s.committed == 0 || s.committed == 2 || s.committed == 4, "only whole units commit: {s:?}");
    let n = s.committed as usize;
    assert_eq!(s.last_committed_tag, if n == 0 { None } else { Some(n as u64) }, "{s:?}");
    assert_eq!(s.rejected_count, 0);
    assert_written(&f, t, ChangeCursor::START, &ids[..n], &ids[..n]).await;
}

pub async fn import_notifies_subscribers(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    f.store.create_user(t, new_user("existing@contoso.example")).await.unwrap();
    let mut rx = f.store.subscribe();
    let s = import(&f, t, WHOLE, vec![rows("u", 1..=3)]).await;
    assert_eq!(s.committed, 3);
    let n = within("a commit notice after an import", rx.recv()).await.unwrap();
    assert_eq!(n, CommitNotice { tenant_id: t, head: ChangeCursor(4) }, "one commit for a whole import");

    // Unit by unit: the last notice carries the final head.
    let s = import(&f, t, BulkOptions { commit_every: Some(2) }, vec![rows("v", 1..=4)]).await;
    assert_eq!(s.committed, 4);
    let mut last = None;
    while last != Some(ChangeCursor(8)) {
        let n = within("commit notices after a unit-by-unit import", rx.recv()).await.unwrap();
        assert_eq!(n.tenant_id, t);
        assert!(n.head > ChangeCursor(4) && n.head <= ChangeCursor(8), "{n:?}");
        assert!(last.is_none_or(|l| n.head > l), "notices in commit order: {n:?} after {last:?}");
        last = Some(n.head);
    }
}

pub async fn rejections_beyond_the_first_thousand_are_counted(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    f.store.create_user(t, new_user("taken@contoso.example")).await.unwrap();
    let before = snapshot(&f, t).await;
    let mut r: Vec<(u64, NewUser)> = (1..=1005).map(|i| (i, new_user("taken@contoso.example"))).collect();
    r.push((1006, new_user("fine@contoso.example")));
    let s = import(&f, t, WHOLE, vec![r]).await;
    assert_eq!(s.rejected_count, 1005);
    assert_eq!(s.rejected.len(), BulkSummary::MAX_KEPT_REJECTIONS);
    assert_eq!(s.rejected.iter().map(|r| r.tag).collect::<Vec<_>>(), (1..=1000).collect::<Vec<_>>(), "the first 1,000 are kept");
    assert!(s.rejected.iter().all(|r| r.error.code() == "upn_conflict"));
    assert_eq!(s.committed, 0);
    assert_eq!(s.rolled_back, 1);
    assert_unchanged(&f, t, &before, "an import with rejected rows").await;
}

pub async fn self_manager_row_is_rejected(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let before = snapshot(&f, t).await;
    let mut r = rows("u", 1..=3);
    r[0].1.manager = Some(UserRef::Id(r[0].1.id));
    r[2].1.manager = Some(UserRef::Upn(upn("U3@contoso.example")));
    let s = import(&f, t, WHOLE, vec![r]).await;
    assert_eq!(rejected(&s), vec![(1, "self_manager"), (3, "self_manager")], "{s:?}");
    assert_eq!(s.committed, 0);
    assert_eq!(s.rolled_back, 1, "row 2 was valid: {s:?}");
    assert_unchanged(&f, t, &before, "an import with rejected rows").await;
}

pub async fn large_import_commits_every_row(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    tick(&f, 3600);
    let r = rows("u", 1..=2500);
    let ids: Vec<ObjectId> = r.iter().map(|(_, u)| u.id).collect();
    let s = import(&f, t, BulkOptions { commit_every: Some(1000) }, r.chunks(300).map(<[_]>::to_vec).collect()).await;
    assert_eq!(s, BulkSummary { committed: 2500, rejected_count: 0, rejected: vec![], rolled_back: 0, last_committed_tag: Some(2500) });
    assert_eq!(f.store.count_users(t, Visibility::All).await.unwrap(), 2500);
    let changes = changes_after(&f, t, ChangeCursor::START).await;
    assert_eq!(changes.len(), 2500);
    assert_changes_at_now(&f, &changes);
    let mut created: Vec<ObjectId> = changes.iter().map(|c| c.object_id).collect();
    created.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(created, want, "one create change per imported user");
    assert!(changes.iter().all(|c| c.op == ChangeOp::Create));
    let u = f.store.get_user(t, ids[1234]).await.unwrap();
    assert_eq!(u.created_date_time, tenantsync_domain::Clock::now(&*f.clock));
    assert_eq!(u.last_modified_date_time, u.created_date_time);
}

pub async fn writes_during_an_import_are_serialized(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let r = rows("u", 1..=20);
    let ids: Vec<ObjectId> = r.iter().map(|(_, u)| u.id).collect();
    let mut imp = f.store.bulk_import_users(t, WHOLE).await.unwrap();
    imp.push(r[..10].to_vec()).await.unwrap();
    // Another writer while the import is open: it may wait for the import, but both
    // must complete once the import finishes.
    let store = f.store.clone();
    let other = tokio::spawn(async move { store.create_user(t, new_user("other@contoso.example")).await });
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    imp.push(r[10..].to_vec()).await.unwrap();
    let s = within("finishing an import while another write waits", imp.finish()).await.unwrap();
    assert_eq!(s.committed, 20);
    let o = within("a write made during an import", other).await.unwrap().unwrap();
    let mut all = ids.clone();
    all.push(o.id);
    assert_written(&f, t, ChangeCursor::START, &all, &all).await;
}

pub async fn concurrent_imports_both_complete(f: Fixture) {
    let a = tenant(&f, "contoso.example").await.id;
    let b = tenant(&f, "fabrikam.example").await.id;
    let mut handles = Vec::new();
    for (t, prefix) in [(a, "a"), (b, "b"), (a, "c")] {
        let store = f.store.clone();
        handles.push(tokio::spawn(async move {
            let mut imp = store.bulk_import_users(t, BulkOptions { commit_every: Some(7) }).await.unwrap();
            let r = rows(prefix, 1..=30);
            for chunk in r.chunks(4) {
                imp.push(chunk.to_vec()).await.unwrap();
                tokio::task::yield_now().await;
            }
            imp.finish().await.unwrap()
        }));
    }
    for h in handles {
        let s = within("concurrent imports", h).await.unwrap();
        assert_eq!((s.committed, s.rejected_count, s.last_committed_tag), (30, 0, Some(30)), "{s:?}");
    }
    assert_eq!(changes_after(&f, a, ChangeCursor::START).await.len(), 60);
    assert_eq!(changes_after(&f, b, ChangeCursor::START).await.len(), 30);
    assert_eq!(f.store.count_users(a, Visibility::All).await.unwrap(), 60);
}
