//! Auto-assignment policies driven by the change feed (reference §3.10): everyone whose
//! attributes pass the policy's rule (a scoping filter, `department EQUALS Legal`) gets a
//! `systemAdd` request; someone who stops passing loses the assignment by a
//! `systemRemove` after the grace period, unless they pass again before it ends.
//!
//! Each policy keeps its progress in the store ([`AutoProgress`], under the policy's id):
//! the last change of the tenant's feed it evaluated and the removals it has pending. A
//! pass reads the feed from there, so a restart misses nothing and the work follows the
//! changes, not the directory. A policy seen for the first time, or whose rule or
//! settings changed, walks the tenant once (from the head read before the walk, so what
//! changes during it is evaluated again from the feed). Every step is idempotent: a
//! change evaluated twice (a crash before the watermark was stored) asks for nothing new.
use crate::definitions::oid;
use crate::{Actor, Governance, GovernanceError, NewRequest, Result, Subject};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use tenantsync_access::{
    AccessError, Assignment, AssignmentPolicy, AssignmentState, AutoAction, AutomaticRequestSettings, Request, RequestId, RequestState, RequestStatus,
    RequestType, Schedule, SubjectSet, TargetScope, auto_action,
};
use tenantsync_domain::{AttrValue, ChangeCursor, ObjectId, ObjectKind, TenantId, User, UserAttrName, UserAttribute, UserType};
use tenantsync_expression::scoping::{CompiledFilter, Filter};
use tenantsync_expression::{Row, Schema, Slot, Value};
use tenantsync_store::{AccessObjectKind, AssignmentFilter, ListQuery, StoreError};

/// Changes read per page of the feed.
const FEED_PAGE: u32 = 1000;
/// Users read per page of a walk.
const WALK_PAGE: u32 = 1000;

/// What a pass over the auto-assignment policies did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AutoReport {
    /// People evaluated against a rule (changed ones, walked ones, removals due).
    pub evaluated: usize,
    /// `systemAdd` requests made.
    pub assigned: usize,
    /// Removals planned at the end of a grace period.
    pub removals_scheduled: usize,
    /// Planned removals called off: the person passes again.
    pub removals_canceled: usize,
    /// `systemRemove` requests made.
    pub removed: usize,
    /// Walks of a whole tenant (a new or changed policy).
    pub walks: usize,
    /// Tenants left alone: another worker held their lease (it evaluates them).
    pub leased_elsewhere: usize,
}

/// An auto-assignment policy's progress through its tenant's feed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AutoProgress {
    /// The rule and settings the progress belongs to: when they change, the tenant is
    /// walked again.
    pub evaluated_under: String,
    /// The last change of the tenant's feed evaluated.
    pub watermark: u64,
    /// People who stopped passing, and when their assignment is removed unless they pass again.
    pub removals: BTreeMap<ObjectId, Timestamp>,
}

/// A policy's rule, compiled: its attribute rules ORed (a rule's clauses ANDed).
#[derive(Debug)]
pub struct Rule {
    names: Vec<UserAttrName>,
    schema: Schema,
    filter: CompiledFilter,
    members_only: bool,
}

impl Rule {
    /// The rule of an auto-assignment policy; an attribute rule that does not parse or
    /// names an unknown attribute is `invalid_policy`.
    pub fn of(policy: &AssignmentPolicy) -> Result<Rule, AccessError> {
        let bad = |text: &str, e: tenantsync_expression::Error| AccessError::InvalidPolicy {
            policy: policy.display_name.clone(),
            reason: format!("attribute rule '{text}': {e}"),
        };
        let mut groups = Vec::new();
        let mut names: Vec<UserAttrName> = UserAttribute::ALL.iter().map(|a| UserAttrName::Builtin(*a)).collect();
        for target in &policy.specific_allowed_targets {
            if let SubjectSet::AttributeRuleMembers { membership_rule } = target {
                let filter = Filter::parse_text(membership_rule).map_err(|e| bad(membership_rule, e))?;
                for g in &filter.groups {
                    for c in &g.clauses {
                        if let Ok(name @ UserAttrName::Extension(_)) = UserAttrName::parse(&c.source_operand_name)
                            && !names.contains(&name)
                        {
                            names.push(name);
                        }
                    }
                }
                groups.extend(filter.groups);
            }
        }
        let schema = Schema::new(names.iter().map(|n| n.to_string()));
        let text = groups.iter().map(|g| g.clauses.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(" AND ")).collect::<Vec<_>>().join(" OR ");
        let filter = Filter { groups, ..Filter::default() }.compile(&schema).map_err(|e| bad(&text, e))?;
        Ok(Rule { names, schema, filter, members_only: policy.allowed_target_scope == TargetScope::AllMemberUsers })
    }

    /// Whether a user passes: live, a member when the scope is all members, and in scope
    /// of one of the attribute rules (no rule: everyone).
    pub fn passes(&self, user: &User) -> bool {
        if user.is_deleted() || (self.members_only && user.attrs.user_type == UserType::Guest) {
            return false;
        }
        self.filter.is_in_scope(&self.row(user))
    }

    fn row(&self, user: &User) -> Row {
        let mut row = self.schema.row();
        for (i, name) in self.names.iter().enumerate() {
            let v = match user.attrs.get(name) {
                AttrValue::Null => continue,
                AttrValue::Bool(b) => Value::Bool(b),
                AttrValue::String(s) => Value::Str(s),
                AttrValue::Strings(v) => Value::Multi(v.into_iter().map(Value::Str).collect()),
            };
            row.set(Slot(i), v);
        }
        row
    }
}

/// What a policy's progress is evaluated under: its scope, rules and settings.
fn evaluated_under(policy: &AssignmentPolicy, settings: &AutomaticRequestSettings) -> String {
    serde_json::json!([policy.allowed_target_scope, policy.specific_allowed_targets, settings]).to_string()
}

/// One policy being evaluated in a pass.
struct Pass<'a> {
    tenant: TenantId,
    policy: &'a AssignmentPolicy,
    settings: AutomaticRequestSettings,
    rule: Rule,
    progress: AutoProgress,
    now: Timestamp,
}

impl Governance {
    /// Evaluates every auto-assignment policy of every tenant: a new or changed policy
    /// walks its tenant once, then each reads the changes since its watermark and the
    /// removals that came due. `serve` runs it on every commit and with the sweep.
    pub async fn auto_assign(&self) -> Result<AutoReport> {
        let mut report = AutoReport::default();
        for tenant in self.store.list_tenants().await? {
            self.auto_assign_tenant(tenant.id, &mut report).await?;
        }
        Ok(report)
    }

    /// The same for one tenant, under the tenant's lease: one worker at a time evaluates
    /// a tenant's policies (two would both see a change and both ask for the same
    /// assignment); a tenant whose lease is held elsewhere is left to its holder.
    pub async fn auto_assign_tenant(&self, tenant: TenantId, report: &mut AutoReport) -> Result<()> {
        let Some(_lease) = self.store.try_lease_auto_assignment(tenant).await? else {
            report.leased_elsewhere += 1;
            return Ok(());
        };
        let policies: Vec<AssignmentPolicy> = self.all(tenant, AccessObjectKind::AssignmentPolicy).await?;
        for policy in &policies {
            let Some(settings) = policy.automatic_request_settings else { continue };
            let rule = match Rule::of(policy) {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(policy = %policy.id, error = %e, "auto-assignment policy skipped");
                    continue;
                }
            };
            let progress = self.auto_progress(tenant, policy).await?;
            let mut pass = Pass { tenant, policy, settings, rule, progress, now: self.now() };
            self.run_pass(&mut pass, report).await?;
        }
        Ok(())
    }

    /// A policy's stored progress (empty before its first pass).
    pub async fn auto_progress(&self, tenant: TenantId, policy: &AssignmentPolicy) -> Result<AutoProgress> {
        match self.store.access_object(tenant, AccessObjectKind::AutoAssignment, oid(policy.id.as_bytes())).await? {
            Some(v) => serde_json::from_value(v).map_err(|e| GovernanceError::Store(StoreError::Internal { message: format!("stored auto-assignment: {e}") })),
            None => Ok(AutoProgress::default()),
        }
    }

    async fn save_progress(&self, pass: &Pass<'_>) -> Result<()> {
        let body = serde_json::to_value(&pass.progress).map_err(|e| GovernanceError::Store(StoreError::Internal { message: e.to_string() }))?;
        Ok(self.store.put_access_object(pass.tenant, AccessObjectKind::AutoAssignment, oid(pass.policy.id.as_bytes()), body).await?)
    }

    async fn run_pass(&self, pass: &mut Pass<'_>, report: &mut AutoReport) -> Result<()> {
        let under = evaluated_under(pass.policy, &pass.settings);
        if pass.progress.evaluated_under != under {
            self.walk(pass, report).await?;
            pass.progress.evaluated_under = under;
            self.save_progress(pass).await?;
        }
        loop {
            let page = self.store.changes_since(pass.tenant, ChangeCursor(pass.progress.watermark), FEED_PAGE).await?;
            if page.changes.is_empty() {
                break;
            }
            let users: BTreeSet<ObjectId> = page.changes.iter().filter(|c| c.object_kind == ObjectKind::User).map(|c| c.object_id).collect();
            for user in users {
                self.evaluate(pass, user, report).await?;
            }
            pass.progress.watermark = page.next_cursor.0;
            self.save_progress(pass).await?;
        }
        let due: Vec<ObjectId> = pass.progress.removals.iter().filter(|(_, at)| **at <= pass.now).map(|(u, _)| *u).collect();
        if !due.is_empty() {
            for user in due {
                self.evaluate(pass, user, report).await?;
            }
            self.save_progress(pass).await?;
        }
        Ok(())
    }

    /// Evaluates everyone: the tenant's users, then the holders of the policy's current
    /// assignments (someone deleted since is not among the users). The watermark becomes
    /// the head read before, so changes made meanwhile are read from the feed.
    async fn walk(&self, pass: &mut Pass<'_>, report: &mut AutoReport) -> Result<()> {
        report.walks += 1;
        let head = self.store.change_head(pass.tenant).await?;
        let mut q = ListQuery { limit: WALK_PAGE, ..ListQuery::default() };
        loop {
            let page = self.store.list_users(pass.tenant, &q).await?;
            for user in &page.items {
                self.evaluate(pass, user.id, report).await?;
            }
            match page.next {
                Some(next) => q.after = Some(next),
                None => break,
            }
        }
        let filter = AssignmentFilter { policy: Some(pass.policy.id), current_only: true, ..AssignmentFilter::default() };
        let holders: BTreeSet<ObjectId> = self.store.access_assignments(pass.tenant, filter).await?.into_iter().map(|v| v.value.target).collect();
        for user in holders {
            self.evaluate(pass, user, report).await?;
        }
        pass.progress.watermark = head.0;
        Ok(())
    }

    /// One person against the policy's rule, and what follows.
    async fn evaluate(&self, pass: &mut Pass<'_>, id: ObjectId, report: &mut AutoReport) -> Result<()> {
        report.evaluated += 1;
        let passes = match self.store.get_user(pass.tenant, id).await {
            Ok(user) => pass.rule.passes(&user),
            Err(StoreError::NotFound { .. }) => false,
            Err(e) => return Err(e.into()),
        };
        let filter = AssignmentFilter { target: Some(id), policy: Some(pass.policy.id), current_only: true, ..AssignmentFilter::default() };
        let held: Option<Assignment> =
            self.store.access_assignments(pass.tenant, filter).await?.into_iter().map(|v| v.value).find(|a| a.state != AssignmentState::Expired);
        let pending = pass.progress.removals.get(&id).copied();
        match auto_action(&pass.settings, passes, held.is_some(), pending, pass.now) {
            // A request of theirs still open (a delivery interrupted, say, by a busy store)
            // is finished by the sweep: not asked twice.
            AutoAction::Assign if self.open_request(pass, id).await? => {}
            AutoAction::Assign => {
                let new = NewRequest {
                    kind: RequestType::SystemAdd,
                    package: pass.policy.access_package_id,
                    policy: pass.policy.id,
                    subject: Subject::User(id),
                    start: None,
                    end: None,
                    answers: Vec::new(),
                    justification: "passes the auto-assignment rule".into(),
                };
                match self.submit(pass.tenant, new, Actor::System).await {
                    Ok(_) => report.assigned += 1,
                    // Held through another policy, separation of duties, gone meanwhile:
                    // nothing to do now; the person's next change is evaluated again.
                    Err(e @ (GovernanceError::Access(_) | GovernanceError::NotFound { .. })) => {
                        tracing::info!(policy = %pass.policy.id, user = %id, error = %e, "auto-assignment not made");
                    }
                    Err(e) => return Err(e),
                }
            }
            AutoAction::RemoveAt(at) => {
                pass.progress.removals.insert(id, at);
                report.removals_scheduled += 1;
            }
            AutoAction::CancelRemoval => {
                pass.progress.removals.remove(&id);
                report.removals_canceled += 1;
            }
            AutoAction::Remove => {
                pass.progress.removals.remove(&id);
                if let Some(a) = held {
                    self.system_remove(pass.tenant, &a, "no longer passes the auto-assignment rule").await?;
                    report.removed += 1;
                }
            }
            AutoAction::Nothing => {
                if held.is_none() {
                    pass.progress.removals.remove(&id);
                }
            }
        }
        Ok(())
    }

    /// Whether `user` has a request of the policy's package not finished yet.
    async fn open_request(&self, pass: &Pass<'_>, user: ObjectId) -> Result<bool> {
        let filter =
            tenantsync_store::RequestFilter { requestor: Some(user), package: Some(pass.policy.access_package_id), open_only: true, ..Default::default() };
        Ok(!self.store.access_requests(pass.tenant, filter).await?.is_empty())
    }

    /// Ends an assignment by a `systemRemove` request (recorded like any other request).
    pub(crate) async fn system_remove(&self, tenant: TenantId, a: &Assignment, why: &str) -> Result<Request> {
        let now = self.now();
        let request = Request {
            id: RequestId::new(),
            request_type: RequestType::SystemRemove,
            state: RequestState::Submitted,
            status: RequestStatus::Accepted,
            access_package_id: a.access_package_id,
            assignment_policy_id: a.assignment_policy_id,
            requestor: Some(a.target),
            external: None,
            assignment_id: Some(a.id),
            schedule: Schedule { start_date_time: now, end_date_time: Some(now) },
            answers: Vec::new(),
            justification: why.into(),
            stages: Vec::new(),
            created_date_time: now,
            completed_date_time: None,
        };
        let (request, effects) = request.submit(now);
        self.record(tenant, request, None, &effects, now).await
    }
}
