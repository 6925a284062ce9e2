"""The sandbox's memory: transfers, their lifecycle events, and the due-event queue.

All state sits behind one lock (requests are served from a thread pool and the ODFI watcher
runs in its own thread). Time only moves when the clock does: :meth:`Ledger.advance`
applies every event due up to "now", in order, so a test that jumps three days sees the same
history as a demo that waits three days.

Lifecycle (spec §6.1, §10)::

    API transfers:  Initiated -> Sent (next file cut: 09:35, 13:00, 16:00, 19:35 CT)
                    -> Complete (cut + 15 min) -> Settled (settlement day 07:30 CT,
                    same-day: 12:00 CT) -> Returned (scenario, 06:00 CT k banking days later)
                    amount 0.13 -> Declined at the cut.
    File entries:   Sent + Complete at pickup (accepted file) -> Settled -> Returned / NOC,
                    the return and NOC files written by the ODFI at the same instant.
"""

from __future__ import annotations

import heapq
import itertools
import json
import operator
import secrets
import string
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from nacha.codes import RETURN_BY_CODE
from sandbox.calendar import is_banking_day, next_banking_day, on_or_after
from sandbox.clock import SandboxClock, central, central_date, iso_ms
from sandbox.corrections import corrected_data, transaction_code_of
from sandbox.scenario import EXTENDED_RETURNS, Outcome, Scenario

FILE_CUTS = ((9, 35), (13, 0), (16, 0), (19, 35))  # Central
_ALNUM = string.ascii_letters + string.digits


@dataclass
class Transfer:
    """One transaction as connectFi knows it (plus what the ODFI needs to answer for it)."""

    cfi_id: str
    aggregator: str
    reference: str
    source: str  # "api" | "file"
    created_at: datetime
    effective_date: date
    sec: str
    transaction_type: str  # Credit | Debit
    account_type: str | None
    individual_name: str
    routing: str
    account: str
    amount_cents: int
    description: str
    client_code: str | None = None
    currency: str = "USD"
    webhook_url: str | None = None
    identification_number: str | None = None
    payment_type_code: str | None = None
    addenda: str | None = None
    status: str = "Initiated"
    updated_at: datetime | None = None
    trace_number: str | None = None
    settlement_date: date | None = None
    return_code: str | None = None
    returned_at: datetime | None = None
    return_settlement_date: date | None = None
    noc_code: str | None = None
    noc_corrected_data: str | None = None
    transaction_code: str | None = None  # NACHA code for file entries
    company_name: str | None = None
    company_id: str | None = None
    file_key: str | None = None  # which upload it came from (ODFI side)
    history: list[tuple[datetime, str]] = field(default_factory=list)

    @property
    def is_debit(self) -> bool:
        return self.transaction_type == "Debit"

    def to_json(self) -> dict[str, Any]:
        """The transaction object of spec §3.2 (amount as a JSON number in dollars)."""
        return {
            "cFiTransactionId": self.cfi_id,
            "cFiAggregatorId": self.aggregator,
            "reference": self.reference,
            "clientCode": self.client_code,
            "status": self.status,
            "dtsCreatedAt": iso_ms(self.created_at),
            "dtsUpdatedAt": iso_ms(self.updated_at or self.created_at),
            "effectiveEntryDate": self.effective_date.isoformat(),
            "standardEntryClassCode": self.sec,
            "transactionType": self.transaction_type,
            "accountType": self.account_type,
            "individualName": self.individual_name,
            "routingNumber": self.routing,
            "DFIAccountNumber": self.account,
            "amount": _Money(self.amount_cents),
            "currency": self.currency,
            "companyEntryDescription": self.description,
            "identificationNumber": self.identification_number,
            "webhookUrl": self.webhook_url,
            "traceNumber": self.trace_number,
            "settlementDate": self.settlement_date.isoformat() if self.settlement_date else None,
            "returnCode": self.return_code,
            "returnReason": _reason(self.return_code),
            "dtsReturnedAt": iso_ms(self.returned_at),
            "nocCode": self.noc_code,
            "nocCorrectedData": self.noc_corrected_data,
        }

    def wire(self) -> bytes:
        """:meth:`to_json` as the API encodes it: the bytes of
        ``json.dumps(to_json(), ensure_ascii=False, separators=(",", ":"))``, built without
        the dict (a third of the former cost of a ``/list`` page). Not kept between calls:
        keeping a million encodings (~1 GB, two million more objects for the collector) made
        the nightly bench's first listing slower than encoding again."""
        try:
            text = _wire_text(self)
        except Exception:
            # an unusual value (not a str, not int cents …): the general encoder, which
            # prints it, or raises, exactly as the JSON response always did
            text = _ENCODER.encode(self.to_json())
        return text.encode()


#: what the JSON response uses (starlette's JSONResponse settings)
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
_str = json.encoder.encode_basestring  # the string encoder _ENCODER uses (C when available)


def _opt(value: str | None) -> str:
    return "null" if value is None else _str(value)


def _opt_ts(value: datetime | None) -> str:
    return "null" if value is None else _str(iso_ms(value))  # type: ignore[arg-type]


def _wire_text(t: Transfer) -> str:
    """``to_json()`` encoded field by field (no dict, one string): what ``_ENCODER`` prints
    for the usual values — str or None where the spec has a string, int cents. Anything else
    raises TypeError, and :meth:`Transfer.wire` encodes the object the general way."""
    if type(t.amount_cents) is not int:
        raise TypeError("amount_cents is not an int")
    settled = t.settlement_date
    return (
        f'{{"cFiTransactionId":{_str(t.cfi_id)},"cFiAggregatorId":{_str(t.aggregator)}'
        f',"reference":{_str(t.reference)},"clientCode":{_opt(t.client_code)}'
        f',"status":{_str(t.status)},"dtsCreatedAt":{_opt_ts(t.created_at)}'
        f',"dtsUpdatedAt":{_opt_ts(t.updated_at or t.created_at)}'
        f',"effectiveEntryDate":{_str(t.effective_date.isoformat())}'
        f',"standardEntryClassCode":{_str(t.sec)},"transactionType":{_str(t.transaction_type)}'
        f',"accountType":{_opt(t.account_type)},"individualName":{_str(t.individual_name)}'
        f',"routingNumber":{_str(t.routing)},"DFIAccountNumber":{_str(t.account)}'
        f',"amount":{float.__repr__(t.amount_cents / 100)},"currency":{_str(t.currency)}'
        f',"companyEntryDescription":{_str(t.description)}'
        f',"identificationNumber":{_opt(t.identification_number)}'
        f',"webhookUrl":{_opt(t.webhook_url)},"traceNumber":{_opt(t.trace_number)}'
        f',"settlementDate":{_str(settled.isoformat()) if settled else "null"}'
        f',"returnCode":{_opt(t.return_code)},"returnReason":{_opt(_reason(t.return_code))}'
        f',"dtsReturnedAt":{_opt_ts(t.returned_at)},"nocCode":{_opt(t.noc_code)}'
        f',"nocCorrectedData":{_opt(t.noc_corrected_data)}}}'
    )


def noc_corrected_data(tx: Transfer, code: str) -> str:
    """The positioned 29-character corrected data of a NOC for ``tx`` (one definition for
    the API's ``nocCorrectedData`` and the COR file's addenda 98)."""
    return corrected_data(
        code,
        reference=tx.reference,
        routing=tx.routing,
        account=tx.account,
        transaction_code=tx.transaction_code or transaction_code_of(tx.account_type, tx.is_debit),
        individual_name=tx.individual_name,
        identification_number=tx.identification_number,
        company_name=tx.company_name or "",
        company_id=tx.company_id or "",
    )


def _reason(code: str | None) -> str | None:
    known = RETURN_BY_CODE.get(code or "")
    return known.description if known else code


class _Money(float):
    """Cents as a JSON number in dollars: ``cents / 100`` is correctly rounded and its repr
    is the exact two-decimal text, so the JSON encoder prints e.g. ``3.15``."""

    def __new__(cls, cents: int) -> _Money:
        return super().__new__(cls, cents / 100)


@dataclass(order=True)
class Event:
    due: datetime
    seq: int
    kind: str = field(compare=False)  # send | complete | settle | return | noc
    cfi_id: str = field(compare=False)
    code: str | None = field(compare=False, default=None)


class Ledger:
    """Transfers, tokens and due events; every public method takes the lock."""

    def __init__(self, scenario: Scenario, clock: SandboxClock) -> None:
        self.scenario = scenario
        self.clock = clock
        self.lock = threading.RLock()
        self.transfers: dict[str, Transfer] = {}
        self.by_reference: dict[str, str] = {}
        self.events: list[Event] = []
        self._seq = itertools.count()
        self.on_outcome: list[Callable[[Transfer, str, str, datetime], None]] = []
        self.on_change: list[Callable[[Transfer], None]] = []
        self._added = 0  # transfers stored so far: the generation of the listing order
        self._changes = 0  # status / update-time / NOC changes so far (listing caches)
        self._ordered: tuple[int, list[Transfer]] = (-1, [])

    # -- creation ----------------------------------------------------------------------------
    def new_id(self, aggregator: str) -> str:
        return f"{aggregator}_" + "".join(secrets.choice(_ALNUM) for _ in range(22))

    def add(self, tx: Transfer) -> Transfer:
        """Store a new transfer and schedule its lifecycle (caller checked the reference)."""
        with self.lock:
            self.transfers[tx.cfi_id] = tx
            self.by_reference[tx.reference] = tx.cfi_id
            self._added += 1
            tx.updated_at = tx.created_at
            tx.history.append((tx.created_at, tx.status))
            for hook in self.on_change:
                hook(tx)
            if tx.source == "api":
                cut = self.next_cut(tx.created_at)
                self._schedule(cut, "send", tx.cfi_id)
            return tx

    def add_file_entries(self, txs: Iterable[Transfer], *, picked_up: datetime) -> None:
        """Entries of an accepted upload: Sent and Complete now, settlement and fate queued."""
        with self.lock:
            for tx in txs:
                tx.status = "Sent"
                self.add(tx)
                self._set_status(tx, "Complete", picked_up)
                self._schedule_settlement(tx, processed=picked_up)

    def listing_order(self) -> list[Transfer]:
        """Every transfer newest first (``created_at`` descending, then ``cfi_id``), as
        ``/list`` pages them. Both keys never change once a transfer is stored, so the order
        is sorted once per batch of additions, not once per page (a 100-page listing of
        100,000 transfers sorted them 100 times). Caller holds the lock."""
        if self._ordered[0] != self._added:
            # attrgetter keys: the same two stable sorts, the key calls in C
            rows = sorted(self.transfers.values(), key=operator.attrgetter("cfi_id"))
            rows.sort(key=operator.attrgetter("created_at"), reverse=True)
            self._ordered = (self._added, rows)
        return self._ordered[1]

    @property
    def generation(self) -> tuple[int, int]:
        """Changes every time a transfer is stored or changes status, update time or NOC:
        a listing computed at one generation is still exact at the same generation."""
        return (self._added, self._changes)

    def next_cut(self, after: datetime) -> datetime:
        """The first file cut at or after ``after`` on a banking day."""
        day = central_date(after)
        while True:
            if is_banking_day(day, extra_closed=self.scenario.extra_closed):
                for hour, minute in FILE_CUTS:
                    cut = central(day, hour, minute)
                    if cut >= after:
                        return cut
            day += timedelta(days=1)

    # -- time --------------------------------------------------------------------------------
    def advance(self, now: datetime) -> int:
        """Apply every event due at or before ``now``; returns how many were applied."""
        applied = 0
        with self.lock:
            while self.events and self.events[0].due <= now:
                event = heapq.heappop(self.events)
                self._apply(event)
                applied += 1
        return applied

    def _schedule(self, due: datetime, kind: str, cfi_id: str, code: str | None = None) -> None:
        heapq.heappush(self.events, Event(due, next(self._seq), kind, cfi_id, code))

    def _apply(self, event: Event) -> None:
        tx = self.transfers[event.cfi_id]
        if tx.status in ("Returned", "Declined") and event.kind != "noc":
            return
        if event.kind == "send":
            if tx.amount_cents == self.scenario.decline_amount_cents:
                self._set_status(tx, "Declined", event.due)
                return
            tx.trace_number = tx.trace_number or self._api_trace(tx)
            self._set_status(tx, "Sent", event.due)
            self._schedule(event.due + timedelta(minutes=15), "complete", tx.cfi_id)
        elif event.kind == "complete":
            self._set_status(tx, "Complete", event.due)
            self._schedule_settlement(tx, processed=event.due)
        elif event.kind == "settle":
            if tx.status == "Complete":
                self._set_status(tx, "Settled", event.due)
        elif event.kind == "return":
            assert event.code is not None
            tx.return_code = event.code
            tx.returned_at = event.due
            tx.return_settlement_date = central_date(event.due)
            self._set_status(tx, "Returned", event.due)
            self._notify_outcome(tx, "return", event.code, event.due)
        elif event.kind == "noc":
            assert event.code is not None
            tx.noc_code = event.code
            tx.noc_corrected_data = noc_corrected_data(tx, event.code).rstrip()
            tx.updated_at = event.due
            self._changes += 1
            self._notify_outcome(tx, "noc", event.code, event.due)
            for hook in self.on_change:
                hook(tx)

    def _notify_outcome(self, tx: Transfer, kind: str, code: str, when: datetime) -> None:
        for hook in self.on_outcome:
            hook(tx, kind, code, when)

    def _schedule_settlement(self, tx: Transfer, *, processed: datetime) -> None:
        closed = self.scenario.extra_closed
        day = central_date(processed)
        wanted = on_or_after(tx.effective_date, extra_closed=closed)
        if wanted > day:
            settle_day, settle_at = wanted, central(wanted, 7, 30)
        elif wanted == day and processed <= central(day, 10, 0):  # 09:35 cut + ack
            settle_day, settle_at = day, central(day, 12, 0)  # same-day window
        else:  # stale or past date: the operator settles it the next banking day
            settle_day = next_banking_day(day, extra_closed=closed)
            settle_at = central(settle_day, 7, 30)
        tx.settlement_date = settle_day
        self._schedule(settle_at, "settle", tx.cfi_id)
        outcome = self.scenario.outcome(
            reference=tx.reference, account_number=tx.account, is_debit=tx.is_debit
        )
        if outcome is not None:
            self._schedule_outcome(tx, outcome, settle_day)

    def schedule_outcome(self, tx: Transfer, kind: str, code: str, due: datetime) -> None:
        """Admin: a return (``kind="return"``) or NOC for ``tx`` at ``due``."""
        with self.lock:
            self._schedule(due, kind, tx.cfi_id, code)

    def force_status(self, tx: Transfer, status: str, when: datetime) -> None:
        """Admin: set a status by hand (history and webhooks as for a real change)."""
        with self.lock:
            self._set_status(tx, status, when)

    def _schedule_outcome(self, tx: Transfer, outcome: Outcome, settle_day: date) -> None:
        s = self.scenario
        if outcome.kind == "return":
            delay = (
                s.extended_return_delay_days
                if outcome.code in EXTENDED_RETURNS
                else s.return_delay_days
            )
        else:
            delay = s.noc_delay_days
        due_day = next_banking_day(settle_day, n=max(1, delay), extra_closed=s.extra_closed)
        self._schedule(central(due_day, 6, 0), outcome.kind, tx.cfi_id, outcome.code)

    def _set_status(self, tx: Transfer, status: str, when: datetime) -> None:
        tx.status = status
        tx.updated_at = when
        self._changes += 1
        tx.history.append((when, status))
        for hook in self.on_change:
            hook(tx)

    def _api_trace(self, tx: Transfer) -> str:
        """connectFi's own files: ODFI routing 8 digits + a 7-digit sequence."""
        return "09100001" + f"{len(self.transfers) + next(self._seq):07d}"[-7:]

    # -- reads -------------------------------------------------------------------------------
    def get_by_reference(self, reference: str) -> Transfer | None:
        with self.lock:
            cfi_id = self.by_reference.get(reference)
            return self.transfers.get(cfi_id) if cfi_id else None

    def snapshot(self) -> list[Transfer]:
        with self.lock:
            return list(self.transfers.values())
