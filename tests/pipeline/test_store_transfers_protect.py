"""Transfer upserts protect only the values that are really there (column-wise)."""

from __future__ import annotations

import polars as pl
import psycopg
import pytest

from pipeline.store import Ledger, StoreError


def _frame(accounts: list[str | None], noc: list[str | None]) -> pl.DataFrame:
    n = len(accounts)
    return pl.DataFrame(
        {
            "cfi_transaction_id": [f"T{i}" for i in range(n)],
            "status": ["Sent"] * n,
            "amount_cents": [100] * n,
            "account_number": accounts,
            "noc_code": ["C01" if d else None for d in noc],
            "noc_corrected_data": noc,
        },
        schema_overrides={"account_number": pl.String, "noc_corrected_data": pl.String},
    )


def test_masked_accounts_and_no_corrected_data_need_no_key(pg_conn: psycopg.Connection) -> None:
    ledger = Ledger(pg_conn, None)
    assert ledger.upsert_transfers(_frame(["****6789", None, " **12 ", ""], [None] * 4)) == 4
    rows = pg_conn.execute(
        "SELECT account_last4, account_hash, noc_corrected_masked FROM transfers ORDER BY 1"
    ).fetchall()
    assert rows == [("", None, None), ("**12", None, None), ("6789", None, None), (None,) * 3]
    with pytest.raises(StoreError, match="AccountProtector"):
        ledger.upsert_transfers(_frame(["123456789"], [None]))
    with pytest.raises(StoreError, match="AccountProtector"):
        ledger.upsert_transfers(_frame(["****6789"], ["99988877766"]))


def test_mixed_rows_protect_only_present_values(ledger: Ledger, pg_conn) -> None:
    frame = _frame(["123456789", "****4321", None], [None, "99988877766", None])
    assert ledger.upsert_transfers(frame) == 3
    rows = pg_conn.execute(
        "SELECT cfi_transaction_id, account_last4, account_hash IS NOT NULL,"
        " account_ciphertext IS NOT NULL, noc_corrected_masked,"
        " noc_corrected_ciphertext IS NOT NULL FROM transfers ORDER BY 1"
    ).fetchall()
    assert rows == [
        ("T0", "6789", True, True, None, False),
        ("T1", "4321", False, False, "*******7766", True),
        ("T2", None, False, False, None, False),
    ]
    assert ledger.protector is not None
    ct = pg_conn.execute(
        "SELECT noc_corrected_ciphertext FROM transfers WHERE cfi_transaction_id = 'T1'"
    )
    assert ledger.protector.decrypt_corrected_data(ct.fetchone()[0]) == "99988877766"
