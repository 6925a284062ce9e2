"""Formatting expressions shared by details and reports (money as text, never floats)."""

from __future__ import annotations

import polars as pl


def money_expr(cents: str | pl.Expr) -> pl.Expr:
    """Integer cents → ``"1234.05"`` (sign kept), exactly, without going through floats."""
    c = pl.col(cents) if isinstance(cents, str) else cents
    a = c.abs()
    body = pl.format(
        "{}.{}", (a // 100).cast(pl.String), (a % 100).cast(pl.String).str.pad_start(2, "0")
    )
    return pl.when(c < 0).then(pl.lit("-") + body).otherwise(body)


def money(cents: int | None) -> str:
    """Scalar twin of :func:`money_expr`, with thousands separators for people."""
    if cents is None:
        return ""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole:,}.{part:02d}"
