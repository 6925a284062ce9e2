"""``achpipe reverse``, ``segment`` and ``merge`` on a file built from the shipped samples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from click.testing import CliRunner

import nacha
from pipeline.cli import cli

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_CONFIG = ROOT / "sample_files" / "achpipe.toml"
SAMPLE_TRANSFERS = ROOT / "sample_files" / "transfers.csv"


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def built(tmp_path: Path) -> Path:
    out = tmp_path / "built"
    result = invoke(
        "build", str(SAMPLE_TRANSFERS), "--config", str(SAMPLE_CONFIG),
        "--date", "2026-03-10", "--now", "2026-03-10T12:00:00-05:00", "--out", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (path,) = out.iterdir()
    return path


def entries(path: Path) -> pl.DataFrame:
    f = nacha.read(path.read_bytes())
    assert nacha.validate(f).filter(pl.col("severity") == "error").height == 0
    return f.entries.join(f.batches, on="batch_index").select(
        "trace_number", "transaction_code", "amount", "service_class_code",
        "company_entry_description",
    )  # fmt: skip


def test_segment_splits_by_direction_keeping_traces(built: Path, tmp_path: Path) -> None:
    out = tmp_path / "seg"
    result = invoke("segment", str(built), "--out", str(out), "--json")
    assert result.exit_code == 0, result.output
    paths = [Path(f["path"]) for f in json.loads(result.stdout)["files"]]
    debit, credit = (entries(p) for p in paths)
    assert set(debit["service_class_code"]) == {"225"}
    assert set(credit["service_class_code"]) == {"220"}
    assert all(int(code[1]) >= 5 for code in debit["transaction_code"])
    assert all(int(code[1]) < 5 for code in credit["transaction_code"])
    original = entries(built)
    assert sorted(debit["trace_number"].to_list() + credit["trace_number"].to_list()) == sorted(
        original["trace_number"].to_list()
    )
    again = invoke("segment", str(built), "--out", str(out))
    assert again.exit_code == 2 and "refusing to overwrite" in again.output


def test_merge_puts_segments_back_together_and_respects_line_limit(
    built: Path, tmp_path: Path
) -> None:
    seg = tmp_path / "seg"
    assert invoke("segment", str(built), "--out", str(seg)).exit_code == 0
    parts = sorted(str(p) for p in seg.iterdir())
    now = "2026-03-10T18:00:00-05:00"
    one = invoke("merge", *parts, "--out", str(tmp_path / "one"), "--now", now, "--json")
    assert one.exit_code == 0, one.output
    (merged,) = [Path(f["path"]) for f in json.loads(one.stdout)["files"]]
    assert sorted(entries(merged)["trace_number"]) == sorted(entries(built)["trace_number"])

    small = invoke(
        "merge", *parts, "--out", str(tmp_path / "small"), "--now", now, "--max-lines", "20",
        "--json",
    )  # fmt: skip
    assert small.exit_code == 0, small.output
    files = json.loads(small.stdout)["files"]
    assert len(files) == 2
    assert sum(f["entries"] for f in files) == entries(built).height


def test_merge_refuses_repeated_traces(built: Path, tmp_path: Path) -> None:
    result = invoke("merge", str(built), str(built), "--out", str(tmp_path / "m"))
    assert result.exit_code == 1
    assert "trace numbers repeat" in result.output
    assert not (tmp_path / "m").exists()


def test_reverse_flips_live_entries_with_new_traces(built: Path, tmp_path: Path) -> None:
    out = tmp_path / "rev"
    result = invoke(
        "reverse", str(built), "--config", str(SAMPLE_CONFIG), "--date", "2026-03-11",
        "--now", "2026-03-11T10:00:00-05:00", "--first-trace", "500", "--out", str(out), "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    (path,) = [Path(f["path"]) for f in data["files"]]
    reversal = entries(path)
    original = entries(built).filter(pl.col("amount") > 0)  # the prenote is not reversed
    assert reversal.height == original.height == len(data["entries"])
    assert set(reversal["company_entry_description"].str.strip_chars()) == {"REVERSAL"}
    assert not set(reversal["trace_number"]) & set(original["trace_number"])
    assert data["next_trace_sequence"] == 500 + reversal.height
    pairs = {e["original_trace_number"]: e["trace_number"] for e in data["entries"]}
    flipped = original.with_columns(trace_number=pl.col("trace_number").replace(pairs)).join(
        reversal, on="trace_number", suffix="_rev"
    )
    assert flipped.height == original.height
    assert (flipped["amount"] == flipped["amount_rev"]).all()
    directions = flipped.select(
        before=pl.col("transaction_code").str.slice(1, 1).cast(pl.Int8) >= 5,
        after=pl.col("transaction_code_rev").str.slice(1, 1).cast(pl.Int8) >= 5,
    )
    assert (directions["before"] != directions["after"]).all()


def test_reverse_one_trace_and_too_late(built: Path, tmp_path: Path) -> None:
    trace = entries(built).filter(pl.col("amount") > 0)["trace_number"][0]
    common = ["--config", str(SAMPLE_CONFIG), "--first-trace", "900"]
    one = invoke(
        "reverse", str(built), *common, "--date", "2026-03-11", "--trace", trace,
        "--now", "2026-03-11T10:00:00-05:00", "--out", str(tmp_path / "one"), "--json",
    )  # fmt: skip
    assert one.exit_code == 0, one.output
    assert [e["original_trace_number"] for e in json.loads(one.stdout)["entries"]] == [trace]
    late = invoke(
        "reverse", str(built), *common, "--date", "2026-04-01",
        "--now", "2026-04-01T10:00:00-05:00", "--out", str(tmp_path / "late"),
    )  # fmt: skip
    assert late.exit_code == 1
    assert "too late to reverse" in late.output
    assert not (tmp_path / "late").exists()
