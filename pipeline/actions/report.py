"""The finance report's "Actions" section: actions taken, payees blocked, retries planned,
NOC deadlines — frames read from the ledger, an HTML fragment for the finance page, and the
warnings (NOC deadline near or missed, repeated NOCs) for the run summary.

The report step includes it with::

    sections = actions_report_sections(ledger, business_date, settings)
    html_fragment = render_actions_html(sections, as_of=business_date)
    warnings = actions_warnings(sections)

Every frame is safe to print: accounts appear as last four only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from html import escape

import polars as pl

from nacha.calendar import FED_CALENDAR, BankingCalendar
from pipeline.actions.nocs import noc_applications_frame
from pipeline.actions.payees import payees_frame
from pipeline.actions.retries import retry_plan_frame
from pipeline.actions.returns import return_actions_frame
from pipeline.actions.settings import ActionsSettings
from pipeline.store.ledger import Ledger
from reconcile.html import table

__all__ = [
    "ACTIONS_TITLES",
    "actions_report_sections",
    "actions_warnings",
    "render_actions_html",
]

ACTIONS_TITLES: dict[str, str] = {
    "actions_taken": "Actions taken today on returns and NOCs",
    "payees_blocked": "Payees blocked or waiting for a new authorization",
    "retries_planned": "Re-initiations (RETRY PYMT): planned, sent, refused",
    "noc_deadlines": "NOCs to apply: 6-banking-day deadlines",
}


def actions_report_sections(
    ledger: Ledger,
    business_date: dt.date,
    settings: ActionsSettings | None = None,
    *,
    calendar: BankingCalendar = FED_CALENDAR,
) -> dict[str, pl.DataFrame]:
    """The four frames of the section, as of ``business_date``."""
    settings = settings or ActionsSettings()
    blocked = payees_frame(ledger, inactive=True)
    # every re-initiation decision whose 180-day window is still open (planned, sent,
    # refused, cancelled): finance sees what went out as RETRY PYMT and what was refused
    plan = retry_plan_frame(ledger).filter(pl.col("latest_date") >= business_date)
    returns = return_actions_frame(ledger, business_date=business_date).select(
        pl.lit("return").alias("kind"),
        pl.col("return_code").alias("code"),
        "title",
        "reference",
        "payee_ref",
        "action",
        "outcome",
        "acted_by",
    )
    all_nocs = noc_applications_frame(
        ledger, business_date, warn_banking_days=settings.noc_warn_banking_days, calendar=calendar
    )
    nocs = all_nocs.filter(
        (pl.col("deadline_status") != "done") | pl.col("repeat_of").is_not_null()
    )
    nocs_today = all_nocs.filter(pl.col("received_date") == business_date).select(
        pl.lit("noc").alias("kind"),
        pl.col("change_code").alias("code"),
        pl.lit(None, dtype=pl.String).alias("title"),
        pl.lit(None, dtype=pl.String).alias("reference"),
        "payee_ref",
        pl.col("state").alias("action"),
        pl.coalesce("reason", pl.format("deadline {}", pl.col("deadline"))).alias("outcome"),
        pl.coalesce("decided_by", "proposed_by").alias("acted_by"),
    )
    return {
        "actions_taken": pl.concat([returns, nocs_today], how="vertical_relaxed"),
        "payees_blocked": blocked,
        "retries_planned": plan,
        "noc_deadlines": nocs,
    }


def actions_warnings(sections: Mapping[str, pl.DataFrame]) -> list[str]:
    """One line per NOC whose deadline is missed or near, and per repeated NOC."""
    out: list[str] = []
    nocs = sections.get("noc_deadlines")
    if nocs is None:
        return out
    for r in nocs.iter_rows(named=True):
        who = (
            f"NOC {r['change_code']} for payee {r['payee_ref'] or '?'} (application "
            f"{r['application_id']})"
        )
        if r["deadline_status"] == "missed":
            out.append(f"{who}: deadline {r['deadline']} MISSED ({r['state']})")
        elif r["deadline_status"] == "near":
            out.append(
                f"{who}: deadline {r['deadline']}, {r['banking_days_left']} banking "
                f"day(s) left ({r['state']})"
            )
        if r["repeat_of"] is not None:
            out.append(
                f"{who}: the same correction came back for an entry sent after it was "
                f"due (first NOC: application {r['repeat_of']})"
            )
    return out


def render_actions_html(sections: Mapping[str, pl.DataFrame], *, as_of: dt.date) -> str:
    """An HTML fragment (h2 + tables) for the finance page; near/missed deadlines are
    highlighted, warnings listed first."""
    parts: list[str] = [f'<h2 id="h-actions">Actions as of {escape(as_of.isoformat())}</h2>']
    warnings = actions_warnings(sections)
    if warnings:
        parts.append("<ul>" + "".join(f"<li>{escape(w)}</li>" for w in warnings) + "</ul>")
    for name, title in ACTIONS_TITLES.items():
        df = sections.get(name)
        if df is None:
            continue
        row_class = None
        if name == "noc_deadlines" and df.height:
            df = df.with_columns(
                _row=pl.when(pl.col("deadline_status") == "missed")
                .then(pl.lit("bad"))
                .when(pl.col("deadline_status") == "near")
                .then(pl.lit("warn"))
                .otherwise(None)
            )
            row_class = "_row"
        if name == "retries_planned" and df.height:
            df = df.with_columns(
                _row=pl.when(pl.col("state") == "refused").then(pl.lit("warn")).otherwise(None)
            )
            row_class = "_row"
        parts.append(f'<h3 id="h-{name}">{escape(title)}</h3>')
        parts.append(table(df, table_id=name, row_class=row_class))
    return "".join(parts)
