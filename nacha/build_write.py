"""Turn one planned file into the record frames of the NACHA core and write it.

The builder never formats records itself: it hands header, batch, entry and addenda frames
(column names from ``nacha.layouts``) to ``nacha.assemble``, which computes controls, hash
and blocking and refuses values that do not fit.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import polars as pl

from nacha.build_plan import Plan
from nacha.build_rules import (
    ADDENDA_TEXT_LENGTH,
    CHECK_LAYOUTS,
    SEC_RULES,
    addenda_records_expr,
)
from nacha.build_settings import BuildSettings
from nacha.errors import NachaWriteError
from nacha.writer import assemble

__all__ = ["FileFrames", "file_frames", "write_file"]


@dataclass(frozen=True)
class FileFrames:
    """The inputs of ``nacha.assemble`` for one file. ``trusted_entry_columns``: entry
    columns whose values the builder computed itself (see :data:`TRUSTED_ENTRY_COLUMNS`);
    frames of any other origin leave it empty and every value is checked. ``printable``:
    every text value was proven printable ASCII (checked transfers and settings), so the
    written file is not scanned for other characters again."""

    file_header: dict[str, Any]
    batches: pl.DataFrame
    entries: pl.DataFrame
    addenda: pl.DataFrame
    trusted_entry_columns: frozenset[str] = field(default_factory=frozenset)
    printable: bool = False


#: Entry columns whose values a plan makes digits of the right width by construction, so
#: the core's per-value check would re-prove them over every row: transaction codes are
#: picked from the valid codes, routing numbers passed the ABA check (``^[0-9]{9}$``) in
#: ``check_transfers`` or the settings, amounts are checked cents within the 10-digit
#: maximum, traces are integer arithmetic. The file's self-check (``validate=True``)
#: still re-reads every field.
TRUSTED_ENTRY_COLUMNS = frozenset(
    {"transaction_code", "rdfi_id", "check_digit", "amount", "trace_number"}
)


#: The SEC-specific entry fields a plan may carry (POP terminal city/state, XCK process
#: control field and item research number), in ``nacha.layouts`` names.
ENTRY_FIELDS = tuple(dict.fromkeys(f.field for r in SEC_RULES.values() for f in r.fields))


def _yymmdd(column: str) -> pl.Expr:
    return pl.col(column).dt.strftime("%y%m%d")


def _null_if_empty(planned: pl.DataFrame, column: str) -> pl.Expr:
    """``column`` with "" (the plan's "no value") as null: a comparison, cheaper than a
    value-replace lookup, and no per-row branch at all when no value is empty."""
    col = pl.col(column)
    if planned.get_column(column).str.len_bytes().min() == 0:
        return pl.when(col != "").then(col)
    return col


def next_modifier(modifiers: Iterator[str], shortage: str) -> str:
    """The next caller-supplied file ID modifier (the ledger allocates them); running out is a
    typed error whose message (``shortage``) says how many files the operation needed."""
    try:
        return next(modifiers)
    except StopIteration:
        raise NachaWriteError(
            shortage, field="file_id_modifier", rule="file.modifiers_exhausted"
        ) from None


def file_header(settings: BuildSettings, *, now: datetime, modifier: str) -> dict[str, Any]:
    """The file header fields of one built file (domestic or IAT), in ``assemble``'s names."""
    org, odfi = settings.originator, settings.odfi
    return {
        "immediate_destination": odfi.immediate_destination,
        "immediate_origin": org.immediate_origin,
        "file_creation_date": now.strftime("%y%m%d"),
        "file_creation_time": now.strftime("%H%M"),
        "file_id_modifier": modifier,
        "immediate_destination_name": odfi.immediate_destination_name,
        "immediate_origin_name": org.immediate_origin_name,
        "reference_code": org.reference_code or None,
    }


def file_name(
    settings: BuildSettings,
    *,
    business_date: date,
    local: datetime,
    modifier: str,
    index: int,
    service_classes: set[str],
    company_names: set[str],
) -> str:
    """A built file's name from ``file_name_template``: ``kind`` is credit/debit when every
    batch has that service class (else mixed), ``company`` the one company's name made
    file-name safe (else multi)."""
    kind = "mixed"
    if len(service_classes) == 1:
        kind = {"220": "credit", "225": "debit"}.get(next(iter(service_classes)), "mixed")
    company = "multi"
    if len(company_names) == 1:
        company = re.sub(r"[^A-Za-z0-9-]+", "_", next(iter(company_names)).strip())
    return settings.file_name_template.format(
        origin=settings.originator.immediate_origin.strip(),
        destination=settings.odfi.immediate_destination,
        date=business_date,
        created=local,
        modifier=modifier,
        seq=index + 1,
        kind=kind,
        company=company,
    )


def file_frames(
    plan: Plan, settings: BuildSettings, *, file_index: int, now: datetime, modifier: str
) -> FileFrames:
    """Header dict and batch/entry/addenda frames of planned file ``file_index``."""
    org = settings.originator
    odfi8 = org.odfi_routing[:8]
    header = file_header(settings, now=now, modifier=modifier)
    companies = pl.DataFrame(
        {
            "company_index": list(range(len(settings.companies))),
            "company_name": [c.company_name for c in settings.companies],
            "company_discretionary_data": [
                c.discretionary_data or None for c in settings.companies
            ],
            "company_id": [c.company_id for c in settings.companies],
        },
        schema_overrides={"company_index": pl.Int32, "company_discretionary_data": pl.String},
    )
    descriptive = (
        _yymmdd("effective_entry_date")
        if settings.descriptive_date == "effective"
        else pl.lit(None, pl.String)
    )
    batches = (
        plan.batches.filter(pl.col("file_index") == file_index)
        .join(companies, on="company_index", how="left", maintain_order="left")
        .select(
            pl.col("batch_number").cast(pl.Int64),
            service_class_code=pl.col("svc"),
            company_name=pl.col("company_name"),
            company_discretionary_data=pl.col("company_discretionary_data"),
            company_id=pl.col("company_id"),
            sec_code=pl.col("sec"),
            company_entry_description=pl.col("company_entry_description"),
            company_descriptive_date=descriptive,
            effective_entry_date=_yymmdd("effective_entry_date"),
            settlement_date=pl.lit(None, pl.String),
            originator_status_code=pl.lit("1"),
            odfi_id=pl.lit(odfi8),
        )
    )
    planned = plan.entries
    only = plan.files.height == 1 and plan.files["file_index"][0] == file_index
    if not only:  # one file (the usual build) holds every entry: no filtered copy
        planned = planned.filter(pl.col("file_index") == file_index)
    trace = pl.col("trace_number")  # decided by the plan
    layout = pl.col("layout")
    ident = pl.col("identification_number")  # null when the transfer has none
    # comparisons with the three names, not a hash lookup per row
    is_check = pl.any_horizontal(layout == name for name in CHECK_LAYOUTS)
    if not planned.select(is_check.any()).item():  # no check entries (the usual file)
        identification, check_serial = ident, pl.lit(None, pl.String)
    else:  # ARC/BOC/RCK/POP/XCK: the transfer's identification is the check serial number
        identification = pl.when(~is_check).then(ident)
        check_serial = pl.when(is_check).then(ident)
    # POP/XCK fields: present only when some transfer fills them (checked per SEC code)
    fields = [f for f in ENTRY_FIELDS if f in planned.columns]
    entries = planned.select(
        pl.col("batch_number").cast(pl.Int64),
        transaction_code=pl.col("transaction_code"),
        rdfi_id=pl.col("routing_number").str.slice(0, 8),
        check_digit=pl.col("routing_number").str.slice(8, 1),
        dfi_account_number=pl.col("account_number"),
        amount=pl.col("amount_cents").cast(pl.Int64),
        identification_number=identification,
        check_serial_number=check_serial,
        **{f: pl.col(f) for f in fields},
        individual_name=_null_if_empty(planned, "individual_name"),
        discretionary_data=pl.col("payment_type_code"),
        trace_number=trace,
    )
    # Addenda name their entry by position (``entry_index``), not by batch + trace: the
    # core then attaches them with one integer join and needs no uniqueness pass over every
    # (batch, trace) pair (traces are unique by construction here).
    # the four addenda columns first, then the filter: no copy of the wide entry rows
    texts = planned.select(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("entry_index"),
        pl.col("addenda").alias("payment_related_information"),
        trace,
    ).filter(pl.col("payment_related_information").is_not_null())
    return FileFrames(
        file_header=header,
        batches=batches,
        entries=entries,
        addenda=_addenda_records(texts),
        trusted_entry_columns=TRUSTED_ENTRY_COLUMNS,
        # texts of checked transfers (printable-ASCII rules), settings (validated
        # printable), digits and dates the plan formatted
        printable=True,
    )


def _addenda_records(texts: pl.DataFrame) -> pl.DataFrame:
    """Addenda 05 rows of the entries in ``texts`` (``entry_index``, text, trace): a text
    longer than one record (CTX) is cut into 80-character records numbered 0001, 0002, …
    (the writer pads the last one). Only when some text is that long: the usual file
    (at most one addenda per entry) makes one row per text, with no explode."""
    text = pl.col("payment_related_information")
    sequence: pl.Expr = pl.lit(1, pl.Int64)
    longest = texts.get_column("payment_related_information").str.len_bytes().max()
    if isinstance(longest, int) and longest > ADDENDA_TEXT_LENGTH:
        texts = texts.with_columns(
            _part=pl.int_ranges(0, addenda_records_expr(text), dtype=pl.Int64)
        ).explode("_part")
        text = text.str.slice(pl.col("_part") * ADDENDA_TEXT_LENGTH, ADDENDA_TEXT_LENGTH)
        sequence = pl.col("_part") + 1
    return texts.select(
        "entry_index",
        addenda_type_code=pl.lit("05"),
        payment_related_information=text,
        addenda_sequence_number=sequence,
        entry_detail_sequence_number=pl.col("trace_number").str.slice(8),
    )


def write_file(frames: FileFrames, *, line_ending: str = "\n") -> bytes:
    """Bytes of one file through the core's assembler (controls, hash, blocking)."""
    return assemble(
        file_header=frames.file_header,
        batches=frames.batches,
        entries=frames.entries,
        addenda=frames.addenda,
        line_ending=line_ending,
        trusted_entry_columns=frames.trusted_entry_columns,
        printable=frames.printable,
    )
