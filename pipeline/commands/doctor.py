"""``achpipe doctor``: check database, SFTP, PGP keys and API credentials."""

from __future__ import annotations

import json
from pathlib import Path

import click

from pipeline.commands._options import config_option, get_config
from pipeline.errors import EXIT_ERROR


@click.command()
@config_option
@click.option(
    "--only",
    "only",
    multiple=True,
    help="Run only this check (repeatable): config, database, sftp, pgp, api.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.pass_context
def doctor(
    ctx: click.Context, config_path: Path | None, only: tuple[str, ...], as_json: bool
) -> None:
    """Check that tonight's run can work: database, SFTP (host key, auth, write probe), PGP
    keys, API credentials. Exit 1 if anything is wrong, 2 if the configuration is invalid."""
    from pipeline.doctor import check_names, run_doctor

    unknown = sorted(set(only) - set(check_names()))
    if unknown:
        raise click.BadParameter(
            f"unknown check {unknown[0]!r} (checks: {', '.join(check_names())})",
            param_hint="--only",
        )
    config = get_config(ctx, config_path)
    findings = run_doctor(config, only=only or None)
    bad = [f for f in findings if not f.ok]
    if as_json:
        click.echo(
            json.dumps({"ok": not bad, "findings": [f.to_json() for f in findings]}, indent=2)
        )
    else:
        for f in findings:
            mark = click.style("ok  ", fg="green") if f.ok else click.style("FAIL", fg="red")
            click.echo(f"{mark} {f.check:<9} {f.message}")
            if f.hint and not f.ok:
                click.echo(f"     {'':<9} → {f.hint}")
        click.echo(
            "all checks passed" if not bad else f"{len(bad)} problem(s) found", err=bool(bad)
        )
    if bad:
        ctx.exit(EXIT_ERROR)
