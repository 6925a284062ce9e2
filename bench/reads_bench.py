"""Time ``Ledger.entries_frame`` over N entries: COPY-to-CSV transport vs the former fetch.

Usage: python bench/reads_bench.py [--entries N] [--url postgresql://…]

A scratch database is created, migrated, filled with one file of N entries and dropped.
Shared machine: expect ±50 % noise; run once or twice, not in loops.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

from polars.testing import assert_frame_equal

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ledger_bench import DEST, ORIGIN, bench_ledger, frames
from pipeline.store import OutboundFile, reads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--url", default=None)
    args = parser.parse_args()
    with bench_ledger(args.url) as (conn, ledger, _where):
        day = date(2026, 3, 2)
        batches, entries = frames(args.entries, day=day, trace_base=0)
        ledger.record_outbound_file(
            OutboundFile(
                file_name="bench",
                content=b"bench",
                immediate_origin=ORIGIN,
                immediate_destination=DEST,
                creation_date=day,
                file_id_modifier=ledger.allocate_file_id_modifier(ORIGIN, DEST, day),
            ),
            batches,
            entries,
        )
        conn.execute("VACUUM ANALYZE")
        ledger.entries_frame()  # warm the cache for both runs
        results = {}
        for label, transport in (("row-by-row", reads._frame_rowwise), ("copy-csv", None)):
            original = reads._frame
            if transport is not None:
                reads._frame = transport
            try:
                t0, c0 = time.perf_counter(), time.process_time()
                results[label] = ledger.entries_frame()
                wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            finally:
                reads._frame = original
            print(
                f"entries_frame {label:<10} {args.entries:,} rows: wall {wall:6.2f} s"
                f"  client cpu {cpu:5.2f} s"
            )
        assert_frame_equal(results["copy-csv"], results["row-by-row"])
        print("frames identical")


if __name__ == "__main__":
    main()
