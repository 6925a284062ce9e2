"""Our return rates against the API's ``/return-rates`` figures (connectfi-ach.md §7).

The two will differ when window edges or counting differ; a difference above the tolerance
(default 0.01 percentage points) is a break the compliance page shows, as is an originator
one side has and the other has not.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from reconcile.rates import MEASURES
from reconcile.schemas import RATE_COMPARISON_SCHEMA

#: Percentage points; differences strictly above it are breaks.
DEFAULT_TOLERANCE_PP = 0.01


def compare_rates(
    ours: pl.LazyFrame,
    api: pl.LazyFrame,
    *,
    report_date: dt.date,
    tolerance_pp: float = DEFAULT_TOLERANCE_PP,
) -> pl.LazyFrame:
    """One row per (originator, measure): ours vs the API's (``RATE_COMPARISON_SCHEMA``).

    ``ours``: ``RATES_SCHEMA`` (originator rows, ``sec_code`` null, are used);
    ``api``: ``API_RATES_SCHEMA`` rows for ``report_date``.
    """
    mine = ours.filter((pl.col("date") == report_date) & pl.col("sec_code").is_null()).select(
        "company_id",
        "measure",
        pl.col("rate_pct").alias("ours_pct"),
        pl.col("returns").alias("ours_returns"),
        pl.col("debits").alias("ours_debits"),
        pl.col("days_out_of_compliance").alias("ours_days_out_of_compliance"),
    )
    theirs = pl.concat(
        [
            api.filter(pl.col("date") == report_date).select(
                "company_id",
                pl.lit(m).alias("measure"),
                pl.col(f"{m}_rate_pct").alias("api_pct"),
                pl.col(f"{m}_returns").alias("api_returns"),
                pl.col("debit_entries").alias("api_debits"),
                pl.col(f"{m}_days_out_of_compliance").alias("api_days_out_of_compliance"),
            )
            for m in MEASURES
        ]
    )
    both = mine.join(theirs, on=["company_id", "measure"], how="full", coalesce=True)
    diff = pl.col("ours_pct") - pl.col("api_pct")
    # Compare in integer millionths of a point so 0.01 is exactly 0.01 (no float noise).
    over = (diff.abs() * 1_000_000).round(0) > round(tolerance_pp * 1_000_000)
    detail = (
        pl.when(pl.col("ours_pct").is_null())
        .then(pl.lit("the API reports an originator we have no entries for"))
        .when(pl.col("api_pct").is_null())
        .then(pl.lit("the API has no figure for this originator"))
        .when(over)
        .then(pl.format("differs by {} percentage points", diff.round(4)))
    )
    return (
        both.with_columns(
            date=pl.lit(report_date),
            difference_pp=diff,
            is_break=(pl.col("ours_pct").is_null() | pl.col("api_pct").is_null() | over).fill_null(
                True
            ),
            detail=detail,
        )
        .select([pl.col(n).cast(t) for n, t in RATE_COMPARISON_SCHEMA.items()])
        .sort("company_id", "measure")
    )
