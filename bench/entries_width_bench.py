"""What narrower entries rows, or fewer indexes, would buy the 1M-entry load: the data for a
schema decision.

Usage: python bench/entries_width_bench.py [--entries N] [--rounds 4] [--url … | --embedded]
                                           [--variants as-is,vault,…]

One scratch ledger per variant on one server (as ``ledger_bench.py`` makes them); the same
protected rows are loaded into each by the ledger's loader, new days, the variants taking
turns (the order reversed every other round) so that the machine's swings fall on all.
Printed per load: wall, CPU seconds of client and server (as ``ledger_bench.py`` measures
them) and the day's size on disk. The variants (:data:`VARIANTS`):

* ``as-is``         the schema as shipped
* ``vault``         what a vault for account numbers would leave in ``entries``: no
                    ``account_ciphertext`` (it would live once per account in a table keyed by
                    the keyed hash) and a keyed hash cut to 16 bytes (128 bits: enough to match
                    accounts, half the bytes)
* ``vault-brin-id`` ``vault``, and ``entries_id_idx`` a BRIN (ids rise with the heap order of
                    a load) instead of a B-tree: a join by entry id then reads a block range per
                    probe instead of one leaf
* ``vault-no-reference`` ``vault-brin-id`` without ``entries_reference_idx``: the "already
                    sent?" check and retry linking by reference would scan the ledger; measured
                    to show what the index costs, not as a candidate

What is not measured: filling the vault. For accounts seen before it costs nothing; for the
worst case here, a million accounts never seen, it is a second load of a million rows.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
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


def _brin_id(conn: psycopg.Connection) -> None:
    """``entries_id_idx`` as a BRIN of 8 pages per range."""
    conn.execute("DROP INDEX entries_id_idx")
    conn.execute(
        "CREATE INDEX entries_id_idx ON entries USING brin (id) WITH (pages_per_range = 8)"
    )


def _no_reference_index(conn: psycopg.Connection) -> None:
    conn.execute("DROP INDEX entries_reference_idx")


def _vault_rows(rows: pl.DataFrame) -> pl.DataFrame:
    return rows.drop("account_ciphertext").with_columns(pl.col("account_hash").bin.slice(0, 16))


@dataclass(frozen=True)
class Variant:
    """Schema changes made to a scratch ledger, and the rows it loads instead of as-is's."""

    schema: tuple[Callable[[psycopg.Connection], None], ...] = ()
    rows: Callable[[pl.DataFrame], pl.DataFrame] | None = None


VARIANTS = {
    "as-is": Variant(),
    "vault": Variant((_to_vault_schema,), _vault_rows),
    "vault-brin-id": Variant((_to_vault_schema, _brin_id), _vault_rows),
    "vault-no-reference": Variant((_to_vault_schema, _brin_id, _no_reference_index), _vault_rows),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--url", default=None)
    parser.add_argument("--embedded", action="store_true")
    parser.add_argument(
        "--variants", default="as-is,vault", help=f"comma-separated, of {', '.join(VARIANTS)}"
    )
    args = parser.parse_args()
    names = args.variants.split(",")
    if unknown := set(names) - set(VARIANTS):
        parser.error(f"unknown variants: {', '.join(sorted(unknown))}")
    with ExitStack() as stack:
        url = stack.enter_context(embedded_server()) if args.embedded else args.url
        ledgers = {name: stack.enter_context(bench_ledger(url)) for name in names}
        print(f"entries: {args.entries:,}  ({ledgers[names[0]][2]})")
        batches, entries = frames(args.entries, day=date(2026, 3, 3), trace_base=0)
        protected = ledgers[names[0]][1].protector.protect_frame(entries)
        rows = {
            name: loadable_rows(ledger, batches, protected, creation=date(2026, 3, 2))
            for name, (_, ledger, _) in ledgers.items()
        }
        for name in names:
            variant = VARIANTS[name]
            for change in variant.schema:
                change(ledgers[name][0])
            if variant.rows is not None:
                rows[name] = variant.rows(rows[name])
        for k in range(args.rounds):
            day = FIRST_DAY + timedelta(days=k)
            for name in names if k % 2 == 0 else names[::-1]:
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
