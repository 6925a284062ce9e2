"""Nacha return rates per originator and per SEC code, for every day: spec/returns-and-rates.md §3.

For a report date ``r`` the window is the calendar days ``[r - 60, r - 1]`` (``window_days``
configurable). Per originator (company id) and SEC code:

* debits: forward debit entries (transaction codes 27, 37, 47, 55; no prenotes, no
  zero-dollar entries) whose settlement date (fallback: effective date) is in the window;
* returns: return entries (not dishonored, or dishonored and contested) of such entries, by
  the return date, in the window; the entry may predate the window (the period method);
* unauthorized = R05 R07 R10 R11 R29 R51 over all debits; administrative = R02 R03 R04
  over all debits; overall = every return over debits, RCK entries excluded from both;
* breach = rate > limit (equal is compliant); warning = rate ≥ a warning fraction of it;
* days out of compliance = consecutive days, ending on the report date, in breach.

Counts are entries, not dollars. Returns whose original trace is not one of the given
entries cannot be proved to be debits and are not counted (the caller should report them:
see ``unlinked_returns``).

Implementation: daily counts on a contiguous day grid per group, running sums, and a window
as the difference of two running sums — linear, so originator rows are the sums of their
SEC rows' daily counts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from reconcile import codes
from reconcile.schemas import (
    RATE_ENTRIES_SCHEMA,
    RATE_RETURNS_SCHEMA,
    RATES_SCHEMA,
    conform,
)

MEASURES: tuple[str, ...] = ("unauthorized", "administrative", "overall")
DEFAULT_LIMITS: Mapping[str, float] = {"unauthorized": 0.5, "administrative": 3.0, "overall": 15.0}


@dataclass(frozen=True, slots=True, kw_only=True)
class RateOptions:
    """Limits (percent), warning fractions of each limit, window and history length.

    ``history_days``: how many report dates (ending on the report date) to return — the
    compliance page charts them. Days out of compliance always look back over all data.
    """

    limits: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    warning_fractions: tuple[float, ...] = (0.5, 0.8)
    window_days: int = 60
    history_days: int = 1

    @classmethod
    def from_mapping(cls, section: Mapping[str, object]) -> RateOptions:
        """From the ``[rates]`` config section; raises ``ValueError`` naming the key."""
        limits = dict(DEFAULT_LIMITS)
        for measure in MEASURES:
            key = f"{measure}_limit_pct"
            if key in section:
                value = section[key]
                if not isinstance(value, int | float) or not 0 < float(value) <= 100:
                    raise ValueError(f"[rates] {key} must be a percentage in (0, 100]")
                limits[measure] = float(value)
        fractions = section.get("warning_fractions", (0.5, 0.8))
        if not isinstance(fractions, list | tuple) or not all(
            isinstance(f, int | float) and 0 < f < 1 for f in fractions
        ):
            raise ValueError("[rates] warning_fractions must be numbers between 0 and 1")
        window = section.get("window_days", 60)
        if not isinstance(window, int) or window < 1:
            raise ValueError("[rates] window_days must be a positive integer")
        return cls(
            limits=limits,
            warning_fractions=tuple(sorted(float(f) for f in fractions)),
            window_days=window,
        )


def _day_of(entries: pl.LazyFrame) -> pl.Expr:
    return pl.coalesce("settlement_date", "effective_date")


def counted_returns(entries: pl.LazyFrame, returns: pl.LazyFrame) -> pl.LazyFrame:
    """Returns that count: linked to a forward debit entry and not (finally) dishonored.

    Columns: company_id, sec_code, day (the return date), return_code, is_rck.
    """
    ent = (
        entries.filter(codes.is_forward_debit_expr("transaction_code"))
        .filter(pl.col("trace_number").is_first_distinct())
        .select("trace_number", "company_id", "sec_code")
    )
    kind = pl.coalesce("kind", codes.return_kind_expr("return_code"))
    ret = returns.with_columns(kind=kind)
    reversed_traces = (
        ret.group_by("original_trace_number")
        .agg(
            dishonored=(pl.col("kind") == "dishonor").any(),
            contested=(pl.col("kind") == "contested").any(),
        )
        .filter(pl.col("dishonored") & ~pl.col("contested"))
        .select("original_trace_number")
    )
    return (
        ret.filter(pl.col("kind") == "return")
        .join(reversed_traces, on="original_trace_number", how="anti")
        .join(ent, left_on="original_trace_number", right_on="trace_number", how="inner")
        .select(
            "company_id",
            "sec_code",
            pl.col("return_date").alias("day"),
            "return_code",
            is_rck=pl.col("sec_code") == "RCK",
        )
    )


def unlinked_returns(entries: pl.LazyFrame, returns: pl.LazyFrame) -> pl.LazyFrame:
    """Return rows whose original trace is not a given entry (not counted in any rate)."""
    traces = entries.select("trace_number").unique()
    return returns.join(
        traces, left_on="original_trace_number", right_on="trace_number", how="anti"
    )


def daily_counts(entries: pl.LazyFrame, returns: pl.LazyFrame) -> pl.LazyFrame:
    """Per (company_id, sec_code, day): debits, non-RCK debits and returns per measure.

    Rows with ``sec_code`` null are the originator totals (all SEC codes together).
    """
    entries = entries.with_columns(pl.col("sec_code").fill_null(""))
    debits = (
        entries.filter(codes.is_forward_debit_expr("transaction_code"))
        .filter(pl.col("trace_number").is_first_distinct() | pl.col("trace_number").is_null())
        .with_columns(day=_day_of(entries))
        .group_by("company_id", "sec_code", "day")
        .agg(
            debits=pl.len().cast(pl.Int64),
            debits_overall=(pl.col("sec_code") != "RCK").fill_null(True).sum().cast(pl.Int64),
        )
    )
    rets = (
        counted_returns(entries, returns)
        .group_by("company_id", "sec_code", "day")
        .agg(
            returns_unauthorized=pl.col("return_code")
            .is_in(list(codes.UNAUTHORIZED_CODES))
            .sum()
            .cast(pl.Int64),
            returns_administrative=pl.col("return_code")
            .is_in(list(codes.ADMINISTRATIVE_CODES))
            .sum()
            .cast(pl.Int64),
            returns_overall=(~pl.col("is_rck")).sum().cast(pl.Int64),
        )
    )
    keys = ["company_id", "sec_code", "day"]
    per_sec = debits.join(rets, on=keys, how="full", coalesce=True, nulls_equal=True)
    value_cols = [
        "debits",
        "debits_overall",
        "returns_unauthorized",
        "returns_administrative",
        "returns_overall",
    ]
    per_sec = per_sec.with_columns(pl.col(value_cols).fill_null(0))
    per_company = (
        per_sec.group_by("company_id", "day")
        .agg(pl.col(value_cols).sum())
        .with_columns(pl.lit(None, dtype=pl.String).alias("sec_code"))
        .select(keys + value_cols)
    )
    return pl.concat([per_sec.select(keys + value_cols), per_company], how="vertical")


def compute_rates(
    entries: pl.LazyFrame,
    returns: pl.LazyFrame,
    *,
    report_date: dt.date,
    options: RateOptions | None = None,
) -> pl.LazyFrame:
    """Rates (``RATES_SCHEMA``, long: one row per measure) for the last ``history_days``.

    ``entries``: ``RATE_ENTRIES_SCHEMA`` (or a superset); ``returns``: ``RATE_RETURNS_SCHEMA``
    (missing optional columns such as ``kind`` are added as nulls).
    """
    opt = options or RateOptions()
    entries = conform(entries, RATE_ENTRIES_SCHEMA)
    returns = conform(returns, RATE_RETURNS_SCHEMA)
    w = opt.window_days
    first_report = report_date - dt.timedelta(days=opt.history_days - 1)
    daily = daily_counts(entries, returns).filter(pl.col("day") < pl.lit(report_date))
    groups = ["company_id", "sec_code"]
    spans = (
        daily.group_by(groups)
        .agg(start=pl.col("day").min())
        .with_columns(
            start=pl.min_horizontal("start", pl.lit(first_report - dt.timedelta(days=w))),
        )
    )
    grid = (
        spans.with_columns(day=pl.date_ranges("start", pl.lit(report_date), interval="1d"))
        .explode("day")
        .drop("start")
    )
    value_cols = [
        "debits",
        "debits_overall",
        "returns_unauthorized",
        "returns_administrative",
        "returns_overall",
    ]
    g = (
        grid.join(daily, on=[*groups, "day"], how="left", nulls_equal=True)
        .with_columns(pl.col(value_cols).fill_null(0))
        .sort([*groups, "day"], nulls_last=True)
    )
    # window(r) = running(r - 1) - running(r - 1 - w): days [r - w, r - 1].
    g = g.with_columns(
        [
            (
                pl.col(c).cum_sum().shift(1, fill_value=0)
                - pl.col(c).cum_sum().shift(w + 1, fill_value=0)
            )
            .over(groups)
            .alias(f"w_{c}")
            for c in value_cols
        ]
    ).with_columns(_idx=pl.int_range(pl.len()).over(groups))
    spec = {
        "unauthorized": ("w_returns_unauthorized", "w_debits"),
        "administrative": ("w_returns_administrative", "w_debits"),
        "overall": ("w_returns_overall", "w_debits_overall"),
    }
    parts = []
    for measure, (num, den) in spec.items():
        limit = float(opt.limits[measure])
        rate = pl.when(pl.col(den) > 0).then(pl.col(num) * 100.0 / pl.col(den)).otherwise(0.0)
        part = g.select(
            pl.col("day").alias("date"),
            *groups,
            "_idx",
            pl.lit(measure).alias("measure"),
            pl.col(num).alias("returns"),
            pl.col(den).alias("debits"),
            rate.alias("rate_pct"),
            pl.lit(limit).alias("limit_pct"),
        ).with_columns(breach=pl.col("rate_pct") > pl.col("limit_pct"))
        last_ok = (
            pl.when(~pl.col("breach"))
            .then(pl.col("_idx"))
            .otherwise(None)
            .forward_fill()
            .over(groups)
            .fill_null(-1)
        )
        part = part.with_columns(days_out_of_compliance=(pl.col("_idx") - last_ok).cast(pl.Int64))
        parts.append(part)
    levels = sorted(opt.warning_fractions)
    warn_level: pl.Expr = pl.lit(None, dtype=pl.Float64)
    for frac in levels:  # ascending: the highest level reached wins
        warn_level = (
            pl.when(pl.col("rate_pct") >= pl.col("limit_pct") * frac)
            .then(pl.lit(frac))
            .otherwise(warn_level)
        )
    out = (
        pl.concat(parts, how="vertical")
        .filter(pl.col("date") >= pl.lit(first_report))
        .with_columns(
            window_from=pl.col("date") - pl.duration(days=w),
            window_to=pl.col("date") - pl.duration(days=1),
            warning_level_pct=(warn_level * 100.0),
            first_breach_date=pl.when(pl.col("days_out_of_compliance") > 0).then(
                pl.col("date") - pl.duration(days=pl.col("days_out_of_compliance") - 1)
            ),
        )
        .with_columns(warning=pl.col("warning_level_pct").is_not_null())
    )
    return out.select([pl.col(n).cast(t) for n, t in RATES_SCHEMA.items()])


def rates_json(
    rates: pl.DataFrame, *, report_date: dt.date, window_days: int = 60
) -> dict[str, Any]:
    """The ``achpipe rates --json`` object for ``report_date`` (issue 7 contract).

    One row per originator with ``sec_code`` null (all its SEC codes), then one per
    (originator, SEC code); each measure as
    ``{returns, debits, rate_pct, limit_pct, breach, warning, days_out_of_compliance}``.
    """
    day = rates.filter(pl.col("date") == report_date).sort(
        "company_id", pl.col("sec_code").is_not_null(), "sec_code", nulls_last=False
    )
    rows: dict[tuple[str, str | None], dict[str, Any]] = {}
    for rec in day.iter_rows(named=True):
        key = (rec["company_id"], rec["sec_code"])
        row = rows.setdefault(key, {"company_id": key[0], "sec_code": key[1]})
        row[rec["measure"]] = {
            "returns": int(rec["returns"]),
            "debits": int(rec["debits"]),
            "rate_pct": float(rec["rate_pct"]),
            "limit_pct": float(rec["limit_pct"]),
            "breach": bool(rec["breach"]),
            "warning": bool(rec["warning"]),
            "days_out_of_compliance": int(rec["days_out_of_compliance"]),
        }
    return {
        "date": report_date.isoformat(),
        "window": {
            "from": (report_date - dt.timedelta(days=window_days)).isoformat(),
            "to": (report_date - dt.timedelta(days=1)).isoformat(),
        },
        "rates": list(rows.values()),
    }


def any_breach(rates: pl.DataFrame, *, report_date: dt.date) -> bool:
    """True when any limit is crossed on ``report_date`` (``achpipe rates`` exits 4)."""
    return bool(rates.filter((pl.col("date") == report_date) & pl.col("breach")).height)
