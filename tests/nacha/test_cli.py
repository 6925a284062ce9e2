"""The validate / inspect / convert commands, in-process with click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from nacha.build import BuildResult
from pipeline.cli import cli
from tests.nacha.conftest import CORPUS, SAMPLES

CHECK_DIGIT = CORPUS / "test/testdata/ppd-debit-invalid-entryDetail-checkDigit.ach"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_validate_valid_files_exit_0(runner: CliRunner) -> None:
    files = [str(p) for p in sorted(SAMPLES.glob("*.ach"))]
    result = runner.invoke(cli, ["validate", *files])
    assert result.exit_code == 0, result.output
    assert result.stdout.count(": valid") == len(files)


def test_validate_invalid_file_exit_1_with_json(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["validate", "--json", str(CHECK_DIGIT)])
    assert result.exit_code == 1
    issues = json.loads(result.stdout)
    assert isinstance(issues, list)
    assert set(issues[0]) == {"line", "record_type", "field", "rule", "message"}
    rules = {i["rule"] for i in issues}
    assert "entry.rdfi_check_digit" in rules
    check = next(i for i in issues if i["rule"] == "entry.rdfi_check_digit")
    assert check["line"] == 3 and check["record_type"] == "entry"


def test_validate_relax_turns_errors_into_warnings(runner: CliRunner) -> None:
    args = [
        "validate",
        "--relax",
        "allowInvalidCheckDigit",
        "--relax",
        "lenientLineLength",
        "--relax",
        "allowUnpaddedFile",
        str(CHECK_DIGIT),
    ]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "warning" in result.stdout


def test_validate_usage_errors_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    assert runner.invoke(cli, ["validate"]).exit_code == 2
    assert runner.invoke(cli, ["validate", str(tmp_path / "nope.ach")]).exit_code == 2
    bad = runner.invoke(cli, ["validate", "--relax", "noSuchOption", str(CHECK_DIGIT)])
    assert bad.exit_code == 2 and "noSuchOption" in bad.output


def test_validate_unreadable_file_is_an_error_and_the_others_are_still_checked(
    runner: CliRunner, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.ach"
    empty.write_bytes(b"")
    result = runner.invoke(cli, ["validate", "--json", str(empty), str(SAMPLES / "noc.ach")])
    assert result.exit_code == 1
    issues = json.loads(result.stdout)
    assert [i["rule"] for i in issues] == ["file.empty"]
    assert issues[0]["file"] == str(empty)
    assert set(issues[0]) == {"line", "record_type", "field", "rule", "message", "file"}


def test_inspect_summary_masks_accounts(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["inspect", "--entries", str(SAMPLES / "return.ach")])
    assert result.exit_code == 0, result.output
    assert "return R01" in result.stdout and "R10" in result.stdout
    assert "000123456789" not in result.stdout and "********6789" in result.stdout


@pytest.mark.parametrize(
    "name",
    [
        "test/testdata/iat-mixedDebitCredit.ach",
        "test/testdata/adv.ach",
        "examples/testdata/contested-return.ach",
        "test/testdata/iat-addenda98.ach",
    ],
)
def test_inspect_and_convert_every_kind_of_file(
    runner: CliRunner, tmp_path: Path, name: str
) -> None:
    path = str(CORPUS / name)
    assert runner.invoke(cli, ["inspect", "--entries", path]).exit_code == 0
    out = tmp_path / "x.csv"
    assert runner.invoke(cli, ["convert", path, "--to", "csv", "--out", str(out)]).exit_code == 0


def test_inspect_json(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["inspect", "--json", "--entries", str(SAMPLES / "noc.ach")])
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["nocs"][0]["change_code"] == "C01"
    assert doc["batches"][0]["sec_code"] == "COR"
    assert all("*" in e["dfi_account_number"] for e in doc["entries"])


@pytest.mark.parametrize("fmt", ["csv", "parquet", "json"])
def test_convert(runner: CliRunner, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"entries.{fmt}"
    result = runner.invoke(
        cli, ["convert", str(SAMPLES / "ccd-addenda.ach"), "--to", fmt, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    if fmt == "csv":
        table = pl.read_csv(out, infer_schema=False)
    elif fmt == "parquet":
        table = pl.read_parquet(out)
    else:
        table = pl.DataFrame(json.loads(out.read_text()))
    assert table.height == 2
    assert table["sec_code"].to_list() == ["CCD", "CCD"]
    assert table["payment_related_information"][0].startswith("RMR*IV*INV-2026-0042")
    assert not any("4410022233" in str(v) for v in table["dfi_account_number"].to_list())


def _converted(runner: CliRunner, tmp_path: Path, result: BuildResult, fmt: str) -> pl.DataFrame:
    """Write ``result``'s one file, run ``achpipe convert --to fmt`` on it, read the table."""
    path = tmp_path / "built.ach"
    path.write_bytes(result.files[0].content)
    out = tmp_path / f"entries.{fmt}"
    done = runner.invoke(cli, ["convert", str(path), "--to", fmt, "--out", str(out)])
    assert done.exit_code == 0, done.output
    if fmt == "csv":
        return pl.read_csv(out, infer_schema=False)
    if fmt == "parquet":
        return pl.read_parquet(out)
    return pl.DataFrame(json.loads(out.read_text()))


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_convert_exports_a_ctx_remittance_whole(
    runner: CliRunner, tmp_path: Path, fmt: str
) -> None:
    """A CTX entry's addenda 05 records (here 4, one of them ending in a space at position
    80) come back as the one text the builder was given, not its first 80 characters."""
    from nacha.build import build_files
    from tests.nacha.build_fixtures import NOW, frame, settings
    from tests.nacha.test_build_files import X12, _ctx

    rows = [_ctx("X1", X12), _ctx("X2", "RMR*IV*7*PO*99.00~", transactionType="Debit")]
    result = build_files(frame(*rows), settings(), now=NOW, file_id_modifiers="A")
    assert result.rejected.height == 0, result.rejected.to_dicts()
    table = _converted(runner, tmp_path, result, fmt)
    traces = dict(result.entries.select("trace_number", "reference").iter_rows())
    texts = {
        traces[t]: text
        for t, text in table.select("trace_number", "payment_related_information").iter_rows()
    }
    assert len(X12) > 3 * 80
    assert texts == {"X1": X12, "X2": "RMR*IV*7*PO*99.00~"}
    types = table["addenda_types"].to_list()
    want = ",".join(["05"] * -(-len(X12) // 80))
    assert types[0] == (want if fmt == "csv" else want.split(","))


@pytest.mark.parametrize("fmt", ["csv", "parquet", "json"])
def test_convert_exports_iat_correspondent_banks(
    runner: CliRunner, tmp_path: Path, fmt: str
) -> None:
    """An IAT entry's addenda 18 come out as numbered columns, like the build input's."""
    from nacha.build import build_files
    from tests.nacha.build_fixtures import NOW, settings
    from tests.nacha.test_build_iat import BANKS, five_banks, frame, iat

    rows = [iat(reference="I1", paymentRelatedInformation="INV 1", **five_banks(2)),
            iat(reference="I2", **dict.fromkeys(five_banks(2)))]  # fmt: skip
    result = build_files(frame(*rows), settings(), now=NOW, file_id_modifiers="A")
    assert result.rejected.height == 0, result.rejected.to_dicts()
    table = _converted(runner, tmp_path, result, fmt)
    fields = ("name", "id_number_qualifier", "identification", "branch_country_code")
    got = [
        [tuple(r[f"foreign_correspondent_bank_{k}_{f}"] for f in fields) for k in (1, 2)]
        for r in table.iter_rows(named=True)
    ]
    assert got == [BANKS[:2], [(None,) * 4] * 2]
    assert table["payment_related_information"].to_list() == ["INV 1", None]
    assert "foreign_correspondent_bank_3_name" not in table.columns
