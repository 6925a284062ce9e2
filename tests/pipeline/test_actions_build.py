"""The builder path of the nightly run (collect → build, the real steps) refuses entries to
blocked payees and rule-breaking retries with the reason, builds planned retries as
RETRY PYMT, and puts NOC-corrected data in the file; the report step's section is written."""

from __future__ import annotations

import base64
import os
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import psycopg
import pytest

import nacha
from nacha.build_input import TRANSFER_COLUMNS
from pipeline.actions import ActionsSettings, apply_actions, load_payees
from pipeline.actions.run_hooks import write_actions_report
from pipeline.config import load_config
from pipeline.run import RunOptions
from pipeline.run.wiring import open_nightly
from pipeline.secrets import Secret
from pipeline.store import AccountProtector, Ledger
from tests.pipeline._actions_helpers import COMPANY_ID, noc, returned, send

SAMPLE = Path(__file__).resolve().parents[2] / "sample_files" / "achpipe.toml"
COLUMNS = TRANSFER_COLUMNS


def _row(ref: str, payee: str, account: str, amount: str = "42.50") -> dict[str, str]:
    return dict(
        zip(
            COLUMNS,
            (
                ref,
                "ACME",
                "",
                "PPD",
                f"PAYEE {payee}",
                "011000015",
                account,
                "Checking",
                "Debit",
                amount,
                "USD",
                "PAYMENT",
                payee,
                "",
            ),
            strict=True,
        )
    )


@pytest.fixture
def world(actions_ledger, pg_module_url: str, tmp_path: Path):
    key = base64.b64encode(os.urandom(32)).decode()
    text = SAMPLE.read_text()
    text += (
        f'\n[database]\nurl = "{pg_module_url}"\n[security]\naccount_key = "{key}"\n'
        f'[paths]\ndata_dir = "{tmp_path / "data"}"\n'
        f'[run]\ntransfers_source = "file"\n'
        f'transfers_file = "{tmp_path / "intake" / "transfers-{date}.csv"}"\n'
    )
    (tmp_path / "intake").mkdir()
    path = tmp_path / "achpipe.toml"
    path.write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACHPIPE_")}
    env.pop("DATABASE_URL", None)
    config = load_config(path, env=env)
    conn = psycopg.connect(pg_module_url, autocommit=True)
    ledger = Ledger(conn, AccountProtector(Secret(key, source="test")))
    yield ledger, config, tmp_path
    conn.close()


def _build(config: Any, tmp_path: Path, day: date, rows: list[dict[str, str]]) -> dict[str, Any]:
    frame = pl.DataFrame(rows, schema=dict.fromkeys(COLUMNS, pl.String))
    frame.write_csv(tmp_path / "intake" / f"transfers-{day.isoformat()}.csv")
    detail: dict[str, Any] = {}
    for step in ("collect", "build"):
        with open_nightly(config) as nightly:
            summary = nightly.execute(RunOptions(business_date=day, only=step)).to_json()
        assert summary["exit_code"] == 0, summary
        detail.update({s["step"]: s.get("detail", {}) for s in summary["steps"]})
    return detail["build"]


def _file_entries(tmp_path: Path, day: date) -> pl.DataFrame:
    folder = tmp_path / "data" / "outbound" / day.isoformat()
    frames = [nacha.read(p.read_bytes()).entries for p in sorted(folder.glob("*.ach"))]
    return pl.concat(frames, how="diagonal_relaxed")


def test_blocked_payee_refused_corrected_account_and_retry_built(world):
    ledger, config, tmp_path = world
    day0 = date(2026, 3, 2)
    sent = send(
        ledger,
        [
            {
                "reference": "A1",
                "account": "5566778899",
                "amount_cents": 4250,
                "individual_id": "PAYEEA",
                "routing": "011000015",
            },
            {
                "reference": "B1",
                "account": "44332211",
                "amount_cents": 4250,
                "individual_id": "PAYEEB",
                "routing": "011000015",
            },
            {
                "reference": "C1",
                "account": "99887766",
                "amount_cents": 4250,
                "individual_id": "PAYEEC",
                "routing": "011000015",
            },
        ],
        effective=day0,
        settlement=day0,
        company_id=COMPANY_ID,
        company_name="ACME PAYMENTS",
    )
    noc(ledger, sent[0], "C01", "1112223334", received=date(2026, 3, 4))
    returned(ledger, sent[1], "R03", received=date(2026, 3, 4))
    returned(ledger, sent[2], "R01", received=date(2026, 3, 4), amount_cents=4250)
    apply_actions(ledger, date(2026, 3, 4), ActionsSettings())

    build = _build(
        config,
        tmp_path,
        date(2026, 3, 4),
        [
            _row("A2", "PAYEEA", "5566778899"),  # old account: corrected by the NOC
            _row("B2", "PAYEEB", "44332211"),  # blocked by R03
            _row("C9", "PAYEEC", "99887766", amount="42.50"),
        ],
    )
    rejected = {r["reference"]: r["reason"] for r in build["rejected_transfers"]}
    assert set(rejected) == {"B2"}
    assert "payee PAYEEB blocked: R03" in rejected["B2"]
    assert build["screen"]["retries_due"] == 1 and build["screen"]["corrected"] == 1
    entries = _file_entries(tmp_path, date(2026, 3, 4))
    by_id = {str(r["identification_number"]).strip(): r for r in entries.iter_rows(named=True)}
    assert str(by_id["PAYEEA"]["dfi_account_number"]).strip() == "1112223334"
    assert "PAYEEB" not in by_id
    batches = nacha.read(
        next((tmp_path / "data" / "outbound" / "2026-03-04").glob("*.ach")).read_bytes()
    ).batches
    assert "RETRY PYMT" in [str(d).strip() for d in batches["company_entry_description"]]
    # the ledger now knows the retry was sent
    retry = ledger.conn.execute(
        "SELECT e.amount_cents, b.company_entry_description, b.company_id FROM entries e"
        " JOIN batches b ON b.id = e.batch_id WHERE e.reference = 'C1RT1'"
    ).fetchall()
    assert retry == [(4250, "RETRY PYMT", COMPANY_ID)]
    apply_actions(ledger, date(2026, 3, 5), ActionsSettings())
    assert ledger.conn.execute("SELECT state FROM reinitiations").fetchall() == [("sent",)]
    assert load_payees(ledger, ["PAYEEB"])["PAYEEB"].status == "blocked"

    report = write_actions_report(ledger, date(2026, 3, 5), tmp_path / "reports", config)
    html = Path(report["actions_report"]).read_text()
    assert "PAYEEB" in html and "R03" in html and "C1RT1" in html
    assert "5566778899" not in html and "1112223334" not in html
    for name in ("actions-taken", "payees-blocked", "retries-planned", "noc-deadlines"):
        assert (tmp_path / "reports" / "finance" / f"actions-{name}.csv").exists()
