"""FileIDModifier allocation from several processes, and the one-runner advisory lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import psycopg
import pytest

from pipeline.errors import EXIT_LOCKED, LockedError
from pipeline.store import FILE_ID_MODIFIERS, FileIdModifiersExhausted, Ledger, advisory_lock

REPO = Path(__file__).resolve().parents[2]
ORIGIN, DEST, DAY = " 123456789", " 091000019", date(2026, 3, 2)

_ALLOCATOR = """
import sys, psycopg
from datetime import date
from pipeline.store import Ledger
conn = psycopg.connect(sys.argv[1], autocommit=True)
ledger = Ledger(conn)
sys.stdout.write("ready\\n"); sys.stdout.flush()
sys.stdin.readline()  # start together
got = [ledger.allocate_file_id_modifier(" 123456789", " 091000019", date(2026, 3, 2))
       for _ in range(int(sys.argv[2]))]
print(" ".join(got))
"""


def _python(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-c", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )


def test_allocation_order_and_37th_file(ledger: Ledger) -> None:
    got = [ledger.allocate_file_id_modifier(ORIGIN, DEST, DAY) for _ in range(36)]
    assert "".join(got) == FILE_ID_MODIFIERS == "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    with pytest.raises(FileIdModifiersExhausted, match="37th"):
        ledger.allocate_file_id_modifier(ORIGIN, DEST, DAY)
    # Other destinations and days have their own sequence.
    assert ledger.allocate_file_id_modifier(ORIGIN, " 011000015", DAY) == "A"
    assert ledger.allocate_file_id_modifier(ORIGIN, DEST, date(2026, 3, 3)) == "A"


def test_concurrent_allocation_from_processes_is_distinct(pg_url: str, ledger: Ledger) -> None:
    procs = [_python(_ALLOCATOR, pg_url, "9") for _ in range(4)]
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        outputs = [p.communicate(timeout=60) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, (_out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
    values = [v for out, _ in outputs for v in out.split()]
    assert len(values) == 36
    assert sorted(values) == sorted(FILE_ID_MODIFIERS)  # 36 distinct: every modifier once
    with pytest.raises(FileIdModifiersExhausted):
        ledger.allocate_file_id_modifier(ORIGIN, DEST, DAY)


def test_lock_refuses_a_second_holder_at_once(pg_url: str) -> None:
    with (
        psycopg.connect(pg_url, autocommit=True, application_name="runner-1") as one,
        psycopg.connect(pg_url, autocommit=True) as two,
    ):
        with advisory_lock(one, "nightly"):
            started = time.monotonic()
            with (
                pytest.raises(LockedError, match="held by database backend pid") as info,
                advisory_lock(two, "nightly"),
            ):
                pass  # pragma: no cover
            assert time.monotonic() - started < 2
            assert info.value.exit_code == EXIT_LOCKED == 75
            assert "runner-1" in str(info.value)
            with advisory_lock(two, "other-job"):  # another name is another lock
                pass
        with advisory_lock(two, "nightly"):  # released at the end of the block
            pass


def test_lock_is_released_when_the_holder_dies(pg_url: str) -> None:
    holder = _python(
        "import sys, time, psycopg\n"
        "from pipeline.store import advisory_lock\n"
        "conn = psycopg.connect(sys.argv[1], autocommit=True)\n"
        "with advisory_lock(conn, 'nightly'):\n"
        "    print('held', flush=True); time.sleep(120)\n",
        pg_url,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with psycopg.connect(pg_url, autocommit=True) as conn:
            with pytest.raises(LockedError), advisory_lock(conn, "nightly"):
                pass  # pragma: no cover
            holder.send_signal(signal.SIGKILL)
            holder.wait(timeout=10)
            deadline = time.monotonic() + 10
            while True:
                try:
                    with advisory_lock(conn, "nightly"):
                        break
                except LockedError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.communicate()
