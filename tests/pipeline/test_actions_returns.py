"""Return actions against the real Postgres: each R-code's action, the audit row, per-
originator overrides, and the builder path refusing blocked payees with the reason."""

from __future__ import annotations

from datetime import date

import pytest

from pipeline.actions import (
    DEFAULT_RETURN_ACTIONS,
    ActionsSettings,
    apply_return_actions,
    load_payees,
    return_actions_frame,
    screen_transfers,
)
from pipeline.actions.payees import authorize_payee
from pipeline.errors import ConfigError
from tests.pipeline._actions_helpers import COMPANY_ID, returned, send, transfer, transfers

ACCOUNT = "111122223333"
DAY = date(2026, 3, 2)
BACK = date(2026, 3, 4)


@pytest.fixture
def ledger(actions_ledger):
    return actions_ledger


def _debit(ledger, *, code=27, reference="INV1", ident="CUST1", account=ACCOUNT):
    return send(
        ledger,
        [
            {
                "reference": reference,
                "account": account,
                "amount_cents": 2500,
                "individual_id": ident,
                "code": code,
            }
        ],
        effective=DAY,
        settlement=DAY,
    )[0]


EXPECTED = {
    **{c: ("retry_allowed", "active") for c in ("R01", "R09")},
    **{c: ("block_until_new_account", "blocked") for c in ("R02", "R03", "R04", "R16", "R20")},
    **{
        c: ("block_until_new_authorization", "needs_authorization")
        for c in ("R05", "R07", "R10", "R11", "R29", "R51")
    },
    "R08": ("stop_payment", "active"),
    "R06": ("review", "active"),
    "R17": ("review", "active"),
    "R23": ("review", "active"),
}


def test_the_default_table_is_the_issue_table():
    assert {c: a for c, (a, _) in EXPECTED.items() if a != "review"} == dict(DEFAULT_RETURN_ACTIONS)


@pytest.mark.parametrize(("code", "expected"), sorted(EXPECTED.items()))
def test_each_return_code_action_with_an_audit_row(ledger, code, expected):
    action, status = expected
    trace = _debit(ledger)
    returned(ledger, trace, code, received=BACK, amount_cents=2500)
    out = apply_return_actions(ledger, BACK, ActionsSettings(), actor="night-run")
    assert out.by_action == {action: 1}
    audit = return_actions_frame(ledger, business_date=BACK)
    assert audit.height == 1
    row = audit.row(0, named=True)
    assert (row["return_code"], row["action"], row["reference"], row["payee_ref"]) == (
        code,
        action,
        "INV1",
        "CUST1",
    )
    assert row["acted_by"] == "night-run" and row["outcome"]
    payee = load_payees(ledger, ["CUST1"])["CUST1"]
    assert payee.status == status
    if status != "active":
        assert payee.status_code == code and code in payee.status_reason
    # rerun: no second action, no second audit row
    assert apply_return_actions(ledger, BACK, ActionsSettings()).by_action == {}
    assert return_actions_frame(ledger).height == 1


def test_actions_are_configurable_per_originator(ledger):
    settings = ActionsSettings.from_mapping(
        {
            "return_actions": {"R06": "stop_payment"},
            "originators": {COMPANY_ID: {"return_actions": {"R03": "review"}}},
        }
    )
    assert settings.action_for("R03", COMPANY_ID) == "review"
    assert settings.action_for("R03", "9999999999") == "block_until_new_account"
    assert settings.action_for("R06", "9999999999") == "stop_payment"
    trace = _debit(ledger)
    returned(ledger, trace, "R03", received=BACK)
    apply_return_actions(ledger, BACK, settings)
    assert load_payees(ledger, ["CUST1"])["CUST1"].status == "active"
    assert return_actions_frame(ledger)["action"].to_list() == ["review"]


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"return_actions": {"R01": "retry"}}, "not one of"),
        ({"return_actions": {"X01": "review"}}, "not a return code"),
        ({"payee_key": "reference_prefix"}, "reference_prefix_length"),
        ({"retry_schedule": "weekday:sun"}, "retry_schedule"),
        ({"noc_mode": "manual"}, "noc_mode"),
        ({"unknown": 1}, "unknown key"),
    ],
)
def test_bad_settings_name_the_key(mapping, message):
    with pytest.raises(ConfigError, match=message):
        ActionsSettings.from_mapping(mapping)


def test_r03_blocks_the_payee_and_the_builder_path_refuses_it_with_the_reason(ledger):
    trace = _debit(ledger)
    returned(ledger, trace, "R03", received=BACK)
    apply_return_actions(ledger, BACK, ActionsSettings())
    batch = transfers(
        transfer("INV2", ACCOUNT),
        transfer("INV3", ACCOUNT, kind="Credit"),  # a credit to a closed account fails too
        transfer("OTHER1", "5555", ident="CUST2"),
        transfer("SNEAKY", ACCOUNT, ident="CUST9"),  # same blocked account, other reference
    )
    accepted, rejected = screen_transfers(ledger, batch, date(2026, 3, 5))
    assert accepted["reference"].to_list() == ["OTHER1"]
    reasons = dict(zip(rejected["reference"], rejected["reason"], strict=True))
    assert set(reasons) == {"INV2", "INV3", "SNEAKY"}
    assert "payee CUST1 blocked: R03" in reasons["INV2"]
    assert "new account details" in reasons["INV2"]
    assert "belongs to blocked payee CUST1" in reasons["SNEAKY"]
    assert ACCOUNT not in str(rejected.to_dicts())
    assert rejected["row"].to_list() == [1, 2, 4]


def test_new_account_details_lift_a_block_until_new_account(ledger):
    trace = _debit(ledger)
    returned(ledger, trace, "R02", received=BACK)
    apply_return_actions(ledger, BACK, ActionsSettings())
    accepted, rejected = screen_transfers(
        ledger, transfers(transfer("INV2", "444455556666")), date(2026, 3, 5)
    )
    assert rejected.height == 0 and accepted.height == 1
    payee = load_payees(ledger, ["CUST1"])["CUST1"]
    assert payee.status == "active" and payee.account_last4 == "6666"


def test_unauthorized_blocks_debits_until_a_new_authorization(ledger):
    trace = _debit(ledger)
    returned(ledger, trace, "R10", received=BACK)
    apply_return_actions(ledger, BACK, ActionsSettings())
    batch = transfers(
        transfer("INV2", ACCOUNT),
        transfer("REFUND1", ACCOUNT, kind="Credit"),
        transfer("INV3", "444455556666"),  # a new account is no authorization
    )
    accepted, rejected = screen_transfers(ledger, batch, date(2026, 3, 5))
    assert accepted["reference"].to_list() == ["REFUND1"]
    assert all("needs a new authorization" in r for r in rejected["reason"])
    with pytest.raises(ConfigError, match="note"):
        authorize_payee(ledger, "CUST1", actor="alice", note="")
    authorize_payee(ledger, "CUST1", actor="alice", note="signed mandate 2026-03-06")
    accepted, rejected = screen_transfers(
        ledger, transfers(transfer("INV4", "444455556666")), date(2026, 3, 9)
    )
    assert rejected.height == 0


def test_r08_stops_that_payment(ledger):
    trace = _debit(ledger)
    returned(ledger, trace, "R08", received=BACK)
    apply_return_actions(ledger, BACK, ActionsSettings())
    accepted, rejected = screen_transfers(
        ledger, transfers(transfer("INV1", ACCOUNT), transfer("INV2", ACCOUNT)), date(2026, 3, 5)
    )
    assert accepted["reference"].to_list() == ["INV2"]  # the payee is not blocked
    assert "payment INV1 stopped (R08)" in rejected["reason"][0]


def test_a_returned_payment_is_not_simply_sent_again(ledger):
    trace = _debit(ledger)
    returned(ledger, trace, "R01", received=BACK)
    apply_return_actions(ledger, BACK, ActionsSettings())
    _, rejected = screen_transfers(ledger, transfers(transfer("INV1", ACCOUNT)), date(2026, 3, 5))
    assert "only as a planned RETRY PYMT" in rejected["reason"][0]


def test_a_return_of_an_entry_we_did_not_send_is_recorded_for_review(ledger):
    returned(ledger, "123456780000001", "R03", received=BACK)
    out = apply_return_actions(ledger, BACK, ActionsSettings())
    assert out.by_action == {"block_until_new_account": 1} and out.blocked == 0
    assert "no entry we sent" in return_actions_frame(ledger)["outcome"][0]


def test_rows_the_builder_will_refuse_never_touch_payees(ledger):
    batch = transfers(
        transfer("BAD1", ACCOUNT, routing="01100001"),  # 8 digits
        transfer("BAD2", "12 34", ident="CUST2"),  # blank inside the account
        transfer("OK1", ACCOUNT, ident="CUST3"),
    )
    accepted, rejected = screen_transfers(ledger, batch, date(2026, 3, 5))
    assert accepted.height == 3 and rejected.height == 0  # the builder rejects BAD1/BAD2
    assert set(load_payees(ledger, ["CUST1", "CUST2", "CUST3"])) == {"CUST3"}
