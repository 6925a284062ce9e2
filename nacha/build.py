"""Build NACHA files from a frame of transfers: the one entry point of the file builder.

Pure: frames in, bytes and frames out. The caller (the nightly run, ``achpipe build``)
supplies ``now`` (one per run, so every date is computed against the same instant), the
file ID modifiers (the ledger allocates them per origin, destination and day) and the
first trace sequence (the ledger keeps traces unique for 180 days).

>>> from zoneinfo import ZoneInfo
>>> from nacha.build_settings import Company, Odfi, Originator
>>> settings = BuildSettings(
...     originator=Originator("1234567890", "ACME PAYMENTS INC", "091000019"),
...     odfi=Odfi("091000019", "FIRST EXAMPLE BANK"),
...     companies=(Company("ACME", "ACME PAYMENTS", "1234567890"),),
... )
>>> transfers = pl.DataFrame({
...     "reference": ["PAY1"], "effectiveEntryDate": ["2026-03-11"],
...     "standardEntryClassCode": ["PPD"], "individualName": ["JANE Q PUBLIC"],
...     "routingNumber": ["021000021"], "DFIAccountNumber": ["123456789"],
...     "accountType": ["Checking"], "transactionType": ["Credit"], "amount": ["1250.00"],
...     "currency": ["USD"], "companyEntryDescription": ["PAYROLL"],
... })
>>> now = datetime(2026, 3, 10, 17, 0, tzinfo=ZoneInfo("America/Chicago"))
>>> result = build_files(transfers, settings, now=now, file_id_modifiers="A")
>>> result.files[0].name
'1234567890-20260310-A-01.ach'
>>> result.entries.select("reference", "trace_number", "amount_cents").row(0)
('PAY1', '091000010000001', 125000)
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import polars as pl

from nacha.build_iat import build_with_iat
from nacha.build_iat_input import split_transfers
from nacha.build_input import REJECTED_SCHEMA, check_transfers
from nacha.build_plan import plan_files
from nacha.build_settings import FILE_ID_MODIFIERS, BuildSettings
from nacha.build_write import file_frames, file_name, next_modifier, write_file
from nacha.calendar import settlement_date_estimate
from nacha.errors import NachaWriteError

__all__ = ["ENTRIES_SCHEMA", "BuildResult", "BuiltFile", "build_files"]

#: Columns of :attr:`BuildResult.entries` — what the ledger stores per entry.
ENTRIES_SCHEMA: dict[str, pl.DataType] = {
    "reference": pl.String(),
    "row": pl.Int64(),
    "kind": pl.String(),  # entry | prenote | offset
    "file_index": pl.Int64(),
    "file_name": pl.String(),
    "file_id_modifier": pl.String(),
    "batch_number": pl.Int64(),
    "trace_number": pl.String(),
    "transaction_code": pl.String(),
    "amount_cents": pl.Int64(),
    "sec": pl.String(),
    "client_code": pl.String(),
    "company_id": pl.String(),
    "company_entry_description": pl.String(),
    "routing_number": pl.String(),
    "account_mask": pl.String(),
    "requested_effective_date": pl.Date(),
    "effective_entry_date": pl.Date(),
    "date_action": pl.String(),  # null | defaulted | rolled
    "same_day": pl.Boolean(),
    "settlement_date_estimate": pl.Date(),
}


@dataclass(frozen=True)
class BuiltFile:
    """One NACHA file: its name from the template, its bytes and a summary for people."""

    name: str
    content: bytes
    summary: dict[str, Any]


@dataclass(frozen=True)
class BuildResult:
    """What one build produced.

    ``entries``: one row per written entry (transfers, prenotes and offsets), columns
    :data:`ENTRIES_SCHEMA`: the ledger links ``reference`` ↔ ``trace_number``.
    ``rejected``: ``row``, ``reference``, ``reason`` of every transfer not written.
    ``next_trace_sequence``: the first sequence the next build may use.
    """

    files: tuple[BuiltFile, ...]
    entries: pl.DataFrame
    rejected: pl.DataFrame
    next_trace_sequence: int
    summary: dict[str, Any] = field(default_factory=dict)


def _modifiers(value: str | Iterable[str]) -> Iterator[str]:
    for modifier in value:
        if len(modifier) != 1 or modifier not in FILE_ID_MODIFIERS:
            raise ValueError(f"file ID modifier must be one of A-Z, 0-9: {modifier!r}")
        yield modifier


def _estimates(entries: pl.DataFrame, settings: BuildSettings, now: datetime) -> pl.DataFrame:
    """Settlement estimate per distinct (effective date, same-day eligibility): a join, not a
    per-entry call."""
    profile = settings.odfi.profile
    eligible = pl.col("amount_cents") <= profile.same_day_limit_cents
    dates, amounts = entries.get_column("effective_entry_date"), entries.get_column("amount_cents")
    if (
        entries.height
        and dates.null_count() == 0
        and dates.min() == dates.max()
        and amounts.null_count() == 0
        and int(amounts.max()) <= profile.same_day_limit_cents  # type: ignore[arg-type]
    ):  # one date, every entry eligible (the usual file): the one key, without a unique pass
        keys = pl.DataFrame(
            {"effective_entry_date": [dates[0]], "_eligible": [True]},
            schema={"effective_entry_date": pl.Date, "_eligible": pl.Boolean},
        )
    else:
        keys = entries.select(pl.col("effective_entry_date"), eligible.alias("_eligible")).unique()
    table = keys.with_columns(
        settlement_date_estimate=pl.Series(
            [
                settlement_date_estimate(d, submitted=now, profile=profile, same_day_eligible=e)
                for d, e in keys.iter_rows()
            ],
            dtype=pl.Date,
        )
    )
    if table.height <= 1:  # one date, one eligibility (the usual file): a literal column
        value = table["settlement_date_estimate"][0] if table.height else None
        return entries.with_columns(settlement_date_estimate=pl.lit(value, dtype=pl.Date))
    return (
        entries.with_columns(eligible.alias("_eligible"))
        .join(table, on=["effective_entry_date", "_eligible"], how="left", maintain_order="left")
        .drop("_eligible")
    )


def build_files(
    transfers: pl.DataFrame | pl.LazyFrame,
    settings: BuildSettings,
    *,
    now: datetime,
    file_id_modifiers: str | Iterable[str],
    business_date: date | None = None,
    first_trace_sequence: int = 1,
    extra_columns: str = "error",
    validate: bool = True,
) -> BuildResult:
    """Check, batch and write ``transfers`` as one or more NACHA files.

    ``now`` must be tz-aware: cut-offs and effective dates are computed in the ODFI's zone.
    ``file_id_modifiers``: one modifier per file, in order (a string such as ``"AB"`` or
    any iterable, e.g. a generator that allocates from the ledger); running out raises
    :class:`NachaWriteError` before any bytes are returned. ``business_date`` names the
    files (default: ``now``'s date in the ODFI zone). Rejected transfers never stop the
    build: they come back in ``rejected`` and the caller decides (the CLI exits 1).
    ``validate``: re-read every file and run the validator with default options; any error
    raises :class:`NachaWriteError` (a builder bug must never reach the bank). Only
    benchmarks turn it off.
    """
    if isinstance(transfers, pl.LazyFrame):
        transfers = transfers.collect()  # once: the IAT split looks at the rows too
    split = split_transfers(transfers)  # IAT rows get file(s) of their own: nacha/build_iat.py
    if split is not None:
        return build_with_iat(
            split,
            settings,
            now=now,
            file_id_modifiers=file_id_modifiers,
            business_date=business_date,
            first_trace_sequence=first_trace_sequence,
            extra_columns=extra_columns,
            validate=validate,
        )
    local = settings.odfi.profile.local(now)
    business_date = business_date or local.date()
    checked = check_transfers(transfers, settings, now=now, extra_columns=extra_columns)
    plan = plan_files(checked.accepted, settings, first_sequence=first_trace_sequence)
    modifiers = _modifiers(file_id_modifiers)
    files: list[BuiltFile] = []
    names: list[tuple[int, str, str]] = []
    # Why threads: the ledger columns of the result and each file's SHA-256 do not depend
    # on the bytes being written, and polars and hashlib release the GIL, so on two cores
    # they run while the main thread formats the file. Modifiers are still drawn one per
    # file, in order, and a file that fails its check still stops the build.
    with ThreadPoolExecutor(max_workers=2) as pool:
        ledger = pool.submit(_result_base, plan.entries, settings, now)
        digests = []
        for info in plan.files.iter_rows(named=True):
            index = info["file_index"]
            modifier = next_modifier(
                modifiers,
                f"the build needs {plan.files.height} files but only {index} file ID "
                "modifier(s) were supplied",
            )
            frames = file_frames(plan, settings, file_index=index, now=local, modifier=modifier)
            content = write_file(frames, line_ending=settings.line_ending)
            digests.append(pool.submit(_sha256, content))
            if validate:
                _self_check(content, modifier)
            name = file_name(
                settings,
                business_date=business_date,
                local=local,
                modifier=modifier,
                index=index,
                service_classes=set(frames.batches["service_class_code"].to_list()),
                company_names=set(frames.batches["company_name"].to_list()),
            )
            summary = {
                "name": name,
                "file_id_modifier": modifier,
                "batches": info["batches"],
                "entries": info["entries"],
                "debit_total_cents": info["debit_cents"],
                "credit_total_cents": info["credit_cents"],
                "bytes": len(content),
            }
            files.append(BuiltFile(name=name, content=content, summary=summary))
            names.append((index, name, modifier))
        if len({f.name for f in files}) != len(files):
            raise NachaWriteError(
                "file_name_template produced duplicate names; include {seq} or {modifier}",
                rule="file.duplicate_name",
            )
        # the ledger rows and the summary while the last file's SHA-256 is still computed
        entries = _with_file_names(ledger.result(), names)
        rejected = checked.rejected.cast(REJECTED_SCHEMA)  # type: ignore[arg-type]
        rolled, same_day = entries.select(
            (pl.col("date_action") == "rolled").sum(), pl.col("same_day").sum()
        ).row(0)
        summary = {
            "files": len(files),
            "batches": int(plan.files["batches"].sum() or 0),
            "entries": entries.height,
            "debit_total_cents": int(plan.files["debit_cents"].sum() or 0),
            "credit_total_cents": int(plan.files["credit_cents"].sum() or 0),
            "rejected": rejected.height,
            "rolled": int(rolled or 0),
            "same_day_entries": int(same_day or 0),
        }
        for built, digest in zip(files, digests, strict=True):
            built.summary["sha256"] = digest.result()
    return BuildResult(
        files=tuple(files),
        entries=entries,
        rejected=rejected,
        next_trace_sequence=plan.next_sequence,
        summary=summary,
    )


def _self_check(content: bytes, modifier: str) -> None:
    from nacha.reader import read
    from nacha.validator import validate

    issues = validate(read(content))
    errors = issues.filter(pl.col("severity") == "error")
    if errors.height:
        shown = "; ".join(
            f"line {r['line']} {r['rule']}: {r['message']}"
            for r in errors.head(5).iter_rows(named=True)
        )
        raise NachaWriteError(
            f"built file {modifier} fails validation ({errors.height} error(s)): {shown}",
            rule="build.self_check",
        )


#: Runs of ``*`` by length (account numbers have at most 17 characters).
_STARS = pl.Series("stars", ["*" * i for i in range(18)], dtype=pl.String)


def _account_masks(accounts: pl.Series) -> pl.Series:
    """:func:`~nacha.masking.mask_account_expr` for the planned entries, cheaper: their
    account numbers are 1-17 of ``0-9 A-Z -`` (transfers are checked, settlement accounts
    are validated by the settings), so there is nothing to strip and bytes are characters:
    the mask is the ``*`` run of the right length (picked from :data:`_STARS`, no padded
    copy) and the last four. Only accounts of four or fewer characters (rare) take the
    all-``*`` branch."""
    n = pl.col("a").str.len_bytes().cast(pl.Int64)
    mask = pl.concat_str(
        pl.lit(_STARS).gather((n - 4).clip(lower_bound=0)), pl.col("a").str.slice(-4)
    )
    if (accounts.str.len_bytes() <= 4).any():
        mask = pl.when(n <= 4).then(pl.lit(_STARS).gather(n)).otherwise(mask)
    return accounts.to_frame("a").select(mask.fill_null("").alias("account_mask")).to_series()


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _result_entries(
    planned: pl.DataFrame, names: list[tuple[int, str, str]], settings: BuildSettings, now: datetime
) -> pl.DataFrame:
    """:data:`ENTRIES_SCHEMA` rows of the planned entries written as ``names``
    (file index, file name, modifier)."""
    return _with_file_names(_result_base(planned, settings, now), names)


def _result_base(planned: pl.DataFrame, settings: BuildSettings, now: datetime) -> pl.DataFrame:
    """Every result column but the file name and modifier (known once files are written)."""
    # Small lookups by position (company index): gathers, not joins.
    company_ids = pl.Series([c.company_id for c in settings.companies], dtype=pl.String)
    client_codes = pl.Series([c.client_code for c in settings.companies], dtype=pl.String)
    company = pl.col("company_index")
    out = planned.with_columns(
        company_id=pl.lit(company_ids).gather(company),
        client_code=pl.coalesce("client_code", pl.lit(client_codes).gather(company)),
        account_mask=_account_masks(planned.get_column("account_number")),
    )
    return _estimates(out, settings, now)


def _with_file_names(base: pl.DataFrame, names: list[tuple[int, str, str]]) -> pl.DataFrame:
    names = sorted(names)
    file_names = pl.Series([n for _, n, _ in names], dtype=pl.String)
    modifiers = pl.Series([m for _, _, m in names], dtype=pl.String)
    file_index = pl.col("file_index")
    out = base.with_columns(
        file_name=pl.lit(file_names).gather(file_index),
        file_id_modifier=pl.lit(modifiers).gather(file_index),
    )
    for name, dtype in ENTRIES_SCHEMA.items():
        if name not in out.columns:
            out = out.with_columns(pl.lit(None, dtype=dtype).alias(name))
    return out.select([pl.col(n).cast(t) for n, t in ENTRIES_SCHEMA.items()])
