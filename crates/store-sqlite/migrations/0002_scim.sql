-- tenantsync schema, version 2: what the SCIM service provider needs.
-- * externalId on users and groups (set by provisioning clients; case-exact).
-- * Indexes for the attributes SCIM clients filter on (userName has users_upn already):
--   externalId, displayName (case-insensitive), so `filter=... eq "..."` is an index seek.
-- * API tokens: only a SHA-256 hash of each token's secret is stored.

ALTER TABLE users ADD COLUMN external_id TEXT;
ALTER TABLE groups ADD COLUMN external_id TEXT;

CREATE INDEX users_external_id ON users (tenant_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX users_display_name ON users (tenant_id, display_name COLLATE NOCASE) WHERE display_name IS NOT NULL;
CREATE INDEX groups_external_id ON groups (tenant_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX groups_display_name ON groups (tenant_id, display_name COLLATE NOCASE);

CREATE TABLE api_tokens (
    id          BLOB PRIMARY KEY NOT NULL,
    tenant_id   BLOB NOT NULL REFERENCES tenants (id),
    name        TEXT NOT NULL,
    secret_hash BLOB NOT NULL,             -- SHA-256 of the token's secret part
    created_ms  INTEGER NOT NULL,
    expires_ms  INTEGER,
    revoked_ms  INTEGER
) WITHOUT ROWID;
CREATE INDEX api_tokens_tenant ON api_tokens (tenant_id, created_ms);
