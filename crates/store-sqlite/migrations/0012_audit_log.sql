-- tenantsync schema, version 12: the admin API's audit log (Graph's directoryAudits).
-- One row per write made through the admin API, committed with the write where the store
-- can (directory writes, admin objects). Read per tenant, newest first; purged with the
-- provisioning logs' retention (serve --log-retention-days).
CREATE TABLE audit_log (
    tenant_id BLOB NOT NULL REFERENCES tenants (id),
    at_ms     INTEGER NOT NULL,
    id        BLOB NOT NULL,
    body      TEXT NOT NULL,               -- JSON AuditRecord
    PRIMARY KEY (tenant_id, at_ms, id)
) WITHOUT ROWID;
CREATE INDEX audit_log_time ON audit_log (at_ms);
