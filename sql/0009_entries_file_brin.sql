-- entries.outbound_file_id was a B-tree (0001's entries_file_idx): every row of a million-row
-- COPY descended it, for a key that is the same for the whole COPY. A file's entries are
-- loaded by one COPY, so they sit in consecutive heap pages: a BRIN index (one min/max summary
-- per 128 pages) finds them as well and costs almost nothing per row (measured: about a
-- quarter of a second of server CPU per 300,000 rows for the B-tree, within noise of the bare
-- table for BRIN). Lookups by file (linking processor ids, refusing deletes) stay indexed;
-- pages not yet summarised are always scanned, and autosummarize has autovacuum summarise a
-- range as soon as it fills.
DROP INDEX IF EXISTS entries_file_idx;
CREATE INDEX entries_file_brin ON entries USING brin (outbound_file_id)
    WITH (autosummarize = on);
