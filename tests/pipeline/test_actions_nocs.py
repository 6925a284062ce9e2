"""NOC application against the real Postgres: auto and maker-checker, every change code,
malformed data quarantined with nothing applied, deadlines across holidays, repeats."""

from __future__ import annotations

from datetime import date

import psycopg
import pytest

from pipeline.actions import (
    ActionsSettings,
    actions_report_sections,
    actions_warnings,
    apply_actions,
    apply_nocs,
    approve_noc,
    load_payees,
    noc_applications_frame,
    payee_history_frame,
    propose_noc,
    reject_noc,
    render_actions_html,
    screen_transfers,
)
from pipeline.errors import ConfigError
from tests.pipeline._actions_helpers import (
    NEW_ROUTING,
    ROUTING,
    noc,
    returned,
    send,
    transfer,
    transfers,
)


@pytest.fixture
def ledger(actions_ledger):
    return actions_ledger


OLD = "111122223333"
NEW = "999988887777"
AUTO = ActionsSettings()
CHECKER = ActionsSettings(noc_mode="maker_checker")


def _app(ledger, noc_id=None):
    row = ledger.conn.execute(
        "SELECT id, state, reason, error_rule, proposed_by, decided_by, deadline, repeat_of"
        " FROM noc_applications ORDER BY id DESC LIMIT 1"
    ).fetchone()
    keys = (
        "id",
        "state",
        "reason",
        "error_rule",
        "proposed_by",
        "decided_by",
        "deadline",
        "repeat_of",
    )
    return dict(zip(keys, row, strict=True))


def _sent(ledger, *, day=date(2026, 3, 2), ident="CUST1", account=OLD, code=27):
    return send(
        ledger,
        [
            {
                "reference": "INV1",
                "account": account,
                "amount_cents": 2500,
                "individual_id": ident,
                "code": code,
            }
        ],
        effective=day,
        settlement=day,
    )[0]


def test_c01_auto_applies_and_the_next_transfer_carries_the_corrected_account(ledger):
    trace = _sent(ledger)
    noc(ledger, trace, "C01", NEW, received=date(2026, 3, 4))
    out = apply_nocs(ledger, date(2026, 3, 4), AUTO)
    assert out.applied == 1
    payee = load_payees(ledger, ["CUST1"])["CUST1"]
    assert bytes(payee.account_hash) == ledger.protector.hash_account(NEW)
    assert payee.account_last4 == "7777"
    assert ledger.nocs_frame()["applied"].to_list() == [True]
    history = payee_history_frame(ledger, "CUST1")
    change = history.filter(history["field"] == "account_number").row(0, named=True)
    assert (change["old_value"], change["new_value"], change["source"]) == (
        "****3333",
        "****7777",
        "noc",
    )
    assert OLD not in str(history.to_dicts()) and NEW not in str(history.to_dicts())
    # next day: upstream still sends the old account -> rewritten to the corrected one
    accepted, rejected = screen_transfers(
        ledger, transfers(transfer("INV2", OLD)), date(2026, 3, 5), settings=AUTO
    )
    assert rejected.height == 0
    assert accepted["DFIAccountNumber"].to_list() == [NEW]
    # and rerunning the application does nothing new
    assert apply_nocs(ledger, date(2026, 3, 5), AUTO).applied == 0


def test_maker_checker_needs_two_different_people(ledger):
    trace = _sent(ledger)
    noc(ledger, trace, "C02", NEW_ROUTING, received=date(2026, 3, 4))
    assert apply_nocs(ledger, date(2026, 3, 4), CHECKER).queued == 1
    app = _app(ledger)
    assert app["state"] == "queued"
    assert load_payees(ledger, ["CUST1"])["CUST1"].routing_number == ROUTING
    with pytest.raises(ConfigError, match="propose it first"):
        approve_noc(ledger, app["id"], actor="bob")
    propose_noc(ledger, app["id"], actor="alice")
    with pytest.raises(ConfigError, match="another person must approve"):
        approve_noc(ledger, app["id"], actor="alice")
    assert load_payees(ledger, ["CUST1"])["CUST1"].routing_number == ROUTING
    approve_noc(ledger, app["id"], actor="bob")
    app = _app(ledger)
    assert (app["state"], app["proposed_by"], app["decided_by"]) == ("applied", "alice", "bob")
    assert load_payees(ledger, ["CUST1"])["CUST1"].routing_number == NEW_ROUTING
    history = payee_history_frame(ledger, "CUST1")
    assert history.filter(history["field"] == "routing_number")["changed_by"].to_list() == ["bob"]


def test_the_database_refuses_self_approval(ledger):
    trace = _sent(ledger)
    noc(ledger, trace, "C04", "JANE Q DOE", received=date(2026, 3, 4))
    apply_nocs(ledger, date(2026, 3, 4), CHECKER)
    app = _app(ledger)
    with pytest.raises(psycopg.errors.CheckViolation):
        ledger.conn.execute(
            "UPDATE noc_applications SET state = 'applied', proposed_by = 'eve',"
            " decided_by = 'eve' WHERE id = %s",
            (app["id"],),
        )


def test_reject_needs_a_reason_and_changes_nothing(ledger):
    trace = _sent(ledger)
    noc(ledger, trace, "C04", "JANE Q DOE", received=date(2026, 3, 4))
    apply_nocs(ledger, date(2026, 3, 4), CHECKER)
    app = _app(ledger)
    with pytest.raises(ConfigError, match="reason"):
        reject_noc(ledger, app["id"], actor="bob", reason=" ")
    reject_noc(ledger, app["id"], actor="bob", reason="customer confirmed old name")
    assert _app(ledger)["state"] == "rejected"
    assert load_payees(ledger, ["CUST1"])["CUST1"].individual_name == "JANE DOE"


@pytest.mark.parametrize("mode", [AUTO, CHECKER], ids=["auto", "maker_checker"])
def test_malformed_corrected_data_is_quarantined_and_nothing_applied(ledger, mode):
    trace = _sent(ledger)
    noc(ledger, trace, "C02", "011000016", received=date(2026, 3, 4))  # bad check digit
    out = apply_nocs(ledger, date(2026, 3, 4), mode)
    assert (out.quarantined, out.applied, out.queued) == (1, 0, 0)
    app = _app(ledger)
    assert app["state"] == "quarantined"
    assert app["error_rule"] == "noc.routing_check_digit"
    assert "C02" in app["reason"] and "check digit" in app["reason"]
    assert ledger.nocs_frame()["applied"].to_list() == [False]
    assert not load_payees(ledger, ["CUST1"])  # no payee created, nothing changed
    assert ledger.conn.execute("SELECT count(*) FROM payee_history").fetchone()[0] == 0


def _field(*parts):
    text = [" "] * 29
    for start, value in parts:
        text[start - 1 : start - 1 + len(value)] = value
    return "".join(text)


CASES = [
    ("C01", _field((1, NEW)), "applied", {"account_last4": "7777"}),
    ("C02", _field((1, NEW_ROUTING)), "applied", {"routing_number": NEW_ROUTING}),
    (
        "C03",
        _field((1, NEW_ROUTING), (13, NEW)),
        "applied",
        {"routing_number": NEW_ROUTING, "account_last4": "7777"},
    ),
    ("C04", _field((1, "JANE Q DOE")), "applied", {"individual_name": "JANE Q DOE"}),
    ("C05", _field((1, "37")), "applied", {"account_type": "savings"}),
    (
        "C06",
        _field((1, NEW), (21, "37")),
        "applied",
        {"account_last4": "7777", "account_type": "savings"},
    ),
    (
        "C07",
        _field((1, NEW_ROUTING), (10, NEW), (27, "37")),
        "applied",
        {"routing_number": NEW_ROUTING, "account_last4": "7777", "account_type": "savings"},
    ),
    ("C08", _field((1, "DE89370400440532013000")), "informational", {}),
    ("C09", _field((1, "CUST1-NEW")), "applied", {"identification_number": "CUST1-NEW"}),
    ("C13", " " * 29, "informational", {}),
    ("C14", _field((1, "IAT")), "applied", {"required_sec_code": "IAT"}),
    ("C65", _field((1, NEW)), "informational", {}),
]


@pytest.mark.parametrize(("code", "data", "state", "fields"), CASES, ids=[c[0] for c in CASES])
def test_each_change_code_is_applied_to_the_payee(ledger, code, data, state, fields):
    trace = _sent(ledger)
    noc(ledger, trace, code, data, received=date(2026, 3, 4))
    apply_nocs(ledger, date(2026, 3, 4), AUTO)
    assert _app(ledger)["state"] == state
    payee = load_payees(ledger, ["CUST1"]).get("CUST1")
    if not fields:
        assert payee is None  # informational: no payee touched
        return
    for name, value in fields.items():
        assert getattr(payee, name) == value, name


def test_noc_for_an_entry_we_did_not_send_is_quarantined(ledger):
    noc(ledger, "123456789999999", "C01", NEW, received=date(2026, 3, 4))
    apply_nocs(ledger, date(2026, 3, 4), AUTO)
    app = _app(ledger)
    assert (app["state"], app["error_rule"]) == ("quarantined", "noc.no_payee")


@pytest.mark.parametrize(
    ("received", "deadline"),
    [
        (date(2026, 10, 9), date(2026, 10, 20)),  # Mon Oct 12 Columbus Day
        (date(2026, 11, 25), date(2026, 12, 4)),  # Thu Nov 26 Thanksgiving
        (date(2026, 12, 22), date(2026, 12, 31)),  # Fri Dec 25 Christmas
        (date(2026, 6, 16), date(2026, 6, 25)),  # Fri Jun 19 Juneteenth
    ],
)
def test_deadline_is_six_banking_days_across_holidays(ledger, received, deadline):
    trace = _sent(ledger, day=received)
    noc(ledger, trace, "C01", NEW, received=received)
    apply_nocs(ledger, received, CHECKER)
    assert _app(ledger)["deadline"] == deadline


def test_deadline_near_and_missed_warnings(ledger):
    trace = _sent(ledger, day=date(2026, 10, 9))
    noc(ledger, trace, "C01", NEW, received=date(2026, 10, 9))
    apply_nocs(ledger, date(2026, 10, 9), CHECKER)  # deadline Tue 2026-10-20

    def status(day):
        return noc_applications_frame(ledger, day)["deadline_status"].to_list()

    assert status(date(2026, 10, 13)) == ["open"]
    assert status(date(2026, 10, 16)) == ["near"]  # 2 banking days left (19, 20)
    assert status(date(2026, 10, 20)) == ["near"]
    assert status(date(2026, 10, 21)) == ["missed"]
    sections = actions_report_sections(ledger, date(2026, 10, 21), CHECKER)
    warnings = actions_warnings(sections)
    assert any("MISSED" in w and "C01" in w for w in warnings)
    html = render_actions_html(sections, as_of=date(2026, 10, 21))
    assert "MISSED" in html and NEW not in html
    # and a transfer to that payee is refused until the NOC is applied
    _, rejected = screen_transfers(
        ledger, transfers(transfer("INV9", OLD)), date(2026, 10, 21), settings=CHECKER
    )
    assert "was due by 2026-10-20" in rejected["reason"][0]


def test_the_same_noc_again_for_an_entry_sent_after_the_deadline_is_flagged(ledger):
    first = _sent(ledger, day=date(2026, 3, 2))
    noc(ledger, first, "C01", NEW, received=date(2026, 3, 4))  # deadline 2026-03-12
    apply_nocs(ledger, date(2026, 3, 4), CHECKER)  # queued, never approved
    first_app = _app(ledger)["id"]
    late = send(
        ledger,
        [{"reference": "INV3", "account": OLD, "amount_cents": 2500, "individual_id": "CUST1"}],
        effective=date(2026, 3, 16),
        creation=date(2026, 3, 13),
    )[0]
    noc(ledger, late, "C01", NEW, received=date(2026, 3, 18))
    out = apply_nocs(ledger, date(2026, 3, 18), CHECKER)
    assert [r["repeat_of"] for r in out.repeats] == [first_app]
    assert _app(ledger)["repeat_of"] == first_app
    warnings = actions_warnings(actions_report_sections(ledger, date(2026, 3, 18), CHECKER))
    assert any("came back" in w for w in warnings)


def test_a_noc_for_an_entry_sent_before_the_deadline_is_not_a_repeat(ledger):
    first = _sent(ledger, day=date(2026, 3, 2))
    noc(ledger, first, "C01", NEW, received=date(2026, 3, 4))
    apply_nocs(ledger, date(2026, 3, 4), CHECKER)
    early = send(
        ledger,
        [{"reference": "INV3", "account": OLD, "amount_cents": 2500, "individual_id": "CUST1"}],
        effective=date(2026, 3, 6),
        creation=date(2026, 3, 5),
    )[0]
    noc(ledger, early, "C01", NEW, received=date(2026, 3, 9))
    assert apply_nocs(ledger, date(2026, 3, 9), CHECKER).repeats == []


def test_c05_to_a_loan_account_stops_entries_with_the_reason(ledger):
    trace = _sent(ledger)
    noc(ledger, trace, "C05", "52", received=date(2026, 3, 4))
    apply_nocs(ledger, date(2026, 3, 4), AUTO)
    _, rejected = screen_transfers(
        ledger, transfers(transfer("INV2", OLD)), date(2026, 3, 5), settings=AUTO
    )
    assert "account type is loan" in rejected["reason"][0]


def test_c05_savings_rewrites_the_account_type(ledger):
    trace = _sent(ledger)
    noc(ledger, trace, "C05", "37", received=date(2026, 3, 4))
    apply_nocs(ledger, date(2026, 3, 4), AUTO)
    accepted, _ = screen_transfers(
        ledger, transfers(transfer("INV2", OLD)), date(2026, 3, 5), settings=AUTO
    )
    assert accepted["accountType"].to_list() == ["Savings"]


def test_a_noc_on_a_prenote_must_be_applied_before_live_entries(ledger):
    trace = _sent(ledger, code=28)  # prenote of a checking debit
    noc(ledger, trace, "C01", NEW, received=date(2026, 3, 4))
    apply_nocs(ledger, date(2026, 3, 4), CHECKER)
    _, rejected = screen_transfers(
        ledger, transfers(transfer("INV2", OLD)), date(2026, 3, 5), settings=CHECKER
    )
    assert "answers a prenote" in rejected["reason"][0]  # well before the deadline
    app = _app(ledger)["id"]
    propose_noc(ledger, app, actor="alice")
    approve_noc(ledger, app, actor="bob")
    accepted, rejected = screen_transfers(
        ledger, transfers(transfer("INV3", OLD)), date(2026, 3, 5), settings=CHECKER
    )
    assert rejected.height == 0 and accepted["DFIAccountNumber"].to_list() == [NEW]


def test_actions_taken_lists_the_days_returns_and_nocs(ledger):
    trace = _sent(ledger)
    other = send(
        ledger,
        [{"reference": "INV7", "account": "5555", "amount_cents": 100, "individual_id": "CUST7"}],
        effective=date(2026, 3, 2),
        settlement=date(2026, 3, 2),
    )[0]
    noc(ledger, trace, "C01", NEW, received=date(2026, 3, 4))
    returned(ledger, other, "R03", received=date(2026, 3, 4))
    apply_actions(ledger, date(2026, 3, 4), AUTO)
    taken = actions_report_sections(ledger, date(2026, 3, 4), AUTO)["actions_taken"]
    assert sorted(zip(taken["kind"], taken["code"], taken["action"], strict=True)) == [
        ("noc", "C01", "applied"),
        ("return", "R03", "block_until_new_account"),
    ]
    blocked = actions_report_sections(ledger, date(2026, 3, 4), AUTO)["payees_blocked"]
    assert blocked["payee_ref"].to_list() == ["CUST7"]
