"""Status-change webhooks reach a real HTTP receiver on loopback."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from sandbox import Scenario
from sandbox.webhooks import DOCUMENTED_FIELDS


@pytest.fixture
def receiver():
    got: list[tuple[dict, dict]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.append((dict(self.headers), json.loads(body) | {"_raw": body.decode()}))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", got
    server.shutdown()
    server.server_close()


def test_one_post_per_status_change_signed(make_sandbox, receiver):
    url, got = receiver
    handle = make_sandbox(scenario=Scenario(webhook_secret="s3cret", webhook_extras=True))
    http = httpx.Client(base_url=handle.base_url, timeout=10)
    token = http.post(
        "/auth/get-token", json={"user": {"login": handle.login, "password": handle.password}}
    ).json()["data"]["token"]
    body = {
        "reference": "wh1",
        "effectiveEntryDate": "2026-03-03",
        "standardEntryClassCode": "WEB",
        "individualName": "John Smith",
        "routingNumber": "053207766",
        "DFIAccountNumber": "123456R01",
        "accountType": "Checking",
        "transactionType": "Debit",
        "amount": 3.15,
        "currency": "USD",
        "companyEntryDescription": "PAYMENT",
        "webhookUrl": url,
    }
    assert (
        http.post(
            "/transfer-to/ach/create", json=body, headers={"x-connectfi-token": token}
        ).status_code
        == 200
    )
    http.close()
    handle.set_clock(datetime(2026, 3, 4, 12, 30, tzinfo=UTC))
    handle.sandbox.webhooks.drain()
    statuses = [b["status"] for _, b in got]
    assert statuses == ["Initiated", "Sent", "Complete", "Settled", "Returned"]
    headers, last = got[-1]
    assert last["returnCode"] == "R01"
    assert set(DOCUMENTED_FIELDS) <= set(last)
    expected = hmac.new(b"s3cret", last["_raw"].encode(), hashlib.sha256).hexdigest()
    assert headers["X-ConnectFi-Signature"] == f"sha256={expected}"
