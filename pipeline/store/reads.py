"""Reads for reconciliation and reports: polars frames with declared schemas.

Account numbers never come back in clear: frames carry ``account_last4`` (and the keyed hash
where matching needs it). Dates are ``pl.Date``, money ``pl.Int64`` cents.
"""

from __future__ import annotations

import select
from collections.abc import Sequence
from datetime import date
from typing import Any

import polars as pl
import psycopg
from psycopg import pq

from pipeline.store.errors import translate_errors

ENTRIES_SCHEMA = pl.Schema(
    {
        "entry_id": pl.Int64,
        "trace_number": pl.String,
        "reference": pl.String,
        "transfer_id": pl.String,
        "company_id": pl.String,
        "sec_code": pl.String,
        "transaction_code": pl.Int64,
        "amount_cents": pl.Int64,
        "effective_date": pl.Date,
        "settlement_date": pl.Date,
        "rdfi_routing": pl.String,
        "account_last4": pl.String,
        "individual_name": pl.String,
        "individual_id": pl.String,
        "batch_number": pl.Int64,
        "file_name": pl.String,
        "file_id_modifier": pl.String,
        "creation_date": pl.Date,
        "file_state": pl.String,
    }
)
TRANSFERS_SCHEMA = pl.Schema(
    {
        "cfi_transaction_id": pl.String,
        "cfi_aggregator_id": pl.String,
        "reference": pl.String,
        "status": pl.String,
        "transaction_type": pl.String,
        "sec_code": pl.String,
        "amount_cents": pl.Int64,
        "effective_date": pl.Date,
        "settlement_date": pl.Date,
        "trace_number": pl.String,
        "routing_number": pl.String,
        "account_last4": pl.String,
        "individual_name": pl.String,
        "return_code": pl.String,
        "noc_code": pl.String,
        "created_at_api": pl.Datetime("us", "UTC"),
        "updated_at_api": pl.Datetime("us", "UTC"),
        "status_changed_at": pl.Datetime("us", "UTC"),
    }
)
API_STATUS_SCHEMA = pl.Schema(
    {
        "cfi_transaction_id": pl.String,
        "reference": pl.String,
        "status": pl.String,
        "amount_cents": pl.Int64,
        "trace_number": pl.String,
        "return_code": pl.String,
        "return_reason": pl.String,
        "returned_at": pl.Datetime("us", "UTC"),
        "noc_code": pl.String,
        "noc_corrected_masked": pl.String,
        "updated_at_api": pl.Datetime("us", "UTC"),
    }
)
RETURNS_SCHEMA = pl.Schema(
    {
        "return_id": pl.Int64,
        "trace_number": pl.String,
        "original_trace_number": pl.String,
        "return_code": pl.String,
        "kind": pl.String,
        "category": pl.String,
        "amount_cents": pl.Int64,
        "transaction_code": pl.Int64,
        "company_id": pl.String,
        "sec_code": pl.String,
        "date_of_death": pl.Date,
        "addenda_information": pl.String,
        "settlement_date": pl.Date,
        "received_date": pl.Date,
        "return_date": pl.Date,
        "entry_id": pl.Int64,
        "reference": pl.String,
        "transfer_id": pl.String,
        "inbound_file": pl.String,
    }
)
NOCS_SCHEMA = pl.Schema(
    {
        "noc_id": pl.Int64,
        "trace_number": pl.String,
        "original_trace_number": pl.String,
        "change_code": pl.String,
        "corrected_masked": pl.String,
        "company_id": pl.String,
        "sec_code": pl.String,
        "received_date": pl.Date,
        "applied": pl.Boolean,
        "entry_id": pl.Int64,
        "reference": pl.String,
        "transfer_id": pl.String,
        "inbound_file": pl.String,
    }
)
RATES_SCHEMA = pl.Schema(
    {
        "company_id": pl.String,
        "sec_code": pl.String,
        "report_date": pl.Date,
        "window_from": pl.Date,
        "window_to": pl.Date,
        "debits": pl.Int64,
        "debits_ex_rck": pl.Int64,
        "unauthorized_returns": pl.Int64,
        "administrative_returns": pl.Int64,
        "overall_returns": pl.Int64,
        "unauthorized_rate_pct": pl.Float64,
        "administrative_rate_pct": pl.Float64,
        "overall_rate_pct": pl.Float64,
        "unauthorized_breach": pl.Boolean,
        "administrative_breach": pl.Boolean,
        "overall_breach": pl.Boolean,
        "unauthorized_days_out": pl.Int64,
        "administrative_days_out": pl.Int64,
        "overall_days_out": pl.Int64,
    }
)


def _export_expr(column: str, dtype: pl.DataType, *, iso_dates: bool) -> str:
    """How one column of the inner query is rendered for CSV export, independent of the
    session's DateStyle/TimeZone: text as text (quoted by ``FORCE_QUOTE``, see :func:`_frame`),
    dates and instants in fixed ISO form, booleans
    as ``true``/``false`` (Postgres's CSV would say ``t``/``f``). Dates go out as they are
    when the session's DateStyle is already ISO (``to_char`` doubles the server's cost)."""
    if dtype == pl.String:
        return f"{column}::text"
    if dtype == pl.Date:
        return column if iso_dates else f"to_char({column}, 'YYYY-MM-DD')"
    if isinstance(dtype, pl.Datetime):
        return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')"""
    if dtype == pl.Boolean:
        return f"{column}::text"
    if dtype == pl.Float64:
        return f"{column}::float8"
    return column


def _csv_schema(schema: pl.Schema) -> pl.Schema:
    """The schema the CSV is parsed with: instants arrive naive UTC, tagged afterwards."""
    return pl.Schema(
        {
            name: pl.Datetime("us") if isinstance(dtype, pl.Datetime) else dtype
            for name, dtype in schema.items()
        }
    )


def _copy_out(conn: psycopg.Connection, statement: str, params: tuple[Any, ...]) -> bytearray:
    """All the data of ``COPY ... TO STDOUT``, concatenated.

    libpq hands COPY data over one row at a time; psycopg's ``Copy.read()`` wraps each row in
    a generator driven by ``Connection.wait`` (0.75 s of CPU per million rows here). Rows
    libpq has already received are taken straight from the libpq wrapper (``get_copy_data``
    without waiting: 0.3 s per million); only when none is buffered does ``Copy.read()``
    wait for the socket. When the end of the data is met here rather than inside
    ``Copy.read()``, the statement's result is collected here, and a server error raises
    the same psycopg error class ``Copy.read()`` would."""
    out = bytearray()
    with conn.cursor() as cur, cur.copy(statement, params) as copy:
        take = conn.pgconn.get_copy_data
        while True:
            nbytes, data = take(1)
            if nbytes > 0:
                out += data
            elif nbytes == 0:  # nothing buffered: let psycopg wait for the next row
                row = copy.read()
                if not row:  # psycopg met the end and collected the result
                    return out
                out += row
            else:
                _finish_copy_out(conn.pgconn)
                return out


def _finish_copy_out(pgconn: pq.abc.PGconn) -> None:
    """The results after COPY's last row (libpq's ``get_copy_data`` returned -1): wait for
    them, raise the server's error if the statement failed."""
    failure: pq.abc.PGresult | None = None
    while True:
        while pgconn.is_busy():
            select.select([pgconn.socket], [], [])
            pgconn.consume_input()
        result = pgconn.get_result()
        if result is None:
            break
        if result.status != pq.ExecStatus.COMMAND_OK and failure is None:
            failure = result
    if failure is not None:
        state = (failure.error_field(pq.DiagnosticField.SQLSTATE) or b"").decode()
        primary = failure.error_field(pq.DiagnosticField.MESSAGE_PRIMARY)
        message = (primary or failure.error_message or b"").decode(errors="replace").strip()
        try:
            error_class = psycopg.errors.lookup(state)
        except KeyError:
            error_class = psycopg.DatabaseError
        raise error_class(message or "COPY failed")


def _frame(
    conn: psycopg.Connection, query: str, params: tuple[Any, ...], schema: pl.Schema, action: str
) -> pl.DataFrame:
    """Run ``query`` as one ``COPY ... TO STDOUT (FORMAT csv)`` and parse it with the declared
    schema: no per-row Python objects, no dtype inference (traces keep leading zeros)."""
    aliases = [f"c{i}" for i in range(len(schema))]
    iso_dates = (conn.info.parameter_status("DateStyle") or "").startswith("ISO")
    exprs = ", ".join(
        f"{_export_expr(alias, dtype, iso_dates=iso_dates)} AS {alias}"
        for alias, dtype in zip(aliases, schema.dtypes(), strict=True)
    )
    # Every text value goes out quoted, NULL as an unquoted empty field: polars reads a quoted
    # "" as '' and an empty field as null, so the two stay apart without marking the text
    # (a one-character prefix, cut off again afterwards, copied every text column twice).
    texts = [a for a, dtype in zip(aliases, schema.dtypes(), strict=True) if dtype == pl.String]
    quote = f", FORCE_QUOTE ({', '.join(texts)})" if texts else ""
    statement = (
        f"COPY (SELECT {exprs} FROM ({query}) AS q({', '.join(aliases)}))"
        f" TO STDOUT (FORMAT csv, HEADER false{quote})"
    )
    with translate_errors(action):
        buffer = _copy_out(conn, statement, params)
    if not buffer:
        return pl.DataFrame(schema=schema)
    frame = pl.read_csv(
        bytes(buffer),
        has_header=False,
        schema=_csv_schema(schema),
        try_parse_dates=False,
    )
    instants = [
        pl.col(name).dt.replace_time_zone(dtype.time_zone)
        for name, dtype in schema.items()
        if isinstance(dtype, pl.Datetime)
    ]
    return frame.with_columns(instants) if instants else frame


def _frame_rowwise(
    conn: psycopg.Connection, query: str, params: tuple[Any, ...], schema: pl.Schema, action: str
) -> pl.DataFrame:
    """The former row-by-row transport, kept only so tests can check ``_frame`` against it."""
    with translate_errors(action), conn.cursor() as cur:
        cur.execute(query, params)  # type: ignore[arg-type]
        rows = cur.fetchall()
    return pl.DataFrame(rows, schema=schema, orient="row")


def _subset(schema: pl.Schema, columns: Sequence[str] | None, what: str) -> pl.Schema:
    """``schema`` reduced to ``columns`` (in the schema's order); all of it when None."""
    if columns is None:
        return schema
    unknown = sorted(set(columns) - set(schema.names()))
    if unknown:
        raise ValueError(f"{what} have no column(s) {unknown}")
    return pl.Schema({c: t for c, t in schema.items() if c in set(columns)})


# The processor id of an entry: the acknowledgment's link (sql/0060), else the one recorded
# with the entry.
_LINKS_JOIN = (
    "LEFT JOIN entry_transfer_links l"
    " ON l.outbound_file_id = e.outbound_file_id AND l.trace_number = e.trace_number"
)
_TRANSFER_ID = "coalesce(l.transfer_id, e.transfer_id)"


class ReadsMixin:
    conn: psycopg.Connection

    def entries_frame(
        self,
        *,
        effective_from: date | None = None,
        effective_to: date | None = None,
        columns: Sequence[str] | None = None,
        file_states: Sequence[str] | None = None,
        other_file_states: bool = False,
    ) -> pl.DataFrame:
        """Entries we put in files (ENTRIES_SCHEMA), optionally by effective-date range.

        ``columns`` (a subset of ENTRIES_SCHEMA, kept in its order) reads only those: a step
        that needs seven columns of a million entries then does not ship the other twelve,
        nor join the tables only they come from. ``file_states`` keeps the entries of files
        in those states (``other_file_states``: in any other state), so a step that treats
        tonight's unanswered file apart reads its entries in the few columns it needs."""
        schema = _subset(ENTRIES_SCHEMA, columns, "entries")
        names = schema.names()
        special = {
            "entry_id": "e.id",
            "batch_number": "b.batch_number",
            "file_state": "f.state",
            "file_name": "f.file_name",
            "file_id_modifier": "f.file_id_modifier",
            "creation_date": "f.creation_date",
            "transfer_id": _TRANSFER_ID,
        }
        cols = ", ".join(special.get(c, f"e.{c}") for c in names)
        joins = []
        if "batch_number" in names:
            joins.append("JOIN batches b ON b.id = e.batch_id")
        if file_states is not None or any(
            c.startswith("file_") or c == "creation_date" for c in names
        ):
            joins.append("JOIN outbound_files f ON f.id = e.outbound_file_id")
        if "transfer_id" in names:
            joins.append(_LINKS_JOIN)
        where = (
            " WHERE (%s::date IS NULL OR e.effective_date >= %s::date)"
            "   AND (%s::date IS NULL OR e.effective_date <= %s::date)"
        )
        params: tuple[Any, ...] = (effective_from, effective_from, effective_to, effective_to)
        if file_states is not None:
            where += f" AND {'NOT ' if other_file_states else ''}(f.state = ANY(%s::text[]))"
            params = (*params, list(file_states))
        return _frame(
            self.conn,
            f"SELECT {cols} FROM entries e {' '.join(joins)}{where} ORDER BY e.id",
            params,
            schema,
            "reading entries",
        )

    def transfers_frame(self, *, columns: Sequence[str] | None = None) -> pl.DataFrame:
        """Transfers as recorded from the API (TRANSFERS_SCHEMA): what we were asked to pay.

        ``columns`` (a subset of TRANSFERS_SCHEMA, kept in its order) reads only those."""
        schema = _subset(TRANSFERS_SCHEMA, columns, "transfers")
        return _frame(
            self.conn,
            f"SELECT {', '.join(schema.names())} FROM transfers ORDER BY cfi_transaction_id",
            (),
            schema,
            "reading transfers",
        )

    def api_statuses_frame(self) -> pl.DataFrame:
        """The API's current view of each transfer (API_STATUS_SCHEMA)."""
        cols = ", ".join(API_STATUS_SCHEMA.names())
        return _frame(
            self.conn,
            f"SELECT {cols} FROM transfers ORDER BY cfi_transaction_id",
            (),
            API_STATUS_SCHEMA,
            "reading API statuses",
        )

    def returns_frame(self) -> pl.DataFrame:
        """Returns received, with the entry they return when linked (RETURNS_SCHEMA).

        ``return_date`` is the return's settlement date, else the date received (the date
        the rate windows use)."""
        return _frame(
            self.conn,
            "SELECT r.id, r.trace_number, r.original_trace_number, r.return_code, r.kind,"
            " r.category, r.amount_cents, r.transaction_code,"
            " coalesce(e.company_id, r.company_id), coalesce(e.sec_code, r.sec_code),"
            " r.date_of_death, r.addenda_information, r.settlement_date, r.received_date,"
            " coalesce(r.settlement_date, r.received_date), r.entry_id, e.reference,"
            f" {_TRANSFER_ID}, i.file_name"
            f" FROM returns r LEFT JOIN entries e ON e.id = r.entry_id {_LINKS_JOIN}"
            " LEFT JOIN inbound_files i ON i.id = r.inbound_file_id ORDER BY r.id",
            (),
            RETURNS_SCHEMA,
            "reading returns",
        )

    def nocs_frame(self) -> pl.DataFrame:
        """NOCs received, corrected data masked (NOCS_SCHEMA)."""
        return _frame(
            self.conn,
            "SELECT n.id, n.trace_number, n.original_trace_number, n.change_code,"
            " n.corrected_masked, coalesce(e.company_id, n.company_id),"
            " coalesce(e.sec_code, n.sec_code), n.received_date, n.applied, n.entry_id,"
            f" e.reference, {_TRANSFER_ID}, i.file_name"
            f" FROM nocs n LEFT JOIN entries e ON e.id = n.entry_id {_LINKS_JOIN}"
            " LEFT JOIN inbound_files i ON i.id = n.inbound_file_id ORDER BY n.id",
            (),
            NOCS_SCHEMA,
            "reading NOCs",
        )

    def return_rates_frame(self, report_date: date, *, by_sec_code: bool = False) -> pl.DataFrame:
        """The SQL view's rolling 60-day rates on ``report_date`` (RATES_SCHEMA): one row per
        originator (sec_code null), or per (originator, SEC code) with ``by_sec_code``."""
        view = "return_rates_by_sec_code" if by_sec_code else "return_rates_by_originator"
        cols = ", ".join(
            f"{c}::float8" if c.endswith("_rate_pct") else c for c in RATES_SCHEMA.names()
        )
        return _frame(
            self.conn,
            f"SELECT {cols} FROM {view} WHERE report_date = %s ORDER BY company_id, sec_code",
            (report_date,),
            RATES_SCHEMA,
            f"reading {view}",
        )
