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

from reconcile._align import not_in, scatter_sorted

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
            lside = lside.filter(first_distinct(lkey))
        if rkey not in right_unique:
            rside = rside.filter(first_distinct(rkey))
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


def pair_aligned(
    left: pl.LazyFrame,
    right: pl.LazyFrame,
    *,
    right_id: str,
    keys: Sequence[str | tuple[str, str]] = KEY_ORDER,
    window: DateWindow | None = None,
    left_unique: Collection[str] = (),
    right_unique: Collection[str] = (),
    rule: str | None = None,
) -> pl.LazyFrame:
    """``left`` with ``right_id`` (its paired right row, or null) added: the pairs of :func:`pair`.

    Same cascade and greedy resolution as :func:`pair`, but the result stays aligned with
    ``left`` (same rows, same order), so the caller can gather the paired right rows by
    position instead of joining the pairs back. ``rule`` names an optional output column
    with the left key column that matched. ``window.right`` names a column of ``right``.
    ``left`` is read twice (the joins use its key columns only): pass a cached frame.

    A right row goes to its highest-priority candidate, so a stage only looks at right rows
    no earlier stage named: on a clean day the later stages are nearly empty lookups. A key
    repeating on the left keeps only its first row's candidate: left rows sharing a key
    share the candidate, so that is the candidate id's first occurrence in left order (an
    integer test instead of a text one). Each left row then keeps its first stage.
    """
    lkeys = [k if isinstance(k, str) else k[0] for k in keys]
    lcols = list(dict.fromkeys(lkeys + ([window.left] if window is not None else [])))
    narrow = left.select(lcols).with_row_index(_POS)
    stages: list[pl.LazyFrame] = []  # (_POS, _ID) per stage, in left order
    for lkey, key in zip(lkeys, keys, strict=True):
        rkey = key if isinstance(key, str) else key[1]
        rcols = [pl.col(right_id).alias(_ID), pl.col(rkey).alias(_KEY)]
        lside = [pl.col(_POS), pl.col(lkey).alias(_KEY)]
        if window is not None:
            rcols.append(pl.col(window.right).alias(_RDATE))
            lside.append(pl.col(window.left).alias(_LDATE))
        rside = right.select(rcols).filter(pl.col(_KEY).is_not_null())
        if rkey not in right_unique:
            rside = rside.filter(first_distinct(_KEY))
        for earlier in stages:
            rside = not_in(rside, _ID, earlier, _ID)
        cand = (
            narrow.select(lside)
            .filter(pl.col(_KEY).is_not_null())
            .join(rside, on=_KEY, how="inner", maintain_order="left")
        )
        if lkey not in left_unique:
            cand = cand.filter(pl.col(_ID).is_first_distinct())
        if window is not None:
            cand = cand.filter(DateWindow(_LDATE, _RDATE, window.min_days, window.max_days).expr())
        stages.append(cand.select(_POS, _ID).cache())
    found = narrow.select(_POS)
    names = [f"_pair_c{i}" for i in range(len(stages))]
    for name, stage in zip(names, stages, strict=True):
        found = scatter_sorted(found, _POS, stage, _POS, {name: _ID})
    added = [
        (pl.coalesce(names) if names else pl.lit(None)).cast(pl.Int64).alias(right_id),
    ]
    if rule is not None:
        which = pl.lit(None, dtype=pl.String)
        for name, lkey in reversed(list(zip(names, lkeys, strict=True))):
            which = pl.when(pl.col(name).is_not_null()).then(pl.lit(lkey)).otherwise(which)
        added.append(which.alias(rule))
    return pl.concat([left, found.select(added)], how="horizontal")


_POS, _ID, _KEY, _LDATE, _RDATE = "_pair_pos", "_pair_id", "_pair_key", "_pair_ld", "_pair_rd"


def first_of(columns: Sequence[str]) -> pl.Expr:
    """True for a row whose non-null values in ``columns`` were not seen on an earlier row.

    A row is a duplicate when any one of the given keys repeats an earlier row's non-null
    value; null keys never make a duplicate.
    """
    seen = pl.lit(False)
    for name in columns:
        seen = seen | (pl.col(name).is_not_null() & ~first_distinct(name))
    return ~seen


def key_hash(key: pl.Expr) -> pl.Expr:
    """A ``UInt64`` hash of a key: equal keys hash equal, different keys almost never do.

    Only ever a first, cheap test: every decision is confirmed on the key itself. Module
    level so that tests can swap in a hash that collides on purpose.
    """
    return key.hash()


def first_distinct(column: str) -> pl.Expr:
    """Exactly ``pl.col(column).is_first_distinct()``, at about half the cost on text keys.

    A first-occurrence test on a million text keys fills a hash set of strings (about 0.1 s
    CPU). Their ``UInt64`` hashes are sorted instead (about 0.03 s; cheaper than a hash
    set of them, which grows by rehashing): a hash equal to its sorted neighbour marks the
    rows that *may* repeat a key, and only those rows (none on a clean day) are tested
    again on the text, so a hash collision can never make a row a duplicate.
    """
    h = key_hash(pl.col(column))
    ordered = h.sort()
    repeated = ordered.filter(ordered == ordered.shift(1))
    maybe = h.is_in(repeated.implode()).fill_null(True)
    idx = pl.int_range(pl.len(), dtype=pl.UInt32)
    repeats = idx.filter(maybe).filter(~pl.col(column).filter(maybe).is_first_distinct())
    return (~idx.is_in(repeats.implode())).alias(column)
