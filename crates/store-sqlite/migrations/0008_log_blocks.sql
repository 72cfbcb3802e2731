-- tenantsync schema, version 8: provisioning logs in blocks (see logblock.rs).
-- One row per block of up to 256 records of one configuration, written in the same
-- transaction as the target writes they report; ids grow with time, so "newest first" is
-- a reverse scan. The summary columns let a query skip blocks without decoding them.
CREATE TABLE provisioning_log_blocks (
    id         INTEGER PRIMARY KEY,
    config_id  BLOB NOT NULL,
    first_ms   INTEGER NOT NULL,       -- the oldest record's time
    last_ms    INTEGER NOT NULL,       -- the newest record's time
    statuses   INTEGER NOT NULL,       -- bit 0 success, 1 failure, 2 skipped, 3 warning
    records    INTEGER NOT NULL,
    body       BLOB NOT NULL           -- LZ4-packed records, last: a scan of the other columns skips it
);
CREATE INDEX provisioning_log_blocks_config ON provisioning_log_blocks (config_id, id);
-- Which blocks name an object, as source or as target.
CREATE TABLE provisioning_log_objects (
    object_id BLOB NOT NULL,
    block_id  INTEGER NOT NULL,
    PRIMARY KEY (object_id, block_id)
) WITHOUT ROWID;
-- provisioning_logs keeps the records written before this version; they are read after
-- the blocks (they are older) and purged like them. No new rows go there.
