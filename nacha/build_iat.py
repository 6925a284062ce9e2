"""Originate IAT (International ACH Transaction) files: batches, traces, addenda 10-18.

Why separate files: many ODFIs (and their OFAC screening) take IAT only in files of their
own, and an IAT batch header has another layout, so achpipe never mixes IAT batches into a
domestic file. The IAT file(s) of a build come after its domestic files: the next file ID
modifiers, file numbers (``{seq}``) and trace sequences continue from the domestic plan, so
traces stay unique and ascending across the whole build.

Batches: one per (effective date, company, description, foreign exchange terms, destination
country, currencies, service class), split when the 6-digit entry/addenda count would
overflow; files packed within the configured line and dollar limits. Every entry carries the
mandatory addenda 10-16; with ``paymentRelatedInformation``, one or two addenda 17; and one
addenda 18 for each foreign correspondent bank (``correspondentBank1…5*``), after the 17s.
Addenda 17 and 18 each number their records 0001, 0002, … (the first of each type is 1, as
the Rules and moov-io have it); the entry's addenda count covers all of them, and batches and
files are cut between entries only.
ODFI addenda 13: the ODFI name and routing number from the settings (qualifier 01, branch
country US). OFAC screening indicators are left blank (the gateway operator's fields).
Everything is written through ``nacha.assemble``; nothing here formats a record.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import polars as pl

from nacha.addenda_text import CORRESPONDENT_BANK_FIELDS
from nacha.build_iat_input import (
    MAX_CORRESPONDENT_BANKS,
    IatSplit,
    check_iat,
    iat_batch_records,
)
from nacha.build_plan import MAX_SEQUENCE, trace_number_expr
from nacha.build_settings import BuildSettings
from nacha.build_write import FileFrames, file_header, file_name, next_modifier, write_file
from nacha.calendar import settlement_date_estimate
from nacha.errors import NachaWriteError
from nacha.masking import mask_account_expr

__all__ = ["IatBuild", "build_iat_files"]

BATCH_KEY = (
    "effective_entry_date",
    "company_index",
    "company_entry_description",
    "foreign_exchange_indicator",
    "foreign_exchange_reference_indicator",
    "foreign_exchange_reference",
    "iso_destination_country_code",
    "iso_originating_currency_code",
    "iso_destination_currency_code",
    "svc",
)
#: Addenda fields by type, as the layouts name them (``nacha.layouts.ADDENDA_10`` …).
_ADDENDA: dict[str, tuple[str, ...]] = {
    "10": ("transaction_type_code", "foreign_payment_amount", "foreign_trace_number",
           "receiving_name"),
    "11": ("originator_name", "originator_street_address"),
    "12": ("originator_city_state_province", "originator_country_postal_code"),
    "13": ("odfi_name", "odfi_id_number_qualifier", "odfi_identification",
           "odfi_branch_country_code"),
    "14": ("rdfi_name", "rdfi_id_number_qualifier", "rdfi_identification",
           "rdfi_branch_country_code"),
    "15": ("receiver_identification_number", "receiver_street_address"),
    "16": ("receiver_city_state_province", "receiver_country_postal_code"),
}  # fmt: skip


@dataclass(frozen=True)
class IatBuild:
    """What the IAT part of a build produced; ``files`` are (name, content, summary)."""

    files: list[tuple[str, bytes, dict[str, Any]]]
    entries: pl.DataFrame
    rejected: pl.DataFrame
    next_sequence: int
    batches: int
    debit_cents: int
    credit_cents: int


def _assign(frame: pl.DataFrame, settings: BuildSettings) -> pl.DataFrame:
    """Batch (``_batch``, build-wide) and file (``file_index``, from 0) of every entry, in
    order: a greedy pass over the entries, new batch on a new key or when the entry/addenda
    count would pass the batch limit, new file when lines or dollars would pass a limit.
    IAT volumes are small (each entry is 8-15 records); one loop is plainest."""
    limits = settings.limits
    batch_limit = iat_batch_records(settings)  # a row with more records was rejected
    batch_ids, file_ids = [], []
    batch = file_ = -1
    key: tuple[Any, ...] | None = None
    b_records = lines = credit = debit = 0
    for row in frame.select(*BATCH_KEY, "records", "is_credit", "amount_cents").iter_rows():
        *k, records, is_credit, cents = row
        c, d = (cents, 0) if is_credit else (0, cents)
        new_batch = key != tuple(k) or b_records + records > batch_limit
        need = records + (2 if new_batch else 0)
        fits = (
            file_ >= 0
            and -(-(lines + need) // 10) * 10 <= limits.max_file_lines
            and credit + c <= limits.max_file_credit_cents
            and debit + d <= limits.max_file_debit_cents
        )
        if not fits:
            file_, lines, credit, debit, new_batch = file_ + 1, 2, 0, 0, True
            need = records + 2
        if new_batch:
            batch, key, b_records = batch + 1, tuple(k), 0
        b_records, lines, credit, debit = b_records + records, lines + need, credit + c, debit + d
        batch_ids.append(batch)
        file_ids.append(file_)
    return frame.with_columns(
        _batch=pl.Series(batch_ids, dtype=pl.Int64), file_index=pl.Series(file_ids, dtype=pl.Int64)
    )


def _plan(accepted: pl.DataFrame, settings: BuildSettings, first_sequence: int) -> pl.DataFrame:
    split = settings.service_class_mode == "split"
    svc = pl.when(pl.col("is_credit")).then(pl.lit("220")).otherwise(pl.lit("225"))
    frame = accepted.with_columns(svc=svc if split else pl.lit("200")).sort(
        *BATCH_KEY, "row", nulls_last=True
    )
    frame = _assign(frame, settings)
    last = first_sequence + frame.height - 1
    if last > MAX_SEQUENCE:
        raise NachaWriteError(
            f"trace sequence would pass {MAX_SEQUENCE} (first {first_sequence}, "
            f"{frame.height} IAT entries): allocate a lower starting sequence",
            field="trace_number",
            rule="trace.sequence_overflow",
        )
    seq = first_sequence + pl.int_range(pl.len(), dtype=pl.Int64)
    return frame.with_columns(
        batch_number=(pl.col("_batch") - pl.col("_batch").min().over("file_index") + 1),
        trace_number=trace_number_expr(settings, seq),
    )


def _frames(
    planned: pl.DataFrame, settings: BuildSettings, *, now: datetime, modifier: str
) -> FileFrames:
    """``nacha.assemble``'s inputs for one IAT file."""
    org, odfi = settings.originator, settings.odfi
    header = file_header(settings, now=now, modifier=modifier)
    company_ids = pl.Series([c.company_id for c in settings.companies], dtype=pl.String)
    batches = planned.group_by("batch_number", maintain_order=True).agg(
        pl.first(*BATCH_KEY)
    ).select(
        pl.col("batch_number").cast(pl.Int64),
        service_class_code="svc",
        iat_indicator=pl.lit(None, pl.String),
        foreign_exchange_indicator="foreign_exchange_indicator",
        foreign_exchange_reference_indicator="foreign_exchange_reference_indicator",
        foreign_exchange_reference="foreign_exchange_reference",
        iso_destination_country_code="iso_destination_country_code",
        company_id=pl.lit(company_ids).gather(pl.col("company_index")),
        sec_code=pl.lit("IAT"),
        company_entry_description="company_entry_description",
        iso_originating_currency_code="iso_originating_currency_code",
        iso_destination_currency_code="iso_destination_currency_code",
        effective_entry_date=pl.col("effective_entry_date").dt.strftime("%y%m%d"),
        settlement_date=pl.lit(None, pl.String),
        originator_status_code=pl.lit("1"),
        odfi_id=pl.lit(org.odfi_routing[:8]),
    )  # fmt: skip
    entries = planned.select(
        pl.col("batch_number").cast(pl.Int64),
        transaction_code="transaction_code",
        rdfi_id=pl.col("routing_number").str.slice(0, 8),
        check_digit=pl.col("routing_number").str.slice(8, 1),
        amount=pl.col("amount_cents").cast(pl.Int64),
        dfi_account_number="account_number",
        gateway_ofac_screening_indicator=pl.lit(None, pl.String),
        secondary_ofac_screening_indicator=pl.lit(None, pl.String),
        trace_number="trace_number",
    )
    fields = planned.with_row_index("entry_index", offset=1).with_columns(
        pl.col("entry_index").cast(pl.Int64),
        odfi_name=pl.lit(odfi.immediate_destination_name),
        odfi_id_number_qualifier=pl.lit("01"),
        odfi_identification=pl.lit(org.odfi_routing),
        odfi_branch_country_code=pl.lit("US"),
    )
    parts = [
        fields.select("entry_index", *names, addenda_type_code=pl.lit(code), _order=pl.lit(i))
        for i, (code, names) in enumerate(_ADDENDA.items())
    ]
    for n in (1, 2):
        parts.append(
            fields.filter(pl.col(f"payment_related_{n}").is_not_null()).select(
                "entry_index",
                payment_related_information=f"payment_related_{n}",
                addenda_sequence_number=pl.lit(n, pl.Int64),
                addenda_type_code=pl.lit("17"),
                _order=pl.lit(len(_ADDENDA) + n),
            )
        )
    bank = "foreign_correspondent_bank"
    for n in range(1, MAX_CORRESPONDENT_BANKS + 1):
        parts.append(
            fields.filter(pl.col(f"{bank}_{n}_name").is_not_null()).select(
                "entry_index",
                *[
                    pl.col(f"{bank}_{n}_{f}").alias(f"{bank}_{f}")
                    for f in CORRESPONDENT_BANK_FIELDS
                ],
                addenda_sequence_number=pl.lit(n, pl.Int64),
                addenda_type_code=pl.lit("18"),
                _order=pl.lit(len(_ADDENDA) + 2 + n),
            )
        )
    addenda = pl.concat(parts, how="diagonal_relaxed").sort("entry_index", "_order").drop("_order")
    return FileFrames(file_header=header, batches=batches, entries=entries, addenda=addenda)


def build_iat_files(
    split: IatSplit,
    settings: BuildSettings,
    *,
    now: datetime,
    business_date: date,
    modifiers: Iterator[str],
    first_sequence: int,
    first_file_index: int,
    self_check: Callable[[bytes, str], None] | None,
) -> IatBuild:
    """Check, batch and write the IAT rows of ``split``: the files come after
    ``first_file_index`` domestic files and take the next of ``modifiers``."""
    checked = check_iat(split.iat, settings, now=now)
    local = settings.odfi.profile.local(now)
    planned = _plan(checked.accepted, settings, first_sequence)
    files: list[tuple[str, bytes, dict[str, Any]]] = []
    names: list[tuple[str, str]] = []
    n_files = int(planned["file_index"].max()) + 1 if planned.height else 0
    for i in range(n_files):
        part = planned.filter(pl.col("file_index") == i)
        index = first_file_index + i
        modifier = next_modifier(
            modifiers,
            f"the build needs {first_file_index + n_files} files but only {index} file ID "
            "modifier(s) were supplied",
        )
        content = write_file(
            _frames(part, settings, now=local, modifier=modifier),
            line_ending=settings.line_ending,
        )
        if self_check is not None:
            self_check(content, modifier)
        companies = part["company_index"].unique()
        name = file_name(
            settings,
            business_date=business_date,
            local=local,
            modifier=modifier,
            index=index,
            service_classes=set(part["svc"].unique().to_list()),
            company_names={settings.companies[i].company_name for i in companies},
        )
        credit = int(part.filter("is_credit")["amount_cents"].sum() or 0)
        debit = int(part.filter(~pl.col("is_credit"))["amount_cents"].sum() or 0)
        summary = {
            "name": name,
            "file_id_modifier": modifier,
            "batches": part["batch_number"].n_unique(),
            "entries": part.height,
            "debit_total_cents": debit,
            "credit_total_cents": credit,
            "bytes": len(content),
            "sha256": hashlib.sha256(content).hexdigest(),
        }
        files.append((name, content, summary))
        names.append((name, modifier))
    entries = _entries(planned, names, settings, now, first_file_index)
    return IatBuild(
        files=files,
        entries=entries,
        rejected=checked.rejected,
        next_sequence=first_sequence + planned.height,
        batches=sum(s["batches"] for _, _, s in files),
        debit_cents=sum(s["debit_total_cents"] for _, _, s in files),
        credit_cents=sum(s["credit_total_cents"] for _, _, s in files),
    )


def _entries(
    planned: pl.DataFrame,
    names: list[tuple[str, str]],
    settings: BuildSettings,
    now: datetime,
    first_file_index: int,
) -> pl.DataFrame:
    """The ledger's view of the IAT entries (``nacha.build.ENTRIES_SCHEMA`` columns)."""
    profile = settings.odfi.profile
    estimates = {
        d: settlement_date_estimate(d, submitted=now, profile=profile, same_day_eligible=False)
        for d in planned["effective_entry_date"].unique().to_list()
    }
    company_ids = pl.Series([c.company_id for c in settings.companies], dtype=pl.String)
    file_names = pl.Series([n for n, _ in names], dtype=pl.String)
    modifiers = pl.Series([m for _, m in names], dtype=pl.String)
    at = pl.col("file_index")
    return planned.select(
        "reference",
        "row",
        kind=pl.when(pl.col("prenote")).then(pl.lit("prenote")).otherwise(pl.lit("entry")),
        file_index=at + first_file_index,
        file_name=pl.lit(file_names).gather(at),
        file_id_modifier=pl.lit(modifiers).gather(at),
        batch_number=pl.col("batch_number").cast(pl.Int64),
        trace_number="trace_number",
        transaction_code="transaction_code",
        amount_cents="amount_cents",
        sec=pl.lit("IAT"),
        client_code="client_code",
        company_id=pl.lit(company_ids).gather(pl.col("company_index")),
        company_entry_description="company_entry_description",
        routing_number="routing_number",
        account_mask=mask_account_expr("account_number"),
        requested_effective_date="requested_effective_date",
        effective_entry_date="effective_entry_date",
        date_action="date_action",
        same_day="same_day",
        settlement_date_estimate=pl.col("effective_entry_date").replace_strict(
            estimates, return_dtype=pl.Date
        ),
    )


def build_with_iat(
    split: IatSplit,
    settings: BuildSettings,
    *,
    now: datetime,
    file_id_modifiers: Any,
    business_date: date | None,
    first_trace_sequence: int,
    extra_columns: str,
    validate: bool,
) -> Any:
    """``nacha.build_files`` for a frame with IAT rows or columns: the domestic rows build
    exactly as they would alone (then their row numbers are mapped back to the input's),
    the IAT file(s) follow with the next modifiers and trace sequences; entries, rejections
    and the summary cover both."""
    from nacha.build import (
        ENTRIES_SCHEMA,
        BuildResult,
        BuiltFile,
        _modifiers,
        _self_check,
        build_files,
    )

    modifiers = _modifiers(file_id_modifiers)
    domestic = build_files(
        split.domestic,
        settings,
        now=now,
        file_id_modifiers=modifiers,
        business_date=business_date,
        first_trace_sequence=first_trace_sequence,
        extra_columns=extra_columns,
        validate=validate,
    )
    entries, rejected = domestic.entries, domestic.rejected
    if split.domestic_rows is not None:
        rows = pl.lit(split.domestic_rows)
        entries = entries.with_columns(row=rows.gather(pl.col("row") - 1))
        rejected = rejected.with_columns(row=rows.gather(pl.col("row") - 1))
    local = settings.odfi.profile.local(now)
    iat = build_iat_files(
        split,
        settings,
        now=now,
        business_date=business_date or local.date(),
        modifiers=modifiers,
        first_sequence=domestic.next_trace_sequence,
        first_file_index=len(domestic.files),
        self_check=_self_check if validate else None,
    )
    files = (*domestic.files, *(BuiltFile(n, c, s) for n, c, s in iat.files))
    if len({f.name for f in files}) != len(files):
        raise NachaWriteError(
            "file_name_template produced duplicate names; include {seq} or {modifier}",
            rule="file.duplicate_name",
        )
    entries = pl.concat([entries, iat.entries.cast(ENTRIES_SCHEMA)])  # type: ignore[arg-type]
    rejected = pl.concat([split.rejected, rejected, iat.rejected]).sort("row")
    summary = dict(domestic.summary)
    summary.update(
        files=len(files),
        batches=summary.get("batches", 0) + iat.batches,
        entries=entries.height,
        debit_total_cents=summary.get("debit_total_cents", 0) + iat.debit_cents,
        credit_total_cents=summary.get("credit_total_cents", 0) + iat.credit_cents,
        rejected=rejected.height,
        rolled=entries.filter(pl.col("date_action") == "rolled").height,
        same_day_entries=entries.filter(pl.col("same_day")).height,
    )
    return BuildResult(
        files=files,
        entries=entries,
        rejected=rejected,
        next_trace_sequence=iat.next_sequence,
        summary=summary,
    )
