"""Record order as data: which record kind may follow which (nacha-format.md §1 Sequence).

The check is columnar — the pair (previous kind, kind) of every record is compared with the
allowed pairs in one pass; only the offending rows (normally none) are turned into issues
with a rule code that says what went wrong.
"""

from __future__ import annotations

import polars as pl

from nacha.issues import Issue, empty_issues, issues_frame

# kind codes (see reader): 0 = start of file
S, FH, BH, ED, AD, BC, FC, PAD, UNK = 0, 1, 5, 6, 7, 8, 9, 10, 11
NAMES = {
    S: "start",
    FH: "file_header",
    BH: "batch_header",
    ED: "entry",
    AD: "addenda",
    BC: "batch_control",
    FC: "file_control",
    PAD: "padding",
    UNK: "unknown",
}

ALLOWED: frozenset[tuple[int, int]] = frozenset(
    {
        (S, FH),
        (FH, BH),
        (FH, FC),
        (BH, ED),
        (ED, ED),
        (ED, AD),
        (ED, BC),
        (AD, AD),
        (AD, ED),
        (AD, BC),
        (BC, BH),
        (BC, FC),
        (FC, PAD),
        (PAD, PAD),
    }
)
_ALLOWED_CODES = sorted(a * 16 + b for a, b in ALLOWED)


def _classify(prev: int, cur: int) -> tuple[str, str, str]:
    """(record_type, rule, message) for a disallowed pair."""
    cur_name = NAMES[cur]
    if cur == UNK:
        return "record", "record.type", "unknown record type code (first character)"
    if prev == S and cur == BH:
        return "file_header", "file.missing_header", "the file does not start with a file header"
    if prev == S:
        return cur_name, "file.missing_header", f"the file starts with a {cur_name} record"
    if cur == FH:
        return cur_name, "file.record_order", f"file header after a {NAMES[prev]} record"
    if prev in (ED, AD) and cur in (BH, FC, PAD):
        return (
            "batch_control",
            "batch.missing_control",
            (f"batch has no batch control record ({cur_name} follows its last entry)"),
        )
    if prev in (FC, PAD) and cur != PAD:
        return cur_name, "file.records_after_control", f"{cur_name} record after the file control"
    if cur == ED:
        return cur_name, "entry.outside_batch", f"entry detail after a {NAMES[prev]} record"
    if cur == AD:
        return cur_name, "addenda.outside_entry", f"addenda after a {NAMES[prev]} record"
    if prev == BH and cur == BC:
        return "batch_header", "batch.no_entries", "batch has no entry detail records"
    if cur == BC:
        return cur_name, "file.record_order", f"batch control after a {NAMES[prev]} record"
    if cur == BH:
        return cur_name, "file.record_order", f"batch header after a {NAMES[prev]} record"
    if cur == PAD:
        return "padding", "file.record_order", "padding record before the file control"
    return cur_name, "file.record_order", f"{cur_name} record after a {NAMES[prev]} record"


def structure_issues(records: pl.DataFrame) -> pl.DataFrame:
    """Issues about record order, missing headers/controls and padding for ``records``
    (columns ``line`` and ``kind``, blank lines already removed)."""
    kind = pl.col("kind").cast(pl.Int16)
    prev = kind.shift(1, fill_value=S)
    pairs = records.select("line", prev.alias("prev"), kind.alias("cur"))
    bad = pairs.filter(~(pl.col("prev") * 16 + pl.col("cur")).is_in(_ALLOWED_CODES))
    rows: list[Issue] = []
    for line, p, c in bad.iter_rows():
        rt, rule, msg = _classify(p, c)
        rows.append(Issue(line, rt, None, rule, msg))
    kinds = records["kind"]
    last_line = int(records["line"][-1])
    if not (kinds == FC).any():
        tail = records.filter(pl.col("kind") != PAD)
        last = int(tail["kind"][-1]) if tail.height else S
        if last in (ED, AD):
            rows.append(
                Issue(
                    last_line,
                    "batch_control",
                    None,
                    "batch.missing_control",
                    "batch has no batch control record (end of file)",
                )
            )
        rows.append(
            Issue(
                None,
                "file_control",
                None,
                "file.missing_control",
                "the file has no file control record",
            )
        )
    out = issues_frame(rows)
    return out if out.height else empty_issues()
