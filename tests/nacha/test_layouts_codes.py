"""Layout tables, field kinds, code tables and pure checks."""

from __future__ import annotations

import dataclasses
import types

import polars as pl
import pytest

import nacha
from nacha import codes, layouts
from nacha.checks import (
    entry_hash,
    is_valid_routing,
    routing_check_digit,
    routing_check_digit_expr,
    split_trace_number,
    trace_number,
)
from nacha.kinds import AN, N
from nacha.layouts import Field, Layout, LayoutError
from nacha.reader import read
from nacha.writer import format_records


def test_public_api_is_exactly_all() -> None:
    # submodules become attributes once anything imports them: they are not API names
    public = {
        name
        for name in dir(nacha)
        if not name.startswith("_") and not isinstance(getattr(nacha, name), types.ModuleType)
    }
    assert set(nacha.__all__) == public
    assert len(nacha.__all__) == len(set(nacha.__all__))


@pytest.mark.parametrize("layout", list(layouts.ALL_LAYOUTS.values()), ids=lambda x: x.key)
def test_every_layout_tiles_1_to_94(layout: Layout) -> None:
    position = 1
    for f in layout.fields:
        assert f.start == position
        position = f.end + 1
    assert position == 95


def test_layout_rejects_gaps_and_overlaps_at_definition() -> None:
    with pytest.raises(LayoutError, match="starts at position 3; should be 2"):
        Layout("bad", "entry", (Field(1, 1, "a", N), Field(3, 94, "b", AN)))
    with pytest.raises(LayoutError, match="end at 93"):
        Layout("bad", "entry", (Field(1, 93, "a", AN),))


def test_spec_skeleton_entry_round_trips_through_the_table() -> None:
    line = (
        "622021000021000123456789     0000125000EMP0001        JANE Q PUBLIC           "
        "1123456780000001"
    )
    frame = pl.DataFrame({"raw": [line]}).with_columns(
        [
            f.kind.parse(pl.col("raw").str.slice(f.offset, f.width)).alias(f.name)
            for f in layouts.ENTRY_STANDARD.columns
        ]
    )
    row = frame.row(0, named=True)
    assert row["rdfi_id"] == "02100002" and row["check_digit"] == "1"
    assert row["amount"] == 125000 and row["trace_number"] == "123456780000001"
    assert row["dfi_account_number"] == "000123456789"
    assert format_records(frame, layouts.ENTRY_STANDARD).to_list() == [line]


def test_routing_check_digit() -> None:
    assert routing_check_digit("02100002") == "1"
    assert is_valid_routing("021000021") and is_valid_routing("123456780")
    assert not is_valid_routing("123456789") and not is_valid_routing("12345678")
    assert not is_valid_routing("０２１００００２１")  # full-width digits are not ASCII
    with pytest.raises(ValueError):
        routing_check_digit("1234567")
    got = pl.select(routing_check_digit_expr(pl.lit(pl.Series(["02100002", "12345678"]))))
    assert got.to_series().to_list() == ["1", "0"]


def test_entry_hash_keeps_ten_low_digits() -> None:
    assert entry_hash(["02100002", "05320776"]) == 7420778
    assert entry_hash(["99999999"] * 200) == (99999999 * 200) % 10**10


def test_trace_numbers() -> None:
    assert trace_number("12345678", 42) == "123456780000042"
    assert split_trace_number("123456780000042") == ("12345678", 42)
    with pytest.raises(ValueError):
        trace_number("12345678", 10**7)


def test_return_codes_rate_categories_follow_the_spec() -> None:
    unauthorized = {c.code for c in codes.RETURN_REASON_CODES if c.rate_category == "unauthorized"}
    assert unauthorized == {"R05", "R07", "R10", "R11", "R29", "R51"}
    admin = {c.code for c in codes.RETURN_REASON_CODES if c.rate_category == "administrative"}
    assert admin == {"R02", "R03", "R04"}
    assert {"R61", "R62", "R67", "R68", "R69", "R70"} == codes.DISHONORED_RETURN_CODES
    assert {f"R{n}" for n in range(71, 78)} == codes.CONTESTED_RETURN_CODES
    assert {f"R{n:02d}" for n in range(1, 48)} <= set(codes.RETURN_BY_CODE)
    frame = codes.return_reason_codes_frame()
    assert frame.filter(pl.col("code") == "R07")["window_days"].item() == 60


def test_change_codes_and_corrected_data() -> None:
    assert {f"C{n:02d}" for n in range(1, 15)} | {f"C{n}" for n in range(61, 70)} == set(
        codes.CHANGE_BY_CODE
    )
    assert codes.parse_corrected_data("C07", "123456780" + "987654321".ljust(17) + "22") == {
        "routing_number": "123456780",
        "dfi_account_number": "987654321",
        "transaction_code": "22",
    }
    assert codes.parse_corrected_data("C06", "12345 32") == {
        "dfi_account_number": "12345",
        "transaction_code": "32",
    }  # loose spacing tolerated
    assert codes.parse_corrected_data("C07", "123456780 987654321 22") == {
        "routing_number": "123456780",
        "dfi_account_number": "987654321",
        "transaction_code": "22",
    }
    assert codes.parse_corrected_data("C13", "anything") == {}


def test_transaction_codes() -> None:
    assert codes.TRANSACTION_BY_CODE["27"].direction == "debit"
    assert codes.TRANSACTION_BY_CODE["23"].is_prenote
    assert codes.TRANSACTION_BY_CODE["24"].zero_amount_required
    assert "57" not in codes.TRANSACTION_BY_CODE and "55" in codes.TRANSACTION_BY_CODE
    assert codes.RETURN_TRANSACTION_CODE["37"] == "36"
    assert codes.transaction_codes_frame().height == len(codes.TRANSACTION_CODES)


def test_sec_table_drives_entry_layouts() -> None:
    for sec in codes.SEC_CODES:
        assert sec.entry_layout in layouts.ENTRY_LAYOUTS
    assert codes.sec_codes_frame().filter(pl.col("code") == "TEL")["debits"].item()


def test_rules_table_covers_every_emitted_code(samples) -> None:
    for layout in layouts.ALL_LAYOUTS.values():
        assert layout.pattern.startswith("^")
    assert all(dataclasses.is_dataclass(r) for r in nacha.RULES.values())
    f = read(samples / "ppd-debit.ach")
    assert nacha.validate(f).height == 0


def test_field_docs_generated_from_tables() -> None:
    docs = layouts.field_docs()
    assert "| 30-39 | 10 | amount | integer | M |" in docs
