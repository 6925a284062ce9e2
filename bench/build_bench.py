"""Build and write one NACHA file from 1,000,000 transfers; print the time it took.

Measures checking, batching, trace assignment and writing (``validate=False``); pass
``--validate`` to include the re-read + validator self-check that builds do by default.

Target: under 1.0 s on the project machine (moov-io/ach needs ~1.75 s for the same, the
fastest pure-Python library ~14.5 s). Figures are noisy on a shared 2-core box: run it once
or twice, not in a loop.

    /work/venv/bin/python bench/build_bench.py [--rows N] [--repeat K] [--phases] [--validate]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable from anywhere

import polars as pl

from nacha.build import build_files
from nacha.build_settings import BuildSettings, Company, Odfi, Originator

ROUTINGS = ["021000021", "053207766", "011000015", "026009593", "121000248", "071000013"]


def transfers(n: int) -> pl.DataFrame:
    """A realistic mix: PPD credits and debits, WEB debits with payment types, some addenda."""
    i = pl.int_range(0, n, eager=True)
    frame = pl.DataFrame({"i": i})
    web = pl.col("i") % 3 == 0
    return frame.select(
        reference=pl.lit("T") + pl.col("i").cast(pl.String).str.pad_start(9, "0"),
        clientCode=pl.lit("ACME"),
        effectiveEntryDate=pl.lit("2026-03-11"),
        standardEntryClassCode=pl.when(web).then(pl.lit("WEB")).otherwise(pl.lit("PPD")),
        individualName=pl.lit("RECEIVER ") + (pl.col("i") % 100_000).cast(pl.String),
        routingNumber=pl.lit(pl.Series(ROUTINGS)).get(pl.col("i") % len(ROUTINGS)),
        DFIAccountNumber=(pl.col("i") * 7919 % 10**12).cast(pl.String),
        accountType=pl.when(pl.col("i") % 5 == 0)
        .then(pl.lit("Savings"))
        .otherwise(pl.lit("Checking")),
        transactionType=pl.when(web | (pl.col("i") % 2 == 0))
        .then(pl.lit("Debit"))
        .otherwise(pl.lit("Credit")),
        amount=((pl.col("i") % 500_000) + 1)
        .cast(pl.String)
        .str.pad_start(3, "0")
        .str.replace(r"(\d\d)$", ".$1"),
        currency=pl.lit("USD"),
        companyEntryDescription=pl.when(web).then(pl.lit("PURCHASE")).otherwise(pl.lit("BILLING")),
        identificationNumber=pl.lit("ID") + pl.col("i").cast(pl.String),
        paymentTypeCode=pl.when(web).then(pl.lit("R")),
        addenda=pl.when(pl.col("i") % 10 == 0).then(
            pl.lit("RMR*IV*") + pl.col("i").cast(pl.String) + pl.lit("\\")
        ),
    )


SETTINGS = BuildSettings(
    originator=Originator("1234567890", "ACME PAYMENTS INC", "091000019"),
    odfi=Odfi("091000019", "FIRST EXAMPLE BANK"),
    companies=(Company("ACME", "ACME PAYMENTS", "1234567890"),),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument(
        "--validate", action="store_true", help="also re-read and validate (the default in use)"
    )
    parser.add_argument(
        "--phases", action="store_true", help="also print CPU and wall seconds per phase, once"
    )
    args = parser.parse_args()
    frame = transfers(args.rows)
    now = datetime(2026, 3, 10, 12, 0, tzinfo=ZoneInfo("America/Chicago"))
    for run in range(args.repeat):
        start, cpu = time.perf_counter(), time.process_time()
        result = build_files(
            frame, SETTINGS, now=now, file_id_modifiers="ABCDEFGHIJ", validate=args.validate
        )
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        size = sum(len(f.content) for f in result.files)
        print(
            f"run {run + 1}: {args.rows:,} transfers -> {len(result.files)} file(s), "
            f"{result.summary['batches']} batches, {size / 1e6:.1f} MB, "
            f"{len(result.rejected)} rejected: {elapsed:.3f} s wall, {cpu:.3f} s CPU "
            f"(all threads; load average {os.getloadavg()[0]:.1f})"
        )
    if args.phases:
        phases(frame, now)


def phases(frame: pl.DataFrame, now: datetime) -> None:
    """CPU and wall seconds of each phase: check, plan, record frames, nacha.assemble (the
    core writer), result entries. CPU counts every polars thread, so on a shared machine it
    is the steadier figure; wall shows what a caller waits for."""
    from nacha.build import _result_entries
    from nacha.build_input import check_transfers
    from nacha.build_plan import plan_files
    from nacha.build_write import file_frames, write_file

    clock, wall = time.process_time(), time.perf_counter()
    totals = [0.0, 0.0]

    def lap(name: str, *, builder: bool = True) -> None:
        nonlocal clock, wall
        now_cpu, now_wall = time.process_time(), time.perf_counter()
        cpu, elapsed = now_cpu - clock, now_wall - wall
        if builder:
            totals[0] += cpu
            totals[1] += elapsed
        print(f"  {name:<24} {cpu:6.3f} s CPU {elapsed:6.3f} s wall")
        clock, wall = time.process_time(), time.perf_counter()

    checked = check_transfers(frame, SETTINGS, now=now)
    lap("check transfers")
    plan = plan_files(checked.accepted, SETTINGS, first_sequence=1)
    lap("plan batches/traces")
    frames = file_frames(plan, SETTINGS, file_index=0, now=now, modifier="A")
    lap("record frames")
    write_file(frames)
    lap("nacha.assemble (core)", builder=False)
    _result_entries(plan.entries, [(0, "bench.ach", "A")], SETTINGS, now)
    lap("result entries")
    print(f"  {'builder phases (no core)':<24} {totals[0]:6.3f} s CPU {totals[1]:6.3f} s wall")


if __name__ == "__main__":
    main()
