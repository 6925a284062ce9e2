-- Measured per 300,000-row binary COPY into a WAL-logged twin of entries (server CPU,
-- perf + per-variant COPYs; bench/ledger_bench.py prints the 1M-row figures):
--   * text keys: every B-tree insertion into the (trace_number, effective_date) key and the
--     reference index compares text under the database collation (strcoll + the bookkeeping
--     around it: ~10 % of the COPY's server CPU under C.UTF-8, more under ICU or en_US).
--     Both columns now compare bytewise (COLLATE "C"): about 0.11 s less. Equality is the same
--     for every deterministic collation, so uniqueness and every lookup are unchanged;
--     comparing with a default-collation column or parameter takes "C" (a non-default
--     implicit collation wins), so no query needs an explicit COLLATE. Ordering by these
--     columns is byte order (= code-point order, what C.UTF-8 gave); the digit-only traces
--     sort as before under any locale, and `trace_number LIKE 'prefix%'` can now use the key.
--     The table is not rewritten; the two indexes are rebuilt.
--   * digit checks: 0007's btrim(text, set) walks the string character by character in a
--     multibyte encoding, one memcmp per (character, set member): ~0.26 s. btrim over the
--     bytes (textsend) expresses the same rule — octet length = wanted length and every byte
--     one of the allowed ASCII bytes, hence as many characters as bytes, all allowed — for
--     ~0.06 s. Same constraint names, same rule, still enforced by the database.
--   * account_last4: char_length walks the string; octet_length <= 4 implies it and is
--     tried first, so ASCII values (all of them in NACHA) never reach char_length.
ALTER TABLE entries
    ALTER COLUMN trace_number TYPE text COLLATE "C",
    ALTER COLUMN reference TYPE text COLLATE "C";

ALTER TABLE entries
    DROP CONSTRAINT IF EXISTS entries_trace_number_check,
    DROP CONSTRAINT IF EXISTS entries_rdfi_routing_check,
    DROP CONSTRAINT IF EXISTS entries_sec_code_check,
    DROP CONSTRAINT IF EXISTS entries_account_last4_check,
    ADD CONSTRAINT entries_trace_number_check
        CHECK (octet_length(trace_number) = 15
               AND btrim(textsend(trace_number), '0123456789'::bytea) = ''::bytea),
    ADD CONSTRAINT entries_rdfi_routing_check
        CHECK (octet_length(rdfi_routing) = 9
               AND btrim(textsend(rdfi_routing), '0123456789'::bytea) = ''::bytea),
    ADD CONSTRAINT entries_sec_code_check
        CHECK (octet_length(sec_code) = 3
               AND btrim(textsend(sec_code), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'::bytea) = ''::bytea),
    ADD CONSTRAINT entries_account_last4_check
        CHECK (octet_length(account_last4) <= 4 OR char_length(account_last4) <= 4);
