-- tenantsync schema, version 17: the generation of the import reconciliation that last
-- found a link's object in its external system. A reconciliation marks what it reads
-- and sweeps the links it did not mark, so it holds no list of what it read. The mark
-- means something only while its reconciliation runs (each one starts a new
-- generation), so `tenantsync migrate` does not carry it.
ALTER TABLE connector_links ADD COLUMN seen INTEGER;
