"""copy_frame / copy_frames: the column-wise (pgpq) binary COPY stores exactly what the
per-row path (psycopg's dumpers) stores, refuses values that do not fit, and leaves the types
it does not encode to the per-row path."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl
import psycopg
import pytest

import pipeline.store.copy as copy_module
from pipeline.store import StoreError, copy_frame, copy_frames

TABLE = (
    "CREATE TABLE t (flag boolean, small smallint, mid integer, big bigint, ratio float8,"
    " name text, label varchar(10), blob bytea, day date)"
)

FRAME = pl.DataFrame(
    {
        "flag": [True, False, None, True],
        "small": [1, -32768, 32767, None],
        "mid": [0, 2_147_483_647, None, -5],
        "big": [9_000_000_000_000_000_000, None, 0, -1],
        "ratio": [0.1, None, -2.5, 1e300],
        "name": ["", None, "Zoë 名前", "0012345"],
        "label": ["x" * 10, "", None, "ab"],
        "blob": [b"", b"\x00\x01\xff", None, bytes(range(256))],
        "day": [date(2026, 3, 1), None, date(1999, 12, 31), date(2400, 1, 1)],
    },
    schema_overrides={"small": pl.Int64, "mid": pl.Int64},
)


def _read(conn: psycopg.Connection) -> list[tuple[object, ...]]:
    return conn.execute("SELECT * FROM t ORDER BY ctid").fetchall()


def test_column_wise_copy_stores_what_the_per_row_copy_stores(
    pg_conn: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    pg_conn.execute(TABLE)
    assert copy_frame(pg_conn, "t", FRAME) == 4
    columnar = _read(pg_conn)
    pg_conn.execute("TRUNCATE t")
    monkeypatch.setattr(copy_module, "_COLUMNAR", {})  # every type takes the per-row path
    assert copy_frame(pg_conn, "t", FRAME) == 4
    assert _read(pg_conn) == columnar
    assert columnar[2][5] == "Zoë 名前"
    assert columnar[3][5] == "0012345"
    assert bytes(columnar[3][7]) == bytes(range(256))


def test_frames_are_sent_in_pieces_that_add_up_to_every_row_in_order(
    pg_conn: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pieces of at most 3 rows, across two frames of one COPY: the rows arrive once each, in
    order, as one piece per frame would have sent them. (pgpq holds small pieces back until
    it has about a megabyte, or until the COPY ends.)"""
    pg_conn.execute(TABLE)
    frames = [pl.concat([FRAME, FRAME, FRAME]).head(10), FRAME]
    assert copy_frames(pg_conn, "t", frames, columns=FRAME.columns) == 14
    whole = _read(pg_conn)
    pg_conn.execute("TRUNCATE t")
    pieces = 0
    real_pieces = copy_module._columnar_pieces

    def counted(*args: object) -> object:
        nonlocal pieces
        for piece in real_pieces(*args):  # type: ignore[arg-type]
            pieces += 1
            yield piece

    monkeypatch.setattr(copy_module, "PIECE_ROWS", 3)
    monkeypatch.setattr(copy_module, "_columnar_pieces", counted)
    assert copy_frames(pg_conn, "t", frames, columns=FRAME.columns) == 14
    assert pieces >= 4 + 2  # 10 rows in 3+3+3+1 (or more, per chunk), then 4 in 3+1
    assert _read(pg_conn) == whole
    assert len(whole) == 14


def test_char_columns_take_text(pg_conn: psycopg.Connection) -> None:
    """bpchar has no binary dumper in psycopg (the per-row path refuses it); pgpq's text is
    what bpcharrecv reads."""
    pg_conn.execute("CREATE TABLE t (code char(3))")
    copy_frame(pg_conn, "t", pl.DataFrame({"code": ["PPD", "A", None]}))
    assert pg_conn.execute("SELECT code FROM t ORDER BY ctid").fetchall() == [
        ("PPD",),
        ("A  ",),
        (None,),
    ]


def test_a_value_that_does_not_fit_its_column_is_refused(pg_conn: psycopg.Connection) -> None:
    pg_conn.execute("CREATE TABLE t (small smallint)")
    with pytest.raises(StoreError, match="does not fit"):
        copy_frame(pg_conn, "t", pl.DataFrame({"small": [1, 70_000]}))
    assert pg_conn.execute("SELECT count(*) FROM t").fetchone() == (0,)


def test_frames_stream_into_one_copy_in_order(pg_conn: psycopg.Connection) -> None:
    pg_conn.execute("CREATE TABLE t (n bigint, s text)")
    frames = (pl.DataFrame({"n": [i, i + 1], "s": [str(i), None]}) for i in range(0, 10, 2))
    assert copy_frames(pg_conn, "t", frames, columns=["n", "s"]) == 10
    rows = pg_conn.execute("SELECT n, s FROM t ORDER BY ctid").fetchall()
    assert [n for n, _ in rows] == list(range(10))
    assert [s for _, s in rows] == [str(i) if i % 2 == 0 else None for i in range(10)]


def test_types_not_encoded_column_wise_keep_the_per_row_path(pg_conn: psycopg.Connection) -> None:
    pg_conn.execute("CREATE TABLE t (at timestamptz, pct numeric, n int)")
    at = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    frame = pl.DataFrame({"at": [at, None], "pct": [0.1, 2.5], "n": [1, 2]})
    assert copy_frame(pg_conn, "t", frame) == 2
    assert pg_conn.execute("SELECT at, pct, n FROM t ORDER BY n").fetchall() == [
        (at, Decimal("0.1"), 1),
        (None, Decimal("2.5"), 2),
    ]


def test_aware_timestamps_go_column_wise_and_store_the_same_instants(
    pg_conn: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """timestamptz from aware polars datetimes (µs, ms, any zone, nulls, before 2000 and far
    ahead) is encoded by pgpq and stores exactly the instants psycopg's dumper stores."""
    pg_conn.execute("CREATE TABLE t (at timestamptz, at_ms timestamptz, nothing timestamptz)")
    instants = [
        datetime(2026, 3, 1, 12, 30, 59, 123456, tzinfo=UTC),
        datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        None,
        datetime(1901, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
        datetime(2000, 1, 1, tzinfo=UTC),
    ]
    frame = pl.DataFrame(
        {
            "at": pl.Series(instants, dtype=pl.Datetime("us", "UTC")),
            "at_ms": pl.Series(instants, dtype=pl.Datetime("us", "UTC")).cast(
                pl.Datetime("ms", "America/Chicago")
            ),
            "nothing": [None] * len(instants),
        }
    )
    assert copy_module._columnar_ok("timestamptz", frame.schema["at_ms"])
    calls: list[int] = []
    real_pieces = copy_module._columnar_pieces
    monkeypatch.setattr(
        copy_module, "_columnar_pieces", lambda *a: calls.append(1) or real_pieces(*a)
    )
    assert copy_frame(pg_conn, "t", frame) == len(instants)
    assert calls, "aware timestamps should take the column-wise path"
    columnar = _read(pg_conn)
    pg_conn.execute("TRUNCATE t")
    monkeypatch.setattr(copy_module, "_COLUMNAR", {})
    assert copy_frame(pg_conn, "t", frame) == len(instants)
    assert _read(pg_conn) == columnar
    assert [row[0] for row in columnar] == instants
    assert columnar[0][1] == datetime(2026, 3, 1, 12, 30, 59, 123000, tzinfo=UTC)
    assert columnar[3][1] == datetime(1901, 1, 1, tzinfo=UTC)


def test_naive_or_ns_timestamps_keep_the_per_row_path() -> None:
    assert not copy_module._columnar_ok("timestamptz", pl.Datetime("us"))
    assert not copy_module._columnar_ok("timestamptz", pl.Datetime("ns", "UTC"))
    assert not copy_module._columnar_ok("timestamptz", pl.String())
    assert copy_module._columnar_ok("timestamptz", pl.Null())
    assert not copy_module._columnar_ok("numeric", pl.Float64())
