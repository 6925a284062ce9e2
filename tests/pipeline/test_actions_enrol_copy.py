"""Bulk enrolment writes payees and their ``enrol`` history straight from the frame: each row
as the transfer gave it (accounts protected), the history naming the transfer it came from."""

from __future__ import annotations

from datetime import date

import pytest

from pipeline.actions import load_payees, screen
from tests.pipeline._actions_helpers import send, transfer, transfers

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


def test_build_scope_reuses_the_payee_ciphertext_for_its_entries(ledger) -> None:
    p = ledger.protector
    screen(ledger, transfers(transfer("T1", "5000000001", ident="KNOWN")), DAY)
    stored = bytes(load_payees(ledger, ["KNOWN"])["KNOWN"].account_ciphertext)
    night = transfers(
        transfer("T2", " 5000000001", ident="KNOWN"),  # the payee's own account
        transfer("T3", "5000000003", ident="NEWC"),  # a new payee
        transfer("T4", "5000000004", ident="KNOWN"),  # new account details for KNOWN
    )
    with p.sharing():
        result = screen(ledger, night, DAY)
        send(
            ledger,
            [
                {"reference": r, "account": a, "amount_cents": 100}
                for r, a in [("T2", "5000000001"), ("T3", "5000000003"), ("T4", "5000000004")]
            ],
            effective=DAY,
        )
    assert result.enrolled == 1 and result.rejected.height == 0
    payees = load_payees(ledger, ["KNOWN", "NEWC"])
    cts = dict(
        ledger.conn.execute(
            "SELECT reference, account_ciphertext FROM entries WHERE reference IN"
            " ('T2', 'T3', 'T4')"
        ).fetchall()
    )
    assert bytes(cts["T2"]) == stored  # taken from the payee, not encrypted again
    assert bytes(cts["T3"]) == bytes(payees["NEWC"].account_ciphertext)  # the enrolment's
    assert bytes(cts["T4"]) != stored  # the payee's new account, encrypted on its own
    assert p.decrypt(payees["KNOWN"].account_ciphertext) == "5000000004"
    assert {r: p.decrypt(c) for r, c in cts.items()} == {
        "T2": "5000000001",
        "T3": "5000000003",
        "T4": "5000000004",
    }
    # outside a build scope every recording encrypts afresh
    send(ledger, [{"reference": "T5", "account": "5000000001", "amount_cents": 1}], effective=DAY)
    (fresh,) = ledger.conn.execute(
        "SELECT account_ciphertext FROM entries WHERE reference = 'T5'"
    ).fetchone()
    assert bytes(fresh) != stored and p.decrypt(fresh) == "5000000001"
