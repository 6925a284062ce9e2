"""Sandbox plumbing that is not business: issued tokens and injected faults."""

from __future__ import annotations

import secrets
import threading
import time
from datetime import UTC, datetime, timedelta

from sandbox.clock import iso_ms
from sandbox.errors import ApiFailure


class TokenStore:
    """Issued tokens; they expire in real time (auth is not part of the simulated business
    day, so a test that jumps the clock a week does not log every client out)."""

    def __init__(self, lifetime: float) -> None:
        self.lifetime = lifetime
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()
        self.issued = 0

    def issue(self, login: str) -> tuple[str, str, str]:
        token = secrets.token_urlsafe(48)
        confined = secrets.token_urlsafe(48)
        expires = time.monotonic() + self.lifetime
        with self._lock:
            self._tokens[token] = (login, expires)
            self.issued += 1
        expire_at = datetime.now(UTC) + timedelta(seconds=self.lifetime)
        return token, confined, iso_ms(expire_at) or ""

    def login_for(self, token: str | None) -> str:
        with self._lock:
            entry = self._tokens.get(token or "")
            if entry is None or entry[1] <= time.monotonic():
                self._tokens.pop(token or "", None)
                raise ApiFailure("unauthorized", "Authentication error", http_status=401)
            return entry[0]

    def revoke_all(self) -> int:
        with self._lock:
            n = len(self._tokens)
            self._tokens.clear()
            return n


class Faults:
    """Injected failures, consumed one per request to ``path``.

    Each is ``(status, retry_after, after)``: with ``after`` the request is handled first
    and only its answer is replaced (a lost response: the server did the work).
    """

    def __init__(self) -> None:
        self._queue: dict[str, list[tuple[int, float | None, bool]]] = {}
        self._lock = threading.Lock()

    def add(
        self, path: str, status: int, count: int, retry_after: float | None, *, after: bool
    ) -> None:
        with self._lock:
            self._queue.setdefault(path, []).extend([(status, retry_after, after)] * count)

    def take(self, path: str) -> tuple[int, float | None, bool] | None:
        with self._lock:
            queue = self._queue.get(path)
            return queue.pop(0) if queue else None

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
