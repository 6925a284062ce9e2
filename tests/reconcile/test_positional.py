"""Building item rows by position (gathers and scatters by row number) against hand-built cases.

Chains pair rows whose numbers differ on every side (ledger 0 ↔ entry 2 ↔ API 0), so a
gather taking the wrong position, a scatter off by one, or a leftover row lost or counted
twice shows up as a wrong field on a named row.
"""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from reconcile import reconcile_day
from reconcile._align import gather, not_in, scatter_sorted
from reconcile.match import DateWindow, pair, pair_aligned
from tests.reconcile.builders import D, api, entries, ledger, nocs, returns

T1, T2, T3, T5, T7 = (f"0910000100000{i:02d}" for i in (1, 2, 3, 5, 7))
COLUMNS = [
    "source",
    "row",
    "class",
    "match_rule",
    "reference",
    "trace_number",
    "amount_cents",
    "api_status",
    "return_code",
]


def test_items_built_by_position_carry_their_own_rows_fields():
    led = ledger(
        {"reference": "R3", "amount_cents": 300},  # ↔ entry 2 ↔ API 0 (API by trace)
        {"reference": "R9", "amount_cents": 900},  # nowhere
        {"reference": "R1", "amount_cents": 100},  # ↔ entry 0 ↔ API 2 (by reference), returned
        {"reference": "R1", "amount_cents": 100},  # duplicate of ledger 2
        {"reference": "R2", "amount_cents": 200},  # ↔ entry 3, whose amount differs
    )
    ent = entries(
        {"trace_number": T1, "reference": "R1", "amount_cents": 100},
        {"trace_number": T5, "reference": "R5", "amount_cents": 500},  # not in the ledger
        {"trace_number": T3, "reference": "R3", "amount_cents": 300},
        {"trace_number": T2, "reference": "R2", "amount_cents": 250},
        {"trace_number": T1, "reference": "R7", "amount_cents": 700},  # trace of entry 0
    )
    ap = api(
        {"cfi_transaction_id": "C3", "trace_number": T3, "amount_cents": 300},
        {"cfi_transaction_id": "C5", "reference": "R5", "amount_cents": 500},
        {"cfi_transaction_id": "C1", "reference": "R1", "amount_cents": 100, "status": "Returned"},
        {"cfi_transaction_id": "C8", "reference": "R8", "amount_cents": 800},
        {"cfi_transaction_id": "C3", "reference": "R4", "amount_cents": 400},  # repeats API 0
    )
    ret = returns(
        {"original_trace_number": T1, "return_code": "R01"},
        {"original_trace_number": "999999990000001", "return_code": "R03"},
        {"original_trace_number": T1, "return_code": "R01"},  # second return for entry 0
    )
    rec = reconcile_day(ledger=led, entries=ent, api=ap, returns=ret, as_of=D(2026, 3, 12))
    got = rec.items.collect().sort("source", "row").select(COLUMNS)
    m, s = "matched", "Settled"
    want = pl.DataFrame(
        [
            ("api", 0, m, None, None, T3, 300, s, None),
            ("api", 1, "unexpected_in_file", None, "R5", None, 500, s, None),
            ("api", 2, "returned", None, "R1", T1, 100, "Returned", "R01"),
            ("api", 3, "missing_in_file", None, "R8", None, 800, s, None),
            ("api", 4, "duplicate", None, "R4", None, 400, s, None),
            ("entry", 0, "returned", "reference", "R1", T1, 100, "Returned", "R01"),
            ("entry", 1, "unexpected_in_file", "reference", "R5", T5, 500, None, None),
            ("entry", 2, m, "reference", "R3", T3, 300, s, None),
            ("entry", 3, "amount_break", "reference", "R2", T2, 250, None, None),
            ("entry", 4, "duplicate", None, "R7", T1, 700, None, None),
            ("ledger", 0, m, "reference", "R3", T3, 300, s, None),
            ("ledger", 1, "missing_in_file", None, "R9", None, 900, None, None),
            ("ledger", 2, "returned", "reference", "R1", T1, 100, "Returned", "R01"),
            ("ledger", 3, "duplicate", None, "R1", None, 100, None, None),
            ("ledger", 4, "amount_break", "reference", "R2", T2, 200, None, None),
            ("return", 0, "returned", "trace_number", "R1", T1, 100, None, "R01"),
            ("return", 1, "unmatched_return", None, None, "999999990000001", None, None, "R03"),
            ("return", 2, "duplicate", None, None, T1, None, None, "R01"),
        ],
        schema=got.schema,
        orient="row",
    )
    assert_frame_equal(got, want)


def test_collect_in_two_steps_gives_the_lazy_sections():
    """``Reconciliation.collect`` (items first, then the sections over the collected items)
    returns what collecting the lazy sections together returns, section by section."""
    rec = reconcile_day(
        ledger=ledger({"reference": "R1"}, {"reference": "R2"}, {"reference": "R1"}),
        entries=entries(
            {"trace_number": T1, "reference": "R1", "file_id": "F1"},
            {"trace_number": T2, "reference": "R9", "file_id": "F2"},
        ),
        api=api({"cfi_transaction_id": "C1", "reference": "R1"}),
        returns=returns({"original_trace_number": T2, "return_code": "R01"}),
        nocs=nocs({"original_trace_number": T1, "change_code": "C01", "corrected_data": "1"}),
        acks=pl.LazyFrame({"file_id": ["F1", "F2"], "status": ["ACCEPTED", "REJECTED"]}),
        as_of=D(2026, 3, 12),
    )
    lazy = rec.sections()
    want = dict(zip(lazy, pl.collect_all(list(lazy.values())), strict=True))
    got = rec.collect()
    assert list(got) == list(want)
    for name, frame in want.items():
        assert_frame_equal(got[name], frame, check_row_order=name != "items")
    assert got["items"]["class"].is_in(["duplicate"]).any()
    assert got["tie_out"].height and got["files"].height and got["nocs"].height


def test_gather_scatter_and_not_in_by_position():
    target = pl.LazyFrame({"pos": [0, 1, 2, 3], "idx": [2, None, 0, 2]})
    source = pl.LazyFrame({"v": ["a", "b", "c"]})
    assert gather(target, source, "idx", {"w": "v"}).collect()["w"].to_list() == [
        "c",
        None,
        "a",
        "c",
    ]
    pairs = pl.LazyFrame({"at": [1, 3], "val": [10, 30]})
    got = scatter_sorted(target, "pos", pairs, "at", {"x": "val"}).collect()
    assert got["x"].to_list() == [None, 10, None, 30]
    assert got["idx"].to_list() == [2, None, 0, 2]
    longer = pl.LazyFrame({"id": [9, 8, 7, 6, 5, 4]})
    assert not_in(target, "pos", longer, "id").collect()["pos"].to_list() == [0, 1, 2, 3]
    assert not_in(longer, "id", target, "idx").collect()["id"].to_list() == [9, 8, 7, 6, 5, 4]
    assert not_in(target, "pos", target, "idx").collect()["pos"].to_list() == [1, 3]


KEYS = st.sampled_from(["k1", "k2", "k3", None])
DATES = st.sampled_from([D(2026, 3, 1), D(2026, 3, 10), D(2026, 4, 30), None])
ROW = st.fixed_dictionaries({"a": KEYS, "b": KEYS, "d": DATES})


@settings(max_examples=200, deadline=None)
@given(st.lists(ROW, max_size=8), st.lists(ROW, max_size=8), st.booleans())
def test_pair_aligned_finds_the_pairs_of_pair(left_rows, right_rows, unique_right_a):
    """The aligned cascade agrees with the pairs-frame cascade, dirty keys included."""
    schema = {"a": pl.String, "b": pl.String, "d": pl.Date}
    left = pl.LazyFrame(left_rows, schema=schema).with_row_index("l").cast({"l": pl.Int64})
    right = pl.LazyFrame(right_rows, schema=schema).with_row_index("r").cast({"r": pl.Int64})
    if unique_right_a:  # what callers promise with right_unique: the key never repeats
        right = right.with_columns(
            a=pl.when(pl.col("a").is_first_distinct()).then(pl.col("a"))
        ).cache()
    opts = {
        "keys": ["a", ("b", "a"), "b"],
        "window": DateWindow("d", "d", -5, 10),
        "right_unique": {"a"} if unique_right_a else set(),
    }
    want = pair(
        left,
        right.rename({"d": "rd"}),
        left_id="l",
        right_id="r",
        **{**opts, "window": DateWindow("d", "rd", -5, 10)},
    ).collect()
    got = pair_aligned(left.cache(), right, right_id="r", rule="match_rule", **opts).collect()
    assert got.height == len(left_rows)
    got = got.filter(pl.col("r").is_not_null()).select("l", "r", "match_rule")
    assert_frame_equal(got, want, check_row_order=False)


@pytest.mark.parametrize("empty", ["left", "right"])
def test_pair_aligned_on_empty_sides(empty):
    right = pl.LazyFrame({"r": [0, 1], "a": ["x", "y"]})
    left = right.rename({"r": "l"})
    if empty == "left":
        left = left.clear()
    else:
        right = right.clear()
    got = pair_aligned(left, right, right_id="r", keys=["a"]).collect()
    assert got.columns == ["l", "a", "r"]
    assert got.height == (0 if empty == "left" else 2)
    assert got["r"].null_count() == got.height
