//! What is particular to groups: their documents (with members, read only when wanted),
//! create (with its members, in one atomic batch), and the write of a PUT or PATCH: the
//! group's attributes and its member changes in one atomic batch of writes that name no
//! version (`SetMembership`: an add of a member or a remove of a non-member changes
//! nothing), so concurrent changes of different members or attributes all land, in the
//! store's single writer's order; only an If-Match makes the batch check the version.
use super::AppState;
use super::context::Ctx;
use super::projection::Projection;
use super::resource::{Change, Resource};
use crate::error::{ScimError, ScimResult};
use crate::filter::Resolver;
use crate::group::{self, GroupPaths};
use crate::json;
use crate::patch::{self, Op, Operation};
use crate::schema::GROUP_SCHEMA;
use crate::schema::model::GROUP_MODEL;
use crate::schema::validate::check_document;
use scim_v2::filter::PatchPath;
use serde_json::Value;
use tenantsync_domain::{Group, GroupPatch, NewGroup, ObjectId, ObjectKind, TenantId, User, Version};
use tenantsync_store::{BatchMode, ListQuery, ObjectQuery, QueryPage, Store, StoreError, WriteOp};

impl Resource for Group {
    const KIND: ObjectKind = ObjectKind::Group;
    const ENDPOINT: &'static str = "Groups";
    const PATHS: &'static dyn Resolver = &GroupPaths;
    type Patch = Vec<Operation>;

    fn id(&self) -> ObjectId {
        self.id
    }

    fn version(&self) -> Version {
        self.version
    }

    fn is_deleted(&self) -> bool {
        Group::is_deleted(self)
    }

    async fn get(store: &dyn Store, tenant: TenantId, id: ObjectId) -> Result<Group, StoreError> {
        store.get_group(tenant, id).await
    }

    async fn query(store: &dyn Store, tenant: TenantId, query: &ObjectQuery) -> Result<QueryPage<Group>, StoreError> {
        store.query_groups(tenant, query).await
    }

    fn soft_delete(id: ObjectId, if_match: Option<Version>) -> WriteOp {
        WriteOp::SoftDeleteGroup { id, if_match }
    }

    async fn documents(st: &AppState, c: &Ctx, groups: &[Group], projection: &Projection) -> ScimResult<Vec<Value>> {
        let mut out = Vec::with_capacity(groups.len());
        for g in groups {
            let members = if projection.wants("members") { Some(members_of(st, c.tenant, g.id).await?) } else { None };
            out.push(projection.apply(group::to_json(g, members.as_deref(), &c.base)));
        }
        Ok(out)
    }

    async fn create(st: &AppState, c: &Ctx, doc: &Value) -> ScimResult<Group> {
        let d = group::from_json(doc)?;
        let new = NewGroup { id: ObjectId::new(), attrs: group::new_attrs(&d)?, anchor: None };
        let gid = new.id;
        let mut ops = vec![WriteOp::CreateGroup(new)];
        ops.extend(d.members.iter().flatten().map(|u| WriteOp::AddMember { group: gid, user: *u, if_match: None }));
        st.store.apply(c.tenant, ops, BatchMode::Atomic).await.map_err(member_error)?;
        Ok(st.store.get_group(c.tenant, gid).await?)
    }

    fn patch_request(body: Value) -> ScimResult<Vec<Operation>> {
        patch::operations(&body)
    }

    async fn write(st: &AppState, c: &Ctx, cur: Group, change: &Change<Vec<Operation>>, pinned: Option<Version>) -> ScimResult<Result<Group, StoreError>> {
        let id = cur.id;
        let mut delta = MemberDelta::default();
        let patch: GroupPatch = match change {
            Change::Patch(ops) => {
                let Value::Object(mut doc) = group::to_json(&cur, None, &c.base) else { return Err(ScimError::internal()) };
                for op in ops {
                    match (&op.path, &op.value) {
                        (Some(p), _) if is_members_path(p) => member_op(st, c.tenant, id, op, &mut delta).await?,
                        (None, Some(Value::Object(v))) if json::get(v, "members").is_some() => {
                            let mut rest = v.clone();
                            let members = json::remove(&mut rest, "members");
                            let mop = Operation { op: op.op, path: Some("members".into()), value: members };
                            member_op(st, c.tenant, id, &mop, &mut delta).await?;
                            patch::apply(&mut doc, &Operation { op: op.op, path: None, value: Some(Value::Object(rest)) }, &GROUP_MODEL)?;
                        }
                        _ => {
                            patch::apply(&mut doc, op, &GROUP_MODEL)?;
                        }
                    }
                }
                group::diff(&cur, &group::from_json(&Value::Object(doc))?)?
            }
            Change::Put(body) => {
                let d = group::from_json(body)?;
                if let Some(ids) = &d.members {
                    delta.replace(st, c.tenant, id, ids).await?;
                }
                group::diff(&cur, &d)?
            }
        };
        let mut ops = Vec::new();
        // With If-Match, the batch starts with the version check (an empty patch writes
        // nothing).
        if !patch.set.is_empty() || pinned.is_some() {
            ops.push(WriteOp::UpdateGroup { id, patch, if_match: pinned });
        }
        ops.extend(delta.ops(id));
        if ops.is_empty() {
            return Ok(Ok(cur));
        }
        if let Err(e) = st.store.apply(c.tenant, ops, BatchMode::Atomic).await {
            return Ok(Err(e));
        }
        Ok(Ok(st.store.get_group(c.tenant, id).await?))
    }

    fn write_error(e: StoreError) -> ScimError {
        member_error(e)
    }
}

/// Member references name users of this tenant; anything else is a bad value, not a
/// missing group.
fn member_error(e: StoreError) -> ScimError {
    match e {
        StoreError::NotFound { kind: ObjectKind::User, id } | StoreError::ObjectDeleted { kind: ObjectKind::User, id } => {
            ScimError::invalid_value(format!("member {id} is not a user of this tenant"))
        }
        other => other.into(),
    }
}

async fn members_of(st: &AppState, t: TenantId, g: ObjectId) -> ScimResult<Vec<User>> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = st.store.list_members(t, g, &ListQuery { after, limit: 1000, ..ListQuery::default() }).await?;
        out.extend(page.items);
        match page.next {
            Some(n) => after = Some(n),
            None => return Ok(out),
        }
    }
}

/// Member changes of one request, in order.
#[derive(Debug, Default)]
struct MemberDelta {
    add: Vec<ObjectId>,
    remove: Vec<ObjectId>,
    /// The full member list, when an operation needed it (replace, remove all).
    current: Option<Vec<ObjectId>>,
}

impl MemberDelta {
    fn add(&mut self, ids: &[ObjectId]) {
        for id in ids {
            self.remove.retain(|x| x != id);
            if !self.add.contains(id) {
                self.add.push(*id);
            }
        }
    }

    fn remove(&mut self, ids: &[ObjectId]) {
        for id in ids {
            self.add.retain(|x| x != id);
            if !self.remove.contains(id) {
                self.remove.push(*id);
            }
        }
    }

    async fn current(&mut self, st: &AppState, t: TenantId, g: ObjectId) -> ScimResult<Vec<ObjectId>> {
        if self.current.is_none() {
            self.current = Some(members_of(st, t, g).await?.into_iter().map(|u| u.id).collect());
        }
        Ok(self.current.clone().unwrap_or_default())
    }

    async fn replace(&mut self, st: &AppState, t: TenantId, g: ObjectId, ids: &[ObjectId]) -> ScimResult<()> {
        let cur = self.current(st, t, g).await?;
        self.add.clear();
        self.remove = cur.into_iter().filter(|x| !ids.contains(x)).collect();
        self.add(ids);
        Ok(())
    }

    /// The write operations: each names the membership it wants, whatever the group's
    /// members are by then.
    fn ops(&self, g: ObjectId) -> impl Iterator<Item = WriteOp> + '_ {
        let set = move |user: &ObjectId, member| WriteOp::SetMembership { group: g, user: *user, member };
        self.remove.iter().map(move |u| set(u, false)).chain(self.add.iter().map(move |u| set(u, true)))
    }
}

/// `members[value eq "a" or value eq "b"]` → [a, b].
fn member_filter_ids(vf: &scim_v2::filter::ValFilter, out: &mut Vec<ObjectId>) -> ScimResult<()> {
    use scim_v2::filter::{AttrExp, CompValue, CompareOp as Op2, ValFilter};
    match vf {
        ValFilter::Attr(AttrExp::Comparison(p, Op2::Eq, CompValue::Str(s))) if p.name.eq_ignore_ascii_case("value") => {
            // An id that is not one names no member: nothing to remove.
            if let Ok(id) = s.parse() {
                out.push(id);
            }
            Ok(())
        }
        ValFilter::Or(items) => items.as_slice().iter().try_for_each(|i| member_filter_ids(i, out)),
        _ => Err(ScimError::invalid_filter("members are selected with value eq \"<id>\" (joined by or)")),
    }
}

fn is_members_path(path: &str) -> bool {
    let p = path.trim();
    let p = p.strip_prefix(GROUP_SCHEMA).and_then(|r| r.strip_prefix(':')).unwrap_or(p);
    p.get(..7).is_some_and(|h| h.eq_ignore_ascii_case("members")) && matches!(p.as_bytes().get(7), None | Some(b'[') | Some(b'.'))
}

async fn member_op(st: &AppState, t: TenantId, g: ObjectId, op: &Operation, delta: &mut MemberDelta) -> ScimResult<()> {
    let path = op.path.as_deref().unwrap_or("members");
    let parsed: PatchPath = std::str::FromStr::from_str(path).map_err(|e| ScimError::invalid_path(format!("cannot parse path '{path}': {e}")))?;
    if let Some(sub) = match &parsed {
        PatchPath::Attr(a) => a.sub_attr.as_deref(),
        PatchPath::Value(vp) => vp.sub_attr.as_deref(),
    } {
        return Err(ScimError::invalid_path(format!("members.{sub}: a member is added or removed whole, by its value")));
    }
    // The members given are checked like those of a document (one or a list of them).
    if let Some(v) = &op.value {
        let list = if v.is_object() { Value::Array(vec![v.clone()]) } else { v.clone() };
        check_document(&GROUP_MODEL, &serde_json::json!({ "members": list }))?;
    }
    let value_ids = || op.value.as_ref().map(group::member_ids).transpose();
    match (op.op, parsed) {
        (Op::Remove, PatchPath::Value(vp)) => {
            let mut ids = Vec::new();
            member_filter_ids(&vp.filter, &mut ids)?;
            delta.remove(&ids);
        }
        (Op::Remove, PatchPath::Attr(_)) => match value_ids()? {
            Some(ids) => delta.remove(&ids),
            None => {
                let cur = delta.current(st, t, g).await?;
                delta.remove(&cur);
            }
        },
        (Op::Add, _) => delta.add(&value_ids()?.unwrap_or_default()),
        (Op::Replace, PatchPath::Attr(_)) => delta.replace(st, t, g, &value_ids()?.unwrap_or_default()).await?,
        (Op::Replace, PatchPath::Value(_)) => {
            return Err(ScimError::invalid_path("members cannot be replaced through a filter; remove and add instead"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_paths() {
        assert!(is_members_path("members"));
        assert!(is_members_path("Members[value eq \"x\"]"));
        assert!(is_members_path("urn:ietf:params:scim:schemas:core:2.0:Group:members"));
        assert!(!is_members_path("membersX"));
        assert!(!is_members_path("displayName"));
    }
}
