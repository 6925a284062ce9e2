"""``/list`` pages are spliced from each transfer's own encoding (``Transfer.wire``): the
bytes must be the ones the JSON response gave for ``to_json()``, for any field values, and
follow every change of the transfer."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.handlers import ListPage
from sandbox.ledger import Transfer

LIST = "/transfer-to/ach/list"


def response_bytes(value: Any) -> bytes:
    """What starlette's JSONResponse sends for ``value`` (the former /list encoding)."""
    return json.dumps(
        value, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode("utf-8")


def transfer(**changes: Any) -> Transfer:
    fields: dict[str, Any] = {
        "cfi_id": "ACHPIPE_abc",
        "aggregator": "ACHPIPE",
        "reference": "ref1",
        "source": "api",
        "created_at": datetime(2026, 3, 2, 14, 0, 0, 123456, tzinfo=UTC),
        "effective_date": date(2026, 3, 3),
        "sec": "PPD",
        "transaction_type": "Debit",
        "account_type": "Checking",
        "individual_name": "Jane Roe",
        "routing": "053207766",
        "account": "123456789",
        "amount_cents": 315,
        "description": "PAYROLL",
    }
    fields.update(changes)
    return Transfer(**fields)


# Text with what JSON escapes (quotes, backslashes, controls), non-ASCII and astral characters.
texts = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=12)
optional_texts = st.none() | texts
instants = st.datetimes(
    min_value=datetime(1990, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=-6)), timezone(timedelta(hours=9))]),
)
RETURN_CODES = st.none() | st.sampled_from(["R01", "R03", "R10", "R99", "XYZ", ""])


@settings(max_examples=300, deadline=None)
@given(
    reference=texts,
    client_code=optional_texts,
    status=st.sampled_from(["Initiated", "Sent", "Complete", "Settled", "Returned", "Declined"]),
    created_at=instants,
    updated_at=st.none() | instants,
    effective_date=st.dates(),
    account_type=optional_texts,
    individual_name=texts,
    account=texts,
    amount_cents=st.integers(min_value=0, max_value=10**13),
    identification_number=optional_texts,
    webhook_url=optional_texts,
    trace_number=optional_texts,
    settlement_date=st.none() | st.dates(),
    return_code=RETURN_CODES,
    returned_at=st.none() | instants,
    noc_code=optional_texts,
    noc_corrected_data=optional_texts,
)
def test_wire_is_the_json_response_of_to_json(**fields: Any) -> None:
    tx = transfer(**fields)
    assert tx.wire() == response_bytes(tx.to_json())


def test_unusual_values_take_the_general_encoder() -> None:
    """Values outside the usual types (int where a string is expected, float or bool cents)
    are printed as the JSON response printed them."""
    for changes in (
        {"client_code": 42},
        {"amount_cents": 315.0},
        {"amount_cents": True},
        {"individual_name": None},
        {"settlement_date": ""},
        {"trace_number": 91000010000001},
    ):
        tx = transfer(**changes)
        assert tx.wire() == response_bytes(tx.to_json()), changes


def test_the_encoding_follows_every_field_change() -> None:
    tx = transfer()
    changes: dict[str, Any] = {
        "status": "Sent",
        "updated_at": datetime(2026, 3, 3, 12, tzinfo=UTC),
        "trace_number": "091000010000001",
        "settlement_date": date(2026, 3, 4),
        "return_code": "R01",
        "returned_at": datetime(2026, 3, 5, 12, tzinfo=UTC),
        "noc_code": "C01",
        "noc_corrected_data": "123",
        "individual_name": "John Doe",
        "amount_cents": 316,
    }
    for name, value in changes.items():
        before = tx.wire()
        setattr(tx, name, value)  # set from outside the ledger: still seen
        after = tx.wire()
        assert after != before, name
        assert after == response_bytes(tx.to_json()), name


def test_a_list_page_envelope_is_the_json_response_of_the_envelope() -> None:
    txs = [transfer(reference=f"r{i}", individual_name=f'Zoë "{i}" 名前') for i in range(3)]
    for more in (True, False):
        page = ListPage([t.wire() for t in txs], more)
        for request_id in ("abc", 'ünï"code'):
            expected = {"code": "0", "data": page.to_json(), "requestId": request_id}
            assert page.envelope(request_id) == response_bytes(expected)
        assert page.to_json()["transactions"] == [
            json.loads(response_bytes(t.to_json())) for t in txs
        ]


def test_list_over_http_answers_the_transfers_as_to_json(sandbox_server) -> None:
    """The HTTP answer of /list: JSON content type, request id header, and each transaction
    equal to its ``to_json()``, also after a transfer changed between two listings."""
    ledger = sandbox_server.sandbox.ledger
    for i in range(3):
        ledger.add(transfer(cfi_id=f"ACHPIPE_w{i}", reference=f"w{i}", source="file"))
    with httpx.Client(base_url=sandbox_server.base_url, timeout=10) as http:
        token = http.post(
            "/auth/get-token",
            json={"user": {"login": sandbox_server.login, "password": sandbox_server.password}},
        ).json()["data"]["token"]

        def listed() -> tuple[httpx.Response, list[dict[str, Any]]]:
            r = http.post(LIST, json={"requestId": "req1"}, headers={"x-connectfi-token": token})
            return r, r.json()["data"]["transactions"]

        r, rows = listed()
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/json"
        assert r.headers["x-request-id"] == "req1"
        assert r.json()["code"] == "0" and r.json()["requestId"] == "req1"
        assert r.json()["data"]["more"] is False
        by_id = {t.cfi_id: t for t in ledger.snapshot()}
        assert len(rows) == 3
        assert rows == [
            json.loads(response_bytes(by_id[x["cFiTransactionId"]].to_json())) for x in rows
        ]
        ledger.force_status(by_id["ACHPIPE_w1"], "Settled", datetime(2026, 3, 3, tzinfo=UTC))
        _, again = listed()
        changed = next(x for x in again if x["cFiTransactionId"] == "ACHPIPE_w1")
        assert changed["status"] == "Settled"
        assert changed["dtsUpdatedAt"] == "2026-03-03T00:00:00.000Z"
