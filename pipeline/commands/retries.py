"""``achpipe retries``, ``achpipe noc`` and ``achpipe payees``: the people's side of acting on
returns and NOCs. Thin: each command opens the ledger, calls one function of
:mod:`pipeline.actions`, prints a table or one JSON object. Accounts appear as last four.

    achpipe retries plan --date 2026-03-04 [--json]
    achpipe noc list [--date D] [--state queued] [--json]
    achpipe noc propose --id 12 --by alice [--note "..."]
    achpipe noc approve --id 12 --by bob
    achpipe noc reject  --id 12 --by bob --reason "..."
    achpipe payees list [--status blocked] [--json]
    achpipe payees authorize --ref CUST1 --by alice --note "signed mandate 2026-03-06"
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import click
import polars as pl

from pipeline.commands._options import BusinessDate, config_option, get_config

__all__ = ["noc", "payees", "retries"]

_BY = click.option("--by", "actor", required=True, help="Who does this (recorded).")
_JSON = click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")


@contextmanager
def _ledger(ctx: click.Context, config_path: Path | None) -> Iterator[tuple[Any, Any]]:
    from pipeline.actions.run_hooks import actions_settings
    from pipeline.run.wiring import open_ledger_for

    config = get_config(ctx, config_path)
    with open_ledger_for(config) as ledger:
        yield ledger, (config, actions_settings(config))


def _rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return json.loads(frame.write_json())  # type: ignore[no-any-return]  # ISO dates


def _print_table(frame: pl.DataFrame, columns: list[str]) -> None:
    if frame.height == 0:
        click.echo("(none)")
        return
    view = frame.select(columns).with_columns(pl.all().cast(pl.String).fill_null(""))
    widths = {c: max(len(c), *(len(v) for v in view[c].to_list())) for c in columns}
    click.echo("  ".join(c.ljust(widths[c]) for c in columns))
    for row in view.iter_rows():
        click.echo("  ".join(v.ljust(widths[c]) for c, v in zip(columns, row, strict=True)))


# ------------------------------------------------------------------------------ retries


@click.group("retries")
def retries() -> None:
    """Re-initiation (RETRY PYMT) of R01/R09 returns: at most two within 180 days."""


@retries.command("plan")
@click.option("--date", "day", required=True, type=BusinessDate(), help="Business date.")
@click.option("--by", "actor", default="achpipe", show_default=True, help="Recorded planner.")
@_JSON
@config_option
@click.pass_context
def plan(
    ctx: click.Context, day: date, actor: str, as_json: bool, config_path: Path | None
) -> None:
    """Decide every R01/R09 return not decided yet (planned or refused with the reason) and
    show the open plan; the nightly build picks planned retries up when they are due."""
    from pipeline.actions.retries import plan_retries
    from pipeline.actions.run_hooks import actions_calendar

    with _ledger(ctx, config_path) as (ledger, (config, settings)):
        frame = plan_retries(ledger, day, settings, actor=actor, calendar=actions_calendar(config))
    states = dict(frame.group_by("state").len().iter_rows()) if frame.height else {}
    if as_json:
        doc = {
            "date": day.isoformat(),
            "planned": int(states.get("planned", 0)),
            "refused": int(states.get("refused", 0)),
            "retries": _rows(frame),
        }
        click.echo(json.dumps(doc))
        return
    _print_table(
        frame.with_columns((pl.col("amount_cents") / 100).round(2).alias("amount")),
        [
            "state",
            "original_reference",
            "retry_reference",
            "attempt",
            "payee_ref",
            "amount",
            "planned_date",
            "latest_date",
            "reason",
        ],
    )


# ---------------------------------------------------------------------------------- noc


@click.group("noc")
def noc() -> None:
    """Notifications of Change: list, and maker-checker (propose, approve, reject)."""


@noc.command("list")
@click.option("--date", "day", type=BusinessDate(), default=None, help="As of (default today).")
@click.option("--state", "states", multiple=True, help="Only these states (repeatable).")
@_JSON
@config_option
@click.pass_context
def noc_list(
    ctx: click.Context,
    day: date | None,
    states: tuple[str, ...],
    as_json: bool,
    config_path: Path | None,
) -> None:
    """NOC applications with their 6-banking-day deadline status (near / missed)."""
    from pipeline.actions.nocs import noc_applications_frame
    from pipeline.actions.run_hooks import actions_calendar

    day = day or date.today()
    with _ledger(ctx, config_path) as (ledger, (config, settings)):
        frame = noc_applications_frame(
            ledger,
            day,
            warn_banking_days=settings.noc_warn_banking_days,
            states=states or None,
            calendar=actions_calendar(config),
        )
    if as_json:
        click.echo(json.dumps({"date": day.isoformat(), "nocs": _rows(frame)}))
        return
    _print_table(
        frame,
        [
            "application_id",
            "payee_ref",
            "change_code",
            "corrected_masked",
            "state",
            "deadline",
            "deadline_status",
            "proposed_by",
            "decided_by",
        ],
    )


@noc.command("propose")
@click.option("--id", "app_id", required=True, type=int, help="NOC application id.")
@_BY
@click.option("--note", default=None, help="Why (recorded).")
@config_option
@click.pass_context
def noc_propose(
    ctx: click.Context, app_id: int, actor: str, note: str | None, config_path: Path | None
) -> None:
    """Maker: propose applying a queued NOC."""
    from pipeline.actions.nocs import propose_noc

    with _ledger(ctx, config_path) as (ledger, _):
        propose_noc(ledger, app_id, actor=actor, note=note)
    click.echo(f"NOC application {app_id} proposed by {actor}; another person must approve it")


@noc.command("approve")
@click.option("--id", "app_id", required=True, type=int, help="NOC application id.")
@_BY
@config_option
@click.pass_context
def noc_approve(ctx: click.Context, app_id: int, actor: str, config_path: Path | None) -> None:
    """Checker: approve a proposed NOC (not your own) and apply it to the payee."""
    from pipeline.actions.nocs import approve_noc

    with _ledger(ctx, config_path) as (ledger, _):
        approve_noc(ledger, app_id, actor=actor)
    click.echo(f"NOC application {app_id} approved by {actor} and applied")


@noc.command("reject")
@click.option("--id", "app_id", required=True, type=int, help="NOC application id.")
@_BY
@click.option("--reason", required=True, help="Why the correction is refused (recorded).")
@config_option
@click.pass_context
def noc_reject(
    ctx: click.Context, app_id: int, actor: str, reason: str, config_path: Path | None
) -> None:
    """Refuse a queued or proposed NOC."""
    from pipeline.actions.nocs import reject_noc

    with _ledger(ctx, config_path) as (ledger, _):
        reject_noc(ledger, app_id, actor=actor, reason=reason)
    click.echo(f"NOC application {app_id} rejected by {actor}")


# ------------------------------------------------------------------------------- payees


@click.group("payees")
def payees() -> None:
    """Payees (receivers): status, history, new authorizations."""


@payees.command("list")
@click.option(
    "--status", default=None, type=click.Choice(["active", "blocked", "needs_authorization"])
)
@_JSON
@config_option
@click.pass_context
def payees_list(
    ctx: click.Context, status: str | None, as_json: bool, config_path: Path | None
) -> None:
    """Payees with their status (accounts as last four)."""
    from pipeline.actions.payees import payees_frame

    with _ledger(ctx, config_path) as (ledger, _):
        frame = payees_frame(ledger, status=status)
    if as_json:
        click.echo(json.dumps({"payees": _rows(frame)}))
        return
    _print_table(
        frame.with_columns(pl.lit("****") + pl.col("account_last4")),
        ["payee_ref", "routing_number", "account_last4", "account_type", "status", "status_reason"],
    )


@payees.command("authorize")
@click.option("--ref", "payee_ref", required=True, help="Payee reference.")
@_BY
@click.option("--note", required=True, help="The evidence of the new authorization.")
@config_option
@click.pass_context
def payees_authorize(
    ctx: click.Context, payee_ref: str, actor: str, note: str, config_path: Path | None
) -> None:
    """Record a new authorization: a payee blocked for an unauthorized return may be debited
    again."""
    from pipeline.actions.payees import authorize_payee

    with _ledger(ctx, config_path) as (ledger, _):
        authorize_payee(ledger, payee_ref, actor=actor, note=note)
    click.echo(f"payee {payee_ref} authorized again by {actor}")
