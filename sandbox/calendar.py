"""The sandbox's own Fed calendar: weekends and Federal Reserve holidays are not banking days.

Kept here (rather than borrowed from the pipeline) because the sandbox plays the outside
world and must not import ``pipeline``; it follows ``shared/spec/banking-calendar.md`` §2
(Sunday holidays close Monday; Saturday holidays close nothing).
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _last_weekday(year: int, month: int, weekday: int) -> date:
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    last = nxt - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


@lru_cache(maxsize=64)
def fed_holidays(year: int) -> frozenset[date]:
    """Weekdays on which the Fed does not settle ACH in ``year``."""
    fixed = [date(year, 1, 1), date(year, 7, 4), date(year, 11, 11), date(year, 12, 25)]
    if year >= 2022:
        fixed.append(date(year, 6, 19))
    rules = [
        _nth_weekday(year, 1, 0, 3),  # Martin Luther King Jr.
        _nth_weekday(year, 2, 0, 3),  # Washington's Birthday
        _last_weekday(year, 5, 0),  # Memorial Day
        _nth_weekday(year, 9, 0, 1),  # Labor Day
        _nth_weekday(year, 10, 0, 2),  # Columbus Day
        _nth_weekday(year, 11, 3, 4),  # Thanksgiving
    ]
    closed = set(rules)
    for day in fixed:
        if day.weekday() == 6:
            closed.add(day + timedelta(days=1))  # Sunday -> Monday closed
        elif day.weekday() < 5:
            closed.add(day)  # Saturday -> nothing closes
    return frozenset(closed)


def is_banking_day(day: date, *, extra_closed: frozenset[date] = frozenset()) -> bool:
    """Weekday, not a Fed holiday, not an extra closure."""
    return day.weekday() < 5 and day not in fed_holidays(day.year) and day not in extra_closed


def next_banking_day(day: date, *, n: int = 1, extra_closed: frozenset[date] = frozenset()) -> date:
    """The ``n``-th banking day strictly after ``day``."""
    current = day
    for _ in range(n):
        current += timedelta(days=1)
        while not is_banking_day(current, extra_closed=extra_closed):
            current += timedelta(days=1)
    return current


def on_or_after(day: date, *, extra_closed: frozenset[date] = frozenset()) -> date:
    """``day`` if it is a banking day, else the next one (where an effective date settles)."""
    if is_banking_day(day, extra_closed=extra_closed):
        return day
    return next_banking_day(day, extra_closed=extra_closed)
