"""``[api]`` settings: where connectFi is, who we are, and how patient to be.

Example::

    [api]
    base_url = "https://sandbox.connectfi.example"
    client_id = "ACHPIPE"
    client_secret = "env:CONNECTFI_PASSWORD"
    timeouts = { connect = 5, read = 30, write = 30, pool = 5 }   # or: timeout = 10
    max_attempts = 4            # 1 = no retries
    backoff_initial = 0.5       # seconds, doubled per attempt, full jitter
    backoff_max = 8.0
    token_refresh_margin = 60   # renew the token this many seconds before it expires
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Self
from urllib.parse import urlsplit

from pipeline.errors import ConfigError
from pipeline.secrets import Secret, resolve_secret

_TIMEOUT_KEYS = ("connect", "read", "write", "pool")
_KNOWN = {
    "base_url",
    "client_id",
    "client_secret",
    "timeout",
    "timeouts",
    "max_attempts",
    "backoff_initial",
    "backoff_max",
    "token_refresh_margin",
    "verify_tls",
    "page_size",
}


@dataclass(frozen=True)
class Timeouts:
    """Per-phase HTTP timeouts in seconds; every network call has one (no infinite waits)."""

    connect: float = 5.0
    read: float = 30.0
    write: float = 30.0
    pool: float = 5.0


@dataclass(frozen=True)
class ApiSettings:
    """Validated ``[api]`` section; build it with :meth:`from_mapping`."""

    base_url: str
    client_id: str
    client_secret: Secret = field(repr=False)
    timeouts: Timeouts = Timeouts()
    max_attempts: int = 4
    backoff_initial: float = 0.5
    backoff_max: float = 8.0
    token_refresh_margin: float = 60.0
    verify_tls: bool | str = True
    page_size: int = 1000

    @classmethod
    def from_mapping(cls, section: Mapping[str, object]) -> Self:
        """Validate the ``[api]`` table; every problem is a ConfigError naming ``api.<key>``."""
        unknown = sorted(set(section) - _KNOWN)
        if unknown:
            raise ConfigError(f"api.{unknown[0]}: unknown setting")
        base_url = _str(section, "base_url").rstrip("/")
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"api.base_url: not an http(s) URL: {base_url!r}")
        client_id = _str(section, "client_id")
        if not client_id.replace("_", "").isalnum() or len(client_id) > 36:
            raise ConfigError("api.client_id: must match ^[0-9a-zA-Z_]+$, 1-36 characters")
        secret = resolve_secret(_str(section, "client_secret"), setting="api.client_secret")
        if not 1 <= len(secret.reveal()) <= 50:
            raise ConfigError("api.client_secret: must be 1-50 characters")
        timeouts = _timeouts(section)
        max_attempts = _int(section, "max_attempts", 4, low=1, high=10)
        backoff_initial = _float(section, "backoff_initial", 0.5, low=0.0, high=60.0)
        backoff_max = _float(section, "backoff_max", 8.0, low=0.0, high=300.0)
        if backoff_max < backoff_initial:
            raise ConfigError("api.backoff_max: must be >= api.backoff_initial")
        margin = _float(section, "token_refresh_margin", 60.0, low=0.0, high=3600.0)
        verify = section.get("verify_tls", True)
        if not isinstance(verify, bool | str):
            raise ConfigError("api.verify_tls: must be true, false or a CA bundle path")
        page_size = _int(section, "page_size", 1000, low=1, high=1000)
        return cls(
            base_url=base_url,
            client_id=client_id,
            client_secret=secret,
            timeouts=timeouts,
            max_attempts=max_attempts,
            backoff_initial=backoff_initial,
            backoff_max=backoff_max,
            token_refresh_margin=margin,
            verify_tls=verify,
            page_size=page_size,
        )


def _str(section: Mapping[str, object], key: str) -> str:
    value = section.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"api.{key}: required (a non-empty string)")
    return value.strip()


def _number(section: Mapping[str, object], key: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"api.{key}: must be a number")
    return float(value)


def _float(
    section: Mapping[str, object], key: str, default: float, *, low: float, high: float
) -> float:
    value = _number(section, key, section.get(key, default))
    if not low <= value <= high:
        raise ConfigError(f"api.{key}: must be between {low:g} and {high:g}")
    return value


def _int(section: Mapping[str, object], key: str, default: int, *, low: int, high: int) -> int:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"api.{key}: must be an integer")
    if not low <= value <= high:
        raise ConfigError(f"api.{key}: must be between {low} and {high}")
    return value


def _timeouts(section: Mapping[str, object]) -> Timeouts:
    values = dict(Timeouts().__dict__)
    if "timeout" in section:
        every = _number(section, "timeout", section["timeout"])
        values = dict.fromkeys(_TIMEOUT_KEYS, every)
    raw = section.get("timeouts")
    if raw is not None:
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            values = dict.fromkeys(_TIMEOUT_KEYS, float(raw))
        elif isinstance(raw, Mapping):
            for key, value in raw.items():
                if key not in _TIMEOUT_KEYS:
                    known = ", ".join(_TIMEOUT_KEYS)
                    raise ConfigError(f"api.timeouts.{key}: unknown (use {known})")
                values[key] = _number(section, f"timeouts.{key}", value)
        else:
            raise ConfigError("api.timeouts: must be a number or a table")
    for key, value in values.items():
        if not 0 < value <= 600:
            raise ConfigError(f"api.timeouts.{key}: must be > 0 and <= 600 seconds")
    return Timeouts(**values)
