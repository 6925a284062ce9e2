"""Each entry's Payment Related Information as one text, and its IAT foreign correspondent
banks as one row, from a read file's addenda rows.

Why: a text longer than one record is cut into 80-character records (CTX: up to 9,999
addenda 05; IAT: two addenda 17), and the reader gives each record's field on its own with
its trailing spaces dropped (like every fixed-width field). Whoever wants the text back —
an export, a round-trip test — must pad each record back to 80, join them in addenda
sequence order and drop the trailing spaces; this is that one place. Likewise an IAT
entry's up to five addenda 18 (one correspondent bank each) become numbered columns of one
row, the shape the builder takes them in (``correspondentBank1Name`` …).
"""

from __future__ import annotations

import polars as pl

__all__ = [
    "CORRESPONDENT_BANK_FIELDS",
    "PAYMENT_RELATED_TYPES",
    "correspondent_banks",
    "payment_related_texts",
]

#: Addenda types whose positions 04-83 hold Payment Related Information: 05 (domestic) and
#: 17 (IAT remittance). The text of one record.
PAYMENT_RELATED_TYPES = ("05", "17")
_RECORD_TEXT = 80
#: The fields of one addenda 18 (``nacha.layouts.ADDENDA_18``), after the common prefix.
CORRESPONDENT_BANK_FIELDS = ("name", "id_number_qualifier", "identification",
                             "branch_country_code")  # fmt: skip
_BANK = "foreign_correspondent_bank"


def payment_related_texts(
    addenda: pl.DataFrame, *, alias: str = "payment_related_information"
) -> pl.DataFrame:
    """``entry_index`` and ``alias``: one row per entry that has addenda of
    :data:`PAYMENT_RELATED_TYPES`, its records joined in ``addenda_sequence_number`` order
    (each padded back to 80 characters, a blank record included), trailing spaces
    dropped. The text is exact up to trailing spaces: a field cannot tell them apart
    from its padding. Entries in the order of their first such record."""
    schema = {"entry_index": pl.Int64, alias: pl.String}
    if "payment_related_information" not in addenda.columns or addenda.height == 0:
        return pl.DataFrame(schema=schema)
    return (
        addenda.filter(pl.col("addenda_type_code").is_in(PAYMENT_RELATED_TYPES))
        .sort("entry_index", "addenda_sequence_number", maintain_order=True)
        .group_by("entry_index", maintain_order=True)
        .agg(
            pl.col("payment_related_information")
            .fill_null("")
            .str.pad_end(_RECORD_TEXT)
            .str.join("")
            .str.strip_chars_end(" ")
            .alias(alias)
        )
        .cast(schema)  # type: ignore[arg-type]
    )


def correspondent_banks(addenda: pl.DataFrame) -> pl.DataFrame:
    """``entry_index`` and, for the k-th addenda 18 of the entry (in addenda sequence order,
    file order on ties), ``foreign_correspondent_bank_{k}_{field}`` for each of
    :data:`CORRESPONDENT_BANK_FIELDS`: one row per entry with addenda 18, as many numbered
    groups as the entry with the most (others null). Flat text columns, so that a CSV
    export holds them as well as Parquet or JSON."""
    names = [f"{_BANK}_{f}" for f in CORRESPONDENT_BANK_FIELDS]
    if addenda.height == 0 or not set(names) <= set(addenda.columns):
        return pl.DataFrame(schema={"entry_index": pl.Int64})
    banks = (
        addenda.filter(pl.col("addenda_type_code") == "18")
        .sort("entry_index", "addenda_sequence_number", maintain_order=True)
        .with_columns(_k=pl.int_range(1, pl.len() + 1).over("entry_index"))
    )
    wide = banks.select("entry_index").unique(maintain_order=True)
    for k in range(1, int(banks["_k"].max() or 0) + 1):
        one = banks.filter(pl.col("_k") == k).select(
            "entry_index",
            *[pl.col(f"{_BANK}_{f}").alias(f"{_BANK}_{k}_{f}") for f in CORRESPONDENT_BANK_FIELDS],
        )
        wide = wide.join(one, on="entry_index", how="left", maintain_order="left")
    return wide.with_columns(pl.col("entry_index").cast(pl.Int64))
