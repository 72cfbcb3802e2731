-- tenantsync schema, version 1.
-- Keys are 16-byte UUIDv7 blobs: time-ordered, so inserts land at the right edge of
-- each B-tree. Directory tables are WITHOUT ROWID, clustered on (tenant_id, id), so a
-- user is one B-tree entry and not a rowid entry plus a key index entry.
-- Timestamps are INTEGER milliseconds since the Unix epoch.

CREATE TABLE tenants (
    id             BLOB PRIMARY KEY NOT NULL,
    display_name   TEXT NOT NULL,
    initial_domain TEXT NOT NULL,          -- stored lowercase
    created_ms     INTEGER NOT NULL,
    retention_days INTEGER NOT NULL,
    change_head    INTEGER NOT NULL DEFAULT 0  -- seq of the newest change
) WITHOUT ROWID;
CREATE UNIQUE INDEX tenants_domain ON tenants (initial_domain);

CREATE TABLE users (
    tenant_id          BLOB NOT NULL REFERENCES tenants (id),
    id                 BLOB NOT NULL,
    upn                TEXT NOT NULL,
    mail               TEXT,
    display_name       TEXT,
    given_name         TEXT,
    surname            TEXT,
    mail_nickname      TEXT,
    account_enabled    INTEGER NOT NULL,
    user_type          INTEGER NOT NULL,   -- 0 Member, 1 Guest
    department         TEXT,
    job_title          TEXT,
    company_name       TEXT,
    employee_id        TEXT,
    office_location    TEXT,
    street_address     TEXT,
    city               TEXT,
    state              TEXT,
    postal_code        TEXT,
    country            TEXT,
    usage_location     TEXT,
    preferred_language TEXT,
    telephone_number   TEXT,
    mobile_phone       TEXT,
    manager_id         BLOB,
    extensions         TEXT,               -- JSON object, NULL when empty
    anchor_tenant      BLOB,               -- set exactly for external users
    anchor_object      BLOB,
    version            INTEGER NOT NULL,
    created_ms         INTEGER NOT NULL,
    modified_ms        INTEGER NOT NULL,
    deleted_ms         INTEGER,            -- set while soft-deleted
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
-- UPNs are ASCII (the domain enforces it), so NOCASE is exact case-insensitivity.
-- Soft-deleted users keep their row, so their UPN stays reserved.
CREATE UNIQUE INDEX users_upn ON users (tenant_id, upn COLLATE NOCASE);
CREATE INDEX users_mail ON users (tenant_id, mail COLLATE NOCASE) WHERE mail IS NOT NULL;
CREATE UNIQUE INDEX users_anchor ON users (tenant_id, anchor_tenant, anchor_object) WHERE anchor_tenant IS NOT NULL;
CREATE INDEX users_manager ON users (tenant_id, manager_id) WHERE manager_id IS NOT NULL;
CREATE INDEX users_deleted ON users (tenant_id, deleted_ms) WHERE deleted_ms IS NOT NULL;

CREATE TABLE groups (
    tenant_id        BLOB NOT NULL REFERENCES tenants (id),
    id               BLOB NOT NULL,
    display_name     TEXT NOT NULL,
    description      TEXT,
    mail_nickname    TEXT,
    security_enabled INTEGER NOT NULL,
    anchor_tenant    BLOB,
    anchor_object    BLOB,
    version          INTEGER NOT NULL,
    created_ms       INTEGER NOT NULL,
    modified_ms      INTEGER NOT NULL,
    deleted_ms       INTEGER,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX groups_anchor ON groups (tenant_id, anchor_tenant, anchor_object) WHERE anchor_tenant IS NOT NULL;
CREATE INDEX groups_deleted ON groups (tenant_id, deleted_ms) WHERE deleted_ms IS NOT NULL;

CREATE TABLE members (
    tenant_id BLOB NOT NULL,
    group_id  BLOB NOT NULL,
    user_id   BLOB NOT NULL,
    PRIMARY KEY (tenant_id, group_id, user_id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES groups (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
) WITHOUT ROWID;
CREATE INDEX members_user ON members (tenant_id, user_id);

-- The change feed: per tenant, seq 1, 2, 3, ... without gaps, written in the same
-- transaction as the write it records.
CREATE TABLE changes (
    tenant_id   BLOB NOT NULL REFERENCES tenants (id),
    seq         INTEGER NOT NULL,
    at_ms       INTEGER NOT NULL,
    object_kind INTEGER NOT NULL,          -- 0 user, 1 group
    object_id   BLOB NOT NULL,
    op          INTEGER NOT NULL,          -- ChangeOp::code
    member_id   BLOB,
    attributes  TEXT,                      -- JSON [{name, old, new}] for updates
    PRIMARY KEY (tenant_id, seq)
) WITHOUT ROWID;
