-- tenantsync schema, version 16: the web console's sessions and one-time sign-in codes.
-- Only hashes are kept: of the secret a session's cookie carries, of the address a code
-- was mailed to and of the code. Transient: purged when they expire, not migrated.
CREATE TABLE console_sessions (
    tenant_id    BLOB NOT NULL REFERENCES tenants (id),
    id_hash      BLOB NOT NULL,
    created_ms   INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL,
    principal    TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id_hash)
) WITHOUT ROWID;
CREATE INDEX console_sessions_by_last_seen ON console_sessions (last_seen_ms);

CREATE TABLE console_codes (
    tenant_id  BLOB NOT NULL REFERENCES tenants (id),
    email_hash BLOB NOT NULL,
    code_hash  BLOB NOT NULL,
    expires_ms INTEGER NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, email_hash)
) WITHOUT ROWID;
