-- Measured on the 1,000,000-entry COPY (bench/ledger_bench.py; server CPU seconds, per
-- 300,000 rows, each variant COPYed into a fresh WAL-logged copy of the table):
--   * entries.id's sequence: nextval() per row took and released the sequence's buffer lock
--     and wrote WAL every 32 values: about 0.12 s more than the same table without the
--     default. A per-session CACHE of 1000 hands out ids from backend memory. Effects: ids of
--     one COPY stay increasing in row order; a session that ends leaves a gap of at most 999
--     unused ids; ids of two concurrent sessions interleave by block, not by commit time
--     (nothing orders entries across sessions by id: one runner at a time holds the lock).
--   * the digit checks of 0005 (char_length + translate) cost about 0.4 s; octet_length +
--     btrim express the same rule (btrim of the allowed characters leaves '' exactly when
--     every character is one of them; then octet length = character count) for about half.
ALTER SEQUENCE entries_id_seq CACHE 1000;

ALTER TABLE entries
    DROP CONSTRAINT IF EXISTS entries_trace_number_check,
    DROP CONSTRAINT IF EXISTS entries_rdfi_routing_check,
    DROP CONSTRAINT IF EXISTS entries_sec_code_check,
    ADD CONSTRAINT entries_trace_number_check
        CHECK (octet_length(trace_number) = 15 AND btrim(trace_number, '0123456789') = ''),
    ADD CONSTRAINT entries_rdfi_routing_check
        CHECK (octet_length(rdfi_routing) = 9 AND btrim(rdfi_routing, '0123456789') = ''),
    ADD CONSTRAINT entries_sec_code_check
        CHECK (octet_length(sec_code) = 3
               AND btrim(sec_code, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ') = '');
