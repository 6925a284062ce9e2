-- entries becomes a table partitioned by effective date: one partition per day, created and
-- indexed by the loader (pipeline/store/entries_load.py) in the transaction that records the
-- file. Why: on a million-entry COPY into one big table every row paid a B-tree insertion into
-- each index (id, the (trace, date) key, reference), each its own WAL record; measured here
-- (server CPU per 1M rows): bare COPY 1.2 s, + key 0.65 s, + id 0.5 s, + reference 1.05 s,
-- + statement check 0.3 s, + format checks 0.4 s — over 5 s of one backend, which no client
-- speed can hide. A day that has no partition yet is loaded into a fresh table (COPY FREEZE),
-- whose indexes are then built by sorting (about 0.1-0.4 s each) and which is attached as the
-- day's partition. A day that has one already (a second file for the same effective date) is
-- loaded through the parent into that partition's live indexes, as before.
--
-- What stays guaranteed by the database:
--   * one entry per (trace_number, effective_date): entries_trace_effective_key is a unique
--     constraint of the partitioned table (it contains the partition key, so each day's
--     partition enforces it for the whole table); a duplicate is refused at COPY or at the
--     unique index build, and the transaction with the file row rolls back.
--   * the CHECKs of entries (every partition must carry them to be attached), less two format
--     checks that other guarantees cover (see 3.).
--   * entries.id: unique by its sequence; the primary key is (id, effective_date) (a key of a
--     partitioned table must contain the partition key). Lookups by id use it.
--
-- What changes:
--   * Foreign keys cannot reference entries (id) any more (no unique constraint on id alone).
--     The six that did are replaced by one statement-level check per table over the distinct
--     new ids, with the same SQLSTATE and constraint names; ledger rows are never deleted, and
--     a DELETE on entries is now refused outright.
--   * Rows of a day that has no partition (written by hand, not by the loader) go to
--     entries_default; the loader puts a day found there through the parent too.
--   * Entries recorded before this migration stay in one partition, entries_legacy, for the
--     effective dates up to the latest one it holds.

-- 1. References to entries (id): checked per statement instead of per row.
ALTER TABLE returns DROP CONSTRAINT IF EXISTS returns_entry_id_fkey;
ALTER TABLE nocs DROP CONSTRAINT IF EXISTS nocs_entry_id_fkey;
ALTER TABLE noc_applications DROP CONSTRAINT IF EXISTS noc_applications_repeat_entry_id_fkey;
ALTER TABLE return_actions DROP CONSTRAINT IF EXISTS return_actions_entry_id_fkey;
ALTER TABLE reinitiations DROP CONSTRAINT IF EXISTS reinitiations_original_entry_id_fkey;
ALTER TABLE reinitiations DROP CONSTRAINT IF EXISTS reinitiations_entry_id_fkey;

-- TG_ARGV: the referencing columns of the table.
CREATE FUNCTION check_entry_references() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    col text;
    bad bigint;
BEGIN
    FOREACH col IN ARRAY TG_ARGV LOOP
        EXECUTE format(
            'SELECT n.id FROM (SELECT DISTINCT %1$I AS id FROM new_rows WHERE %1$I IS NOT NULL) n'
            ' WHERE NOT EXISTS (SELECT 1 FROM entries e WHERE e.id = n.id) LIMIT 1', col)
            INTO bad;
        IF bad IS NOT NULL THEN
            RAISE EXCEPTION 'insert or update on table "%" violates foreign key constraint "%"',
                TG_TABLE_NAME, format('%s_%s_fkey', TG_TABLE_NAME, col)
                USING ERRCODE = 'foreign_key_violation',
                      CONSTRAINT = format('%s_%s_fkey', TG_TABLE_NAME, col),
                      DETAIL = format('Key (%s)=(%s) is not present in table "entries".', col, bad);
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;

CREATE TRIGGER returns_check_entry_insert AFTER INSERT ON returns
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION check_entry_references('entry_id');
CREATE TRIGGER returns_check_entry_update AFTER UPDATE ON returns
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION check_entry_references('entry_id');
CREATE TRIGGER nocs_check_entry_insert AFTER INSERT ON nocs
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION check_entry_references('entry_id');
CREATE TRIGGER nocs_check_entry_update AFTER UPDATE ON nocs
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION check_entry_references('entry_id');
CREATE TRIGGER noc_applications_check_entry_insert AFTER INSERT ON noc_applications
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION check_entry_references('repeat_entry_id');
CREATE TRIGGER noc_applications_check_entry_update AFTER UPDATE ON noc_applications
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION check_entry_references('repeat_entry_id');
CREATE TRIGGER return_actions_check_entry_insert AFTER INSERT ON return_actions
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION check_entry_references('entry_id');
CREATE TRIGGER return_actions_check_entry_update AFTER UPDATE ON return_actions
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION check_entry_references('entry_id');
CREATE TRIGGER reinitiations_check_entry_insert AFTER INSERT ON reinitiations
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION check_entry_references('original_entry_id', 'entry_id');
CREATE TRIGGER reinitiations_check_entry_update AFTER UPDATE ON reinitiations
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION check_entry_references('original_entry_id', 'entry_id');

-- 2. The old table, renamed; its indexes take the names the partitions' indexes have
--    (parent constraint name + '_' + partition suffix: errors name the parent's constraint).
DROP TRIGGER entries_check_references_insert ON entries;
DROP TRIGGER entries_check_references_update ON entries;
ALTER TABLE entries RENAME TO entries_legacy;
ALTER INDEX entries_pkey RENAME TO entries_legacy_id_key;
ALTER INDEX entries_trace_effective_key RENAME TO entries_trace_effective_key_legacy;
ALTER INDEX entries_reference_idx RENAME TO entries_reference_idx_legacy;
ALTER INDEX entries_file_brin RENAME TO entries_file_brin_legacy;

-- 3. The partitioned table: same columns, defaults (the id sequence), CHECKs and collations.
CREATE TABLE entries (LIKE entries_legacy INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
    PARTITION BY RANGE (effective_date);
ALTER SEQUENCE entries_id_seq OWNED BY entries.id;
-- Two format CHECKs go (about 0.25 s of the 1M-row COPY's server CPU, each evaluated per row):
-- entries.sec_code is the batch's, which batches' own CHECK already holds to [A-Z]{3}; the
-- RDFI routing number is validated before a file is built (nine digits and the check digit,
-- which this CHECK never tested). The CHECKs that stay: the trace number's format (the unique
-- key), amount >= 0 and the transaction code's range (money), the account hash's length and
-- account_last4 <= 4 characters (no more of an account number is ever stored in clear).
ALTER TABLE entries
    DROP CONSTRAINT entries_sec_code_check,
    DROP CONSTRAINT entries_rdfi_routing_check;
ALTER TABLE entries
    ADD CONSTRAINT entries_pkey PRIMARY KEY (id, effective_date),
    ADD CONSTRAINT entries_trace_effective_key UNIQUE (trace_number, effective_date);
CREATE INDEX entries_reference_idx ON entries (reference);
CREATE INDEX entries_file_brin ON entries USING brin (outbound_file_id) WITH (autosummarize = on);

-- Statement-level checks on the parent see the rows routed to every partition.
CREATE TRIGGER entries_check_references_insert AFTER INSERT ON entries
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION entries_check_references();
CREATE TRIGGER entries_check_references_update AFTER UPDATE ON entries
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION entries_check_references();

CREATE FUNCTION refuse_delete_entries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'entries are ledger rows and are never deleted'
        USING ERRCODE = 'foreign_key_violation';
END
$$;
CREATE TRIGGER entries_refuse_delete BEFORE DELETE ON entries
    FOR EACH ROW EXECUTE FUNCTION refuse_delete_entries();

-- 4. The views that read entries followed the old table's rename: the same definitions
--    (0003), now over the partitioned table.
CREATE OR REPLACE VIEW rate_counted_returns AS
SELECT r.id AS return_id,
       r.entry_id,
       e.company_id,
       e.sec_code,
       r.return_code,
       coalesce(c.rate_category, 'other') AS rate_category,
       coalesce(r.settlement_date, r.received_date) AS return_day
FROM returns r
JOIN entries e ON e.id = r.entry_id
LEFT JOIN return_reason_codes c ON c.code = r.return_code
WHERE coalesce(c.kind, 'return') = 'return'
  AND e.transaction_code IN (SELECT transaction_code FROM rate_debit_transaction_codes)
  AND NOT EXISTS (
        SELECT 1
        FROM returns d
        JOIN return_reason_codes dc ON dc.code = d.return_code AND dc.kind = 'dishonor'
        WHERE d.entry_id = r.entry_id
          AND NOT EXISTS (
                SELECT 1
                FROM returns x
                JOIN return_reason_codes xc ON xc.code = x.return_code AND xc.kind = 'contested'
                WHERE x.entry_id = r.entry_id));

CREATE OR REPLACE VIEW rate_daily_activity AS
WITH debit_days AS (
    SELECT e.company_id, e.sec_code,
           coalesce(e.settlement_date, e.effective_date) AS day,
           count(*) AS debits,
           count(*) FILTER (WHERE e.sec_code <> 'RCK') AS debits_ex_rck
    FROM entries e
    WHERE e.transaction_code IN (SELECT transaction_code FROM rate_debit_transaction_codes)
    GROUP BY 1, 2, 3
), return_days AS (
    SELECT company_id, sec_code, return_day AS day,
           count(*) FILTER (WHERE rate_category = 'unauthorized') AS unauthorized_returns,
           count(*) FILTER (WHERE rate_category = 'administrative') AS administrative_returns,
           count(*) FILTER (WHERE sec_code <> 'RCK') AS overall_returns
    FROM rate_counted_returns
    GROUP BY 1, 2, 3
), by_sec AS (
    SELECT coalesce(d.company_id, r.company_id) AS company_id,
           coalesce(d.sec_code, r.sec_code) AS sec_code,
           coalesce(d.day, r.day) AS day,
           coalesce(d.debits, 0) AS debits,
           coalesce(d.debits_ex_rck, 0) AS debits_ex_rck,
           coalesce(r.unauthorized_returns, 0) AS unauthorized_returns,
           coalesce(r.administrative_returns, 0) AS administrative_returns,
           coalesce(r.overall_returns, 0) AS overall_returns
    FROM debit_days d
    FULL JOIN return_days r
      ON r.company_id = d.company_id AND r.sec_code = d.sec_code AND r.day = d.day
)
SELECT company_id, sec_code, day, debits, debits_ex_rck,
       unauthorized_returns, administrative_returns, overall_returns
FROM by_sec
UNION ALL
SELECT company_id, NULL, day, sum(debits), sum(debits_ex_rck),
       sum(unauthorized_returns), sum(administrative_returns), sum(overall_returns)
FROM by_sec
GROUP BY company_id, day;

-- 5. The old rows: one partition up to their latest effective date (none: the table goes).
DO $$
DECLARE
    upper_day date;
BEGIN
    SELECT max(effective_date) + 1 INTO upper_day FROM entries_legacy;
    IF upper_day IS NULL THEN
        DROP TABLE entries_legacy;
    ELSE
        -- its key on id alone gives way to the parent's (id, effective_date), built here
        ALTER TABLE entries_legacy DROP CONSTRAINT entries_legacy_id_key;
        EXECUTE format('ALTER TABLE entries ATTACH PARTITION entries_legacy'
                       ' FOR VALUES FROM (MINVALUE) TO (%L)', upper_day);
        ALTER INDEX entries_legacy_pkey RENAME TO entries_pkey_legacy;
    END IF;
END
$$;

-- 6. Rows of days without a partition.
CREATE TABLE entries_default (LIKE entries INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE entries_default
    ADD CONSTRAINT entries_pkey_default PRIMARY KEY (id, effective_date),
    ADD CONSTRAINT entries_trace_effective_key_default UNIQUE (trace_number, effective_date);
CREATE INDEX entries_reference_idx_default ON entries_default (reference);
CREATE INDEX entries_file_brin_default ON entries_default USING brin (outbound_file_id)
    WITH (autosummarize = on);
ALTER TABLE entries ATTACH PARTITION entries_default DEFAULT;
