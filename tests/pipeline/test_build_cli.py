"""``achpipe build`` end to end with the shipped sample files, and the TOML mapping."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from click.testing import CliRunner

from pipeline.build_config import BuildConfig, load_build_config
from pipeline.cli import cli
from pipeline.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_CONFIG = ROOT / "sample_files" / "achpipe.toml"
SAMPLE_TRANSFERS = ROOT / "sample_files" / "transfers.csv"
NOW = "2026-03-10T12:00:00-05:00"  # Tue 11:00 CT: after the same-day cut-off


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def run(runner: CliRunner, *args: str) -> Any:
    return runner.invoke(cli, ["build", *args], catch_exceptions=False)


def test_sample_files_build_as_shipped(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run(
        runner,
        str(SAMPLE_TRANSFERS),
        "--config", str(SAMPLE_CONFIG),
        "--date", "2026-03-10",
        "--out", str(out),
        "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output + result.stderr
    data = json.loads(result.stdout)
    transfers = pl.read_csv(SAMPLE_TRANSFERS, infer_schema=False)
    assert data["rejected"] == []
    assert data["entries"] == transfers.height
    assert data["written"] is True
    (file_info,) = data["files"]
    path = Path(file_info["path"])
    assert path.parent == out and path.name == "1234567890-20260310-A-01.ach"
    content = path.read_bytes()
    lines = content.decode("ascii").splitlines()
    assert all(len(line) == 94 for line in lines) and len(lines) % 10 == 0
    debits = sum(
        int(a.replace(".", ""))
        for a, t in transfers.select("amount", "transactionType").rows()
        if t == "Debit"
    )
    assert data["debit_total_cents"] == file_info["debit_total_cents"] == debits
    assert set(data) >= {"files", "batches", "entries", "credit_total_cents", "rejected"}


def test_human_output_and_rejections_exit_1_without_writing(
    runner: CliRunner, tmp_path: Path
) -> None:
    transfers = tmp_path / "t.csv"
    shutil.copy(SAMPLE_TRANSFERS, transfers)
    with transfers.open("a") as handle:
        handle.write(
            "BAD0001,ACME,,PPD,BAD ROUTING,123456789,1,Checking,Credit,1.00,USD,PAYROLL,,,,\n"
        )
    out = tmp_path / "out"
    args = [str(transfers), "--config", str(SAMPLE_CONFIG), "--date", "2026-03-10"]
    result = run(runner, *args, "--out", str(out))
    assert result.exit_code == 1
    assert "rejected row 10 BAD0001: routingNumber 123456789" in result.stderr
    assert "no files written" in result.stderr
    assert not out.exists()
    partial = run(runner, *args, "--out", str(out), "--allow-partial", "--json")
    assert partial.exit_code == 0
    data = json.loads(partial.stdout)
    assert data["rejected"][0]["reference"] == "BAD0001"
    assert len(list(out.iterdir())) == 1


def test_existing_files_are_never_overwritten(runner: CliRunner, tmp_path: Path) -> None:
    args = [str(SAMPLE_TRANSFERS), "--config", str(SAMPLE_CONFIG), "--date", "2026-03-10"]
    assert run(runner, *args, "--out", str(tmp_path)).exit_code == 0
    again = runner.invoke(cli, ["build", *args, "--out", str(tmp_path)])
    assert again.exit_code == 2
    assert "refusing to overwrite" in again.stderr
    other = run(runner, *args, "--out", str(tmp_path), "--modifier", "B")
    assert other.exit_code == 0
    assert sorted(p.name[-9:] for p in tmp_path.iterdir()) == ["-A-01.ach", "-B-01.ach"]


def test_config_from_the_environment_with_overrides(runner: CliRunner, tmp_path: Path) -> None:
    env = {"ACHPIPE_CONFIG": str(SAMPLE_CONFIG), "ACHPIPE_BUILD_BALANCED": "true"}
    result = runner.invoke(
        cli,
        ["build", str(SAMPLE_TRANSFERS), "--date", "2026-03-10", "--out", str(tmp_path), "--json"],
        env=env,
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["debit_total_cents"] == data["credit_total_cents"]  # offsets were added
    assert data["entries"] > 8


def test_not_a_banking_day_exits_99(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(
        cli,
        ["build", str(SAMPLE_TRANSFERS), "--config", str(SAMPLE_CONFIG),
         "--date", "2026-10-12", "--out", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 99
    assert "not a banking day" in result.stderr


def test_now_option_drives_effective_dates(runner: CliRunner, tmp_path: Path) -> None:
    args = [str(SAMPLE_TRANSFERS), "--config", str(SAMPLE_CONFIG), "--date", "2026-03-10"]
    result = run(runner, *args, "--out", str(tmp_path), "--now", NOW, "--json")
    assert result.exit_code == 0
    content = next(tmp_path.iterdir()).read_bytes().decode()
    batch_headers = [line for line in content.splitlines() if line.startswith("5")]
    assert {line[69:75] for line in batch_headers} == {"260311"}
    bad = runner.invoke(cli, ["build", *args, "--out", str(tmp_path), "--now", "2026-03-10"])
    assert bad.exit_code == 2 and "UTC offset" in bad.stderr


def test_parquet_input(runner: CliRunner, tmp_path: Path) -> None:
    parquet = tmp_path / "t.parquet"
    pl.read_csv(SAMPLE_TRANSFERS, infer_schema=False).write_parquet(parquet)
    result = run(
        runner, str(parquet), "--config", str(SAMPLE_CONFIG), "--date", "2026-03-10",
        "--out", str(tmp_path / "o"), "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["entries"] == 9


def test_float_amounts_in_parquet_are_refused(runner: CliRunner, tmp_path: Path) -> None:
    parquet = tmp_path / "t.parquet"
    frame = pl.read_csv(SAMPLE_TRANSFERS, infer_schema=False)
    frame.with_columns(pl.col("amount").cast(pl.Float64)).write_parquet(parquet)
    result = runner.invoke(
        cli,
        ["build", str(parquet), "--config", str(SAMPLE_CONFIG), "--date", "2026-03-10",
         "--out", str(tmp_path / "o")],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "floats are inexact" in result.stderr


def test_bad_inputs_are_usage_errors(runner: CliRunner, tmp_path: Path) -> None:
    base = ["--config", str(SAMPLE_CONFIG), "--date", "2026-03-10", "--out", str(tmp_path)]
    txt = tmp_path / "t.txt"
    txt.write_text("x")
    assert runner.invoke(cli, ["build", str(txt), *base]).exit_code == 2
    missing = runner.invoke(cli, ["build", str(tmp_path / "none.csv"), *base])
    assert missing.exit_code == 2 and "not found" in missing.stderr
    bad_date = runner.invoke(cli, ["build", str(SAMPLE_TRANSFERS), *base[:2], "--date", "x"])
    assert bad_date.exit_code == 2
    bad_mod = runner.invoke(cli, ["build", str(SAMPLE_TRANSFERS), *base, "--modifier", "a"])
    assert bad_mod.exit_code == 2 and "modifier" in bad_mod.stderr


# ------------------------------------------------------------------- TOML → settings


def sample() -> dict[str, Any]:
    return tomllib.loads(SAMPLE_CONFIG.read_text())


def test_sample_config_maps_every_setting() -> None:
    settings = load_build_config(SAMPLE_CONFIG).settings
    assert settings.originator.odfi_routing == "091000019"
    assert settings.odfi.profile.tz.key == "America/Chicago"
    assert settings.odfi.profile.same_day_limit_cents == 100_000_000
    assert settings.companies[0].settlement is not None
    assert settings.limits.max_file_debit_cents == 999_999_999_999
    assert settings.line_ending == "\n"


def test_every_sample_setting_has_a_comment() -> None:
    lines = SAMPLE_CONFIG.read_text().splitlines()
    for i, line in enumerate(lines):
        if "=" in line and not line.lstrip().startswith("#"):
            assert lines[i - 1].lstrip().startswith("#"), f"no comment above: {line}"


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("originator", "odfi_routing"), "123456789", "originator: odfi_routing"),
        (("odfi", "timezone"), "Mars/Olympus", "odfi.timezone"),
        (("odfi", "same_day_cutoff"), "9.30", "odfi.same_day_cutoff"),
        (("odfi", "same_day_limit"), "1000000.001", "odfi.same_day_limit"),
        (("build", "balanced"), "yes", "build.balanced must be bool"),
        (("build", "service_class_mode"), "both", "service_class_mode"),
        (("build", "line_ending"), "cr", "build.line_ending"),
        (("build", "file_name_template"), "{origin}-{day}.ach", "unknown placeholder"),
        (("build", "file_name_template"), "{origin}.ach", "must include {modifier}"),
        (("build", "effective_date_policy"), "ignore", "effective_date_policy"),
        (("build", "max_file_lines"), 5, "max_file_lines"),
        (("build", "colour"), "blue", "build: unknown key(s) colour"),
        (("calendar", "extra_closures"), ["2026-13-01"], "calendar.extra_closures"),
    ],
)
def test_bad_settings_name_the_key(path: tuple[str, str], value: Any, message: str) -> None:
    raw = sample()
    raw[path[0]][path[1]] = value
    with pytest.raises(ConfigError) as err:
        BuildConfig.from_mapping(raw)
    assert message in str(err.value)


def test_company_and_section_errors() -> None:
    raw = sample()
    raw["companies"][0]["company_name"] = "A NAME LONGER THAN 16"
    with pytest.raises(ConfigError, match=r"companies\[0\]: company_name is longer"):
        BuildConfig.from_mapping(raw)
    raw = sample()
    raw["build"]["balanced"] = True
    raw["build"]["service_class_mode"] = "split"
    with pytest.raises(ConfigError, match="balanced files need"):
        BuildConfig.from_mapping(raw)
    raw = sample()
    del raw["originator"]
    with pytest.raises(ConfigError, match=r"missing section \[originator\]"):
        BuildConfig.from_mapping(raw)
    raw = sample()
    raw["companies"] = []
    with pytest.raises(ConfigError, match="companies"):
        BuildConfig.from_mapping(raw)


def test_calendar_overrides_reach_the_profile() -> None:
    raw = sample()
    raw["calendar"]["extra_closures"] = ["2026-03-11"]
    settings = BuildConfig.from_mapping(raw).settings
    assert not settings.odfi.profile.calendar.is_banking_day(
        __import__("datetime").date(2026, 3, 11)
    )


def test_unreadable_config(tmp_path: Path) -> None:
    bad = tmp_path / "a.toml"
    bad.write_text("[originator\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_build_config(bad)
    with pytest.raises(ConfigError, match="not found"):
        load_build_config(tmp_path / "missing.toml")


def test_pop_and_xck_rows_build_from_a_csv_with_their_columns(
    runner: CliRunner, tmp_path: Path
) -> None:
    """The sample transfers plus the POP/XCK columns (empty on the sample's rows) and one
    POP and one XCK debit: empty CSV cells are "no value", the file validates and reads
    back with the check fields in place."""
    import nacha

    sample = pl.read_csv(SAMPLE_TRANSFERS, infer_schema=False)
    extra = ["terminalCity", "terminalState", "processControlField", "itemResearchNumber"]
    base = {"clientCode": "ACME", "effectiveEntryDate": None, "routingNumber": "021000021",
            "DFIAccountNumber": "000123456789", "accountType": "Checking",
            "transactionType": "Debit", "currency": "USD", "paymentTypeCode": None,
            "addenda": None, "prenote": None}  # fmt: skip
    rows = pl.DataFrame(
        [
            {
                **base,
                "reference": "POP0001",
                "standardEntryClassCode": "POP",
                "individualName": None,
                "amount": "61.20",
                "companyEntryDescription": "CHECK PMT",
                "identificationNumber": "000004711",
                "terminalCity": "CHIC",
                "terminalState": "IL",
            },
            {
                **base,
                "reference": "XCK0001",
                "standardEntryClassCode": "XCK",
                "individualName": None,
                "amount": "310.00",
                "companyEntryDescription": "NO CHECK",
                "identificationNumber": "1002",
                "processControlField": "PC0001",
                "itemResearchNumber": "0000000000098765",
            },
        ],
        schema=dict.fromkeys([*sample.columns, *extra], pl.String),
    )
    transfers = tmp_path / "t.csv"
    pl.concat([sample, rows], how="diagonal").write_csv(transfers)
    out = tmp_path / "out"
    result = run(
        runner, str(transfers), "--config", str(SAMPLE_CONFIG), "--date", "2026-03-10",
        "--out", str(out), "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output + result.stderr
    data = json.loads(result.stdout)
    assert data["rejected"] == [] and data["entries"] == sample.height + 2
    f = nacha.read(Path(data["files"][0]["path"]))
    assert nacha.validate(f).height == 0
    batches = dict(f.batches.select("batch_index", "sec_code").rows())
    got = {
        batches[b]: (serial, city, state, pcf, irn)
        for b, serial, city, state, pcf, irn in f.entries.select(
            "batch_index", "check_serial_number", "terminal_city", "terminal_state",
            "process_control_field", "item_research_number",
        ).rows()
        if batches[b] in ("POP", "XCK")
    }  # fmt: skip
    assert got == {
        "POP": ("000004711", "CHIC", "IL", None, None),
        "XCK": ("1002", None, None, "PC0001", "0000000000098765"),
    }
