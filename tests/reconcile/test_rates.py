"""Return rates on hand-checked histories (spec/returns-and-rates.md §3)."""

from __future__ import annotations

import datetime as dt
import itertools

import polars as pl
import pytest

from reconcile import RateOptions, compute_rates, rates_json
from reconcile.schemas import RATE_ENTRIES_SCHEMA, RATE_RETURNS_SCHEMA, conform

D = dt.date
REPORT = D(2026, 3, 10)  # window: 2026-01-09 .. 2026-03-09
_seq = itertools.count(1)


def make_entries(n, *, day, code=27, sec="PPD", company="111", settle=True):
    rows = []
    for _ in range(n):
        rows.append(
            {
                "trace_number": f"{next(_seq):015d}",
                "company_id": company,
                "sec_code": sec,
                "transaction_code": code,
                "amount_cents": 100,
                "effective_date": day,
                "settlement_date": day if settle else None,
            }
        )
    return rows


def ret(entry, code, day):
    return {"original_trace_number": entry["trace_number"], "return_code": code, "return_date": day}


def rates_for(entries, returns, report=REPORT, **opts):
    ent = conform(pl.DataFrame(entries, schema=RATE_ENTRIES_SCHEMA), RATE_ENTRIES_SCHEMA)
    rr = conform(pl.DataFrame(returns, schema=RATE_RETURNS_SCHEMA), RATE_RETURNS_SCHEMA)
    return compute_rates(ent, rr, report_date=report, options=RateOptions(**opts)).collect()


def pick(df, measure, sec=None, company="111", day=REPORT):
    cond = (
        (pl.col("measure") == measure) & (pl.col("company_id") == company) & (pl.col("date") == day)
    )
    cond &= pl.col("sec_code").is_null() if sec is None else pl.col("sec_code") == sec
    rows = df.filter(cond)
    assert rows.height == 1
    return rows.row(0, named=True)


@pytest.fixture(scope="module")
def history():
    first_day = make_entries(100, day=D(2026, 1, 9))  # boundary: first day of the window
    before = make_entries(50, day=D(2026, 1, 8))  # one day too early
    report_day = make_entries(50, day=D(2026, 3, 10))  # the report date itself: not yet
    last_day = make_entries(50, day=D(2026, 3, 9))  # boundary: last day of the window
    no_settle = make_entries(10, day=D(2026, 2, 15), settle=False)  # effective date stands in
    prenotes = make_entries(10, day=D(2026, 2, 1), code=28)
    zero = make_entries(10, day=D(2026, 2, 1), code=29)
    credits = make_entries(20, day=D(2026, 2, 1), code=22)
    rck = make_entries(40, day=D(2026, 2, 1), sec="RCK")
    entries = (
        first_day + before + report_day + last_day + no_settle + prenotes + zero + credits + rck
    )
    returns = [
        ret(before[0], "R10", D(2026, 1, 9)),  # entry before the window, return inside: counts
        ret(before[1], "R07", D(2026, 1, 8)),  # return before the window
        ret(first_day[0], "R05", D(2026, 3, 10)),  # return on the report date: not yet
        ret(last_day[0], "R02", D(2026, 3, 9)),  # administrative, last day
        ret(credits[0], "R01", D(2026, 2, 3)),  # credit: never counted
        ret(prenotes[0], "R03", D(2026, 2, 3)),  # prenote: not a debit entry
        ret(rck[0], "R51", D(2026, 2, 10)),  # RCK: unauthorized yes, overall no
        ret(rck[1], "R01", D(2026, 2, 10)),  # RCK: excluded from overall
        ret(first_day[1], "R01", D(2026, 2, 1)),  # plain overall
        ret(first_day[2], "R03", D(2026, 2, 1)),  # administrative, but dishonored:
        ret(first_day[2], "R68", D(2026, 2, 3)),  # ...the dishonor stands, so it does not count
        ret(first_day[3], "R04", D(2026, 2, 1)),  # administrative, dishonored...
        ret(first_day[3], "R69", D(2026, 2, 3)),
        ret(first_day[3], "R73", D(2026, 2, 4)),  # ...and contested: counts again
        {
            "original_trace_number": "999999999999999",
            "return_code": "R10",
            "return_date": D(2026, 2, 1),
        },
    ]
    return rates_for(entries, returns)


def test_originator_rates_hand_checked(history):
    # debits: 100 + 50 + 10 + 40 (RCK) = 200; overall excludes RCK: 160
    u = pick(history, "unauthorized")
    assert (u["returns"], u["debits"]) == (2, 200)  # R10 + R51
    assert u["rate_pct"] == pytest.approx(1.0)
    assert u["breach"] and u["warning"]
    a = pick(history, "administrative")
    assert (a["returns"], a["debits"]) == (2, 200)  # R02 + contested R04
    assert a["rate_pct"] == pytest.approx(1.0) and not a["breach"] and not a["warning"]
    o = pick(history, "overall")
    assert (o["returns"], o["debits"]) == (4, 160)  # R10, R02, R01, R04 (no RCK)
    assert o["rate_pct"] == pytest.approx(2.5) and not o["breach"] and not o["warning"]
    assert (u["window_from"], u["window_to"]) == (D(2026, 1, 9), D(2026, 3, 9))


def test_per_sec_code_rows(history):
    assert pick(history, "unauthorized", "PPD")[("returns")] == 1
    assert pick(history, "unauthorized", "PPD")["debits"] == 160
    rck = pick(history, "unauthorized", "RCK")
    assert (rck["returns"], rck["debits"], rck["rate_pct"]) == (1, 40, 2.5)
    rck_overall = pick(history, "overall", "RCK")
    assert (rck_overall["returns"], rck_overall["debits"], rck_overall["rate_pct"]) == (0, 0, 0.0)


def test_worked_example_500_of_100000_is_compliant_501_is_not():
    debits = make_entries(100_000, day=D(2026, 2, 1), company="222")
    at_limit = rates_for(debits, [ret(e, "R10", D(2026, 2, 2)) for e in debits[:500]])
    row = pick(at_limit, "unauthorized", company="222")
    assert row["rate_pct"] == pytest.approx(0.5) and not row["breach"] and row["warning"]
    over = rates_for(debits, [ret(e, "R10", D(2026, 2, 2)) for e in debits[:501]])
    assert pick(over, "unauthorized", company="222")["breach"]


def test_days_out_of_compliance_and_first_breach_date():
    debits = make_entries(100, day=D(2026, 1, 1), company="333")
    df = rates_for(
        debits, [ret(debits[0], "R10", D(2026, 1, 5))], report=D(2026, 3, 3), history_days=70
    )
    on = pick(df, "unauthorized", company="333", day=D(2026, 3, 2))
    assert on["breach"] and on["days_out_of_compliance"] == 56  # Jan 6 .. Mar 2
    assert on["first_breach_date"] == D(2026, 1, 6)
    assert pick(df, "unauthorized", company="333", day=D(2026, 1, 5))["days_out_of_compliance"] == 0
    off = pick(df, "unauthorized", company="333", day=D(2026, 3, 3))  # the debits left the window
    assert not off["breach"] and off["days_out_of_compliance"] == 0 and off["debits"] == 0


@pytest.mark.parametrize(
    ("n_returns", "warning", "level"), [(0, False, None), (25, True, 50.0), (40, True, 80.0)]
)
def test_warning_levels(n_returns, warning, level):
    debits = make_entries(10_000, day=D(2026, 2, 1), company="444")
    df = rates_for(debits, [ret(e, "R07", D(2026, 2, 2)) for e in debits[:n_returns]])
    row = pick(df, "unauthorized", company="444")
    assert (row["warning"], row["warning_level_pct"], row["breach"]) == (warning, level, False)


def test_configurable_limits_and_fractions():
    debits = make_entries(1000, day=D(2026, 2, 1), company="555")
    df = rates_for(
        debits,
        [ret(e, "R01", D(2026, 2, 2)) for e in debits[:20]],
        limits={"unauthorized": 0.5, "administrative": 3.0, "overall": 1.5},
        warning_fractions=(0.9,),
    )
    assert pick(df, "overall", company="555")["breach"]
    opts = RateOptions.from_mapping({"overall_limit_pct": 10, "warning_fractions": [0.6]})
    assert opts.limits["overall"] == 10 and opts.warning_fractions == (0.6,)
    with pytest.raises(ValueError, match="warning_fractions"):
        RateOptions.from_mapping({"warning_fractions": [2]})


def test_json_shape_is_the_contract(history):
    out = rates_json(history, report_date=REPORT)
    assert set(out) == {"date", "window", "rates"}
    assert out["date"] == "2026-03-10" and out["window"] == {
        "from": "2026-01-09",
        "to": "2026-03-09",
    }
    first = out["rates"][0]
    assert (first["company_id"], first["sec_code"]) == ("111", None)
    assert [r["sec_code"] for r in out["rates"]] == [None, "PPD", "RCK"]
    for measure in ("unauthorized", "administrative", "overall"):
        assert set(first[measure]) == {
            "returns",
            "debits",
            "rate_pct",
            "limit_pct",
            "breach",
            "warning",
            "days_out_of_compliance",
        }
    assert first["unauthorized"]["limit_pct"] == 0.5 and first["overall"]["limit_pct"] == 15.0
