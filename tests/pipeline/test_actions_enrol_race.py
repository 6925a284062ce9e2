"""Bulk enrolment and another session enrolling the same reference at the same time: the
enrolment waits for the other transaction, skips the payee it committed, enrols the rest,
and no reference ends up with two payees or an enrolment history row it did not make."""

from __future__ import annotations

import threading
import time
from datetime import date

import psycopg
import pytest

from pipeline.actions import load_payees, screen
from tests.pipeline._actions_helpers import transfer, transfers

DAY = date(2026, 3, 5)
OTHER_HASH = b"\x01" * 32


@pytest.fixture
def ledger(actions_ledger):
    return actions_ledger


def _wait_until_blocked(url: str, pid: int, worker: threading.Thread) -> None:
    """Until backend ``pid`` waits on a lock (the other session's uncommitted payee)."""
    deadline = time.monotonic() + 120
    with psycopg.connect(url, autocommit=True) as watch:
        while time.monotonic() < deadline and worker.is_alive():
            row = watch.execute(
                "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,)
            ).fetchone()
            if row is not None and row[0] == "Lock":
                return
            time.sleep(0.05)
    pytest.fail("the enrolment never waited for the other session's payee")


def test_a_reference_enrolled_meanwhile_is_skipped(ledger, pg_module_url):
    other = psycopg.connect(pg_module_url)
    try:
        other.execute(
            "INSERT INTO payees (payee_ref, routing_number, account_ciphertext, account_hash,"
            " account_last4, account_type) VALUES ('RACE1', '011000015', '\\x00', %s, '9999',"
            " 'checking')",
            (OTHER_HASH,),
        )
        batch = transfers(
            transfer("T1", "5000000001", ident="NEW1"),
            transfer("T2", "5000000002", ident="RACE1"),
            transfer("T3", "5000000003", ident="NEW2"),
        )
        outcome: dict[str, object] = {}

        def run() -> None:
            try:
                outcome["result"] = screen(ledger, batch, DAY)
            except BaseException as exc:  # handed to the test thread
                outcome["error"] = exc

        worker = threading.Thread(target=run)
        worker.start()
        _wait_until_blocked(pg_module_url, ledger.conn.info.backend_pid, worker)
        other.commit()
        worker.join(timeout=120)
    finally:
        other.close()
    assert "error" not in outcome, outcome.get("error")
    result = outcome["result"]
    assert result.enrolled == 2  # NEW1 and NEW2; RACE1 is the other session's
    assert result.accepted["reference"].to_list() == ["T1", "T2", "T3"]
    payees = load_payees(ledger, ["NEW1", "RACE1", "NEW2"])
    assert bytes(payees["RACE1"].account_hash) == OTHER_HASH
    assert payees["NEW1"].id < payees["NEW2"].id  # ids follow the input order
    rows = ledger.conn.execute(
        "SELECT p.payee_ref, count(h.id) FROM payees p"
        " LEFT JOIN payee_history h ON h.payee_id = p.id AND h.source = 'enrol'"
        " GROUP BY p.payee_ref ORDER BY 1"
    ).fetchall()
    assert rows == [("NEW1", 1), ("NEW2", 1), ("RACE1", 0)]
