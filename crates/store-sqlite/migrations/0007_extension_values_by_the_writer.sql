-- tenantsync schema, version 7: user_extension_values is kept by the write path
-- (write.rs) instead of triggers. A table with triggers makes SQLite keep a statement
-- journal for every INSERT into it (each page the statement touches copied first), which
-- cost a hub of ten sync jobs about 40% of its speed even though most users have no
-- extension attributes; the write path touches the table only when a user has them.
DROP TRIGGER users_extensions_insert;
DROP TRIGGER users_extensions_update;
DROP TRIGGER users_extensions_delete;
