"""The finance outputs of the items: one CSV/Parquet pair per class (all of them, empty ones
too), each holding exactly that class's items in (source, row) order, whatever order the
reconciliation produced them in."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from pipeline.recon_output import collect_reconciliation, write_finance
from reconcile import CLASSES, ITEMS_SCHEMA, reconcile_day
from reconcile.html import masked
from reconcile.schemas import API_SCHEMA, ENTRIES_SCHEMA, LEDGER_SCHEMA, empty


def _items() -> pl.DataFrame:
    rows = [
        ("ledger", 3, "matched"),
        ("api", 10, "matched"),
        ("entry", 2, "missing_in_api"),
        ("api", 2, "matched"),
        ("ledger", 0, "missing_in_file"),
        ("entry", 11, "matched"),
        ("api", 1_000_000_000, "matched"),
        ("ledger", 1, "matched"),
        ("entry", 0, "matched"),
    ]
    base = pl.DataFrame(
        {"source": [r[0] for r in rows], "row": [r[1] for r in rows], "class": [r[2] for r in rows]}
    )
    return base.with_columns(
        pl.lit(None, dtype=dtype).alias(name)
        for name, dtype in ITEMS_SCHEMA.items()
        if name not in base.columns
    ).select(ITEMS_SCHEMA.names())


def test_each_class_file_holds_its_items_in_source_order(tmp_path: Path) -> None:
    items = _items()
    day = dt.date(2026, 3, 3)
    rec = reconcile_day(
        ledger=empty(LEDGER_SCHEMA), entries=empty(ENTRIES_SCHEMA), api=empty(API_SCHEMA), as_of=day
    )
    sections = {**collect_reconciliation(rec), "items": items}
    write_finance(sections, tmp_path, as_of=day)
    fin = tmp_path / "finance"
    for cls in CLASSES:
        got = pl.read_parquet(fin / f"{cls}.parquet")
        want = masked(items.filter(pl.col("class") == cls).sort("source", "row"))
        assert_frame_equal(got, want)
        assert pl.read_csv(fin / f"{cls}.csv").height == want.height
    matched = pl.read_parquet(fin / "matched.parquet")
    assert list(zip(matched["source"], matched["row"], strict=True)) == [
        ("api", 2),
        ("api", 10),
        ("api", 1_000_000_000),
        ("entry", 0),
        ("entry", 11),
        ("ledger", 1),
        ("ledger", 3),
    ]
