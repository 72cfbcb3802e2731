//! One batch of what a source read, written into the connector's tenant: each object
//! found by its link (or by the id derived from its external id, or — with no link —
//! users by their userPrincipalName and groups by their displayName), then created,
//! restored, updated with the attributes that differ, or deleted, through `Store::apply`
//! (each object's writes in one transaction, with their change rows). The links to
//! commit come back with counters.
//!
//! Managers are set once the batch's users are written. A manager the connector has not
//! imported yet (it comes on a later page) leaves its report's link with a fault due at
//! once, so the end of the run, which retries what is due, sets it; one still missing
//! then is retried with the escrow backoff.
use super::{ImportCounters, Incoming, Is, Members};
use crate::ConnectorError;
use crate::export::Host;
use crate::export::object::escrow_delay;
use jiff::Timestamp;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use tenantsync_domain::{
    AttrValue, Group, GroupAttribute, GroupAttributes, GroupPatch, NewGroup, NewUser, ObjectId, ObjectKind, Upn, User, UserAttrName, UserPatch, UserRef,
};
use tenantsync_store::{BatchMode, CompareOp, ConnectorKey, Field, Filter, FilterValue, Link, LinkFault, ListQuery, ObjectQuery, StoreError, WriteOp};

/// What a batch leaves to commit.
#[derive(Debug, Default)]
pub struct Applied {
    pub links: Vec<Link>,
    pub unlinked: Vec<ObjectId>,
    pub counters: ImportCounters,
}

/// What happened to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Done {
    Created,
    Matched,
    Updated,
    Restored,
    Deleted,
    Unchanged,
}

/// The object's link after it: kept (or made), or removed.
#[derive(Debug)]
enum Then {
    Link(ObjectId),
    Unlink(ObjectId),
    Nothing,
}

/// The id an imported object gets: derived from the connector and the external id, so a
/// create repeated after a crash names the object the first one made.
pub fn derived_id(key: ConnectorKey, kind: ObjectKind, external_id: &str) -> ObjectId {
    let mut h = Sha256::new();
    h.update(key.id.as_bytes());
    h.update(kind.as_str().as_bytes());
    h.update([0]);
    h.update(external_id.as_bytes());
    let mut bytes = [0u8; 16];
    for (b, d) in bytes.iter_mut().zip(h.finalize()) {
        *b = d;
    }
    // An RFC 9562 version 8 (custom) UUID.
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    ObjectId::from_bytes(bytes)
}

fn digest(item: &Incoming) -> Vec<u8> {
    Sha256::digest(serde_json::to_string(item).unwrap_or_default().as_bytes()).to_vec()
}

/// A read value as an attribute value: an empty text is no value.
fn value(v: &Value) -> AttrValue {
    match v {
        Value::Null => AttrValue::Null,
        Value::Bool(b) => AttrValue::Bool(*b),
        Value::String(s) if s.trim().is_empty() => AttrValue::Null,
        Value::String(s) => AttrValue::String(s.clone()),
        Value::Number(n) => AttrValue::String(n.to_string()),
        Value::Array(a) => AttrValue::Strings(a.iter().filter_map(Value::as_str).map(str::to_owned).collect()),
        Value::Object(_) => AttrValue::String(v.to_string()),
    }
}

/// A failure of one object (its data, or the directory's rules), escrowed; any other is
/// the store's and stops the run.
fn object_fault(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::Invalid(_)
            | StoreError::NotFound { .. }
            | StoreError::UpnTaken { .. }
            | StoreError::AnchorTaken { .. }
            | StoreError::IdTaken { .. }
            | StoreError::VersionMismatch { .. }
            | StoreError::UnknownManager { .. }
            | StoreError::SelfManager
            | StoreError::ObjectDeleted { .. }
            | StoreError::NotDeleted { .. }
            | StoreError::MemberExists { .. }
            | StoreError::NotAMember { .. }
    )
}

#[derive(Debug)]
pub struct Applier<'a> {
    host: &'a dyn Host,
    key: ConnectorKey,
    now: Timestamp,
    /// External ids of users resolved in this batch.
    resolved: HashMap<String, ObjectId>,
    /// The reconciliation this batch is part of, if it is: a group whose link it already
    /// marked seen is a later part of that group's members (see [`Applier::members`]).
    reconciliation: Option<u64>,
}

impl<'a> Applier<'a> {
    pub fn new(host: &'a dyn Host, key: ConnectorKey, now: Timestamp) -> Applier<'a> {
        Applier { host, key, now, resolved: HashMap::new(), reconciliation: None }
    }

    /// Applies batches of the reconciliation of this generation.
    pub fn in_reconciliation(mut self, generation: u64) -> Applier<'a> {
        self.reconciliation = Some(generation);
        self
    }

    /// Applies a batch; an object whose link says it was read the same before is skipped.
    pub async fn apply(self, items: Vec<Incoming>) -> Result<Applied, ConnectorError> {
        self.run(items, false).await
    }

    /// Applies escrowed objects again, whatever their digest.
    pub async fn retry(self, items: Vec<Incoming>) -> Result<Applied, ConnectorError> {
        self.run(items, true).await
    }

    async fn run(mut self, mut items: Vec<Incoming>, force: bool) -> Result<Applied, ConnectorError> {
        // Users first: groups name them as members.
        items.sort_by_key(|i| i.kind == ObjectKind::Group);
        let mut out = Applied::default();
        // (user, manager's external id, attempts its link's fault made so far)
        let mut managers = Vec::new();
        for item in items {
            let link = self.host.link_by_external_id(self.key, &item.external_id).await?.filter(|l| l.kind == item.kind);
            let sum = digest(&item);
            if !force && link.as_ref().is_some_and(|l| l.fault.is_none() && l.digest.as_deref() == Some(sum.as_slice())) {
                if let Some(l) = &link {
                    self.resolved.insert(item.external_id.clone(), l.object);
                }
                out.counters.unchanged += 1;
                continue;
            }
            match self.one(&item, link.as_ref()).await {
                Ok((then, done)) => {
                    count(&mut out.counters, done);
                    match then {
                        Then::Link(object) => {
                            if let Is::Live { manager: Some(m), .. } = &item.is {
                                let attempts = link.as_ref().and_then(|l| l.fault.as_ref()).map_or(0, |f| f.attempts);
                                managers.push((object, m.clone(), attempts));
                            }
                            self.resolved.insert(item.external_id.clone(), object);
                            out.links.push(Link {
                                object,
                                kind: item.kind,
                                external_id: Some(item.external_id.clone()),
                                digest: Some(sum),
                                exported: serde_json::to_value(&item).ok(),
                                fault: None,
                            });
                        }
                        Then::Unlink(object) => out.unlinked.push(object),
                        Then::Nothing => {}
                    }
                }
                Err(ConnectorError::Store(e)) if object_fault(&e) => {
                    let attempts = link.as_ref().and_then(|l| l.fault.as_ref()).map_or(0, |f| f.attempts).saturating_add(1);
                    let object = link.as_ref().map_or_else(|| derived_id(self.key, item.kind, &item.external_id), |l| l.object);
                    tracing::warn!(object = %object, external_id = %item.external_id, error = %e, "import: object escrowed");
                    let fault = LinkFault { error: format!("{}: {e}", e.code()), attempts, retry_at: self.now + escrow_delay(attempts) };
                    out.counters.escrowed += 1;
                    out.links.push(Link {
                        object,
                        kind: item.kind,
                        external_id: Some(item.external_id.clone()),
                        digest: None,
                        exported: serde_json::to_value(&item).ok(),
                        fault: Some(fault),
                    });
                }
                Err(e) => return Err(e),
            }
        }
        for (user, manager, attempts) in managers {
            if self.manager(user, manager.as_deref()).await? {
                continue;
            }
            let attempts = attempts.saturating_add(1);
            // The first time, due at once (the run's end retries it); then with backoff.
            let retry_at = if attempts == 1 { self.now } else { self.now + escrow_delay(attempts) };
            let error = format!("manager_pending: the manager '{}' is not imported (yet)", manager.unwrap_or_default());
            if let Some(l) = out.links.iter_mut().find(|l| l.object == user) {
                l.fault = Some(LinkFault { error, attempts, retry_at });
            }
        }
        Ok(out)
    }

    fn tenant(&self) -> tenantsync_domain::TenantId {
        self.key.tenant
    }

    async fn one(&mut self, item: &Incoming, link: Option<&Link>) -> Result<(Then, Done), ConnectorError> {
        let id = link.map_or_else(|| derived_id(self.key, item.kind, &item.external_id), |l| l.object);
        match item.kind {
            ObjectKind::User => self.user(item, id, link.is_some()).await,
            ObjectKind::Group => self.group(item, id, link.is_some()).await,
        }
    }

    async fn write(&self, ops: Vec<WriteOp>) -> Result<(), ConnectorError> {
        if ops.is_empty() {
            return Ok(());
        }
        for r in self.host.apply(self.tenant(), ops, BatchMode::Atomic).await? {
            r?;
        }
        Ok(())
    }

    async fn get_user(&self, id: ObjectId) -> Result<Option<User>, ConnectorError> {
        match self.host.get_user(self.tenant(), id).await {
            Ok(u) => Ok(Some(u)),
            Err(StoreError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn get_group(&self, id: ObjectId) -> Result<Option<Group>, ConnectorError> {
        match self.host.get_group(self.tenant(), id).await {
            Ok(g) => Ok(Some(g)),
            Err(StoreError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// A user of the tenant with the same userPrincipalName that no link holds: one the
    /// tenant had before the connector (or whose link was lost), taken over.
    async fn match_by_upn(&self, attributes: &Map<String, Value>) -> Result<Option<User>, ConnectorError> {
        let Some(upn) = attributes.get("userPrincipalName").and_then(Value::as_str).and_then(|u| Upn::parse(u).ok()) else { return Ok(None) };
        let Some(u) = self.host.find_user_by_upn(self.tenant(), &upn).await? else { return Ok(None) };
        if u.anchor.is_some() || !self.host.links(self.key, &[u.id]).await?.is_empty() {
            return Ok(None);
        }
        Ok(Some(u))
    }

    async fn user(&mut self, item: &Incoming, id: ObjectId, linked: bool) -> Result<(Then, Done), ConnectorError> {
        let mut current = self.get_user(id).await?;
        match &item.is {
            Is::Live { attributes, .. } => {
                let (mut id, mut matched) = (id, false);
                if current.is_none()
                    && !linked
                    && let Some(u) = self.match_by_upn(attributes).await?
                {
                    (id, matched) = (u.id, true);
                    current = Some(u);
                }
                let Some(u) = current else {
                    let pairs: Vec<(&str, AttrValue)> = attributes.iter().map(|(k, v)| (k.as_str(), value(v))).filter(|(_, v)| !v.is_null()).collect();
                    let mut new = NewUser::from_pairs(pairs).map_err(StoreError::from)?;
                    new.id = id;
                    self.write(vec![WriteOp::CreateUser(Box::new(new))]).await?;
                    return Ok((Then::Link(id), Done::Created));
                };
                let mut ops = Vec::new();
                if u.is_deleted() {
                    ops.push(WriteOp::RestoreUser { id, if_match: None });
                }
                let mut patch = UserPatch::default();
                for (name, v) in attributes {
                    let n = UserAttrName::parse(name).map_err(StoreError::from)?;
                    let want = value(v);
                    if u.attrs.get(&n) != want {
                        patch.set.push((n, want));
                    }
                }
                let changed = !patch.is_empty();
                if changed {
                    ops.push(WriteOp::UpdateUser { id, patch, if_match: None });
                }
                self.write(ops).await?;
                let done = match (matched, u.is_deleted(), changed) {
                    (true, _, _) => Done::Matched,
                    (_, true, _) => Done::Restored,
                    (_, _, true) => Done::Updated,
                    _ => Done::Unchanged,
                };
                Ok((Then::Link(id), done))
            }
            Is::Deleted | Is::Missing | Is::Gone => self.remove(item, id, current.map(|u| u.is_deleted())).await,
        }
    }

    /// The one group of the tenant with this displayName that no link holds: taken over
    /// as users are by their userPrincipalName.
    async fn match_by_name(&self, attributes: &Map<String, Value>) -> Result<Option<Group>, ConnectorError> {
        let Some(name) = attributes.get("displayName").and_then(Value::as_str) else { return Ok(None) };
        let filter = Filter::folded(Field::Group(GroupAttribute::DisplayName), CompareOp::Eq, FilterValue::Text(name.to_owned()));
        let found = self.host.query_groups(self.tenant(), &ObjectQuery { filter: Some(filter), limit: 2, ..ObjectQuery::default() }).await?;
        let [g] = found.items.as_slice() else { return Ok(None) };
        if g.anchor.is_some() || !self.host.links(self.key, &[g.id]).await?.is_empty() {
            return Ok(None);
        }
        Ok(Some(g.clone()))
    }

    async fn group(&mut self, item: &Incoming, id: ObjectId, linked: bool) -> Result<(Then, Done), ConnectorError> {
        let mut current = self.get_group(id).await?;
        match &item.is {
            Is::Live { attributes, members, .. } => {
                let (mut id, mut matched) = (id, false);
                if current.is_none()
                    && !linked
                    && let Some(g) = self.match_by_name(attributes).await?
                {
                    (id, matched) = (g.id, true);
                    current = Some(g);
                }
                let (done, was_deleted) = match &current {
                    None => {
                        let name = attributes.get("displayName").and_then(Value::as_str).unwrap_or_default();
                        let mut attrs = GroupAttributes::new(name).map_err(StoreError::from)?;
                        for (k, v) in attributes.iter().filter(|(k, _)| k.as_str() != "displayName") {
                            let a = GroupAttribute::parse(k).map_err(StoreError::from)?;
                            attrs.set(a, value(v)).map_err(StoreError::from)?;
                        }
                        self.write(vec![WriteOp::CreateGroup(NewGroup { id, attrs, anchor: None })]).await?;
                        (Done::Created, false)
                    }
                    Some(g) => {
                        let mut ops = Vec::new();
                        if g.is_deleted() {
                            ops.push(WriteOp::RestoreGroup { id, if_match: None });
                        }
                        let mut patch = GroupPatch::default();
                        for (k, v) in attributes {
                            let a = GroupAttribute::parse(k).map_err(StoreError::from)?;
                            let want = value(v);
                            if g.attrs.get(a) != want {
                                patch.set.push((a, want));
                            }
                        }
                        let changed = !patch.set.is_empty();
                        if changed {
                            ops.push(WriteOp::UpdateGroup { id, patch, if_match: None });
                        }
                        self.write(ops).await?;
                        (if changed { Done::Updated } else { Done::Unchanged }, g.is_deleted())
                    }
                };
                let moved = match members {
                    Some(m) => self.members(id, &item.external_id, m).await?,
                    None => false,
                };
                let done = match (done, was_deleted, moved) {
                    _ if matched => Done::Matched,
                    (Done::Created, ..) => Done::Created,
                    (_, true, _) => Done::Restored,
                    (Done::Unchanged, _, true) => Done::Updated,
                    (d, ..) => d,
                };
                Ok((Then::Link(id), done))
            }
            Is::Deleted | Is::Missing | Is::Gone => self.remove(item, id, current.map(|g| g.is_deleted())).await,
        }
    }

    /// An object the system deleted: soft-deleted (`Deleted`: restorable there, its link
    /// kept; `Missing`: not found by a reconciliation, unlinked) or deleted for good
    /// (`Gone`). `deleted`: whether the tenant has it, and whether soft-deleted already.
    async fn remove(&self, item: &Incoming, id: ObjectId, deleted: Option<bool>) -> Result<(Then, Done), ConnectorError> {
        let user = item.kind == ObjectKind::User;
        if let Is::Gone = item.is {
            if deleted.is_some() {
                let op = if user { WriteOp::HardDeleteUser { id, if_match: None } } else { WriteOp::HardDeleteGroup { id, if_match: None } };
                self.write(vec![op]).await?;
            }
            return Ok((Then::Unlink(id), if deleted.is_some() { Done::Deleted } else { Done::Unchanged }));
        }
        let live = deleted == Some(false);
        if live {
            let op = if user { WriteOp::SoftDeleteUser { id, if_match: None } } else { WriteOp::SoftDeleteGroup { id, if_match: None } };
            self.write(vec![op]).await?;
        }
        let done = if live { Done::Deleted } else { Done::Unchanged };
        Ok(match (&item.is, deleted.is_some()) {
            (Is::Deleted, true) => (Then::Link(id), done),
            (Is::Deleted, false) => (Then::Nothing, done),
            _ => (Then::Unlink(id), done),
        })
    }

    /// The tenant's user an external id names: linked by this connector, or made in
    /// this batch. Users the connector has not imported are not members here. A link
    /// with a fault counts: its object is there when the fault is a pending manager, and
    /// a write naming one that is not (its creation escrowed) is refused and left out.
    async fn resolve(&mut self, external_id: &str) -> Result<Option<ObjectId>, ConnectorError> {
        if let Some(id) = self.resolved.get(external_id) {
            return Ok(Some(*id));
        }
        let found = self.host.link_by_external_id(self.key, external_id).await?.filter(|l| l.kind == ObjectKind::User).map(|l| l.object);
        if let Some(id) = found {
            self.resolved.insert(external_id.to_owned(), id);
        }
        Ok(found)
    }

    /// Makes the group's members what the system says; true when any changed. Each
    /// membership is its own write (one member refused — deleted meanwhile — does not
    /// hold the others back).
    ///
    /// A system may give a large group's members in parts, the group appearing once per
    /// part, and not always on consecutive pages (a source merges the parts it reads
    /// together). In a reconciliation the first appearance of a group sets its members and
    /// marks its link seen with the page; an appearance whose link that reconciliation has
    /// already marked is a later part, and only adds. (A group whose parts come apart is
    /// set to its first part and filled up again by the others in every reconciliation;
    /// its members end right, at the cost of those changes in the feed.)
    async fn members(&mut self, group: ObjectId, external_id: &str, members: &Members) -> Result<bool, ConnectorError> {
        let later_part = match (self.reconciliation, members) {
            (Some(g), Members::Full { .. }) => self.host.link_seen(self.key, external_id).await? == Some(g),
            _ => false,
        };
        let mut ops = Vec::new();
        match members {
            Members::Full { ids } if later_part => {
                for e in ids {
                    if let Some(user) = self.resolve(e).await? {
                        ops.push(WriteOp::SetMembership { group, user, member: true });
                    }
                }
            }
            Members::Full { ids } => {
                let mut want = HashSet::new();
                for e in ids {
                    if let Some(id) = self.resolve(e).await? {
                        want.insert(id);
                    }
                }
                let mut have = HashSet::new();
                let mut query = ListQuery { after: None, limit: 1000, ..ListQuery::default() };
                loop {
                    let page = self.host.list_members(self.tenant(), group, &query).await?;
                    have.extend(page.items.iter().map(|u| u.id));
                    match page.next {
                        Some(n) => query.after = Some(n),
                        None => break,
                    }
                }
                ops.extend(want.difference(&have).map(|u| WriteOp::SetMembership { group, user: *u, member: true }));
                ops.extend(have.difference(&want).map(|u| WriteOp::SetMembership { group, user: *u, member: false }));
            }
            Members::Delta { added, removed } => {
                for (list, member) in [(added, true), (removed, false)] {
                    for e in list {
                        if let Some(user) = self.resolve(e).await? {
                            ops.push(WriteOp::SetMembership { group, user, member });
                        }
                    }
                }
            }
        }
        if ops.is_empty() {
            return Ok(false);
        }
        let mut moved = false;
        for r in self.host.apply(self.tenant(), ops, BatchMode::Independent).await? {
            match r {
                Ok(_) => moved = true,
                Err(e) if object_fault(&e) => tracing::debug!(group = %group, error = %e, "import: a membership was refused"),
                Err(e) => return Err(e.into()),
            }
        }
        Ok(moved)
    }

    /// Sets a user's manager to the user the system names (`None`: no manager), when
    /// it differs. False: the manager is not imported (yet), nothing was written.
    async fn manager(&mut self, user: ObjectId, manager: Option<&str>) -> Result<bool, ConnectorError> {
        let want = match manager {
            Some(m) => match self.resolve(m).await? {
                Some(id) => Some(id),
                None => return Ok(false),
            },
            None => None,
        };
        let Some(u) = self.get_user(user).await? else { return Ok(true) };
        if u.attrs.manager == want || u.is_deleted() {
            return Ok(true);
        }
        let patch = UserPatch { set: Vec::new(), manager: Some(want.map(UserRef::Id)) };
        match self.write(vec![WriteOp::UpdateUser { id: user, patch, if_match: None }]).await {
            Err(ConnectorError::Store(e)) if object_fault(&e) => {
                tracing::debug!(user = %user, error = %e, "import: the manager was refused");
                Ok(true)
            }
            r => r.map(|()| true),
        }
    }
}

fn count(c: &mut ImportCounters, done: Done) {
    let n = match done {
        Done::Created => &mut c.created,
        Done::Matched => &mut c.matched,
        Done::Updated => &mut c.updated,
        Done::Restored => &mut c.restored,
        Done::Deleted => &mut c.deleted,
        Done::Unchanged => &mut c.unchanged,
    };
    *n += 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_stable_and_differ_by_connector_kind_and_id() {
        let key = ConnectorKey { tenant: tenantsync_domain::TenantId::new(), id: ObjectId::new() };
        let a = derived_id(key, ObjectKind::User, "x");
        assert_eq!(a, derived_id(key, ObjectKind::User, "x"));
        assert_ne!(a, derived_id(key, ObjectKind::Group, "x"));
        assert_ne!(a, derived_id(key, ObjectKind::User, "y"));
        assert_eq!(a.as_uuid().get_version_num(), 8);
    }
}
