"""Columns with one value in every row of a load (effective date, file, often company and SEC
code) are not sent in the COPY: the fresh day table fills them in from DEFAULTs set for the
COPY only (pipeline/store/entries_tables.py). What lands must be what was asked for, batch by
batch, and no DEFAULT may stay behind on any table of entries."""

from __future__ import annotations

from datetime import date

import polars as pl
import psycopg
import pytest

from pipeline.store import Ledger, entries_load
from pipeline.store.entries_tables import constant_columns
from tests.pipeline._ledger_samples import batches_frame, entries_frame, record_batches, traces

DAY = date(2026, 3, 3)


def _record_two_batches(ledger: Ledger, companies: tuple[str, str], secs: tuple[str, str]) -> int:
    """One file of two batches (3 entries each) for DAY, with the given company ids and SEC
    codes; returns the file id."""
    batches = pl.concat(
        [
            batches_frame(
                company_id=companies[n], sec_code=secs[n], effective=DAY, batch_number=n + 1
            )
            for n in range(2)
        ]
    )
    entries = pl.concat(
        [
            entries_frame(traces(1, 3), batch_number=1),
            entries_frame(traces(4, 3), batch_number=2).with_columns(
                pl.col("account_number").str.replace("^9", "8"),
                pl.col("reference").str.replace("^REF", "REFB"),
            ),
        ]
    )
    return record_batches(ledger, batches, entries, creation=DAY, name=f"two-{companies}-{secs}")


def _defaults_in_entries(conn: psycopg.Connection) -> list[tuple[str, str]]:
    """(table, column) of every column DEFAULT in entries' partition tree but id's."""
    return conn.execute(
        "SELECT c.relname, a.attname FROM pg_partition_tree('entries') t"
        " JOIN pg_class c ON c.oid = t.relid"
        " JOIN pg_attrdef d ON d.adrelid = t.relid"
        " JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum"
        " WHERE a.attname <> 'id' ORDER BY 1, 2"
    ).fetchall()


@pytest.mark.parametrize("in_parts", [False, True], ids=["one-table", "in-parts"])
@pytest.mark.parametrize(
    ("companies", "secs"),
    [
        (("1234567890", "1234567890"), ("PPD", "PPD")),  # all four columns constant
        (("1234567890", "9876543210"), ("PPD", "CCD")),  # company and SEC sent per row
    ],
    ids=["all-constant", "per-batch"],
)
def test_what_lands_is_each_batchs_company_sec_file_and_day(
    ledger: Ledger,
    pg_conn: psycopg.Connection,
    monkeypatch: pytest.MonkeyPatch,
    in_parts: bool,
    companies: tuple[str, str],
    secs: tuple[str, str],
) -> None:
    if in_parts:
        monkeypatch.setattr(entries_load, "PARALLEL_MIN_ROWS", 4)
    file_id = _record_two_batches(ledger, companies, secs)

    rows = pg_conn.execute(
        "SELECT e.trace_number, e.company_id, e.sec_code, e.outbound_file_id, e.effective_date,"
        "       b.company_id, b.sec_code"
        " FROM entries e JOIN batches b ON b.id = e.batch_id ORDER BY e.trace_number"
    ).fetchall()
    assert [r[0] for r in rows] == traces(1, 6)
    for _, company, sec, loaded_file, day, batch_company, batch_sec in rows:
        assert (company, sec, loaded_file, day) == (batch_company, batch_sec, file_id, DAY)
    assert {(r[1], r[2]) for r in rows} == set(zip(companies, secs, strict=True))
    assert _defaults_in_entries(pg_conn) == []
    parts = pg_conn.execute(
        "SELECT count(*) FROM pg_partition_tree('entries_20260303') WHERE isleaf"
    ).fetchone()[0]
    assert parts == (2 if in_parts else 1)


def test_constant_columns_are_the_candidates_with_one_non_null_value() -> None:
    frame = pl.DataFrame(
        {
            "effective_date": [DAY, DAY, DAY],
            "outbound_file_id": [7, 7, 7],
            "company_id": ["1234567890", "1234567890", None],  # a null: sent per row
            "sec_code": ["PPD", "CCD", "PPD"],  # two values: sent per row
            "transaction_code": [27, 27, 27],  # constant, but not a candidate
        }
    )
    columns = frame.columns
    assert constant_columns(frame, columns) == {"effective_date": DAY, "outbound_file_id": 7}
    # a candidate the COPY does not load is never filled in
    assert constant_columns(frame, ["outbound_file_id", "sec_code"]) == {"outbound_file_id": 7}
    assert constant_columns(frame.clear(), columns) == {}
