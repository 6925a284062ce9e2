"""``achpipe validate``, ``inspect`` and ``convert``: thin commands over :mod:`nacha`."""

from __future__ import annotations

import json
from pathlib import Path

import click
import polars as pl

import nacha
from nacha.addenda_text import correspondent_banks, payment_related_texts
from nacha.masking import mask_account_expr

_FIELDS = ("line", "record_type", "field", "rule", "message")


def _options(relax: tuple[str, ...]) -> nacha.ValidateOptions:
    try:
        return nacha.ValidateOptions.from_names(relax)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc


@click.command()
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--relax",
    "relax",
    multiple=True,
    metavar="NAME",
    help="Named relaxation (moov-io/ach ValidateOpts JSON name, e.g. "
    "allowInvalidCheckDigit); repeatable.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the errors as a JSON array of {line, record_type, field, rule, message} "
    "(plus file when several files are given); warnings appear only in the text output.",
)
@click.pass_context
def validate(
    ctx: click.Context, files: tuple[Path, ...], relax: tuple[str, ...], as_json: bool
) -> None:
    """Validate NACHA FILES; exit 0 when all are valid, 1 when any has errors."""
    options = _options(relax)
    failed = False
    out: list[dict[str, object]] = []
    for path in files:
        issues = _issues(path, options)
        errors = issues.filter(pl.col("severity") == "error")
        failed = failed or errors.height > 0
        if as_json:  # the contract: errors as {line, record_type, field, rule, message}
            for row in errors.iter_rows(named=True):
                item = {k: row[k] for k in _FIELDS}
                if len(files) > 1:
                    item["file"] = str(path)
                out.append(item)
            continue
        for row in issues.iter_rows(named=True):
            where = f"line {row['line']}" if row["line"] is not None else "file"
            field = f" {row['field']}" if row["field"] else ""
            click.echo(
                f"{path}: {where} {row['record_type']}{field}: {row['message']} "
                f"[{row['rule']}] {row['severity']}"
            )
        status = "INVALID" if errors.height else "valid"
        click.echo(
            f"{path}: {status} ({errors.height} errors, {issues.height - errors.height} warnings)"
        )
    if as_json:
        click.echo(json.dumps(out, indent=2))
    ctx.exit(1 if failed else 0)


def _issues(path: Path, options: nacha.ValidateOptions) -> pl.DataFrame:
    """Issues of one file; a file that cannot be read at all is one error, not an abort,
    so the other files are still checked."""
    try:
        return nacha.validate(nacha.read(path), options=options)
    except nacha.NachaReadError as exc:
        return pl.DataFrame(
            {
                "line": [exc.line],
                "record_type": [exc.record_type or "file"],
                "field": [exc.field],
                "rule": [exc.rule],
                "message": [str(exc)],
                "severity": ["error"],
            },
            schema={
                "line": pl.Int64,
                "record_type": pl.String,
                "field": pl.String,
                "rule": pl.String,
                "message": pl.String,
                "severity": pl.String,
            },
        )


def _summary(f: nacha.NachaFile) -> dict[str, object]:
    header = f.file_header.drop("line").row(0, named=True) if f.file_header.height else {}
    batches = []
    for b in f.iter_batches():
        batches.append(
            {
                "batch_number": b.batch_number,
                "sec_code": b.sec_code,
                "service_class_code": b.service_class_code,
                "company_name": b.company_name,
                "company_id": b.company_id,
                "description": b.company_entry_description,
                "effective_date": b.effective_date.isoformat() if b.effective_date else None,
                "entries": len(b.entries),
                "addenda": sum(len(e.addenda) for e in b.entries),
                "total_debit_cents": b.total_debit,
                "total_credit_cents": b.total_credit,
            }
        )
    returns = f.returns.select(
        "trace_number",
        "original_trace_number",
        "return_reason_code",
        "return_reason_description",
        "amount",
    ).to_dicts()
    nocs = f.nocs.select(
        "trace_number", "original_trace_number", "change_code", "change_description"
    ).to_dicts()
    return {
        "file_header": {
            k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in header.items()
        },
        "batches": batches,
        "returns": returns,
        "nocs": nocs,
    }


def _entries_frame(f: nacha.NachaFile) -> pl.DataFrame:
    cols = [
        c
        for c in (
            "line",
            "batch_index",
            "transaction_code",
            "rdfi_id",
            "check_digit",
            "dfi_account_number",
            "amount",
            "identification_number",
            "individual_name",
            "trace_number",
        )
        if c in f.entries.columns
    ]
    missing = [c for c in ("identification_number", "individual_name") if c not in cols]
    return f.entries.select(cols).with_columns(
        *[pl.lit(None, dtype=pl.String).alias(c) for c in missing],
        mask_account_expr("dfi_account_number").alias("dfi_account_number"),
    )


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--entries", "show_entries", is_flag=True, help="Also list the entries.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def inspect(file: Path, show_entries: bool, as_json: bool) -> None:
    """Summarise a NACHA FILE (account numbers masked)."""
    f = nacha.read(file)
    summary = _summary(f)
    if show_entries:
        summary["entries"] = _entries_frame(f).to_dicts()
    if as_json:
        click.echo(json.dumps(summary, indent=2, default=str))
        return
    h = summary["file_header"]
    if h:
        click.echo(
            f"File {file.name}: from {h.get('immediate_origin_name') or ''} "
            f"({h.get('immediate_origin')}) to {h.get('immediate_destination_name') or ''} "
            f"({h.get('immediate_destination')}), created {h.get('creation_date')} "
            f"{h.get('file_creation_time') or ''}, modifier {h.get('file_id_modifier')}"
        )
    for b in summary["batches"]:  # type: ignore[union-attr]
        click.echo(
            f"  batch {b['batch_number']} {b['sec_code']} {b['company_name'] or ''} "
            f"({b['company_id']}) {b['description']} effective {b['effective_date']}: "
            f"{b['entries']} entries, {b['addenda']} addenda, debits "
            f"${(b['total_debit_cents'] or 0) / 100:,.2f}, credits "
            f"${(b['total_credit_cents'] or 0) / 100:,.2f}"
        )
    for r in summary["returns"]:  # type: ignore[union-attr]
        click.echo(
            f"  return {r['return_reason_code']} ({r['return_reason_description']}) of "
            f"{r['original_trace_number']}: ${(r['amount'] or 0) / 100:,.2f}"
        )
    for n in summary["nocs"]:  # type: ignore[union-attr]
        click.echo(
            f"  NOC {n['change_code']} ({n['change_description']}) for {n['original_trace_number']}"
        )
    if show_entries:
        for e in summary["entries"]:  # type: ignore[union-attr]
            click.echo(
                f"    {e['trace_number']} {e['transaction_code']} "
                f"{e['rdfi_id']}{e['check_digit']} {e['dfi_account_number']} "
                f"${(e['amount'] or 0) / 100:,.2f} {e['individual_name'] or ''}"
            )


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--to", "fmt", type=click.Choice(["csv", "parquet", "json"]), required=True)
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True)
def convert(file: Path, fmt: str, out: Path) -> None:
    """Write the entries of FILE (with batch fields and addenda) as a table."""
    f = nacha.read(file)
    batch_cols = [
        c
        for c in (
            "batch_index",
            "batch_number",
            "sec_code",
            "company_name",
            "company_id",
            "company_entry_description",
            "effective_entry_date",
            "service_class_code",
            "odfi_id",
        )
        if c in f.batches.columns
    ]
    # account numbers leave the ledger masked, exports included (design.md: Sensitive data)
    table = f.entries.with_columns(
        mask_account_expr("dfi_account_number").alias("dfi_account_number")
    ).join(f.batches.select(batch_cols), on="batch_index", how="left", maintain_order="left")
    if f.addenda.height:
        # other addenda fields: the entry's first value; the Payment Related Information:
        # every 05 (IAT: 17) record of the entry joined, a CTX remittance whole
        firsts = [
            c
            for c in (
                "return_reason_code",
                "original_trace_number",
                "change_code",
                "corrected_data",
            )
            if c in f.addenda.columns
        ]
        info = f.addenda.group_by("entry_index", maintain_order=True).agg(
            pl.col("addenda_type_code").alias("addenda_types"),
            *[pl.col(c).drop_nulls().first().alias(c) for c in firsts],
        )
        if "payment_related_information" in f.addenda.columns:
            texts = payment_related_texts(f.addenda)
            info = info.join(texts, on="entry_index", how="left", maintain_order="left").select(
                "entry_index", "addenda_types", "payment_related_information", *firsts
            )
        table = table.join(info, on="entry_index", how="left", maintain_order="left")
        banks = correspondent_banks(f.addenda)  # IAT addenda 18, numbered like the input
        if banks.height:
            table = table.join(banks, on="entry_index", how="left", maintain_order="left")
    if fmt == "csv":
        table = table.with_columns(pl.col(pl.List(pl.String)).list.join(","))
        table.write_csv(out)
    elif fmt == "parquet":
        table.write_parquet(out)
    else:
        out.write_text(json.dumps(table.to_dicts(), indent=2, default=str))
    click.echo(f"{out}: {table.height} entries")
