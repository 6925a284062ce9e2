"""Check a frame of connectFi-shaped transfers; split it into accepted rows and rejections.

Why so strict: a transfer we cannot write exactly as asked must come back to the caller with
its reference and a reason. Nothing is dropped silently, nothing is altered silently (a
date moved under the ``roll`` policy is reported in ``date_action``). Every check is a polars
expression over the whole column: a million transfers are checked without a Python loop.

Input columns are connectFi's ``/transfer-to/ach/create`` fields (connectfi-ach.md §3.1)
plus ``prenote`` (our extension: a zero-dollar prenotification). ``amount`` is dollars as
text or Decimal; floats and integers are refused as a whole (floats are inexact, integers
are ambiguous with cents). ``effectiveEntryDate`` may be empty: the earliest standard date.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime

import polars as pl

from nacha.build_reasons import (
    ColumnFacts,
    column_facts,
    description_reasons,
    row_reasons,
    rule_columns,
)
from nacha.build_rules import ENTRY_FIELD_COLUMNS, SEC_RULES, routing_is_valid_expr
from nacha.build_settings import ACCOUNT_DIGIT, BuildSettings
from nacha.calendar import earliest_standard_date, same_day_date
from nacha.errors import NachaError

__all__ = [
    "OPTIONAL_COLUMNS",
    "REJECTED_SCHEMA",
    "REQUIRED_COLUMNS",
    "TRANSFER_COLUMNS",
    "BuildInputError",
    "CheckedTransfers",
    "check_transfers",
]

REQUIRED_COLUMNS = (
    "reference",
    "effectiveEntryDate",
    "standardEntryClassCode",
    "individualName",
    "routingNumber",
    "DFIAccountNumber",
    "accountType",
    "transactionType",
    "amount",
    "currency",
    "companyEntryDescription",
)
OPTIONAL_COLUMNS = (
    "clientCode",
    "identificationNumber",
    "paymentTypeCode",
    "addenda",
    "prenote",
    "webhookUrl",
    *ENTRY_FIELD_COLUMNS,
)
# The connectFi create fields of one ordinary transfer, in connectFi's order: what intake files,
# the demo's generated days and planned retries are written as (all text; amounts in dollars).
TRANSFER_COLUMNS = (
    REQUIRED_COLUMNS[0],
    "clientCode",
    *REQUIRED_COLUMNS[1:],
    "identificationNumber",
    "paymentTypeCode",
)
REJECTED_SCHEMA = {"row": pl.Int64, "reference": pl.String, "reason": pl.String}


class BuildInputError(NachaError):
    """The transfers as a whole are unusable (missing column, float amounts, …).

    Row-level problems are never raised: they are rows of the rejected frame.
    """


@dataclass(frozen=True)
class CheckedTransfers:
    """``accepted``: normalised, typed rows ready for batching; ``rejected``: row, reference,
    reason (every reason of the row, ``; ``-separated)."""

    accepted: pl.DataFrame
    rejected: pl.DataFrame


def _text_column(frame: pl.DataFrame, name: str) -> pl.Expr:
    dtype = frame.schema.get(name)
    if dtype is None:
        return pl.lit(None, dtype=pl.String).alias(name)
    if dtype in (pl.String, pl.Null, pl.Categorical) or isinstance(dtype, pl.Enum):
        return pl.col(name).cast(pl.String)
    raise BuildInputError(f"column {name!r} must be text, got {dtype} (numbers lose leading zeros)")


def _single_text(column: pl.Series) -> bool:
    """Every row holds the same (non-null) text: min and max are a cheap scan, no hashing."""
    return bool(column.len()) and column.null_count() == 0 and column.min() == column.max()


def _blank_to_null(frame: pl.DataFrame, name: str, expr: pl.Expr) -> pl.Expr:
    """``expr`` (the text of column ``name``) with blank values as null. A text column
    holding one value (one client, one date: the usual file) is judged once, not per row."""
    column = frame.get_column(name) if frame.schema.get(name) == pl.String else None
    if column is not None and _single_text(column):
        blank = pl.select(pl.lit(column[0]).str.strip_chars() == "").item()
        return pl.lit(None, dtype=pl.String) if blank else expr
    if column is not None and _none_blank(column):
        return expr
    return pl.when(expr.str.strip_chars() == "").then(None).otherwise(expr)


def _none_blank(column: pl.Series) -> bool:
    """No value is empty or whitespace, proven by the column's min and max (two scans, no
    per-row copy): a blank value is empty or starts with whitespace, and every whitespace
    character is either at most U+0020 (so the value sorts below ``"!"``) or at least
    U+0085 (so it sorts at or above ``"\x80"``)."""
    if column.null_count() == column.len():
        return True
    low, high = column.min(), column.max()
    return isinstance(low, str) and isinstance(high, str) and low >= "!" and high < "\x80"


def _normalise(frame: pl.DataFrame, *, extra_columns: str) -> pl.DataFrame:
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise BuildInputError(f"transfers lack required column(s): {', '.join(missing)}")
    unknown = [c for c in frame.columns if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if unknown and extra_columns == "error":
        raise BuildInputError(
            f"unknown transfer column(s): {', '.join(unknown)} (expected connectFi create "
            f"fields: {', '.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)})"
        )
    amount_type = frame.schema["amount"]
    if isinstance(amount_type, pl.Decimal):
        # Decimal text keeps the scale ("12.340"); trailing zeros are not extra precision.
        amount = pl.col("amount").cast(pl.String).str.replace(r"(\.\d\d\d*?)0+$", "$1")
    elif amount_type in (pl.String, pl.Null):
        amount = pl.col("amount").cast(pl.String)
    else:
        raise BuildInputError(
            f"column 'amount' must be dollars as text or Decimal (12.34), got {amount_type}: "
            "floats are inexact and integers are ambiguous with cents"
        )
    date_type = frame.schema["effectiveEntryDate"]
    if date_type == pl.Date:
        requested = pl.col("effectiveEntryDate").dt.to_string("%Y-%m-%d")
    else:
        requested = _text_column(frame, "effectiveEntryDate")
    prenote_type = frame.schema.get("prenote")
    if prenote_type is None:
        prenote = pl.lit(False)
    elif prenote_type == pl.Boolean:
        prenote = pl.col("prenote").fill_null(False)
    elif prenote_type in (pl.String, pl.Null):
        prenote = pl.col("prenote").cast(pl.String).str.to_lowercase()
    else:
        raise BuildInputError(f"column 'prenote' must be boolean or text, got {prenote_type}")
    texts = [
        "reference",
        "clientCode",
        "standardEntryClassCode",
        "individualName",
        "routingNumber",
        "DFIAccountNumber",
        "accountType",
        "transactionType",
        "currency",
        "companyEntryDescription",
        "identificationNumber",
        "paymentTypeCode",
        "addenda",
        *ENTRY_FIELD_COLUMNS,
    ]
    blank_is_null = {
        "clientCode",
        "identificationNumber",
        "paymentTypeCode",
        "addenda",
        *ENTRY_FIELD_COLUMNS,
    }

    def text(name: str) -> pl.Expr:
        expr = _text_column(frame, name)
        if name in blank_is_null:
            expr = _blank_to_null(frame, name, expr).alias(name)
        return expr

    requested = _blank_to_null(frame, "effectiveEntryDate", requested)
    # the amount's shape is judged here, in the same parallel select, not in a pass of its own
    return frame.with_row_index("row", offset=1).select(
        pl.col("row").cast(pl.Int64),
        *[text(c) for c in texts],
        amount.alias("amount"),
        (amount.str.contains(_AMOUNT_SHAPE) | amount.is_null()).alias("_shape"),
        requested.alias("effectiveEntryDate"),
        prenote.alias("prenote"),
    )


_AMOUNT_SHAPE = r"^[0-9]{1,12}(?:\.[0-9]{1,2})?$"
_TOO_PRECISE = r"^[0-9]{1,12}\.[0-9]{3,}$"


def _cents(amounts: pl.Series, shaped: pl.Series) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(cents, has too many decimals, is malformed) from dollar text, no floats involved.

    Only text shaped like ``123.45`` / ``123.4`` / ``123`` gets a value; the decimal parse
    then yields the exact integer number of cents (its unscaled representation). One shape
    pass decides the common case (every amount well formed): the two diagnostic patterns
    then cannot match and are not run over the column at all. ``shaped``: the amount is
    null or matches :data:`_AMOUNT_SHAPE` (from :func:`_normalise`).
    """
    amount = pl.col(amounts.name)
    parse = amount.str.to_decimal(scale=2).to_physical().cast(pl.Int64)
    if shaped.all():
        return parse, pl.lit(False), pl.lit(False)
    shape_expr = pl.lit(shaped) & amount.is_not_null()
    too_precise = amount.str.contains(_TOO_PRECISE)
    cents = pl.when(shape_expr).then(parse)
    return cents, too_precise, amount.is_not_null() & ~shape_expr & ~too_precise


def _unique(values: pl.Series) -> bool:
    """No non-null value repeats. Equal strings hash equally, so distinct 64-bit hashes
    prove uniqueness at a fraction of a string hash table's cost; any hash repeat (a real
    duplicate or a collision) is settled exactly."""
    values = values.drop_nulls()
    if values.hash().n_unique() == values.len():
        return True
    return values.n_unique() == values.len()


def _date_decisions(
    requested: list[date | None], settings: BuildSettings, now: datetime
) -> pl.DataFrame:
    """One row per distinct requested date: the date to write, or why not (§5.2)."""
    profile = settings.odfi.profile
    cal = profile.calendar
    floor = earliest_standard_date(now, profile=profile)
    same_day = same_day_date(now, profile=profile)
    roll = settings.effective_date_policy == "roll"
    rows = []
    for want in requested:
        eff, action, same, why = want, None, False, None
        if want is None:
            eff, action = floor, "defaulted"
        elif want == same_day:
            same = True
        elif want < floor:
            if roll:
                eff, action = floor, "rolled"
            elif want < profile.local(now).date():
                why = f"effectiveEntryDate {want} is in the past (earliest {floor})"
            else:
                why = (
                    f"effectiveEntryDate {want} is too early: same-day cut-off passed or "
                    f"same day not available (earliest {floor})"
                )
        elif not cal.is_banking_day(want):
            closed = cal.closures(want.year).get(want, "weekend")
            if roll:
                eff, action = (
                    (
                        cal.next_banking_day(want)
                        if settings.roll == "following"
                        else max(cal.previous_banking_day(want), floor)
                    ),
                    "rolled",
                )
            else:
                why = f"effectiveEntryDate {want} is not a banking day ({closed})"
        rows.append(
            {
                "requested": want,
                "effective_entry_date": None if why else eff,
                "date_action": action,
                "same_day": same,
                "date_reason": why,
            }
        )
    schema = {
        "requested": pl.Date,
        "effective_entry_date": pl.Date,
        "date_action": pl.String,
        "same_day": pl.Boolean,
        "date_reason": pl.String,
    }
    return pl.DataFrame(rows, schema=schema)


def _company_columns(settings: BuildSettings) -> pl.DataFrame:
    rows = [
        {"clientCode": c.client_code, "_company": i, "_wages": c.wages, "_ecommerce": c.ecommerce}
        for i, c in enumerate(settings.companies)
    ]
    return pl.DataFrame(rows, schema_overrides={"_company": pl.Int32})


def _attach(frame: pl.DataFrame, table: pl.DataFrame, *, on: str) -> pl.DataFrame:
    """``frame`` with the other columns of the small lookup ``table`` (unique text keys in
    ``on``), like a left join with null keys matching, but by position: the key column is
    cast to an Enum of the table's keys (its physical value *is* the table row; unknown
    text becomes null) and each table column is gathered once. A join would also
    re-gather every column of the wide left frame. A key column holding one value (one
    date, one client: the usual file) needs no per-row work at all: literals."""
    present = table.get_column(on).is_not_null()
    table = pl.concat([table.filter(present), table.filter(~present)])  # null key last
    known = table.get_column(on).drop_nulls().to_list()
    null_row = len(known) if len(known) < table.height else None
    rows = {value: i for i, value in enumerate(known)}
    others = [c for c in table.columns if c != on]
    column = frame.get_column(on)
    nulls = column.null_count()
    if column.len() and (nulls == column.len() or (nulls == 0 and column.min() == column.max())):
        value = column[0]
        row = null_row if value is None else rows.get(value)
        return frame.with_columns(
            pl.lit(None if row is None else table[row, c], dtype=table.schema[c]).alias(c)
            for c in others
        )
    if known:
        at = column.cast(pl.Enum(known), strict=False).to_physical().cast(pl.UInt32)
    else:
        at = pl.Series(on, [None] * column.len(), dtype=pl.UInt32)
    if null_row is not None and nulls:  # a null key matches the table's null key only
        at = pl.select(
            pl.when(pl.lit(column).is_null()).then(pl.lit(null_row, pl.UInt32)).otherwise(at)
        ).to_series()
    # a table column that holds one value on every row in use (the usual file: a few SEC
    # codes sharing most of their rules) is a literal; only the others are gathered
    used = at.unique().to_list()  # few distinct rows; None: a key the table lacks
    columns = []
    for c in others:
        values = table.get_column(c)
        seen = {None if r is None else values[r] for r in used}
        if len(seen) == 1:
            columns.append(pl.lit(next(iter(seen)), dtype=table.schema[c]).alias(c))
        else:
            columns.append(pl.lit(values).gather(at).alias(c))
    return frame.with_columns(columns)


def check_transfers(
    transfers: pl.DataFrame | pl.LazyFrame,
    settings: BuildSettings,
    *,
    now: datetime,
    extra_columns: str = "error",
) -> CheckedTransfers:
    """Split ``transfers`` into accepted rows (typed, with transaction codes and effective
    dates) and rejected rows (reference and every reason).

    ``extra_columns="ignore"`` lets callers pass frames with columns of their own (a
    ledger id); by default an unknown column is an error because it is usually a typo.
    """
    frame = transfers.collect() if isinstance(transfers, pl.LazyFrame) else transfers
    base = _normalise(frame, extra_columns=extra_columns)
    # Why a thread: these whole-column facts need only the normalised text, and polars (and
    # the joins' bytes) release the GIL, so on two cores they are proven while this thread
    # parses amounts and attaches the lookups.
    with ThreadPoolExecutor(max_workers=1) as pool:
        facts = pool.submit(_column_facts, base)
        enriched = _enrich(base, settings, now)
        column, duplicate, routing_ok = facts.result()
    reasons = row_reasons(settings, facts=column)
    enriched = enriched.with_columns(
        _duplicate=duplicate,
        _routing_ok=routing_ok,
        _credit=pl.col("transactionType") == "Credit",
        _debit=pl.col("transactionType") == "Debit",
    )
    return _finish(enriched, reasons, filled=column.filled or frozenset())


def _column_facts(base: pl.DataFrame) -> tuple[ColumnFacts, pl.Expr, pl.Expr]:
    """(whole-column facts, duplicate-reference flag, routing-number-valid flag): computed
    once on distinct values (few routing numbers, usually no duplicate references) rather
    than per row; the flags are literals in the usual case."""
    facts = column_facts(base)
    if _unique(base.get_column("reference")):
        duplicate = pl.lit(False)
    else:
        duplicate = pl.col("reference").is_not_null() & pl.col("reference").is_duplicated()
    routings = base.select(pl.col("routingNumber").unique().drop_nulls())
    valid = routings.filter(routing_is_valid_expr(pl.col("routingNumber")).fill_null(False))
    if valid.height == routings.height:  # every routing number is valid: nothing per row
        routing_ok = pl.lit(True)
    else:
        routing_ok = pl.col("routingNumber").is_in(valid.get_column("routingNumber").implode())
    return facts, duplicate, routing_ok


def _enrich(base: pl.DataFrame, settings: BuildSettings, now: datetime) -> pl.DataFrame:
    """``base`` with cents, dates, SEC rules, company facts and description reasons."""
    cents, too_precise, malformed = _cents(base.get_column("amount"), base.get_column("_shape"))
    default = settings.default_company
    base = base.with_columns(
        amount_cents=cents,
        _too_precise=too_precise,
        _malformed=malformed,
        sec=pl.col("standardEntryClassCode"),
        prenote_flag=pl.when(pl.col("prenote").cast(pl.String).is_in(["true", "1", "yes"]))
        .then(True)
        .when(pl.col("prenote").cast(pl.String).is_in(["false", "0", "no", ""]))
        .then(False)
        .when(pl.col("prenote").is_null())
        .then(False)
        .otherwise(None),
        _client_key=pl.col("clientCode").fill_null(default.client_code if default else ""),
    )
    # Dates: parsed and decided once per distinct text, joined back.
    requested = base.get_column("effectiveEntryDate")
    distinct = (  # one date for the whole file (the usual case): no hashing pass
        requested.head(1).to_frame()
        if _single_text(requested) or requested.null_count() == requested.len()
        else requested.unique().to_frame()
    )
    raw = distinct.with_columns(
        _requested=pl.col("effectiveEntryDate").str.to_date("%Y-%m-%d", strict=False)
    )
    decisions = pl.concat(
        [raw, _date_decisions(raw["_requested"].to_list(), settings, now).drop("requested")],
        how="horizontal",
    )
    companies = _company_columns(settings).rename({"clientCode": "_client_key"})
    enriched = _attach(base, decisions, on="effectiveEntryDate")
    enriched = _attach(enriched, rule_columns(), on="sec")
    enriched = _attach(enriched, companies, on="_client_key").with_columns(
        pl.col("_wages", "_ecommerce").fill_null(False),
        _has_addenda=pl.col("addenda").is_not_null(),
        _micro=pl.col("amount_cents") <= 99,
    )
    enriched = description_reasons(enriched)
    if settings.effective_date_policy == "roll":
        # Over the same-day limit: the operator would settle it next day anyway; say so.
        floor = earliest_standard_date(now, profile=settings.odfi.profile)
        over = pl.col("same_day") & (
            pl.col("amount_cents") > settings.odfi.profile.same_day_limit_cents
        )
        enriched = enriched.with_columns(
            effective_entry_date=pl.when(over)
            .then(pl.lit(floor))
            .otherwise("effective_entry_date"),
            date_action=pl.when(over).then(pl.lit("rolled")).otherwise("date_action"),
            same_day=pl.when(over).then(False).otherwise("same_day"),
        )
    return enriched


#: Reason masks evaluated side by side (a handful of conditions each) before one "or".
_MASK_PARTS = 4


def _finish(
    enriched: pl.DataFrame,
    reasons: list[tuple[pl.Expr, pl.Expr | str]],
    *,
    filled: frozenset[str] = frozenset(),
) -> CheckedTransfers:
    """Accepted rows (the batcher's columns) and rejected rows (every reason). ``filled``:
    the entry-field columns some row fills; only those are carried on (the usual file has
    none, and the batcher gathers every column it is given)."""
    # One cheap boolean pass over everything, in the same parallel select as the accepted
    # columns, the conditions dealt into a few masks so that the cores share them;
    # messages only for the (few) bad rows.
    conditions = [cond.fill_null(False) for cond, _ in reasons]
    parts = [conditions[i::_MASK_PARTS] for i in range(_MASK_PARTS)]
    finished = enriched.select(
        *_accepted_columns(),
        *[
            pl.col(column).alias(field)
            for column, field in _ENTRY_FIELDS.items()
            if column in filled
        ],
        *[pl.any_horizontal(part).alias(f"_bad{i}") for i, part in enumerate(parts) if part],
    )
    masks = [c for c in finished.columns if c.startswith("_bad")]
    bad = finished.select(pl.any_horizontal(masks).alias("_bad")).to_series()
    finished = finished.drop(masks)
    if bad.any():
        flags = [
            pl.when(cond.fill_null(False)).then(msg if isinstance(msg, pl.Expr) else pl.lit(msg))
            for cond, msg in reasons
        ]
        rejected = enriched.filter(bad).select(
            "row", "reference", reason=pl.concat_list(flags).list.drop_nulls().list.join("; ")
        )
        finished = finished.filter(~bad)
    else:  # the usual file: every row passes, nothing to filter
        rejected = pl.DataFrame(schema=REJECTED_SCHEMA)
    return CheckedTransfers(accepted=finished, rejected=rejected.cast(REJECTED_SCHEMA))  # type: ignore[arg-type]


#: Entry-field input column -> the entry field it fills (``nacha.layouts``).
_ENTRY_FIELDS = {f.column: f.field for r in SEC_RULES.values() for f in r.fields}


def _accepted_columns() -> list[pl.Expr]:
    """The columns the batcher needs, with the derived transaction code (meaningful for
    accepted rows; rejected rows are filtered out after)."""
    # accountType is Checking or Savings here (checked); a comparison, not a hash lookup.
    savings = (pl.col("accountType") == "Savings").cast(pl.UInt32)
    credit = pl.col("transactionType") == "Credit"
    kind = (
        pl.when(pl.col("prenote_flag"))
        .then(pl.when(credit).then(1).otherwise(4))
        .when(pl.col("amount_cents") == 0)
        .then(pl.when(credit).then(2).otherwise(5))
        .otherwise(pl.when(credit).then(0).otherwise(3))
    )
    # the code's text picked from the 12 possible codes (a gather of short strings is far
    # cheaper than an integer-to-text cast of every row)
    codes = pl.Series(
        [f"{ACCOUNT_DIGIT[a]}{k}" for a in ("Checking", "Savings") for k in (2, 3, 4, 7, 8, 9)],
        dtype=pl.String,
    )
    return [
        pl.col("row"),
        pl.col("reference"),
        pl.col("_client_key").alias("client_code"),
        pl.col("_company").alias("company_index"),
        pl.col("sec"),
        pl.col("_rule_layout").alias("layout"),
        pl.lit(codes).gather(savings * 6 + kind.cast(pl.UInt32)).alias("transaction_code"),
        credit.alias("is_credit"),
        pl.col("prenote_flag").alias("prenote"),
        pl.col("amount_cents"),
        pl.col("routingNumber").alias("routing_number"),
        pl.col("DFIAccountNumber").alias("account_number"),
        pl.col("accountType").alias("account_type"),
        pl.col("individualName").fill_null("").alias("individual_name"),
        # optional texts stay null when absent: the writer's "no value", no "" round trip
        pl.col("identificationNumber").alias("identification_number"),
        pl.col("paymentTypeCode").alias("payment_type_code"),
        pl.col("companyEntryDescription").alias("company_entry_description"),
        pl.col("addenda"),
        pl.col("_requested").alias("requested_effective_date"),
        pl.col("effective_entry_date"),
        pl.col("date_action"),
        pl.col("same_day"),
    ]
