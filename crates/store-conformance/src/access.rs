//! The conformance cases of [`AccessStore`] (entitlement management), stamped by
//! [`access_conformance_tests!`](crate::access_conformance_tests) into the test binary of
//! each store that implements it.
use crate::support::{assert_code, new_user};
use jiff::Timestamp;
use std::sync::Arc;
use tenantsync_access::{
    Assignment, AssignmentId, AssignmentState, IsoDuration, PackageId, PolicyId, Request, RequestId, RequestState, RequestStatus, RequestType, Schedule,
};
use tenantsync_domain::{FixedClock, NewTenant, ObjectId, TenantId};
use tenantsync_store::{AccessObjectKind, AccessStep, AccessStore, AssignmentFilter, GuestSchedule, OutboxMessage, RequestFilter, StepRow, SyncStore, WriteOp};

/// A store with both traits.
/// A store with every trait: the directory and sync state, entitlement management, and
/// its content as records (`dump.rs`).
pub trait FullStore: SyncStore + AccessStore + tenantsync_store::DumpStore + tenantsync_store::ConnectorStore {}
impl<T: SyncStore + AccessStore + tenantsync_store::DumpStore + tenantsync_store::ConnectorStore> FullStore for T {}

/// A fresh, empty store for one access case.
pub struct AccessFixture {
    pub store: Arc<dyn FullStore>,
    pub clock: Arc<FixedClock>,
    pub guard: Box<dyn std::any::Any + Send>,
}

impl std::fmt::Debug for AccessFixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessFixture").finish_non_exhaustive()
    }
}

/// Stamps one `#[tokio::test]` per access case into module `access_store`.
#[macro_export]
macro_rules! access_conformance_tests {
    ($factory:path) => {
        mod access_store {
            #[allow(unused_imports)]
            use super::*;
            $crate::__access_cases!($factory;
                definitions_are_documents_of_their_tenant,
                definitions_are_paged_by_id_both_ways,
                a_definition_is_replaced_only_if_unchanged,
                auto_assignment_is_leased_to_one_holder_a_tenant,
                a_step_commits_whole_and_checks_versions,
                a_step_carries_directory_writes_with_their_changes,
                a_step_commits_its_audit_record_with_its_writes,
                steps_at_once_each_commit_whole_or_not_at_all,
                due_work_is_found_by_its_time_across_tenants,
                filters_find_requests_and_assignments,
                a_package_counts_its_current_assignments_and_open_requests,
                the_outbox_keeps_attempts_until_sent,
            );
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __access_cases {
    ($factory:path; $($case:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $crate::access::$case($factory($crate::start_clock()).await).await
            }
        )*
    };
}

async fn tenant(f: &AccessFixture, domain: &str) -> TenantId {
    f.store.create_tenant(NewTenant::new(domain, domain).unwrap()).await.unwrap().id
}

fn now(f: &AccessFixture) -> Timestamp {
    tenantsync_domain::Clock::now(f.clock.as_ref())
}

fn request(requestor: Option<ObjectId>, package: PackageId, state: RequestState, at: Timestamp) -> Request {
    Request {
        id: RequestId::new(),
        request_type: RequestType::UserAdd,
        state,
        status: RequestStatus::Accepted,
        access_package_id: package,
        assignment_policy_id: PolicyId::new(),
        requestor,
        external: None,
        assignment_id: None,
        schedule: Schedule { start_date_time: at, end_date_time: None },
        answers: vec![],
        justification: String::new(),
        stages: vec![],
        created_date_time: at,
        completed_date_time: None,
    }
}

fn assignment(target: ObjectId, package: PackageId, state: AssignmentState, at: Timestamp) -> Assignment {
    Assignment {
        id: AssignmentId::new(),
        access_package_id: package,
        assignment_policy_id: PolicyId::new(),
        target,
        state,
        schedule: Schedule { start_date_time: at, end_date_time: None },
        expired_date_time: None,
        reminders_sent: 0,
        governed: false,
    }
}

fn new_row<T>(value: T, due: Option<Timestamp>) -> StepRow<T> {
    StepRow { value, expect: None, due }
}

fn message(at: Timestamp, event: &str) -> OutboxMessage {
    OutboxMessage {
        id: ObjectId::new(),
        created: at,
        event: event.into(),
        recipients: vec![ObjectId::new()],
        addresses: vec![],
        subject: event.into(),
        body: String::new(),
        attempts: 0,
        next_attempt: at,
        delivered: None,
    }
}

pub async fn definitions_are_documents_of_their_tenant(f: AccessFixture) {
    let (a, b) = (tenant(&f, "a.example").await, tenant(&f, "b.example").await);
    let id = ObjectId::new();
    let kind = AccessObjectKind::AccessPackage;
    f.store.put_access_object(a, kind, id, serde_json::json!({"displayName": "One"})).await.unwrap();
    f.store.put_access_object(a, kind, id, serde_json::json!({"displayName": "Two"})).await.unwrap();
    f.store.put_access_object(a, AccessObjectKind::Catalog, ObjectId::new(), serde_json::json!({})).await.unwrap();
    assert_eq!(f.store.access_object(a, kind, id).await.unwrap(), Some(serde_json::json!({"displayName": "Two"})));
    assert_eq!(f.store.access_objects(a, kind).await.unwrap().len(), 1);
    assert_eq!(f.store.access_object(b, kind, id).await.unwrap(), None, "another tenant's");
    assert!(f.store.access_objects(b, kind).await.unwrap().is_empty());
    assert!(!f.store.delete_access_object(b, kind, id).await.unwrap());
    assert!(f.store.delete_access_object(a, kind, id).await.unwrap());
    assert_eq!(f.store.access_object(a, kind, id).await.unwrap(), None);
    let nowhere = TenantId::new();
    assert_code(f.store.access_objects(nowhere, kind).await, "tenant_not_found");
    assert_code(f.store.put_access_object(nowhere, kind, id, serde_json::json!({})).await, "tenant_not_found");
}

/// Definitions a page at a time, by id, both ways: a page after an id, a page before
/// one (the last of those before it, in id order), of one kind and tenant only.
pub async fn definitions_are_paged_by_id_both_ways(f: AccessFixture) {
    let (a, b) = (tenant(&f, "a.example").await, tenant(&f, "b.example").await);
    let kind = AccessObjectKind::Catalog;
    let mut ids: Vec<ObjectId> = (0..5).map(|_| ObjectId::new()).collect();
    ids.sort();
    for (i, id) in ids.iter().enumerate() {
        f.store.put_access_object(a, kind, *id, serde_json::json!({ "n": i })).await.unwrap();
    }
    f.store.put_access_object(a, AccessObjectKind::AccessPackage, ObjectId::new(), serde_json::json!({})).await.unwrap();
    f.store.put_access_object(b, kind, ObjectId::new(), serde_json::json!({})).await.unwrap();
    let page = |after: Option<usize>, before: Option<usize>, limit: u32| {
        let range = tenantsync_store::IdRange { after: after.map(|i| ids[i]), before: before.map(|i| ids[i]), limit };
        let store = f.store.clone();
        async move { store.access_objects_page(a, kind, range).await.unwrap().into_iter().map(|(id, v)| (id, v["n"].as_u64().unwrap())).collect::<Vec<_>>() }
    };
    assert_eq!(page(None, None, 2).await, vec![(ids[0], 0), (ids[1], 1)]);
    assert_eq!(page(Some(1), None, 2).await, vec![(ids[2], 2), (ids[3], 3)]);
    assert_eq!(page(Some(3), None, 2).await, vec![(ids[4], 4)]);
    assert_eq!(page(None, Some(4), 2).await, vec![(ids[2], 2), (ids[3], 3)]);
    assert_eq!(page(None, Some(1), 2).await, vec![(ids[0], 0)]);
    assert_eq!(page(Some(0), Some(3), 9).await, vec![(ids[1], 1), (ids[2], 2)]);
    assert!(page(Some(4), None, 2).await.is_empty());
    assert_eq!(f.store.access_objects_page(b, kind, tenantsync_store::IdRange::first(9)).await.unwrap().len(), 1);
    assert_code(f.store.access_objects_page(TenantId::new(), kind, tenantsync_store::IdRange::first(9)).await, "tenant_not_found");
}

/// Two reviewers read a review and write it back: the first write wins, the second is
/// told (`access_conflict`) and changes nothing.
pub async fn a_definition_is_replaced_only_if_unchanged(f: AccessFixture) {
    let t = tenant(&f, "a.example").await;
    let (kind, id) = (AccessObjectKind::ReviewInstance, ObjectId::new());
    let read = serde_json::json!({"id": id.to_string(), "decisions": [{"decision": "notReviewed", "reviewedBy": null}], "score": 1.5});
    f.store.put_access_object(t, kind, id, read.clone()).await.unwrap();
    let stored = f.store.access_object(t, kind, id).await.unwrap().unwrap();
    assert_eq!(stored, read);
    let first = serde_json::json!({"id": id.to_string(), "decisions": [{"decision": "approve", "reviewedBy": "sam"}], "score": 1.5});
    let second = serde_json::json!({"id": id.to_string(), "decisions": [{"decision": "deny", "reviewedBy": "ann"}], "score": 1.5});
    f.store.replace_access_object(t, kind, id, stored.clone(), first.clone()).await.unwrap();
    assert_code(f.store.replace_access_object(t, kind, id, stored, second.clone()).await, "access_conflict");
    assert_eq!(f.store.access_object(t, kind, id).await.unwrap(), Some(first.clone()));
    // Read again, the second writes.
    let again = f.store.access_object(t, kind, id).await.unwrap().unwrap();
    f.store.replace_access_object(t, kind, id, again, second.clone()).await.unwrap();
    assert_eq!(f.store.access_object(t, kind, id).await.unwrap(), Some(second.clone()));
    assert_code(f.store.replace_access_object(t, kind, ObjectId::new(), second.clone(), first.clone()).await, "access_conflict");
    assert_code(f.store.replace_access_object(TenantId::new(), kind, id, second, first).await, "tenant_not_found");
}

/// One holder at a time of a tenant's auto-assignment lease; another tenant's is free;
/// dropping the guard frees it.
pub async fn auto_assignment_is_leased_to_one_holder_a_tenant(f: AccessFixture) {
    let (a, b) = (tenant(&f, "a.example").await, tenant(&f, "b.example").await);
    let held = f.store.try_lease_auto_assignment(a).await.unwrap().expect("a free lease");
    assert!(f.store.try_lease_auto_assignment(a).await.unwrap().is_none(), "held elsewhere");
    let other = f.store.try_lease_auto_assignment(b).await.unwrap().expect("another tenant's lease is its own");
    drop(held);
    assert!(f.store.try_lease_auto_assignment(a).await.unwrap().is_some(), "free again once dropped");
    drop(other);
    assert_code(f.store.try_lease_auto_assignment(TenantId::new()).await, "tenant_not_found");
}

pub async fn a_step_commits_whole_and_checks_versions(f: AccessFixture) {
    let t = tenant(&f, "a.example").await;
    let at = now(&f);
    let r = request(Some(ObjectId::new()), PackageId::new(), RequestState::PendingApproval, at);
    f.store.commit_access(t, AccessStep { requests: vec![new_row(r.clone(), Some(at))], ..AccessStep::default() }).await.unwrap();
    let read = f.store.access_request(t, r.id).await.unwrap().unwrap();
    assert_eq!((read.value.clone(), read.version), (r.clone(), 1));
    // Two deciders read version 1; the first write wins, the second changes nothing.
    let mut approved = r.clone();
    approved.state = RequestState::Delivering;
    let a = assignment(r.requestor.unwrap(), r.access_package_id, AssignmentState::Delivered, at);
    let first = AccessStep {
        requests: vec![StepRow { value: approved.clone(), expect: Some(1), due: None }],
        assignments: vec![new_row(a.clone(), None)],
        outbox: vec![message(at, "approved")],
        ..AccessStep::default()
    };
    f.store.commit_access(t, first).await.unwrap();
    let mut denied = r.clone();
    denied.state = RequestState::Denied;
    let second = AccessStep {
        requests: vec![StepRow { value: denied, expect: Some(1), due: None }],
        assignments: vec![new_row(assignment(ObjectId::new(), PackageId::new(), AssignmentState::Delivered, at), None)],
        outbox: vec![message(at, "denied")],
        guests: vec![GuestSchedule { user: ObjectId::new(), delete_at: at }],
        ..AccessStep::default()
    };
    assert_code(f.store.commit_access(t, second).await, "access_conflict");
    let read = f.store.access_request(t, r.id).await.unwrap().unwrap();
    assert_eq!((read.value.state, read.version), (RequestState::Delivering, 2));
    let assignments = f.store.access_assignments(t, AssignmentFilter::default()).await.unwrap();
    assert_eq!(assignments.iter().map(|v| v.value.id).collect::<Vec<_>>(), vec![a.id], "nothing of the refused step");
    let outbox = f.store.outbox(t, 10).await.unwrap();
    assert_eq!(outbox.iter().map(|m| m.event.as_str()).collect::<Vec<_>>(), vec!["approved"]);
    assert!(f.store.due_access_work(at, 10).await.unwrap().guests.is_empty());
    // A new row whose id exists is a conflict too.
    assert_code(f.store.commit_access(t, AccessStep { assignments: vec![new_row(a, None)], ..AccessStep::default() }).await, "access_conflict");
    assert_code(f.store.commit_access(TenantId::new(), AccessStep::default()).await, "tenant_not_found");
}

/// A delivery's step: the request, the assignment and the memberships in one
/// transaction, the memberships with their change rows; a refused write or a moved
/// version leaves nothing of the step, directory included.
pub async fn a_step_carries_directory_writes_with_their_changes(f: AccessFixture) {
    let t = tenant(&f, "a.example").await;
    let at = now(&f);
    let ann = f.store.create_user(t, new_user("ann@a.example")).await.unwrap().id;
    let (g, h) = (
        f.store.create_group(t, crate::support::new_group("Projects")).await.unwrap().id,
        f.store.create_group(t, crate::support::new_group("Finance")).await.unwrap().id,
    );
    let head = |s: Arc<dyn FullStore>| async move { s.change_head(t).await.unwrap().0 };
    let members = |s: Arc<dyn FullStore>, group: ObjectId| async move {
        s.list_members(t, group, &tenantsync_store::ListQuery::default()).await.unwrap().items.into_iter().map(|u| u.id).collect::<Vec<_>>()
    };
    let join = |group: ObjectId| WriteOp::SetMembership { group, user: ann, member: true };
    let r = request(Some(ann), PackageId::new(), RequestState::Delivered, at);
    let before = head(f.store.clone()).await;
    let step = AccessStep {
        requests: vec![new_row(r.clone(), None)],
        assignments: vec![new_row(assignment(ann, r.access_package_id, AssignmentState::Delivered, at), None)],
        outbox: vec![message(at, "accessGranted")],
        directory: vec![join(g), join(h)],
        ..AccessStep::default()
    };
    f.store.commit_access(t, step).await.unwrap();
    assert_eq!((members(f.store.clone(), g).await, members(f.store.clone(), h).await), (vec![ann], vec![ann]));
    assert_eq!(head(f.store.clone()).await, before + 2, "one change row a membership");
    assert_eq!(f.store.access_request(t, r.id).await.unwrap().map(|v| v.version), Some(1));
    // Delivered again (a retry): the memberships stand, no change is appended.
    let again = AccessStep { requests: vec![StepRow { value: r.clone(), expect: Some(1), due: None }], directory: vec![join(g)], ..AccessStep::default() };
    f.store.commit_access(t, again).await.unwrap();
    assert_eq!(head(f.store.clone()).await, before + 2);
    // A moved version: the membership of the step is not written.
    let k = f.store.create_group(t, crate::support::new_group("Legal")).await.unwrap().id;
    let before = head(f.store.clone()).await;
    let stale = AccessStep { requests: vec![StepRow { value: r.clone(), expect: Some(1), due: None }], directory: vec![join(k)], ..AccessStep::default() };
    assert_code(f.store.commit_access(t, stale).await, "access_conflict");
    assert!(members(f.store.clone(), k).await.is_empty());
    // A refused directory write (a group that is not there): nothing of the step.
    let lost = request(Some(ann), PackageId::new(), RequestState::Delivered, at);
    let refused = AccessStep {
        requests: vec![new_row(lost.clone(), None)],
        outbox: vec![message(at, "accessGranted")],
        directory: vec![join(k), join(ObjectId::new())],
        ..AccessStep::default()
    };
    assert_code(f.store.commit_access(t, refused).await, "not_found");
    assert!(members(f.store.clone(), k).await.is_empty(), "the first write of the refused step is gone too");
    assert_eq!(f.store.access_request(t, lost.id).await.unwrap(), None);
    assert_eq!(f.store.outbox(t, 10).await.unwrap().len(), 1, "only the first step's message");
    assert_eq!(head(f.store.clone()).await, before);
    assert_code(f.store.commit_access(TenantId::new(), AccessStep { directory: vec![join(g)], ..AccessStep::default() }).await, "tenant_not_found");
}

/// A step may carry the audit record of the admin action it is (an invitation: the guest,
/// its mail, the record): all of it commits, or nothing does — a refused directory write
/// or a record of another tenant leaves no record, no message and no user.
pub async fn a_step_commits_its_audit_record_with_its_writes(f: AccessFixture) {
    use tenantsync_store::AuditQuery;
    let t = tenant(&f, "a.example").await;
    let at = now(&f);
    let record = |tenant: TenantId, activity: &str| crate::support::audit_record(tenant, at, activity);
    let audits = |s: Arc<dyn FullStore>| async move {
        s.audit_records(t, &AuditQuery { limit: 10, ..AuditQuery::default() }).await.unwrap().records.into_iter().map(|r| r.activity).collect::<Vec<_>>()
    };
    let invite = |activity: &str, tenant: TenantId, upn: &str| AccessStep {
        directory: vec![WriteOp::CreateUser(Box::new(new_user(upn)))],
        outbox: vec![message(at, "invitation")],
        audit: Some(record(tenant, activity)),
        ..AccessStep::default()
    };
    f.store.commit_access(t, invite("Invite external user", t, "ann_b.example#EXT#@a.example")).await.unwrap();
    assert_eq!(audits(f.store.clone()).await, ["Invite external user"]);
    assert_eq!(f.store.outbox(t, 10).await.unwrap().len(), 1);
    assert!(f.store.find_user_by_upn(t, &crate::support::upn("ann_b.example#EXT#@a.example")).await.unwrap().is_some());
    // The same guest again: refused, and neither its record nor its message is kept.
    assert_code(f.store.commit_access(t, invite("Invite again", t, "ANN_b.example#EXT#@a.example")).await, "upn_conflict");
    // A record of another tenant: refused before anything is written.
    let other = tenant(&f, "b.example").await;
    assert!(f.store.commit_access(t, invite("Invite elsewhere", other, "bob_b.example#EXT#@a.example")).await.is_err());
    assert!(f.store.find_user_by_upn(t, &crate::support::upn("bob_b.example#EXT#@a.example")).await.unwrap().is_none());
    // No directory write (an invitation sent again to a guest who exists): the record
    // and the message alone.
    let resend = AccessStep { outbox: vec![message(at, "invitation")], audit: Some(record(t, "Invite external user again")), ..AccessStep::default() };
    f.store.commit_access(t, resend).await.unwrap();
    let mut got = audits(f.store.clone()).await;
    got.sort();
    assert_eq!(got, ["Invite external user", "Invite external user again"]);
    assert_eq!(f.store.outbox(t, 10).await.unwrap().len(), 2);
}

/// Many steps at once (a store may commit them together): each is whole or nothing on
/// its own — of competing deciders exactly one wins, a refused directory write takes
/// only its own step with it, and the others all commit.
pub async fn steps_at_once_each_commit_whole_or_not_at_all(f: AccessFixture) {
    let t = tenant(&f, "a.example").await;
    let at = now(&f);
    let ann = f.store.create_user(t, new_user("ann@a.example")).await.unwrap().id;
    let g = f.store.create_group(t, crate::support::new_group("Projects")).await.unwrap().id;
    let contested = request(Some(ann), PackageId::new(), RequestState::PendingApproval, at);
    f.store.commit_access(t, AccessStep { requests: vec![new_row(contested.clone(), None)], ..AccessStep::default() }).await.unwrap();
    let fresh: Vec<Request> = (0..12).map(|_| request(Some(ann), PackageId::new(), RequestState::Delivered, at)).collect();
    let refused: Vec<Request> = (0..4).map(|_| request(Some(ann), PackageId::new(), RequestState::Delivered, at)).collect();
    let mut tasks = Vec::new();
    for r in &fresh {
        let (s, r) = (f.store.clone(), r.clone());
        let step = AccessStep {
            requests: vec![new_row(r, None)],
            directory: vec![WriteOp::SetMembership { group: g, user: ann, member: true }],
            ..AccessStep::default()
        };
        tasks.push(tokio::spawn(async move { ("fresh", s.commit_access(t, step).await) }));
    }
    for _ in 0..4 {
        let (s, mut r) = (f.store.clone(), contested.clone());
        r.state = RequestState::Delivering;
        let step = AccessStep { requests: vec![StepRow { value: r, expect: Some(1), due: None }], ..AccessStep::default() };
        tasks.push(tokio::spawn(async move { ("contested", s.commit_access(t, step).await) }));
    }
    for r in &refused {
        let (s, r) = (f.store.clone(), r.clone());
        let step = AccessStep {
            requests: vec![new_row(r, None)],
            directory: vec![WriteOp::SetMembership { group: ObjectId::new(), user: ann, member: true }],
            ..AccessStep::default()
        };
        tasks.push(tokio::spawn(async move { ("refused", s.commit_access(t, step).await) }));
    }
    let mut won = 0;
    for task in tasks {
        match task.await.unwrap() {
            ("fresh", outcome) => outcome.unwrap(),
            ("contested", Ok(())) => won += 1,
            ("contested", outcome) => assert_code(outcome, "access_conflict"),
            (_, outcome) => assert_code(outcome, "not_found"),
        }
    }
    assert_eq!(won, 1, "the first decider wins, the others conflict");
    for r in &fresh {
        assert_eq!(f.store.access_request(t, r.id).await.unwrap().map(|v| v.version), Some(1));
    }
    for r in &refused {
        assert_eq!(f.store.access_request(t, r.id).await.unwrap(), None);
    }
    assert_eq!(f.store.access_request(t, contested.id).await.unwrap().map(|v| (v.value.state, v.version)), Some((RequestState::Delivering, 2)));
    let members = f.store.list_members(t, g, &tenantsync_store::ListQuery::default()).await.unwrap();
    assert_eq!(members.items.iter().map(|u| u.id).collect::<Vec<_>>(), vec![ann]);
}

pub async fn due_work_is_found_by_its_time_across_tenants(f: AccessFixture) {
    let (a, b) = (tenant(&f, "a.example").await, tenant(&f, "b.example").await);
    let at = now(&f);
    let hour = |h: u64| IsoDuration::hours(h).after(at);
    let r_a = request(None, PackageId::new(), RequestState::PendingApproval, at);
    let r_b = request(None, PackageId::new(), RequestState::Scheduled, at);
    let r_never = request(None, PackageId::new(), RequestState::Delivered, at);
    let x = assignment(ObjectId::new(), PackageId::new(), AssignmentState::Delivered, at);
    let guest = GuestSchedule { user: ObjectId::new(), delete_at: hour(5) };
    let spared = GuestSchedule { user: ObjectId::new(), delete_at: hour(1) };
    f.store
        .commit_access(
            a,
            AccessStep { requests: vec![new_row(r_a.clone(), Some(hour(2))), new_row(r_never, None)], guests: vec![guest, spared], ..AccessStep::default() },
        )
        .await
        .unwrap();
    f.store
        .commit_access(
            b,
            AccessStep { requests: vec![new_row(r_b.clone(), Some(hour(1)))], assignments: vec![new_row(x.clone(), Some(hour(3)))], ..AccessStep::default() },
        )
        .await
        .unwrap();
    f.store.commit_access(a, AccessStep { guests_spared: vec![spared.user], ..AccessStep::default() }).await.unwrap();
    assert!(f.store.due_access_work(at, 10).await.unwrap().is_empty());
    let due = f.store.due_access_work(hour(2), 10).await.unwrap();
    assert_eq!(due.requests.iter().map(|(t, v)| (*t, v.value.id)).collect::<Vec<_>>(), vec![(b, r_b.id), (a, r_a.id)], "oldest due first");
    assert!(due.assignments.is_empty() && due.guests.is_empty());
    assert_eq!(f.store.due_access_work(hour(2), 1).await.unwrap().requests.len(), 1, "at most the limit");
    let due = f.store.due_access_work(hour(5), 10).await.unwrap();
    assert_eq!(due.assignments.iter().map(|(t, v)| (*t, v.value.id)).collect::<Vec<_>>(), vec![(b, x.id)]);
    assert_eq!(due.guests, vec![(a, guest)]);
    // Done with: no longer due.
    let mut done = r_a.clone();
    done.state = RequestState::Denied;
    f.store.commit_access(a, AccessStep { requests: vec![StepRow { value: done, expect: Some(1), due: None }], ..AccessStep::default() }).await.unwrap();
    f.store.forget_guest(a, guest.user).await.unwrap();
    let due = f.store.due_access_work(hour(5), 10).await.unwrap();
    assert_eq!(due.requests.len(), 1);
    assert!(due.guests.is_empty());
}

pub async fn filters_find_requests_and_assignments(f: AccessFixture) {
    let t = tenant(&f, "a.example").await;
    let at = now(&f);
    let user = f.store.create_user(t, new_user("ann@a.example")).await.unwrap().id;
    let (p, q) = (PackageId::new(), PackageId::new());
    let mine = request(Some(user), p, RequestState::PendingApproval, at);
    let mine_done = request(Some(user), q, RequestState::Denied, at);
    let theirs = request(Some(ObjectId::new()), p, RequestState::PendingApproval, at);
    let current = assignment(user, p, AssignmentState::Delivered, at);
    let expired = assignment(user, q, AssignmentState::Expired, at);
    let other = assignment(ObjectId::new(), p, AssignmentState::Delivered, at);
    let step = AccessStep {
        requests: vec![new_row(mine.clone(), None), new_row(mine_done.clone(), None), new_row(theirs.clone(), None)],
        assignments: vec![new_row(current.clone(), None), new_row(expired.clone(), None), new_row(other.clone(), None)],
        ..AccessStep::default()
    };
    f.store.commit_access(t, step).await.unwrap();
    let ids = |v: Vec<tenantsync_store::Versioned<Request>>| v.into_iter().map(|r| r.value.id).collect::<Vec<_>>();
    assert_eq!(
        ids(f.store.access_requests(t, RequestFilter { requestor: Some(user), ..RequestFilter::default() }).await.unwrap()),
        vec![mine.id, mine_done.id]
    );
    assert_eq!(
        ids(f.store.access_requests(t, RequestFilter { requestor: Some(user), open_only: true, ..RequestFilter::default() }).await.unwrap()),
        vec![mine.id]
    );
    assert_eq!(ids(f.store.access_requests(t, RequestFilter { package: Some(p), ..RequestFilter::default() }).await.unwrap()), vec![mine.id, theirs.id]);
    let aids = |v: Vec<tenantsync_store::Versioned<Assignment>>| v.into_iter().map(|a| a.value.id).collect::<Vec<_>>();
    assert_eq!(
        aids(f.store.access_assignments(t, AssignmentFilter { target: Some(user), ..AssignmentFilter::default() }).await.unwrap()),
        vec![current.id, expired.id]
    );
    assert_eq!(
        aids(f.store.access_assignments(t, AssignmentFilter { target: Some(user), current_only: true, ..AssignmentFilter::default() }).await.unwrap()),
        vec![current.id]
    );
    assert_eq!(
        aids(f.store.access_assignments(t, AssignmentFilter { package: Some(p), ..AssignmentFilter::default() }).await.unwrap()),
        vec![current.id, other.id]
    );
    let by_policy = AssignmentFilter { policy: Some(other.assignment_policy_id), ..AssignmentFilter::default() };
    assert_eq!(aids(f.store.access_assignments(t, by_policy).await.unwrap()), vec![other.id]);
    // A page at a time, in id order.
    let first = f.store.access_assignments(t, AssignmentFilter { limit: Some(2), ..AssignmentFilter::default() }).await.unwrap();
    assert_eq!(aids(first.clone()), vec![current.id, expired.id]);
    let rest = AssignmentFilter { after: Some(expired.id), limit: Some(2), ..AssignmentFilter::default() };
    assert_eq!(aids(f.store.access_assignments(t, rest).await.unwrap()), vec![other.id]);
    let page = RequestFilter { after: Some(mine.id), limit: Some(1), ..RequestFilter::default() };
    assert_eq!(ids(f.store.access_requests(t, page).await.unwrap()), vec![mine_done.id]);
    // And backwards: the page that ends just before a row, still in id order.
    let back = AssignmentFilter { before: Some(other.id), limit: Some(1), ..AssignmentFilter::default() };
    assert_eq!(aids(f.store.access_assignments(t, back).await.unwrap()), vec![expired.id]);
    let back = AssignmentFilter { before: Some(other.id), limit: Some(5), ..AssignmentFilter::default() };
    assert_eq!(aids(f.store.access_assignments(t, back).await.unwrap()), vec![current.id, expired.id]);
    let back = AssignmentFilter { target: Some(user), before: Some(expired.id), limit: Some(5), ..AssignmentFilter::default() };
    assert_eq!(aids(f.store.access_assignments(t, back).await.unwrap()), vec![current.id]);
    let back = RequestFilter { before: Some(theirs.id), limit: Some(1), ..RequestFilter::default() };
    assert_eq!(ids(f.store.access_requests(t, back).await.unwrap()), vec![mine_done.id]);
    let back = RequestFilter { requestor: Some(user), before: Some(mine_done.id), ..RequestFilter::default() };
    assert_eq!(ids(f.store.access_requests(t, back).await.unwrap()), vec![mine.id]);
    // One by its id; none of another tenant's.
    let one = f.store.access_assignment(t, expired.id).await.unwrap().unwrap();
    assert_eq!((one.value, one.version), (expired.clone(), 1));
    assert!(f.store.access_assignment(t, tenantsync_access::AssignmentId::new()).await.unwrap().is_none());
    let b = tenant(&f, "b.example").await;
    assert!(f.store.access_assignment(b, expired.id).await.unwrap().is_none());
}

/// The counts a drawing's just-in-time link shows: current assignments and open requests
/// of one package, nothing of another package or tenant.
pub async fn a_package_counts_its_current_assignments_and_open_requests(f: AccessFixture) {
    let t = tenant(&f, "a.example").await;
    let at = now(&f);
    let (p, q) = (PackageId::new(), PackageId::new());
    assert_eq!(f.store.count_access(t, p).await.unwrap(), tenantsync_store::AccessCounts::default());
    let step = AccessStep {
        requests: vec![
            new_row(request(Some(ObjectId::new()), p, RequestState::PendingApproval, at), None),
            new_row(request(Some(ObjectId::new()), p, RequestState::PendingApproval, at), None),
            new_row(request(Some(ObjectId::new()), p, RequestState::Denied, at), None),
            new_row(request(Some(ObjectId::new()), q, RequestState::PendingApproval, at), None),
        ],
        assignments: vec![
            new_row(assignment(ObjectId::new(), p, AssignmentState::Delivered, at), None),
            new_row(assignment(ObjectId::new(), p, AssignmentState::Expired, at), None),
            new_row(assignment(ObjectId::new(), q, AssignmentState::Delivered, at), None),
        ],
        ..AccessStep::default()
    };
    f.store.commit_access(t, step).await.unwrap();
    assert_eq!(f.store.count_access(t, p).await.unwrap(), tenantsync_store::AccessCounts { assignments: 1, pending_requests: 2 });
    assert_eq!(f.store.count_access(t, q).await.unwrap(), tenantsync_store::AccessCounts { assignments: 1, pending_requests: 1 });
    let b = tenant(&f, "b.example").await;
    assert_eq!(f.store.count_access(b, p).await.unwrap(), tenantsync_store::AccessCounts::default());
}

pub async fn the_outbox_keeps_attempts_until_sent(f: AccessFixture) {
    let t = tenant(&f, "a.example").await;
    let at = now(&f);
    let (first, second) = (message(at, "approvalRequired"), message(IsoDuration::seconds(1).after(at), "accessGranted"));
    f.store.commit_access(t, AccessStep { outbox: vec![first.clone(), second.clone()], ..AccessStep::default() }).await.unwrap();
    let later = IsoDuration::hours(1).after(at);
    let pending = f.store.pending_outbox(later, 10).await.unwrap();
    assert_eq!(pending.iter().map(|(tt, m)| (*tt, m.id)).collect::<Vec<_>>(), vec![(t, first.id), (t, second.id)]);
    // A failed attempt waits until its next time; a sent one is done.
    f.store.outbox_attempted(t, first.id, false, IsoDuration::hours(2).after(at)).await.unwrap();
    f.store.outbox_attempted(t, second.id, true, later).await.unwrap();
    assert!(f.store.pending_outbox(later, 10).await.unwrap().is_empty());
    let again = f.store.pending_outbox(IsoDuration::hours(2).after(at), 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].1.id, again[0].1.attempts), (first.id, 1));
    let all = f.store.outbox(t, 10).await.unwrap();
    assert_eq!(all.iter().map(|m| (m.id, m.delivered.is_some())).collect::<Vec<_>>(), vec![(second.id, true), (first.id, false)], "newest first");
    assert_code(f.store.outbox_attempted(t, ObjectId::new(), true, later).await, "access_conflict");
}
