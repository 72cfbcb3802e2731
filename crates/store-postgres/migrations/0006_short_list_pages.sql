-- Version 6: the sync configurations *from* a tenant read a page at a time through an
-- index (the console's lists, the overview). Configurations live with their target
-- (`tenant_id`), so those *to* a tenant already have sync_configurations_pair; under
-- Citus this one is local to each shard and a read by source fans out, as the
-- scheduler's listing does.
CREATE INDEX sync_configurations_source ON sync_configurations (source_tenant_id, tenant_id);
