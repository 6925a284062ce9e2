"""Debits still inside a return window, and return/NOC deadlines (banking-calendar.md §6).

A debit can come back until its return window closes: 2 banking days after settlement for
corporate SEC codes (CCD, CTX), and the banking day after the 60th calendar day for consumer
SEC codes (unauthorized returns R05/R07/R10/R11 have the extended window). Buckets by age:
"0-2 banking days" while the standard window is open, "3-60 calendar days" afterwards.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from reconcile import codes
from reconcile.calendar import add_banking_days
from reconcile.match import first_distinct
from reconcile.schemas import EXPOSURE_SCHEMA

#: SEC codes whose debits have only the 2-banking-day window (no consumer 60-day returns).
CORPORATE_SEC_CODES: frozenset[str] = frozenset({"CCD", "CTX"})
#: The NOC change must be applied within this many banking days of receipt.
NOC_DEADLINE_BANKING_DAYS = 6


def with_return_deadline(lf: pl.LazyFrame, *, settlement: str, code: str, out: str) -> pl.LazyFrame:
    """Add ``out``: the last day a timely return with ``code`` can arrive for ``settlement``."""
    lf = add_banking_days(lf, settlement, 2, out="_std")
    lf = lf.with_columns(_s60=pl.col(settlement) + pl.duration(days=60))
    lf = add_banking_days(lf, "_s60", 1, out="_ext")
    return lf.with_columns(
        pl.when(codes.extended_window_expr(code))
        .then(pl.col("_ext"))
        .otherwise(pl.col("_std"))
        .alias(out)
    ).drop("_std", "_s60", "_ext")


def with_noc_deadline(lf: pl.LazyFrame, *, received: str, out: str) -> pl.LazyFrame:
    """Add ``out``: the date by which the change must be applied (6 banking days)."""
    return add_banking_days(lf, received, NOC_DEADLINE_BANKING_DAYS, out=out)


def exposure(entries: pl.LazyFrame, returns: pl.LazyFrame, *, as_of: dt.date) -> pl.LazyFrame:
    """Forward debits not returned whose return window is still open on ``as_of``.

    ``entries``: ``ENTRIES_SCHEMA`` (or ``RATE_ENTRIES_SCHEMA`` plus ``reference``);
    ``returns``: needs ``original_trace_number``. Output: ``EXPOSURE_SCHEMA``.
    """
    schema = entries.collect_schema()
    ent = entries
    if "is_offset" in schema:
        ent = ent.filter(~pl.col("is_offset").fill_null(False))
    if "reference" not in schema:
        ent = ent.with_columns(pl.lit(None, dtype=pl.String).alias("reference"))
    returned = returns.select(pl.col("original_trace_number").alias("trace_number")).unique()
    ent = (
        ent.filter(codes.is_forward_debit_expr("transaction_code"))
        .filter(first_distinct("trace_number"))
        .join(returned, on="trace_number", how="anti")
        .with_columns(settlement_date=pl.coalesce("settlement_date", "effective_date"))
    )
    ent = add_banking_days(ent, "settlement_date", 2, out="std_close")
    ent = ent.with_columns(_s60=pl.col("settlement_date") + pl.duration(days=60))
    ent = add_banking_days(ent, "_s60", 1, out="ext_close")
    corporate = pl.col("sec_code").is_in(list(CORPORATE_SEC_CODES))
    closes = pl.when(corporate).then(pl.col("std_close")).otherwise(pl.col("ext_close"))
    today = pl.lit(as_of)
    return (
        ent.with_columns(window_closes=closes)
        .filter(pl.col("window_closes") >= today)
        .with_columns(
            window=pl.when(today <= pl.col("std_close"))
            .then(pl.lit("0-2 banking days"))
            .otherwise(pl.lit("3-60 calendar days")),
            days_left=(pl.col("window_closes") - today).dt.total_days(),
        )
        .select([pl.col(n).cast(t) for n, t in EXPOSURE_SCHEMA.items()])
    )


def exposure_summary(exposure_frame: pl.LazyFrame) -> pl.LazyFrame:
    """Count and dollars at risk per window bucket, and in total."""
    by = exposure_frame.group_by("window").agg(
        count=pl.len().cast(pl.Int64), amount_cents=pl.col("amount_cents").sum()
    )
    total = exposure_frame.select(
        pl.lit("total").alias("window"),
        pl.len().cast(pl.Int64).alias("count"),
        pl.col("amount_cents").sum().alias("amount_cents"),
    )
    return pl.concat([by.sort("window"), total])
