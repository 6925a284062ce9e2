"""Operations on files already built or sent: reverse, segment into debits/credits, merge.

All three read with ``nacha.read`` and write with ``nacha.assemble``, so control records,
hashes and blocking are always recomputed by the core; nothing here formats a record.

* :func:`reverse_file` — a ``REVERSAL`` file that undoes every live entry of a sent file
  (or the chosen traces): debit ↔ credit, same amounts and receivers, new trace numbers,
  within the Rules' window (available to the RDFI within 5 banking days after settlement).
* :func:`segment_file` — one debit-only (225) and one credit-only (220) file, traces kept.
* :func:`merge_files` — several files of one origin/destination packed into as few files as
  the line and dollar limits allow, batches renumbered, traces kept (must be unique).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import polars as pl

from nacha.build_rules import SEC_RULES
from nacha.build_settings import BuildSettings, Limits
from nacha.build_write import next_modifier
from nacha.calendar import earliest_standard_date, reversal_deadline
from nacha.errors import NachaError, NachaWriteError

__all__ = ["Reversal", "merge_files", "reverse_file", "segment_file"]

_HEADER_FIELDS = (
    "immediate_destination",
    "immediate_origin",
    "file_creation_date",
    "file_creation_time",
    "file_id_modifier",
    "immediate_destination_name",
    "immediate_origin_name",
    "reference_code",
)
_BATCH_FIELDS = (
    "batch_number",
    "service_class_code",
    "company_name",
    "company_discretionary_data",
    "company_id",
    "sec_code",
    "company_entry_description",
    "company_descriptive_date",
    "effective_entry_date",
    "originator_status_code",
    "odfi_id",
)
_ENTRY_FIELDS = (
    "transaction_code",
    "rdfi_id",
    "check_digit",
    "dfi_account_number",
    "amount",
    "identification_number",
    "individual_name",
    "discretionary_data",
    "check_serial_number",
    "terminal_city",
    "terminal_state",
    "process_control_field",
    "item_research_number",
    "trace_number",
)
#: debit ↔ credit for live entries (second digit of the transaction code), §10.
_FLIP = {"2": "7", "7": "2"}
#: The SEC codes the builder originates (``nacha.build_rules.SEC_RULES``).
_SUPPORTED_SEC = frozenset(SEC_RULES)


def _read(f: Any) -> Any:
    from nacha import read

    return read(f) if isinstance(f, bytes | bytearray | str) or hasattr(f, "read_bytes") else f


def _frames(f: Any) -> tuple[dict[str, Any], pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(header, batches, entries, addenda) of a read file, in assemble's vocabulary."""
    header_row = f.file_header.row(0, named=True)
    header = {k: header_row.get(k) for k in _HEADER_FIELDS}
    unsupported = set(f.batches["sec_code"].to_list()) - _SUPPORTED_SEC
    if unsupported:
        raise NachaError(f"cannot rebuild batches of SEC {sorted(unsupported)}")
    batches = f.batches.select("batch_index", *[c for c in _BATCH_FIELDS if c in f.batches.columns])
    entries = f.entries.select(
        "batch_index", "entry_index", *[c for c in _ENTRY_FIELDS if c in f.entries.columns]
    )
    addenda = f.addenda
    if addenda.height:
        types = set(addenda["addenda_type_code"].to_list())
        if types - {"05"}:
            raise NachaError(f"cannot rebuild addenda of type {sorted(types - {'05'})}")
        addenda = addenda.select(
            "batch_index", "entry_index", "addenda_type_code", "payment_related_information"
        )
    else:
        addenda = pl.DataFrame(
            schema={
                "batch_index": pl.Int64,
                "entry_index": pl.Int64,
                "addenda_type_code": pl.String,
                "payment_related_information": pl.String,
            }
        )
    return header, batches, entries, addenda


def _assemble(
    header: dict[str, Any],
    batches: pl.DataFrame,
    entries: pl.DataFrame,
    addenda: pl.DataFrame,
    *,
    line_ending: str,
) -> bytes:
    """Renumber batches 1..n in order and hand everything to the core writer."""
    from nacha.build_write import FileFrames, write_file

    numbering = batches.select("batch_index").with_columns(
        batch_number=pl.int_range(1, pl.len() + 1, dtype=pl.Int64)
    )
    b = batches.drop("batch_number", strict=False).join(numbering, on="batch_index")
    e = entries.join(numbering, on="batch_index").sort("batch_number", "entry_index")
    a = (
        addenda.join(numbering, on="batch_index")
        .join(entries.select("entry_index", "trace_number"), on="entry_index")
        .sort("batch_number", "entry_index")
    )
    frames = FileFrames(
        file_header=header,
        batches=b.drop("batch_index"),
        entries=e.drop("batch_index", "entry_index"),
        addenda=a.drop("batch_index", "entry_index"),
    )
    return write_file(frames, line_ending=line_ending)


def segment_file(
    original: Any, *, file_id_modifiers: Sequence[str], line_ending: str = "\n"
) -> tuple[bytes | None, bytes | None]:
    """(debit file, credit file) from one file: every batch split by direction into a
    225 or 220 batch; trace numbers and entries unchanged. A side with no entries is None.
    ``file_id_modifiers``: (debit file's, credit file's)."""
    f = _read(original)
    header, batches, entries, addenda = _frames(f)
    debit = entries["transaction_code"].str.slice(1, 1).cast(pl.Int32) >= 5
    out: list[bytes | None] = []
    for is_debit, svc, modifier in zip(
        (True, False), ("225", "220"), file_id_modifiers, strict=True
    ):
        side = entries.filter(debit if is_debit else ~debit)
        if side.height == 0:
            out.append(None)
            continue
        used = batches.filter(pl.col("batch_index").is_in(side["batch_index"].implode()))
        used = used.with_columns(service_class_code=pl.lit(svc))
        own = addenda.filter(pl.col("entry_index").is_in(side["entry_index"].implode()))
        out.append(
            _assemble(
                {**header, "file_id_modifier": modifier},
                used,
                side,
                own,
                line_ending=line_ending,
            )
        )
    return out[0], out[1]


def merge_files(
    files: Iterable[Any],
    *,
    file_id_modifiers: Iterable[str],
    now: datetime,
    limits: Limits | None = None,
    line_ending: str = "\n",
) -> list[bytes]:
    """Merge files of the same origin and destination into as few files as the limits allow.

    Batches keep their order (file by file) and contents; trace numbers must be unique
    across all inputs (they are what returns are matched on), otherwise NachaError.
    """
    limits = limits or Limits()
    parsed = [_frames(_read(f)) for f in files]
    if not parsed:
        return []
    origins = {(h["immediate_origin"], h["immediate_destination"]) for h, *_ in parsed}
    if len(origins) != 1:
        raise NachaError(f"cannot merge files of different origin/destination: {origins}")
    all_traces = pl.concat([e.select("trace_number") for _, _, e, _ in parsed])
    if all_traces["trace_number"].is_duplicated().any():
        dupes = all_traces.filter(pl.col("trace_number").is_duplicated())["trace_number"]
        raise NachaError(f"trace numbers repeat across the files: {sorted(set(dupes))[:5]}")
    # Give every batch and entry a key unique across inputs, then pack batch by batch.
    batches, entries, addenda = [], [], []
    for n, (_, b, e, a) in enumerate(parsed):
        shift = pl.lit(n * 10_000_000, pl.Int64)
        batches.append(b.with_columns(batch_index=pl.col("batch_index").cast(pl.Int64) + shift))
        entries.append(
            e.with_columns(
                batch_index=pl.col("batch_index").cast(pl.Int64) + shift,
                entry_index=pl.col("entry_index").cast(pl.Int64) + shift,
            )
        )
        addenda.append(
            a.with_columns(
                batch_index=pl.col("batch_index").cast(pl.Int64) + shift,
                entry_index=pl.col("entry_index").cast(pl.Int64) + shift,
            )
        )
    b_all = pl.concat(batches, how="diagonal_relaxed")
    e_all = pl.concat(entries, how="diagonal_relaxed")
    a_all = pl.concat(addenda, how="diagonal_relaxed")
    debit = pl.col("transaction_code").str.slice(1, 1).cast(pl.Int32) >= 5
    n_add = a_all.group_by("batch_index").agg(n_add=pl.len())
    sizes = (
        e_all.group_by("batch_index")
        .agg(
            n=pl.len(),
            debit=pl.col("amount").filter(debit).sum(),
            credit=pl.col("amount").filter(~debit).sum(),
        )
        .join(n_add, on="batch_index", how="left")
        .with_columns(records=pl.col("n") + pl.col("n_add").fill_null(0) + 2)
    )
    b_all = b_all.join(sizes, on="batch_index", how="left", maintain_order="left")
    groups: list[list[int]] = [[]]
    lines = debit_total = credit_total = 0
    for idx, records, d, c in b_all.select("batch_index", "records", "debit", "credit").rows():
        fits = (
            -(-(lines + records + 2) // 10) * 10 <= limits.max_file_lines
            and debit_total + (d or 0) <= limits.max_file_debit_cents
            and credit_total + (c or 0) <= limits.max_file_credit_cents
        )
        if groups[-1] and not fits:
            groups.append([])
            lines = debit_total = credit_total = 0
        groups[-1].append(idx)
        lines, debit_total, credit_total = (
            lines + records,
            debit_total + (d or 0),
            credit_total + (c or 0),
        )
    header = dict(parsed[0][0])
    header["file_creation_date"] = now.strftime("%y%m%d")
    header["file_creation_time"] = now.strftime("%H%M")
    modifiers = iter(file_id_modifiers)
    out = []
    for group in groups:
        modifier = next_modifier(
            modifiers, f"merging needs {len(groups)} files but fewer file ID modifiers were given"
        )
        keep = pl.col("batch_index").is_in(pl.Series(group, dtype=pl.Int64).implode())
        out.append(
            _assemble(
                {**header, "file_id_modifier": modifier},
                b_all.filter(keep).select(batches[0].columns),
                e_all.filter(keep),
                a_all.filter(keep),
                line_ending=line_ending,
            )
        )
    return out


@dataclass(frozen=True)
class Reversal:
    """A reversal file and how its entries map to the originals."""

    content: bytes
    entries: pl.DataFrame  # original_trace_number, trace_number, amount_cents, transaction_code
    effective_entry_date: date
    next_trace_sequence: int


def reverse_file(
    original: Any,
    settings: BuildSettings,
    *,
    now: datetime,
    file_id_modifier: str,
    first_trace_sequence: int,
    traces: Iterable[str] | None = None,
    effective_entry_date: date | None = None,
    settlement_date: date | None = None,
) -> Reversal:
    """Build a ``REVERSAL`` file for the live entries of ``original`` (or only ``traces``).

    Each reversing entry has the opposite direction, the same receiver and amount, and a new
    trace number. ``settlement_date`` of the original (default: its effective dates) bounds
    the window: the reversal's effective date must be at most 5 banking days after it
    (§6); otherwise :class:`NachaWriteError` (``reversal.too_late``).
    """
    f = _read(original)
    header, batches, entries, addenda = _frames(f)
    second = pl.col("transaction_code").str.slice(1, 1)
    live = entries.filter(second.is_in(list(_FLIP)) & (pl.col("amount") > 0))
    if traces is not None:
        wanted = pl.Series(list(traces), dtype=pl.String)
        missing = set(wanted.to_list()) - set(live["trace_number"].to_list())
        if missing:
            raise NachaError(f"no live entry with trace number(s) {sorted(missing)} to reverse")
        live = live.filter(pl.col("trace_number").is_in(wanted.implode()))
    if live.height == 0:
        raise NachaError("nothing to reverse: the file has no live entries")
    profile = settings.odfi.profile
    eff = effective_entry_date or earliest_standard_date(now, profile=profile)
    used = batches.filter(pl.col("batch_index").is_in(live["batch_index"].implode()))
    originals = used.select(
        pl.col("effective_entry_date").str.strptime(pl.Date, "%y%m%d", strict=False)
    ).to_series()
    for settled in [settlement_date] if settlement_date else originals.drop_nulls().to_list():
        deadline = reversal_deadline(settled, calendar=profile.calendar)
        if eff > deadline:
            raise NachaWriteError(
                f"too late to reverse: entries settled {settled} must be reversed by "
                f"{deadline} (effective date would be {eff})",
                rule="reversal.too_late",
            )
    odfi8 = settings.originator.odfi_routing[:8]
    seq = first_trace_sequence + pl.int_range(pl.len(), dtype=pl.Int64)
    flipped = live.with_columns(
        original_trace_number=pl.col("trace_number"),
        transaction_code=pl.col("transaction_code").str.slice(0, 1) + second.replace(_FLIP),
        trace_number=pl.lit(odfi8) + seq.cast(pl.String).str.pad_start(7, "0"),
    )
    sec = flipped.join(used.select("batch_index", "sec_code"), on="batch_index")["sec_code"]
    # A WEB debit needs a Payment Type Code; a reversed WEB credit had none.
    flipped = flipped.with_columns(sec_code=sec).with_columns(
        discretionary_data=pl.when(
            (pl.col("sec_code") == "WEB") & pl.col("discretionary_data").is_null()
            & (pl.col("transaction_code").str.slice(1, 1) == "7")
        ).then(pl.lit("S")).otherwise("discretionary_data")
    ).drop("sec_code")  # fmt: skip
    svc = {"220": "225", "225": "220"}
    used = used.with_columns(
        service_class_code=pl.col("service_class_code").replace(svc),
        company_entry_description=pl.lit("REVERSAL"),
        effective_entry_date=pl.lit(eff.strftime("%y%m%d")),
        odfi_id=pl.lit(odfi8),
    )
    own = addenda.filter(pl.col("entry_index").is_in(live["entry_index"].implode()))
    header = {
        **header,
        "file_id_modifier": file_id_modifier,
        "file_creation_date": profile.local(now).strftime("%y%m%d"),
        "file_creation_time": profile.local(now).strftime("%H%M"),
    }
    content = _assemble(
        header, used, flipped.drop("original_trace_number"), own, line_ending=settings.line_ending
    )
    mapping = flipped.select(
        "original_trace_number",
        "trace_number",
        amount_cents=pl.col("amount").cast(pl.Int64),
        transaction_code="transaction_code",
    )
    return Reversal(
        content=content,
        entries=mapping,
        effective_entry_date=eff,
        next_trace_sequence=first_trace_sequence + mapping.height,
    )
