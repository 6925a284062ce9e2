"""Validation: the rules of :mod:`nacha.rules` as polars expressions over whole columns.

``validate(f)`` returns the issues frame (see :mod:`nacha.issues`): the reader's findings plus
field formats, header/control equality, counts, entry hashes and totals at batch and file
level, block count and padding, record order, service class vs transaction codes,
SEC-specific rules, trace numbers, return and NOC addenda. Entry-level rules are screened
over the entries (identifiers parsed to integers once) and evaluated exactly on the
candidates, so a million entries cost a few column passes; only the offending rows become
Python objects.
"""

from __future__ import annotations

import polars as pl

from nacha import layouts as L
from nacha.checks import is_valid_routing
from nacha.issues import ISSUE_SCHEMA, Issue, empty_issues, issue_rows, issues_frame
from nacha.kinds import Alphanumeric, Constant, Numeric, Reserved
from nacha.model import NachaFile
from nacha.options import ValidateOptions
from nacha.rules import RULES
from nacha.validation_addenda import addenda_issues
from nacha.validation_batches import batch_issues
from nacha.validation_common import entry_numbers, sums_by_batch
from nacha.validation_entries import entry_issues


def validate(f: NachaFile, *, options: ValidateOptions | None = None) -> pl.DataFrame:
    """All issues of ``f`` as a frame (line, record_type, field, rule, message, severity).

    A file is valid when no row has severity ``error``. Relaxations in ``options`` turn the
    errors of the rules they cover into warnings.
    """
    opts = options or ValidateOptions()
    parts: list[pl.DataFrame] = [f.read_issues]
    parts.append(_physical(f))
    parts.append(_field_formats(f))
    parts.append(_required_fields(f))
    parts.append(_file_header(f, opts))
    parts.append(batch_issues(f))
    parts.append(entry_issues(f))
    parts.append(addenda_issues(f))
    parts.append(_file_control(f))
    issues = (
        pl.concat([p.select(list(ISSUE_SCHEMA)) for p in parts if p.height], how="vertical")
        if any(p.height for p in parts)
        else empty_issues()
    )
    return _apply_severity(issues, opts)


def is_valid(f: NachaFile, *, options: ValidateOptions | None = None) -> bool:
    """True when :func:`validate` finds no errors."""
    issues = validate(f, options=options)
    return not (issues["severity"] == "error").any()


def _apply_severity(issues: pl.DataFrame, opts: ValidateOptions) -> pl.DataFrame:
    if issues.height == 0:
        return issues
    relaxed: list[str] = []
    for code, rule in RULES.items():
        if (
            opts.skip_all
            or any(getattr(opts, name) for name in rule.relaxed_by)
            or (
                opts.bypass_batch_validation and code.split(".")[0] in ("batch", "entry", "addenda")
            )
        ):
            relaxed.append(code)
    defaults = {code: rule.severity for code, rule in RULES.items()}
    sev = pl.col("rule").replace_strict(defaults, default="error", return_dtype=pl.String)
    return issues.with_columns(
        pl.when(pl.col("rule").is_in(relaxed))
        .then(pl.lit("warning"))
        .otherwise(sev)
        .alias("severity")
    ).sort("line", nulls_last=True, maintain_order=True)


# ------------------------------------------------------------------------------ physical


def _physical(f: NachaFile) -> pl.DataFrame:
    rows: list[Issue] = []
    n = f.record_codes.height
    if n % 10:
        rows.append(
            Issue(
                None,
                "file",
                None,
                "file.padding",
                f"{n} records is not a multiple of the blocking factor 10",
            )
        )
    if f.file_control.height:
        fc = f.file_control.row(0, named=True)
        blocks = -(-n // 10)
        if fc["block_count"] is not None and fc["block_count"] != blocks:
            rows.append(
                Issue(
                    fc["line"],
                    "file_control",
                    "block_count",
                    "file.block_count",
                    f"block count {fc['block_count']} but the file has {blocks}",
                )
            )
    if f.batches.height == 0:
        rows.append(Issue(None, "file", None, "file.no_batches", "the file has no batches"))
    return issues_frame(rows)


# entry layouts whose numeric fields are exactly the digit runs 2-12, 30-39 and 79-94
_FAST_ENTRY_LAYOUTS = frozenset(
    key
    for key, layout in L.ENTRY_LAYOUTS.items()
    if {
        (f.start, f.end)
        for f in layout.fields
        if isinstance(f.kind, Numeric) and f.name != "record_type_code"
    }
    == {(2, 3), (4, 11), (12, 12), (30, 39), (79, 79), (80, 94)}
)


def _field_formats(f: NachaFile) -> pl.DataFrame:
    """Every record checked against its layout in one pass; only failing records are
    examined field by field.

    Entries of the common layouts take a cheaper path when the file is printable ASCII and
    has no '+': their numeric runs already parsed to non-negative integers (a non-digit makes
    the parse null, a '-' makes it negative), so no regex pass over a million records."""
    sources: list[tuple[str, pl.DataFrame]] = list(f.raw_by_layout.items())
    fast = f.printable_ascii and not f.has_plus_sign
    if f.entry_records.height:
        e = entry_numbers(f)
        parts = (
            [(f.entry_layouts[0], e)]
            if len(f.entry_layouts) == 1
            else [(str(k), p) for (k,), p in e.group_by("_layout", maintain_order=True)]
        )
        for k, part in parts:
            if fast and k in _FAST_ENTRY_LAYOUTS:
                # null = a non-digit; negative = a '-' (a '+' sends the file down the regex path)
                ok = (pl.col("_tc") >= 0) & (pl.col("_ind") >= 0) & (pl.col("amount") >= 0)
                suspects = part.filter(~ok.fill_null(False)).select("line", "raw")
                sources.append((f"entry_{k}", suspects))
            else:
                sources.append((f"entry_{k}", part.select("line", "raw")))
    out: list[pl.DataFrame] = []
    for key, frame in sources:
        layout = L.ALL_LAYOUTS[key]
        bad = frame.filter(~pl.col("raw").str.contains(layout.pattern))
        if bad.height == 0:
            continue
        rows: list[Issue] = []
        for line, raw in bad.iter_rows():
            for fld in layout.fields:
                value = raw[fld.offset : fld.end]
                if fld.name == "record_type_code":
                    continue
                issue = _field_issue(layout, fld, value, line)
                if issue is not None:
                    rows.append(issue)
        out.append(issues_frame(rows))
    return pl.concat(out) if out else empty_issues()


# mandatory text fields with a rule of their own (a clearer message, their own relaxation)
_REQUIRED_ELSEWHERE = {
    "company_name",
    "company_id",
    "company_entry_description",
    "dfi_account_number",
    "individual_name",
    "file_id_modifier",
    "immediate_destination",
    "immediate_origin",
    "return_reason_code",
    "change_code",
    "corrected_data",
    "addenda_type_code",
    "sec_code",
}


def _required_fields(f: NachaFile) -> pl.DataFrame:
    """Mandatory alphanumeric fields that are blank (numeric ones fail their digit check)."""
    sources = list(f.raw_by_layout.items())
    if f.entry_records.height:
        for key in f.entry_layouts:
            if key == "standard":
                continue  # its mandatory text fields have rules of their own
            part = (
                f.entry_records
                if len(f.entry_layouts) == 1
                else f.entry_records.filter(pl.col("_layout") == key)
            )
            sources.append((f"entry_{key}", part.select("line", "raw")))
    out = []
    for key, frame in sources:
        layout = L.ALL_LAYOUTS[key]
        for fld in layout.fields:
            if not (fld.required and isinstance(fld.kind, Alphanumeric)) or (
                fld.name in _REQUIRED_ELSEWHERE
            ):
                continue
            blank = frame.filter(
                pl.col("raw").str.slice(fld.offset, fld.width).str.strip_chars(" ") == ""
            )
            out.append(
                issue_rows(
                    blank,
                    record_type=layout.record,
                    field=fld.name,
                    rule="field.required",
                    message=f"{fld.name} is blank",
                )
            )
    return pl.concat(out) if out else empty_issues()


def _field_issue(layout: L.Layout, fld: L.Field, value: str, line: int) -> Issue | None:
    kind = fld.kind
    rt = layout.record
    if isinstance(kind, Constant):
        if value != kind.value:
            return Issue(
                line,
                rt,
                fld.name,
                "field.constant",
                f"{fld.name} is {value!r}, must be {kind.value!r}",
            )
        return None
    if isinstance(kind, Numeric):
        if value.isascii() and value.isdigit():
            return None
        if kind.blank_ok and value.strip(" ") == "":
            return None
        return Issue(
            line, rt, fld.name, "field.numeric", f"{fld.name} {value!r} is not {fld.width} digits"
        )
    text_kind = isinstance(kind, Alphanumeric | Reserved) or kind.name == "routing10"
    if text_kind and any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return Issue(
            line, rt, fld.name, "field.characters", f"{fld.name} contains control characters"
        )
    return None


# --------------------------------------------------------------------------- file header


def _file_header(f: NachaFile, opts: ValidateOptions) -> pl.DataFrame:
    if f.file_header.height == 0:
        return empty_issues()
    h = f.file_header.row(0, named=True)
    line = h["line"]
    rows: list[Issue] = []
    dest = h["immediate_destination"] or ""
    if not _routing_ok(dest):
        rows.append(
            Issue(
                line,
                "file_header",
                "immediate_destination",
                "file_header.immediate_destination",
                f"immediate destination {dest!r} is not a valid routing number",
            )
        )
    origin = h["immediate_origin"] or ""
    if opts.require_aba_origin and not _routing_ok(origin):
        rows.append(
            Issue(
                line,
                "file_header",
                "immediate_origin",
                "file_header.immediate_origin",
                f"immediate origin {origin!r} is not a valid routing number",
            )
        )
    if h["creation_date"] is None:
        rows.append(
            Issue(
                line,
                "file_header",
                "file_creation_date",
                "file_header.file_creation_date",
                f"file creation date {h['file_creation_date']!r} is not a YYMMDD date",
            )
        )
    t = h["file_creation_time"]
    if t is not None and not (t.isascii() and t.isdigit() and int(t[:2]) < 24 and int(t[2:]) < 60):
        rows.append(
            Issue(
                line,
                "file_header",
                "file_creation_time",
                "file_header.file_creation_time",
                f"file creation time {t!r} is not HHMM",
            )
        )
    mod = h["file_id_modifier"] or ""
    if not mod:
        rows.append(
            Issue(
                line,
                "file_header",
                "file_id_modifier",
                "file_header.file_id_modifier_blank",
                "file ID modifier is blank",
            )
        )
    elif not (len(mod) == 1 and ((mod.isascii() and mod.isdigit()) or "A" <= mod <= "Z")):
        rows.append(
            Issue(
                line,
                "file_header",
                "file_id_modifier",
                "file_header.file_id_modifier",
                f"file ID modifier {mod!r} must be A-Z or 0-9",
            )
        )
    return issues_frame(rows)


def _routing_ok(value: str) -> bool:
    v = value.strip()
    if len(v) == 10 and v[0] in "01":  # 10-digit form some ODFIs use ("0" or "1" + routing)
        v = v[1:]
    return is_valid_routing(v)


# --------------------------------------------------------------------------------- batches


def _file_control(f: NachaFile) -> pl.DataFrame:
    if f.file_control.height == 0:
        return empty_issues()
    fc = f.file_control.row(0, named=True)
    b = f.batches
    calc = (
        sums_by_batch(f)
        .select(
            pl.col("_n").sum().alias("n"),
            (pl.col("_hash_sum").sum() % 10**10).alias("hash"),
            pl.col("_debit").sum().alias("debit"),
            pl.col("_credit").sum().alias("credit"),
        )
        .row(0, named=True)
    )
    expected = {
        "batch_count": (b.height, "file.batch_count", "batch count"),
        "entry_addenda_count": (
            calc["n"] + f.addenda.height,
            "file.entry_addenda_count",
            "entry/addenda count",
        ),
        "entry_hash": (calc["hash"] or 0, "file.entry_hash", "entry hash"),
        "total_debit_entry_dollar_amount": (
            calc["debit"] or 0,
            "file.total_debit",
            "total debit amount",
        ),
        "total_credit_entry_dollar_amount": (
            calc["credit"] or 0,
            "file.total_credit",
            "total credit amount",
        ),
    }
    rows = []
    for col, (value, rule, what) in expected.items():
        if fc[col] != value:
            rows.append(
                Issue(
                    fc["line"],
                    "file_control",
                    col,
                    rule,
                    f"{what} is {fc[col]} but the file gives {value}",
                )
            )
    return issues_frame(rows)
