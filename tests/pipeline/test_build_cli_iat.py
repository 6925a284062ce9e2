"""``achpipe build`` with a CSV holding an IAT row: the domestic file and an IAT file of its
own, both written; the company's IAT originator settings come from ``achpipe.toml``."""

from __future__ import annotations

import csv
import json
import tomllib
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

import nacha
from nacha.build_iat_input import IAT_COLUMNS
from pipeline.build_config import BuildConfig, load_build_config
from pipeline.cli import cli
from pipeline.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_CONFIG = ROOT / "sample_files" / "achpipe.toml"
SAMPLE_TRANSFERS = ROOT / "sample_files" / "transfers.csv"
NOW = "2026-03-10T12:00:00-05:00"

IAT_ROW = {
    "reference": "INTL0001",
    "clientCode": "ACME",
    "effectiveEntryDate": "",
    "standardEntryClassCode": "IAT",
    "individualName": "MAPLE LEAF IMPORTS LTD",
    "routingNumber": "021000021",
    "DFIAccountNumber": "GB29NWBK60161331926819",
    "accountType": "Checking",
    "transactionType": "Credit",
    "amount": "2500.00",
    "currency": "USD",
    "companyEntryDescription": "TRADE",
    "iatTransactionTypeCode": "BUS",
    "destinationCountryCode": "GB",
    "destinationCurrencyCode": "GBP",
    "foreignExchangeIndicator": "FV",
    "receiverStreetAddress": "1 THREADNEEDLE STREET",
    "receiverCityStateProvince": "LONDON*\\",
    "receiverCountryPostalCode": "GB*EC2R8AH\\",
    "rdfiName": "EXAMPLE BANK PLC",
    "rdfiIdQualifier": "02",
    "rdfiIdentification": "NWBKGB2L",
    "rdfiBranchCountryCode": "GB",
    "paymentRelatedInformation": "INVOICE 2026-0042",
    "correspondentBank1Name": "EXAMPLE CORRESPONDENT BANK",
    "correspondentBank1IdQualifier": "02",
    "correspondentBank1Identification": "EXMPGB2LXXX",
    "correspondentBank1BranchCountryCode": "GB",
}


@pytest.fixture
def transfers(tmp_path: Path) -> Path:
    """The sample transfers plus the IAT columns (empty on domestic rows) and one IAT row."""
    with SAMPLE_TRANSFERS.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    columns = [*rows[0], *IAT_COLUMNS]
    path = tmp_path / "mixed.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, columns, restval="")
        writer.writeheader()
        writer.writerows([*rows, IAT_ROW])
    return path


def test_build_writes_an_iat_file_after_the_domestic_file(transfers: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["build", str(transfers), "--config", str(SAMPLE_CONFIG), "--date", "2026-03-10"]
    result = CliRunner().invoke(
        cli, [*args, "--out", str(out), "--now", NOW, "--json"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output + result.stderr
    data = json.loads(result.stdout)
    assert data["rejected"] == [] and data["written"] is True
    domestic, international = (Path(f["path"]) for f in data["files"])
    assert international.name == "1234567890-20260310-B-02.ach"
    assert nacha.read(domestic.read_bytes()).batches["sec_code"].unique().to_list() != ["IAT"]
    f = nacha.read(international.read_bytes())
    issues = nacha.validate(f)
    assert issues.filter(pl.col("severity") == "error").height == 0
    assert f.batches["sec_code"].to_list() == ["IAT"]
    assert f.entries["amount"].to_list() == [250000]
    config = load_build_config(SAMPLE_CONFIG).settings.companies[0]
    originator = f.addenda.filter(pl.col("addenda_type_code") == "11").row(0, named=True)
    assert originator["originator_name"] == config.iat_originator_name
    assert originator["originator_street_address"] == config.iat_originator_street_address
    (correspondent,) = f.addenda.filter(pl.col("addenda_type_code") == "18").rows(named=True)
    assert correspondent["foreign_correspondent_bank_name"] == "EXAMPLE CORRESPONDENT BANK"
    assert correspondent["foreign_correspondent_bank_identification"] == "EXMPGB2LXXX"
    assert f.addenda["addenda_type_code"].to_list()[-2:] == ["17", "18"]
    n_domestic = pl.read_csv(SAMPLE_TRANSFERS, infer_schema=False).height
    assert data["entries"] == n_domestic + 1


def test_build_rejects_a_bad_iat_row_with_its_reference(transfers: Path, tmp_path: Path) -> None:
    text = transfers.read_text().replace("NWBKGB2L", "NWBK")
    transfers.write_text(text)
    args = ["build", str(transfers), "--config", str(SAMPLE_CONFIG), "--date", "2026-03-10"]
    result = CliRunner().invoke(
        cli, [*args, "--out", str(tmp_path / "out"), "--now", NOW], catch_exceptions=False
    )
    assert result.exit_code == 1
    assert "INTL0001: rdfiIdentification must be an 8 or 11 character BIC" in result.stderr
    assert not (tmp_path / "out").exists()


def test_iat_originator_settings_are_checked() -> None:
    raw = tomllib.loads(SAMPLE_CONFIG.read_text())
    raw["companies"][0]["iat_originator_street_address"] = "X" * 36
    with pytest.raises(ConfigError, match=r"companies\[0\]: iat_originator_street_address"):
        BuildConfig.from_mapping(raw)
    raw["companies"][0]["iat_originator_street_address"] = 12
    with pytest.raises(ConfigError, match="must be str"):
        BuildConfig.from_mapping(raw)
