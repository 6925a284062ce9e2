"""HTML tables show at most ``max_rows`` rows, masked, and say how many the frame holds."""

from __future__ import annotations

import polars as pl

from reconcile.html import table


def test_long_table_shows_the_first_rows_masked_and_counts_all() -> None:
    df = pl.DataFrame({"reference": [f"R{i}" for i in range(250)], "account_last4": ["9012"] * 250})
    out = table(df, table_id="breaks", max_rows=200)
    assert 'data-rows="250"' in out
    assert out.count("<tr>") == 201  # the header row and 200 rows
    assert "<td>R199</td>" in out and "<td>R200</td>" not in out
    assert out.count("****9012") == 200 and "<td>9012</td>" not in out
    assert "Showing 200 of 250 rows" in out


def test_short_and_empty_tables_have_no_note() -> None:
    short = table(pl.DataFrame({"reference": ["A", "B"]}), table_id="t", max_rows=200)
    assert 'data-rows="2"' in short and "Showing" not in short
    empty = table(pl.DataFrame({"reference": []}, schema={"reference": pl.String}), table_id="e")
    assert 'data-rows="0"' in empty and ">none</td>" in empty and "Showing" not in empty
