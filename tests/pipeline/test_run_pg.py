"""The run bookkeeping on a real Postgres: resume, no-op, lock, dry-run record; CLI exit codes."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.errors import LockedError, TransientError
from pipeline.run import STEPS, NightlyRun, RunOptions, StepContext, StepFailed
from pipeline.run.pg_ledger import PgRunLedger

DAY = date(2026, 11, 20)


def _steps(calls: list[str], fail: dict[str, Exception]) -> dict[str, Any]:
    def make(name: str) -> Any:
        def step(ctx: StepContext) -> dict[str, Any]:
            calls.append(name)
            if name in fail:
                raise fail.pop(name)
            return {"n": len(calls), "facts": {f"seen_{name}": True}}

        return step

    return {s: make(s) for s in STEPS}


@pytest.fixture
def conn(pg_url: str) -> Any:
    with psycopg.connect(pg_url, autocommit=True) as c:
        yield c


def test_resume_noop_and_summary_survive_in_postgres(conn: psycopg.Connection) -> None:
    calls: list[str] = []
    ledger = PgRunLedger(conn, conn)
    fail = {"fetch": TransientError("sftp down")}
    run = NightlyRun(ledger=ledger, steps=_steps(calls, fail), is_banking_day=lambda d: True)
    with pytest.raises(StepFailed) as info:
        run.execute(RunOptions(business_date=DAY))
    assert info.value.exit_code == 75
    state = conn.execute(
        "SELECT s.step, s.state FROM run_steps s JOIN runs r ON r.id = s.run_id"
        " WHERE r.business_date = %s ORDER BY s.step",
        (DAY,),
    ).fetchall()
    assert dict(state)["fetch"] == "failed" and dict(state)["verify"] == "done"
    calls.clear()
    summary = run.execute(RunOptions(business_date=DAY))
    assert calls == list(STEPS[STEPS.index("fetch") :])
    # facts of steps done in the first attempt are recovered from their ledger records
    assert summary.to_json()["facts"] == {f"seen_{s}": True for s in STEPS}
    calls.clear()
    again = run.execute(RunOptions(business_date=DAY))
    assert calls == [] and again.noop
    assert again.to_json()["run_id"] == summary.run_id
    row = conn.execute("SELECT state, exit_code FROM runs WHERE business_date = %s", (DAY,))
    assert row.fetchone() == ("finished", 0)


def test_second_holder_of_the_lock_gets_locked_error(pg_url: str) -> None:
    with (
        psycopg.connect(pg_url, autocommit=True) as a,
        psycopg.connect(pg_url, autocommit=True) as b,
    ):
        first, second = PgRunLedger(a, a), PgRunLedger(b, b)
        with first.lock("nightly"):
            with pytest.raises(LockedError, match="retry later"), second.lock("nightly"):
                pass
            with second.lock("other-job"):  # another job is independent
                pass
        with second.lock("nightly"):  # released with the block
            pass


def test_force_resend_event_and_dry_run_record(conn: psycopg.Connection) -> None:
    calls: list[str] = []
    ledger = PgRunLedger(conn, conn)
    run = NightlyRun(ledger=ledger, steps=_steps(calls, {}), is_banking_day=lambda d: True)
    run.execute(RunOptions(business_date=DAY, dry_run=True))
    assert conn.execute("SELECT job, outcome FROM runs").fetchall() == [
        ("nightly.dry-run", "dry_run")
    ]
    run.execute(RunOptions(business_date=DAY))
    calls.clear()
    run.execute(RunOptions(business_date=DAY, force_resend=True, reason="ticket 7"))
    assert calls == ["upload", "verify"]
    events = conn.execute("SELECT detail -> 'events' FROM runs WHERE job = 'nightly'").fetchone()[0]
    assert events[0]["kind"] == "force_resend" and events[0]["reason"] == "ticket 7"


# --- CLI exit codes against a real database -------------------------------------------------


def _config(tmp_path: Path, pg_url: str) -> Path:
    path = tmp_path / "achpipe.toml"
    path.write_text(f'[database]\nurl = "{pg_url}"\n[paths]\ndata_dir = "data"\n')
    return path


def test_cli_not_a_banking_day_exits_99_with_json(tmp_path: Path, pg_url: str) -> None:
    cfg = _config(tmp_path, pg_url)
    result = CliRunner().invoke(
        cli, ["run", "--date", "2026-11-26", "--config", str(cfg), "--json"]
    )  # Thanksgiving
    assert result.exit_code == 99, result.output
    doc = json.loads(result.stdout)
    assert doc["exit_code"] == 99 and "not a banking day" in doc["exit_reason"]


def test_cli_locked_exits_75(tmp_path: Path, pg_url: str) -> None:
    cfg = _config(tmp_path, pg_url)
    with (
        psycopg.connect(pg_url, autocommit=True) as holder,
        PgRunLedger(holder, holder).lock("nightly"),
    ):
        result = CliRunner().invoke(cli, ["run", "--date", "2026-11-20", "--config", str(cfg)])
    assert result.exit_code == 75, result.output
    assert "lock" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--force-resend"],
        ["--from-step", "build", "--only", "seal"],
        ["--only", "nonsense"],
        ["--reason", "why"],
    ],
)
def test_cli_usage_errors_exit_2(tmp_path: Path, pg_url: str, args: list[str]) -> None:
    cfg = _config(tmp_path, pg_url)
    result = CliRunner().invoke(cli, ["run", "--date", "2026-11-20", "--config", str(cfg), *args])
    assert result.exit_code == 2, result.output


def test_cli_database_unreachable_is_transient(tmp_path: Path) -> None:
    cfg = _config(tmp_path, "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")
    result = CliRunner().invoke(cli, ["run", "--date", "2026-11-20", "--config", str(cfg)])
    assert result.exit_code == 75, result.output
    assert "127.0.0.1" in result.stderr
