-- tenantsync's PostgreSQL schema, version 1: what the SQLite store's eleven versions hold.
--
-- Ready for distribution by tenant (Citus): every table's primary key and every unique
-- key starts with `tenant_id`, no foreign key or query joins rows of two tenants, and the
-- data that belongs to no tenant is in reference tables (`schema_versions`,
-- `tenant_domains`). A test reads the catalog and fails if a table breaks this
-- (tests/citus.rs); `REFERENCE_TABLES` in schema.rs names the reference tables.
--
-- Ids are uuid (UUIDv7: time-ordered). Timestamps are bigint milliseconds since the Unix
-- epoch, as in SQLite, so both stores round a time the same way. Text columns collate
-- "C" (byte order, as SQLite's BINARY); case-insensitive comparisons fold ASCII case only
-- with `ts_fold`, as SQLite's NOCASE does.

CREATE FUNCTION ts_fold(text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN translate($1, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz');

CREATE TABLE tenants (
    tenant_id      uuid PRIMARY KEY,
    display_name   text COLLATE "C" NOT NULL,
    initial_domain text COLLATE "C" NOT NULL,   -- stored lowercase; unique through tenant_domains
    created_ms     bigint NOT NULL,
    retention_days integer NOT NULL,
    change_head    bigint NOT NULL DEFAULT 0,   -- seq of the newest change; its row lock serializes the tenant's writers
    live_users     bigint NOT NULL DEFAULT 0,   -- object counts, kept by the write path with change_head
    deleted_users  bigint NOT NULL DEFAULT 0,
    live_groups    bigint NOT NULL DEFAULT 0,
    deleted_groups bigint NOT NULL DEFAULT 0
);

-- Global: which tenant has which initial domain (a reference table under Citus).
CREATE TABLE tenant_domains (
    initial_domain text COLLATE "C" PRIMARY KEY,
    tenant_id      uuid NOT NULL
);

CREATE TABLE users (
    tenant_id            uuid NOT NULL REFERENCES tenants (tenant_id),
    id                   uuid NOT NULL,
    upn                  text COLLATE "C" NOT NULL,
    mail                 text COLLATE "C",
    display_name         text COLLATE "C",
    given_name           text COLLATE "C",
    surname              text COLLATE "C",
    mail_nickname        text COLLATE "C",
    account_enabled      boolean NOT NULL,
    user_type            smallint NOT NULL,     -- 0 Member, 1 Guest
    department           text COLLATE "C",
    job_title            text COLLATE "C",
    company_name         text COLLATE "C",
    employee_id          text COLLATE "C",
    office_location      text COLLATE "C",
    street_address       text COLLATE "C",
    city                 text COLLATE "C",
    state                text COLLATE "C",
    postal_code          text COLLATE "C",
    country              text COLLATE "C",
    usage_location       text COLLATE "C",
    preferred_language   text COLLATE "C",
    telephone_number     text COLLATE "C",
    mobile_phone         text COLLATE "C",
    manager_id           uuid,
    extensions           text COLLATE "C",      -- JSON object, NULL when empty
    anchor_tenant        uuid,                  -- set exactly for external users
    anchor_object        uuid,
    version              bigint NOT NULL,
    created_ms           bigint NOT NULL,
    modified_ms          bigint NOT NULL,
    deleted_ms           bigint,                -- set while soft-deleted
    external_id          text COLLATE "C",
    show_in_address_list boolean,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX users_upn ON users (tenant_id, ts_fold(upn));
CREATE INDEX users_mail ON users (tenant_id, ts_fold(mail)) WHERE mail IS NOT NULL;
CREATE UNIQUE INDEX users_anchor ON users (tenant_id, anchor_tenant, anchor_object) WHERE anchor_tenant IS NOT NULL;
CREATE INDEX users_manager ON users (tenant_id, manager_id) WHERE manager_id IS NOT NULL;
CREATE INDEX users_deleted ON users (tenant_id, deleted_ms) WHERE deleted_ms IS NOT NULL;
CREATE INDEX users_external_id ON users (tenant_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX users_display_name ON users (tenant_id, ts_fold(display_name)) WHERE display_name IS NOT NULL;

CREATE TABLE groups (
    tenant_id        uuid NOT NULL REFERENCES tenants (tenant_id),
    id               uuid NOT NULL,
    display_name     text COLLATE "C" NOT NULL,
    description      text COLLATE "C",
    mail_nickname    text COLLATE "C",
    security_enabled boolean NOT NULL,
    anchor_tenant    uuid,
    anchor_object    uuid,
    version          bigint NOT NULL,
    created_ms       bigint NOT NULL,
    modified_ms      bigint NOT NULL,
    deleted_ms       bigint,
    external_id      text COLLATE "C",
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX groups_anchor ON groups (tenant_id, anchor_tenant, anchor_object) WHERE anchor_tenant IS NOT NULL;
CREATE INDEX groups_deleted ON groups (tenant_id, deleted_ms) WHERE deleted_ms IS NOT NULL;
CREATE INDEX groups_external_id ON groups (tenant_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX groups_display_name ON groups (tenant_id, ts_fold(display_name));

CREATE TABLE members (
    tenant_id uuid NOT NULL,
    group_id  uuid NOT NULL,
    user_id   uuid NOT NULL,
    PRIMARY KEY (tenant_id, group_id, user_id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES groups (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX members_user ON members (tenant_id, user_id);

-- The change feed: per tenant, seq 1, 2, 3, ... without gaps, written in the same
-- transaction as the write it records, under the lock of the tenant's row.
CREATE TABLE changes (
    tenant_id   uuid NOT NULL REFERENCES tenants (tenant_id),
    seq         bigint NOT NULL,
    at_ms       bigint NOT NULL,
    object_kind smallint NOT NULL,          -- 0 user, 1 group
    object_id   uuid NOT NULL,
    op          smallint NOT NULL,          -- ChangeOp::code
    member_id   uuid,
    attributes  text,                       -- JSON [{name, old, new}] for updates
    PRIMARY KEY (tenant_id, seq)
);

-- One row per value of a user's extension attributes (kept by the write path), so a
-- filter on an extension attribute seeks (name, value).
CREATE TABLE user_extension_values (
    tenant_id uuid NOT NULL,
    name      text COLLATE "C" NOT NULL,
    value     text COLLATE "C" NOT NULL,
    user_id   uuid NOT NULL,
    PRIMARY KEY (tenant_id, name, value, user_id)
);
CREATE INDEX user_extension_values_folded ON user_extension_values (tenant_id, name, ts_fold(value));
CREATE INDEX user_extension_values_user ON user_extension_values (tenant_id, user_id);

CREATE TABLE api_tokens (
    tenant_id   uuid NOT NULL REFERENCES tenants (tenant_id),
    id          uuid NOT NULL,
    name        text COLLATE "C" NOT NULL,
    secret_hash bytea NOT NULL,             -- SHA-256 of the token's secret part
    created_ms  bigint NOT NULL,
    expires_ms  bigint,
    revoked_ms  bigint,
    role        text NOT NULL CHECK (role IN ('admin', 'reader', 'scim')),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX api_tokens_id ON api_tokens (id);

-- Cross-tenant access settings per (tenant, partner); the nil partner id holds a
-- tenant's defaults.
CREATE TABLE partner_settings (
    tenant_id  uuid NOT NULL REFERENCES tenants (tenant_id),
    partner_id uuid NOT NULL,
    settings   text NOT NULL,               -- JSON PartnerSettings
    PRIMARY KEY (tenant_id, partner_id)
);

-- Sync configurations live with their target tenant (`tenant_id`): a cycle's commit
-- writes the target, its logs and its job state in one transaction, on one shard. The
-- source is a plain column: no foreign key reaches across tenants.
CREATE TABLE sync_configurations (
    tenant_id        uuid NOT NULL REFERENCES tenants (tenant_id),
    id               uuid NOT NULL,
    source_tenant_id uuid NOT NULL,
    body             text NOT NULL,         -- JSON SyncConfiguration
    created_ms       bigint NOT NULL,
    created_seq      bigserial,             -- creation order among equal times
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX sync_configurations_pair ON sync_configurations (tenant_id, source_tenant_id);
CREATE INDEX sync_configurations_id ON sync_configurations (id);

CREATE TABLE job_states (
    tenant_id uuid NOT NULL,
    config_id uuid NOT NULL,
    watermark bigint NOT NULL,
    body      text NOT NULL,                -- JSON JobState
    PRIMARY KEY (tenant_id, config_id),
    FOREIGN KEY (tenant_id, config_id) REFERENCES sync_configurations (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX job_states_config ON job_states (config_id);

-- Provisioning logs, with the target tenant of their configuration; ids grow with
-- time, so "newest first" is a reverse scan.
CREATE TABLE provisioning_logs (
    tenant_id uuid NOT NULL,
    id        bigserial,
    config_id uuid NOT NULL,
    at_ms     bigint NOT NULL,
    status    smallint NOT NULL,            -- 0 success, 1 failure, 2 skipped, 3 warning
    source_id uuid NOT NULL,
    target_id uuid,
    action    text NOT NULL,                -- ProvisioningAction, as in the JSON
    body      text NOT NULL,                -- JSON ProvisioningLog
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX provisioning_logs_config ON provisioning_logs (config_id, id);
CREATE INDEX provisioning_logs_newest ON provisioning_logs (id);
CREATE INDEX provisioning_logs_source ON provisioning_logs (source_id);
CREATE INDEX provisioning_logs_target ON provisioning_logs (target_id) WHERE target_id IS NOT NULL;
CREATE INDEX provisioning_logs_time ON provisioning_logs (at_ms);

-- The users whose name a client last gave without its domain (a SCIM userName `bob`
-- for bob@<initial domain>), so it is given back as it was written.
CREATE TABLE bare_user_names (
    tenant_id uuid NOT NULL,
    user_id   uuid NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);

-- The admin API's audit log (Graph's directoryAudits): one row per write made through
-- the admin API, committed with the write where the store can. Read per tenant, newest
-- first; purged with the provisioning logs' retention.
CREATE TABLE audit_log (
    tenant_id uuid NOT NULL REFERENCES tenants (tenant_id),
    at_ms     bigint NOT NULL,
    id        uuid NOT NULL,
    body      text NOT NULL,                -- JSON AuditRecord
    PRIMARY KEY (tenant_id, at_ms, id)
);
CREATE INDEX audit_log_time ON audit_log (at_ms);

-- Documents of admin API resources without a domain counterpart (a service principal of
-- the cross-tenant sync template). Few per tenant.
CREATE TABLE admin_objects (
    tenant_id  uuid NOT NULL REFERENCES tenants (tenant_id),
    kind       text COLLATE "C" NOT NULL,
    id         uuid NOT NULL,
    created_ms bigint NOT NULL,
    body       text NOT NULL,               -- JSON, the API's own shape
    PRIMARY KEY (tenant_id, kind, id)
);

-- Entitlement management (tenantsync-access): definitions as documents; requests and
-- assignments as documents with the columns they are found by, among them the time the
-- clock next has work for each (NULL: none), so a sweep reads only what is due.
CREATE TABLE access_objects (
    tenant_id uuid NOT NULL REFERENCES tenants (tenant_id),
    kind      text COLLATE "C" NOT NULL,
    id        uuid NOT NULL,
    body      text NOT NULL,
    PRIMARY KEY (tenant_id, kind, id)
);

CREATE TABLE access_requests (
    tenant_id uuid NOT NULL REFERENCES tenants (tenant_id),
    id        uuid NOT NULL,
    version   bigint NOT NULL,
    requestor uuid,
    package   uuid NOT NULL,
    open      boolean NOT NULL,
    due_ms    bigint,
    body      text NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX access_requests_due ON access_requests (due_ms) WHERE due_ms IS NOT NULL;
CREATE INDEX access_requests_by_requestor ON access_requests (tenant_id, requestor, id);

CREATE TABLE access_assignments (
    tenant_id uuid NOT NULL REFERENCES tenants (tenant_id),
    id        uuid NOT NULL,
    version   bigint NOT NULL,
    target    uuid NOT NULL,
    package   uuid NOT NULL,
    policy    uuid NOT NULL,
    current   boolean NOT NULL,
    due_ms    bigint,
    body      text NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX access_assignments_due ON access_assignments (due_ms) WHERE due_ms IS NOT NULL;
CREATE INDEX access_assignments_by_target ON access_assignments (tenant_id, target, id);
CREATE INDEX access_assignments_by_package ON access_assignments (tenant_id, package, id);

CREATE TABLE access_guests (
    tenant_id uuid NOT NULL REFERENCES tenants (tenant_id),
    user_id   uuid NOT NULL,
    delete_ms bigint NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX access_guests_due ON access_guests (delete_ms);

CREATE TABLE access_outbox (
    tenant_id uuid NOT NULL REFERENCES tenants (tenant_id),
    id        uuid NOT NULL,
    next_ms   bigint,
    body      text NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX access_outbox_due ON access_outbox (next_ms) WHERE next_ms IS NOT NULL;
