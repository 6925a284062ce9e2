"""Helpers for ODFI tests: build a forward NACHA file and seal it like an originator would."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

import nacha
from sandbox import bankpgp

ODFI_ROUTING = "091000019"


@dataclass(frozen=True)
class Item:
    reference: str
    amount: int
    code: str = "27"  # checking debit
    account: str = "123456789"
    routing: str = "053207766"
    name: str = "JOHN SMITH"


def forward_file(
    items: Sequence[Item],
    *,
    modifier: str = "A",
    creation_date: str = "260302",
    effective: str = "260303",
    destination: str = ODFI_ROUTING,
    sec: str = "PPD",
) -> bytes:
    """One batch, traces 09100001 + 1..n, identification number = our reference."""
    entries = pl.DataFrame(
        {
            "batch_number": [1] * len(items),
            "transaction_code": [i.code for i in items],
            "rdfi_routing": [i.routing for i in items],
            "dfi_account_number": [i.account for i in items],
            "amount": [i.amount for i in items],
            "identification_number": [i.reference for i in items],
            "individual_name": [i.name for i in items],
            "discretionary_data": [""] * len(items),
            "trace_number": [f"09100001{n:07d}" for n in range(1, len(items) + 1)],
        }
    )
    batches = pl.DataFrame(
        {
            "batch_number": [1],
            "service_class_code": ["200"],
            "company_name": ["ACME PAYROLL"],
            "company_id": ["1234567890"],
            "sec_code": [sec],
            "company_entry_description": ["PAYROLL"],
            "effective_entry_date": [effective],
            "originator_status_code": ["1"],
            "odfi_id": [ODFI_ROUTING[:8]],
        }
    )
    return nacha.assemble(
        file_header={
            "immediate_destination": destination,
            "immediate_origin": "1234567890",
            "file_creation_date": creation_date,
            "file_creation_time": "0800",
            "file_id_modifier": modifier,
            "immediate_destination_name": "SANDBOX BANK",
            "immediate_origin_name": "ACME",
        },
        batches=batches,
        entries=entries,
    )


def seal_upload(data: bytes, sb) -> bytes:
    """Sign with the demo originator key and encrypt to the bank (what achpipe does)."""
    originator = bankpgp.load_key(sb.paths["originator_secret_key"])
    bank = bankpgp.load_key(sb.paths["bank_public_key"])
    return bankpgp.seal(data, signer=originator, recipient=bank)


def unseal_download(data: bytes, sb) -> bytes:
    originator = bankpgp.load_key(sb.paths["originator_secret_key"])
    bank = bankpgp.load_key(sb.paths["bank_public_key"])
    return bankpgp.unseal(data, key=originator, verify_with=bank, require_signature=True)
