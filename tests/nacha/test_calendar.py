"""The banking calendar against shared/spec/banking-calendar.md (§2.3 table, §5.3, §6)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nacha import calendar as cal
from nacha.calendar import (
    BankingCalendar,
    EffectiveDateError,
    OdfiProfile,
    add_banking_days,
    banking_days_between,
    earliest_standard_date,
    effective_entry_date,
    fed_closures,
    is_banking_day,
    next_banking_day,
    previous_banking_day,
    settlement_date_estimate,
)

CT = ZoneInfo("America/Chicago")
CONNECTFI = OdfiProfile()  # same-day 09:30 CT, next-day 19:30 CT


def ct(y: int, m: int, d: int, hh: int, mm: int) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=CT)


# §2.3, column by column: the non-settlement weekdays of 2025-2028.
CLOSURES = {
    2025: [(1, 1), (1, 20), (2, 17), (5, 26), (6, 19), (7, 4), (9, 1), (10, 13), (11, 11),
           (11, 27), (12, 25)],
    2026: [(1, 1), (1, 19), (2, 16), (5, 25), (6, 19), (9, 7), (10, 12), (11, 11), (11, 26),
           (12, 25)],
    2027: [(1, 1), (1, 18), (2, 15), (5, 31), (7, 5), (9, 6), (10, 11), (11, 11), (11, 25)],
    2028: [(1, 17), (2, 21), (5, 29), (6, 19), (7, 4), (9, 4), (10, 9), (11, 23), (12, 25)],
}  # fmt: skip


@pytest.mark.parametrize("year", sorted(CLOSURES))
def test_fed_closures_match_the_published_table(year: int) -> None:
    assert list(fed_closures(year)) == [date(year, m, d) for m, d in CLOSURES[year]]


@pytest.mark.parametrize(
    ("day", "open_"),
    [
        (date(2026, 7, 3), True),  # Jul 4 is Saturday: the Fed stays open Friday
        (date(2027, 12, 24), True),  # Christmas on Saturday
        (date(2027, 12, 31), True),  # New Year 2028 on Saturday
        (date(2027, 7, 5), False),  # Jul 4, 2027 is a Sunday -> Monday closed
        (date(2021, 6, 18), True),  # Juneteenth not yet observed by the Fed in 2021
        (date(2022, 6, 20), False),  # first observed Juneteenth (Sunday -> Monday)
        (date(2026, 10, 12), False),  # Columbus Day: banks may open, the Fed does not
        (date(2026, 3, 7), False),  # Saturday
    ],
)
def test_observance_rules(day: date, open_: bool) -> None:
    assert is_banking_day(day) is open_


def test_overrides_add_and_remove_closures() -> None:
    mourning = date(2026, 3, 11)
    calendar = BankingCalendar(
        extra_closures=frozenset({mourning}), extra_openings=frozenset({date(2026, 10, 12)})
    )
    assert not calendar.is_banking_day(mourning)
    assert calendar.is_banking_day(date(2026, 10, 12))
    assert calendar.next_banking_day(date(2026, 3, 10)) == date(2026, 3, 12)
    assert is_banking_day(mourning)  # the default calendar is untouched


# §5.3 test vectors (connectFi profile).
def test_vector_same_day_before_cutoff() -> None:
    got = effective_entry_date(
        ct(2026, 3, 10, 9, 15), profile=CONNECTFI, same_day=True, amount_cents=50_000_000
    )
    assert got == date(2026, 3, 10)


def test_vector_same_day_after_cutoff() -> None:
    now = ct(2026, 3, 10, 9, 45)
    with pytest.raises(EffectiveDateError) as err:
        effective_entry_date(now, profile=CONNECTFI, same_day=True, amount_cents=50_000_000)
    assert err.value.rule == "same_day.not_eligible"
    assert err.value.earliest == date(2026, 3, 11)
    got = effective_entry_date(
        now, profile=CONNECTFI, same_day=True, amount_cents=50_000_000, fallback=True
    )
    assert got == date(2026, 3, 11)


def test_vector_same_day_over_limit() -> None:
    now = ct(2026, 3, 10, 9, 15)
    with pytest.raises(EffectiveDateError):
        effective_entry_date(now, profile=CONNECTFI, same_day=True, amount_cents=150_000_000)
    got = effective_entry_date(
        now, profile=CONNECTFI, same_day=True, amount_cents=150_000_000, fallback=True
    )
    assert got == date(2026, 3, 11)
    # exactly $1,000,000 is still eligible
    assert effective_entry_date(
        now, profile=CONNECTFI, same_day=True, amount_cents=100_000_000
    ) == date(2026, 3, 10)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (ct(2026, 3, 10, 19, 0), date(2026, 3, 11)),
        (ct(2026, 3, 10, 19, 45), date(2026, 3, 12)),
        (ct(2026, 3, 7, 10, 0), date(2026, 3, 10)),
        (ct(2026, 6, 18, 10, 0), date(2026, 6, 22)),
        (ct(2026, 7, 2, 20, 0), date(2026, 7, 6)),
        (ct(2026, 11, 25, 20, 0), date(2026, 11, 30)),
        (ct(2027, 7, 2, 18, 0), date(2027, 7, 6)),
    ],
)
def test_vectors_standard(now: datetime, expected: date) -> None:
    assert effective_entry_date(now, profile=CONNECTFI) == expected
    assert earliest_standard_date(now, profile=CONNECTFI) == expected


def test_vector_weekend_same_day_depends_on_policy() -> None:
    now = ct(2026, 3, 7, 10, 0)
    with pytest.raises(EffectiveDateError):
        effective_entry_date(now, profile=CONNECTFI, same_day=True, amount_cents=100)
    queued = OdfiProfile(queued_same_day=True)
    assert effective_entry_date(now, profile=queued, same_day=True, amount_cents=100) == date(
        2026, 3, 9
    )


def test_queued_same_day_only_when_not_reachable_as_next_day() -> None:
    queued = OdfiProfile(queued_same_day=True)
    # Tue 10:00: after the same-day cut-off, but Wed is an ordinary next-day date.
    assert cal.same_day_date(ct(2026, 3, 10, 10, 0), profile=queued) is None
    # Tue 20:00: after the next-day cut-off too; Wed is queued for Wednesday's window.
    assert cal.same_day_date(ct(2026, 3, 10, 20, 0), profile=queued) == date(2026, 3, 11)
    assert earliest_standard_date(ct(2026, 3, 10, 20, 0), profile=queued) == date(2026, 3, 12)


def test_vector_christmas_eve_2027_same_day() -> None:
    got = effective_entry_date(
        ct(2027, 12, 24, 9, 0), profile=CONNECTFI, same_day=True, amount_cents=100
    )
    assert got == date(2027, 12, 24)


def test_vector_columbus_day_rolls_following() -> None:
    now = ct(2026, 10, 1, 12, 0)
    requested = date(2026, 10, 12)
    got = effective_entry_date(now, profile=CONNECTFI, requested=requested, roll="following")
    assert got == date(2026, 10, 13)
    assert effective_entry_date(
        now, profile=CONNECTFI, requested=requested, roll="preceding"
    ) == date(2026, 10, 9)
    with pytest.raises(EffectiveDateError) as err:
        effective_entry_date(now, profile=CONNECTFI, requested=requested)
    assert err.value.rule == "date.not_banking_day"


def test_preceding_roll_may_land_on_the_floor_itself() -> None:
    now = ct(2026, 6, 17, 12, 0)  # processing Wed 06-17, floor Thu 06-18
    got = effective_entry_date(
        now, profile=CONNECTFI, requested=date(2026, 6, 19), roll="preceding"
    )
    assert got == date(2026, 6, 18)  # payroll paid the day before Juneteenth


def test_past_and_too_early_dates_are_refused_with_the_earliest_date() -> None:
    now = ct(2026, 3, 10, 12, 0)
    with pytest.raises(EffectiveDateError) as err:
        effective_entry_date(now, profile=CONNECTFI, requested=date(2026, 3, 9))
    assert (err.value.rule, err.value.earliest) == ("date.past", date(2026, 3, 11))
    with pytest.raises(EffectiveDateError) as err:
        effective_entry_date(now, profile=CONNECTFI, requested=date(2026, 3, 10))
    assert err.value.rule == "date.too_early"


def test_cutoffs_are_evaluated_in_the_odfi_zone_across_dst() -> None:
    # 2026-03-08 is the US spring-forward day. 14:20 UTC on Mon 03-09 is 09:20 CDT (before
    # the cut-off); on Fri 03-06 the same UTC time is 08:20 CST.
    utc = ZoneInfo("UTC")
    before = datetime(2026, 3, 9, 14, 20, tzinfo=utc)
    after = datetime(2026, 3, 9, 14, 40, tzinfo=utc)  # 09:40 CDT
    assert cal.same_day_date(before, profile=CONNECTFI) == date(2026, 3, 9)
    assert cal.same_day_date(after, profile=CONNECTFI) is None
    assert cal.same_day_date(datetime(2026, 3, 6, 15, 20, tzinfo=utc), profile=CONNECTFI) == (
        date(2026, 3, 6)
    )  # 09:20 CST


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        earliest_standard_date(datetime(2026, 3, 10, 9, 0), profile=CONNECTFI)


def test_same_day_ineligible_sec_codes() -> None:
    now = ct(2026, 3, 10, 9, 0)
    assert not cal.same_day_possible(now, sec="IAT", amount_cents=1, profile=CONNECTFI)
    assert not cal.same_day_possible(now, sec="ENR", amount_cents=0, profile=CONNECTFI)
    assert cal.same_day_possible(now, sec="CCD", amount_cents=1, profile=CONNECTFI)
    disabled = OdfiProfile(same_day_enabled=False)
    assert not cal.same_day_possible(now, sec="CCD", amount_cents=1, profile=disabled)


@pytest.mark.parametrize(
    ("effective", "submitted", "expected"),
    [
        (date(2026, 3, 12), ct(2026, 3, 10, 12, 0), date(2026, 3, 12)),  # future banking day
        (date(2026, 3, 14), ct(2026, 3, 10, 12, 0), date(2026, 3, 16)),  # future Saturday
        (date(2026, 3, 10), ct(2026, 3, 10, 9, 0), date(2026, 3, 10)),  # same day in time
        (date(2026, 3, 10), ct(2026, 3, 10, 12, 0), date(2026, 3, 11)),  # missed same day
        (date(2026, 3, 2), ct(2026, 3, 10, 9, 0), date(2026, 3, 10)),  # stale -> same day!
        (date(2026, 3, 11), ct(2026, 3, 10, 20, 0), date(2026, 3, 12)),  # missed next-day
    ],
)
def test_settlement_estimates(effective: date, submitted: datetime, expected: date) -> None:
    got = settlement_date_estimate(effective, submitted=submitted, profile=CONNECTFI)
    assert got == expected


def test_settlement_estimate_for_queued_same_day() -> None:
    queued = OdfiProfile(queued_same_day=True)
    saturday = ct(2026, 3, 7, 10, 0)
    got = settlement_date_estimate(date(2026, 3, 9), submitted=saturday, profile=queued)
    assert got == date(2026, 3, 9)
    got = settlement_date_estimate(date(2026, 3, 9), submitted=saturday, profile=CONNECTFI)
    assert got == date(2026, 3, 10)


def test_settlement_estimate_for_ineligible_entries_is_next_day() -> None:
    got = settlement_date_estimate(
        date(2026, 3, 10),
        submitted=ct(2026, 3, 10, 9, 0),
        profile=CONNECTFI,
        same_day_eligible=False,
    )
    assert got == date(2026, 3, 11)


# §6 deadline examples.
def test_return_deadlines() -> None:
    assert cal.return_deadline(date(2026, 10, 9)) == date(2026, 10, 14)
    assert cal.return_deadline(date(2026, 3, 2), extended=True) == date(2026, 5, 4)
    assert cal.reversal_deadline(date(2026, 12, 23)) == date(2026, 12, 31)
    assert cal.noc_deadline(date(2026, 10, 9)) == date(2026, 10, 14)
    assert cal.dishonor_deadline(date(2026, 12, 23)) == date(2026, 12, 31)
    assert cal.contest_deadline(date(2026, 10, 9)) == date(2026, 10, 14)
    assert cal.reinitiation_deadline(date(2026, 1, 2)) == date(2026, 7, 1)
    assert cal.corrected_resend_deadline(date(2026, 1, 2)) == date(2026, 3, 3)
    assert cal.prenote_live_date(date(2026, 10, 8)) == date(2026, 10, 14)
    assert cal.return_exposure_closed(date(2026, 10, 9), consumer=False) == date(2026, 10, 14)
    assert cal.return_exposure_closed(date(2026, 3, 2), consumer=True) == date(2026, 5, 4)


def test_noc_apply_deadline_is_the_later_of_six_days_and_next_entry() -> None:
    received = date(2026, 3, 2)
    assert cal.noc_apply_deadline(received) == date(2026, 3, 10)
    assert cal.noc_apply_deadline(received, next_entry=date(2026, 3, 20)) == date(2026, 3, 20)
    assert cal.noc_apply_deadline(received, next_entry=date(2026, 3, 3)) == date(2026, 3, 10)


def test_add_banking_days_basics() -> None:
    assert add_banking_days(date(2026, 3, 7), 0) == date(2026, 3, 9)
    assert add_banking_days(date(2026, 3, 9), 0) == date(2026, 3, 9)
    assert add_banking_days(date(2026, 3, 9), -1) == date(2026, 3, 6)
    assert previous_banking_day(date(2026, 10, 13)) == date(2026, 10, 9)
    assert next_banking_day(date(2026, 12, 24)) == date(2026, 12, 28)
    assert banking_days_between(date(2026, 12, 23), date(2026, 12, 31)) == 5
    assert banking_days_between(date(2026, 12, 31), date(2026, 12, 23)) == -5


days = st.dates(min_value=date(2024, 1, 1), max_value=date(2029, 12, 31))


@given(days, st.integers(min_value=-40, max_value=40))
def test_banking_days_between_inverts_add(d: date, n: int) -> None:
    moved = add_banking_days(d, n)
    assert is_banking_day(moved)
    if n > 0 or (n < 0 and is_banking_day(d)):  # backwards from a closed day is one short
        assert banking_days_between(d, moved) == n


def test_columnar_twins_agree_with_scalar_functions() -> None:
    ds = [date(2025, 12, 1) + timedelta(days=i) for i in range(430)]
    frame = pl.DataFrame({"d": ds})
    calendar = cal.FED_CALENDAR
    years = range(2025, 2028)
    got = frame.select(calendar.is_banking_day_expr("d", years=years))["d"].to_list()
    assert got == [is_banking_day(d) for d in ds]
    for n in (-3, -1, 0, 1, 2, 5):
        got = frame.select(calendar.add_banking_days_expr("d", n, years=years))["d"].to_list()
        assert got == [add_banking_days(d, n) for d in ds], n


def test_parse_time() -> None:
    assert cal.parse_time("09:30") == time(9, 30)
    with pytest.raises(ValueError, match="HH:MM"):
        cal.parse_time("9.30am")


@pytest.mark.parametrize(
    ("deposit", "expected"),
    [
        (datetime(2026, 3, 10, 10, 29, tzinfo=cal.EASTERN), (1, time(13, 0))),
        (datetime(2026, 3, 10, 10, 30, tzinfo=cal.EASTERN), (2, time(17, 0))),
        (datetime(2026, 3, 10, 15, 44, tzinfo=CT), (3, time(18, 0))),  # 16:44 ET
        (datetime(2026, 3, 10, 16, 45, tzinfo=cal.EASTERN), None),
        (datetime(2026, 3, 7, 9, 0, tzinfo=cal.EASTERN), None),  # Saturday
    ],
)
def test_fed_same_day_windows(deposit: datetime, expected: tuple[int, time] | None) -> None:
    got = cal.fed_same_day_window(deposit)
    if expected is None:
        assert got is None
    else:
        assert got is not None and (got[0], got[1].time()) == expected
        assert got[1].tzinfo == cal.EASTERN
