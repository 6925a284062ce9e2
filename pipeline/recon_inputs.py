"""Read reconciliation inputs from CSV, Parquet, JSON or NACHA files into reconcile's frames.

A finance team reconciles exports without a database: each input may be CSV or Parquet with
our column names (or connectFi's, e.g. ``cFiTransactionId``, ``traceNumber``), a JSON array
of connectFi transaction objects for the API input, or a NACHA file for entries, returns and
NOCs. CSV cells are read as text and converted column by column, so trace numbers keep their
leading zeros and a bad date fails loudly naming the file and column.

Full account numbers never enter a frame: an account column becomes ``account_last4``.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal, InvalidOperation
from pathlib import Path

import polars as pl

from pipeline.errors import ConfigError
from reconcile import RateOptions, codes
from reconcile.schemas import conform

#: connectFi (and common export) names → ours.
ALIASES: dict[str, str] = {
    "cFiTransactionId": "cfi_transaction_id",
    "traceNumber": "trace_number",
    "originalTraceNumber": "original_trace_number",
    "effectiveEntryDate": "effective_date",
    "settlementDate": "settlement_date",
    "returnCode": "return_code",
    "nocCode": "noc_code",
    "nocCorrectedData": "corrected_data",
    "standardEntryClassCode": "sec_code",
    "transactionType": "direction",
    "individualName": "individual_name",
    "companyId": "company_id",
    "clientCode": "company_id",
    "transactionCode": "transaction_code",
    "amountCents": "amount_cents",
}
#: Columns holding a full account number: reduced to the last four characters on read.
ACCOUNT_COLUMNS = ("DFIAccountNumber", "dfi_account_number", "account_number", "dfi_account")

_TRUE = ("true", "t", "1", "yes", "y")


def _normalise_names(lf: pl.LazyFrame) -> pl.LazyFrame:
    names = lf.collect_schema().names()
    renames = {n: ALIASES[n] for n in names if n in ALIASES and ALIASES[n] not in names}
    lf = lf.rename(renames)
    names = lf.collect_schema().names()
    for col in ACCOUNT_COLUMNS:
        if col in names:
            if "account_last4" not in names:
                lf = lf.with_columns(
                    pl.col(col)
                    .cast(pl.String)
                    .str.strip_chars()
                    .str.slice(-4)
                    .alias("account_last4")
                )
                names.append("account_last4")
            lf = lf.drop(col)
    if "direction" in names:
        lf = lf.with_columns(pl.col("direction").cast(pl.String).str.to_lowercase())
    if "amount" in names and "amount_cents" not in names:
        lf = lf.with_columns(
            pl.col("amount")
            .cast(pl.String)
            .map_elements(_dollars_to_cents, return_dtype=pl.Int64)
            .alias("amount_cents")
        )
    return lf


def _dollars_to_cents(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        cents = Decimal(value) * 100
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {value!r}") from exc
    if cents != cents.to_integral_value():
        raise ValueError(f"amount has fractions of a cent: {value!r}")
    return int(cents)


def _from_text(lf: pl.LazyFrame, schema: pl.Schema) -> pl.LazyFrame:
    """Convert text columns to the schema's types (empty text is null)."""
    present = lf.collect_schema()
    exprs = []
    for name, dtype in schema.items():
        if name not in present or present[name] != pl.String:
            continue
        text = pl.col(name).str.strip_chars()
        text = pl.when(text == "").then(None).otherwise(text)
        if dtype == pl.String:
            exprs.append(text.alias(name))
        elif dtype == pl.Date:
            exprs.append(text.str.to_date("%Y-%m-%d", strict=True).alias(name))
        elif dtype == pl.Boolean:
            exprs.append(text.str.to_lowercase().is_in(list(_TRUE)).alias(name))
        else:
            exprs.append(text.cast(dtype, strict=True).alias(name))
    return lf.with_columns(exprs) if exprs else lf


def _is_nacha(path: Path) -> bool:
    with path.open("rb") as fh:
        head = fh.read(96)
    return len(head) >= 94 and head[:3] == b"101" and head[94:95] in (b"\n", b"\r", b"5", b"")


def read_input(
    path: str | Path, schema: pl.Schema, *, kind: str, required: tuple[str, ...] = ()
) -> pl.LazyFrame:
    """Read one input file of ``kind`` (ledger, entries, api, returns, nocs, acks…) to ``schema``.

    The file is read eagerly (a bad cell fails here, naming the file and column) and returned
    as a ``LazyFrame`` over the loaded data. Raises :class:`ConfigError` naming the file when
    it cannot be read or lacks columns.
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{kind}: no such file: {p}")
    try:
        suffix = p.suffix.lower()
        if suffix in (".parquet", ".pq"):
            lf = pl.scan_parquet(p)
        elif suffix == ".json":
            lf = _read_json(p)
        elif kind in ("entries", "returns", "nocs") and _is_nacha(p):
            lf = _read_nacha(p, kind)
        else:
            lf = pl.scan_csv(p, infer_schema=False)
        lf = _from_text(_normalise_names(lf), schema)
        # Read now, so a bad cell fails here naming the file, not later inside a join.
        return conform(lf, schema, required=required).collect().lazy()
    except ConfigError:
        raise
    except (ValueError, pl.exceptions.PolarsError, OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{kind}: cannot read {p}: {exc}") from exc


def _read_json(p: Path) -> pl.LazyFrame:
    data = json.loads(p.read_text(encoding="utf-8"))
    if isinstance(
        data, dict
    ):  # connectFi envelope: {"data": [...]} or {"data": {"transactions": [...]}}
        data = data.get("data", data)
        if isinstance(data, dict):
            data = data.get("transactions", [data])
    if not isinstance(data, list):
        raise ValueError("expected a JSON array of objects")
    rows = [{k: (None if v is None else str(v)) for k, v in row.items()} for row in data]
    if not rows:
        return pl.LazyFrame()
    names = list(dict.fromkeys(k for row in rows for k in row))
    return pl.LazyFrame(
        {n: [r.get(n) for r in rows] for n in names}, schema=dict.fromkeys(names, pl.String)
    )


def _read_nacha(p: Path, kind: str) -> pl.LazyFrame:
    """Entries, returns or NOCs of a NACHA file (``nacha.read``) in reconcile's column names."""
    from nacha import read

    nf = read(p)
    if kind == "entries":
        return nacha_entries(nf.entries, nf.batches, file_id=p.name).lazy()
    if kind == "returns":
        r = nf.returns
        day = pl.coalesce(_julian("settlement_date", "effective_date"), "effective_date")
        return r.lazy().select(
            "trace_number",
            "original_trace_number",
            pl.col("return_reason_code").alias("return_code"),
            day.alias("return_date"),
            pl.col("amount").alias("amount_cents"),
            pl.col("return_kind").replace({"dishonored": "dishonor"}).alias("kind"),
            "addenda_information",
        )
    n = nf.nocs
    day = pl.coalesce(_julian("settlement_date", "effective_date"), "effective_date")
    return n.lazy().select(
        "trace_number",
        "original_trace_number",
        "change_code",
        "corrected_data",
        day.alias("received_date"),
    )


def _julian(julian: str, anchor: str) -> pl.Expr:
    """A 3-digit Julian settlement day as a date, in the year that puts it nearest ``anchor``."""
    jd = pl.col(julian).str.strip_chars().cast(pl.Int32, strict=False)
    year = pl.col(anchor).dt.year()
    candidates = [pl.date(year + dy, 1, 1) + pl.duration(days=jd - 1) for dy in (-1, 0, 1)]
    best = candidates[1]
    for cand in (candidates[0], candidates[2]):
        closer = (cand - pl.col(anchor)).dt.total_days().abs() < (
            best - pl.col(anchor)
        ).dt.total_days().abs()
        best = pl.when(closer).then(cand).otherwise(best)
    return pl.when(jd.is_between(1, 366)).then(best)


def nacha_entries(entries: pl.DataFrame, batches: pl.DataFrame, *, file_id: str) -> pl.DataFrame:
    """The entries of a NACHA file with batch fields, offsets flagged, account reduced to 4.

    An offset entry is the last entry of a batch that has the opposite direction of every
    other entry and nets the batch to zero; or the only entry of a batch that nets the
    batch just before it to zero (an offset in a companion batch).
    """
    b = batches.select(
        "batch_index",
        "batch_number",
        "company_id",
        "sec_code",
        "effective_date",
        _julian("settlement_date", "effective_date").alias("settlement_date"),
    )
    e = entries.join(b, on="batch_index", how="left").with_columns(
        transaction_code=pl.col("transaction_code").cast(pl.Int16, strict=False),
    )
    e = e.with_columns(
        _signed=pl.when(codes.direction_expr("transaction_code") == "debit")
        .then(pl.col("amount"))
        .otherwise(-pl.col("amount")),
        _last=pl.col("entry_index") == pl.col("entry_index").max().over("batch_index"),
        _n=pl.len().over("batch_index"),
    )
    e = e.with_columns(
        _others=(pl.col("_signed").sum() - pl.col("_signed")).over("batch_index"),
        _others_sign=pl.col("_signed")
        .sign()
        .filter(~pl.col("_last"))
        .n_unique()
        .over("batch_index"),
    )
    net = e.group_by("batch_index").agg(_batch_net=pl.col("_signed").sum())
    prev = net.select(pl.col("batch_index") + 1, pl.col("_batch_net").alias("_prev_net"))
    e = e.join(prev, on="batch_index", how="left")
    inline = (
        pl.col("_last")
        & (pl.col("_n") >= 2)
        & (pl.col("_others_sign") == 1)
        & (pl.col("_others") + pl.col("_signed") == 0)
        & (pl.col("_others") != 0)
    )
    companion = (pl.col("_n") == 1) & (pl.col("_prev_net").fill_null(0) + pl.col("_signed") == 0)
    companion = companion & (pl.col("_prev_net").fill_null(0) != 0)
    return e.select(
        "trace_number",
        pl.col("identification_number").str.strip_chars().replace("", None).alias("reference"),
        "company_id",
        "sec_code",
        "transaction_code",
        pl.col("amount").alias("amount_cents"),
        "effective_date",
        "settlement_date",
        pl.lit(file_id).alias("file_id"),
        "batch_number",
        (inline | companion).alias("is_offset"),
        pl.col("individual_name").str.strip_chars(),
        pl.col("dfi_account_number").str.strip_chars().str.slice(-4).alias("account_last4"),
    )


def rate_inputs_from_ledger(
    ledger: object, report_date: dt.date, options: RateOptions
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Entries and returns for :func:`reconcile.compute_rates` from a ``pipeline.store.Ledger``.

    Entries back far enough for the window, the history and a margin for days out of
    compliance; a return's date is its settlement date, else the date received.
    """
    span = options.window_days * 3 + options.history_days + 1
    entries = ledger.entries_frame(  # type: ignore[attr-defined]
        effective_from=report_date - dt.timedelta(days=span)
    )
    returns = ledger.returns_frame()  # type: ignore[attr-defined]
    return (
        entries.lazy().select(
            "trace_number",
            "company_id",
            "sec_code",
            pl.col("transaction_code").cast(pl.Int16),
            "amount_cents",
            "effective_date",
            "settlement_date",
        ),
        returns.lazy().select(
            "original_trace_number",
            "return_code",
            pl.coalesce("settlement_date", "received_date").alias("return_date"),
            "kind",
        ),
    )
