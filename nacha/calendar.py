"""The ACH banking calendar: Fed holidays, ODFI cut-offs, effective and settlement dates.

Why a calendar of our own: ACH settles through the Federal Reserve, whose closures differ
from the generic "U.S. federal holidays" (a Saturday holiday closes nothing; a Sunday one
closes Monday; Columbus and Veterans Day close the Fed even though many banks open). The
rules are generated, not listed, and overrides cover the Fed's occasional announcements.

Everything here is pure: dates in, dates out. Times are tz-aware (``zoneinfo``), never
fixed UTC offsets, because cut-offs straddle DST changes. Reference:
``shared/spec/banking-calendar.md`` (§2 holidays, §3 windows, §4 settlement, §5 effective
dates, §6 deadlines).

>>> is_banking_day(date(2026, 6, 19))      # Juneteenth, a Friday
False
>>> next_banking_day(date(2026, 7, 2))     # Jul 3 is open: Jul 4, 2026 is a Saturday
datetime.date(2026, 7, 3)
>>> add_banking_days(date(2026, 10, 9), 2)  # Mon Oct 12 is Columbus Day
datetime.date(2026, 10, 14)
"""

from __future__ import annotations

import calendar as _cal
import datetime as _dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

import polars as pl

from nacha.errors import NachaError

__all__ = [
    "EASTERN",
    "FED_CALENDAR",
    "FED_HOLIDAY_RULES",
    "FED_SAME_DAY_WINDOWS",
    "SAME_DAY_INELIGIBLE_SEC",
    "SAME_DAY_LIMIT_CENTS",
    "BankingCalendar",
    "CalendarError",
    "EffectiveDateError",
    "OdfiProfile",
    "add_banking_days",
    "banking_days_between",
    "contest_deadline",
    "corrected_resend_deadline",
    "dishonor_deadline",
    "earliest_standard_date",
    "effective_entry_date",
    "fed_closures",
    "fed_same_day_window",
    "is_banking_day",
    "next_banking_day",
    "noc_apply_deadline",
    "noc_deadline",
    "parse_time",
    "prenote_live_date",
    "previous_banking_day",
    "processing_day",
    "reinitiation_deadline",
    "return_deadline",
    "return_exposure_closed",
    "reversal_deadline",
    "same_day_date",
    "same_day_possible",
    "settlement_date_estimate",
]

EASTERN = ZoneInfo("America/New_York")

#: FedACH same-day windows (ET): (deposit deadline, settlement time), §3.1.
FED_SAME_DAY_WINDOWS: tuple[tuple[time, time], ...] = (
    (time(10, 30), time(13, 0)),
    (time(14, 45), time(17, 0)),
    (time(16, 45), time(18, 0)),
)
#: SEC codes that never settle same day (§3.1).
SAME_DAY_INELIGIBLE_SEC: frozenset[str] = frozenset({"IAT", "ENR"})
#: Per-entry Same Day limit since Mar 18, 2022 (cents); profiles may override it.
SAME_DAY_LIMIT_CENTS = 100_000_000

Roll = Literal["following", "preceding"]


class CalendarError(NachaError):
    """A date cannot be used as asked (not eligible, too early, not a banking day)."""


class EffectiveDateError(CalendarError):
    """A requested effective entry date cannot be honoured.

    ``rule`` is a stable code (``date.past``, ``date.too_early``, ``date.not_banking_day``,
    ``same_day.not_eligible``); ``earliest`` is the first date that would be accepted.
    """

    def __init__(self, message: str, *, rule: str, earliest: date | None = None) -> None:
        self.rule = rule
        self.earliest = earliest
        super().__init__(message)


# --------------------------------------------------------------------------- holidays (§2)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th (1-based; -1 = last) given weekday (Mon=0) of a month."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = date(year, month, _cal.monthrange(year, month)[1])
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _fixed(month: int, day: int, since: int = 0):  # type: ignore[no-untyped-def]
    return lambda y: date(y, month, day) if y >= since else None


def _floating(month: int, weekday: int, n: int):  # type: ignore[no-untyped-def]
    return lambda y: _nth_weekday(y, month, weekday, n)


#: The eleven Fed holidays as rules (name → year → nominal date or None), §2.1.
FED_HOLIDAY_RULES = {
    "New Year's Day": _fixed(1, 1),
    "Birthday of Martin Luther King, Jr.": _floating(1, 0, 3),
    "Washington's Birthday": _floating(2, 0, 3),
    "Memorial Day": _floating(5, 0, -1),
    "Juneteenth National Independence Day": _fixed(6, 19, since=2022),
    "Independence Day": _fixed(7, 4),
    "Labor Day": _floating(9, 0, 1),
    "Columbus Day": _floating(10, 0, 2),
    "Veterans Day": _fixed(11, 11),
    "Thanksgiving Day": _floating(11, 3, 4),
    "Christmas Day": _fixed(12, 25),
}


@lru_cache(maxsize=256)
def fed_closures(year: int) -> dict[date, str]:
    """Weekdays of ``year`` on which the Fed does not settle ACH, with the holiday's name.

    Observance (§2.2): Sunday → closed the following Monday; Saturday → no weekday lost.
    """
    out: dict[date, str] = {}
    for name, rule in FED_HOLIDAY_RULES.items():
        nominal = rule(year)
        if nominal is None:
            continue
        if nominal.weekday() == 6:
            out[nominal + timedelta(days=1)] = f"{name} (observed)"
        elif nominal.weekday() < 5:
            out[nominal] = name
    return dict(sorted(out.items()))


# --------------------------------------------------------------------------- the calendar


@dataclass(frozen=True)
class BankingCalendar:
    """Banking days = weekdays the Fed settles ACH, adjusted by explicit overrides.

    ``extra_closures`` adds closures (an unscheduled national day of mourning);
    ``extra_openings`` removes generated ones (the Fed announced it will settle).
    """

    extra_closures: frozenset[date] = frozenset()
    extra_openings: frozenset[date] = frozenset()

    def closures(self, year: int) -> dict[date, str]:
        """Closed weekdays of a year (generated rules plus overrides), with reasons."""
        out = {d: n for d, n in fed_closures(year).items() if d not in self.extra_openings}
        for d in self.extra_closures:
            if d.year == year and d.weekday() < 5:
                out[d] = "configured closure"
        return dict(sorted(out.items()))

    def holidays_between(self, start: date, end: date) -> list[date]:
        """Closed weekdays in [start, end], for polars' business-day functions."""
        days: list[date] = []
        for year in range(start.year, end.year + 1):
            days.extend(d for d in self.closures(year) if start <= d <= end)
        return days

    def is_banking_day(self, d: date) -> bool:
        return d.weekday() < 5 and d not in self.closures(d.year)

    def next_banking_day(self, d: date) -> date:
        """The first banking day strictly after ``d``."""
        d += timedelta(days=1)
        while not self.is_banking_day(d):
            d += timedelta(days=1)
        return d

    def previous_banking_day(self, d: date) -> date:
        """The last banking day strictly before ``d``."""
        d -= timedelta(days=1)
        while not self.is_banking_day(d):
            d -= timedelta(days=1)
        return d

    def add_banking_days(self, d: date, n: int) -> date:
        """Move ``n`` banking days from ``d`` (``d`` itself need not be a banking day).

        ``n == 0`` returns ``d`` if it is a banking day, else the next one: "the banking day
        on or after". Negative ``n`` walks backwards.
        """
        if n == 0:
            return d if self.is_banking_day(d) else self.next_banking_day(d)
        step = self.next_banking_day if n > 0 else self.previous_banking_day
        for _ in range(abs(n)):
            d = step(d)
        return d

    def banking_days_between(self, start: date, end: date) -> int:
        """Banking days in (start, end]; negative when ``end < start``.

        So ``banking_days_between(d, add_banking_days(d, n)) == n`` for any n.
        """
        if end < start:
            return -self.banking_days_between(end, start)
        count, d = 0, start
        while True:
            d = self.next_banking_day(d)
            if d > end:
                return count
            count += 1

    # -- columnar twins, for reconciliation over whole frames ------------------------------

    def is_banking_day_expr(self, column: str | pl.Expr, *, years: Iterable[int]) -> pl.Expr:
        """A boolean expression over a Date column (closures for ``years`` are included)."""
        col = pl.col(column) if isinstance(column, str) else column
        closed = sorted(d for y in years for d in self.closures(y))
        return (col.dt.weekday() <= 5) & ~col.is_in(closed)

    def add_banking_days_expr(
        self, column: str | pl.Expr, n: int, *, years: Iterable[int]
    ) -> pl.Expr:
        """Columnar :meth:`add_banking_days` (same results, whole column at once).

        Uses polars' business-day arithmetic with the closures of ``years`` (cover the input
        range plus the horizon you add).
        """
        col = pl.col(column) if isinstance(column, str) else column
        closed = sorted(d for y in years for d in self.closures(y))
        if n == 0:
            return col.dt.add_business_days(0, holidays=closed, roll="forward")
        roll = "backward" if n > 0 else "forward"
        return col.dt.add_business_days(n, holidays=closed, roll=roll)


#: The calendar with the Fed's rules and no overrides.
FED_CALENDAR = BankingCalendar()


def is_banking_day(d: date, *, calendar: BankingCalendar = FED_CALENDAR) -> bool:
    """Is ``d`` a day on which ACH settles (a weekday the Fed is open)?"""
    return calendar.is_banking_day(d)


def next_banking_day(d: date, *, calendar: BankingCalendar = FED_CALENDAR) -> date:
    """The first banking day strictly after ``d``."""
    return calendar.next_banking_day(d)


def previous_banking_day(d: date, *, calendar: BankingCalendar = FED_CALENDAR) -> date:
    """The last banking day strictly before ``d``."""
    return calendar.previous_banking_day(d)


def add_banking_days(d: date, n: int, *, calendar: BankingCalendar = FED_CALENDAR) -> date:
    """``n`` banking days after (or before, if negative) ``d``; see BankingCalendar."""
    return calendar.add_banking_days(d, n)


def banking_days_between(
    start: date, end: date, *, calendar: BankingCalendar = FED_CALENDAR
) -> int:
    """Banking days in (start, end]."""
    return calendar.banking_days_between(start, end)


# ------------------------------------------------------------------ ODFI profile (§3.3, §5)


@dataclass(frozen=True)
class OdfiProfile:
    """What constrains our dates: the ODFI's cut-offs in its own time zone.

    Defaults are connectFi's (9:30 a.m. / 7:30 p.m. Central, Mon–Fri).
    ``queued_same_day``: a same-day request made on a non-banking day (or after the
    cut-off of one) may target the next banking day, which the ODFI will then process
    before its same-day cut-off (§5.2). Off by default.
    """

    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("America/Chicago"))
    same_day_cutoff: time = time(9, 30)
    next_day_cutoff: time = time(19, 30)
    same_day_enabled: bool = True
    same_day_limit_cents: int = SAME_DAY_LIMIT_CENTS
    queued_same_day: bool = False
    calendar: BankingCalendar = FED_CALENDAR

    def local(self, now: datetime) -> datetime:
        """``now`` in the ODFI's zone; naive datetimes are refused (DST is not optional)."""
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("now must be timezone-aware")
        return now.astimezone(self.tz)


def processing_day(now: datetime, cutoff: time, *, profile: OdfiProfile) -> date:
    """The first banking day on which a file made at ``now`` can still beat ``cutoff``."""
    local = profile.local(now)
    d = local.date()
    if profile.calendar.is_banking_day(d) and local.time() < cutoff:
        return d
    return profile.calendar.next_banking_day(d)


def earliest_standard_date(now: datetime, *, profile: OdfiProfile) -> date:
    """The earliest next-day (non-same-day) effective date: the banking day after processing."""
    return profile.calendar.next_banking_day(
        processing_day(now, profile.next_day_cutoff, profile=profile)
    )


def same_day_date(now: datetime, *, profile: OdfiProfile) -> date | None:
    """The date a same-day entry made at ``now`` would carry, or None if there is none."""
    if not profile.same_day_enabled:
        return None
    local = profile.local(now)
    d = local.date()
    if profile.calendar.is_banking_day(d) and local.time() < profile.same_day_cutoff:
        return d
    if profile.queued_same_day:
        # Queued for the next banking day's same-day window — unless that day is reachable
        # as an ordinary next-day entry anyway (after the same-day cut-off but before the
        # next-day one), in which case it is not a same-day entry at all.
        target = profile.calendar.next_banking_day(d)
        if target < earliest_standard_date(now, profile=profile):
            return target
    return None


def same_day_possible(now: datetime, *, sec: str, amount_cents: int, profile: OdfiProfile) -> bool:
    """Can an entry made at ``now`` settle today (§5.2 ``same_day_possible``)?"""
    return (
        same_day_date(now, profile=profile) is not None
        and sec not in SAME_DAY_INELIGIBLE_SEC
        and amount_cents <= profile.same_day_limit_cents
    )


def effective_entry_date(
    now: datetime,
    *,
    profile: OdfiProfile,
    requested: date | None = None,
    same_day: bool = False,
    sec: str = "PPD",
    amount_cents: int = 0,
    roll: Roll | None = None,
    fallback: bool = False,
) -> date:
    """The effective entry date to write, or :class:`EffectiveDateError` (§5.2).

    ``same_day``: ask for settlement today; with ``fallback`` an ineligible same-day
    request becomes the earliest standard date instead of an error. ``requested`` before
    the earliest standard date is refused (stale dates become surprise same-day entries);
    a non-banking ``requested`` is refused unless ``roll`` says which way to move it.
    """
    floor = earliest_standard_date(now, profile=profile)
    if same_day:
        target = same_day_date(now, profile=profile)
        eligible = same_day_possible(now, sec=sec, amount_cents=amount_cents, profile=profile)
        if eligible and target is not None and requested in (None, target):
            return target
        if fallback:
            return floor
        raise EffectiveDateError(
            "not eligible for Same Day ACH", rule="same_day.not_eligible", earliest=floor
        )
    if requested is None:
        return floor
    if requested < floor:
        rule = "date.past" if requested < profile.local(now).date() else "date.too_early"
        raise EffectiveDateError(
            f"effective date {requested} is before the earliest possible {floor}",
            rule=rule,
            earliest=floor,
        )
    cal = profile.calendar
    if cal.is_banking_day(requested):
        return requested
    if roll == "following":
        return cal.next_banking_day(requested)
    if roll == "preceding":
        before = cal.previous_banking_day(requested)
        return before if before >= floor else cal.next_banking_day(requested)
    raise EffectiveDateError(
        f"effective date {requested} is not a banking day",
        rule="date.not_banking_day",
        earliest=floor,
    )


def settlement_date_estimate(
    effective: date, *, submitted: datetime, profile: OdfiProfile, same_day_eligible: bool = True
) -> date:
    """When the operator will most likely settle an entry (§4).

    A future banking day settles that day; a future non-banking day the banking day after;
    today or a stale date settles today if the entry is eligible and the file beat the ODFI's
    same-day cut-off (or on the queued same-day date, see ``OdfiProfile.queued_same_day``),
    otherwise on the banking day after processing.
    """
    cal = profile.calendar
    proc = processing_day(submitted, profile.next_day_cutoff, profile=profile)
    if effective > proc:
        return effective if cal.is_banking_day(effective) else cal.next_banking_day(effective)
    same_day = same_day_date(submitted, profile=profile)  # today, or a queued next day
    if same_day_eligible and same_day is not None and effective <= same_day:
        return same_day
    return cal.next_banking_day(proc)


def fed_same_day_window(
    deposit: datetime, *, calendar: BankingCalendar = FED_CALENDAR
) -> tuple[int, datetime] | None:
    """The FedACH same-day window (1-3) a file reaching the operator at ``deposit`` makes,
    with its settlement instant (ET), or None after 4:45 p.m. or on a non-banking day (§3.1).

    >>> from zoneinfo import ZoneInfo
    >>> fed_same_day_window(datetime(2026, 3, 10, 9, 20, tzinfo=ZoneInfo("America/Chicago")))
    (1, datetime.datetime(2026, 3, 10, 13, 0, tzinfo=zoneinfo.ZoneInfo(key='America/New_York')))
    """
    if deposit.tzinfo is None or deposit.utcoffset() is None:
        raise ValueError("deposit must be timezone-aware")
    et = deposit.astimezone(EASTERN)
    if not calendar.is_banking_day(et.date()):
        return None
    for number, (deadline, settles) in enumerate(FED_SAME_DAY_WINDOWS, start=1):
        if et.time() < deadline:
            return number, datetime.combine(et.date(), settles, tzinfo=EASTERN)
    return None


# --------------------------------------------------------------------------- deadlines (§6)


def return_deadline(
    settlement: date, *, extended: bool = False, calendar: BankingCalendar = FED_CALENDAR
) -> date:
    """Latest date a return must be available to the ODFI (opening of business).

    Standard returns: the 2nd banking day after settlement. Extended (R05, R07, R10, R11,
    R37, R38, R51–R53, R33): the banking day after the 60th calendar day after settlement.
    """
    if extended:
        return calendar.add_banking_days(settlement + timedelta(days=60), 1)
    return calendar.add_banking_days(settlement, 2)


def noc_deadline(settlement: date, *, calendar: BankingCalendar = FED_CALENDAR) -> date:
    """An RDFI sends a NOC within 2 banking days of the original settlement date."""
    return calendar.add_banking_days(settlement, 2)


def noc_apply_deadline(
    received: date, *, next_entry: date | None = None, calendar: BankingCalendar = FED_CALENDAR
) -> date:
    """Apply a NOC within 6 banking days of receipt, or before the next entry if later."""
    six = calendar.add_banking_days(received, 6)
    return max(six, next_entry) if next_entry is not None else six


def reversal_deadline(settlement: date, *, calendar: BankingCalendar = FED_CALENDAR) -> date:
    """A reversal must reach the RDFI within 5 banking days after the erroneous settlement."""
    return calendar.add_banking_days(settlement, 5)


def dishonor_deadline(return_settlement: date, *, calendar: BankingCalendar = FED_CALENDAR) -> date:
    """An ODFI may dishonor a return within 5 banking days after the return's settlement."""
    return calendar.add_banking_days(return_settlement, 5)


def contest_deadline(
    dishonor_settlement: date, *, calendar: BankingCalendar = FED_CALENDAR
) -> date:
    """An RDFI may contest a dishonor within 2 banking days after its settlement."""
    return calendar.add_banking_days(dishonor_settlement, 2)


def reinitiation_deadline(settlement: date) -> date:
    """RETRY PYMT of an R01/R09 return: within 180 calendar days of the original settlement."""
    return settlement + timedelta(days=180)


def corrected_resend_deadline(return_settlement: date) -> date:
    """A corrected entry after R11: within 60 calendar days of the return's settlement."""
    return return_settlement + timedelta(days=60)


def prenote_live_date(
    prenote_settlement: date, *, calendar: BankingCalendar = FED_CALENDAR
) -> date:
    """First allowed settlement of live entries after a prenote: the 3rd banking day after."""
    return calendar.add_banking_days(prenote_settlement, 3)


def return_exposure_closed(
    settlement: date, *, consumer: bool, calendar: BankingCalendar = FED_CALENDAR
) -> date:
    """When a debit stops being at risk of a timely return (60-day window, or 2 banking days)."""
    if consumer:
        return return_deadline(settlement, extended=True, calendar=calendar)
    return return_deadline(settlement, calendar=calendar)


def parse_time(value: str) -> time:
    """``HH:MM`` (24 h) as a time; ValueError with the value otherwise."""
    try:
        return _dt.datetime.strptime(value, "%H:%M").time()
    except (TypeError, ValueError):
        raise ValueError(f"not a HH:MM time: {value!r}") from None
