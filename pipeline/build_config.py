"""``achpipe.toml`` sections → the builder's settings (``nacha.build_settings``).

Sections read: ``[originator]``, ``[odfi]``, ``[[companies]]``, ``[build]``, ``[calendar]``.
Every bad value becomes a :class:`ConfigError` naming the key (``build.balanced``, …), so a
typo is found at start-up rather than at 2 a.m. halfway through a run. Unknown keys in these
sections are errors too: a misspelt optional setting silently ignored is a money bug.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from nacha.build_settings import (
    IAT_ORIGINATOR_FIELDS,
    BuildSettings,
    Company,
    Limits,
    Odfi,
    Originator,
    SettlementAccount,
)
from nacha.calendar import BankingCalendar, OdfiProfile, parse_time
from pipeline.errors import ConfigError

__all__ = ["BuildConfig", "calendar_from_mapping", "load_build_config"]

_LINE_ENDINGS = {"lf": "\n", "crlf": "\r\n"}


def _section(raw: Mapping[str, Any], name: str, *, required: bool = True) -> Mapping[str, Any]:
    value = raw.get(name)
    if value is None:
        if required:
            raise ConfigError(f"achpipe.toml: missing section [{name}]")
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"achpipe.toml: [{name}] must be a table")
    return value


def _keys(section: Mapping[str, Any], prefix: str, allowed: set[str]) -> None:
    unknown = sorted(set(section) - allowed)
    if unknown:
        raise ConfigError(
            f"{prefix}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})"
        )


def _get(section: Mapping[str, Any], key: str, kind: type, prefix: str, default: Any = ...) -> Any:
    if key not in section:
        if default is ...:
            raise ConfigError(f"{prefix}.{key} is required")
        return default
    value = section[key]
    if kind is int and isinstance(value, bool):
        raise ConfigError(f"{prefix}.{key} must be an integer, got {value!r}")
    if not isinstance(value, kind):
        raise ConfigError(f"{prefix}.{key} must be {kind.__name__}, got {value!r}")
    return value


def _build(prefix: str, factory: Any, **kwargs: Any) -> Any:
    try:
        return factory(**kwargs)
    except ValueError as exc:
        raise ConfigError(f"{prefix}: {exc}") from exc


def _dollars_to_cents(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ConfigError(f'{key} must be dollars as a string like "1000000.00" or an integer')
    text = str(value)
    whole, _, frac = text.partition(".")
    if not whole.isdigit() or len(frac) > 2 or (frac and not frac.isdigit()):
        raise ConfigError(f"{key} must be dollars with at most 2 decimals, got {value!r}")
    return int(whole) * 100 + int(frac.ljust(2, "0") or 0)


def calendar_from_mapping(section: Mapping[str, Any]) -> BankingCalendar:
    """``[calendar]``: ``extra_closures`` / ``extra_openings`` (lists of dates)."""
    _keys(section, "calendar", {"extra_closures", "extra_openings"})
    out: dict[str, frozenset[date]] = {}
    for key in ("extra_closures", "extra_openings"):
        values = section.get(key, [])
        if not isinstance(values, list):
            raise ConfigError(f"calendar.{key} must be a list of dates")
        days = set()
        for v in values:
            if isinstance(v, date):
                days.add(v)
            else:
                try:
                    days.add(date.fromisoformat(str(v)))
                except ValueError:
                    raise ConfigError(f"calendar.{key}: not a YYYY-MM-DD date: {v!r}") from None
        out[key] = frozenset(days)
    return BankingCalendar(**out)


def _odfi(section: Mapping[str, Any], calendar: BankingCalendar) -> Odfi:
    _keys(
        section,
        "odfi",
        {
            "immediate_destination",
            "immediate_destination_name",
            "same_day_cutoff",
            "next_day_cutoff",
            "timezone",
            "same_day_enabled",
            "same_day_limit",
            "queued_same_day",
        },
    )
    tz_name = _get(section, "timezone", str, "odfi", "America/Chicago")
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"odfi.timezone: unknown time zone {tz_name!r}") from None
    times = {}
    for key, default in (("same_day_cutoff", "09:30"), ("next_day_cutoff", "19:30")):
        try:
            times[key] = parse_time(_get(section, key, str, "odfi", default))
        except ValueError as exc:
            raise ConfigError(f"odfi.{key}: {exc}") from None
    limit = _dollars_to_cents(section.get("same_day_limit", "1000000.00"), "odfi.same_day_limit")
    profile = OdfiProfile(
        tz=tz,
        same_day_cutoff=times["same_day_cutoff"],
        next_day_cutoff=times["next_day_cutoff"],
        same_day_enabled=_get(section, "same_day_enabled", bool, "odfi", True),
        same_day_limit_cents=limit,
        queued_same_day=_get(section, "queued_same_day", bool, "odfi", False),
        calendar=calendar,
    )
    return _build(
        "odfi",
        Odfi,
        immediate_destination=_get(section, "immediate_destination", str, "odfi"),
        immediate_destination_name=_get(section, "immediate_destination_name", str, "odfi"),
        profile=profile,
    )


def _company(raw: Any, index: int) -> Company:
    prefix = f"companies[{index}]"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{prefix} must be a table ([[companies]])")
    _keys(
        raw,
        prefix,
        {
            "client_code",
            "company_name",
            "company_id",
            "discretionary_data",
            "default",
            "wages",
            "ecommerce",
            "settlement_routing",
            "settlement_account",
            "settlement_account_type",
            "settlement_name",
            *IAT_ORIGINATOR_FIELDS,
        },
    )
    settlement = None
    if "settlement_routing" in raw or "settlement_account" in raw:
        settlement = _build(
            prefix,
            SettlementAccount,
            routing_number=_get(raw, "settlement_routing", str, prefix),
            account_number=_get(raw, "settlement_account", str, prefix),
            account_type=_get(raw, "settlement_account_type", str, prefix, "Checking"),
            name=_get(raw, "settlement_name", str, prefix, ""),
        )
    return _build(
        prefix,
        Company,
        client_code=_get(raw, "client_code", str, prefix),
        company_name=_get(raw, "company_name", str, prefix),
        company_id=_get(raw, "company_id", str, prefix),
        discretionary_data=_get(raw, "discretionary_data", str, prefix, ""),
        default=_get(raw, "default", bool, prefix, False),
        settlement=settlement,
        wages=_get(raw, "wages", bool, prefix, False),
        ecommerce=_get(raw, "ecommerce", bool, prefix, False),
        **{key: _get(raw, key, str, prefix, "") for key in IAT_ORIGINATOR_FIELDS},
    )


_BUILD_KEYS = {
    "service_class_mode",
    "balanced",
    "line_ending",
    "file_name_template",
    "effective_date_policy",
    "roll",
    "descriptive_date",
    "max_file_lines",
    "max_file_debit",
    "max_file_credit",
    "max_batch_entries",
}


@dataclass(frozen=True)
class BuildConfig:
    """The builder's slice of ``achpipe.toml``."""

    settings: BuildSettings

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> Self:
        """Validate the whole TOML document's builder sections."""
        build = _section(raw, "build", required=False)
        _keys(build, "build", _BUILD_KEYS)
        calendar = calendar_from_mapping(_section(raw, "calendar", required=False))
        org = _section(raw, "originator")
        _keys(
            org,
            "originator",
            {"immediate_origin", "immediate_origin_name", "odfi_routing", "reference_code"},
        )
        originator = _build(
            "originator",
            Originator,
            immediate_origin=_get(org, "immediate_origin", str, "originator"),
            immediate_origin_name=_get(org, "immediate_origin_name", str, "originator"),
            odfi_routing=_get(org, "odfi_routing", str, "originator"),
            reference_code=_get(org, "reference_code", str, "originator", ""),
        )
        odfi = _odfi(_section(raw, "odfi"), calendar)
        companies_raw = raw.get("companies")
        if not isinstance(companies_raw, list) or not companies_raw:
            raise ConfigError("achpipe.toml: at least one [[companies]] entry is required")
        companies = tuple(_company(c, i) for i, c in enumerate(companies_raw))
        ending = _get(build, "line_ending", str, "build", "lf").lower()
        if ending not in _LINE_ENDINGS:
            raise ConfigError("build.line_ending must be lf or crlf")
        limits_kwargs: dict[str, int] = {}
        if "max_file_lines" in build:
            limits_kwargs["max_file_lines"] = _get(build, "max_file_lines", int, "build")
        if "max_batch_entries" in build:
            limits_kwargs["max_batch_entries"] = _get(build, "max_batch_entries", int, "build")
        for key in ("max_file_debit", "max_file_credit"):
            if key in build:
                limits_kwargs[f"{key}_cents"] = _dollars_to_cents(build[key], f"build.{key}")
        limits = _build("build", Limits, **limits_kwargs)
        settings = _build(
            "build",
            BuildSettings,
            originator=originator,
            odfi=odfi,
            companies=companies,
            service_class_mode=_get(build, "service_class_mode", str, "build", "mixed"),
            balanced=_get(build, "balanced", bool, "build", False),
            line_ending=_LINE_ENDINGS[ending],
            file_name_template=_get(
                build,
                "file_name_template",
                str,
                "build",
                "{origin}-{date:%Y%m%d}-{modifier}-{seq:02d}.ach",
            ),
            effective_date_policy=_get(build, "effective_date_policy", str, "build", "reject"),
            roll=_get(build, "roll", str, "build", "following"),
            descriptive_date=_get(build, "descriptive_date", str, "build", "blank"),
            limits=limits,
        )
        return cls(settings=settings)


def load_build_config(path: str | Path) -> BuildConfig:
    """Read ``achpipe.toml`` and validate the builder's sections."""
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return BuildConfig.from_mapping(raw)
