//! The lifecycle of users and groups inside a write transaction: soft delete, restore, a
//! deleted user's name given up and taken back, hard delete and purge. Each keeps the
//! tenant's object counts (`Tx::counts`), its anchored users' among them, with the rows.
use super::Tx;
use crate::rows::{self, sql_err};
use rusqlite::params;
use rusqlite::types::Value;
use tenantsync_domain::{AttrValue, AttributeChange, ChangeOp, Group, ObjectId, ObjectKind, TenantId, Upn, User, UserAttrName, UserAttribute, Version};
use tenantsync_store::{StoreError, WriteOutcome};

impl Tx<'_> {
    /// Loads an object that must exist, not be soft-deleted, and have the version named.
    pub(super) fn load_live<T: Stored>(&self, id: ObjectId, if_match: Option<Version>) -> Result<T, StoreError> {
        let object = T::load(self, id)?;
        check_version(T::KIND, id, object.version(), if_match)?;
        if object.is_deleted() {
            return Err(StoreError::ObjectDeleted { kind: T::KIND, id });
        }
        Ok(object)
    }

    pub(super) fn soft_delete<T: Stored>(&mut self, id: ObjectId, if_match: Option<Version>) -> Result<WriteOutcome, StoreError> {
        let mut object = self.load_live::<T>(id, if_match)?;
        *object.deleted_at() = Some(self.now());
        object.bump(self, None)?;
        self.append(T::KIND, id, ChangeOp::SoftDelete, None, &[])?;
        self.counts.soft_deleted(T::KIND);
        self.counts.anchored(object.counted_anchor(), -1);
        Ok(object.outcome())
    }

    /// Brings a soft-deleted object back; a user whose name was given up
    /// ([`Tx::release_upn`]) takes it back, refused with `upn_conflict` (and nothing
    /// written: the one UPDATE is the first write) when another user has it now.
    pub(super) fn restore<T: Stored>(&mut self, id: ObjectId, if_match: Option<Version>) -> Result<WriteOutcome, StoreError> {
        let mut object = T::load(self, id)?;
        check_version(T::KIND, id, object.version(), if_match)?;
        if !object.is_deleted() {
            return Err(StoreError::NotDeleted { kind: T::KIND, id });
        }
        let before = object.row();
        *object.deleted_at() = None;
        let changes = object.reclaim();
        object.bump(self, (!changes.is_empty()).then_some(before.as_slice()))?;
        self.append(T::KIND, id, ChangeOp::Restore, None, &changes)?;
        self.counts.restored(T::KIND);
        self.counts.anchored(object.counted_anchor(), 1);
        Ok(object.outcome())
    }

    /// Gives up the userPrincipalName of a soft-deleted user: it becomes
    /// `<id, 32 hex digits><userPrincipalName>` (what Entra shows for deleted users), with
    /// an `update` change. Refused with `not_deleted` for a live user, and with
    /// `invalid_upn` when the longer name is not a valid UPN (a local part of more than 96
    /// characters); a name already given up stays as it is.
    pub(super) fn release_upn(&mut self, id: ObjectId) -> Result<WriteOutcome, StoreError> {
        let mut user = self.load_user(id)?;
        if !user.is_deleted() {
            return Err(StoreError::NotDeleted { kind: ObjectKind::User, id });
        }
        let prefix = released_prefix(id);
        let old = user.attrs.user_principal_name.clone();
        if old.as_str().starts_with(&prefix) {
            return Ok(WriteOutcome::User(Box::new(user)));
        }
        let new = Upn::parse(&format!("{prefix}{old}"))?;
        let before = user.row();
        user.attrs.user_principal_name = new.clone();
        self.bump_user(&mut user, Some(&before))?;
        self.append(ObjectKind::User, id, ChangeOp::Update, None, &[upn_change(&old, &new)])?;
        Ok(WriteOutcome::User(Box::new(user)))
    }

    /// Removes a user for good: its memberships (the groups record `memberRemove`), its
    /// place as manager (the reports record an `update`), then the user (`hardDelete`).
    /// `deleted`: whether the user was soft-deleted, `anchor`: the tenant its anchor names
    /// (both for the counts).
    pub fn hard_delete_user(&mut self, id: ObjectId, deleted: bool, anchor: Option<TenantId>) -> Result<(), StoreError> {
        for report in self.ids("SELECT id FROM users INDEXED BY users_manager WHERE tenant_id = ?1 AND manager_id = ?2 AND manager_id IS NOT NULL", id)? {
            let mut r = self.load_user(report)?;
            let before = r.row();
            r.attrs.manager = None;
            self.bump_user(&mut r, Some(&before))?;
            let change = AttributeChange { name: "manager".into(), old: AttrValue::String(id.to_string()), new: AttrValue::Null };
            self.append(ObjectKind::User, report, ChangeOp::Update, None, &[change])?;
        }
        for group in self.ids("SELECT group_id FROM members INDEXED BY members_user WHERE tenant_id = ?1 AND user_id = ?2", id)? {
            self.remove_membership(group, id)?;
            let mut g = self.load_group(group)?;
            self.bump_group(&mut g, None)?;
            self.append(ObjectKind::Group, group, ChangeOp::MemberRemove, Some(id), &[])?;
        }
        self.unindex_extensions(id)?;
        self.conn
            .prepare_cached("DELETE FROM bare_user_names WHERE tenant_id = ?1 AND user_id = ?2")
            .and_then(|mut s| s.execute(params![self.tenant_blob, id.as_bytes()]))
            .map_err(sql_err)?;
        self.conn
            .prepare_cached("DELETE FROM users WHERE tenant_id = ?1 AND id = ?2")
            .and_then(|mut s| s.execute(params![self.tenant_blob, id.as_bytes()]))
            .map_err(sql_err)?;
        self.append(ObjectKind::User, id, ChangeOp::HardDelete, None, &[])?;
        self.counts.hard_deleted(ObjectKind::User, deleted);
        if !deleted {
            self.counts.anchored(anchor, -1);
        }
        Ok(())
    }

    /// Removes a group for good with its memberships. The memberships go silently: the
    /// group's `hardDelete` change says all there is to say.
    pub fn hard_delete_group(&mut self, id: ObjectId, deleted: bool) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("DELETE FROM members WHERE tenant_id = ?1 AND group_id = ?2")
            .and_then(|mut s| s.execute(params![self.tenant_blob, id.as_bytes()]))
            .map_err(sql_err)?;
        self.conn
            .prepare_cached("DELETE FROM groups WHERE tenant_id = ?1 AND id = ?2")
            .and_then(|mut s| s.execute(params![self.tenant_blob, id.as_bytes()]))
            .map_err(sql_err)?;
        self.append(ObjectKind::Group, id, ChangeOp::HardDelete, None, &[])?;
        self.counts.hard_deleted(ObjectKind::Group, deleted);
        Ok(())
    }

    /// Hard-deletes everything soft-deleted before `cutoff_ms`.
    pub fn purge(&mut self, cutoff_ms: i64) -> Result<u64, StoreError> {
        let select = |sql: &str| -> Result<Vec<ObjectId>, StoreError> {
            let mut stmt = self.conn.prepare_cached(sql).map_err(sql_err)?;
            let rows = stmt.query_map(params![self.tenant_blob, cutoff_ms], |r| Ok(ObjectId::from_bytes(r.get(0)?))).map_err(sql_err)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(sql_err)
        };
        let users = select("SELECT id FROM users INDEXED BY users_deleted WHERE tenant_id = ?1 AND deleted_ms IS NOT NULL AND deleted_ms < ?2 ORDER BY id")?;
        let groups = select("SELECT id FROM groups INDEXED BY groups_deleted WHERE tenant_id = ?1 AND deleted_ms IS NOT NULL AND deleted_ms < ?2 ORDER BY id")?;
        let n = (users.len() + groups.len()) as u64;
        for id in users {
            self.hard_delete_user(id, true, None)?;
        }
        for id in groups {
            self.hard_delete_group(id, true)?;
        }
        Ok(n)
    }
}

/// What a deleted user's name is prefixed with when it is given up: its id in 32 hex digits.
fn released_prefix(id: ObjectId) -> String {
    id.as_uuid().simple().to_string()
}

fn upn_change(old: &Upn, new: &Upn) -> AttributeChange {
    AttributeChange {
        name: UserAttrName::Builtin(UserAttribute::UserPrincipalName).to_string(),
        old: AttrValue::String(old.to_string()),
        new: AttrValue::String(new.to_string()),
    }
}

/// What the lifecycle operations need of users and groups alike.
pub(super) trait Stored: Sized {
    const KIND: ObjectKind;
    fn load(tx: &Tx<'_>, id: ObjectId) -> Result<Self, StoreError>;
    /// The row as stored, for writing back only the columns that change.
    fn row(&self) -> Vec<Value>;
    /// Writes the object back with version + 1: the lifecycle columns, or with `before`,
    /// every column that differs from it.
    fn bump(&mut self, tx: &Tx<'_>, before: Option<&[Value]>) -> Result<(), StoreError>;
    /// What a restore takes back besides the object itself (a user's given-up name).
    fn reclaim(&mut self) -> Vec<AttributeChange>;
    fn version(&self) -> Version;
    fn is_deleted(&self) -> bool;
    fn deleted_at(&mut self) -> &mut Option<jiff::Timestamp>;
    fn outcome(self) -> WriteOutcome;
    /// The source tenant whose anchored users count this object (users only).
    fn counted_anchor(&self) -> Option<TenantId>;
}

impl Stored for User {
    const KIND: ObjectKind = ObjectKind::User;
    fn is_deleted(&self) -> bool {
        User::is_deleted(self)
    }
    fn load(tx: &Tx<'_>, id: ObjectId) -> Result<Self, StoreError> {
        tx.load_user(id)
    }
    fn row(&self) -> Vec<Value> {
        rows::owned(&rows::user_values(self, &rows::extensions_json(&self.attrs.extensions)))
    }
    fn bump(&mut self, tx: &Tx<'_>, before: Option<&[Value]>) -> Result<(), StoreError> {
        tx.bump_user(self, before)
    }
    fn reclaim(&mut self) -> Vec<AttributeChange> {
        let prefix = released_prefix(self.id);
        let given_up = &self.attrs.user_principal_name;
        let Some(name) = given_up.as_str().strip_prefix(prefix.as_str()).and_then(|n| Upn::parse(n).ok()) else { return Vec::new() };
        let change = upn_change(given_up, &name);
        self.attrs.user_principal_name = name;
        vec![change]
    }
    fn version(&self) -> Version {
        self.version
    }
    fn deleted_at(&mut self) -> &mut Option<jiff::Timestamp> {
        &mut self.deleted_date_time
    }
    fn outcome(self) -> WriteOutcome {
        WriteOutcome::User(Box::new(self))
    }
    fn counted_anchor(&self) -> Option<TenantId> {
        self.anchor.map(|a| a.tenant)
    }
}

impl Stored for Group {
    const KIND: ObjectKind = ObjectKind::Group;
    fn is_deleted(&self) -> bool {
        Group::is_deleted(self)
    }
    fn load(tx: &Tx<'_>, id: ObjectId) -> Result<Self, StoreError> {
        tx.load_group(id)
    }
    fn row(&self) -> Vec<Value> {
        rows::owned(&rows::group_values(self))
    }
    fn bump(&mut self, tx: &Tx<'_>, before: Option<&[Value]>) -> Result<(), StoreError> {
        tx.bump_group(self, before)
    }
    fn reclaim(&mut self) -> Vec<AttributeChange> {
        Vec::new()
    }
    fn version(&self) -> Version {
        self.version
    }
    fn deleted_at(&mut self) -> &mut Option<jiff::Timestamp> {
        &mut self.deleted_date_time
    }
    fn outcome(self) -> WriteOutcome {
        WriteOutcome::Group(Box::new(self))
    }
    fn counted_anchor(&self) -> Option<TenantId> {
        None
    }
}

pub(super) fn check_version(kind: ObjectKind, id: ObjectId, actual: Version, expected: Option<Version>) -> Result<(), StoreError> {
    match expected {
        Some(expected) if expected != actual => Err(StoreError::VersionMismatch { kind, id, expected, actual }),
        _ => Ok(()),
    }
}
