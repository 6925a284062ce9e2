"""Errors of the Postgres ledger, and the one boundary where psycopg errors become ours.

Tree::

    PermanentError (pipeline.errors)            exit 1
    └── StoreError                              the ledger refused or failed an operation
        ├── MigrationError                      a migration cannot be applied / is unknown
        │   └── MigrationChecksumError          an applied migration file was edited
        ├── StoreIntegrityError                 a constraint refused the data
        │   └── DuplicateError                  a unique key refused a duplicate
        ├── InvalidStateTransition              e.g. an outbound file "built" → "verified"
        ├── FileIdModifiersExhausted            the 37th file of a day for one origin/destination
        └── EmbeddedPostgresError               the embedded server cannot start here
    TransientError (pipeline.errors)            exit 75
    └── DatabaseUnavailable                     connection failed/lost, serialization failure,
                                                deadlock, statement timeout: retry later

Every psycopg call of this package runs inside :func:`translate_errors`, so callers only ever
see these classes (with the psycopg error chained as ``__cause__``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from pipeline.errors import PermanentError, TransientError


class StoreError(PermanentError):
    """The ledger refused or failed an operation; retrying the same call will not help."""

    def __init__(self, message: str, *, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


class MigrationError(StoreError):
    """A migration cannot be applied, or the database has migrations this code lacks."""


class MigrationChecksumError(MigrationError):
    """An already-applied migration file changed on disk (never edit applied migrations)."""

    def __init__(self, version: int, name: str, *, recorded: str, actual: str) -> None:
        super().__init__(
            f"migration {version:04d}_{name} was applied with checksum {recorded[:12]}… but the "
            f"file now has {actual[:12]}…; applied migrations must never change — add a new one"
        )
        self.version = version
        self.recorded = recorded
        self.actual = actual


class StoreIntegrityError(StoreError):
    """A constraint of the schema refused the data."""

    def __init__(
        self, message: str, *, sqlstate: str | None = None, constraint: str | None = None
    ) -> None:
        super().__init__(message, sqlstate=sqlstate)
        self.constraint = constraint


class DuplicateError(StoreIntegrityError):
    """A unique key refused a duplicate (same trace+date, same sha256, same modifier …)."""


class InvalidStateTransition(StoreError):
    """A state change that the state machine does not allow."""

    def __init__(self, what: str, *, current: str, requested: str) -> None:
        super().__init__(f"{what}: cannot go from {current!r} to {requested!r}")
        self.current = current
        self.requested = requested


class FileIdModifiersExhausted(StoreError):
    """All 36 FileIDModifiers (A-Z, 0-9) are used for this origin, destination and date."""


class EmbeddedPostgresError(StoreError):
    """The embedded Postgres cannot be set up or started here (the message says why)."""


class DatabaseUnavailable(TransientError):
    """The database is unreachable or asked us to retry (exit 75: rerun later)."""

    def __init__(self, message: str, *, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def _describe(exc: psycopg.Error) -> str:
    diag = getattr(exc, "diag", None)
    primary = diag.message_primary if diag is not None else None
    lines = str(exc).strip().splitlines()
    text = primary or (lines[0] if lines else type(exc).__name__)
    detail = diag.message_detail if diag is not None else None
    return f"{text} ({detail})" if detail else text


# A day partition of entries (sql/0070) names its copy of a parent constraint
# "<parent constraint>_<YYYYMMDD | legacy | default>", a part of a day loaded in parts
# (entries_sides.py) "<parent constraint>_YYYYMMDD_<n>", or while it is being loaded
# "<parent constraint>_YYYYMMDD_<token>_<n>", such a day's default part
# "<parent constraint>_YYYYMMDD_default"; errors name the parent's constraint.
_PARTITION_CONSTRAINT = re.compile(
    r"(entries_\w+?)_(?:\d{8}(?:_default|(?:_[0-9a-f]+)?(?:_\d+)?)|legacy|default)"
)


def _constraint(exc: psycopg.Error) -> str | None:
    diag = getattr(exc, "diag", None)
    name = diag.constraint_name if diag is not None else None
    if name is not None and (found := _PARTITION_CONSTRAINT.fullmatch(name)):
        return found.group(1)
    return name


def map_psycopg_error(exc: psycopg.Error, action: str) -> Exception:
    """The achpipe error for a psycopg error (the mapping table lives here, tested as a whole)."""
    sqlstate = getattr(exc, "sqlstate", None)
    message = f"{action}: {_describe(exc)}"
    if isinstance(exc, psycopg.errors.UniqueViolation):
        return DuplicateError(message, sqlstate=sqlstate, constraint=_constraint(exc))
    if isinstance(exc, psycopg.IntegrityError):
        return StoreIntegrityError(message, sqlstate=sqlstate, constraint=_constraint(exc))
    if isinstance(exc, psycopg.OperationalError):
        return DatabaseUnavailable(message, sqlstate=sqlstate)
    # InterfaceError, ProgrammingError, DataError, InternalError, NotSupportedError, Warning …
    return StoreError(message, sqlstate=sqlstate)


@contextmanager
def translate_errors(action: str) -> Iterator[None]:
    """Run a block of psycopg calls; re-raise any psycopg error as an achpipe store error."""
    try:
        yield
    except psycopg.Error as exc:
        raise map_psycopg_error(exc, action) from exc
