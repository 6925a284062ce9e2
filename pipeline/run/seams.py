"""The small interfaces the nightly run needs from the rest of the house.

Each seam is a Protocol of a few methods so the engine can be read, and tested, without
Postgres, SFTP or HTTP, and so the real modules plug in through thin adapters
(:mod:`pipeline.run.wiring`). The engine itself only needs :class:`RunLedger`; the step
implementations use the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from pipeline.run.steps import StepName


@dataclass(frozen=True)
class StepRecord:
    """What the ledger remembers about one step of one run."""

    status: str  # "done" | "failed" | "running"
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunState:
    """One run per (job, business date), as the ledger has it."""

    run_id: str
    job: str
    business_date: date
    steps: Mapping[StepName, StepRecord]
    finished: bool
    summary: Mapping[str, Any] | None = None

    def done(self, step: StepName) -> bool:
        record = self.steps.get(step)
        return record is not None and record.status == "done"


class RunLedger(Protocol):
    """Run bookkeeping: the lock, the run row, step states, the final summary."""

    def lock(self, job: str) -> AbstractContextManager[None]:
        """Hold the job's advisory lock for the block; raise LockedError at once if taken."""
        ...

    def open_run(self, job: str, business_date: date) -> RunState:
        """The run for (job, date), created if absent, with its step states."""
        ...

    def step_done(self, run_id: str, step: StepName, detail: Mapping[str, Any]) -> None:
        """Mark ``step`` done (committed), unless the step already did so with its effects."""
        ...

    def step_failed(self, run_id: str, step: StepName, error: str) -> None: ...

    def reset_steps(self, run_id: str, steps: tuple[StepName, ...]) -> None:
        """Forget ``steps``' done marks (operator asked ``--from-step``/``--only``)."""
        ...

    def finish_run(self, run_id: str, outcome: str, summary: Mapping[str, Any]) -> None: ...

    def record_event(self, run_id: str, kind: str, detail: Mapping[str, Any]) -> None:
        """An audit line (e.g. a forced resend and its reason)."""
        ...

    def record_dry_run(self, job: str, business_date: date, summary: Mapping[str, Any]) -> None: ...


# ---------------------------------------------------------------------------------------------
# Seams used by the step implementations (pipeline/run/outbound.py, inbound.py, checks.py).
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuiltFile:
    """One NACHA file the builder produced, with what the ledger must record about it.

    ``entries`` has at least ``trace_number``, ``reference`` (null for offset entries),
    ``transaction_code``, ``amount_cents``, ``batch_number``.
    """

    name: str
    content: bytes
    immediate_origin: str
    immediate_destination: str
    creation_date: date
    file_id_modifier: str
    batch_count: int
    entry_count: int
    total_debit_cents: int
    total_credit_cents: int
    entries: Any  # pl.DataFrame
    batches: Any  # pl.DataFrame


@dataclass(frozen=True)
class BuildOutcome:
    files: tuple[BuiltFile, ...]
    rejected: Any  # pl.DataFrame with reference, reason


class FileBuilder(Protocol):
    def build(
        self,
        transfers: Any,
        *,
        business_date: date,
        allocate_modifier: Any,  # Callable[[str, str, date], str]
    ) -> BuildOutcome: ...


class Sealer(Protocol):
    suffix: str

    def seal(self, data: bytes) -> bytes:
        """Sign + encrypt, self-tested (decrypt with the archive key, compare hashes)."""
        ...

    def unseal_file(self, source: Path, target: Path) -> None:
        """Decrypt and verify the bank's signature (plain data passes only if allowed), file
        to file: ``target`` (replaced if present) is written only once the data and the
        signature are verified; on error nothing is left behind."""
        ...


@dataclass(frozen=True)
class RemoteFile:
    path: str
    name: str
    size: int
    kind_hint: str = "unknown"  # ack | return | noc | unknown, from the directory it sits in


class Transport(Protocol):
    def upload(self, local: Any, remote_name: str) -> str:
        """Upload (temp name, rename, never overwrite different content); the remote path."""
        ...

    def remote_size(self, remote_path: str) -> int | None: ...

    def list_inbound(self) -> list[RemoteFile]: ...

    def download(self, remote: RemoteFile, dest_dir: Any) -> tuple[Any, str]:
        """Fetch into ``dest_dir`` (temp name, fsync, rename); (local path, sha256)."""
        ...

    def archive(self, remote: RemoteFile) -> None: ...

    def close(self) -> None: ...


class TransfersApi(Protocol):
    def list_transfers(self, date_from: date, date_to: date) -> Any: ...

    def query(self, ids: list[str]) -> Any: ...

    def return_rates(self, day: date) -> Any: ...
