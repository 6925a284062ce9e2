"""Every NACHA record described once, as data (nacha-format.md §2-§7).

A :class:`Layout` is a tuple of :class:`Field` (1-based inclusive positions as printed in
the spec, a kind from :mod:`nacha.kinds`, and whether the Rules make it mandatory). The
reader slices columns with it, the writer formats columns with it, the validator derives its
field-format rules from it and ``docs`` can be generated from it. Each layout is checked at
import: fields must tile positions 1-94 exactly (fixedwidth's habit).

Dispatch is by dicts: SEC code -> entry layout (:data:`ENTRY_LAYOUT_BY_SEC`), addenda type
(and reason code range) -> addenda layout (see ``reader``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from nacha.kinds import (
    AN,
    DATE,
    DATE_BLANK,
    INT,
    N_BLANK,
    RESERVED,
    ROUTING10,
    TIME_BLANK,
    Constant,
    Kind,
    N,
)

RECORD_LENGTH = 94


class LayoutError(Exception):
    """A layout table is inconsistent (a programming error caught at import)."""


@dataclass(frozen=True, slots=True)
class Field:
    """One field: ``start``/``end`` are 1-based and inclusive, as in the spec tables."""

    start: int
    end: int
    name: str
    kind: Kind
    required: bool = False
    doc: str = ""

    @property
    def width(self) -> int:
        return self.end - self.start + 1

    @property
    def offset(self) -> int:
        return self.start - 1

    @property
    def exposed(self) -> bool:
        """Record type codes are implied by the frame and not exposed as columns."""
        return self.name != "record_type_code"


@dataclass(frozen=True)
class Layout:
    """A record layout: ``record`` is the logical record type used in issues
    (``file_header``, ``batch_header``, ``entry``, ``addenda``, ``batch_control``,
    ``file_control``); ``key`` names the variant."""

    key: str
    record: str
    fields: tuple[Field, ...]
    doc: str = ""

    def __post_init__(self) -> None:
        position = 1
        names: set[str] = set()
        for f in self.fields:
            if f.start != position:
                raise LayoutError(
                    f"{self.key}: field {f.name} starts at position {f.start}; should be {position}"
                )
            if f.end < f.start:
                raise LayoutError(f"{self.key}: field {f.name} ends before it starts")
            if isinstance(f.kind, Constant) and len(f.kind.value) != f.width:
                raise LayoutError(f"{self.key}: constant {f.name} does not fill its width")
            if f.name in names:
                raise LayoutError(f"{self.key}: duplicate field {f.name}")
            names.add(f.name)
            position = f.end + 1
        if position != RECORD_LENGTH + 1:
            raise LayoutError(f"{self.key}: fields end at {position - 1}, not {RECORD_LENGTH}")

    @cached_property
    def by_name(self) -> dict[str, Field]:
        return {f.name: f for f in self.fields}

    @cached_property
    def columns(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.exposed)

    @cached_property
    def pattern(self) -> str:
        """A regex matching a 94-character record whose every field has the right form."""
        return "^" + "".join(f.kind.pattern(f.width) for f in self.fields) + "$"


def _reserved(start: int, end: int) -> Field:
    return Field(start, end, f"reserved_{start}_{end}", RESERVED)


def _rt(code: str) -> Field:
    return Field(1, 1, "record_type_code", Constant(code), True)


def _at(code: str) -> Field:
    return Field(2, 3, "addenda_type_code", Constant(code), True)


def F(start: int, end: int, name: str, kind: Kind, required: bool = False, doc: str = "") -> Field:
    return Field(start, end, name, kind, required, doc)


# ------------------------------------------------------------------------- file records

FILE_HEADER = Layout(
    "file_header",
    "file_header",
    (
        _rt("1"),
        F(2, 3, "priority_code", N, True, "01"),
        F(
            4,
            13,
            "immediate_destination",
            ROUTING10,
            True,
            "blank + routing number of the ODFI/operator",
        ),
        F(
            14,
            23,
            "immediate_origin",
            ROUTING10,
            True,
            "assigned by the ODFI (1+EIN or blank+routing)",
        ),
        F(24, 29, "file_creation_date", DATE, True, "YYMMDD"),
        F(30, 33, "file_creation_time", TIME_BLANK, False, "HHMM"),
        F(34, 34, "file_id_modifier", AN, True, "A-Z, 0-9"),
        F(35, 37, "record_size", Constant("094"), True),
        F(38, 39, "blocking_factor", Constant("10"), True),
        F(40, 40, "format_code", Constant("1"), True),
        F(41, 63, "immediate_destination_name", AN),
        F(64, 86, "immediate_origin_name", AN),
        F(87, 94, "reference_code", AN),
    ),
)

FILE_CONTROL = Layout(
    "file_control",
    "file_control",
    (
        _rt("9"),
        F(2, 7, "batch_count", INT, True),
        F(8, 13, "block_count", INT, True),
        F(14, 21, "entry_addenda_count", INT, True),
        F(22, 31, "entry_hash", INT, True),
        F(32, 43, "total_debit_entry_dollar_amount", INT, True),
        F(44, 55, "total_credit_entry_dollar_amount", INT, True),
        _reserved(56, 94),
    ),
)

ADV_FILE_CONTROL = Layout(
    "adv_file_control",
    "file_control",
    (
        _rt("9"),
        F(2, 7, "batch_count", INT, True),
        F(8, 13, "block_count", INT, True),
        F(14, 21, "entry_addenda_count", INT, True),
        F(22, 31, "entry_hash", INT, True),
        F(32, 51, "total_debit_entry_dollar_amount", INT, True),
        F(52, 71, "total_credit_entry_dollar_amount", INT, True),
        _reserved(72, 94),
    ),
)

# ------------------------------------------------------------------------ batch records

BATCH_HEADER = Layout(
    "batch_header",
    "batch_header",
    (
        _rt("5"),
        F(2, 4, "service_class_code", N, True, "200 mixed, 220 credits, 225 debits, 280 ADV"),
        F(5, 20, "company_name", AN, True),
        F(21, 40, "company_discretionary_data", AN),
        F(41, 50, "company_id", AN, True),
        F(51, 53, "sec_code", AN, True),
        F(54, 63, "company_entry_description", AN, True),
        F(64, 69, "company_descriptive_date", AN),
        F(
            70,
            75,
            "effective_entry_date",
            AN,
            False,
            "YYMMDD; blank only for ENR (checked by rule)",
        ),
        F(76, 78, "settlement_date", N_BLANK, False, "Julian day, inserted by the operator"),
        F(79, 79, "originator_status_code", AN, True),
        F(80, 87, "odfi_id", N, True),
        F(88, 94, "batch_number", INT, True),
    ),
)

IAT_BATCH_HEADER = Layout(
    "iat_batch_header",
    "batch_header",
    (
        _rt("5"),
        F(2, 4, "service_class_code", N, True),
        F(5, 20, "iat_indicator", AN),
        F(21, 22, "foreign_exchange_indicator", AN, True, "FV, VF, FF"),
        F(
            23,
            23,
            "foreign_exchange_reference_indicator",
            N_BLANK,
            True,
            "1 rate, 2 reference, 3 blank",
        ),
        F(24, 38, "foreign_exchange_reference", AN),
        F(39, 40, "iso_destination_country_code", AN, True),
        F(41, 50, "company_id", AN, True, "Originator Identification"),
        F(51, 53, "sec_code", AN, True),
        F(54, 63, "company_entry_description", AN, True),
        F(64, 66, "iso_originating_currency_code", AN, True),
        F(67, 69, "iso_destination_currency_code", AN, True),
        F(70, 75, "effective_entry_date", AN),
        F(76, 78, "settlement_date", N_BLANK),
        F(79, 79, "originator_status_code", AN, True),
        F(80, 87, "odfi_id", N, True, "Gateway Operator / ODFI identification"),
        F(88, 94, "batch_number", INT, True),
    ),
)

BATCH_CONTROL = Layout(
    "batch_control",
    "batch_control",
    (
        _rt("8"),
        F(2, 4, "service_class_code", N, True),
        F(5, 10, "entry_addenda_count", INT, True),
        F(11, 20, "entry_hash", INT, True),
        F(21, 32, "total_debit_entry_dollar_amount", INT, True),
        F(33, 44, "total_credit_entry_dollar_amount", INT, True),
        F(45, 54, "company_id", AN, True),
        F(55, 73, "message_authentication_code", AN),
        _reserved(74, 79),
        F(80, 87, "odfi_id", N, True),
        F(88, 94, "batch_number", INT, True),
    ),
)

ADV_BATCH_CONTROL = Layout(
    "adv_batch_control",
    "batch_control",
    (
        _rt("8"),
        F(2, 4, "service_class_code", N, True),
        F(5, 10, "entry_addenda_count", INT, True),
        F(11, 20, "entry_hash", INT, True),
        F(21, 40, "total_debit_entry_dollar_amount", INT, True),
        F(41, 60, "total_credit_entry_dollar_amount", INT, True),
        F(61, 79, "ach_operator_data", AN),
        F(80, 87, "odfi_id", N, True),
        F(88, 94, "batch_number", INT, True),
    ),
)

# ------------------------------------------------------------------------ entry detail

_ENTRY_HEAD = (
    _rt("6"),
    F(2, 3, "transaction_code", N, True),
    F(4, 11, "rdfi_id", N, True, "first 8 digits of the receiver's routing number"),
    F(12, 12, "check_digit", N, True),
)
_ENTRY_TAIL = (
    F(79, 79, "addenda_record_indicator", N, True, "0 none, 1 addenda follow"),
    F(80, 94, "trace_number", N, True, "ODFI prefix (8) + sequence (7)"),
)
_ENTRY_MONEY = (
    F(13, 29, "dfi_account_number", AN, True, "left-justified, space-filled"),
    F(30, 39, "amount", INT, True, "cents"),
)


def _entry(key: str, middle: tuple[Field, ...], doc: str) -> Layout:
    return Layout(key, "entry", (*_ENTRY_HEAD, *_ENTRY_MONEY, *middle, *_ENTRY_TAIL), doc)


ENTRY_STANDARD = _entry(
    "entry_standard",
    (
        F(40, 54, "identification_number", AN),
        F(55, 76, "individual_name", AN, False, "receiver / receiving company name"),
        F(77, 78, "discretionary_data", AN, False, "WEB/TEL: payment type code"),
    ),
    "PPD, CCD, WEB, TEL, ACK, DNE, ENR, COR, POS, SHR, MTE",
)

ENTRY_CIE = _entry(
    "entry_cie",
    (
        F(40, 54, "individual_name", AN),
        F(55, 76, "identification_number", AN),
        F(77, 78, "discretionary_data", AN),
    ),
    "CIE: name and identification swapped",
)

ENTRY_CHECK = _entry(
    "entry_check",
    (
        F(40, 54, "check_serial_number", AN, True),
        F(55, 76, "individual_name", AN),
        F(77, 78, "discretionary_data", AN),
    ),
    "ARC, BOC, RCK",
)

ENTRY_POP = _entry(
    "entry_pop",
    (
        F(40, 48, "check_serial_number", AN, True),
        F(49, 52, "terminal_city", AN, True),
        F(53, 54, "terminal_state", AN, True),
        F(55, 76, "individual_name", AN),
        F(77, 78, "discretionary_data", AN),
    ),
    "POP",
)

ENTRY_XCK = _entry(
    "entry_xck",
    (
        F(40, 54, "check_serial_number", AN, True),
        F(55, 60, "process_control_field", AN),
        F(61, 76, "item_research_number", AN),
        F(77, 78, "discretionary_data", AN, False, "TRC: item type indicator"),
    ),
    "XCK, TRC",
)

ENTRY_CORPORATE = _entry(
    "entry_corporate",
    (
        F(40, 54, "identification_number", AN),
        F(55, 58, "number_of_addenda_records", INT, True),
        F(59, 74, "individual_name", AN, False, "receiving company name / ID number"),
        _reserved(75, 76),
        F(77, 78, "discretionary_data", AN),
    ),
    "CTX, ATX, TRX",
)

ENTRY_IAT = Layout(
    "entry_iat",
    "entry",
    (
        *_ENTRY_HEAD,
        F(13, 16, "number_of_addenda_records", INT, True),
        _reserved(17, 29),
        F(30, 39, "amount", INT, True),
        F(40, 74, "dfi_account_number", AN, True, "foreign receiver's account number"),
        _reserved(75, 76),
        F(77, 77, "gateway_ofac_screening_indicator", AN),
        F(78, 78, "secondary_ofac_screening_indicator", AN),
        *_ENTRY_TAIL,
    ),
    "IAT",
)

ENTRY_ADV = Layout(
    "entry_adv",
    "entry",
    (
        *_ENTRY_HEAD,
        F(13, 27, "dfi_account_number", AN, True),
        F(28, 39, "amount", INT, True),
        F(40, 48, "advice_routing_number", N, True),
        F(49, 53, "file_identification", AN),
        F(54, 54, "ach_operator_data", AN),
        F(55, 76, "individual_name", AN, True),
        F(77, 78, "discretionary_data", AN),
        F(79, 79, "addenda_record_indicator", N, True),
        F(80, 87, "ach_operator_routing_number", AN, True),
        F(88, 90, "julian_date_day", N, True),
        F(91, 94, "sequence_number", N, True),
    ),
    "ADV (automated accounting advice)",
)

ENTRY_LAYOUTS: dict[str, Layout] = {
    layout.key.removeprefix("entry_"): layout
    for layout in (
        ENTRY_STANDARD,
        ENTRY_CIE,
        ENTRY_CHECK,
        ENTRY_POP,
        ENTRY_XCK,
        ENTRY_CORPORATE,
        ENTRY_IAT,
        ENTRY_ADV,
    )
}

# ----------------------------------------------------------------------------- addenda

_SEQ7 = F(88, 94, "entry_detail_sequence_number", N, True, "last 7 digits of the entry trace")
_TRACE = F(80, 94, "trace_number", N, True)

ADDENDA_02 = Layout(
    "addenda_02",
    "addenda",
    (
        _rt("7"),
        _at("02"),
        F(4, 10, "reference_information_one", AN),
        F(11, 13, "reference_information_two", AN),
        F(14, 19, "terminal_identification_code", AN, True),
        F(20, 25, "transaction_serial_number", AN, True),
        F(26, 29, "transaction_date", AN, True, "MMDD"),
        F(30, 35, "authorization_code_or_card_expiration_date", AN),
        F(36, 62, "terminal_location", AN, True),
        F(63, 77, "terminal_city", AN, True),
        F(78, 79, "terminal_state", AN, True),
        _TRACE,
    ),
    "POS, SHR, MTE terminal data",
)

ADDENDA_05 = Layout(
    "addenda_05",
    "addenda",
    (
        _rt("7"),
        _at("05"),
        F(4, 83, "payment_related_information", AN),
        F(84, 87, "addenda_sequence_number", INT, True),
        _SEQ7,
    ),
)

ADDENDA_98 = Layout(
    "addenda_98",
    "addenda",
    (
        _rt("7"),
        _at("98"),
        F(4, 6, "change_code", AN, True),
        F(7, 21, "original_trace_number", N, True),
        _reserved(22, 27),
        F(28, 35, "original_rdfi_id", N, True),
        F(36, 64, "corrected_data", AN, True),
        _reserved(65, 79),
        _TRACE,
    ),
    "Notification of Change",
)

ADDENDA_98_REFUSED = Layout(
    "addenda_98_refused",
    "addenda",
    (
        _rt("7"),
        _at("98"),
        F(4, 6, "change_code", AN, True, "refused COR code C61-C69"),
        F(7, 21, "original_trace_number", N, True),
        _reserved(22, 27),
        F(28, 35, "original_rdfi_id", N, True),
        F(36, 64, "corrected_data", AN, True),
        F(65, 67, "original_change_code", AN, True),
        F(68, 74, "trace_sequence_number", N, True),
        _reserved(75, 79),
        _TRACE,
    ),
    "Refused Notification of Change",
)

ADDENDA_99 = Layout(
    "addenda_99",
    "addenda",
    (
        _rt("7"),
        _at("99"),
        F(4, 6, "return_reason_code", AN, True),
        F(7, 21, "original_trace_number", N, True),
        F(22, 27, "date_of_death", DATE_BLANK),
        F(28, 35, "original_rdfi_id", N, True),
        F(36, 79, "addenda_information", AN),
        _TRACE,
    ),
    "Return",
)

ADDENDA_99_DISHONORED = Layout(
    "addenda_99_dishonored",
    "addenda",
    (
        _rt("7"),
        _at("99"),
        F(4, 6, "return_reason_code", AN, True, "dishonored return reason code R61-R70"),
        F(7, 21, "original_trace_number", N, True),
        _reserved(22, 27),
        F(28, 35, "original_rdfi_id", N, True),
        _reserved(36, 38),
        F(39, 53, "return_trace_number", N, True),
        F(54, 56, "return_settlement_date", N_BLANK),
        F(57, 58, "original_return_reason_code", AN, True, "digits of the return's code"),
        F(59, 79, "addenda_information", AN),
        _TRACE,
    ),
    "Dishonored return",
)

ADDENDA_99_CONTESTED = Layout(
    "addenda_99_contested",
    "addenda",
    (
        _rt("7"),
        _at("99"),
        F(4, 6, "return_reason_code", AN, True, "contested dishonored return code R71-R77"),
        F(7, 21, "original_trace_number", N, True),
        F(22, 27, "date_original_entry_returned", N_BLANK),
        F(28, 35, "original_rdfi_id", N, True),
        F(36, 38, "original_settlement_date", N_BLANK),
        F(39, 53, "return_trace_number", N, True),
        F(54, 56, "return_settlement_date", N_BLANK),
        F(57, 58, "original_return_reason_code", AN, True),
        F(59, 73, "dishonored_return_trace_number", N, True),
        F(74, 76, "dishonored_return_settlement_date", N_BLANK),
        F(77, 78, "dishonored_return_reason_code", AN, True),
        _reserved(79, 79),
        _TRACE,
    ),
    "Contested dishonored return",
)

ADDENDA_99_IAT = Layout(
    "addenda_99_iat",
    "addenda",
    (
        _rt("7"),
        _at("99"),
        F(4, 6, "return_reason_code", AN, True),
        F(7, 21, "original_trace_number", N, True),
        F(22, 27, "date_of_death", DATE_BLANK),
        F(28, 35, "original_rdfi_id", N, True),
        F(36, 45, "original_forward_payment_amount", INT, True),
        F(46, 79, "addenda_information", AN),
        _TRACE,
    ),
    "IAT return",
)


def _iat(code: str, *middle: Field, seq: bool = False) -> Layout:
    tail = (F(84, 87, "addenda_sequence_number", INT, True),) if seq else ()
    return Layout(f"addenda_{code}", "addenda", (_rt("7"), _at(code), *middle, *tail, _SEQ7))


def _dfi(prefix: str, name_doc: str, end: int) -> tuple[Field, ...]:
    return (
        F(4, 38, f"{prefix}_name", AN, True, name_doc),
        F(39, 40, f"{prefix}_id_number_qualifier", AN, True, "01 national, 02 BIC, 03 IBAN"),
        F(41, 74, f"{prefix}_identification", AN, True),
        F(75, 77, f"{prefix}_branch_country_code", AN, True),
        _reserved(78, end),
    )


ADDENDA_10 = _iat(
    "10",
    F(4, 6, "transaction_type_code", AN, True),
    F(7, 24, "foreign_payment_amount", INT, True),
    F(25, 46, "foreign_trace_number", AN),
    F(47, 81, "receiving_name", AN, True),
    _reserved(82, 87),
)
ADDENDA_11 = _iat(
    "11",
    F(4, 38, "originator_name", AN, True),
    F(39, 73, "originator_street_address", AN, True),
    _reserved(74, 87),
)
ADDENDA_12 = _iat(
    "12",
    F(4, 38, "originator_city_state_province", AN, True),
    F(39, 73, "originator_country_postal_code", AN, True),
    _reserved(74, 87),
)
ADDENDA_13 = _iat("13", *_dfi("odfi", "originating DFI name", 87))
ADDENDA_14 = _iat("14", *_dfi("rdfi", "receiving DFI name", 87))
ADDENDA_15 = _iat(
    "15",
    F(4, 18, "receiver_identification_number", AN),
    F(19, 53, "receiver_street_address", AN, True),
    _reserved(54, 87),
)
ADDENDA_16 = _iat(
    "16",
    F(4, 38, "receiver_city_state_province", AN, True),
    F(39, 73, "receiver_country_postal_code", AN, True),
    _reserved(74, 87),
)
ADDENDA_17 = _iat("17", F(4, 83, "payment_related_information", AN), seq=True)
ADDENDA_18 = _iat(
    "18", *_dfi("foreign_correspondent_bank", "correspondent bank name", 83), seq=True
)

ADDENDA_LAYOUTS: dict[str, Layout] = {
    layout.key.removeprefix("addenda_"): layout
    for layout in (
        ADDENDA_02,
        ADDENDA_05,
        ADDENDA_98,
        ADDENDA_98_REFUSED,
        ADDENDA_99,
        ADDENDA_99_DISHONORED,
        ADDENDA_99_CONTESTED,
        ADDENDA_99_IAT,
        ADDENDA_10,
        ADDENDA_11,
        ADDENDA_12,
        ADDENDA_13,
        ADDENDA_14,
        ADDENDA_15,
        ADDENDA_16,
        ADDENDA_17,
        ADDENDA_18,
    )
}

ALL_LAYOUTS: dict[str, Layout] = {
    layout.key: layout
    for layout in (
        FILE_HEADER,
        FILE_CONTROL,
        ADV_FILE_CONTROL,
        BATCH_HEADER,
        IAT_BATCH_HEADER,
        BATCH_CONTROL,
        ADV_BATCH_CONTROL,
        *ENTRY_LAYOUTS.values(),
        *ADDENDA_LAYOUTS.values(),
    )
}

#: IAT addenda every IAT forward entry must carry (10-16), in order.
IAT_MANDATORY_ADDENDA: tuple[str, ...] = ("10", "11", "12", "13", "14", "15", "16")
#: IAT addenda an entry may add after 10-16, with the most of each: 17 payment related
#: information, 18 foreign correspondent banks. Each type numbers its records from 0001.
IAT_OPTIONAL_ADDENDA: dict[str, int] = {"17": 2, "18": 5}


def field_docs() -> str:
    """Markdown tables of every layout, generated from the tables above."""
    out: list[str] = []
    for layout in ALL_LAYOUTS.values():
        out.append(f"### {layout.key} ({layout.record})\n")
        if layout.doc:
            out.append(f"{layout.doc}\n")
        out.append("| Pos | Len | Field | Kind | Required | Notes |\n|---|---|---|---|---|---|")
        for f in layout.fields:
            out.append(
                f"| {f.start:02d}-{f.end:02d} | {f.width} | {f.name} | {f.kind!r} | "
                f"{'M' if f.required else 'O'} | {f.doc} |"
            )
        out.append("")
    return "\n".join(out)


HEADER = (
    "# NACHA record layouts\n\nGenerated from `nacha/layouts.py` by "
    "`python -m nacha.layouts > docs/nacha-layouts.md`; do not edit by hand.\n\n"
)

if __name__ == "__main__":
    print(HEADER + field_docs(), end="")
