"""``achpipe build``: turn a transfers CSV/Parquet into NACHA files in a directory.

Thin by design: read the transfers, load ``achpipe.toml`` (``--config``, else
``$ACHPIPE_CONFIG``, else ``./achpipe.toml``; environment overrides apply), call
``nacha.build.build_files``, write the files (never overwriting one), print a summary.
Fail closed: when a transfer is rejected no file is written and the exit status is 1,
unless ``--allow-partial``.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import click
import polars as pl

from nacha.build import BuildResult, build_files
from nacha.build_input import BuildInputError
from nacha.build_settings import file_id_modifiers
from pipeline.commands._options import BusinessDate, config_option, get_config
from pipeline.errors import ConfigError, NotABankingDay

__all__ = ["build", "parse_instant", "read_transfers", "write_new_files"]


def read_transfers(path: Path) -> pl.DataFrame:
    """Transfers from CSV (every column read as text: no lost leading zeros, no float
    amounts) or Parquet (types checked by the builder)."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return pl.read_csv(path, infer_schema=False, raise_if_empty=False)
        if suffix in (".parquet", ".pq"):
            return pl.read_parquet(path)
    except FileNotFoundError:
        raise ConfigError(f"transfers file not found: {path}") from None
    except (pl.exceptions.ComputeError, OSError) as exc:
        raise BuildInputError(f"cannot read transfers {path}: {exc}") from exc
    raise ConfigError(f"transfers must be .csv or .parquet, got {path.name}")


def _money(cents: int) -> str:
    return f"${cents / 100:,.2f}" if cents < 2**53 else f"{cents} cents"


def _summary_json(result: BuildResult, paths: list[Path], *, written: bool) -> dict[str, Any]:
    files = [
        {**f.summary, "path": str(p) if written else None}
        for f, p in zip(result.files, paths, strict=True)
    ]
    return {
        **result.summary,
        "written": written,
        "files": files,
        "rejected": result.rejected.to_dicts(),
        "next_trace_sequence": result.next_trace_sequence,
    }


def _print_human(data: dict[str, Any]) -> None:
    for f in data["files"]:
        where = f["path"] if data["written"] else f"{f['name']} (not written)"
        click.echo(
            f"{where}: {f['batches']} batches, {f['entries']} entries, "
            f"debits {_money(f['debit_total_cents'])}, credits {_money(f['credit_total_cents'])}"
        )
    click.echo(
        f"total: {data['files'].__len__()} file(s), {data['batches']} batches, "
        f"{data['entries']} entries, debits {_money(data['debit_total_cents'])}, "
        f"credits {_money(data['credit_total_cents'])}, {data['rolled']} date(s) rolled, "
        f"{data['rejected'].__len__()} rejected"
    )
    for r in data["rejected"]:
        click.echo(f"rejected row {r['row']} {r['reference']}: {r['reason']}", err=True)


@click.command("build")
@click.argument("transfers", type=click.Path(dir_okay=False, path_type=Path))
@config_option
@click.option(
    "--date",
    "business_date",
    required=True,
    type=BusinessDate(),
    help="Business date (a banking day), YYYY-MM-DD.",
)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary on stdout.")
@click.option("--allow-partial", is_flag=True, help="Write files even if transfers were rejected.")
@click.option(
    "--now",
    "now_text",
    default=None,
    help="Build as of this ISO instant with offset (default: the clock when --date is "
    "today, else 17:00 of --date in the ODFI's zone, like the nightly run).",
)
@click.option(
    "--modifier",
    default="A",
    show_default=True,
    help="File ID modifier of the first file; later files take the next ones (A-Z, 0-9).",
)
@click.option(
    "--first-trace",
    default=1,
    show_default=True,
    type=click.IntRange(0, 9_999_999),
    help="First trace sequence number (the ledger keeps traces unique across days).",
)
@click.pass_context
def build(
    ctx: click.Context,
    transfers: Path,
    config_path: Path | None,
    business_date: date,
    out_dir: Path,
    as_json: bool,
    allow_partial: bool,
    now_text: str | None,
    modifier: str,
    first_trace: int,
) -> None:
    """Build NACHA files from TRANSFERS (.csv or .parquet with connectFi create fields)."""
    settings = get_config(ctx, config_path).typed("build").settings
    profile = settings.odfi.profile
    day = business_date
    if not profile.calendar.is_banking_day(day):
        raise NotABankingDay(f"{day} is not a banking day: nothing to build")
    now = _now(now_text, day, profile.tz)
    try:
        modifiers = file_id_modifiers(modifier)
    except ValueError as exc:
        raise ConfigError(f"--modifier: {exc}") from None
    frame = read_transfers(transfers)
    result = build_files(
        frame,
        settings,
        now=now,
        business_date=day,
        file_id_modifiers=modifiers,
        first_trace_sequence=first_trace,
    )
    write = result.rejected.height == 0 or allow_partial
    paths = [out_dir / f.name for f in result.files]
    if write:
        _write_all(out_dir, result, paths)
    data = _summary_json(result, paths, written=write)
    if as_json:
        click.echo(json.dumps(data, default=str))
    else:
        _print_human(data)
        if not write:
            click.echo(
                f"no files written: {result.rejected.height} transfer(s) rejected "
                "(fix them, or pass --allow-partial)",
                err=True,
            )
    if result.rejected.height and not allow_partial:
        ctx.exit(1)


def _now(text: str | None, day: date, tz: Any) -> datetime:
    if text is not None:
        return parse_instant(text)
    # Same rule as the nightly run's build step: the clock on the day itself, otherwise
    # 17:00 ODFI time, so a rebuild for a past or future day gives that evening's dates.
    clock = datetime.now(tz)
    return clock if clock.date() == day else datetime.combine(day, time(17, 0), tzinfo=tz)


def parse_instant(text: str) -> datetime:
    """``--now``: an ISO date-time with a UTC offset (a bare local time is ambiguous)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"--now: not an ISO date-time: {text!r}") from None
    if value.tzinfo is None:
        raise ConfigError("--now needs a UTC offset (e.g. 2026-03-10T09:15:00-06:00)")
    return value


def write_new_files(files: list[tuple[Path, bytes]]) -> None:
    """Write every file or none that already exists: names are never overwritten."""
    clashes = [str(path) for path, _ in files if path.exists()]
    if clashes:
        raise ConfigError(f"refusing to overwrite existing file(s): {', '.join(clashes)}")
    for path, content in files:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("xb") as handle:
            handle.write(content)


def _write_all(out_dir: Path, result: BuildResult, paths: list[Path]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    write_new_files([(p, f.content) for f, p in zip(result.files, paths, strict=True)])
