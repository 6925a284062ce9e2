"""``achpipe db migrate|status|url`` in-process against a real Postgres."""

from __future__ import annotations

import json
from datetime import date

import psycopg
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.store import Ledger
from tests.pipeline._ledger_samples import entries_frame, record_file, traces


def test_migrate_status_url(pg_empty_url: str) -> None:
    runner = CliRunner()
    env = {"DATABASE_URL": pg_empty_url}
    status = runner.invoke(cli, ["db", "status", "--json"], env=env)
    assert status.exit_code == 0, status.output
    before = json.loads(status.stdout)
    assert before["applied"] == [] and len(before["pending"]) >= 3 and before["ok"]

    first = runner.invoke(cli, ["db", "migrate"], env=env)
    assert first.exit_code == 0, first.output
    assert "applied" in first.stdout and "0001_ledger" in first.stdout
    again = runner.invoke(cli, ["db", "migrate", "--json"], env=env)
    assert json.loads(again.stdout)["applied"] == []

    status = runner.invoke(cli, ["db", "status"], env=env)
    assert status.exit_code == 0
    assert "pending:  0" in status.stdout and "return_reason_codes" in status.stdout
    after = json.loads(runner.invoke(cli, ["db", "status", "--json"], env=env).stdout)
    assert after["row_counts"]["return_reason_codes"] >= 70 and after["pending"] == []

    with psycopg.connect(pg_empty_url, autocommit=True) as conn:
        conn.execute("UPDATE schema_migrations SET checksum = 'x' WHERE version = 1")
    broken = runner.invoke(cli, ["db", "status"], env=env)
    assert broken.exit_code == 1 and "CHANGED ON DISK" in broken.stdout
    assert "differ" in broken.stderr
    refused = runner.invoke(cli, ["db", "migrate"], env=env)
    assert refused.exit_code == 1 and "must never change" in refused.stderr


def test_status_counts_a_partitioned_table_once(
    pg_empty_url: str, pg_empty: psycopg.Connection, account_protector
) -> None:
    """entries' days (and a day's parts) are not lines of their own: the ledger's rows are
    counted once, under entries, beside how many partitions it has."""
    runner = CliRunner()
    env = {"DATABASE_URL": pg_empty_url}
    assert runner.invoke(cli, ["db", "migrate"], env=env).exit_code == 0
    ledger = Ledger(pg_empty, account_protector)
    record_file(ledger, entries_frame(traces(1, 3)), effective=date(2026, 3, 3), name="a")
    record_file(ledger, entries_frame(traces(4, 2)), effective=date(2026, 3, 4), name="b")
    status = json.loads(runner.invoke(cli, ["db", "status", "--json"], env=env).stdout)
    counts = status["row_counts"]
    assert counts["entries"] == 5 and counts["outbound_files"] == 2
    assert not [t for t in counts if t.startswith("entries_2026") or t == "entries_default"]
    assert status["partitions"] == {"entries": 3}  # two days and the default
    text = runner.invoke(cli, ["db", "status"], env=env).stdout
    assert [line.split() for line in text.splitlines() if line.split()[:1] == ["entries"]] == [
        ["entries", "5", "(3", "partitions)"]
    ]


def test_url_is_redacted(tmp_path) -> None:  # type: ignore[no-untyped-def]
    runner = CliRunner()
    out = runner.invoke(cli, ["db", "url"], env={"DATABASE_URL": "postgresql://a:pw@h/db"})
    assert out.exit_code == 0 and out.stdout.strip() == "postgresql://a:***@h/db"
    config = tmp_path / "achpipe.toml"
    config.write_text(f'[database]\nembedded_dir = "{tmp_path / "data"}"\n')
    out = runner.invoke(
        cli, ["db", "url", "--json", "--config", str(config)], env={"DATABASE_URL": ""}
    )
    got = json.loads(out.stdout)
    assert got["embedded"] is True and str(tmp_path / "data" / "postgres") in got["url"]


def test_unreachable_database_exits_75() -> None:
    out = CliRunner().invoke(
        cli, ["db", "status"], env={"DATABASE_URL": "postgresql://u:pw@127.0.0.1:1/x"}
    )
    assert out.exit_code == 75 and "pw" not in out.stderr and "Error:" in out.stderr
