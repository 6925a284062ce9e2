"""Request validation with connectFi's documented error codes.

Schema rules are a table (field, type, pattern/length, enum) checked in order, so each
failure names its JSON pointer and rule in ``context``; the business rules after it
(``wrongAmount``, ``currencyNotSupported``, ``achEffectiveEntryDate``, ``achVerify``,
``achValidate``) follow the spec's tables.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sandbox.calendar import is_banking_day, on_or_after
from sandbox.clock import central, central_date
from sandbox.errors import ApiFailure, invalid
from sandbox.scenario import Scenario

REFERENCE = re.compile(r"^[0-9a-zA-Z]+$")
TRANSACTION_ID = re.compile(r"^[0-9a-zA-Z_]+$")
ROUTING = re.compile(r"^\d{9}$")
ACCOUNT = re.compile(r"^[0-9A-Za-z-]+$")
PRINTABLE_ASCII = re.compile(r"^[\x20-\x7e]*$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
REQUEST_ID = re.compile(r"^(?=.*\S)[^<>]+$")  # 1-32, no < or >, not only whitespace
SEC_CODES = ("PPD", "CCD", "WEB", "TEL", "CIE")
SAME_DAY_CUTOFF = (9, 30)  # Central
NEXT_DAY_CUTOFF = (19, 30)  # Central


@dataclass(frozen=True)
class Rule:
    """One schema row: JSON key, required, type, max length, pattern, allowed values."""

    key: str
    required: bool
    kind: type | tuple[type, ...]
    max_len: int | None = None
    pattern: re.Pattern[str] | None = None
    enum: tuple[str, ...] | None = None
    min_len: int = 1


CREATE_RULES: tuple[Rule, ...] = (
    Rule("reference", True, str, 32, REFERENCE),
    Rule("clientCode", False, str, 50, min_len=0),
    Rule("effectiveEntryDate", True, str, 10, ISO_DATE),
    Rule("standardEntryClassCode", True, str, enum=SEC_CODES),
    Rule("individualName", True, str, 22),
    Rule("routingNumber", True, str, 9, ROUTING),
    Rule("DFIAccountNumber", True, str, 17, ACCOUNT),
    Rule("accountType", True, str, enum=("Checking", "Savings")),
    Rule("transactionType", True, str, enum=("Credit", "Debit")),
    Rule("amount", True, (int, Decimal)),
    Rule("currency", True, str, 3),
    Rule("companyEntryDescription", True, str, 10),
    Rule("webhookUrl", False, str, 2048, re.compile(r"^https?://\S+$")),
    Rule("identificationNumber", False, str, 22),
    Rule("paymentTypeCode", False, str, 2, enum=("R", "S", "ST")),
    Rule("addenda", False, str, 80),
    Rule("requestId", False, str, 32, REQUEST_ID),
)
_CREATE_KEYS = {r.key for r in CREATE_RULES}
_NACHA_TEXT_FIELDS = (
    "individualName",
    "companyEntryDescription",
    "identificationNumber",
    "addenda",
    "DFIAccountNumber",
)


def check_schema(body: object, rules: tuple[Rule, ...], *, strict: bool = True) -> dict[str, Any]:
    """Apply a rule table; the first failure raises ``requestValidateError``."""
    if not isinstance(body, Mapping):
        raise invalid("", "type", "Must be an object")
    if strict:
        extra = sorted(set(body) - {r.key for r in rules})
        if extra:
            raise invalid(f"/{extra[0]}", "additionalProperties", "Must not be present")
    for rule in rules:
        pointer = f"/{rule.key}"
        value = body.get(rule.key)
        if value is None:
            if rule.required:
                raise invalid(pointer, "required", "Is required")
            continue
        if isinstance(value, bool) or not isinstance(value, rule.kind):
            expected = "string" if rule.kind is str else "number"
            raise invalid(pointer, "type", f"Must be a {expected}")
        if isinstance(value, str):
            if len(value) < rule.min_len or (rule.min_len and not value.strip()):
                raise invalid(pointer, "minLength", "Must not be empty")
            if rule.max_len is not None and len(value) > rule.max_len:
                raise invalid(pointer, "maxLength", f"Must be at most {rule.max_len} characters")
            if rule.pattern is not None and not rule.pattern.match(value):
                raise invalid(pointer, "pattern", f"Must match {rule.pattern.pattern}")
            if rule.enum is not None and value not in rule.enum:
                raise invalid(pointer, "enum", "Must be an allowed value")
    return dict(body)


def aba_check_digit_ok(routing: str) -> bool:
    weights = (3, 7, 1) * 3
    return sum(int(d) * w for d, w in zip(routing, weights, strict=True)) % 10 == 0


def validate_create(body: object, *, scenario: Scenario, now: datetime) -> dict[str, Any]:
    """Validate a create/validate body; returns it with ``amount_cents`` and a parsed date."""
    data = check_schema(body, CREATE_RULES)
    amount: Decimal = Decimal(data["amount"])
    if amount <= 0:
        raise invalid("/amount", "exclusiveMinimum", "Must be greater than 0")
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise ApiFailure(
            "wrongAmount",
            "Wrong amount. Available values - 1, 1.2, 1.22. Unavailable value - 1.225",
            context={"amount": str(data["amount"])},
        )
    if cents > scenario.max_amount_cents:
        raise invalid("/amount", "maximum", "Must be at most 99999999.99")
    if data["currency"] != "USD":
        raise ApiFailure(
            "currencyNotSupported", "Currency not supported", context={"supportedCurrency": "USD"}
        )
    routing = data["routingNumber"]
    if not aba_check_digit_ok(routing) and routing not in scenario.routing_allow_list:
        raise invalid("/routingNumber", "abaCheckDigit", "Must be a valid ABA routing number")
    try:
        effective = date.fromisoformat(data["effectiveEntryDate"])
    except ValueError:
        raise invalid("/effectiveEntryDate", "format", "Must be a date YYYY-MM-DD") from None
    sec = data["standardEntryClassCode"]
    _verify_sec(data, sec)
    for key in _NACHA_TEXT_FIELDS:
        value = data.get(key)
        if value is not None and not PRINTABLE_ASCII.match(value):
            raise ApiFailure(
                "achValidate",
                "ACH Files Validation Error",
                context={"field": f"/{key}", "rule": "printableAscii"},
            )
    check_effective_date(effective, now=now, extra_closed=scenario.extra_closed)
    if effective == central_date(now) and cents > scenario.same_day_limit_cents:
        raise ApiFailure(
            "achVerify",
            "ACH Request Validation Error",
            context={"field": "/amount", "rule": "sameDayLimit", "limit": "1000000.00"},
        )
    data["amount_cents"] = int(cents)
    data["effective_date"] = effective
    return data


def _verify_sec(data: Mapping[str, Any], sec: str) -> None:
    """SEC-specific Nacha rules: who may be debited/credited, name and id widths."""
    problems = {
        "CIE": [
            (data["transactionType"] != "Credit", "/transactionType", "cieCreditOnly"),
            (len(data["individualName"]) > 15, "/individualName", "cieNameMaxLength15"),
        ],
        "TEL": [(data["transactionType"] != "Debit", "/transactionType", "telDebitOnly")],
    }.get(sec, [])
    ident = data.get("identificationNumber")
    if sec != "CIE" and ident is not None and len(ident) > 15:
        problems.append((True, "/identificationNumber", "maxLength15"))
    if data.get("paymentTypeCode") is not None and sec not in ("WEB", "TEL"):
        problems.append((True, "/paymentTypeCode", "webTelOnly"))
    for failed, field, rule in problems:
        if failed:
            raise ApiFailure(
                "achVerify", "ACH Request Validation Error", context={"field": field, "rule": rule}
            )


def earliest_deadline(effective: date, *, extra_closed: frozenset[date]) -> datetime:
    """Latest instant a transfer for ``effective`` may be received (spec §8 cut-offs).

    Next-day: before 19:30 Central on the calendar day before, when that day is a banking
    day (M-F). Otherwise only the same-day window is left: before 09:30 Central on the
    effective date itself, if that is a banking day.
    """
    eve = effective - timedelta(days=1)
    if is_banking_day(eve, extra_closed=extra_closed):
        return central(eve, *NEXT_DAY_CUTOFF)
    return central(effective, *SAME_DAY_CUTOFF)


def check_effective_date(effective: date, *, now: datetime, extra_closed: frozenset[date]) -> None:
    """``achEffectiveEntryDate`` unless ``now`` is before the date's cut-off."""
    today = central_date(now)
    if effective == today:
        ok = is_banking_day(today, extra_closed=extra_closed) and now < central(
            today, *SAME_DAY_CUTOFF
        )
    elif effective > today:
        settles = on_or_after(effective, extra_closed=extra_closed)
        ok = now < earliest_deadline(settles, extra_closed=extra_closed)
    else:
        ok = False
    if not ok:
        raise ApiFailure(
            "achEffectiveEntryDate",
            "Same day transfers must be received prior to 9:30am CST M-F. "
            "Next day transfers must be received prior to 7:30pm CST M-F.",
            context={"effectiveEntryDate": effective.isoformat()},
        )
