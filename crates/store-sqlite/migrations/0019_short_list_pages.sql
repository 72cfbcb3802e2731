-- tenantsync schema, version 19: a tenant's tokens and the sync configurations *to* it
-- read a page at a time (the console's lists, the topology's arrows into a tenant)
-- through an index, not by reading every row of the deployment. Configurations *from* a
-- tenant already have sync_configurations_pair (source, target).
CREATE INDEX sync_configurations_target ON sync_configurations (target_tenant_id, source_tenant_id);
CREATE INDEX api_tokens_tenant_id ON api_tokens (tenant_id, id);
