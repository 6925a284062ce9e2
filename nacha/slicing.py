"""Cutting fields out of raw records, column by column, from the layout tables."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from nacha import layouts as L

#: Entry fields of the standard layout (PPD, CCD, WEB …) that every entries frame has.
COMMON_ENTRY_FIELDS = ("identification_number", "individual_name", "discretionary_data")


def ensure_columns(
    frame: pl.DataFrame, names: Sequence[str], dtype: pl.DataType | None = None
) -> pl.DataFrame:
    """``frame`` with those of ``names`` it lacks added as null columns of ``dtype`` (String
    unless given): the layouts a file holds decide its columns, readers need some always."""
    missing = [n for n in names if n not in frame.columns]
    dt = dtype if dtype is not None else pl.String()
    return frame.with_columns([pl.lit(None, dtype=dt).alias(n) for n in missing])


def _slice(layout: L.Layout, raw: str = "raw") -> list[pl.Expr]:
    col = pl.col(raw)
    return [f.kind.parse(col.str.slice(f.offset, f.width)).alias(f.name) for f in layout.columns]


def _slice_variants(
    frame: pl.DataFrame, key_col: str, layouts: dict[str, L.Layout], keys: list[str]
) -> pl.DataFrame:
    """Slice every field of the layouts present in ``frame`` (one ``key_col`` per row)."""
    if len(keys) == 1:
        return frame.with_columns(_slice(layouts[keys[0]]))
    names: dict[str, list[tuple[str, L.Field]]] = {}
    for key in keys:
        for f in layouts[key].columns:
            names.setdefault(f.name, []).append((key, f))
    raw = pl.col("raw")
    exprs = []
    for name, variants in names.items():
        chain = None
        for key, f in variants:
            value = f.kind.parse(raw.str.slice(f.offset, f.width))
            cond = pl.col(key_col) == key
            chain = pl.when(cond).then(value) if chain is None else chain.when(cond).then(value)
        assert chain is not None
        exprs.append(chain.otherwise(None).alias(name))
    return frame.with_columns(exprs)


def entries_from_records(entry_records: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """The entries frame from (line, raw, batch_index, entry_index, _layout) records."""
    full = _slice_variants(entry_records, "_layout", L.ENTRY_LAYOUTS, keys or ["standard"])
    if "adv" in keys:  # ADV entries have no trace number field; 80-94 still identify them
        adv_trace = pl.col("raw").str.slice(79, 15)
        trace = (
            pl.when(pl.col("_layout") == "adv").then(adv_trace).otherwise(pl.col("trace_number"))
            if "trace_number" in full.columns and "_layout" in full.columns
            else adv_trace
        )
        full = full.with_columns(trace.alias("trace_number"))
    # the reader keeps batch/entry indexes of the million entries as UInt32 (memory)
    full = full.drop("raw", "_layout", strict=False).with_columns(
        pl.col("batch_index", "entry_index").cast(pl.Int64)
    )
    # the standard layout's names for 40-78 are always columns (null where a layout has no
    # such field: XCK, TRC, the check SECs, IAT), so code reading any file can select them;
    # the SEC-specific fields come only with the layouts that carry them
    return ensure_columns(full, COMMON_ENTRY_FIELDS)
