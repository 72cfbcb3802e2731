-- tenantsync schema, version 3: the sync engine's state.
-- Cross-tenant access settings per (tenant, partner); the all-zero partner id holds a
-- tenant's defaults for partners without settings of their own.
CREATE TABLE partner_settings (
    tenant_id  BLOB NOT NULL REFERENCES tenants (id),
    partner_id BLOB NOT NULL,
    settings   TEXT NOT NULL,              -- JSON PartnerSettings
    PRIMARY KEY (tenant_id, partner_id)
) WITHOUT ROWID;

-- One configuration per source -> target pair.
CREATE TABLE sync_configurations (
    id               BLOB PRIMARY KEY NOT NULL,
    source_tenant_id BLOB NOT NULL REFERENCES tenants (id),
    target_tenant_id BLOB NOT NULL REFERENCES tenants (id),
    body             TEXT NOT NULL,        -- JSON SyncConfiguration
    created_ms       INTEGER NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX sync_configurations_pair ON sync_configurations (source_tenant_id, target_tenant_id);
CREATE INDEX sync_configurations_source ON sync_configurations (source_tenant_id);

-- Each configuration's job state; written in the same transaction as the target writes
-- of the run that produced it.
CREATE TABLE job_states (
    config_id BLOB PRIMARY KEY NOT NULL REFERENCES sync_configurations (id) ON DELETE CASCADE,
    watermark INTEGER NOT NULL,
    body      TEXT NOT NULL                -- JSON JobState
) WITHOUT ROWID;
