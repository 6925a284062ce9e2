"""Re-initiation of R01/R09 returns (``RETRY PYMT``): planning and the rules that guard it.

Nacha allows a debit returned for insufficient or uncollected funds to be re-initiated at
most **twice**, within **180 days** of the original entry's settlement date, for the **same
amount**, under the **same company name and company ID**, with Company Entry Description
``RETRY PYMT`` (nacha-format.md §11.3, banking-calendar.md §6). The 180 days run from the
original settlement date; when the ledger does not know it, from the effective date (earlier
or equal, so the window is never longer than allowed).

:func:`plan_retries` turns every ``retry_allowed`` return without a decision into a planned
retry or a refusal with its reason (both recorded in ``reinitiations``, once).
:func:`retry_transfers` gives the builder the planned retries as connectFi-shaped transfers;
:mod:`pipeline.actions.screen` refuses any retry that breaks the rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

import polars as pl

from nacha.build_input import TRANSFER_COLUMNS
from nacha.calendar import FED_CALENDAR, BankingCalendar, reinitiation_deadline
from pipeline.actions.settings import ActionsSettings, RetrySchedule
from pipeline.store.errors import StoreError, translate_errors
from pipeline.store.ledger import Ledger

__all__ = [
    "MAX_REINITIATIONS",
    "RETRY_DESCRIPTION",
    "RETRY_PLAN_SCHEMA",
    "link_sent_retries",
    "plan_retries",
    "retry_plan_frame",
    "retry_reference",
    "retry_transfers",
    "scheduled_date",
]

RETRY_DESCRIPTION = "RETRY PYMT"

#: SEC codes whose returns are never re-initiated as ``RETRY PYMT`` by achpipe, with the reason
#: recorded on the refused plan: the ledger cannot rebuild the entry faithfully, or the Rules
#: give the item its own re-presentment path.
NOT_REINITIATED: dict[str, str] = {
    "RCK": "RCK entries are themselves re-presented checks: no RETRY PYMT",
    "XCK": "XCK entries must carry NO CHECK as their description: no RETRY PYMT",
    "POP": "POP terminal city and state are not kept in the ledger: re-initiate by hand",
}
MAX_REINITIATIONS = 2
RETRY_PLAN_SCHEMA = pl.Schema(
    {
        "return_id": pl.Int64,
        "return_code": pl.String,
        "original_reference": pl.String,
        "retry_reference": pl.String,
        "attempt": pl.Int64,
        "payee_ref": pl.String,
        "company_id": pl.String,
        "company_name": pl.String,
        "amount_cents": pl.Int64,
        "planned_date": pl.Date,
        "latest_date": pl.Date,
        "state": pl.String,
        "reason": pl.String,
    }
)
_ACCOUNT_TYPE = {"2": "Checking", "3": "Savings"}


def retry_reference(reference: str, attempt: int) -> str:
    """The reference of a retry: the original's (kept as a prefix, so payee keys by prefix
    still match) plus ``RT<n>``, within the builder's 32 letters and digits."""
    suffix = f"RT{attempt}"
    return reference[: 32 - len(suffix)] + suffix


def scheduled_date(
    earliest: date, schedule: RetrySchedule, *, calendar: BankingCalendar = FED_CALENDAR
) -> date:
    """The first date on or after ``earliest`` that the schedule allows, as a banking day
    (a scheduled day that is not one rolls to the next banking day)."""
    day = earliest
    for _ in range(400):
        if schedule.kind == "next_banking_day":
            hit = True
        elif schedule.kind == "weekday":
            hit = day.weekday() == schedule.weekday
        else:
            hit = day.day in schedule.monthdays
        if hit:
            return calendar.add_banking_days(day, 0)
        day += timedelta(days=1)
    raise StoreError(f"retry schedule {schedule} has no date within 400 days of {earliest}")


def link_sent_retries(ledger: Ledger) -> int:
    """Mark planned retries whose entry is now in the ledger as sent (by retry reference)."""
    with translate_errors("linking sent retries"):
        cur = ledger.conn.execute(
            "UPDATE reinitiations r SET state = 'sent', entry_id = e.id, updated_at = now()"
            " FROM entries e WHERE e.reference = r.retry_reference AND r.state = 'planned'"
            " AND r.entry_id IS NULL"
        )
        return cur.rowcount


def _candidates(ledger: Ledger) -> list[dict[str, Any]]:
    """retry_allowed returns without a decision, with the root (original) entry of their
    chain: a return of a retry entry counts against the original's two re-initiations."""
    query = """
        SELECT a.return_id, a.return_code, a.entry_id AS returned_entry_id,
               coalesce(prev.original_entry_id, a.entry_id) AS root_id,
               o.reference AS original_reference, o.amount_cents, o.transaction_code,
               o.sec_code,
               o.effective_date, o.settlement_date, o.company_id, b.company_name,
               p.payee_ref, p.status AS payee_status, p.status_reason AS payee_reason,
               (SELECT count(*) FROM reinitiations x
                 WHERE x.original_entry_id = coalesce(prev.original_entry_id, a.entry_id)
                   AND x.state IN ('planned', 'sent')) AS attempts,
               (SELECT string_agg(DISTINCT s.return_code, ',') FROM return_actions s
                 LEFT JOIN reinitiations y ON y.entry_id = s.entry_id
                 WHERE s.action = 'stop_payment'
                   AND coalesce(y.original_entry_id, s.entry_id)
                       = coalesce(prev.original_entry_id, a.entry_id)) AS stopped_by
          FROM return_actions a
          LEFT JOIN reinitiations prev ON prev.entry_id = a.entry_id
          JOIN entries o ON o.id = coalesce(prev.original_entry_id, a.entry_id)
          JOIN batches b ON b.id = o.batch_id
          LEFT JOIN payees p ON p.id = a.payee_id
         WHERE a.action = 'retry_allowed' AND a.entry_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM reinitiations r WHERE r.return_id = a.return_id)
         ORDER BY a.id"""
    with translate_errors("reading retry candidates"), ledger.conn.cursor() as cur:
        cur.execute(query)
        names = [d.name for d in cur.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _decide(
    c: Mapping[str, Any], business_date: date, settings: ActionsSettings, calendar: BankingCalendar
) -> dict[str, Any]:
    base = c["settlement_date"] or c["effective_date"]
    latest = reinitiation_deadline(base)
    attempt = int(c["attempts"]) + 1
    earliest = calendar.add_banking_days(business_date, max(1, settings.retry_delay_banking_days))
    planned = scheduled_date(earliest, settings.retry_schedule, calendar=calendar)
    reason = None
    if int(c["transaction_code"]) % 10 < 5:
        reason = "only debits may be re-initiated (this entry is a credit)"
    elif c["sec_code"] in NOT_REINITIATED:
        reason = NOT_REINITIATED[c["sec_code"]]
    elif c["stopped_by"]:
        reason = f"payment stopped ({c['stopped_by']}): never re-initiated"
    elif c["payee_status"] not in (None, "active"):
        reason = f"payee {c['payee_ref']} is {c['payee_status']} ({c['payee_reason']})"
    elif attempt > MAX_REINITIATIONS:
        reason = (
            f"third re-initiation refused: at most {MAX_REINITIATIONS} RETRY PYMT "
            "entries per original entry"
        )
    elif planned > latest:
        reason = (
            f"retry after 180 days refused: the window from {base} closed on {latest} "
            f"(earliest retry {planned})"
        )
    return {
        "return_id": c["return_id"],
        "return_code": c["return_code"],
        "original_reference": c["original_reference"],
        "retry_reference": (
            retry_reference(c["original_reference"] or f"E{c['root_id']}", attempt)
            if reason is None
            else None
        ),
        "attempt": attempt,
        "payee_ref": c["payee_ref"],
        "company_id": c["company_id"],
        "company_name": c["company_name"],
        "amount_cents": c["amount_cents"],
        "planned_date": planned if reason is None else None,
        "latest_date": latest,
        "state": "planned" if reason is None else "refused",
        "reason": reason,
        "root_id": c["root_id"],
    }


def plan_retries(
    ledger: Ledger,
    business_date: date,
    settings: ActionsSettings,
    *,
    actor: str = "achpipe",
    calendar: BankingCalendar = FED_CALENDAR,
) -> pl.DataFrame:
    """Decide every undecided retry_allowed return (planned or refused, recorded once) and
    return the open plan: every retry still ``planned`` plus today's decisions
    (RETRY_PLAN_SCHEMA). Rerunning on the same day decides nothing new."""
    with ledger.transaction():
        link_sent_retries(ledger)
        decided = [_decide(c, business_date, settings, calendar) for c in _candidates(ledger)]
        for d in decided:
            with translate_errors("recording a retry decision"):
                ledger.conn.execute(
                    "INSERT INTO reinitiations (original_entry_id, return_id, attempt, payee_ref,"
                    " company_id, company_name, amount_cents, original_reference,"
                    " retry_reference, planned_date, latest_date, state, reason, planned_by)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    (
                        d["root_id"],
                        d["return_id"],
                        d["attempt"],
                        d["payee_ref"],
                        d["company_id"],
                        d["company_name"],
                        d["amount_cents"],
                        d["original_reference"],
                        d["retry_reference"],
                        d["planned_date"],
                        d["latest_date"],
                        d["state"],
                        d["reason"],
                        actor,
                    ),
                )
        today = {d["return_id"] for d in decided}
    plan = retry_plan_frame(ledger)
    return plan.filter(pl.col("state").eq("planned") | pl.col("return_id").is_in(list(today)))


def retry_plan_frame(ledger: Ledger) -> pl.DataFrame:
    """Every re-initiation decision (RETRY_PLAN_SCHEMA), oldest first."""
    with translate_errors("reading the retry plan"):
        rows = ledger.conn.execute(
            "SELECT r.return_id, t.return_code, r.original_reference, r.retry_reference,"
            " r.attempt, r.payee_ref, r.company_id, r.company_name, r.amount_cents,"
            " r.planned_date, r.latest_date, r.state, r.reason"
            " FROM reinitiations r JOIN returns t ON t.id = r.return_id ORDER BY r.id"
        ).fetchall()
    return pl.DataFrame(rows, schema=RETRY_PLAN_SCHEMA, orient="row")


def retry_transfers(
    ledger: Ledger,
    business_date: date,
    *,
    client_codes: Mapping[str, str] | None = None,
    calendar: BankingCalendar = FED_CALENDAR,
) -> pl.DataFrame:
    """Planned retries due for the build of ``business_date`` as connectFi create rows, for
    the builder: the payee's current (NOC-corrected) routing, account and name, the original
    amount, ``RETRY PYMT``. ``client_codes`` maps company ID → clientCode of the company.

    The frame holds the clear account number (the builder needs it): keep it in memory,
    never print or write it.
    """
    if ledger.protector is None:
        raise StoreError("retry transfers need an AccountProtector ([security] account_key)")
    horizon = calendar.add_banking_days(business_date, 1)
    with translate_errors("reading due retries"):
        rows = ledger.conn.execute(
            "SELECT r.retry_reference, r.planned_date, r.amount_cents, r.company_id,"
            " o.sec_code, o.transaction_code, coalesce(p.individual_name, o.individual_name),"
            " coalesce(p.routing_number, o.rdfi_routing),"
            " coalesce(p.account_ciphertext, o.account_ciphertext), p.account_type,"
            " coalesce(p.identification_number, o.individual_id)"
            " FROM reinitiations r JOIN entries o ON o.id = r.original_entry_id"
            " LEFT JOIN payees p ON p.payee_ref = r.payee_ref"
            " WHERE r.state = 'planned' AND r.planned_date <= %s ORDER BY r.id",
            (horizon,),
        ).fetchall()
    out = []
    for ref, planned, cents, company, sec, code, name, routing, ct, ptype, ident in rows:
        account_type = (ptype or "").capitalize() or _ACCOUNT_TYPE.get(str(code)[0], "Checking")
        out.append(
            {
                "reference": ref,
                "clientCode": (client_codes or {}).get(company),
                "effectiveEntryDate": planned.isoformat() if planned > business_date else "",
                "standardEntryClassCode": sec,
                "individualName": (name or "").strip(),
                "routingNumber": routing,
                "DFIAccountNumber": ledger.protector.decrypt(ct),
                "accountType": account_type,
                "transactionType": "Debit",
                "amount": f"{cents // 100}.{cents % 100:02d}",
                "currency": "USD",
                "companyEntryDescription": RETRY_DESCRIPTION,
                "identificationNumber": (ident or "").strip() or None,
                # the original's Payment Type Code is not in the ledger; a retry is one entry
                "paymentTypeCode": "S" if sec == "WEB" else None,
            }
        )
    schema = dict.fromkeys(TRANSFER_COLUMNS, pl.String)
    return pl.DataFrame(out, schema=schema)
