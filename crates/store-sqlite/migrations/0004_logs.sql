-- tenantsync schema, version 4: provisioning logs, written in the same transaction as
-- the target writes they report. Rowids grow with time, so "newest first" is a reverse
-- scan of the primary key.
CREATE TABLE provisioning_logs (
    id        INTEGER PRIMARY KEY,
    config_id BLOB NOT NULL,
    at_ms     INTEGER NOT NULL,
    status    TEXT NOT NULL,
    source_id BLOB NOT NULL,
    target_id BLOB,
    body      TEXT NOT NULL                -- JSON ProvisioningLog
);
CREATE INDEX provisioning_logs_config ON provisioning_logs (config_id, id);
CREATE INDEX provisioning_logs_source ON provisioning_logs (source_id);
CREATE INDEX provisioning_logs_time ON provisioning_logs (at_ms);
