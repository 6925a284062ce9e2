"""``achpipe demo``: several nights of the real pipeline against a local sandbox."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option(
    "--dir",
    "workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Empty directory to work in (default: a new temporary directory, printed).",
)
@click.option(
    "--days",
    default=3,
    show_default=True,
    type=click.IntRange(1, 20),
    help="Banking days with new transfers.",
)
@click.option(
    "--closing-days",
    default=2,
    show_default=True,
    type=click.IntRange(0, 20),
    help="Further nights without new transfers, so late returns arrive.",
)
@click.option(
    "--transfers",
    "per_day",
    default=200,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Transfers per day.",
)
@click.option("--seed", default=7, show_default=True, help="Seed of the sandbox scenario.")
@click.option(
    "--database-url",
    default=None,
    help="An EMPTY Postgres database to use instead of the embedded one.",
)
def demo(
    workdir: Path | None,
    days: int,
    closing_days: int,
    per_day: int,
    seed: int,
    database_url: str | None,
) -> None:
    """Run the whole nightly cycle locally: embedded Postgres, sandbox API + SFTP + bank,
    keys, several nights of runs; returns and NOCs come back; reports are left on disk."""
    from pipeline.demo import run_demo

    result = run_demo(
        workdir,
        sending_days=days,
        closing_days=closing_days,
        per_day=per_day,
        seed=seed,
        database_url=database_url,
        echo=click.echo,
    )
    click.echo("")
    click.echo(f"configuration: {result.config_path}")
    if result.reports_dir is not None:
        click.echo(f"reports:       {result.reports_dir}")
        for rel in (
            "index.html",
            "finance/reconciliation.html",
            "finance/reconciliation.xlsx",
            "compliance/return-rates.html",
        ):
            path = result.reports_dir / rel
            if path.exists():
                click.echo(f"               {path}")
    click.echo(f"done in {result.seconds:.1f}s")
    click.echo(
        f"try: achpipe --config {result.config_path} run --date "
        f"{result.summaries[-1]['date']} --json   (a finished date: prints its summary)"
    )
