"""The checking steps: refresh (API statuses and rates), reconcile, rates, report.

They read the ledger and write reports; their ledger effects (API statuses, rate snapshots)
are upserts, so repeating them is harmless. The reports of a date live in
``<reports_root>/<date>/`` (``finance/``, ``compliance/``, ``summary.json``, ``index.html``).
"""

from __future__ import annotations

import datetime as dt
import html
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from pipeline.actions.run_hooks import write_actions_report
from pipeline.logs import get_logger
from pipeline.run.engine import StepContext
from pipeline.run.files import atomic_write, outbound_dir
from pipeline.run.outbound import api_frame_to_ledger, read_transfers_file
from pipeline.store.stats import analyze_stale

if TYPE_CHECKING:
    from pipeline.run.resources import Resources

log = get_logger("run.checks")
WINDOW_DAYS = 60  # returns may arrive up to 60 days after settlement
IN_FLIGHT_STATES = ("built", "sealed", "uploaded", "verified")
INTENT_SCHEMA = pl.Schema(
    {
        "reference": pl.String,
        "company_id": pl.String,
        "sec_code": pl.String,
        "direction": pl.String,
        "amount_cents": pl.Int64,
        "effective_date": pl.Date,
        "individual_name": pl.String,
        "account_last4": pl.String,
    }
)


#: The entry columns the reconcile step reads (entries_frame ships only these).
RECONCILE_COLUMNS = (
    "trace_number",
    "reference",
    "transfer_id",
    "company_id",
    "sec_code",
    "transaction_code",
    "amount_cents",
    "effective_date",
    "settlement_date",
    "account_last4",
    "individual_name",
    "batch_number",
    "file_name",
)
#: the transfer columns the reconciliation reads (the API's view of each transfer)
API_COLUMNS = (
    "cfi_transaction_id",
    "reference",
    "status",
    "transaction_type",
    "amount_cents",
    "effective_date",
    "settlement_date",
    "trace_number",
    "return_code",
    "noc_code",
)

#: the intake snapshot columns the reconciliation reads (connectFi create names)
INTAKE_COLUMNS = (
    "reference",
    "clientCode",
    "standardEntryClassCode",
    "transactionType",
    "amount",
    "effectiveEntryDate",
    "individualName",
    "DFIAccountNumber",
)

#: the tables the reconcile step reads in bulk (their statistics are refreshed when stale)
RECONCILE_TABLES = ("entries", "entry_transfer_links", "transfers", "returns", "nocs")


def amount_text_to_cents(amount: pl.Expr) -> pl.Expr:
    """``"12.34"`` → 1234 exactly (no floats): integer part × 100 + two decimals."""
    text = amount.cast(pl.String).str.strip_chars()
    whole = text.str.extract(r"^(\d+)", 1).cast(pl.Int64)
    frac = text.str.extract(r"\.(\d{1,2})$", 1).fill_null("0").str.pad_end(2, "0").cast(pl.Int64)
    return whole * 100 + frac


class CheckSteps:
    def __init__(self, res: Resources) -> None:
        self.res = res

    def report_dir(self, day: dt.date) -> Path:
        return self.res.paths.reports_root / day.isoformat()

    # -- refresh -----------------------------------------------------------------------------

    def refresh(self, ctx: StepContext) -> dict[str, Any]:
        """Bring the API's view up to date: every transfer changed since the newest change
        already recorded (pages of 1000 from ``/list``), the first time every transfer
        created in the window; then any acknowledged entry the API still lacks, by
        reference. One request per 1000 changes, not one per 20 transfers."""
        res, day = self.res, ctx.business_date
        since = day - dt.timedelta(days=WINDOW_DAYS + 30)
        frames: list[pl.DataFrame] = []
        last = res.queries.last_api_update()
        if last is None:
            frames.append(
                res.api.list_transfers(created_from=since, created_to=day + dt.timedelta(days=1))
            )
        else:
            frames.append(res.api.list_transfers(updated_from=last - dt.timedelta(minutes=5)))
        known = set(frames[0].get_column("reference").drop_nulls().to_list())
        refs = [r for r in res.queries.entry_references(since=since) if r not in known]
        if refs:
            frames.append(res.api.query(references=refs))
        statuses = pl.concat(frames, how="diagonal_relaxed") if frames else None
        rates = self._api_rates(day)
        with res.ledger.transaction():
            if statuses is not None and statuses.height:
                res.ledger.upsert_transfers(api_frame_to_ledger(statuses))
            if rates is not None and rates.height:
                res.ledger.record_rate_snapshots(rates, source="api")
            detail = {
                "api_transfers": 0 if statuses is None else statuses.height,
                "api_rates": 0 if rates is None else rates.height,
            }
            res.run_ledger.mark_done(res.ledger.conn, ctx.run_id, "refresh", detail)
        ctx.self_marked()
        return detail

    def _api_rates(self, day: dt.date) -> pl.DataFrame | None:
        from pipeline.api import ReturnRateNotFound

        try:
            frame = self.res.api.return_rates(day)
        except ReturnRateNotFound:
            return None
        if frame.height == 0:
            return None
        company = self._company_of_client()
        return frame.select(
            pl.col("client_code")
            .replace_strict(company, default=company.get(None, None), return_dtype=pl.String)
            .alias("company_id"),
            pl.col("date").alias("report_date"),
            pl.col("min_date").alias("window_from"),
            pl.col("max_date").alias("window_to"),
            pl.col("debit_entries").alias("debits"),
            "unauthorized_returns",
            "administrative_returns",
            "overall_returns",
            pl.col("unauthorized_return_rate").alias("unauthorized_rate_pct"),
            pl.col("administrative_return_rate").alias("administrative_rate_pct"),
            pl.col("overall_return_rate").alias("overall_rate_pct"),
            pl.col("unauthorized_days_out_of_compliance").alias("unauthorized_days_out"),
            pl.col("administrative_days_out_of_compliance").alias("administrative_days_out"),
            pl.col("overall_days_out_of_compliance").alias("overall_days_out"),
        ).filter(pl.col("company_id").is_not_null())

    def _company_of_client(self) -> dict[str | None, str]:
        mapping: dict[str | None, str] = {}
        for company in self.res.build_settings.companies:
            mapping[company.client_code] = company.company_id
            if getattr(company, "default", False):
                mapping[None] = company.company_id
        return mapping

    # -- reconcile ---------------------------------------------------------------------------

    def _intake_frame(self, day: dt.date) -> pl.DataFrame:
        """What we were asked to send, per the intake snapshots of the window's run dates."""
        company = self._company_of_client()
        frames = []
        for offset in range(WINDOW_DAYS + 1):
            d = day - dt.timedelta(days=offset)
            folder = outbound_dir(self.res.paths.data_dir, d)
            for suffix in (".csv", ".parquet"):
                path = folder / f"transfers{suffix}"
                if path.is_file():
                    frames.append(read_transfers_file(path, columns=INTAKE_COLUMNS))
        retries = self._retry_intents(day)
        if not frames:
            return retries
        raw = pl.concat(frames, how="diagonal_relaxed")
        client = pl.col("clientCode") if "clientCode" in raw.columns else pl.lit(None, pl.String)
        return raw.select(
            pl.col("reference"),
            client.replace_strict(company, default=company.get(None), return_dtype=pl.String).alias(
                "company_id"
            ),
            pl.col("standardEntryClassCode").alias("sec_code"),
            pl.col("transactionType").str.to_lowercase().alias("direction"),
            amount_text_to_cents(pl.col("amount")).alias("amount_cents"),
            pl.col("effectiveEntryDate")
            .cast(pl.String)
            .str.to_date(strict=False)
            .alias("effective_date"),
            pl.col("individualName").alias("individual_name"),
            pl.col("DFIAccountNumber").cast(pl.String).str.slice(-4).alias("account_last4"),
        ).vstack(retries)

    def _retry_intents(self, day: dt.date) -> pl.DataFrame:
        """Re-initiations (RETRY PYMT) due by ``day`` are intents too: the ledger row the
        retry entry must match (reference, amount, direction of the original entry)."""
        rows = self.res.ledger.conn.execute(
            "SELECT r.retry_reference, r.company_id, o.sec_code,"
            " CASE WHEN o.transaction_code %% 10 >= 5 THEN 'debit' ELSE 'credit' END,"
            " r.amount_cents, coalesce(e.effective_date, r.planned_date), o.individual_name,"
            " o.account_last4"
            " FROM reinitiations r JOIN entries o ON o.id = r.original_entry_id"
            " LEFT JOIN entries e ON e.id = r.entry_id"
            " WHERE r.state IN ('planned', 'sent') AND r.retry_reference IS NOT NULL"
            " AND coalesce(r.planned_date, r.latest_date) BETWEEN %s AND %s",
            (day - dt.timedelta(days=WINDOW_DAYS), day),
        ).fetchall()
        return pl.DataFrame(rows, schema=INTENT_SCHEMA, orient="row")

    def reconcile(self, ctx: StepContext) -> dict[str, Any]:
        from pipeline.recon_output import collect_reconciliation, write_finance
        from reconcile import reconcile_day

        res, day = self.res, ctx.business_date
        since = day - dt.timedelta(days=WINDOW_DAYS)
        # tonight's loads (entries, links, API transfers) may not be analysed yet: with stale
        # statistics the entry read below takes three times the server time
        analyzed = analyze_stale(res.ledger.conn, RECONCILE_TABLES)
        if analyzed:
            log.info("analysed stale tables", extra={"tables": analyzed})
        # Files the bank has not answered yet are in flight: neither the acknowledgment nor
        # the API can know their entries, so they are counted, not reported as breaks; the
        # next night's run reconciles them. Of those only the references are read.
        entries = res.ledger.entries_frame(
            effective_from=since,
            columns=RECONCILE_COLUMNS,
            file_states=IN_FLIGHT_STATES,
            other_file_states=True,
        )
        in_flight = res.ledger.entries_frame(
            effective_from=since, columns=("reference",), file_states=IN_FLIGHT_STATES
        )
        # key sets stay polars Series: a million references as Python lists and sets cost
        # seconds of CPU to build and again to hand back to polars
        # (no ``unique()``: ``is_in`` hashes its set once anyway, deduplicating first hashed
        # every text key twice)
        flying_refs = in_flight.get_column("reference").drop_nulls()
        intake = self._intake_frame(day).filter(~pl.col("reference").is_in(flying_refs.implode()))
        refs = pl.concat(
            [intake.get_column("reference"), entries.get_column("reference")]
        ).drop_nulls()
        ids = entries.get_column("transfer_id").drop_nulls()
        transfers = res.ledger.transfers_frame(columns=API_COLUMNS).filter(
            pl.col("reference").is_in(refs.implode())
            | pl.col("cfi_transaction_id").is_in(ids.implode())
        )
        ledger_frame = intake.join(
            entries.select("reference", "trace_number").drop_nulls("reference"),
            on="reference",
            how="left",
        )
        entries_frame = entries.select(
            "trace_number",
            "reference",
            pl.col("transfer_id").alias("cfi_transaction_id"),
            "company_id",
            "sec_code",
            "transaction_code",
            "amount_cents",
            "effective_date",
            "settlement_date",
            pl.col("file_name").alias("file_id"),
            "batch_number",
            pl.col("reference").is_null().alias("is_offset"),
            "individual_name",
            "account_last4",
        )
        api_frame = transfers.select(
            "cfi_transaction_id",
            "reference",
            "trace_number",
            "status",
            pl.col("transaction_type").str.to_lowercase().alias("direction"),
            "amount_cents",
            "effective_date",
            "settlement_date",
            "return_code",
            "noc_code",
        )
        returns = res.ledger.returns_frame().select(
            "trace_number",
            "original_trace_number",
            "return_code",
            pl.coalesce("settlement_date", "received_date").alias("return_date"),
            "amount_cents",
            "kind",
            "date_of_death",
            "addenda_information",
        )
        nocs = res.ledger.nocs_frame().select(
            "trace_number",
            "original_trace_number",
            "change_code",
            pl.col("corrected_masked").alias("corrected_data"),
            "received_date",
        )
        acks = self._acks()
        rec = reconcile_day(
            ledger=ledger_frame.lazy(),
            entries=entries_frame.lazy(),
            api=api_frame.lazy(),
            returns=returns.lazy(),
            nocs=nocs.lazy(),
            acks=acks.lazy(),
            as_of=day,
        )
        sections = collect_reconciliation(rec)
        out = self.report_dir(day)
        page = write_finance(sections, out, as_of=day)
        # the summary section has the counts per (source, class) already: no second pass
        # over the millions of items
        by_class = dict(
            sections["summary"]
            .group_by("class")
            .agg(pl.col("count").sum())
            .sort("class")
            .iter_rows()
        )
        breaks = sections["breaks"].height
        tie = sections["tie_out"]
        detail = {
            "items": sections["items"].height,
            "breaks": breaks,
            "returns": int(by_class.get("returned", 0)),
            "nocs": int(by_class.get("noc", 0)),
            "ties": bool(tie.height) and bool(tie["ties"].all()),
            "in_flight_entries": in_flight.height,
            "facts": {
                "breaks": {"count": breaks, "by_class": {k: int(v) for k, v in by_class.items()}},
                "finance_report": str(page),
            },
        }
        return detail

    def _acks(self) -> pl.DataFrame:
        files = self.res.queries.outbound_files(states=("acknowledged", "rejected"))
        return pl.DataFrame(
            {
                "file_id": [f.file_name for f in files],
                "status": ["ACCEPTED" if f.state == "acknowledged" else "REJECTED" for f in files],
                "entry_count": [f.entry_count for f in files],
                "total_debit_cents": [f.total_debit_cents for f in files],
                "total_credit_cents": [f.total_credit_cents for f in files],
            },
            schema={
                "file_id": pl.String,
                "status": pl.String,
                "entry_count": pl.Int64,
                "total_debit_cents": pl.Int64,
                "total_credit_cents": pl.Int64,
            },
        )

    # -- rates -------------------------------------------------------------------------------

    def rates(self, ctx: StepContext) -> dict[str, Any]:
        from dataclasses import replace

        from pipeline.recon_output import write_compliance
        from reconcile import any_breach, compare_rates, compute_rates, rates_json

        res, day = self.res, ctx.business_date
        options = replace(res.config.typed("rates"), history_days=WINDOW_DAYS)
        span = options.window_days + options.history_days + 1
        rate_columns = (
            "trace_number",
            "company_id",
            "sec_code",
            "transaction_code",
            "amount_cents",
            "effective_date",
            "settlement_date",
        )
        entries = res.ledger.entries_frame(
            effective_from=day - dt.timedelta(days=span), columns=rate_columns
        )
        rate_entries = entries.select(
            "trace_number",
            "company_id",
            "sec_code",
            pl.col("transaction_code").cast(pl.Int16),
            "amount_cents",
            "effective_date",
            "settlement_date",
        )
        rate_returns = res.ledger.returns_frame().select(
            "original_trace_number",
            "return_code",
            pl.coalesce("settlement_date", "received_date").alias("return_date"),
            "kind",
        )
        rates = compute_rates(
            rate_entries.lazy(), rate_returns.lazy(), report_date=day, options=options
        ).collect()
        api_rates = self._api_rates_snapshot(day)
        comparison = (
            compare_rates(rates.lazy(), api_rates.lazy(), report_date=day).collect()
            if api_rates.height
            else None
        )
        page = write_compliance(
            rates, self.report_dir(day), report_date=day, comparison=comparison, options=options
        )
        snapshot = _snapshot(rates, day)
        if snapshot.height:
            res.ledger.record_rate_snapshots(snapshot, source="ours")
        crossed = any_breach(rates, report_date=day)
        api_breaks = 0 if comparison is None else int(comparison["is_break"].sum())
        doc = rates_json(rates, report_date=day, window_days=options.window_days)
        return {
            "originators": snapshot.height,
            "limit_crossed": crossed,
            "api_rate_breaks": api_breaks,
            "facts": {
                "rates": doc["rates"],
                "rate_limit_crossed": crossed,
                "api_rate_breaks": api_breaks,
                "compliance_report": str(page),
            },
        }

    def _api_rates_snapshot(self, day: dt.date) -> pl.DataFrame:
        from reconcile import API_RATES_SCHEMA

        rows = self.res.ledger.conn.execute(
            "SELECT company_id, report_date, debits, unauthorized_returns,"
            " unauthorized_rate_pct::float8, unauthorized_days_out, administrative_returns,"
            " administrative_rate_pct::float8, administrative_days_out, overall_returns,"
            " overall_rate_pct::float8, overall_days_out FROM return_rate_snapshots"
            " WHERE source = 'api' AND report_date = %s AND sec_code = ''",
            (day,),
        ).fetchall()
        return pl.DataFrame(rows, schema=API_RATES_SCHEMA, orient="row")

    # -- report ------------------------------------------------------------------------------

    def report(self, ctx: StepContext) -> dict[str, Any]:
        res, day = self.res, ctx.business_date
        out = self.report_dir(day)
        out.mkdir(parents=True, exist_ok=True)
        files_out = [
            {
                "name": f.file_name,
                "sha256": f.sha256,
                "entries": f.entry_count,
                "debit_cents": f.total_debit_cents,
                "credit_cents": f.total_credit_cents,
                "state": f.state,
            }
            for f in res.queries.outbound_files(run_id=int(ctx.run_id))
        ]
        totals = {
            "entries_sent": sum(f["entries"] for f in files_out),
            "debit_cents": sum(f["debit_cents"] for f in files_out),
            "credit_cents": sum(f["credit_cents"] for f in files_out),
        }
        actions = write_actions_report(res.ledger, day, out, res.config)
        counts = self._counts(ctx, files_out)
        facts = dict(ctx.facts)
        facts["counts"] = counts
        facts["files_out"] = files_out
        facts["totals"] = totals
        facts["reports_dir"] = str(out)
        summary = {
            "date": day.isoformat(),
            "run_id": ctx.run_id,
            "files_out": files_out,
            "files_in": facts.get("files_in", []),
            "breaks": facts.get("breaks", {}),
            "rate_limit_crossed": facts.get("rate_limit_crossed", False),
            "counts": counts,
            "totals": totals,
            "actions_warnings": actions["warnings"],
        }
        atomic_write(out / "summary.json", json.dumps(summary, indent=2, default=str).encode())
        atomic_write(out / "index.html", _index_html(day, summary, out).encode())
        return {
            "reports_dir": str(out),
            "facts": {
                "files_out": files_out,
                "counts": counts,
                "totals": totals,
                "reports_dir": str(out),
            },
        }

    def _counts(self, ctx: StepContext, files_out: list[dict[str, Any]]) -> dict[str, int]:
        """The night's headline counts, from the ledger (the same on a resumed run)."""
        files_in = ctx.facts.get("files_in", [])
        by_kind = {
            k: sum(1 for f in files_in if f.get("kind") == k) for k in ("ack", "return", "noc")
        }
        row = self.res.ledger.conn.execute(
            "SELECT"
            " (SELECT count(*) FROM returns r JOIN inbound_files i ON i.id = r.inbound_file_id"
            "   WHERE i.run_id = %(run)s),"
            " (SELECT count(*) FROM nocs n JOIN inbound_files i ON i.id = n.inbound_file_id"
            "   WHERE i.run_id = %(run)s)",
            {"run": int(ctx.run_id)},
        ).fetchone()
        breaks = ctx.facts.get("breaks", {})
        return {
            "intake_transfers": int(ctx.facts.get("intake", {}).get("rows", 0)),
            "files_out": len(files_out),
            "entries_sent": sum(int(f["entries"]) for f in files_out),
            "files_in": len(files_in),
            "acks_in": by_kind["ack"],
            "return_files_in": by_kind["return"],
            "noc_files_in": by_kind["noc"],
            "quarantined": sum(1 for f in files_in if f.get("state") == "quarantined"),
            "returns": int(row[0]) if row else 0,
            "nocs": int(row[1]) if row else 0,
            "breaks": int(breaks.get("count", 0)) if isinstance(breaks, dict) else 0,
        }


def _snapshot(rates: pl.DataFrame, day: dt.date) -> pl.DataFrame:
    """Our originator-level rates of ``day`` in the ledger's snapshot shape (one wide row)."""
    today = rates.filter((pl.col("date") == day) & pl.col("sec_code").is_null())
    if today.height == 0:
        return pl.DataFrame()
    cols = []
    for measure in ("unauthorized", "administrative", "overall"):
        m = today.filter(pl.col("measure") == measure).select(
            "company_id",
            pl.col("window_from"),
            pl.col("window_to"),
            pl.col("returns").alias(f"{measure}_returns"),
            pl.col("rate_pct").alias(f"{measure}_rate_pct"),
            pl.col("days_out_of_compliance").alias(f"{measure}_days_out"),
            pl.col("debits").alias(f"_debits_{measure}"),
        )
        cols.append(m)
    wide = cols[0]
    for other in cols[1:]:
        wide = wide.join(
            other.drop("window_from", "window_to"), on="company_id", how="full", coalesce=True
        )
    return wide.with_columns(
        pl.lit(day).alias("report_date"),
        pl.col("_debits_unauthorized").alias("debits"),
        pl.col("_debits_overall").alias("debits_ex_rck"),
    ).drop("_debits_unauthorized", "_debits_administrative", "_debits_overall")


def _index_html(day: dt.date, summary: dict[str, Any], out: Path) -> str:
    links = []
    for rel, title in (
        ("finance/reconciliation.html", "Finance: daily reconciliation"),
        ("finance/reconciliation.xlsx", "Finance: workbook (XLSX)"),
        ("finance/actions.html", "Finance: actions on returns, NOCs and retries"),
        ("compliance/return-rates.html", "Compliance: return rates"),
        ("summary.json", "Run summary (JSON)"),
    ):
        if (out / rel).exists():
            links.append(f'<li><a href="{html.escape(rel)}">{html.escape(title)}</a></li>')
    breaks = summary.get("breaks", {}).get("count", 0)
    return (
        "<!doctype html><meta charset='utf-8'>"
        f"<title>achpipe {day}</title>"
        "<style>body{font:15px system-ui,sans-serif;margin:2rem;max-width:50rem}</style>"
        f"<h1>achpipe nightly run — {day}</h1>"
        f"<p>Files sent: {len(summary['files_out'])}; files received: "
        f"{len(summary['files_in'])}; breaks: {breaks}; rate limit crossed: "
        f"{'yes' if summary.get('rate_limit_crossed') else 'no'}.</p>"
        f"<ul>{''.join(links)}</ul>"
    )
