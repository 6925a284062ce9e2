"""The few ledger reads the run needs that the store's repository does not offer.

Plain SQL over the ledger schema (sql/0001_ledger.sql), on the ledger's own connection so
they see the run's open transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import polars as pl
import psycopg

from pipeline.store.csv_copy import copy_csv
from pipeline.store.errors import translate_errors

FILE_ID_MODIFIERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
TRACE_UNIQUE_DAYS = 180  # trace numbers must not repeat within this window


@dataclass(frozen=True)
class OutboundRow:
    id: int
    file_name: str
    sha256: str
    sealed_sha256: str | None
    state: str
    remote_path: str | None
    entry_count: int
    total_debit_cents: int
    total_credit_cents: int


@dataclass(frozen=True)
class InboundRow:
    id: int
    file_name: str
    sha256: str
    kind: str
    state: str
    quarantine_reason: str | None


class RunQueries:
    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn

    def sent_references(self, references: Iterable[str | None] | pl.Series) -> set[str]:
        """Those of ``references`` (any iterable, or a polars Series: a night's column as it
        is) that already have an entry in some outbound file.

        The references go in by binary COPY and are joined (an array parameter of a night's
        references cost more to bind than the lookup itself)."""
        if isinstance(references, pl.Series):
            column = references.cast(pl.String)
            column = column.filter(column.is_not_null() & (column != "")).unique(
                maintain_order=True
            )
            refs = column.alias("reference").to_frame()
        else:
            refs = pl.DataFrame(
                {"reference": list(dict.fromkeys(r for r in references if r))},
                schema={"reference": pl.String},
            )
        if refs.height == 0:
            return set()
        with translate_errors("looking up already-sent references"), self.conn.transaction():
            self.conn.execute("DROP TABLE IF EXISTS pg_temp._sent_refs")
            self.conn.execute("CREATE TEMP TABLE _sent_refs (reference text)")
            copy_csv(self.conn, "_sent_refs", refs)
            self.conn.execute("ANALYZE _sent_refs")
            rows = self.conn.execute(
                "SELECT DISTINCT e.reference FROM entries e"
                " WHERE e.reference IN (SELECT reference FROM _sent_refs)"
            ).fetchall()
            self.conn.execute("DROP TABLE _sent_refs")
        return {r[0] for r in rows}

    def next_trace_sequence(self, settings: Any, business_date: date) -> int:
        """1 + the highest 7-digit trace sequence under our ODFI prefix used within 180 days
        of ``business_date`` (returns are matched on trace numbers: they must not repeat).
        After 9,999,999 the sequence wraps to 1 (the old traces are then long settled)."""
        prefix = settings.originator.odfi_routing[:8]
        with translate_errors("reading the last trace number"):
            row = self.conn.execute(
                "SELECT max(substr(trace_number, 9)::int) FROM entries"
                " WHERE trace_number LIKE %s AND effective_date >= %s::date - %s",
                (prefix + "%", business_date, TRACE_UNIQUE_DAYS),
            ).fetchone()
        last = int(row[0]) if row and row[0] is not None else 0
        return 1 if last >= 9_999_999 else last + 1

    def free_modifiers(self, origin: str, destination: str, creation_date: date) -> Iterator[str]:
        """The modifiers a real build would get next, without allocating them (dry runs)."""
        with translate_errors("reading FileIDModifier allocations"):
            row = self.conn.execute(
                "SELECT allocated FROM file_id_allocations WHERE immediate_origin = %s"
                " AND immediate_destination = %s AND creation_date = %s",
                (origin, destination, creation_date),
            ).fetchone()
        used = int(row[0]) if row else 0
        yield from FILE_ID_MODIFIERS[used:]

    def outbound_files(
        self, *, run_id: int | None = None, states: tuple[str, ...] = ()
    ) -> list[OutboundRow]:
        where, params = [], []  # type: ignore[var-annotated]
        if run_id is not None:
            where.append("run_id = %s")
            params.append(run_id)
        if states:
            where.append("state = ANY(%s)")
            params.append(list(states))
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        with translate_errors("listing outbound files"):
            rows = self.conn.execute(
                "SELECT id, file_name, sha256, sealed_sha256, state, remote_path, entry_count,"
                f" total_debit_cents, total_credit_cents FROM outbound_files{clause} ORDER BY id",
                params,
            ).fetchall()
        return [OutboundRow(*r) for r in rows]

    def outbound_by_name(self, names: Iterable[str]) -> dict[str, OutboundRow]:
        wanted = list(names)
        if not wanted:
            return {}
        with translate_errors("looking up outbound files"):
            rows = self.conn.execute(
                "SELECT id, file_name, sha256, sealed_sha256, state, remote_path, entry_count,"
                " total_debit_cents, total_credit_cents FROM outbound_files"
                " WHERE file_name = ANY(%s)",
                (wanted,),
            ).fetchall()
        return {r[1]: OutboundRow(*r) for r in rows}

    def inbound_files(
        self, *, states: tuple[str, ...] = (), run_id: int | None = None
    ) -> list[InboundRow]:
        where, params = [], []  # type: ignore[var-annotated]
        if states:
            where.append("state = ANY(%s)")
            params.append(list(states))
        if run_id is not None:
            where.append("run_id = %s")
            params.append(run_id)
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        with translate_errors("listing inbound files"):
            rows = self.conn.execute(
                "SELECT id, file_name, sha256, kind, state, quarantine_reason"
                f" FROM inbound_files{clause} ORDER BY id",
                params,
            ).fetchall()
        return [InboundRow(*r) for r in rows]

    def known_inbound(self, sha256: str) -> InboundRow | None:
        with translate_errors("looking up an inbound file"):
            row = self.conn.execute(
                "SELECT id, file_name, sha256, kind, state, quarantine_reason"
                " FROM inbound_files WHERE sha256 = %s",
                (sha256,),
            ).fetchone()
        return InboundRow(*row) if row else None

    def open_transfer_ids(self, *, since: date) -> list[str]:
        """API transfers that may still change: not Returned/Declined, seen since ``since``."""
        with translate_errors("listing open transfers"):
            rows = self.conn.execute(
                "SELECT cfi_transaction_id FROM transfers"
                " WHERE status NOT IN ('Returned', 'Declined')"
                " AND coalesce(effective_date, first_seen_at::date) >= %s ORDER BY 1",
                (since,),
            ).fetchall()
        return [r[0] for r in rows]

    def entry_references(self, *, since: date) -> list[str]:
        """References of entries sent since ``since`` whose processor id is not known yet."""
        with translate_errors("listing sent references"):
            # Only files the bank has answered: before that the API cannot know the entries.
            rows = self.conn.execute(
                "SELECT DISTINCT e.reference FROM entries e"
                " JOIN outbound_files f ON f.id = e.outbound_file_id"
                " WHERE e.reference IS NOT NULL AND e.transfer_id IS NULL"
                " AND f.state IN ('acknowledged', 'rejected') AND e.effective_date >= %s"
                " AND NOT EXISTS (SELECT 1 FROM entry_transfer_links l"
                "   WHERE l.outbound_file_id = e.outbound_file_id"
                "   AND l.trace_number = e.trace_number)"
                " ORDER BY 1",
                (since,),
            ).fetchall()
        return [r[0] for r in rows]

    def entry_transfer_ids(self, *, since: date) -> list[str]:
        """Processor ids (from acknowledgments) of entries sent since ``since``."""
        with translate_errors("listing processor ids of sent entries"):
            rows = self.conn.execute(
                "SELECT DISTINCT coalesce(l.transfer_id, e.transfer_id) AS id FROM entries e"
                " LEFT JOIN entry_transfer_links l ON l.outbound_file_id = e.outbound_file_id"
                " AND l.trace_number = e.trace_number"
                " WHERE coalesce(l.transfer_id, e.transfer_id) IS NOT NULL"
                " AND e.effective_date >= %s ORDER BY 1",
                (since,),
            ).fetchall()
        return [r[0] for r in rows]

    def link_transfer_ids(
        self, outbound_file_id: int, links: list[tuple[str, str]] | pl.DataFrame
    ) -> int:
        """Record the processor's id of each entry (from an acknowledgment), by trace; return
        how many links were recorded or changed. ``links`` are (trace, id) pairs, or a frame
        with ``trace_number`` and ``transfer_id``.

        The links go to ``entry_transfer_links`` (sql/0060), not into ``entries``: rewriting a
        million entry rows cost about a minute, appending a million links a second or two.
        The first acknowledgment of a file is COPYed straight in; a later one for the same
        file (rare) is staged and upserted, so its ids replace the earlier ones trace by
        trace. A trace listed twice keeps its last id. Runs in the caller's transaction."""
        if isinstance(links, pl.DataFrame):
            pairs = links.select(
                pl.col("trace_number").cast(pl.String), pl.col("transfer_id").cast(pl.String)
            )
        else:
            pairs = pl.DataFrame(
                {
                    "trace_number": [str(t) for t, _ in links],
                    "transfer_id": [str(c) for _, c in links],
                },
                schema={"trace_number": pl.String, "transfer_id": pl.String},
            )
        if pairs.height == 0:
            return 0
        if pairs.get_column("trace_number").n_unique() < pairs.height:
            pairs = pairs.unique("trace_number", keep="last", maintain_order=True)
        frame = pairs.select(
            pl.lit(outbound_file_id, dtype=pl.Int64).alias("outbound_file_id"),
            "trace_number",
            "transfer_id",
        )
        with translate_errors("linking entries to processor ids"), self.conn.transaction():
            linked_before = self.conn.execute(
                "SELECT 1 FROM entry_transfer_links WHERE outbound_file_id = %s LIMIT 1",
                (outbound_file_id,),
            ).fetchone()
            if linked_before is None:
                return copy_csv(self.conn, "entry_transfer_links", frame)
            self.conn.execute("DROP TABLE IF EXISTS pg_temp._ack_links")
            self.conn.execute(
                "CREATE TEMP TABLE _ack_links (outbound_file_id int8, trace_number text,"
                " transfer_id text)"
            )
            copy_csv(self.conn, "_ack_links", frame)
            cur = self.conn.execute(
                "INSERT INTO entry_transfer_links AS l (outbound_file_id, trace_number,"
                " transfer_id) SELECT outbound_file_id, trace_number, transfer_id FROM _ack_links"
                " ON CONFLICT (outbound_file_id, trace_number) DO UPDATE"
                " SET transfer_id = EXCLUDED.transfer_id"
                " WHERE l.transfer_id IS DISTINCT FROM EXCLUDED.transfer_id"
            )
            rowcount = cur.rowcount
            self.conn.execute("DROP TABLE _ack_links")
        return rowcount

    def last_api_update(self) -> datetime | None:
        """The newest ``dtsUpdatedAt`` the ledger has seen from the API (refresh resumes there)."""
        with translate_errors("reading the last API update"):
            row = self.conn.execute("SELECT max(updated_at_api) FROM transfers").fetchone()
        return row[0] if row else None
