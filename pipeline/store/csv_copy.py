"""Bulk loads of plain columns as CSV COPY written by polars, in large blocks.

:func:`pipeline.store.copy.copy_frame` (binary COPY) encodes most columns column-wise with
pgpq, but takes jsonb, numeric and timestamps through psycopg's per-row path: one Python
tuple per row, about 3 µs a row of client CPU. The staging loads of a big night carry such a
column (the enrolment's jsonb history ``detail``), so they go here: polars writes the CSV (in
its own threads), psycopg sends it in blocks of a few megabytes, and the server parses the
text into the column's type.

Only types whose CSV form is exact are taken: text, integers, booleans, dates and bytes
(``\\x`` hex). Text is always quoted and NULL never is, so ``''`` and NULL stay apart.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import polars as pl
import psycopg
from psycopg import sql

from pipeline.store.errors import translate_errors

__all__ = ["copy_csv"]

#: rows per block handed to the server (a few MB of CSV)
BLOCK_ROWS = 50_000


def _column(name: str, dtype: pl.DataType) -> pl.Expr:
    if dtype == pl.String or dtype.is_integer() or dtype in (pl.Boolean, pl.Date):
        return pl.col(name)
    if dtype == pl.Binary:
        return (pl.lit("\\x") + pl.col(name).bin.encode("hex")).alias(name)
    raise TypeError(f"column {name!r}: {dtype} has no exact CSV form for COPY")


def copy_csv(
    conn: psycopg.Connection,
    table: str,
    frame: pl.DataFrame,
    *,
    columns: Sequence[str] | None = None,
) -> int:
    """COPY ``frame`` (the given ``columns``, default all) into ``table`` as CSV; return the
    rows loaded. Runs in the caller's transaction."""
    cols = list(columns or frame.columns)
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks column(s) {missing} for COPY into {table}")
    if frame.height == 0:
        return 0
    text = frame.select(_column(c, frame.schema[c]) for c in cols)
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv, ENCODING 'UTF8')").format(
        sql.Identifier(*table.split(".")), sql.SQL(", ").join(map(sql.Identifier, cols))
    )
    with (
        translate_errors(f"loading rows into {table}"),
        conn.cursor() as cur,
        cur.copy(statement) as copy,
    ):
        for start in range(0, text.height, BLOCK_ROWS):
            block = io.BytesIO()
            text.slice(start, BLOCK_ROWS).write_csv(
                block, include_header=False, quote_style="non_numeric", null_value=""
            )
            copy.write(block.getbuffer())
    return frame.height
