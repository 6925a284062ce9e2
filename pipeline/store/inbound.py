"""Inbound files (acks, returns, NOCs) recorded exactly once by sha256, and the return and NOC
entries they carry, linked to the entries we sent by original trace number."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import psycopg

from pipeline.store.copy import stage_frame
from pipeline.store.errors import InvalidStateTransition, StoreError, translate_errors
from pipeline.store.protect import AccountProtector

INBOUND_KINDS = ("ack", "return", "noc", "unknown")
RETURN_COLUMNS = (
    "trace_number",
    "original_trace_number",
    "return_code",
    "amount_cents",
    "received_date",
)
RETURN_OPTIONAL = (
    "transaction_code",
    "company_id",
    "sec_code",
    "original_rdfi",
    "date_of_death",
    "addenda_information",
    "settlement_date",
)
NOC_COLUMNS = (
    "trace_number",
    "original_trace_number",
    "change_code",
    "corrected_data",
    "received_date",
)
NOC_OPTIONAL = ("company_id", "sec_code", "original_rdfi")

# The entry a return/NOC refers to: same trace number, the latest effective date not after
# the day it came back (trace numbers repeat across years; (trace, date) is the entry key).
_LINK = (
    "(SELECT e.id FROM entries e WHERE e.trace_number = s.original_trace_number"
    " ORDER BY (e.effective_date <= s.received_date) DESC, e.effective_date DESC LIMIT 1)"
)


@dataclass(frozen=True)
class InboundFile:
    """One row of ``inbound_files``; ``created`` is False when the sha256 was already known."""

    id: int
    file_name: str
    sha256: str
    kind: str
    state: str
    quarantine_reason: str | None
    created: bool

    @property
    def needs_ingest(self) -> bool:
        """True until the file is ingested or quarantined (a crash mid-ingest leaves it so)."""
        return self.state == "received"


class InboundMixin:
    conn: psycopg.Connection
    protector: AccountProtector | None

    def record_inbound_file(
        self,
        file_name: str,
        sha256: str,
        size_bytes: int,
        *,
        kind: str = "unknown",
        run_id: int | None = None,
    ) -> InboundFile:
        """Record a received file once per sha256 (of the bytes as received); a second call
        with the same sha256 returns the existing row with ``created=False``."""
        if kind not in INBOUND_KINDS:
            raise ValueError(f"inbound kind must be one of {INBOUND_KINDS}, not {kind!r}")
        cols = "id, file_name, sha256, kind, state, quarantine_reason"
        with translate_errors(f"recording inbound file {file_name}"), self.conn.transaction():
            row = self.conn.execute(
                f"INSERT INTO inbound_files (file_name, sha256, size_bytes, kind, run_id)"
                f" VALUES (%s, %s, %s, %s, %s) ON CONFLICT (sha256) DO NOTHING RETURNING {cols}",
                (file_name, sha256, size_bytes, kind, run_id),
            ).fetchone()
            created = row is not None
            if row is None:
                row = self.conn.execute(
                    f"SELECT {cols} FROM inbound_files WHERE sha256 = %s", (sha256,)
                ).fetchone()
        assert row is not None
        return InboundFile(*row, created=created)

    def _set_inbound_state(
        self, inbound_id: int, state: str, *, kind: str | None, reason: str | None
    ) -> None:
        with (
            translate_errors(f"marking inbound file {inbound_id} {state}"),
            self.conn.transaction(),
        ):
            row = self.conn.execute(
                "SELECT state FROM inbound_files WHERE id = %s FOR UPDATE", (inbound_id,)
            ).fetchone()
            if row is None:
                raise StoreError(f"no inbound file with id {inbound_id}")
            if row[0] == state:
                return
            if row[0] != "received":
                raise InvalidStateTransition(
                    f"inbound file {inbound_id}", current=row[0], requested=state
                )
            self.conn.execute(
                "UPDATE inbound_files SET state = %s, kind = coalesce(%s, kind),"
                " quarantine_reason = %s,"
                " ingested_at = CASE WHEN %s = 'ingested' THEN now() END WHERE id = %s",
                (state, kind, reason, state, inbound_id),
            )

    def mark_inbound_ingested(self, inbound_id: int, *, kind: str | None = None) -> None:
        """Mark a file ingested (call in the same transaction as recording its contents)."""
        if kind is not None and kind not in INBOUND_KINDS:
            raise ValueError(f"inbound kind must be one of {INBOUND_KINDS}, not {kind!r}")
        self._set_inbound_state(inbound_id, "ingested", kind=kind, reason=None)

    def quarantine_inbound(self, inbound_id: int, reason: str) -> None:
        """Quarantine a file that cannot be ingested; ``reason`` says why (required)."""
        if not reason:
            raise ValueError("a quarantine needs a reason")
        self._set_inbound_state(inbound_id, "quarantined", kind=None, reason=reason)

    def record_returns(self, inbound_id: int | None, returns: pl.DataFrame) -> int:
        """Record return entries (addenda 99); return how many were new.

        Columns: trace_number, original_trace_number, return_code, amount_cents,
        received_date [, transaction_code, company_id, sec_code, original_rdfi, date_of_death,
        addenda_information, settlement_date]. Each is linked to the entry it returns; kind
        (return/dishonor/contested) and category come from ``return_reason_codes`` (unknown
        codes: kind return, category unknown). A return already recorded (same original
        trace, return trace and code) is skipped, so ingesting twice is harmless.
        """
        missing = [c for c in RETURN_COLUMNS if c not in returns.columns]
        if missing:
            raise ValueError(f"returns frame lacks {missing}")
        cols = [*RETURN_COLUMNS, *(c for c in RETURN_OPTIONAL if c in returns.columns)]
        listed = ", ".join(cols)
        selected = ", ".join(f"s.{c}" for c in cols)
        with translate_errors("recording returns"), self.conn.transaction():
            stage_frame(self.conn, "returns", "returns_in", returns, columns=cols)
            cur = self.conn.execute(
                f"INSERT INTO returns (inbound_file_id, entry_id, kind, category, {listed})"
                f" SELECT %s, {_LINK}, coalesce(c.kind, 'return'),"
                f" coalesce(c.rate_category, 'unknown'), {selected}"
                f" FROM returns_in s LEFT JOIN return_reason_codes c ON c.code = s.return_code"
                f" ON CONFLICT (original_trace_number, trace_number, return_code) DO NOTHING",
                (inbound_id,),
            )
            return cur.rowcount

    def record_nocs(self, inbound_id: int | None, nocs: pl.DataFrame) -> int:
        """Record NOCs (addenda 98); return how many were new.

        Columns: trace_number, original_trace_number, change_code, corrected_data,
        received_date [, company_id, sec_code, original_rdfi]. Corrected data is stored
        encrypted (it may carry a new account number) with a masked copy for display.
        """
        missing = [c for c in NOC_COLUMNS if c not in nocs.columns]
        if missing:
            raise ValueError(f"NOC frame lacks {missing}")
        if self.protector is None:
            raise StoreError("an AccountProtector ([security] account_key) is needed for NOCs")
        cts, masked = self.protector.protect_corrected_data(
            nocs.get_column("change_code").to_list(), nocs.get_column("corrected_data").to_list()
        )
        frame = nocs.drop("corrected_data").with_columns(
            pl.Series("corrected_ciphertext", cts, dtype=pl.Binary),
            pl.Series("corrected_masked", masked, dtype=pl.String),
        )
        cols = [
            "trace_number",
            "original_trace_number",
            "change_code",
            "corrected_ciphertext",
            "corrected_masked",
            "received_date",
            *(c for c in NOC_OPTIONAL if c in frame.columns),
        ]
        listed = ", ".join(cols)
        selected = ", ".join(f"s.{c}" for c in cols)
        with translate_errors("recording NOCs"), self.conn.transaction():
            stage_frame(self.conn, "nocs", "nocs_in", frame, columns=cols)
            cur = self.conn.execute(
                f"INSERT INTO nocs (inbound_file_id, entry_id, {listed})"
                f" SELECT %s, {_LINK}, {selected} FROM nocs_in s"
                f" ON CONFLICT (original_trace_number, trace_number, change_code) DO NOTHING",
                (inbound_id,),
            )
            return cur.rowcount

    def mark_noc_applied(self, noc_id: int) -> None:
        """Record that the correction of a NOC was applied (idempotent)."""
        with translate_errors("marking a NOC applied"), self.conn.transaction():
            cur = self.conn.execute(
                "UPDATE nocs SET applied = true, applied_at = coalesce(applied_at, now())"
                " WHERE id = %s",
                (noc_id,),
            )
            if cur.rowcount != 1:
                raise StoreError(f"no NOC with id {noc_id}")

    def decrypt_noc_corrected_data(self, noc_id: int) -> str:
        """The clear corrected data of one NOC (for the one step that applies it)."""
        if self.protector is None:
            raise StoreError("an AccountProtector ([security] account_key) is needed")
        with translate_errors("reading a NOC"):
            row = self.conn.execute(
                "SELECT corrected_ciphertext FROM nocs WHERE id = %s", (noc_id,)
            ).fetchone()
        if row is None:
            raise StoreError(f"no NOC with id {noc_id}")
        return self.protector.decrypt_corrected_data(row[0])
