//! Deciding what to do with one source user: scope → match → map → action.
use crate::PlanError;
use crate::compile::Compiled;
use std::borrow::Cow;
use tenantsync_domain::{
    Anchor, AttrValue, Clock, DomainName, FlowType, NewUser, ObjectId, SkipReason, SyncScope, TenantId, User, UserAttrName, UserAttribute, UserPatch, UserRef,
};
use tenantsync_expression::{Env, Evaluation, RandomSource, SeededRandom, Value};
use tenantsync_store::{ModifiedProperty, WriteOp};

/// What the engine does to the target for one source user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    Restore,
    SoftDelete,
    HardDelete,
    /// Nothing to do, and why (e.g. `NotEffectivelyEntitled`, `RedundantExport`).
    Skip(SkipReason),
}

impl Action {
    /// Whether the object is entitled to its copy: created, kept up to date, or already
    /// up to date.
    pub fn entitled(&self) -> bool {
        matches!(self, Action::Create | Action::Update | Action::Restore | Action::Skip(SkipReason::RedundantExport))
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Action::Create => f.write_str("Create"),
            Action::Update => f.write_str("Update"),
            Action::Restore => f.write_str("Restore"),
            Action::SoftDelete => f.write_str("SoftDelete"),
            Action::HardDelete => f.write_str("HardDelete"),
            Action::Skip(reason) => write!(f, "Skip ({reason})"),
        }
    }
}

/// The decision for one source user, with the writes it needs.
#[derive(Debug, Clone)]
pub struct Plan {
    pub source_id: ObjectId,
    pub action: Action,
    pub ops: Vec<WriteOp>,
    /// The source user's manager, to resolve once every user of the cycle is written.
    pub manager: Option<ObjectId>,
    /// The target user, once known.
    pub target_id: Option<ObjectId>,
    /// Attributes the action writes, old → new (redacted values as `[Redact]`).
    pub modified: Vec<ModifiedProperty>,
    /// What the scoping step found, for the log.
    pub scope_detail: Cow<'static, str>,
    /// A dry run's create: the new copy's mail. Its write is not made (the copy is
    /// decided in full, but nothing reads more of it than its mail).
    pub created_mail: Option<tenantsync_domain::Mail>,
}

impl Plan {
    /// The writes the decision makes (a dry run's create is one, not made).
    pub fn writes(&self) -> usize {
        if self.ops.is_empty() && self.action == Action::Create { 1 } else { self.ops.len() }
    }
}

/// Why a source user is out of scope, if it is.
pub struct ScopeInput<'a> {
    pub assigned_directly: bool,
    pub assigned_groups: &'a [ObjectId],
    pub member_of: &'a [ObjectId],
}

fn to_attr(v: Value) -> AttrValue {
    match v {
        Value::Null => AttrValue::Null,
        Value::Bool(b) => AttrValue::Bool(b),
        // Moved, not copied: most mappings are direct, and this is per attribute per user.
        Value::Str(s) => AttrValue::String(s),
        Value::Multi(items) => AttrValue::Strings(items.iter().filter_map(Value::to_text).collect()),
        other => other.to_text().map_or(AttrValue::Null, AttrValue::String),
    }
}

/// What the mappings make of a source user for a new copy, checked against the target
/// attributes: the same for every arrow with the same mappings and filter, so the arrows
/// of a plan that share a scan of their source share it too (see [`UserMemo`]).
#[derive(Debug, Clone)]
pub struct Mapped {
    /// The copy's attributes but its userPrincipalName (each target's own B2B form).
    attrs: tenantsync_domain::UserAttributes,
    manager: Option<ObjectId>,
    /// The mapped attributes' modified properties, new values only.
    modified: Vec<ModifiedProperty>,
}

/// What scoping and mapping made of one source user, once for every arrow of one class
/// (same mappings, same filter) walking the same page: the filter's verdict and a new
/// copy's mapped attributes, each worked out by the first arrow that needs it. Only dry
/// runs share memos (a memo's mapped attributes list no modified properties).
#[derive(Debug, Default)]
pub struct UserMemo {
    in_filter: std::sync::OnceLock<bool>,
    created: std::sync::OnceLock<Result<Mapped, PlanError>>,
    /// Whether the user's B2B userPrincipalName fits (the same in every target: only the
    /// part before the target's domain has a limit).
    external_fits: std::sync::OnceLock<bool>,
}

/// A source user as one plan looks at it: its row made at most once, and read through
/// the memo of its class when there is one.
struct Looked<'a> {
    c: &'a Compiled,
    user: &'a User,
    row: std::cell::OnceCell<tenantsync_expression::Row>,
    memo: Option<&'a UserMemo>,
}

impl Looked<'_> {
    fn row(&self) -> &tenantsync_expression::Row {
        if let Some(row) = self.c.shared_row() {
            return row;
        }
        self.row.get_or_init(|| self.c.planning_row(self.user))
    }

    fn in_filter(&self) -> bool {
        let Some(filter) = &self.c.filter else { return true };
        match self.memo {
            Some(m) => *m.in_filter.get_or_init(|| filter.is_in_scope(self.row())),
            None => filter.is_in_scope(self.row()),
        }
    }

    /// The new copy's mapped attributes: borrowed from the memo, or made for this plan.
    /// A dry run's lists no modified properties (no one reads them).
    fn created(&self, clock: &dyn Clock, dry: bool) -> Result<Cow<'_, Mapped>, PlanError> {
        match self.memo {
            Some(m) => {
                m.created.get_or_init(|| map_new(self.c, &mut Src::Read(self.user), self.row(), clock, dry)).as_ref().map(Cow::Borrowed).map_err(Clone::clone)
            }
            None => map_new(self.c, &mut Src::Read(self.user), self.row(), clock, dry).map(Cow::Owned),
        }
    }

    /// [`Upn::check_external_in`] of the user, its verdict read from the memo.
    fn check_external_in(&self, target: &tenantsync_domain::DomainName) -> Result<(), PlanError> {
        let upn = &self.user.attrs.user_principal_name;
        let fits = match self.memo {
            Some(m) => *m.external_fits.get_or_init(|| upn.check_external_in(target).is_ok()),
            None => return Ok(upn.check_external_in(target)?),
        };
        if fits { Ok(()) } else { Ok(upn.check_external_in(target)?) }
    }
}

/// Where a plan reads the source user's values: a user read for others too (a page
/// shared by several walks, the on-demand report that shows it), or one read for this
/// plan alone, whose values a create's movable direct mappings ([`crate::compile::Mapping::movable`])
/// move into the copy instead of copying (the user is left without them).
pub enum Src<'a> {
    Read(&'a User),
    Spend(&'a mut User),
}

impl Src<'_> {
    fn user(&self) -> &User {
        match self {
            Src::Read(u) => u,
            Src::Spend(u) => u,
        }
    }

    /// The value a direct mapping from `name` copies.
    fn value(&mut self, name: &UserAttrName, movable: bool) -> AttrValue {
        match self {
            Src::Spend(u) if movable => u.attrs.take(name),
            other => other.user().attrs.get(name),
        }
    }
}

/// Evaluates the mappings for a new copy of the source user and checks each value
/// against its target attribute.
fn map_new(c: &Compiled, src: &mut Src<'_>, row: &tenantsync_expression::Row, clock: &dyn Clock, dry: bool) -> Result<Mapped, PlanError> {
    let mut m = Mapped {
        attrs: tenantsync_domain::UserAttributes::new(src.user().attrs.user_principal_name.clone()),
        manager: None,
        modified: if dry { Vec::new() } else { Vec::with_capacity(c.mappings.len()) },
    };
    let evaluated = evaluate(c, src, row, true, false, clock)?;
    m.manager = evaluated.manager;
    for (name, value, redacted, same) in evaluated.values {
        if !dry {
            m.modified.push(prop(label(&name), None, text(&value), redacted));
        }
        if same {
            m.attrs.put_valid(&name, value)?;
        } else {
            m.attrs.set(&name, value)?;
        }
    }
    Ok(m)
}

/// [`map_new`] for a create that owns its source user (`Src::Spend`), whose copy is
/// `upn`: the user's attributes move into the copy as a whole, the
/// [`crate::compile::Mapping::same`] mappings' kept as they are and the rest reset; the
/// other mappings are evaluated first (they read the user as it was) and set as
/// `map_new` sets them. The same copy as `map_new`, and the same modified properties
/// once those of kept values are read from the copy ([`ModifiedProperty::in_copy`]: not
/// a second copy of each value), appended to `modified`; the user keeps only its
/// userPrincipalName.
fn map_new_moving(
    c: &Compiled,
    src: &mut Src<'_>,
    upn: tenantsync_domain::Upn,
    row: &tenantsync_expression::Row,
    clock: &dyn Clock,
    modified: &mut Vec<ModifiedProperty>,
) -> Result<Mapped, PlanError> {
    let Src::Spend(user) = src else {
        // Read for others too: mapped value by value.
        let mut mapped = map_new(c, src, row, clock, false)?;
        mapped.attrs.user_principal_name = upn;
        modified.append(&mut mapped.modified);
        return Ok(mapped);
    };
    let evaluated = evaluate(c, &mut Src::Spend(user), row, true, true, clock)?;
    // The attributes move out whole (one copy of a big struct), the UPN swapped back.
    let mut attrs = std::mem::replace(&mut user.attrs, tenantsync_domain::UserAttributes::new(upn));
    std::mem::swap(&mut attrs.user_principal_name, &mut user.attrs.user_principal_name);
    attrs.retain(c.same_attrs);
    let mut others = evaluated.values.into_iter().peekable();
    for m in &c.mappings {
        if let Some(a) = m.same {
            // As `evaluate`: the value flows unless empty; then the default, if any.
            match attrs.text_of(a).map(|v| v.is_empty()) {
                // Its record's value is read from the copy when the record is stored.
                Some(false) => modified.push(ModifiedProperty::in_copy(a)),
                // An empty text held as such flows as `map_new` puts it: recorded, unset.
                Some(true) => {
                    modified.push(prop(a.name(), None, Some(String::new()), false));
                    attrs.set(&m.target, AttrValue::Null)?;
                }
                None => {
                    if let Some(d) = &m.default_value {
                        modified.push(prop(a.name(), None, Some(d.clone()), false));
                        attrs.set(&m.target, AttrValue::String(d.clone()))?;
                    }
                }
            }
        } else if let Some((name, value, redacted, same)) = others.next_if(|(name, ..)| *name == m.target) {
            modified.push(prop(label(&name), None, text(&value), redacted));
            if same {
                attrs.put_valid(&name, value)?;
            } else {
                attrs.set(&name, value)?;
            }
        }
    }
    Ok(Mapped { attrs, manager: evaluated.manager, modified: Vec::new() })
}

/// Is the source user in scope? Returns the skip reason if not. The filter's verdict is
/// asked of `in_filter`, only when it matters.
fn scope_with(c: &Compiled, user: &User, input: &ScopeInput<'_>, in_filter: impl FnOnce() -> bool) -> Result<(), SkipReason> {
    if user.anchor.is_some() {
        // Loop prevention: objects that came from elsewhere are never passed on.
        return Err(SkipReason::ExternalUser);
    }
    if user.is_deleted() {
        return Err(SkipReason::DeletedInSource);
    }
    if c.config.scope == SyncScope::AssignedUsersAndGroups && !input.assigned_directly && !input.member_of.iter().any(|g| input.assigned_groups.contains(g)) {
        return Err(SkipReason::NotEffectivelyEntitled);
    }
    if !in_filter() {
        return Err(SkipReason::ScopingFilterFailed);
    }
    Ok(())
}

/// What the mappings produce for a user.
struct Evaluated {
    /// (target attribute, value, redacted, and whether the value is the user's own of
    /// that same attribute, valid as it is); not the manager.
    values: Vec<(UserAttrName, AttrValue, bool, bool)>,
    /// The source user's manager, when a mapping to the manager gives one.
    manager: Option<ObjectId>,
}

/// Evaluates the mappings (the [`crate::compile::Mapping::same`] ones not, when
/// `but_same`).
fn evaluate(
    c: &Compiled,
    src: &mut Src<'_>,
    row: &tenantsync_expression::Row,
    creating: bool,
    but_same: bool,
    clock: &dyn Clock,
) -> Result<Evaluated, PlanError> {
    let mut random = LazyRandom::default();
    let mut out = Evaluated { values: Vec::with_capacity(c.mappings.len()), manager: None };
    for m in &c.mappings {
        if (m.flow == FlowType::ObjectAddOnly && !creating) || (but_same && m.same.is_some()) {
            continue;
        }
        // `[manager]` to the manager, as the default mappings have it: the id itself, not
        // its text parsed back.
        if m.target == MANAGER
            && m.direct == Some(MANAGER)
            && let Some(id) = src.user().attrs.manager
        {
            out.manager = Some(id);
            continue;
        }
        let (flows, value, redacted, same) = match &m.direct {
            // The attribute as the row would hold it: it flows unless it is empty.
            Some(name) => {
                let v = src.value(name, m.movable);
                (!(v.is_null() || matches!(&v, AttrValue::Strings(s) if s.is_empty())), v, false, *name == m.target)
            }
            None => {
                let mut env = Env::new(clock, &mut random);
                let ev: Evaluation = m.program.evaluate(row, &mut env).map_err(|error| PlanError::Mapping { target: m.target.to_string(), error })?;
                (ev.flows(), to_attr(ev.value), ev.redacted, false)
            }
        };
        let (value, same) = if flows {
            (value, same)
        } else if creating {
            (m.default_value.clone().map_or(AttrValue::Null, AttrValue::String), false)
        } else {
            (AttrValue::Null, false)
        };
        if m.target == MANAGER {
            if !value.is_null() {
                out.manager = value.as_str().and_then(|s| s.parse().ok());
            }
        } else if !value.is_null() {
            out.values.push((m.target.clone(), value, redacted, same));
        }
    }
    Ok(out)
}

/// The random source of one user's mappings, seeded when a mapping first draws from it
/// (`Guid()`, `RandomString`): most users' mappings draw nothing, and a seed costs a clock
/// read and fresh random bits.
#[derive(Default)]
struct LazyRandom(Option<SeededRandom>);

impl RandomSource for LazyRandom {
    fn next_u64(&mut self) -> u64 {
        self.0.get_or_insert_with(|| SeededRandom::new(uuid::Uuid::now_v7().as_u128() as u64)).next_u64()
    }
}

const MANAGER: UserAttrName = UserAttrName::Builtin(UserAttribute::Manager);

/// What stays the same for every user a configuration plans in one run.
pub struct Planner<'a> {
    pub compiled: &'a Compiled,
    pub source_tenant: TenantId,
    /// The target's initial domain (of the B2B userPrincipalName).
    pub target_domain: &'a DomainName,
    /// What mappings read as `Now()`.
    pub clock: &'a dyn Clock,
    /// A dry run, whose writer reads of a new copy only its mail: the copy is decided in
    /// full (every mapping evaluated and checked) but carries only that, and no modified
    /// properties are listed.
    pub dry: bool,
}

/// Decides the action for one source user. `source` is `None` when the user no longer
/// exists in the source (hard-deleted); `target` is the matched target user, if any.
/// `memo` is the user's memo of its class when arrows share it.
pub fn plan(
    planner: &Planner<'_>,
    source_id: ObjectId,
    source: Option<Src<'_>>,
    target: Option<&User>,
    scope_input: &ScopeInput<'_>,
    memo: Option<&UserMemo>,
) -> Result<Plan, PlanError> {
    let Planner { compiled: c, source_tenant, target_domain, clock, dry } = *planner;
    let actions = c.config.actions;
    let mut p = Plan {
        source_id,
        action: Action::Skip(SkipReason::RedundantExport),
        ops: Vec::new(),
        manager: None,
        target_id: target.map(|t| t.id),
        modified: if dry { Vec::new() } else { Vec::with_capacity(c.mappings.len() + 2) },
        scope_detail: Cow::Borrowed("in scope"),
        created_mail: None,
    };
    let Some(mut src) = source else {
        // Gone from the source for good.
        if let Some(t) = target
            && actions.delete
        {
            p.action = Action::HardDelete;
            p.ops.push(WriteOp::HardDeleteUser { id: t.id, if_match: None });
        } else {
            p.action = Action::Skip(SkipReason::NotFoundInSource);
        }
        return Ok(p);
    };
    // Values are moved out of a source user read for this plan alone only by a create
    // that is written (a dry run's creates share memos; their users are read again).
    let spend = matches!(src, Src::Spend(_)) && memo.is_none() && !dry;
    let user: &User = src.user();
    let looked = Looked { c, user, row: std::cell::OnceCell::new(), memo };
    if let Err(reason) = scope_with(c, user, scope_input, || looked.in_filter()) {
        p.action = Action::Skip(reason);
        p.scope_detail = Cow::Owned(format!("out of scope: {reason}"));
        if reason == SkipReason::ExternalUser {
            return Ok(p);
        }
        if let Some(t) = target
            && !t.is_deleted()
            && actions.delete
        {
            // Edge case from Entra: a user disabled and provisioned, then removed from
            // scope, stays disabled rather than being deleted.
            let disabled_both = !user.attrs.account_enabled && !t.attrs.account_enabled;
            if !(disabled_both && reason == SkipReason::NotEffectivelyEntitled) {
                p.action = Action::SoftDelete;
                p.ops.push(WriteOp::SoftDeleteUser { id: t.id, if_match: None });
            }
        }
        return Ok(p);
    }
    let source_upn = &user.attrs.user_principal_name;
    match target {
        None if dry => {
            // The same checks as a real create, nothing built that no one reads: the B2B
            // userPrincipalName checked, not made, and the copy's id a stand-in (its
            // source's: unique in the run, and never written).
            looked.check_external_in(target_domain)?;
            if !actions.create {
                p.action = Action::Skip(SkipReason::CreateNotAllowed);
                return Ok(p);
            }
            let mapped = looked.created(clock, true)?;
            p.manager = mapped.manager;
            p.created_mail = mapped.attrs.mail.clone();
            p.target_id = Some(user.id);
            p.action = Action::Create;
        }
        None => {
            let upn = source_upn.external_in(target_domain)?;
            if !actions.create {
                p.action = Action::Skip(SkipReason::CreateNotAllowed);
                return Ok(p);
            }
            let anchor = Anchor::new(source_tenant, user.id);
            // Both values are the copy's: the store reads them from its write.
            p.modified.push(ModifiedProperty::in_copy(UserAttribute::UserPrincipalName));
            p.modified.push(ModifiedProperty::anchor_in_copy());
            let mapped = if spend {
                // The row first: expressions read it, and none reads a value moved out.
                let own;
                let row = match c.shared_row() {
                    Some(row) => row,
                    None => {
                        own = looked.row.into_inner().unwrap_or_else(|| c.planning_row(user));
                        &own
                    }
                };
                // Its properties go straight into the plan's.
                map_new_moving(c, &mut src, upn, row, clock, &mut p.modified)?
            } else {
                let mut mapped = looked.created(clock, false)?.into_owned();
                mapped.attrs.user_principal_name = upn;
                mapped
            };
            p.manager = mapped.manager;
            let Mapped { attrs, modified, .. } = mapped;
            p.modified.extend(modified);
            let new = Box::new(NewUser { id: ObjectId::new(), attrs, manager: None, anchor: Some(anchor) });
            p.target_id = Some(new.id);
            p.action = Action::Create;
            p.ops.push(WriteOp::CreateUser(new));
        }
        Some(t) => {
            let upn = source_upn.external_in(target_domain)?;
            if t.is_deleted() {
                p.action = Action::Restore;
                p.ops.push(WriteOp::RestoreUser { id: t.id, if_match: None });
            }
            if !actions.update && !t.is_deleted() {
                p.action = Action::Skip(SkipReason::UpdateNotAllowed);
                return Ok(p);
            }
            let mut patch = UserPatch::default();
            if !t.attrs.user_principal_name.as_str().eq_ignore_ascii_case(upn.as_str()) {
                p.modified.push(prop("userPrincipalName", Some(t.attrs.user_principal_name.to_string()), Some(upn.to_string()), false));
                patch.set.push((UserAttrName::Builtin(UserAttribute::UserPrincipalName), AttrValue::String(upn.to_string())));
            }
            let evaluated = evaluate(c, &mut Src::Read(looked.user), looked.row(), false, false, clock)?;
            p.manager = evaluated.manager;
            for (name, value, redacted, _) in evaluated.values {
                let current = t.attrs.get(&name);
                if !same(&current, &value) {
                    p.modified.push(prop(label(&name), text(&current), text(&value), redacted));
                    patch.set.push((name, value));
                }
            }
            if !patch.is_empty() {
                if p.action != Action::Restore {
                    p.action = Action::Update;
                }
                p.ops.push(WriteOp::UpdateUser { id: t.id, patch, if_match: None });
            }
        }
    }
    Ok(p)
}

pub(crate) fn text(v: &AttrValue) -> Option<String> {
    match v {
        AttrValue::Null => None,
        // A copy, not formatted: per mapped attribute per user.
        AttrValue::String(s) => Some(s.clone()),
        // As `Display` writes it (a constant "true" is mapped to every user).
        AttrValue::Bool(b) => Some(if *b { "true" } else { "false" }.to_owned()),
        other => Some(other.to_string()),
    }
}

/// A modified property of a log record (values of `Redact`ed mappings hidden).
pub(crate) fn prop(name: impl Into<Cow<'static, str>>, old: Option<String>, new: Option<String>, redacted: bool) -> ModifiedProperty {
    let hide = |v: Option<String>| if redacted { v.map(|_| tenantsync_expression::Evaluation::REDACTED.to_owned()) } else { v };
    ModifiedProperty { display_name: name.into(), old_value: hide(old), new_value: hide(new), new_in_copy: None }
}

/// The name of a target attribute in a log record: built-in names are static.
fn label(name: &UserAttrName) -> Cow<'static, str> {
    match name {
        UserAttrName::Builtin(a) => Cow::Borrowed(a.name()),
        UserAttrName::Extension(_) => Cow::Owned(name.as_str().to_owned()),
    }
}

/// Whether a target value already equals what the mapping produced (booleans and their
/// text compare equal).
fn same(current: &AttrValue, wanted: &AttrValue) -> bool {
    match (current, wanted) {
        (AttrValue::Bool(a), AttrValue::String(s)) | (AttrValue::String(s), AttrValue::Bool(a)) => s.eq_ignore_ascii_case(if *a { "true" } else { "false" }),
        (AttrValue::String(a), AttrValue::String(b)) if a.eq_ignore_ascii_case("member") || a.eq_ignore_ascii_case("guest") => a.eq_ignore_ascii_case(b),
        (a, b) => a == b,
    }
}

/// The manager update a created or matched target user needs, if any.
pub fn manager_op(target: &User, wanted: Option<ObjectId>) -> Option<WriteOp> {
    manager_op_for(target.id, target.attrs.manager, wanted)
}

/// The manager update of target user `target` whose manager is `current` now.
pub fn manager_op_for(target: ObjectId, current: Option<ObjectId>, wanted: Option<ObjectId>) -> Option<WriteOp> {
    if current == wanted || wanted.is_none() {
        // Entra does not clear a target manager when the source manager is removed.
        return None;
    }
    let patch = UserPatch { manager: Some(wanted.map(UserRef::Id)), ..UserPatch::default() };
    Some(WriteOp::UpdateUser { id: target, patch, if_match: None })
}

#[cfg(test)]
mod tests;
