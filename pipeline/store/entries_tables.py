"""A fresh table made a partition of ``entries`` (sql/0070-0072): the steps every new-table
path of :mod:`pipeline.store.entries_load` takes, on the caller's connection or a side one.

The table is created like entries and bounded by a CHECK on its day (and trace range), so
that ATTACH proves its rows fit instead of scanning them. Its rows are COPYed in with FREEZE
(written frozen, never rewritten by hint bits or vacuum); the columns with one value in every
row are filled in by DEFAULTs instead of sent. The parent's indexes, as the catalog spells
them, are built by sorting under the parent's names plus a suffix (errors.py strips it): the
four indexes of a million entries cost about 1 s of server CPU built so, against over 2 s as a
million insertions each. Then the table is attached and the CHECK dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl
import psycopg
from psycopg import sql

from pipeline.store.copy import copy_frames

# Rows per chunk of a COPY: the client prepares (e.g. encrypts) one while the server inserts
# the one before.
CHUNK_ROWS = 100_000


# Columns that hold one value per batch, file or day, so that a whole load often has the same
# value in every row (always so for effective_date within a day and outbound_file_id within a
# file). Such a column is not sent: the fresh table gets the value as the column's DEFAULT
# for the COPY, which fills it in on the server (the same value, the same CHECKs), then the
# DEFAULT is dropped. Per million entries that is ~40 bytes a row less to encode, send and
# receive: about 17 % of the COPY stream and 9 % of the server's COPY CPU when all four are
# constant. Only these few are tested: comparing every column of a million rows costs more.
_CONSTANT_CANDIDATES = ("effective_date", "outbound_file_id", "company_id", "sec_code")


# The parent's indexes and constraints (the catalog says which: sql/0072 made the natural key
# the primary key) are built on each new table under the parent's name + "_" + YYYYMMDD (+ "_"
# + n for the parts of a day loaded in parallel), so an error names the parent constraint
# with a suffix appended (errors.py strips it). Each comes as (parent name, definition): a
# constraint's as pg_get_constraintdef prints it, an index's as pg_get_indexdef prints it
# after "USING" (its method, columns and storage parameters).
_PARENT_INDEXES = (
    "SELECT i.relname, c.contype IS NOT NULL,"
    "       coalesce(pg_get_constraintdef(c.oid),"
    "                substring(pg_get_indexdef(x.indexrelid) FROM ' USING (.*)$')),"
    "       x.indisunique,"
    "       EXISTS (SELECT 1 FROM unnest(x.indkey) k JOIN pg_attribute a"
    "               ON a.attrelid = x.indrelid AND a.attnum = k AND a.attname = 'trace_number')"
    " FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
    " LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid"
    " WHERE x.indrelid = 'entries'::regclass ORDER BY i.relname"
)


@dataclass(frozen=True)
class ParentIndex:
    """One index of ``entries`` that every new partition must carry (to attach to it)."""

    name: str
    is_constraint: bool  # a primary key or unique constraint, else a plain index
    definition: str  # "PRIMARY KEY (…)" / "UNIQUE (…)", or "btree (reference)"
    unique: bool
    has_trace: bool  # trace_number is a key column

    def statement(self, table: str, suffix: str) -> sql.Composed:
        name = sql.Identifier(f"{self.name}_{suffix}")
        if self.is_constraint:
            return sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                sql.Identifier(table), name, sql.SQL(self.definition)
            )
        return sql.SQL("CREATE INDEX {} ON {} USING {}").format(
            name, sql.Identifier(table), sql.SQL(self.definition)
        )


def parent_indexes(conn: psycopg.Connection) -> list[ParentIndex]:
    """The indexes of ``entries``, read from the catalog (definitions in Postgres' own
    spelling)."""
    return [ParentIndex(*row) for row in conn.execute(_PARENT_INDEXES).fetchall()]


# Sorting a million keys in memory instead of in temporary files (this transaction only).
_INDEX_BUILD_MEMORY = "256MB"


Prepare = Callable[[pl.DataFrame], pl.DataFrame]


Bounds = tuple[str | None, str | None]


def chunked(rows: pl.DataFrame, prepare: Prepare | None) -> Iterator[pl.DataFrame]:
    for chunk in rows.iter_slices(CHUNK_ROWS):
        yield prepare(chunk) if prepare is not None else chunk


def create_like_entries(conn: psycopg.Connection, table: str, partition_by: str = "") -> None:
    conn.execute(
        sql.SQL("CREATE TABLE {} (LIKE entries INCLUDING DEFAULTS INCLUDING CONSTRAINTS){}").format(
            sql.Identifier(table), sql.SQL(partition_by)
        )
    )


def constant_columns(rows: pl.DataFrame, columns: Sequence[str]) -> dict[str, object]:
    """Those of :data:`_CONSTANT_CANDIDATES` among ``columns`` that hold one non-null value
    in every row of ``rows``, with that value."""
    found: dict[str, object] = {}
    if rows.height == 0:
        return found
    for name in _CONSTANT_CANDIDATES:
        if name not in columns or name not in rows.columns:
            continue
        column = rows.get_column(name)
        first = column[0]
        if first is not None and column.null_count() == 0 and bool((column == first).all()):
            found[name] = first
    return found


def _alter_columns(conn: psycopg.Connection, table: str, clauses: list[sql.Composable]) -> None:
    """One ALTER TABLE of ``table`` with these ALTER COLUMN clauses (none: nothing to do)."""
    if clauses:
        conn.execute(
            sql.SQL("ALTER TABLE {} {}").format(sql.Identifier(table), sql.SQL(", ").join(clauses))
        )


def add_bound(
    conn: psycopg.Connection, table: str, day: date, bounds: Bounds = (None, None)
) -> str:
    """A CHECK that ``table`` holds only ``day`` (and traces in [low, high)): ATTACH then
    proves from it that the rows fit instead of scanning them. Returns its name."""
    low, high = bounds
    terms = [
        sql.SQL("effective_date >= {} AND effective_date < {}").format(
            sql.Literal(day), sql.Literal(day + timedelta(days=1))
        )
    ]
    if low is not None:
        terms.append(sql.SQL("trace_number >= {}").format(sql.Literal(low)))
    if high is not None:
        terms.append(sql.SQL("trace_number < {}").format(sql.Literal(high)))
    name = f"{table}_bound"
    conn.execute(
        sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} CHECK ({})").format(
            sql.Identifier(table), sql.Identifier(name), sql.SQL(" AND ").join(terms)
        )
    )
    return name


def drop_constraint(conn: psycopg.Connection, table: str, name: str) -> None:
    conn.execute(
        sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
            sql.Identifier(table), sql.Identifier(name)
        )
    )


def build_indexes(
    conn: psycopg.Connection, table: str, suffix: str, indexes: Sequence[ParentIndex]
) -> None:
    """The parent's indexes on ``table`` (built by sorting), named parent + "_" + suffix."""
    conn.execute(
        sql.SQL("SET LOCAL maintenance_work_mem = {}").format(sql.Literal(_INDEX_BUILD_MEMORY))
    )
    for index in indexes:
        conn.execute(index.statement(table, suffix))


def attach(conn: psycopg.Connection, parent: str, part: str, low: object, high: object) -> None:
    """ATTACH ``part`` to ``parent`` for [low, high); None stands for MINVALUE/MAXVALUE."""
    conn.execute(
        sql.SQL("ALTER TABLE {} ATTACH PARTITION {} FOR VALUES FROM ({}) TO ({})").format(
            sql.Identifier(parent),
            sql.Identifier(part),
            sql.SQL("MINVALUE") if low is None else sql.Literal(low),
            sql.SQL("MAXVALUE") if high is None else sql.Literal(high),
        )
    )


def fill_fresh_table(
    conn: psycopg.Connection,
    table: str,
    suffix: str,
    day: date,
    bounds: Bounds,
    chunks: Iterator[pl.DataFrame],
    columns: Sequence[str],
    indexes: Sequence[ParentIndex],
    constants: dict[str, object],
) -> tuple[int, str]:
    """The steps every new table of entries takes before its ATTACH: create ``table`` like
    entries, bound it by a CHECK to ``day`` (and the trace range ``bounds``), COPY FREEZE
    ``chunks`` into it (``constants`` filled in by DEFAULTs, :func:`copy_fresh`) and build the
    parent's indexes by sorting, named parent + "_" + ``suffix``. Returns the rows loaded and
    the bound CHECK's name, to drop after the last ATTACH it spares a scan."""
    create_like_entries(conn, table)
    check = add_bound(conn, table, day, bounds)
    loaded = copy_fresh(conn, table, chunks, columns, constants)
    build_indexes(conn, table, suffix, indexes)
    return loaded, check


def load_new_day(
    conn: psycopg.Connection,
    day: date,
    rows: pl.DataFrame,
    prepare: Prepare | None,
    columns: Sequence[str],
    indexes: Sequence[ParentIndex],
) -> int:
    """Load one day's rows into a fresh table (:func:`fill_fresh_table`, indexes suffixed
    YYYYMMDD) and attach it as the day's partition; its bound CHECK is dropped after."""
    suffix = f"{day:%Y%m%d}"
    table = f"entries_{suffix}"
    loaded, check = fill_fresh_table(
        conn, table, suffix, day, (None, None), chunked(rows, prepare), columns, indexes,
        constant_columns(rows, columns),
    )  # fmt: skip
    attach(conn, "entries", table, day, day + timedelta(days=1))
    drop_constraint(conn, table, check)
    return loaded


def load_part(
    conn: psycopg.Connection,
    day: date,
    parent: str,
    number: int,
    bounds: Bounds,
    rows: pl.DataFrame,
    prepare: Prepare | None,
    columns: Sequence[str],
    indexes: Sequence[ParentIndex],
) -> tuple[int, tuple[str, str]]:
    """On the caller's connection: load ``rows`` (all within ``bounds``) into a fresh table
    (:func:`fill_fresh_table`) and attach it to ``parent`` (a day partitioned by
    trace_number) as its part ``<parent>_<number>`` for the trace range ``bounds``. Returns
    the rows loaded and (part, bound CHECK), which the caller drops after its last ATTACH
    (attaching the day to ``entries`` is spared a scan by it too)."""
    table = f"{parent}_{number}"
    loaded, check = fill_fresh_table(
        conn, table, f"{day:%Y%m%d}_{number}", day, bounds, chunked(rows, prepare), columns,
        indexes, constant_columns(rows, columns),
    )  # fmt: skip
    attach(conn, parent, table, *bounds)
    return loaded, (table, check)


def copy_fresh(
    conn: psycopg.Connection,
    table: str,
    chunks: Iterator[pl.DataFrame],
    columns: Sequence[str],
    constants: dict[str, object],
) -> int:
    """COPY FREEZE into ``table`` (created in this transaction) all ``columns`` but the
    ``constants``, which the server fills in from DEFAULTs set for the COPY only."""
    # a value that does not fit its column's type is refused here, as the COPY would have
    # refused it; entries has no DEFAULT on these columns, so none is put back after
    _alter_columns(
        conn,
        table,
        [
            sql.SQL("ALTER COLUMN {} SET DEFAULT {}").format(sql.Identifier(c), sql.Literal(v))
            for c, v in constants.items()
        ],
    )
    sent = [c for c in columns if c not in constants]
    loaded = copy_frames(conn, table, chunks, columns=sent, freeze=True)
    _alter_columns(
        conn,
        table,
        [sql.SQL("ALTER COLUMN {} DROP DEFAULT").format(sql.Identifier(c)) for c in constants],
    )
    return loaded
