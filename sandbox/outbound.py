"""What the ODFI sends back, as bytes: return and NOC NACHA files, daily status reports.

Pure builders (no I/O): :class:`sandbox.odfi.Odfi` decides when, seals and writes. Return
entries follow ``nacha-format.md`` §7.1 (new batch copying the original company fields, the
returning RDFI as batch ODFI id, transaction code 2x -> 21/26…, one addenda 99 pointing at
the original trace); NOCs §7.3 (SEC ``COR``, zero amount, one addenda 98 with the
positioned corrected data).
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import polars as pl

import nacha
from nacha.codes import RETURN_TRANSACTION_CODE
from sandbox.clock import CENTRAL, central_date, iso_ms
from sandbox.ledger import Transfer, noc_corrected_data

OPERATOR_ROUTING = "011000015"  # the ACH Operator that "delivers" returns to the ODFI
FILE_ID_MODIFIERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
STATUS_COLUMNS = (
    "cFiTransactionId",
    "reference",
    "traceNumber",
    "status",
    "effectiveEntryDate",
    "settlementDate",
    "amount",
    "transactionType",
    "returnCode",
    "nocCode",
    "dtsUpdatedAt",
)


@dataclass(frozen=True)
class Original:
    """What a return or NOC copies from the forward entry and its batch (reader rows)."""

    batch: Mapping[str, Any]
    entry: Mapping[str, Any]


def outcome_file(
    kind: str,
    *,
    day: date,
    when: datetime,
    seq: int,
    items: Iterable[tuple[Transfer, Original]],
    odfi_routing: str,
    odfi_name: str,
    traces: itertools.count[int],
) -> bytes:
    """One RETURN (``kind="return"``) or NOC (``kind="noc"``) file for ``items``."""
    batch_numbers: dict[tuple[Any, ...], int] = {}
    batch_rows: list[dict[str, Any]] = []
    entry_rows: list[dict[str, Any]] = []
    addenda_rows: list[dict[str, Any]] = []
    julian = f"{day.timetuple().tm_yday:03d}"
    for tx, orig in items:
        b, e = orig.batch, orig.entry
        sec = "COR" if kind == "noc" else b["sec_code"]
        key = (
            b["company_name"],
            b["company_id"],
            sec,
            b["company_entry_description"],
            b["effective_entry_date"],
            e["rdfi_id"],
        )
        if key not in batch_numbers:
            batch_numbers[key] = len(batch_numbers) + 1
            batch_rows.append(
                {
                    "batch_number": batch_numbers[key],
                    "service_class_code": "200",
                    "company_name": b["company_name"],
                    "company_discretionary_data": b.get("company_discretionary_data"),
                    "company_id": b["company_id"],
                    "sec_code": sec,
                    "company_entry_description": b["company_entry_description"],
                    "company_descriptive_date": b.get("company_descriptive_date"),
                    "effective_entry_date": b["effective_entry_date"],
                    "settlement_date": julian,
                    "originator_status_code": "1",
                    "odfi_id": e["rdfi_id"],  # the returning institution
                }
            )
        trace = f"{e['rdfi_id']}{next(traces) % 10_000_000:07d}"
        entry_rows.append(
            {
                "batch_number": batch_numbers[key],
                "transaction_code": RETURN_TRANSACTION_CODE[str(e["transaction_code"])],
                "rdfi_id": str(b["odfi_id"]),
                "check_digit": nacha.routing_check_digit(str(b["odfi_id"])),
                "dfi_account_number": e["dfi_account_number"],
                "amount": 0 if kind == "noc" else int(e["amount"] or 0),
                "identification_number": e.get("identification_number"),
                "individual_name": e.get("individual_name"),
                "discretionary_data": None,
                "trace_number": trace,
            }
        )
        addenda: dict[str, Any] = {
            "batch_number": batch_numbers[key],
            "trace_number": trace,
            "original_trace_number": str(e["trace_number"]),
            "original_rdfi_id": str(e["rdfi_id"]),
        }
        if kind == "noc":
            assert tx.noc_code is not None
            addenda |= {
                "addenda_type_code": "98",
                "change_code": tx.noc_code,
                "corrected_data": noc_corrected_data(tx, tx.noc_code),
            }
        else:
            assert tx.return_code is not None
            death = day.strftime("%y%m%d") if tx.return_code in ("R14", "R15") else None
            addenda |= {
                "addenda_type_code": "99",
                "return_reason_code": tx.return_code,
                "date_of_death": death,
                "addenda_information": None,
            }
        addenda_rows.append(addenda)
    return nacha.assemble(
        file_header={
            "immediate_destination": odfi_routing,
            "immediate_origin": OPERATOR_ROUTING,
            "file_creation_date": day.strftime("%y%m%d"),
            "file_creation_time": when.astimezone(CENTRAL).strftime("%H%M"),
            "file_id_modifier": FILE_ID_MODIFIERS[(seq - 1) % len(FILE_ID_MODIFIERS)],
            "immediate_destination_name": odfi_name,
            "immediate_origin_name": "FED ACH OPERATOR",
        },
        batches=pl.DataFrame(batch_rows),
        entries=pl.DataFrame(entry_rows),
        addenda=pl.DataFrame(addenda_rows),
    )


def status_report(transfers: Iterable[Transfer], day: date) -> bytes:
    """``STATUS_<day>.csv``: one row per transaction whose status changed (or got a NOC)
    on that Central day, with its status at the end of the day."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(STATUS_COLUMNS)
    for tx in transfers:
        changes = [(t, st) for t, st in tx.history if central_date(t) == day]
        noc_today = (
            tx.noc_code is not None
            and tx.updated_at is not None
            and (central_date(tx.updated_at) == day)
        )
        if not changes and not noc_today:
            continue
        when, status = changes[-1] if changes else (tx.updated_at, tx.status)
        writer.writerow(
            [
                tx.cfi_id,
                tx.reference,
                tx.trace_number or "",
                status,
                tx.effective_date.isoformat(),
                tx.settlement_date.isoformat() if tx.settlement_date else "",
                f"{tx.amount_cents // 100}.{tx.amount_cents % 100:02d}",
                tx.transaction_type,
                tx.return_code or "",
                tx.noc_code or "",
                iso_ms(when),
            ]
        )
    return buffer.getvalue().encode()
