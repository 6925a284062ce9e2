"""Small reconciliation input files on disk (CSV and connectFi JSON), shared by CLI tests."""

from __future__ import annotations

import json
from pathlib import Path

FULL_ACCOUNT = "123456789012"  # must never appear in any output


def write_inputs(tmp: Path) -> dict[str, Path]:
    paths = {
        "ledger": tmp / "ledger.csv",
        "entries": tmp / "entries.csv",
        "api": tmp / "api.json",
        "returns": tmp / "returns.csv",
        "nocs": tmp / "nocs.csv",
    }
    paths["ledger"].write_text(
        "reference,amount_cents,direction,company_id,sec_code,effective_date,DFIAccountNumber\n"
        f"R1,1000,debit,1234567890,PPD,2026-03-10,{FULL_ACCOUNT}\n"
        f"R2,2000,debit,1234567890,WEB,2026-03-10,{FULL_ACCOUNT}\n"
        f"R3,3000,debit,1234567890,PPD,2026-03-10,{FULL_ACCOUNT}\n"
    )
    paths["entries"].write_text(
        "trace_number,reference,amount_cents,transaction_code,company_id,sec_code,"
        "effective_date,settlement_date,file_id,batch_number,is_offset,dfi_account_number\n"
        f"091000010000001,R1,1000,27,1234567890,PPD,2026-03-10,2026-03-10,F1,1,false,{FULL_ACCOUNT}\n"
        f"091000010000002,R2,2000,27,1234567890,WEB,2026-03-10,2026-03-10,F1,1,false,{FULL_ACCOUNT}\n"
        f"091000010000003,R3,3000,27,1234567890,PPD,2026-03-10,2026-03-10,F1,1,false,{FULL_ACCOUNT}\n"
        "091000010000004,,6000,22,1234567890,PPD,2026-03-10,2026-03-10,F1,1,true,\n"
    )
    api = [
        {
            "cFiTransactionId": f"C_{i}",
            "reference": f"R{i}",
            "status": status,
            "amount": amount,
            "transactionType": "Debit",
            "effectiveEntryDate": "2026-03-10",
            "DFIAccountNumber": FULL_ACCOUNT,
        }
        for i, status, amount in (
            (1, "Returned", 10.00),
            (2, "Settled", 20.00),
            (3, "Settled", 30.00),
        )
    ]
    paths["api"].write_text(json.dumps({"code": "0", "data": api}))
    paths["returns"].write_text(
        "original_trace_number,return_code,return_date\n091000010000001,R10,2026-03-12\n"
    )
    paths["nocs"].write_text(
        "original_trace_number,change_code,corrected_data,received_date\n"
        "091000010000002,C05,32,2026-03-12\n"
    )
    return paths


def reconcile_args(paths: dict[str, Path], out: Path) -> list[str]:
    """`achpipe reconcile` arguments over the files of :func:`write_inputs`."""
    return [
        "reconcile",
        "--ledger",
        str(paths["ledger"]),
        "--entries",
        str(paths["entries"]),
        "--api",
        str(paths["api"]),
        "--returns",
        str(paths["returns"]),
        "--nocs",
        str(paths["nocs"]),
        "--date",
        "2026-03-12",
        "--out",
        str(out),
    ]
