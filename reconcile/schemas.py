"""The frames reconciliation reads and writes, declared once.

Every public function of this package takes and returns ``LazyFrame``s whose columns are the
schemas below. Callers (the nightly run reading the ledger, ``achpipe reconcile`` reading
exports) bring their data to these shapes with :func:`conform`, which adds missing optional
columns as nulls and casts, so a CSV export and a ledger query meet the same code.

Money is integer cents, always positive; the direction is a separate column. Dates are
``pl.Date``. Account numbers never appear in clear: inputs carry at most ``account_last4``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import polars as pl

# --- inputs -------------------------------------------------------------------------------

#: What we were asked to send: one row per transfer in the ledger. ``reference`` is our
#: transfer reference (also sent to the API), ``cfi_transaction_id`` the processor's id when
#: known, ``trace_number`` when the ledger already knows which entry carries it.
LEDGER_SCHEMA = pl.Schema(
    {
        "reference": pl.String,
        "cfi_transaction_id": pl.String,
        "trace_number": pl.String,
        "company_id": pl.String,
        "sec_code": pl.String,
        "direction": pl.String,  # "debit" | "credit"
        "amount_cents": pl.Int64,
        "effective_date": pl.Date,
        "individual_name": pl.String,
        "account_last4": pl.String,
    }
)

#: What we put in files: one row per entry detail record we sent (offset entries included,
#: flagged by ``is_offset``). ``file_id`` + ``batch_number`` identify the batch an offset
#: entry balances.
ENTRIES_SCHEMA = pl.Schema(
    {
        "trace_number": pl.String,
        "reference": pl.String,
        "cfi_transaction_id": pl.String,
        "company_id": pl.String,
        "sec_code": pl.String,
        "transaction_code": pl.Int16,
        "amount_cents": pl.Int64,
        "effective_date": pl.Date,
        "settlement_date": pl.Date,
        "file_id": pl.String,
        "batch_number": pl.Int64,
        "is_offset": pl.Boolean,
        "individual_name": pl.String,
        "account_last4": pl.String,
    }
)

#: The processor's view: one row per transfer from connectFi query/list.
API_SCHEMA = pl.Schema(
    {
        "cfi_transaction_id": pl.String,
        "reference": pl.String,
        "trace_number": pl.String,
        "status": pl.String,  # Initiated | Sent | Complete | Settled | Returned | Declined
        "direction": pl.String,
        "amount_cents": pl.Int64,
        "effective_date": pl.Date,
        "settlement_date": pl.Date,
        "return_code": pl.String,
        "noc_code": pl.String,
    }
)

#: Return entries we received (addenda 99), including dishonored (R61–R70) and contested
#: dishonored (R71–R77) returns. ``return_date`` is the return's settlement date (fallback:
#: the date received). ``kind`` is derived from the code when absent.
RETURNS_SCHEMA = pl.Schema(
    {
        "trace_number": pl.String,
        "original_trace_number": pl.String,
        "return_code": pl.String,
        "return_date": pl.Date,
        "amount_cents": pl.Int64,
        "kind": pl.String,  # return | dishonor | contested
        "date_of_death": pl.Date,
        "addenda_information": pl.String,
    }
)

#: Notifications of Change we received (addenda 98).
NOCS_SCHEMA = pl.Schema(
    {
        "trace_number": pl.String,
        "original_trace_number": pl.String,
        "change_code": pl.String,
        "corrected_data": pl.String,
        "received_date": pl.Date,
        "applied": pl.Boolean,  # the change was made (null: not known)
    }
)

#: File acknowledgments (one row per file we uploaded and the bank answered).
ACKS_SCHEMA = pl.Schema(
    {
        "file_id": pl.String,
        "status": pl.String,  # ACCEPTED | REJECTED
        "entry_count": pl.Int64,
        "total_debit_cents": pl.Int64,
        "total_credit_cents": pl.Int64,
    }
)

#: Entries as the return-rate calculation needs them (the `achpipe rates --from-files`
#: contract). ``settlement_date`` may be null: the effective date stands in.
RATE_ENTRIES_SCHEMA = pl.Schema(
    {
        "trace_number": pl.String,
        "company_id": pl.String,
        "sec_code": pl.String,
        "transaction_code": pl.Int16,
        "amount_cents": pl.Int64,
        "effective_date": pl.Date,
        "settlement_date": pl.Date,
    }
)

#: Returns as the rate calculation needs them; ``kind`` optional (derived from the code).
RATE_RETURNS_SCHEMA = pl.Schema(
    {
        "original_trace_number": pl.String,
        "return_code": pl.String,
        "return_date": pl.Date,
        "kind": pl.String,
    }
)

#: The API's `/return-rates` figures, one row per originator and reporting date.
API_RATES_SCHEMA = pl.Schema(
    {
        "company_id": pl.String,
        "date": pl.Date,
        "debit_entries": pl.Int64,
        "unauthorized_returns": pl.Int64,
        "unauthorized_rate_pct": pl.Float64,
        "unauthorized_days_out_of_compliance": pl.Int64,
        "administrative_returns": pl.Int64,
        "administrative_rate_pct": pl.Float64,
        "administrative_days_out_of_compliance": pl.Int64,
        "overall_returns": pl.Int64,
        "overall_rate_pct": pl.Float64,
        "overall_days_out_of_compliance": pl.Int64,
    }
)

# --- outputs ------------------------------------------------------------------------------

#: One row per input row of every source: the class it ended in and why.
ITEMS_SCHEMA = pl.Schema(
    {
        "source": pl.String,  # ledger | entry | api | return | noc
        "row": pl.Int64,  # 0-based row index within its source frame
        "class": pl.String,
        "match_rule": pl.String,  # trace_number | reference | cfi_transaction_id | offset | null
        "detail": pl.String,
        "reference": pl.String,
        "trace_number": pl.String,
        "cfi_transaction_id": pl.String,
        "company_id": pl.String,
        "sec_code": pl.String,
        "direction": pl.String,
        "amount_cents": pl.Int64,
        "effective_date": pl.Date,
        "settlement_date": pl.Date,
        "api_status": pl.String,
        "return_code": pl.String,
        "return_category": pl.String,
        "return_date": pl.Date,
        "change_code": pl.String,
        "corrected_data": pl.String,
        "account_last4": pl.String,
    }
)

#: Debits still inside a return window on the reconciliation date.
EXPOSURE_SCHEMA = pl.Schema(
    {
        "trace_number": pl.String,
        "reference": pl.String,
        "company_id": pl.String,
        "sec_code": pl.String,
        "amount_cents": pl.Int64,
        "settlement_date": pl.Date,
        "window": pl.String,  # "0-2 banking days" | "3-60 calendar days"
        "window_closes": pl.Date,  # the last day a timely return can arrive
        "days_left": pl.Int64,  # calendar days from the reconciliation date to window_closes
    }
)

#: Return rates: one row per (report date, originator, SEC code or null for all) and measure.
RATES_SCHEMA = pl.Schema(
    {
        "date": pl.Date,
        "window_from": pl.Date,
        "window_to": pl.Date,
        "company_id": pl.String,
        "sec_code": pl.String,  # null: all SEC codes of the originator together
        "measure": pl.String,  # unauthorized | administrative | overall
        "returns": pl.Int64,
        "debits": pl.Int64,
        "rate_pct": pl.Float64,
        "limit_pct": pl.Float64,
        "warning_level_pct": pl.Float64,  # the highest warning level reached, or null
        "warning": pl.Boolean,
        "breach": pl.Boolean,
        "days_out_of_compliance": pl.Int64,
        "first_breach_date": pl.Date,
    }
)

#: Our rates against the API's, per originator and measure.
RATE_COMPARISON_SCHEMA = pl.Schema(
    {
        "date": pl.Date,
        "company_id": pl.String,
        "measure": pl.String,
        "ours_pct": pl.Float64,
        "api_pct": pl.Float64,
        "difference_pp": pl.Float64,
        "ours_returns": pl.Int64,
        "api_returns": pl.Int64,
        "ours_debits": pl.Int64,
        "api_debits": pl.Int64,
        "ours_days_out_of_compliance": pl.Int64,
        "api_days_out_of_compliance": pl.Int64,
        "is_break": pl.Boolean,
        "detail": pl.String,
    }
)


def conform(
    frame: pl.LazyFrame | pl.DataFrame,
    schema: pl.Schema,
    *,
    required: Iterable[str] = (),
    strict: bool = True,
) -> pl.LazyFrame:
    """Bring ``frame`` to ``schema``: columns in order, cast, missing ones added as nulls.

    ``required`` columns must be present (a ``ValueError`` names them otherwise); columns not
    in the schema are dropped. Casting is strict by default so that "12.5" in an amount column
    fails loudly instead of becoming null.
    """
    lf = frame.lazy()
    present = lf.collect_schema()
    missing = [name for name in required if name not in present]
    if missing:
        raise ValueError(f"missing required column(s): {', '.join(missing)}")
    exprs = []
    for name, dtype in schema.items():
        if name in present:
            exprs.append(pl.col(name).cast(dtype, strict=strict))
        else:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
    return lf.select(exprs)


def empty(schema: Mapping[str, pl.DataType] | pl.Schema) -> pl.LazyFrame:
    """An empty frame of ``schema`` (for optional inputs that were not given)."""
    return pl.LazyFrame(schema=pl.Schema(schema))
