"""Check-conversion entries POP and XCK (nacha-format.md §4.2, §11.2): what the builder
writes where, what it refuses and why. ARC/BOC/RCK are covered with the other SEC codes."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

import nacha
from nacha.build import build_files
from nacha.build_input import check_transfers
from tests.nacha.build_fixtures import NOW, frame, settings, transfer
from tests.nacha.test_build_input import GOOD


def pop(**fields: Any) -> dict[str, Any]:
    """A valid POP debit: check serial 9, terminal city 4 and state 2, name optional."""
    base = {
        "reference": "P1",
        "standardEntryClassCode": "POP",
        "transactionType": "Debit",
        "companyEntryDescription": "CHECK PMT",
        "identificationNumber": "000012345",
        "terminalCity": "AUST",
        "terminalState": "TX",
        "individualName": None,
    }
    return transfer(**{**base, **fields})


def xck(**fields: Any) -> dict[str, Any]:
    """A valid XCK debit: check serial, process control field, item research number, no
    name, the NO CHECK description."""
    base = {
        "reference": "X1",
        "standardEntryClassCode": "XCK",
        "transactionType": "Debit",
        "companyEntryDescription": "NO CHECK",
        "identificationNumber": "4711",
        "processControlField": "PCF001",
        "itemResearchNumber": "IRN0000000000042",
        "individualName": None,
        "amount": "2500.00",
    }
    return transfer(**{**base, **fields})


def test_pop_and_xck_fields_land_in_their_positions_and_read_back() -> None:
    rows = [
        pop(amount="25000.00"),
        pop(reference="P2", identificationNumber="7", terminalCity="NY", individualName="JO"),
        xck(),
        transfer(reference="A1", standardEntryClassCode="ARC", transactionType="Debit",
                 companyEntryDescription="CHECK PMT", identificationNumber="88",
                 individualName=None),  # ARC's name is optional too (§4.2)
    ]  # fmt: skip
    result = build_files(frame(*rows), settings(), now=NOW, file_id_modifiers="A")
    assert result.rejected.height == 0, result.rejected.to_dicts()
    (built,) = result.files
    f = nacha.read(built.content)
    assert nacha.validate(f).height == 0, nacha.validate(f).to_dicts()  # default options
    lines = {line[79:94]: line for line in built.content.decode().splitlines() if line[0] == "6"}
    by_ref = dict(result.entries.select("reference", "trace_number").iter_rows())
    p1, p2, x1 = (lines[by_ref[r]] for r in ("P1", "P2", "X1"))
    # POP: serial 40-48, city 49-52, state 53-54, name 55-76 (blank when not given)
    assert (p1[39:48], p1[48:52], p1[52:54], p1[54:76]) == ("000012345", "AUST", "TX", " " * 22)
    assert (p2[39:48], p2[48:52], p2[52:54], p2[54:76]) == ("7".ljust(9), "NY  ", "TX",
                                                            "JO".ljust(22))  # fmt: skip
    assert p1[29:39] == "0002500000" and p1[1:3] == "27"  # the $25,000 maximum, a debit
    # XCK: serial 40-54, process control 55-60, item research number 61-76
    assert (x1[39:54], x1[54:60], x1[60:76]) == ("4711".ljust(15), "PCF001", "IRN0000000000042")
    assert x1[29:39] == "0000250000"  # the $2,500 maximum
    assert all(line[78] == "0" for line in lines.values())  # no addenda
    secs = f.batches.select("sec_code", "company_entry_description").rows()
    assert ("XCK", "NO CHECK") in secs and ("POP", "CHECK PMT") in secs
    got = {
        r["trace_number"]: r
        for r in f.entries.select(
            "trace_number", "check_serial_number", "terminal_city", "terminal_state",
            "process_control_field", "item_research_number", "individual_name",
        ).iter_rows(named=True)
    }  # fmt: skip
    assert got[by_ref["P1"]] | {"trace_number": None} == {
        "trace_number": None, "check_serial_number": "000012345", "terminal_city": "AUST",
        "terminal_state": "TX", "process_control_field": None, "item_research_number": None,
        "individual_name": None,
    }  # fmt: skip
    assert got[by_ref["X1"]]["process_control_field"] == "PCF001"
    assert got[by_ref["X1"]]["item_research_number"] == "IRN0000000000042"
    assert got[by_ref["A1"]]["check_serial_number"] == "88"


def test_balanced_pop_and_xck_batches_offset_in_a_companion_ccd() -> None:
    """Debit-only codes cannot hold the offset credit: it goes to a CCD batch after them."""
    rows = [pop(), xck()]
    result = build_files(frame(*rows), settings(balanced=True), now=NOW, file_id_modifiers="A")
    assert result.rejected.height == 0, result.rejected.to_dicts()
    f = nacha.read(result.files[0].content)
    assert nacha.validate(f).height == 0, nacha.validate(f).to_dicts()
    assert f.batches["sec_code"].to_list() == ["POP", "CCD", "XCK", "CCD"]


#: (bad row, its whole reason): nothing but that reason, nothing else about the file changes.
BAD: dict[str, tuple[dict[str, Any], str]] = {
    "pop_credit": (pop(transactionType="Credit"), "POP does not allow credits"),
    "xck_credit": (  # the reserved description is for XCK debits: said too
        xck(transactionType="Credit"),
        "XCK does not allow credits; NO CHECK is reserved for XCK entries",
    ),
    "pop_over_limit": (pop(amount="25000.01"), "amount over the $25,000.00 limit for POP"),
    "xck_over_limit": (xck(amount="2500.01"), "amount over the $2,500.00 limit for XCK"),
    "pop_without_terminal_state": (pop(terminalState=None), "terminalState is required for POP"),
    "pop_blank_terminal_city": (pop(terminalCity="  "), "terminalCity is required for POP"),
    "pop_terminal_city_too_long": (
        pop(terminalCity="AUSTIN"),
        "terminalCity longer than 4 characters for POP",
    ),
    "pop_terminal_state_not_a_code": (
        pop(terminalState="tx"),
        "terminalState must be 2 capital letters (a state code)",
    ),
    "pop_terminal_state_too_long": (
        pop(terminalState="TEX"),
        "terminalState longer than 2 characters for POP; "
        "terminalState must be 2 capital letters (a state code)",
    ),
    "pop_serial_too_long": (
        pop(identificationNumber="1234567890"),
        "identificationNumber longer than 9 characters for POP",
    ),
    "pop_without_serial": (
        pop(identificationNumber=None),
        "identificationNumber is required for POP",
    ),
    "pop_name_too_long": (
        pop(individualName="N" * 23),
        "individualName longer than 22 characters for POP",
    ),
    "pop_addenda": (pop(addenda="RMR*IV*1~"), "POP entries carry no addenda"),
    "xck_item_research_too_long": (
        xck(itemResearchNumber="1" * 17),
        "itemResearchNumber longer than 16 characters for XCK",
    ),
    "xck_process_control_too_long": (
        xck(processControlField="1234567"),
        "processControlField longer than 6 characters for XCK",
    ),
    "xck_field_non_ascii": (
        xck(processControlField="PCFÜ"),
        "processControlField must be printable ASCII",
    ),
    "xck_without_fields": (
        xck(processControlField=None, itemResearchNumber=None),
        "processControlField is required for XCK; itemResearchNumber is required for XCK",
    ),
    "xck_serial_too_long": (
        xck(identificationNumber="1" * 16),
        "identificationNumber longer than 15 characters for XCK",
    ),
    "xck_with_name": (
        xck(individualName="JANE Q PUBLIC"),
        "individualName does not apply to XCK (its entry has no name field)",
    ),
    "xck_description": (
        xck(companyEntryDescription="COLLECT"),
        "XCK entries must use companyEntryDescription NO CHECK",
    ),
    "no_check_on_a_ppd_debit": (
        transfer(reference="B1", transactionType="Debit", companyEntryDescription="NO CHECK"),
        "NO CHECK is reserved for XCK entries",
    ),
    "terminal_city_on_ppd": (
        transfer(reference="B1", terminalCity="AUST"),
        "terminalCity does not apply to PPD",
    ),
    "item_research_number_on_pop": (
        pop(itemResearchNumber="IRN1"),
        "itemResearchNumber does not apply to POP",
    ),
    "terminal_state_on_xck": (xck(terminalState="TX"), "terminalState does not apply to XCK"),
    "ppd_without_name": (
        transfer(reference="B1", individualName=None),
        "individualName is required",
    ),
    "pop_zeros_name": (pop(individualName="000"), "individualName is blank or all zeros"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_check_entry_is_rejected_with_its_reason_alone(case: str) -> None:
    bad, reason = BAD[case]
    s = settings()
    clean = build_files(frame(*GOOD), s, now=NOW, file_id_modifiers="A")
    mixed = build_files(frame(GOOD[0], bad, *GOOD[1:]), s, now=NOW, file_id_modifiers="A")
    assert mixed.rejected.rows() == [(2, bad["reference"], reason)]
    assert [f.content for f in mixed.files] == [f.content for f in clean.files]


def test_the_good_pop_and_xck_rows_are_accepted() -> None:
    """The bad cases above are each one change away from these."""
    checked = check_transfers(frame(pop(), xck()), settings(), now=NOW)
    assert checked.rejected.height == 0, checked.rejected.to_dicts()
    accepted = checked.accepted.select(
        "sec", "layout", "identification_number", "terminal_city", "terminal_state",
        "process_control_field", "item_research_number",
    )  # fmt: skip
    assert accepted.rows() == [
        ("POP", "pop", "000012345", "AUST", "TX", None, None),
        ("XCK", "xck", "4711", None, None, "PCF001", "IRN0000000000042"),
    ]


def test_blank_names_are_no_names_where_none_is_required() -> None:
    """A CSV's empty cell may arrive as "" or spaces: for ARC/BOC/POP (optional name) and
    XCK (no name field) that is no name, written as blanks; for PPD it stays refused."""
    rows = [
        pop(individualName=""),
        xck(individualName="   "),
        transfer(reference="A1", standardEntryClassCode="ARC", transactionType="Debit",
                 companyEntryDescription="CHECK PMT", identificationNumber="88",
                 individualName=" "),
        transfer(reference="B1", individualName=" "),
    ]  # fmt: skip
    result = build_files(frame(*rows), settings(), now=NOW, file_id_modifiers="A")
    assert result.rejected.rows() == [(4, "B1", "individualName is blank or all zeros")]
    f = nacha.read(result.files[0].content)
    assert nacha.validate(f).height == 0, nacha.validate(f).to_dicts()
    assert f.entries["individual_name"].to_list() == [None, None, None]  # XCK: no such field
    lines = [x for x in result.files[0].content.decode().splitlines() if x[0] == "6"]
    assert all(line[54:76] == " " * 22 for line in lines if line[54:60] != "PCF001")


def test_check_code_columns_may_be_absent_from_the_input() -> None:
    """A file without the POP/XCK columns (connectFi's fields only) builds as before; a POP
    row in it lacks its terminal fields."""
    columns = list(transfer())
    row = {k: v for k, v in pop().items() if k in columns}
    checked = check_transfers(
        pl.DataFrame([row], schema=dict.fromkeys(columns, pl.String)), settings(), now=NOW
    )
    assert checked.rejected["reason"].to_list() == [
        "terminalCity is required for POP; terminalState is required for POP"
    ]
