"""An in-memory :class:`pipeline.run.RunLedger` for the engine's own tests.

It fakes our seam (run bookkeeping), not Postgres: the Postgres-backed ledger is exercised by
the e2e tests. Its lock is a real cross-instance lock (a shared set) so "second holder gets
LockedError" is tested the same way.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

from pipeline.errors import LockedError
from pipeline.run import RunState, StepRecord


class MemoryRunLedger:
    held: set[str]

    def __init__(self, held: set[str] | None = None) -> None:
        self.held = set() if held is None else held
        self.runs: dict[tuple[str, date], dict[str, Any]] = {}
        self.events: list[tuple[str, str, dict[str, Any]]] = []
        self.dry_runs: list[dict[str, Any]] = []

    @contextlib.contextmanager
    def lock(self, job: str) -> Iterator[None]:
        if job in self.held:
            raise LockedError(f"another run of job {job!r} holds the lock")
        self.held.add(job)
        try:
            yield
        finally:
            self.held.discard(job)

    def _by_id(self, run_id: str) -> dict[str, Any]:
        return next(r for r in self.runs.values() if r["run_id"] == run_id)

    def open_run(self, job: str, business_date: date) -> RunState:
        row = self.runs.setdefault(
            (job, business_date),
            {"run_id": uuid.uuid4().hex, "steps": {}, "finished": False, "summary": None},
        )
        return RunState(
            run_id=row["run_id"],
            job=job,
            business_date=business_date,
            steps=dict(row["steps"]),
            finished=row["finished"],
            summary=row["summary"],
        )

    def step_done(self, run_id: str, step: str, detail: Mapping[str, Any]) -> None:
        self._by_id(run_id)["steps"][step] = StepRecord("done", dict(detail))

    def step_failed(self, run_id: str, step: str, error: str) -> None:
        self._by_id(run_id)["steps"][step] = StepRecord("failed", {"error": error})

    def reset_steps(self, run_id: str, steps: tuple[str, ...]) -> None:
        row = self._by_id(run_id)
        for s in steps:
            row["steps"].pop(s, None)
        row["finished"] = False

    def finish_run(self, run_id: str, outcome: str, summary: Mapping[str, Any]) -> None:
        row = self._by_id(run_id)
        row["finished"] = True
        row["summary"] = dict(summary)

    def record_event(self, run_id: str, kind: str, detail: Mapping[str, Any]) -> None:
        self.events.append((run_id, kind, dict(detail)))

    def record_dry_run(self, job: str, business_date: date, summary: Mapping[str, Any]) -> None:
        self.dry_runs.append(dict(summary))
