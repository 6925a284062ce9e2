-- The refresh step upserts every transfer the API reports (a million on a big night) into
-- `transfers`. Two of its indexes were never used by a query (the ledger reads transfers
-- whole, by cFiTransactionId, or by reference) and cost an index insert per row:
-- transfers_trace_idx (reconciliation matches traces in polars) and transfers_status_idx
-- (three or four distinct values; "open transfers" is a NOT IN that scans anyway).
DROP INDEX IF EXISTS transfers_trace_idx;
DROP INDEX IF EXISTS transfers_status_idx;
