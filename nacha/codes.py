"""NACHA code tables as data: SEC codes, transaction codes, service class codes, return
reason codes, NOC change codes (returns-and-rates.md §2 and §4, nacha-format.md §9-§11).

Every table is a tuple of frozen dataclasses (for people and for rules written in Python) and
has a polars twin (``*_frame()``) for joins on the columnar path. Adding a code means adding a
row here; no other module spells the lists out.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cache
from typing import Literal

import polars as pl

Direction = Literal["credit", "debit"]
RateCategory = Literal["unauthorized", "administrative", "other"]
ReturnKind = Literal["return", "dishonored", "contested"]


# --------------------------------------------------------------------------- SEC codes


@dataclass(frozen=True, slots=True)
class SecCode:
    """A Standard Entry Class code and the attributes the validator needs.

    ``entry_layout`` names the entry-detail variant of positions 40-78 (see ``layouts``);
    ``addenda_types`` lists the addenda type codes the SEC may carry and ``max_addenda`` the
    count per entry (None = no fixed limit); ``credits``/``debits`` say which directions
    forward entries may have.
    """

    code: str
    name: str
    consumer: bool
    credits: bool
    debits: bool
    entry_layout: str
    addenda_types: tuple[str, ...]
    max_addenda: int | None
    originate: bool  # an originator of this project may send it (others: parse only)
    same_day_eligible: bool = True


SEC_CODES: tuple[SecCode, ...] = (
    SecCode(
        "PPD", "Prearranged Payment and Deposit", True, True, True, "standard", ("05",), 1, True
    ),
    SecCode("CCD", "Corporate Credit or Debit", False, True, True, "standard", ("05",), 1, True),
    SecCode("CTX", "Corporate Trade Exchange", False, True, True, "corporate", ("05",), 9999, True),
    SecCode(
        "WEB", "Internet-Initiated/Mobile Entry", True, True, True, "standard", ("05",), 1, True
    ),
    SecCode("TEL", "Telephone-Initiated Entry", True, False, True, "standard", (), 0, True),
    SecCode("CIE", "Customer-Initiated Entry", True, True, False, "cie", ("05",), 1, True),
    SecCode(
        "IAT",
        "International ACH Transaction",
        True,
        True,
        True,
        "iat",
        ("10", "11", "12", "13", "14", "15", "16", "17", "18", "98", "99"),
        None,
        True,
        same_day_eligible=False,
    ),
    SecCode("ARC", "Accounts Receivable Entry", True, False, True, "check", (), 0, False),
    SecCode("BOC", "Back Office Conversion", True, False, True, "check", (), 0, False),
    SecCode("POP", "Point-of-Purchase Entry", True, False, True, "pop", (), 0, False),
    SecCode("RCK", "Re-presented Check Entry", True, False, True, "check", (), 0, False),
    SecCode("XCK", "Destroyed Check Entry", True, False, True, "xck", (), 0, False),
    SecCode("ACK", "ACH Payment Acknowledgment", False, True, False, "standard", ("05",), 1, False),
    SecCode(
        "ATX", "Financial EDI Acknowledgment", False, True, False, "corporate", ("05",), 9999, False
    ),
    SecCode("ADV", "Automated Accounting Advice", False, True, True, "adv", (), 0, False),
    SecCode(
        "COR",
        "Notification of Change / Refused NOC",
        False,
        True,
        True,
        "standard",
        ("98",),
        1,
        False,
    ),
    SecCode("DNE", "Death Notification Entry", True, True, True, "standard", ("05",), 1, False),
    SecCode(
        "ENR",
        "Automated Enrollment Entry",
        False,
        True,
        True,
        "standard",
        ("05",),
        9999,
        False,
        same_day_eligible=False,
    ),
    SecCode("MTE", "Machine Transfer Entry", True, True, True, "standard", ("02",), 1, False),
    SecCode("POS", "Point-of-Sale Entry", True, True, True, "standard", ("02",), 1, False),
    SecCode("SHR", "Shared Network Transaction", True, True, True, "standard", ("02",), 1, False),
    SecCode("TRC", "Truncated Entry", True, False, True, "xck", (), 0, False),
    SecCode(
        "TRX", "Truncated Entries Exchange", True, False, True, "corporate", ("05",), 9999, False
    ),
)
SEC_BY_CODE: dict[str, SecCode] = {s.code: s for s in SEC_CODES}


# --------------------------------------------------------------------- transaction codes


@dataclass(frozen=True, slots=True)
class TransactionCode:
    """A two-digit transaction code.

    ``kind`` is ``live``, ``prenote``, ``zero_dollar`` (remittance-only), ``return_noc``
    (x1/x6: return or NOC of a credit/debit), ``reversal`` (55 loan debit) or ``advice`` (ADV).
    ``zero_amount_allowed`` says whether amount 0 is valid; ``zero_amount_required`` whether
    it must be 0 (prenotes, zero-dollar remittance).
    """

    code: str
    account_type: Literal["checking", "savings", "general_ledger", "loan", "accounting"]
    direction: Direction
    kind: Literal["live", "prenote", "zero_dollar", "return_noc", "reversal", "advice"]
    description: str

    @property
    def is_prenote(self) -> bool:
        return self.kind == "prenote"

    @property
    def zero_amount_required(self) -> bool:
        return self.kind in ("prenote", "zero_dollar")

    @property
    def zero_amount_allowed(self) -> bool:
        return self.kind in ("prenote", "zero_dollar", "return_noc")


_ACCOUNTS = {"2": "checking", "3": "savings", "4": "general_ledger", "5": "loan"}
_KINDS = {
    "1": ("credit", "return_noc", "Return or NOC for a {} credit"),
    "2": ("credit", "live", "{} credit"),
    "3": ("credit", "prenote", "Prenote of {} credit"),
    "4": ("credit", "zero_dollar", "Zero-dollar {} credit with remittance data"),
    "5": ("debit", "reversal", "{} debit (reversals only)"),
    "6": ("debit", "return_noc", "Return or NOC for a {} debit"),
    "7": ("debit", "live", "{} debit"),
    "8": ("debit", "prenote", "Prenote of {} debit"),
    "9": ("debit", "zero_dollar", "Zero-dollar {} debit with remittance data"),
}


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _transaction_codes() -> tuple[TransactionCode, ...]:
    rows: list[TransactionCode] = []
    for first, account in _ACCOUNTS.items():
        for second, (direction, kind, text) in _KINDS.items():
            # x5 exists only for loans (55); loans have no 57/58/59 (nacha-format.md §10)
            if second == "5" and first != "5":
                continue
            if first == "5" and second in ("7", "8", "9"):
                continue
            label = account.replace("_", " ")
            rows.append(
                TransactionCode(
                    first + second,
                    account,
                    direction,
                    kind,  # type: ignore[arg-type]
                    _sentence(text.format(label)),
                )
            )
    adv = {
        "81": ("credit", "Credit for ACH debits originated"),
        "82": ("debit", "Debit for ACH credits originated"),
        "83": ("credit", "Credit for ACH credits received"),
        "84": ("debit", "Debit for ACH debits received"),
        "85": ("credit", "Credit for ACH credits in rejected batches"),
        "86": ("debit", "Debit for ACH debits in rejected batches"),
        "87": ("credit", "Summary credit for respondent ACH activity"),
        "88": ("debit", "Summary debit for respondent ACH activity"),
    }
    for code, (direction, text) in adv.items():
        rows.append(TransactionCode(code, "accounting", direction, "advice", text))  # type: ignore[arg-type]
    return tuple(rows)


TRANSACTION_CODES: tuple[TransactionCode, ...] = _transaction_codes()
TRANSACTION_BY_CODE: dict[str, TransactionCode] = {t.code: t for t in TRANSACTION_CODES}

#: forward code -> the return/NOC code of the same account type (nacha-format.md §7.1)
RETURN_TRANSACTION_CODE: dict[str, str] = {
    t.code: t.code[0] + ("1" if t.direction == "credit" else "6")
    for t in TRANSACTION_CODES
    if t.kind in ("live", "prenote", "zero_dollar", "reversal")
}


# -------------------------------------------------------------------- service class codes


@dataclass(frozen=True, slots=True)
class ServiceClassCode:
    code: str
    description: str
    credits: bool
    debits: bool


SERVICE_CLASS_CODES: tuple[ServiceClassCode, ...] = (
    ServiceClassCode("200", "Mixed debits and credits", True, True),
    ServiceClassCode("220", "Credits only", True, False),
    ServiceClassCode("225", "Debits only", False, True),
    ServiceClassCode("280", "Automated Accounting Advices (ADV)", True, True),
)
SERVICE_CLASS_BY_CODE: dict[str, ServiceClassCode] = {s.code: s for s in SERVICE_CLASS_CODES}


# ------------------------------------------------------------------ return reason codes


@dataclass(frozen=True, slots=True)
class ReturnReasonCode:
    """A return reason code (returns-and-rates.md §2).

    ``rate_category``: ``unauthorized`` (R05 R07 R10 R11 R29 R51), ``administrative``
    (R02 R03 R04) or ``other``. ``window`` is ``2BD``, ``60CD``, ``next`` (operator),
    ``5BD`` (dishonor), ``none`` or ``n/a``; ``window_days`` the number (banking or calendar
    days as the window says). ``kind`` separates returns from dishonored (R61-R70) and
    contested dishonored returns (R71-R77). RCK-specific codes are flagged so the Overall
    rate can exclude RCK entries.
    """

    code: str
    description: str
    initiator: str
    window: str
    window_days: int | None
    rate_category: RateCategory
    kind: ReturnKind = "return"
    wsud: bool = False
    rck: bool = False
    effective_from: str | None = None  # ISO date when a code is not live yet (R90)

    @property
    def is_unauthorized(self) -> bool:
        return self.rate_category == "unauthorized"

    @property
    def is_administrative(self) -> bool:
        return self.rate_category == "administrative"


def _r(
    code: str, desc: str, by: str, window: str, cat: RateCategory = "other", **kw: object
) -> ReturnReasonCode:
    days = {"2BD": 2, "60CD": 60, "5BD": 5}.get(window)
    return ReturnReasonCode(code, desc, by, window, days, cat, **kw)  # type: ignore[arg-type]


RETURN_REASON_CODES: tuple[ReturnReasonCode, ...] = (
    _r("R01", "Insufficient funds", "RDFI", "2BD"),
    _r("R02", "Account closed", "RDFI", "2BD", "administrative"),
    _r("R03", "No account / unable to locate account", "RDFI", "2BD", "administrative"),
    _r("R04", "Invalid account number structure", "RDFI", "2BD", "administrative"),
    _r(
        "R05",
        "Unauthorized debit to consumer account using corporate SEC code",
        "RDFI",
        "60CD",
        "unauthorized",
        wsud=True,
    ),
    _r("R06", "Returned per ODFI's request", "RDFI", "none"),
    _r("R07", "Authorization revoked by customer", "RDFI", "60CD", "unauthorized", wsud=True),
    _r("R08", "Payment stopped", "RDFI", "2BD"),
    _r("R09", "Uncollected funds", "RDFI", "2BD"),
    _r(
        "R10",
        "Customer advises originator is not known to receiver and/or not authorized",
        "RDFI",
        "60CD",
        "unauthorized",
        wsud=True,
    ),
    _r(
        "R11",
        "Customer advises entry not in accordance with the terms of the authorization",
        "RDFI",
        "60CD",
        "unauthorized",
        wsud=True,
    ),
    _r("R12", "Account sold to another DFI", "RDFI", "2BD"),
    _r("R13", "Invalid ACH routing number", "Op", "next"),
    _r(
        "R14", "Representative payee deceased or unable to continue in that capacity", "RDFI", "2BD"
    ),
    _r(
        "R15",
        "Beneficiary or account holder (other than a representative payee) deceased",
        "RDFI",
        "2BD",
    ),
    _r("R16", "Account frozen / entry returned per OFAC instruction", "RDFI", "2BD"),
    _r(
        "R17",
        "File record edit criteria / entry with invalid account number initiated under "
        "questionable circumstances",
        "RDFI",
        "2BD",
    ),
    _r("R18", "Improper effective entry date", "Op", "next"),
    _r("R19", "Amount field error", "Op", "next"),
    _r("R20", "Non-transaction account", "RDFI", "2BD"),
    _r("R21", "Invalid company identification", "RDFI", "2BD"),
    _r("R22", "Invalid individual ID number", "RDFI", "2BD"),
    _r("R23", "Credit entry refused by receiver", "RDFI", "2BD"),
    _r("R24", "Duplicate entry", "RDFI", "2BD"),
    _r("R25", "Addenda error", "Op/RDFI", "next"),
    _r("R26", "Mandatory field error", "Op/RDFI", "next"),
    _r("R27", "Trace number error", "Op/RDFI", "next"),
    _r("R28", "Routing number check digit error", "Op", "next"),
    _r("R29", "Corporate customer advises not authorized", "RDFI", "2BD", "unauthorized"),
    _r("R30", "RDFI not participant in check truncation program", "Op", "next"),
    _r("R31", "Permissible return entry (CCD and CTX only)", "RDFI", "none"),
    _r("R32", "RDFI non-settlement", "Op", "next"),
    _r("R33", "Return of XCK entry", "RDFI", "60CD"),
    _r("R34", "Limited participation DFI", "Op/RDFI", "next"),
    _r("R35", "Return of improper debit entry", "Op", "next"),
    _r("R36", "Return of improper credit entry", "Op", "next"),
    _r("R37", "Source document presented for payment", "RDFI", "60CD", wsud=True),
    _r("R38", "Stop payment on source document", "RDFI", "60CD"),
    _r("R39", "Improper source document / source document presented for payment", "RDFI", "2BD"),
    _r("R40", "Return of ENR entry by federal government agency", "Fed", "n/a"),
    _r("R41", "Invalid transaction code (ENR)", "Fed", "n/a"),
    _r("R42", "Routing number / check digit error (ENR)", "Fed", "n/a"),
    _r("R43", "Invalid DFI account number (ENR)", "Fed", "n/a"),
    _r("R44", "Invalid individual ID number / identification number (ENR)", "Fed", "n/a"),
    _r("R45", "Invalid individual name / company name (ENR)", "Fed", "n/a"),
    _r("R46", "Invalid representative payee indicator (ENR)", "Fed", "n/a"),
    _r("R47", "Duplicate enrollment (ENR)", "Fed", "n/a"),
    _r("R50", "State law affecting RCK acceptance", "RDFI", "2BD", rck=True),
    _r(
        "R51",
        "Item related to RCK entry is ineligible or RCK entry is improper",
        "RDFI",
        "60CD",
        "unauthorized",
        wsud=True,
        rck=True,
    ),
    _r("R52", "Stop payment on item related to RCK entry", "RDFI", "60CD", rck=True),
    _r("R53", "Item and RCK entry presented for payment", "RDFI", "60CD", wsud=True, rck=True),
    _r("R61", "Misrouted return", "ODFI", "5BD", kind="dishonored"),
    _r("R62", "Return of erroneous or reversing debit", "ODFI", "5BD", kind="dishonored"),
    _r("R67", "Duplicate return", "ODFI", "5BD", kind="dishonored"),
    _r("R68", "Untimely return", "ODFI", "5BD", kind="dishonored"),
    _r("R69", "Field error(s)", "ODFI", "5BD", kind="dishonored"),
    _r(
        "R70",
        "Permissible return entry not accepted / return not requested by ODFI",
        "ODFI",
        "5BD",
        kind="dishonored",
    ),
    _r("R71", "Misrouted dishonored return", "RDFI", "2BD", kind="contested"),
    _r("R72", "Untimely dishonored return", "RDFI", "2BD", kind="contested"),
    _r("R73", "Timely original return", "RDFI", "2BD", kind="contested"),
    _r("R74", "Corrected return", "RDFI", "2BD", kind="contested"),
    _r("R75", "Return not a duplicate", "RDFI", "2BD", kind="contested"),
    _r("R76", "No errors found", "RDFI", "2BD", kind="contested"),
    _r("R77", "Non-acceptance of R62 dishonored return", "RDFI", "2BD", kind="contested"),
    _r("R80", "IAT entry coding error", "Gw", "n/a"),
    _r("R81", "Non-participant in IAT program", "Gw", "n/a"),
    _r("R82", "Invalid foreign receiving DFI identification", "Gw", "n/a"),
    _r("R83", "Foreign receiving DFI unable to settle", "Gw", "n/a"),
    _r("R84", "Entry not processed by gateway", "Gw", "n/a"),
    _r("R85", "Incorrectly coded outbound international payment", "RDFI/Gw", "2BD"),
    _r(
        "R90",
        "Entry returned due to RDFI's sanctions compliance obligations",
        "RDFI/Gw",
        "n/a",
        effective_from="2028-03-17",
    ),
)
RETURN_BY_CODE: dict[str, ReturnReasonCode] = {r.code: r for r in RETURN_REASON_CODES}

UNAUTHORIZED_RETURN_CODES: frozenset[str] = frozenset(
    r.code for r in RETURN_REASON_CODES if r.rate_category == "unauthorized"
)
ADMINISTRATIVE_RETURN_CODES: frozenset[str] = frozenset(
    r.code for r in RETURN_REASON_CODES if r.rate_category == "administrative"
)
DISHONORED_RETURN_CODES: frozenset[str] = frozenset(
    r.code for r in RETURN_REASON_CODES if r.kind == "dishonored"
)
CONTESTED_RETURN_CODES: frozenset[str] = frozenset(
    r.code for r in RETURN_REASON_CODES if r.kind == "contested"
)


# ----------------------------------------------------------------------- NOC change codes


@dataclass(frozen=True, slots=True)
class CorrectedPart:
    """One value inside the 29-character Corrected Data field (1-based, inclusive)."""

    name: str
    start: int
    end: int
    kind: Literal["account", "routing", "transaction_code", "text", "sec_code"]


@dataclass(frozen=True, slots=True)
class ChangeCode:
    """A NOC change code (C01-C14) or refused NOC code (C61-C69) and its corrected-data layout."""

    code: str
    description: str
    corrected_data: tuple[CorrectedPart, ...]
    refused: bool = False
    iat_only: bool = False


def _p(name: str, start: int, end: int, kind: str) -> CorrectedPart:
    return CorrectedPart(name, start, end, kind)  # type: ignore[arg-type]


CHANGE_CODES: tuple[ChangeCode, ...] = (
    ChangeCode(
        "C01", "Incorrect DFI account number", (_p("dfi_account_number", 1, 17, "account"),)
    ),
    ChangeCode("C02", "Incorrect routing number", (_p("routing_number", 1, 9, "routing"),)),
    ChangeCode(
        "C03",
        "Incorrect routing number and DFI account number",
        (_p("routing_number", 1, 9, "routing"), _p("dfi_account_number", 13, 29, "account")),
    ),
    ChangeCode(
        "C04",
        "Incorrect individual name / receiving company name",
        (_p("individual_name", 1, 22, "text"),),
    ),
    ChangeCode(
        "C05", "Incorrect transaction code", (_p("transaction_code", 1, 2, "transaction_code"),)
    ),
    ChangeCode(
        "C06",
        "Incorrect DFI account number and transaction code",
        (
            _p("dfi_account_number", 1, 17, "account"),
            _p("transaction_code", 21, 22, "transaction_code"),
        ),
    ),
    ChangeCode(
        "C07",
        "Incorrect routing number, DFI account number and transaction code",
        (
            _p("routing_number", 1, 9, "routing"),
            _p("dfi_account_number", 10, 26, "account"),
            _p("transaction_code", 27, 28, "transaction_code"),
        ),
    ),
    ChangeCode(
        "C08",
        "Incorrect receiving DFI identification (IAT only)",
        (_p("rdfi_identification", 1, 29, "text"),),
        iat_only=True,
    ),
    ChangeCode(
        "C09",
        "Incorrect individual identification number",
        (_p("identification_number", 1, 22, "text"),),
    ),
    ChangeCode("C10", "Incorrect company name", (_p("company_name", 1, 16, "text"),)),
    ChangeCode("C11", "Incorrect company identification", (_p("company_id", 1, 10, "text"),)),
    ChangeCode(
        "C12",
        "Incorrect company name and company identification",
        (_p("company_name", 1, 16, "text"), _p("company_id", 17, 26, "text")),
    ),
    ChangeCode("C13", "Addenda format error", ()),
    ChangeCode(
        "C14",
        "Incorrect SEC code for outbound international payment",
        (_p("sec_code", 1, 3, "sec_code"),),
    ),
    ChangeCode("C61", "Misrouted notification of change", (), refused=True),
    ChangeCode("C62", "Incorrect trace number", (), refused=True),
    ChangeCode("C63", "Incorrect company identification number", (), refused=True),
    ChangeCode(
        "C64",
        "Incorrect individual identification number / identification number",
        (),
        refused=True,
    ),
    ChangeCode("C65", "Incorrectly formatted corrected data", (), refused=True),
    ChangeCode("C66", "Incorrect discretionary data", (), refused=True),
    ChangeCode("C67", "Routing number not from original entry detail record", (), refused=True),
    ChangeCode("C68", "DFI account number not from original entry detail record", (), refused=True),
    ChangeCode("C69", "Incorrect transaction code", (), refused=True),
)
CHANGE_BY_CODE: dict[str, ChangeCode] = {c.code: c for c in CHANGE_CODES}
REFUSED_CHANGE_CODES: frozenset[str] = frozenset(c.code for c in CHANGE_CODES if c.refused)


# ------------------------------------------------------------------------- polars twins


def _frame(rows: tuple[object, ...], extra: dict[str, list[object]] | None = None) -> pl.DataFrame:
    cols = [f.name for f in fields(rows[0])]  # type: ignore[arg-type]
    data: dict[str, list[object]] = {c: [getattr(r, c) for r in rows] for c in cols}
    data.update(extra or {})
    return pl.DataFrame(data, strict=False)


@cache
def sec_codes_frame() -> pl.DataFrame:
    """SEC codes as a frame (``addenda_types`` is a list column)."""
    return _frame(SEC_CODES).with_columns(pl.col("addenda_types").cast(pl.List(pl.String)))


@cache
def transaction_codes_frame() -> pl.DataFrame:
    """Transaction codes with ``is_prenote``, ``zero_amount_allowed``/``_required`` columns."""
    return _frame(
        TRANSACTION_CODES,
        {
            "is_prenote": [t.is_prenote for t in TRANSACTION_CODES],
            "zero_amount_allowed": [t.zero_amount_allowed for t in TRANSACTION_CODES],
            "zero_amount_required": [t.zero_amount_required for t in TRANSACTION_CODES],
        },
    )


@cache
def service_class_codes_frame() -> pl.DataFrame:
    return _frame(SERVICE_CLASS_CODES)


@cache
def return_reason_codes_frame() -> pl.DataFrame:
    """Return reason codes: code, description, initiator, window, window_days,
    rate_category, kind, wsud, rck, effective_from, is_unauthorized, is_administrative."""
    return _frame(
        RETURN_REASON_CODES,
        {
            "is_unauthorized": [r.is_unauthorized for r in RETURN_REASON_CODES],
            "is_administrative": [r.is_administrative for r in RETURN_REASON_CODES],
        },
    ).with_columns(pl.col("window_days").cast(pl.Int64), pl.col("effective_from").cast(pl.String))


@cache
def change_codes_frame() -> pl.DataFrame:
    """Change codes: code, description, refused, iat_only, corrected_parts (list of names)."""
    return pl.DataFrame(
        {
            "code": [c.code for c in CHANGE_CODES],
            "description": [c.description for c in CHANGE_CODES],
            "refused": [c.refused for c in CHANGE_CODES],
            "iat_only": [c.iat_only for c in CHANGE_CODES],
            "corrected_parts": [[p.name for p in c.corrected_data] for c in CHANGE_CODES],
        },
        schema_overrides={"corrected_parts": pl.List(pl.String)},
    )


def parse_corrected_data(change_code: str, corrected_data: str | None) -> dict[str, str]:
    """Split a NOC's Corrected Data into its named parts per the change code's layout.

    Parts are cut at their positions; when that yields an empty part for a multi-part code,
    the field is split on whitespace instead (real RDFIs separate the parts loosely, as moov
    tolerates).

    >>> parse_corrected_data("C03", "123456780   12345")
    {'routing_number': '123456780', 'dfi_account_number': '12345'}
    >>> parse_corrected_data("C05", "32")
    {'transaction_code': '32'}
    """
    code = CHANGE_BY_CODE.get(change_code)
    if code is None or not code.corrected_data:
        return {}
    text = (corrected_data or "").ljust(29)
    parts = {p.name: text[p.start - 1 : p.end].strip() for p in code.corrected_data}
    if len(code.corrected_data) > 1 and not _parts_ok(code.corrected_data, parts):
        words = text.split()
        if len(words) == len(code.corrected_data):
            loose = {p.name: w for p, w in zip(code.corrected_data, words, strict=True)}
            if _parts_ok(code.corrected_data, loose):
                parts = loose
    return parts


def _parts_ok(layout: tuple[CorrectedPart, ...], parts: dict[str, str]) -> bool:
    for p in layout:
        value = parts.get(p.name, "")
        if not value:
            return False
        if p.kind == "routing" and not (len(value) == 9 and value.isascii() and value.isdigit()):
            return False
        if p.kind == "transaction_code" and not (
            len(value) == 2 and value.isascii() and value.isdigit()
        ):
            return False
        if p.kind == "account" and " " in value:
            return False
    return True
