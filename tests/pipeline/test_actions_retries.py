"""Re-initiation (RETRY PYMT) against the real Postgres: planning, the two-retry limit, the
180-day window, same amount and company, the schedule, and the guard in the builder path."""

from __future__ import annotations

from datetime import date

import pytest

from pipeline.actions import (
    ActionsSettings,
    RetrySchedule,
    apply_actions,
    plan_retries,
    retry_plan_frame,
    retry_reference,
    retry_transfers,
    return_actions_frame,
    scheduled_date,
    screen_transfers,
)
from tests.pipeline._actions_helpers import (
    COMPANY_ID,
    COMPANY_NAME,
    returned,
    send,
    transfer,
    transfers,
)

ACCOUNT = "111122223333"
SETTINGS = ActionsSettings()
COMPANIES = {"ACME": (COMPANY_NAME, COMPANY_ID), None: (COMPANY_NAME, COMPANY_ID)}


@pytest.fixture
def ledger(actions_ledger):
    return actions_ledger


def _original(ledger, *, day=date(2026, 3, 2), code=27, amount=2500):
    return send(
        ledger,
        [
            {
                "reference": "INV1",
                "account": ACCOUNT,
                "amount_cents": amount,
                "individual_id": "CUST1",
                "code": code,
            }
        ],
        effective=day,
        settlement=day,
    )[0]


def _send_retry(ledger, plan_row, *, day):
    """What the build step does with a planned retry: the entry goes out under its reference."""
    return send(
        ledger,
        [
            {
                "reference": plan_row["retry_reference"],
                "account": ACCOUNT,
                "amount_cents": plan_row["amount_cents"],
                "individual_id": "CUST1",
            }
        ],
        effective=day,
        settlement=day,
        description="RETRY PYMT",
    )[0]


def test_r01_is_retried_twice_and_the_third_is_refused(ledger):
    trace = _original(ledger)
    returned(ledger, trace, "R01", received=date(2026, 3, 4))
    out = apply_actions(ledger, date(2026, 3, 4), SETTINGS)
    first = out.retries.row(0, named=True)
    assert (first["state"], first["attempt"], first["planned_date"]) == (
        "planned",
        1,
        date(2026, 3, 5),
    )
    assert first["retry_reference"] == "INV1RT1" == retry_reference("INV1", 1)
    assert (first["company_name"], first["company_id"], first["amount_cents"]) == (
        COMPANY_NAME,
        COMPANY_ID,
        2500,
    )
    assert first["latest_date"] == date(2026, 8, 29)  # 180 days after settlement

    # the builder path gets it as a transfer and lets it through
    due = retry_transfers(ledger, date(2026, 3, 4), client_codes={COMPANY_ID: "ACME"})
    row = due.row(0, named=True)
    assert (row["companyEntryDescription"], row["amount"], row["reference"]) == (
        "RETRY PYMT",
        "25.00",
        "INV1RT1",
    )
    assert row["DFIAccountNumber"] == ACCOUNT and row["clientCode"] == "ACME"
    accepted, rejected = screen_transfers(ledger, due, date(2026, 3, 4), companies=COMPANIES)
    assert rejected.height == 0 and accepted.height == 1

    retry1 = _send_retry(ledger, first, day=date(2026, 3, 5))
    returned(ledger, retry1, "R01", received=date(2026, 3, 9))
    second = apply_actions(ledger, date(2026, 3, 9), SETTINGS).retries
    second = second.filter(second["attempt"] == 2).row(0, named=True)
    assert (second["state"], second["retry_reference"]) == ("planned", "INV1RT2")
    assert retry_plan_frame(ledger).filter(retry_plan_frame(ledger)["attempt"] == 1)[
        "state"
    ].to_list() == ["sent"]

    retry2 = _send_retry(ledger, second, day=date(2026, 3, 10))
    returned(ledger, retry2, "R09", received=date(2026, 3, 12))
    third = apply_actions(ledger, date(2026, 3, 12), SETTINGS).retries
    third = third.filter(third["attempt"] == 3).row(0, named=True)
    assert third["state"] == "refused"
    assert "third re-initiation refused" in third["reason"]
    # nothing planned is left to build, and a hand-made third retry is refused too
    assert retry_transfers(ledger, date(2026, 3, 12)).height == 0
    _, rejected = screen_transfers(
        ledger,
        transfers(transfer("INV1RT3", ACCOUNT, description="RETRY PYMT")),
        date(2026, 3, 12),
    )
    assert "no planned re-initiation" in rejected["reason"][0]
    # rerunning the plan decides nothing new
    assert plan_retries(ledger, date(2026, 3, 13), SETTINGS).height == 0
    assert retry_plan_frame(ledger)["state"].to_list() == ["sent", "sent", "refused"]


def test_retry_after_180_days_is_refused(ledger):
    trace = _original(ledger, day=date(2026, 1, 5))  # window closes 2026-07-04
    returned(ledger, trace, "R01", received=date(2026, 7, 2))
    plan = apply_actions(ledger, date(2026, 7, 6), SETTINGS).retries.row(0, named=True)
    assert plan["state"] == "refused"
    assert "after 180 days" in plan["reason"] and "2026-07-04" in plan["reason"]


def test_retry_dated_after_the_window_is_refused_by_the_guard(ledger):
    trace = _original(ledger, day=date(2026, 1, 5))
    returned(ledger, trace, "R01", received=date(2026, 1, 7))
    apply_actions(ledger, date(2026, 1, 7), SETTINGS)
    _, rejected = screen_transfers(
        ledger,
        transfers(transfer("INV1RT1", ACCOUNT, description="RETRY PYMT", effective="2026-07-06")),
        date(2026, 1, 7),
    )
    assert "after the 180-day window" in rejected["reason"][0]


def test_changed_amount_is_refused(ledger):
    trace = _original(ledger)
    returned(ledger, trace, "R01", received=date(2026, 3, 4))
    apply_actions(ledger, date(2026, 3, 4), SETTINGS)
    due = retry_transfers(ledger, date(2026, 3, 4))
    changed = due.with_columns(amount=due["amount"].str.replace("25.00", "25.01"))
    _, rejected = screen_transfers(ledger, changed, date(2026, 3, 4))
    assert "changed amount" in rejected["reason"][0] and "25.00" in rejected["reason"][0]


def test_changed_company_is_refused(ledger):
    trace = _original(ledger)
    returned(ledger, trace, "R01", received=date(2026, 3, 4))
    apply_actions(ledger, date(2026, 3, 4), SETTINGS)
    due = retry_transfers(ledger, date(2026, 3, 4), client_codes={COMPANY_ID: "OTHER"})
    companies = {**COMPANIES, "OTHER": ("OTHER CO", "9999999999")}
    _, rejected = screen_transfers(ledger, due, date(2026, 3, 4), companies=companies)
    assert "company must be ACME CORP 1234567890" in rejected["reason"][0]


def test_planned_retry_must_say_retry_pymt(ledger):
    trace = _original(ledger)
    returned(ledger, trace, "R01", received=date(2026, 3, 4))
    apply_actions(ledger, date(2026, 3, 4), SETTINGS)
    _, rejected = screen_transfers(
        ledger, transfers(transfer("INV1RT1", ACCOUNT, amount="25.00")), date(2026, 3, 4)
    )
    assert "must be RETRY PYMT" in rejected["reason"][0]


def test_a_blocked_payee_gets_no_retry_and_planned_ones_are_cancelled(ledger):
    trace = _original(ledger)
    returned(ledger, trace, "R01", received=date(2026, 3, 4))
    apply_actions(ledger, date(2026, 3, 4), SETTINGS)
    other = send(
        ledger,
        [{"reference": "INV5", "account": ACCOUNT, "amount_cents": 100, "individual_id": "CUST1"}],
        effective=date(2026, 3, 5),
        settlement=date(2026, 3, 5),
    )[0]
    returned(ledger, other, "R02", received=date(2026, 3, 6))
    apply_actions(ledger, date(2026, 3, 6), SETTINGS)
    audit = return_actions_frame(ledger)
    outcome = audit.filter(audit["return_code"] == "R02")["outcome"][0]
    assert "blocked" in outcome and "1 planned retry cancelled" in outcome
    plan = retry_plan_frame(ledger)
    assert plan["state"].to_list() == ["cancelled"]
    assert retry_transfers(ledger, date(2026, 3, 6)).height == 0


def test_credits_are_never_retried(ledger):
    trace = _original(ledger, code=22)
    returned(ledger, trace, "R01", received=date(2026, 3, 4))
    plan = apply_actions(ledger, date(2026, 3, 4), SETTINGS).retries.row(0, named=True)
    assert plan["state"] == "refused" and "only debits" in plan["reason"]


@pytest.mark.parametrize(("sec", "why"), [("POP", "terminal"), ("XCK", "NO CHECK"), ("RCK", "RCK")])
def test_check_codes_the_ledger_cannot_rebuild_are_not_retried(ledger, sec, why):
    trace = send(
        ledger,
        [{"reference": "CHK1", "account": ACCOUNT, "amount_cents": 2500, "individual_id": "1001"}],
        effective=date(2026, 3, 2),
        settlement=date(2026, 3, 2),
        sec_code=sec,
    )[0]
    returned(ledger, trace, "R01", received=date(2026, 3, 4))
    plan = apply_actions(ledger, date(2026, 3, 4), SETTINGS).retries.row(0, named=True)
    assert plan["state"] == "refused" and why in plan["reason"]
    assert retry_transfers(ledger, date(2026, 3, 6)).height == 0


def test_arc_returns_are_retried_with_their_check_serial(ledger):
    trace = send(
        ledger,
        [{"reference": "CHK2", "account": ACCOUNT, "amount_cents": 2500, "individual_id": "1002"}],
        effective=date(2026, 3, 2),
        settlement=date(2026, 3, 2),
        sec_code="ARC",
    )[0]
    returned(ledger, trace, "R01", received=date(2026, 3, 4))
    plan = apply_actions(ledger, date(2026, 3, 4), SETTINGS).retries.row(0, named=True)
    assert plan["state"] == "planned"
    rows = retry_transfers(ledger, plan["planned_date"]).to_dicts()
    assert [(r["standardEntryClassCode"], r["identificationNumber"]) for r in rows] == [
        ("ARC", "1002")
    ]


@pytest.mark.parametrize(
    ("schedule", "earliest", "expected"),
    [
        ("next_banking_day", date(2026, 10, 12), date(2026, 10, 13)),  # Columbus Day
        ("weekday:fri", date(2026, 3, 4), date(2026, 3, 6)),
        ("weekday:fri", date(2026, 6, 17), date(2026, 6, 22)),  # Fri Jun 19 closed → Monday
        ("monthdays:1,15", date(2026, 3, 4), date(2026, 3, 16)),  # Sun 15th → Mon 16th
        ("monthdays:1,15", date(2026, 3, 16), date(2026, 4, 1)),
    ],
)
def test_schedule(schedule, earliest, expected):
    assert scheduled_date(earliest, RetrySchedule.parse(schedule)) == expected


def test_configured_schedule_is_used_by_the_plan(ledger):
    settings = ActionsSettings.from_mapping({"retry_schedule": "weekday:fri"})
    trace = _original(ledger)
    returned(ledger, trace, "R01", received=date(2026, 3, 4))
    plan = apply_actions(ledger, date(2026, 3, 4), settings).retries.row(0, named=True)
    assert plan["planned_date"] == date(2026, 3, 6)
    # not due yet on Wednesday: the build of Thu 03-05 (for Fri) picks it up
    assert retry_transfers(ledger, date(2026, 3, 4)).height == 0
    assert retry_transfers(ledger, date(2026, 3, 5))["effectiveEntryDate"].to_list() == [
        "2026-03-06"
    ]
