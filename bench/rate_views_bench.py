"""The compliance rate views (sql/0003, 0070, 0073) on a year-like ledger, and the time each takes.

Usage: python bench/rate_views_bench.py [--days 250] [--entries-per-day 4000]
       [--returns 50000] [--url postgresql://… | --embedded]

A scratch database (as ``ledger_bench.py`` makes it) gets ``--days`` effective dates of
``--entries-per-day`` debits each, one partition per day as the loader builds them, and
``--returns`` R01 returns on entries drawn at random. Printed: the load, then wall seconds of
``rate_counted_returns`` (every counted return joined to its entry by id: one probe per day's
partition in a nested loop, or one hash join), ``return_rates_by_originator`` for one report
date (what compliance reads), each first with the server's defaults (as compliance's psql
session reads them; JIT where the server has it) and then as achpipe's own sessions run
them (``SESSION_SETTINGS``: JIT off), and the run's ``returns_frame`` read. A plan that joins by
nested loop over every partition shows up here as seconds per thousand returns.
"""

from __future__ import annotations

import argparse
import sys
import time
from contextlib import ExitStack
from datetime import date, timedelta
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ledger_bench import bench_ledger, embedded_server, frames, loadable_rows

from pipeline.store import load_entries
from pipeline.store.database import SESSION_SETTINGS, apply_session_settings

FIRST_DAY = date(2025, 6, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=250)
    parser.add_argument("--entries-per-day", type=int, default=4000)
    parser.add_argument("--returns", type=int, default=50_000)
    parser.add_argument("--url", default=None)
    parser.add_argument("--embedded", action="store_true", help="on a fresh embedded Postgres")
    args = parser.parse_args()
    with ExitStack() as stack:
        url = stack.enter_context(embedded_server()) if args.embedded else args.url
        run(args.days, args.entries_per_day, args.returns, url)


def run(days: int, per_day: int, returns: int, url: str | None) -> None:
    with bench_ledger(url) as (conn, ledger, where):
        print(f"{days} days x {per_day:,} entries, {returns:,} returns  ({where})")
        batches, entries = frames(per_day, day=FIRST_DAY, trace_base=0)
        protected = ledger.protector.protect_frame(entries)
        rows = loadable_rows(ledger, batches, protected, creation=FIRST_DAY)
        started = time.perf_counter()
        for k in range(days):
            day_rows = rows.with_columns(
                pl.lit(FIRST_DAY + timedelta(days=k)).alias("effective_date")
            )
            with conn.transaction():
                load_entries(conn, day_rows, columns=day_rows.columns)
        print(f"load         {time.perf_counter() - started:6.2f} s  (not the figure here)")
        share = min(100.0, 100.0 * 1.2 * returns / (days * per_day))
        conn.execute(
            "INSERT INTO returns (trace_number, original_trace_number, return_code, kind,"
            " category, amount_cents, received_date, entry_id)"
            " SELECT lpad(e.id::text, 15, '0'), e.trace_number, 'R01', 'return', 'x', 1,"
            "        e.effective_date + 2, e.id"
            f" FROM (SELECT id, trace_number, effective_date FROM entries"
            f"       TABLESAMPLE BERNOULLI ({share})) e LIMIT %s",
            (returns,),
        )
        conn.execute("ANALYZE")
        report_day = FIRST_DAY + timedelta(days=days - 5)
        timed = [
            ("counted", "SELECT count(*) FROM rate_counted_returns", ()),
            (
                "rates view",
                "SELECT count(*) FROM return_rates_by_originator WHERE report_date = %s",
                (report_day,),
            ),
        ]
        # first as a psql session of compliance gets them (the server's defaults, JIT if it
        # has it), then as achpipe's own sessions run (SESSION_SETTINGS: JIT off)
        server_jit = conn.execute("SHOW jit").fetchone()[0]
        ours = ", ".join(f"{k}={v}" for k, v in SESSION_SETTINGS.items())
        for ours_now, note in ((False, f"server default, jit={server_jit}"), (True, ours)):
            if ours_now:
                apply_session_settings(conn)
            for label, query, params in timed:
                started = time.perf_counter()
                (count,) = conn.execute(query, params).fetchone()
                elapsed = time.perf_counter() - started
                print(f"{label:<12} {elapsed:6.2f} s  ({count:,} rows; {note})")
        started = time.perf_counter()
        frame = ledger.returns_frame()
        print(f"returns read {time.perf_counter() - started:6.2f} s  ({frame.height:,} rows)")


if __name__ == "__main__":
    main()
