//! Helpers shared by the cases: builders, error checks, change-feed expectations and
//! whole-tenant snapshots.
use crate::Fixture;
use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;
use tenantsync_domain::{
    Anchor, AttrValue, AttributeChange, Change, ChangeCursor, ChangeOp, Clock, ExtensionName, Group, GroupAttributes, GroupPatch, Mail, NewGroup, NewTenant,
    NewUser, ObjectId, ObjectKind, Tenant, TenantId, Upn, User, UserPatch, UserType,
};
use tenantsync_store::{ListQuery, Result, StoreError, Visibility};

/// How long a case waits for something that should happen at once before failing. A
/// guard against hangs, not a timing assertion.
pub const PATIENCE: Duration = Duration::from_secs(5);

/// Awaits `fut`, failing the case if it takes longer than [`PATIENCE`].
pub async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    match tokio::time::timeout(PATIENCE, fut).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: did not finish within {PATIENCE:?}"),
    }
}

pub fn upn(s: &str) -> Upn {
    Upn::parse(s).unwrap()
}

pub fn mail(s: &str) -> Mail {
    Mail::parse(s).unwrap()
}

pub fn text(s: &str) -> AttrValue {
    AttrValue::String(s.to_owned())
}

pub fn ext(name: &str) -> ExtensionName {
    ExtensionName::parse(&format!("extension_0123456789abcdef0123456789abcdef_{name}")).unwrap()
}

pub fn anchor() -> Anchor {
    Anchor::new(TenantId::new(), ObjectId::new())
}

/// A user with only a UPN.
pub fn new_user(u: &str) -> NewUser {
    NewUser::new(upn(u))
}

/// A user with every attribute set (no manager).
pub fn full_user(u: &str) -> NewUser {
    let mut n = NewUser::new(upn(u));
    let a = &mut n.attrs;
    a.mail = Some(mail("Full.Person@Mail.Example"));
    a.display_name = Some("Full Person".into());
    a.given_name = Some("Full".into());
    a.surname = Some("Person".into());
    a.mail_nickname = Some("fullp".into());
    a.account_enabled = false;
    a.user_type = UserType::Guest;
    a.department = Some("Engineering".into());
    a.job_title = Some("Staff Engineer".into());
    a.company_name = Some("Contoso".into());
    a.employee_id = Some("E-0042".into());
    a.office_location = Some("Building 7".into());
    a.street_address = Some("1 Main Street\u{00A0}Suite 2".into());
    a.city = Some("Tromsø".into());
    a.state = Some("Troms".into());
    a.postal_code = Some("9008".into());
    a.country = Some("Norway".into());
    a.usage_location = Some("NO".into());
    a.preferred_language = Some("nb-NO".into());
    a.telephone_number = Some("+47 1234 5678".into());
    a.mobile_phone = Some("+47 8765 4321".into());
    a.external_id = Some("Ext-0042".into());
    a.extensions.insert(ext("costCenter"), text("CC-17"));
    a.extensions.insert(ext("skills"), AttrValue::Strings(vec!["rust".into(), "sql".into(), "ünïcödé".into()]));
    n
}

pub fn new_group(name: &str) -> NewGroup {
    NewGroup::new(GroupAttributes::new(name).unwrap())
}

pub fn user_patch(pairs: &[(&str, AttrValue)]) -> UserPatch {
    UserPatch::from_pairs(pairs.iter().map(|(n, v)| (*n, v.clone()))).unwrap()
}

pub fn group_patch(pairs: &[(&str, AttrValue)]) -> GroupPatch {
    GroupPatch::from_pairs(pairs.iter().map(|(n, v)| (*n, v.clone()))).unwrap()
}

/// Creates a tenant with the given initial domain.
pub async fn tenant(f: &Fixture, domain: &str) -> Tenant {
    f.store.create_tenant(NewTenant::new(&format!("Tenant {domain}"), domain).unwrap()).await.unwrap()
}

/// The error of a result that must have failed.
#[track_caller]
pub fn err<T: Debug>(r: Result<T>) -> StoreError {
    match r {
        Ok(v) => panic!("expected an error, got Ok({v:?})"),
        Err(e) => e,
    }
}

/// Asserts that `r` failed with the error code `code`.
#[track_caller]
pub fn assert_code<T: Debug>(r: Result<T>, code: &str) {
    let e = err(r);
    assert_eq!(e.code(), code, "expected error code {code}, got {e:?}");
}

pub async fn head(f: &Fixture, t: TenantId) -> ChangeCursor {
    f.store.change_head(t).await.unwrap()
}

/// Every change after `cursor`, checking that they belong to the tenant and that their
/// sequence numbers follow on from the cursor without gaps.
pub async fn changes_after(f: &Fixture, t: TenantId, cursor: ChangeCursor) -> Vec<Change> {
    let mut out: Vec<Change> = Vec::new();
    let mut at = cursor;
    for _ in 0..10_000 {
        let page = f.store.changes_since(t, at, 1000).await.unwrap();
        if page.changes.is_empty() {
            assert_eq!(page.next_cursor, at, "next_cursor of an empty page must be the cursor given");
            return out;
        }
        for c in &page.changes {
            assert_eq!(c.tenant_id, t, "change of another tenant in the feed: {c:?}");
            assert_eq!(c.seq, at.0 + 1, "sequence numbers must follow on without gaps; after {at} came {c:?}");
            at = c.cursor();
        }
        assert_eq!(page.next_cursor, at, "next_cursor must be the last change returned");
        out.extend(page.changes);
    }
    panic!("change feed did not end");
}

/// A change as the cases describe it: what it did to which object (no seq, no time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ch {
    pub op: ChangeOp,
    pub kind: ObjectKind,
    pub id: ObjectId,
    pub member: Option<ObjectId>,
    /// Sorted by name; not compared for `create` changes (the trait leaves their
    /// attributes open: "its attributes are the object's own").
    pub attrs: Vec<AttributeChange>,
}

impl Ch {
    pub fn user(op: ChangeOp, id: ObjectId) -> Ch {
        Ch { op, kind: ObjectKind::User, id, member: None, attrs: Vec::new() }
    }
    pub fn group(op: ChangeOp, id: ObjectId) -> Ch {
        Ch { op, kind: ObjectKind::Group, id, member: None, attrs: Vec::new() }
    }
    pub fn member_add(group: ObjectId, user: ObjectId) -> Ch {
        Ch { member: Some(user), ..Ch::group(ChangeOp::MemberAdd, group) }
    }
    pub fn member_remove(group: ObjectId, user: ObjectId) -> Ch {
        Ch { member: Some(user), ..Ch::group(ChangeOp::MemberRemove, group) }
    }
    pub fn attr(mut self, name: &str, old: AttrValue, new: AttrValue) -> Ch {
        self.attrs.push(AttributeChange { name: name.to_owned(), old, new });
        self.attrs.sort_by(|a, b| a.name.cmp(&b.name));
        self
    }
    /// The manager of `report` went from `old` to nothing.
    pub fn manager_cleared(report: ObjectId, old: ObjectId) -> Ch {
        Ch::user(ChangeOp::Update, report).attr("manager", text(&old.to_string()), AttrValue::Null)
    }

    pub fn of(c: &Change) -> Ch {
        let mut attrs = c.attributes.clone();
        attrs.sort_by(|a, b| a.name.cmp(&b.name));
        if c.op == ChangeOp::Create {
            attrs.clear();
        }
        Ch { op: c.op, kind: c.object_kind, id: c.object_id, member: c.member_id, attrs }
    }
}

/// Asserts the changes are exactly `expected`, in order.
#[track_caller]
pub fn assert_changes(actual: &[Change], expected: &[Ch]) {
    let got: Vec<Ch> = actual.iter().map(Ch::of).collect();
    assert_eq!(got, expected, "change feed differs\nfull changes: {actual:#?}");
}

/// Asserts the changes are exactly `expected`, in any order.
#[track_caller]
pub fn assert_changes_any_order(actual: &[Change], expected: &[Ch]) {
    let key = |c: &Ch| format!("{c:?}");
    let mut got: Vec<Ch> = actual.iter().map(Ch::of).collect();
    let mut want = expected.to_vec();
    got.sort_by_key(key);
    want.sort_by_key(key);
    assert_eq!(got, want, "change feed differs (order ignored)\nfull changes: {actual:#?}");
}

/// Asserts that every change carries the clock's current time.
#[track_caller]
pub fn assert_changes_at_now(f: &Fixture, changes: &[Change]) {
    let now = f.clock.now();
    for c in changes {
        assert_eq!(c.at, now, "change time must come from the store's clock: {c:?}");
    }
}

pub fn query(after: Option<ObjectId>, limit: u32, visibility: Visibility) -> ListQuery {
    ListQuery { after, limit, visibility, ..ListQuery::default() }
}

/// Every user of the tenant with the visibility, following pages by the last id.
pub async fn all_users(f: &Fixture, t: TenantId, visibility: Visibility) -> Vec<User> {
    let mut out: Vec<User> = Vec::new();
    let mut after = None;
    for _ in 0..10_000 {
        let page = f.store.list_users(t, &query(after, 500, visibility)).await.unwrap();
        let short = page.items.len() < 500;
        after = page.items.last().map(|u| u.id);
        out.extend(page.items);
        if short {
            return out;
        }
    }
    panic!("user listing did not end");
}

pub async fn all_groups(f: &Fixture, t: TenantId, visibility: Visibility) -> Vec<Group> {
    let mut out: Vec<Group> = Vec::new();
    let mut after = None;
    for _ in 0..10_000 {
        let page = f.store.list_groups(t, &query(after, 500, visibility)).await.unwrap();
        let short = page.items.len() < 500;
        after = page.items.last().map(|g| g.id);
        out.extend(page.items);
        if short {
            return out;
        }
    }
    panic!("group listing did not end");
}

pub async fn member_ids(f: &Fixture, t: TenantId, group: ObjectId) -> Vec<ObjectId> {
    let page = f.store.list_members(t, group, &query(None, 10_000, Visibility::Active)).await.unwrap();
    page.items.into_iter().map(|u| u.id).collect()
}

pub async fn member_of(f: &Fixture, t: TenantId, user: ObjectId) -> Vec<ObjectId> {
    let mut v = f.store.member_of(t, user).await.unwrap();
    v.sort();
    v
}

pub fn ids_of_users(users: &[User]) -> Vec<ObjectId> {
    users.iter().map(|u| u.id).collect()
}

pub fn ids_of_groups(groups: &[Group]) -> Vec<ObjectId> {
    groups.iter().map(|g| g.id).collect()
}

/// Everything a tenant holds, as the read API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    /// For each user (all visibilities): the groups it is a direct member of.
    pub member_of: Vec<(ObjectId, Vec<ObjectId>)>,
    /// For each group (all visibilities): its listed members.
    pub members: Vec<(ObjectId, Vec<ObjectId>)>,
    pub head: ChangeCursor,
    pub changes: Vec<Change>,
}

pub async fn snapshot(f: &Fixture, t: TenantId) -> Snapshot {
    let users = all_users(f, t, Visibility::All).await;
    let groups = all_groups(f, t, Visibility::All).await;
    let mut mo = Vec::new();
    for u in &users {
        mo.push((u.id, member_of(f, t, u.id).await));
    }
    let mut members = Vec::new();
    for g in &groups {
        members.push((g.id, member_ids(f, t, g.id).await));
    }
    Snapshot { users, groups, member_of: mo, members, head: head(f, t).await, changes: changes_after(f, t, ChangeCursor::START).await }
}

/// Asserts the tenant is exactly as in `before`.
pub async fn assert_unchanged(f: &Fixture, t: TenantId, before: &Snapshot, what: &str) {
    let now = snapshot(f, t).await;
    assert_eq!(&now, before, "{what} must leave the tenant unchanged");
}

/// Advances the store's clock by whole seconds.
pub fn tick(f: &Fixture, seconds: i64) {
    f.clock.advance_ms(seconds * 1000);
}

pub const DAY_SECONDS: i64 = 86_400;

// ---- sync state ----

/// A source tenant, a target tenant and a configuration from one to the other.
#[derive(Debug, Clone)]
pub struct Arrow {
    pub source: Tenant,
    pub target: Tenant,
    pub config: tenantsync_domain::SyncConfiguration,
}

pub async fn arrow(f: &Fixture) -> Arrow {
    let source = tenant(f, "contoso.example").await;
    let target = tenant(f, "fabrikam.example").await;
    let config = f.store.create_sync_configuration(tenantsync_domain::SyncConfiguration::new("arrow", source.id, target.id).unwrap()).await.unwrap();
    Arrow { source, target, config }
}

/// A job state at `watermark`.
pub fn at(watermark: u64) -> tenantsync_store::JobState {
    tenantsync_store::JobState { watermark: ChangeCursor(watermark), ..tenantsync_store::JobState::default() }
}

/// A log record of configuration `config` about `source`, at `time`.
pub fn log_record(
    config: tenantsync_domain::SyncConfigId,
    source: ObjectId,
    target: Option<ObjectId>,
    time: jiff::Timestamp,
) -> tenantsync_store::ProvisioningLog {
    use tenantsync_store::{ModifiedProperty, ProvisioningAction, ProvisioningLog, ProvisioningStatus, ProvisioningStep};
    ProvisioningLog {
        id: ObjectId::new().to_string(),
        config_id: config,
        cycle_id: "cycle".into(),
        change_id: format!("cycle-{source}"),
        activity_date_time: time,
        provisioning_action: ProvisioningAction::Create,
        status: ProvisioningStatus::Success,
        object_type: ObjectKind::User,
        source_id: source,
        source_display_name: format!("{source}"),
        target_id: target,
        skip_reason: None,
        error_code: None,
        error_message: None,
        modified_properties: vec![ModifiedProperty { display_name: "city".into(), old_value: None, new_value: Some("Tromsø".into()), new_in_copy: None }],
        steps: vec![ProvisioningStep::new(tenantsync_domain::StepKind::EntryExport, ProvisioningStatus::Success, "Create".into())],
        step_facts: None,
        duration_in_milliseconds: 1,
        op_index: None,
    }
}

/// Creates of `upns` in a target, each with a log record naming its write (`op_index`).
pub fn creates(a: &Arrow, f: &Fixture, upns: &[&str]) -> (Vec<tenantsync_store::WriteOp>, Vec<tenantsync_store::ProvisioningLog>) {
    let mut ops = Vec::new();
    let mut logs = Vec::new();
    for (i, u) in upns.iter().enumerate() {
        let user = new_user(u);
        let mut log = log_record(a.config.id, user.id, Some(user.id), f.clock.now());
        log.source_display_name = (*u).to_owned();
        log.op_index = Some(i);
        logs.push(log);
        ops.push(tenantsync_store::WriteOp::CreateUser(Box::new(user)));
    }
    (ops, logs)
}

pub async fn exists(f: &Fixture, t: TenantId, u: &str) -> bool {
    f.store.find_user_by_upn(t, &upn(u)).await.unwrap().is_some()
}

/// Every log record of a configuration, newest first.
pub async fn logs_of(f: &Fixture, config: tenantsync_domain::SyncConfigId) -> Vec<tenantsync_store::ProvisioningLog> {
    f.store.provisioning_logs(&tenantsync_store::LogQuery { config_id: Some(config), limit: 100_000, ..Default::default() }).await.unwrap()
}

/// An audit record of `activity` on a new user of `tenant` at `at`, made by an admin token.
pub fn audit_record(tenant: TenantId, at: jiff::Timestamp, activity: &str) -> tenantsync_store::AuditRecord {
    use tenantsync_store::{AuditActor, AuditCategory, AuditOperation, AuditRecord, AuditTarget};
    AuditRecord {
        id: ObjectId::new(),
        tenant_id: tenant,
        activity_date_time: at,
        activity: activity.into(),
        operation: AuditOperation::Add,
        category: AuditCategory::UserManagement,
        correlation_id: "req-1".into(),
        initiated_by: AuditActor { token_id: ObjectId::new(), token_name: "admin".into() },
        target: AuditTarget { kind: "User".into(), id: ObjectId::new().to_string(), display_name: None, user_principal_name: None },
        modified_properties: Vec::new(),
    }
}
