"""What narrower entries rows would buy the 1M-entry load: the data for a schema decision.

Usage: python bench/entries_width_bench.py [--entries N] [--rounds 4] [--url … | --embedded]

Two scratch ledgers on one server (as ``ledger_bench.py`` makes them). ``as-is`` is the schema
as shipped. ``vault`` is what a vault for account numbers would leave in ``entries``: no
``account_ciphertext`` (it would live once per account in a table keyed by the keyed hash)
and a keyed hash cut to 16 bytes (128 bits: enough to match accounts, half the bytes). The
same protected rows are loaded into each by the ledger's loader, new days, the two ledgers
taking turns (``as-is`` first in even rounds) so that the machine's swings fall on both.
Printed per load: wall, CPU seconds of client and server (as ``ledger_bench.py`` measures
them) and the day's size on disk.

What is not measured: filling the vault. For accounts seen before it costs nothing; for the
worst case here, a million accounts never seen, it is a second load of a million rows.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ledger_bench import Meter, bench_ledger, embedded_server, frames, loadable_rows

from pipeline.store import load_entries

FIRST_DAY = date(2026, 1, 1)


def _to_vault_schema(conn: psycopg.Connection) -> None:
    """``entries`` without the ciphertext, with a 16-byte keyed hash."""
    conn.execute("ALTER TABLE entries DROP CONSTRAINT entries_account_hash_check")
    conn.execute("ALTER TABLE entries DROP COLUMN account_ciphertext")
    conn.execute(
        "ALTER TABLE entries ADD CONSTRAINT entries_account_hash_check"
        " CHECK (octet_length(account_hash) = 16)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--url", default=None)
    parser.add_argument("--embedded", action="store_true")
    args = parser.parse_args()
    with ExitStack() as stack:
        url = stack.enter_context(embedded_server()) if args.embedded else args.url
        ledgers = {name: stack.enter_context(bench_ledger(url)) for name in ("as-is", "vault")}
        print(f"entries: {args.entries:,}  ({ledgers['as-is'][2]})")
        batches, entries = frames(args.entries, day=date(2026, 3, 3), trace_base=0)
        protected = ledgers["as-is"][1].protector.protect_frame(entries)
        rows = {
            name: loadable_rows(ledger, batches, protected, creation=date(2026, 3, 2))
            for name, (_, ledger, _) in ledgers.items()
        }
        _to_vault_schema(ledgers["vault"][0])
        rows["vault"] = (
            rows["vault"]
            .drop("account_ciphertext")
            .with_columns(pl.col("account_hash").bin.slice(0, 16))
        )
        for k in range(args.rounds):
            day = FIRST_DAY + timedelta(days=k)
            for name in ("as-is", "vault") if k % 2 == 0 else ("vault", "as-is"):
                conn = ledgers[name][0]
                day_rows = rows[name].with_columns(pl.lit(day).alias("effective_date"))
                with Meter(conn) as m, conn.transaction():
                    load_entries(conn, day_rows, columns=day_rows.columns)
                (size,) = conn.execute(
                    "SELECT sum(pg_total_relation_size(relid))::bigint FROM pg_partition_tree(%s)",
                    (f"entries_{day:%Y%m%d}",),
                ).fetchone()
                print(m.line(name, f"(day on disk {size / 1e6:,.0f} MB, indexes included)"))


if __name__ == "__main__":
    main()
