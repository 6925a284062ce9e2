"""Exposure windows, deadlines from the banking calendar, API comparison, public API."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

import reconcile
from reconcile import compare_rates, exposure
from reconcile.calendar import (
    CALENDAR_END,
    CALENDAR_START,
    add_banking_days,
    add_banking_days_scalar,
    is_banking_day,
)
from reconcile.exposure import with_noc_deadline, with_return_deadline
from reconcile.schemas import API_RATES_SCHEMA, RATES_SCHEMA, conform
from tests.reconcile.builders import D, entries, returns


def _deadline(settled: dt.date, code: str) -> dt.date:
    lf = pl.LazyFrame({"s": [settled], "code": [code]})
    return with_return_deadline(lf, settlement="s", code=code and "code", out="d").collect()["d"][0]


def test_return_deadlines_follow_spec_examples():
    # banking-calendar.md §6: settled Fri 2026-10-09 -> by Wed 2026-10-14 (Columbus Day).
    assert _deadline(D(2026, 10, 9), "R01") == D(2026, 10, 14)
    # settled Mon 2026-03-02 -> 60th day Fri 2026-05-01 -> by Mon 2026-05-04.
    assert _deadline(D(2026, 3, 2), "R10") == D(2026, 5, 4)


def test_noc_deadline_is_six_banking_days():
    lf = pl.LazyFrame({"r": [D(2026, 11, 20)]})  # Fri; Thanksgiving Thu 11-26 is closed
    assert with_noc_deadline(lf, received="r", out="d").collect()["d"][0] == D(2026, 12, 1)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (D(2026, 7, 3), True),
        (D(2027, 7, 5), False),
        (D(2026, 6, 19), False),
        (D(2026, 11, 11), False),
    ],
)
def test_banking_days(day, expected):
    assert is_banking_day(day) is expected


def test_add_banking_days_over_a_column():
    lf = pl.LazyFrame({"d": [D(2026, 12, 23), D(2026, 12, 24), None]})
    out = add_banking_days(lf, "d", 5, out="x").collect()["x"].to_list()
    assert out == [D(2026, 12, 31), D(2027, 1, 4), None]


def test_add_banking_days_by_position_agrees_with_the_calendar_day_by_day():
    """Every day of 2025-2027 (holidays, weekends, year ends), a constant and a per-row
    number of steps, against the scalar calendar; dates outside the table give null."""
    days = pl.date_range(D(2025, 1, 1), D(2027, 12, 31), "1d", eager=True)
    lf = pl.LazyFrame({"d": days, "k": [i % 7 + 1 for i in range(days.len())]})
    got = add_banking_days(add_banking_days(lf, "d", 2, out="two"), "d", "k", out="kth").collect()
    want = [
        (add_banking_days_scalar(d, 2), add_banking_days_scalar(d, k))
        for d, k in zip(days.to_list(), got["k"].to_list(), strict=True)
    ]
    assert list(zip(got["two"].to_list(), got["kth"].to_list(), strict=True)) == want
    edges = pl.LazyFrame({"d": [CALENDAR_START - dt.timedelta(days=1), CALENDAR_END, None]})
    assert add_banking_days(edges, "d", 1, out="x").collect()["x"].to_list() == [None] * 3


def test_exposure_buckets_consumer_and_corporate():
    ent = entries(
        {"trace_number": "1", "amount_cents": 100, "settlement_date": D(2026, 3, 10)},
        {"trace_number": "2", "amount_cents": 200, "settlement_date": D(2026, 2, 1)},
        {
            "trace_number": "3",
            "amount_cents": 300,
            "settlement_date": D(2026, 3, 10),
            "sec_code": "CCD",
        },
        {
            "trace_number": "4",
            "amount_cents": 400,
            "settlement_date": D(2026, 3, 2),
            "sec_code": "CCD",
        },
        {"trace_number": "5", "amount_cents": 500, "settlement_date": D(2025, 12, 1)},
        {"trace_number": "6", "amount_cents": 600, "settlement_date": D(2026, 3, 10)},
        {
            "trace_number": "7",
            "amount_cents": 700,
            "settlement_date": D(2026, 3, 10),
            "transaction_code": 22,
        },
    )
    ret = returns({"original_trace_number": "6", "return_code": "R01"})
    out = exposure(ent, ret, as_of=D(2026, 3, 11)).collect().sort("trace_number")
    assert out["trace_number"].to_list() == ["1", "2", "3"]
    assert out["window"].to_list() == ["0-2 banking days", "3-60 calendar days", "0-2 banking days"]
    assert out["window_closes"].to_list() == [D(2026, 5, 11), D(2026, 4, 3), D(2026, 3, 12)]


def _ours(rate: float, company: str = "111") -> pl.LazyFrame:
    rows = [
        {
            "date": D(2026, 3, 10),
            "company_id": company,
            "sec_code": None,
            "measure": m,
            "returns": 5,
            "debits": 1000,
            "rate_pct": rate,
            "limit_pct": 0.5,
            "warning": False,
            "breach": False,
            "days_out_of_compliance": 0,
        }
        for m in ("unauthorized", "administrative", "overall")
    ]
    return conform(pl.DataFrame(rows), RATES_SCHEMA)


def _api(rate: float, company: str = "111") -> pl.LazyFrame:
    row = {"company_id": company, "date": D(2026, 3, 10), "debit_entries": 1000}
    for m in ("unauthorized", "administrative", "overall"):
        row |= {f"{m}_returns": 5, f"{m}_rate_pct": rate, f"{m}_days_out_of_compliance": 0}
    return conform(pl.DataFrame([row]), API_RATES_SCHEMA)


@pytest.mark.parametrize(("api_rate", "is_break"), [(0.5, False), (0.51, False), (0.5101, True)])
def test_api_comparison_tolerance_is_one_hundredth_of_a_point(api_rate, is_break):
    out = compare_rates(_ours(0.5), _api(api_rate), report_date=D(2026, 3, 10)).collect()
    assert out.height == 3 and out["is_break"].to_list() == [is_break] * 3


def test_api_comparison_flags_missing_originators():
    out = compare_rates(_ours(0.5, "111"), _api(0.5, "222"), report_date=D(2026, 3, 10)).collect()
    assert out.height == 6 and out["is_break"].all()


def test_public_api_is_sorted_and_exact():
    assert reconcile.__all__ == sorted(reconcile.__all__, key=lambda n: (not n.isupper(), n))
    for name in reconcile.__all__:
        assert hasattr(reconcile, name), name
