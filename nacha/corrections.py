"""Corrected data of Notifications of Change, parsed into typed fields (pure).

A NOC (addenda ``98``) carries a 29-character Corrected Data field whose layout depends on
the change code (``shared/spec/returns-and-rates.md`` §4.1, ``nacha-format.md`` §7.3). The
originator must apply it to the Receiver's master data within six banking days, so a value
we cannot trust must never reach the payee: every part is checked here (routing check
digit, account characters, a transaction code that exists, a name that is not blank) and a
malformed field raises :class:`CorrectionError` naming the change code and the rule. The
caller quarantines that NOC and applies nothing.

The layouts come from the one change-code table in :mod:`nacha.codes` (1-based inclusive
positions within the field; :data:`CORRECTED_LAYOUTS` renames its parts to our fields).
Real RDFIs sometimes separate the parts of C03/C06/C07 loosely; when the field is
visibly not laid out at the documented positions (a gap that is not blank, a part left
empty or with an inner blank), it is split on whitespace instead (as moov-io does), and only
if that yields exactly one word per part — an account number is never silently shortened.

>>> parse_correction("C02", "011000015").routing_number
'011000015'
>>> parse_correction("C05", "32").account_type
'savings'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from nacha.codes import CHANGE_CODES
from nacha.errors import NachaError
from nacha.masking import mask_account

__all__ = [
    "ACCOUNT_TYPES",
    "CORRECTED_LAYOUTS",
    "CORRECTIONS_BY_FIELD",
    "REFUSED_CODES",
    "CorrectedPart",
    "Correction",
    "CorrectionError",
    "parse_correction",
]

# Our field names for the parts of nacha.codes' layouts (the Correction attributes).
_FIELD_NAMES = {"dfi_account_number": "account_number"}


@dataclass(frozen=True, slots=True)
class CorrectedPart:
    """One value inside the Corrected Data field: name (a :class:`Correction` attribute),
    1-based inclusive positions, kind (how it is checked)."""

    name: str
    start: int
    end: int
    kind: str


#: change code -> the parts of its corrected data (empty: nothing structured to parse),
#: derived from the one change-code table in :mod:`nacha.codes`.
CORRECTED_LAYOUTS: dict[str, tuple[CorrectedPart, ...]] = {
    c.code: tuple(
        CorrectedPart(_FIELD_NAMES.get(p.name, p.name), p.start, p.end, p.kind)
        for p in c.corrected_data
    )
    for c in CHANGE_CODES
    if not c.refused
}
#: refused NOC codes (ODFI -> RDFI, §4.2); they carry the original NOC's data, never a change.
REFUSED_CODES: dict[str, str] = {c.code: c.description for c in CHANGE_CODES if c.refused}
#: which payee fields each change code corrects (C08, C10-C13 change no payee field).
CORRECTIONS_BY_FIELD: dict[str, tuple[str, ...]] = {
    "C01": ("account_number",),
    "C02": ("routing_number",),
    "C03": ("routing_number", "account_number"),
    "C04": ("individual_name",),
    "C05": ("account_type",),
    "C06": ("account_number", "account_type"),
    "C07": ("routing_number", "account_number", "account_type"),
    "C09": ("identification_number",),
    "C14": ("required_sec_code",),
}
#: first digit of a forward transaction code -> account type
ACCOUNT_TYPES: dict[str, str] = {
    "2": "checking",
    "3": "savings",
    "4": "general_ledger",
    "5": "loan",
}
# Forward codes a NOC may ask for: live, prenote and zero-dollar codes of the four account
# types (nacha-format.md §10); x1/x6 are return/NOC codes and never a correction.
_FORWARD_CODES = frozenset(
    f"{a}{k}" for a in "2345" for k in "234789" if not (a == "5" and k in "789")
) | {"55"}
_ACCOUNT_RE = re.compile(r"^[0-9A-Za-z-]{1,17}$")
_PRINTABLE_RE = re.compile(r"^[\x20-\x7e]*$")


class CorrectionError(NachaError):
    """The corrected data of a NOC is malformed: nothing may be applied from it.

    ``change_code`` and ``rule`` (stable, e.g. ``noc.routing_check_digit``) say what;
    ``part`` names the value inside the field. The corrected data itself is not in the
    message (it may be an account number).
    """

    def __init__(self, message: str, *, change_code: str, rule: str, part: str | None = None):
        self.change_code = change_code
        self.rule = rule
        self.part = part
        super().__init__(f"NOC {change_code}: {message} [{rule}]")


@dataclass(frozen=True)
class Correction:
    """The typed content of one NOC's corrected data.

    Only the fields the change code carries are set. ``account_number`` is the clear value
    (hand it to an AccountProtector, never to a log): ``repr`` masks it.
    ``refused`` marks C61-C69 (a refused NOC: informational for an originator).
    """

    change_code: str
    refused: bool = False
    routing_number: str | None = None
    account_number: str | None = field(default=None, repr=False)
    transaction_code: str | None = None
    individual_name: str | None = None
    identification_number: str | None = None
    rdfi_identification: str | None = None
    company_name: str | None = None
    company_id: str | None = None
    sec_code: str | None = None
    original_change_code: str | None = None

    @property
    def account_type(self) -> str | None:
        """checking / savings / general_ledger / loan, from the corrected transaction code."""
        if self.transaction_code is None:
            return None
        return ACCOUNT_TYPES[self.transaction_code[0]]

    @property
    def payee_fields(self) -> tuple[str, ...]:
        """The payee fields this correction changes (empty: informational only)."""
        return () if self.refused else CORRECTIONS_BY_FIELD.get(self.change_code, ())

    @property
    def account_mask(self) -> str | None:
        return None if self.account_number is None else mask_account(self.account_number)

    def __repr__(self) -> str:  # the dataclass repr would skip the account entirely
        shown = {
            k: getattr(self, k)
            for k in (
                "routing_number",
                "transaction_code",
                "individual_name",
                "identification_number",
                "rdfi_identification",
                "company_name",
                "company_id",
                "sec_code",
                "original_change_code",
            )
            if getattr(self, k) is not None
        }
        if self.account_number is not None:
            shown["account"] = self.account_mask
        inner = ", ".join(f"{k}={v!r}" for k, v in shown.items())
        return f"Correction({self.change_code}{', refused' if self.refused else ''}, {inner})"


def _cut(code: str, parts: tuple[CorrectedPart, ...], text: str) -> dict[str, str]:
    """Cut the parts at their positions, unless the field is visibly laid out otherwise:
    a multi-part field whose gaps are not blank, or whose cut leaves a part empty or with
    an inner blank, is split on whitespace when that yields exactly one word per part
    (never a silently shortened account number)."""
    padded = text.ljust(29)
    values = {p.name: padded[p.start - 1 : p.end].strip() for p in parts}
    covered = {i for p in parts for i in range(p.start - 1, p.end)}
    gaps_blank = all(padded[i] == " " for i in range(29) if i not in covered)
    tidy = all(v and " " not in v for v in values.values())
    words = text.split()
    if len(parts) > 1 and not (gaps_blank and tidy) and len(words) == len(parts):
        return {p.name: w for p, w in zip(parts, words, strict=True)}
    if not gaps_blank:
        raise CorrectionError(
            "data outside the positions of the layout ("
            + ", ".join(f"{p.name} {p.start}-{p.end}" for p in parts)
            + ")",
            change_code=code,
            rule="noc.outside_layout",
        )
    return values


def _routing_ok(value: str) -> bool:
    if not re.fullmatch(r"[0-9]{9}", value):
        return False
    weights = (3, 7, 1) * 3
    return sum(int(d) * w for d, w in zip(value, weights, strict=True)) % 10 == 0


def _check(code: str, part: CorrectedPart, value: str) -> str:
    def fail(what: str, rule: str) -> CorrectionError:
        return CorrectionError(what, change_code=code, rule=rule, part=part.name)

    if not value:
        raise fail(f"{part.name} (positions {part.start}-{part.end}) is blank", "noc.blank")
    if not _PRINTABLE_RE.match(value):
        raise fail(f"{part.name} has non-printable characters", "noc.not_printable")
    if part.kind == "routing":
        if not re.fullmatch(r"[0-9]{9}", value):
            raise fail("routing number must be 9 digits", "noc.routing_format")
        if not _routing_ok(value):
            raise fail("routing number fails the ABA check digit", "noc.routing_check_digit")
    elif part.kind == "account":
        if not _ACCOUNT_RE.match(value):
            raise fail(
                "account number must be 1-17 letters, digits or '-' without blanks",
                "noc.account_format",
            )
    elif part.kind == "transaction_code":
        if value not in _FORWARD_CODES:
            raise fail(
                f"transaction code {value!r} is not a forward entry code", "noc.transaction_code"
            )
    elif part.kind == "sec_code" and value != "IAT":
        raise fail(f"C14 corrected SEC code must be IAT, got {value!r}", "noc.sec_code")
    return value


def parse_correction(
    change_code: str,
    corrected_data: str | None,
    *,
    original_change_code: str | None = None,
) -> Correction:
    """Parse the corrected data of ``change_code`` (C01-C14, or refused C61-C69).

    ``corrected_data`` is the 29-character field (positions 36-64; trailing blanks may be
    cut). For a refused NOC, ``original_change_code`` is positions 65-67 of its addenda
    when known; the corrected data is then checked against the original code's layout.
    Raises :class:`CorrectionError` for an unknown code or malformed data.
    """
    code = (change_code or "").strip().upper()
    text = corrected_data or ""
    if code not in REFUSED_CODES and code not in CORRECTED_LAYOUTS:
        raise CorrectionError(
            "unknown change code (expected C01-C14 or refused C61-C69)",
            change_code=code or "(blank)",
            rule="noc.unknown_code",
        )
    if len(text) > 29 and text[29:].strip():
        raise CorrectionError(
            f"corrected data runs past the 29-character field ({len(text.rstrip())} characters)",
            change_code=code,
            rule="noc.too_long",
        )
    if code in REFUSED_CODES:
        original = (original_change_code or "").strip().upper() or None
        if original is not None and original not in CORRECTED_LAYOUTS:
            raise CorrectionError(
                f"refused NOC names unknown original change code {original!r}",
                change_code=code,
                rule="noc.refused_original_code",
            )
        return Correction(change_code=code, refused=True, original_change_code=original)
    parts = CORRECTED_LAYOUTS[code]
    if not parts:
        return Correction(change_code=code)
    values = _cut(code, parts, text[:29])
    checked = {p.name: _check(code, p, values[p.name]) for p in parts}
    return Correction(change_code=code, **checked)
