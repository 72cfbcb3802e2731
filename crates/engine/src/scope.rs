//! What one configuration sees of one source user: the user (or its absence), its copy in
//! the target, its groups; and the decision about it with its log record.
use crate::compile::Compiled;
use crate::plan::{self, ScopeInput};
use crate::run::{Decision, Run};
use crate::{EngineError, PlanError};
use std::collections::BTreeSet;
use tenantsync_domain::{Anchor, Assignment, Clock, DomainName, ObjectId, ObjectKind, SyncConfiguration, TenantId, User};
use tenantsync_store::{ModifiedProperty, ProvisioningLog, StoreError, SyncStore};

/// The assigned users and groups of a configuration.
pub(crate) fn assignments(cfg: &SyncConfiguration) -> (BTreeSet<ObjectId>, Vec<ObjectId>) {
    let users = cfg.assignments.iter().filter_map(|a| if let Assignment::User(u) = a { Some(*u) } else { None }).collect();
    let groups = cfg.assignments.iter().filter_map(|a| if let Assignment::Group(g) = a { Some(*g) } else { None }).collect();
    (users, groups)
}

/// The assigned groups that entitle their members: only live ones (the members of a
/// soft-deleted assigned group are out of scope until it is restored).
pub(crate) async fn live_groups(store: &dyn SyncStore, source: TenantId, groups: Vec<ObjectId>) -> Vec<ObjectId> {
    let mut live = Vec::with_capacity(groups.len());
    for g in groups {
        if store.get_group(source, g).await.is_ok_and(|g| !g.is_deleted()) {
            live.push(g);
        }
    }
    live
}

/// What one configuration needs to look at one source user.
pub(crate) struct Scope<'a> {
    pub compiled: &'a Compiled,
    pub source: TenantId,
    pub target: TenantId,
    pub target_domain: &'a DomainName,
    pub assigned_users: BTreeSet<ObjectId>,
    pub assigned_groups: Vec<ObjectId>,
    /// The clock mappings read (`Now()`).
    pub clock: &'a dyn Clock,
    /// A dry run (see [`plan::Planner::dry`]).
    pub dry: bool,
}

/// A source user as one configuration sees it: the user (or its absence), its copy in the
/// target, and its groups. The user is borrowed from a page of the source when the cycle
/// walks the whole source (a page may be shared by several predictions), owned when it
/// was looked up or the walk alone holds its page.
pub(crate) struct Seen<'a> {
    pub scope: &'a Scope<'a>,
    pub id: ObjectId,
    pub user: Option<Held<'a>>,
    /// Boxed, as an owned user: a user is big, and a `Seen` moves into each step that
    /// processes it.
    pub matched: Option<Box<User>>,
    pub member_of: Vec<ObjectId>,
    /// The user's memo in a page shared with arrows of the same mappings and filter.
    pub memo: Option<&'a plan::UserMemo>,
}

/// A source user as a [`Seen`] holds it.
pub(crate) enum Held<'a> {
    /// Its own: planning may move the user's values into a copy (see `plan::Src`).
    Own(Box<User>),
    /// Borrowed from a page of the source that other walks read too.
    Shared(&'a User),
}

impl std::ops::Deref for Held<'_> {
    type Target = User;
    fn deref(&self) -> &User {
        match self {
            Held::Own(u) => u,
            Held::Shared(u) => u,
        }
    }
}

impl Scope<'_> {
    fn planner(&self) -> plan::Planner<'_> {
        plan::Planner { compiled: self.compiled, source_tenant: self.source, target_domain: self.target_domain, clock: self.clock, dry: self.dry }
    }

    /// What scoping asks of the user `id`, a member of `member_of`.
    fn input<'s>(&'s self, id: ObjectId, member_of: &'s [ObjectId]) -> ScopeInput<'s> {
        ScopeInput { assigned_directly: self.assigned_users.contains(&id), assigned_groups: &self.assigned_groups, member_of }
    }

    /// Import and match: reads the source user, its groups and its copy in the target.
    pub async fn look(&self, store: &dyn SyncStore, sid: ObjectId) -> Result<Seen<'_>, EngineError> {
        let user = match store.get_user(self.source, sid).await {
            Ok(u) => Some(Held::Own(Box::new(u))),
            Err(StoreError::NotFound { .. }) => None,
            Err(e) => return Err(e.into()),
        };
        let matched = store.find_user_by_anchor(self.target, &Anchor::new(self.source, sid)).await?.map(Box::new);
        let member_of = match &user {
            Some(_) if !self.assigned_groups.is_empty() => store.member_of(self.source, sid).await?,
            _ => Vec::new(),
        };
        Ok(Seen { scope: self, id: sid, user, matched, member_of, memo: None })
    }
}

impl Seen<'_> {
    pub fn input(&self) -> ScopeInput<'_> {
        self.scope.input(self.id, &self.member_of)
    }

    /// Map and decide; the source user is left as it was read.
    pub fn plan(&self) -> Result<plan::Plan, PlanError> {
        plan::plan(&self.scope.planner(), self.id, self.user.as_deref().map(plan::Src::Read), self.matched.as_deref(), &self.input(), self.memo)
    }

    /// Map and decide, for a caller that reads of the source user nothing but its
    /// userPrincipalName afterwards: a user this walk owns (read for it alone) gives the
    /// values a create copies up instead of having them copied (see [`plan::Src`]).
    pub fn plan_spending(&mut self) -> Result<plan::Plan, PlanError> {
        let scope = self.scope;
        let planner = scope.planner();
        let input = scope.input(self.id, &self.member_of);
        let source = match &mut self.user {
            Some(Held::Own(u)) => Some(plan::Src::Spend(u)),
            Some(Held::Shared(u)) => Some(plan::Src::Read(u)),
            None => None,
        };
        plan::plan(&planner, self.id, source, self.matched.as_deref(), &input, self.memo)
    }

    pub fn name(&self) -> String {
        self.user.as_ref().map_or_else(|| self.id.to_string(), |u| u.attrs.user_principal_name.as_str().to_owned())
    }

    /// The provisioning log record of a decision, with the plan's modified properties
    /// (moved in by the cycle, which needs them no more; the on-demand report keeps a copy).
    pub fn record(&self, run: &mut Run, p: &plan::Plan, modified: Vec<ModifiedProperty>, t0: std::time::Instant) -> ProvisioningLog {
        let name = self.name();
        let decision = Decision {
            kind: ObjectKind::User,
            id: self.id,
            name: &name,
            found: self.user.is_some(),
            anchor: Anchor::new(self.scope.source, self.id),
            matched: self.matched.as_ref().map(|m| m.id),
            target: p.target_id,
            scope_detail: p.scope_detail.clone(),
            action: &p.action,
        };
        run.record(decision, modified, t0)
    }
}
