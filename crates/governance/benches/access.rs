//! Entitlement management's two targets (issue 16), in process on the SQLite store with a
//! clock the bench moves:
//!
//! - **requests**: N members each request a package under a one-stage approval policy;
//!   each request is submitted, approved by the approver and delivered (a group
//!   membership), `--streams` requests at a time. Target: 10,000 in < 10 s.
//! - **sweep**: M assignments are stored (not timed), D of them due (ending now, their
//!   holders real members of the package's group); one sweep is timed — it ends the D
//!   (roles taken away, `accessEnded` written) — and then a sweep with nothing due.
//!   Target: 1,000,000 held with little due in < 5 s, the cost following D, not M.
//!
//! Wall time, and CPU time of the process (`getrusage(RUSAGE_SELF)`), median of `--runs`.
//!
//! ```sh
//! cargo bench -p tenantsync-governance --bench access                       # 10,000 requests; 1,000,000 assignments, 1,000 due
//! cargo bench -p tenantsync-governance --bench access -- --due 10000 --runs 3
//! ```
//!
//! Without `--bench` (as `cargo test --all-targets` runs it) it is a smoke run of 200
//! requests and 2,000 assignments.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, clippy::print_stdout)]

use jiff::Timestamp;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;
use tenantsync_access::*;
use tenantsync_domain::{FixedClock, GroupAttributes, NewGroup, NewTenant, NewUser, ObjectId, TenantId, Upn};
use tenantsync_governance::{Actor, Governance, NewRequest, Subject};
use tenantsync_store::{AccessStep, AccessStore, BatchMode, BulkOptions, StepRow, Store, WriteOp};
use tenantsync_store_sqlite::SqliteStore;

fn cpu() -> f64 {
    use nix::sys::resource::{UsageWho, getrusage};
    use nix::sys::time::TimeValLike;
    getrusage(UsageWho::RUSAGE_SELF).map_or(0.0, |u| (u.user_time().num_microseconds() + u.system_time().num_microseconds()) as f64 / 1e6)
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn t0() -> Timestamp {
    "2026-12-06T09:00:00Z".parse().unwrap()
}

struct World {
    _dir: tempfile::TempDir,
    clock: Arc<FixedClock>,
    store: Arc<SqliteStore>,
    gov: Governance,
    tenant: TenantId,
    group: ObjectId,
    package: AccessPackage,
    policy: AssignmentPolicy,
}

/// A tenant with `people` members (bulk-imported), an approver, a group, and a package
/// granting the group under a one-stage policy for all members.
async fn world(people: usize) -> (World, Vec<ObjectId>, ObjectId) {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::new(t0()));
    let store = Arc::new(SqliteStore::open_with_clock(dir.path(), clock.clone()).unwrap());
    let tenant = store.create_tenant(NewTenant::new("Contoso", "contoso.example").unwrap()).await.unwrap().id;
    let approver = store.create_user(tenant, NewUser::new(Upn::parse("sam@contoso.example").unwrap())).await.unwrap().id;
    let mut import = store.bulk_import_users(tenant, BulkOptions { commit_every: Some(10_000) }).await.unwrap();
    let rows: Vec<(u64, NewUser)> = (0..people).map(|i| (i as u64, NewUser::new(Upn::parse(&format!("p{i}@contoso.example")).unwrap()))).collect();
    for chunk in rows.chunks(10_000) {
        import.push(chunk.to_vec()).await.unwrap();
    }
    import.finish().await.unwrap();
    let mut users = Vec::with_capacity(people);
    let mut q = tenantsync_store::ListQuery { limit: 1000, ..Default::default() };
    loop {
        let page = store.list_users(tenant, &q).await.unwrap();
        users.extend(page.items.iter().filter(|u| u.id != approver).map(|u| u.id));
        match page.next {
            Some(n) => q.after = Some(n),
            None => break,
        }
    }
    let group = store.create_group(tenant, NewGroup::new(GroupAttributes::new("Finance").unwrap())).await.unwrap().id;
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
        display_name: "Finance".into(),
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
        display_name: "Staff".into(),
        description: String::new(),
        allowed_target_scope: TargetScope::AllMemberUsers,
        specific_allowed_targets: vec![],
        requestor_settings: RequestorSettings { enable_targets_to_self_add_access: true, ..RequestorSettings::default() },
        request_approval_settings: ApprovalSettings {
            is_approval_required_for_add: true,
            is_approval_required_for_update: false,
            is_requestor_justification_required: false,
            stages: vec![ApprovalStageSettings {
                duration_before_automatic_denial: IsoDuration::days(14),
                is_approver_justification_required: false,
                is_escalation_enabled: false,
                duration_before_escalation: IsoDuration::ZERO,
                primary_approvers: vec![SubjectSet::SingleUser { user_id: approver }],
                fallback_primary_approvers: vec![],
                escalation_approvers: vec![],
                fallback_escalation_approvers: vec![],
            }],
        },
        expiration: Expiration::AfterDuration { duration: IsoDuration::days(365) },
        review_settings: None,
        automatic_request_settings: None,
        questions: vec![],
    };
    gov.put_policy(tenant, &policy).await.unwrap();
    (World { _dir: dir, clock, store, gov, tenant, group, package, policy }, users, approver)
}

/// N requests submitted, approved and delivered, `streams` at a time: (wall, cpu).
async fn requests(n: usize, streams: usize) -> (f64, f64) {
    let (w, users, approver) = world(n).await;
    let w = Arc::new(w);
    let (c0, t) = (cpu(), Instant::now());
    let mut tasks = Vec::new();
    for s in 0..streams {
        let w = w.clone();
        let mine: Vec<ObjectId> = users.iter().skip(s).step_by(streams).copied().collect();
        tasks.push(tokio::spawn(async move {
            for u in mine {
                let new = NewRequest {
                    kind: RequestType::UserAdd,
                    package: w.package.id,
                    policy: w.policy.id,
                    subject: Subject::User(u),
                    start: None,
                    end: None,
                    answers: vec![],
                    justification: String::new(),
                };
                let r = w.gov.submit(w.tenant, new, Actor::Subject).await.unwrap();
                let r = w.gov.decide(w.tenant, r.id, 0, approver, true, "").await.unwrap();
                assert_eq!(r.state, RequestState::Delivered);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let (wall, cpu) = (t.elapsed().as_secs_f64(), cpu() - c0);
    let members = w.store.list_members(w.tenant, w.group, &tenantsync_store::ListQuery { limit: 1, ..Default::default() }).await.unwrap();
    assert!(!members.items.is_empty());
    (wall, cpu)
}

/// M assignments of which D are due; one sweep timed, then one with nothing due:
/// ((wall, cpu) of the first, (wall, cpu) of the second).
async fn sweep(m: usize, due: usize) -> ((f64, f64), (f64, f64)) {
    let (w, holders, _) = world(due).await;
    for chunk in holders.chunks(1000) {
        let ops = chunk.iter().map(|u| WriteOp::SetMembership { group: w.group, user: *u, member: true }).collect();
        w.store.apply(w.tenant, ops, BatchMode::Atomic).await.unwrap();
    }
    let assignment = |target: ObjectId, end: Timestamp| Assignment {
        id: AssignmentId::new(),
        access_package_id: w.package.id,
        assignment_policy_id: w.policy.id,
        target,
        state: AssignmentState::Delivered,
        schedule: Schedule { start_date_time: t0(), end_date_time: Some(end) },
        expired_date_time: None,
        reminders_sent: 0,
        governed: false,
    };
    let now = IsoDuration::days(30).after(t0());
    // The held ones end over the year after `now` (none within the day); the due ones at `now`.
    let mut rows: Vec<StepRow<Assignment>> = Vec::with_capacity(10_000);
    for i in 0..m.saturating_sub(due) {
        let end = IsoDuration::seconds(86_400 + (i as u64 * 31_536_000 / m as u64)).after(now);
        rows.push(StepRow { due: Some(end), value: assignment(ObjectId::new(), end), expect: None });
        if rows.len() == 10_000 {
            w.store.commit_access(w.tenant, AccessStep { assignments: std::mem::take(&mut rows), ..Default::default() }).await.unwrap();
        }
    }
    for u in &holders {
        rows.push(StepRow { due: Some(now), value: assignment(*u, now), expect: None });
        if rows.len() == 10_000 {
            w.store.commit_access(w.tenant, AccessStep { assignments: std::mem::take(&mut rows), ..Default::default() }).await.unwrap();
        }
    }
    w.store.commit_access(w.tenant, AccessStep { assignments: rows, ..Default::default() }).await.unwrap();
    w.clock.set(now);
    let (c0, t) = (cpu(), Instant::now());
    let report = w.gov.sweep().await.unwrap();
    let first = (t.elapsed().as_secs_f64(), cpu() - c0);
    assert_eq!(report.assignments_ended, due);
    let (c0, t) = (cpu(), Instant::now());
    let report = w.gov.sweep().await.unwrap();
    let second = (t.elapsed().as_secs_f64(), cpu() - c0);
    assert_eq!(report, Default::default());
    let left = w.store.list_members(w.tenant, w.group, &tenantsync_store::ListQuery::default()).await.unwrap();
    assert!(left.items.is_empty(), "every due holder left the group");
    (first, second)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bench = args.iter().any(|a| a == "--bench");
    let num = |name: &str, full: usize, smoke: usize| arg(&args, name).map_or(if bench { full } else { smoke }, |s| s.parse().unwrap());
    let (n, streams, m, due, runs) =
        (num("--requests", 10_000, 200), num("--streams", 4, 2), num("--assignments", 1_000_000, 2_000), num("--due", 1_000, 50), num("--runs", 1, 1));
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    if n > 0 {
        let (mut wall, mut cpus) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            let (w, c) = rt.block_on(requests(n, streams));
            wall.push(w);
            cpus.push(c);
        }
        let (w, c) = (median(wall), median(cpus));
        println!("requests: {n} submitted, approved, delivered ({streams} at a time): {w:.2} s wall, {c:.2} s CPU, {:.0} requests/s", n as f64 / w);
    }
    if m > 0 {
        let (mut walls, mut cpus, mut idle_walls, mut idle_cpus) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            let ((w, c), (iw, ic)) = rt.block_on(sweep(m, due));
            walls.push(w);
            cpus.push(c);
            idle_walls.push(iw);
            idle_cpus.push(ic);
        }
        println!(
            "sweep: {m} assignments, {due} due: {:.3} s wall, {:.3} s CPU; again with nothing due: {:.4} s wall, {:.4} s CPU",
            median(walls),
            median(cpus),
            median(idle_walls),
            median(idle_cpus)
        );
    }
}
