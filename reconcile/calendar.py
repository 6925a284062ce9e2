"""Banking-day arithmetic over whole date columns.

The rules (weekends, Fed holidays, Sunday→Monday observance, Saturday holidays remove no
weekday) are ``nacha.calendar``'s; this module turns them into one cached table of every
day in the supported range with a running count of banking days, so that "settlement date +
2 banking days" for a million entries is two gathers by position, not a million Python calls.
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
    # The columnar twin of ``calendar.is_banking_day``: the closures of each year once,
    # rather than once per day (36,525 days; this table is built in every process).
    years = range(CALENDAR_START.year, CALENDAR_END.year + 1)
    days = pl.date_range(CALENDAR_START, CALENDAR_END, "1d", eager=True).alias("day")
    return (
        pl.DataFrame(days)
        .with_columns(is_banking=calendar.is_banking_day_expr("day", years=years))
        .with_columns(banking_ordinal=pl.col("is_banking").cast(pl.Int32).cum_sum())
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

    ``n`` is a constant or the name of an integer column. A null date, or one outside
    ``CALENDAR_START``…``CALENDAR_END``, gives a null result.
    """
    steps = pl.col(n) if isinstance(n, str) else pl.lit(n)
    return lf.with_columns(banking_days_after(pl.col(column), steps).alias(out))


def banking_days_after(date: pl.Expr, steps: pl.Expr) -> pl.Expr:
    """The ``steps``-th banking day after ``date``, as an expression (no join).

    Two lookups by position in the calendar table: the date's banking ordinal at its day
    number since ``CALENDAR_START``, then the banking day of ``ordinal + steps`` (banking
    day ``k`` is row ``k - 1`` of the banking days). A join on the date would copy every
    column of the frame twice per call; on a million entries that was most of the exposure
    section's time.
    """
    ordinals = calendar_table()["banking_ordinal"]
    banking_days = _by_ordinal()["_bd"]
    day = (date - pl.lit(CALENDAR_START)).dt.total_days()
    ordinal = pl.lit(ordinals).gather(pl.when(day.is_between(0, ordinals.len() - 1)).then(day))
    target = ordinal.cast(pl.Int64) + steps - 1
    return pl.lit(banking_days).gather(
        pl.when(target.is_between(0, banking_days.len() - 1)).then(target)
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
    "banking_days_after",
    "calendar_table",
    "is_banking_day",
    "next_banking_day",
]
