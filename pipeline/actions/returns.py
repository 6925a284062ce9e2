"""Return actions applied at ingest: one audited ``return_actions`` row per return.

The action comes from the data table in :mod:`pipeline.actions.rules` (overridable per
originator). Blocking actions change the payee's status (with history) and cancel retries
planned but not yet sent to it; ``stop_payment`` cancels the planned retries of that
payment; ``retry_allowed`` and ``review`` only record the decision (``achpipe retries plan``
and people act on them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl

from pipeline.actions.payees import (
    Payee,
    ensure_payee_from_entry,
    entry_payee_ref,
    load_payees,
    set_payee_status,
)
from pipeline.actions.rules import ACTION_TEXT, PAYEE_STATUS
from pipeline.actions.settings import ActionsSettings
from pipeline.store.errors import translate_errors
from pipeline.store.ledger import Ledger

__all__ = ["RETURN_ACTIONS_SCHEMA", "ReturnOutcome", "apply_return_actions", "return_actions_frame"]

RETURN_ACTIONS_SCHEMA = pl.Schema(
    {
        "business_date": pl.Date,
        "return_code": pl.String,
        "title": pl.String,
        "reference": pl.String,
        "payee_ref": pl.String,
        "company_id": pl.String,
        "action": pl.String,
        "outcome": pl.String,
        "acted_by": pl.String,
    }
)


@dataclass
class ReturnOutcome:
    """How many returns got each action on this pass."""

    by_action: dict[str, int] = field(default_factory=dict)
    blocked: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"by_action": dict(sorted(self.by_action.items())), "blocked": self.blocked}


def _new_returns(ledger: Ledger) -> list[dict[str, Any]]:
    with translate_errors("reading new returns"), ledger.conn.cursor() as cur:
        cur.execute(
            "SELECT r.id AS return_id, r.return_code, r.entry_id, coalesce(c.title, 'unknown code')"
            " AS title, e.reference, e.individual_id, e.individual_name,"
            " coalesce(e.company_id, r.company_id) AS company_id, e.transaction_code,"
            " e.rdfi_routing, e.account_ciphertext, e.account_hash, e.account_last4"
            " FROM returns r LEFT JOIN entries e ON e.id = r.entry_id"
            " LEFT JOIN return_reason_codes c ON c.code = r.return_code"
            " WHERE r.kind = 'return'"
            " AND NOT EXISTS (SELECT 1 FROM return_actions a WHERE a.return_id = r.id)"
            " ORDER BY r.received_date, r.id"
        )
        names = [d.name for d in cur.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _cancel_retries(ledger: Ledger, *, payee_id: int | None, entry_id: int | None) -> int:
    """Cancel planned (unsent) retries of a payee, or of the chain an entry belongs to."""
    with translate_errors("cancelling planned retries"):
        cur = ledger.conn.execute(
            "UPDATE reinitiations SET state = 'cancelled', updated_at = now()"
            " WHERE state = 'planned' AND ("
            "  (%s::bigint IS NOT NULL"
            "   AND payee_ref = (SELECT payee_ref FROM payees WHERE id = %s))"
            "  OR original_entry_id = %s"
            "  OR original_entry_id = (SELECT original_entry_id FROM reinitiations"
            "                          WHERE entry_id = %s))",
            (payee_id, payee_id, entry_id, entry_id),
        )
        return cur.rowcount


def apply_return_actions(
    ledger: Ledger, business_date: date, settings: ActionsSettings, *, actor: str = "achpipe"
) -> ReturnOutcome:
    """Act on every return (kind ``return``; dishonors/contests are the ODFI's business) not
    acted on before, in one transaction; rerunning is a no-op."""
    outcome = ReturnOutcome()
    with ledger.transaction():
        new = _new_returns(ledger)
        # the payees of the whole pass in one read (a night of a million entries brings
        # thousands of returns); kept current below when a return changes one
        payees = load_payees(
            ledger,
            {
                ref
                for ret in new
                if ret["entry_id"] is not None and (ref := entry_payee_ref(ret, settings))
            },
        )
        audit: list[tuple[Any, ...]] = []
        for ret in new:
            code = ret["return_code"]
            action = settings.action_for(code, ret["company_id"])
            ref = entry_payee_ref(ret, settings) if ret["entry_id"] is not None else None
            payee = None
            if ref:
                payee = payees.get(ref)
                if payee is None:
                    payee = payees[ref] = ensure_payee_from_entry(ledger, ref, ret, actor=actor)
            text = ACTION_TEXT[action]
            if ret["entry_id"] is None:
                result = f"no entry we sent matches this return; {text}"
            elif action in PAYEE_STATUS and payee is None:
                result = f"the entry has no payee reference: cannot block; {text}"
            elif (
                action == "block_until_new_account"
                and payee is not None
                and bytes(payee.account_hash) != bytes(ret["account_hash"])
            ):
                result = "payee's account already changed since this entry: not blocked"
            elif action in PAYEE_STATUS and payee is not None:
                reason = f"{code} {ret['title']}: {text}"
                changed = set_payee_status(
                    ledger,
                    payee.id,
                    PAYEE_STATUS[action],
                    code=code,
                    reason=reason,
                    source="return",
                    source_id=ret["return_id"],
                    actor=actor,
                )
                if changed:
                    _refresh(ledger, payees, payee)
                cancelled = _cancel_retries(ledger, payee_id=payee.id, entry_id=ret["entry_id"])
                result = (
                    f"payee {ref} {PAYEE_STATUS[action]}"
                    if changed
                    else f"payee {ref} was already {payee.status}"
                )
                if cancelled:
                    result += (
                        f"; {cancelled} planned retr{'y' if cancelled == 1 else 'ies'} cancelled"
                    )
                outcome.blocked += int(changed)
            elif action == "stop_payment":
                cancelled = _cancel_retries(ledger, payee_id=None, entry_id=ret["entry_id"])
                result = f"payment {ret['reference']} stopped" + (
                    f"; {cancelled} planned retry cancelled" if cancelled else ""
                )
            else:
                result = text
            audit.append(
                (
                    ret["return_id"],
                    ret["entry_id"],
                    payee.id if payee else None,
                    ret["company_id"],
                    ret["reference"],
                    code,
                    action,
                    result,
                    business_date,
                    actor,
                )
            )
            outcome.by_action[action] = outcome.by_action.get(action, 0) + 1
        if audit:
            with translate_errors("recording return actions"), ledger.conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO return_actions (return_id, entry_id, payee_id, company_id,"
                    " reference, return_code, action, outcome, business_date, acted_by)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    audit,
                )
    return outcome


def _refresh(ledger: Ledger, payees: dict[str, Payee], changed: Payee) -> None:
    """Reload a payee whose status just changed, under every reference that finds it."""
    fresh = load_payees(ledger, [changed.payee_ref]).get(changed.payee_ref)
    if fresh is None:
        return
    for key, value in payees.items():
        if value.id == fresh.id:
            payees[key] = fresh


def return_actions_frame(ledger: Ledger, *, business_date: date | None = None) -> pl.DataFrame:
    """The audit of return actions (RETURN_ACTIONS_SCHEMA), optionally for one day."""
    with translate_errors("reading return actions"):
        rows = ledger.conn.execute(
            "SELECT a.business_date, a.return_code, coalesce(c.title, 'unknown code'),"
            " a.reference, p.payee_ref, a.company_id, a.action, a.outcome, a.acted_by"
            " FROM return_actions a LEFT JOIN payees p ON p.id = a.payee_id"
            " LEFT JOIN return_reason_codes c ON c.code = a.return_code"
            " WHERE (%s::date IS NULL OR a.business_date = %s::date) ORDER BY a.id",
            (business_date, business_date),
        ).fetchall()
    return pl.DataFrame(rows, schema=RETURN_ACTIONS_SCHEMA, orient="row")
