"""connectFi JSON objects -> polars frames with money in integer cents.

Responses are parsed with ``parse_float=Decimal`` so ``7.15`` never passes through binary
floating point; a value that is not a whole number of cents is a protocol error, not a
rounding. Account numbers leave this module masked (last four digits only).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import polars as pl

from nacha.masking import mask_account, mask_account_expr
from pipeline.api.errors import ConnectFiProtocolError

TRANSFER_SCHEMA = pl.Schema(
    {
        "cfi_transaction_id": pl.String,
        "cfi_aggregator_id": pl.String,
        "reference": pl.String,
        "client_code": pl.String,
        "status": pl.String,
        "created_at": pl.Datetime("ms", "UTC"),
        "updated_at": pl.Datetime("ms", "UTC"),
        "effective_entry_date": pl.Date,
        "sec_code": pl.String,
        "transaction_type": pl.String,
        "account_type": pl.String,
        "individual_name": pl.String,
        "routing_number": pl.String,
        "dfi_account_masked": pl.String,
        "amount_cents": pl.Int64,
        "currency": pl.String,
        "company_entry_description": pl.String,
        "identification_number": pl.String,
        "trace_number": pl.String,
        "settlement_date": pl.Date,
        "return_code": pl.String,
        "return_reason": pl.String,
        "returned_at": pl.Datetime("ms", "UTC"),
        "noc_code": pl.String,
        "noc_corrected_data": pl.String,
    }
)
"""Columns of every transfer frame (create, validate, query, list), in this order."""

RETURN_RATE_SCHEMA = pl.Schema(
    {
        "cfi_aggregator_id": pl.String,
        "client_code": pl.String,
        "date": pl.Date,
        "min_date": pl.Date,
        "max_date": pl.Date,
        "debit_entries": pl.Int64,
        "unauthorized_returns": pl.Int64,
        "unauthorized_return_rate": pl.Float64,
        "unauthorized_threshold": pl.Float64,
        "unauthorized_days_out_of_compliance": pl.Int64,
        "administrative_returns": pl.Int64,
        "administrative_return_rate": pl.Float64,
        "administrative_threshold": pl.Float64,
        "administrative_days_out_of_compliance": pl.Int64,
        "overall_returns": pl.Int64,
        "overall_return_rate": pl.Float64,
        "overall_threshold": pl.Float64,
        "overall_days_out_of_compliance": pl.Int64,
    }
)
"""Columns of the return-rates frame; rates are percent values (0.5 means 0.5 %)."""

_RATE_FIELDS = {
    "cFiAggregatorId": "cfi_aggregator_id",
    "clientCode": "client_code",
    "date": "date",
    "minDate": "min_date",
    "maxDate": "max_date",
    "debitEntries": "debit_entries",
    "unauthorizedReturns": "unauthorized_returns",
    "unauthorizedReturnRate": "unauthorized_return_rate",
    "unauthorizedThreshold": "unauthorized_threshold",
    "unauthorizedDaysOutOfCompliance": "unauthorized_days_out_of_compliance",
    "administrativeReturns": "administrative_returns",
    "administrativeReturnRate": "administrative_return_rate",
    "administrativeThreshold": "administrative_threshold",
    "administrativeDaysOutOfCompliance": "administrative_days_out_of_compliance",
    "overallReturns": "overall_returns",
    "overallReturnRate": "overall_return_rate",
    "overallThreshold": "overall_threshold",
    "overallDaysOutOfCompliance": "overall_days_out_of_compliance",
}


def cents_to_amount(cents: int) -> Decimal:
    """Integer cents -> the dollars value connectFi expects (exact, two decimals)."""
    if isinstance(cents, bool) or not isinstance(cents, int):
        raise TypeError(f"amount must be integer cents, got {type(cents).__name__}")
    if cents <= 0:
        raise ValueError(f"amount must be positive cents, got {cents}")
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def amount_to_cents(value: object, *, field: str = "amount") -> int:
    """A JSON money value (Decimal/int/str) -> integer cents; sub-cent values are refused."""
    if isinstance(value, bool) or value is None:
        raise ConnectFiProtocolError(f"{field}: not a number: {value!r}")
    try:
        dec = value if isinstance(value, Decimal) else Decimal(str(value))
        cents = dec * 100
    except (InvalidOperation, ValueError) as exc:
        raise ConnectFiProtocolError(f"{field}: not a number: {value!r}") from exc
    if cents != cents.to_integral_value():
        raise ConnectFiProtocolError(f"{field}: {value} is not a whole number of cents")
    return int(cents)


def _ts(value: object) -> datetime | None:
    if value in (None, ""):
        return None
    text = str(value)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ConnectFiProtocolError(f"bad timestamp {text!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _date(value: object) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise ConnectFiProtocolError(f"bad date {value!r}") from exc


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def transfer_row(obj: Mapping[str, Any]) -> dict[str, object]:
    """One connectFi transaction object -> one row of :data:`TRANSFER_SCHEMA`."""
    if not isinstance(obj, Mapping) or "cFiTransactionId" not in obj:
        raise ConnectFiProtocolError(f"not a transaction object: {str(obj)[:200]!r}")
    return {
        "cfi_transaction_id": str(obj["cFiTransactionId"]),
        "cfi_aggregator_id": _opt_str(obj.get("cFiAggregatorId")),
        "reference": _opt_str(obj.get("reference")),
        "client_code": _opt_str(obj.get("clientCode")),
        "status": _opt_str(obj.get("status")),
        "created_at": _ts(obj.get("dtsCreatedAt")),
        "updated_at": _ts(obj.get("dtsUpdatedAt") or obj.get("dtsCreatedAt")),
        "effective_entry_date": _date(obj.get("effectiveEntryDate")),
        "sec_code": _opt_str(obj.get("standardEntryClassCode")),
        "transaction_type": _opt_str(obj.get("transactionType")),
        "account_type": _opt_str(obj.get("accountType")),
        "individual_name": _opt_str(obj.get("individualName")),
        "routing_number": _opt_str(obj.get("routingNumber")),
        "dfi_account_masked": mask_account(_opt_str(obj.get("DFIAccountNumber"))),
        "amount_cents": amount_to_cents(obj.get("amount")),
        "currency": _opt_str(obj.get("currency")),
        "company_entry_description": _opt_str(obj.get("companyEntryDescription")),
        "identification_number": _opt_str(obj.get("identificationNumber")),
        "trace_number": _opt_str(obj.get("traceNumber")),
        "settlement_date": _date(obj.get("settlementDate")),
        "return_code": _opt_str(obj.get("returnCode")),
        "return_reason": _opt_str(obj.get("returnReason")),
        "returned_at": _ts(obj.get("dtsReturnedAt")),
        "noc_code": _opt_str(obj.get("nocCode")),
        "noc_corrected_data": _opt_str(obj.get("nocCorrectedData")),
    }


# TRANSFER_SCHEMA column -> the connectFi field it is read from (see :func:`transfer_row`).
_TRANSFER_FIELDS = {
    "cfi_transaction_id": "cFiTransactionId",
    "cfi_aggregator_id": "cFiAggregatorId",
    "reference": "reference",
    "client_code": "clientCode",
    "status": "status",
    "created_at": "dtsCreatedAt",
    "updated_at": "dtsUpdatedAt",
    "effective_entry_date": "effectiveEntryDate",
    "sec_code": "standardEntryClassCode",
    "transaction_type": "transactionType",
    "account_type": "accountType",
    "individual_name": "individualName",
    "routing_number": "routingNumber",
    "dfi_account_masked": "DFIAccountNumber",
    "amount_cents": "amount",
    "currency": "currency",
    "company_entry_description": "companyEntryDescription",
    "identification_number": "identificationNumber",
    "trace_number": "traceNumber",
    "settlement_date": "settlementDate",
    "return_code": "returnCode",
    "return_reason": "returnReason",
    "returned_at": "dtsReturnedAt",
    "noc_code": "nocCode",
    "noc_corrected_data": "nocCorrectedData",
}
# connectFi's own forms, parsed in polars; anything else goes through _ts/_date per value.
_TS_FORMAT = "%Y-%m-%dT%H:%M:%S%.f%z"
_AMOUNT = r"^([0-9]{1,15})(?:\.([0-9]*))?$"


def _text_column(values: list[Any]) -> pl.Series:
    """Strings as they are; other values as ``str(value)`` (what :func:`_opt_str` does)."""
    try:
        return pl.Series(values, dtype=pl.String)
    except (TypeError, pl.exceptions.PolarsError):
        return pl.Series([_opt_str(v) for v in values], dtype=pl.String)


def _parsed(raw: pl.Series, fast: pl.Series, slow: Any, dtype: pl.DataType) -> pl.Series:
    """``fast`` (a vectorised parse of ``raw``) where it understood the value; the per-value
    parser ``slow`` (which raises on garbage, or accepts rarer forms) everywhere else."""
    blank = raw.is_null() | (raw == "")
    missed = fast.is_null() & ~blank
    if not missed.any():
        return fast
    values = raw.to_list()
    fixed = [
        slow(v) if m else f
        for v, f, m in zip(values, fast.to_list(), missed.to_list(), strict=True)
    ]
    return pl.Series(fixed, dtype=dtype)


def _timestamps(raw: pl.Series) -> pl.Series:
    text = raw.str.replace(r"Z$", "+00:00")
    fast = text.str.to_datetime(_TS_FORMAT, time_unit="us", time_zone="UTC", strict=False)
    return _parsed(raw, fast, _ts, pl.Datetime("us", "UTC")).cast(pl.Datetime("ms", "UTC"))


def _dates(raw: pl.Series) -> pl.Series:
    fast = raw.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
    return _parsed(raw, fast, _date, pl.Date)


def _cents(values: list[Any]) -> pl.Series:
    """Exact cents from JSON money values (Decimal/int/str), in polars for plain amounts
    (digits, at most two significant decimals); :func:`amount_to_cents` for the rest, so a
    sub-cent, negative or malformed value is refused (or converted) exactly as before."""
    raw = pl.Series(
        [None if v is None or isinstance(v, bool) else str(v) for v in values], dtype=pl.String
    )
    parts = raw.str.extract_groups(_AMOUNT)
    whole = parts.struct.field("1")
    frac = parts.struct.field("2").fill_null("").str.strip_chars_end("0")
    ok = whole.is_not_null() & (frac.str.len_chars() <= 2)
    cents = whole.cast(pl.Int64, strict=False) * 100 + frac.str.pad_end(2, "0").cast(
        pl.Int64, strict=False
    )
    if ok.all():
        return cents
    return pl.Series(
        [
            c if good else amount_to_cents(v)
            for v, c, good in zip(values, cents.to_list(), ok.to_list(), strict=True)
        ],
        dtype=pl.Int64,
    )


def transfers_frame(objects: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    """Transaction objects -> a frame of :data:`TRANSFER_SCHEMA` (empty input -> 0 rows).

    Column by column: each field is gathered once into a list and converted in polars (a
    million objects row by row through :func:`transfer_row` cost several seconds of CPU).
    The result is exactly :func:`transfer_row`'s, errors included: values polars does not
    parse in connectFi's own format go through the same per-value parsers."""
    objs = objects if isinstance(objects, list) else list(objects)
    if not objs:
        return pl.DataFrame(schema=TRANSFER_SCHEMA)
    for obj in objs:
        # type(obj) is dict first: decoded JSON objects are dicts, and the Mapping ABC check
        # alone cost about a second per million objects
        if (
            type(obj) is not dict and not isinstance(obj, Mapping)
        ) or "cFiTransactionId" not in obj:
            raise ConnectFiProtocolError(f"not a transaction object: {str(obj)[:200]!r}")
    raw = {col: [o.get(field) for o in objs] for col, field in _TRANSFER_FIELDS.items()}
    created = raw["created_at"]
    raw["updated_at"] = [u or c for u, c in zip(raw["updated_at"], created, strict=True)]
    columns: dict[str, pl.Series] = {}
    for col, dtype in TRANSFER_SCHEMA.items():
        if col == "amount_cents":
            series = _cents(raw[col])
        elif col == "dfi_account_masked":
            text = _text_column(raw[col])
            series = text.to_frame("a").select(mask_account_expr("a")).to_series()
        elif col == "cfi_transaction_id":
            series = pl.Series([str(v) for v in raw[col]], dtype=pl.String)
        elif dtype == pl.String:
            series = _text_column(raw[col])
        elif isinstance(dtype, pl.Datetime):
            series = _timestamps(_text_column(raw[col]))
        else:
            series = _dates(_text_column(raw[col]))
        columns[col] = series.alias(col)
    return pl.DataFrame(columns, schema=TRANSFER_SCHEMA)


def transfers_frame_rowwise(objects: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    """The former row-by-row conversion, kept so tests can check :func:`transfers_frame`."""
    return pl.DataFrame([transfer_row(o) for o in objects], schema=TRANSFER_SCHEMA)


def return_rates_frame(records: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    """Return-rate records -> a frame of :data:`RETURN_RATE_SCHEMA`."""
    rows = []
    for rec in records:
        if not isinstance(rec, Mapping):
            raise ConnectFiProtocolError(f"not a return-rate record: {str(rec)[:200]!r}")
        row: dict[str, object] = {}
        for api_name, column in _RATE_FIELDS.items():
            value = rec.get(api_name)
            dtype = RETURN_RATE_SCHEMA[column]
            if dtype == pl.Date:
                row[column] = _date(value)
            elif dtype == pl.Float64:
                row[column] = None if value is None else float(value)
            elif dtype == pl.Int64:
                row[column] = None if value is None else int(value)
            else:
                row[column] = _opt_str(value)
        rows.append(row)
    return pl.DataFrame(rows, schema=RETURN_RATE_SCHEMA)
