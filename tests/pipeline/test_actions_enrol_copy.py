"""Bulk enrolment writes payees and their ``enrol`` history straight from the frame: each row
as the transfer gave it (accounts protected), the history naming the transfer it came from."""

from __future__ import annotations

from datetime import date

import pytest

from pipeline.actions import load_payees, screen
from tests.pipeline._actions_helpers import transfer, transfers

DAY = date(2026, 3, 5)


@pytest.fixture
def ledger(actions_ledger):
    return actions_ledger


def test_enrolled_payees_and_history_rows(ledger) -> None:
    odd = 'T"2, \\ é'  # quotes, comma, backslash and a non-ASCII letter survive the COPY
    batch = transfers(
        transfer("T1", " 5000000001 ", ident="NEWA", account_type="Savings"),
        transfer(odd, "77", ident="NEWB"),
    )
    result = screen(ledger, batch, DAY)
    assert result.enrolled == 2
    payees = load_payees(ledger, ["NEWA", "NEWB"])
    a, b = payees["NEWA"], payees["NEWB"]
    assert a.id < b.id  # ids follow the input order
    assert ledger.protector.decrypt(a.account_ciphertext) == "5000000001"
    assert bytes(a.account_hash) == ledger.protector.hash_account("5000000001")
    assert (a.account_last4, a.account_type, a.status) == ("0001", "savings", "active")
    assert (b.account_last4, b.account_type) == ("", "checking")
    assert (a.individual_name, a.identification_number) == ("JANE DOE", "NEWA")
    rows = ledger.conn.execute(
        "SELECT p.payee_ref, h.field, h.new_value, h.source, h.changed_by, h.detail"
        " FROM payee_history h JOIN payees p ON p.id = h.payee_id ORDER BY h.id"
    ).fetchall()
    assert rows == [
        ("NEWA", "payee", "NEWA", "enrol", "achpipe", {"from_transfer": "T1"}),
        ("NEWB", "payee", "NEWB", "enrol", "achpipe", {"from_transfer": odd}),
    ]
