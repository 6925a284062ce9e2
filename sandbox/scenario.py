"""Scenarios: what the outside world does, as data, deterministic by seed.

A scenario file (TOML or JSON) says which entries come back and how::

    seed = 7
    returns = [{code = "R01", rate = 0.02}, {code = "R10", rate = 0.004},
               {code = "R03", rate = 0.01}]
    nocs = [{code = "C01", rate = 0.005}]
    reject_uploads = [3]                 # the 3rd uploaded file is rejected by the ODFI
    [references]                         # specific references -> given code
    INV1001 = "R02"
    INV1002 = "C05"

Every entry's fate is a pure function of (seed, reference): the same file gives the same
returns on every machine, whatever order entries arrive in. Magic values from the spec also
work: an account number ending ``R`` + two digits (``123456R01``) is returned with that code,
one ending ``C01``..``C14`` gets that NOC, and an amount of 0.13 is declined.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Self

from nacha.codes import RETURN_BY_CODE

#: Return codes an RDFI uses only on debits (insufficient funds, unauthorized, stop payment…).
DEBIT_ONLY_RETURNS = frozenset(
    {"R01", "R05", "R07", "R08", "R09", "R10", "R11", "R29", "R51", "R52", "R53"}
)
#: Return codes with the extended (60 calendar day) window: they arrive later in the sandbox.
EXTENDED_RETURNS = frozenset(c for c, r in RETURN_BY_CODE.items() if r.window == "60CD")
RETURN_CODE = re.compile(r"^R\d\d$")
NOC_CODE = re.compile(r"^C(0[1-9]|1[0-4])$")
_MAGIC_ACCOUNT = re.compile(r"(R\d\d|C(0[1-9]|1[0-4]))$")


class ScenarioError(ValueError):
    """A scenario file is malformed; the message names the key."""


@dataclass(frozen=True)
class ClientConfig:
    """One API login of the sandbox and whether it has an ACH configuration."""

    login: str
    password: str
    ach_enabled: bool = True
    client_codes: tuple[str, ...] | None = None  # None: any clientCode is configured


@dataclass(frozen=True)
class Outcome:
    """What happens to one entry after it settles."""

    kind: str  # "return" | "noc"
    code: str


@dataclass(frozen=True, kw_only=True)
class Scenario:
    """Everything tunable about the sandbox's world (all fields have demo-friendly defaults)."""

    seed: int = 0
    returns: tuple[tuple[str, float], ...] = ()
    nocs: tuple[tuple[str, float], ...] = ()
    references: Mapping[str, str] = field(default_factory=dict)
    reject_uploads: frozenset[int] = frozenset()
    clients: tuple[ClientConfig, ...] = (ClientConfig("ACHPIPE", "sandbox-secret"),)
    token_lifetime_seconds: float = 3600.0
    return_delay_days: int = 1  # banking days after settlement, 2-day codes
    extended_return_delay_days: int = 5  # banking days after settlement, 60-day codes
    noc_delay_days: int = 1
    decline_amount_cents: int = 13
    routing_allow_list: frozenset[str] = frozenset({"123456789"})
    max_amount_cents: int = 99_999_999_99
    same_day_limit_cents: int = 1_000_000_00
    extra_closed: frozenset[date] = frozenset()
    max_list_span_days: int = 93
    webhook_secret: str | None = None  # sign webhook bodies (HMAC-SHA256) when set
    webhook_extras: bool = False  # add return/NOC fields to webhook bodies

    @classmethod
    def demo(cls, *, seed: int = 0) -> Self:
        """The issue's example world: 2 % R01, 0.4 % R10, 1 % R03, 0.5 % NOC C01."""
        return cls(
            seed=seed,
            returns=(("R01", 0.02), ("R10", 0.004), ("R03", 0.01)),
            nocs=(("C01", 0.005),),
        )

    @classmethod
    def load(cls, path: Path, *, seed: int | None = None) -> Self:
        """Read a ``.toml`` or ``.json`` scenario; ``seed`` (from the CLI) wins over the file."""
        text = path.read_bytes()
        try:
            data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text.decode())
        except (ValueError, UnicodeDecodeError) as exc:
            raise ScenarioError(f"{path}: {exc}") from exc
        if seed is not None:
            data["seed"] = seed
        return cls.from_mapping(data)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Self:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ScenarioError(f"scenario.{unknown[0]}: unknown key")
        kwargs: dict[str, Any] = dict(data)
        kwargs["returns"] = _rates(data.get("returns", ()), "returns", RETURN_CODE)
        kwargs["nocs"] = _rates(data.get("nocs", ()), "nocs", NOC_CODE)
        total = sum(r for _, r in kwargs["returns"]) + sum(r for _, r in kwargs["nocs"])
        if total > 1:
            raise ScenarioError(f"scenario: return and NOC rates add up to {total} > 1")
        refs = dict(data.get("references", {}))
        for ref, code in refs.items():
            if not (RETURN_CODE.match(code) or NOC_CODE.match(code)):
                raise ScenarioError(f"scenario.references.{ref}: {code!r} is not Rnn or C01-C14")
        kwargs["references"] = refs
        kwargs["reject_uploads"] = frozenset(int(n) for n in data.get("reject_uploads", ()))
        if "clients" in data:
            kwargs["clients"] = tuple(
                ClientConfig(
                    login=str(c["login"]),
                    password=str(c["password"]),
                    ach_enabled=bool(c.get("ach_enabled", True)),
                    client_codes=tuple(c["client_codes"]) if "client_codes" in c else None,
                )
                for c in data["clients"]
            )
        if "routing_allow_list" in data:
            kwargs["routing_allow_list"] = frozenset(data["routing_allow_list"])
        if "extra_closed" in data:
            kwargs["extra_closed"] = frozenset(
                d if isinstance(d, date) else date.fromisoformat(str(d))
                for d in data["extra_closed"]
            )
        try:
            return cls(**kwargs)
        except TypeError as exc:
            raise ScenarioError(f"scenario: {exc}") from exc

    def client(self, login: str) -> ClientConfig | None:
        return next((c for c in self.clients if c.login == login), None)

    def outcome(self, *, reference: str, account_number: str, is_debit: bool) -> Outcome | None:
        """The fate of one entry: named reference, magic account, else the seeded draw."""
        code = self.references.get(reference)
        if code is None:
            magic = _MAGIC_ACCOUNT.search(account_number.strip())
            code = magic.group(1) if magic else None
        if code is not None:
            return Outcome("return" if code.startswith("R") else "noc", code)
        u = _uniform(self.seed, reference)
        edge = 0.0
        for kind, table in (("return", self.returns), ("noc", self.nocs)):
            for code, rate in table:
                edge += rate
                if u < edge:
                    if kind == "return" and code in DEBIT_ONLY_RETURNS and not is_debit:
                        return None
                    return Outcome(kind, code)
        return None


def _uniform(seed: int, reference: str) -> float:
    digest = hashlib.sha256(f"{seed}|{reference}".encode()).digest()
    return int.from_bytes(digest[:7], "big") / float(1 << 56)


def _rates(raw: object, key: str, pattern: re.Pattern[str]) -> tuple[tuple[str, float], ...]:
    out = []
    for i, item in enumerate(raw if isinstance(raw, list | tuple) else ()):
        if isinstance(item, Mapping):
            code, rate = item.get("code"), item.get("rate")
        else:
            code, rate = item
        if not isinstance(code, str) or not pattern.match(code):
            raise ScenarioError(f"scenario.{key}[{i}].code: {code!r} is not a valid code")
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise ScenarioError(f"scenario.{key}[{i}].rate: must be a fraction 0..1")
        out.append((code, float(rate)))
    return tuple(out)
