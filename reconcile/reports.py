"""The finance and compliance pages, rendered from collected section frames.

Rendering takes eager ``DataFrame``s (the sections, already collected by ``pipeline``) and
returns one HTML string per page; writing files is the caller's job.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from html import escape

import polars as pl

from reconcile._fmt import money
from reconcile.html import page, table
from reconcile.rates import MEASURES, RateOptions
from reconcile.svg import Series, line_chart

FINANCE_TITLES: dict[str, str] = {
    "tie_out": "Tie-out: intended = sent = acknowledged = API",
    "summary": "Items by source and class",
    "breaks": "Breaks to work",
    "returns": "Returns: reason and next action",
    "nocs": "Notifications of Change: apply within 6 banking days",
    "exposure_summary": "Exposure: debits still inside a return window",
    "exposure": "Exposure detail",
    "files": "Files and acknowledgments",
}


def _badge(ok: bool, good: str, bad: str) -> str:
    return f'<span class="badge {"ok" if ok else "bad"}">{escape(good if ok else bad)}</span>'


def render_finance_html(sections: Mapping[str, pl.DataFrame], *, as_of: dt.date) -> str:
    """The daily reconciliation page (tie-out, breaks, returns, NOCs, exposure, files)."""
    tie = sections["tie_out"]
    breaks = sections["breaks"]
    ties = bool(tie.height) and bool(tie["ties"].all())
    n_breaks = breaks.height
    body = [
        "<p>",
        _badge(ties, "tie-out agrees", "tie-out does not agree"),
        " ",
        _badge(n_breaks == 0, "no breaks", f"{n_breaks:,} break(s)"),
        "</p>",
    ]
    exposure = sections.get("exposure_summary")
    if exposure is not None and exposure.height:
        total = exposure.filter(pl.col("window") == "total")
        if total.height:
            body.append(
                f"<p>Debits at risk of return: {int(total['count'][0]):,} entries, "
                f"${money(int(total['amount_cents'][0] or 0))}.</p>"
            )
    for name, title in FINANCE_TITLES.items():
        df = sections.get(name)
        if df is None:
            continue
        if name == "breaks":
            df = df.drop("row", "match_rule", strict=False)
        if name == "tie_out":
            df = df.with_columns(
                _row=pl.when(pl.col("ties")).then(pl.lit("good")).otherwise(pl.lit("bad"))
            )
        if name == "returns":
            df = df.with_columns(
                _row=pl.when(pl.col("untimely")).then(pl.lit("warn")).otherwise(pl.lit(None))
            )
        if name == "nocs":
            df = df.with_columns(
                _row=pl.when(pl.col("status") == "overdue")
                .then(pl.lit("bad"))
                .when((pl.col("status") == "pending") & (pl.col("apply_by") <= as_of))
                .then(pl.lit("warn"))
                .otherwise(None)
            )
        row_class = "_row" if "_row" in df.columns else None
        body.append(f'<h2 id="h-{name}">{escape(title)}</h2>')
        body.append(table(df, table_id=name, row_class=row_class))
    return page(
        f"Daily reconciliation — {as_of.isoformat()}",
        "Amounts in dollars; account numbers masked. Full data in the CSV, Parquet and XLSX files.",
        "".join(body),
    )


def _status_class(rates: pl.DataFrame) -> pl.DataFrame:
    return rates.with_columns(
        _row=pl.when(pl.col("breach"))
        .then(pl.lit("bad"))
        .when(pl.col("warning"))
        .then(pl.lit("warn"))
        .otherwise(pl.lit(None))
    )


def top_contributors(rates_today: pl.DataFrame, *, limit: int = 10) -> dict[str, pl.DataFrame]:
    """Worst originators per measure, and every SEC code summed across originators."""
    originators = (
        rates_today.filter(pl.col("sec_code").is_null())
        .sort(["measure", "rate_pct", "returns"], descending=[False, True, True])
        .group_by("measure", maintain_order=True)
        .head(limit)
        .select(
            "measure",
            "company_id",
            "returns",
            "debits",
            "rate_pct",
            "limit_pct",
            "warning",
            "breach",
            "days_out_of_compliance",
        )
    )
    by_sec = (
        rates_today.filter(pl.col("sec_code").is_not_null())
        .group_by("measure", "sec_code")
        .agg(pl.col("returns").sum(), pl.col("debits").sum(), pl.col("limit_pct").first())
        .with_columns(
            rate_pct=pl.when(pl.col("debits") > 0)
            .then(pl.col("returns") * 100.0 / pl.col("debits"))
            .otherwise(0.0)
        )
        .sort(["measure", "returns"], descending=[False, True])
    )
    return {"originators": originators, "sec_codes": by_sec}


def render_compliance_html(
    rates: pl.DataFrame,
    *,
    report_date: dt.date,
    comparison: pl.DataFrame | None = None,
    options: RateOptions | None = None,
    lines_per_chart: int = 5,
) -> str:
    """Compliance page: 60-day trend per measure vs its limit, contributors, API comparison.

    ``rates``: ``RATES_SCHEMA`` rows over the history (``RateOptions.history_days`` ≥ 60 for a
    60-day trend); ``comparison``: ``RATE_COMPARISON_SCHEMA`` or None when the API gave none.
    """
    opt = options or RateOptions()
    today = rates.filter(pl.col("date") == report_date)
    orig_today = today.filter(pl.col("sec_code").is_null())
    n_breach = orig_today.filter(pl.col("breach")).height
    n_warn = orig_today.filter(pl.col("warning") & ~pl.col("breach")).height
    body = [
        "<p>",
        _badge(n_breach == 0, "all originators within limits", f"{n_breach} limit(s) crossed"),
        " ",
        f'<span class="badge {"warn" if n_warn else "ok"}">{n_warn} warning(s)</span>',
        "</p>",
        f'<p class="note">Window: {opt.window_days} calendar days ending the day before each '
        "date; counts are debit entries (prenotes and zero-dollar entries excluded); overall "
        "excludes RCK entries; breach = rate strictly above the limit. Warning lines at "
        + ", ".join(f"{f:.0%}" for f in opt.warning_fractions)
        + " of each limit.</p>",
        '<h2 id="h-trend">60-day trend against the limits</h2><div class="charts">',
    ]
    history = rates.filter(pl.col("sec_code").is_null())
    for measure in MEASURES:
        m_today = orig_today.filter(pl.col("measure") == measure).sort(
            ["rate_pct", "company_id"], descending=[True, False]
        )
        worst = m_today["company_id"].head(lines_per_chart).to_list()
        series = []
        for company in worst:
            pts = (
                history.filter((pl.col("measure") == measure) & (pl.col("company_id") == company))
                .sort("date")
                .select("date", "rate_pct")
                .rows()
            )
            series.append(Series(company, pts))
        body.append(
            line_chart(
                series,
                title=f"{measure.capitalize()} return rate (top {len(series)} originators)",
                limit=float(opt.limits[measure]),
                warnings=opt.warning_fractions,
            )
        )
    body.append("</div>")
    cols = [
        "company_id",
        "sec_code",
        "measure",
        "returns",
        "debits",
        "rate_pct",
        "limit_pct",
        "warning",
        "breach",
        "days_out_of_compliance",
        "first_breach_date",
    ]
    body.append('<h2 id="h-today">Rates on the report date</h2>')
    body.append(
        table(
            _status_class(orig_today.sort("company_id", "measure")).select([*cols, "_row"]),
            table_id="rates_today",
            row_class="_row",
        )
    )
    out = today.filter(pl.col("days_out_of_compliance") > 0).sort(
        "days_out_of_compliance", descending=True
    )
    body.append('<h2 id="h-ooc">Days out of compliance</h2>')
    body.append(table(out.select(cols), table_id="out_of_compliance"))
    top = top_contributors(today)
    body.append('<h2 id="h-top-orig">Top contributors by originator</h2>')
    body.append(
        table(_status_class(top["originators"]), table_id="top_originators", row_class="_row")
    )
    body.append('<h2 id="h-top-sec">Top contributors by SEC code</h2>')
    body.append(table(top["sec_codes"], table_id="top_sec_codes"))
    body.append('<h2 id="h-sec">Rates per originator and SEC code</h2>')
    body.append(
        table(
            _status_class(
                today.filter(pl.col("sec_code").is_not_null()).sort(
                    "company_id", "sec_code", "measure"
                )
            ).select([*cols, "_row"]),
            table_id="rates_by_sec",
            row_class="_row",
        )
    )
    body.append('<h2 id="h-api">Our figures vs the API</h2>')
    if comparison is None:
        body.append('<p class="note">No API return-rate figures were available.</p>')
    else:
        body.append(
            table(
                comparison.with_columns(
                    _row=pl.when(pl.col("is_break")).then(pl.lit("bad")).otherwise(pl.lit(None))
                ),
                table_id="api_comparison",
                row_class="_row",
            )
        )
    return page(
        f"Return rates — {report_date.isoformat()}",
        "Nacha unauthorized (0.5 %), administrative (3 %) and overall (15 %) return rates.",
        "".join(body),
    )
