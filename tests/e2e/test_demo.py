"""``achpipe demo`` end to end (small): reports land in the printed directory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from pipeline.cli import cli


def test_demo_runs_nights_and_leaves_reports(
    pg_database: Callable[..., str], tmp_path: Path
) -> None:
    workdir = tmp_path / "demo"
    result = CliRunner().invoke(
        cli,
        [
            "demo",
            "--dir",
            str(workdir),
            "--days",
            "2",
            "--closing-days",
            "1",
            "--transfers",
            "30",
            "--database-url",
            pg_database(migrated=False),
        ],
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    nights = [line for line in lines if line.startswith("  2026-")]
    assert len(nights) == 3
    assert "sent 30 entries" in nights[0] and "received 1 ack(s)" in nights[1]
    reports = Path(next(line for line in lines if line.startswith("reports:")).split()[1])
    for rel in (
        "index.html",
        "finance/reconciliation.html",
        "finance/reconciliation.xlsx",
        "compliance/return-rates.html",
        "summary.json",
    ):
        assert (reports / rel).is_file(), rel
    assert (workdir / "achpipe.toml").is_file()
    assert "Traceback" not in result.output
