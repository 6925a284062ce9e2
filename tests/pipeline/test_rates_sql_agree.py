"""Polars rates (reconcile.compute_rates) and the SQL views agree on random histories.

Each example records a random history for fresh originators in a real Postgres (the
ledger's own ``record_outbound_file`` / ``record_returns``), reads it back the way
``achpipe rates`` does, and compares every (originator, SEC code or all, report date) the
view reports: counts, rates, breach flags and days out of compliance.

Histories are not padded with steady debits: windows that hold returns but no debits (a
return settled more than 60 days after its debit, or after debits of one SEC code stop) are
compared too. There the spec (§3.2) makes the rate 0 and so no breach; reconcile/ and the
view (since sql/0006) agree on it. The explicit example below always contains such a window.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json

import polars as pl
import psycopg
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pipeline.recon_inputs import rate_inputs_from_ledger
from pipeline.store import Ledger
from reconcile import MEASURES, RateOptions, compute_rates
from tests.pipeline._ledger_samples import entries_frame, record_file

START = dt.date(2026, 1, 5)
_trace = itertools.count(1)
_company = itertools.count(1)
_creation = itertools.count(1)

entry_groups = st.lists(
    st.tuples(
        st.integers(0, 1),  # originator index
        st.sampled_from(["PPD", "CCD", "RCK"]),
        st.integers(0, 80),  # effective day offset
        st.sampled_from([None, 0, 1, 3]),  # settlement lag (None: not settled)
        st.lists(st.sampled_from([27, 27, 27, 37, 22, 28]), min_size=1, max_size=12),
    ),
    min_size=1,
    max_size=8,
)
return_specs = st.lists(
    st.tuples(
        st.integers(0, 10_000),  # which entry (mod count)
        st.sampled_from(["R01", "R02", "R03", "R05", "R10", "R29", "R51", "R68", "R73", "R99"]),
        st.integers(0, 70),  # days after the entry's day
        st.booleans(),  # settlement date known
    ),
    max_size=25,
)


@pytest.fixture(scope="module")
def conn(pg_module_url):  # type: ignore[no-untyped-def]
    with psycopg.connect(pg_module_url, autocommit=True) as c:
        yield c


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(groups=entry_groups, rets=return_specs)
# One PPD debit on START returned (R10) 65 days later: report START+90 has a window with one
# return and no debits (rate 0, no breach).
@example(
    groups=[(0, "PPD", 0, 0, [27]), (1, "CCD", 5, None, [27, 37])], rets=[(0, "R10", 65, True)]
)
def test_polars_rates_equal_sql_views(conn, account_protector, groups, rets):
    led = Ledger(conn, account_protector)
    companies = [f"{next(_company):010d}" for _ in range(2)]
    recorded: list[tuple[str, dt.date]] = []  # (trace, day) of every entry
    for company, sec, offset, lag, codes in groups:
        traces = [f"77777777{next(_trace):07d}" for _ in codes]
        effective = START + dt.timedelta(days=offset)
        settlement = None if lag is None else effective + dt.timedelta(days=lag)
        record_file(
            led,
            entries_frame(traces, codes=codes),
            effective=effective,
            creation=dt.date(2001, 1, 1) + dt.timedelta(days=next(_creation)),
            company_id=companies[company],
            sec_code=sec,
            settlement=settlement,
        )
        recorded += [(t, settlement or effective) for t in traces]
    if rets:
        rows = []
        for i, (pick, code, after, settled) in enumerate(rets):
            trace, day = recorded[pick % len(recorded)]
            when = day + dt.timedelta(days=after)
            rows.append(
                {
                    "trace_number": f"0910000{next(_trace):08d}",
                    "original_trace_number": trace,
                    "return_code": code,
                    "amount_cents": 100 + i,
                    "received_date": when + dt.timedelta(days=1),
                    "settlement_date": when if settled else None,
                }
            )
        led.record_returns(None, pl.DataFrame(rows, schema_overrides={"settlement_date": pl.Date}))

    report_dates = [START + dt.timedelta(days=d) for d in (10, 40, 61, 90, 140)]
    options = RateOptions(history_days=1)
    for day in report_dates:
        entries, returns = rate_inputs_from_ledger(led, day, options)
        ours = (
            compute_rates(entries, returns, report_date=day, options=options)
            .filter(pl.col("company_id").is_in(companies) & (pl.col("date") == day))
            .collect()
        )
        sql = pl.concat(
            [led.return_rates_frame(day), led.return_rates_frame(day, by_sec_code=True)],
            how="vertical",
        ).filter(pl.col("company_id").is_in(companies))
        keys = ["company_id", "sec_code"]
        for measure in MEASURES:
            mine = ours.filter(pl.col("measure") == measure)
            theirs = sql.select(
                *keys,
                pl.col(f"{measure}_returns").alias("s_returns"),
                pl.col("debits_ex_rck" if measure == "overall" else "debits").alias("s_debits"),
                pl.col(f"{measure}_rate_pct").alias("s_rate"),
                pl.col(f"{measure}_breach").alias("s_breach"),
                pl.col(f"{measure}_days_out").alias("s_days"),
            )
            both = mine.join(theirs, on=keys, how="full", nulls_equal=True, coalesce=True)
            # The view has no row where every window is empty; ours then says 0 of 0.
            only_ours = both.filter(pl.col("s_returns").is_null())
            assert (only_ours["returns"].fill_null(0) == 0).all(), (day, measure, only_ours)
            assert (only_ours["debits"].fill_null(0) == 0).all(), (day, measure, only_ours)
            matched = both.filter(pl.col("s_returns").is_not_null())
            assert matched["returns"].null_count() == 0, (day, measure, matched)
            assert matched["returns"].to_list() == matched["s_returns"].to_list(), (day, measure)
            assert matched["debits"].to_list() == matched["s_debits"].to_list(), (day, measure)
            assert ((matched["rate_pct"] - matched["s_rate"]).abs() < 1e-6).all()
            assert matched["breach"].to_list() == matched["s_breach"].to_list(), (day, measure)
            assert matched["days_out_of_compliance"].to_list() == matched["s_days"].to_list()


def test_rates_command_reads_the_ledger(pg_url, account_protector, tmp_path):  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from pipeline.cli import cli

    with psycopg.connect(pg_url, autocommit=True) as c:
        led = Ledger(c, account_protector)
        traces = [f"88888888{i:07d}" for i in range(100)]
        record_file(
            led, entries_frame(traces), effective=dt.date(2026, 2, 2), company_id="9999999999"
        )
        led.record_returns(
            None,
            pl.DataFrame(
                {
                    "trace_number": ["091000010000001"],
                    "original_trace_number": [traces[0]],
                    "return_code": ["R10"],
                    "amount_cents": [1000],
                    "received_date": [dt.date(2026, 2, 5)],
                }
            ),
        )
    config = tmp_path / "achpipe.toml"
    config.write_text(f'[database]\nurl = "{pg_url}"\n')
    result = CliRunner().invoke(
        cli, ["rates", "--date", "2026-03-01", "--config", str(config), "--json"]
    )
    assert result.exit_code == 4, result.output + result.stderr  # 1 % unauthorized > 0.5 %
    row = json.loads(result.stdout)["rates"][0]
    assert (row["company_id"], row["sec_code"]) == ("9999999999", None)
    assert row["unauthorized"]["returns"] == 1 and row["unauthorized"]["debits"] == 100
    assert row["unauthorized"]["breach"] and row["unauthorized"]["days_out_of_compliance"] == 24
