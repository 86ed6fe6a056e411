-- Manual search (R7) matches any part of a name or of a number, which
-- plain B-tree indexes cannot serve: with a million customers it would
-- scan. Trigram indexes can. pg_trgm ships with PostgreSQL, but creating
-- an extension needs a privileged role; where the gateway's role may not,
-- search still works, only by scanning, and an administrator can run
-- CREATE EXTENSION pg_trgm and migrate again.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'pg_trgm could not be created: manual search will scan';
END $$;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        CREATE INDEX IF NOT EXISTS contacts_name_trgm ON contacts USING gin (lower(full_name) gin_trgm_ops);
        CREATE INDEX IF NOT EXISTS contact_phones_national_trgm ON contact_phones USING gin (national gin_trgm_ops);
    END IF;
END $$;
