-- A big new day of entries is loaded in parts, by several backends at once
-- (pipeline/store/entries_load.py): one backend does about 2 s of server work per million
-- entries, and only more backends use more cores. The parts are trace-number ranges, so the
-- day's partition becomes itself partitioned by trace_number, and a unique constraint of a
-- partitioned table must contain every partition key column of the tables below it: the
-- primary key (id, effective_date) of 0070 becomes (id, effective_date, trace_number).
--
-- What stays guaranteed by the database:
--   * one entry per (trace_number, effective_date): unchanged (it already holds both keys).
--   * entries.id: unique by its sequence (the loader reserves a block of it for a load in
--     parts, under a lock every nextval waits for); the key was never more than that (0070).
--     A lookup by id uses the key's leading column as before.
-- Days loaded the old way stay plain partitions; their key indexes are rebuilt here with the
-- new column, under this migration's lock, and keep the names errors rely on
-- (<parent constraint>_<partition suffix>).

ALTER TABLE entries DROP CONSTRAINT entries_pkey;
ALTER TABLE entries ADD CONSTRAINT entries_pkey PRIMARY KEY (id, effective_date, trace_number);

DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT x.indexrelid::regclass AS idx, c.relname AS part
        FROM pg_inherits i
        JOIN pg_index x ON x.indexrelid = i.inhrelid
        JOIN pg_class c ON c.oid = x.indrelid
        WHERE i.inhparent = 'entries_pkey'::regclass
    LOOP
        EXECUTE format('ALTER INDEX %s RENAME TO %I', r.idx,
                       'entries_pkey_' || substr(r.part, length('entries_') + 1));
    END LOOP;
END
$$;
