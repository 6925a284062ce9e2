"""``achpipe retries plan``, ``achpipe noc …`` and ``achpipe payees …`` in-process with
CliRunner against the real Postgres: exit codes, JSON shapes, maker-checker from the CLI."""

from __future__ import annotations

import base64
import json
import os
from datetime import date
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from pipeline.actions import ActionsSettings, apply_nocs, apply_return_actions
from pipeline.cli import cli
from pipeline.secrets import Secret
from pipeline.store import AccountProtector, Ledger
from tests.pipeline._actions_helpers import noc, returned, send

ACCOUNT = "111122223333"
NEW = "999988887777"


@pytest.fixture
def setup(actions_ledger, pg_module_url: str, tmp_path: Path):
    key = base64.b64encode(os.urandom(32)).decode()
    config = tmp_path / "achpipe.toml"
    config.write_text(
        f'[database]\nurl = "{pg_module_url}"\n[security]\naccount_key = "{key}"\n'
        f'[paths]\ndata_dir = "{tmp_path / "data"}"\n[actions]\nnoc_mode = "maker_checker"\n'
    )
    conn = psycopg.connect(pg_module_url, autocommit=True)
    ledger = Ledger(conn, AccountProtector(Secret(key, source="test")))
    yield ledger, config
    conn.close()


def _invoke(config: Path, *args: str):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACHPIPE_")}
    env.pop("DATABASE_URL", None)
    return CliRunner().invoke(cli, [*args, "--config", str(config)], env=env)


def test_retries_plan_json(setup):
    ledger, config = setup
    trace = send(
        ledger,
        [{"reference": "INV1", "account": ACCOUNT, "amount_cents": 2500, "individual_id": "CUST1"}],
        effective=date(2026, 3, 2),
        settlement=date(2026, 3, 2),
    )[0]
    returned(ledger, trace, "R01", received=date(2026, 3, 4))
    apply_return_actions(ledger, date(2026, 3, 4), ActionsSettings())
    result = _invoke(config, "retries", "plan", "--date", "2026-03-04", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert (doc["date"], doc["planned"], doc["refused"]) == ("2026-03-04", 1, 0)
    row = doc["retries"][0]
    assert row["retry_reference"] == "INV1RT1" and row["planned_date"] == "2026-03-05"
    assert row["amount_cents"] == 2500 and ACCOUNT not in result.stdout
    human = _invoke(config, "retries", "plan", "--date", "2026-03-04")
    assert human.exit_code == 0 and "INV1RT1" in human.stdout


def test_bad_date_is_a_usage_error(setup):
    _, config = setup
    result = _invoke(config, "retries", "plan", "--date", "04/03/2026")
    assert result.exit_code == 2 and "YYYY-MM-DD" in result.stderr


def test_noc_maker_checker_from_the_cli(setup):
    ledger, config = setup
    trace = send(
        ledger,
        [{"reference": "INV1", "account": ACCOUNT, "amount_cents": 2500, "individual_id": "CUST1"}],
        effective=date(2026, 3, 2),
        settlement=date(2026, 3, 2),
    )[0]
    noc(ledger, trace, "C01", NEW, received=date(2026, 3, 4))
    apply_nocs(ledger, date(2026, 3, 4), ActionsSettings(noc_mode="maker_checker"))
    listed = _invoke(config, "noc", "list", "--date", "2026-03-10", "--json")
    assert listed.exit_code == 0, listed.output
    doc = json.loads(listed.stdout)
    (app,) = doc["nocs"]
    assert (app["state"], app["deadline"], app["deadline_status"]) == (
        "queued",
        "2026-03-12",
        "near",
    )
    assert NEW not in listed.stdout and "7777" in app["corrected_masked"]
    app_id = str(app["application_id"])
    early = _invoke(config, "noc", "approve", "--id", app_id, "--by", "bob")
    assert early.exit_code == 2 and "propose it first" in early.stderr
    assert _invoke(config, "noc", "propose", "--id", app_id, "--by", "alice").exit_code == 0
    own = _invoke(config, "noc", "approve", "--id", app_id, "--by", "alice")
    assert own.exit_code == 2 and "another person must approve" in own.stderr
    ok = _invoke(config, "noc", "approve", "--id", app_id, "--by", "bob")
    assert ok.exit_code == 0, ok.output
    payees = json.loads(_invoke(config, "payees", "list", "--json").stdout)["payees"]
    assert [(p["payee_ref"], p["account_last4"]) for p in payees] == [("CUST1", "7777")]


def test_payees_authorize_from_the_cli(setup):
    ledger, config = setup
    trace = send(
        ledger,
        [{"reference": "INV1", "account": ACCOUNT, "amount_cents": 2500, "individual_id": "CUST1"}],
        effective=date(2026, 3, 2),
        settlement=date(2026, 3, 2),
    )[0]
    returned(ledger, trace, "R07", received=date(2026, 3, 4))
    apply_return_actions(ledger, date(2026, 3, 4), ActionsSettings())
    blocked = json.loads(
        _invoke(config, "payees", "list", "--status", "needs_authorization", "--json").stdout
    )["payees"]
    assert [p["payee_ref"] for p in blocked] == ["CUST1"]
    result = _invoke(
        config,
        "payees",
        "authorize",
        "--ref",
        "CUST1",
        "--by",
        "alice",
        "--note",
        "new signed mandate",
    )
    assert result.exit_code == 0, result.output
    again = _invoke(
        config, "payees", "authorize", "--ref", "CUST1", "--by", "alice", "--note", "again"
    )
    assert again.exit_code == 2 and "only a payee that needs" in again.stderr
