"""A small story-telling kit for the actions tests: send entries, get returns and NOCs back.

Everything goes through the real ledger API (record_outbound_file, record_returns,
record_nocs) on the shared per-test Postgres database.
"""

from __future__ import annotations

import itertools
from datetime import date

import polars as pl

from pipeline.store import Ledger, OutboundFile

ORIGIN = " 123456789"
DEST = " 091000019"
COMPANY_ID = "1234567890"
COMPANY_NAME = "ACME CORP"
ROUTING = "091000019"
NEW_ROUTING = "011000015"
_seq = itertools.count(1)


def send(
    ledger: Ledger,
    rows: list[dict[str, object]],
    *,
    effective: date,
    settlement: date | None = None,
    creation: date | None = None,
    company_id: str = COMPANY_ID,
    company_name: str = COMPANY_NAME,
    sec_code: str = "PPD",
    description: str = "PAYMENT",
) -> list[str]:
    """Record one file with one batch; each row has reference, account, amount_cents and
    optionally individual_id, code (27), routing, name. Returns the trace numbers."""
    creation = creation or effective
    traces = [f"12345678{next(_seq):07d}" for _ in rows]
    entries = pl.DataFrame(
        {
            "batch_number": [1] * len(rows),
            "trace_number": traces,
            "transaction_code": [int(r.get("code", 27)) for r in rows],  # type: ignore[arg-type]
            "amount_cents": [int(r["amount_cents"]) for r in rows],  # type: ignore[arg-type]
            "rdfi_routing": [str(r.get("routing", ROUTING)) for r in rows],
            "account_number": [str(r["account"]) for r in rows],
            "reference": [str(r["reference"]) for r in rows],
            "individual_id": [r.get("individual_id") for r in rows],
            "individual_name": [str(r.get("name", "JANE DOE")) for r in rows],
        },
        schema_overrides={"individual_id": pl.String},
    )
    batches = pl.DataFrame(
        {
            "batch_number": [1],
            "service_class_code": [225],
            "company_name": [company_name],
            "company_id": [company_id],
            "sec_code": [sec_code],
            "company_entry_description": [description],
            "effective_date": [effective],
            "settlement_date": pl.Series([settlement], dtype=pl.Date),
        }
    )
    modifier = ledger.allocate_file_id_modifier(ORIGIN, DEST, creation)
    ledger.record_outbound_file(
        OutboundFile(
            file_name=f"ACH_{creation:%Y%m%d}_{modifier}.ach",
            content=f"{creation}{modifier}{traces[0]}".encode(),
            immediate_origin=ORIGIN,
            immediate_destination=DEST,
            creation_date=creation,
            file_id_modifier=modifier,
        ),
        batches,
        entries,
    )
    return traces


def returned(
    ledger: Ledger, trace: str, code: str, *, received: date, amount_cents: int = 0
) -> None:
    ledger.record_returns(
        None,
        pl.DataFrame(
            {
                "trace_number": [f"09100001{next(_seq):07d}"],
                "original_trace_number": [trace],
                "return_code": [code],
                "amount_cents": [amount_cents],
                "received_date": [received],
                "transaction_code": [26],
            }
        ),
    )


def noc(ledger: Ledger, trace: str, code: str, corrected: str, *, received: date) -> None:
    ledger.record_nocs(
        None,
        pl.DataFrame(
            {
                "trace_number": [f"09100001{next(_seq):07d}"],
                "original_trace_number": [trace],
                "change_code": [code],
                "corrected_data": [corrected],
                "received_date": [received],
            }
        ),
    )


def transfer(
    reference: str,
    account: str,
    *,
    amount: str = "25.00",
    ident: str | None = "CUST1",
    routing: str = ROUTING,
    kind: str = "Debit",
    description: str = "PAYMENT",
    effective: str = "",
    client: str | None = None,
    account_type: str = "Checking",
    sec: str = "PPD",
) -> dict[str, str | None]:
    return {
        "reference": reference,
        "clientCode": client,
        "effectiveEntryDate": effective,
        "standardEntryClassCode": sec,
        "individualName": "JANE DOE",
        "routingNumber": routing,
        "DFIAccountNumber": account,
        "accountType": account_type,
        "transactionType": kind,
        "amount": amount,
        "currency": "USD",
        "companyEntryDescription": description,
        "identificationNumber": ident,
    }


def transfers(*rows: dict[str, str | None]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema={k: pl.String for k in rows[0]})
