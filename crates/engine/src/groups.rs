//! Group provisioning: Entra's "Provision Microsoft Entra ID Groups" object mapping (a
//! preview in Entra's cross-tenant sync).
//!
//! The assigned groups of a configuration that are internal to the source are created in
//! the target as **static security groups** carrying the anchor `<source tenant>:<source
//! group>`, matched by that anchor, and kept in step: attributes through the group
//! mappings, members as the target copies of the source group's direct members that are
//! in scope of the configuration. A group that is soft-deleted, unassigned or gone in the
//! source is soft-deleted or hard-deleted in the target. Target groups without this
//! configuration's anchor are never looked at.
//!
//! A cycle runs this pass after its users are written (so the copies of new members
//! exist), on the groups that are candidates: every assigned group and every group this
//! configuration made, in an initial cycle; groups that changed (attributes, lifecycle,
//! members), groups of users that changed, and groups in escrow, in an incremental one.
use crate::compile::Compiled;
use crate::plan::{Action, prop, text};
use crate::run::{Batch, Decision, Deletions, Done, Run, Tally};
use crate::{EngineError, PlanError};
use std::collections::BTreeSet;
use tenantsync_domain::{Anchor, Clock, Group, GroupAttributes, GroupPatch, NewGroup, ObjectId, ObjectKind, SkipReason, SyncConfiguration, TenantId, User};
use tenantsync_store::{ListQuery, ModifiedProperty, ProvisioningAction, ProvisioningStatus, StoreError, SyncStore, Visibility, WriteOp};

/// The source groups a cycle looks at.
#[derive(Debug, Default)]
pub(crate) struct Candidates {
    /// Groups processed whole: attributes, lifecycle and members.
    pub full: BTreeSet<ObjectId>,
    /// Groups whose members may have changed scope (a member changed): only their
    /// membership is brought in step, so target-side edits of the group's attributes
    /// persist until the source group itself changes (as in Entra).
    pub members: BTreeSet<ObjectId>,
}

/// The groups an initial cycle looks at: every assigned group, and every target group this
/// configuration made (to find groups unassigned or deleted meanwhile). With group
/// provisioning off, only the assigned groups (to log that they are not provisioned).
pub(crate) async fn initial_candidates(
    store: &dyn SyncStore,
    config: &SyncConfiguration,
    assigned: &[ObjectId],
    out: &mut BTreeSet<ObjectId>,
) -> Result<(), EngineError> {
    out.extend(assigned.iter().copied());
    if !config.provision_groups {
        return Ok(());
    }
    let mut query = ListQuery { limit: 5000, visibility: Visibility::All, ..ListQuery::default() };
    loop {
        let page = store.list_groups(config.target_tenant_id, &query).await?;
        out.extend(page.items.iter().filter_map(|g| g.anchor.filter(|a| a.tenant == config.source_tenant_id).map(|a| a.object)));
        match page.next {
            Some(next) => query.after = Some(next),
            None => return Ok(()),
        }
    }
}

/// The groups whose membership in the target may change because a source user changed:
/// its assigned groups in the source and, when its copy is restored, the synced groups the
/// copy still belongs to (its membership rows survive a soft delete, and the source may
/// have dropped the user meanwhile, e.g. while the target refused groups).
pub(crate) async fn groups_of_user(
    store: &dyn SyncStore,
    config: &SyncConfiguration,
    assigned: &[ObjectId],
    member_of: &[ObjectId],
    copy: Option<&User>,
    action: &Action,
    out: &mut BTreeSet<ObjectId>,
) -> Result<(), EngineError> {
    out.extend(member_of.iter().filter(|g| assigned.contains(g)).copied());
    if let (Some(copy), Action::Restore) = (copy, action) {
        for g in store.member_of(config.target_tenant_id, copy.id).await? {
            if let Some(a) = store.get_group(config.target_tenant_id, g).await?.anchor
                && a.tenant == config.source_tenant_id
            {
                out.insert(a.object);
            }
        }
    }
    Ok(())
}

/// What one configuration knows while processing its groups.
pub(crate) struct GroupPass<'a> {
    pub compiled: &'a Compiled,
    pub source: TenantId,
    pub target: TenantId,
    /// Every assigned group (live or not).
    pub assigned: &'a [ObjectId],
    /// Why the target does not allow group sync from the source, if it does not.
    pub denied: Option<String>,
    /// What mappings read as `Now()`.
    pub clock: &'a dyn Clock,
}

/// The decision for one source group.
struct GroupPlan {
    action: Action,
    ops: Vec<WriteOp>,
    target_id: Option<ObjectId>,
    modified: Vec<ModifiedProperty>,
    scope_detail: String,
    added: u64,
    removed: u64,
}

impl GroupPlan {
    fn new(action: Action, ops: Vec<WriteOp>, target_id: Option<ObjectId>, scope_detail: String) -> GroupPlan {
        GroupPlan { action, ops, target_id, modified: Vec::new(), scope_detail, added: 0, removed: 0 }
    }

    fn skip(reason: SkipReason, target_id: Option<ObjectId>, scope_detail: String) -> GroupPlan {
        GroupPlan::new(Action::Skip(reason), Vec::new(), target_id, scope_detail)
    }
}

impl GroupPass<'_> {
    /// Processes every candidate group: decisions into `batch` (creates, updates,
    /// memberships, skips), soft and hard deletes through `deletes` (they count towards
    /// the accidental-deletion threshold).
    pub async fn run(
        &self,
        run: &mut Run,
        store: &dyn SyncStore,
        candidates: Candidates,
        batch: &mut Batch,
        deletes: &mut Deletions,
    ) -> Result<(), EngineError> {
        let Candidates { full, members } = candidates;
        let all: BTreeSet<ObjectId> = full.union(&members).copied().collect();
        for gid in all {
            let whole = full.contains(&gid);
            let t0 = std::time::Instant::now();
            let source = match store.get_group(self.source, gid).await {
                Ok(g) => Some(g),
                Err(StoreError::NotFound { .. }) => None,
                Err(e) => return Err(e.into()),
            };
            let matched = store.find_group_by_anchor(self.target, &Anchor::new(self.source, gid)).await?;
            let assigned = self.assigned.contains(&gid);
            if !assigned && matched.is_none() {
                // Neither in scope nor made by this configuration: none of its business.
                continue;
            }
            if !whole && !self.compiled.config.provision_groups {
                continue;
            }
            let name = source.as_ref().map_or_else(|| gid.to_string(), |g| g.attrs.display_name.clone());
            if source.is_some() {
                run.report.counters.count_imported += u64::from(run.report.initial);
            }
            run.groups.insert(gid);
            let target_id = matched.as_ref().map(|m| m.id);
            let p = if !self.compiled.config.provision_groups {
                if !assigned {
                    continue; // groups synced while it was on stay as they are
                }
                GroupPlan::skip(SkipReason::EntityTypeNotSupported, target_id, "group provisioning is off for this configuration".into())
            } else if let Some(detail) = &self.denied {
                if !whole {
                    continue;
                }
                let mut log = run.log(gid, &name, target_id, ProvisioningAction::Other, ProvisioningStatus::Skipped);
                log.object_type = ObjectKind::Group;
                log.error_code = Some(crate::EngineError::PolicyCheck { detail: String::new() }.code().to_owned());
                log.error_message = Some(detail.clone());
                log.duration_in_milliseconds = t0.elapsed().as_millis() as u64;
                run.report.groups.skipped += 1;
                batch.add(gid, Vec::new(), log, Tally::Nothing);
                continue;
            } else {
                match self.plan(store, gid, source.as_ref(), matched.as_ref(), assigned, whole).await {
                    Ok(p) if !whole && p.ops.is_empty() => continue, // nothing to say
                    Ok(p) => p,
                    Err(e) => {
                        let mut log = run.log(gid, &name, target_id, ProvisioningAction::Other, ProvisioningStatus::Failure);
                        log.object_type = ObjectKind::Group;
                        log.error_code = Some(e.code().to_owned());
                        log.error_message = Some(e.to_string());
                        batch.add(gid, Vec::new(), log, Tally::Nothing);
                        run.escrow(gid, e.code(), e.to_string());
                        continue;
                    }
                }
            };
            // A skip counts now; writes when they are written.
            let tally = match Done::of(&p.action) {
                Some(done) => Tally::Group { done, members_added: p.added, members_removed: p.removed },
                None => {
                    run.report.groups.skipped += 1;
                    Tally::Nothing
                }
            };
            if p.action.entitled() {
                run.report.counters.count_entitled += 1;
            }
            let decision = Decision {
                kind: ObjectKind::Group,
                id: gid,
                name: &name,
                found: source.is_some(),
                anchor: Anchor::new(self.source, gid),
                matched: target_id,
                target: p.target_id,
                scope_detail: std::borrow::Cow::Owned(p.scope_detail.clone()),
                action: &p.action,
            };
            let log = run.record(decision, p.modified, t0);
            if matches!(p.action, Action::SoftDelete | Action::HardDelete) {
                deletes.add(batch, gid, p.ops, log, tally);
            } else {
                batch.add(gid, p.ops, log, tally);
            }
            if batch.len() >= run.batch_objects() {
                run.commit_pending(std::mem::take(batch)).await?;
            }
        }
        Ok(())
    }

    /// Scope → match → map → act for one source group.
    async fn plan(
        &self,
        store: &dyn SyncStore,
        gid: ObjectId,
        source: Option<&Group>,
        matched: Option<&Group>,
        assigned: bool,
        whole: bool,
    ) -> Result<GroupPlan, PlanError> {
        let actions = self.compiled.config.actions;
        let target_id = matched.map(|m| m.id);
        let Some(group) = source else {
            let detail = "hard-deleted in the source".to_owned();
            return Ok(match matched {
                Some(t) if actions.delete => GroupPlan::new(Action::HardDelete, vec![WriteOp::HardDeleteGroup { id: t.id, if_match: None }], target_id, detail),
                _ => GroupPlan::skip(SkipReason::NotFoundInSource, target_id, detail),
            });
        };
        // Scope: internal (loop prevention), active, assigned.
        let out_of_scope = if group.anchor.is_some() {
            Some(SkipReason::ExternalGroup)
        } else if group.is_deleted() {
            Some(SkipReason::DeletedInSource)
        } else if !assigned {
            Some(SkipReason::NotEffectivelyEntitled)
        } else {
            None
        };
        if let Some(reason) = out_of_scope {
            let detail = format!("out of scope: {reason}");
            return Ok(match matched {
                Some(t) if !t.is_deleted() && actions.delete && reason != SkipReason::ExternalGroup => {
                    GroupPlan::new(Action::SoftDelete, vec![WriteOp::SoftDeleteGroup { id: t.id, if_match: None }], target_id, detail)
                }
                _ => GroupPlan::skip(reason, target_id, detail),
            });
        }
        let mut p = GroupPlan::skip(SkipReason::RedundantExport, target_id, "in scope".into());
        let creating = matched.is_none();
        let values = self.compiled.groups.evaluate(group, creating, self.clock)?;
        let target_gid = match matched {
            None => {
                if !actions.create {
                    p.action = Action::Skip(SkipReason::CreateNotAllowed);
                    return Ok(p);
                }
                // A static security group; the display name falls back to the source's
                // when no mapping yields one (a group must have a name).
                let mut attrs = GroupAttributes::new(&group.attrs.display_name)?;
                attrs.security_enabled = true;
                let anchor = Anchor::new(self.source, gid);
                p.modified.push(prop("anchor", None, Some(anchor.to_string()), false));
                for (a, value, redacted) in values {
                    p.modified.push(prop(a.name(), None, text(&value), redacted));
                    attrs.set(a, value)?;
                }
                let new = NewGroup { id: ObjectId::new(), attrs, anchor: Some(anchor) };
                p.target_id = Some(new.id);
                p.action = Action::Create;
                let id = new.id;
                p.ops.push(WriteOp::CreateGroup(new));
                id
            }
            Some(t) => {
                if t.is_deleted() {
                    p.action = Action::Restore;
                    p.ops.push(WriteOp::RestoreGroup { id: t.id, if_match: None });
                } else if !actions.update {
                    p.action = Action::Skip(SkipReason::UpdateNotAllowed);
                    return Ok(p);
                }
                let mut patch = GroupPatch::default();
                // Attributes flow when the source group changed (or on a full
                // re-evaluation), not when only a member did.
                let values = if whole || t.is_deleted() { values } else { Vec::new() };
                for (a, value, redacted) in values {
                    let current = t.attrs.get(a);
                    if current != value {
                        p.modified.push(prop(a.name(), text(&current), text(&value), redacted));
                        patch.set.push((a, value));
                    }
                }
                if !patch.set.is_empty() {
                    p.ops.push(WriteOp::UpdateGroup { id: t.id, patch, if_match: None });
                }
                t.id
            }
        };
        // Members: the live target copies of the in-scope direct members.
        let wanted = self.wanted_members(store, gid).await?;
        let current = match matched {
            Some(t) => self.current_members(store, t.id).await?,
            None => Vec::new(),
        };
        for (id, upn) in &wanted {
            if !current.iter().any(|(c, _)| c == id) {
                p.ops.push(WriteOp::AddMember { group: target_gid, user: *id, if_match: None });
                p.modified.push(prop("members", None, Some(upn.clone()), false));
                p.added += 1;
            }
        }
        for (id, upn) in &current {
            if !wanted.iter().any(|(w, _)| w == id) {
                p.ops.push(WriteOp::RemoveMember { group: target_gid, user: *id, if_match: None });
                p.modified.push(prop("members", Some(upn.clone()), None, false));
                p.removed += 1;
            }
        }
        if p.action == Action::Skip(SkipReason::RedundantExport) && !p.ops.is_empty() {
            p.action = Action::Update;
        }
        Ok(p)
    }

    /// The target users that should be members: the live copies of the source group's
    /// direct members that are in scope (internal, active, passing the scoping filter —
    /// being a member of an assigned group, they are entitled). Nested groups cannot be
    /// members in tenantsync, so there are none to skip.
    async fn wanted_members(&self, store: &dyn SyncStore, gid: ObjectId) -> Result<Vec<(ObjectId, String)>, StoreError> {
        let mut out = Vec::new();
        let mut query = ListQuery { limit: 5000, ..ListQuery::default() };
        loop {
            let page = store.list_members(self.source, gid, &query).await?;
            for u in &page.items {
                if u.anchor.is_some() || u.is_deleted() {
                    continue;
                }
                if let Some(filter) = &self.compiled.filter
                    && !filter.is_in_scope(&self.compiled.planning_row(u))
                {
                    continue;
                }
                if let Some(copy) = store.find_user_by_anchor(self.target, &Anchor::new(self.source, u.id)).await?
                    && !copy.is_deleted()
                {
                    out.push((copy.id, copy.attrs.user_principal_name.to_string()));
                }
            }
            match page.next {
                Some(next) => query.after = Some(next),
                None => return Ok(out),
            }
        }
    }

    /// The target group's live members that came from this configuration's source (members
    /// added in the target by anyone else are left alone).
    async fn current_members(&self, store: &dyn SyncStore, target_gid: ObjectId) -> Result<Vec<(ObjectId, String)>, StoreError> {
        let mut out = Vec::new();
        let mut query = ListQuery { limit: 5000, ..ListQuery::default() };
        loop {
            let page = store.list_members(self.target, target_gid, &query).await?;
            out.extend(
                page.items.iter().filter(|u| u.anchor.is_some_and(|a| a.tenant == self.source)).map(|u| (u.id, u.attrs.user_principal_name.to_string())),
            );
            match page.next {
                Some(next) => query.after = Some(next),
                None => return Ok(out),
            }
        }
    }
}
