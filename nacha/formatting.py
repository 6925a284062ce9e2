"""Record formatting for the writer: whole columns of 94-character records from frames
whose columns are named as a layout's fields (``concat_str`` driven by :mod:`nacha.layouts`),
the value checks that make the writer refuse rather than truncate, and the single write of
all records with their line ending.
"""

from __future__ import annotations

import io

import polars as pl

from nacha import layouts as L
from nacha.errors import NachaWriteError
from nacha.kinds import Alphanumeric, Constant, Integer, Kind, Numeric, Reserved

_PRINTABLE = bytes(range(0x20, 0x7F))


def _field_expr(frame: pl.DataFrame, f: L.Field, context: str, *, checked: bool) -> pl.Expr:
    if f.name == "record_type_code":
        return pl.lit(f.kind.value)  # type: ignore[attr-defined]
    if f.name not in frame.columns:
        if isinstance(f.kind, Constant):
            return pl.lit(f.kind.value)
        if f.required and not isinstance(f.kind, Reserved):
            raise NachaWriteError(
                f"{context}: required field {f.name} is missing",
                field=f.name,
                rule="write.missing_field",
            )
        return pl.lit(" " * f.width)
    if (
        checked
        and isinstance(f.kind, Integer)
        and frame.schema[f.name].is_integer()
        and f.width < 19
    ):
        # range-checked (0 <= v < 10**width): adding 10**width and dropping the leading "1"
        # zero-fills in one integer-to-text cast instead of cast + pad
        text = (pl.col(f.name).cast(pl.Int64) + 10**f.width).cast(pl.String).str.slice(1)
        return text.fill_null(" " * f.width) if f.kind.blank_ok else text
    return f.kind.format(pl.col(f.name), f.width)


def _check_values(
    frame: pl.DataFrame,
    layout: L.Layout,
    context: str,
    *,
    trusted: frozenset[str] = frozenset(),
    exact: frozenset[str] = frozenset(),
) -> None:
    """Raise for the first value that cannot be written (wrong kind, negative, null where
    required). Length overflows of text are caught after formatting (the line is not 94).
    Fields in ``trusted`` are not checked (the caller computed them); text fields in
    ``exact`` (every value exactly the field's width, no nulls) take a cheaper proof."""
    fields = [
        f
        for f in layout.columns
        if f.name in frame.columns
        and f.name not in trusted
        and isinstance(f.kind, Constant | Numeric)
    ]
    if not fields:
        return
    result = frame.select(
        [
            (_exact_digits_ok(f) if f.name in exact else _value_ok(frame, f).all()).alias(f.name)
            for f in fields
        ]
    ).row(0)
    for f, good in zip(fields, result, strict=True):
        if not good:
            bad = frame.with_row_index("_row").filter(~_value_ok(frame, f)).row(0, named=True)
            raise NachaWriteError(
                f"{context} row {bad['_row']}: {f.name}={bad[f.name]!r} does not fit a "
                f"{f.width}-digit numeric field",
                field=f.name,
                rule="write.value",
            )


def _digits_ok(col: pl.Expr, width: int) -> pl.Expr:
    """All digits and at most ``width`` long, without a regex pass: an integer parse fails
    on anything but an optional sign and digits, and the sign is excluded separately."""
    text = col.cast(pl.String)
    return (
        text.str.to_integer(strict=False).is_not_null()
        & ~text.str.starts_with("+")
        & ~text.str.starts_with("-")
        & (text.str.len_bytes() <= width)
    )


def _exact_digits_ok(f: L.Field) -> pl.Expr:
    """:func:`_digits_ok` of a whole text column whose values all have the field's width:
    the length test is moot, and instead of two sign tests per row the smallest value is
    compared with ``"0"`` ('+' and '-' sort below the digits, so a sign in first place makes
    the minimum smaller; a sign anywhere else fails the integer parse). Numeric fields only
    (a Constant keeps its own test)."""
    col = pl.col(f.name)
    return col.str.to_integer(strict=False).is_not_null().all() & (col.min() >= "0")


def _value_ok(frame: pl.DataFrame, f: L.Field) -> pl.Expr:
    """True where the value can be written; a null is fine only where the field may be blank."""
    col = pl.col(f.name)
    null_ok = pl.lit(not f.required or getattr(f.kind, "blank_ok", False))
    if isinstance(f.kind, Constant):
        return (col.cast(pl.String) == f.kind.value).fill_null(True)
    if isinstance(f.kind, Integer) and frame.schema[f.name].is_integer():
        value = col.cast(pl.Int64)
        ok = (value >= 0) & (value < 10**f.width) if f.width < 19 else value >= 0
    else:
        ok = _digits_ok(col, f.width)
    if frame[f.name].null_count() == 0:
        return ok  # no nulls: no null branch to evaluate per row
    return pl.when(col.is_null()).then(null_ok).otherwise(ok)


def _exact_width_columns(frame: pl.DataFrame, layout: L.Layout) -> set[str]:
    """String columns whose every value is already exactly its field's width (no nulls):
    every kind's formatting is the identity on those, so they go into the record as they are
    (one O(1)-per-row length pass instead of a padded copy). A non-ASCII value among them is
    refused by :func:`join_lines` either way."""
    names = [
        f.name
        for f in layout.fields
        if f.name != "record_type_code"
        and f.name in frame.columns
        and frame.schema[f.name] == pl.String
    ]
    if not names or frame.height == 0:
        return set()
    width = {f.name: f.width for f in layout.fields}
    row = frame.select(
        ((pl.col(n).str.len_bytes() == width[n]).all() & (pl.col(n).null_count() == 0)).alias(n)
        for n in names
    ).row(0)
    return {n for n, ok in zip(names, row, strict=True) if ok}


#: Runs of spaces by length: the padding of a text field, picked per row.
_SPACES = pl.Series("spaces", [" " * i for i in range(L.RECORD_LENGTH + 1)], dtype=pl.String)


def _pads_text(frame: pl.DataFrame, f: L.Field) -> bool:
    """A text column written left-justified and space-filled by the plain text kinds."""
    return (
        type(f.kind) in (Kind, Alphanumeric)
        and f.name in frame.columns
        and frame.schema[f.name] == pl.String
    )


def _padded_text(frame: pl.DataFrame, f: L.Field) -> list[pl.Expr]:
    """A text field as two parts of the record's ``concat_str``: the value (null: empty)
    and the spaces that fill it to its width, picked from :data:`_SPACES` by the value's
    length. Why: ``pad_end`` writes a padded copy of every value that the concatenation
    then copies again; the picked spaces are views of a shared buffer. Lengths are bytes:
    a value that is not ASCII is refused when the lines are joined, and one that is too
    long gets no spaces and fails the record's length check, as before."""
    col = pl.col(f.name)
    fill = (f.width - col.str.len_bytes().cast(pl.Int64)).clip(lower_bound=0).fill_null(f.width)
    value = col.fill_null("") if frame.get_column(f.name).null_count() else col
    return [value, pl.lit(_SPACES).gather(fill)]


#: Rows per slice when a large frame's records are built in parallel slices.
SLICE_ROWS = 250_000


def _concat_records(frame: pl.DataFrame, record: pl.Expr) -> pl.Series:
    """The ``record`` column of ``frame``. Why slices: one ``concat_str`` over one chunk
    runs on one thread; the union of slices of a large frame runs on every core polars has,
    with the same output (slices keep row order)."""
    if frame.height <= SLICE_ROWS:
        return frame.select(record).to_series()
    lazy = frame.lazy()
    parts = [
        lazy.slice(start, SLICE_ROWS).select(record) for start in range(0, frame.height, SLICE_ROWS)
    ]
    return pl.concat(parts, rechunk=False).collect().to_series()


def format_records(
    frame: pl.DataFrame,
    layout: L.Layout,
    *,
    context: str | None = None,
    check: bool = True,
    trusted: frozenset[str] = frozenset(),
) -> pl.Series:
    """94-character records for every row of ``frame`` (columns named as the layout's fields).

    Raises :class:`NachaWriteError` when a value does not fit (never truncates). ``trusted``
    names columns the caller derived itself (``assemble``'s addenda indicators): their
    value check is skipped, their length is still checked with the record's.
    """
    ctx = context or layout.key
    exact = _exact_width_columns(frame, layout)
    if check:
        digits = frozenset(
            f.name for f in layout.columns if f.name in exact and isinstance(f.kind, Numeric)
        )
        _check_values(frame, layout, ctx, trusted=trusted, exact=digits)
    exprs: list[pl.Expr] = []
    for f in layout.fields:
        if f.name in exact:
            exprs.append(pl.col(f.name))
        elif _pads_text(frame, f):
            exprs.extend(_padded_text(frame, f))
        else:
            exprs.append(_field_expr(frame, f, ctx, checked=check))
    lines = _concat_records(frame, pl.concat_str(exprs, ignore_nulls=False).alias("record"))
    if lines.null_count():
        row = lines.is_null().arg_max()
        raise NachaWriteError(
            f"{ctx} row {row}: a required value is missing", rule="write.missing_value"
        )
    # byte lengths are O(1) per record; only when some record is not 94 bytes are the
    # characters counted (a non-ASCII value is refused by ``join_lines`` either way)
    bad = lines.str.len_bytes() != L.RECORD_LENGTH
    if bad.any():
        bad = lines.str.len_chars() != L.RECORD_LENGTH
    if bad.any():
        row = int(bad.arg_max() or 0)
        values = frame.row(row, named=True)
        for f in layout.columns:
            v = values.get(f.name)
            if v is not None and len(str(v)) > f.width:
                raise NachaWriteError(
                    f"{ctx} row {row}: {f.name}={v!r} is longer than its {f.width} characters",
                    field=f.name,
                    rule="write.too_long",
                )
        raise NachaWriteError(
            f"{ctx} row {row}: record is not 94 characters", rule="write.too_long"
        )
    return lines


def join_lines(
    keyed: list[pl.DataFrame],
    line_ending: str,
    padding: int,
    *,
    trailing_newline: bool = True,
    check_printable: bool = True,
) -> bytes:
    """The records in line order (``n``), 9-filled ``padding`` records, one line ending
    each. Refuses any character other than printable ASCII unless the caller proved its
    values printable (``check_printable=False``)."""
    allrec = pl.concat(keyed, how="vertical")
    if not allrec["n"].is_sorted():
        allrec = allrec.sort("n")
    if padding:
        pad = pl.DataFrame({"n": [0] * padding, "record": ["9" * L.RECORD_LENGTH] * padding})
        allrec = pl.concat([allrec, pad.with_columns(pl.col("n").cast(pl.Int64))])
    buf = io.BytesIO()
    allrec.select("record").write_csv(
        buf, include_header=False, quote_style="never", line_terminator=line_ending
    )
    out = buf.getvalue()
    if not trailing_newline:
        out = out[: -len(line_ending)]
    if check_printable and out.translate(None, _PRINTABLE + line_ending.encode("ascii")):
        raise NachaWriteError(
            "a value contains characters other than printable ASCII", rule="write.non_ascii"
        )
    return out


def check_line_ending(line_ending: str) -> None:
    if line_ending not in ("\n", "\r\n"):
        raise ValueError(f"line_ending must be '\\n' or '\\r\\n', not {line_ending!r}")
