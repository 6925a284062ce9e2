"""Status-change webhooks, as connectFi documents them: one POST per change, no retries.

Optional extensions from the spec (§6.2) are scenario flags: ``webhook_secret`` adds
``X-ConnectFi-Signature: sha256=<hex HMAC of the raw body>``, ``webhook_extras`` adds return
and NOC fields. Delivery happens on a worker thread so the ledger lock is never held across
network I/O; failures are logged and dropped (the pipeline polls; webhooks are hints).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import threading

import httpx

from sandbox.ledger import Transfer

log = logging.getLogger("sandbox.webhooks")

DOCUMENTED_FIELDS = (
    "cFiTransactionId",
    "reference",
    "cFiAggregatorId",
    "status",
    "dtsCreatedAt",
    "effectiveEntryDate",
    "individualName",
    "routingNumber",
    "amount",
    "currency",
    "DFIAccountNumber",
)
EXTRA_FIELDS = (
    "returnCode",
    "returnReason",
    "nocCode",
    "nocCorrectedData",
    "traceNumber",
    "dtsUpdatedAt",
)


class WebhookSender:
    """Queue status changes of transfers that asked for a webhook; POST them in order."""

    def __init__(self, *, secret: str | None = None, extras: bool = False) -> None:
        self.secret = secret
        self.extras = extras
        self.sent = 0
        self.failed = 0
        self._queue: queue.Queue[tuple[str, bytes] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
        self._thread.start()

    def on_change(self, tx: Transfer) -> None:
        """Ledger hook (called under the ledger lock: only serialise and enqueue)."""
        if not tx.webhook_url:
            return
        obj = tx.to_json()
        fields = DOCUMENTED_FIELDS + (EXTRA_FIELDS if self.extras else ())
        body = json.dumps({k: obj[k] for k in fields}).encode()
        self._queue.put((tx.webhook_url, body))

    def _run(self) -> None:
        with httpx.Client(timeout=5) as http:
            while (item := self._queue.get()) is not None:
                url, body = item
                headers = {"Content-Type": "application/json"}
                if self.secret:
                    digest = hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
                    headers["X-ConnectFi-Signature"] = f"sha256={digest}"
                try:
                    response = http.post(url, content=body, headers=headers)
                    ok = response.status_code < 300
                except httpx.HTTPError as exc:
                    log.warning("webhook to %s failed: %s", url, exc)
                    ok = False
                self.sent += ok
                self.failed += not ok
                self._queue.task_done()

    def drain(self, timeout: float = 10.0) -> None:
        """Wait until everything queued so far was attempted (tests, shutdown)."""
        done = threading.Event()

        def waiter() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=waiter, daemon=True).start()
        done.wait(timeout)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)
