//! The lifecycle of users and groups inside a write transaction: soft delete, restore, a
//! deleted user's name given up and taken back, hard delete and purge. Each keeps the
//! tenant's object counts with the rows.
use super::Tx;
use tenantsync_domain::{AttrValue, AttributeChange, ChangeOp, Group, ObjectId, ObjectKind, TenantId, Upn, User, UserAttrName, UserAttribute, Version};
use tenantsync_store::{StoreError, WriteOutcome};

/// A user or a group, for what both go through alike.
enum Object {
    User(Box<User>),
    Group(Box<Group>),
}

impl Object {
    /// The source tenant whose anchored users count this object (users only).
    fn counted_anchor(&self) -> Option<TenantId> {
        match self {
            Object::User(u) => u.anchor.map(|a| a.tenant),
            Object::Group(_) => None,
        }
    }

    fn version(&self) -> Version {
        match self {
            Object::User(u) => u.version,
            Object::Group(g) => g.version,
        }
    }
    fn is_deleted(&self) -> bool {
        match self {
            Object::User(u) => u.is_deleted(),
            Object::Group(g) => g.is_deleted(),
        }
    }
    fn set_deleted(&mut self, at: Option<jiff::Timestamp>) {
        match self {
            Object::User(u) => u.deleted_date_time = at,
            Object::Group(g) => g.deleted_date_time = at,
        }
    }
    fn outcome(self) -> WriteOutcome {
        match self {
            Object::User(u) => WriteOutcome::User(u),
            Object::Group(g) => WriteOutcome::Group(g),
        }
    }
}

impl Tx<'_> {
    async fn load(&self, kind: ObjectKind, id: ObjectId) -> Result<Object, StoreError> {
        Ok(match kind {
            ObjectKind::User => Object::User(Box::new(self.load_user(id).await?)),
            ObjectKind::Group => Object::Group(Box::new(self.load_group(id).await?)),
        })
    }

    async fn bump(&self, object: &mut Object) -> Result<(), StoreError> {
        match object {
            Object::User(u) => self.bump_user(u, false).await,
            Object::Group(g) => self.bump_group(g).await,
        }
    }

    /// Loads an object that must exist, not be soft-deleted, and have the version named.
    async fn load_live(&self, kind: ObjectKind, id: ObjectId, if_match: Option<Version>) -> Result<Object, StoreError> {
        let object = self.load(kind, id).await?;
        check_version(kind, id, object.version(), if_match)?;
        if object.is_deleted() {
            return Err(StoreError::ObjectDeleted { kind, id });
        }
        Ok(object)
    }

    pub(super) async fn load_live_user(&self, id: ObjectId, if_match: Option<Version>) -> Result<User, StoreError> {
        match self.load_live(ObjectKind::User, id, if_match).await? {
            Object::User(u) => Ok(*u),
            Object::Group(_) => Err(StoreError::NotFound { kind: ObjectKind::User, id }),
        }
    }

    pub(super) async fn load_live_group(&self, id: ObjectId, if_match: Option<Version>) -> Result<Group, StoreError> {
        match self.load_live(ObjectKind::Group, id, if_match).await? {
            Object::Group(g) => Ok(*g),
            Object::User(_) => Err(StoreError::NotFound { kind: ObjectKind::Group, id }),
        }
    }

    pub(super) async fn soft_delete(&mut self, kind: ObjectKind, id: ObjectId, if_match: Option<Version>) -> Result<WriteOutcome, StoreError> {
        let mut object = self.load_live(kind, id, if_match).await?;
        object.set_deleted(Some(self.now()));
        self.bump(&mut object).await?;
        self.append(kind, id, ChangeOp::SoftDelete, None, &[]).await?;
        self.counts.soft_deleted(kind);
        self.counts.anchored(object.counted_anchor(), -1);
        Ok(object.outcome())
    }

    /// Brings a soft-deleted object back; a user whose name was given up
    /// ([`Tx::release_upn`]) takes it back, refused with `upn_conflict` (nothing written)
    /// when another user has it now.
    pub(super) async fn restore(&mut self, kind: ObjectKind, id: ObjectId, if_match: Option<Version>) -> Result<WriteOutcome, StoreError> {
        let mut object = self.load(kind, id).await?;
        check_version(kind, id, object.version(), if_match)?;
        if !object.is_deleted() {
            return Err(StoreError::NotDeleted { kind, id });
        }
        object.set_deleted(None);
        let mut changes = Vec::new();
        if let Object::User(u) = &mut object
            && let Some((change, name)) = reclaim(u)
        {
            if self.upn_taken(name.as_str(), id).await? {
                return Err(StoreError::UpnTaken { upn: name.to_string() });
            }
            u.attrs.user_principal_name = name;
            changes.push(change);
        }
        self.bump(&mut object).await?;
        self.append(kind, id, ChangeOp::Restore, None, &changes).await?;
        self.counts.restored(kind);
        self.counts.anchored(object.counted_anchor(), 1);
        Ok(object.outcome())
    }

    /// Gives up the userPrincipalName of a soft-deleted user: it becomes
    /// `<id, 32 hex digits><userPrincipalName>`, with an `update` change. Refused with
    /// `not_deleted` for a live user, `invalid_upn` when the longer name is not a valid
    /// UPN; a name already given up stays as it is.
    pub(super) async fn release_upn(&mut self, id: ObjectId) -> Result<WriteOutcome, StoreError> {
        let mut user = self.load_user(id).await?;
        if !user.is_deleted() {
            return Err(StoreError::NotDeleted { kind: ObjectKind::User, id });
        }
        let prefix = released_prefix(id);
        let old = user.attrs.user_principal_name.clone();
        if old.as_str().starts_with(&prefix) {
            return Ok(WriteOutcome::User(Box::new(user)));
        }
        let new = Upn::parse(&format!("{prefix}{old}"))?;
        user.attrs.user_principal_name = new.clone();
        self.bump_user(&mut user, false).await?;
        self.append(ObjectKind::User, id, ChangeOp::Update, None, &[upn_change(&old, &new)]).await?;
        Ok(WriteOutcome::User(Box::new(user)))
    }

    /// Removes a user for good: its memberships (the groups record `memberRemove`), its
    /// place as manager (the reports record an `update`), then the user (`hardDelete`).
    /// `deleted`: whether the user was soft-deleted, `anchor`: the tenant its anchor names
    /// (both for the counts).
    pub async fn hard_delete_user(&mut self, id: ObjectId, deleted: bool, anchor: Option<TenantId>) -> Result<(), StoreError> {
        for report in self.ids("SELECT id FROM users WHERE tenant_id = $1 AND manager_id = $2 ORDER BY id", id).await? {
            let mut r = self.load_user(report).await?;
            r.attrs.manager = None;
            self.bump_user(&mut r, false).await?;
            let change = AttributeChange { name: "manager".into(), old: AttrValue::String(id.to_string()), new: AttrValue::Null };
            self.append(ObjectKind::User, report, ChangeOp::Update, None, &[change]).await?;
        }
        for group in self.ids("SELECT group_id FROM members WHERE tenant_id = $1 AND user_id = $2 ORDER BY group_id", id).await? {
            self.remove_membership(group, id).await?;
            let mut g = self.load_group(group).await?;
            self.bump_group(&mut g).await?;
            self.append(ObjectKind::Group, group, ChangeOp::MemberRemove, Some(id), &[]).await?;
        }
        let t = self.tenant.0;
        self.exec("DELETE FROM user_extension_values WHERE tenant_id = $1 AND user_id = $2", &[&t, &id.0]).await?;
        self.exec("DELETE FROM bare_user_names WHERE tenant_id = $1 AND user_id = $2", &[&t, &id.0]).await?;
        self.exec("DELETE FROM users WHERE tenant_id = $1 AND id = $2", &[&t, &id.0]).await?;
        self.append(ObjectKind::User, id, ChangeOp::HardDelete, None, &[]).await?;
        self.counts.hard_deleted(ObjectKind::User, deleted);
        if !deleted {
            self.counts.anchored(anchor, -1);
        }
        Ok(())
    }

    /// Removes a group for good with its memberships. The memberships go silently: the
    /// group's `hardDelete` change says all there is to say.
    pub async fn hard_delete_group(&mut self, id: ObjectId, deleted: bool) -> Result<(), StoreError> {
        let t = self.tenant.0;
        self.exec("DELETE FROM members WHERE tenant_id = $1 AND group_id = $2", &[&t, &id.0]).await?;
        self.exec("DELETE FROM groups WHERE tenant_id = $1 AND id = $2", &[&t, &id.0]).await?;
        self.append(ObjectKind::Group, id, ChangeOp::HardDelete, None, &[]).await?;
        self.counts.hard_deleted(ObjectKind::Group, deleted);
        Ok(())
    }

    /// Hard-deletes everything soft-deleted before `cutoff_ms`.
    pub async fn purge(&mut self, cutoff_ms: i64) -> Result<u64, StoreError> {
        let t = self.tenant.0;
        let select = |table: &'static str| format!("SELECT id FROM {table} WHERE tenant_id = $1 AND deleted_ms IS NOT NULL AND deleted_ms < $2 ORDER BY id");
        let ids = |rows: Vec<tokio_postgres::Row>| rows.iter().map(|r| crate::rows::first(r).map(ObjectId)).collect::<Result<Vec<_>, _>>();
        let users = ids(self.rows(&select("users"), &[&t, &cutoff_ms]).await?)?;
        let groups = ids(self.rows(&select("groups"), &[&t, &cutoff_ms]).await?)?;
        let n = (users.len() + groups.len()) as u64;
        for id in users {
            self.hard_delete_user(id, true, None).await?;
        }
        for id in groups {
            self.hard_delete_group(id, true).await?;
        }
        Ok(n)
    }
}

/// What a deleted user's name is prefixed with when it is given up: its id in 32 hex digits.
fn released_prefix(id: ObjectId) -> String {
    id.as_uuid().simple().to_string()
}

/// The name a restored user takes back, if it gave one up, and the change saying so.
fn reclaim(user: &User) -> Option<(AttributeChange, Upn)> {
    let prefix = released_prefix(user.id);
    let given_up = &user.attrs.user_principal_name;
    let name = given_up.as_str().strip_prefix(prefix.as_str()).and_then(|n| Upn::parse(n).ok())?;
    Some((upn_change(given_up, &name), name))
}

fn upn_change(old: &Upn, new: &Upn) -> AttributeChange {
    AttributeChange {
        name: UserAttrName::Builtin(UserAttribute::UserPrincipalName).to_string(),
        old: AttrValue::String(old.to_string()),
        new: AttrValue::String(new.to_string()),
    }
}

pub fn check_version(kind: ObjectKind, id: ObjectId, actual: Version, expected: Option<Version>) -> Result<(), StoreError> {
    match expected {
        Some(expected) if expected != actual => Err(StoreError::VersionMismatch { kind, id, expected, actual }),
        _ => Ok(()),
    }
}
