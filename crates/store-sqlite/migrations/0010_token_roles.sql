-- Schema version 10: what each API token may do — `admin` (the admin API and SCIM),
-- `reader` (reads only) or `scim` (SCIM only). Tokens made before were SCIM tokens.
ALTER TABLE api_tokens ADD COLUMN role TEXT NOT NULL DEFAULT 'scim' CHECK (role IN ('admin', 'reader', 'scim'));
