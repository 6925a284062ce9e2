"""Field kinds: how one fixed-width field is read, written and checked.

Each kind is a small class with the same interface (construct-style): ``dtype`` of the
parsed column, ``parse(raw)`` from the sliced characters, ``format(value, width)`` back to
exactly ``width`` characters, ``pattern(width)`` (a regex fragment used to check a whole
record in one pass) and ``fits(value, width)`` (a boolean expression the writer checks before
formatting — a value that does not fit raises, it is never truncated). All work on polars
expressions so a million records are handled column by column.
"""

from __future__ import annotations

import re

import polars as pl

PRINTABLE = "[ -~]"


class Kind:
    """Base kind: a left-justified text field."""

    name = "kind"
    dtype: pl.DataType = pl.String()
    numeric = False

    def pattern(self, width: int) -> str:
        return f"{PRINTABLE}{{{width}}}"

    def parse(self, raw: pl.Expr) -> pl.Expr:
        return raw.str.strip_chars_end(" ").replace("", None)

    def text(self, value: pl.Expr) -> pl.Expr:
        """The value as a string column (before padding)."""
        return value.cast(pl.String)

    def format(self, value: pl.Expr, width: int) -> pl.Expr:
        # pad first: fill_null is free when there are no nulls (the bulk case)
        return self.text(value).str.pad_end(width, " ").fill_null(" " * width)

    def fits(self, value: pl.Expr, width: int) -> pl.Expr:
        text = self.text(value).fill_null("")
        return (text.str.len_chars() <= width) & text.str.contains(f"^{PRINTABLE}*$")

    def __repr__(self) -> str:
        return self.name


class Alphanumeric(Kind):
    """AN: left-justified, space-filled printable ASCII; blank reads as null."""

    name = "alphanumeric"


class Reserved(Kind):
    """Reserved positions: written as blanks when no value is given; read like AN so that a
    file with something there still round-trips byte for byte."""

    name = "reserved"


class Numeric(Kind):
    """N: digits, right-justified, zero-filled, kept as a string (leading zeros matter for
    routing and trace numbers). A blank optional field reads as null and writes as blanks."""

    name = "numeric"
    numeric = True

    def __init__(self, *, blank_ok: bool = False) -> None:
        self.blank_ok = blank_ok

    def pattern(self, width: int) -> str:
        if self.blank_ok:
            return f"(?:[0-9]{{{width}}}| {{{width}}})"
        return f"[0-9]{{{width}}}"

    def parse(self, raw: pl.Expr) -> pl.Expr:
        if not self.blank_ok:
            return raw  # kept verbatim; the format rules report non-digits
        return pl.when(raw.str.strip_chars(" ") == "").then(None).otherwise(raw)

    def text(self, value: pl.Expr) -> pl.Expr:
        return value.cast(pl.String)

    def format(self, value: pl.Expr, width: int) -> pl.Expr:
        padded = self.text(value).str.pad_start(width, "0")
        # a blank-able field writes null as blanks; otherwise null stays null and the writer
        # reports the missing value instead of inventing one
        return padded.fill_null(" " * width) if self.blank_ok else padded

    def fits(self, value: pl.Expr, width: int) -> pl.Expr:
        text = self.text(value)
        ok = (text.str.len_chars() <= width) & text.str.contains(r"^[0-9]+$")
        return ok.fill_null(self.blank_ok)


class Integer(Numeric):
    """N read as Int64 (amounts in cents, counts, totals, batch numbers)."""

    name = "integer"
    dtype = pl.Int64()

    def parse(self, raw: pl.Expr) -> pl.Expr:
        # null for anything that is not an integer; a sign ('-'/'+') is caught by the format
        # rules, which check every numeric field's characters
        return raw.str.to_integer(strict=False).cast(pl.Int64)

    def fits(self, value: pl.Expr, width: int) -> pl.Expr:
        return super().fits(value, width) & (value.cast(pl.Int64, strict=False) >= 0).fill_null(
            self.blank_ok
        )


class Date(Numeric):
    """YYMMDD kept as the raw string (a parsed pl.Date is added where it helps)."""

    name = "date"


class Time(Numeric):
    """HHMM kept as the raw string."""

    name = "time"


class Routing10(Kind):
    """File-header routing fields: blank + 9 digits (or 10 characters). Read stripped,
    written right-justified with a leading blank."""

    name = "routing10"

    def parse(self, raw: pl.Expr) -> pl.Expr:
        return raw.str.strip_chars(" ").replace("", None)

    def format(self, value: pl.Expr, width: int) -> pl.Expr:
        return self.text(value).str.pad_start(width, " ").fill_null(" " * width)


class Constant(Kind):
    """A fixed value (record size ``094``, blocking factor ``10``, format code ``1``...)."""

    name = "constant"

    def __init__(self, value: str) -> None:
        self.value = value

    def pattern(self, width: int) -> str:
        return re.escape(self.value)

    def parse(self, raw: pl.Expr) -> pl.Expr:
        return raw

    def format(self, value: pl.Expr, width: int) -> pl.Expr:
        return self.text(value).fill_null(self.value).str.pad_end(width, " ")

    def fits(self, value: pl.Expr, width: int) -> pl.Expr:
        return (self.text(value) == self.value).fill_null(True)

    def __repr__(self) -> str:
        return f"constant({self.value!r})"


AN = Alphanumeric()
RESERVED = Reserved()
N = Numeric()
N_BLANK = Numeric(blank_ok=True)
INT = Integer()
INT_BLANK = Integer(blank_ok=True)
DATE = Date()
DATE_BLANK = Date(blank_ok=True)
TIME_BLANK = Time(blank_ok=True)
ROUTING10 = Routing10()
