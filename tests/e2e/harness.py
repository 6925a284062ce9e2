"""A whole world for end-to-end runs: Postgres, a real OpenSSH sshd, the sandbox API and bank.

The sandbox's bank (ODFI) works on the very directory the sshd serves (a symlink), so an
upload through OpenSSH is what the bank picks up, and the bank's answers are what achpipe
downloads. ``achpipe run`` is started as a subprocess (``python -m pipeline.cli``) so it can
be killed with SIGKILL at any point (``tests/e2e/crashrun.py``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
import psycopg

from pipeline.demo import demo_config_text, generate_transfers

REPO = Path(__file__).resolve().parents[2]
CENTRAL = ZoneInfo("America/Chicago")
REPORT_COLUMNS = ["source", "class", "reference", "trace_number", "amount_cents", "return_code"]


@dataclass
class RunResult:
    code: int
    summary: dict[str, Any] | None
    stdout: str
    stderr: str


@dataclass
class World:
    base: Path
    pg_url: str
    sshd: Any
    sandbox: Any  # tests.fixtures.sandbox.SandboxHandle
    per_day: int = 40
    seed: int = 7
    config_path: Path = field(init=False)
    runs: list[RunResult] = field(default_factory=list)

    def __post_init__(self) -> None:
        (self.base / "secrets").mkdir(parents=True, exist_ok=True)
        (self.base / "intake").mkdir(exist_ok=True)
        (self.base / "secrets" / "account.key").write_text(os.urandom(32).hex() + "\n")
        info = self.sandbox.sandbox.info()
        (self.base / "secrets" / "api-secret").write_text(info["api"]["client_secret"] + "\n")
        (self.sshd.root / "outbound" / "archive").mkdir(parents=True, exist_ok=True)
        self.config_path = self.base / "achpipe.toml"
        self.write_config()

    def write_config(self, *, database_url: str | None = None, api_overrides: str = "") -> None:
        info = self.sandbox.sandbox.info()
        sftp = {
            "host": self.sshd.host,
            "port": self.sshd.port,
            "username": self.sshd.username,
            "private_key": str(self.sshd.client_key),
            "known_hosts": str(self.sshd.known_hosts),
            # sshd serves its root without a chroot: remote paths are relative to it
            "upload_dir": "inbound",
            "inbound_dir": "outbound/ack",
            "archive_dir": "outbound/archive",
            "inbound_dirs": ("outbound/ack", "outbound/returns", "outbound/noc"),
        }
        text = demo_config_text(
            workdir=self.base,
            info=info,
            sftp=sftp,
            database_url=database_url or self.pg_url,
            api_overrides=api_overrides
            or "max_attempts = 3\nbackoff_initial = 0.05\nbackoff_max = 0.2",
        )
        self.config_path.write_text(text.replace("retries = 2", "retries = 1"))

    # -- time and the bank ---------------------------------------------------------------

    def evening(self, day: date, minutes: int = 0) -> None:
        when = datetime.combine(day, time(17, 0), tzinfo=CENTRAL) + timedelta(minutes=minutes)
        if when.astimezone(UTC) > self.sandbox.clock.now():
            self.sandbox.set_clock(when.astimezone(UTC))

    def bank_processes(self, day: date) -> None:
        """After the run: the bank picks the upload up (ack, API transfers)."""
        self.evening(day, minutes=30)
        self.sandbox.sandbox.poll()

    def write_intake(self, day: date, count: int | None = None) -> Path:
        path = self.base / "intake" / f"transfers-{day.isoformat()}.csv"
        generate_transfers(day, self.per_day if count is None else count, seed=self.seed).write_csv(
            path
        )
        return path

    # -- runs ----------------------------------------------------------------------------

    def run(
        self,
        day: date,
        *args: str,
        crash: str | None = None,
        subprocess_run: bool = False,
        timeout: float = 300,
    ) -> RunResult:
        """``achpipe run --date DAY --json ARGS``: in this process (fast), or as a child
        process when it must be killable (``crash``) or fully separate (``subprocess_run``)."""
        if crash is None and not subprocess_run:
            return self._run_here(day, *args)
        module = ["-m", "tests.e2e.crashrun", crash] if crash else ["-m", "pipeline.cli"]
        cmd = [
            sys.executable,
            *module,
            "run",
            "--date",
            day.isoformat(),
            "--config",
            str(self.config_path),
            "--json",
            *args,
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("ACHPIPE_")}
        env.pop("DATABASE_URL", None)
        env["PYTHONPATH"] = str(REPO)
        proc = subprocess.run(
            cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
        summary = None
        if proc.stdout.strip():
            try:
                summary = json.loads(proc.stdout.strip().splitlines()[-1])
            except ValueError:
                summary = None
        result = RunResult(proc.returncode, summary, proc.stdout, proc.stderr)
        self.runs.append(result)
        return result

    def _run_here(self, day: date, *args: str) -> RunResult:
        from click.testing import CliRunner

        from pipeline.cli import cli

        env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("ACHPIPE_")}
        env["DATABASE_URL"] = None
        result = CliRunner().invoke(
            cli,
            ["run", "--date", day.isoformat(), "--config", str(self.config_path), "--json", *args],
            env=env,
        )
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        summary = None
        if result.stdout.strip():
            summary = json.loads(result.stdout.strip().splitlines()[-1])
        run = RunResult(result.exit_code, summary, result.stdout, result.stderr)
        self.runs.append(run)
        return run

    def night(self, day: date, *, count: int | None = None) -> RunResult:
        self.evening(day)
        self.write_intake(day, count)
        result = self.run(day)
        assert result.code in (0, 3, 4), (result.code, result.stderr[-3000:])
        self.bank_processes(day)
        return result

    # -- observations --------------------------------------------------------------------

    def db(self) -> psycopg.Connection:
        return psycopg.connect(self.pg_url, autocommit=True)

    def scalar(self, sql: str, *params: Any) -> Any:
        with self.db() as conn:
            row = conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def server_uploads(self) -> list[str]:
        """Every copy of an uploaded file on the server (inbox, bank archive, leftovers)."""
        inbound = self.sshd.root / "inbound"
        names = [p.name for p in inbound.iterdir() if p.is_file()]
        names += [p.name.split("_", 1)[1] for p in (inbound / "archive").iterdir() if p.is_file()]
        return sorted(names)

    def state(self) -> dict[str, Any]:
        """The facts exactly-once is about, comparable between two worlds."""
        with self.db() as conn:
            q = lambda sql: conn.execute(sql).fetchall()  # noqa: E731
            return {
                "outbound": q(
                    "SELECT file_name, entry_count, total_debit_cents, total_credit_cents, state"
                    " FROM outbound_files ORDER BY file_name"
                ),
                "entries": q(
                    "SELECT count(*), count(DISTINCT (trace_number, effective_date)),"
                    " count(DISTINCT reference), sum(amount_cents) FROM entries"
                )[0],
                "inbound": q(
                    "SELECT kind, state, count(*) FROM inbound_files GROUP BY 1, 2 ORDER BY 1, 2"
                ),
                "returns": q(
                    "SELECT original_trace_number, return_code, entry_id IS NOT NULL"
                    " FROM returns ORDER BY 1, 2"
                ),
                "nocs": q(
                    "SELECT original_trace_number, change_code, entry_id IS NOT NULL"
                    " FROM nocs ORDER BY 1, 2"
                ),
                "uploads": self.server_uploads(),
            }

    def report_items(self, day: date) -> pl.DataFrame:
        """The finance report's items for ``day`` (every class), in a stable order."""
        folder = self.base / "data" / "reports" / day.isoformat() / "finance"
        frames = []
        for path in sorted(folder.glob("*.parquet")):
            frame = pl.read_parquet(path)
            if "class" in frame.columns and "source" in frame.columns:
                frames.append(frame.select([c for c in REPORT_COLUMNS if c in frame.columns]))
        items = pl.concat(frames, how="diagonal_relaxed")
        return items.sort(REPORT_COLUMNS, nulls_last=True)


def banking_days(start: date, n: int) -> list[date]:
    from nacha.calendar import FED_CALENDAR

    days = []
    d = start
    while len(days) < n:
        if FED_CALENDAR.is_banking_day(d):
            days.append(d)
        d += timedelta(days=1)
    return days
