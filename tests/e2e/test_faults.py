"""Concurrency and outside-world faults: clear error, non-zero exit, nothing half-done, and a
later rerun completes."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable
from datetime import date

from tests.e2e.harness import RunResult, World, banking_days

DAY1, DAY2 = banking_days(date(2026, 3, 2), 2)


def test_two_runs_started_together_one_works_the_other_exits_75(
    make_world: Callable[..., World],
) -> None:
    world = make_world(per_day=10)
    world.evening(DAY1)
    world.write_intake(DAY1)
    results: list[RunResult] = []

    def go() -> None:
        # the run holds the lock for 3 s longer than it needs, so the two surely overlap
        results.append(world.run(DAY1, crash="slow:collect"))

    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.code for r in results)
    assert codes in ([0, 75], [4, 75]), [r.stderr[-1500:] for r in results]
    loser = next(r for r in results if r.code == 75)
    assert "lock" in loser.stderr and loser.summary["exit_code"] == 75
    assert world.scalar("SELECT count(*) FROM outbound_files") == 1
    assert len(world.server_uploads()) == 1


def _restart_sshd(world: World) -> None:
    from tests.fixtures.sshd import SSHD, _wait_listening

    server = world.sshd
    proc = subprocess.Popen(
        [
            SSHD,
            "-D",
            "-f",
            str(server.directory / "sshd_config"),
            "-E",
            str(server.directory / "sshd.log"),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    assert _wait_listening(proc, server.port, time.monotonic() + 10), server.log[-2000:]
    server.process = proc


def test_sshd_down_fails_transient_then_rerun_uploads_once(
    make_world: Callable[..., World],
) -> None:
    world = make_world(per_day=10)
    world.night(DAY1)
    world.sshd.stop()
    world.evening(DAY2)
    world.write_intake(DAY2)
    down = world.run(DAY2)
    assert down.code == 75, down.stderr[-2000:]
    assert "upload" in down.summary["exit_reason"]
    # built and sealed (recorded), nothing uploaded, nothing claimed
    states = world.scalar(
        "SELECT array_agg(state ORDER BY file_name) FROM outbound_files WHERE creation_date = %s",
        DAY2,
    )
    assert states == ["sealed"]
    _restart_sshd(world)
    again = world.run(DAY2)
    assert again.code in (0, 4), again.stderr[-2000:]
    steps = {s["step"]: s["outcome"] for s in again.summary["steps"]}
    assert steps["build"] == "already_done" and steps["upload"] == "done"
    uploads = world.server_uploads()
    assert len(uploads) == len(set(uploads)) == 2


def test_api_503_for_a_while_then_rerun_completes(make_world: Callable[..., World]) -> None:
    world = make_world(per_day=10)
    world.night(DAY1)
    world.sandbox.admin(
        "POST", "/sandbox/faults", {"path": "/transfer-to/ach/list", "status": 503, "count": 6}
    )
    world.evening(DAY2)
    world.write_intake(DAY2)
    failed = world.run(DAY2)
    assert failed.code == 75, failed.stderr[-2000:]
    assert "refresh" in failed.summary["exit_reason"]
    steps = {s["step"]: s["outcome"] for s in failed.summary["steps"]}
    assert steps["ingest"] == "done" and steps["refresh"] == "failed"
    assert steps["reconcile"] == "not_run"
    world.sandbox.admin("POST", "/sandbox/faults", {"clear": True})
    again = world.run(DAY2)
    assert again.code in (0, 4), again.stderr[-2000:]
    steps = {s["step"]: s["outcome"] for s in again.summary["steps"]}
    assert steps["upload"] == "already_done" and steps["refresh"] == "done"
    assert world.scalar("SELECT count(*) FROM outbound_files") == 2


def test_postgres_unreachable_at_start_is_clear_and_touches_nothing(
    make_world: Callable[..., World],
) -> None:
    world = make_world(per_day=10)
    world.write_config(database_url="postgresql://postgres@127.0.0.1:1/nowhere?connect_timeout=2")
    world.evening(DAY1)
    world.write_intake(DAY1)
    result = world.run(DAY1)
    assert result.code == 75, result.stderr[-2000:]
    assert "connecting to" in result.stderr and "127.0.0.1:1" in result.stderr
    assert not (world.base / "data" / "outbound").exists()
    assert world.server_uploads() == []
    world.write_config()
    again = world.run(DAY1)
    assert again.code in (0, 4), again.stderr[-2000:]
    assert len(world.server_uploads()) == 1


def test_bad_inbound_file_is_quarantined_without_blocking_the_others(
    make_world: Callable[..., World],
) -> None:
    world = make_world(per_day=10)
    world.night(DAY1)
    returns_dir = world.sshd.root / "outbound" / "returns"
    (returns_dir / "RETURN_20260303_9.ach.pgp").write_bytes(b"\x85garbage, not OpenPGP" * 20)
    world.evening(DAY2)
    world.write_intake(DAY2)
    result = world.run(DAY2)
    assert result.code in (0, 4), result.stderr[-2000:]
    files_in = {f["name"]: f for f in result.summary["files_in"]}
    bad = files_in["RETURN_20260303_9.ach.pgp"]
    assert bad["state"] == "quarantined" and bad["reason"]
    assert any(f["kind"] == "ack" and f["state"] == "ingested" for f in files_in.values())
    assert result.summary["counts"]["quarantined"] == 1
    quarantined = list((world.base / "data" / "quarantine").iterdir())
    assert len(quarantined) == 1 and quarantined[0].name.endswith("RETURN_20260303_9.ach.pgp")
    # recorded once by hash and archived: a later run neither re-downloads nor re-ingests it
    again = world.run(DAY2, "--only", "fetch")
    assert again.code in (0, 4)
    assert world.scalar("SELECT count(*) FROM inbound_files WHERE state = 'quarantined'") == 1
