"""Several nights of the real pipeline: Postgres, OpenSSH sshd, the sandbox API and bank."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import polars as pl

from tests.e2e.harness import World, banking_days

START = date(2026, 3, 2)


def test_several_nights_everything_reconciled_returns_linked_rates_agree(
    make_world: Callable[..., World],
) -> None:
    world = make_world(per_day=60)
    days = banking_days(START, 5)
    for i, day in enumerate(days):
        result = world.night(day, count=None if i < 3 else 0)
        assert result.summary is not None
        # 0, or 4 when the returns the scenario drew really cross a Nacha limit (small volumes)
        assert result.code in (0, 4), (day, result.summary["exit_reason"])
        if result.code == 4:
            assert any(
                row[m]["breach"]
                for row in result.summary["rates"]
                for m in ("unauthorized", "administrative", "overall")
            )
    last = days[-1]
    summary = world.runs[-1].summary
    assert summary is not None and summary["status"] == "ok" and summary["breaks"]["count"] == 0
    first = world.runs[0].summary
    assert first["counts"]["intake_transfers"] == 60 and first["counts"]["entries_sent"] == 60
    assert sum(r.summary["counts"]["returns"] for r in world.runs) == len(world.state()["returns"])
    # every transfer went out exactly once
    state = world.state()
    count, distinct_traces, distinct_refs, _ = state["entries"]
    assert count == distinct_traces == distinct_refs
    assert (
        world.scalar(
            "SELECT count(*) FROM entries WHERE reference LIKE 'D%%' "
            "AND reference NOT LIKE '%%RT%%'"
        )
        == 3 * 60
    )
    # every upload is on the server exactly once, every file was acknowledged
    assert len(state["uploads"]) == len(set(state["uploads"])) == len(state["outbound"])
    assert {row[4] for row in state["outbound"]} == {"acknowledged"}
    # returns and NOCs came back and are linked to the entries they return / correct
    assert state["returns"] and all(linked for *_, linked in state["returns"])
    assert state["nocs"] and all(linked for *_, linked in state["nocs"])
    assert all(state == "ingested" for _, state, _ in state["inbound"])
    # every item ends reconciled (matched, returned, noc) or in a named break: no breaks here
    items = world.report_items(last)
    assert items.height > 0
    assert set(items["class"].unique()) <= {"matched", "returned", "noc"}
    assert summary["breaks"]["count"] == 0
    # our return rates equal the sandbox's /return-rates figures
    ours = pl.read_parquet(
        world.base / "data/reports" / last.isoformat() / "compliance/rates.parquet"
    )
    assert ours.height > 0
    comparison = (
        world.base / "data/reports" / last.isoformat() / "compliance/api-comparison.parquet"
    )
    if comparison.exists():
        comp = pl.read_parquet(comparison)
        assert not comp["is_break"].any(), comp.filter(pl.col("is_break")).to_dicts()


def test_dry_run_builds_and_seals_locally_sends_nothing_records_only_itself(
    make_world: Callable[..., World],
) -> None:
    world = make_world(per_day=15)
    day = START
    world.evening(day)
    world.write_intake(day)
    result = world.run(day, "--dry-run")
    assert result.code == 0, result.stderr[-2000:]
    assert result.summary["dry_run"] is True
    outcomes = {s["step"]: s["outcome"] for s in result.summary["steps"]}
    assert outcomes["seal"] == "done" and outcomes["upload"] == "not_run"
    folder = world.base / "data" / "dry-run" / day.isoformat()
    names = sorted(p.name for p in folder.iterdir())
    assert len(names) == 2 and names[1] == names[0] + ".pgp"
    assert world.server_uploads() == []
    with world.db() as conn:
        assert conn.execute("SELECT job, outcome FROM runs").fetchall() == [
            ("nightly.dry-run", "dry_run")
        ]
        for table in ("outbound_files", "entries", "file_id_allocations", "run_steps"):
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table
    # the real run afterwards gets the same FileIDModifier the dry run previewed
    real = world.run(day)
    assert real.code in (0, 4)
    assert world.scalar("SELECT file_name FROM outbound_files") == names[0]
