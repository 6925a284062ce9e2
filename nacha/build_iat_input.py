"""IAT rows of a transfers frame: split them from the domestic rows, check them, type them.

Why separate from ``build_input``: an International ACH Transaction carries some twenty
fields a domestic entry does not (receiver and originator addresses, the receiving bank's
identity, foreign exchange terms) and follows other limits (35-character names and
accounts). The domestic checker never sees IAT rows or IAT columns, so domestic files are
byte for byte what they were; IAT rows are checked here by the same principle: every bad
row comes back with its reference and every reason, nothing is altered silently.

Input: connectFi's create fields (``individualName`` = receiver name, ``routingNumber`` =
Gateway/RDFI routing, ``currency`` = ISO originating currency) plus :data:`IAT_COLUMNS`.
Foreign correspondent banks (addenda 18, at most five an entry) come as numbered groups of
flat text columns, ``correspondentBank1Name`` … ``correspondentBank5BranchCountryCode``,
shaped like the ``rdfi*`` columns of addenda 14: a CSV cell cannot hold a list, and every
other IAT field is one text column too. A column of a sixth (or later) bank is accepted so
that a row filling one is rejected with its reference, not the whole input refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

import polars as pl

from nacha.addenda_text import CORRESPONDENT_BANK_FIELDS
from nacha.build_iat_codes import (
    FOREIGN_EXCHANGE_INDICATORS,
    FOREIGN_EXCHANGE_REFERENCE_INDICATORS,
    IAT_TRANSACTION_TYPE_CODES,
    ID_QUALIFIERS,
    ISO_COUNTRY_CODES,
    ISO_CURRENCY_CODES,
)
from nacha.build_input import (
    OPTIONAL_COLUMNS,
    REJECTED_SCHEMA,
    REQUIRED_COLUMNS,
    BuildInputError,
    CheckedTransfers,
)
from nacha.build_rules import ENTRY_FIELD_COLUMNS, RESERVED_DESCRIPTIONS, routing_is_valid_expr
from nacha.build_settings import ACCOUNT_DIGIT, NACHA_MAX_AMOUNT_CENTS, BuildSettings
from nacha.calendar import earliest_standard_date, same_day_date
from nacha.layouts import IAT_OPTIONAL_ADDENDA

__all__ = [
    "CORRESPONDENT_BANK_COLUMNS",
    "CORRESPONDENT_FIELDS",
    "IAT_COLUMNS",
    "MAX_CORRESPONDENT_BANKS",
    "IatSplit",
    "check_iat",
    "iat_batch_records",
    "iat_columns",
    "split_transfers",
]

#: Addenda 18 records an IAT entry may carry (nacha-format.md §7.4).
MAX_CORRESPONDENT_BANKS = IAT_OPTIONAL_ADDENDA["18"]
#: Suffix of a correspondent bank's input column -> its addenda 18 field
#: (``foreign_correspondent_bank_`` + field in ``nacha.layouts.ADDENDA_18``), in the
#: record's order. Accepted rows carry bank k as ``foreign_correspondent_bank_{k}_{field}``,
#: the columns ``nacha.addenda_text.correspondent_banks`` reads back.
CORRESPONDENT_FIELDS = dict(
    zip(("Name", "IdQualifier", "Identification", "BranchCountryCode"),
        CORRESPONDENT_BANK_FIELDS, strict=True)
)  # fmt: skip
_BANKS = range(1, MAX_CORRESPONDENT_BANKS + 1)
#: ``correspondentBank{n}{suffix}`` for n = 1..5: bank n becomes the entry's n-th addenda 18.
CORRESPONDENT_BANK_COLUMNS: tuple[str, ...] = tuple(
    f"correspondentBank{n}{suffix}" for n in _BANKS for suffix in CORRESPONDENT_FIELDS
)
#: Any bank number, so that a sixth bank's columns are recognised (and the row rejected).
_CORRESPONDENT_COLUMN = re.compile(
    r"correspondentBank([1-9][0-9]*)(" + "|".join(CORRESPONDENT_FIELDS) + r")"
)

#: Optional input columns that an IAT row needs (most of them required for IAT rows).
IAT_COLUMNS = (
    "iatTransactionTypeCode",
    "destinationCountryCode",
    "destinationCurrencyCode",
    "foreignExchangeIndicator",
    "foreignExchangeReferenceIndicator",
    "foreignExchangeReference",
    "foreignPaymentAmount",
    "foreignTraceNumber",
    "receiverIdentificationNumber",
    "receiverStreetAddress",
    "receiverCityStateProvince",
    "receiverCountryPostalCode",
    "rdfiName",
    "rdfiIdQualifier",
    "rdfiIdentification",
    "rdfiBranchCountryCode",
    "originatorName",
    "originatorStreetAddress",
    "originatorCityStateProvince",
    "originatorCountryPostalCode",
    "paymentRelatedInformation",
    *CORRESPONDENT_BANK_COLUMNS,
)
_DEFAULTS = {"foreignExchangeIndicator": "FF", "foreignExchangeReferenceIndicator": "3"}
#: Row column -> company setting that fills it when the row leaves it empty.
_ORIGINATOR_DEFAULTS = {
    "originatorName": "iat_originator_name",
    "originatorStreetAddress": "iat_originator_street_address",
    "originatorCityStateProvince": "iat_originator_city_state_province",
    "originatorCountryPostalCode": "iat_originator_country_postal_code",
}
#: 35-character free-text fields of the IAT addenda, required unless noted.
_TEXT_35 = (
    "individualName",
    "receiverStreetAddress",
    "receiverCityStateProvince",
    "receiverCountryPostalCode",
    "rdfiName",
    *_ORIGINATOR_DEFAULTS,
)
_OPTIONAL_TEXT = {"foreignTraceNumber": 22, "receiverIdentificationNumber": 15}
_PRINTABLE = r"^[\x20-\x7e]*$"
_AMOUNT_SHAPE = r"^[0-9]{1,12}(?:\.[0-9]{1,2})?$"
_FOREIGN_SHAPE = r"^[0-9]{1,16}(?:\.[0-9]{1,2})?$"
#: Receiving DFI identification by qualifier: national clearing number, BIC, IBAN.
_RDFI_ID_SHAPE = {
    "01": r"^[0-9A-Z]{1,34}$",
    "02": r"^[A-Z]{6}[0-9A-Z]{2}(?:[0-9A-Z]{3})?$",
    "03": r"^[A-Z]{2}[0-9]{2}[0-9A-Z]{11,30}$",
}
_RDFI_ID_TEXT = {"01": "1-34 of 0-9, A-Z", "02": "an 8 or 11 character BIC", "03": "an IBAN"}


@dataclass(frozen=True)
class IatSplit:
    """A transfers frame cut in two.

    ``domestic``: what the domestic checker gets (IAT rows and IAT columns removed);
    ``domestic_rows``: the original 1-based row number of each ``domestic`` row, or None
    when no row was removed; ``iat``: the IAT rows (text) with ``row`` and ``_duplicate``;
    ``rejected``: domestic rows refused here (IAT fields set, reference shared with an IAT
    row).
    """

    domestic: pl.DataFrame
    domestic_rows: pl.Series | None
    iat: pl.DataFrame
    rejected: pl.DataFrame

    def renumber(self, checked: CheckedTransfers) -> CheckedTransfers:
        """The domestic checker numbered ``domestic``'s rows 1..n: back to input rows."""
        if self.domestic_rows is None:
            return checked
        rows = self.domestic_rows

        def fix(frame: pl.DataFrame) -> pl.DataFrame:
            return frame.with_columns(row=pl.lit(rows).gather(pl.col("row") - 1))

        return CheckedTransfers(accepted=fix(checked.accepted), rejected=fix(checked.rejected))


def _is_text(dtype: pl.DataType) -> bool:
    return dtype in (pl.String, pl.Null, pl.Categorical) or isinstance(dtype, pl.Enum)


def _extra_banks(columns: list[str]) -> dict[int, list[str]]:
    """Columns of banks past :data:`MAX_CORRESPONDENT_BANKS`, by bank number."""
    out: dict[int, list[str]] = {}
    for name in columns:
        m = _CORRESPONDENT_COLUMN.fullmatch(name)
        if m and int(m.group(1)) > MAX_CORRESPONDENT_BANKS:
            out.setdefault(int(m.group(1)), []).append(name)
    return dict(sorted(out.items()))


def iat_columns(columns: list[str]) -> list[str]:
    """The IAT columns among ``columns``: :data:`IAT_COLUMNS` in their order, then the
    columns of correspondent banks past the fifth (whose rows are rejected)."""
    extra = [c for names in _extra_banks(columns).values() for c in names]
    return [c for c in IAT_COLUMNS if c in columns] + extra


def split_transfers(transfers: pl.DataFrame | pl.LazyFrame) -> IatSplit | None:
    """Cut IAT rows off ``transfers``; None when there is nothing IAT about it (no IAT row,
    no IAT column), so the domestic build runs on the caller's frame untouched."""
    frame = transfers.collect() if isinstance(transfers, pl.LazyFrame) else transfers
    columns = iat_columns(frame.columns)
    if "standardEntryClassCode" not in frame.columns:
        return None  # the domestic checker names the missing column
    sec = frame.get_column("standardEntryClassCode")
    if not _is_text(sec.dtype):
        return None  # refused as a whole by the domestic checker
    is_iat = (sec.cast(pl.String) == "IAT").fill_null(False)
    if not columns and not is_iat.any():
        return None
    for name in columns:
        if not _is_text(frame.schema[name]):
            raise BuildInputError(
                f"column {name!r} must be text, got {frame.schema[name]} "
                "(numbers lose leading zeros)"
            )
    numbered = frame.with_columns(
        _iat_row=pl.int_range(1, pl.len() + 1, dtype=pl.Int64), _is_iat=pl.lit(is_iat)
    )
    if "reference" in frame.columns:
        ref = pl.col("reference").cast(pl.String)
        iat_refs = numbered.filter("_is_iat").get_column("reference").cast(pl.String)
        numbered = numbered.with_columns(
            _duplicate=ref.is_not_null() & ref.is_duplicated(),
            _shares_iat=ref.is_in(iat_refs.drop_nulls().implode()),
        )
    else:
        numbered = numbered.with_columns(_duplicate=pl.lit(False), _shares_iat=pl.lit(False))
    filled = [
        pl.when(pl.col(c).cast(pl.String).str.strip_chars() != "").then(pl.lit(c)) for c in columns
    ]
    domestic_all = numbered.filter(~pl.col("_is_iat")).with_columns(
        _set=pl.concat_list(filled).list.drop_nulls().list.join(", ")
        if filled
        else pl.lit("", pl.String),
    )
    bad = (pl.col("_set") != "") | pl.col("_shares_iat")
    reasons = [
        pl.when(pl.col("_set") != "").then(
            pl.format("IAT field(s) {} set on a {} row", "_set", "standardEntryClassCode")
        ),
        pl.when(pl.col("_shares_iat")).then(pl.lit("duplicate reference in this input")),
    ]
    rejected = domestic_all.filter(bad).select(
        row="_iat_row",
        reference=pl.col("reference").cast(pl.String)
        if "reference" in frame.columns
        else pl.lit(None, pl.String),
        reason=pl.concat_list(reasons).list.drop_nulls().list.join("; "),
    )
    kept = domestic_all.filter(~bad)
    removed = kept.height != frame.height
    helpers = ["_iat_row", "_is_iat", "_duplicate", "_shares_iat", "_set"]
    return IatSplit(
        domestic=kept.drop(*helpers, *columns),
        domestic_rows=kept.get_column("_iat_row") if removed else None,
        iat=numbered.filter("_is_iat").drop("_is_iat", "_shares_iat").rename({"_iat_row": "row"}),
        rejected=rejected.cast(REJECTED_SCHEMA),  # type: ignore[arg-type]
    )


# ------------------------------------------------------------------------------- checks


def _column(frame: pl.DataFrame, name: str) -> pl.Expr:
    """Text of ``name`` with blank as null (missing column: all null)."""
    dtype = frame.schema.get(name)
    if dtype is None:
        return pl.lit(None, pl.String).alias(name)
    if name == "amount" and isinstance(dtype, pl.Decimal):
        expr = pl.col(name).cast(pl.String).str.replace(r"(\.\d\d\d*?)0+$", "$1")
    elif name == "effectiveEntryDate" and dtype == pl.Date:
        expr = pl.col(name).dt.to_string("%Y-%m-%d")
    elif name == "prenote" and dtype == pl.Boolean:
        expr = pl.col(name).cast(pl.String).str.to_lowercase()
    else:
        expr = pl.col(name).cast(pl.String)
    return pl.when(expr.str.strip_chars() != "").then(expr).alias(name)


def _dates(
    texts: list[str | None], settings: BuildSettings, now: datetime
) -> dict[str | None, tuple[date | None, date | None, str | None, str | None]]:
    """Per distinct requested text: (requested, effective, date_action, reason). IAT is never
    same-day: today's date is too early, like any date before the earliest standard one."""
    profile = settings.odfi.profile
    cal = profile.calendar
    floor = earliest_standard_date(now, profile=profile)
    same_day = same_day_date(now, profile=profile)
    roll = settings.effective_date_policy == "roll"
    out: dict[str | None, tuple[date | None, date | None, str | None, str | None]] = {}
    for text in texts:
        if text is None:
            out[text] = (None, floor, "defaulted", None)
            continue
        try:  # exactly YYYY-MM-DD, as for domestic rows (no ISO week or compact forms)
            want = date.fromisoformat(text) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else None
        except ValueError:
            want = None
        if want is None:
            out[text] = (None, None, None, f"effectiveEntryDate {text} is not a YYYY-MM-DD date")
        elif want < floor:
            if roll:
                out[text] = (want, floor, "rolled", None)
            elif want == same_day:
                why = f"IAT entries are never same-day: effectiveEntryDate {want} "
                why += f"(earliest {floor})"
                out[text] = (want, None, None, why)
            elif want < profile.local(now).date():
                why = f"effectiveEntryDate {want} is in the past (earliest {floor})"
                out[text] = (want, None, None, why)
            else:
                why = f"effectiveEntryDate {want} is too early for IAT (earliest {floor})"
                out[text] = (want, None, None, why)
        elif not cal.is_banking_day(want):
            if roll:
                moved = (
                    cal.next_banking_day(want)
                    if settings.roll == "following"
                    else max(cal.previous_banking_day(want), floor)
                )
                out[text] = (want, moved, "rolled", None)
            else:
                closed = cal.closures(want.year).get(want, "weekend")
                why = f"effectiveEntryDate {want} is not a banking day ({closed})"
                out[text] = (want, None, None, why)
        else:
            out[text] = (want, want, None, None)
    return out


def _cents(column: str, shape: str) -> pl.Expr:
    return (
        pl.when(pl.col(column).str.contains(shape))
        .then(pl.col(column).str.to_decimal(scale=2).to_physical().cast(pl.Int64))
        .alias(f"_{column}_cents")
    )


def _text_rules(column: str, max_len: int, *, required: bool) -> list[tuple[pl.Expr, pl.Expr]]:
    col = pl.col(column)
    rules = [
        (col.str.len_chars() > max_len, pl.lit(f"{column} longer than {max_len} characters")),
        (~col.str.contains(_PRINTABLE), pl.lit(f"{column} must be printable ASCII")),
    ]
    if required:
        rules.insert(0, (col.is_null(), pl.lit(f"{column} is required for IAT")))
    return rules


def _member_rule(
    column: str, allowed: frozenset[str] | tuple[str, ...], what: str
) -> tuple[pl.Expr, pl.Expr]:
    """A value of ``column``, when given, must be one of ``allowed`` (described as ``what``)."""
    col = pl.col(column)
    return (
        col.is_not_null() & ~col.is_in(sorted(allowed)),
        pl.format(f"{column} {{}} is not {what}", col),
    )


def _code_rule(column: str, allowed: frozenset[str] | tuple[str, ...], what: str):  # type: ignore[no-untyped-def]
    return [
        (pl.col(column).is_null(), pl.lit(f"{column} is required for IAT")),
        _member_rule(column, allowed, what),
    ]


_QUALIFIERS_TEXT = "01 (national), 02 (BIC) or 03 (IBAN)"
_COUNTRY_TEXT = "an ISO 3166 country code"


def _id_shape_rules(qualifier: str, identification: str) -> list[tuple[pl.Expr, pl.Expr]]:
    """``identification`` must have the shape its ``qualifier`` names (national number, BIC,
    IBAN): the RDFI's (addenda 14) and each correspondent bank's (addenda 18)."""
    return [
        (pl.col(qualifier).eq(q) & ~pl.col(identification).str.contains(shape),
         pl.lit(f"{identification} must be {_RDFI_ID_TEXT[q]} for {qualifier} {q}"))
        for q, shape in _RDFI_ID_SHAPE.items()
    ]  # fmt: skip


def iat_batch_records(settings: BuildSettings) -> int:
    """Entry and addenda records one IAT batch may hold: ``max_batch_entries``, and what a
    file of ``max_file_lines`` (whole blocks) leaves besides the file and batch header and
    control records. An entry with more records is rejected, never split."""
    limits = settings.limits
    return min(limits.max_batch_entries, limits.max_file_lines // 10 * 10 - 4)


def _records_expr() -> pl.Expr:
    """Records an IAT row becomes: the entry, addenda 10-16, one addenda 17 a started 80
    characters of ``paymentRelatedInformation``, one addenda 18 a correspondent bank."""
    info = pl.col("paymentRelatedInformation").str.len_chars().fill_null(0)
    return 8 + (info + 79) // 80 + pl.sum_horizontal(_bank_given(n) for n in _BANKS)


def _bank_given(n: int) -> pl.Expr:
    """Bank ``n`` has at least one of its columns filled (blank counts as empty)."""
    return pl.any_horizontal(
        pl.col(f"correspondentBank{n}{s}").is_not_null() for s in CORRESPONDENT_FIELDS
    )


def _bank_rules(n: int) -> list[tuple[pl.Expr, pl.Expr]]:
    """One correspondent bank's checks, applied when any of its four columns is set (a
    bank named without its identity, or the reverse, is an error, not a blank addenda)."""
    p = f"correspondentBank{n}"
    name, ident = pl.col(f"{p}Name"), pl.col(f"{p}Identification")
    given = _bank_given(n)
    rules = [
        (given & pl.col(f"{p}{s}").is_null(),
         pl.lit(f"{p}{s} is required (correspondent bank {n} has other fields set)"))
        for s in CORRESPONDENT_FIELDS
    ]  # fmt: skip
    rules += [
        *_text_rules(f"{p}Name", 35, required=False),
        (name.str.contains(r"^[ 0]*$"), pl.lit(f"{p}Name is blank or all zeros")),
        _member_rule(f"{p}IdQualifier", ID_QUALIFIERS, _QUALIFIERS_TEXT),
        (ident.str.len_chars() > 34, pl.lit(f"{p}Identification longer than 34 characters")),
        *_id_shape_rules(f"{p}IdQualifier", f"{p}Identification"),
        _member_rule(f"{p}BranchCountryCode", ISO_COUNTRY_CODES, _COUNTRY_TEXT),
    ]  # fmt: skip
    if n > 1:
        rules.append(
            (given & ~_bank_given(n - 1),
             pl.lit(f"correspondent bank {n} is set but bank {n - 1} is empty: "
                    "fill correspondentBank1, 2, … in order"))
        )  # fmt: skip
    return rules


def _correspondent_rules(
    settings: BuildSettings, extra: dict[int, list[str]]
) -> list[tuple[pl.Expr, pl.Expr]]:
    """Every correspondent bank's checks, banks past the fifth, and the entry's size."""
    limit = iat_batch_records(settings)
    records = _records_expr()
    return [
        *[rule for n in _BANKS for rule in _bank_rules(n)],
        *[(pl.any_horizontal(pl.col(c).is_not_null() for c in names),
           pl.lit(f"correspondent bank {n} is set: an IAT entry carries at most "
                  f"{MAX_CORRESPONDENT_BANKS} foreign correspondent banks (addenda 18)"))
          for n, names in extra.items()],
        (records > limit,
         pl.format(f"the entry and its addenda are {{}} records, more than a batch may hold "
                   f"({limit}: max_batch_entries, max_file_lines)", records)),
    ]  # fmt: skip


def _reasons(
    settings: BuildSettings, extra_banks: dict[int, list[str]]
) -> list[tuple[pl.Expr, pl.Expr]]:
    """(bad-row condition, reason) pairs over the normalised IAT rows."""
    c = pl.col
    credit, debit = c("transactionType") == "Credit", c("transactionType") == "Debit"
    cents, prenote = c("_amount_cents"), c("_prenote")
    fx, fx_ref = c("foreignExchangeIndicator"), c("foreignExchangeReferenceIndicator")
    rdfi_id = c("rdfiIdentification")
    desc = c("companyEntryDescription")
    desc_key = desc.str.strip_chars().str.to_uppercase()
    rules: list[tuple[pl.Expr, pl.Expr]] = [
        (c("reference").is_null(), pl.lit("reference is required")),
        (~c("reference").str.contains(r"^[0-9A-Za-z]{1,32}$"),
         pl.lit("reference must be 1-32 letters and digits")),
        (c("_duplicate"), pl.lit("duplicate reference in this input")),
        (c("_company").is_null() & c("clientCode").is_not_null(),
         pl.format("unknown clientCode {}", c("clientCode"))),
        (c("_company").is_null() & c("clientCode").is_null(),
         pl.lit("clientCode is required (no default company configured)")),
        (pl.lit(settings.balanced),
         pl.lit("IAT entries cannot be offset in balanced files (build.balanced = true)")),
        (~(credit | debit).fill_null(False), pl.lit("transactionType must be Credit or Debit")),
        (~c("accountType").is_in(["Checking", "Savings"]).fill_null(False),
         pl.lit("accountType must be Checking or Savings")),
        (c("routingNumber").is_null(), pl.lit("routingNumber (Gateway/RDFI) is required")),
        (c("routingNumber").is_not_null() & ~routing_is_valid_expr("routingNumber"),
         pl.format("routingNumber {} is not 9 digits with a valid check digit",
                   c("routingNumber"))),
        (c("DFIAccountNumber").is_null(), pl.lit("DFIAccountNumber is required")),
        (~c("DFIAccountNumber").str.contains(r"^[0-9A-Z-]{1,35}$"),
         pl.lit("DFIAccountNumber must be 1-35 of 0-9, A-Z, '-' for IAT")),
        (c("currency").is_null() | (c("currency") != "USD"),
         pl.lit("currency (the originating currency) must be USD: IAT entries originated "
                "through a U.S. ODFI settle in USD")),
        (c("amount").is_null(), pl.lit("amount is required")),
        (c("amount").is_not_null() & cents.is_null(),
         pl.format("amount {} is not a dollar amount like 12.34", c("amount"))),
        (cents > NACHA_MAX_AMOUNT_CENTS, pl.lit("amount exceeds $99,999,999.99")),
        (prenote.is_null(), pl.lit("prenote must be true or false")),
        (prenote & (cents != 0), pl.lit("a prenote must have amount 0")),
        (~prenote & (cents == 0),
         pl.lit("amount must be greater than 0 (prenote=true for a prenote)")),
        (c("individualName").str.contains(r"^[ 0]*$"),
         pl.lit("individualName (receiver name) is blank or all zeros")),
        (c("identificationNumber").is_not_null(),
         pl.lit("identificationNumber does not apply to IAT (use receiverIdentificationNumber)")),
        (c("paymentTypeCode").is_not_null(), pl.lit("paymentTypeCode does not apply to IAT")),
        (c("addenda").is_not_null(),
         pl.lit("addenda does not apply to IAT (use paymentRelatedInformation)")),
        *[(c(column).is_not_null(), pl.lit(f"{column} does not apply to IAT"))
          for column in ENTRY_FIELD_COLUMNS],
        (desc.is_null(), pl.lit("companyEntryDescription is required")),
        (desc.str.contains(r"^[ 0]*$"), pl.lit("companyEntryDescription is blank or all zeros")),
        (desc.str.len_chars() > 10, pl.lit("companyEntryDescription longer than 10 characters")),
        (~desc.str.contains(_PRINTABLE), pl.lit("companyEntryDescription must be printable ASCII")),
        *_code_rule("iatTransactionTypeCode", IAT_TRANSACTION_TYPE_CODES,
                    "an IAT transaction type code"),
        *_code_rule("destinationCountryCode", ISO_COUNTRY_CODES, _COUNTRY_TEXT),
        *_code_rule("destinationCurrencyCode", ISO_CURRENCY_CODES, "an ISO 4217 currency code"),
        *_code_rule("foreignExchangeIndicator", FOREIGN_EXCHANGE_INDICATORS, "FV, VF or FF"),
        *_code_rule("foreignExchangeReferenceIndicator", FOREIGN_EXCHANGE_REFERENCE_INDICATORS,
                    "1, 2 or 3"),
        ((fx_ref == "3") & c("foreignExchangeReference").is_not_null(),
         pl.lit("foreignExchangeReference must be empty when "
                "foreignExchangeReferenceIndicator is 3")),
        (fx_ref.is_in(["1", "2"]) & c("foreignExchangeReference").is_null(),
         pl.lit("foreignExchangeReference is required when "
                "foreignExchangeReferenceIndicator is 1 or 2")),
        *_text_rules("foreignExchangeReference", 15, required=False),
        ((fx == "FF") & (fx_ref != "3"),
         pl.lit("fixed-to-fixed (FF) entries have no exchange reference: "
                "foreignExchangeReferenceIndicator must be 3")),
        ((fx == "FF") & (c("destinationCurrencyCode") != c("currency")),
         pl.lit("fixed-to-fixed (FF) entries are received in the originating currency: "
                "destinationCurrencyCode must equal currency")),
        (fx.is_in(["FV", "VF"]) & (c("destinationCurrencyCode") == c("currency")),
         pl.format("{} entries convert currency: destinationCurrencyCode must differ from "
                   "currency", fx)),
        (c("foreignPaymentAmount").is_not_null() & c("_foreignPaymentAmount_cents").is_null(),
         pl.format("foreignPaymentAmount {} is not an amount like 12.34 (at most 16 digits "
                   "before the point)", c("foreignPaymentAmount"))),
        ((fx == "FF") & (c("_foreignPaymentAmount_cents") != cents),
         pl.lit("foreignPaymentAmount must equal amount for fixed-to-fixed (FF) entries")),
        *[rule for name in _TEXT_35 for rule in _text_rules(name, 35, required=True)],
        *[rule for name, n in _OPTIONAL_TEXT.items()
          for rule in _text_rules(name, n, required=False)],
        *_code_rule("rdfiIdQualifier", ID_QUALIFIERS, _QUALIFIERS_TEXT),
        (rdfi_id.is_null(), pl.lit("rdfiIdentification is required for IAT")),
        *_id_shape_rules("rdfiIdQualifier", "rdfiIdentification"),
        *_code_rule("rdfiBranchCountryCode", ISO_COUNTRY_CODES, _COUNTRY_TEXT),
        *_text_rules("paymentRelatedInformation", 160, required=False),
        *_correspondent_rules(settings, extra_banks),
        (c("date_reason").is_not_null(), c("date_reason")),
    ]  # fmt: skip
    for r in RESERVED_DESCRIPTIONS:  # none of them is meant for IAT
        hit = desc_key.str.starts_with(r.value) if r.prefix else desc_key == r.value
        rules.append((hit, pl.lit(r.reason)))
    return rules


def check_iat(iat: pl.DataFrame, settings: BuildSettings, *, now: datetime) -> CheckedTransfers:
    """Split the IAT rows of :func:`split_transfers` into accepted (typed, with transaction
    codes, effective dates and every addenda field resolved) and rejected rows."""
    extra = _extra_banks(iat.columns)
    texts = [c for c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS, *IAT_COLUMNS) if c != "webhookUrl"]
    texts += [c for names in extra.values() for c in names]
    base = iat.select("row", "_duplicate", *[_column(iat, c) for c in texts])
    prenote = pl.col("prenote").str.to_lowercase()
    base = base.with_columns(
        pl.col(c).fill_null(pl.lit(v)) for c, v in _DEFAULTS.items()
    ).with_columns(
        _cents("amount", _AMOUNT_SHAPE),
        _cents("foreignPaymentAmount", _FOREIGN_SHAPE),
        _prenote=pl.when(pl.col("prenote").is_null() | prenote.is_in(["false", "0", "no"]))
        .then(False)
        .when(prenote.is_in(["true", "1", "yes"]))
        .then(True),
    )  # fmt: skip
    default = settings.default_company
    codes = {c.client_code: i for i, c in enumerate(settings.companies)}
    company = pl.col("clientCode").fill_null(default.client_code if default else "")
    base = base.with_columns(
        _client=company,
        _company=company.replace_strict(codes, default=None, return_dtype=pl.Int32),
    )
    # Originator addenda 11/12: the row's value, else the company's setting (name: company name).
    table = pl.DataFrame(
        {
            "_company": list(range(len(settings.companies))),
            **{
                f"_default_{col}": [
                    getattr(c, setting) or (c.company_name if col == "originatorName" else None)
                    for c in settings.companies
                ]
                for col, setting in _ORIGINATOR_DEFAULTS.items()
            },
        },
        schema_overrides={"_company": pl.Int32}
        | {f"_default_{col}": pl.String for col in _ORIGINATOR_DEFAULTS},
    )
    base = base.join(table, on="_company", how="left", maintain_order="left").with_columns(
        pl.coalesce(col, f"_default_{col}").alias(col) for col in _ORIGINATOR_DEFAULTS
    )
    decided = _dates(base.get_column("effectiveEntryDate").unique().to_list(), settings, now)
    dates = pl.DataFrame(
        [{"effectiveEntryDate": k, "_requested": v[0], "effective_entry_date": v[1],
          "date_action": v[2], "date_reason": v[3]} for k, v in decided.items()],
        schema={"effectiveEntryDate": pl.String, "_requested": pl.Date,
                "effective_entry_date": pl.Date, "date_action": pl.String,
                "date_reason": pl.String},
    )  # fmt: skip
    base = base.join(
        dates, on="effectiveEntryDate", how="left", maintain_order="left", nulls_equal=True
    )
    flags = [pl.when(cond.fill_null(False)).then(msg) for cond, msg in _reasons(settings, extra)]
    judged = base.with_columns(_reason=pl.concat_list(flags).list.drop_nulls().list.join("; "))
    bad = pl.col("_reason") != ""
    rejected = judged.filter(bad).select("row", "reference", reason="_reason")
    return CheckedTransfers(
        accepted=_finish(judged.filter(~bad)),
        rejected=rejected.cast(REJECTED_SCHEMA),  # type: ignore[arg-type]
    )


def _finish(ok: pl.DataFrame) -> pl.DataFrame:
    """Transaction code and every field the IAT batches, entries and addenda need."""
    digit = pl.col("accountType").replace_strict(ACCOUNT_DIGIT, return_dtype=pl.Int64)
    credit = pl.col("transactionType") == "Credit"
    kind = pl.when(pl.col("_prenote")).then(pl.when(credit).then(3).otherwise(8))
    kind = kind.otherwise(pl.when(credit).then(2).otherwise(7))
    info = pl.col("paymentRelatedInformation")
    fx = pl.col("foreignExchangeIndicator")
    foreign = pl.coalesce(
        "_foreignPaymentAmount_cents",
        pl.when(fx == "FF").then("_amount_cents").otherwise(pl.lit(0, pl.Int64)),
    )
    return ok.select(
        "row",
        "reference",
        *[  # addenda 18 fields, bank by bank: foreign_correspondent_bank_1_name, …
            pl.col(f"correspondentBank{n}{suffix}").alias(f"foreign_correspondent_bank_{n}_{field}")
            for n in _BANKS
            for suffix, field in CORRESPONDENT_FIELDS.items()
        ],
        client_code="_client",
        company_index="_company",
        transaction_code=(digit * 10 + kind).cast(pl.String),
        is_credit=credit,
        prenote="_prenote",
        amount_cents="_amount_cents",
        routing_number="routingNumber",
        account_number="DFIAccountNumber",
        company_entry_description="companyEntryDescription",
        requested_effective_date="_requested",
        effective_entry_date="effective_entry_date",
        date_action="date_action",
        same_day=pl.lit(False),
        foreign_exchange_indicator=fx,
        foreign_exchange_reference_indicator="foreignExchangeReferenceIndicator",
        foreign_exchange_reference="foreignExchangeReference",
        iso_destination_country_code="destinationCountryCode",
        iso_originating_currency_code="currency",
        iso_destination_currency_code="destinationCurrencyCode",
        transaction_type_code="iatTransactionTypeCode",
        foreign_payment_amount=foreign,
        foreign_trace_number="foreignTraceNumber",
        receiving_name="individualName",
        originator_name="originatorName",
        originator_street_address="originatorStreetAddress",
        originator_city_state_province="originatorCityStateProvince",
        originator_country_postal_code="originatorCountryPostalCode",
        rdfi_name="rdfiName",
        rdfi_id_number_qualifier="rdfiIdQualifier",
        rdfi_identification="rdfiIdentification",
        rdfi_branch_country_code="rdfiBranchCountryCode",
        receiver_identification_number="receiverIdentificationNumber",
        receiver_street_address="receiverStreetAddress",
        receiver_city_state_province="receiverCityStateProvince",
        receiver_country_postal_code="receiverCountryPostalCode",
        payment_related_1=info.str.slice(0, 80),
        payment_related_2=pl.when(info.str.len_chars() > 80).then(info.str.slice(80, 80)),
        records=_records_expr(),
    )
