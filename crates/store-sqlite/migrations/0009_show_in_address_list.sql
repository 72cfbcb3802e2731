-- Schema version 9: Graph's showInAddressList on users (null: the directory's default;
-- cross-tenant copies get true from the default mappings, as in Entra).
ALTER TABLE users ADD COLUMN show_in_address_list INTEGER;
