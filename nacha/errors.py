"""Errors of the whole project start here, at the bottom of the import graph.

Tree::

    AchpipeError                 root of every error achpipe raises on purpose
    └── NachaError               the NACHA format (this package)
        ├── NachaReadError       a file cannot be read at all (not ASCII-decodable,
        │                        empty, over the size bound); carries line/record/field/rule
        └── NachaWriteError      a value does not fit its field (never truncated)

Issues found while validating a readable file are *data* (rows of the issues frame),
not exceptions: someone fixing a rejected file wants every problem in one pass.

``exit_code`` follows the one table in design.md (0 ok, 1 error, 2 usage/config,
3 reconciliation breaks, 4 return-rate limit, 75 locked/retry later, 99 not a banking day);
the CLI turns it into the process exit status.
"""

from __future__ import annotations


class AchpipeError(Exception):
    """Root of every error achpipe raises on purpose; carries the process exit code."""

    exit_code: int = 1


class NachaError(AchpipeError):
    """Something about NACHA content."""


class NachaReadError(NachaError):
    """The input cannot be read as a NACHA file at all.

    Attributes name where: ``line`` (1-based, or None), ``record_type``, ``field`` and
    ``rule`` (a stable rule code such as ``file.empty``).
    """

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        record_type: str | None = None,
        field: str | None = None,
        rule: str = "file.unreadable",
    ) -> None:
        self.line = line
        self.record_type = record_type
        self.field = field
        self.rule = rule
        where = f"line {line}: " if line is not None else ""
        super().__init__(f"{where}{message} [{rule}]")


class NachaWriteError(NachaError):
    """A value cannot be written into its field (too long, wrong kind): never truncated."""

    def __init__(
        self, message: str, *, field: str | None = None, rule: str = "write.value"
    ) -> None:
        self.field = field
        self.rule = rule
        super().__init__(message)
