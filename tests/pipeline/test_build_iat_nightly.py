"""The nightly run's build step with an IAT row in the intake: the IAT file is written next
to the domestic file and recorded in the ledger (IAT batches name no company and IAT entries
no receiver name in the entry record: the ledger takes them from addenda 11, 10 and 15)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

import nacha
from nacha.build_iat_input import IAT_COLUMNS
from pipeline.run import RunOptions
from pipeline.run.wiring import open_nightly
from tests.pipeline.test_actions_build import _row, world  # noqa: F401 - the fixture
from tests.pipeline.test_build_cli_iat import IAT_ROW


def _collect_and_build(
    config: Any, tmp_path: Path, day: date, columns: list[str], rows: list[dict[str, str]]
) -> None:
    """Write ``rows`` (every column a string, missing ones empty) as the day's intake CSV and
    run the collect and build steps; both must succeed."""
    frame = pl.DataFrame(
        [{c: row.get(c, "") for c in columns} for row in rows],
        schema=dict.fromkeys(columns, pl.String),
    )
    frame.write_csv(tmp_path / "intake" / f"transfers-{day.isoformat()}.csv")
    for step in ("collect", "build"):
        with open_nightly(config) as nightly:
            summary = nightly.execute(RunOptions(business_date=day, only=step)).to_json()
        assert summary["exit_code"] == 0, summary


def test_nightly_build_records_the_iat_file(world: Any) -> None:  # noqa: F811 - the fixture
    ledger, config, tmp_path = world
    day = date(2026, 3, 4)
    domestic = _row("D1", "PAYEEA", "5566778899")
    columns = [*domestic, *IAT_COLUMNS]  # the intake CSV carries the IAT columns too
    iat = {**IAT_ROW, "receiverIdentificationNumber": "CUST-7"}
    _collect_and_build(config, tmp_path, day, columns, [domestic, iat])
    files = sorted((tmp_path / "data" / "outbound" / day.isoformat()).glob("*.ach"))
    secs = [nacha.read(p.read_bytes()).batches["sec_code"].to_list() for p in files]
    assert secs == [["PPD"], ["IAT"]]
    recorded = ledger.conn.execute(
        "SELECT b.sec_code, b.company_name, e.individual_name, e.individual_id, e.amount_cents"
        " FROM entries e JOIN batches b ON b.id = e.batch_id WHERE e.reference = 'INTL0001'"
    ).fetchall()
    assert recorded == [("IAT", "ACME PAYMENTS INC", "MAPLE LEAF IMPORTS LTD", "CUST-7", 250000)]


def test_nightly_build_records_pop_and_xck_entries(world: Any) -> None:  # noqa: F811
    """POP/XCK rows in the intake (with their own columns) are built and recorded; the
    ledger's individual_id holds their check serial number (the transfer's
    identificationNumber), as for every other SEC code."""
    ledger, config, tmp_path = world
    day = date(2026, 3, 4)
    domestic = _row("D1", "PAYEEA", "5566778899")
    extra = ["terminalCity", "terminalState", "processControlField", "itemResearchNumber"]
    columns = [*domestic, *extra]
    check = {**domestic, "transactionType": "Debit", "individualName": ""}
    rows = [
        domestic,
        {**check, "reference": "POP1", "standardEntryClassCode": "POP",
         "identificationNumber": "000000042", "terminalCity": "CHIC", "terminalState": "IL"},
        {**check, "reference": "XCK1", "standardEntryClassCode": "XCK",
         "companyEntryDescription": "NO CHECK", "identificationNumber": "7",
         "processControlField": "PC0001", "itemResearchNumber": "IRN1"},
    ]  # fmt: skip
    _collect_and_build(config, tmp_path, day, columns, rows)
    (path,) = sorted((tmp_path / "data" / "outbound" / day.isoformat()).glob("*.ach"))
    f = nacha.read(path.read_bytes())
    assert nacha.validate(f).height == 0
    assert sorted(f.batches["sec_code"].to_list()) == ["POP", "PPD", "XCK"]
    recorded = ledger.conn.execute(
        "SELECT e.reference, b.sec_code, e.individual_name, e.individual_id"
        " FROM entries e JOIN batches b ON b.id = e.batch_id ORDER BY e.reference"
    ).fetchall()
    assert recorded == [
        ("D1", "PPD", "PAYEE PAYEEA", "PAYEEA"),
        ("POP1", "POP", None, "000000042"),
        ("XCK1", "XCK", None, "7"),
    ]
