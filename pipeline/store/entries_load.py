"""Loading a file's entries into the day-partitioned ``entries`` table (sql/0070).

A day (effective date) that has no partition yet gets a fresh table: its rows are COPYed in
(FREEZE: written frozen, never rewritten by hint bits or vacuum), its indexes are built by
sorting, and it is attached as the day's partition: the four indexes of a million entries
cost about 1 s of server CPU built so, against over 2 s as a million insertions each (and the
whole load about 3 s against 5). A day that already has a
partition (a second file for the same effective date, or rows some other writer left in
``entries_default``) is COPYed through the parent into the live indexes, which then refuse a
duplicate (trace number, effective date) row by row.

Everything runs in the caller's transaction: a failure anywhere (a duplicate key found at the
COPY or at the unique index build, a CHECK, an unknown batch) rolls back the new partitions
with the file row. One loader at a time: the first step takes the lock that ATTACH PARTITION
takes anyway (readers and row writers are not blocked by it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import date, timedelta

import polars as pl
import psycopg
from psycopg import sql

from pipeline.store.copy import copy_frames
from pipeline.store.errors import StoreIntegrityError

# Rows per chunk of a COPY: the client prepares (e.g. encrypts) one while the server inserts
# the one before.
CHUNK_ROWS = 100_000

# The parent's indexes and how a day's partition names its own: parent name + "_" + YYYYMMDD,
# so an error names the parent constraint with the day appended (errors.py strips the day).
_INDEXES: tuple[tuple[str, str], ...] = (
    ("entries_pkey", "ALTER TABLE {part} ADD CONSTRAINT {name} PRIMARY KEY (id, effective_date)"),
    (
        "entries_trace_effective_key",
        "ALTER TABLE {part} ADD CONSTRAINT {name} UNIQUE (trace_number, effective_date)",
    ),
    ("entries_reference_idx", "CREATE INDEX {name} ON {part} (reference)"),
    (
        "entries_file_brin",
        "CREATE INDEX {name} ON {part} USING brin (outbound_file_id) WITH (autosummarize = on)",
    ),
)

# Sorting a million keys in memory instead of in temporary files (this transaction only).
_INDEX_BUILD_MEMORY = "256MB"

# The range partitions of entries as (low, high) dates, MINVALUE/MAXVALUE as -/+infinity.
# The bounds are read back from pg_get_expr's text and cast in SQL, so the session's DateStyle
# prints and parses them alike.
_RANGES = (
    "SELECT CASE WHEN b.low = 'MINVALUE' THEN '-infinity'::date"
    "            ELSE btrim(b.low, '''')::date END AS low,"
    "       CASE WHEN b.high = 'MAXVALUE' THEN 'infinity'::date"
    "            ELSE btrim(b.high, '''')::date END AS high"
    " FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid,"
    " LATERAL (SELECT substring(pg_get_expr(c.relpartbound, c.oid) FROM 'FROM [(](.*)[)] TO')"
    "                 AS low,"
    "                 substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO [(](.*)[)]$')"
    "                 AS high) b"
    " WHERE i.inhparent = 'entries'::regclass AND b.low IS NOT NULL"
)


def days_with_rows_elsewhere(conn: psycopg.Connection, days: Sequence[date]) -> set[date]:
    """Those of ``days`` that a partition already covers, or that have rows in the default.

    Answered by position in ``days`` (ordinality), never by parsing dates printed as text.
    """
    found = conn.execute(
        "SELECT DISTINCT u.n FROM unnest(%s::date[]) WITH ORDINALITY AS u(day, n)"
        f" WHERE EXISTS (SELECT 1 FROM ({_RANGES}) r WHERE u.day >= r.low AND u.day < r.high)"
        "    OR EXISTS (SELECT 1 FROM entries_default d WHERE d.effective_date = u.day)",
        (list(days),),
    ).fetchall()
    return {days[n - 1] for (n,) in found}


def load_entries(
    conn: psycopg.Connection,
    rows: pl.DataFrame,
    *,
    columns: Sequence[str],
    prepare: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
) -> int:
    """Load ``rows`` (with ``effective_date``) into ``entries``; return the rows loaded.

    ``prepare`` turns each chunk into the COPY's ``columns`` (e.g. encrypts its accounts);
    it runs while the server inserts the chunk before. Must run inside a transaction.
    """
    if rows.height == 0:
        return 0
    _check_batches(conn, rows)
    kind = conn.execute("SELECT relkind FROM pg_class WHERE oid = 'entries'::regclass").fetchone()
    if kind is None or kind[0] != "p":  # a ledger not migrated to 0070 yet: one plain COPY
        return copy_frames(conn, "entries", _chunks(rows, prepare), columns=columns)
    conn.execute("LOCK TABLE ONLY entries IN SHARE UPDATE EXCLUSIVE MODE")
    days = rows.get_column("effective_date").unique().sort().to_list()
    taken = days_with_rows_elsewhere(conn, days)
    loaded = 0
    for (day,), group in rows.partition_by(
        "effective_date", as_dict=True, maintain_order=True
    ).items():
        chunks = _chunks(group, prepare)
        if day in taken:
            loaded += copy_frames(conn, "entries", chunks, columns=columns)
        else:
            loaded += _load_new_day(conn, day, chunks, columns)
    return loaded


def _chunks(
    rows: pl.DataFrame, prepare: Callable[[pl.DataFrame], pl.DataFrame] | None
) -> Iterator[pl.DataFrame]:
    for chunk in rows.iter_slices(CHUNK_ROWS):
        yield prepare(chunk) if prepare is not None else chunk


def _load_new_day(
    conn: psycopg.Connection, day: date, chunks: Iterator[pl.DataFrame], columns: Sequence[str]
) -> int:
    """COPY one day's rows into a fresh table, index it by sorting, attach it as the day's
    partition. The bound CHECK lets ATTACH skip scanning the rows; it is dropped after."""
    suffix = f"{day:%Y%m%d}"
    part = sql.Identifier(f"entries_{suffix}")
    check = sql.Identifier(f"entries_{suffix}_bound")
    low, high = sql.Literal(day), sql.Literal(day + timedelta(days=1))
    conn.execute(
        sql.SQL("CREATE TABLE {} (LIKE entries INCLUDING DEFAULTS INCLUDING CONSTRAINTS)").format(
            part
        )
    )
    conn.execute(
        sql.SQL(
            "ALTER TABLE {} ADD CONSTRAINT {} CHECK (effective_date >= {} AND effective_date < {})"
        ).format(part, check, low, high)
    )
    loaded = copy_frames(conn, f"entries_{suffix}", chunks, columns=columns, freeze=True)
    conn.execute(
        sql.SQL("SET LOCAL maintenance_work_mem = {}").format(sql.Literal(_INDEX_BUILD_MEMORY))
    )
    for parent, statement in _INDEXES:
        conn.execute(
            sql.SQL(statement).format(part=part, name=sql.Identifier(f"{parent}_{suffix}"))
        )
    conn.execute(
        sql.SQL("ALTER TABLE entries ATTACH PARTITION {} FOR VALUES FROM ({}) TO ({})").format(
            part, low, high
        )
    )
    conn.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(part, check))
    return loaded


def _check_batches(conn: psycopg.Connection, rows: pl.DataFrame) -> None:
    """Every (batch_id, outbound_file_id) pair names a batch of that file.

    The parent's statement trigger checks this for rows routed through it; rows COPYed into a
    new day's table and attached never pass it, so the loader checks the distinct pairs (a
    handful per file) here, in the same transaction, with the trigger's message.
    """
    pairs = rows.select("batch_id", "outbound_file_id").unique()
    bad = conn.execute(
        "SELECT p.batch_id, p.outbound_file_id"
        " FROM unnest(%s::bigint[], %s::bigint[]) AS p(batch_id, outbound_file_id)"
        " LEFT JOIN batches b ON b.id = p.batch_id"
        " WHERE b.id IS NULL OR b.outbound_file_id IS DISTINCT FROM p.outbound_file_id LIMIT 1",
        (pairs.get_column("batch_id").to_list(), pairs.get_column("outbound_file_id").to_list()),
    ).fetchone()
    if bad is not None:
        raise StoreIntegrityError(
            f"entries refer to batch {bad[0]} which is not a batch of outbound file {bad[1]}",
            constraint="entries_batch_file_check",
        )
