//! Each tenant's object counts (live and soft-deleted users and groups), four columns of
//! its `tenants` row kept by the write path in the transaction of every write, as
//! `change_head` is, so an unfiltered listing reads its total instead of counting; and
//! the live users per anchor source tenant (`anchored_users`, migration 7), so a
//! topology arrow's "users synced" is one row read.
use crate::schema::pg_err;
use tenantsync_domain::{ObjectKind, TenantId};
use tenantsync_store::{StoreError, Visibility};

/// Changes of the counts not yet written (the tally is the store crate's).
pub type Counts = tenantsync_store::CountDeltas;

/// Adds `counts` to the tenant's row and its anchored counts (nothing when there are none).
/// The tenant's row is locked by the transaction (`FOR UPDATE` at its start), so the
/// anchored rows of one tenant have one writer at a time.
pub async fn write(counts: &Counts, tx: &deadpool_postgres::Transaction<'_>, tenant: TenantId) -> Result<(), StoreError> {
    for (source, n) in counts.anchored_changes() {
        let stmt = tx
            .prepare_cached(
                "INSERT INTO anchored_users (tenant_id, anchor_tenant, live) VALUES ($1, $2, $3) \
                 ON CONFLICT (tenant_id, anchor_tenant) DO UPDATE SET live = anchored_users.live + excluded.live",
            )
            .await
            .map_err(pg_err)?;
        tx.execute(&stmt, &[&tenant.0, &source.0, &n]).await.map_err(pg_err)?;
    }
    if counts.is_empty() {
        return Ok(());
    }
    let stmt = tx
        .prepare_cached(
            "UPDATE tenants SET live_users = live_users + $1, deleted_users = deleted_users + $2, \
             live_groups = live_groups + $3, deleted_groups = deleted_groups + $4 WHERE tenant_id = $5",
        )
        .await
        .map_err(pg_err)?;
    tx.execute(&stmt, &[&counts.users, &counts.deleted_users, &counts.groups, &counts.deleted_groups, &tenant.0]).await.map_err(pg_err)?;
    Ok(())
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
