"""Reconcile 1,000,000 ledger rows × 1,000,000 entries × 1,000,000 API rows × 50,000 returns.

Prints the time to classify every row and build every report section (collected with
``Reconciliation.collect``, as ``achpipe reconcile`` does), and the time of the 60-day return
rates over the same entries. Inputs are generated in memory (not timed). Target (issue 7):
reconcile < 2 s on the project's 2-core machine; figures are noisy when other work shares the
machine, so each step also prints its CPU seconds (all threads; ``getrusage``) and the peak
RSS, and the first line times one plain 1M-row string join as a load probe to compare runs
against.

    python bench/reconcile_bench.py [--rows 1000000] [--returns 50000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sys
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reconcile import RateOptions, compute_rates, reconcile_day

AS_OF = dt.date(2026, 3, 12)


def inputs(n: int, n_returns: int) -> dict[str, pl.LazyFrame]:
    i = pl.int_range(0, n, eager=True).alias("i")
    base = pl.DataFrame(i).with_columns(
        reference=pl.format("T{}", pl.col("i")),
        trace_number=(pl.lit(91000010_000000, dtype=pl.Int64) + pl.col("i"))
        .cast(pl.String)
        .str.pad_start(15, "0"),
        cfi_transaction_id=pl.format("CID_{}", pl.col("i")),
        company_id=pl.format("{}", (pl.col("i") % 500 + 1_000_000_000)),
        sec_code=pl.when(pl.col("i") % 7 == 0).then(pl.lit("CCD")).otherwise(pl.lit("PPD")),
        amount_cents=(pl.col("i") * 7919 % 500_000 + 1),
        debit=pl.col("i") % 3 != 0,
        effective_date=pl.lit(dt.date(2026, 1, 2)) + pl.duration(days=(pl.col("i") % 60)),
    )
    ledger = base.select(
        "reference",
        "company_id",
        "sec_code",
        pl.when("debit").then(pl.lit("debit")).otherwise(pl.lit("credit")).alias("direction"),
        "amount_cents",
        "effective_date",
    )
    # 0.1 % amount breaks, 0.05 % not sent, 0.05 % unexpected
    entries = base.filter(pl.col("i") % 2000 != 1).select(
        "trace_number",
        pl.when(pl.col("i") % 2000 == 3)
        .then(pl.format("X{}", "i"))
        .otherwise("reference")
        .alias("reference"),
        "company_id",
        "sec_code",
        pl.when("debit").then(27).otherwise(22).cast(pl.Int16).alias("transaction_code"),
        (pl.col("amount_cents") + (pl.col("i") % 1000 == 5).cast(pl.Int64)).alias("amount_cents"),
        "effective_date",
        pl.col("effective_date").alias("settlement_date"),
        pl.format("F{}", pl.col("i") // 100_000).alias("file_id"),
        (pl.col("i") // 1000).alias("batch_number"),
    )
    returned = base.filter(pl.col("debit")).head(n_returns)
    api = base.select(
        "cfi_transaction_id",
        "reference",
        "trace_number",
        pl.when(pl.col("i").is_in(returned["i"].implode()))
        .then(pl.lit("Returned"))
        .otherwise(pl.lit("Settled"))
        .alias("status"),
        pl.when("debit").then(pl.lit("debit")).otherwise(pl.lit("credit")).alias("direction"),
        "amount_cents",
        "effective_date",
    )
    codes = ["R01", "R02", "R03", "R10", "R08", "R16"]
    returns = returned.select(
        pl.format("02100002{}", pl.col("i").cast(pl.String).str.pad_start(7, "0")).alias(
            "trace_number"
        ),
        pl.col("trace_number").alias("original_trace_number"),
        pl.col("i")
        .map_elements(lambda v: codes[v % len(codes)], return_dtype=pl.String)
        .alias("return_code"),
        (pl.col("effective_date") + pl.duration(days=2)).alias("return_date"),
    )
    return {
        "ledger": ledger.lazy(),
        "entries": entries.lazy(),
        "api": api.lazy(),
        "returns": returns.lazy(),
    }


def _cpu() -> float:
    """CPU seconds of this process (all threads): the honest figure on a shared machine."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--returns", type=int, default=50_000)
    args = ap.parse_args()
    probe = pl.DataFrame({"k": pl.int_range(0, args.rows, eager=True).cast(pl.String)})
    t0, c0 = time.perf_counter(), _cpu()
    probe.join(probe.sample(fraction=1.0, shuffle=True, seed=1), on="k")
    print(
        f"machine load probe: one {args.rows:,}-row string join took "
        f"{time.perf_counter() - t0:.2f} s wall, {_cpu() - c0:.2f} s CPU "
        f"(about 0.1-0.2 s wall on an idle 2-core machine)"
    )
    t0 = time.perf_counter()
    data = {k: v.collect().lazy() for k, v in inputs(args.rows, args.returns).items()}
    print(f"generated inputs in {time.perf_counter() - t0:.2f} s (not timed below)")

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0, c0 = time.perf_counter(), _cpu()
    rec = reconcile_day(**data, as_of=AS_OF)
    sections = rec.collect()
    elapsed, cpu = time.perf_counter() - t0, _cpu() - c0
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    items = sections["items"]
    print(
        f"reconcile: {args.rows:,} ledger × {args.rows:,} entries × {args.rows:,} API × "
        f"{args.returns:,} returns -> {items.height:,} items, "
        f"{sections['breaks'].height:,} breaks in {elapsed:.2f} s wall, {cpu:.2f} s CPU "
        f"(target < 2 s wall); peak RSS {rss1:,.0f} MiB (inputs alone {rss0:,.0f} MiB)"
    )
    print(dict(items.group_by("class").len().sort("class").iter_rows()))

    t0, c0 = time.perf_counter(), _cpu()
    rates = compute_rates(
        data["entries"], data["returns"], report_date=AS_OF, options=RateOptions(history_days=60)
    ).collect()
    print(
        f"rates: 60 report days × {rates['company_id'].n_unique()} originators in "
        f"{time.perf_counter() - t0:.2f} s wall, {_cpu() - c0:.2f} s CPU ({rates.height:,} rows)"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
