"""Joining an entry's Payment Related Information records back into one text."""

from __future__ import annotations

import polars as pl

from nacha.addenda_text import payment_related_texts


def _addenda(rows: list[tuple[int, str, str | None, int | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "entry_index": pl.Int64,
            "addenda_type_code": pl.String,
            "payment_related_information": pl.String,
            "addenda_sequence_number": pl.Int64,
        },
        orient="row",
    )


def test_records_join_in_sequence_order_padded_to_80() -> None:
    got = payment_related_texts(
        _addenda(
            [
                (1, "05", "C" * 10, 3),  # out of order: sequence numbers decide
                (1, "05", "A" * 79, 1),  # the reader dropped its trailing space
                (1, "05", None, 2),  # a blank record is 80 spaces, not nothing
                (2, "99", None, None),  # a return addenda: no payment related text
                (3, "17", "IAT TEXT", 1),  # IAT remittance addenda 17
                (3, "10", None, None),
                (4, "05", "ONE RECORD", 1),
            ]
        )
    )
    assert got.schema == pl.Schema(
        {"entry_index": pl.Int64, "payment_related_information": pl.String}
    )
    assert got.rows() == [
        (1, "A" * 79 + " " + " " * 80 + "C" * 10),
        (3, "IAT TEXT"),
        (4, "ONE RECORD"),
    ]


def test_no_payment_related_addenda() -> None:
    empty = payment_related_texts(pl.DataFrame({"entry_index": [1], "addenda_type_code": ["99"]}))
    assert empty.height == 0 and empty.columns == ["entry_index", "payment_related_information"]
    named = payment_related_texts(_addenda([(1, "05", "X", 1)]), alias="addenda")
    assert named.rows() == [(1, "X")]
