"""Shared small inputs for the builder tests: settings, a clock, transfers factories."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from nacha.addenda_text import payment_related_texts
from nacha.build_settings import BuildSettings, Company, Odfi, Originator, SettlementAccount

CT = ZoneInfo("America/Chicago")
#: Tue 2026-03-10 09:00 CT: before the same-day cut-off; earliest standard date Wed 03-11.
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=CT)
TODAY = "2026-03-10"
NEXT = "2026-03-11"

ACME = Company(
    "ACME",
    "ACME PAYMENTS",
    "1234567890",
    default=True,
    settlement=SettlementAccount("091000019", "000111222333", "Checking", "ACME SETTLEMENT"),
)
GLOBEX = Company(
    "GLOBEX",
    "GLOBEX CORP",
    "9876543210",
    settlement=SettlementAccount("091000019", "000999888777", "Savings"),
)


def settings(**overrides: Any) -> BuildSettings:
    base: dict[str, Any] = {
        "originator": Originator("1234567890", "ACME PAYMENTS INC", "091000019", "ACHPIPE"),
        "odfi": Odfi("091000019", "FIRST EXAMPLE BANK"),
        "companies": (ACME, GLOBEX),
    }
    base.update(overrides)
    return BuildSettings(**base)


def transfer(**fields: Any) -> dict[str, Any]:
    """One valid PPD credit for tomorrow; override any connectFi field."""
    row: dict[str, Any] = {
        "reference": "T1",
        "clientCode": "ACME",
        "effectiveEntryDate": NEXT,
        "standardEntryClassCode": "PPD",
        "individualName": "JANE Q PUBLIC",
        "routingNumber": "021000021",
        "DFIAccountNumber": "000123456789",
        "accountType": "Checking",
        "transactionType": "Credit",
        "amount": "12.34",
        "currency": "USD",
        "companyEntryDescription": "PAYROLL",
        "identificationNumber": None,
        "paymentTypeCode": None,
        "addenda": None,
        "prenote": None,
    }
    row.update(fields)
    return row


def frame(*rows: dict[str, Any]) -> pl.DataFrame:
    """Text columns: the connectFi fields, plus any other column a row names (POP/XCK
    fields, IAT fields), null where a row leaves it out."""
    names = dict.fromkeys([*transfer(), *(k for row in rows for k in row)])
    return pl.DataFrame(list(rows), schema=dict.fromkeys(names, pl.String))


def addenda_texts(addenda: pl.DataFrame) -> pl.DataFrame:
    """``entry_index`` and ``addenda``: each entry's addenda 05 text as the builder was given
    it, from a read file's addenda frame (records joined back by the library's
    :func:`nacha.addenda_text.payment_related_texts`; input texts carry no trailing spaces,
    so the join gives them back exactly)."""
    if "addenda_type_code" in addenda.columns:
        addenda = addenda.filter(pl.col("addenda_type_code") == "05")
    return payment_related_texts(addenda, alias="addenda")
