"""Pure checks that depend on values, not on records: ABA check digit, entry hash, trace
numbers. Exported so the CLI, the builder, the API client and the validator share one
definition (nacha-format.md §6.3, §8, §12).
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

_WEIGHTS = (3, 7, 1, 3, 7, 1, 3, 7)


def routing_check_digit(routing8: str) -> str:
    """The ninth digit of a routing number from its first eight (weights 3, 7, 1).

    >>> routing_check_digit("02100002")
    '1'
    >>> routing_check_digit("12345678")
    '0'
    """
    if len(routing8) != 8 or not routing8.isdigit() or not routing8.isascii():
        raise ValueError(f"routing prefix must be 8 digits, got {routing8!r}")
    total = sum(int(d) * w for d, w in zip(routing8, _WEIGHTS, strict=True))
    return str((10 - total % 10) % 10)


def is_valid_routing(routing: str) -> bool:
    """True for a 9-digit ABA routing number whose check digit is right.

    >>> is_valid_routing("021000021"), is_valid_routing("123456789")
    (True, False)
    """
    if len(routing) != 9 or not routing.isdigit() or not routing.isascii():
        return False
    return routing_check_digit(routing[:8]) == routing[8]


def routing_check_digit_expr(routing8: pl.Expr) -> pl.Expr:
    """Columnar :func:`routing_check_digit` over 8-digit strings (null if not digits)."""
    total = pl.lit(0, dtype=pl.Int64)
    for i, weight in enumerate(_WEIGHTS):
        total = total + routing8.str.slice(i, 1).str.to_integer(strict=False) * weight
    return ((10 - total % 10) % 10).cast(pl.String)


def entry_hash(rdfi_ids: Iterable[str | int]) -> int:
    """Entry hash: sum of the 8-digit RDFI identifications, keeping the 10 low-order digits.

    >>> entry_hash(["02100002", "05320776"])
    7420778
    """
    return sum(int(x) for x in rdfi_ids) % 10**10


def entry_hash_expr(rdfi_id: pl.Expr) -> pl.Expr:
    """Aggregation expression: the entry hash of a column of RDFI identifications."""
    return (rdfi_id.str.to_integer(strict=False).cast(pl.Int64).sum() % 10**10).cast(pl.Int64)


def trace_number(odfi_id: str, sequence: int) -> str:
    """A 15-digit trace number: ODFI routing prefix (8) + entry detail sequence number (7).

    >>> trace_number("12345678", 42)
    '123456780000042'
    """
    if len(odfi_id) != 8 or not (odfi_id.isascii() and odfi_id.isdigit()):
        raise ValueError(f"ODFI identification must be 8 digits, got {odfi_id!r}")
    if not 0 <= sequence <= 9_999_999:
        raise ValueError(f"trace sequence must be 0..9999999, got {sequence}")
    return f"{odfi_id}{sequence:07d}"


def split_trace_number(trace: str) -> tuple[str, int]:
    """(ODFI prefix, sequence number) of a 15-digit trace number.

    >>> split_trace_number("123456780000042")
    ('12345678', 42)
    """
    if len(trace) != 15 or not (trace.isascii() and trace.isdigit()):
        raise ValueError(f"trace number must be 15 digits, got {trace!r}")
    return trace[:8], int(trace[8:])


def trace_number_expr(odfi_id: pl.Expr, sequence: pl.Expr) -> pl.Expr:
    """Columnar :func:`trace_number` (sequence must already be within 0..9999999)."""
    return pl.concat_str(odfi_id, sequence.cast(pl.String).str.pad_start(7, "0"))
