"""Kill ``achpipe run`` with SIGKILL at the most dangerous moment of each step, rerun, and
prove nothing was sent twice, nothing ingested twice or lost, and the reports are the same
as an uninterrupted run's."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from polars.testing import assert_frame_equal

from tests.e2e.harness import World, banking_days

DAY1, DAY2 = banking_days(date(2026, 3, 2), 2)
PER_DAY = 12
CRASH_POINTS = [
    "collect:commit",
    "build:commit",
    "seal:record",
    "upload:rename",
    "upload:record",
    "verify:record",
    "fetch:record",
    "fetch:archive",
    "ingest:unseal",
    "ingest:parse",
    "ingest:record",
    "refresh:commit",
    "reconcile:commit",
    "rates:commit",
    "report:commit",
]
_REFERENCE: dict[str, Any] = {}


def _comparable(world: World) -> dict[str, Any]:
    state = world.state()
    return {
        "outbound": [row[:4] for row in state["outbound"]],
        "entries": state["entries"],
        "inbound": state["inbound"],
        "returns": state["returns"],
        "nocs": state["nocs"],
        "uploads": state["uploads"],
    }


def _two_nights(world: World, crash: str | None) -> None:
    world.night(DAY1, count=PER_DAY)
    world.evening(DAY2)
    world.write_intake(DAY2, PER_DAY)
    # the bank answered day 1 overnight: day 2 has acks to fetch and ingest
    if crash is not None:
        killed = world.run(DAY2, crash=crash)
        assert killed.code == -9, (killed.code, killed.stderr[-2000:])
        if crash in ("ingest:unseal", "ingest:parse"):  # a file's plaintext was on disk
            left = world.base / "data" / "inbound" / ".unsealed"
            pattern = "*.plain" if crash == "ingest:parse" else ".*.partial"
            assert [p for p in left.glob(pattern) if p.stat().st_size], crash
    result = world.run(DAY2)
    for _ in range(20):
        # Postgres frees a killed session's advisory lock when it notices the dead client:
        # until then the rerun is told 75 "retry later", exactly what a scheduler does.
        if result.code != 75 or crash is None:
            break
        time.sleep(0.5)
        result = world.run(DAY2)
    assert result.code in (0, 4), (result.code, result.stderr[-3000:])
    world.bank_processes(DAY2)


def _reference(make_world: Callable[..., World]) -> dict[str, Any]:
    if not _REFERENCE:
        world = make_world(per_day=PER_DAY)
        _two_nights(world, None)
        _REFERENCE["state"] = _comparable(world)
        _REFERENCE["items"] = world.report_items(DAY2)
    return _REFERENCE


@pytest.mark.slow
@pytest.mark.parametrize("point", CRASH_POINTS)
def test_sigkill_then_rerun_is_exactly_once(make_world: Callable[..., World], point: str) -> None:
    reference = _reference(make_world)
    world = make_world(per_day=PER_DAY)
    _two_nights(world, point)
    state = _comparable(world)
    count, distinct_traces, distinct_refs, _ = state["entries"]
    assert count == distinct_traces == distinct_refs  # no entry twice
    assert len(state["uploads"]) == len(set(state["uploads"]))  # one copy per file on the server
    assert not list((world.sshd.root / "inbound").glob("*.part"))
    assert all(s != "received" for _, s, _ in state["inbound"])  # nothing left half-ingested
    unsealed = world.base / "data" / "inbound" / ".unsealed"
    assert not unsealed.exists() or not any(unsealed.iterdir())  # no plaintext left behind
    assert state == reference["state"]
    assert_frame_equal(world.report_items(DAY2), reference["items"])
    assert world.scalar("SELECT state FROM runs WHERE business_date = %s", DAY2) == "finished"
