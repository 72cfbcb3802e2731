-- tenantsync schema, version 11: each tenant's object counts, kept by the write path in
-- the transaction of every write, as change_head is (src/counts.rs), so the total of an
-- unfiltered listing is read instead of counted over the whole tenant.
ALTER TABLE tenants ADD COLUMN live_users INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN deleted_users INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN live_groups INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN deleted_groups INTEGER NOT NULL DEFAULT 0;
UPDATE tenants SET
    deleted_users = (SELECT count(*) FROM users INDEXED BY users_deleted WHERE tenant_id = tenants.id AND deleted_ms IS NOT NULL),
    live_users = (SELECT count(*) FROM users WHERE tenant_id = tenants.id) - (SELECT count(*) FROM users INDEXED BY users_deleted WHERE tenant_id = tenants.id AND deleted_ms IS NOT NULL),
    deleted_groups = (SELECT count(*) FROM groups INDEXED BY groups_deleted WHERE tenant_id = tenants.id AND deleted_ms IS NOT NULL),
    live_groups = (SELECT count(*) FROM groups WHERE tenant_id = tenants.id) - (SELECT count(*) FROM groups INDEXED BY groups_deleted WHERE tenant_id = tenants.id AND deleted_ms IS NOT NULL);

-- The users whose name a client last gave without its domain (a SCIM userName `bob` for
-- bob@<initial domain>), so it is given back as it was written. Kept by the write path;
-- a user's row goes with the user.
CREATE TABLE bare_user_names (
    tenant_id BLOB NOT NULL,
    user_id   BLOB NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
) WITHOUT ROWID;
