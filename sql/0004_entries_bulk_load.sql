-- A night's entries arrive as one binary COPY of up to a million rows. Measured here, the
-- per-row work of 0001's design made that COPY several times slower than the bare table:
--   * secondary indexes: keep what lookups use — id, the (trace_number, effective_date) key,
--     outbound_file_id (a file's entries) and reference (the run's "already sent?" check);
--     drop the rest (returns/NOCs reach entries by id; the rate views scan the table).
--   * foreign keys: each row fires two RI trigger queries. They are replaced by one
--     statement-level check over the inserted/updated rows (a single join per COPY), which is
--     stricter too: the batch must belong to the same file.
-- Ledger rows are never deleted; deleting a file or batch that has entries is refused.
DROP INDEX IF EXISTS entries_batch_idx;
DROP INDEX IF EXISTS entries_transfer_idx;
DROP INDEX IF EXISTS entries_account_hash_idx;
DROP INDEX IF EXISTS entries_rates_idx;

ALTER TABLE entries DROP CONSTRAINT IF EXISTS entries_outbound_file_id_fkey;
ALTER TABLE entries DROP CONSTRAINT IF EXISTS entries_batch_id_fkey;

CREATE FUNCTION entries_check_references() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT n.trace_number, n.batch_id, n.outbound_file_id INTO bad
    FROM new_rows n
    LEFT JOIN batches b ON b.id = n.batch_id
    WHERE b.id IS NULL OR b.outbound_file_id IS DISTINCT FROM n.outbound_file_id
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'entry % refers to batch % which is not a batch of outbound file %',
            bad.trace_number, bad.batch_id, bad.outbound_file_id
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'entries_batch_file_check';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER entries_check_references_insert AFTER INSERT ON entries
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION entries_check_references();
CREATE TRIGGER entries_check_references_update AFTER UPDATE ON entries
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION entries_check_references();

CREATE FUNCTION refuse_delete_with_entries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM entries e
               WHERE (TG_TABLE_NAME = 'batches' AND e.batch_id = OLD.id)
                  OR (TG_TABLE_NAME = 'outbound_files' AND e.outbound_file_id = OLD.id)) THEN
        RAISE EXCEPTION '% % has entries; ledger rows are never deleted', TG_TABLE_NAME, OLD.id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN OLD;
END
$$;

CREATE TRIGGER batches_refuse_delete BEFORE DELETE ON batches
    FOR EACH ROW EXECUTE FUNCTION refuse_delete_with_entries();
CREATE TRIGGER outbound_files_refuse_delete BEFORE DELETE ON outbound_files
    FOR EACH ROW EXECUTE FUNCTION refuse_delete_with_entries();
