"""What each endpoint does, as plain synchronous functions over the ledger.

``build_app`` (app.py) wraps them with JSON parsing, auth and the envelope; keeping them
free of HTTP makes the rules readable next to the spec and testable without a server.
"""

from __future__ import annotations

import hmac
import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Protocol

from sandbox import rates
from sandbox.admin import STATUSES, AdminMixin
from sandbox.clock import SandboxClock, central_date
from sandbox.errors import ApiFailure, invalid
from sandbox.ledger import Ledger, Transfer
from sandbox.scenario import Scenario
from sandbox.tokens import Faults, TokenStore
from sandbox.validation import (
    REFERENCE,
    REQUEST_ID,
    TRANSACTION_ID,
    Rule,
    check_schema,
    validate_create,
)

QUERY_MAX = 20
LIST_MAX = 1000
LIST_REFERENCE = re.compile(r"^[0-9a-zA-Z_]+$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
LIST_RULES = (
    Rule("dateCreateFrom", False, str, 10, ISO_DATE),
    Rule("dateCreateTo", False, str, 10, ISO_DATE),
    Rule("numberOfRecords", False, int),
    Rule("skipRecords", False, int),
    Rule("reference", False, str, 36, LIST_REFERENCE),
    Rule("cFiTransactionId", False, str, 36, TRANSACTION_ID),
    Rule("status", False, str, enum=STATUSES),
    Rule("effectiveEntryDateFrom", False, str, 10, ISO_DATE),
    Rule("effectiveEntryDateTo", False, str, 10, ISO_DATE),
    Rule("dtsUpdatedFrom", False, str, 30),
    Rule("dtsUpdatedTo", False, str, 30),
    Rule("requestId", False, str, 32, REQUEST_ID),
)
TOKEN_RULES = (Rule("user", True, dict), Rule("requestId", False, str, 32, REQUEST_ID))
USER_RULES = (
    Rule("login", True, str, 36, TRANSACTION_ID),
    Rule("password", True, str, 50),
)


@dataclass(frozen=True)
class ListPage:
    """One ``/list`` answer, its transactions already encoded (:meth:`Transfer.wire`): the
    HTTP layer splices them into the envelope instead of building and encoding a thousand
    dicts."""

    transactions: list[bytes]
    more: bool

    def to_json(self) -> dict[str, Any]:
        """The same ``data`` as plain JSON values (for callers without the HTTP layer)."""
        return {"transactions": [json.loads(t) for t in self.transactions], "more": self.more}

    def envelope(self, request_id: str) -> bytes:
        """The success envelope's bytes: exactly what encoding ``{"code": "0", "data":
        self.to_json(), "requestId": request_id}`` compactly (the JSON response) gives."""
        return b"".join(
            (
                b'{"code":"0","data":{"transactions":[',
                b",".join(self.transactions),
                b'],"more":',
                b"true" if self.more else b"false",
                b'},"requestId":',
                json.dumps(request_id, ensure_ascii=False).encode(),
                b"}",
            )
        )


class Odfi(Protocol):
    """What the handlers need from the ODFI side (sandbox/odfi.py)."""

    def poll(self) -> list[str]: ...
    def flush(self) -> list[str]: ...
    def rebase(self) -> None: ...


class Handlers(AdminMixin):
    """The sandbox's endpoints over one ledger; thread-safe through the ledger's lock."""

    def __init__(self, scenario: Scenario, clock: SandboxClock) -> None:
        self.scenario = scenario
        self.clock = clock
        self.ledger = Ledger(scenario, clock)
        self.tokens = TokenStore(scenario.token_lifetime_seconds)
        self.faults = Faults()
        self.request_counts: Counter[str] = Counter()
        self.odfi: Odfi | None = None
        # the last /list result: (filters, ledger, its generation, matching transfers)
        self._listing: tuple[tuple[Any, ...], Ledger, tuple[int, int], list[Any]] | None = None

    # -- documented endpoints ---------------------------------------------------------------
    def get_token(self, body: dict[str, Any], _login: str) -> dict[str, Any]:
        check_schema(body, TOKEN_RULES)
        user = check_schema(body["user"], USER_RULES)
        client = self.scenario.client(user["login"])
        if client is None or not _same(client.password, user["password"]):
            raise ApiFailure("unauthorized", "Authentication error", http_status=401)
        token, confined, expire_at = self.tokens.issue(client.login)
        return {"token": token, "confinedToken": confined, "dtsExpireAt": expire_at}

    def _ach_client(self, login: str, client_code: str | None) -> None:
        client = self.scenario.client(login)
        assert client is not None
        codes = client.client_codes
        if not client.ach_enabled or (
            client_code is not None and codes is not None and client_code not in codes
        ):
            ctx: dict[str, Any] = {"cFiAggregatorId": login}
            if client_code is not None:
                ctx["clientCode"] = client_code
            raise ApiFailure(
                "achAttributes",
                "ACH attributes are not configured",
                http_status=404,
                context=ctx,
            )

    def _prepare(self, body: dict[str, Any], login: str) -> tuple[dict[str, Any], datetime]:
        self.tick()
        now = self.clock.now()
        data = validate_create(body, scenario=self.scenario, now=now)
        self._ach_client(login, data.get("clientCode"))
        existing = self.ledger.get_by_reference(data["reference"])
        if existing is not None:
            if existing.source == "file":
                raise ApiFailure(
                    "transactionReference",
                    "Reference is used by another transaction",
                    context={
                        "reference": existing.reference,
                        "cFiTransactionId": existing.cfi_id,
                        "status": existing.status,
                    },
                )
            raise ApiFailure(
                "referenceExists",
                "Transaction with this reference already exists",
                context={"reference": existing.reference, "entityId": existing.cfi_id},
            )
        return data, now

    def _transfer(self, data: dict[str, Any], login: str, now: datetime) -> Transfer:
        return Transfer(
            cfi_id=self.ledger.new_id(login),
            aggregator=login,
            reference=data["reference"],
            source="api",
            created_at=now,
            effective_date=data["effective_date"],
            sec=data["standardEntryClassCode"],
            transaction_type=data["transactionType"],
            account_type=data["accountType"],
            individual_name=data["individualName"],
            routing=data["routingNumber"],
            account=data["DFIAccountNumber"],
            amount_cents=data["amount_cents"],
            description=data["companyEntryDescription"],
            client_code=data.get("clientCode"),
            webhook_url=data.get("webhookUrl"),
            identification_number=data.get("identificationNumber"),
            payment_type_code=data.get("paymentTypeCode"),
            addenda=data.get("addenda"),
        )

    def create(self, body: dict[str, Any], login: str) -> dict[str, Any]:
        with self.ledger.lock:
            data, now = self._prepare(body, login)
            return self.ledger.add(self._transfer(data, login, now)).to_json()

    def validate(self, body: dict[str, Any], login: str) -> dict[str, Any]:
        with self.ledger.lock:
            data, now = self._prepare(body, login)
            return self._transfer(data, login, now).to_json()  # not stored

    def query(self, body: dict[str, Any], _login: str) -> list[dict[str, Any]]:
        self.tick()
        check_schema(
            body,
            (
                Rule("cFiTransactionIds", False, list),
                Rule("references", False, list),
                Rule("requestId", False, str, 32),
            ),
        )
        ids, refs = body.get("cFiTransactionIds"), body.get("references")
        if ids is not None and refs is not None:
            raise ApiFailure(
                "transactionQuery", "Use either cFiTransactionIds or references, not both"
            )
        key, values, pattern, width = (
            ("cFiTransactionIds", ids, TRANSACTION_ID, 36)
            if ids is not None
            else ("references", refs, REFERENCE, 32)
        )
        if values is None:
            raise invalid("/cFiTransactionIds", "required", "cFiTransactionIds or references")
        if not values:
            raise invalid(f"/{key}", "minItems", "Must contain at least 1 item")
        if len(values) > QUERY_MAX:
            raise ApiFailure(
                "greaterMaximumNumberOfRecords",
                f"At most {QUERY_MAX} items per query",
                context={"maxNumberOfRecords": QUERY_MAX, "field": f"/{key}"},
            )
        for i, value in enumerate(values):
            if (
                not isinstance(value, str)
                or not 1 <= len(value) <= width
                or not pattern.match(value)
            ):
                raise invalid(f"/{key}/{i}", "pattern", f"Must match {pattern.pattern}")
        with self.ledger.lock:
            found = []
            for value in dict.fromkeys(values):
                tx = (
                    self.ledger.transfers.get(value)
                    if key == "cFiTransactionIds"
                    else self.ledger.get_by_reference(value)
                )
                if tx is not None:
                    found.append(tx.to_json())
            return found

    def list_(self, body: dict[str, Any], _login: str) -> ListPage:
        self.tick()
        check_schema(body, LIST_RULES)
        size = body.get("numberOfRecords", LIST_MAX)
        skip = body.get("skipRecords", 0)
        if size < 1:
            raise invalid("/numberOfRecords", "minimum", "Must be at least 1")
        if size > LIST_MAX:
            raise ApiFailure(
                "greaterNumberOfRecords",
                "Too many records requested",
                context={"maxNumberOfRecords": LIST_MAX},
            )
        if skip < 0:
            raise invalid("/skipRecords", "minimum", "Must be at least 0")
        lo, hi = _date(body, "dateCreateFrom"), _date(body, "dateCreateTo")
        if lo and hi and (hi < lo or (hi - lo).days + 1 > self.scenario.max_list_span_days):
            raise ApiFailure(
                "badTimeFrameRequest",
                "Time frame is too broad",
                context={"maxDays": self.scenario.max_list_span_days},
            )
        eff_lo, eff_hi = _date(body, "effectiveEntryDateFrom"), _date(body, "effectiveEntryDateTo")
        upd_lo, upd_hi = _ts(body, "dtsUpdatedFrom"), _ts(body, "dtsUpdatedTo")
        with self.ledger.lock:
            want_id = body.get("cFiTransactionId")
            if want_id and want_id not in self.ledger.transfers:
                raise ApiFailure(
                    "transactionNotFound",
                    "Transaction not found",
                    context={"cFiTransactionId": want_id},
                )
            status, reference = body.get("status"), body.get("reference")
            key = (lo, hi, eff_lo, eff_hi, upd_lo, upd_hi, status, reference, want_id)
            cached = self._listing
            if (
                cached is not None
                and cached[0] == key
                and cached[1] is self.ledger
                and cached[2] == self.ledger.generation
            ):
                rows = cached[3]
            else:
                # one pass over the standing order per listing (not one sort per page): a
                # client paging 100,000 transfers asks 100 times with the same filters
                rows = [
                    tx
                    for tx in self.ledger.listing_order()
                    if (lo is None or tx.created_at.date() >= lo)
                    and (hi is None or tx.created_at.date() <= hi)
                    and (eff_lo is None or tx.effective_date >= eff_lo)
                    and (eff_hi is None or tx.effective_date <= eff_hi)
                    and (upd_lo is None or (tx.updated_at or tx.created_at) >= upd_lo)
                    and (upd_hi is None or (tx.updated_at or tx.created_at) <= upd_hi)
                    and status in (None, tx.status)
                    and reference in (None, tx.reference)
                    and want_id in (None, tx.cfi_id)
                ]
                self._listing = (key, self.ledger, self.ledger.generation, rows)
            page = rows[skip : skip + size]
            return ListPage([t.wire() for t in page], skip + size < len(rows))

    def return_rates(self, body: dict[str, Any], login: str) -> list[dict[str, Any]]:
        self.tick()
        check_schema(body, (Rule("date", False, str, 10, ISO_DATE), Rule("requestId", False, str)))
        with self.ledger.lock:
            txs = [t for t in self.ledger.transfers.values() if t.aggregator == login]
        today = central_date(self.clock.now())
        available = rates.available_dates(txs, today)
        if "date" in body and body["date"] is not None:
            day = _date(body, "date")
            assert day is not None
            if day not in available:
                raise ApiFailure(
                    "returnRateNotFound",
                    "Return rate data not found; retry after sufficient time has passed",
                    context={"cFiAggregatorId": login, "date": day.isoformat()},
                )
            return rates.return_rate_records(txs, [day], aggregator=login)
        return rates.return_rate_records(txs, available, aggregator=login)


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def _date(body: dict[str, Any], key: str) -> date | None:
    value = body.get(key)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise invalid(f"/{key}", "format", "Must be a date YYYY-MM-DD") from None


def _ts(body: dict[str, Any], key: str) -> datetime | None:
    value = body.get(key)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(f"/{key}", "format", "Must be an ISO-8601 timestamp") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
