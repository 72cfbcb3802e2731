//! Delivery: the guest of someone from outside (made the B2B way, anchored to their home
//! user when home is a tenantsync tenant), the package's roles, the assignment; and the
//! end of an assignment: the roles no other assignment still grants are taken away, and
//! a governed guest who holds nothing more is blocked, then deleted.
use crate::notices::assignment_message;
use crate::{Governance, GovernanceError, Result};
use jiff::Timestamp;
use tenantsync_access::{
    AccessPackage, Assignment, AssignmentId, AssignmentState, ConnectedOrgId, ConnectedOrgState, ConnectedOrganization, Delivery, Effect, ExternalSubject,
    IdentitySource, Request, RequestState, ResourceOrigin, ResourceRole, TargetScope, grants, organization_of,
};
use tenantsync_domain::{Anchor, Assignment as ConfigAssignment, AttrValue, DomainName, Mail, NewUser, ObjectId, TenantId, Upn, UserPatch, UserType};
use tenantsync_store::{AccessStep, AssignmentFilter, BatchMode, GuestSchedule, StepRow, StoreError, WriteOp};

impl Governance {
    /// Delivers a request that is `delivering`, then records the outcome with the
    /// assignment in one step. A failure to deliver is recorded as `deliveryFailed`
    /// (reprocess delivers again). `version` is the request's stored version, which the
    /// outcome's step expects (another process that delivered it meanwhile wins).
    pub(crate) async fn deliver(&self, tenant: TenantId, request: Request, version: u64) -> Result<Request> {
        let now = self.now();
        let package = self.access_package(tenant, request.access_package_id).await?;
        match self.deliver_roles(tenant, &request, &package, now).await {
            Ok((assignment, expect, spared)) => {
                let mut request = request;
                request.requestor = Some(assignment.target);
                let effects = request.delivered(Delivery::Delivered, assignment.id, now)?;
                let extendable = self.extendable(tenant, &assignment).await?;
                let outbox = effects
                    .iter()
                    .filter_map(|e| match e {
                        Effect::Notify(n) => Some(crate::notices::message(&request, n, crate::notices::recipients_of(&request, n), now)),
                        _ => None,
                    })
                    .collect();
                let step = AccessStep {
                    requests: vec![StepRow { due: None, value: request.clone(), expect: Some(version) }],
                    assignments: vec![StepRow { due: assignment.next_due(extendable), value: assignment, expect }],
                    outbox,
                    guests_spared: spared.into_iter().collect(),
                    ..AccessStep::default()
                };
                self.store.commit_access(tenant, step).await?;
                Ok(request)
            }
            Err(e) => {
                tracing::warn!(error = %e, request = %request.id, "delivery failed");
                let mut request = request;
                request.delivered(Delivery::Failed, request.assignment_id.unwrap_or_default(), now)?;
                self.store
                    .commit_access(
                        tenant,
                        AccessStep { requests: vec![StepRow { due: None, value: request.clone(), expect: Some(version) }], ..AccessStep::default() },
                    )
                    .await?;
                Ok(request)
            }
        }
    }

    /// The directory side of a delivery: the target user, their roles, and the assignment
    /// to record (with the version it must still have, `None` for a new one), and the
    /// guest whose planned deletion is called off.
    async fn deliver_roles(
        &self,
        tenant: TenantId,
        request: &Request,
        package: &AccessPackage,
        now: Timestamp,
    ) -> Result<(Assignment, Option<u64>, Option<ObjectId>)> {
        let (user, governed) = match (request.requestor, &request.external) {
            (Some(u), _) => (u, self.was_governed(tenant, u).await?),
            (None, Some(x)) => (self.guest_for(tenant, request, x).await?, true),
            (None, None) => return Err(GovernanceError::not_found("requestor", request.id)),
        };
        let spared = if governed { self.unblock(tenant, user).await? } else { None };
        for role in &package.roles {
            self.grant(tenant, user, *role, true).await?;
        }
        if request.request_type.is_update() {
            let id = request.assignment_id.ok_or_else(|| GovernanceError::not_found("assignment", request.id))?;
            let current = self.assignment(tenant, id).await?;
            let mut a = current.value;
            a.extend(request.schedule.end_date_time);
            return Ok((a, Some(current.version), spared));
        }
        let a = Assignment {
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
        let _ = now;
        Ok((a, None, spared))
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

    /// A blocked governed guest who gets access again signs in again, and is not deleted.
    async fn unblock(&self, tenant: TenantId, user: ObjectId) -> Result<Option<ObjectId>> {
        let u = self.store.get_user(tenant, user).await?;
        if !u.attrs.account_enabled {
            let patch = UserPatch::from_pairs([("accountEnabled", AttrValue::Bool(true))])?;
            self.store.update_user(tenant, user, patch, None).await?;
        }
        Ok(Some(user))
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
