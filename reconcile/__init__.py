"""Reconciliation, return rates and report rendering: pure polars over frames.

Functions take and return ``LazyFrame``s shaped by the schemas in :mod:`reconcile.schemas`;
``pipeline`` collects and writes. Report rendering takes collected frames and returns HTML.
"""

from reconcile.classify import BREAK_CLASSES, CLASSES, MatchOptions, classify
from reconcile.compare import DEFAULT_TOLERANCE_PP, compare_rates
from reconcile.daily import Reconciliation, reconcile_day
from reconcile.exposure import exposure, exposure_summary
from reconcile.rates import (
    DEFAULT_LIMITS,
    MEASURES,
    RateOptions,
    any_breach,
    compute_rates,
    counted_returns,
    daily_counts,
    rates_json,
    unlinked_returns,
)
from reconcile.reports import render_compliance_html, render_finance_html, top_contributors
from reconcile.schemas import (
    ACKS_SCHEMA,
    API_RATES_SCHEMA,
    API_SCHEMA,
    ENTRIES_SCHEMA,
    EXPOSURE_SCHEMA,
    ITEMS_SCHEMA,
    LEDGER_SCHEMA,
    NOCS_SCHEMA,
    RATE_COMPARISON_SCHEMA,
    RATE_ENTRIES_SCHEMA,
    RATE_RETURNS_SCHEMA,
    RATES_SCHEMA,
    RETURNS_SCHEMA,
    conform,
)

__all__ = [
    "ACKS_SCHEMA",
    "API_RATES_SCHEMA",
    "API_SCHEMA",
    "BREAK_CLASSES",
    "CLASSES",
    "DEFAULT_LIMITS",
    "DEFAULT_TOLERANCE_PP",
    "ENTRIES_SCHEMA",
    "EXPOSURE_SCHEMA",
    "ITEMS_SCHEMA",
    "LEDGER_SCHEMA",
    "MEASURES",
    "NOCS_SCHEMA",
    "RATES_SCHEMA",
    "RATE_COMPARISON_SCHEMA",
    "RATE_ENTRIES_SCHEMA",
    "RATE_RETURNS_SCHEMA",
    "RETURNS_SCHEMA",
    "MatchOptions",
    "RateOptions",
    "Reconciliation",
    "any_breach",
    "classify",
    "compare_rates",
    "compute_rates",
    "conform",
    "counted_returns",
    "daily_counts",
    "exposure",
    "exposure_summary",
    "rates_json",
    "reconcile_day",
    "render_compliance_html",
    "render_finance_html",
    "top_contributors",
    "unlinked_returns",
]
