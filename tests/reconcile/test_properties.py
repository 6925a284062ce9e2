"""Properties: every input row lands in exactly one class, and totals tie out."""

from __future__ import annotations

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconcile import CLASSES, reconcile_day
from tests.reconcile.builders import D, api, entries, ledger, nocs, returns

REFS = ["A", "B", "C", "D", "E", None]
TRACES = [f"09100001000000{i}" for i in range(6)]
IDS = ["C_1", "C_2", "C_3", None]
AMOUNTS = [100, 250, 100_000]
DAYS = [D(2026, 3, 9), D(2026, 3, 10), D(2026, 5, 1)]

ledger_rows = st.lists(
    st.fixed_dictionaries(
        {
            "reference": st.sampled_from(REFS),
            "cfi_transaction_id": st.sampled_from(IDS),
            "amount_cents": st.sampled_from(AMOUNTS),
            "direction": st.sampled_from(["debit", "credit"]),
            "effective_date": st.sampled_from(DAYS),
        }
    ),
    max_size=6,
)
entry_rows = st.lists(
    st.fixed_dictionaries(
        {
            "trace_number": st.sampled_from(TRACES),
            "reference": st.sampled_from(REFS),
            "amount_cents": st.sampled_from(AMOUNTS),
            "transaction_code": st.sampled_from([22, 27, 37]),
            "is_offset": st.sampled_from([False, False, True]),
            "batch_number": st.sampled_from([1, 2]),
            "effective_date": st.sampled_from(DAYS),
        }
    ),
    max_size=7,
)
api_rows = st.lists(
    st.fixed_dictionaries(
        {
            "cfi_transaction_id": st.sampled_from(IDS),
            "reference": st.sampled_from(REFS),
            "trace_number": st.sampled_from([*TRACES, None]),
            "amount_cents": st.sampled_from(AMOUNTS),
            "status": st.sampled_from(["Sent", "Settled", "Returned", "Declined", "Initiated"]),
        }
    ),
    max_size=6,
)
return_rows = st.lists(
    st.fixed_dictionaries(
        {
            "original_trace_number": st.sampled_from([*TRACES, "999999990000000"]),
            "return_code": st.sampled_from(["R01", "R02", "R10", "R68", "R73"]),
        }
    ),
    max_size=4,
)
noc_rows = st.lists(
    st.fixed_dictionaries(
        {
            "original_trace_number": st.sampled_from([*TRACES, "999999990000000"]),
            "change_code": st.sampled_from(["C01", "C05"]),
        }
    ),
    max_size=3,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ledger_rows, entry_rows, api_rows, return_rows, noc_rows)
def test_every_row_in_exactly_one_class_and_totals_tie(l_rows, e_rows, a_rows, r_rows, n_rows):
    inputs = {
        "ledger": ledger(*l_rows),
        "entry": entries(*e_rows),
        "api": api(*a_rows),
        "return": returns(*r_rows),
        "noc": nocs(*n_rows),
    }
    rec = reconcile_day(
        ledger=inputs["ledger"],
        entries=inputs["entry"],
        api=inputs["api"],
        returns=inputs["return"],
        nocs=inputs["noc"],
        as_of=D(2026, 3, 12),
    )
    items, tie = pl.collect_all([rec.items, rec.tie_out])

    # Exactly one item per input row, and nothing else.
    for source, lf in inputs.items():
        got = items.filter(pl.col("source") == source)["row"].sort().to_list()
        assert got == list(range(lf.collect().height)), source
    assert set(items["class"]) <= set(CLASSES)

    # Per source, the amounts of its items add up to the input's total.
    for source in ("ledger", "entry", "api"):
        want = inputs[source].select(pl.col("amount_cents").sum()).collect().item()
        got = items.filter(pl.col("source") == source)["amount_cents"].sum()
        assert got == want, source

    # A chain that reached the API agrees on money: ledger = file = API, row for row.
    agreed = ["matched", "returned", "status_break"]
    chained = items.filter(
        pl.col("class").is_in(agreed)
        & (pl.col("match_rule").fill_null("") != "offset")
        & pl.col("source").is_in(["ledger", "entry"])
        & pl.col("trace_number").is_not_null()
    )
    by_source = dict(chained.group_by("source").agg(pl.col("amount_cents").sum()).iter_rows())
    assert by_source.get("ledger", 0) == by_source.get("entry", 0)

    # The tie-out's intended and API columns are the ledger's and API's non-duplicate totals.
    for stage, source in (("intended", "ledger"), ("api", "api")):
        want = items.filter((pl.col("source") == source) & (pl.col("class") != "duplicate"))[
            "amount_cents"
        ].sum()
        assert tie[f"{stage}_cents"].sum() == want
