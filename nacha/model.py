"""The read result: :class:`NachaFile` holds polars frames; a small object API sits on top.

Frames (every one has a 1-based ``line`` column — the physical line of the record):

``records``      every non-blank record: line, kind (Enum: file_header, batch_header, entry,
                 addenda, batch_control, file_control, padding, unknown), batch_index,
                 entry_index, raw (the record, padded/cut to 94 characters).
``file_header``  one row (none if missing): the file header fields (strings) plus
                 ``creation_date`` (pl.Date parsed from file_creation_date, null if invalid).
``batches``      one row per batch header: ``batch_index`` (1-based), header fields (strings;
                 ``batch_number`` Int64; IAT batches add the IAT header fields), ``effective_date``
                 (pl.Date from effective_entry_date, null if blank/invalid), and the batch control
                 (``control_line``, ``control_service_class_code``, ``entry_addenda_count``,
                 ``entry_hash``, ``total_debit_entry_dollar_amount``,
                 ``total_credit_entry_dollar_amount`` (Int64 cents), ``control_company_id``,
                 ``message_authentication_code``, ``control_odfi_id``, ``control_batch_number``;
                 null when the batch has no control).
``entries``      one row per entry detail: ``batch_index``, ``entry_index`` (1-based in the
                 file), the entry fields (``amount`` Int64 cents; identifiers are strings).
                 Positions 40-78 depend on the SEC code; the common names are
                 ``identification_number``, ``individual_name`` (receiver or receiving company
                 name), ``discretionary_data`` (WEB/TEL payment type) — always columns, null
                 where the layout has no such field — plus ``check_serial_number`` etc. for
                 check SECs, ``number_of_addenda_records`` for CTX/IAT.
``addenda``      one row per addenda: ``batch_index``, ``entry_index``, ``addenda_position``
                 (1-based within its entry), ``addenda_type_code`` and the fields of every
                 addenda type present (null where a field does not apply).
``file_control`` one row (none if missing).
``returns``/``nocs`` convenience joins (see the properties).
``read_issues``  the physical and structural issues the reader found (see nacha.issues).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

import polars as pl

from nacha.codes import (
    CHANGE_BY_CODE,
    RETURN_BY_CODE,
    parse_corrected_data,
)
from nacha.slicing import ensure_columns, entries_from_records

_BATCH_FOR_JOINS = [
    "batch_index",
    "batch_number",
    "service_class_code",
    "company_name",
    "company_id",
    "sec_code",
    "company_entry_description",
    "company_descriptive_date",
    "effective_entry_date",
    "effective_date",
    "settlement_date",
    "odfi_id",
]
_ENTRY_FOR_JOINS = [
    "entry_index",
    "trace_number",
    "transaction_code",
    "amount",
    "rdfi_id",
    "check_digit",
    "dfi_account_number",
    "individual_name",
    "identification_number",
    "discretionary_data",
]


@dataclass(frozen=True)
class Entry:
    """One entry detail with its addenda, for people and tests."""

    line: int
    batch_number: int | None
    sec_code: str | None
    transaction_code: str
    rdfi_id: str
    check_digit: str
    dfi_account_number: str | None
    amount: int | None
    individual_name: str | None
    identification_number: str | None
    trace_number: str
    addenda: tuple[dict[str, object], ...] = ()

    @property
    def rdfi_routing(self) -> str:
        return f"{self.rdfi_id}{self.check_digit}"


@dataclass(frozen=True)
class Batch:
    """One batch (header and control fields) with its entries."""

    line: int
    batch_number: int | None
    sec_code: str | None
    service_class_code: str | None
    company_name: str | None
    company_id: str | None
    company_entry_description: str | None
    effective_date: date | None
    entries: tuple[Entry, ...]
    total_debit: int | None
    total_credit: int | None


@dataclass
class NachaFile:
    """A read NACHA file as frames. See the module docstring for the columns."""

    record_codes: pl.DataFrame  # line, kind (Int8 code), raw
    file_header: pl.DataFrame
    batches: pl.DataFrame
    entry_records: pl.DataFrame  # line, raw, batch_index, entry_index, _layout (internal)
    addenda: pl.DataFrame
    file_control: pl.DataFrame
    read_issues: pl.DataFrame
    line_ending: str = "\n"
    trailing_newline: bool = True
    encoding: str = "ascii"
    source_name: str | None = None
    raw_by_layout: dict[str, pl.DataFrame] = field(default_factory=dict, repr=False)
    is_adv: bool = False
    entry_layouts: list[str] = field(default_factory=lambda: ["standard"])
    printable_ascii: bool = True  # every byte printable ASCII (or a line separator)
    has_plus_sign: bool = False  # a '+' somewhere (integer parsing would accept it)

    @cached_property
    def records(self) -> pl.DataFrame:
        """Every non-blank record: line, kind (Enum), batch_index, entry_index, raw."""
        from nacha.reader import KIND_ENUM, KIND_NAMES

        kind = pl.col("kind")
        return self.record_codes.select(
            "line",
            kind.replace_strict(KIND_NAMES, return_dtype=KIND_ENUM),
            (kind == 5).cum_sum().cast(pl.Int64).alias("batch_index"),
            (kind == 6).cum_sum().cast(pl.Int64).alias("entry_index"),
            "raw",
        )

    @cached_property
    def entries(self) -> pl.DataFrame:
        """The entry detail fields (sliced on first use: validation does not need them)."""
        return entries_from_records(self.entry_records, self.entry_layouts)

    # ------------------------------------------------------------------ convenience frames

    def _joined(self, addenda_type: str) -> pl.DataFrame:
        add = self.addenda.filter(pl.col("addenda_type_code") == addenda_type)
        entries = ensure_columns(self.entries, _ENTRY_FOR_JOINS)
        batches = ensure_columns(self.batches, _BATCH_FOR_JOINS)
        ent = entries.select(
            [c for c in _ENTRY_FOR_JOINS] + [pl.col("line").alias("entry_line")]
        ).rename({"trace_number": "entry_trace_number"})
        bat = batches.select(_BATCH_FOR_JOINS)
        return (
            add.rename({"trace_number": "addenda_trace_number"}, strict=False)
            .join(ent, on="entry_index", how="left", maintain_order="left")
            .join(bat, on="batch_index", how="left", maintain_order="left")
            .with_columns(
                pl.col("entry_trace_number").alias("trace_number"),
                pl.concat_str("rdfi_id", "check_digit").alias("rdfi_routing"),
            )
        )

    @cached_property
    def returns(self) -> pl.DataFrame:
        """One row per returned entry (addenda 99) with its entry and batch fields.

        Columns: line (of the 99 addenda), entry_line, batch_index, entry_index,
        trace_number (the return entry's own), original_trace_number (the forward entry —
        the reconciliation key), return_reason_code, return_kind (return / dishonored /
        contested), return_reason_description, rate_category, amount, transaction_code,
        company_id, company_name, sec_code, company_entry_description, effective_entry_date,
        effective_date, settlement_date, odfi_id, batch_number, date_of_death,
        original_rdfi_id, addenda_information, individual_name, identification_number,
        dfi_account_number, rdfi_id, check_digit, rdfi_routing, discretionary_data,
        return_trace_number, original_return_reason_code, original_forward_payment_amount.
        """
        j = ensure_columns(
            self._joined("99"),
            [
                "return_reason_code",
                "original_trace_number",
                "date_of_death",
                "original_rdfi_id",
                "addenda_information",
                "return_trace_number",
                "original_return_reason_code",
            ],
        )
        j = ensure_columns(j, ["original_forward_payment_amount"], pl.Int64())
        codes = pl.DataFrame(
            {
                "return_reason_code": list(RETURN_BY_CODE),
                "return_kind": [r.kind for r in RETURN_BY_CODE.values()],
                "return_reason_description": [r.description for r in RETURN_BY_CODE.values()],
                "rate_category": [r.rate_category for r in RETURN_BY_CODE.values()],
            }
        )
        j = j.join(codes, on="return_reason_code", how="left", maintain_order="left")
        return j.select(
            "line",
            "entry_line",
            "batch_index",
            "entry_index",
            "trace_number",
            "original_trace_number",
            "return_reason_code",
            pl.col("return_kind").fill_null("return"),
            "return_reason_description",
            "rate_category",
            "amount",
            "transaction_code",
            "company_id",
            "company_name",
            "sec_code",
            "company_entry_description",
            "effective_entry_date",
            "effective_date",
            "settlement_date",
            "odfi_id",
            "batch_number",
            "date_of_death",
            "original_rdfi_id",
            "addenda_information",
            "individual_name",
            "identification_number",
            "dfi_account_number",
            "rdfi_id",
            "check_digit",
            "rdfi_routing",
            "discretionary_data",
            "return_trace_number",
            "original_return_reason_code",
            "original_forward_payment_amount",
        )

    @cached_property
    def nocs(self) -> pl.DataFrame:
        """One row per Notification of Change (addenda 98) with entry and batch fields.

        Columns: line, entry_line, batch_index, entry_index, trace_number,
        original_trace_number, change_code, change_description, refused (C61-C69),
        corrected_data (raw 29 characters, right-trimmed) and its parsed parts
        corrected_dfi_account_number, corrected_routing_number, corrected_transaction_code,
        corrected_individual_name, corrected_identification_number, corrected_company_name,
        corrected_company_id (null where the change code has no such part),
        original_change_code, original_rdfi_id, amount, transaction_code, company_id,
        company_name, sec_code, company_entry_description, effective_entry_date,
        effective_date, settlement_date, odfi_id, batch_number, individual_name,
        identification_number, dfi_account_number, rdfi_id, check_digit, rdfi_routing,
        discretionary_data.
        """
        j = ensure_columns(
            self._joined("98"),
            [
                "change_code",
                "corrected_data",
                "original_trace_number",
                "original_rdfi_id",
                "original_change_code",
            ],
        )
        parts = [
            "dfi_account_number",
            "routing_number",
            "transaction_code",
            "individual_name",
            "identification_number",
            "company_name",
            "company_id",
        ]
        # NOCs are few: parsing each one's corrected data in Python is not on the bulk path
        parsed = [
            parse_corrected_data(c or "", d)
            for c, d in zip(j["change_code"].to_list(), j["corrected_data"].to_list(), strict=True)
        ]
        j = j.with_columns(
            [
                pl.Series(f"corrected_{p}", [x.get(p) for x in parsed], dtype=pl.String)
                for p in parts
            ]
        ).with_columns(
            pl.col("change_code")
            .replace_strict(
                {c: v.description for c, v in CHANGE_BY_CODE.items()},
                default=None,
                return_dtype=pl.String,
            )
            .alias("change_description"),
            pl.col("change_code")
            .is_in([c for c, v in CHANGE_BY_CODE.items() if v.refused])
            .alias("refused"),
        )
        return j.select(
            "line",
            "entry_line",
            "batch_index",
            "entry_index",
            "trace_number",
            "original_trace_number",
            "change_code",
            "change_description",
            "refused",
            "corrected_data",
            *[f"corrected_{p}" for p in parts],
            "original_change_code",
            "original_rdfi_id",
            "amount",
            "transaction_code",
            "company_id",
            "company_name",
            "sec_code",
            "company_entry_description",
            "effective_entry_date",
            "effective_date",
            "settlement_date",
            "odfi_id",
            "batch_number",
            "individual_name",
            "identification_number",
            "dfi_account_number",
            "rdfi_id",
            "check_digit",
            "rdfi_routing",
            "discretionary_data",
        )

    # ---------------------------------------------------------------------- object API

    def iter_batches(self) -> Iterator[Batch]:
        """Batches with their entries as dataclasses (for people and tests; not bulk)."""
        entries = ensure_columns(self.entries, _ENTRY_FOR_JOINS)
        addenda_by_entry: dict[int, list[dict[str, object]]] = {}
        for row in self.addenda.iter_rows(named=True):
            clean = {k: v for k, v in row.items() if v is not None}
            addenda_by_entry.setdefault(int(row["entry_index"]), []).append(clean)
        by_batch: dict[int, list[Entry]] = {}
        sec_by_batch = (
            dict(
                zip(
                    self.batches["batch_index"].to_list(),
                    self.batches["sec_code"].to_list(),
                    strict=True,
                )
            )
            if self.batches.height
            else {}
        )
        bn_by_batch = (
            dict(
                zip(
                    self.batches["batch_index"].to_list(),
                    self.batches["batch_number"].to_list(),
                    strict=True,
                )
            )
            if self.batches.height
            else {}
        )
        for row in entries.iter_rows(named=True):
            bi = int(row["batch_index"])
            by_batch.setdefault(bi, []).append(
                Entry(
                    line=row["line"],
                    batch_number=bn_by_batch.get(bi),
                    sec_code=sec_by_batch.get(bi),
                    transaction_code=row["transaction_code"],
                    rdfi_id=row["rdfi_id"],
                    check_digit=row["check_digit"],
                    dfi_account_number=row["dfi_account_number"],
                    amount=row["amount"],
                    individual_name=row["individual_name"],
                    identification_number=row["identification_number"],
                    trace_number=row["trace_number"],
                    addenda=tuple(addenda_by_entry.get(int(row["entry_index"]), ())),
                )
            )
        batches = ensure_columns(
            self.batches,
            ["company_name", "total_debit_entry_dollar_amount", "total_credit_entry_dollar_amount"],
        )
        for row in batches.iter_rows(named=True):
            bi = int(row["batch_index"])
            yield Batch(
                line=row["line"],
                batch_number=row["batch_number"],
                sec_code=row["sec_code"],
                service_class_code=row["service_class_code"],
                company_name=row["company_name"],
                company_id=row["company_id"],
                company_entry_description=row["company_entry_description"],
                effective_date=row["effective_date"],
                entries=tuple(by_batch.get(bi, ())),
                total_debit=row["total_debit_entry_dollar_amount"],
                total_credit=row["total_credit_entry_dollar_amount"],
            )

    def iter_entries(self) -> Iterator[Entry]:
        for batch in self.iter_batches():
            yield from batch.entries

    @property
    def entry_count(self) -> int:
        return self.entries.height
