"""Outbound files: FileIDModifier allocation, recording a file with its batches and entries in
one transaction, and the file state machine built → sealed → uploaded → verified →
acknowledged / rejected (every change is also written to ``outbound_file_events``)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl
import psycopg
from psycopg.types.json import Jsonb

from pipeline.store.copy import copy_frame
from pipeline.store.entries_load import load_entries
from pipeline.store.errors import (
    FileIdModifiersExhausted,
    InvalidStateTransition,
    StoreError,
    StoreIntegrityError,
    translate_errors,
)
from pipeline.store.protect import PROTECTED_COLUMNS, AccountProtector

# NACHA FileIDModifier order: A-Z, then 0-9 (36 files per origin/destination/day).
FILE_ID_MODIFIERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

# Which state may follow which. Reaching the same state again is a no-op (reruns).
FILE_TRANSITIONS: dict[str, frozenset[str]] = {
    "built": frozenset({"sealed"}),
    "sealed": frozenset({"uploaded"}),
    "uploaded": frozenset({"verified", "acknowledged", "rejected"}),
    "verified": frozenset({"acknowledged", "rejected"}),
    "acknowledged": frozenset(),
    "rejected": frozenset(),
}

BATCH_COLUMNS = (
    "batch_number",
    "service_class_code",
    "company_name",
    "company_id",
    "sec_code",
    "company_entry_description",
    "effective_date",
)
ENTRY_COLUMNS = ("batch_number", "trace_number", "transaction_code", "amount_cents", "rdfi_routing")
ENTRY_OPTIONAL = ("reference", "transfer_id", "individual_name", "individual_id")


@dataclass(frozen=True)
class OutboundFile:
    """The file-level facts of a built NACHA file. Counts and totals left as None are computed
    from the batches/entries frames; when given they must agree with them."""

    file_name: str
    content: bytes | None = None  # the clear NACHA bytes; sha256/size computed from them
    sha256: str | None = None
    size_bytes: int | None = None
    immediate_origin: str = ""
    immediate_destination: str = ""
    creation_date: date | None = None
    file_id_modifier: str = ""
    entry_count: int | None = None
    total_debit_cents: int | None = None
    total_credit_cents: int | None = None


def is_debit(code: pl.Expr) -> pl.Expr:
    """NACHA transaction codes ending in 5-9 are debits, 0-4 credits."""
    return (code % 10) >= 5


class OutboundMixin:
    conn: psycopg.Connection
    protector: AccountProtector | None

    def allocate_file_id_modifier(self, origin: str, destination: str, creation_date: date) -> str:
        """The next FileIDModifier (A-Z then 0-9) for this origin, destination and date.

        Safe under concurrency: one atomic upsert whose row lock serialises allocators across
        processes, so concurrent callers get distinct values. Commits on its own (or with the
        caller's open transaction). The 37th allocation raises FileIdModifiersExhausted.
        """
        with translate_errors("allocating a FileIDModifier"), self.conn.transaction():
            row = self.conn.execute(
                "INSERT INTO file_id_allocations AS a"
                " (immediate_origin, immediate_destination, creation_date, allocated)"
                " VALUES (%s, %s, %s, 1)"
                " ON CONFLICT (immediate_origin, immediate_destination, creation_date)"
                " DO UPDATE SET allocated = a.allocated + 1, updated_at = now()"
                " WHERE a.allocated < 36"
                " RETURNING allocated",
                (origin, destination, creation_date),
            ).fetchone()
        if row is None:
            raise FileIdModifiersExhausted(
                f"all 36 FileIDModifiers (A-Z, 0-9) are used for origin {origin.strip()},"
                f" destination {destination.strip()} on {creation_date}; NACHA allows no"
                " 37th file that day — combine batches into fewer files or send tomorrow"
            )
        return FILE_ID_MODIFIERS[row[0] - 1]

    def record_outbound_file(
        self,
        file: OutboundFile,
        batches: pl.DataFrame,
        entries: pl.DataFrame,
        *,
        run_id: int | None = None,
    ) -> int:
        """Record a built file, its batches and its entries in ONE transaction; return its id.

        ``batches``: batch_number, service_class_code, company_name, company_id, sec_code,
        company_entry_description, effective_date [, settlement_date].
        ``entries``: batch_number, trace_number, transaction_code, amount_cents, rdfi_routing,
        account_number (clear; encrypted+hashed+last4 here, never stored) — or already
        protected account_ciphertext/account_hash/account_last4 — [, reference, transfer_id,
        individual_name, individual_id].

        Idempotent by sha256: recording the same file again returns the existing id. A
        different file with the same (origin, destination, date, modifier), or an entry whose
        (trace number, effective date) exists, raises DuplicateError and records nothing.
        The modifier must come from :meth:`allocate_file_id_modifier`.
        """
        sha, size = file.sha256, file.size_bytes
        if file.content is not None:
            sha = hashlib.sha256(file.content).hexdigest()
            size = len(file.content)
        if sha is None or size is None or file.creation_date is None:
            raise ValueError("OutboundFile needs content (or sha256 and size) and creation_date")
        missing = [c for c in BATCH_COLUMNS if c not in batches.columns]
        missing += [c for c in ENTRY_COLUMNS if c not in entries.columns]
        if missing:
            raise ValueError(f"missing column(s) {missing}")
        rows = self._entry_rows(batches, entries)
        debit = is_debit(pl.col("transaction_code"))
        totals = rows.select(
            pl.col("amount_cents").filter(debit).sum().alias("debit"),
            pl.col("amount_cents").filter(~debit).sum().alias("credit"),
        ).row(0)
        computed = {
            "entry_count": rows.height,
            "total_debit_cents": int(totals[0] or 0),
            "total_credit_cents": int(totals[1] or 0),
        }
        for name, value in computed.items():
            given = getattr(file, name)
            if given is not None and given != value:
                raise StoreIntegrityError(
                    f"{file.file_name}: {name} is {given} in the file but {value} in its entries"
                )
        with translate_errors(f"recording outbound file {file.file_name}"), self.conn.transaction():
            existing = self.conn.execute(
                "SELECT id FROM outbound_files WHERE sha256 = %s", (sha,)
            ).fetchone()
            if existing:
                return int(existing[0])
            index = FILE_ID_MODIFIERS.find(file.file_id_modifier) + 1
            allocated = self.conn.execute(
                "SELECT allocated FROM file_id_allocations WHERE immediate_origin = %s"
                " AND immediate_destination = %s AND creation_date = %s",
                (file.immediate_origin, file.immediate_destination, file.creation_date),
            ).fetchone()
            if index == 0 or allocated is None or allocated[0] < index:
                raise StoreIntegrityError(
                    f"{file.file_name}: FileIDModifier {file.file_id_modifier!r} was not"
                    " allocated by allocate_file_id_modifier for this origin/destination/date"
                )
            file_id = self.conn.execute(
                "INSERT INTO outbound_files (run_id, file_name, sha256, size_bytes,"
                " immediate_origin, immediate_destination, creation_date, file_id_modifier,"
                " batch_count, entry_count, total_debit_cents, total_credit_cents)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                (
                    run_id,
                    file.file_name,
                    sha,
                    size,
                    file.immediate_origin,
                    file.immediate_destination,
                    file.creation_date,
                    file.file_id_modifier,
                    batches.height,
                    computed["entry_count"],
                    computed["total_debit_cents"],
                    computed["total_credit_cents"],
                ),
            ).fetchone()[0]
            self.conn.execute(
                "INSERT INTO outbound_file_events (outbound_file_id, to_state)"
                " VALUES (%s, 'built')",
                (file_id,),
            )
            batch_ids = self._insert_batches(file_id, batches, rows)
            loaded = rows.join(batch_ids, on="batch_number", how="left").with_columns(
                pl.lit(file_id, dtype=pl.Int64).alias("outbound_file_id")
            )
            if loaded.get_column("batch_id").null_count():
                raise StoreIntegrityError(f"{file.file_name}: entries refer to unknown batches")
            self._copy_entries(loaded.drop("batch_number"))
        return int(file_id)

    def _copy_entries(self, rows: pl.DataFrame) -> None:
        """Load the entry rows (entries_load: a new day's partition is built, not inserted
        into), encrypting clear accounts a chunk at a time on the way.

        Protection is the client's main cost and the COPY the server's: chunked, the server
        inserts one chunk while the next is encrypted, instead of waiting for all of them.
        """
        if "account_number" not in rows.columns:
            load_entries(self.conn, rows, columns=rows.columns)
            return
        protector = self.protector
        if protector is None:  # _entry_rows checked it already; keeps the type checker honest
            raise StoreError("an AccountProtector ([security] account_key) is needed")
        columns = [c for c in rows.columns if c != "account_number"] + list(PROTECTED_COLUMNS)
        if protector.sharing_active:
            # most accounts were hashed (and new payees' encrypted) moments ago: one lookup
            # of the whole column costs less than one per chunk
            load_entries(self.conn, protector.protect_frame(rows), columns=columns)
            return
        load_entries(self.conn, rows, columns=columns, prepare=protector.protect_frame)

    def _entry_rows(self, batches: pl.DataFrame, entries: pl.DataFrame) -> pl.DataFrame:
        """Entries joined with their batch's company/SEC/dates; clear accounts (if given) are
        protected later, chunk by chunk, by :meth:`_copy_entries`."""
        if "account_number" in entries.columns:
            if self.protector is None:
                raise StoreError("an AccountProtector ([security] account_key) is needed")
            accounts: tuple[str, ...] = ("account_number",)
        elif all(c in entries.columns for c in PROTECTED_COLUMNS):
            accounts = PROTECTED_COLUMNS
        else:
            raise ValueError("entries need account_number or the protected account columns")
        extra = [c for c in ENTRY_OPTIONAL if c in entries.columns]
        batch_side = batches.select(
            "batch_number",
            "company_id",
            "sec_code",
            "effective_date",
            *(["settlement_date"] if "settlement_date" in batches.columns else []),
        )
        return entries.select(*ENTRY_COLUMNS, *accounts, *extra).join(
            batch_side, on="batch_number", how="left"
        )

    def _insert_batches(
        self, file_id: int, batches: pl.DataFrame, rows: pl.DataFrame
    ) -> pl.DataFrame:
        debit = is_debit(pl.col("transaction_code"))
        stats = rows.group_by("batch_number").agg(
            pl.len().alias("entry_count"),
            pl.col("amount_cents").filter(debit).sum().alias("total_debit_cents"),
            pl.col("amount_cents").filter(~debit).sum().alias("total_credit_cents"),
        )
        frame = (
            batches.select(
                *BATCH_COLUMNS,
                *(["settlement_date"] if "settlement_date" in batches.columns else []),
            )
            .join(stats, on="batch_number", how="left")
            .with_columns(
                pl.col("entry_count", "total_debit_cents", "total_credit_cents").fill_null(0),
                pl.lit(file_id, dtype=pl.Int64).alias("outbound_file_id"),
            )
        )
        copy_frame(self.conn, "batches", frame)
        ids = self.conn.execute(
            "SELECT batch_number, id FROM batches WHERE outbound_file_id = %s", (file_id,)
        ).fetchall()
        return pl.DataFrame(
            ids, schema={"batch_number": pl.Int64, "batch_id": pl.Int64}, orient="row"
        ).with_columns(pl.col("batch_number").cast(rows.schema["batch_number"]))

    def transition_file(
        self,
        file_id: int,
        to_state: str,
        *,
        reason: str | None = None,
        sealed_sha256: str | None = None,
        remote_path: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> bool:
        """Move an outbound file to ``to_state``; True if it changed, False if already there.

        Allowed: built→sealed→uploaded→verified→acknowledged|rejected (uploaded may also go
        straight to acknowledged/rejected). Anything else raises InvalidStateTransition.
        ``sealed_sha256`` (with sealed) and ``remote_path`` (with uploaded) are recorded.
        """
        if to_state not in FILE_TRANSITIONS:
            raise ValueError(f"unknown outbound file state {to_state!r}")
        with (
            translate_errors(f"moving outbound file {file_id} to {to_state}"),
            self.conn.transaction(),
        ):
            row = self.conn.execute(
                "SELECT state, file_name FROM outbound_files WHERE id = %s FOR UPDATE",
                (file_id,),
            ).fetchone()
            if row is None:
                raise StoreError(f"no outbound file with id {file_id}")
            current, name = row
            if current == to_state:
                return False
            if to_state not in FILE_TRANSITIONS[current]:
                raise InvalidStateTransition(
                    f"outbound file {name}", current=current, requested=to_state
                )
            self.conn.execute(
                "UPDATE outbound_files SET state = %s, updated_at = now(),"
                " sealed_sha256 = coalesce(%s, sealed_sha256),"
                " remote_path = coalesce(%s, remote_path),"
                " state_reason = coalesce(%s, state_reason) WHERE id = %s",
                (to_state, sealed_sha256, remote_path, reason, file_id),
            )
            self.conn.execute(
                "INSERT INTO outbound_file_events (outbound_file_id, from_state, to_state,"
                " reason, detail) VALUES (%s, %s, %s, %s, %s)",
                (file_id, current, to_state, reason, Jsonb(detail or {})),
            )
        return True

    def outbound_file_id(self, *, sha256: str) -> int | None:
        """The id of the outbound file with this sha256 (of the clear NACHA bytes), or None."""
        with translate_errors("looking up an outbound file"):
            row = self.conn.execute(
                "SELECT id FROM outbound_files WHERE sha256 = %s", (sha256,)
            ).fetchone()
        return int(row[0]) if row else None
