"""The sandbox's own controls: time, fault-free admin calls, injected outcomes.

Mixed into :class:`sandbox.handlers.Handlers`; kept apart so the documented endpoints read
on their own.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sandbox.calendar import next_banking_day
from sandbox.clock import SandboxClock, central, central_date, iso_ms
from sandbox.ledger import Ledger, Transfer
from sandbox.scenario import NOC_CODE, RETURN_CODE, Scenario

if TYPE_CHECKING:
    from sandbox.handlers import Odfi

STATUSES = ("Initiated", "Sent", "Complete", "Settled", "Returned", "Declined")


class AdminMixin:
    """Clock moves, polling, state dumps, injected returns/NOCs and forced statuses."""

    scenario: Scenario
    clock: SandboxClock
    ledger: Ledger
    odfi: Odfi | None

    # -- time ------------------------------------------------------------------------------
    def tick(self, *, poll: bool = False) -> dict[str, Any]:
        """Let everything due by "now" happen; optionally pick up new uploads first."""
        with self.ledger.lock:
            picked = self.odfi.poll() if (poll and self.odfi) else []
            applied = self.ledger.advance(self.clock.now())
            written = self.odfi.flush() if self.odfi else []
        return {"eventsApplied": applied, "filesPickedUp": picked, "filesWritten": written}

    def advance_to(self, target: datetime) -> dict[str, Any]:
        """Pick up uploads at the current time, then walk the clock to ``target``."""
        with self.ledger.lock:
            if target < self.clock.now() and self._pristine():
                self.clock.reset(target)  # nothing happened yet: start the world earlier
                if self.odfi is not None:
                    self.odfi.rebase()
                return {"eventsApplied": 0, "filesPickedUp": [], "filesWritten": []}
            before = self.tick(poll=True)
            self.clock.set(target)
            after = self.tick(poll=True)
        return {
            "eventsApplied": before["eventsApplied"] + after["eventsApplied"],
            "filesPickedUp": before["filesPickedUp"] + after["filesPickedUp"],
            "filesWritten": before["filesWritten"] + after["filesWritten"],
        }

    def _pristine(self) -> bool:
        """No transfers, no uploads, nothing scheduled: the clock may still be re-based."""
        uploads = getattr(self.odfi, "uploads", 0) if self.odfi else 0
        return not self.ledger.transfers and not self.ledger.events and not uploads

    def admin_clock(self, body: dict[str, Any]) -> dict[str, Any]:
        """GET: the clock. POST ``{"now": iso}`` | ``{"advance": {"days":1,"hours":2}}`` |
        ``{"nextBankingDay": true, "at": "06:30"}`` (Central time)."""
        result: dict[str, Any] = {}
        if "now" in body:
            target = datetime.fromisoformat(str(body["now"]).replace("Z", "+00:00"))
            result = self.advance_to(target)
        elif "advance" in body:
            delta = timedelta(**{k: float(v) for k, v in dict(body["advance"]).items()})
            result = self.advance_to(self.clock.now() + delta)
        elif body.get("nextBankingDay"):
            hh, mm = (int(x) for x in str(body.get("at", "06:00")).split(":"))
            day = next_banking_day(
                central_date(self.clock.now()), extra_closed=self.scenario.extra_closed
            )
            result = self.advance_to(central(day, hh, mm))
        now = self.clock.now()
        return {
            "now": iso_ms(now),
            "centralDate": central_date(now).isoformat(),
            "frozen": self.clock.frozen,
            **result,
        }

    def admin_transfers(self) -> list[dict[str, Any]]:
        self.tick()
        out = []
        for tx in self.ledger.snapshot():
            obj = tx.to_json()
            obj["source"] = tx.source
            obj["history"] = [[iso_ms(t), s] for t, s in tx.history]
            out.append(obj)
        return out

    def admin_poll(self) -> dict[str, Any]:
        return self.tick(poll=True)

    def admin_inject(self, body: dict[str, Any]) -> dict[str, Any]:
        """Make one transfer come back: ``{"reference"|"cFiTransactionId"|"traceNumber": …,
        "code": "R01"|"C01", "at": iso (default now)}``. A file entry gets its return/NOC
        file at that time; the API side changes at the same instant."""
        code = str(body["code"])
        if not (RETURN_CODE.match(code) or NOC_CODE.match(code)):
            raise ValueError(f"code {code!r} is not Rnn or C01-C14")
        at = body.get("at")
        due = datetime.fromisoformat(str(at).replace("Z", "+00:00")) if at else self.clock.now()
        with self.ledger.lock:
            tx = self._find(body)
            if tx.status in ("Initiated", "Declined"):
                raise ValueError(f"{tx.reference} has not been sent (status {tx.status})")
            kind = "return" if code.startswith("R") else "noc"
            self.ledger.schedule_outcome(tx, kind, code, max(due, self.clock.now()))
        result = self.tick()
        return {"cFiTransactionId": tx.cfi_id, "due": iso_ms(due), **result}

    def admin_status(self, body: dict[str, Any]) -> dict[str, Any]:
        """Force a status (e.g. ``Declined``) on one transfer: ``{ref…, "status": …}``."""
        status = str(body["status"])
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")
        with self.ledger.lock:
            tx = self._find(body)
            self.ledger.force_status(tx, status, self.clock.now())
        return tx.to_json()

    def _find(self, body: dict[str, Any]) -> Transfer:
        for key, lookup in (
            ("cFiTransactionId", lambda v: self.ledger.transfers.get(v)),
            ("reference", self.ledger.get_by_reference),
            (
                "traceNumber",
                lambda v: next(
                    (t for t in self.ledger.transfers.values() if t.trace_number == v), None
                ),
            ),
        ):
            if body.get(key):
                tx = lookup(str(body[key]))
                if tx is None:
                    raise KeyError(f"no transfer with {key} {body[key]}")
                return tx
        raise KeyError("name the transfer: cFiTransactionId, reference or traceNumber")
