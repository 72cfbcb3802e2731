-- tenantsync schema, version 6: directory extension attributes become searchable.
-- Users keep their extension attributes as one JSON object (users.extensions); this table
-- holds each (name, value) pair once more, one row per value of a multi-valued
-- attribute, so a filter on an extension attribute is an index seek (name, value) and
-- never a walk over the tenant's JSON. Triggers keep it in step with users.extensions
-- inside the writing transaction, whatever writes (SCIM, CLI, import, sync).
-- Values compare case-insensitively (NOCASE, ASCII folding), like SCIM's default.
CREATE TABLE user_extension_values (
    tenant_id BLOB NOT NULL,
    name      TEXT NOT NULL,
    value     TEXT NOT NULL COLLATE NOCASE,
    user_id   BLOB NOT NULL,
    PRIMARY KEY (tenant_id, name, value, user_id)
) WITHOUT ROWID;
CREATE INDEX user_extension_values_user ON user_extension_values (tenant_id, user_id);

CREATE TRIGGER users_extensions_insert AFTER INSERT ON users WHEN NEW.extensions IS NOT NULL
BEGIN
    INSERT OR IGNORE INTO user_extension_values (tenant_id, name, value, user_id)
        SELECT NEW.tenant_id, e.key, e.value, NEW.id FROM json_each(NEW.extensions) e WHERE e.type = 'text'
        UNION ALL
        SELECT NEW.tenant_id, e.key, v.value, NEW.id FROM json_each(NEW.extensions) e, json_each(e.value) v
            WHERE e.type = 'array' AND v.type = 'text';
END;

CREATE TRIGGER users_extensions_update AFTER UPDATE OF extensions ON users WHEN OLD.extensions IS NOT NEW.extensions
BEGIN
    DELETE FROM user_extension_values WHERE tenant_id = OLD.tenant_id AND user_id = OLD.id;
    INSERT OR IGNORE INTO user_extension_values (tenant_id, name, value, user_id)
        SELECT NEW.tenant_id, e.key, e.value, NEW.id FROM json_each(NEW.extensions) e WHERE e.type = 'text'
        UNION ALL
        SELECT NEW.tenant_id, e.key, v.value, NEW.id FROM json_each(NEW.extensions) e, json_each(e.value) v
            WHERE e.type = 'array' AND v.type = 'text';
END;

CREATE TRIGGER users_extensions_delete AFTER DELETE ON users WHEN OLD.extensions IS NOT NULL
BEGIN
    DELETE FROM user_extension_values WHERE tenant_id = OLD.tenant_id AND user_id = OLD.id;
END;

-- Users written before this version.
INSERT OR IGNORE INTO user_extension_values (tenant_id, name, value, user_id)
    SELECT u.tenant_id, e.key, e.value, u.id FROM users u, json_each(u.extensions) e WHERE u.extensions IS NOT NULL AND e.type = 'text'
    UNION ALL
    SELECT u.tenant_id, e.key, v.value, u.id FROM users u, json_each(u.extensions) e, json_each(e.value) v
        WHERE u.extensions IS NOT NULL AND e.type = 'array' AND v.type = 'text';
