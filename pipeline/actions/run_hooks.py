"""The three places the nightly run calls into this package, each a one-liner there.

* build step: :func:`transfers_for_build` — the day's intake plus the planned retries due,
  screened (payee master data applied, blocked payees and broken retry rules refused with
  the reason). Runs inside the build step's transaction, so enrolments commit with the files.
* ingest step (after the files are recorded): :func:`after_ingest` — return actions, NOC
  applications, retry plan; idempotent.
* report step: :func:`write_actions_report` — ``finance/actions.html`` and CSVs of the four
  frames (accounts as last four only).

``config`` is the run's :class:`pipeline.config.AppConfig`; ``[actions]`` is optional (the
defaults apply), the companies come from the build settings.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl

from nacha.calendar import FED_CALENDAR, BankingCalendar
from pipeline.actions.after_ingest import apply_actions
from pipeline.actions.report import actions_report_sections, actions_warnings, render_actions_html
from pipeline.actions.retries import retry_transfers
from pipeline.actions.screen import REJECTED_SCHEMA, screen
from pipeline.actions.settings import ActionsSettings
from pipeline.store.ledger import Ledger
from reconcile.html import page

__all__ = [
    "actions_calendar",
    "actions_settings",
    "after_ingest",
    "transfers_for_build",
    "write_actions_report",
]


def actions_settings(config: Any) -> ActionsSettings:
    """``[actions]`` of the run's config, or the defaults."""
    settings = getattr(config, "settings", {}) or {}
    value = settings.get("actions") if hasattr(settings, "get") else None
    return value if isinstance(value, ActionsSettings) else ActionsSettings()


def _build(config: Any) -> Any:
    settings = getattr(config, "settings", {}) or {}
    build = settings.get("build") if hasattr(settings, "get") else None
    return getattr(build, "settings", None)


def actions_calendar(config: Any) -> BankingCalendar:
    build = _build(config)
    return build.odfi.profile.calendar if build is not None else FED_CALENDAR


def _companies(config: Any) -> dict[str | None, tuple[str, str]] | None:
    build = _build(config)
    if build is None:
        return None
    out: dict[str | None, tuple[str, str]] = {
        c.client_code: (c.company_name, c.company_id) for c in build.companies
    }
    default = build.default_company
    if default is not None:
        out[None] = (default.company_name, default.company_id)
    return out


def transfers_for_build(
    ledger: Ledger, transfers: pl.DataFrame, business_date: dt.date, config: Any
) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, Any]]:
    """(accepted, rejected, detail): intake + due retries, screened. ``rejected`` has
    row, reference, reason; ``detail`` the counts for the step summary."""
    if ledger.protector is None:
        # without [security] account_key nothing can be recorded (a dry run still builds):
        # payees cannot be matched, so the rules are not applied — say so in the detail
        return transfers, pl.DataFrame(schema=REJECTED_SCHEMA), {"skipped": "no account key"}
    companies = _companies(config)
    client_codes = {v[1]: k for k, v in (companies or {}).items() if k is not None}
    calendar = actions_calendar(config)
    retries = retry_transfers(ledger, business_date, client_codes=client_codes, calendar=calendar)
    if retries.height:
        # every retry column is one the builder knows; intake rows get nulls for any the
        # intake lacks (e.g. paymentTypeCode for a WEB retry)
        transfers = pl.concat([transfers, retries], how="diagonal_relaxed")
    result = screen(
        ledger,
        transfers,
        business_date,
        settings=actions_settings(config),
        companies=companies,
        calendar=calendar,
    )
    detail = {**result.counts(), "retries_due": retries.height}
    return result.accepted, result.rejected, detail


def after_ingest(ledger: Ledger, business_date: dt.date, config: Any) -> dict[str, Any]:
    """Act on the returns and NOCs just ingested; the counts for the step summary."""
    outcome = apply_actions(
        ledger, business_date, actions_settings(config), calendar=actions_calendar(config)
    )
    return outcome.as_dict()


def write_actions_report(
    ledger: Ledger, business_date: dt.date, out_dir: Path, config: Any
) -> dict[str, Any]:
    """Write ``finance/actions.html`` and ``finance/actions-<section>.csv``; return the
    warnings (NOC deadlines near/missed, repeated NOCs) and the file path."""
    sections = actions_report_sections(
        ledger, business_date, actions_settings(config), calendar=actions_calendar(config)
    )
    folder = out_dir / "finance"
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in sections.items():
        frame.write_csv(folder / f"actions-{name.replace('_', '-')}.csv")
    html_path = folder / "actions.html"
    html_path.write_text(
        page(
            f"Actions — {business_date.isoformat()}",
            "Returns acted on, payees blocked, retries planned, NOC deadlines. "
            "Account numbers masked.",
            render_actions_html(sections, as_of=business_date),
        )
    )
    return {"actions_report": str(html_path), "warnings": actions_warnings(sections)}
