"""A controllable clock: the sandbox's "now", which tests and demos move by hand.

Frozen by default in tests (time stands still until someone advances it) and flowing in the
demo (real time passes on top of the last jump). Thread-safe.
"""

from __future__ import annotations

import functools
import threading
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from zoneinfo import ZoneInfo

CENTRAL = ZoneInfo("America/Chicago")
"""connectFi's "CST": U.S. Central time with DST (spec §1)."""


class SandboxClock:
    """``now()`` in UTC; ``set``/``advance`` jump it (never backwards)."""

    def __init__(self, start: datetime | None = None, *, frozen: bool = True) -> None:
        start = start or datetime.now(UTC)
        if start.tzinfo is None:
            raise ValueError("the sandbox clock needs a timezone-aware start")
        self._base = start.astimezone(UTC)
        self._frozen = frozen
        self._mono = time.monotonic()
        self._lock = threading.Lock()

    @property
    def frozen(self) -> bool:
        return self._frozen

    def now(self) -> datetime:
        with self._lock:
            if self._frozen:
                return self._base
            return self._base + timedelta(seconds=time.monotonic() - self._mono)

    def set(self, when: datetime) -> datetime:
        """Jump to ``when`` (timezone-aware, not in the past)."""
        if when.tzinfo is None:
            raise ValueError("clock times must be timezone-aware")
        current = self.now()
        target = when.astimezone(UTC)
        if target < current:
            raise ValueError(f"the clock never goes backwards ({target} < {current})")
        with self._lock:
            self._base = target
            self._mono = time.monotonic()
        return target

    def reset(self, when: datetime) -> datetime:
        """Jump anywhere, backwards included: only for a sandbox with no history yet."""
        if when.tzinfo is None:
            raise ValueError("clock times must be timezone-aware")
        with self._lock:
            self._base = when.astimezone(UTC)
            self._mono = time.monotonic()
        return self._base

    def advance(self, delta: timedelta) -> datetime:
        return self.set(self.now() + delta)


def iso_ms(when: datetime | None) -> str | None:
    """``2026-03-05T13:26:59.312Z``: connectFi's timestamp format.

    Memoised: a file's entries share their pickup and event instants, so a listing of a
    million transfers formats a few thousand distinct instants, not three million (equal
    instants give equal text, whatever their zone)."""
    if when is None:
        return None
    return _iso_ms(when)


@functools.lru_cache(maxsize=65536)
def _iso_ms(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def central(day: date, hour: int, minute: int) -> datetime:
    """A Central-time wall-clock instant on ``day``, in UTC."""
    return datetime.combine(day, dtime(hour, minute), tzinfo=CENTRAL).astimezone(UTC)


def central_date(when: datetime) -> date:
    """The Central-time calendar date of an instant (the sandbox's business day)."""
    return when.astimezone(CENTRAL).date()
