"""Pairing rows of two frames: trace number first, then our reference, then the processor id.

Matching is one-to-one and greedy by key priority: a pair found on the trace number is final,
and only the rows left over keep a pair found by the reference, then by the processor id.
Within a stage a key that repeats on either side pairs only its first row (duplicates are
classified before matching, so this only matters for dirty data). Each stage may carry a
date window: a pair whose dates are too far apart is not a match, and both rows stay
available for later stages. Limitation with dirty data: a lower-priority candidate that
loses its left row to an earlier key still claims its right row.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import polars as pl

#: Key priority used everywhere (issue 7): trace number, our reference, the processor id.
KEY_ORDER: tuple[str, ...] = ("trace_number", "reference", "cfi_transaction_id")


@dataclass(frozen=True, slots=True)
class DateWindow:
    """``right_date - left_date`` must lie in ``[min_days, max_days]`` (calendar days)."""

    left: str
    right: str
    min_days: int
    max_days: int

    def expr(self) -> pl.Expr:
        diff = (pl.col(self.right) - pl.col(self.left)).dt.total_days()
        # A missing date cannot prove a pair wrong: the key already matched exactly.
        return diff.is_null() | diff.is_between(self.min_days, self.max_days)


def pair(
    left: pl.LazyFrame,
    right: pl.LazyFrame,
    *,
    left_id: str,
    right_id: str,
    keys: Sequence[str | tuple[str, str]] = KEY_ORDER,
    window: DateWindow | None = None,
    left_unique: Collection[str] = (),
    right_unique: Collection[str] = (),
) -> pl.LazyFrame:
    """Pairs ``(left_id, right_id, match_rule)`` found by the key cascade.

    ``keys`` items are a column present on both sides, or ``(left_column, right_column)``.
    ``match_rule`` names the left column that matched. Window columns must exist on both
    sides under the names given in ``window``. ``left_unique``/``right_unique`` name key
    columns the caller has already made unique (duplicates classified out): the cascade
    skips de-duplicating them, which is most of its cost on a million rows.

    Every stage's candidate pairs are found independently (one join per key, so the plan
    stays flat), then resolved greedily in key priority: a row already paired by an
    earlier key is not paired again. A candidate that lost its right row to an earlier key
    does not block its left row from a later key.
    """
    candidates: list[pl.LazyFrame] = []
    for priority, key in enumerate(keys):
        lkey, rkey = (key, key) if isinstance(key, str) else key
        lcols = [left_id, lkey] + ([window.left] if window else [])
        rcols = [right_id, rkey] + ([window.right] if window else [])
        lside = left.select(lcols).filter(pl.col(lkey).is_not_null())
        rside = right.select(rcols).filter(pl.col(rkey).is_not_null())
        if lkey not in left_unique:
            lside = lside.filter(pl.col(lkey).is_first_distinct())
        if rkey not in right_unique:
            rside = rside.filter(pl.col(rkey).is_first_distinct())
        joined = lside.join(rside, left_on=lkey, right_on=rkey, how="inner", suffix="_r")
        if window is not None:
            joined = joined.filter(window.expr())
        candidates.append(
            joined.select(
                pl.col(left_id),
                pl.col(right_id),
                pl.lit(priority, dtype=pl.Int8).alias("_p"),
                pl.lit(lkey, dtype=pl.String).alias("match_rule"),
            )
        )
    if not candidates:
        return pl.LazyFrame(schema={left_id: pl.Int64, right_id: pl.Int64, "match_rule": pl.String})
    # Stages are concatenated in priority order (and a key pairs at most once per stage), so
    # "first occurrence" is "highest priority": no sort needed.
    both = pl.concat(candidates, how="vertical", rechunk=False)
    # A right row goes to its highest-priority candidate; then each left row keeps its first.
    both = both.filter(pl.col(right_id).is_first_distinct())
    both = both.filter(pl.col(left_id).is_first_distinct())
    return both.select(left_id, right_id, "match_rule")


def first_of(columns: Sequence[str]) -> pl.Expr:
    """True for a row whose non-null values in ``columns`` were not seen on an earlier row.

    A row is a duplicate when any one of the given keys repeats an earlier row's non-null
    value; null keys never make a duplicate.
    """
    seen = pl.lit(False)
    for name in columns:
        seen = seen | (pl.col(name).is_not_null() & ~pl.col(name).is_first_distinct())
    return ~seen
