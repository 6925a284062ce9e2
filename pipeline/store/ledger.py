"""The ledger repository: one object over one psycopg connection.

Open it with :func:`pipeline.store.open_ledger` (or ``Ledger(connect(url), protector)``).
The connection is in autocommit mode; every method runs in its own transaction, and
``with ledger.transaction():`` groups several calls into one (inner calls become
savepoints), which is how a step commits its effects and its ``done`` mark together.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from pipeline.store.errors import translate_errors
from pipeline.store.inbound import InboundMixin
from pipeline.store.locks import advisory_lock
from pipeline.store.outbound import OutboundMixin
from pipeline.store.protect import AccountProtector
from pipeline.store.reads import ReadsMixin
from pipeline.store.runs import RunsMixin
from pipeline.store.transfers import TransfersMixin


class Ledger(RunsMixin, OutboundMixin, InboundMixin, TransfersMixin, ReadsMixin):
    """Repository API of the nightly run (see each mixin's methods for the contracts).

    Runs: start_run, get_run, run_steps, begin_step, finish_step, finish_run.
    Outbound: allocate_file_id_modifier, record_outbound_file, transition_file,
    outbound_file_id. Inbound: record_inbound_file, mark_inbound_ingested,
    quarantine_inbound, record_returns, record_nocs, mark_noc_applied,
    decrypt_noc_corrected_data. API: upsert_transfers, record_rate_snapshots.
    Reads (polars): entries_frame, transfers_frame, api_statuses_frame, returns_frame,
    nocs_frame, return_rates_frame. Control: transaction, lock.
    """

    def __init__(self, conn: psycopg.Connection, protector: AccountProtector | None = None) -> None:
        self.conn = conn
        self.protector = protector

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group several ledger calls into one transaction (all or nothing)."""
        with translate_errors("ledger transaction"), self.conn.transaction():
            yield

    @contextmanager
    def lock(self, name: str = "nightly") -> Iterator[None]:
        """The one-runner-at-a-time advisory lock (LockedError, exit 75, if taken)."""
        with advisory_lock(self.conn, name):
            yield

    def close(self) -> None:
        self.conn.close()
