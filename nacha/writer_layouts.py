"""Addenda and entry layouts for the writer: which layout each addenda row and each batch's
entries are written with, and how :func:`~nacha.assembly.assemble` attaches addenda rows to
their entries (by batch + trace number, or by entry position)."""

from __future__ import annotations

import polars as pl

from nacha import layouts as L
from nacha.codes import (
    CONTESTED_RETURN_CODES,
    DISHONORED_RETURN_CODES,
    REFUSED_CHANGE_CODES,
    SEC_BY_CODE,
)
from nacha.errors import NachaWriteError


def addenda_layout(type_code: str, code: str | None, iat: bool) -> str:
    if type_code == "99":
        if code in DISHONORED_RETURN_CODES:
            return "99_dishonored"
        if code in CONTESTED_RETURN_CODES:
            return "99_contested"
        return "99_iat" if iat else "99"
    if type_code == "98":
        return "98_refused" if code in REFUSED_CHANGE_CODES else "98"
    if type_code in L.ADDENDA_LAYOUTS:
        return type_code
    raise NachaWriteError(
        f"unknown addenda type code {type_code!r}",
        field="addenda_type_code",
        rule="write.addenda_type",
    )


def attach_addenda(addenda: pl.DataFrame, entries: pl.DataFrame) -> pl.DataFrame:
    """Attach each addenda row to its entry: by (batch_number, trace_number) of the entry, or
    by ``entry_index`` (1-based position of the entry in the ``entries`` frame as given)."""
    by_trace = "trace_number" in addenda.columns
    if not by_trace and "entry_index" not in addenda.columns:
        raise NachaWriteError(
            "addenda: need batch_number + trace_number of their entry, or entry_index",
            field="trace_number",
            rule="write.missing_field",
        )
    if "addenda_type_code" not in addenda.columns:
        addenda = addenda.with_columns(pl.lit("05").alias("addenda_type_code"))
    addenda = addenda.with_columns(pl.col("addenda_type_code").cast(pl.String))
    if by_trace:
        if "batch_number" not in addenda.columns:
            raise NachaWriteError(
                "addenda: batch_number is missing", field="batch_number", rule="write.missing_field"
            )
        addenda = addenda.with_columns(
            pl.col("batch_number").cast(pl.Int64), pl.col("trace_number").cast(pl.String)
        )
        keys = entries.select("batch_number", "trace_number", "_eseq", "_iat")
        entry_traces = _trace_ints(keys)
        ascending = entry_traces is not None and _strictly_ascending(entry_traces)
        # the general uniqueness check hashes a million pairs; ascending traces (the normal
        # case) are unique without it
        if not ascending and (
            keys.select(pl.struct("batch_number", "trace_number").is_duplicated().any()).item()
        ):
            raise NachaWriteError(
                "entries: trace numbers must be unique within a batch to attach addenda",
                field="trace_number",
                rule="write.trace_number",
            )
        addenda_traces = _trace_ints(addenda) if ascending and keys.height else None
        if entry_traces is not None and addenda_traces is not None:
            addenda = _attach_by_search(addenda, addenda_traces, keys, entry_traces)
        else:
            addenda = addenda.join(
                keys, on=["batch_number", "trace_number"], how="left", maintain_order="left"
            )
    else:
        keys = entries.select(
            (pl.col("_input_pos") + 1).alias("entry_index"), "_eseq", "_iat", "trace_number"
        )
        addenda = (
            addenda.drop("batch_number", strict=False)
            .with_columns(pl.col("entry_index").cast(pl.Int64))
            .join(keys, on="entry_index", how="left", maintain_order="left")
        )
    if addenda["_eseq"].null_count():
        bad = addenda.filter(pl.col("_eseq").is_null()).row(0, named=True)
        where = f"trace {bad.get('trace_number')}" if by_trace else f"entry {bad['entry_index']}"
        raise NachaWriteError(
            f"addenda for {where} has no entry", field="trace_number", rule="write.addenda_entry"
        )
    if not addenda["_eseq"].is_sorted():
        addenda = addenda.sort("_eseq", maintain_order=True)
    # position within the entry's run of addenda (rows are grouped by entry): row number
    # minus the row number where the run starts; no hash table over the addenda
    row = pl.int_range(pl.len(), dtype=pl.Int64)
    start = pl.when(pl.col("_eseq") != pl.col("_eseq").shift(1)).then(row).otherwise(None)
    addenda = addenda.with_columns((row - start.forward_fill().fill_null(0) + 1).alias("_apos"))
    code = pl.coalesce(
        [
            pl.col(c).cast(pl.String)
            for c in ("return_reason_code", "change_code")
            if c in addenda.columns
        ]
        or [pl.lit(None, pl.String)]
    )
    t = pl.col("addenda_type_code")
    simple = [k for k in L.ADDENDA_LAYOUTS if "_" not in k and k not in ("98", "99")]
    layout = (
        pl.when(t == "99")
        .then(
            pl.when(code.is_in(sorted(DISHONORED_RETURN_CODES)))
            .then(pl.lit("99_dishonored"))
            .when(code.is_in(sorted(CONTESTED_RETURN_CODES)))
            .then(pl.lit("99_contested"))
            .when(pl.col("_iat"))
            .then(pl.lit("99_iat"))
            .otherwise(pl.lit("99"))
        )
        .when(t == "98")
        .then(
            pl.when(code.is_in(sorted(REFUSED_CHANGE_CODES)))
            .then(pl.lit("98_refused"))
            .otherwise(pl.lit("98"))
        )
        .when(t.is_in(simple))
        .then(t)
        .otherwise(None)
    )
    addenda = addenda.with_columns(layout.alias("_layout"))
    if addenda["_layout"].null_count():
        bad_type = addenda.filter(pl.col("_layout").is_null())["addenda_type_code"][0]
        raise NachaWriteError(
            f"unknown addenda type code {bad_type!r}",
            field="addenda_type_code",
            rule="write.addenda_type",
        )
    extra = []
    if "addenda_sequence_number" not in addenda.columns:
        extra.append(pl.col("_apos").alias("addenda_sequence_number"))
    if "entry_detail_sequence_number" not in addenda.columns:
        extra.append(pl.col("trace_number").str.slice(8, 7).alias("entry_detail_sequence_number"))
    return addenda.with_columns(extra) if extra else addenda


def _trace_ints(frame: pl.DataFrame) -> pl.Series | None:
    """The trace numbers as integers when every one is exactly 15 digits (then integer
    equality is string equality); None otherwise."""
    trace = pl.col("trace_number")
    digits = (
        (trace.str.len_bytes() == 15) & ~trace.str.starts_with("+") & ~trace.str.starts_with("-")
    )
    out = frame.select(pl.when(digits).then(trace.str.to_integer(strict=False)).alias("t"))["t"]
    return None if out.null_count() else out


def _attach_by_search(
    addenda: pl.DataFrame, traces: pl.Series, keys: pl.DataFrame, entry_traces: pl.Series
) -> pl.DataFrame:
    """The left join of ``addenda`` to ``keys`` on (batch_number, trace_number) when the
    entries' traces ascend strictly: a binary search per addenda row instead of a hash table
    over every entry. No match (trace absent, or present in another batch) gives nulls."""
    pos = entry_traces.search_sorted(traces, side="left").clip(upper_bound=keys.height - 1)
    hit = (entry_traces.gather(pos) == traces) & (
        keys["batch_number"].gather(pos) == addenda["batch_number"]
    )
    return addenda.with_columns(
        pl.when(pl.lit(hit)).then(pl.lit(keys[col].gather(pos))).alias(col)
        for col in ("_eseq", "_iat")
    )


def _strictly_ascending(values: pl.Series) -> bool:
    return values.len() < 2 or bool((values.diff().slice(1) > 0).all())


def entry_layout_of_sec(sec: pl.Expr) -> pl.Expr:
    chain = None
    for s in SEC_BY_CODE.values():
        if s.entry_layout == "standard":
            continue
        cond = sec == s.code
        chain = (pl.when(cond) if chain is None else chain.when(cond)).then(pl.lit(s.entry_layout))
    assert chain is not None
    return chain.otherwise(pl.lit("standard"))
