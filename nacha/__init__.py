"""The NACHA file format: layouts, reader, writer, validator, code tables. Pure; no I/O
beyond reading the path you give :func:`read`.
"""

from nacha.build import BuildResult, BuiltFile, build_files
from nacha.build_input import BuildInputError
from nacha.build_ops import Reversal, merge_files, reverse_file, segment_file
from nacha.build_settings import (
    BuildSettings,
    Company,
    Limits,
    Odfi,
    Originator,
    SettlementAccount,
    file_id_modifiers,
)
from nacha.calendar import BankingCalendar, OdfiProfile
from nacha.checks import (
    entry_hash,
    is_valid_routing,
    routing_check_digit,
    split_trace_number,
    trace_number,
)
from nacha.errors import AchpipeError, NachaError, NachaReadError, NachaWriteError
from nacha.issues import Issue, to_issues
from nacha.model import Batch, Entry, NachaFile
from nacha.options import ValidateOptions
from nacha.reader import read
from nacha.rules import RULES, Rule
from nacha.validator import is_valid, validate
from nacha.writer import assemble, write

__all__ = [
    "RULES",
    "AchpipeError",
    "BankingCalendar",
    "Batch",
    "BuildInputError",
    "BuildResult",
    "BuildSettings",
    "BuiltFile",
    "Company",
    "Entry",
    "Issue",
    "Limits",
    "NachaError",
    "NachaFile",
    "NachaReadError",
    "NachaWriteError",
    "Odfi",
    "OdfiProfile",
    "Originator",
    "Reversal",
    "Rule",
    "SettlementAccount",
    "ValidateOptions",
    "assemble",
    "build_files",
    "entry_hash",
    "file_id_modifiers",
    "is_valid",
    "is_valid_routing",
    "merge_files",
    "read",
    "reverse_file",
    "routing_check_digit",
    "segment_file",
    "split_trace_number",
    "to_issues",
    "trace_number",
    "validate",
    "write",
]
