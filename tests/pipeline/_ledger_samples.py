"""Small hand-made files for the ledger tests (one place, so each test reads as a story)."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import polars as pl
import psycopg

from pipeline.store import SQL_DIR, Ledger, OutboundFile, migrate

ORIGIN = " 123456789"
DEST = " 091000019"


def batches_frame(
    *,
    company_id: str = "1234567890",
    sec_code: str = "PPD",
    effective: date,
    settlement: date | None = None,
    batch_number: int = 1,
) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "settlement_date": pl.Series([settlement], dtype=pl.Date),
            "batch_number": [batch_number],
            "service_class_code": [200],
            "company_name": ["ACME CORP"],
            "company_id": [company_id],
            "sec_code": [sec_code],
            "company_entry_description": ["PAYMENT"],
            "effective_date": [effective],
        }
    )


def entries_frame(
    traces: list[str],
    *,
    codes: list[int] | None = None,
    amounts: list[int] | None = None,
    accounts: list[str] | None = None,
    batch_number: int = 1,
) -> pl.DataFrame:
    n = len(traces)
    return pl.DataFrame(
        {
            "batch_number": [batch_number] * n,
            "trace_number": traces,
            "transaction_code": codes or [27] * n,
            "amount_cents": amounts or [1000 + i for i in range(n)],
            "rdfi_routing": ["091000019"] * n,
            "account_number": accounts or [f"98765432{i:04d}" for i in range(n)],
            "reference": [f"REF{i}" for i in range(n)],
            "individual_name": [f"PERSON {i}" for i in range(n)],
        }
    )


def traces(start: int, n: int, *, odfi: str = "12345678") -> list[str]:
    return [f"{odfi}{start + i:07d}" for i in range(n)]


def record_file(
    ledger: Ledger,
    entries: pl.DataFrame,
    *,
    effective: date,
    creation: date | None = None,
    company_id: str = "1234567890",
    sec_code: str = "PPD",
    settlement: date | None = None,
    name: str | None = None,
) -> int:
    """Allocate a modifier and record one file with one batch holding ``entries``."""
    batches = batches_frame(
        company_id=company_id, sec_code=sec_code, effective=effective, settlement=settlement
    )
    return record_batches(ledger, batches, entries, creation=creation or effective, name=name)


def record_batches(
    ledger: Ledger,
    batches: pl.DataFrame,
    entries: pl.DataFrame,
    *,
    creation: date,
    name: str | None = None,
) -> int:
    """Allocate a modifier and record one file of ``batches`` holding ``entries``."""
    modifier = ledger.allocate_file_id_modifier(ORIGIN, DEST, creation)
    first = entries.get_column("trace_number")[0] if entries.height else ""
    content = f"{name or 'file'}-{creation}-{modifier}-{first}-{entries.height}".encode()
    return ledger.record_outbound_file(
        OutboundFile(
            file_name=name or f"ACH_{creation:%Y%m%d}_{modifier}.ach",
            content=content,
            immediate_origin=ORIGIN,
            immediate_destination=DEST,
            creation_date=creation,
            file_id_modifier=modifier,
        ),
        batches,
        entries,
    )


#: The migrations of the partitioned entries table, each building on the one before it.
ENTRIES_PARTITIONED, DAY_PARTS_KEY, NATURAL_KEY = ENTRIES_MIGRATIONS = (
    "0070_entries_partitioned_by_effective_date.sql",
    "0071_entries_day_parts_key.sql",
    "0072_entries_natural_key.sql",
)


def migrate_all_but(conn: psycopg.Connection, migration: str, work: Path) -> Path:
    """Migrate ``conn`` with every migration except ``migration`` and those of
    :data:`ENTRIES_MIGRATIONS` numbered after it, which reshape the table it changes (a copy
    of sql/ under ``work``): a ledger as it was before that migration shipped. Returns the
    copy, to which the test puts the migrations back and migrates again."""
    left_out = [migration, *(later for later in ENTRIES_MIGRATIONS if later > migration)]
    sql_dir = work / "sql"
    shutil.copytree(SQL_DIR, sql_dir)
    for name in left_out:
        (sql_dir / name).unlink()
    migrate(conn, sql_dir=sql_dir)
    return sql_dir


#: The CHECKs every entries partition carries: the parent's, none of the loader's bound CHECKs
#: (those only spare ATTACH its scan and are dropped after it).
ENTRY_CHECKS = [
    "entries_account_hash_check",
    "entries_account_last4_check",
    "entries_amount_cents_check",
    "entries_trace_number_check",
    "entries_transaction_code_check",
]


def check_constraints(conn: psycopg.Connection, table: str) -> list[str]:
    """The names of ``table``'s CHECK constraints, sorted."""
    rows = conn.execute(
        "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'c'"
        " ORDER BY 1",
        (table,),
    ).fetchall()
    return [name for (name,) in rows]
