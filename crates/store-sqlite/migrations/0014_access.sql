-- tenantsync schema, version 14: entitlement management (tenantsync-access).
-- Definitions as documents; requests and assignments as documents with the columns they
-- are found by, among them the time the clock next has work for each (NULL: none), so a
-- sweep reads only what is due. Every key starts with the tenant.
CREATE TABLE access_objects (
    tenant_id  BLOB NOT NULL REFERENCES tenants (id),
    kind       TEXT NOT NULL,
    id         BLOB NOT NULL,
    body       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, kind, id)
) WITHOUT ROWID;

CREATE TABLE access_requests (
    tenant_id  BLOB NOT NULL REFERENCES tenants (id),
    id         BLOB NOT NULL,
    version    INTEGER NOT NULL,
    requestor  BLOB,
    package    BLOB NOT NULL,
    open       INTEGER NOT NULL,
    due_ms     INTEGER,
    body       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
CREATE INDEX access_requests_due ON access_requests (due_ms) WHERE due_ms IS NOT NULL;
CREATE INDEX access_requests_by_requestor ON access_requests (tenant_id, requestor, id);

CREATE TABLE access_assignments (
    tenant_id  BLOB NOT NULL REFERENCES tenants (id),
    id         BLOB NOT NULL,
    version    INTEGER NOT NULL,
    target     BLOB NOT NULL,
    package    BLOB NOT NULL,
    policy     BLOB NOT NULL,
    current    INTEGER NOT NULL,
    due_ms     INTEGER,
    body       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
CREATE INDEX access_assignments_due ON access_assignments (due_ms) WHERE due_ms IS NOT NULL;
CREATE INDEX access_assignments_by_target ON access_assignments (tenant_id, target, id);
CREATE INDEX access_assignments_by_package ON access_assignments (tenant_id, package, id);

CREATE TABLE access_guests (
    tenant_id  BLOB NOT NULL REFERENCES tenants (id),
    user_id    BLOB NOT NULL,
    delete_ms  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
) WITHOUT ROWID;
CREATE INDEX access_guests_due ON access_guests (delete_ms);

CREATE TABLE access_outbox (
    tenant_id  BLOB NOT NULL REFERENCES tenants (id),
    id         BLOB NOT NULL,
    next_ms    INTEGER,
    body       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
CREATE INDEX access_outbox_due ON access_outbox (next_ms) WHERE next_ms IS NOT NULL;
