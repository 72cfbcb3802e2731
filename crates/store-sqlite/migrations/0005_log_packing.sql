-- tenantsync schema, version 5: leaner provisioning logs, the bulk of a sync cycle's writes.
-- `body` now holds the packed form of a record (an LZ4-compressed BLOB, see logcodec.rs);
-- rows written before keep their JSON TEXT and still read. The time index goes: time-range
-- queries run within one configuration (its index) and row ids grow with time, and purges
-- are rare full scans; one B-tree less per record on the hot path.
DROP INDEX provisioning_logs_time;
