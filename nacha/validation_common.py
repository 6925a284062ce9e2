"""Shared pieces of the validator: entry identifiers parsed once, per-batch values
gathered onto entries, running sums per batch."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from nacha import layouts as L
from nacha.layouts import Field
from nacha.model import NachaFile

# entry identifiers derived from the two parsed digit runs (see entry_numbers)
tc_col = pl.col("_tc")
rdfi_col = pl.col("_rdfi")
cd_col = pl.col("_cd")
ind_col = pl.col("_ind")
trace_col = pl.col("_trace")


def per_layout(f: NachaFile, name: str, value: Callable[[Field], pl.Expr]) -> pl.Expr | None:
    """``value(field)`` of the entry field ``name`` in each entry layout of ``f``: the bare
    expression when the file has one layout, else a ``when(_layout == key)`` chain; ``None``
    when no layout has the field."""
    chain = None
    keys = f.entry_layouts
    for key in keys:
        fld = L.ENTRY_LAYOUTS[key].by_name.get(name)
        if fld is None:
            continue
        expr = value(fld)
        if len(keys) == 1:
            return expr
        cond = pl.col("_layout") == key
        chain = pl.when(cond).then(expr) if chain is None else chain.when(cond).then(expr)
    return chain


def raw_field(f: NachaFile, name: str, *, first: int | None = None) -> pl.Expr | None:
    """The raw (unstripped) characters of an entry field, per entry layout, from ``raw``
    (only its first ``first`` characters when given)."""
    return per_layout(f, name, lambda fld: pl.col("raw").str.slice(fld.offset, first or fld.width))


# rows per piece when a row-wise expression over a million entries is evaluated piece by piece
PIECE_ROWS = 1 << 18


def in_pieces(
    frame: pl.DataFrame,
    fn: Callable[[pl.DataFrame], pl.DataFrame | pl.Series],
    *,
    overlap: int = 0,
) -> pl.DataFrame | pl.Series:
    """``fn(frame)`` for a row-wise ``fn``, a quarter million rows at a time: the transient
    columns of one piece are all that is alive at once (peak memory), at the cost of a few
    more calls. With ``overlap`` each piece also sees that many rows before it (for shifts
    by up to ``overlap``); ``fn``'s rows for them are dropped."""
    if frame.height <= PIECE_ROWS:
        return fn(frame)
    parts = []
    for start in range(0, frame.height, PIECE_ROWS):
        before = min(start, overlap)
        part = fn(frame.slice(start - before, PIECE_ROWS + before))
        parts.append(part.slice(before) if before else part)
    return pl.concat(parts, rechunk=False)  # type: ignore[type-var]


def entry_numbers(f: NachaFile) -> pl.DataFrame:
    """Entry identifiers parsed to integers straight from the records, two column passes:
    positions 2-12 (transaction code, RDFI id, check digit) and 79-94 (addenda indicator,
    trace number) are digit runs in every entry layout. Shared by totals and entry rules."""
    cached = f.__dict__.get("_numbers")
    if cached is not None:
        return cached
    raw = pl.col("raw")
    layout_col = ["_layout"] if "_layout" in f.entry_records.columns else []
    amount = raw_field(f, "amount")
    assert amount is not None
    # batch_index is a cumulative count, so sorted: group-bys take polars' sorted fast path
    e = f.entry_records.select(
        "line", pl.col("batch_index").set_sorted(), "entry_index", "raw", *layout_col
    )

    # piece by piece: only a quarter million rows of sliced strings and Int64 intermediates
    # are alive at once, which keeps the peak memory of a million entries down
    def numbers(piece: pl.DataFrame) -> pl.DataFrame:
        head = piece.select(raw.str.slice(1, 11).cast(pl.Int64, strict=False))["raw"]
        tail = piece.select(raw.str.slice(78, 16).cast(pl.Int64, strict=False))["raw"]
        return pl.DataFrame(
            [
                (head // 10**9).cast(pl.Int16).alias("_tc"),
                (head // 10 % 10**8).cast(pl.Int32).alias("_rdfi"),
                (head % 10).cast(pl.Int8).alias("_cd"),
                (tail // 10**15).cast(pl.Int8).alias("_ind"),
                (tail % 10**15).alias("_trace"),
                piece.select(amount.cast(pl.Int64, strict=False).alias("amount"))["amount"],
            ]
        )

    e = pl.concat([e, in_pieces(e, numbers)], how="horizontal")  # type: ignore[list-item]
    f.__dict__["_numbers"] = e
    return e


def sums_by_batch(f: NachaFile) -> pl.DataFrame:
    """Per batch_index (0 = entries outside any batch): entry count, RDFI id sum (before the
    10-digit cut), debit and credit totals; cached.

    batch_index is sorted, so per-batch sums are differences of running sums taken where
    the batch changes (no hash table over a million rows); a quarter million rows at a time
    (peak memory), the partial sums of a batch cut by a piece boundary added up at the end."""
    cached = f.__dict__.get("_sums")
    if cached is not None:
        return cached
    debit = debit_expr(tc_col)
    values = {
        "_hash_sum": rdfi_col.cast(pl.Int64),
        "_debit": pl.when(debit).then(pl.col("amount")).otherwise(0).cast(pl.Int64),
        "_credit": pl.when(debit).then(0).otherwise(pl.col("amount")).cast(pl.Int64),
    }

    def partial(piece: pl.DataFrame) -> pl.DataFrame:
        last = piece.select(
            (pl.col("batch_index") != pl.col("batch_index").shift(-1)).fill_null(True)
        )["batch_index"]
        ends = last.arg_true()
        out = piece.select(
            pl.col("batch_index").gather(ends).cast(pl.Int64),
            (pl.lit(ends).cast(pl.Int64) + 1).alias("_n"),
        )
        for name, expr in values.items():
            running = piece.select(expr.fill_null(0).cum_sum().alias("c"))["c"].gather(ends)
            out = out.with_columns(running.alias(name))
        sums = ["_n", *values]
        return out.with_columns(pl.col(sums) - pl.col(sums).shift(1, fill_value=0))

    parts = in_pieces(entry_numbers(f), partial)
    out = parts.group_by("batch_index", maintain_order=True).agg(  # type: ignore[union-attr]
        pl.col("_hash_sum", "_debit", "_credit", "_n").sum()
    )
    f.__dict__["_sums"] = out
    return out


def per_batch(
    f: NachaFile, values: dict[int, object], dtype: pl.DataType, default: object
) -> pl.Expr:
    """An expression giving each entry a per-batch value (gathered by batch_index)."""
    n = int(f.batches["batch_index"].max() or 0) if f.batches.height else 0
    table = [default] * (n + 1)
    for k, v in values.items():
        table[k] = v
    return pl.lit(pl.Series(table, dtype=dtype)).gather(pl.col("batch_index"))


def debit_expr(tc: pl.Expr) -> pl.Expr:
    """Debit by transaction code: second digit 5-9; ADV codes 82/84/86/88 (even)."""
    return pl.when(tc >= 80).then(tc % 2 == 0).otherwise(tc % 10 >= 5)


def blank_screen(f: NachaFile, name: str, blank_chars: str) -> pl.Expr:
    """Entries whose field ``name`` starts with one of ``blank_chars``: the candidates of
    :func:`blank_field`. In a printable-ASCII file a byte is a character, so this reads one
    byte per record (no sliced string column); otherwise it slices one character."""
    if f.printable_ascii:
        byte = per_layout(f, name, lambda fld: pl.col("raw").cast(pl.Binary).bin.get(fld.offset))
        return pl.lit(False) if byte is None else byte.is_in([ord(c) for c in blank_chars])
    head = raw_field(f, name, first=1)
    return pl.lit(False) if head is None else head.is_in(list(blank_chars))


def blank_field(f: NachaFile, e: pl.DataFrame, name: str, blank_chars: str) -> pl.Expr | None:
    """Rows whose field ``name`` consists only of ``blank_chars`` (e.g. spaces, or spaces and
    zeros). Screens on the first character, then checks the whole field only for the few
    candidates — no million-row copy of the field."""
    full = raw_field(f, name)
    if full is None:
        return None
    candidates = e.filter(blank_screen(f, name, blank_chars))
    if candidates.height == 0:
        return pl.lit(False)
    pattern = "^[" + "".join("\\" + c if c in "\\]^-" else c for c in blank_chars) + "]*$"
    lines = candidates.filter(full.str.contains(pattern))["line"]
    if lines.len() == 0:
        return pl.lit(False)
    return pl.col("line").is_in(lines.implode())


def evaluate_alone(frame: pl.DataFrame, expr: pl.Expr) -> pl.Expr:
    """Evaluate a string-slicing check on its own (one slice column alive at a time keeps the
    peak memory of a million-entry validation down) and return it as a literal column."""
    return pl.lit(frame.select(expr.alias("_v"))["_v"])


def check_digit_expr(rdfi: pl.Expr) -> pl.Expr:
    total = pl.lit(0, dtype=pl.Int64)
    for i, w in enumerate((3, 7, 1, 3, 7, 1, 3, 7)):
        total = total + (rdfi // 10 ** (7 - i)) % 10 * w
    return (10 - total % 10) % 10
