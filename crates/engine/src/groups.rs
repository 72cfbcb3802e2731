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
use crate::EngineError;
use crate::compile::{Compiled, IS_SOFT_DELETED, NET_ID};
use crate::cycle::{Batch, Run, step};
use crate::plan::{Action, prop, text};
use std::collections::BTreeSet;
use tenantsync_domain::{
    Anchor, AttrValue, AttributeMapping, FlowType, Group, GroupAttribute, GroupAttributes, GroupPatch, NewGroup, ObjectId, ObjectKind, SyncConfiguration,
    SyncScope, TenantId, User,
};
use tenantsync_expression::{Env, Program, Row, Schema, SeededRandom, Slot, SystemClock, Value};
use tenantsync_store::{ListQuery, ModifiedProperty, ProvisioningAction, ProvisioningStatus, StoreError, SyncStore, Visibility, WriteOp};

/// What a cycle did to groups.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupReport {
    pub created: u64,
    pub updated: u64,
    pub restored: u64,
    pub soft_deleted: u64,
    pub hard_deleted: u64,
    pub skipped: u64,
    pub members_added: u64,
    pub members_removed: u64,
}

/// One compiled group mapping.
#[derive(Debug)]
pub struct GroupMapping {
    pub target: GroupAttribute,
    pub program: Program,
    pub flow: FlowType,
    pub default_value: Option<String>,
    pub source_text: String,
}

/// The group mappings of a configuration, compiled against the group schema (every group
/// attribute, `netId` and `IsSoftDeleted`).
#[derive(Debug)]
pub struct CompiledGroups {
    pub schema: Schema,
    net_id: Slot,
    soft_deleted: Slot,
    pub mappings: Vec<GroupMapping>,
}

impl CompiledGroups {
    /// Compiles and checks the group part of a configuration. Group mappings are checked
    /// whether or not group provisioning is on, so turning it on later cannot fail.
    pub fn new(config: &SyncConfiguration) -> Result<CompiledGroups, EngineError> {
        if config.provision_groups && config.scope == SyncScope::AllUsers {
            return Err(EngineError::GroupsNeedAssignedScope);
        }
        let mut schema = Schema::new(GroupAttribute::ALL.iter().map(|a| a.name().to_owned()));
        let net_id = schema.add(NET_ID);
        let soft_deleted = schema.add(IS_SOFT_DELETED);
        let mut mappings = Vec::with_capacity(config.group_mappings.len());
        for m in &config.group_mappings {
            mappings.push(Self::mapping(m, &schema)?);
        }
        Ok(CompiledGroups { schema, net_id, soft_deleted, mappings })
    }

    fn mapping(m: &AttributeMapping, schema: &Schema) -> Result<GroupMapping, EngineError> {
        let bad = |message: String, code: &'static str| EngineError::InvalidGroupMapping { target: m.target_attribute_name.clone(), message, code };
        let target = GroupAttribute::parse(&m.target_attribute_name).map_err(|e| bad(e.to_string(), e.code()))?;
        if target == GroupAttribute::SecurityEnabled {
            return Err(bad("securityEnabled is set by the sync (copies are always security groups) and cannot be mapped".into(), "read_only_attribute"));
        }
        let (text, program) = crate::compile::source_program(&m.source, schema, bad)?;
        Ok(GroupMapping { target, program, flow: m.flow_type, default_value: m.default_value.clone(), source_text: text })
    }

    /// The expression row of a source group.
    pub fn row(&self, group: &Group) -> Row {
        let mut row = self.schema.row();
        for (i, a) in GroupAttribute::ALL.iter().enumerate() {
            let v = match group.attrs.get(*a) {
                AttrValue::Null => continue,
                AttrValue::Bool(b) => Value::Bool(b),
                AttrValue::String(s) => Value::Str(s),
                AttrValue::Strings(v) => Value::Multi(v.into_iter().map(Value::Str).collect()),
            };
            row.set(Slot(i), v);
        }
        row.set(self.net_id, Anchor::new(group.tenant_id, group.id).to_string());
        row.set(self.soft_deleted, group.is_deleted());
        row
    }

    /// The values the mappings produce: (target attribute, value, redacted).
    fn evaluate(&self, group: &Group, creating: bool) -> Result<Vec<(GroupAttribute, AttrValue, bool)>, String> {
        let row = self.row(group);
        let clock = SystemClock;
        let mut random = SeededRandom::new(uuid::Uuid::now_v7().as_u128() as u64);
        let mut out = Vec::with_capacity(self.mappings.len());
        for m in &self.mappings {
            if m.flow == FlowType::ObjectAddOnly && !creating {
                continue;
            }
            let mut env = Env::new(&clock, &mut random);
            let ev = m.program.evaluate(&row, &mut env).map_err(|e| format!("{}: {e}", m.target))?;
            let value = if ev.flows() {
                match &ev.value {
                    Value::Null => AttrValue::Null,
                    Value::Bool(b) => AttrValue::String(b.to_string()),
                    other => other.to_text().map_or(AttrValue::Null, AttrValue::String),
                }
            } else if creating {
                m.default_value.clone().map_or(AttrValue::Null, AttrValue::String)
            } else {
                AttrValue::Null
            };
            // Entra cannot provision nulls: they are not written.
            if !value.is_null() {
                out.push((m.target, value, ev.redacted));
            }
        }
        Ok(out)
    }
}

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
    fn skip(reason: &'static str, target_id: Option<ObjectId>, scope_detail: String) -> GroupPlan {
        GroupPlan { action: Action::Skip(reason), ops: Vec::new(), target_id, modified: Vec::new(), scope_detail, added: 0, removed: 0 }
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
        deletes: &mut crate::cycle::Deletions,
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
                GroupPlan::skip("EntityTypeNotSupported", target_id, "group provisioning is off for this configuration".into())
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
                batch.add(gid, Vec::new(), log);
                continue;
            } else {
                match self.plan(store, gid, source.as_ref(), matched.as_ref(), assigned, whole).await {
                    Ok(p) if !whole && p.ops.is_empty() => continue, // nothing to say
                    Ok(p) => p,
                    Err(message) => {
                        let mut log = run.log(gid, &name, target_id, ProvisioningAction::Other, ProvisioningStatus::Failure);
                        log.object_type = ObjectKind::Group;
                        log.error_code = Some("MappingEvaluationFailed".into());
                        log.error_message = Some(message.clone());
                        batch.add(gid, Vec::new(), log);
                        run.escrow(gid, "MappingEvaluationFailed", message);
                        continue;
                    }
                }
            };
            let r = &mut run.report.groups;
            match p.action {
                Action::Create => r.created += 1,
                Action::Update => r.updated += 1,
                Action::Restore => r.restored += 1,
                Action::SoftDelete => r.soft_deleted += 1,
                Action::HardDelete => r.hard_deleted += 1,
                Action::Skip(_) => r.skipped += 1,
            }
            r.members_added += p.added;
            r.members_removed += p.removed;
            if matches!(p.action, Action::Create | Action::Update | Action::Restore | Action::Skip("RedundantExport")) {
                run.report.counters.count_entitled += 1;
            }
            let (action, status) = match p.action {
                Action::Create => (ProvisioningAction::Create, ProvisioningStatus::Success),
                Action::Update | Action::Restore => (ProvisioningAction::Update, ProvisioningStatus::Success),
                Action::SoftDelete | Action::HardDelete => (ProvisioningAction::Delete, ProvisioningStatus::Success),
                Action::Skip(_) => (ProvisioningAction::Other, ProvisioningStatus::Skipped),
            };
            let mut log = run.log(gid, &name, p.target_id, action, status);
            log.object_type = ObjectKind::Group;
            if let Action::Skip(reason) = p.action {
                log.skip_reason = Some(reason.to_owned());
            }
            let anchor = Anchor::new(self.source, gid);
            log.steps = vec![
                step(
                    "EntryImport",
                    "import",
                    ProvisioningStatus::Success,
                    match &source {
                        Some(_) => format!("Retrieved group '{name}' from the source tenant"),
                        None => format!("Group '{gid}' no longer exists in the source tenant"),
                    },
                ),
                step("EntrySynchronizationScoping", "scoping", ProvisioningStatus::Success, p.scope_detail.clone()),
                step(
                    "EntrySynchronizationMatching",
                    "matching",
                    ProvisioningStatus::Success,
                    match &matched {
                        Some(m) => format!("Matched target group '{}' by anchor {anchor}", m.id),
                        None => format!("No target group carries anchor {anchor}"),
                    },
                ),
                step("EntryExport", "export", status, format!("{:?}", p.action)),
            ];
            log.modified_properties = p.modified;
            log.duration_in_milliseconds = t0.elapsed().as_millis() as u64;
            if matches!(p.action, Action::SoftDelete | Action::HardDelete) {
                deletes.add(batch, gid, p.ops, log);
            } else {
                batch.add(gid, p.ops, log);
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
    ) -> Result<GroupPlan, String> {
        let actions = self.compiled.config.actions;
        let target_id = matched.map(|m| m.id);
        let Some(group) = source else {
            return Ok(match matched {
                Some(t) if actions.delete => GroupPlan {
                    action: Action::HardDelete,
                    ops: vec![WriteOp::HardDeleteGroup { id: t.id, if_match: None }],
                    ..GroupPlan::skip("", target_id, "hard-deleted in the source".into())
                },
                _ => GroupPlan::skip("NotFoundInSource", target_id, "hard-deleted in the source".into()),
            });
        };
        // Scope: internal (loop prevention), active, assigned.
        let out_of_scope = if group.anchor.is_some() {
            Some("ExternalGroup")
        } else if group.is_deleted() {
            Some("DeletedInSource")
        } else if !assigned {
            Some("NotEffectivelyEntitled")
        } else {
            None
        };
        if let Some(reason) = out_of_scope {
            let detail = format!("out of scope: {reason}");
            return Ok(match matched {
                Some(t) if !t.is_deleted() && actions.delete && reason != "ExternalGroup" => GroupPlan {
                    action: Action::SoftDelete,
                    ops: vec![WriteOp::SoftDeleteGroup { id: t.id, if_match: None }],
                    ..GroupPlan::skip("", target_id, detail)
                },
                _ => GroupPlan::skip(reason, target_id, detail),
            });
        }
        let mut p = GroupPlan::skip("RedundantExport", target_id, "in scope".into());
        let creating = matched.is_none();
        let values = self.compiled.groups.evaluate(group, creating)?;
        let target_gid = match matched {
            None => {
                if !actions.create {
                    p.action = Action::Skip("CreateNotAllowed");
                    return Ok(p);
                }
                // A static security group; the display name falls back to the source's
                // when no mapping yields one (a group must have a name).
                let mut attrs = GroupAttributes::new(&group.attrs.display_name).map_err(|e| e.to_string())?;
                attrs.security_enabled = true;
                let anchor = Anchor::new(self.source, gid);
                p.modified.push(prop("anchor", None, Some(anchor.to_string()), false));
                for (a, value, redacted) in values {
                    p.modified.push(prop(a.name(), None, text(&value), redacted));
                    attrs.set(a, value).map_err(|e| e.to_string())?;
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
                    p.action = Action::Skip("UpdateNotAllowed");
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
        let wanted = self.wanted_members(store, gid).await.map_err(|e| e.to_string())?;
        let current = match matched {
            Some(t) => self.current_members(store, t.id).await.map_err(|e| e.to_string())?,
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
        if p.action == Action::Skip("RedundantExport") && !p.ops.is_empty() {
            p.action = Action::Update;
        }
        Ok(p)
    }

    /// The target users that should be members: the live copies of the source group's
    /// direct members that are in scope (internal, active, passing the scoping filter —
    /// being a member of an assigned group, they are entitled). Nested groups cannot be
    /// members in tenantsync, so there are none to skip.
    async fn wanted_members(&self, store: &dyn SyncStore, gid: ObjectId) -> Result<Vec<(ObjectId, String)>, EngineError> {
        let mut out = Vec::new();
        let mut query = ListQuery { limit: 5000, ..ListQuery::default() };
        loop {
            let page = store.list_members(self.source, gid, &query).await?;
            for u in &page.items {
                if u.anchor.is_some() || u.is_deleted() {
                    continue;
                }
                if let Some(filter) = &self.compiled.filter
                    && !filter.is_in_scope(&self.compiled.row(u))
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
    async fn current_members(&self, store: &dyn SyncStore, target_gid: ObjectId) -> Result<Vec<(ObjectId, String)>, EngineError> {
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
