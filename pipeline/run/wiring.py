"""Assemble the nightly run from the configuration: ledger, steps, calendar, exit policy."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pipeline.config import AppConfig
from pipeline.run.checks import CheckSteps
from pipeline.run.engine import ExitPolicy, NightlyRun, StepFn
from pipeline.run.inbound import InboundSteps
from pipeline.run.outbound import OutboundSteps
from pipeline.run.resources import Resources
from pipeline.run.steps import StepName


def step_table(res: Resources) -> dict[StepName, StepFn]:
    out, inn, chk = OutboundSteps(res), InboundSteps(res), CheckSteps(res)
    return {
        "collect": out.collect,
        "build": out.build,
        "seal": out.seal,
        "upload": out.upload,
        "verify": out.verify,
        "fetch": inn.fetch,
        "ingest": inn.ingest,
        "refresh": chk.refresh,
        "reconcile": chk.reconcile,
        "rates": chk.rates,
        "report": chk.report,
    }


def banking_calendar(config: AppConfig) -> Any:
    """The configured calendar (extra closures/openings), or the Fed's."""
    build = config.settings.get("build")
    if build is not None:
        return build.settings.odfi.profile.calendar
    from nacha.calendar import FED_CALENDAR

    return FED_CALENDAR


@contextmanager
def open_ledger_for(config: AppConfig) -> Iterator[Any]:
    from pipeline.store import open_ledger

    with open_ledger(config.typed("database"), config.typed("security")) as ledger:
        yield ledger


@contextmanager
def open_nightly(config: AppConfig, *, interactive: bool = False) -> Iterator[NightlyRun]:
    """A ready :class:`NightlyRun`; the ledger (and whatever the steps opened) close after."""
    run_settings = config.typed("run")
    with open_ledger_for(config) as ledger:
        res = Resources(config, ledger)
        try:
            yield NightlyRun(
                ledger=res.run_ledger,
                steps=step_table(res),
                is_banking_day=banking_calendar(config).is_banking_day,
                exit_policy=ExitPolicy(
                    break_threshold=run_settings.break_threshold,
                    fail_on_rate_limit=run_settings.fail_on_rate_limit,
                ),
                show_progress=interactive,
            )
        finally:
            res.close()
