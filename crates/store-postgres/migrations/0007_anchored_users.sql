-- Version 7: per tenant and anchor source tenant, how many of the tenant's users carry an
-- anchor from that source and are not soft-deleted (the copies a sync from it made: a
-- topology arrow's "users synced"), kept by the write path with the tenant's counts
-- (src/counts.rs), so the count is one row read instead of a COUNT over the anchor index.
-- Its key starts with tenant_id (distributed by tenant under Citus).
CREATE TABLE anchored_users (
    tenant_id     uuid NOT NULL,
    anchor_tenant uuid NOT NULL,
    live          bigint NOT NULL,
    PRIMARY KEY (tenant_id, anchor_tenant)
);
INSERT INTO anchored_users (tenant_id, anchor_tenant, live)
    SELECT tenant_id, anchor_tenant, count(*) FROM users
    WHERE anchor_tenant IS NOT NULL AND deleted_ms IS NULL
    GROUP BY tenant_id, anchor_tenant;

-- The console's user search reads the display-name index as a range in (folded name, id)
-- order from a keyset cursor (src/search.rs): with the id in the index, a page is the
-- index's next entries, no sort of the users who share a name (SQLite's index ends with
-- the primary key's id by itself).
DROP INDEX users_display_name;
CREATE INDEX users_display_name ON users (tenant_id, ts_fold(display_name), id) WHERE display_name IS NOT NULL;
