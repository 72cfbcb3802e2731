-- tenantsync schema, version 13: documents of admin API resources without a domain
-- counterpart (a service principal of the cross-tenant sync template, holding what its
-- configuration needs until it has a target). Few per tenant.
CREATE TABLE admin_objects (
    tenant_id  BLOB NOT NULL REFERENCES tenants (id),
    kind       TEXT NOT NULL,
    id         BLOB NOT NULL,
    created_ms INTEGER NOT NULL,
    body       TEXT NOT NULL,              -- JSON, the API's own shape
    PRIMARY KEY (tenant_id, kind, id)
) WITHOUT ROWID;
