"""The reasons a transfer is refused: one (condition, message) row per rule.

Why a table: every rule is a polars expression over the whole column, so checking a
million transfers is a handful of vectorised passes; the messages are only rendered for the
rows that fail. Description rules (§11.3) depend on few distinct combinations of SEC,
direction and description, so they are judged once per combination and joined back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from nacha.build_rules import (
    ADDENDA_TEXT_LENGTH,
    ENTRY_FIELD_COLUMNS,
    PAYMENT_TYPE_CODES,
    RESERVED_DESCRIPTIONS,
    SEC_RULES,
    EntryField,
    addenda_records_expr,
)
from nacha.build_settings import NACHA_MAX_AMOUNT_CENTS, BuildSettings

__all__ = [
    "CHARSETS",
    "ColumnFacts",
    "clean_columns",
    "column_facts",
    "description_reasons",
    "row_reasons",
    "rule_columns",
]

_PRINTABLE = r"^[\x20-\x7e]*$"  # printable ASCII only
_PRINTABLE_BYTES = bytes(range(0x20, 0x7F))
_DIGITS = b"0123456789"
_UPPER = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"

#: Characters each free-text column may hold (per-row checks below say the same by regex).
CHARSETS: dict[str, bytes] = {
    "reference": _DIGITS + _UPPER + _UPPER.lower(),
    "DFIAccountNumber": _DIGITS + _UPPER + b"-",
    "individualName": _PRINTABLE_BYTES,
    "identificationNumber": _PRINTABLE_BYTES,
    "addenda": _PRINTABLE_BYTES,
}


def clean_columns(frame: pl.DataFrame) -> frozenset[str]:
    """Columns of :data:`CHARSETS` whose every character (all rows) is allowed.

    Why: a regex per row is the dearest part of the checks. Joining a column's text once
    and deleting the allowed bytes (``bytes.translate``) proves the common case — nothing
    to find — in about half the CPU; a non-ASCII character can never pass (its UTF-8 bytes
    are >= 0x80). Only columns that fail keep the per-row regex that names the rows.
    """
    # every column's text in one select: polars joins them in parallel
    texts = frame.select(
        pl.col(column).drop_nulls().str.join("").cast(pl.Binary) for column in CHARSETS
    ).row(0)
    return frozenset(
        column
        for (column, allowed), text in zip(CHARSETS.items(), texts, strict=True)
        if not (text or b"").translate(None, allowed)
    )


@dataclass(frozen=True)
class ColumnFacts:
    """Facts about whole input columns, each proven by one cheap scan, that turn per-row
    rules into literals for the usual file (the rules still run per row when a fact fails).

    ``clean``: columns holding only allowed characters (:func:`clean_columns`).
    ``longest_addenda``: bytes of the longest addenda text (None: not known); at most 80
    means no text needs more than one record, so the CTX length and fit rules are moot.
    ``names_above_zero``: the smallest individualName sorts at or above ``"1"``, so no
    name is empty or starts with a space or ``0``: none is blank or all zeros.
    ``filled``: columns of :data:`~nacha.build_rules.ENTRY_FIELD_COLUMNS` that hold a value
    on some row (None: not known); an empty one can only be missing where it is required.
    """

    clean: frozenset[str] = frozenset()
    longest_addenda: int | None = None
    names_above_zero: bool = False
    filled: frozenset[str] | None = None


def column_facts(frame: pl.DataFrame) -> ColumnFacts:
    """:class:`ColumnFacts` of the normalised transfers (a min and a length maximum, no
    per-row text work besides :func:`clean_columns`)."""
    fields = [c for c in ENTRY_FIELD_COLUMNS if c in frame.columns]  # a missing one: empty
    longest, smallest, *values = frame.select(
        pl.col("addenda").str.len_bytes().max(),
        pl.col("individualName").min(),
        *[pl.col(c).is_not_null().any() for c in fields],
    ).row(0)
    return ColumnFacts(
        clean=clean_columns(frame),
        longest_addenda=0 if longest is None else int(longest),
        names_above_zero=smallest is not None and smallest >= "1",
        filled=frozenset(c for c, v in zip(fields, values, strict=True) if v),
    )


def row_reasons(
    settings: BuildSettings, *, facts: ColumnFacts | None = None
) -> list[tuple[pl.Expr, pl.Expr | str]]:
    """(bad-row condition, reason) pairs; conditions see the derived columns. ``facts``:
    what holds for whole columns (:func:`column_facts`): columns known to hold only
    allowed characters have their character checks reduced to lengths or removed, and
    rules a fact settles are literals."""
    facts = facts or ColumnFacts()
    clean = facts.clean

    def charset(column: str, pattern: str, *, length: tuple[int, int] | None = None) -> pl.Expr:
        """Bad when the text is not ``pattern`` (anchored); cheaper when ``column`` is clean."""
        col = pl.col(column)
        if column not in clean:
            return ~col.str.contains(pattern)
        if length is None:
            return pl.lit(False)
        return ~col.str.len_bytes().is_between(*length)  # ASCII: bytes are characters

    def length(column: str) -> pl.Expr:
        """Characters of ``column``: its bytes when clean (printable ASCII), an O(1) read
        per row instead of a UTF-8 count."""
        text = pl.col(column).str
        return text.len_bytes() if column in clean else text.len_chars()

    sec = pl.col("sec")
    rule = {name: pl.col(f"_rule_{name}") for name in ("name_max", "id_max", "max_addenda")}
    credit = pl.col("_credit")
    debit = pl.col("_debit")
    name = pl.col("individualName")
    name_required = pl.col("_rule_name_required").fill_null(True)  # unknown SEC: required
    # names proven to sort at or above "1" hold no blank or all-zero one: no regex per row
    zeros_or_blank = pl.lit(False) if facts.names_above_zero else name.str.contains(r"^[ 0]*$")
    blank_name = pl.lit(False) if facts.names_above_zero else name.str.contains(r"^ *$")
    ident = pl.col("identificationNumber")
    cents = pl.col("amount_cents")
    prenote = pl.col("prenote_flag")
    known_sec = pl.col("_rule_layout").is_not_null()  # joined from the SEC table
    # addenda 05 text: 80 characters a record, as many records as the SEC code allows (CTX:
    # 9,999); a SEC code without addenda, or an unknown one, has a reason of its own
    addenda_chars = (
        pl.when(known_sec).then(rule["max_addenda"]).otherwise(1).clip(lower_bound=1)
        * ADDENDA_TEXT_LENGTH
    )
    addenda_records = addenda_records_expr(pl.col("addenda"), length=length("addenda"))
    batch_records = settings.limits.batch_records  # >= 2: an entry and one addenda always fit
    longest = facts.longest_addenda
    one_record = longest is not None and longest <= ADDENDA_TEXT_LENGTH  # bytes >= characters
    out: list[tuple[pl.Expr, pl.Expr | str]] = [
        (pl.col("reference").is_null(), "reference is required"),
        (
            charset("reference", r"^[0-9A-Za-z]{1,32}$", length=(1, 32)),
            "reference must be 1-32 letters and digits",
        ),
        (pl.col("_duplicate"), "duplicate reference in this input"),
        (pl.col("_company").is_null() & pl.col("clientCode").is_not_null(),
         pl.format("unknown clientCode {}", pl.col("clientCode"))),
        (pl.col("_company").is_null() & pl.col("clientCode").is_null(),
         "clientCode is required (no default company configured)"),
        (sec.is_null(), "standardEntryClassCode is required"),
        (sec.is_not_null() & ~known_sec,
         pl.format("unsupported standardEntryClassCode {} (achpipe originates {})", sec,
                   pl.lit(", ".join(SEC_RULES)))),
        (pl.col("transactionType").is_null() | ~(credit | debit),
         "transactionType must be Credit or Debit"),
        (known_sec & credit & ~pl.col("_rule_credits"),
         pl.format("{} does not allow credits", sec)),
        (known_sec & debit & ~pl.col("_rule_debits"), pl.format("{} does not allow debits", sec)),
        (~((pl.col("accountType") == "Checking") | (pl.col("accountType") == "Savings"))
         .fill_null(False),  # two comparisons: cheaper than a hash lookup; null is refused
         "accountType must be Checking or Savings"),
        (pl.col("routingNumber").is_null(), "routingNumber is required"),
        (pl.col("routingNumber").is_not_null() & ~pl.col("_routing_ok"),
         pl.format("routingNumber {} is not 9 digits with a valid check digit",
                   pl.col("routingNumber"))),
        (pl.col("DFIAccountNumber").is_null(), "DFIAccountNumber is required"),
        (charset("DFIAccountNumber", r"^[0-9A-Z-]{1,17}$", length=(1, 17)),
         "DFIAccountNumber must be 1-17 of 0-9, A-Z, '-'"),
        (pl.col("currency").is_null() | (pl.col("currency") != "USD"), "currency must be USD"),
        (pl.col("amount").is_null(), "amount is required"),
        (pl.col("_malformed"), pl.format("amount {} is not a dollar amount like 12.34",
                                         pl.col("amount"))),
        (pl.col("_too_precise"), pl.format("amount {} has more than 2 decimals",
                                           pl.col("amount"))),
        (cents > NACHA_MAX_AMOUNT_CENTS, "amount exceeds $99,999,999.99"),
        (known_sec & (cents > pl.col("_rule_max_amount")),
         pl.format("amount over the {} limit for {}", pl.col("_rule_max_amount_text"), sec)),
        (prenote.is_null(), "prenote must be true or false"),
        (prenote & (cents != 0), "a prenote must have amount 0"),
        (~prenote & (cents == 0) & ~(pl.col("_rule_zero_dollar") & pl.col("addenda").is_not_null()),
         pl.when(pl.col("_rule_zero_dollar")).then(
             pl.lit("a zero-dollar remittance entry requires addenda")
         ).otherwise(pl.lit("amount must be greater than 0 (prenote=true for a prenote)"))),
        (name.is_null() & name_required, "individualName is required"),
        # a blank name is no name where none is required (a CSV's empty cell may be "")
        (zeros_or_blank & (name_required | ~blank_name),
         "individualName is blank or all zeros"),
        (known_sec & name.is_not_null() & ~blank_name & (rule["name_max"] == 0),
         pl.format("individualName does not apply to {} (its entry has no name field)", sec)),
        (known_sec & (rule["name_max"] > 0) & (length("individualName") > rule["name_max"]),
         pl.format("individualName longer than {} characters for {}", rule["name_max"], sec)),
        (charset("individualName", _PRINTABLE), "individualName must be printable ASCII"),
        (known_sec & ident.is_null() & pl.col("_rule_id_required"),
         pl.format("identificationNumber is required for {}", sec)),
        (known_sec & (length("identificationNumber") > rule["id_max"]),
         pl.format("identificationNumber longer than {} characters for {}", rule["id_max"],
                   sec)),
        (charset("identificationNumber", _PRINTABLE),
         "identificationNumber must be printable ASCII"),
        (pl.lit(False) if one_record else length("addenda") > addenda_chars,
         pl.when(addenda_chars == ADDENDA_TEXT_LENGTH)
         .then(pl.lit("addenda longer than 80 characters"))
         .otherwise(pl.format("addenda longer than {} characters ({} addenda records of 80) for {}",
                              addenda_chars, rule["max_addenda"], sec))),
        (pl.lit(False) if one_record else known_sec & (1 + addenda_records > batch_records),
         pl.format("addenda of {} records: the entry would not fit in one batch of a file "
                   "(at most {} entry and addenda records under max_file_lines / "
                   "max_batch_entries)", addenda_records, pl.lit(batch_records))),
        (charset("addenda", _PRINTABLE), "addenda must be printable ASCII"),
        (known_sec & pl.col("addenda").is_not_null() & (rule["max_addenda"] == 0),
         pl.format("{} entries carry no addenda", sec)),
        (known_sec & pl.col("paymentTypeCode").is_not_null()
         & (pl.col("_rule_payment_type") == "none"),
         pl.format("paymentTypeCode does not apply to {}", sec)),
        (pl.col("paymentTypeCode").is_not_null()
         & ~pl.any_horizontal(pl.col("paymentTypeCode") == code for code in PAYMENT_TYPE_CODES),
         "paymentTypeCode must be R, S or ST"),
        (known_sec & pl.col("paymentTypeCode").is_null()
         & (pl.col("_rule_payment_type") == "debits") & debit,
         pl.format("paymentTypeCode (R, S or ST) is required for {} debits", sec)),
        (pl.col("effectiveEntryDate").is_not_null() & pl.col("_requested").is_null(),
         pl.format("effectiveEntryDate {} is not a YYYY-MM-DD date",
                   pl.col("effectiveEntryDate"))),
        (pl.col("date_reason").is_not_null(), pl.col("date_reason")),
        (pl.col("same_day") & (cents > settings.odfi.profile.same_day_limit_cents)
         & (settings.effective_date_policy == "reject"),
         pl.format("same-day entry over the Same Day ACH limit of ${}",
                   pl.lit(f"{settings.odfi.profile.same_day_limit_cents / 100:,.2f}"))),
        (pl.col("_desc_reason").is_not_null(), pl.col("_desc_reason")),
    ]  # fmt: skip
    for column in ENTRY_FIELD_COLUMNS:
        out.extend(_entry_field_reasons(column, facts, length))
    return out


#: Each entry-field column's shape (the same wherever a SEC code has it).
_FIELD_SHAPES: dict[str, EntryField] = {f.column: f for r in SEC_RULES.values() for f in r.fields}


def _entry_field_reasons(
    column: str, facts: ColumnFacts, length: Callable[[str], pl.Expr]
) -> list[tuple[pl.Expr, pl.Expr | str]]:
    """Reasons of one SEC-specific entry-field column (POP terminal city/state, XCK process
    control and item research): required where the row's SEC code has the field, refused
    where it has not, at most the field's width, of its shape. A column no row fills
    (the usual file) can only be missing: one rule, the others are literals."""
    col, sec = pl.col(column), pl.col("sec")
    width = pl.col(f"_rule_field_{column}")  # null: the row's SEC code has no such field
    out: list[tuple[pl.Expr, pl.Expr | str]] = [
        (col.is_null() & width.is_not_null(), pl.format(f"{column} is required for {{}}", sec)),
    ]
    if facts.filled is not None and column not in facts.filled:
        return out
    spec = _FIELD_SHAPES[column]
    known_sec = pl.col("_rule_layout").is_not_null()
    return [
        *out,
        (known_sec & col.is_not_null() & width.is_null(),
         pl.format(f"{column} does not apply to {{}}", sec)),
        (length(column) > width,
         pl.format(f"{column} longer than {{}} characters for {{}}", width, sec)),
        (~col.str.contains(spec.pattern or _PRINTABLE),
         f"{column} must be {spec.shape or 'printable ASCII'}"),
    ]  # fmt: skip


#: What decides a description rule: few distinct combinations even in a million transfers.
_DESC_KEY = (
    "sec", "transactionType", "companyEntryDescription", "_has_addenda", "_micro", "_wages",
    "_ecommerce", "prenote_flag", "_rule_required_description",
)  # fmt: skip


def description_reasons(frame: pl.DataFrame) -> pl.DataFrame:
    """Reserved/required company entry descriptions (§11.3), judged once per distinct
    (SEC, direction, description, …) combination and joined back."""
    # A key column holding one value cannot tell combinations apart: it stays out of the
    # (row-hashing) unique and comes back as that value.
    constant = {c: v for c in _DESC_KEY if (v := _single_value(frame.get_column(c))) is not None}
    varying = [c for c in _DESC_KEY if c not in constant]
    if varying:
        combos = (
            frame.select(varying)
            .unique()
            .with_columns(pl.lit(v[0], dtype=frame.schema[c]).alias(c) for c, v in constant.items())
        )
    else:
        combos = pl.DataFrame([pl.Series(c, v, dtype=frame.schema[c]) for c, v in constant.items()])
    sec, direction = pl.col("sec"), pl.col("transactionType")
    desc_key = pl.col("companyEntryDescription").str.strip_chars().str.to_uppercase()
    prenote = pl.col("prenote_flag").fill_null(False)
    desc = pl.col("companyEntryDescription")
    checks: list[tuple[pl.Expr, pl.Expr | str]] = [
        (desc.is_null(), "companyEntryDescription is required"),
        (desc.str.contains(r"^[ 0]*$"), "companyEntryDescription is blank or all zeros"),
        (desc.str.len_chars() > 10, "companyEntryDescription longer than 10 characters"),
        (~desc.str.contains(_PRINTABLE), "companyEntryDescription must be printable ASCII"),
        (pl.col("_rule_required_description").is_not_null()
         & (desc_key != pl.col("_rule_required_description")),
         pl.format("{} entries must use companyEntryDescription {}", sec,
                   pl.col("_rule_required_description"))),
        (pl.col("_wages") & (sec == "PPD") & (direction == "Credit") & ~prenote
         & ~desc_key.str.starts_with("PAYROLL"),
         "wage credits of this company must use companyEntryDescription PAYROLL"),
        (pl.col("_ecommerce") & (sec == "WEB") & (direction == "Debit") & ~prenote
         & (desc_key != "PURCHASE"),
         "e-commerce WEB debits of this company must use companyEntryDescription PURCHASE"),
    ]  # fmt: skip
    for r in RESERVED_DESCRIPTIONS:
        hit = desc_key.str.starts_with(r.value) if r.prefix else desc_key == r.value
        bad = ~sec.is_in(list(r.secs)) | ~direction.is_in(list(r.directions))
        if r.max_amount_cents is not None:
            bad = bad | ~pl.col("_micro")
        if r.needs_addenda:
            bad = bad | ~pl.col("_has_addenda")
        checks.append((hit & bad, r.reason))
    flags = [
        pl.when(c.fill_null(False)).then(m if isinstance(m, pl.Expr) else pl.lit(m))
        for c, m in checks
    ]
    judged = combos.with_columns(
        _desc_reason=pl.concat_list(flags).list.drop_nulls().list.join("; ")
    ).filter(pl.col("_desc_reason") != "")
    if judged.height == 0:  # the usual case: no combination is wrong, no join back
        return frame.with_columns(_desc_reason=pl.lit(None, pl.String))
    return frame.join(
        judged, on=list(_DESC_KEY), how="left", nulls_equal=True, maintain_order="left"
    )


def _single_value(values: pl.Series) -> list[object] | None:
    """``[value]`` when every row holds the same value (null included), else None: cheap
    column statistics (null count, min, max), no hashing."""
    nulls = values.null_count()
    if values.len() == 0:
        return None
    if nulls == values.len():
        return [None]
    if nulls == 0 and values.min() == values.max():
        return [values[0]]
    return None


def rule_columns() -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "sec": code,
                "_rule_credits": r.credits,
                "_rule_debits": r.debits,
                "_rule_max_addenda": r.max_addenda,
                "_rule_name_max": r.name_max,
                "_rule_id_max": r.id_max,
                "_rule_id_required": r.id_required,
                "_rule_name_required": r.name_required,
                "_rule_max_amount": r.max_amount_cents,
                "_rule_max_amount_text": f"${r.max_amount_cents / 100:,.2f}",
                "_rule_payment_type": r.payment_type,
                "_rule_zero_dollar": r.zero_dollar_remittance,
                "_rule_required_description": r.required_description,
                "_rule_layout": r.layout,
                **{
                    f"_rule_field_{column}": next(
                        (f.width for f in r.fields if f.column == column), None
                    )
                    for column in ENTRY_FIELD_COLUMNS
                },
            }
            for code, r in SEC_RULES.items()
        ],
        schema_overrides={"_rule_required_description": pl.String}
        | {f"_rule_field_{column}": pl.Int64 for column in ENTRY_FIELD_COLUMNS},
    )
