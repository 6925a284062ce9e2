"""Acting on what comes back, end to end: the real nightly run against the sandbox bank
(SFTP + PGP + API) and the test Postgres, night after night on the sandbox clock.

* a NOC C01 comes back and is applied; the next transfer to that payee still carries the old
  account and the next day's file carries the corrected one;
* an R03 blocks the payee; the next day's transfer to it is rejected with the reason;
* an R01 is re-initiated twice (RETRY PYMT) and the third attempt is refused.

The sandbox answers by magic account suffixes (C01, R03, R01), so the outcome is certain.
"""

from __future__ import annotations

import json
import os
import secrets
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import psycopg

import nacha
from pipeline.config import load_config
from pipeline.demo import CENTRAL, demo_config_text, prepare_workdir
from sandbox import Sandbox, SandboxClock, Scenario

NIGHTS = [date(2026, 3, d) for d in (2, 3, 4, 5, 6, 9, 10, 11, 12, 13)]
OLD_A = "5566778C01"
ACCT_B = "44332211R03"
ACCT_C = "99887766R01"


def _row(ref: str, payee: str, account: str, *, routing: str = "011000015") -> dict[str, str]:
    return {
        "reference": ref,
        "clientCode": "ACME",
        "effectiveEntryDate": "",
        "standardEntryClassCode": "PPD",
        "individualName": f"PAYEE {payee}",
        "routingNumber": routing,
        "DFIAccountNumber": account,
        "accountType": "Checking",
        "transactionType": "Debit",
        "amount": "42.50",
        "currency": "USD",
        "companyEntryDescription": "PAYMENT",
        "identificationNumber": payee,
        "paymentTypeCode": "",
    }


def _intake(day: date) -> list[dict[str, str]]:
    if day == NIGHTS[0]:
        return [
            _row("A1", "PAYEEA", OLD_A),
            _row("B1", "PAYEEB", ACCT_B),
            _row("C1", "PAYEEC", ACCT_C),
        ]
    if day == NIGHTS[3]:  # after the NOC and the R03 were ingested
        return [_row("A2", "PAYEEA", OLD_A), _row("B2", "PAYEEB", ACCT_B)]
    return []


def _night(config: Any, day: date) -> dict[str, Any]:
    """The whole nightly run for ``day``, as the scheduler starts it."""
    from pipeline.run import RunOptions
    from pipeline.run.wiring import open_nightly

    with open_nightly(config) as nightly:
        summary = nightly.execute(RunOptions(business_date=day)).to_json()
    # 0 ok, 3 reconciliation breaks (the API sees returned entries differently): both
    # complete every step
    assert summary["exit_code"] in (0, 3), json.dumps(summary)[:3000]
    details = {s["step"]: s.get("detail", {}) for s in summary["steps"]}
    details["_summary"] = summary
    return details


def _step(details: dict[str, Any], name: str) -> dict[str, Any]:
    return details.get(name, {})


def test_noc_r03_and_r01_retries_through_the_nightly_run(tmp_path: Path, pg_url: str):
    workdir = prepare_workdir(tmp_path / "work")
    (workdir / "secrets" / "account.key").write_text(secrets.token_bytes(32).hex() + "\n")
    start = datetime.combine(NIGHTS[0], time(8, 0), tzinfo=CENTRAL).astimezone(UTC)
    sandbox = Sandbox(
        scenario=Scenario(seed=3),
        clock=SandboxClock(start),
        odfi_dir=workdir / "sandbox",
        sftp_port=0,
    )
    summaries: dict[date, dict[str, Any]] = {}
    with sandbox:
        info = sandbox.info()
        (workdir / "secrets" / "api-secret").write_text(info["api"]["client_secret"] + "\n")
        text = demo_config_text(workdir=workdir, info=info)
        text = text.replace(f'embedded_dir = "{workdir / "db"}"', f'url = "{pg_url}"').replace(
            'level = "warning"', 'level = "error"'
        )
        config_path = workdir / "achpipe.toml"
        config_path.write_text(text)
        env = {
            k: v
            for k, v in os.environ.items()
            if k != "DATABASE_URL" and not k.startswith("ACHPIPE_")
        }
        config = load_config(config_path, env=env)
        columns = list(_row("x", "x", "x"))
        for day in NIGHTS:
            evening = datetime.combine(day, time(17, 0), tzinfo=CENTRAL)
            sandbox.set_clock(evening.astimezone(UTC))
            intake = workdir / "intake" / f"transfers-{day.isoformat()}.csv"
            pl.DataFrame(_intake(day), schema={c: pl.String for c in columns}).write_csv(intake)
            summaries[day] = _night(config, day)
            sandbox.set_clock((evening + timedelta(minutes=30)).astimezone(UTC))
            sandbox.poll()

    with psycopg.connect(pg_url, autocommit=True) as conn:
        payees = dict(conn.execute("SELECT payee_ref, status FROM payees").fetchall())
        nocs = conn.execute("SELECT change_code, state FROM noc_applications").fetchall()
        retries = conn.execute(
            "SELECT attempt, state, reason, retry_reference FROM reinitiations ORDER BY id"
        ).fetchall()
        actions = dict(
            conn.execute(
                "SELECT reference, action FROM return_actions WHERE reference IN ('B1', 'C1')"
            ).fetchall()
        )

    # NOC C01 applied to PAYEEA
    assert ("C01", "applied") in nocs
    # R03 blocked PAYEEB, R01 allowed a retry of C1
    assert payees["PAYEEB"] == "blocked"
    assert actions == {"B1": "block_until_new_account", "C1": "retry_allowed"}

    # the night with A2 and B2: B2 rejected with the reason, A2 built with the new account
    build = _step(summaries[NIGHTS[3]], "build")
    rejected = {r["reference"]: r["reason"] for r in build["rejected_transfers"]}
    assert set(rejected) == {"B2"}
    assert "payee PAYEEB blocked: R03" in rejected["B2"]
    outbound = workdir / "data" / "outbound" / NIGHTS[3].isoformat()
    files = [p for p in outbound.iterdir() if p.suffix == ".ach"] if outbound.exists() else []
    accounts = {}
    for path in files:
        parsed = nacha.read(path.read_bytes())
        entries = parsed.entries
        for rec in entries.iter_rows(named=True):
            accounts[str(rec.get("identification_number") or "").strip()] = str(
                rec.get("dfi_account_number") or ""
            ).strip()
    assert "PAYEEA" in accounts, accounts.keys()
    assert accounts["PAYEEA"] != OLD_A and accounts["PAYEEA"].isdigit()

    # R01: two RETRY PYMT sent, the third refused
    states = [(a, s) for a, s, _, _ in retries]
    assert states == [(1, "sent"), (2, "sent"), (3, "refused")], retries
    assert "third re-initiation refused" in retries[2][2]

    # the finance report of the last night has the actions section
    report = Path(summaries[NIGHTS[-1]]["_summary"]["reports_dir"]) / "finance" / "actions.html"
    html = report.read_text()
    assert "PAYEEB" in html and "third re-initiation refused" in html
    assert OLD_A not in html and ACCT_B not in html and ACCT_C not in html
