"""connectFi client over real HTTP against the sandbox on loopback."""

from __future__ import annotations

import socket
import threading
import time
from datetime import date, timedelta

import pytest

from pipeline.api import (
    TRANSFER_SCHEMA,
    ApiSettings,
    ConnectFiClient,
    ConnectFiUnavailable,
    TransferRequest,
    WrongAmount,
)
from pipeline.errors import EXIT_LOCKED, TransientError
from sandbox import Scenario

QUERY = "/transfer-to/ach/query"
LIST = "/transfer-to/ach/list"
CREATE = "/transfer-to/ach/create"
TOKEN = "/auth/get-token"


def transfer(ref: str, *, cents: int = 315, debit: bool = True) -> TransferRequest:
    return TransferRequest(
        reference=ref,
        amount_cents=cents,
        effective_entry_date=date(2026, 3, 3),
        sec_code="WEB",
        individual_name="John Smith",
        routing_number="053207766",
        account_number="123456789",
        account_type="Checking",
        transaction_type="Debit" if debit else "Credit",
        company_entry_description="PAYMENT",
        identification_number=ref[:15],
    )


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(sandbox_server, sleeps):
    settings = ApiSettings.from_mapping(sandbox_server.api_section())
    with ConnectFiClient(settings, sleep=sleeps.append) as c:
        yield c


def make_transfers(client: ConnectFiClient, n: int) -> list[str]:
    return [
        client.create_transfer(transfer(f"ref{i:03d}"))["cfi_transaction_id"][0] for i in range(n)
    ]


def test_create_returns_initiated_transfer_in_cents(client):
    frame = client.create_transfer(transfer("inv1001", cents=123456789))
    assert frame.schema == TRANSFER_SCHEMA
    row = frame.row(0, named=True)
    assert row["status"] == "Initiated"
    assert row["amount_cents"] == 123456789
    assert row["reference"] == "inv1001"
    assert row["dfi_account_masked"] == "*****6789"
    assert row["cfi_transaction_id"].startswith("ACHPIPE_")


def test_validate_does_not_store(client):
    assert client.validate_transfer(transfer("pre1"))["status"][0] == "Initiated"
    assert client.query(references=["pre1"]).height == 0


def test_token_is_cached_then_renewed_before_expiry(make_sandbox, sleeps):
    sb = make_sandbox(scenario=Scenario(token_lifetime_seconds=3.0))
    client = ConnectFiClient(ApiSettings.from_mapping(sb.api_section()), sleep=sleeps.append)
    with client:
        client.query(references=["nothing"])
        client.query(references=["nothing"])
        assert client.stats["token_renewals"] == 1
        time.sleep(3.05)  # past expiry: the client must renew on its own, not meet a 401
        client.query(references=["nothing"])
    counts = sb.request_counts()
    assert client.stats["token_renewals"] == 2
    assert counts[TOKEN] == 2
    assert counts.get(f"{QUERY} 401", 0) == 0
    assert counts[f"{QUERY} 200"] == 3


def test_revoked_token_is_renewed_once_on_401(sandbox_server, client):
    client.query(references=["x1"])
    sandbox_server.admin("POST", "/sandbox/tokens/revoke")
    assert client.query(references=["x1"]).height == 0
    counts = sandbox_server.request_counts()
    assert counts[f"{QUERY} 401"] == 1
    assert counts[TOKEN] == 2


def test_query_45_ids_is_3_requests(sandbox_server, client):
    ids = make_transfers(client, 45)
    sandbox_server.admin("DELETE", "/sandbox/requests")
    frame = client.query(ids=ids + ids[:5])  # duplicates are dropped before chunking
    assert frame.height == 45
    assert set(frame["cfi_transaction_id"]) == set(ids)
    assert sandbox_server.request_counts()[QUERY] == 3


def test_query_by_references_skips_unknown(client):
    make_transfers(client, 3)
    frame = client.query(references=["ref000", "nope", "ref002"])
    assert sorted(frame["reference"]) == ["ref000", "ref002"]


def test_query_refuses_ids_and_references_together(client):
    with pytest.raises(ValueError, match="not both"):
        client.query(ids=["A_1"], references=["r1"])


def test_list_reads_every_page(sandbox_server, client):
    ids = make_transfers(client, 45)
    sandbox_server.admin("DELETE", "/sandbox/requests")
    frame = client.list_transfers(page_size=20)
    assert frame.height == 45
    assert set(frame["cfi_transaction_id"]) == set(ids)
    assert frame["cfi_transaction_id"].n_unique() == 45
    assert sandbox_server.request_counts()[LIST] == 3  # 20 + 20 + 5


def test_list_splits_wide_date_ranges(sandbox_server, client):
    make_transfers(client, 2)
    sandbox_server.admin("DELETE", "/sandbox/requests")
    frame = client.list_transfers(
        created_from=date(2025, 9, 1), created_to=date(2026, 3, 31), status="Initiated"
    )
    assert frame.height == 2
    assert sandbox_server.request_counts()[LIST] == 3  # 212 days -> 93 + 93 + 26


def test_list_filters_by_status_after_days_pass(sandbox_server, client):
    make_transfers(client, 3)
    sandbox_server.advance(days=1, hours=2)  # past the cut and settlement on 2026-03-03
    assert client.list_transfers(status="Settled").height == 3
    assert client.list_transfers(status="Initiated").height == 0


def test_retries_503_then_succeeds(sandbox_server, client, sleeps):
    sandbox_server.admin("POST", "/sandbox/faults", {"path": QUERY, "status": 503, "count": 2})
    assert client.query(references=["r1"]).height == 0
    counts = sandbox_server.request_counts()
    assert counts[f"{QUERY} 503"] == 2
    assert counts[f"{QUERY} 200"] == 1
    assert len(sleeps) == 2
    assert all(0 < s <= 0.05 for s in sleeps)


def test_retries_are_bounded(sandbox_server, client, sleeps):
    sandbox_server.admin("POST", "/sandbox/faults", {"path": QUERY, "status": 502, "count": 9})
    with pytest.raises(ConnectFiUnavailable) as info:
        client.query(references=["r1"])
    assert info.value.attempts == 4
    assert info.value.http_status == 502
    assert isinstance(info.value, TransientError)
    assert info.value.exit_code == EXIT_LOCKED
    assert sandbox_server.request_counts()[f"{QUERY} 502"] == 4
    assert len(sleeps) == 3


def test_429_honours_retry_after_within_bound(sandbox_server, client, sleeps):
    sandbox_server.admin(
        "POST", "/sandbox/faults", {"path": QUERY, "status": 429, "count": 1, "retryAfter": 30}
    )
    client.query(references=["r1"])
    assert sleeps == [0.05]  # Retry-After 30 s capped at backoff_max


def test_no_retry_on_400(sandbox_server, client, sleeps):
    with pytest.raises(WrongAmount):
        client.post(CREATE, {**transfer("bad1").to_json(), "amount": 1.225})
    assert sandbox_server.request_counts()[f"{CREATE} 400"] == 1
    assert sandbox_server.request_counts()[CREATE] == 1
    assert sleeps == []


def test_create_whose_answer_was_lost_returns_the_stored_transfer(sandbox_server, client):
    sandbox_server.admin(
        "POST", "/sandbox/faults", {"path": CREATE, "status": 503, "count": 1, "after": True}
    )
    frame = client.create_transfer(transfer("lost1"))
    assert frame["reference"][0] == "lost1"
    assert client.list_transfers().height == 1  # created once, not twice


def test_connection_refused_is_retried_then_transient(sleeps):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = ApiSettings.from_mapping(
        {
            "base_url": f"http://127.0.0.1:{port}",
            "client_id": "ACHPIPE",
            "client_secret": "x",
            "max_attempts": 3,
            "backoff_initial": 0.01,
            "backoff_max": 0.02,
            "timeout": 2,
        }
    )
    with (
        ConnectFiClient(settings, sleep=sleeps.append) as c,
        pytest.raises(ConnectFiUnavailable, match="ConnectError") as info,
    ):
        c.query(references=["r1"])
    assert info.value.attempts == 3
    assert len(sleeps) == 2


def test_read_timeout_is_retried(sleeps):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts connections into the backlog, never answers
    port = listener.getsockname()[1]
    settings = ApiSettings.from_mapping(
        {
            "base_url": f"http://127.0.0.1:{port}",
            "client_id": "ACHPIPE",
            "client_secret": "x",
            "max_attempts": 2,
            "backoff_initial": 0.01,
            "backoff_max": 0.02,
            "timeouts": {"connect": 1, "read": 0.2},
        }
    )
    try:
        with (
            ConnectFiClient(settings, sleep=sleeps.append) as c,
            pytest.raises(ConnectFiUnavailable, match="ReadTimeout"),
        ):
            c.query(references=["r1"])
    finally:
        listener.close()
    assert len(sleeps) == 1


def test_backoff_grows_and_stays_bounded(sandbox_server):
    settings = ApiSettings.from_mapping(
        sandbox_server.api_section(backoff_initial=0.5, backoff_max=4.0, max_attempts=10)
    )
    c = ConnectFiClient(settings)
    delays = [c._backoff(n, None) for n in range(1, 9)]
    c.close()
    caps = [min(4.0, 0.5 * 2 ** (n - 1)) for n in range(1, 9)]
    assert all(cap / 2 <= d <= cap for d, cap in zip(delays, caps, strict=True))


def test_client_is_thread_safe_for_token_use(client):
    make_transfers(client, 2)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(5):
                assert client.query(references=["ref000", "ref001"]).height == 2
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert client.stats["token_renewals"] == 1


def test_return_rates_frame(sandbox_server, client):
    client.create_transfer(transfer("rr1"))
    sandbox_server.advance(days=2)
    frame = client.return_rates(date(2026, 3, 4))
    assert frame.height == 1
    row = frame.row(0, named=True)
    assert row["max_date"] == date(2026, 3, 3)
    assert row["min_date"] == date(2026, 3, 4) - timedelta(days=60)
    assert row["debit_entries"] == 1
    assert row["unauthorized_threshold"] == 0.5


def test_duplicate_create_without_retry_is_refused(client):
    from pipeline.api import ReferenceExists

    client.create_transfer(transfer("twice"))
    with pytest.raises(ReferenceExists) as info:
        client.create_transfer(transfer("twice"))
    assert info.value.context["reference"] == "twice"


def test_list_converts_in_batches_to_the_frame_of_one_conversion(
    sandbox_server, client, monkeypatch
):
    """Objects are turned into frames CONVERT_EVERY at a time while the pages come in; the
    result is the frame the former single conversion of every listed object gave."""
    import pipeline.api.client as client_module
    from pipeline.api.frames import transfers_frame

    make_transfers(client, 23)
    sandbox_server.advance(days=1, hours=2)  # statuses, traces and settlement dates set
    seen: list[list[object]] = []
    real_pages = client_module.ConnectFiClient._pages

    def recording_pages(self, filters, size):
        for record in real_pages(self, filters, size):
            seen.append(record)
            yield record

    monkeypatch.setattr(client_module.ConnectFiClient, "_pages", recording_pages)
    whole = client.list_transfers(page_size=4)
    expected = client_module._dedupe(transfers_frame(list(seen)))
    for every in (1, 5, 7, 23, 50):
        seen.clear()
        monkeypatch.setattr(client_module, "CONVERT_EVERY", every)
        assert client.list_transfers(page_size=4).equals(expected), every
    assert whole.equals(expected) and whole.height == 23


def test_a_bad_object_is_reported_after_paging_as_before(sandbox_server, client, monkeypatch):
    """A batch that does not convert is converted again with everything after it at the end:
    a later paging error still wins, and otherwise the same error comes out."""
    import pipeline.api.client as client_module
    from pipeline.api.errors import ConnectFiProtocolError

    make_transfers(client, 9)
    monkeypatch.setattr(client_module, "CONVERT_EVERY", 2)
    real_call_list = client_module.ConnectFiClient._call_list
    calls: list[int] = []

    def broken_second_page(self, body):
        records, more = real_call_list(self, body)
        calls.append(len(records))
        if len(calls) == 2:
            records = [{"no": "id"}, *records[1:]]
        return records, more

    monkeypatch.setattr(client_module.ConnectFiClient, "_call_list", broken_second_page)
    with pytest.raises(ConnectFiProtocolError, match="not a transaction object"):
        client.list_transfers(page_size=2)
    assert len(calls) == 5  # every page was read before the error came out

    def and_a_stuck_server(self, body):
        records, more = broken_second_page(self, body)
        if len(calls) >= 4:
            return [{"cFiTransactionId": "x"}], True  # the same id again and again
        return records, more

    calls.clear()
    monkeypatch.setattr(client_module.ConnectFiClient, "_call_list", and_a_stuck_server)
    with pytest.raises(ConnectFiProtocolError, match="made no progress"):
        client.list_transfers(page_size=2)
