-- Version 5: the open requests of an access package, found without reading every request
-- of the tenant (the pending count of `topology show` and the drawings). Partial: closed
-- requests, the many, are not in it.
CREATE INDEX access_requests_open_by_package ON access_requests (tenant_id, package) WHERE open;
