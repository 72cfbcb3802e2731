-- tenantsync schema, version 15: connectors (tenantsync-connectors). A connector's
-- definition is a document (its secret sealed); each object it has exchanged with its
-- external system has a link (the external id, a digest and a copy of what was last
-- sent, and a fault while its export is escrowed); its state is a document it owns.
CREATE TABLE connectors (
    id         BLOB PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    tenant_id  BLOB NOT NULL REFERENCES tenants (id),
    created_ms INTEGER NOT NULL,
    body       TEXT NOT NULL,
    state      TEXT
) WITHOUT ROWID;

CREATE TABLE connector_links (
    connector_id BLOB NOT NULL REFERENCES connectors (id) ON DELETE CASCADE,
    object_id    BLOB NOT NULL,
    kind         INTEGER NOT NULL,         -- 1 user, 2 group
    external_id  TEXT,
    digest       BLOB,
    exported     TEXT,
    fault        TEXT,                     -- JSON {error, attempts} while escrowed
    retry_ms     INTEGER,
    PRIMARY KEY (connector_id, object_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX connector_links_by_external_id ON connector_links (connector_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX connector_links_due ON connector_links (connector_id, retry_ms) WHERE retry_ms IS NOT NULL;
