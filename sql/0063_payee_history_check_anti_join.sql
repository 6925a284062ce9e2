-- The statement-level check of payee_history's payees (sql/0061) took the DISTINCT payee ids
-- of the new rows and LEFT JOINed payees: on a night that enrols a million payees that was
-- a sort of a million ids plus a join, a third of the enrolment's server time. The check only
-- needs the first history row whose payee is missing: an anti-join stops at it and probes
-- payees' primary key per row (or hashes, as the planner sees fit), about a sixth of the cost.
CREATE OR REPLACE FUNCTION payee_history_check_payee() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad bigint;
BEGIN
    SELECT n.payee_id INTO bad
    FROM new_rows n
    WHERE NOT EXISTS (SELECT FROM payees p WHERE p.id = n.payee_id)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'payee history refers to payee %, which does not exist', bad
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'payee_history_payee_check';
    END IF;
    RETURN NULL;
END
$$;
