"""Screening the day's transfers before the build (pipeline.actions.screen_transfers).

Creates a throwaway database on ``ACHPIPE_TEST_PG`` (default
postgresql://postgres@127.0.0.1:5432/test), migrates it, then screens N transfers twice:
first night (every payee enrolled: one INSERT + history row each), second night (payees
known, nothing to change). Prints rows/second. Figures are noisy on a shared machine.

    python bench/actions_screen.py [N]
"""

from __future__ import annotations

import base64
import os
import sys
import time
import uuid
from datetime import date
from urllib.parse import urlsplit, urlunsplit

import polars as pl
import psycopg
from psycopg import sql

from pipeline.actions import ActionsSettings, screen
from pipeline.secrets import Secret
from pipeline.store import AccountProtector, Ledger, migrate


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    admin = os.environ.get("ACHPIPE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
    name = f"achpipe_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    parts = urlsplit(admin)
    url = urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            migrate(conn)
            key = Secret(base64.b64encode(os.urandom(32)).decode(), source="bench")
            ledger = Ledger(conn, AccountProtector(key))
            frame = pl.DataFrame(
                {
                    "reference": [f"T{i:09d}" for i in range(n)],
                    "clientCode": ["ACME"] * n,
                    "effectiveEntryDate": [""] * n,
                    "standardEntryClassCode": ["PPD"] * n,
                    "individualName": ["JANE DOE"] * n,
                    "routingNumber": ["011000015"] * n,
                    "DFIAccountNumber": [f"{10**9 + i}" for i in range(n)],
                    "accountType": ["Checking"] * n,
                    "transactionType": ["Debit"] * n,
                    "amount": ["12.34"] * n,
                    "currency": ["USD"] * n,
                    "companyEntryDescription": ["PAYMENT"] * n,
                    "identificationNumber": [f"CUST{i:07d}" for i in range(n)],
                }
            )
            for label in ("first night (enrol every payee)", "second night (payees known)"):
                started = time.perf_counter()
                result = screen(ledger, frame, date(2026, 3, 4), settings=ActionsSettings())
                seconds = time.perf_counter() - started
                print(
                    f"{label}: {n:,} transfers in {seconds:.2f} s "
                    f"({n / seconds:,.0f}/s); {result.counts()}"
                )
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


if __name__ == "__main__":
    main()
