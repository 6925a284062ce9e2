"""Originator, ODFI, company and build settings for the file builder (pure frozen dataclasses).

Why dataclasses here and TOML elsewhere: ``nacha`` is pure and imports nothing of ours, so the
builder takes plain values; ``pipeline/build_config.py`` maps ``achpipe.toml`` onto them and
turns ``ValueError`` from ``__post_init__`` into a ``ConfigError`` naming the key.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from nacha.calendar import OdfiProfile
from nacha.checks import is_valid_routing

__all__ = [
    "FILE_ID_MODIFIERS",
    "IAT_ORIGINATOR_FIELDS",
    "NACHA_MAX_AMOUNT_CENTS",
    "NACHA_MAX_BATCH_RECORDS",
    "NACHA_MAX_TOTAL_CENTS",
    "BuildSettings",
    "Company",
    "Limits",
    "Odfi",
    "Originator",
    "SettlementAccount",
    "file_id_modifiers",
]

#: File ID Modifier order: A-Z then 0-9 (nacha-format.md §2 field 7).
FILE_ID_MODIFIERS = string.ascii_uppercase + string.digits
NACHA_MAX_AMOUNT_CENTS = 99_999_999_99  # 10-digit entry amount
NACHA_MAX_TOTAL_CENTS = 9_999_999_999_99  # 12-digit batch/file totals
NACHA_MAX_BATCH_RECORDS = 999_999  # 6-digit entry/addenda count in the batch control
NACHA_MAX_FILE_LINES = 9_999_990  # 6-digit block count x 10

_PRINTABLE = re.compile(r"^[\x20-\x7e]*$")
_TEMPLATE_FIELDS = frozenset(
    {"origin", "destination", "date", "created", "modifier", "seq", "kind", "company"}
)


#: Company settings that default the IAT originator addenda (11, 12), 35 characters each.
IAT_ORIGINATOR_FIELDS = (
    "iat_originator_name",
    "iat_originator_street_address",
    "iat_originator_city_state_province",
    "iat_originator_country_postal_code",
)


def file_id_modifiers(start: str = "A") -> Iterator[str]:
    """Modifiers from ``start`` to ``9`` in NACHA order (a simple allocator for one-offs)."""
    if len(start) != 1 or start not in FILE_ID_MODIFIERS:
        raise ValueError(f"file ID modifier must be A-Z or 0-9, got {start!r}")
    return iter(FILE_ID_MODIFIERS[FILE_ID_MODIFIERS.index(start) :])


def _text(value: str, *, name: str, max_len: int, required: bool = True) -> None:
    if required and not value.strip():
        raise ValueError(f"{name} is required")
    if len(value) > max_len:
        raise ValueError(f"{name} is longer than {max_len} characters: {value!r}")
    if not _PRINTABLE.match(value):
        raise ValueError(f"{name} must be printable ASCII: {value!r}")


def _routing(value: str, *, name: str) -> None:
    if not is_valid_routing(value):
        raise ValueError(f"{name} is not a valid 9-digit routing number: {value!r}")


@dataclass(frozen=True)
class Originator:
    """File header identity: who sends (``immediate_origin``) and the ODFI prefix of traces."""

    immediate_origin: str
    immediate_origin_name: str
    odfi_routing: str
    reference_code: str = ""

    def __post_init__(self) -> None:
        _text(self.immediate_origin, name="immediate_origin", max_len=10)
        _text(self.immediate_origin_name, name="immediate_origin_name", max_len=23)
        _routing(self.odfi_routing, name="odfi_routing")
        _text(self.reference_code, name="reference_code", max_len=8, required=False)


@dataclass(frozen=True)
class Odfi:
    """Where files go (``immediate_destination``) and the ODFI's calendar profile."""

    immediate_destination: str
    immediate_destination_name: str
    profile: OdfiProfile = field(default_factory=OdfiProfile)

    def __post_init__(self) -> None:
        _routing(self.immediate_destination, name="immediate_destination")
        _text(self.immediate_destination_name, name="immediate_destination_name", max_len=23)


AccountKind = Literal["Checking", "Savings", "GeneralLedger", "Loan"]
#: First digit of a transaction code by account kind (nacha-format.md §10).
ACCOUNT_DIGIT: dict[str, int] = {"Checking": 2, "Savings": 3, "GeneralLedger": 4, "Loan": 5}


@dataclass(frozen=True)
class SettlementAccount:
    """The originator's account that receives the offset entry of a balanced batch."""

    routing_number: str
    account_number: str
    account_type: AccountKind = "Checking"
    name: str = ""

    def __post_init__(self) -> None:
        _routing(self.routing_number, name="settlement.routing_number")
        if not re.fullmatch(r"[0-9A-Z-]{1,17}", self.account_number):
            raise ValueError("settlement.account_number must be 1-17 of 0-9, A-Z, '-'")
        if self.account_type not in ACCOUNT_DIGIT:
            raise ValueError(f"settlement.account_type must be one of {sorted(ACCOUNT_DIGIT)}")
        _text(self.name, name="settlement.name", max_len=22, required=False)


@dataclass(frozen=True)
class Company:
    """One ACH configuration of the originator, selected by the transfer's ``clientCode``.

    ``wages``: every PPD credit of this company pays compensation, so it must carry
    ``PAYROLL``; ``ecommerce``: every WEB debit is a consumer purchase (``PURCHASE``).
    """

    client_code: str
    company_name: str
    company_id: str
    discretionary_data: str = ""
    default: bool = False
    settlement: SettlementAccount | None = None
    wages: bool = False
    ecommerce: bool = False
    #: IAT addenda 11/12 defaults for rows that leave the originator columns empty
    #: (``iat_originator_name`` empty: the company name).
    iat_originator_name: str = ""
    iat_originator_street_address: str = ""
    iat_originator_city_state_province: str = ""
    iat_originator_country_postal_code: str = ""

    def __post_init__(self) -> None:
        _text(self.client_code, name="client_code", max_len=50)
        _text(self.company_name, name="company_name", max_len=16)
        _text(self.company_id, name="company_id", max_len=10)
        _text(self.discretionary_data, name="discretionary_data", max_len=20, required=False)
        for name in IAT_ORIGINATOR_FIELDS:
            _text(getattr(self, name), name=name, max_len=35, required=False)


@dataclass(frozen=True)
class Limits:
    """Per-file and per-batch ceilings; the NACHA field widths are the outer bounds.

    ``max_file_lines`` counts every 94-character record including padding.
    """

    max_file_lines: int = NACHA_MAX_FILE_LINES
    max_file_debit_cents: int = NACHA_MAX_TOTAL_CENTS
    max_file_credit_cents: int = NACHA_MAX_TOTAL_CENTS
    max_batch_entries: int = NACHA_MAX_BATCH_RECORDS

    def __post_init__(self) -> None:
        checks = {
            "max_file_lines": (self.max_file_lines, 20, NACHA_MAX_FILE_LINES),
            "max_file_debit_cents": (self.max_file_debit_cents, 1, NACHA_MAX_TOTAL_CENTS),
            "max_file_credit_cents": (self.max_file_credit_cents, 1, NACHA_MAX_TOTAL_CENTS),
            "max_batch_entries": (self.max_batch_entries, 4, NACHA_MAX_BATCH_RECORDS),
        }
        for name, (value, low, high) in checks.items():
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"{name} must be an integer in [{low}, {high}]: {value!r}")

    @property
    def batch_records(self) -> int:
        """Entry and addenda records one batch (chunk) may hold, so that it always fits a
        file: the 6-digit batch count, and the file's whole blocks (padding counts as lines)
        less the file and batch header/control records; two records stay free (the batch's
        balancing offset entry, and one spare). It also bounds one entry with its addenda
        (a CTX entry carries up to 9,999): batches are split between entries, never inside one.
        """
        lines = self.max_file_lines // 10 * 10  # the last block is padded to 10 records
        return min(self.max_batch_entries, lines - 6) - 2


@dataclass(frozen=True)
class BuildSettings:
    """Everything the builder needs besides the transfers, ``now`` and file ID modifiers.

    ``effective_date_policy``: ``reject`` refuses past, too-early and non-banking dates (and
    ineligible same-day entries); ``roll`` moves them (``roll`` direction for non-banking
    days, the earliest standard date otherwise) and reports each move.
    """

    originator: Originator
    odfi: Odfi
    companies: tuple[Company, ...]
    service_class_mode: Literal["mixed", "split"] = "mixed"
    balanced: bool = False
    line_ending: str = "\n"
    file_name_template: str = "{origin}-{date:%Y%m%d}-{modifier}-{seq:02d}.ach"
    effective_date_policy: Literal["reject", "roll"] = "reject"
    roll: Literal["following", "preceding"] = "following"
    descriptive_date: Literal["blank", "effective"] = "blank"
    limits: Limits = field(default_factory=Limits)

    def __post_init__(self) -> None:
        if not self.companies:
            raise ValueError("companies: at least one company is required")
        codes = [c.client_code for c in self.companies]
        if len(set(codes)) != len(codes):
            raise ValueError("companies: client_code values must be unique")
        if sum(c.default for c in self.companies) > 1:
            raise ValueError("companies: at most one company may be the default")
        if self.service_class_mode not in ("mixed", "split"):
            raise ValueError("service_class_mode must be 'mixed' or 'split'")
        if self.balanced and self.service_class_mode != "mixed":
            raise ValueError("balanced files need service_class_mode = 'mixed' (offsets mix)")
        if self.balanced:
            missing = [c.client_code for c in self.companies if c.settlement is None]
            if missing:
                raise ValueError(f"balanced files need a settlement account for {missing}")
        if self.line_ending not in ("\n", "\r\n"):
            raise ValueError("line_ending must be LF or CRLF")
        if self.effective_date_policy not in ("reject", "roll"):
            raise ValueError("effective_date_policy must be 'reject' or 'roll'")
        if self.roll not in ("following", "preceding"):
            raise ValueError("roll must be 'following' or 'preceding'")
        if self.descriptive_date not in ("blank", "effective"):
            raise ValueError("descriptive_date must be 'blank' or 'effective'")
        check_template(self.file_name_template)

    @property
    def default_company(self) -> Company | None:
        """The company for transfers without ``clientCode`` (the flagged or the only one)."""
        flagged = [c for c in self.companies if c.default]
        if flagged:
            return flagged[0]
        return self.companies[0] if len(self.companies) == 1 else None


def check_template(template: str) -> None:
    """Refuse unknown placeholders and path separators before any file is built."""
    names = {
        name.split(".")[0].split("[")[0]
        for _, name, _, _ in string.Formatter().parse(template)
        if name is not None
    }
    unknown = names - _TEMPLATE_FIELDS
    if unknown:
        raise ValueError(
            f"file_name_template: unknown placeholder(s) {sorted(unknown)}; "
            f"allowed: {sorted(_TEMPLATE_FIELDS)}"
        )
    if "/" in template or "\\" in template or template.startswith("."):
        raise ValueError("file_name_template must be a plain file name (no path)")
    if "modifier" not in names:
        raise ValueError("file_name_template must include {modifier} (names must be unique)")
