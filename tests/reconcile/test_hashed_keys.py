"""First-occurrence tests on hashed keys stay exact when hashes collide.

``match.first_distinct`` tests a key's ``UInt64`` hash first and the text only where a
hash repeats. These tests swap ``match.key_hash`` for hashes that collide on purpose (every
key, or keys of the same length) and check that no row becomes a duplicate of a different
key: the answers must be those of ``is_first_distinct`` and of the real hash.
"""

from __future__ import annotations

from collections.abc import Callable
from unittest import mock

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from reconcile import match, reconcile_day
from tests.reconcile.builders import D, api, entries, ledger, returns

#: Hashes that collide on purpose: all non-null keys alike, or keys of the same length.
COLLIDING: dict[str, Callable[[pl.Expr], pl.Expr]] = {
    "all_alike": lambda key: key.is_null().cast(pl.UInt64),
    "by_length": lambda key: key.str.len_bytes().cast(pl.UInt64),
}
T1, T2, T3 = (f"0910000100000{i:02d}" for i in (1, 2, 3))


@settings(max_examples=60, deadline=None)
@given(
    keys=st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "ab", "ba", "abc"]))),
    hasher=st.sampled_from([None, *COLLIDING]),
)
def test_first_distinct_is_exactly_is_first_distinct(keys, hasher):
    df = pl.DataFrame({"k": keys}, schema={"k": pl.String})
    want = df.select(pl.col("k").is_first_distinct())
    with mock.patch.object(match, "key_hash", COLLIDING.get(hasher, match.key_hash)):
        got = df.lazy().select(match.first_distinct("k")).collect()
    assert_frame_equal(got, want)


def test_colliding_hashes_make_no_duplicates_of_different_keys():
    df = pl.DataFrame({"k": ["R1", "R2", "R1", None, "R3", None, "R2"]})
    with mock.patch.object(match, "key_hash", COLLIDING["all_alike"]):
        got = df.select(match.first_of(["k"])).to_series().to_list()
    assert got == [True, True, False, True, True, True, False]


def _day() -> dict[str, pl.DataFrame]:
    rec = reconcile_day(
        ledger=ledger(
            {"reference": "R1", "amount_cents": 100},
            {"reference": "R2", "amount_cents": 200},  # same length as R1: collides by_length
            {"reference": "R1", "amount_cents": 100},  # a real duplicate
        ),
        entries=entries(
            {"trace_number": T1, "reference": "R1", "amount_cents": 100},
            {"trace_number": T2, "reference": "R2", "amount_cents": 200},
            {"trace_number": T2, "reference": "R9", "amount_cents": 900},  # trace repeats
        ),
        api=api(
            {"cfi_transaction_id": "C1", "trace_number": T1, "amount_cents": 100},
            {
                "cfi_transaction_id": "C2",
                "reference": "R2",
                "amount_cents": 200,
                "status": "Returned",
            },
            {"cfi_transaction_id": "C1", "reference": "R7", "amount_cents": 700},  # cfi repeats
        ),
        returns=returns({"original_trace_number": T2, "return_code": "R01"}),
        as_of=D(2026, 3, 12),
    )
    return rec.collect()


@pytest.mark.parametrize("hasher", sorted(COLLIDING))
def test_reconciliation_is_the_same_when_every_key_hash_collides(hasher):
    want = _day()
    with mock.patch.object(match, "key_hash", COLLIDING[hasher]):
        got = _day()
    for name, frame in want.items():
        assert_frame_equal(got[name], frame, check_row_order=name != "items")
    classes = dict(
        ((s, r), c) for s, r, c in got["items"].select("source", "row", "class").iter_rows()
    )
    assert classes[("ledger", 0)] == classes[("entry", 0)] == classes[("api", 0)] == "matched"
    assert classes[("ledger", 1)] == classes[("entry", 1)] == classes[("api", 1)] == "returned"
    assert classes[("ledger", 2)] == classes[("entry", 2)] == classes[("api", 2)] == "duplicate"
