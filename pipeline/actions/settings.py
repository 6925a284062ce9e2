"""The ``[actions]`` section of ``achpipe.toml``: how payees are keyed, how NOCs are applied,
which return leads to which action, and when retries are scheduled.

Example::

    [actions]
    payee_key = "identification_number"   # or "reference_prefix" (+ reference_prefix_length)
    noc_mode = "maker_checker"            # or "auto"
    noc_warn_banking_days = 2             # warn when this few banking days are left
    retry_schedule = "next_banking_day"   # or "weekday:fri", or "monthdays:1,15"
    retry_delay_banking_days = 1          # earliest retry after the return was received

    [actions.return_actions]              # overrides for every originator
    R06 = "stop_payment"

    [actions.originators.1234567890.return_actions]
    R01 = "review"                        # this originator never retries NSF debits
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Self

from pipeline.actions.rules import (
    DEFAULT_RETURN_ACTIONS,
    FALLBACK_ACTION,
    RETURN_ACTIONS,
    ReturnAction,
)
from pipeline.errors import ConfigError

__all__ = ["ActionsSettings", "RetrySchedule"]

PayeeKey = Literal["identification_number", "reference_prefix"]
NocMode = Literal["auto", "maker_checker"]
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
_CODE = re.compile(r"^R[0-9]{2}$")
_KEYS = {
    "payee_key",
    "reference_prefix_length",
    "noc_mode",
    "noc_warn_banking_days",
    "retry_schedule",
    "retry_delay_banking_days",
    "return_actions",
    "originators",
}


@dataclass(frozen=True)
class RetrySchedule:
    """When a retry may be planned: ``next_banking_day``, ``weekday`` (0=Mon … 4=Fri) or
    ``monthdays`` (days of the month, rolled to the next banking day)."""

    kind: Literal["next_banking_day", "weekday", "monthdays"] = "next_banking_day"
    weekday: int | None = None
    monthdays: tuple[int, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Self:
        value = text.strip().lower()
        if value == "next_banking_day":
            return cls()
        if value.startswith("weekday:") and value[8:] in _WEEKDAYS:
            return cls(kind="weekday", weekday=_WEEKDAYS.index(value[8:]))
        if value.startswith("monthdays:"):
            try:
                days = tuple(sorted({int(x) for x in value[10:].split(",") if x.strip()}))
            except ValueError:
                days = ()
            if days and all(1 <= d <= 31 for d in days):
                return cls(kind="monthdays", monthdays=days)
        raise ConfigError(
            f"actions.retry_schedule: {text!r} is not next_banking_day, weekday:<mon..fri> "
            "or monthdays:<d,d,...>"
        )


def _actions(table: object, where: str) -> dict[str, ReturnAction]:
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where} must be a table of R-code = action")
    out: dict[str, ReturnAction] = {}
    for code, action in table.items():
        if not isinstance(code, str) or not _CODE.match(code):
            raise ConfigError(f"{where}: {code!r} is not a return code (R01-R99)")
        if action not in RETURN_ACTIONS:
            raise ConfigError(
                f"{where}.{code}: {action!r} is not one of {', '.join(RETURN_ACTIONS)}"
            )
        out[code] = action  # type: ignore[assignment]
    return out


def _int(section: Mapping[str, object], key: str, default: int, low: int, high: int) -> int:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"actions.{key} must be an integer in [{low}, {high}]: {value!r}")
    return value


@dataclass(frozen=True)
class ActionsSettings:
    """Validated ``[actions]`` settings; defaults are the Nacha-minded choices."""

    payee_key: PayeeKey = "identification_number"
    reference_prefix_length: int | None = None
    noc_mode: NocMode = "auto"
    noc_warn_banking_days: int = 2
    retry_schedule: RetrySchedule = field(default_factory=RetrySchedule)
    retry_delay_banking_days: int = 1
    return_actions: Mapping[str, ReturnAction] = field(default_factory=dict)
    originator_actions: Mapping[str, Mapping[str, ReturnAction]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.payee_key == "reference_prefix" and not self.reference_prefix_length:
            raise ConfigError("actions.reference_prefix_length is required with reference_prefix")

    @classmethod
    def from_mapping(cls, section: Mapping[str, object]) -> Self:
        unknown = sorted(set(section) - _KEYS)
        if unknown:
            raise ConfigError(f"[actions] unknown key(s): {', '.join(unknown)}")
        payee_key = section.get("payee_key", "identification_number")
        if payee_key not in ("identification_number", "reference_prefix"):
            raise ConfigError("actions.payee_key must be identification_number or reference_prefix")
        prefix = section.get("reference_prefix_length")
        if prefix is not None:
            prefix = _int(section, "reference_prefix_length", 0, 1, 32)
        mode = section.get("noc_mode", "auto")
        if mode not in ("auto", "maker_checker"):
            raise ConfigError("actions.noc_mode must be auto or maker_checker")
        schedule = section.get("retry_schedule", "next_banking_day")
        if not isinstance(schedule, str):
            raise ConfigError("actions.retry_schedule must be a string")
        originators: dict[str, dict[str, ReturnAction]] = {}
        raw_orig = section.get("originators", {})
        if not isinstance(raw_orig, Mapping):
            raise ConfigError("[actions.originators] must be a table keyed by company id")
        for company, sub in raw_orig.items():
            where = f"actions.originators.{company}"
            if not isinstance(sub, Mapping) or set(sub) - {"return_actions"}:
                raise ConfigError(f"{where}: only return_actions may be set")
            originators[str(company)] = _actions(sub.get("return_actions", {}), where)
        return cls(
            payee_key=payee_key,  # type: ignore[arg-type]
            reference_prefix_length=prefix,
            noc_mode=mode,  # type: ignore[arg-type]
            noc_warn_banking_days=_int(section, "noc_warn_banking_days", 2, 0, 6),
            retry_schedule=RetrySchedule.parse(schedule),
            retry_delay_banking_days=_int(section, "retry_delay_banking_days", 1, 0, 30),
            return_actions=_actions(section.get("return_actions", {}), "actions.return_actions"),
            originator_actions=originators,
        )

    def action_for(self, return_code: str, company_id: str | None) -> ReturnAction:
        """The action for a return: originator override, then global override, then the
        default table, then ``review``."""
        per = self.originator_actions.get((company_id or "").strip(), {})
        return (
            per.get(return_code)
            or self.return_actions.get(return_code)
            or DEFAULT_RETURN_ACTIONS.get(return_code)
            or FALLBACK_ACTION
        )

    def action_table(self, company_id: str | None = None) -> dict[str, ReturnAction]:
        """The effective R-code → action table for one originator (for reports and docs)."""
        table = {**DEFAULT_RETURN_ACTIONS, **self.return_actions}
        table.update(self.originator_actions.get((company_id or "").strip(), {}))
        return dict(sorted(table.items()))
