-- Enrolling a million payees (pipeline/actions/payee_sync.py, two COPYs) spends its server
-- time per row: the heap, the B-tree entries, and the CHECKs. Two of payees' checks were
-- regular expressions (a regex match per row and column), and the payee_ref key compared
-- text under the database collation (strcoll per B-tree comparison). As sql/0010 did for the
-- entries:
--   * routing_number: nine ASCII digits, checked over the bytes (textsend) — octet length 9
--     and nothing left after trimming the digits — instead of '^[0-9]{9}$'. Same rule.
--   * account_last4: at most four characters; octet_length <= 4 implies it and is tried
--     first, so ASCII values (all of them in NACHA) never reach char_length. Same rule.
--   * payee_ref compares bytewise (COLLATE "C"): equality is the same for every
--     deterministic collation, so uniqueness and every lookup are unchanged; comparing it
--     with a default-collation column or parameter takes "C" (a non-default implicit
--     collation wins). Ordering by payee_ref is byte order (code-point order, what C.UTF-8
--     gave). The table is not rewritten; its key is rebuilt.
ALTER TABLE payees ALTER COLUMN payee_ref TYPE text COLLATE "C";

ALTER TABLE payees
    DROP CONSTRAINT IF EXISTS payees_routing_number_check,
    DROP CONSTRAINT IF EXISTS payees_account_last4_check,
    ADD CONSTRAINT payees_routing_number_check
        CHECK (octet_length(routing_number) = 9
               AND btrim(textsend(routing_number), '0123456789'::bytea) = ''::bytea),
    ADD CONSTRAINT payees_account_last4_check
        CHECK (octet_length(account_last4) <= 4 OR char_length(account_last4) <= 4);
