"""``achpipe run --date YYYY-MM-DD``: the nightly run, resumable and exactly-once."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import click

from nacha.errors import AchpipeError
from pipeline.commands._options import BusinessDate, config_option, get_config
from pipeline.logs import is_interactive
from pipeline.run import STEPS, RunOptions, RunSummary, StepFailed, parse_step


def _step(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return parse_step(value)
    except AchpipeError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from exc


@click.command()
@click.option("--date", "business_date", type=BusinessDate(), required=True, help="Business date.")
@config_option
@click.option("--from-step", type=click.Choice(STEPS), callback=_step, help="Rerun from this step.")
@click.option("--only", type=click.Choice(STEPS), callback=_step, help="Run exactly this step.")
@click.option("--force", is_flag=True, help="Run even though the date is not a banking day.")
@click.option(
    "--force-resend", is_flag=True, help="Upload this date's files again (needs --reason)."
)
@click.option("--reason", help="Why a resend is forced; written to the ledger and the log.")
@click.option("--dry-run", is_flag=True, help="Build, validate and seal locally; send nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one summary object on stdout.")
@click.pass_context
def run(
    ctx: click.Context,
    business_date: date,
    config_path: Path | None,
    from_step: str | None,
    only: str | None,
    force: bool,
    force_resend: bool,
    reason: str | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Run the nightly steps for one business date.

    collect → build → seal → upload → verify → fetch → ingest → refresh → reconcile → rates →
    report. Each step is recorded in the ledger with its effects; a rerun resumes at the first
    step not done, and a finished date is a no-op that reprints the summary. Exit codes: 0 ok,
    1 error, 2 config, 3 breaks, 4 rate limit crossed, 75 locked/transient, 99 not a banking day.
    """
    from pipeline.run.wiring import open_nightly

    config = get_config(ctx, config_path)
    job = config.typed("run").job
    try:
        options = RunOptions(
            business_date=business_date,
            job=job,
            from_step=from_step,  # type: ignore[arg-type]
            only=only,  # type: ignore[arg-type]
            force=force,
            force_resend=force_resend,
            reason=reason,
            dry_run=dry_run,
        )
        with open_nightly(config, interactive=is_interactive() and not as_json) as nightly:
            summary = nightly.execute(options)
    except StepFailed as exc:
        _emit(exc.summary, as_json=as_json)
        raise
    except AchpipeError as exc:
        if as_json:
            _emit(
                RunSummary.for_error(
                    job=job, business_date=business_date, exit_code=exc.exit_code, reason=str(exc)
                ),
                as_json=True,
            )
        raise
    _emit(summary, as_json=as_json)
    if summary.exit_code:
        ctx.exit(summary.exit_code)


def _emit(summary: RunSummary, *, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(summary.to_json(), default=str))
    else:
        click.echo(summary.render())
