"""``achpipe reconcile`` and ``achpipe rates``: the library from files, for finance and compliance.

Both are thin: read inputs (pipeline.recon_inputs), call reconcile/, write outputs
(pipeline.recon_output), print a summary or ``--json``, exit by the one table
(3 breaks above threshold, 4 a rate limit crossed).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click
import polars as pl

from pipeline.commands._options import config_option
from pipeline.errors import EXIT_BREAKS, EXIT_RATE_LIMIT, ConfigError
from pipeline.recon_inputs import read_input
from pipeline.recon_output import collect_reconciliation, write_compliance, write_finance
from reconcile import (
    ACKS_SCHEMA,
    API_RATES_SCHEMA,
    API_SCHEMA,
    ENTRIES_SCHEMA,
    LEDGER_SCHEMA,
    NOCS_SCHEMA,
    RATE_ENTRIES_SCHEMA,
    RATE_RETURNS_SCHEMA,
    RETURNS_SCHEMA,
    RateOptions,
    any_breach,
    compare_rates,
    compute_rates,
    rates_json,
    reconcile_day,
)
from reconcile._fmt import money

_DATE = click.DateTime(formats=["%Y-%m-%d"])
_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _day(value: dt.datetime) -> dt.date:
    return value.date()


@click.command("reconcile")
@click.option("--ledger", "ledger_path", type=_FILE, required=True, help="Ledger transfers.")
@click.option("--entries", "entries_path", type=_FILE, required=True, help="Entries sent.")
@click.option("--api", "api_path", type=_FILE, required=True, help="API transfer statuses.")
@click.option("--returns", "returns_path", type=_FILE, help="Return entries (addenda 99).")
@click.option("--nocs", "nocs_path", type=_FILE, help="NOC entries (addenda 98).")
@click.option("--acks", "acks_path", type=_FILE, help="File acknowledgments.")
@click.option("--date", "date_", type=_DATE, required=True, help="Reconciliation date.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option(
    "--max-breaks",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Exit 3 when there are more breaks than this.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one summary object on stdout.")
@click.pass_context
def reconcile(
    ctx: click.Context,
    *,
    ledger_path: Path,
    entries_path: Path,
    api_path: Path,
    returns_path: Path | None,
    nocs_path: Path | None,
    acks_path: Path | None,
    date_: dt.datetime,
    out_dir: Path,
    max_breaks: int,
    as_json: bool,
) -> None:
    """Reconcile ledger vs files vs API statuses and write the finance report."""
    as_of = _day(date_)
    rec = reconcile_day(
        ledger=read_input(ledger_path, LEDGER_SCHEMA, kind="ledger"),
        entries=read_input(entries_path, ENTRIES_SCHEMA, kind="entries"),
        api=read_input(api_path, API_SCHEMA, kind="api"),
        returns=read_input(returns_path, RETURNS_SCHEMA, kind="returns") if returns_path else None,
        nocs=read_input(nocs_path, NOCS_SCHEMA, kind="nocs") if nocs_path else None,
        acks=read_input(acks_path, ACKS_SCHEMA, kind="acks") if acks_path else None,
        as_of=as_of,
    )
    try:
        sections = collect_reconciliation(rec)
    except pl.exceptions.PolarsError as exc:
        raise ConfigError(f"cannot reconcile these inputs: {exc}") from exc
    page = write_finance(sections, out_dir, as_of=as_of)
    classes = dict(sections["items"].group_by("class").len().sort("class").iter_rows())
    n_breaks = sections["breaks"].height
    ties = bool(sections["tie_out"]["ties"].all())
    if as_json:
        click.echo(
            json.dumps(
                {
                    "date": as_of.isoformat(),
                    "classes": classes,
                    "breaks": n_breaks,
                    "ties": ties,
                    "report": str(page),
                    "out": str(out_dir),
                }
            )
        )
    else:
        click.echo(f"Reconciliation {as_of}: {sum(classes.values()):,} items, {n_breaks:,} breaks")
        for name, count in classes.items():
            click.echo(f"  {name:<20} {count:>10,}")
        for row in sections["tie_out"].iter_rows(named=True):
            click.echo(
                f"  {row['direction']:<6} intended {row['intended_count']:,} "
                f"${money(row['intended_cents'])} · sent {row['sent_count']:,} "
                f"${money(row['sent_cents'])} · API {row['api_count']:,} "
                f"${money(row['api_cents'])} · {'ties' if row['ties'] else 'DOES NOT TIE'}"
            )
        click.echo(f"Report: {page}")
    if n_breaks > max_breaks:
        ctx.exit(EXIT_BREAKS)


@click.command("rates")
@click.option("--date", "date_", type=_DATE, required=True, help="Report date.")
@click.option(
    "--from-files",
    "from_files",
    type=_FILE,
    nargs=2,
    metavar="ENTRIES RETURNS",
    help="Read entries and returns from CSV/Parquet/NACHA instead of the ledger.",
)
@click.option(
    "--api-rates",
    "api_rates_path",
    type=_FILE,
    help="The API's return-rates figures to compare with (CSV/Parquet/JSON).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write rates CSV/Parquet and the compliance HTML page here.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the rates as one JSON object.")
@config_option
@click.pass_context
def rates(
    ctx: click.Context,
    *,
    config_path: Path | None,
    date_: dt.datetime,
    from_files: tuple[Path, Path] | None,
    api_rates_path: Path | None,
    out_dir: Path | None,
    as_json: bool,
) -> None:
    """Nacha return rates per originator and SEC code; exit 4 when a limit is crossed.

    Reads the ledger ([database] of achpipe.toml) unless --from-files is given.
    """
    report_date = _day(date_)
    if from_files is None:
        _rates_from_ledger(
            ctx,
            config_path=config_path,
            report_date=report_date,
            api_rates_path=api_rates_path,
            out_dir=out_dir,
            as_json=as_json,
        )
        return
    entries = read_input(
        from_files[0],
        RATE_ENTRIES_SCHEMA,
        kind="entries",
        required=("trace_number", "company_id", "sec_code", "transaction_code", "effective_date"),
    )
    returns = read_input(
        from_files[1],
        RATE_RETURNS_SCHEMA,
        kind="returns",
        required=("original_trace_number", "return_code", "return_date"),
    )
    options = RateOptions(history_days=60 if out_dir else 1)
    _rates_finish(
        ctx,
        entries=entries,
        returns=returns,
        report_date=report_date,
        options=options,
        api_rates_path=api_rates_path,
        out_dir=out_dir,
        as_json=as_json,
    )


def _rates_from_ledger(
    ctx: click.Context,
    *,
    config_path: Path | None,
    report_date: dt.date,
    api_rates_path: Path | None,
    out_dir: Path | None,
    as_json: bool,
) -> None:
    """The same calculation over the ledger's entries and returns (config ``[database]``)."""
    from dataclasses import replace

    from pipeline.commands._options import get_config
    from pipeline.recon_inputs import rate_inputs_from_ledger
    from pipeline.run.wiring import open_ledger_for

    config = get_config(ctx, config_path)
    configured = config.settings.get("rates")
    base = configured if isinstance(configured, RateOptions) else RateOptions()
    options = replace(base, history_days=60 if out_dir else 1)
    with open_ledger_for(config) as ledger:
        entries, returns = rate_inputs_from_ledger(ledger, report_date, options)
    _rates_finish(
        ctx,
        entries=entries,
        returns=returns,
        report_date=report_date,
        options=options,
        api_rates_path=api_rates_path,
        out_dir=out_dir,
        as_json=as_json,
    )


def _rates_finish(
    ctx: click.Context,
    *,
    entries: pl.LazyFrame,
    returns: pl.LazyFrame,
    report_date: dt.date,
    options: RateOptions,
    api_rates_path: Path | None,
    out_dir: Path | None,
    as_json: bool,
) -> None:
    try:
        table = compute_rates(entries, returns, report_date=report_date, options=options).collect()
    except pl.exceptions.PolarsError as exc:
        raise ConfigError(f"cannot compute rates from these inputs: {exc}") from exc
    comparison = None
    if api_rates_path is not None:
        api = read_input(api_rates_path, API_RATES_SCHEMA, kind="api-rates")
        comparison = compare_rates(table.lazy(), api, report_date=report_date).collect()
    if out_dir is not None:
        write_compliance(
            table, out_dir, report_date=report_date, comparison=comparison, options=options
        )
    payload = rates_json(table, report_date=report_date, window_days=options.window_days)
    if as_json:
        click.echo(json.dumps(payload))
    else:
        _print_rates(payload)
        if comparison is not None:
            n = int(comparison["is_break"].sum())
            click.echo(f"API comparison: {n} difference(s) above 0.01 percentage points")
    if any_breach(table, report_date=report_date):
        ctx.exit(EXIT_RATE_LIMIT)


def _print_rates(payload: dict[str, object]) -> None:
    window = payload["window"]
    assert isinstance(window, dict)
    click.echo(f"Return rates {payload['date']} (window {window['from']} … {window['to']})")
    click.echo(
        f"  {'originator':<12} {'SEC':<4} {'unauth %':>9} {'admin %':>9} {'overall %':>9}  status"
    )
    rows = payload["rates"]
    assert isinstance(rows, list)
    for row in rows:
        cells = []
        flags = []
        for m in ("unauthorized", "administrative", "overall"):
            fig = row[m]
            cells.append(f"{fig['rate_pct']:>9.4f}")
            if fig["breach"]:
                flags.append(f"{m} BREACH ({fig['days_out_of_compliance']}d)")
            elif fig["warning"]:
                flags.append(f"{m} warning")
        sec = row["sec_code"] or "all"
        click.echo(
            f"  {row['company_id']:<12} {sec:<4} {' '.join(cells)}  {', '.join(flags) or 'ok'}"
        )
