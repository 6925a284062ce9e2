"""Bulk loads: polars frames into Postgres with psycopg 3 binary COPY.

Binary COPY of 1,000,000 rows takes ~0.7 s here, executemany 9-17 s (platform findings), so
every bulk path of the ledger goes through :func:`copy_frame`. Binary COPY needs the exact
Postgres type of each target column; they are read from the catalog, so a frame only has to
carry values that fit (Int64 into a smallint column is fine if the values fit).

The COPY stream is built column-wise: each frame is cast to the columns' exact widths and
encoded by pgpq (Arrow → Postgres binary, in Rust) — about 0.4 s of client CPU for a million
ledger entries, against ~2 s for psycopg's per-row ``write_row`` of Python values. A
``timestamptz`` column goes column-wise when the frame carries it as a time-zone-aware polars
datetime (ms or µs: the binary value is the instant's microseconds since 2000-01-01 UTC,
whatever the zone, which is what psycopg sends for an aware ``datetime``). Types pgpq is not
used for here (numeric, json …, and timestamps held any other way) keep the per-row path,
which converts Python values exactly as psycopg's dumpers always did.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal

import polars as pl
import psycopg
from pgpq import ArrowToPostgresBinaryEncoder
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter
from psycopg.types.string import BytesBinaryDumper

from pipeline.store.errors import StoreError, translate_errors


def column_types(conn: psycopg.Connection, table: str) -> dict[str, str]:
    """Column name → Postgres type name (``int8``, ``text``, ``bpchar`` …) of a table.

    Works for temporary tables too (``to_regclass`` follows the search path).
    """
    with translate_errors(f"reading the columns of {table}"):
        rows = conn.execute(
            "SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid"
            " WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped",
            (table,),
        ).fetchall()
    if not rows:
        raise StoreError(f"table {table} does not exist")
    return {name: typname for name, typname in rows}


# Postgres type → the polars type whose Arrow form pgpq encodes as exactly that binary value
# (text-like types share textrecv's format, so bpchar/varchar take UTF-8 text as well).
_COLUMNAR: dict[str, pl.DataType] = {
    "bool": pl.Boolean(),
    "int2": pl.Int16(),
    "int4": pl.Int32(),
    "int8": pl.Int64(),
    "float4": pl.Float32(),
    "float8": pl.Float64(),
    "text": pl.String(),
    "varchar": pl.String(),
    "bpchar": pl.String(),
    "bytea": pl.Binary(),
    "date": pl.Date(),
    "timestamptz": pl.Datetime("us", "UTC"),
}


def _columnar_ok(pg_type: str, dtype: pl.DataType) -> bool:
    """Whether a frame column of ``dtype`` goes column-wise into a ``pg_type`` column.

    Plain types always do (the strict cast refuses what does not fit). A ``timestamptz``
    needs an aware datetime of ms or µs (all-null columns too): a naive one has no instant
    (psycopg refuses it for timestamptz); ns stays on the per-row path, so no second rule for
    dropping the nanoseconds has to agree with the first."""
    if pg_type not in _COLUMNAR:
        return False
    if pg_type != "timestamptz":
        return True
    if dtype == pl.Null:
        return True
    return (
        isinstance(dtype, pl.Datetime) and dtype.time_zone is not None and dtype.time_unit != "ns"
    )


# Rows per piece the encoder turns into COPY bytes (about 2.5 MB of ledger entries). Big
# pieces cost more than their bytes: on this machine a fresh page of memory costs ~4 µs to
# fault in, and a 17 MB piece is a fresh allocation each time (encoding 1M entries as one
# piece 0.25-1.15 s, in pieces of 16,384 rows 0.11 s). Pieces this size reuse the allocator's
# memory.
PIECE_ROWS = 16_384


def _columnar_pieces(
    encoder: ArrowToPostgresBinaryEncoder,
    frame: pl.DataFrame,
    cols: Sequence[str],
    types: Sequence[str],
) -> Iterator[memoryview]:
    """The binary COPY tuples of ``frame``'s ``cols``, encoded column-wise by ``encoder``,
    :data:`PIECE_ROWS` rows at a time.

    Each piece is a memoryview, so the COPY writer's slicing into messages copies nothing.
    Casting is strict: a value that does not fit its column (e.g. 70000 into a smallint) is
    refused here, before any of the frame is sent, as psycopg's dumper refuses it on the
    per-row path.
    """
    for c, t in zip(cols, types, strict=True):
        if not _columnar_ok(t, frame.schema[c]):
            raise StoreError(f"column {c}: {frame.schema[c]} cannot be loaded into a {t} column")
    try:
        cast = frame.select(
            pl.col(c).cast(_COLUMNAR[t], strict=True) for c, t in zip(cols, types, strict=True)
        )
    except pl.exceptions.PolarsError as exc:
        raise StoreError(f"a value does not fit its column's type: {exc}") from exc
    table = cast.to_arrow(compat_level=pl.CompatLevel.oldest())
    for batch in table.to_batches(max_chunksize=PIECE_ROWS):
        yield memoryview(encoder.write_batch(batch))


def _encoder(cols: Sequence[str], types: Sequence[str]) -> ArrowToPostgresBinaryEncoder:
    """A pgpq encoder for the Arrow schema :func:`_columnar_pieces` casts the columns to."""
    schema = pl.Schema({c: _COLUMNAR[t] for c, t in zip(cols, types, strict=True)})
    empty = pl.DataFrame(schema=schema).to_arrow(compat_level=pl.CompatLevel.oldest())
    return ArrowToPostgresBinaryEncoder(empty.schema)


def _values(column: pl.Series, pg_type: str) -> list[object]:
    values = column.to_list()
    if pg_type == "numeric" and column.dtype.is_float():
        # binary numeric takes Decimal/int; str() keeps the shortest repr (0.1, not 0.1000…01)
        return [None if v is None else Decimal(str(v)) for v in values]
    return values


def copy_frame(
    conn: psycopg.Connection,
    table: str,
    frame: pl.DataFrame,
    *,
    columns: Sequence[str] | None = None,
) -> int:
    """COPY ``frame`` (the given ``columns``, default all) into ``table``; return rows loaded.

    Runs in the caller's transaction (or its own statement in autocommit mode).
    """
    return copy_frames(conn, table, [frame], columns=columns or list(frame.columns))


def stage_frame(
    conn: psycopg.Connection,
    like: str,
    staging: str,
    frame: pl.DataFrame,
    *,
    columns: Sequence[str],
) -> int:
    """COPY ``frame`` into ``staging``, a temp twin of table ``like`` emptied at commit.

    The bulk half of "COPY into a staging table, then one INSERT ... SELECT ... ON CONFLICT":
    the staging table has ``like``'s column types, so values convert exactly as they would
    going straight in. Must run inside the caller's transaction.
    """
    conn.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {staging} ON COMMIT DELETE ROWS"
        f" AS SELECT * FROM {like} WITH NO DATA"
    )
    return copy_frame(conn, staging, frame, columns=columns)


def copy_frames(
    conn: psycopg.Connection,
    table: str,
    frames: Iterable[pl.DataFrame],
    *,
    columns: Sequence[str],
    freeze: bool = False,
) -> int:
    """One COPY of every frame of ``frames`` (an iterable, consumed lazily) into ``table``.

    ``freeze``: COPY FREEZE, for a table created in the current transaction: its rows are
    written frozen and all-visible, so no later reader or vacuum rewrites their pages.

    While the client prepares the next frame (e.g. encrypts its accounts), the server is
    already inserting the rows sent so far: on two cores the load then takes about the longer
    of the two, not their sum. Returns the rows loaded.
    """
    cols = list(columns)
    types = column_types(conn, table)
    unknown = [c for c in cols if c not in types]
    if unknown:
        raise ValueError(f"{table} has no column(s) {unknown}")
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY{})").format(
        sql.Identifier(*table.split(".")),
        sql.SQL(", ").join(map(sql.Identifier, cols)),
        sql.SQL(", FREEZE" if freeze else ""),
    )

    def checked(frame: pl.DataFrame) -> pl.DataFrame:
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise ValueError(f"frame lacks column(s) {missing} for COPY into {table}")
        return frame

    pending = (checked(f) for f in frames)
    first = next((f for f in pending if f.height), None)
    if first is None:
        return 0
    target_types = [types[c] for c in cols]
    loaded = 0
    with (
        translate_errors(f"loading rows into {table}"),
        conn.cursor() as cur,
    ):
        if all(_columnar_ok(types[c], first.schema[c]) for c in cols):
            encoder = _encoder(cols, target_types)
            # A writer thread sends each encoded chunk while this thread prepares the next
            # one (e.g. encrypts its accounts): sending blocks whenever the server is behind.
            with cur.copy(statement, writer=QueuedLibpqWriter(cur)) as copy:
                copy.write(encoder.write_header())
                for frame in itertools.chain([first], pending):
                    for piece in _columnar_pieces(encoder, frame, cols, target_types):
                        if piece:  # pgpq holds small pieces back until it has ~1 MB
                            copy.write(piece)
                    loaded += frame.height
                copy.write(encoder.finish())
            return loaded
        # set_types picks the dumper registered last for each oid; for bytea that is
        # psycopg.dbapi20's Binary wrapper dumper, pure Python: two Python calls per bytea value
        # (a third of the client time of an entries COPY). polars gives plain bytes, so this
        # cursor uses the C dumper.
        cur.adapters.register_dumper(bytes, BytesBinaryDumper)
        with cur.copy(statement) as copy:
            copy.set_types(target_types)
            for frame in itertools.chain([first], pending):
                series = [_values(frame.get_column(c), types[c]) for c in cols]
                # map + deque: the per-row loop runs in C (write_row formats in C too).
                deque(map(copy.write_row, zip(*series, strict=True)), maxlen=0)
                loaded += frame.height
    return loaded
