"""Write reconciliation and rate results: CSV + Parquet per class, XLSX, HTML pages.

Layout of ``--out DIR``::

    DIR/finance/<class>.csv, <class>.parquet   one pair per class (all 11, empty ones too)
    DIR/finance/sections/<section>.csv|.parquet tie_out, summary, returns, nocs, exposure…
    DIR/finance/reconciliation.xlsx            one sheet per section
    DIR/finance/reconciliation.html            self-contained page
    DIR/compliance/rates.csv|.parquet, DIR/compliance/return-rates.html

Account columns are masked in every file (only ``account_last4`` ever reaches a frame).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from reconcile import CLASSES, Reconciliation, render_compliance_html, render_finance_html
from reconcile.html import masked
from reconcile.rates import RateOptions


def collect_reconciliation(rec: Reconciliation) -> dict[str, pl.DataFrame]:
    """Collect every section (see :meth:`Reconciliation.collect`: shared sub-plans run once)."""
    return rec.collect()


def _write_pair(df: pl.DataFrame, base: Path) -> None:
    out = masked(df)
    out.write_csv(base.with_suffix(".csv"))
    out.write_parquet(base.with_suffix(".parquet"))


def _by_class_in_source_order(items: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """``items`` split by class, each part sorted by (source, row).

    One sort on one integer key (class rank, source rank, row) and then zero-copy slices of
    the contiguous runs of each class: sorting first and partitioning after gathered every
    column of the millions of items of a big night twice. A two-column sort with text
    columns costs about three times as much as the one integer key."""
    if items.height == 0:
        return {}

    def rank(name: str) -> pl.Expr:
        values = items.get_column(name).drop_nulls().unique().sort()
        return pl.col(name).replace_strict(
            values, pl.int_range(values.len(), eager=True), return_dtype=pl.Int64
        )

    # a null source sorts first within its class (as polars sorts nulls), a null class last
    n_sources = items.get_column("source").n_unique() + 1
    source = rank("source").fill_null(-1) + 1
    key = (rank("class") * n_sources + source) * (1 << 40) + pl.col("row")
    ordered = items.sort(key, nulls_last=True)
    runs = ordered.get_column("class").rle()
    parts: dict[str, pl.DataFrame] = {}
    offset = 0
    for length, cls in zip(
        runs.struct.field("len").to_list(), runs.struct.field("value").to_list(), strict=True
    ):
        if cls is not None:
            parts[cls] = ordered.slice(offset, length)
        offset += length
    return parts


def write_finance(sections: dict[str, pl.DataFrame], out_dir: Path, *, as_of: dt.date) -> Path:
    """Write the finance outputs; returns the HTML page's path."""
    fin = out_dir / "finance"
    (fin / "sections").mkdir(parents=True, exist_ok=True)
    items = sections["items"]
    by_class = _by_class_in_source_order(items)
    for cls in CLASSES:
        _write_pair(by_class.get(cls, items.clear()), fin / cls)
    for name, df in sections.items():
        if name != "items":
            _write_pair(df, fin / "sections" / name)
    write_workbook(sections, fin / "reconciliation.xlsx")
    html = fin / "reconciliation.html"
    html.write_text(render_finance_html(sections, as_of=as_of), encoding="utf-8")
    return html


#: Rows per workbook sheet. xlsxwriter writes ~35,000 cells/s here, and Excel holds at most
#: 1,048,576 rows: the full data of every section is in its CSV/Parquet pair, the workbook is
#: for reading. A capped sheet says so in its last row.
WORKBOOK_MAX_ROWS = 10_000
#: Not a sheet: the per-class CSV/Parquet files hold every item (millions on a big night).
WORKBOOK_SKIP = frozenset({"items"})


def write_workbook(sections: dict[str, pl.DataFrame], path: Path) -> None:
    """One XLSX workbook, a sheet per section (polars ``write_excel`` on xlsxwriter)."""
    import xlsxwriter

    with xlsxwriter.Workbook(str(path)) as wb:
        for name, df in sections.items():
            if name in WORKBOOK_SKIP:
                continue
            capped = df.height > WORKBOOK_MAX_ROWS
            sheet = masked(df.head(WORKBOOK_MAX_ROWS))
            sheet.write_excel(wb, worksheet=name[:31], autofit=True, table_name=f"t_{name}")
            if capped:
                ws = wb.get_worksheet_by_name(name[:31])
                ws.write(
                    WORKBOOK_MAX_ROWS + 2,
                    0,
                    f"first {WORKBOOK_MAX_ROWS:,} of {df.height:,} rows; all rows are in "
                    f"finance/sections/{name}.csv and .parquet",
                )


def write_compliance(
    rates: pl.DataFrame,
    out_dir: Path,
    *,
    report_date: dt.date,
    comparison: pl.DataFrame | None,
    options: RateOptions,
) -> Path:
    """Write rates as CSV/Parquet and the compliance HTML page; returns the page's path."""
    comp = out_dir / "compliance"
    comp.mkdir(parents=True, exist_ok=True)
    _write_pair(rates, comp / "rates")
    if comparison is not None:
        _write_pair(comparison, comp / "api-comparison")
    page = comp / "return-rates.html"
    page.write_text(
        render_compliance_html(
            rates, report_date=report_date, comparison=comparison, options=options
        ),
        encoding="utf-8",
    )
    return page
