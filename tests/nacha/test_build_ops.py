"""Reversal, segmentation and merging of built files (read back and validated by the core)."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest

import nacha
from nacha.build import build_files
from nacha.build_ops import merge_files, reverse_file, segment_file
from nacha.build_settings import Limits
from nacha.errors import NachaError, NachaWriteError
from tests.nacha.build_fixtures import CT, NOW, frame, settings, transfer

if not hasattr(nacha, "read") or not hasattr(nacha, "validate"):  # pragma: no cover
    pytest.skip("the NACHA core (read/validate) has not landed yet", allow_module_level=True)

ROWS = [
    transfer(reference="P1", amount="100.00"),
    transfer(reference="D1", transactionType="Debit", companyEntryDescription="BILLING",
             amount="40.00", accountType="Savings"),
    transfer(reference="W1", standardEntryClassCode="WEB", transactionType="Debit",
             paymentTypeCode="S", companyEntryDescription="PURCHASE", amount="9.99",
             addenda="ORDER 77"),
    transfer(reference="N1", amount="0", prenote="true"),
]  # fmt: skip


def built(**kw: object) -> tuple[bytes, pl.DataFrame]:
    result = build_files(frame(*ROWS), settings(**kw), now=NOW, file_id_modifiers="A")
    return result.files[0].content, result.entries


def valid(content: bytes) -> nacha.NachaFile:
    f = nacha.read(content)
    assert nacha.is_valid(f), nacha.validate(f).to_dicts()
    return f


def test_reversal_flips_every_live_entry_with_new_traces() -> None:
    content, entries = built()
    later = datetime(2026, 3, 12, 8, 0, tzinfo=CT)
    rev = reverse_file(
        content, settings(), now=later, file_id_modifier="B", first_trace_sequence=1000
    )
    f = valid(rev.content)
    assert set(f.batches["company_entry_description"]) == {"REVERSAL"}
    assert rev.effective_entry_date == date(2026, 3, 13)
    assert set(f.batches["effective_entry_date"]) == {"260313"}
    live = entries.filter(pl.col("kind") == "entry")
    assert rev.entries.height == live.height == 3  # the prenote is not reversed
    pairs = rev.entries.join(
        live.select(original_trace_number="trace_number", old_code="transaction_code",
                    old_amount="amount_cents"),
        on="original_trace_number",
    )  # fmt: skip
    flip = {"22": "27", "27": "22", "37": "32", "32": "37"}
    assert all(flip[o] == n for o, n in pairs.select("old_code", "transaction_code").rows())
    assert (pairs["old_amount"] == pairs["amount_cents"]).all()
    assert [int(t[8:]) for t in rev.entries["trace_number"]] == [1000, 1001, 1002]
    assert rev.next_trace_sequence == 1003
    web = f.entries.filter(pl.col("transaction_code") == "22")
    assert web.height == 1 and f.addenda.height == 1  # the WEB addenda travels along
    control = f.file_control.row(0, named=True)
    assert control["total_debit_entry_dollar_amount"] == 100_00
    assert control["total_credit_entry_dollar_amount"] == 40_00 + 9_99


def test_reversal_of_chosen_traces_and_deadline() -> None:
    content, entries = built()
    trace = entries.filter(pl.col("reference") == "D1")["trace_number"][0]
    rev = reverse_file(
        content, settings(), now=NOW, file_id_modifier="B", first_trace_sequence=50,
        traces=[trace],
    )  # fmt: skip
    assert rev.entries["original_trace_number"].to_list() == [trace]
    valid(rev.content)
    with pytest.raises(NachaWriteError, match="too late to reverse"):
        reverse_file(
            content, settings(), now=datetime(2026, 3, 20, 8, 0, tzinfo=CT),
            file_id_modifier="B", first_trace_sequence=50,
        )  # fmt: skip
    with pytest.raises(NachaError, match="no live entry"):
        reverse_file(
            content, settings(), now=NOW, file_id_modifier="B", first_trace_sequence=50,
            traces=["091000019999999"],
        )  # fmt: skip


def test_segment_into_debit_and_credit_files() -> None:
    content, entries = built()
    debit_file, credit_file = segment_file(content, file_id_modifiers=("B", "C"))
    assert debit_file is not None and credit_file is not None
    d, c = valid(debit_file), valid(credit_file)
    assert set(d.batches["service_class_code"]) == {"225"}
    assert set(c.batches["service_class_code"]) == {"220"}
    assert d.file_header["file_id_modifier"][0] == "B"
    traces = sorted(d.entries["trace_number"].to_list() + c.entries["trace_number"].to_list())
    assert traces == sorted(entries["trace_number"].to_list())
    assert d.addenda.height == 1  # the WEB debit's addenda
    only_credits = (
        build_files(frame(transfer()), settings(), now=NOW, file_id_modifiers="A").files[0].content
    )
    assert segment_file(only_credits, file_id_modifiers=("B", "C"))[0] is None


def test_merge_files_within_limits() -> None:
    one = build_files(frame(*ROWS), settings(), now=NOW, file_id_modifiers="A")
    more = [transfer(reference=f"M{i}", amount="1.00") for i in range(6)]
    two = build_files(
        frame(*more), settings(), now=NOW, file_id_modifiers="B",
        first_trace_sequence=one.next_trace_sequence,
    )  # fmt: skip
    merged = merge_files(
        [one.files[0].content, two.files[0].content], file_id_modifiers="C", now=NOW
    )
    assert len(merged) == 1
    f = valid(merged[0])
    assert f.entries.height == one.entries.height + two.entries.height
    assert f.batches["batch_number"].to_list() == list(range(1, f.batches.height + 1))
    split = merge_files(
        [one.files[0].content, two.files[0].content],
        file_id_modifiers="CDE",
        now=NOW,
        limits=Limits(max_file_lines=20),
    )
    assert len(split) == 2
    for content in split:
        valid(content)
    with pytest.raises(NachaError, match="trace numbers repeat"):
        merge_files([one.files[0].content, one.files[0].content], file_id_modifiers="C", now=NOW)


def test_pop_and_xck_files_reverse_segment_and_merge_with_their_fields() -> None:
    """The check codes' own fields (POP terminal city/state, XCK process control and item
    research number) survive a rebuild: a reversal keeps them on its credits."""
    from tests.nacha.test_build_check_codes import pop, xck

    fields = ["check_serial_number", "terminal_city", "terminal_state",
              "process_control_field", "item_research_number"]  # fmt: skip
    result = build_files(frame(pop(), xck()), settings(), now=NOW, file_id_modifiers="A")
    assert result.rejected.height == 0, result.rejected.to_dicts()
    content = result.files[0].content
    original = valid(content).entries.select(fields).rows()
    later = datetime(2026, 3, 12, 8, 0, tzinfo=CT)
    rev = reverse_file(content, settings(), now=later, file_id_modifier="B",
                       first_trace_sequence=500)  # fmt: skip
    f = valid(rev.content)
    assert f.entries.select(fields).rows() == original
    assert set(f.entries["transaction_code"]) == {"22"}  # the debits' reversing credits
    debit_file, credit_file = segment_file(content, file_id_modifiers=("C", "D"))
    assert credit_file is None and debit_file is not None
    assert valid(debit_file).entries.select(fields).rows() == original
    (merged,) = merge_files([content, rev.content], file_id_modifiers="E", now=later)
    assert valid(merged).entries.select(fields).rows() == original + original
