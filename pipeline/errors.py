"""Errors with side effects in their story: config, transport, ledger, API, the run.

Every class derives from :class:`nacha.errors.AchpipeError` and carries ``exit_code`` from
the single table below, which the CLI converts into the process status. Commands never call
``sys.exit`` themselves.

Tree::

    AchpipeError (nacha.errors)          exit 1
    ├── ConfigError                      exit 2   bad achpipe.toml, missing secret, bad flag combo
    ├── ExternalError                             the outside world failed
    │   ├── TransientError               exit 75  may be retried later (timeouts, resets, 5xx)
    │   └── PermanentError               exit 1   retrying will not help (auth, permission)
    ├── LockedError                      exit 75  another run holds the lock
    ├── BreaksFound                      exit 3   reconciliation breaks above threshold
    ├── RateLimitCrossed                 exit 4   a return-rate limit is crossed
    └── NotABankingDay                   exit 99  nothing to do today
"""

from __future__ import annotations

from nacha.errors import AchpipeError

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_BREAKS = 3
EXIT_RATE_LIMIT = 4
EXIT_LOCKED = 75
EXIT_NOT_BANKING_DAY = 99

EXIT_CODES: dict[int, str] = {
    EXIT_OK: "ok",
    EXIT_ERROR: "error (invalid input, failed step, permanent external failure)",
    EXIT_USAGE: "usage or configuration error",
    EXIT_BREAKS: "reconciliation breaks above threshold",
    EXIT_RATE_LIMIT: "a return-rate limit is crossed",
    EXIT_LOCKED: "another run holds the lock, or a transient failure: retry later",
    EXIT_NOT_BANKING_DAY: "not a banking day: nothing to do",
}


class ConfigError(AchpipeError):
    """The configuration or the command line is wrong; fix it before retrying."""

    exit_code = EXIT_USAGE


class ExternalError(AchpipeError):
    """An external system (SFTP, API, database, gpg) failed."""


class TransientError(ExternalError):
    """A failure that may go away by itself: retry with backoff, or rerun later."""

    exit_code = EXIT_LOCKED


class PermanentError(ExternalError):
    """A failure that retrying will not fix (authentication, permission, missing path)."""

    exit_code = EXIT_ERROR


class LockedError(AchpipeError):
    """Another runner holds the advisory lock for this job."""

    exit_code = EXIT_LOCKED


class BreaksFound(AchpipeError):
    """Reconciliation found breaks above the configured threshold."""

    exit_code = EXIT_BREAKS


class RateLimitCrossed(AchpipeError):
    """At least one return-rate limit is crossed."""

    exit_code = EXIT_RATE_LIMIT


class NotABankingDay(AchpipeError):
    """The business date is not a banking day; nothing to do unless forced."""

    exit_code = EXIT_NOT_BANKING_DAY
