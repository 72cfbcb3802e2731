-- tenantsync schema, version 18: the open requests of an access package, found without
-- reading every request of the tenant (the pending count on the topology's JIT links and
-- in `topology show`). Partial: closed requests, the many, are not in it.
CREATE INDEX access_requests_open_by_package ON access_requests (tenant_id, package) WHERE open;
