-- A night with a million new payees enrols them in one INSERT … SELECT (pipeline/actions/
-- payee_sync.py enrol_frame). Measured there, most of its server time was per-row work that
-- no lookup needs:
--   * payees_account_hash_idx: the only query by account hash looks for BLOCKED payees
--     (pipeline/actions/screen_context.py); new payees are active, so a partial index serves
--     that query and costs an enrolment nothing (the random 32-byte keys made every insert
--     land on a different leaf page).
--   * payees_identification_idx: payees are found by identification number only when it is
--     not their payee_ref (a C09-corrected identification, or payee_key = reference_prefix);
--     the queries say so (identification_number <> payee_ref), and the index holds just those.
--   * payee_history's foreign key ran one lookup (and took a row lock) per history row; one
--     statement-level check over the new rows replaces it, as 0004 did for entries. Deleting a
--     payee still deletes its history (the key's ON DELETE CASCADE).
DROP INDEX IF EXISTS payees_account_hash_idx;
CREATE INDEX payees_blocked_account_hash_idx ON payees (account_hash) WHERE status = 'blocked';

DROP INDEX IF EXISTS payees_identification_idx;
CREATE INDEX payees_identification_idx ON payees (identification_number)
    WHERE identification_number <> payee_ref;

ALTER TABLE payee_history DROP CONSTRAINT IF EXISTS payee_history_payee_id_fkey;

CREATE FUNCTION payee_history_check_payee() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad bigint;
BEGIN
    SELECT n.payee_id INTO bad
    FROM (SELECT DISTINCT payee_id FROM new_rows) n
    LEFT JOIN payees p ON p.id = n.payee_id
    WHERE p.id IS NULL
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'payee history refers to payee %, which does not exist', bad
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'payee_history_payee_check';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER payee_history_check_insert AFTER INSERT ON payee_history
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION payee_history_check_payee();
CREATE TRIGGER payee_history_check_update AFTER UPDATE ON payee_history
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION payee_history_check_payee();

CREATE FUNCTION payees_delete_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM payee_history h USING old_rows o WHERE h.payee_id = o.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER payees_delete_history AFTER DELETE ON payees
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION payees_delete_history();
