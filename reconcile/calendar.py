"""Banking-day arithmetic over whole date columns.

The rules (weekends, Fed holidays, Sunday→Monday observance, Saturday holidays remove no
weekday) are ``nacha.calendar``'s; this module turns them into one cached table of every
day in the supported range with a running count of banking days, so that "settlement date +
2 banking days" for a million entries is two joins, not a million Python calls.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import polars as pl

from nacha.calendar import FED_CALENDAR, BankingCalendar

#: Days covered by the table; dates outside it are a ValueError at the edges of use.
CALENDAR_START = dt.date(2000, 1, 1)
CALENDAR_END = dt.date(2099, 12, 31)


def is_banking_day(d: dt.date) -> bool:
    """The banking calendar's answer (``nacha.calendar``, Fed rules)."""
    return FED_CALENDAR.is_banking_day(d)


@lru_cache(maxsize=4)
def calendar_table(calendar: BankingCalendar = FED_CALENDAR) -> pl.DataFrame:
    """Every day in range: ``day``, ``is_banking`` and ``banking_ordinal``.

    ``banking_ordinal`` counts banking days up to and including ``day`` (so the previous
    banking day of a holiday shares its ordinal).
    """
    days = pl.date_range(CALENDAR_START, CALENDAR_END, "1d", eager=True)
    flags = [calendar.is_banking_day(d) for d in days.to_list()]
    return pl.DataFrame({"day": days, "is_banking": flags}).with_columns(
        banking_ordinal=pl.col("is_banking").cast(pl.Int32).cum_sum()
    )


@lru_cache(maxsize=1)
def _by_ordinal() -> pl.DataFrame:
    return (
        calendar_table()
        .filter(pl.col("is_banking"))
        .select(pl.col("banking_ordinal"), pl.col("day").alias("_bd"))
    )


def add_banking_days(lf: pl.LazyFrame, column: str, n: int | str, *, out: str) -> pl.LazyFrame:
    """Add column ``out`` = the ``n``-th banking day after ``column`` (``n`` ≥ 1).

    ``n`` is a constant or the name of an integer column. A null date gives a null result.
    """
    cal = calendar_table().lazy().select(pl.col("day"), pl.col("banking_ordinal"))
    steps = pl.col(n) if isinstance(n, str) else pl.lit(n)
    return (
        lf.join(
            cal.rename({"day": column, "banking_ordinal": "_ord"}),
            on=column,
            how="left",
            maintain_order="left",
        )
        .with_columns(_target=(pl.col("_ord") + steps).cast(pl.Int32))
        .join(
            _by_ordinal().lazy().rename({"banking_ordinal": "_target"}),
            on="_target",
            how="left",
            maintain_order="left",
        )
        .rename({"_bd": out})
        .drop("_ord", "_target")
    )


def next_banking_day(d: dt.date) -> dt.date:
    """The first banking day strictly after ``d``."""
    d += dt.timedelta(days=1)
    while not is_banking_day(d):
        d += dt.timedelta(days=1)
    return d


def add_banking_days_scalar(d: dt.date, n: int) -> dt.date:
    """The ``n``-th banking day after ``d`` (``n`` ≥ 1)."""
    for _ in range(n):
        d = next_banking_day(d)
    return d


__all__ = [
    "CALENDAR_END",
    "CALENDAR_START",
    "add_banking_days",
    "add_banking_days_scalar",
    "calendar_table",
    "is_banking_day",
    "next_banking_day",
]
