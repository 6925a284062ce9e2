"""Every class on small hand-built inputs (issue 7: unit tests for every class)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from reconcile import CLASSES, reconcile_day
from reconcile.schemas import NOCS_SCHEMA, RETURNS_SCHEMA
from tests.reconcile.builders import D, api, entries, ledger, nocs, returns

AS_OF = D(2026, 3, 12)
T1, T2, T3, T4 = (f"0910000100000{i:02d}" for i in (1, 2, 3, 4))


def run(led, ent, ap, ret=None, noc=None, as_of: dt.date = AS_OF) -> pl.DataFrame:
    rec = reconcile_day(
        ledger=led,
        entries=ent,
        api=ap,
        returns=ret if ret is not None else pl.LazyFrame(schema=RETURNS_SCHEMA),
        nocs=noc if noc is not None else pl.LazyFrame(schema=NOCS_SCHEMA),
        as_of=as_of,
    )
    return rec.items.collect().sort("source", "row")


def cls(items: pl.DataFrame, source: str, row: int = 0) -> str:
    hit = items.filter((pl.col("source") == source) & (pl.col("row") == row))
    assert hit.height == 1, f"{source}[{row}] must be exactly one item"
    return hit["class"][0]


def one_transfer(**over):
    led = ledger({"reference": "REF1", "amount_cents": 1000, **over.get("l", {})})
    ent = entries(
        {"trace_number": T1, "reference": "REF1", "amount_cents": 1000, **over.get("e", {})}
    )
    ap = api(
        {
            "cfi_transaction_id": "C_1",
            "reference": "REF1",
            "amount_cents": 1000,
            **over.get("a", {}),
        }
    )
    return led, ent, ap


def test_matched_chain_all_three_rows():
    items = run(*one_transfer())
    assert [cls(items, s) for s in ("ledger", "entry", "api")] == ["matched"] * 3
    assert items.filter(pl.col("source") == "entry")["match_rule"][0] == "reference"


def test_trace_number_wins_over_reference():
    led = ledger({"reference": "REF1", "trace_number": T2, "amount_cents": 1000})
    ent = entries(
        {"trace_number": T1, "reference": "REF1", "amount_cents": 1000},
        {"trace_number": T2, "reference": "OTHER", "amount_cents": 1000},
    )
    items = run(led, ent, api({"reference": "REF1", "amount_cents": 1000}))
    assert cls(items, "entry", 1) == "matched"
    assert (
        items.filter((pl.col("source") == "entry") & (pl.col("row") == 1))["match_rule"][0]
        == "trace_number"
    )
    assert cls(items, "entry", 0) == "unexpected_in_file"


def test_processor_id_is_the_last_key():
    led = ledger({"reference": "REF1", "cfi_transaction_id": "C_9", "amount_cents": 1000})
    ent = entries({"trace_number": T1, "reference": "REF1", "amount_cents": 1000})
    ap = api({"cfi_transaction_id": "C_9", "reference": "DIFFERENT", "amount_cents": 1000})
    items = run(led, ent, ap)
    assert cls(items, "api") == "matched"


def test_missing_in_file():
    led, _, ap = one_transfer()
    items = run(led, entries(), ap)
    assert cls(items, "ledger") == "missing_in_file"
    assert cls(items, "api") == "missing_in_file"


def test_declined_transfer_not_in_a_file_is_not_a_break():
    led, _, ap = one_transfer(a={"status": "Declined"})
    items = run(led, entries(), ap)
    assert cls(items, "ledger") == "matched"
    assert "declined" in items["detail"][0]


def test_missing_in_api():
    led, ent, _ = one_transfer()
    items = run(led, ent, api())
    assert cls(items, "ledger") == cls(items, "entry") == "missing_in_api"


def test_unexpected_in_file_and_api_only_rows():
    led = ledger()
    ent = entries({"trace_number": T1, "reference": "GHOST", "amount_cents": 5})
    ap = api(
        {"cfi_transaction_id": "C_1", "reference": "GHOST", "amount_cents": 5},
        {"cfi_transaction_id": "C_2", "reference": "LONELY", "amount_cents": 7},
    )
    items = run(led, ent, ap)
    assert cls(items, "entry") == "unexpected_in_file"
    assert cls(items, "api", 0) == "unexpected_in_file"
    assert cls(items, "api", 1) == "missing_in_file"


@pytest.mark.parametrize(
    ("over", "needle"),
    [
        ({"e": {"amount_cents": 1001}}, "ledger debit 10.00 vs file debit 10.01"),
        ({"e": {"transaction_code": 22}}, "vs file credit"),
        ({"a": {"amount_cents": 999}}, "file debit 10.00 vs API debit 9.99"),
    ],
)
def test_amount_break_tolerance_zero(over, needle):
    items = run(*one_transfer(**over))
    assert cls(items, "ledger") == "amount_break"
    assert needle in items.filter(pl.col("source") == "ledger")["detail"][0]


@pytest.mark.parametrize("status", ["Returned", "Declined", "Initiated", "Bogus"])
def test_status_break(status):
    items = run(*one_transfer(a={"status": status}))
    assert cls(items, "api") == "status_break"


def test_initiated_is_fine_for_an_entry_not_yet_effective():
    items = run(*one_transfer(e={"effective_date": AS_OF}, a={"status": "Initiated"}))
    assert cls(items, "api") == "matched"


def test_returned_with_code_and_category():
    led, ent, ap = one_transfer(a={"status": "Returned"})
    ret = returns({"original_trace_number": T1, "return_code": "R10", "trace_number": "X1"})
    items = run(led, ent, ap, ret)
    assert cls(items, "ledger") == cls(items, "return") == "returned"
    row = items.filter(pl.col("source") == "return").row(0, named=True)
    assert (row["return_code"], row["return_category"], row["reference"]) == (
        "R10",
        "unauthorized",
        "REF1",
    )


def test_return_but_api_still_settled_is_a_status_break():
    led, ent, ap = one_transfer()
    items = run(led, ent, ap, returns({"original_trace_number": T1, "return_code": "R01"}))
    assert cls(items, "ledger") == "status_break"
    assert cls(items, "return") == "returned"


def test_dishonored_return_no_longer_returns_the_entry():
    led, ent, ap = one_transfer()
    ret = returns(
        {"original_trace_number": T1, "return_code": "R01"},
        {"original_trace_number": T1, "return_code": "R68", "return_date": D(2026, 3, 13)},
    )
    items = run(led, ent, ap, ret)
    assert cls(items, "ledger") == "matched"
    assert items.filter(pl.col("source") == "return")["return_category"].to_list() == [
        "other",
        "dishonor",
    ]


def test_noc_with_code_and_corrected_data():
    led, ent, ap = one_transfer()
    noc = nocs({"original_trace_number": T1, "change_code": "C01", "corrected_data": "99887766"})
    items = run(led, ent, ap, noc=noc)
    row = items.filter(pl.col("source") == "noc").row(0, named=True)
    assert (row["class"], row["change_code"], row["corrected_data"]) == ("noc", "C01", "99887766")
    assert cls(items, "ledger") == "matched"


def test_unmatched_return_and_noc():
    led, ent, ap = one_transfer()
    items = run(
        led,
        ent,
        ap,
        returns({"original_trace_number": "999999990000001", "return_code": "R02"}),
        nocs({"original_trace_number": "999999990000001", "change_code": "C02"}),
    )
    assert cls(items, "return") == "unmatched_return"
    assert cls(items, "noc") == "unmatched_noc"


def test_return_outside_its_date_window_is_unmatched():
    led, ent, ap = one_transfer()
    late = returns(
        {"original_trace_number": T1, "return_code": "R10", "return_date": D(2026, 9, 1)}
    )
    assert cls(run(led, ent, ap, late), "return") == "unmatched_return"


def test_entry_outside_the_ledger_date_window_does_not_match():
    items = run(*one_transfer(e={"effective_date": D(2026, 4, 30)}))
    assert cls(items, "ledger") == "missing_in_file"
    assert cls(items, "entry") == "unexpected_in_file"


def test_duplicates_in_every_source():
    led = ledger(
        {"reference": "REF1", "amount_cents": 1000}, {"reference": "REF1", "amount_cents": 1000}
    )
    ent = entries(
        {"trace_number": T1, "reference": "REF1", "amount_cents": 1000},
        {"trace_number": T1, "reference": "REF1", "amount_cents": 1000},
        {"trace_number": T2, "reference": "REF1", "amount_cents": 1000},
    )
    ap = api(
        {"cfi_transaction_id": "C_1", "reference": "REF1", "amount_cents": 1000},
        {"cfi_transaction_id": "C_1", "reference": "REF1", "amount_cents": 1000},
    )
    ret = returns(
        {"original_trace_number": T1, "return_code": "R01"},
        {"original_trace_number": T1, "return_code": "R01"},
    )
    noc = nocs(
        {"original_trace_number": T1, "change_code": "C01"},
        {"original_trace_number": T1, "change_code": "C01"},
    )
    items = run(led, ent, ap.with_columns(pl.lit("Returned").alias("status")), ret, noc)
    for source in ("ledger", "api", "return", "noc"):
        assert cls(items, source, 1) == "duplicate", source
    assert cls(items, "entry", 1) == "duplicate"
    assert cls(items, "entry", 2) == "duplicate"
    assert (
        "sent twice"
        in items.filter((pl.col("source") == "entry") & (pl.col("row") == 2))["detail"][0]
    )
    assert cls(items, "ledger", 0) == "returned"


def test_offset_entry_matches_its_batch_one_to_many():
    led = ledger({"reference": "A", "amount_cents": 1000}, {"reference": "B", "amount_cents": 2500})
    ent = entries(
        {"trace_number": T1, "reference": "A", "amount_cents": 1000},
        {"trace_number": T2, "reference": "B", "amount_cents": 2500},
        {"trace_number": T3, "amount_cents": 3500, "transaction_code": 22, "is_offset": True},
        {
            "trace_number": T4,
            "amount_cents": 100,
            "transaction_code": 22,
            "is_offset": True,
            "batch_number": 2,
        },
    )
    ap = api({"reference": "A", "amount_cents": 1000}, {"reference": "B", "amount_cents": 2500})
    items = run(led, ent, ap)
    offset = items.filter((pl.col("source") == "entry") & (pl.col("row") == 2)).row(0, named=True)
    assert (offset["class"], offset["match_rule"]) == ("matched", "offset")
    assert "2 entries of batch 1" in offset["detail"]
    assert cls(items, "entry", 3) == "amount_break"  # an offset with nothing to balance


def test_unbalanced_offset_is_an_amount_break():
    led, ent, ap = one_transfer()
    ent = pl.concat(
        [
            ent,
            entries(
                {"trace_number": T2, "amount_cents": 999, "transaction_code": 22, "is_offset": True}
            ),
        ]
    )
    assert cls(run(led, ent, ap), "entry", 1) == "amount_break"


def test_every_class_is_reachable_and_named():
    assert len(set(CLASSES)) == 11


def test_noc_section_status_applied_pending_overdue():
    led, ent, ap = one_transfer()
    noc = nocs(
        {"original_trace_number": T1, "change_code": "C01", "received_date": D(2026, 3, 2)},
        {"original_trace_number": T1, "change_code": "C05", "received_date": D(2026, 3, 11)},
        {
            "original_trace_number": T1,
            "change_code": "C04",
            "received_date": D(2026, 3, 2),
            "applied": True,
        },
    )
    rec = reconcile_day(ledger=led, entries=ent, api=ap, nocs=noc, as_of=AS_OF)
    section = rec.nocs.collect().sort("change_code")
    assert section["status"].to_list() == ["overdue", "applied", "pending"]
    assert section["apply_by"].to_list() == [D(2026, 3, 10), D(2026, 3, 10), D(2026, 3, 19)]
