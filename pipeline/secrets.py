"""Secret references: ``env:NAME``, ``file:/path`` or a literal, resolved late and never shown.

Config values that hold passwords, passphrases, tokens or keys may be written as a reference
so the TOML file itself holds no secret. :class:`Secret` keeps the resolved value out of
``repr``/``str`` so that it cannot end up in a log line or a traceback by accident.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import ConfigError

REDACTED = "***"


@dataclass(frozen=True)
class Secret:
    """A resolved secret; ``str()`` and ``repr()`` never reveal it, ``reveal()`` does."""

    _value: str = field(repr=False)
    source: str = "literal"

    def reveal(self) -> str:
        """The clear value, for the one call that needs it (a connect, a decrypt)."""
        return self._value

    def __str__(self) -> str:
        return REDACTED

    def __repr__(self) -> str:
        return f"Secret(source={self.source!r})"

    def __bool__(self) -> bool:
        return bool(self._value)


def describe_reference(ref: str) -> str:
    """What a reference points at, safe to print (``env:NAME`` / ``file:/path`` / ``***``)."""
    if ref.startswith(("env:", "file:")):
        return ref
    return REDACTED


def resolve_secret(ref: str, *, setting: str = "secret") -> Secret:
    """Resolve ``env:NAME``, ``file:/path`` or a literal into a :class:`Secret`.

    A missing variable or unreadable file is a :class:`ConfigError` naming the setting and the
    reference (never the value). File contents lose one trailing newline, as `echo` adds one.
    """
    if ref.startswith("env:"):
        name = ref[4:]
        if name not in os.environ:
            raise ConfigError(f"{setting}: environment variable {name} is not set")
        return Secret(os.environ[name], source=ref)
    if ref.startswith("file:"):
        path = Path(ref[5:]).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{setting}: cannot read {path}: {exc.strerror}") from exc
        return Secret(text.removesuffix("\n"), source=ref)
    return Secret(ref, source="literal")
