"""Screening is set-wise (plain rows never go through the row rules): a mix of plain rows,
new payees, a NOC-corrected row, a blocked row and a returned reference keeps the input's
order, rewrites only the corrected row, refuses exactly the rule-breaking rows with their
1-based row numbers, and enrols each new payee once from its first usable row."""

from __future__ import annotations

from datetime import date

import pytest

from pipeline.actions import ActionsSettings, apply_actions, load_payees, screen
from pipeline.actions.payees import payee_history_frame
from tests.pipeline._actions_helpers import noc, returned, send, transfer, transfers

OLD, NEW = "111122223333", "999988887777"
BLOCKED = "444455556666"
DAY, BACK, NEXT = date(2026, 3, 2), date(2026, 3, 4), date(2026, 3, 5)


@pytest.fixture
def ledger(actions_ledger):
    return actions_ledger


def _sent(ledger, ref: str, ident: str, account: str) -> str:
    return send(
        ledger,
        [
            {
                "reference": ref,
                "account": account,
                "amount_cents": 2500,
                "individual_id": ident,
                "code": 27,
            }
        ],
        effective=DAY,
        settlement=DAY,
    )[0]


def test_plain_and_flagged_rows_keep_their_order(ledger):
    noc(ledger, _sent(ledger, "A1", "CUSTA", OLD), "C01", NEW, received=BACK)
    returned(ledger, _sent(ledger, "B1", "CUSTB", BLOCKED), "R03", received=BACK)
    _sent(ledger, "C1", "CUSTC", "222233334444")
    apply_actions(ledger, BACK, ActionsSettings())
    batch = transfers(
        transfer("N1", "5000000001", ident="NEW1"),  # new payee
        transfer("A2", OLD, ident="CUSTA"),  # carries the account the NOC corrected
        transfer("C2", "222233334444", ident="CUSTC"),  # known payee, nothing to do
        transfer("B2", BLOCKED, ident="CUSTB"),  # payee blocked by R03
        transfer("N2", "5000000002", ident="NEW1"),  # same new payee, another account
        transfer("B1", "5000000003", ident="NEW2"),  # a returned reference sent again
        transfer("N3", "5000000004", ident="NEW3", routing="12345"),  # unusable: no payee
        transfer("C3", "222233334444", ident="CUSTC"),
    )
    result = screen(ledger, batch, NEXT)
    accepted = result.accepted
    assert accepted.columns == batch.columns
    assert accepted["reference"].to_list() == ["N1", "A2", "C2", "N2", "N3", "C3"]
    assert accepted.filter(accepted["reference"] == "A2")["DFIAccountNumber"].to_list() == [NEW]
    untouched = batch.filter(~batch["reference"].is_in(["A2", "B2", "B1"]))
    assert accepted.filter(accepted["reference"] != "A2").equals(untouched)
    assert result.rejected["row"].to_list() == [4, 6]
    assert result.rejected["reference"].to_list() == ["B2", "B1"]
    assert "payee CUSTB blocked: R03" in result.rejected["reason"][0]
    assert "was returned (R03)" in result.rejected["reason"][1]
    assert (result.corrected, result.enrolled) == (1, 3)  # NEW1 once, NEW2, CUSTC; not NEW3
    payees = load_payees(ledger, ["NEW1", "NEW2", "NEW3", "CUSTC"])
    assert set(payees) == {"NEW1", "NEW2", "CUSTC"}
    assert payees["NEW1"].account_last4 == "0001"  # from its first row
    assert bytes(payees["NEW1"].account_hash) == ledger.protector.hash_account("5000000001")
    assert ledger.protector.decrypt(payees["NEW2"].account_ciphertext) == "5000000003"
    history = payee_history_frame(ledger, "NEW1")
    assert history.select("field", "new_value", "source").rows() == [("payee", "NEW1", "enrol")]
    # a second pass enrols nothing and refuses the same rows
    again = screen(ledger, batch, NEXT)
    assert again.enrolled == 0
    assert again.rejected["row"].to_list() == [4, 6]
