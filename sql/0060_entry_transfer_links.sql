-- The processor's id (cFiTransactionId) of each entry we sent, as the bank's acknowledgment
-- lists it. It used to be written into entries.transfer_id by one UPDATE per acknowledgment:
-- on a million-entry file that rewrote every entry row (a new row version, an insert into
-- each of entries' indexes, WAL for all of it) and took about a minute. The links are now
-- appended here by one COPY (the key grows in trace order, so its index is appended to);
-- readers take coalesce(link, entries.transfer_id) (pipeline/store/reads.py), so ids recorded
-- with the entry, or linked before this migration, still count.
CREATE TABLE entry_transfer_links (
    outbound_file_id bigint NOT NULL,
    trace_number     text   NOT NULL,
    transfer_id      text   NOT NULL,
    CONSTRAINT entry_transfer_links_pkey PRIMARY KEY (outbound_file_id, trace_number)
);

-- A link names a file we recorded. Checked once per statement on the distinct files of the
-- new rows (a per-row foreign key would run a million lookups per acknowledgment).
CREATE FUNCTION entry_transfer_links_check_file() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad bigint;
BEGIN
    SELECT n.outbound_file_id INTO bad
    FROM (SELECT DISTINCT outbound_file_id FROM new_rows) n
    LEFT JOIN outbound_files f ON f.id = n.outbound_file_id
    WHERE f.id IS NULL
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'processor id linked to outbound file %, which is not recorded', bad
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'entry_transfer_links_file_check';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER entry_transfer_links_check_insert AFTER INSERT ON entry_transfer_links
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION entry_transfer_links_check_file();
CREATE TRIGGER entry_transfer_links_check_update AFTER UPDATE ON entry_transfer_links
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION entry_transfer_links_check_file();
