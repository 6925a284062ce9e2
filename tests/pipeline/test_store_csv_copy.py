"""The CSV COPY of polars frames loads exactly what the binary COPY loads: text with quotes,
commas, line breaks and backslashes, '' apart from NULL, bytes (empty too), integers into
smallint, booleans and dates; across block boundaries; and refuses types it cannot write
exactly."""

from __future__ import annotations

from datetime import date

import polars as pl
import psycopg
import pytest

from pipeline.store import csv_copy
from pipeline.store.copy import copy_frame
from pipeline.store.csv_copy import copy_csv
from pipeline.store.errors import StoreError

_TABLE = "(t text, b bytea, s smallint, n bigint, f boolean, d date)"
_FRAME = pl.DataFrame(
    {
        "t": ['a,b "q"\nline two', "", None, "\\N", " lead ", "NULL", "é\r\n", "x\\y"],
        "b": [b"\x00\xff", b"", None, b"\\x41", b",", b'"', b"\n", b"z"],
        "s": [1, -2, None, 32767, 0, 5, 6, 7],
        "n": [2**62, None, 0, -1, 3, 4, 5, 6],
        "f": [True, False, None, True, False, True, None, False],
        "d": [date(2026, 3, 2), None, date(1, 1, 1), date(2028, 2, 29)] * 2,
    },
    schema={
        "t": pl.String,
        "b": pl.Binary,
        "s": pl.Int64,
        "n": pl.Int64,
        "f": pl.Boolean,
        "d": pl.Date,
    },
)


def _rows(conn: psycopg.Connection, table: str) -> list[tuple]:
    query = f"SELECT t, b, s, n, f, d FROM {table} ORDER BY n NULLS FIRST, s"
    return conn.execute(query).fetchall()


@pytest.mark.parametrize("block_rows", [3, 50_000])
def test_csv_copy_loads_what_binary_copy_loads(
    pg_conn: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, block_rows: int
) -> None:
    monkeypatch.setattr(csv_copy, "BLOCK_ROWS", block_rows)
    pg_conn.execute("SET DateStyle = 'SQL, DMY'")  # dates must not depend on it
    pg_conn.execute(f"CREATE TEMP TABLE via_csv {_TABLE}")
    pg_conn.execute(f"CREATE TEMP TABLE via_binary {_TABLE}")
    assert copy_csv(pg_conn, "via_csv", _FRAME) == _FRAME.height
    copy_frame(pg_conn, "via_binary", _FRAME)
    got, want = _rows(pg_conn, "via_csv"), _rows(pg_conn, "via_binary")
    assert len(got) == _FRAME.height
    assert got == want
    texts = {r[0] for r in got}
    assert "" in texts and None in texts and 'a,b "q"\nline two' in texts
    assert {r[1] for r in got} >= {b"", None, b"\x00\xff"}


def test_columns_subset_and_empty_frame(pg_conn: psycopg.Connection) -> None:
    pg_conn.execute(f"CREATE TEMP TABLE sub {_TABLE}")
    assert copy_csv(pg_conn, "sub", _FRAME, columns=["t", "n"]) == _FRAME.height
    assert pg_conn.execute("SELECT count(*) FROM sub WHERE b IS NULL").fetchone() == (8,)
    assert copy_csv(pg_conn, "sub", _FRAME.clear()) == 0
    with pytest.raises(ValueError, match="lacks"):
        copy_csv(pg_conn, "sub", _FRAME, columns=["t", "nope"])


def test_types_without_an_exact_csv_form_are_refused(pg_conn: psycopg.Connection) -> None:
    pg_conn.execute("CREATE TEMP TABLE fl (x float8)")
    with pytest.raises(TypeError, match="exact CSV"):
        copy_csv(pg_conn, "fl", pl.DataFrame({"x": [0.1]}))


def test_a_refused_row_is_a_store_error(pg_conn: psycopg.Connection) -> None:
    pg_conn.execute("CREATE TEMP TABLE small (s smallint)")
    with pytest.raises(StoreError, match="loading rows into small"):
        copy_csv(pg_conn, "small", pl.DataFrame({"s": [1, 70000]}))
