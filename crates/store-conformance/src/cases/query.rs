//! Queries: a table of filters against a fixed data set, sorting, paging, counting,
//! groups by membership, and refusal of fields of the other object kind.
use crate::Fixture;
use crate::support::*;
use tenantsync_domain::{GroupAttribute as G, ObjectId, TenantId, User, UserAttribute as U, UserRef, UserType};
use tenantsync_store::{CompareOp as Op, Field, Filter, FilterValue as V, ObjectQuery, Seek, SortKey, WriteOp};

struct Data {
    t: TenantId,
    alice: ObjectId,
    carol: ObjectId,
    erin: ObjectId,
    g_sales: ObjectId,
    g_empty: ObjectId,
}

/// alice, bob, carol, dave live in contoso; erin is soft-deleted; another tenant holds
/// its own alice (never visible from contoso).
async fn data(f: &Fixture) -> Data {
    let t = tenant(f, "contoso.example").await.id;
    let other = tenant(f, "fabrikam.example").await.id;
    f.store.create_user(other, new_user("alice@contoso.example")).await.unwrap();

    let mut a = new_user("alice@contoso.example");
    a.attrs.display_name = Some("Alice Adams".into());
    a.attrs.given_name = Some("Alice".into());
    a.attrs.surname = Some("Adams".into());
    a.attrs.mail = Some(mail("alice@contoso.example"));
    a.attrs.department = Some("Sales".into());
    a.attrs.external_id = Some("A-1".into());
    a.attrs.city = Some("Oslo".into());
    let alice = f.store.create_user(t, a).await.unwrap().id;
    tick(f, 10);

    let mut b = new_user("bob@contoso.example");
    b.attrs.display_name = Some("Bob Brown".into());
    b.attrs.department = Some("sales".into());
    b.attrs.external_id = Some("a-1".into());
    b.attrs.account_enabled = false;
    b.attrs.user_type = UserType::Guest;
    f.store.create_user(t, b).await.unwrap();
    tick(f, 10);

    let mut c = new_user("carol@contoso.example");
    c.attrs.display_name = Some("Carol_Cruz 100%".into());
    c.manager = Some(UserRef::Id(alice));
    let carol = f.store.create_user(t, c).await.unwrap().id;
    tick(f, 10);

    let mut d = new_user("dave@fabrikam.example");
    d.attrs.display_name = Some("dave".into());
    d.attrs.job_title = Some("Engineer".into());
    f.store.create_user(t, d).await.unwrap();
    tick(f, 10);

    let erin = f.store.create_user(t, new_user("erin@contoso.example")).await.unwrap().id;

    let mut gs = new_group("Sales");
    gs.attrs.external_id = Some("G-1".into());
    let g_sales = f.store.create_group(t, gs).await.unwrap().id;
    let g_empty = f.store.create_group(t, new_group("empty")).await.unwrap().id;
    for u in [alice, carol, erin] {
        f.store.apply_one(t, WriteOp::AddMember { group: g_sales, user: u, if_match: None }).await.unwrap();
    }
    // erin stays a member row, but deleted users never count.
    f.store.apply_one(t, WriteOp::SoftDeleteUser { id: erin, if_match: None }).await.unwrap();
    Data { t, alice, carol, erin, g_sales, g_empty }
}

fn linked(via: Field, filter: Filter) -> Filter {
    Filter::Linked { via, filter: Box::new(filter) }
}

fn text(s: &str) -> V {
    V::Text(s.into())
}

fn upns(users: &[User]) -> Vec<String> {
    users.iter().map(|u| u.attrs.user_principal_name.local_part().to_owned()).collect()
}

async fn run(f: &Fixture, t: TenantId, filter: Filter) -> Vec<String> {
    let q = ObjectQuery { filter: Some(filter.clone()), sort: None, offset: 0, limit: 100, seek: None };
    let page = f.store.query_users(t, &q).await.unwrap_or_else(|e| panic!("{filter:?}: {e}"));
    assert_eq!(page.total, Some(page.items.len() as u64), "{filter:?}: total must count every match");
    upns(&page.items)
}

pub async fn filter_table(f: Fixture) {
    let d = data(&f).await;
    let upn = Field::User(U::UserPrincipalName);
    let dept = Field::User(U::Department);
    let ext = Field::User(U::ExternalId);
    let dn = Field::User(U::DisplayName);
    let cases: Vec<(Filter, &[&str])> = vec![
        (Filter::Const(true), &["alice", "bob", "carol", "dave"]),
        (Filter::Const(false), &[]),
        (Filter::folded(upn, Op::Eq, text("ALICE@contoso.example")), &["alice"]),
        (Filter::exact(upn, Op::Eq, text("ALICE@contoso.example")), &[]),
        (Filter::folded(upn, Op::Ne, text("alice@contoso.example")), &["bob", "carol", "dave"]),
        (Filter::folded(upn, Op::Sw, text("CA")), &["carol"]),
        // Users by their live groups' attributes.
        (linked(Field::MemberOf, Filter::folded(Field::Group(G::DisplayName), Op::Eq, text("SALES"))), &["alice", "carol"]),
        (linked(Field::MemberOf, Filter::folded(Field::Group(G::DisplayName), Op::Eq, text("empty"))), &[]),
        (
            linked(
                Field::MemberOf,
                Filter::And(vec![
                    Filter::folded(Field::Group(G::DisplayName), Op::Sw, text("s")),
                    Filter::exact(Field::Group(G::ExternalId), Op::Eq, text("G-1")),
                ]),
            ),
            &["alice", "carol"],
        ),
        (Filter::Not(Box::new(linked(Field::MemberOf, Filter::Const(true)))), &["bob", "dave"]),
        // A prefix is a range of the case-folded order: its ends, exactly.
        (Filter::folded(upn, Op::Sw, text("B")), &["bob"]),
        (Filter::folded(upn, Op::Sw, text("CAROL@CONTOSO.EXAMPLE")), &["carol"]),
        (Filter::folded(upn, Op::Sw, text("carol@contoso.examplf")), &[]),
        (Filter::folded(upn, Op::Sw, text("b@")), &[]),
        (Filter::folded(upn, Op::Sw, text("")), &["alice", "bob", "carol", "dave"]),
        (Filter::folded(upn, Op::Ew, text("@FABRIKAM.example")), &["dave"]),
        (Filter::folded(upn, Op::Co, text("CONTOSO")), &["alice", "bob", "carol"]),
        (Filter::folded(upn, Op::Gt, text("bob@contoso.example")), &["carol", "dave"]),
        (Filter::folded(upn, Op::Ge, text("bob@contoso.example")), &["bob", "carol", "dave"]),
        (Filter::folded(upn, Op::Lt, text("bob@contoso.example")), &["alice"]),
        (Filter::folded(upn, Op::Le, text("BOB@contoso.example")), &["alice", "bob"]),
        (Filter::folded(dept, Op::Eq, text("sales")), &["alice", "bob"]),
        (Filter::exact(dept, Op::Eq, text("sales")), &["bob"]),
        // Ne matches objects without the attribute; Eq never does.
        (Filter::folded(dept, Op::Ne, text("sales")), &["carol", "dave"]),
        (Filter::Not(Box::new(Filter::folded(dept, Op::Eq, text("sales")))), &["carol", "dave"]),
        (Filter::exact(ext, Op::Eq, text("A-1")), &["alice"]),
        (Filter::exact(ext, Op::Eq, text("a-1")), &["bob"]),
        (Filter::Present(ext), &["alice", "bob"]),
        (Filter::Not(Box::new(Filter::Present(ext))), &["carol", "dave"]),
        (Filter::Present(upn), &["alice", "bob", "carol", "dave"]),
        // Wildcards in values are literal.
        (Filter::folded(dn, Op::Co, text("_")), &["carol"]),
        (Filter::folded(dn, Op::Ew, text("100%")), &["carol"]),
        (Filter::exact(dn, Op::Co, text("%")), &["carol"]),
        (Filter::folded(dn, Op::Sw, text("%")), &[]),
        (Filter::exact(dn, Op::Sw, text("*")), &[]),
        (Filter::exact(dn, Op::Sw, text("alice")), &[]),
        (Filter::folded(dn, Op::Sw, text("alice")), &["alice"]),
        (Filter::exact(Field::User(U::AccountEnabled), Op::Eq, V::Bool(false)), &["bob"]),
        (Filter::exact(Field::User(U::AccountEnabled), Op::Ne, V::Bool(false)), &["alice", "carol", "dave"]),
        (Filter::folded(Field::User(U::UserType), Op::Eq, text("guest")), &["bob"]),
        (Filter::folded(Field::User(U::UserType), Op::Eq, text("robot")), &[]),
        (Filter::exact(Field::User(U::Manager), Op::Eq, V::Id(d.alice)), &["carol"]),
        (Filter::exact(Field::Id, Op::Eq, V::Id(d.carol)), &["carol"]),
        (Filter::exact(Field::Id, Op::Eq, V::Id(d.erin)), &[]),
        (Filter::exact(Field::Created, Op::Gt, V::Time(crate::start())), &["bob", "carol", "dave"]),
        (Filter::exact(Field::Created, Op::Le, V::Time(crate::start())), &["alice"]),
        (Filter::exact(Field::LastModified, Op::Ge, V::Time(crate::start())), &["alice", "bob", "carol", "dave"]),
        (Filter::And(vec![Filter::folded(dept, Op::Eq, text("SALES")), Filter::exact(Field::User(U::AccountEnabled), Op::Eq, V::Bool(true))]), &["alice"]),
        (Filter::Or(vec![Filter::folded(dn, Op::Eq, text("DAVE")), Filter::exact(ext, Op::Eq, text("a-1"))]), &["bob", "dave"]),
        (
            Filter::And(vec![
                Filter::Or(vec![Filter::folded(upn, Op::Sw, text("a")), Filter::folded(upn, Op::Sw, text("b"))]),
                Filter::Not(Box::new(Filter::exact(Field::User(U::UserType), Op::Eq, text("Guest")))),
            ]),
            &["alice"],
        ),
        (Filter::And(vec![]), &["alice", "bob", "carol", "dave"]),
        (Filter::Or(vec![]), &[]),
    ];
    for (filter, expected) in cases {
        let got = run(&f, d.t, filter.clone()).await;
        assert_eq!(got, expected.iter().map(|s| s.to_string()).collect::<Vec<_>>(), "filter {filter:?}");
    }
}

pub async fn sort_and_page_with_total(f: Fixture) {
    let d = data(&f).await;
    let by = |field, descending| Some(SortKey { field, descending, ignore_case: true });
    let q = |sort, offset, limit| ObjectQuery { filter: None, sort, offset, limit, seek: None };

    let p = f.store.query_users(d.t, &q(by(Field::User(U::DisplayName), false), 0, 10)).await.unwrap();
    assert_eq!(upns(&p.items), ["alice", "bob", "carol", "dave"], "case-insensitive ascending");
    let p = f.store.query_users(d.t, &q(by(Field::User(U::Department), false), 0, 10)).await.unwrap();
    assert_eq!(upns(&p.items), ["alice", "bob", "carol", "dave"], "absent values sort last, ties by id");
    let p = f.store.query_users(d.t, &q(by(Field::User(U::Department), true), 0, 10)).await.unwrap();
    assert_eq!(upns(&p.items), ["dave", "carol", "bob", "alice"], "descending reverses the whole order");

    let p = f.store.query_users(d.t, &q(by(Field::User(U::UserPrincipalName), true), 1, 2)).await.unwrap();
    assert_eq!((upns(&p.items), p.total), (vec!["carol".to_owned(), "bob".to_owned()], Some(4)));
    let p = f.store.query_users(d.t, &q(None, 3, 10)).await.unwrap();
    assert_eq!((upns(&p.items), p.total), (vec!["dave".to_owned()], Some(4)));
    let p = f.store.query_users(d.t, &q(None, 10, 10)).await.unwrap();
    assert_eq!((p.items.len(), p.total), (0, Some(4)), "past the end: empty page, same total");
    let p = f.store.query_users(d.t, &q(None, 0, 0)).await.unwrap();
    assert_eq!((p.items.len(), p.total), (0, Some(4)), "limit 0 only counts");
    let filtered = ObjectQuery {
        filter: Some(Filter::folded(Field::User(U::Department), Op::Eq, text("sales"))),
        sort: by(Field::User(U::UserPrincipalName), true),
        offset: 0,
        limit: 1,
        seek: None,
    };
    let p = f.store.query_users(d.t, &filtered).await.unwrap();
    assert_eq!((upns(&p.items), p.total), (vec!["bob".to_owned()], Some(2)));
}

/// Keyset pages, forward and backward, of every kind of sort key (none, non-nullable,
/// nullable with absent values, descending), with a filter, give exactly the offset
/// order; the positions say where the next and previous pages are.
pub async fn keyset_pages_walk_the_offset_order(f: Fixture) {
    let d = data(&f).await;
    let by = |field, descending| Some(SortKey { field, descending, ignore_case: true });
    let sorts = [
        None,
        by(Field::Id, true),
        by(Field::User(U::UserPrincipalName), false),
        by(Field::User(U::UserPrincipalName), true),
        by(Field::User(U::Department), false),
        by(Field::User(U::Department), true),
        by(Field::User(U::DisplayName), true),
        by(Field::Created, true),
        by(Field::User(U::AccountEnabled), false),
    ];
    for filter in [None, Some(Filter::folded(Field::User(U::UserPrincipalName), Op::Co, text("contoso")))] {
        for sort in sorts {
            let base = ObjectQuery { filter: filter.clone(), sort, offset: 0, limit: 100, seek: None };
            let all = upns(&f.store.query_users(d.t, &base).await.unwrap().items);
            // Forward, two at a time.
            let mut seen = Vec::new();
            let mut seek = Seek::First;
            let mut pages = Vec::new();
            loop {
                let p = f.store.query_users(d.t, &ObjectQuery { limit: 2, seek: Some(seek.clone()), ..base.clone() }).await.unwrap();
                assert_eq!(p.total, None, "keyset pages are not counted");
                assert_eq!(p.previous.is_some(), !pages.is_empty(), "{sort:?}: previous on every page but the first");
                seen.extend(upns(&p.items));
                pages.push((upns(&p.items), p.previous.clone()));
                match p.next {
                    Some(k) => seek = Seek::After(k),
                    None => break,
                }
            }
            assert_eq!(seen, all, "{filter:?} {sort:?}: forward keyset pages");
            // Backward from the last page: each previous page is the page before.
            for i in (1..pages.len()).rev() {
                let Some(k) = pages[i].1.clone() else { panic!("page {i} has no previous") };
                let p = f.store.query_users(d.t, &ObjectQuery { limit: 2, seek: Some(Seek::Before(k)), ..base.clone() }).await.unwrap();
                assert_eq!(upns(&p.items), pages[i - 1].0, "{filter:?} {sort:?}: page {i} back");
                assert_eq!(p.previous.is_some(), i > 1, "{sort:?}: the first page has no previous");
                assert!(p.next.is_some());
            }
        }
    }
    // A position past the end: an empty page without next.
    let last = f.store.query_users(d.t, &ObjectQuery { limit: 100, seek: Some(Seek::First), ..ObjectQuery::default() }).await.unwrap();
    let Some(end) = last.items.last().map(|u| tenantsync_store::Keyset { value: None, id: u.id }) else { panic!("no users") };
    let p = f.store.query_users(d.t, &ObjectQuery { seek: Some(Seek::After(end)), ..ObjectQuery::default() }).await.unwrap();
    assert!(p.items.is_empty() && p.next.is_none());
}

pub async fn groups_by_attribute_and_membership(f: Fixture) {
    let d = data(&f).await;
    let run = |filter: Filter| {
        let store = f.store.clone();
        async move {
            let q = ObjectQuery { filter: Some(filter), sort: None, offset: 0, limit: 10, seek: None };
            let page = store.query_groups(d.t, &q).await.unwrap();
            assert_eq!(page.total, Some(page.items.len() as u64));
            page.items.into_iter().map(|g| g.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(run(Filter::folded(Field::Group(G::DisplayName), Op::Eq, text("SALES"))).await, [d.g_sales]);
    assert_eq!(run(Filter::exact(Field::Group(G::ExternalId), Op::Eq, text("G-1"))).await, [d.g_sales]);
    assert_eq!(run(Filter::exact(Field::Member, Op::Eq, V::Id(d.alice))).await, [d.g_sales]);
    assert_eq!(run(Filter::exact(Field::Member, Op::Ne, V::Id(d.alice))).await, [d.g_empty]);
    assert_eq!(run(Filter::Present(Field::Member)).await, [d.g_sales]);
    assert_eq!(run(Filter::exact(Field::Member, Op::Eq, V::Id(d.erin))).await, Vec::<ObjectId>::new());
    // Entra's membership probe: id eq … and members[value eq …].
    let probe = Filter::And(vec![Filter::exact(Field::Id, Op::Eq, V::Id(d.g_empty)), Filter::exact(Field::Member, Op::Eq, V::Id(d.alice))]);
    assert_eq!(run(probe).await, Vec::<ObjectId>::new());
    // A member soft-deleted after joining no longer counts.
    f.store.apply_one(d.t, WriteOp::SoftDeleteUser { id: d.carol, if_match: None }).await.unwrap();
    assert_eq!(run(Filter::exact(Field::Member, Op::Eq, V::Id(d.carol))).await, Vec::<ObjectId>::new());
}

/// Users by the groups they are direct members of, and each user's groups in one read;
/// soft-deleted groups count for neither.
pub async fn users_by_group_and_their_groups(f: Fixture) {
    let d = data(&f).await;
    let bob = f
        .store
        .query_users(d.t, &ObjectQuery { filter: Some(Filter::folded(Field::User(U::UserPrincipalName), Op::Sw, text("bob"))), ..ObjectQuery::default() })
        .await
        .unwrap()
        .items[0]
        .id;
    let g2 = f.store.create_group(d.t, new_group("Alpha")).await.unwrap().id;
    f.store.apply_one(d.t, WriteOp::AddMember { group: g2, user: d.alice, if_match: None }).await.unwrap();
    let users = |filter: Filter| {
        let store = f.store.clone();
        async move { upns(&store.query_users(d.t, &ObjectQuery { filter: Some(filter), ..ObjectQuery::default() }).await.unwrap().items) }
    };
    assert_eq!(users(Filter::exact(Field::MemberOf, Op::Eq, V::Id(d.g_sales))).await, ["alice", "carol"]);
    assert_eq!(users(Filter::exact(Field::MemberOf, Op::Ne, V::Id(d.g_sales))).await, ["bob", "dave"]);
    assert_eq!(users(Filter::exact(Field::MemberOf, Op::Eq, V::Id(d.g_empty))).await, Vec::<String>::new());
    assert_eq!(users(Filter::Present(Field::MemberOf)).await, ["alice", "carol"]);
    let groups = f.store.user_groups(d.t, &[d.carol, bob, d.alice, ObjectId::new()]).await.unwrap();
    let got: Vec<(ObjectId, ObjectId, &str)> = groups.iter().map(|g| (g.user, g.group, g.display_name.as_str())).collect();
    assert_eq!(got, [(d.alice, g2, "Alpha"), (d.alice, d.g_sales, "Sales"), (d.carol, d.g_sales, "Sales")], "by user, then group name");
    assert_eq!(f.store.user_groups(d.t, &[]).await.unwrap(), []);
    f.store.apply_one(d.t, WriteOp::SoftDeleteGroup { id: d.g_sales, if_match: None }).await.unwrap();
    assert_eq!(users(Filter::exact(Field::MemberOf, Op::Eq, V::Id(d.g_sales))).await, Vec::<String>::new());
    assert_eq!(users(Filter::Present(Field::MemberOf)).await, ["alice"]);
    assert_eq!(f.store.user_groups(d.t, &[d.carol]).await.unwrap(), []);
    assert_code(
        f.store.query_groups(d.t, &ObjectQuery { filter: Some(Filter::Present(Field::MemberOf)), ..ObjectQuery::default() }).await,
        "unsupported_query",
    );
}

/// Filters on directory extension attributes run in the store and follow every write of
/// them: create, update, clearing, multi-valued values, soft and hard delete.
pub async fn extension_attribute_filters(f: Fixture) {
    use tenantsync_domain::{AttrValue, ExtensionName, UserAttrName};
    let d = data(&f).await;
    let cc = ExtensionName::parse("extension_0123456789abcdef0123456789abcdef_costCenter").unwrap();
    let skills = ExtensionName::parse("extension_0123456789abcdef0123456789abcdef_skills").unwrap();
    let mut x = new_user("xavier@contoso.example");
    x.attrs.extensions.insert(cc.clone(), AttrValue::String("CC-100".into()));
    x.attrs.extensions.insert(skills.clone(), AttrValue::Strings(vec!["Rust".into(), "SQL".into()]));
    let xavier = f.store.create_user(d.t, x).await.unwrap().id;
    let mut y = new_user("yann@contoso.example");
    y.attrs.extensions.insert(cc.clone(), AttrValue::String("cc-200".into()));
    let yann = f.store.create_user(d.t, y).await.unwrap().id;
    // Another tenant's user with the same value is never seen.
    let other = tenant(&f, "other.example").await.id;
    let mut o = new_user("xavier@other.example");
    o.attrs.extensions.insert(cc.clone(), AttrValue::String("CC-100".into()));
    f.store.create_user(other, o).await.unwrap();

    let ext = |name: &ExtensionName, test: Option<(Op, &str)>, ignore_case: bool| Filter::Extension {
        name: name.clone(),
        test: test.map(|(op, v)| (op, v.to_owned())),
        ignore_case,
    };
    let run = |filter: Filter| {
        let store = f.store.clone();
        async move { upns(&store.query_users(d.t, &ObjectQuery { filter: Some(filter), ..ObjectQuery::default() }).await.unwrap().items) }
    };
    let cases: Vec<(Filter, &[&str])> = vec![
        (ext(&cc, Some((Op::Eq, "cc-100")), true), &["xavier"]),
        (ext(&cc, Some((Op::Eq, "cc-100")), false), &[]),
        (ext(&cc, Some((Op::Eq, "CC-100")), false), &["xavier"]),
        (ext(&cc, Some((Op::Ne, "CC-100")), true), &["alice", "bob", "carol", "dave", "yann"]),
        (ext(&cc, None, true), &["xavier", "yann"]),
        (ext(&cc, Some((Op::Sw, "CC-")), true), &["xavier", "yann"]),
        (ext(&cc, Some((Op::Sw, "CC-")), false), &["xavier"]),
        (ext(&cc, Some((Op::Ew, "00")), true), &["xavier", "yann"]),
        (ext(&cc, Some((Op::Co, "-2")), true), &["yann"]),
        (ext(&cc, Some((Op::Gt, "cc-150")), true), &["yann"]),
        (ext(&cc, Some((Op::Le, "CC-100")), true), &["xavier"]),
        (ext(&cc, Some((Op::Co, "%")), true), &[]),
        (ext(&skills, Some((Op::Eq, "sql")), true), &["xavier"]),
        (ext(&skills, Some((Op::Eq, "go")), true), &[]),
        (Filter::Not(Box::new(ext(&skills, None, true))), &["alice", "bob", "carol", "dave", "yann"]),
        (Filter::And(vec![ext(&skills, Some((Op::Eq, "rust")), true), ext(&cc, Some((Op::Sw, "cc")), true)]), &["xavier"]),
    ];
    for (filter, expected) in cases {
        assert_eq!(run(filter.clone()).await, expected.iter().map(|s| s.to_string()).collect::<Vec<_>>(), "{filter:?}");
    }
    // An update replaces the values; clearing removes them.
    let patch = tenantsync_domain::UserPatch {
        set: vec![(UserAttrName::Extension(cc.clone()), AttrValue::String("CC-300".into())), (UserAttrName::Extension(skills.clone()), AttrValue::Null)],
        ..Default::default()
    };
    f.store.update_user(d.t, xavier, patch, None).await.unwrap();
    assert_eq!(run(ext(&cc, Some((Op::Eq, "cc-100")), true)).await, Vec::<String>::new());
    assert_eq!(run(ext(&cc, Some((Op::Eq, "cc-300")), true)).await, ["xavier"]);
    assert_eq!(run(ext(&skills, None, true)).await, Vec::<String>::new());
    // Soft-deleted users are never found; hard-deleted ones leave nothing behind.
    f.store.apply_one(d.t, WriteOp::SoftDeleteUser { id: yann, if_match: None }).await.unwrap();
    assert_eq!(run(ext(&cc, None, true)).await, ["xavier"]);
    f.store.apply_one(d.t, WriteOp::HardDeleteUser { id: yann, if_match: None }).await.unwrap();
    f.store.apply_one(d.t, WriteOp::RestoreUser { id: yann, if_match: None }).await.unwrap_err();
    assert_code(f.store.query_groups(d.t, &ObjectQuery { filter: Some(ext(&cc, None, true)), ..ObjectQuery::default() }).await, "unsupported_query");
}

pub async fn fields_of_the_other_kind_are_unsupported_query(f: Fixture) {
    let d = data(&f).await;
    let q = |filter| ObjectQuery { filter: Some(filter), sort: None, offset: 0, limit: 10, seek: None };
    assert_code(f.store.query_users(d.t, &q(Filter::Present(Field::Member))).await, "unsupported_query");
    assert_code(f.store.query_users(d.t, &q(Filter::Present(Field::Group(G::Description)))).await, "unsupported_query");
    assert_code(f.store.query_groups(d.t, &q(Filter::Present(Field::User(U::City)))).await, "unsupported_query");
    assert_code(f.store.query_users(d.t, &q(Filter::exact(Field::User(U::City), Op::Eq, V::Bool(true)))).await, "unsupported_query");
    assert_code(f.store.query_users(TenantId::new(), &q(Filter::Const(true))).await, "tenant_not_found");
    // Links go from users to groups and from groups to members, and test the linked
    // objects' own attributes.
    assert_code(f.store.query_users(d.t, &q(linked(Field::Member, Filter::Const(true)))).await, "unsupported_query");
    assert_code(f.store.query_groups(d.t, &q(linked(Field::MemberOf, Filter::Const(true)))).await, "unsupported_query");
    assert_code(f.store.query_users(d.t, &q(linked(Field::MemberOf, Filter::Present(Field::Member)))).await, "unsupported_query");
    assert_code(f.store.query_users(d.t, &q(linked(Field::MemberOf, Filter::Present(Field::User(U::City))))).await, "unsupported_query");
    // Groups by their live members' attributes.
    let q = |filter| ObjectQuery { filter: Some(filter), sort: None, offset: 0, limit: 10, seek: None };
    let groups = f.store.query_groups(d.t, &q(linked(Field::Member, Filter::folded(Field::User(U::DisplayName), Op::Sw, text("carol"))))).await.unwrap();
    assert_eq!(groups.items.iter().map(|g| g.id).collect::<Vec<_>>(), [d.g_sales]);
    let none = f.store.query_groups(d.t, &q(linked(Field::Member, Filter::exact(Field::Id, Op::Eq, V::Id(d.erin))))).await.unwrap();
    assert!(none.items.is_empty(), "a soft-deleted member does not count");
}

pub async fn tokens_store_hashes_list_and_revoke(f: Fixture) {
    use tenantsync_store::NewApiToken;
    let t = tenant(&f, "contoso.example").await.id;
    let other = tenant(&f, "fabrikam.example").await.id;
    let new = |tenant, name: &str, hash: u8| NewApiToken {
        id: ObjectId::new(),
        tenant_id: tenant,
        name: name.into(),
        role: if hash == 2 { tenantsync_store::TokenRole::Admin } else { tenantsync_store::TokenRole::Scim },
        secret_hash: [hash; 32],
        expires_date_time: Some(crate::start() + jiff::SignedDuration::from_hours(24)),
    };
    let a = f.store.create_token(new(t, "hr", 1)).await.unwrap();
    tick(&f, 1);
    let b = f.store.create_token(new(t, "okta", 2)).await.unwrap();
    f.store.create_token(new(other, "x", 3)).await.unwrap();
    assert_eq!(a.created_date_time, crate::start());
    assert!(a.is_usable(crate::start()));
    assert!(!a.is_usable(crate::start() + jiff::SignedDuration::from_hours(24)), "expired at the expiry instant");
    assert_eq!(f.store.get_token(a.id).await.unwrap(), Some(a.clone()));
    assert_eq!(f.store.get_token(ObjectId::new()).await.unwrap(), None);
    let listed: Vec<_> = f.store.list_tokens(t).await.unwrap().into_iter().map(|x| (x.id, x.role)).collect();
    assert_eq!(listed, [(a.id, tenantsync_store::TokenRole::Scim), (b.id, tenantsync_store::TokenRole::Admin)], "each keeps its role");

    let revoked = f.store.revoke_token(t, a.id).await.unwrap();
    assert!(revoked.revoked_date_time.is_some() && !revoked.is_usable(crate::start()));
    assert_eq!(f.store.revoke_token(t, a.id).await.unwrap(), revoked, "revoking twice changes nothing");
    assert_code(f.store.revoke_token(other, b.id).await, "token_not_found");
    assert!(f.store.get_token(b.id).await.unwrap().unwrap().is_usable(crate::start()), "another tenant cannot revoke it");
    assert_code(f.store.create_token(new(TenantId::new(), "x", 4)).await, "tenant_not_found");
}
