"""The issues frame: one row per problem found (reader or validator).

Columns: ``line`` (1-based physical line, null for file-level findings without a line),
``record_type`` (``file_header``, ``batch_header``, ``entry``, ``addenda``, ``batch_control``,
``file_control``, ``padding``, ``file``), ``field`` (snake_case field name or null), ``rule``
(stable code such as ``entry.rdfi_check_digit``), ``message`` and ``severity`` (``error`` or
``warning``; a relaxation turns the errors of the rules it covers into warnings so that what
was accepted stays visible and auditable).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import polars as pl

Severity = Literal["error", "warning"]

ISSUE_SCHEMA: dict[str, pl.DataType] = {
    "line": pl.Int64(),
    "record_type": pl.String(),
    "field": pl.String(),
    "rule": pl.String(),
    "message": pl.String(),
    "severity": pl.String(),
}


@dataclass(frozen=True, slots=True)
class Issue:
    """One issue, for people and tests (the bulk path uses the frame)."""

    line: int | None
    record_type: str
    field: str | None
    rule: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else "file"
        field = f" {self.field}" if self.field else ""
        return f"{where} {self.record_type}{field}: {self.message} [{self.rule}] ({self.severity})"


def empty_issues() -> pl.DataFrame:
    return pl.DataFrame(schema=ISSUE_SCHEMA)


def issues_frame(rows: list[Issue]) -> pl.DataFrame:
    if not rows:
        return empty_issues()
    return pl.DataFrame(
        {
            "line": [r.line for r in rows],
            "record_type": [r.record_type for r in rows],
            "field": [r.field for r in rows],
            "rule": [r.rule for r in rows],
            "message": [r.message for r in rows],
            "severity": [r.severity for r in rows],
        },
        schema=ISSUE_SCHEMA,
    )


def issue_rows(
    frame: pl.DataFrame,
    *,
    record_type: str | pl.Expr,
    field: str | None,
    rule: str,
    message: str | pl.Expr,
    severity: Severity = "error",
    line: str = "line",
) -> pl.DataFrame:
    """Turn the rows of ``frame`` (already filtered to offenders) into issue rows."""
    if frame.height == 0:
        return empty_issues()
    rt = pl.lit(record_type) if isinstance(record_type, str) else record_type
    msg = pl.lit(message) if isinstance(message, str) else message
    return frame.select(
        pl.col(line).cast(pl.Int64).alias("line"),
        rt.cast(pl.String).alias("record_type"),
        pl.lit(field, dtype=pl.String).alias("field"),
        pl.lit(rule).alias("rule"),
        msg.cast(pl.String).alias("message"),
        pl.lit(severity).alias("severity"),
    )


def to_issues(frame: pl.DataFrame) -> list[Issue]:
    """The object form of an issues frame."""
    return [Issue(**row) for row in frame.iter_rows(named=True)]


def fmt(template: str, *args: pl.Expr) -> pl.Expr:
    """``pl.format`` built from ``concat_str`` (values cast to strings; null shows as
    ``null``)."""
    pieces = template.split("{}")
    if len(pieces) != len(args) + 1:
        raise ValueError("template placeholders and arguments differ")
    exprs: list[pl.Expr] = []
    for piece, arg in zip(pieces, [*args, None], strict=True):
        if piece:
            exprs.append(pl.lit(piece))
        if arg is not None:
            exprs.append(arg.cast(pl.String).fill_null("null"))
    return pl.concat_str(exprs)
