"""``achpipe doctor``: is this machine ready for tonight's run? Say exactly what is wrong.

Each check is a function of the configuration that returns findings (ok or not, a message,
and a hint saying what to do). Checks never raise: an exception becomes a failed finding
with its message, so one broken component does not hide the others. Nothing a check does
has lasting effects (the SFTP write probe removes its file; the PGP check seals to memory).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from nacha.errors import AchpipeError
from pipeline.config import AppConfig


@dataclass(frozen=True)
class Finding:
    check: str
    ok: bool
    message: str
    hint: str | None = None
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "ok": self.ok,
            "message": self.message,
            "hint": self.hint,
            "seconds": round(self.seconds, 3),
        }


CheckFn = Callable[[AppConfig], Iterable[Finding]]


def _checks() -> dict[str, CheckFn]:
    # Imported lazily: each check pulls in its own heavy dependency only when it runs.
    from pipeline import doctor_checks

    return dict(doctor_checks.CHECKS)


def check_names() -> tuple[str, ...]:
    return tuple(_checks())


def run_doctor(config: AppConfig, *, only: Iterable[str] | None = None) -> list[Finding]:
    """Run every check (or ``only`` those named) and return all findings in order."""
    checks = _checks()
    wanted = list(only) if only else list(checks)
    findings: list[Finding] = []
    for name in wanted:
        started = time.perf_counter()
        try:
            produced = list(checks[name](config))
        except AchpipeError as exc:
            produced = [Finding(name, False, str(exc))]
        except Exception as exc:  # a check must never take the others down with it
            produced = [Finding(name, False, f"{type(exc).__name__}: {exc}")]
        elapsed = time.perf_counter() - started
        findings.extend(
            Finding(f.check, f.ok, f.message, f.hint, f.seconds or elapsed) for f in produced
        )
    return findings
