"""The run bookkeeping on the ledger's ``runs`` / ``run_steps`` tables (sql/0001_ledger.sql).

One row in ``runs`` per (job, business date); one row in ``run_steps`` per step. The final
summary is kept in ``runs.detail -> 'summary'`` so a finished date can reprint it; audit
events (forced resends and their reasons) are appended to ``runs.detail -> 'events'``.

Two connections: ``lock_conn`` only holds the session advisory lock for the whole run (so a
crashed process releases it with its connection), ``conn`` does the work in explicit
transactions. Steps that want to mark themselves done in the same transaction as their
effects call :meth:`mark_done` with their open transaction's connection.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from pipeline.run.seams import RunState, StepRecord
from pipeline.run.steps import STEPS, StepName
from pipeline.store.errors import translate_errors
from pipeline.store.locks import advisory_lock


class PgRunLedger:
    """:class:`pipeline.run.seams.RunLedger` over Postgres."""

    def __init__(self, conn: psycopg.Connection, lock_conn: psycopg.Connection) -> None:
        self.conn = conn
        self.lock_conn = lock_conn

    @contextlib.contextmanager
    def lock(self, job: str) -> Iterator[None]:
        with advisory_lock(self.lock_conn, f"run:{job}"):
            yield

    def open_run(self, job: str, business_date: date) -> RunState:
        with translate_errors("opening the run"), self.conn.transaction():
            row = self.conn.execute(
                """
                INSERT INTO runs (job, business_date) VALUES (%s, %s)
                ON CONFLICT (job, business_date) DO UPDATE
                   SET attempts = runs.attempts
                                  + CASE WHEN runs.state = 'finished' THEN 0 ELSE 1 END
                RETURNING id, state, detail
                """,
                (job, business_date),
            ).fetchone()
            assert row is not None
            run_id, state, detail = row
            steps = self.conn.execute(
                "SELECT step, state, detail FROM run_steps WHERE run_id = %s", (run_id,)
            ).fetchall()
        records = {
            name: StepRecord(status, dict(det or {}))
            for name, status, det in steps
            if name in STEPS
        }
        summary = (detail or {}).get("summary")
        return RunState(
            run_id=str(run_id),
            job=job,
            business_date=business_date,
            steps=records,  # type: ignore[arg-type]
            finished=state == "finished",
            summary=summary,
        )

    def mark_done(
        self, conn: psycopg.Connection, run_id: str, step: StepName, detail: Mapping[str, Any]
    ) -> None:
        """Mark a step done on ``conn`` (inside the caller's transaction, with its effects)."""
        conn.execute(
            """
            INSERT INTO run_steps (run_id, step, state, outcome, attempts, started_at,
                                   finished_at, detail, updated_at)
            VALUES (%s, %s, 'done', 'done', 1, now(), now(), %s, now())
            ON CONFLICT (run_id, step) DO UPDATE
               SET state = 'done', outcome = 'done', attempts = run_steps.attempts + 1,
                   finished_at = now(), detail = EXCLUDED.detail, updated_at = now()
            """,
            (int(run_id), step, Jsonb(_jsonable(detail))),
        )

    def step_done(self, run_id: str, step: StepName, detail: Mapping[str, Any]) -> None:
        with translate_errors(f"recording step {step}"), self.conn.transaction():
            self.mark_done(self.conn, run_id, step, detail)

    def step_failed(self, run_id: str, step: StepName, error: str) -> None:
        with contextlib.suppress(psycopg.Error):
            if self.conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR:
                self.conn.rollback()
        with translate_errors(f"recording the failure of step {step}"), self.conn.transaction():
            self.conn.execute(
                """
                INSERT INTO run_steps (run_id, step, state, outcome, attempts, started_at,
                                       finished_at, detail, updated_at)
                VALUES (%s, %s, 'failed', 'failed', 1, now(), now(), %s, now())
                ON CONFLICT (run_id, step) DO UPDATE
                   SET state = 'failed', outcome = 'failed', attempts = run_steps.attempts + 1,
                       finished_at = now(), detail = EXCLUDED.detail, updated_at = now()
                """,
                (int(run_id), step, Jsonb({"error": error})),
            )
            self.conn.execute(
                "UPDATE runs SET state = 'failed', outcome = 'error' WHERE id = %s", (int(run_id),)
            )

    def reset_steps(self, run_id: str, steps: tuple[StepName, ...]) -> None:
        with translate_errors("resetting steps"), self.conn.transaction():
            self.conn.execute(
                "DELETE FROM run_steps WHERE run_id = %s AND step = ANY(%s)",
                (int(run_id), list(steps)),
            )
            self.conn.execute(
                "UPDATE runs SET state = 'running', finished_at = NULL WHERE id = %s",
                (int(run_id),),
            )

    def finish_run(self, run_id: str, outcome: str, summary: Mapping[str, Any]) -> None:
        with translate_errors("finishing the run"), self.conn.transaction():
            self.conn.execute(
                """
                UPDATE runs SET state = 'finished', outcome = %s, exit_code = %s,
                       finished_at = now(),
                       detail = jsonb_set(detail, '{summary}', %s)
                 WHERE id = %s
                """,
                (outcome, int(summary.get("exit_code", 0)), Jsonb(_jsonable(summary)), int(run_id)),
            )

    def record_event(self, run_id: str, kind: str, detail: Mapping[str, Any]) -> None:
        event = {"kind": kind, **_jsonable(detail)}
        with translate_errors(f"recording event {kind}"), self.conn.transaction():
            self.conn.execute(
                """
                UPDATE runs
                   SET detail = jsonb_set(detail, '{events}',
                                          coalesce(detail -> 'events', '[]'::jsonb)
                                          || jsonb_build_array(
                                                 %s::jsonb || jsonb_build_object('at', now())))
                 WHERE id = %s
                """,
                (Jsonb(event), int(run_id)),
            )

    def record_dry_run(self, job: str, business_date: date, summary: Mapping[str, Any]) -> None:
        with translate_errors("recording the dry run"), self.conn.transaction():
            self.conn.execute(
                """
                INSERT INTO runs (job, business_date, state, outcome, exit_code,
                                  finished_at, detail)
                VALUES (%s, %s, 'finished', 'dry_run', %s, now(),
                        jsonb_build_object('summary', %s::jsonb))
                ON CONFLICT (job, business_date) DO UPDATE
                   SET attempts = runs.attempts + 1, finished_at = now(),
                       exit_code = EXCLUDED.exit_code, detail = EXCLUDED.detail
                """,
                (
                    f"{job}.dry-run",
                    business_date,
                    int(summary.get("exit_code", 0)),
                    Jsonb(_jsonable(summary)),
                ),
            )


def _jsonable(value: Mapping[str, Any]) -> dict[str, Any]:
    """Round-trip through JSON so dates, paths and numpy-ish numbers become plain values."""
    return json.loads(json.dumps(dict(value), default=str))
