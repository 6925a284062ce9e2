"""Masking of account numbers for anything a person or a log may see.

Full DFI account numbers never leave the ledger's encrypted column; reports, logs, CLI output
and error messages show at most the last four characters.
"""

from __future__ import annotations

import polars as pl


def mask_account(account: str | None, *, keep: int = 4) -> str:
    """Mask all but the last ``keep`` characters of an account number.

    >>> mask_account("123456789")
    '*****6789'
    >>> mask_account("12")
    '**'
    >>> mask_account(None)
    ''
    """
    if not account:
        return ""
    value = account.strip()
    if len(value) <= keep:
        return "*" * len(value)
    return "*" * (len(value) - keep) + value[-keep:]


def mask_account_expr(column: str | pl.Expr, *, keep: int = 4) -> pl.Expr:
    """The columnar twin of :func:`mask_account` (same output, whole column at once)."""
    col = pl.col(column) if isinstance(column, str) else column
    value = col.str.strip_chars()
    n = value.str.len_chars()
    tail = pl.when(n <= keep).then(pl.lit("")).otherwise(value.str.slice(-keep))
    return pl.when(value.is_null()).then(pl.lit("")).otherwise(tail.str.pad_start(n, "*"))
