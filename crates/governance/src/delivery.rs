//! Delivery: the guest of someone from outside (made the B2B way, anchored to their home
//! user when home is a tenantsync tenant), the package's roles and the assignment, the
//! memberships committed in the step that records the delivery; and the
//! end of an assignment: the roles no other assignment still grants are taken away, and
//! a governed guest who holds nothing more is blocked, then deleted.
use crate::notices::assignment_message;
use crate::{Governance, GovernanceError, Result};
use jiff::Timestamp;
use tenantsync_access::{
    AccessPackage, Assignment, AssignmentId, AssignmentState, ConnectedOrgId, ConnectedOrgState, ConnectedOrganization, Delivery, ExternalSubject,
    IdentitySource, Request, RequestState, ResourceOrigin, ResourceRole, TargetScope, grants, organization_of,
};
use tenantsync_domain::{Anchor, Assignment as ConfigAssignment, AttrValue, DomainName, Mail, NewUser, ObjectId, TenantId, Upn, UserPatch, UserType};
use tenantsync_store::{AccessStep, AssignmentFilter, BatchMode, GuestSchedule, OutboxMessage, StepRow, StoreError, WriteOp};

/// What a delivery writes besides the request: the assignment (with the version it must
/// still have, `None` for a new one), the directory writes of the step, and the guest
/// whose planned deletion is called off.
struct Delivered {
    assignment: Assignment,
    expect: Option<u64>,
    directory: Vec<WriteOp>,
    spared: Option<ObjectId>,
}

/// A directory write of a delivery's step refused (a group deleted meanwhile, say): the
/// request is not delivered. A version that moved, or a store that failed, is no such thing.
fn refused_delivery(e: &StoreError) -> bool {
    e.is_refusal() && !matches!(e, StoreError::AccessConflict { .. } | StoreError::TenantNotFound { .. })
}

impl Governance {
    /// Whether every write of a delivery of `request` is in its own step, so the step
    /// before it (a decision, a submission) can be the same one: the person is a user of
    /// the tenant and every role is a group membership. A guest to make or a sync
    /// configuration to assign is written before the step, so the request is first
    /// recorded `delivering` (due a minute later): a crash in between leaves it for the sweep.
    pub(crate) fn delivers_in_one_step(request: &Request, package: &AccessPackage) -> bool {
        request.requestor.is_some() && package.roles.iter().all(|r| matches!(r.origin, ResourceOrigin::Group(_)))
    }

    /// Delivers a request that is `delivering`: its memberships, the assignment, the
    /// request and its notices in one step, with `outbox` (the notices of the decision
    /// that led here, when it shares the step). `version` is the request's stored version,
    /// which the step expects (`None`: a request not yet stored); another process that
    /// delivered it meanwhile wins (`access_conflict`). A failure to deliver is recorded
    /// as `deliveryFailed` (reprocess delivers again).
    pub(crate) async fn deliver(
        &self,
        tenant: TenantId,
        request: Request,
        version: Option<u64>,
        package: &AccessPackage,
        outbox: Vec<OutboxMessage>,
    ) -> Result<Request> {
        let now = self.now();
        let failure = match self.deliver_roles(tenant, &request, package).await {
            Ok(d) => {
                let mut done = request.clone();
                done.requestor = Some(d.assignment.target);
                let effects = done.delivered(Delivery::Delivered, d.assignment.id, now)?;
                let extendable = self.extendable(tenant, &d.assignment).await?;
                let mut messages = outbox.clone();
                messages.extend(crate::notices::of_effects(&done, &effects, now));
                let step = AccessStep {
                    requests: vec![StepRow { due: None, value: done.clone(), expect: version }],
                    assignments: vec![StepRow { due: d.assignment.next_due(extendable), value: d.assignment, expect: d.expect }],
                    outbox: messages,
                    guests_spared: d.spared.into_iter().collect(),
                    directory: d.directory,
                    ..AccessStep::default()
                };
                match self.store.commit_access(tenant, step).await {
                    Ok(()) => return Ok(done),
                    Err(e) if refused_delivery(&e) => GovernanceError::from(e),
                    Err(e) => return Err(e.into()),
                }
            }
            Err(e) => e,
        };
        tracing::warn!(error = %failure, request = %request.id, "delivery failed");
        let mut request = request;
        request.delivered(Delivery::Failed, request.assignment_id.unwrap_or_default(), now)?;
        self.store
            .commit_access(
                tenant,
                AccessStep { requests: vec![StepRow { due: None, value: request.clone(), expect: version }], outbox, ..AccessStep::default() },
            )
            .await?;
        Ok(request)
    }

    /// What a delivery writes: the target user (a guest made first if needed), the
    /// memberships of the package's groups and the sign-in of a blocked governed guest
    /// as the step's directory writes (a sync configuration's assignment is made now,
    /// idempotent), and the assignment to record.
    async fn deliver_roles(&self, tenant: TenantId, request: &Request, package: &AccessPackage) -> Result<Delivered> {
        let (user, governed) = match (request.requestor, &request.external) {
            (Some(u), _) => (u, self.was_governed(tenant, u).await?),
            (None, Some(x)) => (self.guest_for(tenant, request, x).await?, true),
            (None, None) => return Err(GovernanceError::not_found("requestor", request.id)),
        };
        let mut directory = Vec::new();
        let spared = if governed {
            directory.extend(self.unblock(tenant, user).await?);
            Some(user)
        } else {
            None
        };
        for role in &package.roles {
            match role.origin {
                ResourceOrigin::Group(group) => directory.push(WriteOp::SetMembership { group, user, member: true }),
                ResourceOrigin::SyncConfiguration(_) => self.grant(tenant, user, *role, true).await?,
            }
        }
        if request.request_type.is_update() {
            let id = request.assignment_id.ok_or_else(|| GovernanceError::not_found("assignment", request.id))?;
            let current = self.assignment(tenant, id).await?;
            let mut a = current.value;
            a.extend(request.schedule.end_date_time);
            return Ok(Delivered { assignment: a, expect: Some(current.version), directory, spared });
        }
        let assignment = Assignment {
            id: AssignmentId::new(),
            access_package_id: package.id,
            assignment_policy_id: request.assignment_policy_id,
            target: user,
            state: AssignmentState::Delivered,
            schedule: request.schedule,
            expired_date_time: None,
            reminders_sent: 0,
            governed,
        };
        Ok(Delivered { assignment, expect: None, directory, spared })
    }

    pub async fn assignment(&self, tenant: TenantId, id: AssignmentId) -> Result<tenantsync_store::Versioned<Assignment>> {
        self.store.access_assignment(tenant, id).await?.ok_or_else(|| GovernanceError::not_found("assignment", id))
    }

    /// Grants again every role of a current assignment (someone took the person out of
    /// the group by hand, a configuration lost its assignment): Graph's
    /// `assignments/{id}/reprocess`. Idempotent; an ended assignment is
    /// `assignment_not_active`.
    pub async fn reprocess_assignment(&self, tenant: TenantId, id: AssignmentId) -> Result<Assignment> {
        let a = self.assignment(tenant, id).await?.value;
        if !a.is_active(self.now()) {
            return Err(GovernanceError::AssignmentNotActive { assignment: id.to_string() });
        }
        let package = self.access_package(tenant, a.access_package_id).await?;
        for role in &package.roles {
            self.grant(tenant, a.target, *role, true).await?;
        }
        Ok(a)
    }

    /// Whether entitlement management made (or took over) this user as a guest before.
    async fn was_governed(&self, tenant: TenantId, user: ObjectId) -> Result<bool> {
        let filter = AssignmentFilter { target: Some(user), ..AssignmentFilter::default() };
        Ok(self.store.access_assignments(tenant, filter).await?.iter().any(|v| v.value.governed))
    }

    /// A blocked governed guest who gets access again signs in again (the write, for the
    /// delivery's step; none if they can sign in).
    async fn unblock(&self, tenant: TenantId, user: ObjectId) -> Result<Option<WriteOp>> {
        let u = self.store.get_user(tenant, user).await?;
        if u.attrs.account_enabled {
            return Ok(None);
        }
        let patch = UserPatch::from_pairs([("accountEnabled", AttrValue::Bool(true))])?;
        Ok(Some(WriteOp::UpdateUser { id: user, patch, if_match: None }))
    }

    /// The guest of someone from outside: found by its anchor (or its name) when it exists,
    /// else made the B2B way. An organization the policy admits without knowing it
    /// (`allExternalUsers`) is then recorded as *proposed*.
    async fn guest_for(&self, tenant: TenantId, request: &Request, x: &ExternalSubject) -> Result<ObjectId> {
        let home = self.store.get_tenant(tenant).await?;
        let anchor = match (x.home_tenant, x.home_user) {
            (Some(t), Some(u)) => Some(Anchor::new(t, u)),
            _ => None,
        };
        if let Some(a) = anchor
            && let Some(found) = self.store.find_user_by_anchor(tenant, &a).await?
        {
            return Ok(found.id);
        }
        let upn = Upn::parse(&x.email)?.external_in(&home.initial_domain)?;
        if let Some(found) = self.store.find_user_by_upn(tenant, &upn).await? {
            return Ok(found.id);
        }
        let mut new = NewUser::new(upn);
        new.attrs.user_type = UserType::Guest;
        new.attrs.mail = Some(Mail::parse(&x.email)?);
        new.attrs.display_name = Some(x.display_name.clone());
        new.anchor = anchor;
        let created = self.store.create_user(tenant, new).await?;
        self.propose_organization(tenant, request, x).await?;
        Ok(created.id)
    }

    async fn propose_organization(&self, tenant: TenantId, request: &Request, x: &ExternalSubject) -> Result<()> {
        let policy = self.policy(tenant, request.assignment_policy_id).await?;
        if policy.allowed_target_scope != TargetScope::AllExternalUsers {
            return Ok(());
        }
        let (_, domain) = x.email.rsplit_once('@').unwrap_or_default();
        let domain = DomainName::parse(domain)?;
        let orgs = self.connected_organizations(tenant).await?;
        if organization_of(&orgs, &tenantsync_access::Home { tenant: x.home_tenant, domain: domain.clone() }).is_some() {
            return Ok(());
        }
        let source = match x.home_tenant {
            Some(t) => IdentitySource::Tenant { tenant_id: t, display_name: domain.to_string() },
            None => IdentitySource::Domain { domain_name: domain.clone(), display_name: domain.to_string() },
        };
        let now = self.now();
        let org = ConnectedOrganization {
            id: ConnectedOrgId::new(),
            display_name: domain.to_string(),
            description: "proposed when one of its people was approved".into(),
            identity_sources: vec![source],
            state: ConnectedOrgState::Proposed,
            internal_sponsors: Default::default(),
            external_sponsors: Default::default(),
            external_user_lifecycle: None,
            created_date_time: now,
            modified_date_time: now,
        };
        self.put_connected_organization(tenant, &org).await
    }

    /// Grants (or, with `on` false, takes away) one role; idempotent.
    async fn grant(&self, tenant: TenantId, user: ObjectId, role: ResourceRole, on: bool) -> Result<()> {
        match role.origin {
            ResourceOrigin::Group(group) => {
                let results = self.store.apply(tenant, vec![WriteOp::SetMembership { group, user, member: on }], BatchMode::Atomic).await?;
                for r in results {
                    match r {
                        Ok(_) | Err(StoreError::NotFound { .. }) if !on => {}
                        Ok(_) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                Ok(())
            }
            ResourceOrigin::SyncConfiguration(id) => {
                let mut config = self.store.get_sync_configuration(id).await?;
                let entry = ConfigAssignment::User(user);
                let has = config.assignments.contains(&entry);
                if has == on {
                    return Ok(());
                }
                if on {
                    config.assignments.push(entry);
                } else {
                    config.assignments.retain(|a| *a != entry);
                }
                self.engine.update_configuration(config).await?;
                Ok(())
            }
        }
    }

    async fn extendable(&self, tenant: TenantId, a: &Assignment) -> Result<bool> {
        Ok(self.policy(tenant, a.assignment_policy_id).await.map(|p| p.requestor_settings.enable_targets_to_self_update_access).unwrap_or(false))
    }

    /// Ends an assignment (removal, expiry, review denial): the roles no other current
    /// assignment of the person grants are taken away; a governed guest left with none is
    /// blocked and their deletion planned (the tenant's lifecycle, or their organization's).
    pub(crate) async fn end_assignment(&self, tenant: TenantId, id: AssignmentId, now: Timestamp) -> Result<()> {
        let current = self.assignment(tenant, id).await?;
        let mut a = current.value;
        if a.state == AssignmentState::Expired && a.expired_date_time.is_some_and(|t| t < now) {
            return Ok(());
        }
        a.end(now);
        let filter = AssignmentFilter { target: Some(a.target), current_only: true, ..AssignmentFilter::default() };
        let others: Vec<Assignment> = self.store.access_assignments(tenant, filter).await?.into_iter().map(|v| v.value).filter(|o| o.id != a.id).collect();
        let mut packages = std::collections::BTreeMap::new();
        for pid in others.iter().map(|o| o.access_package_id).chain([a.access_package_id]) {
            if let Ok(p) = self.access_package(tenant, pid).await {
                packages.insert(pid, p);
            }
        }
        let still = grants(&others, &packages, now);
        if let Some(ended) = packages.get(&a.access_package_id) {
            for role in &ended.roles {
                if !still.contains(&(a.target, *role)) {
                    self.grant(tenant, a.target, *role, false).await?;
                }
            }
        }
        let mut step = AccessStep::default();
        if a.governed && others.iter().all(|o| !o.is_active(now)) {
            let plan = self.lifecycle_of(tenant, a.target).await?.plan(now);
            if plan.block {
                let patch = UserPatch::from_pairs([("accountEnabled", AttrValue::Bool(false))])?;
                self.store.update_user(tenant, a.target, patch, None).await?;
            }
            if let Some(delete_at) = plan.delete_at {
                step.guests.push(GuestSchedule { user: a.target, delete_at });
            }
        }
        step.outbox.push(assignment_message(&a, "accessEnded", "Your access has ended".into(), now));
        step.assignments.push(StepRow { due: None, value: a, expect: Some(current.version) });
        self.store.commit_access(tenant, step).await?;
        Ok(())
    }

    /// The lifecycle that applies to a guest: their organization's, else the tenant's.
    async fn lifecycle_of(&self, tenant: TenantId, user: ObjectId) -> Result<crate::Settings> {
        let u = self.store.get_user(tenant, user).await?;
        let orgs = self.connected_organizations(tenant).await?;
        let domain = u.attrs.mail.as_ref().and_then(|m| m.as_str().rsplit_once('@').and_then(|(_, d)| DomainName::parse(d).ok()));
        let org = domain.and_then(|d| organization_of(&orgs, &tenantsync_access::Home { tenant: u.anchor.map(|a| a.tenant), domain: d }).cloned());
        match org.and_then(|o| o.external_user_lifecycle) {
            Some(l) => Ok(l),
            None => self.settings(tenant).await,
        }
    }

    /// Marks a request whose delivery was interrupted (still `delivering`) for the sweep.
    pub(crate) fn interrupted(request: &Request) -> bool {
        request.state == RequestState::Delivering
    }
}
