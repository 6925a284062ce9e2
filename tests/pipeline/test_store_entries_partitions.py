"""entries partitioned by effective date (sql/0070, pipeline/store/entries_load.py): a new
day is built and attached, a known day goes through live indexes, and either way the key, the
CHECKs, the batch references and the all-or-nothing file record hold."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import polars as pl
import psycopg
import pytest

from pipeline.store import SQL_DIR, DuplicateError, Ledger, StoreIntegrityError, migrate
from pipeline.store.entries_load import days_with_rows_elsewhere
from tests.pipeline._ledger_samples import (
    ENTRIES_MIGRATIONS,
    ENTRIES_PARTITIONED,
    ENTRY_CHECKS,
    check_constraints,
    entries_frame,
    migrate_all_but,
    record_file,
    traces,
)

DAY = date(2026, 3, 3)


def _partitions(conn: psycopg.Connection) -> dict[str, str]:
    rows = conn.execute(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i"
        " JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'entries'::regclass"
    ).fetchall()
    return dict(rows)


def _count(conn: psycopg.Connection, table: str) -> int:
    return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_a_new_day_gets_its_own_indexed_partition(ledger: Ledger, pg_conn) -> None:
    record_file(ledger, entries_frame(traces(1, 3)), effective=DAY)
    parts = _partitions(pg_conn)
    assert parts["entries_20260303"] == "FOR VALUES FROM ('2026-03-03') TO ('2026-03-04')"
    assert parts["entries_default"] == "DEFAULT"
    assert _count(pg_conn, "entries_20260303") == 3
    indexes = pg_conn.execute(
        "SELECT indexrelid::regclass::text FROM pg_index"
        " WHERE indrelid = 'entries_20260303'::regclass ORDER BY 1"
    ).fetchall()
    assert [i for (i,) in indexes] == [
        "entries_file_brin_20260303",
        "entries_id_idx_20260303",
        "entries_reference_idx_20260303",
        "entries_trace_effective_key_20260303",
    ]
    # attached as the parent's indexes, and the bound CHECK used for attaching is gone
    attached = pg_conn.execute(
        "SELECT count(*) FROM pg_inherits WHERE inhrelid IN"
        " (SELECT indexrelid FROM pg_index WHERE indrelid = 'entries_20260303'::regclass)"
    ).fetchone()[0]
    assert attached == 4
    assert check_constraints(pg_conn, "entries_20260303") == ENTRY_CHECKS


def test_a_duplicate_inside_a_new_days_file_is_refused_and_nothing_stays(
    ledger: Ledger, pg_conn
) -> None:
    """On the new-day path the key is checked by the unique index build."""
    with pytest.raises(DuplicateError) as info:
        record_file(ledger, entries_frame(traces(1, 2) + traces(2, 1)), effective=DAY)
    assert info.value.constraint == "entries_trace_effective_key"
    assert "is duplicated" in str(info.value)
    assert "entries_20260303" not in _partitions(pg_conn)
    assert _count(pg_conn, "outbound_files") == 0
    assert _count(pg_conn, "entries") == 0


def test_a_second_file_for_a_day_goes_into_its_partition(ledger: Ledger, pg_conn) -> None:
    record_file(ledger, entries_frame(traces(1, 2)), effective=DAY, name="one")
    record_file(ledger, entries_frame(traces(3, 2)), effective=DAY, name="two")
    assert [p for p in _partitions(pg_conn) if p != "entries_default"] == ["entries_20260303"]
    assert _count(pg_conn, "entries_20260303") == 4
    # the same trace on another day is another entry
    record_file(ledger, entries_frame(traces(1, 1)), effective=date(2026, 3, 4), name="three")
    assert _count(pg_conn, "entries_20260304") == 1
    assert ledger.entries_frame().get_column("trace_number").to_list() == [
        *traces(1, 4),
        *traces(1, 1),
    ]


def test_a_file_with_two_effective_dates_fills_two_partitions(ledger: Ledger, pg_conn) -> None:
    first = entries_frame(traces(1, 2))
    second = entries_frame(traces(3, 2), batch_number=2)
    batches = pl.concat(
        [
            _batch(1, date(2026, 3, 3)),
            _batch(2, date(2026, 3, 5)),
        ]
    )
    modifier = ledger.allocate_file_id_modifier(" 123456789", " 091000019", DAY)
    from pipeline.store import OutboundFile

    ledger.record_outbound_file(
        OutboundFile(
            file_name="two-days",
            content=b"two-days",
            immediate_origin=" 123456789",
            immediate_destination=" 091000019",
            creation_date=DAY,
            file_id_modifier=modifier,
        ),
        batches,
        pl.concat([first, second]),
    )
    assert _count(pg_conn, "entries_20260303") == 2
    assert _count(pg_conn, "entries_20260305") == 2
    dates = pg_conn.execute(
        "SELECT trace_number, effective_date FROM entries ORDER BY trace_number"
    ).fetchall()
    assert dates == [
        (traces(1, 1)[0], date(2026, 3, 3)),
        (traces(2, 1)[0], date(2026, 3, 3)),
        (traces(3, 1)[0], date(2026, 3, 5)),
        (traces(4, 1)[0], date(2026, 3, 5)),
    ]


def _batch(number: int, effective: date) -> pl.DataFrame:
    from tests.pipeline._ledger_samples import batches_frame

    return batches_frame(effective=effective, batch_number=number)


def test_a_day_with_rows_in_the_default_partition_is_loaded_through_it(
    ledger: Ledger, pg_conn
) -> None:
    """Rows written by hand for a day without a partition land in entries_default; the loader
    then does not attach a partition for that day (ATTACH would fail) but loads through it."""
    record_file(ledger, entries_frame(traces(1, 1)), effective=DAY, name="one")
    pg_conn.execute(
        "INSERT INTO entries (outbound_file_id, batch_id, trace_number, company_id, sec_code,"
        " transaction_code, amount_cents, effective_date, rdfi_routing, account_ciphertext,"
        " account_hash, account_last4)"
        " SELECT outbound_file_id, batch_id, %s, company_id, sec_code, transaction_code,"
        " amount_cents, date '2026-03-09', rdfi_routing, account_ciphertext, account_hash,"
        " account_last4 FROM entries LIMIT 1",
        (traces(5, 1)[0],),
    )
    assert _count(pg_conn, "entries_default") == 1
    assert days_with_rows_elsewhere(pg_conn, [date(2026, 3, 9), date(2026, 3, 10)]) == {
        date(2026, 3, 9)
    }
    with pytest.raises(DuplicateError) as info:
        record_file(ledger, entries_frame(traces(5, 1)), effective=date(2026, 3, 9), name="dup")
    assert info.value.constraint == "entries_trace_effective_key"
    record_file(ledger, entries_frame(traces(6, 2)), effective=date(2026, 3, 9), name="two")
    assert _count(pg_conn, "entries_default") == 3
    assert "entries_20260309" not in _partitions(pg_conn)


def test_entry_references_are_checked_and_entries_never_deleted(ledger: Ledger, pg_conn) -> None:
    record_file(ledger, entries_frame(traces(1, 1)), effective=DAY)
    entry_id = pg_conn.execute("SELECT id FROM entries").fetchone()[0]
    insert = (
        "INSERT INTO returns (trace_number, original_trace_number, return_code, kind, category,"
        " amount_cents, received_date, entry_id) VALUES (%s, %s, 'R01', 'return', 'x', 1,"
        " date '2026-03-05', %s)"
    )
    pg_conn.execute(insert, ("091000010000001", traces(1, 1)[0], entry_id))
    with pytest.raises(psycopg.errors.ForeignKeyViolation) as info:
        pg_conn.execute(insert, ("091000010000002", traces(1, 1)[0], entry_id + 1000))
    assert info.value.diag.constraint_name == "returns_entry_id_fkey"
    with pytest.raises(psycopg.errors.ForeignKeyViolation, match="never deleted"):
        pg_conn.execute("DELETE FROM entries WHERE id = %s", (entry_id,))
    with pytest.raises(psycopg.errors.ForeignKeyViolation, match="never deleted"):
        pg_conn.execute("DELETE FROM entries_20260303")
    assert _count(pg_conn, "entries") == 1


def test_entries_of_unknown_batches_are_refused_before_any_copy(ledger: Ledger, pg_conn) -> None:
    from pipeline.store.entries_load import load_entries

    record_file(ledger, entries_frame(traces(1, 1)), effective=DAY)
    row = pg_conn.execute("SELECT * FROM entries").fetchone()
    names = [d.name for d in pg_conn.execute("SELECT * FROM entries LIMIT 0").description]
    frame = pl.DataFrame([dict(zip(names, row, strict=True))]).drop("id")
    frame = frame.with_columns(
        pl.lit(traces(2, 1)[0]).alias("trace_number"),
        pl.lit(date(2026, 3, 6)).alias("effective_date"),
        (pl.col("batch_id") + 99).alias("batch_id"),
    )
    refused = pytest.raises(StoreIntegrityError, match="not a batch of outbound file")
    with refused as info, pg_conn.transaction():
        load_entries(pg_conn, frame, columns=frame.columns)
    assert info.value.constraint == "entries_batch_file_check"
    assert "entries_20260306" not in _partitions(pg_conn)


def test_migration_keeps_the_entries_recorded_before_it(
    pg_empty: psycopg.Connection, account_protector, tmp_path: Path
) -> None:
    sql_dir = migrate_all_but(pg_empty, ENTRIES_PARTITIONED, tmp_path)
    ledger = Ledger(pg_empty, account_protector)
    record_file(ledger, entries_frame(traces(1, 3)), effective=DAY, name="before.ach")
    entry_id = pg_empty.execute("SELECT min(id) FROM entries").fetchone()[0]
    pg_empty.execute(
        "INSERT INTO returns (trace_number, original_trace_number, return_code, kind, category,"
        " amount_cents, received_date, entry_id) VALUES ('091000010000001', %s, 'R01',"
        " 'return', 'x', 1, date '2026-03-05', %s)",
        (traces(1, 1)[0], entry_id),
    )

    for name in ENTRIES_MIGRATIONS:
        shutil.copy(SQL_DIR / name, sql_dir / name)
    assert [m.version for m in migrate(pg_empty, sql_dir=sql_dir)] == [70, 71, 72]

    parts = _partitions(pg_empty)
    assert parts["entries_legacy"] == "FOR VALUES FROM (MINVALUE) TO ('2026-03-04')"
    assert _count(pg_empty, "entries_legacy") == 3
    legacy_key = pg_empty.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = 'entries_legacy'::regclass AND contype = 'p'"
    ).fetchone()
    assert legacy_key == (
        "entries_trace_effective_key_legacy",
        "PRIMARY KEY (trace_number, effective_date)",
    )
    # the views read the partitioned table; the return still finds its entry
    assert pg_empty.execute("SELECT count(*) FROM rate_counted_returns").fetchone() == (1,)
    # a day inside the old range goes into the old partition, its key still refusing repeats
    with pytest.raises(DuplicateError) as info:
        record_file(ledger, entries_frame(traces(3, 1)), effective=DAY, name="again.ach")
    assert info.value.constraint == "entries_trace_effective_key"
    record_file(ledger, entries_frame(traces(4, 1)), effective=DAY, name="more.ach")
    assert _count(pg_empty, "entries_legacy") == 4
    # a later day gets its own partition
    record_file(ledger, entries_frame(traces(1, 2)), effective=date(2026, 3, 4), name="new.ach")
    assert _count(pg_empty, "entries_20260304") == 2
    assert _count(pg_empty, "entries") == 6


@pytest.mark.parametrize("style", ["ISO, MDY", "SQL, DMY", "German", "Postgres, MDY"])
def test_known_days_are_found_under_any_datestyle(ledger: Ledger, pg_conn, style: str) -> None:
    """Partition bounds are printed in the session's DateStyle; they are compared in SQL, so a
    day's partition is found whatever the style (else ATTACH would fail on an overlap)."""
    record_file(ledger, entries_frame(traces(1, 1)), effective=date(2026, 3, 13), name="one")
    pg_conn.execute(f"SET DateStyle = '{style}'")
    days = [date(2026, 3, 12), date(2026, 3, 13), date(2026, 3, 14)]
    assert days_with_rows_elsewhere(pg_conn, days) == {date(2026, 3, 13)}
    record_file(ledger, entries_frame(traces(2, 1)), effective=date(2026, 3, 13), name="two")
    assert _count(pg_conn, "entries_20260313") == 2
