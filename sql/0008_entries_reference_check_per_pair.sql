-- 0004's statement-level check joined every inserted row with batches: on a million-row
-- COPY that is a million probes of batches' primary key (profiled with perf: the
-- check's query was about a tenth of the COPY's server CPU). Every row of one file carries
-- one of a few (batch_id, outbound_file_id) pairs, so the same rule is checked on the
-- distinct pairs: one hash aggregate over the transition table, then a join of a few rows.
-- Same error, same constraint name, same message (it still names an offending entry).
CREATE OR REPLACE FUNCTION entries_check_references() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
    trace text;
BEGIN
    SELECT p.batch_id, p.outbound_file_id INTO bad
    FROM (SELECT DISTINCT batch_id, outbound_file_id FROM new_rows) p
    LEFT JOIN batches b ON b.id = p.batch_id
    WHERE b.id IS NULL OR b.outbound_file_id IS DISTINCT FROM p.outbound_file_id
    LIMIT 1;
    IF FOUND THEN
        SELECT n.trace_number INTO trace
        FROM new_rows n
        WHERE n.batch_id IS NOT DISTINCT FROM bad.batch_id
          AND n.outbound_file_id IS NOT DISTINCT FROM bad.outbound_file_id
        LIMIT 1;
        RAISE EXCEPTION 'entry % refers to batch % which is not a batch of outbound file %',
            trace, bad.batch_id, bad.outbound_file_id
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'entries_batch_file_check';
    END IF;
    RETURN NULL;
END
$$;
