"""Tiny builders for hand-made reconciliation inputs (only the columns a test cares about)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import polars as pl

from reconcile.schemas import (
    API_SCHEMA,
    ENTRIES_SCHEMA,
    LEDGER_SCHEMA,
    NOCS_SCHEMA,
    RETURNS_SCHEMA,
    conform,
)

D = dt.date


def frame(rows: Sequence[dict[str, Any]], schema: pl.Schema) -> pl.LazyFrame:
    """Rows (dicts with any subset of the schema's columns) → a conformed LazyFrame."""
    if not rows:
        return pl.LazyFrame(schema=schema)
    cols = {name: [r.get(name) for r in rows] for name in schema}
    return conform(pl.DataFrame(cols, schema=schema), schema)


def ledger(*rows: dict[str, Any]) -> pl.LazyFrame:
    base = {
        "company_id": "1234567890",
        "sec_code": "PPD",
        "direction": "debit",
        "effective_date": D(2026, 3, 10),
    }
    return frame([{**base, **r} for r in rows], LEDGER_SCHEMA)


def entries(*rows: dict[str, Any]) -> pl.LazyFrame:
    base = {
        "company_id": "1234567890",
        "sec_code": "PPD",
        "transaction_code": 27,
        "effective_date": D(2026, 3, 10),
        "settlement_date": D(2026, 3, 10),
        "file_id": "F1",
        "batch_number": 1,
        "is_offset": False,
    }
    return frame([{**base, **r} for r in rows], ENTRIES_SCHEMA)


def api(*rows: dict[str, Any]) -> pl.LazyFrame:
    base = {"status": "Settled", "direction": "debit", "effective_date": D(2026, 3, 10)}
    return frame([{**base, **r} for r in rows], API_SCHEMA)


def returns(*rows: dict[str, Any]) -> pl.LazyFrame:
    base = {"return_date": D(2026, 3, 12)}
    return frame([{**base, **r} for r in rows], RETURNS_SCHEMA)


def nocs(*rows: dict[str, Any]) -> pl.LazyFrame:
    base = {"received_date": D(2026, 3, 12)}
    return frame([{**base, **r} for r in rows], NOCS_SCHEMA)
