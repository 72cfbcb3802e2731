-- tenantsync schema, version 20: per tenant and anchor source tenant, how many of the
-- tenant's users carry an anchor from that source and are not soft-deleted (the copies a
-- sync from it made: a topology arrow's "users synced"). Kept by the write path in the
-- transaction of every create, soft delete, restore and hard delete, as the tenant's own
-- counts are (src/counts.rs), so the count is one row read instead of a COUNT over the
-- anchor index (O(copies): 66 ms of CPU at 1,000,000). Groups are not counted.
CREATE TABLE anchored_users (
    tenant_id     BLOB NOT NULL,
    anchor_tenant BLOB NOT NULL,
    live          INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, anchor_tenant)
) WITHOUT ROWID;
INSERT INTO anchored_users (tenant_id, anchor_tenant, live)
    SELECT tenant_id, anchor_tenant, count(*) FROM users
    WHERE anchor_tenant IS NOT NULL AND deleted_ms IS NULL
    GROUP BY tenant_id, anchor_tenant;
