"""Stale planner statistics are refreshed before a bulk read, and only stale ones: a table
(or a partition of a partitioned table) with many rows changed since its last analysis."""

from __future__ import annotations

import psycopg

from pipeline.store.stats import analyze_stale, stale_tables


def _flush(conn: psycopg.Connection) -> None:
    # PostgreSQL 15+ keeps a backend's counters until it flushes them (at most once a second)
    conn.execute("SELECT pg_stat_force_next_flush()")
    conn.execute("SELECT 1")


def _analysed(conn: psycopg.Connection, table: str) -> bool:
    row = conn.execute(
        "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relid = %s::regclass",
        (table,),
    ).fetchone()
    assert row is not None
    return bool(row[0])


def test_only_stale_tables_and_partitions_are_analysed(pg_conn: psycopg.Connection) -> None:
    pg_conn.autocommit = True
    pg_conn.execute("CREATE TABLE st_plain (id int)")
    pg_conn.execute("CREATE TABLE st_quiet (id int)")
    pg_conn.execute("CREATE TABLE st_parted (day int, id int) PARTITION BY RANGE (day)")
    pg_conn.execute("CREATE TABLE st_parted_1 PARTITION OF st_parted FOR VALUES FROM (1) TO (2)")
    pg_conn.execute("CREATE TABLE st_parted_2 PARTITION OF st_parted FOR VALUES FROM (2) TO (3)")
    # a partition partitioned in turn (as a day of entries loaded in parts): its leaves count
    pg_conn.execute(
        "CREATE TABLE st_parted_3 PARTITION OF st_parted FOR VALUES FROM (3) TO (4)"
        " PARTITION BY RANGE (id)"
    )
    pg_conn.execute(
        "CREATE TABLE st_parted_3_a PARTITION OF st_parted_3 FOR VALUES FROM (MINVALUE) TO (500)"
    )
    pg_conn.execute(
        "CREATE TABLE st_parted_3_b PARTITION OF st_parted_3 FOR VALUES FROM (500) TO (MAXVALUE)"
    )
    pg_conn.execute("INSERT INTO st_parted SELECT 3, g FROM generate_series(1, 400) g")
    pg_conn.execute("INSERT INTO st_plain SELECT g FROM generate_series(1, 1000) g")
    pg_conn.execute("INSERT INTO st_quiet SELECT g FROM generate_series(1, 10) g")  # < 50 rows
    pg_conn.execute("INSERT INTO st_parted SELECT 1, g FROM generate_series(1, 1000) g")
    _flush(pg_conn)
    tables = ("st_plain", "st_quiet", "st_parted")
    stale = ["st_parted_1", "st_parted_3_a", "st_plain"]
    assert stale_tables(pg_conn, tables) == stale

    assert analyze_stale(pg_conn, tables) == stale
    assert _analysed(pg_conn, "st_plain") and _analysed(pg_conn, "st_parted_1")
    assert _analysed(pg_conn, "st_parted_3_a")
    assert not _analysed(pg_conn, "st_quiet") and not _analysed(pg_conn, "st_parted_2")
    assert not _analysed(pg_conn, "st_parted_3_b")
    _flush(pg_conn)
    assert stale_tables(pg_conn, tables) == []
    assert analyze_stale(pg_conn, tables) == []

    # fewer than 10 % of the rows changed since: still fresh; more: stale again
    pg_conn.execute("INSERT INTO st_plain SELECT g FROM generate_series(1, 60) g")
    _flush(pg_conn)
    assert stale_tables(pg_conn, tables) == []
    pg_conn.execute("INSERT INTO st_plain SELECT g FROM generate_series(1, 200) g")
    _flush(pg_conn)
    assert stale_tables(pg_conn, tables) == ["st_plain"]
