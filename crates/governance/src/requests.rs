//! Requests: who is asking (their standing in the tenant, groups, organization), the
//! rules' checks, submission, decisions, cancellation and reprocess. Each step commits the
//! request with its outbox messages; the effects (deliver, end an assignment) follow.
use crate::{Governance, GovernanceError, Result};
use jiff::Timestamp;
use std::collections::BTreeSet;
use tenantsync_access::{
    Answer, AssignmentState, Draft, Effect, ExternalSubject, Held, Home, PackageId, People, PolicyId, Request, RequestId, RequestType, Requestor, Standing,
    organization_of, validate,
};
use tenantsync_domain::{DomainName, ObjectId, TenantId, User, UserType};
use tenantsync_store::{AccessStep, AssignmentFilter, StepRow, StoreError, Versioned};

/// How many times a person's change of a request is tried again when someone else's write
/// came in between.
const CHANGE_TRIES: u32 = 5;

/// How long a delivery under way has before the sweep takes it for interrupted (by a
/// crash) and delivers it again.
const DELIVERY_GRACE: jiff::SignedDuration = jiff::SignedDuration::from_secs(60);

/// Who a request is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A user of the tenant (a member, or a guest).
    User(ObjectId),
    /// A user of another tenantsync tenant with no guest here yet.
    TenantUser { tenant: TenantId, user: ObjectId },
    /// Someone outside tenantsync, known by mail.
    Email(tenantsync_domain::Mail),
}

/// Who makes the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// The subject themselves (`userAdd`, `userUpdate`, `userRemove`).
    Subject,
    /// An administrator (`adminAdd`, `adminUpdate`, `adminRemove`).
    Admin,
    /// tenantsync itself: an auto-assignment rule (`systemAdd`, `systemRemove`).
    System,
}

/// A request as an interface receives it.
#[derive(Debug, Clone)]
pub struct NewRequest {
    pub kind: RequestType,
    pub package: PackageId,
    pub policy: PolicyId,
    pub subject: Subject,
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
    pub answers: Vec<Answer>,
    pub justification: String,
}

/// The directory as the approval rules see it.
struct Directory {
    managers: std::collections::BTreeMap<ObjectId, ObjectId>,
    groups: std::collections::BTreeMap<ObjectId, Vec<ObjectId>>,
}

impl People for Directory {
    fn manager(&self, user: ObjectId) -> Option<ObjectId> {
        self.managers.get(&user).copied()
    }

    fn group_members(&self, group: ObjectId) -> Vec<ObjectId> {
        self.groups.get(&group).cloned().unwrap_or_default()
    }
}

/// The domain a person's mail (or else their userPrincipalName) is in.
fn domain_of(user: &User) -> Result<DomainName> {
    let from_mail = user.attrs.mail.as_ref().and_then(|m| m.as_str().rsplit_once('@').and_then(|(_, d)| DomainName::parse(d).ok()));
    match from_mail {
        Some(d) => Ok(d),
        None => Ok(DomainName::parse(user.attrs.user_principal_name.domain())?),
    }
}

impl Governance {
    /// The standing of a user of the tenant (a member, or a guest with their home), and
    /// their manager (the approval rules' first level, kept so it is not read again).
    async fn user_standing(&self, tenant: TenantId, id: ObjectId) -> Result<(Standing, Option<ObjectId>)> {
        let user = self.store.get_user(tenant, id).await?;
        if user.is_deleted() {
            return Err(GovernanceError::not_found("user", id));
        }
        let manager = user.attrs.manager;
        let guest = user.attrs.user_type == UserType::Guest || user.anchor.is_some();
        if !guest {
            return Ok((Standing::Member { user: id }, manager));
        }
        let home = Home { tenant: user.anchor.map(|a| a.tenant), domain: domain_of(&user)? };
        Ok((Standing::Guest { user: id, home }, manager))
    }

    /// The standing and external identity of `subject` in `tenant`, and the manager of
    /// a subject who is a user of the tenant.
    pub(crate) async fn standing(&self, tenant: TenantId, subject: &Subject) -> Result<(Standing, Option<ExternalSubject>, Option<ObjectId>)> {
        match subject {
            Subject::User(id) => {
                let (standing, manager) = self.user_standing(tenant, *id).await?;
                Ok((standing, None, manager))
            }
            Subject::TenantUser { tenant: home_tenant, user } => {
                let anchor = tenantsync_domain::Anchor::new(*home_tenant, *user);
                if let Some(guest) = self.store.find_user_by_anchor(tenant, &anchor).await? {
                    let (standing, manager) = self.user_standing(tenant, guest.id).await?;
                    return Ok((standing, None, manager));
                }
                let at_home = self.store.get_user(*home_tenant, *user).await?;
                let email = at_home.attrs.mail.as_ref().map_or_else(|| at_home.attrs.user_principal_name.to_string(), |m| m.as_str().to_owned());
                let display_name = at_home.attrs.display_name.clone().unwrap_or_else(|| email.clone());
                let external = ExternalSubject { home_tenant: Some(*home_tenant), home_user: Some(*user), email, display_name };
                Ok((Standing::Outsider { home: Home { tenant: Some(*home_tenant), domain: domain_of(&at_home)? } }, Some(external), None))
            }
            Subject::Email(mail) => {
                let (_, d) = mail.as_str().rsplit_once('@').unwrap_or_default();
                let domain = DomainName::parse(d)?;
                let external = ExternalSubject { home_tenant: None, home_user: None, email: mail.as_str().to_owned(), display_name: mail.as_str().to_owned() };
                Ok((Standing::Outsider { home: Home { tenant: None, domain } }, Some(external), None))
            }
        }
    }

    /// The directory the approval rules see: `requestor`'s manager chain (two levels at
    /// most; the first, `manager`, read with the requestor's standing) and the members
    /// of the groups the stages name.
    async fn directory(
        &self,
        tenant: TenantId,
        requestor: Option<ObjectId>,
        manager: Option<ObjectId>,
        policy: &tenantsync_access::AssignmentPolicy,
    ) -> Result<Directory> {
        let mut dir = Directory { managers: Default::default(), groups: Default::default() };
        if let (Some(u), Some(m)) = (requestor, manager) {
            dir.managers.insert(u, m);
            if let Some(second) = self.store.get_user(tenant, m).await?.attrs.manager {
                dir.managers.insert(m, second);
            }
        }
        let stages = &policy.request_approval_settings.stages;
        // Collected before the reads: an iterator of closures held across them would keep
        // the future from being provably `Send` (the server's handlers must be).
        let group_ids: Vec<ObjectId> = stages
            .iter()
            .flat_map(|s| {
                s.primary_approvers.iter().chain(&s.fallback_primary_approvers).chain(&s.escalation_approvers).chain(&s.fallback_escalation_approvers)
            })
            .filter_map(|set| match set {
                tenantsync_access::SubjectSet::GroupMembers { group_id } => Some(*group_id),
                _ => None,
            })
            .collect();
        for group_id in group_ids {
            let mut members = Vec::new();
            let mut q = tenantsync_store::ListQuery { limit: 1000, ..tenantsync_store::ListQuery::default() };
            loop {
                let page = self.store.list_members(tenant, group_id, &q).await?;
                members.extend(page.items.iter().map(|u| u.id));
                match page.next {
                    Some(next) => q.after = Some(next),
                    None => break,
                }
            }
            dir.groups.insert(group_id, members);
        }
        Ok(dir)
    }

    /// Submits a request: the rules' checks, then the request and its notices in one
    /// step, then what the request leads to (a delivery, an assignment's end).
    pub async fn submit(&self, tenant: TenantId, new: NewRequest, actor: Actor) -> Result<Request> {
        let now = self.now();
        let package = self.access_package(tenant, new.package).await?;
        let catalog = self.catalog(tenant, package.catalog_id).await?;
        let policies = self.policies_of(tenant, package.id).await?;
        let policy = policies.iter().find(|p| p.id == new.policy).ok_or_else(|| GovernanceError::not_found("assignment policy", new.policy))?;
        let (standing, external, manager) = self.standing(tenant, &new.subject).await?;
        // A member belongs to no connected organization: only others' homes are looked up.
        let orgs = match &standing {
            Standing::Member { .. } => Vec::new(),
            Standing::Guest { .. } | Standing::Outsider { .. } => self.connected_organizations(tenant).await?,
        };
        let organization = match &standing {
            Standing::Member { .. } => None,
            Standing::Guest { home, .. } | Standing::Outsider { home } => organization_of(&orgs, home),
        };
        let user = match &standing {
            Standing::Member { user } | Standing::Guest { user, .. } => Some(*user),
            Standing::Outsider { .. } => None,
        };
        let groups: BTreeSet<ObjectId> = match user {
            Some(u) => self.store.member_of(tenant, u).await?.into_iter().collect(),
            None => BTreeSet::new(),
        };
        let requestor = Requestor { standing, groups, organization };
        let held = match user {
            Some(u) => self.held(tenant, u).await?,
            None => Vec::new(),
        };
        let kind = match (actor, new.kind) {
            (Actor::Admin, k) if k.is_add() => RequestType::AdminAdd,
            (Actor::Admin, k) if k.is_update() => RequestType::AdminUpdate,
            (Actor::Admin, _) => RequestType::AdminRemove,
            (Actor::Subject, k) if k.is_add() => RequestType::UserAdd,
            (Actor::Subject, k) if k.is_update() => RequestType::UserUpdate,
            (Actor::Subject, _) => RequestType::UserRemove,
            (Actor::System, k) if k.is_remove() => RequestType::SystemRemove,
            (Actor::System, _) => RequestType::SystemAdd,
        };
        let draft = Draft {
            request_type: kind,
            package: &package,
            policies: &policies,
            policy: policy.id,
            requestor: &requestor,
            externally_visible: catalog.is_externally_visible,
            held: &held,
            start: new.start,
            end: new.end,
            answers: &new.answers,
            justification: &new.justification,
        };
        let people = self.directory(tenant, user, manager, policy).await?;
        let mut request = validate(&draft, &people, now)?;
        request.external = external;
        let (request, effects) = request.submit(now);
        self.record(tenant, request, None, &effects, now).await
    }

    /// The subject's current assignments, as the checks see them.
    async fn held(&self, tenant: TenantId, user: ObjectId) -> Result<Vec<Held>> {
        let filter = AssignmentFilter { target: Some(user), current_only: true, ..AssignmentFilter::default() };
        let now = self.now();
        let rows = self.store.access_assignments(tenant, filter).await?;
        Ok(rows
            .into_iter()
            .map(|v| v.value)
            .filter(|a| a.state != AssignmentState::Expired && a.schedule.end_date_time.is_none_or(|e| e > now))
            .map(|a| Held { assignment: a.id, package: a.access_package_id, policy: a.assignment_policy_id, end: a.schedule.end_date_time })
            .collect())
    }

    /// Commits `request` (expecting `version` of it, `None` for a new one) with the
    /// notices of `effects`, then carries out the other effects. A delivery whose every
    /// write fits in one step (see [`Governance::delivers_in_one_step`]) is that same
    /// step: a decision and its delivery are one commit, so a crash leaves either both
    /// or neither, never a role without its assignment.
    pub(crate) async fn record(&self, tenant: TenantId, request: Request, version: Option<u64>, effects: &[Effect], now: Timestamp) -> Result<Request> {
        let outbox = crate::notices::of_effects(&request, effects, now);
        let ends = effects.iter().any(|e| matches!(e, Effect::EndAssignment(_)));
        // Read before the step only to see whether it can deliver too: a package that is
        // gone is found by the delivery below, after the decision is recorded.
        let package = match effects.contains(&Effect::Deliver) {
            true => self.access_package(tenant, request.access_package_id).await.ok(),
            false => None,
        };
        if let Some(p) = &package
            && !ends
            && Self::delivers_in_one_step(&request, p)
        {
            return self.deliver(tenant, request, version, p, outbox).await;
        }
        // A delivery is due soon: if it is interrupted, the sweep finds it and delivers
        // again — after a grace, so that it does not race the delivery under way here
        // (two deliverers of one request: one of them would find the other's guest and
        // mark the request failed).
        let due = if Self::interrupted(&request) { Some(now.checked_add(DELIVERY_GRACE).unwrap_or(now)) } else { request.next_due() };
        let row = StepRow { due, value: request.clone(), expect: version };
        self.store.commit_access(tenant, AccessStep { requests: vec![row], outbox, ..AccessStep::default() }).await?;
        // The version the step gave the request (a store's promise: 1 for a new row, one
        // more than expected for an update), so the delivery need not read it back.
        let written = version.map_or(1, |v| v.saturating_add(1));
        let mut request = request;
        for effect in effects {
            match effect {
                Effect::Deliver => {
                    let p = match &package {
                        Some(p) => p.clone(),
                        None => self.access_package(tenant, request.access_package_id).await?,
                    };
                    let id = request.id;
                    request = match self.deliver(tenant, request, Some(written), &p, Vec::new()).await {
                        Ok(done) => done,
                        // The decision is committed, due at once: the sweep found it and
                        // delivers it (or has). The decision stands, and so does that
                        // delivery; the request is as the sweep left it.
                        Err(GovernanceError::Store(StoreError::AccessConflict { .. })) => self.request(tenant, id).await?.value,
                        Err(e) => return Err(e),
                    };
                }
                Effect::EndAssignment(a) => self.end_assignment(tenant, *a, now).await?,
                Effect::Notify(_) => {}
            }
        }
        Ok(request)
    }

    pub async fn request(&self, tenant: TenantId, id: RequestId) -> Result<Versioned<Request>> {
        self.store.access_request(tenant, id).await?.ok_or_else(|| GovernanceError::not_found("assignment request", id))
    }

    /// An approver's decision on stage `stage` (from 0) of a request. Of two approvers
    /// deciding at once, the second gets `access_conflict` or `stage_already_decided`.
    pub async fn decide(&self, tenant: TenantId, id: RequestId, stage: usize, approver: ObjectId, approve: bool, justification: &str) -> Result<Request> {
        self.change_request(tenant, id, |request, now| request.decide(stage, approver, approve, justification, now)).await
    }

    pub async fn cancel(&self, tenant: TenantId, id: RequestId) -> Result<Request> {
        self.change_request(tenant, id, |request, now| request.cancel(now).map(|()| Vec::new())).await
    }

    /// Delivers again a request whose delivery failed.
    pub async fn reprocess(&self, tenant: TenantId, id: RequestId) -> Result<Request> {
        self.change_request(tenant, id, |request, now| request.reprocess(now)).await
    }

    /// Reads request `id`, changes it by `change` and records it, if no one changed it in
    /// between; if someone did (the sweep's bookkeeping, a delivery), reads it again and
    /// asks `change` again, so a person's decision is not refused for a write that was
    /// not theirs, and is checked against the request as it is now.
    async fn change_request(
        &self,
        tenant: TenantId,
        id: RequestId,
        change: impl Fn(&mut Request, Timestamp) -> std::result::Result<Vec<Effect>, tenantsync_access::AccessError>,
    ) -> Result<Request> {
        let mut tries = 0;
        loop {
            let now = self.now();
            let Versioned { value: mut request, version } = self.request(tenant, id).await?;
            let effects = change(&mut request, now)?;
            match self.record(tenant, request, Some(version), &effects, now).await {
                Err(crate::GovernanceError::Store(StoreError::AccessConflict { .. })) if tries < CHANGE_TRIES => tries += 1,
                done => return done,
            }
        }
    }

    /// The requests awaiting `approver`'s decision (Graph's `filterByCurrentUser(on='approver')`).
    pub async fn pending_for(&self, tenant: TenantId, approver: ObjectId) -> Result<Vec<Request>> {
        let open = self.store.access_requests(tenant, tenantsync_store::RequestFilter { open_only: true, ..Default::default() }).await?;
        Ok(open.into_iter().map(|v| v.value).filter(|r| may_decide_now(r, approver)).collect())
    }

    /// The open requests of someone from outside with no account here yet, by their mail
    /// (at most `limit`, in creation order): open requests read a batch at a time.
    pub async fn open_requests_by_mail(&self, tenant: TenantId, email: &str, limit: usize) -> Result<Vec<Request>> {
        const BATCH: u32 = 200;
        let (mut after, mut out) = (None, Vec::new());
        loop {
            let filter = tenantsync_store::RequestFilter { open_only: true, after, limit: Some(BATCH), ..Default::default() };
            let batch = self.store.access_requests(tenant, filter).await?;
            let read = batch.len();
            after = batch.last().map(|v| v.value.id);
            let mine = batch
                .into_iter()
                .map(|v| v.value)
                .filter(|r| r.requestor.is_none() && r.external.as_ref().is_some_and(|x| x.email.eq_ignore_ascii_case(email)));
            out.extend(mine.take(limit.saturating_sub(out.len())));
            if out.len() >= limit || read < BATCH as usize {
                return Ok(out);
            }
        }
    }

    /// A page of the requests `approver` may decide now, in creation order: the first
    /// `limit` after request `after`, or the last `limit` before request `before`. Open
    /// requests are read a batch at a time from the cursor (the open-request index), so
    /// a page holds a batch and a page in memory however many are open.
    pub async fn pending_page(
        &self,
        tenant: TenantId,
        approver: ObjectId,
        after: Option<RequestId>,
        before: Option<RequestId>,
        limit: usize,
    ) -> Result<Vec<Request>> {
        const BATCH: u32 = 200;
        let backward = before.is_some();
        let (mut after, mut before) = (after, before);
        let mut out = Vec::new();
        loop {
            let filter = tenantsync_store::RequestFilter { open_only: true, after, before, limit: Some(BATCH), ..Default::default() };
            let batch = self.store.access_requests(tenant, filter).await?;
            let read = batch.len();
            let (first, last) = (batch.first().map(|v| v.value.id), batch.last().map(|v| v.value.id));
            let mut kept: Vec<Request> = batch.into_iter().map(|v| v.value).filter(|r| may_decide_now(r, approver)).collect();
            if backward {
                kept.reverse();
            }
            out.extend(kept.into_iter().take(limit.saturating_sub(out.len())));
            if out.len() >= limit || read < BATCH as usize {
                break;
            }
            if backward {
                before = first;
            } else {
                after = last;
            }
        }
        if backward {
            out.reverse();
        }
        Ok(out)
    }
}

/// Whether `approver` may decide `r`'s current stage now.
fn may_decide_now(r: &Request, approver: ObjectId) -> bool {
    r.current_stage().and_then(|i| r.stages.get(i)).is_some_and(|s| s.may_decide(approver))
}
