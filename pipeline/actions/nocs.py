"""Applying Notifications of Change to payees: auto mode, or maker-checker (one person
proposes, another approves — both recorded, never the same person), with the 6-banking-day
deadline (spec banking-calendar §6) and detection of a NOC that comes back for an entry sent
after the correction should already have been applied.

Every NOC gets exactly one ``noc_applications`` row; a malformed corrected data quarantines
that NOC with the parser's rule and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl

from nacha.calendar import FED_CALENDAR, BankingCalendar, noc_apply_deadline
from nacha.corrections import Correction, CorrectionError, parse_correction
from pipeline.actions.payees import (
    Payee,
    ensure_payee_from_entry,
    entry_payee_ref,
    load_payees,
    record_history,
)
from pipeline.actions.settings import ActionsSettings
from pipeline.errors import ConfigError
from pipeline.store.errors import StoreError, translate_errors
from pipeline.store.ledger import Ledger

__all__ = [
    "NOC_APPLICATIONS_SCHEMA",
    "NocOutcome",
    "apply_nocs",
    "approve_noc",
    "noc_applications_frame",
    "propose_noc",
    "reject_noc",
]

NOC_APPLICATIONS_SCHEMA = pl.Schema(
    {
        "application_id": pl.Int64,
        "noc_id": pl.Int64,
        "payee_ref": pl.String,
        "change_code": pl.String,
        "corrected_masked": pl.String,
        "mode": pl.String,
        "state": pl.String,
        "received_date": pl.Date,
        "deadline": pl.Date,
        "banking_days_left": pl.Int64,
        "deadline_status": pl.String,
        "proposed_by": pl.String,
        "decided_by": pl.String,
        "applied_at": pl.Datetime("us", "UTC"),
        "reason": pl.String,
        "repeat_of": pl.Int64,
    }
)


@dataclass
class NocOutcome:
    """Counts of what :func:`apply_nocs` did, and the repeated NOCs it found."""

    applied: int = 0
    queued: int = 0
    quarantined: int = 0
    informational: int = 0
    repeats: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "applied": self.applied,
            "queued": self.queued,
            "quarantined": self.quarantined,
            "informational": self.informational,
            "repeats": len(self.repeats),
        }


def _new_nocs(ledger: Ledger) -> list[dict[str, Any]]:
    cols = (
        "n.id AS noc_id, n.change_code, n.received_date, n.corrected_masked, n.entry_id,"
        " e.reference, e.individual_id, e.individual_name, e.company_id, e.transaction_code,"
        " e.rdfi_routing, e.account_ciphertext, e.account_hash, e.account_last4,"
        " f.creation_date AS sent_date"
    )
    with translate_errors("reading new NOCs"), ledger.conn.cursor() as cur:
        cur.execute(
            f"SELECT {cols} FROM nocs n LEFT JOIN entries e ON e.id = n.entry_id"
            " LEFT JOIN outbound_files f ON f.id = e.outbound_file_id"
            " WHERE NOT EXISTS (SELECT 1 FROM noc_applications a WHERE a.noc_id = n.id)"
            " ORDER BY n.received_date, n.id"
        )
        names = [d.name for d in cur.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _repeat_of(
    ledger: Ledger, payee_id: int, change_code: str, sent_date: date | None, noc_id: int
) -> int | None:
    """An earlier application of the same change for this payee whose deadline (or actual
    application) came before the day this NOC's entry was sent: the correction was due."""
    if sent_date is None:
        return None
    with translate_errors("looking for repeated NOCs"):
        row = ledger.conn.execute(
            "SELECT id FROM noc_applications WHERE payee_id = %s AND change_code = %s"
            " AND noc_id <> %s AND state NOT IN ('quarantined', 'rejected')"
            " AND LEAST(deadline, applied_at::date) < %s ORDER BY id LIMIT 1",
            (payee_id, change_code, noc_id, sent_date),
        ).fetchone()
    return int(row[0]) if row else None


def _insert(ledger: Ledger, **values: Any) -> int:
    cols = ", ".join(values)
    marks = ", ".join(["%s"] * len(values))
    with translate_errors("recording a NOC application"):
        row = ledger.conn.execute(
            f"INSERT INTO noc_applications ({cols}) VALUES ({marks}) RETURNING id",
            tuple(values.values()),
        ).fetchone()
    assert row is not None
    return int(row[0])


def apply_nocs(
    ledger: Ledger,
    business_date: date,
    settings: ActionsSettings,
    *,
    actor: str = "achpipe",
    calendar: BankingCalendar = FED_CALENDAR,
) -> NocOutcome:
    """Give every NOC not seen before its application row, in one transaction.

    Auto mode applies valid corrections at once; maker-checker mode queues them for a
    person to propose and another to approve. Malformed corrected data, a NOC for an entry
    we did not send, or an entry without a payee reference are quarantined with a reason.
    """
    outcome = NocOutcome()
    if ledger.protector is None:
        raise StoreError("applying NOCs needs an AccountProtector ([security] account_key)")
    with ledger.transaction():
        for noc in _new_nocs(ledger):
            deadline = noc_apply_deadline(noc["received_date"], calendar=calendar)
            base: dict[str, Any] = {
                "noc_id": noc["noc_id"],
                "change_code": noc["change_code"],
                "mode": settings.noc_mode,
                "received_date": noc["received_date"],
                "deadline": deadline,
                "corrected_masked": noc["corrected_masked"],
            }
            try:
                correction = parse_correction(
                    noc["change_code"], ledger.decrypt_noc_corrected_data(noc["noc_id"])
                )
            except CorrectionError as exc:
                _insert(ledger, **base, state="quarantined", reason=str(exc), error_rule=exc.rule)
                outcome.quarantined += 1
                continue
            if not correction.payee_fields:
                _insert(
                    ledger,
                    **base,
                    state="informational",
                    reason=f"{correction.change_code}: no payee data to change",
                )
                outcome.informational += 1
                continue
            ref = entry_payee_ref(noc, settings) if noc["entry_id"] is not None else None
            if ref is None:
                why = (
                    "no entry we sent has this original trace number"
                    if noc["entry_id"] is None
                    else "the entry carries no payee reference"
                )
                _insert(ledger, **base, state="quarantined", reason=why, error_rule="noc.no_payee")
                outcome.quarantined += 1
                continue
            payee = ensure_payee_from_entry(ledger, ref, noc, actor=actor)
            repeat = _repeat_of(
                ledger, payee.id, correction.change_code, noc["sent_date"], noc["noc_id"]
            )
            extra = {
                "payee_id": payee.id,
                "fields": list(correction.payee_fields),
                "repeat_of": repeat,
                "repeat_entry_id": noc["entry_id"] if repeat else None,
            }
            if repeat:
                outcome.repeats.append(
                    {
                        "noc_id": noc["noc_id"],
                        "payee_ref": ref,
                        "change_code": correction.change_code,
                        "repeat_of": repeat,
                        "sent_date": noc["sent_date"],
                    }
                )
            if settings.noc_mode == "auto":
                app_id = _insert(ledger, **base, **extra, state="applied", decided_by=actor)
                _apply(ledger, app_id, payee, correction, actor=actor)
                outcome.applied += 1
            else:
                _insert(ledger, **base, **extra, state="queued")
                outcome.queued += 1
    return outcome


def _apply(ledger: Ledger, app_id: int, payee: Payee, c: Correction, *, actor: str) -> None:
    """Write the correction to the payee, with history, and mark the application applied."""
    assert ledger.protector is not None
    sets: dict[str, Any] = {}
    changes: list[tuple[str, Any, Any]] = []
    hashes: dict[str, tuple[bytes | None, bytes | None]] = {}
    if c.routing_number is not None and c.routing_number != payee.routing_number:
        sets["routing_number"] = c.routing_number
        changes.append(("routing_number", payee.routing_number, c.routing_number))
    if c.account_number is not None:
        ct, digest, last4 = ledger.protector.protect(c.account_number)
        if digest != bytes(payee.account_hash):
            sets.update(account_ciphertext=ct, account_hash=digest, account_last4=last4)
            changes.append(("account_number", f"****{payee.account_last4}", f"****{last4}"))
            hashes["account_number"] = (bytes(payee.account_hash), digest)
    if c.account_type is not None and c.account_type != payee.account_type:
        sets["account_type"] = c.account_type
        changes.append(("account_type", payee.account_type, c.account_type))
    if c.individual_name is not None and c.individual_name != payee.individual_name:
        sets["individual_name"] = c.individual_name
        changes.append(("individual_name", payee.individual_name, c.individual_name))
    if c.identification_number is not None and (
        c.identification_number != payee.identification_number
    ):
        sets["identification_number"] = c.identification_number
        changes.append(
            ("identification_number", payee.identification_number, c.identification_number)
        )
    if c.sec_code is not None and c.sec_code != payee.required_sec_code:
        sets["required_sec_code"] = c.sec_code
        changes.append(("required_sec_code", payee.required_sec_code, c.sec_code))
    with translate_errors("applying a NOC"), ledger.conn.transaction():
        if sets:
            assignments = ", ".join(f"{k} = %s" for k in sets)
            ledger.conn.execute(
                f"UPDATE payees SET {assignments}, updated_at = now() WHERE id = %s",
                (*sets.values(), payee.id),
            )
            record_history(
                ledger,
                payee.id,
                changes,
                source="noc",
                source_id=app_id,
                actor=actor,
                hashes=hashes,
                detail={"change_code": c.change_code},
            )
        ledger.conn.execute(
            "UPDATE noc_applications SET state = 'applied', applied_at = now() WHERE id = %s",
            (app_id,),
        )
        noc_id = ledger.conn.execute(
            "SELECT noc_id FROM noc_applications WHERE id = %s", (app_id,)
        ).fetchone()
    assert noc_id is not None
    ledger.mark_noc_applied(int(noc_id[0]))


def _application(ledger: Ledger, app_id: int) -> dict[str, Any]:
    with translate_errors("reading a NOC application"), ledger.conn.cursor() as cur:
        cur.execute(
            "SELECT a.id, a.noc_id, a.state, a.mode, a.proposed_by, a.payee_id, a.change_code,"
            " p.payee_ref FROM noc_applications a LEFT JOIN payees p ON p.id = a.payee_id"
            " WHERE a.id = %s FOR UPDATE OF a",
            (app_id,),
        )
        row = cur.fetchone()
        names = [d.name for d in cur.description or ()]
    if row is None:
        raise ConfigError(f"no NOC application {app_id} (see `achpipe noc list`)")
    return dict(zip(names, row, strict=True))


def _actor(actor: str) -> str:
    if not actor or not actor.strip():
        raise ConfigError("--by is required: maker-checker records who did what")
    return actor.strip()


def propose_noc(ledger: Ledger, app_id: int, *, actor: str, note: str | None = None) -> None:
    """The maker: propose applying a queued NOC (state queued → pending_approval)."""
    actor = _actor(actor)
    with ledger.transaction():
        app = _application(ledger, app_id)
        if app["state"] != "queued":
            raise ConfigError(f"NOC application {app_id} is {app['state']}, not queued")
        ledger.conn.execute(
            "UPDATE noc_applications SET state = 'pending_approval', proposed_by = %s,"
            " proposed_at = now(), reason = %s WHERE id = %s",
            (actor, note, app_id),
        )


def approve_noc(ledger: Ledger, app_id: int, *, actor: str) -> None:
    """The checker: approve a proposed NOC and apply it. The proposer cannot approve."""
    actor = _actor(actor)
    with ledger.transaction():
        app = _application(ledger, app_id)
        if app["state"] != "pending_approval":
            hint = " (propose it first)" if app["state"] == "queued" else ""
            raise ConfigError(f"NOC application {app_id} is {app['state']}{hint}")
        if app["proposed_by"] == actor:
            raise ConfigError(
                f"{actor} proposed NOC application {app_id}; another person must approve it"
            )
        ledger.conn.execute(
            "UPDATE noc_applications SET decided_by = %s, decided_at = now() WHERE id = %s",
            (actor, app_id),
        )
        payee = load_payees(ledger, [app["payee_ref"]])[app["payee_ref"]]
        correction = parse_correction(
            app["change_code"], ledger.decrypt_noc_corrected_data(app["noc_id"])
        )
        _apply(ledger, app_id, payee, correction, actor=actor)


def reject_noc(ledger: Ledger, app_id: int, *, actor: str, reason: str) -> None:
    """Refuse a queued or proposed NOC (the reason is required and recorded)."""
    actor = _actor(actor)
    if not reason.strip():
        raise ConfigError("a rejection needs --reason")
    with ledger.transaction():
        app = _application(ledger, app_id)
        if app["state"] not in ("queued", "pending_approval"):
            raise ConfigError(f"NOC application {app_id} is {app['state']}")
        ledger.conn.execute(
            "UPDATE noc_applications SET state = 'rejected', decided_by = %s,"
            " decided_at = now(), reason = %s WHERE id = %s",
            (actor, reason, app_id),
        )


def noc_applications_frame(
    ledger: Ledger,
    business_date: date,
    *,
    warn_banking_days: int = 2,
    states: tuple[str, ...] | None = None,
    calendar: BankingCalendar = FED_CALENDAR,
) -> pl.DataFrame:
    """NOC applications with their deadline status on ``business_date``:
    ``done`` (applied/informational/rejected), ``missed`` (open past the deadline), ``near``
    (open, ``warn_banking_days`` or fewer banking days left), ``open``; ``quarantined``."""
    with translate_errors("reading NOC applications"):
        rows = ledger.conn.execute(
            "SELECT a.id, a.noc_id, p.payee_ref, a.change_code, a.corrected_masked, a.mode,"
            " a.state, a.received_date, a.deadline, a.proposed_by, a.decided_by, a.applied_at,"
            " a.reason, a.repeat_of FROM noc_applications a"
            " LEFT JOIN payees p ON p.id = a.payee_id"
            " WHERE (%s::text[] IS NULL OR a.state = ANY(%s::text[])) ORDER BY a.deadline, a.id",
            (list(states) if states else None, list(states) if states else None),
        ).fetchall()
    out = []
    for r in rows:
        left = calendar.banking_days_between(business_date, r[8])
        state = r[6]
        if state in ("applied", "informational", "rejected"):
            status = "done"
        elif state == "quarantined":
            status = "missed" if left < 0 else "quarantined"
        elif left < 0:
            status = "missed"
        elif left <= warn_banking_days:
            status = "near"
        else:
            status = "open"
        out.append((*r[:9], left, status, *r[9:]))
    return pl.DataFrame(out, schema=NOC_APPLICATIONS_SCHEMA, orient="row")
