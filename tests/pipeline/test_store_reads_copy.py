"""The COPY-to-CSV transport of the ledger's frame reads gives exactly what the former
row-by-row fetch gave: same columns, dtypes, values, and NULL kept apart from ''."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import psycopg
import pytest
from polars.testing import assert_frame_equal

from pipeline.store import Ledger, reads
from pipeline.store.errors import StoreError
from tests.pipeline._ledger_samples import entries_frame, record_file, traces

_SCHEMAS = {
    "entries": reads.ENTRIES_SCHEMA,
    "transfers": reads.TRANSFERS_SCHEMA,
    "api_statuses": reads.API_STATUS_SCHEMA,
    "returns": reads.RETURNS_SCHEMA,
    "nocs": reads.NOCS_SCHEMA,
    "rates": reads.RATES_SCHEMA,
}
_TRICKY: dict[str, list[object]] = {
    "text": ["000123", "", None, 'a,b "q"\nline two', "\\N", " lead ", "x", "NULL", "é\r\n"],
    "bigint": [0, -5, None, 2**62, 1, -(2**62), 7, 3, 9],
    "date": [date(2026, 1, 2), None, date(1999, 12, 31), date(2028, 2, 29), date(1, 1, 1)] * 2,
    "timestamptz": [
        datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC),
        None,
        datetime(2026, 7, 1, 23, 59, 59, tzinfo=UTC),
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime(2026, 3, 8, 7, 0, 0, 1, tzinfo=UTC),
    ]
    * 2,
    "boolean": [True, False, None],
    "float8": [0.1, 33.333333333333336, None, 0.0, -1.5, 1e-9, 100.0, 2.5e300],
}


def _pg_type(dtype: pl.DataType) -> str:
    if dtype == pl.String:
        return "text"
    if dtype == pl.Int64:
        return "bigint"
    if dtype == pl.Date:
        return "date"
    if isinstance(dtype, pl.Datetime):
        return "timestamptz"
    if dtype == pl.Boolean:
        return "boolean"
    assert dtype == pl.Float64, dtype
    return "float8"


def _both(conn: psycopg.Connection, query: str, params: tuple, schema: pl.Schema):
    new = reads._frame(conn, query, params, schema, "test")
    old = reads._frame_rowwise(conn, query, params, schema, "test")
    return new, old


@pytest.mark.parametrize("name", sorted(_SCHEMAS))
def test_tricky_values_match_row_by_row(pg_conn: psycopg.Connection, name: str) -> None:
    schema = _SCHEMAS[name]
    pg_conn.execute("SET TimeZone = 'Asia/Kathmandu'")  # instants must not depend on it
    cols = [(f"c{i}", _pg_type(d)) for i, d in enumerate(schema.dtypes())]
    table = f"tricky_{name}"
    pg_conn.execute(f"CREATE TEMP TABLE {table} (k int, {', '.join(f'{c} {t}' for c, t in cols)})")
    rows = [
        [k] + [_TRICKY[t][(k + i) % len(_TRICKY[t])] for i, (_, t) in enumerate(cols)]
        for k in range(12)
    ]
    with pg_conn.cursor() as cur:
        cur.executemany(f"INSERT INTO {table} VALUES ({', '.join(['%s'] * (len(cols) + 1))})", rows)
    query = f"SELECT {', '.join(c for c, _ in cols)} FROM {table} WHERE k >= %s ORDER BY k"
    new, old = _both(pg_conn, query, (0,), schema)
    assert new.schema == schema
    assert new.height == 12
    assert_frame_equal(new, old)
    texts = [c for c, d in schema.items() if d == pl.String]
    if texts:  # '' and NULL both present and still apart
        column = new.get_column(texts[0])
        assert column.null_count() > 0 and (column == "").sum() > 0
        assert "000123" in column.to_list()
    empty_new, empty_old = _both(pg_conn, query, (99,), schema)
    assert empty_new.schema == schema and empty_new.height == 0
    assert_frame_equal(empty_new, empty_old)
    # A session with a non-ISO DateStyle still gets the same frame (dates via to_char).
    pg_conn.execute("SET DateStyle = 'SQL, DMY'")
    try:
        assert_frame_equal(reads._frame(pg_conn, query, (0,), schema, "test"), old)
    finally:
        pg_conn.execute("SET DateStyle = 'ISO, MDY'")


def test_ledger_reads_match_row_by_row(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    entries = entries_frame(
        traces(1, 4, odfi="01234567"),
        codes=[27, 22, 27, 37],
        amounts=[0, 1, 250000, 99],
    ).with_columns(
        pl.Series("individual_name", ['SMITH, "JJ"', "", "LINE\nBREAK", "0007"]),
        pl.Series("reference", ["", "R,1", '"q"', "00042"]),
    )
    record_file(ledger, entries, effective=date(2026, 3, 2), settlement=date(2026, 3, 3))
    record_file(ledger, entries_frame(traces(10, 2)), effective=date(2026, 3, 5), sec_code="WEB")
    calls = {
        "entries": lambda: ledger.entries_frame(),
        "entries_range": lambda: ledger.entries_frame(
            effective_from=date(2026, 3, 1), effective_to=date(2026, 3, 3)
        ),
        "transfers": ledger.transfers_frame,
        "api_statuses": ledger.api_statuses_frame,
        "returns": ledger.returns_frame,
        "nocs": ledger.nocs_frame,
        "rates": lambda: ledger.return_rates_frame(date(2026, 3, 5)),
    }
    new = {k: f() for k, f in calls.items()}
    monkeypatch.setattr(reads, "_frame", reads._frame_rowwise)
    old = {k: f() for k, f in calls.items()}
    assert new["entries"].height == 6 and new["entries_range"].height == 4
    assert new["entries"].get_column("trace_number")[0] == "012345670000001"
    for key in calls:
        assert_frame_equal(new[key], old[key], check_exact=True)


@pytest.mark.parametrize("rows", [3, 300_000])
def test_a_large_read_matches_row_by_row(pg_conn: psycopg.Connection, rows: int) -> None:
    """Small results arrive whole before the first row is taken, large ones in many socket
    reads: both ways every row comes through, in order."""
    schema = pl.Schema({"k": pl.Int64, "t": pl.String})
    query = "SELECT i, lpad(i::text, 12, '0') FROM generate_series(1, %s) i ORDER BY i"
    new, old = _both(pg_conn, query, (rows,), schema)
    assert new.height == rows
    assert_frame_equal(new, old, check_exact=True)


@pytest.mark.parametrize("bad_row", [3, 250_000])
def test_a_server_error_mid_read_is_raised(pg_conn: psycopg.Connection, bad_row: int) -> None:
    """An error after rows were sent (here a division by zero) fails the read with the
    server's error, and the session can go on after a rollback."""
    schema = pl.Schema({"k": pl.Int64})
    query = "SELECT 1 / (i - %s) FROM generate_series(1, 300000) i ORDER BY i"
    with pytest.raises(StoreError) as caught:
        reads._frame(pg_conn, query, (bad_row,), schema, "reading numbers")
    assert caught.value.sqlstate == "22012"
    assert "division by zero" in str(caught.value)
    pg_conn.rollback()
    assert pg_conn.execute("SELECT 42").fetchone() == (42,)


def test_entries_by_file_state(ledger: Ledger) -> None:
    """``file_states`` keeps the entries of files in those states; ``other_file_states`` the
    rest; the two together are every entry, once."""
    answered = record_file(ledger, entries_frame(traces(1, 3)), effective=date(2026, 3, 2))
    record_file(ledger, entries_frame(traces(20, 2)), effective=date(2026, 3, 3))
    for state in ("sealed", "uploaded", "acknowledged"):
        ledger.transition_file(
            answered,
            state,
            sealed_sha256="0" * 64 if state == "sealed" else None,
            remote_path="inbound/x" if state == "uploaded" else None,
        )
    flying = ("built", "sealed", "uploaded", "verified")
    inside = ledger.entries_frame(file_states=flying, columns=["trace_number"])
    outside = ledger.entries_frame(
        file_states=flying, other_file_states=True, columns=["trace_number", "file_state"]
    )
    assert inside.get_column("trace_number").to_list() == traces(20, 2)
    assert outside.get_column("trace_number").to_list() == traces(1, 3)
    assert set(outside.get_column("file_state")) == {"acknowledged"}
    assert ledger.entries_frame(file_states=()).height == 0
