"""Bulk loads as one CSV stream: polars writes the whole frame, psycopg sends the bytes.

:func:`pipeline.store.copy.copy_frames` hands every row to psycopg's ``write_row`` (a few
microseconds of Python per row: seconds for a million). For frames of plain values — text,
integers, dates, timestamps, booleans, bytea — polars can write the CSV itself, in Rust, and
the COPY is a handful of ``write`` calls. NULL and ``''`` stay apart: every non-numeric
value is quoted, so an unquoted empty field is NULL; bytea goes as quoted ``\\x`` hex.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl
import psycopg
from psycopg import sql

from pipeline.store.errors import translate_errors

_CHUNK = 8 << 20  # bytes per write: the server parses one chunk while the next is sent


def _csv_ready(frame: pl.DataFrame) -> pl.DataFrame:
    """Binary columns as Postgres' hex text (``\\x0a1b``); everything else as polars writes it."""
    fixes = [
        pl.when(pl.col(name).is_not_null())
        .then(pl.concat_str(pl.lit("\\x"), pl.col(name).bin.encode("hex")))
        .alias(name)
        for name, dtype in frame.schema.items()
        if dtype == pl.Binary
    ]
    return frame.with_columns(fixes) if fixes else frame


def copy_csv(
    conn: psycopg.Connection,
    table: str,
    frame: pl.DataFrame,
    *,
    columns: Sequence[str] | None = None,
) -> int:
    """COPY ``frame`` (the given ``columns``, default all) into ``table`` as CSV; return the
    rows loaded. Runs in the caller's transaction. Values convert with the column types'
    text input (the same as a literal in SQL)."""
    cols = list(columns or frame.columns)
    if frame.height == 0:
        return 0
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks column(s) {missing} for COPY into {table}")
    data = _csv_ready(frame.select(cols)).write_csv(
        include_header=False,
        quote_style="non_numeric",
        datetime_format="%Y-%m-%dT%H:%M:%S%.f%:z",
    )
    payload = data.encode()
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
        sql.Identifier(*table.split(".")), sql.SQL(", ").join(map(sql.Identifier, cols))
    )
    view = memoryview(payload)
    with (
        translate_errors(f"loading rows into {table}"),
        conn.cursor() as cur,
        cur.copy(statement) as copy,
    ):
        for start in range(0, len(view), _CHUNK):
            copy.write(view[start : start + _CHUNK])
    return frame.height
