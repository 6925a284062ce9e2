"""The parts of the nightly ``refresh`` step on N transfers, timed one by one (not a test).

    python bench/refresh_bench.py [--transfers 200000] [--pg postgresql://…/test] [--repeat 2]

An in-process sandbox holds N file transfers (as after the bank took a file: Complete, with a
trace number, some with a NOC); the script then times, each ``--repeat`` times:

* ``list``    — ``ConnectFiClient.list_transfers`` of them all (pages of 1000): wall, CPU of
  the main thread (the pipeline: HTTP client, JSON decoding, ``transfers_frame``) and of the
  other threads (the sandbox's server thread answering the pages);
* ``to_ledger`` — ``api_frame_to_ledger``;
* ``upsert``  — ``Ledger.upsert_transfers`` into a fresh migrated database, first as inserts
  (the first night) then as updates of the same rows (later nights), with the CPU of the
  Postgres backend read from /proc.

The nightly bench (``bench/nightly_bench.py``) gives the whole step; this one tells which part
of it moved. Figures are noisy on a shared machine: read them with the load average.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def backend_cpu(conn: psycopg.Connection) -> float:
    """CPU seconds so far of the backend serving ``conn`` (0 when it is not on this host)."""
    try:
        fields = Path(f"/proc/{conn.info.backend_pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fill(sandbox: object, n: int, now: datetime) -> None:
    """N file transfers in the sandbox's ledger, picked up ``now`` (Sent, then Complete)."""
    from sandbox.ledger import Transfer

    ledger = sandbox.handlers.ledger  # type: ignore[attr-defined]
    login = sandbox.login  # type: ignore[attr-defined]
    txs = [
        Transfer(
            cfi_id=ledger.new_id(login),
            aggregator=login,
            reference=f"B{i:09d}",
            source="file",
            created_at=now,
            effective_date=date(2026, 3, 3),
            sec="PPD",
            transaction_type="Debit" if i % 7 else "Credit",
            account_type="Checking",
            individual_name=f"BENCH PAYEE {i % 1000}",
            routing="053207766",
            account=str(i * 104729 % 10**10 + 10**9),
            amount_cents=i * 7919 % 250_000 + 500,
            description="PAYMENT",
            identification_number=f"B{i:09d}",
            trace_number=f"09100001{i:07d}",
            transaction_code="27" if i % 7 else "22",
            company_name="ACME",
            company_id="1234567890",
        )
        for i in range(n)
    ]
    ledger.add_file_entries(txs, picked_up=now)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transfers", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument(
        "--pg",
        default=os.environ.get("ACHPIPE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    args = parser.parse_args()

    from pipeline.api import ApiSettings, ConnectFiClient
    from pipeline.run.outbound import api_frame_to_ledger
    from pipeline.secrets import Secret
    from pipeline.store import AccountProtector, Ledger, migrate
    from sandbox import Sandbox, SandboxClock, Scenario

    start = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)
    dbname = f"achpipe_rbench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.pg, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{dbname}"')
    url = args.pg.rsplit("/", 1)[0] + "/" + dbname
    try:
        with Sandbox(scenario=Scenario.demo(seed=1), clock=SandboxClock(start)) as sb:
            t = time.perf_counter()
            fill(sb, args.transfers, start)
            print(f"setup: {args.transfers:,} transfers in {time.perf_counter() - t:.1f}s")
            print(f"load average at start: {os.getloadavg()}")
            settings = ApiSettings.from_mapping(
                {"base_url": sb.base_url, "client_id": sb.login, "client_secret": sb.password}
            )
            with (
                ConnectFiClient(settings) as client,
                psycopg.connect(url, autocommit=True) as conn,
            ):
                migrate(conn)
                ledger = Ledger(
                    conn, AccountProtector(Secret(os.urandom(32).hex(), source="bench"))
                )
                for run in range(1, args.repeat + 1):
                    wall, cpu, main = time.perf_counter(), time.process_time(), time.thread_time()
                    frame = client.list_transfers(
                        created_from=date(2026, 1, 1), created_to=date(2026, 3, 3)
                    )
                    main = time.thread_time() - main
                    cpu = time.process_time() - cpu
                    wall = time.perf_counter() - wall
                    print(
                        f"run {run}: list {frame.height:,} rows {wall:6.2f}s wall"
                        f" {main:6.2f}s cpu main thread {cpu - main:6.2f}s cpu other threads"
                        f" ({threading.active_count()} threads)"
                    )
                    t0 = time.process_time()
                    rows = api_frame_to_ledger(frame)
                    print(f"run {run}: to_ledger {time.process_time() - t0:6.2f}s cpu")
                    for kind in ("insert", "update"):
                        wall, cpu, pg = time.perf_counter(), time.process_time(), backend_cpu(conn)
                        written = ledger.upsert_transfers(rows)
                        print(
                            f"run {run}: upsert ({kind}) {written:,} rows"
                            f" {time.perf_counter() - wall:6.2f}s wall"
                            f" {time.process_time() - cpu:6.2f}s cpu"
                            f" {backend_cpu(conn) - pg:6.2f}s pg cpu"
                        )
                    conn.execute("TRUNCATE transfers")
            print(f"load average at end: {os.getloadavg()}")
    finally:
        with psycopg.connect(args.pg, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


if __name__ == "__main__":
    main()
