-- entries.trace_number is COLLATE "C" (sql/0010); entry_transfer_links.trace_number (sql/0060)
-- had the database's default collation. Joining the two (every reader of a processor id,
-- pipeline/store/reads.py, and the refresh step's "entries the API lacks") compared the
-- traces in "C", which the links' primary key (default collation) cannot serve: a nested
-- loop over the key then filtered every link of the file for every entry — minutes for
-- 300,000 entries when the tables had no statistics yet. In "C" the key answers the join.
ALTER TABLE entry_transfer_links ALTER COLUMN trace_number TYPE text COLLATE "C";
