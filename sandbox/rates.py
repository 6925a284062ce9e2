"""Return rates from the sandbox's own history (spec connectfi-ach §7, returns-and-rates §3.2).

Period method: for a reporting date D the window is the 60 calendar days [D-60, D-1];
the denominator counts forward debit entries (no prenotes or zero-dollar entries) settled in
the window; numerators count returns of such debits whose return settlement date is in the
window, by reason-code set. RCK entries are left out of the overall rate. Counts, not dollars.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from nacha.codes import ADMINISTRATIVE_RETURN_CODES, UNAUTHORIZED_RETURN_CODES
from sandbox.ledger import Transfer

WINDOW_DAYS = 60
UNAUTHORIZED = UNAUTHORIZED_RETURN_CODES  # R05 R07 R10 R11 R29 R51
ADMINISTRATIVE = ADMINISTRATIVE_RETURN_CODES  # R02 R03 R04
THRESHOLDS = {"unauthorized": 0.5, "administrative": 3.0, "overall": 15.0}
MAX_RECORDS = 1000


def _counts(transfers: Iterable[Transfer]) -> tuple[dict[str, Counter[date]], date | None]:
    """Per-day counts: debits (all / non-RCK) by settlement day, returns by category."""
    c: dict[str, Counter[date]] = {
        k: Counter()
        for k in ("debits", "debits_overall", "unauthorized", "administrative", "overall")
    }
    first: date | None = None
    for tx in transfers:
        created = tx.created_at.date()
        first = created if first is None or created < first else first
        if not tx.is_debit or tx.amount_cents <= 0:
            continue
        day = tx.settlement_date or tx.effective_date
        c["debits"][day] += 1
        if tx.sec != "RCK":
            c["debits_overall"][day] += 1
        if tx.return_code and tx.return_settlement_date:
            rday = tx.return_settlement_date
            if tx.return_code in UNAUTHORIZED:
                c["unauthorized"][rday] += 1
            if tx.return_code in ADMINISTRATIVE:
                c["administrative"][rday] += 1
            if tx.sec != "RCK":
                c["overall"][rday] += 1
    return c, first


def _window_sum(counter: Counter[date], day: date) -> int:
    lo = day - timedelta(days=WINDOW_DAYS)
    return sum(n for d, n in counter.items() if lo <= d < day)


def _rate(returns: int, debits: int) -> float:
    return round(100.0 * returns / debits, 4) if debits else 0.0


def _measure(c: dict[str, Counter[date]], day: date) -> dict[str, tuple[int, float]]:
    debits = _window_sum(c["debits"], day)
    overall_debits = _window_sum(c["debits_overall"], day)
    out = {}
    for name in THRESHOLDS:
        n = _window_sum(c[name], day)
        out[name] = (n, _rate(n, overall_debits if name == "overall" else debits))
    out["debits"] = (debits, 0.0)
    return out


def available_dates(transfers: Iterable[Transfer], today: date) -> list[date]:
    """Dates with data: from the day after the first transfer up to today."""
    _, first = _counts(transfers)
    if first is None:
        return []
    days = (today - first).days
    return [today - timedelta(days=i) for i in range(days)][:MAX_RECORDS]


def return_rate_records(
    transfers: list[Transfer], dates: list[date], *, aggregator: str
) -> list[dict[str, Any]]:
    """One record per date (caller checked each date has data)."""
    c, first = _counts(transfers)
    records = []
    for day in dates:
        m = _measure(c, day)
        rec: dict[str, Any] = {
            "cFiAggregatorId": aggregator,
            "clientCode": None,
            "date": day.isoformat(),
            "minDate": (day - timedelta(days=WINDOW_DAYS)).isoformat(),
            "maxDate": (day - timedelta(days=1)).isoformat(),
            "debitEntries": m["debits"][0],
        }
        for name, limit in THRESHOLDS.items():
            count, rate = m[name]
            out_days = 0
            probe = day
            while first is not None and probe > first:
                if _measure(c, probe)[name][1] > limit:
                    out_days += 1
                    probe -= timedelta(days=1)
                else:
                    break
            rec[f"{name}Returns"] = count
            rec[f"{name}ReturnRate"] = rate
            rec[f"{name}Threshold"] = limit
            rec[f"{name}DaysOutOfCompliance"] = out_days
        records.append(rec)
    return records
