"""The bulk validation path: screens over all entries, the (attributes, transaction code)
table, piece-by-piece evaluation. Each must give exactly what the rules give row by row."""

from __future__ import annotations

import polars as pl
import pytest

import nacha.validation_common as common
from nacha import assemble, read, routing_check_digit, validate
from tests.nacha.conftest import corpus_bytes, corpus_rows

ODFI = "12345678"
HEADER = {
    "immediate_destination": "123456780",
    "immediate_origin": "1234567890",
    "file_creation_date": "260306",
    "file_creation_time": "1430",
    "file_id_modifier": "A",
    "immediate_destination_name": "FIRST EXAMPLE BANK",
    "immediate_origin_name": "ACME",
}


def _batch(number: int, scc: str, sec: str = "PPD") -> dict[str, object]:
    return {
        "batch_number": number,
        "service_class_code": scc,
        "company_name": "ACME PAYMENTS",
        "company_id": "1234567890",
        "sec_code": sec,
        "company_entry_description": "DUES",
        "effective_entry_date": "260309",
        "originator_status_code": "1",
        "odfi_id": ODFI,
    }


def _file(batches: list[dict[str, object]], entries: list[tuple[int, str, int, int]]) -> bytes:
    """entries: (batch_number, transaction_code, amount, trace sequence)."""
    rdfi = "02100002"
    frame = pl.DataFrame(
        [
            {
                "batch_number": bn,
                "transaction_code": tc,
                "rdfi_id": rdfi,
                "check_digit": routing_check_digit(rdfi),
                "dfi_account_number": f"ACCT{i}",
                "amount": amount,
                "individual_name": f"PERSON {i}",
                "trace_number": f"{ODFI}{seq:07d}",
            }
            for i, (bn, tc, amount, seq) in enumerate(entries)
        ]
    )
    return assemble(file_header=HEADER, batches=pl.DataFrame(batches), entries=frame)


def _found(data: bytes) -> set[tuple[str, int]]:
    issues = validate(read(data)).filter(pl.col("severity") == "error")
    return set(zip(issues["rule"], issues["line"], strict=True))


def test_code_rules_are_decided_per_batch_attributes() -> None:
    # the same credit code is right in the credit batch and wrong in the debit-only one
    data = _file(
        [_batch(1, "220"), _batch(2, "225")],
        [(1, "22", 100, 1), (1, "22", 200, 2), (2, "27", 300, 3), (2, "22", 400, 4)],
    )
    # lines: 1 file header, 2 batch header, 3-4 entries, 5 control, 6 header, 7-8 entries
    assert ("entry.service_class", 8) in _found(data)
    assert not {line for rule, line in _found(data) if rule == "entry.service_class"} - {8}


def test_unknown_transaction_code_is_found_among_valid_ones() -> None:
    data = bytearray(_file([_batch(1, "200")], [(1, "22", 100, 1), (1, "27", 200, 2)]))
    data[95 * 3 + 1 : 95 * 3 + 3] = b"99"  # second entry (line 4)
    assert ("entry.transaction_code", 4) in _found(bytes(data))


def test_trace_order_and_duplicates_when_traces_do_not_ascend() -> None:
    data = _file(
        [_batch(1, "200"), _batch(2, "200")],
        [(1, "22", 100, 5), (1, "22", 200, 3), (2, "22", 300, 3), (2, "22", 400, 9)],
    )
    found = _found(data)
    assert ("entry.trace_order", 4) in found  # 3 after 5 within batch 1
    assert ("entry.trace_order", 7) not in found  # a new batch may restart lower
    validated = validate(read(data))
    dup = validated.filter(pl.col("rule") == "entry.trace_duplicate")["line"].to_list()
    assert sorted(dup) == [4, 7]


def test_zero_amount_live_entry_is_screened() -> None:
    data = _file([_batch(1, "200")], [(1, "22", 100, 1), (1, "22", 0, 2)])
    assert ("entry.amount_zero", 4) in _found(data)


def _corpus_sample() -> list[str]:
    rows = [r["file"] for r in corpus_rows() if r["file"].endswith(".ach")]
    return rows[::9]


@pytest.mark.parametrize("name", _corpus_sample())
def test_pieces_give_the_same_issues_as_one_pass(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = corpus_bytes(name)
    whole = validate(read(data))
    monkeypatch.setattr(common, "PIECE_ROWS", 2)
    pieces = validate(read(data))
    assert pieces.equals(whole) and pieces.schema == whole.schema


def test_batch_totals_across_piece_boundaries(monkeypatch: pytest.MonkeyPatch) -> None:
    entries = [(1 + i // 4, "27" if i % 3 else "22", 100 + i, i + 1) for i in range(12)]
    data = _file([_batch(n, "200") for n in (1, 2, 3)], entries)
    monkeypatch.setattr(common, "PIECE_ROWS", 3)
    assert _found(data) == set()
    # a wrong total in the middle batch is still found when its entries span pieces
    text = bytearray(data)
    control = 95 * (1 + 6 + 5)  # file header, batch 1 (header, 4 entries, control), header 2
    assert text[control : control + 1] == b"8"
    text[control + 20 : control + 32] = b"000000000001"
    assert ("batch.total_debit", 13) in _found(bytes(text))
