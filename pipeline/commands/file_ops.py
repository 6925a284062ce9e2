"""``achpipe reverse``, ``segment`` and ``merge``: operations on NACHA files already built.

Thin commands over :mod:`nacha.build_ops`: the core reads, rebuilds and re-validates; these
commands choose names, refuse to overwrite anything, and print a summary (or ``--json``).
They write files only; sending them goes through the nightly run like any other file, so the
ledger still sees every upload.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click

import nacha
from nacha.build_ops import merge_files, reverse_file, segment_file
from nacha.build_settings import Limits, file_id_modifiers
from pipeline.commands._options import BusinessDate, config_option, get_config
from pipeline.commands.build import _now, parse_instant, write_new_files
from pipeline.errors import ConfigError

__all__ = ["merge", "reverse", "segment"]

_in_file = click.Path(exists=True, dir_okay=False, path_type=Path)
_out_dir = click.Path(file_okay=False, path_type=Path)


def _modifiers(start: str) -> list[str]:
    try:
        return list(file_id_modifiers(start))
    except ValueError as exc:
        raise ConfigError(f"--modifier: {exc}") from None


def _describe(path: Path, content: bytes) -> dict[str, Any]:
    """What a person checks before sending: counts and totals, read back by the core."""
    f = nacha.read(content)
    control = f.file_control.row(0, named=True)
    return {
        "path": str(path),
        "batches": f.batches.height,
        "entries": f.entries.height,
        "debit_total_cents": int(control["total_debit_entry_dollar_amount"]),
        "credit_total_cents": int(control["total_credit_entry_dollar_amount"]),
    }


def _report(items: list[dict[str, Any]], as_json: bool, extra: dict[str, Any]) -> None:
    if as_json:
        click.echo(json.dumps({**extra, "files": items}, default=str))
        return
    for item in items:
        click.echo(
            f"{item['path']}: {item['batches']} batches, {item['entries']} entries, "
            f"debits ${item['debit_total_cents'] / 100:,.2f}, "
            f"credits ${item['credit_total_cents'] / 100:,.2f}"
        )


@click.command("reverse")
@click.argument("original", type=_in_file)
@config_option
@click.option("--date", "business_date", required=True, type=BusinessDate(), help="Today.")
@click.option("--out", "out_dir", required=True, type=_out_dir)
@click.option("--trace", "traces", multiple=True, help="Reverse only this trace (repeatable).")
@click.option("--modifier", default="A", show_default=True, help="File ID modifier.")
@click.option(
    "--first-trace",
    required=True,
    type=click.IntRange(0, 9_999_999),
    help="First trace sequence of the reversing entries (unused in the ledger).",
)
@click.option("--settled", type=BusinessDate(), default=None, help="Original settlement date.")
@click.option("--now", "now_text", default=None, help="Build as of this ISO instant.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary on stdout.")
@click.pass_context
def reverse(
    ctx: click.Context,
    original: Path,
    config_path: Path | None,
    business_date: date,
    out_dir: Path,
    traces: tuple[str, ...],
    modifier: str,
    first_trace: int,
    settled: date | None,
    now_text: str | None,
    as_json: bool,
) -> None:
    """Write a REVERSAL file undoing ORIGINAL's live entries (or the --trace ones).

    Refused (exit 1) when the reversal would reach the RDFI more than five banking days
    after the original settled.
    """
    settings = get_config(ctx, config_path).typed("build").settings
    now = _now(now_text, business_date, settings.odfi.profile.tz)
    result = reverse_file(
        original.read_bytes(),
        settings,
        now=now,
        file_id_modifier=_modifiers(modifier)[0],
        first_trace_sequence=first_trace,
        traces=traces or None,
        settlement_date=settled,
    )
    path = out_dir / f"{original.stem}-reversal-{modifier}.ach"
    write_new_files([(path, result.content)])
    mapping = result.entries.select("original_trace_number", "trace_number", "amount_cents")
    _report(
        [_describe(path, result.content)],
        as_json,
        {
            "effective_entry_date": result.effective_entry_date,
            "next_trace_sequence": result.next_trace_sequence,
            "entries": mapping.to_dicts(),
        },
    )
    if not as_json:
        click.echo(
            f"effective {result.effective_entry_date}; {mapping.height} entries reversed; "
            f"next trace sequence {result.next_trace_sequence}"
        )


@click.command("segment")
@click.argument("original", type=_in_file)
@click.option("--out", "out_dir", required=True, type=_out_dir)
@click.option(
    "--modifier",
    default="A",
    show_default=True,
    help="File ID modifier of the debit file; the credit file takes the next one.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary on stdout.")
def segment(original: Path, out_dir: Path, modifier: str, as_json: bool) -> None:
    """Split ORIGINAL into a debit-only (225) and a credit-only (220) file; traces kept."""
    debit_mod, credit_mod = _modifiers(modifier)[:2]
    debit, credit = segment_file(original.read_bytes(), file_id_modifiers=(debit_mod, credit_mod))
    files = [
        (out_dir / f"{original.stem}-{side}.ach", content)
        for side, content in (("debits", debit), ("credits", credit))
        if content is not None
    ]
    write_new_files(files)
    _report([_describe(p, c) for p, c in files], as_json, {})


@click.command("merge")
@click.argument("files", nargs=-1, required=True, type=_in_file)
@click.option("--out", "out_dir", required=True, type=_out_dir)
@click.option("--prefix", default="merged", show_default=True, help="Output file name prefix.")
@click.option("--modifier", default="A", show_default=True, help="First file ID modifier.")
@click.option(
    "--max-lines",
    type=click.IntRange(20, None),
    default=None,
    help="Most records per output file (default: the NACHA limit).",
)
@click.option("--now", "now_text", default=None, help="File creation instant (ISO, with offset).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary on stdout.")
def merge(
    files: tuple[Path, ...],
    out_dir: Path,
    prefix: str,
    modifier: str,
    max_lines: int | None,
    now_text: str | None,
    as_json: bool,
) -> None:
    """Merge FILES of one origin and destination into as few files as the limits allow.

    Batches keep their contents and order; trace numbers must not repeat across FILES.
    """
    now = datetime.now().astimezone() if now_text is None else parse_instant(now_text)
    limits = Limits(max_file_lines=max_lines) if max_lines else Limits()
    modifiers = _modifiers(modifier)
    merged = merge_files(
        [p.read_bytes() for p in files], file_id_modifiers=modifiers, now=now, limits=limits
    )
    outputs = [
        (out_dir / f"{prefix}-{now:%Y%m%d}-{mod}.ach", content)
        for mod, content in zip(modifiers, merged, strict=False)
    ]
    write_new_files(outputs)
    _report([_describe(p, c) for p, c in outputs], as_json, {})
