"""Each entry's Payment Related Information as one text, from a read file's addenda rows.

Why: a text longer than one record is cut into 80-character records (CTX: up to 9,999
addenda 05; IAT: two addenda 17), and the reader gives each record's field on its own with
its trailing spaces dropped (like every fixed-width field). Whoever wants the text back —
an export, a round-trip test — must pad each record back to 80, join them in addenda
sequence order and drop the trailing spaces; this is that one place.
"""

from __future__ import annotations

import polars as pl

__all__ = ["PAYMENT_RELATED_TYPES", "payment_related_texts"]

#: Addenda types whose positions 04-83 hold Payment Related Information: 05 (domestic) and
#: 17 (IAT remittance). The text of one record.
PAYMENT_RELATED_TYPES = ("05", "17")
_RECORD_TEXT = 80


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
