"""The nightly run's hook after ingest: act on what came back, then plan retries.

``apply_actions(ledger, business_date, settings)`` is what the run step calls after the
ingest step (returns and NOCs are in the ledger by then). It is idempotent: every return
and NOC is acted on once (unique keys in ``return_actions`` / ``noc_applications`` /
``reinitiations``), so a rerun of the step does nothing new.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from nacha.calendar import FED_CALENDAR, BankingCalendar
from pipeline.actions.nocs import NocOutcome, apply_nocs
from pipeline.actions.retries import link_sent_retries, plan_retries
from pipeline.actions.returns import ReturnOutcome, apply_return_actions
from pipeline.actions.settings import ActionsSettings
from pipeline.store.ledger import Ledger

__all__ = ["ActionsOutcome", "apply_actions"]


@dataclass
class ActionsOutcome:
    """What one pass did (``as_dict`` is the run summary's ``actions`` facts)."""

    returns: ReturnOutcome
    nocs: NocOutcome
    retries: pl.DataFrame
    linked: int

    def as_dict(self) -> dict[str, Any]:
        states = self.retries.get_column("state").value_counts() if self.retries.height else None
        return {
            "returns": self.returns.as_dict(),
            "nocs": self.nocs.as_dict(),
            "retries": {} if states is None else dict(states.iter_rows()),
            "retries_linked": self.linked,
        }


def apply_actions(
    ledger: Ledger,
    business_date: date,
    settings: ActionsSettings | None = None,
    *,
    actor: str = "achpipe",
    calendar: BankingCalendar = FED_CALENDAR,
) -> ActionsOutcome:
    """Return actions, NOC applications, then the retry plan, each in its own transaction."""
    settings = settings or ActionsSettings()
    linked = link_sent_retries(ledger)
    returns = apply_return_actions(ledger, business_date, settings, actor=actor)
    nocs = apply_nocs(ledger, business_date, settings, actor=actor, calendar=calendar)
    retries = plan_retries(ledger, business_date, settings, actor=actor, calendar=calendar)
    return ActionsOutcome(returns=returns, nocs=nocs, retries=retries, linked=linked)
