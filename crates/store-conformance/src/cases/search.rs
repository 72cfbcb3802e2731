//! `search_users`: the console's search by the start of the display name or the
//! userPrincipalName, ignoring ASCII case, paged in the order of the two indexes it reads
//! (display-name matches by display name, then userPrincipalName-only matches by
//! userPrincipalName; ties by id), each user once, with a cursor that stays put when
//! users come or go before it; a page passes over at most so many users of the first
//! part in the second.
use crate::Fixture;
use crate::support::*;
use tenantsync_domain::{ObjectId, TenantId, User};
use tenantsync_store::{SearchCursor, SearchPage, UserSearch, WriteOp};

fn search(text: &str, after: Option<SearchCursor>, limit: u32) -> UserSearch {
    UserSearch { text: text.to_owned(), display_name: true, after, limit, pass_over: UserSearch::PASS_OVER }
}

/// A user named `name` (no display name when `None`) signing in as `upn`.
async fn person(f: &Fixture, t: TenantId, upn_: &str, name: Option<&str>) -> ObjectId {
    let mut u = new_user(upn_);
    u.attrs.display_name = name.map(str::to_owned);
    f.store.create_user(t, u).await.unwrap().id
}

/// Every page of `s` from the beginning, `limit` a page: the users' upns page by page.
async fn walk(f: &Fixture, t: TenantId, mut s: UserSearch) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    loop {
        let page: SearchPage = f.store.search_users(t, &s).await.unwrap();
        assert!(page.items.len() <= s.limit as usize);
        pages.push(page.items.iter().map(upn_of).collect());
        match page.next {
            Some(c) => s.after = Some(c),
            None => return pages,
        }
        assert!(pages.len() < 100, "a walk that does not end");
    }
}

fn upn_of(u: &User) -> String {
    u.attrs.user_principal_name.to_string()
}

/// A small directory with matches of every kind for "ada".
async fn directory(f: &Fixture) -> TenantId {
    let t = tenant(f, "contoso.example").await.id;
    // By display name only (the sign-in names do not start with "ada").
    person(f, t, "lovelace@contoso.example", Some("Ada Lovelace")).await;
    person(f, t, "byron@contoso.example", Some("ADA Byron")).await;
    person(f, t, "adams@contoso.example", Some("adam Smith")).await;
    // By userPrincipalName only.
    person(f, t, "ada.king@contoso.example", Some("Countess of Lovelace")).await;
    person(f, t, "ADAL@contoso.example", None).await;
    // By both: found once, among the display names.
    person(f, t, "ada.both@contoso.example", Some("Ada Both")).await;
    // Neither; and a match of another tenant, and a soft-deleted one.
    person(f, t, "grace@contoso.example", Some("Grace Hopper")).await;
    let other = tenant(f, "fabrikam.example").await.id;
    person(f, other, "ada@fabrikam.example", Some("Ada Elsewhere")).await;
    let gone = person(f, t, "ada.gone@contoso.example", Some("Ada Gone")).await;
    f.store.apply_one(t, WriteOp::SoftDeleteUser { id: gone, if_match: None }).await.unwrap();
    t
}

/// The order: display-name matches by display name folded (ties by id), then the
/// userPrincipalName-only ones by userPrincipalName folded; each user once; only live
/// users of the tenant.
pub async fn a_search_pages_the_name_matches_then_the_upn_only_ones(f: Fixture) {
    let t = directory(&f).await;
    let all: Vec<String> = walk(&f, t, search("aDa", None, 100)).await.concat();
    assert_eq!(
        all,
        [
            "ada.both@contoso.example", // Ada Both
            "byron@contoso.example",    // ADA Byron
            "lovelace@contoso.example", // Ada Lovelace
            "adams@contoso.example",    // adam Smith ("ada " comes before "adam")
            "ada.king@contoso.example",
            "ADAL@contoso.example",
        ]
    );
    // Every page size walks the same order, each user once, across the two parts.
    for limit in 1..=7 {
        let pages = walk(&f, t, search("ada", None, limit)).await;
        assert_eq!(pages.concat(), all, "pages of {limit}");
        assert!(pages.iter().rev().skip(1).all(|p| p.len() == limit as usize), "only the last page is short: {pages:?}");
    }
    // Only by name, only by userPrincipalName, no one.
    assert_eq!(walk(&f, t, search("grace h", None, 10)).await.concat(), ["grace@contoso.example"]);
    assert_eq!(walk(&f, t, search("ADA.K", None, 10)).await.concat(), ["ada.king@contoso.example"]);
    assert_eq!(walk(&f, t, search("nobody", None, 10)).await, [Vec::<String>::new()]);
    // The userPrincipalName alone (a text with an `@`, as the console asks).
    let upn_only = UserSearch { display_name: false, ..search("ADA", None, 10) };
    let want = ["ada.both@contoso.example", "ada.king@contoso.example", "ADAL@contoso.example", "adams@contoso.example"];
    assert_eq!(walk(&f, t, upn_only).await.concat(), want);
    // Wildcards of LIKE and GLOB are text.
    person(&f, t, "pct@contoso.example", Some("50% off")).await;
    assert_eq!(walk(&f, t, search("50%", None, 10)).await.concat(), ["pct@contoso.example"]);
    assert_eq!(walk(&f, t, search("5_", None, 10)).await, [Vec::<String>::new()]);
    assert_code(f.store.search_users(TenantId::new(), &search("ada", None, 10)).await, "tenant_not_found");
}

/// A cursor is a position, not an offset: users created or deleted before it move
/// nothing after it, in either part.
pub async fn a_search_cursor_stays_put_when_users_come_and_go(f: Fixture) {
    let t = directory(&f).await;
    let all: Vec<String> = walk(&f, t, search("ada", None, 100)).await.concat();
    for split in 1..all.len() {
        let first = f.store.search_users(t, &search("ada", None, split as u32)).await.unwrap();
        let cursor = first.next.clone().unwrap();
        assert_eq!(cursor.by_upn, split > 4, "after {split} the cursor is in the userPrincipalName part");
        // Before the cursor: a new name match (and, with the cursor among the
        // userPrincipalNames, a new match by userPrincipalName alone); the first user goes.
        let mut before = vec![person(&f, t, &format!("aaa{split}@contoso.example"), Some("Ada Aaa")).await];
        if cursor.by_upn {
            before.push(person(&f, t, &format!("ada.a{split}@contoso.example"), Some("Zed")).await);
        }
        f.store.apply_one(t, WriteOp::SoftDeleteUser { id: first.items[0].id, if_match: None }).await.unwrap();
        let rest: Vec<String> = walk(&f, t, search("ada", Some(cursor), 100)).await.concat();
        assert_eq!(rest, all[split..], "after {split}");
        for id in before {
            f.store.apply_one(t, WriteOp::HardDeleteUser { id, if_match: None }).await.unwrap();
        }
        f.store.apply_one(t, WriteOp::RestoreUser { id: first.items[0].id, if_match: None }).await.unwrap();
    }
}

/// Many users of one name: ties are ordered by id and pages split them without loss.
pub async fn a_search_splits_ties_by_id(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    let mut ids = Vec::new();
    for i in 0..9 {
        ids.push(person(&f, t, &format!("u{i}@contoso.example"), Some(if i % 2 == 0 { "Ada" } else { "ADA" })).await);
    }
    ids.sort();
    let mut s = search("ada", None, 4);
    let mut seen = Vec::new();
    loop {
        let page = f.store.search_users(t, &s).await.unwrap();
        seen.extend(page.items.iter().map(|u| u.id));
        match page.next {
            Some(c) => s.after = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, ids);
}

/// Users who match by name and by userPrincipalName are passed over in the second part,
/// at most `pass_over` a page: a page that reaches that many ends there, short (even
/// empty), with a cursor, and the walk goes on to every userPrincipalName-only match.
pub async fn a_search_page_passes_over_so_many_name_matches_at_most(f: Fixture) {
    let t = tenant(&f, "contoso.example").await.id;
    // Sign-in names made of the names, as a directory's are: all match both ways …
    for i in 0..7 {
        person(&f, t, &format!("ada.n{i}@contoso.example"), Some(&format!("Ada N{i}"))).await;
    }
    // … but two, found by their userPrincipalName alone, amid them in its order.
    person(&f, t, "ada.n3x@contoso.example", Some("Countess")).await;
    person(&f, t, "ada.z@contoso.example", None).await;
    let s = UserSearch { pass_over: 2, ..search("ada", None, 3) };
    let pages = walk(&f, t, s.clone()).await;
    let upn_only = ["ada.n3x@contoso.example", "ada.z@contoso.example"];
    assert_eq!(pages.concat().len(), 9);
    assert_eq!(pages.concat()[7..], upn_only);
    assert!(pages.iter().any(|p| p.len() < 3 && !std::ptr::eq(p, pages.last().unwrap())), "a short page that is not the last: {pages:?}");
    // With room to pass over them all, the pages are full but the last.
    let pages = walk(&f, t, UserSearch { pass_over: 100, ..s }).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [3, 3, 3]);
    assert_eq!(pages.concat()[7..], upn_only);
}
