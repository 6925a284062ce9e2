"""``achpipe reconcile`` and ``achpipe rates`` through click: exit codes, files, JSON shape."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from reconcile import CLASSES
from tests.pipeline.recon_files import FULL_ACCOUNT, reconcile_args, write_inputs


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_reconcile_clean_day_exits_0_and_writes_every_output(runner, tmp_path):
    paths = write_inputs(tmp_path)
    out = tmp_path / "out"
    result = runner.invoke(cli, [*reconcile_args(paths, out), "--json"])
    assert result.exit_code == 0, result.output + result.stderr
    summary = json.loads(result.stdout)
    assert summary["breaks"] == 0 and summary["ties"] is True
    assert summary["classes"] == {"matched": 7, "noc": 1, "returned": 4}
    fin = out / "finance"
    for cls in CLASSES:
        assert (fin / f"{cls}.csv").is_file() and (fin / f"{cls}.parquet").is_file()
    assert pl.read_parquet(fin / "returned.parquet")["return_code"].to_list() == ["R10"] * 4
    assert (fin / "reconciliation.xlsx").stat().st_size > 0
    html = (fin / "reconciliation.html").read_text()
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org", "")
    noc = pl.read_csv(fin / "sections" / "nocs.csv")
    assert noc["apply_by"].to_list() == ["2026-03-20"]  # 6 banking days after 2026-03-12


def test_no_full_account_number_in_any_output(runner, tmp_path):
    paths = write_inputs(tmp_path)
    out = tmp_path / "out"
    runner.invoke(cli, reconcile_args(paths, out))
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) > 20
    for path in files:
        if path.suffix == ".xlsx":
            import zipfile

            with zipfile.ZipFile(path) as z:
                blob = b"".join(z.read(n) for n in z.namelist())
        else:
            blob = path.read_bytes()
        assert FULL_ACCOUNT.encode() not in blob, path
    assert "****9012" in (out / "finance" / "reconciliation.html").read_text()


def test_breaks_exit_3(runner, tmp_path):
    paths = write_inputs(tmp_path)
    text = paths["entries"].read_text().replace("R3,3000", "R3,3001")
    paths["entries"].write_text(text)
    result = runner.invoke(cli, reconcile_args(paths, tmp_path / "out"))
    assert result.exit_code == 3
    assert "amount_break" in result.stdout
    again = runner.invoke(cli, [*reconcile_args(paths, tmp_path / "o2"), "--max-breaks", "10"])
    assert again.exit_code == 0


def test_bad_input_is_a_usage_error_naming_the_file(runner, tmp_path):
    paths = write_inputs(tmp_path)
    paths["returns"].write_text("original_trace_number,return_code,return_date\n1,R01,12/03/2026\n")
    result = runner.invoke(cli, reconcile_args(paths, tmp_path / "out"))
    assert result.exit_code == 2
    assert "returns" in result.stderr and "returns.csv" in result.stderr


def _rates_files(tmp_path: Path, n_returns: int) -> tuple[Path, Path]:
    ent = tmp_path / "e.csv"
    rows = [
        "trace_number,company_id,sec_code,transaction_code,amount_cents,effective_date,settlement_date"
    ]
    rows += [f"{i:015d},CO1,PPD,27,100,2026-02-01," for i in range(1000)]
    rows += [f"{i:015d},CO1,RCK,27,100,2026-02-01,2026-02-02" for i in range(1000, 1100)]
    ent.write_text("\n".join(rows) + "\n")
    ret = tmp_path / "r.csv"
    ret.write_text(
        "original_trace_number,return_code,return_date\n"
        + "".join(f"{i:015d},R10,2026-02-10\n" for i in range(n_returns))
    )
    return ent, ret


def test_rates_json_contract_and_exit_codes(runner, tmp_path):
    ent, ret = _rates_files(tmp_path, 5)
    ok = runner.invoke(
        cli, ["rates", "--date", "2026-03-01", "--from-files", str(ent), str(ret), "--json"]
    )
    assert ok.exit_code == 0, ok.stderr
    payload = json.loads(ok.stdout)
    assert payload["date"] == "2026-03-01"
    assert payload["window"] == {"from": "2025-12-31", "to": "2026-02-28"}
    rows = {(r["company_id"], r["sec_code"]): r for r in payload["rates"]}
    assert set(rows) == {("CO1", None), ("CO1", "PPD"), ("CO1", "RCK")}
    u = rows[("CO1", None)]["unauthorized"]
    assert u == {
        "returns": 5,
        "debits": 1100,
        "rate_pct": pytest.approx(5 / 11),
        "limit_pct": 0.5,
        "breach": False,
        "warning": True,
        "days_out_of_compliance": 0,
    }
    assert rows[("CO1", None)]["overall"]["debits"] == 1000

    ent, ret = _rates_files(tmp_path, 6)
    bad = runner.invoke(cli, ["rates", "--date", "2026-03-01", "--from-files", str(ent), str(ret)])
    assert bad.exit_code == 4
    assert "BREACH" in bad.stdout


def test_rates_writes_compliance_page_and_compares_with_api(runner, tmp_path):
    ent, ret = _rates_files(tmp_path, 5)
    api = tmp_path / "api.csv"
    api.write_text(
        "company_id,date,debit_entries,unauthorized_returns,unauthorized_rate_pct,"
        "unauthorized_days_out_of_compliance,administrative_returns,administrative_rate_pct,"
        "administrative_days_out_of_compliance,overall_returns,overall_rate_pct,"
        "overall_days_out_of_compliance\n"
        "CO1,2026-03-01,1100,5,0.4545,0,0,0.0,0,5,0.6,0\n"
    )
    out = tmp_path / "out"
    result = runner.invoke(
        cli,
        [
            "rates",
            "--date",
            "2026-03-01",
            "--from-files",
            str(ent),
            str(ret),
            "--api-rates",
            str(api),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert "1 difference(s)" in result.stdout  # overall: ours 0.5, API 0.6
    cmp = pl.read_csv(out / "compliance" / "api-comparison.csv")
    assert cmp.filter(pl.col("is_break"))["measure"].to_list() == ["overall"]
    assert pl.read_parquet(out / "compliance" / "rates.parquet")["date"].n_unique() == 60


def test_rates_requires_the_contract_columns(runner, tmp_path):
    ent, ret = _rates_files(tmp_path, 1)
    ret.write_text("trace,code\n1,R01\n")
    result = runner.invoke(
        cli, ["rates", "--date", "2026-03-01", "--from-files", str(ent), str(ret)]
    )
    assert result.exit_code == 2 and "original_trace_number" in result.stderr


def test_reconcile_from_nacha_files(runner, tmp_path):
    samples = Path(__file__).resolve().parents[2] / "sample_files"
    ledger = tmp_path / "ledger.csv"
    ledger.write_text(
        "reference,amount_cents,direction,company_id,sec_code,effective_date\n"
        "MBR-0001,12500,debit,1234567890,PPD,2026-03-09\n"
        "MBR-0002,4599,debit,1234567890,PPD,2026-03-09\n"
        "MBR-0003,8999,debit,1234567890,PPD,2026-03-09\n"
    )
    api = tmp_path / "api.csv"
    api.write_text(
        "cfi_transaction_id,reference,status,amount_cents,direction,effective_date\n"
        "C_1,MBR-0001,Returned,12500,debit,2026-03-09\n"
        "C_2,MBR-0002,Returned,4599,debit,2026-03-09\n"
        "C_3,MBR-0003,Settled,8999,debit,2026-03-09\n"
    )
    out = tmp_path / "out"
    result = runner.invoke(
        cli,
        [
            "reconcile",
            "--ledger",
            str(ledger),
            "--entries",
            str(samples / "ppd-debit.ach"),
            "--api",
            str(api),
            "--returns",
            str(samples / "return.ach"),
            "--nocs",
            str(samples / "noc.ach"),
            "--date",
            "2026-03-11",
            "--out",
            str(out),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["classes"] == {"matched": 3, "noc": 1, "returned": 8}
    returned = pl.read_csv(out / "finance" / "sections" / "returns.csv")
    assert sorted(returned["return_code"]) == ["R01", "R10"]
    assert sorted(returned["return_category"]) == ["other", "unauthorized"]
