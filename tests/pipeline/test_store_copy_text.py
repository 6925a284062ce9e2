"""The CSV COPY loads exactly what the binary COPY loads, NULL and '' kept apart."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import psycopg

from pipeline.store.copy import copy_frame
from pipeline.store.copy_text import copy_csv

FRAME = pl.DataFrame(
    {
        "t": ["x", "", None, 'q"u,o\nte', "\\N", " lead ", "é\r\n", "NULL"],
        "i": [1, None, -3, 2**62, 0, 7, 8, 9],
        "d": [date(2026, 1, 2), None, date(1999, 12, 31), date(2028, 2, 29)] * 2,
        "ts": [datetime(2026, 1, 2, 3, 4, 5, 123000, tzinfo=UTC), None] * 4,
        "b": [b"\x00\xff", None, b"", b"a", b"\\", b",", b'"', b"\n"],
        "ok": [True, False, None, True, True, False, True, False],
    },
    schema_overrides={"ts": pl.Datetime("ms", "UTC")},
)


def test_csv_copy_equals_binary_copy(pg_conn: psycopg.Connection) -> None:
    for name in ("via_binary", "via_csv"):
        pg_conn.execute(
            f"CREATE TABLE {name} (n serial, t text, i int8, d date, ts timestamptz,"
            " b bytea, ok boolean)"
        )
    assert copy_frame(pg_conn, "via_binary", FRAME) == FRAME.height
    assert copy_csv(pg_conn, "via_csv", FRAME) == FRAME.height
    assert copy_csv(pg_conn, "via_csv", FRAME.clear()) == 0
    query = "SELECT t, i, d, ts, b, ok FROM {} ORDER BY n"
    binary = pg_conn.execute(query.format("via_binary")).fetchall()
    assert pg_conn.execute(query.format("via_csv")).fetchall() == binary
    assert binary[1][0] == "" and binary[2][0] is None and binary[2][4] == b""
