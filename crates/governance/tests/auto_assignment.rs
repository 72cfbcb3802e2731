use jiff::Timestamp;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use tenantsync_access::*;
use tenantsync_domain::{AttrValue, FixedClock, GroupAttributes, NewGroup, NewTenant, NewUser, ObjectId, TenantId, Upn, UserPatch};
use tenantsync_governance::Governance;
use tenantsync_store::{AccessStore, AssignmentFilter, RequestFilter, Store};
use tenantsync_store_sqlite::SqliteStore;

fn t0() -> Timestamp {
    "2026-12-06T09:00:00Z".parse().unwrap()
}

const GRACE_DAYS: u64 = 7;

struct Legal {
    dir: tempfile::TempDir,
    clock: Arc<FixedClock>,
    store: Arc<SqliteStore>,
    gov: Governance,
    tenant: TenantId,
    group: ObjectId,
    policy: AssignmentPolicy,
}

async fn department(store: &SqliteStore, tenant: TenantId, user: ObjectId, value: &str) {
    let patch = UserPatch::from_pairs([("department", AttrValue::String(value.into()))]).unwrap();
    store.update_user(tenant, user, patch, None).await.unwrap();
}

impl Legal {
    async fn new() -> Legal {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(FixedClock::new(t0()));
        let store = Arc::new(SqliteStore::open_with_clock(dir.path(), clock.clone()).unwrap());
        let tenant = store.create_tenant(NewTenant::new("Contoso", "contoso.example").unwrap()).await.unwrap().id;
        let group = store.create_group(tenant, NewGroup::new(GroupAttributes::new("Legal documents").unwrap())).await.unwrap().id;
        let gov = Governance::new(store.clone());
        let catalog = Catalog {
            id: CatalogId::new(),
            display_name: "General".into(),
            description: String::new(),
            is_externally_visible: false,
            created_date_time: t0(),
            modified_date_time: t0(),
        };
        gov.put_catalog(tenant, &catalog).await.unwrap();
        let package = AccessPackage {
            id: PackageId::new(),
            catalog_id: catalog.id,
            display_name: "Legal".into(),
            description: String::new(),
            is_hidden: false,
            roles: BTreeSet::from([ResourceRole::new(ResourceOrigin::Group(group), RoleKind::Member).unwrap()]),
            incompatible_packages: BTreeSet::new(),
            incompatible_groups: BTreeSet::new(),
            created_date_time: t0(),
            modified_date_time: t0(),
        };
        gov.put_access_package(tenant, &package).await.unwrap();
        let policy = AssignmentPolicy {
            id: PolicyId::new(),
            access_package_id: package.id,
            display_name: "Everyone in Legal".into(),
            description: String::new(),
            allowed_target_scope: TargetScope::SpecificDirectoryUsers,
            specific_allowed_targets: vec![SubjectSet::AttributeRuleMembers { membership_rule: "department EQUALS Legal".into() }],
            requestor_settings: RequestorSettings::default(),
            request_approval_settings: ApprovalSettings::default(),
            expiration: Expiration::NoExpiration,
            review_settings: None,
            automatic_request_settings: Some(AutomaticRequestSettings {
                request_access_for_allowed_targets: true,
                remove_access_when_target_leaves_allowed_targets: true,
                grace_period_before_access_removal: IsoDuration::days(GRACE_DAYS),
            }),
            questions: vec![],
        };
        Legal { dir, clock, store, gov, tenant, group, policy }
    }

    async fn person(&self, name: &str, dept: &str) -> ObjectId {
        let mut u = NewUser::new(Upn::parse(&format!("{name}@contoso.example")).unwrap());
        u.attrs.department = Some(dept.into());
        self.store.create_user(self.tenant, u).await.unwrap().id
    }

    async fn set(&self, user: ObjectId, dept: &str) {
        department(&self.store, self.tenant, user, dept).await;
    }

    fn at_day(&self, days: u64) {
        self.clock.set(IsoDuration::days(days).after(t0()));
    }

    async fn members(&self) -> BTreeSet<ObjectId> {
        let page = self.store.list_members(self.tenant, self.group, &tenantsync_store::ListQuery::default()).await.unwrap();
        page.items.iter().map(|u| u.id).collect()
    }

    async fn holders(&self) -> BTreeSet<ObjectId> {
        let f = AssignmentFilter { policy: Some(self.policy.id), current_only: true, ..AssignmentFilter::default() };
        self.store.access_assignments(self.tenant, f).await.unwrap().into_iter().map(|v| v.value.target).collect()
    }

    async fn kinds(&self) -> Vec<RequestType> {
        self.store.access_requests(self.tenant, RequestFilter::default()).await.unwrap().into_iter().map(|v| v.value.request_type).collect()
    }
}

#[tokio::test]
async fn the_rule_assigns_on_a_change_and_removes_after_the_grace_period_unless_passed_again() {
    let l = Legal::new().await;
    let alice = l.person("alice", "Legal").await;
    let bob = l.person("bob", "Sales").await;
    l.gov.put_policy(l.tenant, &l.policy).await.unwrap();
    // The first pass walks the tenant once.
    let r = l.gov.auto_assign().await.unwrap();
    assert_eq!((r.walks, r.assigned), (1, 1));
    assert_eq!(l.members().await, BTreeSet::from([alice]));
    assert_eq!(l.kinds().await, vec![RequestType::SystemAdd]);
    // Nothing changed: nothing evaluated.
    let r = l.gov.auto_assign().await.unwrap();
    assert_eq!((r.walks, r.evaluated), (0, 0));

    // Bob moves to Legal: the change assigns him.
    l.set(bob, "Legal").await;
    let r = l.gov.sweep().await.unwrap();
    assert_eq!(r.auto_assigned, 1);
    assert_eq!(l.members().await, BTreeSet::from([alice, bob]));

    // Alice leaves Legal: removal planned, access kept through the grace period.
    l.set(alice, "Sales").await;
    let r = l.gov.auto_assign().await.unwrap();
    assert_eq!((r.removals_scheduled, r.removed), (1, 0));
    assert_eq!(l.members().await, BTreeSet::from([alice, bob]));
    let progress = l.gov.auto_progress(l.tenant, &l.policy).await.unwrap();
    assert_eq!(progress.removals, BTreeMap::from([(alice, IsoDuration::days(GRACE_DAYS).after(t0()))]));
    // She comes back within the grace period: the removal is called off.
    l.at_day(3);
    l.set(alice, "Legal").await;
    assert_eq!(l.gov.auto_assign().await.unwrap().removals_canceled, 1);
    l.at_day(20);
    assert_eq!(l.gov.sweep().await.unwrap().auto_removed, 0);
    assert_eq!(l.holders().await, BTreeSet::from([alice, bob]));

    // She leaves for good: removed by a systemRemove when the grace period ends, not before.
    l.set(alice, "Sales").await;
    l.gov.sweep().await.unwrap();
    l.at_day(20 + GRACE_DAYS - 1);
    assert_eq!(l.gov.sweep().await.unwrap().auto_removed, 0);
    assert!(l.members().await.contains(&alice));
    l.at_day(20 + GRACE_DAYS);
    assert_eq!(l.gov.sweep().await.unwrap().auto_removed, 1);
    assert_eq!(l.members().await, BTreeSet::from([bob]));
    assert_eq!(l.holders().await, BTreeSet::from([bob]));
    assert_eq!(l.kinds().await.last(), Some(&RequestType::SystemRemove));
    assert!(l.gov.auto_progress(l.tenant, &l.policy).await.unwrap().removals.is_empty());
    assert_eq!(l.gov.sweep().await.unwrap(), Default::default(), "nothing twice");
}

#[tokio::test]
async fn a_restart_misses_no_change_and_does_not_walk_again() {
    let l = Legal::new().await;
    let alice = l.person("alice", "Legal").await;
    let bob = l.person("bob", "Sales").await;
    l.gov.put_policy(l.tenant, &l.policy).await.unwrap();
    l.gov.auto_assign().await.unwrap();
    let Legal { dir, clock, store, gov, tenant, policy, .. } = l;
    drop(gov);
    // While nothing runs: Bob joins Legal, Alice leaves it.
    department(&store, tenant, bob, "Legal").await;
    department(&store, tenant, alice, "Sales").await;
    drop(store);
    let store = Arc::new(SqliteStore::open_with_clock(dir.path(), clock.clone()).unwrap());
    let gov = Governance::new(store.clone());
    let r = gov.auto_assign().await.unwrap();
    assert_eq!((r.walks, r.assigned, r.removals_scheduled), (0, 1, 1));
    assert_eq!(r.evaluated, 2, "the two changed people, not the directory");
    // The removal planned before the restart is carried out by the next process.
    drop(gov);
    let gov = Governance::new(store.clone());
    clock.set(IsoDuration::days(GRACE_DAYS).after(t0()));
    assert_eq!(gov.sweep().await.unwrap().auto_removed, 1);
    let f = AssignmentFilter { policy: Some(policy.id), current_only: true, ..AssignmentFilter::default() };
    let holders: Vec<ObjectId> = store.access_assignments(tenant, f).await.unwrap().into_iter().map(|v| v.value.target).collect();
    assert_eq!(holders, vec![bob]);
}

#[tokio::test]
async fn a_changed_rule_walks_again_and_a_bad_rule_is_refused() {
    let l = Legal::new().await;
    let alice = l.person("alice", "Legal").await;
    let carol = l.person("carol", "Finance").await;
    l.gov.put_policy(l.tenant, &l.policy).await.unwrap();
    l.gov.auto_assign().await.unwrap();
    let mut wider = l.policy.clone();
    wider.specific_allowed_targets.push(SubjectSet::AttributeRuleMembers { membership_rule: "department EQUALS Finance".into() });
    l.gov.put_policy(l.tenant, &wider).await.unwrap();
    let r = l.gov.auto_assign().await.unwrap();
    assert_eq!((r.walks, r.assigned), (1, 1));
    assert_eq!(l.members().await, BTreeSet::from([alice, carol]));
    let mut bad = l.policy.clone();
    bad.specific_allowed_targets = vec![SubjectSet::AttributeRuleMembers { membership_rule: "departmnt EQUALS Legal".into() }];
    let err = l.gov.put_policy(l.tenant, &bad).await.unwrap_err();
    assert_eq!(err.code(), "invalid_policy");
    assert!(err.to_string().contains("department"), "suggests the attribute: {err}");
}

/// For any sequence of moves between departments and days passing, a person holds the
/// package exactly when they are in Legal or left it less than the grace period ago.
#[tokio::test]
async fn holding_follows_the_rule_and_the_grace_period_for_any_sequence() {
    let l = Legal::new().await;
    let mut people = Vec::new();
    for i in 0..4 {
        people.push(l.person(&format!("p{i}"), if i % 2 == 0 { "Legal" } else { "Sales" }).await);
    }
    l.gov.put_policy(l.tenant, &l.policy).await.unwrap();
    // When each left Legal (None: in Legal, or never was), as the model sees it.
    let mut left: BTreeMap<ObjectId, Option<u64>> = people.iter().map(|p| (*p, None)).collect();
    let mut in_legal: BTreeMap<ObjectId, bool> = people.iter().enumerate().map(|(i, p)| (*p, i % 2 == 0)).collect();
    let mut held: BTreeMap<ObjectId, bool> = in_legal.clone();
    l.gov.auto_assign().await.unwrap();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut day = 0;
    for _ in 0..40 {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        let who = people[(seed >> 33) as usize % people.len()];
        match (seed >> 20) % 3 {
            0 => {
                let to_legal = !in_legal[&who];
                l.set(who, if to_legal { "Legal" } else { "Sales" }).await;
                in_legal.insert(who, to_legal);
                left.insert(who, if to_legal { None } else { held[&who].then_some(day) });
            }
            _ => {
                day += (seed >> 40) % 5;
                l.at_day(day);
            }
        }
        l.gov.sweep().await.unwrap();
        for p in &people {
            let grace = left[p].is_some_and(|since| day < since + GRACE_DAYS);
            let wanted = in_legal[p] || (held[p] && grace);
            held.insert(*p, wanted);
            if !wanted {
                left.insert(*p, None);
            }
        }
        let expected: BTreeSet<ObjectId> = held.iter().filter(|(_, h)| **h).map(|(p, _)| *p).collect();
        assert_eq!(l.holders().await, expected, "day {day}");
        assert_eq!(l.members().await, expected, "day {day}: the role follows the assignment");
    }
}

/// Two workers (two stores on one data directory, as two `serve` processes) evaluate the
/// tenant at once: one holds the tenant's lease, the other leaves it alone, and the
/// person is assigned once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_worker_at_a_time_evaluates_a_tenants_policies() {
    let l = Legal::new().await;
    let alice = l.person("alice", "Legal").await;
    l.gov.put_policy(l.tenant, &l.policy).await.unwrap();
    let other = Arc::new(SqliteStore::open_with_clock(l.dir.path(), l.clock.clone()).unwrap());
    let lease = other.try_lease_auto_assignment(l.tenant).await.unwrap().expect("a free lease");
    let r = l.gov.auto_assign().await.unwrap();
    assert_eq!((r.leased_elsewhere, r.walks, r.assigned), (1, 0, 0), "left to the holder");
    assert!(l.members().await.is_empty());
    drop(lease);
    let second = Governance::new(other.clone());
    let (a, b) = tokio::join!(l.gov.auto_assign(), second.auto_assign());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.assigned + b.assigned, 1, "assigned once: {a:?} {b:?}");
    assert_eq!(l.kinds().await, vec![RequestType::SystemAdd]);
    assert_eq!(l.members().await, BTreeSet::from([alice]));
}
