-- Version 3: the web console's sessions and one-time sign-in codes, keyed by tenant first
-- like every per-tenant table. Only hashes are kept: of the secret a session's cookie
-- carries, of the address a code was mailed to and of the code. Transient: purged when
-- they expire, not migrated.
CREATE TABLE console_sessions (
    tenant_id    uuid NOT NULL REFERENCES tenants (tenant_id),
    id_hash      bytea NOT NULL,
    created_ms   bigint NOT NULL,
    last_seen_ms bigint NOT NULL,
    principal    text NOT NULL,
    PRIMARY KEY (tenant_id, id_hash)
);
CREATE INDEX console_sessions_by_last_seen ON console_sessions (last_seen_ms);

CREATE TABLE console_codes (
    tenant_id  uuid NOT NULL REFERENCES tenants (tenant_id),
    email_hash bytea NOT NULL,
    code_hash  bytea NOT NULL,
    expires_ms bigint NOT NULL,
    attempts   integer NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, email_hash)
);
