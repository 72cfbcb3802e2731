//! What is particular to users: their documents (with the groups they are in, read for a
//! whole page at once), create, and the write of a PUT or PATCH (the patched document read
//! back like a PUT body; `groups` is read-only). A userName that only a soft-deleted user
//! holds is given up by that user in the same transaction (RFC 7644 §3.6: a deleted
//! resource is not considered in conflict calculation).
use super::AppState;
use super::context::Ctx;
use super::projection::Projection;
use super::resource::{Change, Resource};
use crate::error::{ScimError, ScimResult};
use crate::filter::Resolver;
use crate::json;
use crate::patch::{self, Operation};
use crate::schema::DIRECTORY_EXTENSION_SCHEMA;
use crate::schema::model::USER_MODEL;
use crate::user::{self, UserPaths};
use serde_json::{Map, Value};
use std::collections::HashMap;
use tenantsync_domain::{NewUser, ObjectId, ObjectKind, TenantId, Upn, User, UserAttrName, UserAttribute, Version};
use tenantsync_store::{BatchMode, ObjectQuery, QueryPage, Store, StoreError, UserGroup, WriteOp, WriteOutcome};

impl Resource for User {
    const KIND: ObjectKind = ObjectKind::User;
    const ENDPOINT: &'static str = "Users";
    const PATHS: &'static dyn Resolver = &UserPaths;
    type Patch = Vec<Operation>;

    fn id(&self) -> ObjectId {
        self.id
    }

    fn version(&self) -> Version {
        self.version
    }

    fn is_deleted(&self) -> bool {
        User::is_deleted(self)
    }

    async fn get(store: &dyn Store, tenant: TenantId, id: ObjectId) -> Result<User, StoreError> {
        store.get_user(tenant, id).await
    }

    async fn query(store: &dyn Store, tenant: TenantId, query: &ObjectQuery) -> Result<QueryPage<User>, StoreError> {
        store.query_users(tenant, query).await
    }

    fn soft_delete(id: ObjectId, if_match: Option<Version>) -> WriteOp {
        WriteOp::SoftDeleteUser { id, if_match }
    }

    /// Each user with its `groups` (read for all of them at once, unless the request
    /// leaves `groups` out).
    async fn documents(st: &AppState, c: &Ctx, users: &[User], projection: &Projection) -> ScimResult<Vec<Value>> {
        let ids: Vec<ObjectId> = users.iter().map(|u| u.id).collect();
        let groups = if projection.wants("groups") && !users.is_empty() { st.store.user_groups(c.tenant, &ids).await? } else { Vec::new() };
        // Only names in the initial domain can have been written bare.
        let in_domain: Vec<ObjectId> = users.iter().filter(|u| u.attrs.user_principal_name.domain().eq_ignore_ascii_case(&c.domain)).map(|u| u.id).collect();
        let bare = if projection.wants("userName") { st.store.bare_names(c.tenant, &in_domain).await? } else { Vec::new() };
        let mut by_user: HashMap<ObjectId, Vec<&UserGroup>> = HashMap::new();
        for g in &groups {
            by_user.entry(g.user).or_default().push(g);
        }
        Ok(users
            .iter()
            .map(|u| {
                let mut doc = user::to_json(u, &c.base, &c.domain, bare.contains(&u.id));
                user::add_groups(&mut doc, by_user.get(&u.id).map(Vec::as_slice).unwrap_or_default(), &c.base);
                projection.apply(doc)
            })
            .collect())
    }

    async fn create(st: &AppState, c: &Ctx, doc: &Value) -> ScimResult<User> {
        let d = user::from_json(doc, &c.domain)?;
        let id = ObjectId::new();
        let new = NewUser { id, attrs: user::new_attrs(&d)?, manager: d.manager.clone(), anchor: None };
        let mut ops = vec![WriteOp::CreateUser(Box::new(new))];
        if d.bare {
            ops.push(WriteOp::SetBareName { id, bare: true });
        }
        Ok(write_taking_name(st, c, Some(&d.upn), ops).await?)
    }

    /// A new user is in no group yet: nothing more to read.
    async fn created_document(st: &AppState, c: &Ctx, new: &User, projection: &Projection) -> ScimResult<Value> {
        let bare = !st.store.bare_names(c.tenant, &[new.id]).await?.is_empty();
        Ok(projection.apply(user::to_json(new, &c.base, &c.domain, bare)))
    }

    fn patch_request(body: Value) -> ScimResult<Vec<Operation>> {
        let ops = patch::operations(&body)?;
        if ops.iter().any(|op| user::patches_groups(op.path.as_deref(), op.value.as_ref())) {
            return Err(super::groups_read_only());
        }
        Ok(ops)
    }

    /// Writes the attributes that change, naming no version unless If-Match did or the
    /// result depends on the values read (values added to a list that had some, elements
    /// chosen by their values): concurrent changes of other attributes all land.
    async fn write(st: &AppState, c: &Ctx, cur: User, change: &Change<Vec<Operation>>, pinned: Option<Version>) -> ScimResult<Result<User, StoreError>> {
        let bare = !st.store.bare_names(c.tenant, &[cur.id]).await?.is_empty();
        let (doc, reads) = match change {
            Change::Put(doc) => (doc.clone(), false),
            Change::Patch(ops) => patched(&cur, c, bare, ops)?,
        };
        let desired = user::from_json(&doc, &c.domain)?;
        let patch = user::diff(&cur, &desired)?;
        let mut ops = Vec::new();
        let renamed = patch.set.iter().any(|(n, _)| *n == UserAttrName::Builtin(UserAttribute::UserPrincipalName));
        if !patch.is_empty() {
            ops.push(WriteOp::UpdateUser { id: cur.id, patch, if_match: pinned.or(reads.then_some(cur.version)) });
        }
        if desired.bare != bare {
            ops.push(WriteOp::SetBareName { id: cur.id, bare: desired.bare });
        }
        if ops.is_empty() {
            return Ok(Ok(cur));
        }
        Ok(write_taking_name(st, c, renamed.then_some(&desired.upn), ops).await)
    }
}

/// Applies `ops` in one transaction (a create or an update first, when they give a user the
/// name `upn`) and returns the user the first one wrote. When `upn` is taken by a
/// soft-deleted user only, that user gives it up (`ReleaseUpn`) in the same transaction
/// and `ops` are applied again; a live holder is `upn_conflict`.
async fn write_taking_name(st: &AppState, c: &Ctx, upn: Option<&Upn>, ops: Vec<WriteOp>) -> Result<User, StoreError> {
    let first = |results: Vec<Result<WriteOutcome, StoreError>>| {
        results.into_iter().next().unwrap_or_else(|| Err(StoreError::Internal { message: "empty batch result".into() })).and_then(WriteOutcome::into_user)
    };
    let tried = st.store.apply(c.tenant, ops.clone(), BatchMode::Atomic).await;
    let (Err(StoreError::UpnTaken { .. }), Some(upn)) = (&tried, upn) else { return tried.and_then(first) };
    let taken = || StoreError::UpnTaken { upn: upn.to_string() };
    let holder = match st.store.find_user_by_upn(c.tenant, upn).await? {
        Some(h) if h.is_deleted() => h,
        _ => return Err(taken()),
    };
    let mut with_release = vec![WriteOp::ReleaseUpn { id: holder.id }];
    with_release.extend(ops);
    match st.store.apply(c.tenant, with_release, BatchMode::Atomic).await {
        Ok(results) => first(results.into_iter().skip(1).collect()),
        // Restored meanwhile, or a name too long to give up: the name stays taken.
        Err(StoreError::NotDeleted { .. } | StoreError::Invalid(_)) => Err(taken()),
        Err(e) => Err(e),
    }
}

/// The user's document with `ops` applied, and whether the result depends on the values
/// the document held.
fn patched(cur: &User, c: &Ctx, bare: bool, ops: &[Operation]) -> ScimResult<(Value, bool)> {
    let Value::Object(mut doc) = user::to_json(cur, &c.base, &c.domain, bare) else { return Err(ScimError::internal()) };
    let mut reads = false;
    for op in ops {
        reads |= patch::apply(&mut doc, op, &USER_MODEL)?;
    }
    // The document held every extension attribute; what the operations removed goes.
    if json::get(&doc, DIRECTORY_EXTENSION_SCHEMA).is_none_or(Value::is_null) {
        json::set(&mut doc, DIRECTORY_EXTENSION_SCHEMA, Value::Object(Map::new()));
    }
    Ok((Value::Object(doc), reads))
}
