"""Runs and their steps: the nightly run's resumable state machine in the ledger.

A run is keyed by (job, business date): :meth:`RunsMixin.start_run` returns the existing row
on a rerun (counting the attempt), so a rerun resumes at the first step not ``done``. Step
updates take an optional open transaction from the caller, so a step's effects and its
``done`` mark commit together (``with ledger.transaction(): effects…; ledger.finish_step(…)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from pipeline.store.errors import StoreError, translate_errors

RUN_STATES = ("running", "finished", "failed")
STEP_STATES = ("pending", "running", "done", "failed", "skipped")


@dataclass(frozen=True)
class Run:
    """One row of ``runs``; ``resumed`` is True when start_run found it already there."""

    id: int
    job: str
    business_date: date
    state: str
    outcome: str | None
    exit_code: int | None
    attempts: int
    started_at: datetime
    finished_at: datetime | None
    resumed: bool = False


@dataclass(frozen=True)
class Step:
    """One row of ``run_steps``."""

    step: str
    state: str
    outcome: str | None
    attempts: int
    started_at: datetime | None
    finished_at: datetime | None
    detail: dict[str, Any]


_RUN_COLS = "id, job, business_date, state, outcome, exit_code, attempts, started_at, finished_at"


class RunsMixin:
    conn: psycopg.Connection

    def start_run(self, job: str, business_date: date) -> Run:
        """Get or create the run for (job, business_date); a rerun counts one more attempt
        and goes back to ``running`` (its ``done`` steps stay done)."""
        with translate_errors(f"starting run {job} {business_date}"), self.conn.transaction():
            row = self.conn.execute(
                f"INSERT INTO runs (job, business_date) VALUES (%s, %s)"
                f" ON CONFLICT (job, business_date) DO UPDATE"
                f" SET attempts = runs.attempts + 1, state = 'running', finished_at = NULL"
                f" RETURNING {_RUN_COLS}, (xmax::text <> '0') AS resumed",
                (job, business_date),
            ).fetchone()
        assert row is not None
        return Run(*row)

    def get_run(self, job: str, business_date: date) -> Run | None:
        """The run for (job, business_date), or None if it never started."""
        with translate_errors("reading a run"):
            row = self.conn.execute(
                f"SELECT {_RUN_COLS} FROM runs WHERE job = %s AND business_date = %s",
                (job, business_date),
            ).fetchone()
        return Run(*row) if row else None

    def run_steps(self, run_id: int) -> dict[str, Step]:
        """All recorded steps of a run, by name."""
        with translate_errors("reading run steps"):
            rows = self.conn.execute(
                "SELECT step, state, outcome, attempts, started_at, finished_at, detail"
                " FROM run_steps WHERE run_id = %s ORDER BY started_at NULLS LAST, step",
                (run_id,),
            ).fetchall()
        return {r[0]: Step(*r) for r in rows}

    def begin_step(self, run_id: int, step: str) -> Step:
        """Mark a step ``running`` (attempts + 1). A step already ``done`` is returned as is:
        the caller must skip it (that is how a rerun resumes)."""
        with translate_errors(f"beginning step {step}"), self.conn.transaction():
            row = self.conn.execute(
                "INSERT INTO run_steps (run_id, step, state, attempts, started_at)"
                " VALUES (%s, %s, 'running', 1, now())"
                " ON CONFLICT (run_id, step) DO UPDATE SET"
                "   state = CASE WHEN run_steps.state = 'done' THEN 'done' ELSE 'running' END,"
                "   attempts = run_steps.attempts"
                "     + CASE WHEN run_steps.state = 'done' THEN 0 ELSE 1 END,"
                "   started_at = CASE WHEN run_steps.state = 'done' THEN run_steps.started_at"
                "     ELSE now() END,"
                "   updated_at = now()"
                " RETURNING step, state, outcome, attempts, started_at, finished_at, detail",
                (run_id, step),
            ).fetchone()
        assert row is not None
        return Step(*row)

    def finish_step(
        self,
        run_id: int,
        step: str,
        *,
        state: str = "done",
        outcome: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Record a step's end state (``done``, ``failed`` or ``skipped``) and outcome.

        Call it inside the same ``ledger.transaction()`` as the step's effects.
        """
        if state not in ("done", "failed", "skipped"):
            raise ValueError(f"finish_step state must be done, failed or skipped, not {state!r}")
        with translate_errors(f"finishing step {step}"), self.conn.transaction():
            cur = self.conn.execute(
                "INSERT INTO run_steps (run_id, step, state, outcome, attempts, started_at,"
                "  finished_at, detail)"
                " VALUES (%s, %s, %s, %s, 1, now(), now(), %s)"
                " ON CONFLICT (run_id, step) DO UPDATE SET state = EXCLUDED.state,"
                "  outcome = EXCLUDED.outcome, finished_at = now(), detail = EXCLUDED.detail,"
                "  updated_at = now()",
                (run_id, step, state, outcome, Jsonb(detail or {})),
            )
            if cur.rowcount != 1:
                raise StoreError(f"run {run_id} has no step {step!r}")

    def finish_run(
        self,
        run_id: int,
        *,
        outcome: str,
        exit_code: int = 0,
        failed: bool = False,
        detail: dict[str, Any] | None = None,
    ) -> Run:
        """Close a run: state ``finished`` (or ``failed``), its outcome and exit code."""
        with translate_errors("finishing a run"), self.conn.transaction():
            row = self.conn.execute(
                f"UPDATE runs SET state = %s, outcome = %s, exit_code = %s, finished_at = now(),"
                f" detail = runs.detail || %s WHERE id = %s RETURNING {_RUN_COLS}",
                (
                    "failed" if failed else "finished",
                    outcome,
                    exit_code,
                    Jsonb(detail or {}),
                    run_id,
                ),
            ).fetchone()
        if row is None:
            raise StoreError(f"no run with id {run_id}")
        return Run(*row)
