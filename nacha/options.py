"""Named relaxations, modelled on moov-io/ach ``ValidateOpts`` (same JSON names), plus the
lenient-reader options moov applies silently. Each option names the rules it relaxes; a
relaxed rule's findings are reported as warnings, not dropped, so what was accepted stays
auditable.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Self


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower().replace("a_b_a", "aba")


@dataclass(frozen=True, kw_only=True)
class ValidateOptions:
    """Relaxations; all off by default (strict). JSON names follow moov-io/ach.

    moov-io/ach ``ValidateOpts``:

    - ``skipAll``: report every finding as a warning.
    - ``requireABAOrigin``: *tighten* — the file header's immediate origin must be a routing number.
    - ``bypassOriginValidation``: skip immediate origin and trace-prefix (ODFI) checks.
    - ``bypassDestinationValidation``: skip the immediate destination routing check.
    - ``customTraceNumbers``: skip trace order, trace prefix and addenda indicator checks.
    - ``allowZeroBatches``: a file with no batches is fine.
    - ``allowMissingFileHeader`` / ``allowMissingFileControl``: accept partial files (a
      missing file control also excuses missing batch controls and skips file totals).
    - ``bypassCompanyIdentificationMatch``: batch header and control company IDs may differ.
    - ``customReturnCodes``: accept return reason codes outside the Nacha table.
    - ``unequalServiceClassCode``: header and control service class codes may differ.
    - ``allowUnorderedBatchNumbers``: batch numbers need not ascend.
    - ``allowInvalidCheckDigit``: RDFI check digit may be wrong.
    - ``unequalAddendaCounts``: addenda counts (CTX/IAT count fields, SEC limits) may differ.
    - ``preserveSpaces``: accepted for compatibility (the reader always keeps leading blanks).
    - ``allowInvalidAmounts``: prenote / zero-dollar entries may carry an amount.
    - ``allowZeroEntryAmount``: live entries may be zero.
    - ``allowSpecialCharacters``: non-ASCII characters in alphanumeric fields.
    - ``allowEmptyIndividualName``: blank receiver names where the SEC requires one.
    - ``bypassBatchValidation``: skip batch-level checks (file header/control still checked).
    - ``skipFileCreationValidation``: skip file creation date/time checks.
    - ``skipBatchHeaderCompanyValidation``: skip company name/ID/description checks.

    Lenient reader (what moov's reader does silently):

    - ``lenientLineLength``: short records (right-padded) and over-long records whose extra
      characters are blanks.
    - ``allowBlankLines``: blank lines between records.
    - ``allowUnpaddedFile``: record count not a multiple of 10 (no 9-filled padding).
    - ``allowBlockCountMismatch``: file control block count differs from the records.
    """

    skip_all: bool = False
    require_aba_origin: bool = False
    bypass_origin_validation: bool = False
    bypass_destination_validation: bool = False
    custom_trace_numbers: bool = False
    allow_zero_batches: bool = False
    allow_missing_file_header: bool = False
    allow_missing_file_control: bool = False
    bypass_company_identification_match: bool = False
    custom_return_codes: bool = False
    unequal_service_class_code: bool = False
    allow_unordered_batch_numbers: bool = False
    allow_invalid_check_digit: bool = False
    unequal_addenda_counts: bool = False
    preserve_spaces: bool = False
    allow_invalid_amounts: bool = False
    allow_zero_entry_amount: bool = False
    allow_special_characters: bool = False
    allow_empty_individual_name: bool = False
    bypass_batch_validation: bool = False
    skip_file_creation_validation: bool = False
    skip_batch_header_company_validation: bool = False
    lenient_line_length: bool = False
    allow_blank_lines: bool = False
    allow_unpadded_file: bool = False
    allow_block_count_mismatch: bool = False

    @classmethod
    def names(cls) -> dict[str, str]:
        """JSON (camelCase) name -> attribute name, for every option."""
        out = {}
        for f in fields(cls):
            parts = f.name.split("_")
            camel = parts[0] + "".join(p.upper() if p == "aba" else p.title() for p in parts[1:])
            out[camel] = f.name
        return out

    @classmethod
    def from_names(cls, names: Iterable[str]) -> Self:
        """Options with the named relaxations on (JSON camelCase or snake_case names).

        >>> ValidateOptions.from_names(["allowInvalidCheckDigit"]).allow_invalid_check_digit
        True
        """
        table = cls.names()
        attrs = set(table.values())
        on: dict[str, bool] = {}
        for name in names:
            attr = table.get(name) or (name if name in attrs else None)
            if attr is None:
                attr = _snake(name) if _snake(name) in attrs else None
            if attr is None:
                raise ValueError(
                    f"unknown validation option {name!r}; known: " + ", ".join(sorted(table))
                )
            on[attr] = True
        return cls(**on)

    @classmethod
    def from_mapping(cls, section: Mapping[str, object]) -> Self:
        """From a config section (``{"allowInvalidCheckDigit": true, ...}``); raises
        ``ValueError`` naming the key when a key is unknown or not a boolean."""
        table = cls.names()
        attrs = set(table.values())
        values: dict[str, bool] = {}
        for key, value in section.items():
            attr = table.get(key) or (key if key in attrs else None)
            if attr is None:
                raise ValueError(f"unknown validation option {key!r}")
            if not isinstance(value, bool):
                raise ValueError(f"validation option {key!r} must be true or false")
            values[attr] = value
        return cls(**values)

    @classmethod
    def lenient(cls) -> Self:
        """What moov-io/ach's reader accepts silently: every lenient-reader option on."""
        return cls(
            lenient_line_length=True,
            allow_blank_lines=True,
            allow_unpadded_file=True,
            allow_block_count_mismatch=True,
        )

    def merge(self, other: ValidateOptions) -> ValidateOptions:
        """Options on in either."""
        return replace(self, **{k: True for k, v in asdict(other).items() if v})

    def enabled(self) -> list[str]:
        """JSON names of the options that are on."""
        return [camel for camel, attr in self.names().items() if getattr(self, attr)]
