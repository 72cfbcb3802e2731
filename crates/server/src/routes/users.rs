//! What is particular to users: their documents (with the groups they are in, read for a
//! whole page at once), create, and the write of a PUT or PATCH (the patched document read
//! back like a PUT body; `groups` is read-only).
use super::AppState;
use super::context::Ctx;
use super::projection::Projection;
use super::resource::{Change, Resource};
use crate::error::{ScimError, ScimResult};
use crate::filter::Resolver;
use crate::json;
use crate::patch::{self, Operation};
use crate::schema::DIRECTORY_EXTENSION_SCHEMA;
use crate::user::{self, UserPaths};
use serde_json::{Map, Value};
use std::collections::HashMap;
use tenantsync_domain::{NewUser, ObjectId, ObjectKind, TenantId, User, Version};
use tenantsync_store::{ObjectQuery, QueryPage, Store, StoreError, UserGroup, WriteOp};

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
        let groups = if projection.wants("groups") && !users.is_empty() {
            st.store.user_groups(c.tenant, &users.iter().map(|u| u.id).collect::<Vec<_>>()).await?
        } else {
            Vec::new()
        };
        let mut by_user: HashMap<ObjectId, Vec<&UserGroup>> = HashMap::new();
        for g in &groups {
            by_user.entry(g.user).or_default().push(g);
        }
        Ok(users
            .iter()
            .map(|u| {
                let mut doc = user::to_json(u, &c.base, &c.domain);
                user::add_groups(&mut doc, by_user.get(&u.id).map(Vec::as_slice).unwrap_or_default(), &c.base);
                projection.apply(doc)
            })
            .collect())
    }

    async fn create(st: &AppState, c: &Ctx, doc: &Value) -> ScimResult<User> {
        let d = user::from_json(doc, &c.domain)?;
        let new = NewUser { id: ObjectId::new(), attrs: user::new_attrs(&d)?, manager: d.manager.clone(), anchor: None };
        Ok(st.store.create_user(c.tenant, new).await?)
    }

    /// A new user is in no group yet: nothing more to read.
    async fn created_document(_: &AppState, c: &Ctx, new: &User, projection: &Projection) -> ScimResult<Value> {
        Ok(projection.apply(user::to_json(new, &c.base, &c.domain)))
    }

    fn patch_request(body: Value) -> ScimResult<Vec<Operation>> {
        let ops = patch::operations(&body)?;
        if ops.iter().any(|op| user::patches_groups(op.path.as_deref(), op.value.as_ref())) {
            return Err(super::groups_read_only());
        }
        Ok(ops)
    }

    async fn write(st: &AppState, c: &Ctx, cur: User, change: &Change<Vec<Operation>>) -> ScimResult<Result<User, StoreError>> {
        let doc = match change {
            Change::Put(doc) => doc.clone(),
            Change::Patch(ops) => patched(&cur, c, ops)?,
        };
        let desired = user::from_json(&doc, &c.domain)?;
        let patch = user::diff(&cur, &desired)?;
        if patch.is_empty() {
            return Ok(Ok(cur));
        }
        Ok(st.store.update_user(c.tenant, cur.id, patch, Some(cur.version)).await)
    }
}

/// The user's document with `ops` applied.
fn patched(cur: &User, c: &Ctx, ops: &[Operation]) -> ScimResult<Value> {
    let Value::Object(mut doc) = user::to_json(cur, &c.base, &c.domain) else { return Err(ScimError::internal()) };
    for op in ops {
        patch::apply(&mut doc, op)?;
    }
    // The document held every extension attribute; what the operations removed goes.
    if json::get(&doc, DIRECTORY_EXTENSION_SCHEMA).is_none_or(Value::is_null) {
        json::set(&mut doc, DIRECTORY_EXTENSION_SCHEMA, Value::Object(Map::new()));
    }
    Ok(Value::Object(doc))
}
