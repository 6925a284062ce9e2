"""The nightly state machine's decisions: which steps run, when it refuses, what it exits."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import pytest

from pipeline.errors import ConfigError, LockedError, NotABankingDay, TransientError
from pipeline.run import STEPS, ExitPolicy, NightlyRun, RunOptions, StepContext, StepFailed
from tests.pipeline.run_fakes import MemoryRunLedger

DAY = date(2026, 11, 20)  # a Friday
SATURDAY = date(2026, 11, 21)


def weekday(d: date) -> bool:
    return d.weekday() < 5


class Recorder:
    """Step implementations that log their calls and can be told to fail once."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.fail_once: dict[str, Exception] = {}
        self.facts: dict[str, Any] = {}

    def steps(self) -> dict[str, Any]:
        def make(name: str) -> Any:
            def step(ctx: StepContext) -> Mapping[str, Any]:
                self.calls.append(name)
                if name in self.fail_once:
                    raise self.fail_once.pop(name)
                if name in self.facts:
                    ctx.facts.update(self.facts[name])
                return {"items": len(self.calls)}

            return step

        return {name: make(name) for name in STEPS}


def engine(ledger: MemoryRunLedger, rec: Recorder, **kw: Any) -> NightlyRun:
    return NightlyRun(ledger=ledger, steps=rec.steps(), is_banking_day=weekday, **kw)


def test_full_run_runs_every_step_in_order_and_finishes() -> None:
    ledger, rec = MemoryRunLedger(), Recorder()
    summary = engine(ledger, rec).execute(RunOptions(business_date=DAY))
    assert rec.calls == list(STEPS)
    assert summary.exit_code == 0 and summary.status == "ok"
    assert [s["outcome"] for s in summary.to_json()["steps"]] == ["done"] * len(STEPS)
    assert ledger.runs[("nightly", DAY)]["finished"] is True


def test_finished_date_is_a_noop_that_reprints_the_summary() -> None:
    ledger, rec = MemoryRunLedger(), Recorder()
    first = engine(ledger, rec).execute(RunOptions(business_date=DAY))
    rec.calls.clear()
    again = engine(ledger, rec).execute(RunOptions(business_date=DAY))
    assert rec.calls == []
    assert again.noop is True
    doc = again.to_json()
    assert doc["run_id"] == first.run_id and doc["noop"] is True
    assert doc["steps"] == first.to_json()["steps"]


def test_failure_then_rerun_resumes_at_the_failed_step() -> None:
    ledger, rec = MemoryRunLedger(), Recorder()
    rec.fail_once["upload"] = TransientError("sftp: connection reset")
    with pytest.raises(StepFailed) as info:
        engine(ledger, rec).execute(RunOptions(business_date=DAY))
    assert info.value.exit_code == 75
    assert info.value.summary.status == "failed"
    outcomes = [s.outcome for s in info.value.summary.steps]
    assert outcomes == ["done"] * 3 + ["failed"] + ["not_run"] * (len(STEPS) - 4)
    assert rec.calls == ["collect", "build", "seal", "upload"]
    assert ledger.runs[("nightly", DAY)]["steps"]["upload"].status == "failed"
    rec.calls.clear()
    summary = engine(ledger, rec).execute(RunOptions(business_date=DAY))
    assert rec.calls == list(STEPS[STEPS.index("upload") :])
    outcomes = {s.step: s.outcome for s in summary.steps}
    assert outcomes["build"] == "already_done" and outcomes["upload"] == "done"
    assert summary.exit_code == 0


def test_programming_errors_propagate_after_being_recorded() -> None:
    ledger, rec = MemoryRunLedger(), Recorder()
    rec.fail_once["reconcile"] = KeyError("bug")
    with pytest.raises(KeyError):
        engine(ledger, rec).execute(RunOptions(business_date=DAY))
    assert ledger.runs[("nightly", DAY)]["steps"]["reconcile"].status == "failed"
    assert ledger.runs[("nightly", DAY)]["finished"] is False


def test_non_banking_day_refuses_with_99_unless_forced() -> None:
    ledger, rec = MemoryRunLedger(), Recorder()
    with pytest.raises(NotABankingDay) as info:
        engine(ledger, rec).execute(RunOptions(business_date=SATURDAY))
    assert info.value.exit_code == 99
    assert rec.calls == [] and ledger.runs == {}
    engine(ledger, rec).execute(RunOptions(business_date=SATURDAY, force=True))
    assert rec.calls == list(STEPS)


def test_second_concurrent_run_exits_75_without_touching_anything() -> None:
    held: set[str] = {"nightly"}  # someone else holds the job lock
    ledger, rec = MemoryRunLedger(held), Recorder()
    with pytest.raises(LockedError) as info:
        engine(ledger, rec).execute(RunOptions(business_date=DAY))
    assert info.value.exit_code == 75
    assert rec.calls == [] and ledger.runs == {}


def test_only_runs_one_step_even_on_a_finished_date() -> None:
    ledger, rec = MemoryRunLedger(), Recorder()
    engine(ledger, rec).execute(RunOptions(business_date=DAY))
    rec.calls.clear()
    summary = engine(ledger, rec).execute(RunOptions(business_date=DAY, only="reconcile"))
    assert rec.calls == ["reconcile"]
    assert {s.step: s.outcome for s in summary.steps}["reconcile"] == "done"
    assert ledger.runs[("nightly", DAY)]["finished"] is True


def test_only_on_a_fresh_date_leaves_the_run_unfinished() -> None:
    ledger, rec = MemoryRunLedger(), Recorder()
    summary = engine(ledger, rec).execute(RunOptions(business_date=DAY, only="collect"))
    assert rec.calls == ["collect"]
    assert summary.status == "incomplete"
    assert ledger.runs[("nightly", DAY)]["finished"] is False
    rec.calls.clear()
    engine(ledger, rec).execute(RunOptions(business_date=DAY))
    assert rec.calls == list(STEPS[1:])


def test_from_step_reruns_that_step_and_the_rest() -> None:
    ledger, rec = MemoryRunLedger(), Recorder()
    engine(ledger, rec).execute(RunOptions(business_date=DAY))
    rec.calls.clear()
    engine(ledger, rec).execute(RunOptions(business_date=DAY, from_step="rates"))
    assert rec.calls == ["rates", "report"]


def test_force_resend_needs_a_reason_and_is_recorded() -> None:
    with pytest.raises(ConfigError, match="--reason"):
        RunOptions(business_date=DAY, force_resend=True)
    with pytest.raises(ConfigError):
        RunOptions(business_date=DAY, force_resend=True, reason="   ")
    with pytest.raises(ConfigError):
        RunOptions(business_date=DAY, from_step="build", only="seal")
    ledger, rec = MemoryRunLedger(), Recorder()
    engine(ledger, rec).execute(RunOptions(business_date=DAY))
    rec.calls.clear()
    engine(ledger, rec).execute(
        RunOptions(business_date=DAY, force_resend=True, reason="bank lost file (ticket 42)")
    )
    assert rec.calls == ["upload", "verify"]
    assert ledger.events[-1][1:] == (
        "force_resend",
        {"reason": "bank lost file (ticket 42)", "date": "2026-11-20"},
    )


def test_dry_run_runs_collect_build_seal_and_writes_only_a_dry_run_record() -> None:
    ledger, rec = MemoryRunLedger(), Recorder()
    summary = engine(ledger, rec).execute(RunOptions(business_date=DAY, dry_run=True))
    assert rec.calls == ["collect", "build", "seal"]
    assert ledger.runs == {} and len(ledger.dry_runs) == 1
    assert summary.to_json()["dry_run"] is True and summary.run_id.startswith("dry-")


@pytest.mark.parametrize(
    ("facts", "policy", "code"),
    [
        ({"breaks": {"count": 2}}, ExitPolicy(), 3),
        ({"breaks": {"count": 2}}, ExitPolicy(break_threshold=2), 0),
        ({"rate_limit_crossed": True}, ExitPolicy(), 4),
        ({"rate_limit_crossed": True}, ExitPolicy(fail_on_rate_limit=False), 0),
        ({"breaks": {"count": 1}, "rate_limit_crossed": True}, ExitPolicy(), 3),
    ],
)
def test_exit_policy(facts: dict[str, Any], policy: ExitPolicy, code: int) -> None:
    ledger, rec = MemoryRunLedger(), Recorder()
    rec.facts["reconcile"] = facts
    summary = engine(ledger, rec, exit_policy=policy).execute(RunOptions(business_date=DAY))
    assert summary.exit_code == code
    assert summary.to_json()["exit_code"] == code
    # the stored summary keeps the exit code: a no-op rerun exits the same way
    again = engine(ledger, rec, exit_policy=policy).execute(RunOptions(business_date=DAY))
    assert again.exit_code == code


def test_progress_bar_on_a_terminal_shows_each_step(capsys: pytest.CaptureFixture[str]) -> None:
    ledger, rec = MemoryRunLedger(), Recorder()
    engine(ledger, rec, show_progress=True).execute(RunOptions(business_date=DAY))
    assert rec.calls == list(STEPS)
    err = capsys.readouterr().err
    assert "run 2026-11-20" in err  # click draws the bar itself only on a real terminal
