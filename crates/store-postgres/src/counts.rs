//! Each tenant's object counts (live and soft-deleted users and groups), four columns of
//! its `tenants` row kept by the write path in the transaction of every write, as
//! `change_head` is, so an unfiltered listing reads its total instead of counting.
use crate::schema::pg_err;
use tenantsync_domain::{ObjectKind, TenantId};
use tenantsync_store::{StoreError, Visibility};

/// Changes of the counts not yet written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    users: i64,
    deleted_users: i64,
    groups: i64,
    deleted_groups: i64,
}

impl Counts {
    fn add(&mut self, kind: ObjectKind, live: i64, deleted: i64) {
        let (l, d) = match kind {
            ObjectKind::User => (&mut self.users, &mut self.deleted_users),
            ObjectKind::Group => (&mut self.groups, &mut self.deleted_groups),
        };
        *l += live;
        *d += deleted;
    }

    pub fn created(&mut self, kind: ObjectKind) {
        self.add(kind, 1, 0);
    }

    pub fn soft_deleted(&mut self, kind: ObjectKind) {
        self.add(kind, -1, 1);
    }

    pub fn restored(&mut self, kind: ObjectKind) {
        self.add(kind, 1, -1);
    }

    /// `deleted`: whether the object was soft-deleted when it went.
    pub fn hard_deleted(&mut self, kind: ObjectKind, deleted: bool) {
        if deleted { self.add(kind, 0, -1) } else { self.add(kind, -1, 0) }
    }

    /// Adds the changes to the tenant's row (nothing when there are none).
    pub async fn write(&self, tx: &deadpool_postgres::Transaction<'_>, tenant: TenantId) -> Result<(), StoreError> {
        if *self == Counts::default() {
            return Ok(());
        }
        let stmt = tx
            .prepare_cached(
                "UPDATE tenants SET live_users = live_users + $1, deleted_users = deleted_users + $2, \
                 live_groups = live_groups + $3, deleted_groups = deleted_groups + $4 WHERE tenant_id = $5",
            )
            .await
            .map_err(pg_err)?;
        tx.execute(&stmt, &[&self.users, &self.deleted_users, &self.groups, &self.deleted_groups, &tenant.0]).await.map_err(pg_err)?;
        Ok(())
    }
}

/// The expression of a count of `kind` for `visibility` over a `tenants` row.
pub fn column(kind: ObjectKind, visibility: Visibility) -> &'static str {
    match (kind, visibility) {
        (ObjectKind::User, Visibility::Active) => "live_users",
        (ObjectKind::User, Visibility::Deleted) => "deleted_users",
        (ObjectKind::User, Visibility::All) => "live_users + deleted_users",
        (ObjectKind::Group, Visibility::Active) => "live_groups",
        (ObjectKind::Group, Visibility::Deleted) => "deleted_groups",
        (ObjectKind::Group, Visibility::All) => "live_groups + deleted_groups",
    }
}
