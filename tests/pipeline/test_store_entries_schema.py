"""The load-cost migrations of ``entries`` (sql/0010): same rules, cheaper per row, and they
apply on top of a ledger that already holds entries."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import polars as pl
import psycopg
import pytest

from pipeline.store import SQL_DIR, DuplicateError, Ledger, StoreIntegrityError, migrate
from tests.pipeline._ledger_samples import entries_frame, migrate_all_but, record_file, traces

DAY = date(2026, 3, 3)
MIGRATION = "0010_entries_c_collation_byte_checks.sql"


def _collations(conn: psycopg.Connection) -> dict[str, str | None]:
    rows = conn.execute(
        "SELECT column_name, collation_name FROM information_schema.columns"
        " WHERE table_name = 'entries' AND column_name IN ('trace_number', 'reference')"
    ).fetchall()
    return dict(rows)


def test_applies_on_a_ledger_that_holds_entries(
    pg_empty: psycopg.Connection, account_protector, tmp_path: Path
) -> None:
    sql_dir = migrate_all_but(pg_empty, MIGRATION, tmp_path)
    ledger = Ledger(pg_empty, account_protector)
    record_file(ledger, entries_frame(traces(1, 3)), effective=DAY, name="before.ach")
    assert _collations(pg_empty) == {"trace_number": None, "reference": None}

    shutil.copy(SQL_DIR / MIGRATION, sql_dir / MIGRATION)
    assert [m.version for m in migrate(pg_empty, sql_dir=sql_dir)] == [10]

    assert _collations(pg_empty) == {"trace_number": "C", "reference": "C"}
    assert pg_empty.execute("SELECT count(*) FROM entries").fetchone() == (3,)
    # The key still refuses a trace number already used on that effective date ...
    with pytest.raises(DuplicateError):
        record_file(ledger, entries_frame(traces(3, 1)), effective=DAY, name="again.ach")
    # ... and the existing rows are still found by trace and by reference.
    found = pg_empty.execute(
        "SELECT count(*) FROM entries WHERE trace_number = %s OR reference = %s",
        (traces(1, 1)[0], "REF2"),
    ).fetchone()
    assert found == (2,)


def test_text_keys_join_default_collation_columns(ledger: Ledger, pg_conn) -> None:
    """Bytewise keys compared with default-collation columns need no explicit COLLATE."""
    record_file(ledger, entries_frame(traces(1, 2)), effective=DAY)
    pg_conn.execute("CREATE TEMP TABLE probe (trace text, reference text)")
    pg_conn.execute("INSERT INTO probe VALUES (%s, 'REF1')", (traces(2, 1)[0],))
    rows = pg_conn.execute(
        "SELECT e.reference FROM entries e JOIN probe p"
        " ON p.trace = e.trace_number AND p.reference = e.reference"
    ).fetchall()
    assert rows == [("REF1",)]
    assert pg_conn.execute(
        "SELECT count(*) FROM entries e WHERE e.reference IN (SELECT reference FROM probe)"
    ).fetchone() == (1,)


def test_trace_prefix_search_can_use_the_key(ledger: Ledger, pg_conn) -> None:
    """next_trace_sequence's ``trace_number LIKE 'prefix%'`` is a range scan of the key now."""
    record_file(ledger, entries_frame(traces(1, 2)), effective=DAY)
    pg_conn.execute("SET enable_seqscan = off")
    plan = pg_conn.execute(
        "EXPLAIN SELECT max(trace_number) FROM entries WHERE trace_number LIKE '12345678%'"
    ).fetchall()
    assert "entries_trace_effective_key" in " ".join(r[0] for r in plan)


def _with_last4(ledger: Ledger, last4: str, trace: int) -> None:
    protected = ledger.protector.protect_frame(entries_frame(traces(trace, 1)))  # type: ignore[union-attr]
    record_file(
        ledger,
        protected.with_columns(pl.lit(last4).alias("account_last4")),
        effective=DAY,
        name=f"l{trace}.ach",
    )


def test_last4_check_counts_characters_not_bytes(ledger: Ledger) -> None:
    _with_last4(ledger, "\u00e9\u00e9\u00e9\u00e9", 1)  # four characters, eight bytes
    _with_last4(ledger, "1234", 2)
    with pytest.raises(StoreIntegrityError) as info:
        _with_last4(ledger, "12345", 3)
    assert info.value.constraint == "entries_account_last4_check"


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("trace_number", "12345678000000/"),  # the byte just below '0'
        ("trace_number", "12345678000000:"),  # the byte just above '9'
    ],
)
def test_digit_checks_at_the_byte_boundaries(ledger: Ledger, column: str, value: str) -> None:
    with pytest.raises(StoreIntegrityError) as info:
        record_file(
            ledger,
            entries_frame(traces(1, 1)).with_columns(pl.lit(value).alias(column)),
            effective=DAY,
        )
    assert info.value.constraint == f"entries_{column}_check"
