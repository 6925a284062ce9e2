"""The builder's rule tables: columnar routing check, what each SEC code allows, reserved
company entry descriptions. Rules are rows, not per-SEC code (design.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import polars as pl

from nacha.checks import routing_check_digit_expr

__all__ = [
    "ADDENDA_TEXT_LENGTH",
    "CHECK_LAYOUTS",
    "ENTRY_FIELD_COLUMNS",
    "PAYMENT_TYPE_CODES",
    "RESERVED_DESCRIPTIONS",
    "SEC_RULES",
    "EntryField",
    "ReservedDescription",
    "SecRule",
    "addenda_records_expr",
    "routing_is_valid_expr",
]


def routing_is_valid_expr(column: str | pl.Expr) -> pl.Expr:
    """Columnar ABA check (nacha-format.md §12) on top of the core's check-digit expression."""
    col = pl.col(column) if isinstance(column, str) else column
    return col.str.contains(r"^[0-9]{9}$") & (
        routing_check_digit_expr(col.str.slice(0, 8)) == col.str.slice(8, 1)
    )


#: Characters of Payment Related Information in one addenda 05 record (positions 04-83).
ADDENDA_TEXT_LENGTH = 80


def addenda_records_expr(text: pl.Expr, *, length: pl.Expr | None = None) -> pl.Expr:
    """Addenda 05 records that carry ``text``: one per 80 characters begun, 0 for null.
    ``length``: the text's length in characters when its bytes are not (non-ASCII text);
    by default its bytes, an O(1) read per row (accepted addenda are printable ASCII)."""
    size = text.str.len_bytes() if length is None else length
    return ((size + (ADDENDA_TEXT_LENGTH - 1)) // ADDENDA_TEXT_LENGTH).fill_null(0).cast(pl.Int64)


# ------------------------------------------------------------- SEC rules (§4.2, §5, §11)


@dataclass(frozen=True)
class EntryField:
    """An input column written into an entry field only some SEC codes have (POP's terminal
    city and state, XCK's process control field and item research number). Required where
    its SEC code has it; a row of any other SEC code that fills it is rejected.

    ``column``: the input column; ``field``: the entry field (``nacha.layouts``) it fills;
    ``width``: the field's width, the longest value accepted; ``pattern``/``shape``: an
    anchored regex the value must match and how the reason says it (None: printable ASCII).
    """

    column: str
    field: str
    width: int
    pattern: str | None = None
    shape: str | None = None


@dataclass(frozen=True)
class SecRule:
    """What one originating SEC code allows; a row of :data:`SEC_RULES`.

    ``layout``: ``standard`` (PPD-like), ``cie`` (name 40-54 and ID 55-76 swapped),
    ``ctx`` (corporate: addenda count 55-58, 16-char name 59-74), ``check`` (check serial
    number in 40-54: ARC, BOC, RCK), ``pop`` (check serial 40-48, terminal city 49-52 and
    state 53-54), ``xck`` (check serial 40-54, process control 55-60, item research number
    61-76, no name). In the check layouts (:data:`CHECK_LAYOUTS`) ``identificationNumber``
    is the check serial number. ``max_addenda``: addenda 05 records an entry may carry;
    the ``addenda`` text is split into that many records of 80 characters at most.
    ``name_max`` 0: the layout has no Individual Name (a row that gives one is rejected);
    ``name_required`` False: the name may be left empty. ``payment_type``: where WEB/TEL's
    Payment Type Code (77-78) is required (``debits``) or merely allowed (``optional``).
    ``fields``: the SEC code's own entry fields, from input columns of their own.
    """

    credits: bool
    debits: bool
    max_addenda: int
    name_max: int
    id_max: int
    layout: Literal["standard", "cie", "ctx", "check", "pop", "xck"] = "standard"
    id_required: bool = False
    name_required: bool = True
    max_amount_cents: int = 99_999_999_99
    payment_type: Literal["none", "optional", "debits"] = "none"
    zero_dollar_remittance: bool = False
    required_description: str | None = None
    fields: tuple[EntryField, ...] = ()


#: Layouts whose positions 40-54 start with the check serial number (``identificationNumber``).
CHECK_LAYOUTS = ("check", "pop", "xck")

_TERMINAL_CITY = EntryField("terminalCity", "terminal_city", 4)
_TERMINAL_STATE = EntryField(
    "terminalState", "terminal_state", 2, r"^[A-Z]{2}$", "2 capital letters (a state code)"
)
_PROCESS_CONTROL = EntryField("processControlField", "process_control_field", 6)
_ITEM_RESEARCH = EntryField("itemResearchNumber", "item_research_number", 16)

#: The domestic SEC codes achpipe originates. IAT rows never reach these rules: they are split
#: off and built into files of their own (``nacha.build_iat``). Everything else (ENR, COR,
#: POS …) is refused with a reason naming it: those need fields the connectFi create request
#: does not carry. Check codes (§4.2, §11.2): debits only, no addenda, the check serial
#: number in ``identificationNumber``; limits per entry ARC/BOC/POP $25,000, RCK/XCK $2,500.
SEC_RULES: dict[str, SecRule] = {
    "PPD": SecRule(True, True, 1, 22, 15),
    "CCD": SecRule(True, True, 1, 22, 15, zero_dollar_remittance=True),
    # CTX: an ANSI X12 820 (or EDIFACT) message in up to 9,999 addenda 05 (§5)
    "CTX": SecRule(True, True, 9999, 16, 15, layout="ctx", zero_dollar_remittance=True),
    "WEB": SecRule(True, True, 1, 22, 15, payment_type="debits"),
    "TEL": SecRule(False, True, 0, 22, 15, payment_type="optional"),
    "CIE": SecRule(True, False, 1, 15, 22, layout="cie", id_required=True),
    "ARC": SecRule(False, True, 0, 22, 15, "check", True, False, 25_000_00),
    "BOC": SecRule(False, True, 0, 22, 15, "check", True, False, 25_000_00),
    # POP: a 9-character serial, then the terminal's city (4) and state (2) in 49-54
    "POP": SecRule(
        False, True, 0, 22, 9, "pop", True, False, 25_000_00,
        fields=(_TERMINAL_CITY, _TERMINAL_STATE),
    ),
    "RCK": SecRule(
        False, True, 0, 22, 15, "check", True, True, 2_500_00, required_description="REDEPCHECK"
    ),
    # XCK: 55-76 hold process control field and item research number: no Individual Name
    "XCK": SecRule(
        False, True, 0, 0, 15, "xck", True, False, 2_500_00, required_description="NO CHECK",
        fields=(_PROCESS_CONTROL, _ITEM_RESEARCH),
    ),
}  # fmt: skip

#: Every input column of :attr:`SecRule.fields`, in table order.
ENTRY_FIELD_COLUMNS: tuple[str, ...] = tuple(
    dict.fromkeys(f.column for r in SEC_RULES.values() for f in r.fields)
)

#: Valid WEB/TEL Payment Type Codes (entry 77-78).
PAYMENT_TYPE_CODES = ("R", "S", "ST")


@dataclass(frozen=True)
class ReservedDescription:
    """A Company Entry Description value the Rules reserve (nacha-format.md §11.3).

    ``prefix``: matched against the start of the description (``PAYROLL`` must be in the
    first 7 characters). Empty ``secs``/``directions`` mean "never in a transfer", with
    ``reason`` saying why.
    """

    value: str
    secs: frozenset[str]
    directions: frozenset[str]
    reason: str
    prefix: bool = False
    max_amount_cents: int | None = None
    needs_addenda: bool = False


_ANY = frozenset(SEC_RULES)
RESERVED_DESCRIPTIONS: tuple[ReservedDescription, ...] = (
    ReservedDescription(
        "PAYROLL", frozenset({"PPD"}), frozenset({"Credit"}),
        "PAYROLL is reserved for PPD credits paying wages", prefix=True,
    ),
    ReservedDescription(
        "PURCHASE", frozenset({"WEB"}), frozenset({"Debit"}),
        "PURCHASE is reserved for WEB debits for consumer purchases",
    ),
    ReservedDescription(
        "REVERSAL", frozenset(), frozenset(),
        "REVERSAL is reserved for reversals of a sent file (use the reversal builder)",
    ),
    ReservedDescription(
        "RETRY PYMT", _ANY - {"CIE"}, frozenset({"Debit"}),
        "RETRY PYMT is reserved for reinitiated debits",
    ),
    ReservedDescription(
        "RETURN FEE", _ANY - {"CIE"}, frozenset({"Debit"}),
        "RETURN FEE is reserved for returned-item fee debits",
    ),
    ReservedDescription(
        "REDEPCHECK", frozenset({"RCK"}), frozenset({"Debit"}),
        "REDEPCHECK is reserved for RCK entries",
    ),
    ReservedDescription(
        "NO CHECK", frozenset({"XCK"}), frozenset({"Debit"}),
        "NO CHECK is reserved for XCK entries",
    ),
    ReservedDescription(
        "AUTOENROLL", frozenset(), frozenset(),
        "AUTOENROLL is reserved for ENR entries (not originated by achpipe)",
    ),
    ReservedDescription(
        "NONSETTLED", frozenset(), frozenset(), "NONSETTLED is reserved for ACH Operators"
    ),
    ReservedDescription(
        "RECLAIM", frozenset(), frozenset(),
        "RECLAIM is reserved for federal government reclamation entries",
    ),
    ReservedDescription(
        "ACCTVERIFY", frozenset({"PPD", "CCD", "WEB"}), frozenset({"Credit", "Debit"}),
        "ACCTVERIFY is reserved for micro-entries (PPD/CCD/WEB) under $1.00",
        max_amount_cents=99,
    ),
    ReservedDescription(
        "HCCLAIMPMT", frozenset({"CCD"}), frozenset({"Credit"}),
        "HCCLAIMPMT is reserved for CCD healthcare claim credits with a TRN addenda",
        needs_addenda=True,
    ),
)  # fmt: skip
