"""The nightly run: a ledger-backed, resumable state machine keyed by business date."""

from pipeline.run.engine import (
    DRY_RUN_STEPS,
    ExitPolicy,
    NightlyRun,
    RunOptions,
    StepContext,
    StepFailed,
    StepFn,
)
from pipeline.run.seams import RunLedger, RunState, StepRecord
from pipeline.run.settings import RunSettings
from pipeline.run.steps import STEP_HELP, STEPS, StepName, parse_step
from pipeline.run.summary import RunSummary, StepResult

__all__ = [
    "DRY_RUN_STEPS",
    "STEPS",
    "STEP_HELP",
    "ExitPolicy",
    "NightlyRun",
    "RunLedger",
    "RunOptions",
    "RunSettings",
    "RunState",
    "RunSummary",
    "StepContext",
    "StepFailed",
    "StepFn",
    "StepName",
    "StepRecord",
    "StepResult",
    "parse_step",
]
