"""The migration runner on a real, empty Postgres database."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg
import pytest

from pipeline.store import (
    SQL_DIR,
    MigrationChecksumError,
    MigrationError,
    StoreError,
    load_migrations,
    migrate,
    migration_status,
)

TABLES = {
    "runs",
    "run_steps",
    "file_id_allocations",
    "outbound_files",
    "outbound_file_events",
    "batches",
    "entries",
    "transfers",
    "inbound_files",
    "returns",
    "nocs",
    "return_rate_snapshots",
    "return_reason_codes",
    "return_rate_limits",
    "rate_debit_transaction_codes",
    "schema_migrations",
}
VIEWS = {"return_rates_by_originator", "return_rates_by_sec_code", "return_rates_daily"}


def _objects(conn: psycopg.Connection) -> tuple[set[str], set[str]]:
    tables = {
        r[0]
        for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            " AND table_type = 'BASE TABLE'"
        )
    }
    views = {
        r[0]
        for r in conn.execute(
            "SELECT table_name FROM information_schema.views WHERE table_schema = 'public'"
        )
    }
    return tables, views


def test_from_empty_applies_every_file_in_order(pg_empty: psycopg.Connection) -> None:
    files = load_migrations()
    assert [m.version for m in files] == sorted(m.version for m in files)
    applied = migrate(pg_empty)
    assert [m.version for m in applied] == [m.version for m in files]
    tables, views = _objects(pg_empty)
    assert tables >= TABLES
    assert views >= VIEWS
    recorded = pg_empty.execute(
        "SELECT version, checksum FROM schema_migrations ORDER BY 1"
    ).fetchall()
    assert recorded == [(m.version, m.checksum) for m in files]
    status = migration_status(pg_empty)
    assert status.ok and not status.pending and len(status.applied) == len(files)


def test_entries_carry_only_the_indexes_the_bulk_load_can_afford(
    pg_empty: psycopg.Connection,
) -> None:
    """Each index is paid per row of the nightly million-row COPY (sql/0004, 0009): adding one
    should be a decision, not an accident. A file's entries are found through BRIN."""
    migrate(pg_empty)
    rows = pg_empty.execute(
        "SELECT c.relname, am.amname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        " JOIN pg_am am ON am.oid = c.relam WHERE i.indrelid = 'entries'::regclass"
    ).fetchall()
    assert sorted(rows) == [
        ("entries_file_brin", "brin"),
        ("entries_id_idx", "btree"),
        ("entries_reference_idx", "btree"),
        ("entries_trace_effective_key", "btree"),
    ]
    pg_empty.execute("SET enable_seqscan = off")
    plan = pg_empty.execute("EXPLAIN SELECT id FROM entries WHERE outbound_file_id = 1").fetchall()
    assert "entries_file_brin" in " ".join(r[0] for r in plan)
    cache = pg_empty.execute(
        "SELECT cache_size FROM pg_sequences WHERE sequencename = 'entries_id_seq'"
    ).fetchone()
    assert cache == (1000,)


def test_reapply_is_a_noop(pg_empty: psycopg.Connection) -> None:
    migrate(pg_empty)
    before = pg_empty.execute("SELECT version, applied_at FROM schema_migrations").fetchall()
    assert migrate(pg_empty) == []
    assert (
        pg_empty.execute("SELECT version, applied_at FROM schema_migrations").fetchall() == before
    )


def test_pending_then_applied(pg_empty: psycopg.Connection, tmp_path: Path) -> None:
    sql_dir = tmp_path / "sql"
    shutil.copytree(SQL_DIR, sql_dir)
    migrate(pg_empty, sql_dir=sql_dir)
    (sql_dir / "9001_extra.sql").write_text("CREATE TABLE extra (id int);\n")
    assert [m.name for m in migration_status(pg_empty, sql_dir=sql_dir).pending] == ["extra"]
    assert [m.version for m in migrate(pg_empty, sql_dir=sql_dir)] == [9001]
    assert migration_status(pg_empty, sql_dir=sql_dir).pending == []


def test_edited_applied_migration_is_refused(pg_empty: psycopg.Connection, tmp_path: Path) -> None:
    sql_dir = tmp_path / "sql"
    shutil.copytree(SQL_DIR, sql_dir)
    migrate(pg_empty, sql_dir=sql_dir)
    first = sorted(sql_dir.glob("0001_*.sql"))[0]
    first.write_text(first.read_text() + "\n-- an innocent-looking edit\n")
    with pytest.raises(MigrationChecksumError, match="0001_") as info:
        migrate(pg_empty, sql_dir=sql_dir)
    assert info.value.exit_code == 1
    assert migration_status(pg_empty, sql_dir=sql_dir).changed == [1]


def test_database_ahead_of_code_is_refused(pg_empty: psycopg.Connection, tmp_path: Path) -> None:
    sql_dir = tmp_path / "sql"
    shutil.copytree(SQL_DIR, sql_dir)
    (sql_dir / "9002_future.sql").write_text("SELECT 1;\n")
    migrate(pg_empty, sql_dir=sql_dir)
    (sql_dir / "9002_future.sql").unlink()
    with pytest.raises(MigrationError, match="does not know"):
        migrate(pg_empty, sql_dir=sql_dir)
    assert migration_status(pg_empty, sql_dir=sql_dir).unknown == [9002]


def test_failing_migration_leaves_nothing_behind(
    pg_empty: psycopg.Connection, tmp_path: Path
) -> None:
    sql_dir = tmp_path / "sql"
    shutil.copytree(SQL_DIR, sql_dir)
    (sql_dir / "9003_broken.sql").write_text("CREATE TABLE ok_table (id int);\nSELEC broken;\n")
    with pytest.raises(StoreError, match="9003_broken"):
        migrate(pg_empty, sql_dir=sql_dir)
    tables, _ = _objects(pg_empty)
    assert "ok_table" not in tables and "runs" not in tables


def test_badly_named_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "1_x.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match=r"NNNN_name\.sql"):
        load_migrations(tmp_path)
