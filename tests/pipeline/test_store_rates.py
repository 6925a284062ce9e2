"""The compliance views against a hand-checked history (spec: returns-and-rates.md §3.2).

Report date 2026-06-30 → window 2026-05-01 .. 2026-06-29 (60 calendar days).
Company A entries (day = settlement date, else effective date):
  E1-E10  PPD debit 27, day 05-01 (first day of the window)             → 10 debits
  E11-E12 PPD debit, day 04-30 (the day before the window)              → out
  E13     PPD debit, day 06-29 (last day of the window)                 → 1
  E14     PPD debit, day 06-30 (the report date itself)                 → out
  E15-E16 PPD credits 22, E17 prenote 28                                → not debits
  E18-E20 RCK debits, day 05-15                                         → 3 (not in overall)
  E21     PPD debit, effective 04-29 but settled 05-02                  → 1 (settlement wins)
  E22     PPD debit, effective 05-20 but settled 06-30                  → out
  debits = 15, debits excluding RCK = 12
Returns (day = return settlement date, else date received):
  E11 R10 05-05 (entry from before the window: period method counts it)  U, overall
  E1  R03 06-29                                                          A, overall
  E2  R01 06-30 (report date)                                            out
  E3  R02 04-30 (before window)                                          out
  E15 R23 (return of a credit)                                           out
  E18 R51 (RCK entry)                                                    U only, not overall
  E19 R52 (RCK entry)                                                    nothing
  E4  R07 settled 05-03, received 07-01                                  U, overall
  E5  R01 then dishonored R68 (dishonor stands)                          out
  E6  R02 dishonored R69 then contested R73 (return restored)            A, overall
  E7  R99 (unknown code)                                                 overall
  unauthorized 3/15 = 20 %, administrative 2/15 = 13.333333 %, overall 5/12 = 41.666667 %

Company C (windows holding returns but no debits: rate 0, so no breach — "0 when the
denominator is 0", sql/0006):
  E400-E403 PPD debits, day 03-02; E410-E419 RCK debits, day 06-01
  E400 R10 received 03-20, E401 R05 received 05-10 (both unauthorized)
  report 03-21 (01-20..03-20): 1/4 → breach, days out 1; report 05-01: still 1/4, days out 42
  report 05-02 (03-03..05-01): 0 debits, 1 return → rate 0, no breach, days out 0
  report 05-11 (03-12..05-10): 0 debits, 2 returns → rate 0, no breach
  report 06-03 (04-04..06-02): 10 RCK debits, E401's return → unauthorized 1/10 in breach
    since report 06-02 (days out 2); overall has 0 debits excluding RCK → rate 0, no breach
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from pipeline.store import Ledger
from tests.pipeline._ledger_samples import entries_frame, record_file

A = "1111111111"
B = "2222222222"
C = "3333333333"
D = date(2026, 6, 30)


def t(n: int) -> str:
    return f"12345678{n:07d}"


def _returns(rows: list[tuple]) -> pl.DataFrame:
    """rows: (entry n, code, received, settlement)"""
    return pl.DataFrame(
        {
            "trace_number": [f"09100001{9000000 + i:07d}" for i in range(len(rows))],
            "original_trace_number": [t(r[0]) for r in rows],
            "return_code": [r[1] for r in rows],
            "amount_cents": [100] * len(rows),
            "received_date": [r[2] for r in rows],
            "settlement_date": pl.Series([r[3] for r in rows], dtype=pl.Date),
        }
    )


@pytest.fixture(scope="module")
def history(pg_module_url, account_protector):  # type: ignore[no-untyped-def]
    import psycopg

    with psycopg.connect(pg_module_url, autocommit=True) as conn:
        led = Ledger(conn, account_protector)

        def put(ns, *, day, code=27, sec="PPD", settlement=None, company=A, name=None):
            record_file(
                led,
                entries_frame([t(n) for n in ns], codes=[code] * len(ns)),
                effective=day,
                sec_code=sec,
                settlement=settlement,
                company_id=company,
                name=name,
            )

        put(range(1, 11), day=date(2026, 5, 1))
        put([11, 12], day=date(2026, 4, 30))
        put([13], day=date(2026, 6, 29))
        put([14], day=date(2026, 6, 30))
        put([15, 16], day=date(2026, 5, 10), code=22)
        put([17], day=date(2026, 5, 10), code=28, name="prenote")
        put([18, 19, 20], day=date(2026, 5, 15), sec="RCK")
        put([21], day=date(2026, 4, 29), settlement=date(2026, 5, 2))
        put([22], day=date(2026, 5, 20), settlement=date(2026, 6, 30))
        r = date
        led.record_returns(
            None,
            _returns(
                [
                    (11, "R10", r(2026, 5, 5), None),
                    (1, "R03", r(2026, 6, 29), None),
                    (2, "R01", r(2026, 6, 30), None),
                    (3, "R02", r(2026, 4, 30), None),
                    (15, "R23", r(2026, 5, 20), None),
                    (18, "R51", r(2026, 5, 25), None),
                    (19, "R52", r(2026, 5, 25), None),
                    (4, "R07", r(2026, 7, 1), r(2026, 5, 3)),
                    (5, "R01", r(2026, 5, 10), None),
                    (5, "R68", r(2026, 5, 12), None),
                    (6, "R02", r(2026, 5, 10), None),
                    (6, "R69", r(2026, 5, 12), None),
                    (6, "R73", r(2026, 5, 14), None),
                    (7, "R99", r(2026, 6, 1), None),
                ]
            ),
        )
        # Company B: 200 debits on 06-01; exactly 0.5 % unauthorized and 3.0 % administrative.
        b = [100 + i for i in range(200)]
        put(b, day=date(2026, 6, 1), company=B, name="b")
        led.record_returns(
            None,
            _returns(
                [(100, "R05", r(2026, 6, 2), None)]
                + [(101 + i, "R02", r(2026, 6, 2), None) for i in range(6)]
            ),
        )
        # Company C: windows with returns and no debits (see the docstring).
        put(range(400, 404), day=date(2026, 3, 2), company=C)
        put(range(410, 420), day=date(2026, 6, 1), company=C, sec="RCK")
        led.record_returns(
            None,
            _returns([(400, "R10", r(2026, 3, 20), None), (401, "R05", r(2026, 5, 10), None)]),
        )
    return pg_module_url


@pytest.fixture
def led(history, account_protector):  # type: ignore[no-untyped-def]
    import psycopg

    with psycopg.connect(history, autocommit=True) as conn:
        yield Ledger(conn, account_protector)


def _row(frame: pl.DataFrame, company: str, sec: str | None = None) -> dict:
    if sec is None:
        rows = frame.filter(pl.col("company_id") == company)
    else:
        rows = frame.filter((pl.col("company_id") == company) & (pl.col("sec_code") == sec))
    assert rows.height == 1, rows
    return rows.row(0, named=True)


def test_window_counts_and_rates_per_originator(led: Ledger) -> None:
    row = _row(led.return_rates_frame(D), A)
    assert (row["window_from"], row["window_to"]) == (date(2026, 5, 1), date(2026, 6, 29))
    assert row["sec_code"] is None
    assert (row["debits"], row["debits_ex_rck"]) == (15, 12)
    assert (row["unauthorized_returns"], row["administrative_returns"], row["overall_returns"]) == (
        3,
        2,
        5,
    )
    assert row["unauthorized_rate_pct"] == pytest.approx(20.0)
    assert row["administrative_rate_pct"] == pytest.approx(13.333333)
    assert row["overall_rate_pct"] == pytest.approx(41.666667)
    assert row["unauthorized_breach"] and row["administrative_breach"] and row["overall_breach"]


def test_per_sec_code_rows(led: Ledger) -> None:
    frame = led.return_rates_frame(D, by_sec_code=True)
    ppd = _row(frame, A, "PPD")
    assert (ppd["debits"], ppd["debits_ex_rck"]) == (12, 12)
    assert (ppd["unauthorized_returns"], ppd["administrative_returns"]) == (2, 2)
    assert ppd["overall_returns"] == 5
    rck = _row(frame, A, "RCK")
    assert (rck["debits"], rck["debits_ex_rck"]) == (3, 0)
    assert (rck["unauthorized_returns"], rck["overall_returns"]) == (1, 0)
    assert rck["overall_rate_pct"] == 0 and not rck["overall_breach"]


def test_limit_equal_is_compliant_and_days_out(led: Ledger) -> None:
    row = _row(led.return_rates_frame(date(2026, 6, 3)), B)
    assert row["debits"] == 200
    assert row["unauthorized_rate_pct"] == pytest.approx(0.5)
    assert row["administrative_rate_pct"] == pytest.approx(3.0)
    assert not row["unauthorized_breach"] and not row["administrative_breach"]
    assert row["unauthorized_days_out"] == 0
    # A's first unauthorized return is E4's R07 settled 05-03: from report date 05-04 (window
    # 03-05..05-03: 1 of 13 debits) to 06-30 every day is in breach → 58 days.
    a = _row(led.return_rates_frame(D), A)
    assert a["unauthorized_days_out"] == 58
    first = _row(led.return_rates_frame(date(2026, 5, 4)), A)
    assert (first["debits"], first["unauthorized_returns"], first["unauthorized_days_out"]) == (
        13,
        1,
        1,
    )
    assert _row(led.return_rates_frame(date(2026, 5, 3)), A)["unauthorized_breach"] is False


def test_rates_by_day_stop_sixty_days_after_last_activity(led: Ledger) -> None:
    # A's last activity is on 06-30 (E14, E22 settled, E2's R01): report 08-29 still sees it
    # (window 06-30..08-28), report 08-30 would see an empty window, so the view stops.
    last = _row(led.return_rates_frame(date(2026, 8, 29)), A)
    assert (last["debits"], last["overall_returns"]) == (2, 1)
    assert led.return_rates_frame(date(2026, 8, 30)).filter(pl.col("company_id") == A).height == 0


def _measures(row: dict, measure: str) -> tuple:
    return (
        row[f"{measure}_returns"],
        row[f"{measure}_rate_pct"],
        row[f"{measure}_breach"],
        row[f"{measure}_days_out"],
    )


def test_returns_without_debits_are_rate_zero_and_no_breach(led: Ledger) -> None:
    """Spec §3.2: the rate is 0 when the denominator is 0, and breach = rate > limit."""
    before = _row(led.return_rates_frame(date(2026, 3, 21)), C)
    assert before["debits"] == 4
    assert _measures(before, "unauthorized") == (1, pytest.approx(25.0), True, 1)
    assert _measures(_row(led.return_rates_frame(date(2026, 5, 1)), C), "unauthorized")[2:] == (
        True,
        42,
    )
    for report, returns in ((date(2026, 5, 2), 1), (date(2026, 5, 11), 2)):
        for row in (
            _row(led.return_rates_frame(report), C),
            _row(led.return_rates_frame(report, by_sec_code=True), C, "PPD"),
        ):
            assert (row["debits"], row["debits_ex_rck"]) == (0, 0), report
            assert _measures(row, "unauthorized") == (returns, 0, False, 0), report
            assert _measures(row, "overall") == (returns, 0, False, 0), report
            assert _measures(row, "administrative") == (0, 0, False, 0), report
    late = _row(led.return_rates_frame(date(2026, 6, 3)), C)
    assert (late["debits"], late["debits_ex_rck"]) == (10, 0)
    assert _measures(late, "unauthorized") == (1, pytest.approx(10.0), True, 2)
    assert _measures(late, "overall") == (1, 0, False, 0)


@pytest.mark.parametrize(
    "report",
    [
        date(2026, 3, 21),
        date(2026, 5, 2),
        date(2026, 5, 11),
        date(2026, 5, 3),
        date(2026, 5, 4),
        date(2026, 6, 3),
        D,
        date(2026, 8, 29),
    ],
)
def test_sql_views_agree_with_reconcile_rates(led: Ledger, report: date) -> None:
    """design.md: the SQL views and reconcile/ (polars) compute the same numbers."""
    from reconcile.rates import compute_rates

    entries = led.entries_frame().select(
        "trace_number",
        "company_id",
        "sec_code",
        pl.col("transaction_code").cast(pl.Int16),
        "amount_cents",
        "effective_date",
        "settlement_date",
    )
    returns = led.returns_frame().select(
        "original_trace_number",
        "return_code",
        "return_date",
        "kind",
    )
    ours = compute_rates(entries.lazy(), returns.lazy(), report_date=report).collect()
    sql_rows = pl.concat(
        [led.return_rates_frame(report), led.return_rates_frame(report, by_sec_code=True)]
    )
    assert sql_rows.height > 0
    for row in sql_rows.iter_rows(named=True):
        for measure in ("unauthorized", "administrative", "overall"):
            match = ours.filter(
                (pl.col("company_id") == row["company_id"])
                & (pl.col("sec_code").eq_missing(row["sec_code"]))
                & (pl.col("measure") == measure)
            )
            assert match.height == 1, (row["company_id"], row["sec_code"], measure)
            got = match.row(0, named=True)
            debits = row["debits_ex_rck"] if measure == "overall" else row["debits"]
            assert (got["returns"], got["debits"]) == (row[f"{measure}_returns"], debits)
            assert got["rate_pct"] == pytest.approx(row[f"{measure}_rate_pct"], abs=1e-6)
            assert got["breach"] == row[f"{measure}_breach"]
            assert got["days_out_of_compliance"] == row[f"{measure}_days_out"], measure
