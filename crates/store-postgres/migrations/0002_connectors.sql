-- Version 2: connectors (tenantsync-connectors). A connector's definition is a document
-- (its secret sealed), few per store: a reference table under Citus, its name unique.
-- Each object it has exchanged with its external system has a link (the external id, a
-- digest and a copy of what was last sent, and a fault while its export is escrowed),
-- keyed by the connector's tenant first like every per-tenant table.
CREATE TABLE connectors (
    id         uuid PRIMARY KEY,
    name       text COLLATE "C" NOT NULL UNIQUE,
    tenant_id  uuid NOT NULL,
    created_ms bigint NOT NULL,
    body       text NOT NULL,
    state      text
);

CREATE TABLE connector_links (
    tenant_id    uuid NOT NULL REFERENCES tenants (tenant_id),
    connector_id uuid NOT NULL,
    object_id    uuid NOT NULL,
    kind         smallint NOT NULL,          -- 1 user, 2 group
    external_id  text COLLATE "C",
    digest       bytea,
    exported     text,
    fault        text,                       -- JSON {error, attempts} while escrowed
    retry_ms     bigint,
    PRIMARY KEY (tenant_id, connector_id, object_id)
);
CREATE UNIQUE INDEX connector_links_by_external_id ON connector_links (tenant_id, connector_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX connector_links_due ON connector_links (tenant_id, connector_id, retry_ms) WHERE retry_ms IS NOT NULL;
