"""Reader tolerance, the frames' shape, write/assemble exactness and the corpus round trip."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from nacha import (
    NachaReadError,
    NachaWriteError,
    ValidateOptions,
    assemble,
    read,
    routing_check_digit,
    validate,
    write,
)
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


def _batches(
    *numbers: int, sec: str = "PPD", scc: str = "200", desc: str = "PAYROLL"
) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "batch_number": n,
                "service_class_code": scc,
                "company_name": "ACME PAYMENTS",
                "company_id": "1234567890",
                "sec_code": sec,
                "company_entry_description": desc,
                "effective_entry_date": "260309",
                "originator_status_code": "1",
                "odfi_id": ODFI,
            }
            for n in numbers
        ]
    )


def _entries(specs: list[tuple[int, str, str, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "batch_number": bn,
                "transaction_code": tc,
                "rdfi_id": r8,
                "check_digit": routing_check_digit(r8),
                "dfi_account_number": f"ACCT{i}",
                "amount": amount,
                "individual_name": f"PERSON {i}",
                "trace_number": f"{ODFI}{i + 1:07d}",
            }
            for i, (bn, tc, r8, amount) in enumerate(specs)
        ]
    )


def _clean(data: bytes) -> list[str]:
    return data.decode().split("\n")


def test_assemble_computes_controls_and_padding() -> None:
    entries = _entries(
        [(1, "22", "02100002", 125000), (1, "27", "05320776", 4599), (2, "32", "07100001", 100)]
    )
    data = assemble(file_header=HEADER, batches=_batches(1, 2), entries=entries)
    lines = _clean(data)
    assert lines[-1] == "" and all(len(x) == 94 for x in lines[:-1])
    assert (len(lines) - 1) % 10 == 0 and lines[-2] == "9" * 94
    f = read(data)
    assert validate(f).height == 0
    b = f.batches.sort("batch_number")
    assert b["entry_hash"].to_list() == [2100002 + 5320776, 7100001]
    assert b["total_debit_entry_dollar_amount"].to_list() == [4599, 0]
    assert b["total_credit_entry_dollar_amount"].to_list() == [125000, 100]
    fc = f.file_control.row(0, named=True)
    assert (fc["batch_count"], fc["block_count"], fc["entry_addenda_count"]) == (2, 1, 3)
    assert fc["entry_hash"] == 2100002 + 5320776 + 7100001


def test_assemble_with_addenda_and_crlf() -> None:
    entries = _entries([(1, "22", "02100002", 500), (1, "22", "05320776", 700)])
    addenda = pl.DataFrame(
        {
            "batch_number": [1],
            "trace_number": [f"{ODFI}0000002"],
            "payment_related_information": ["RMR*IV*123**7.00\\"],
        }
    )
    data = assemble(
        file_header=HEADER,
        batches=_batches(1, sec="CCD", desc="INVOICES"),
        entries=entries,
        addenda=addenda,
        line_ending="\r\n",
    )
    assert data.count(b"\r\n") == 10
    f = read(data)
    assert f.line_ending == "\r\n"
    assert validate(f).height == 0
    a = f.addenda.row(0, named=True)
    assert a["entry_index"] == 2 and a["addenda_sequence_number"] == 1
    assert a["entry_detail_sequence_number"] == "0000002"
    assert f.entries["addenda_record_indicator"].to_list() == ["0", "1"]


def test_assemble_accepts_dates_and_routing_column() -> None:
    entries = (
        _entries([(1, "22", "02100002", 1)])
        .drop("rdfi_id", "check_digit")
        .with_columns(pl.lit("021000021").alias("rdfi_routing"))
    )
    data = assemble(
        file_header={**HEADER, "file_creation_date": dt.date(2026, 3, 6)},
        batches=_batches(1),
        entries=entries,
    )
    f = read(data)
    assert f.file_header["creation_date"].item() == dt.date(2026, 3, 6)
    assert f.entries["check_digit"].item() == "1"


@pytest.mark.parametrize(
    ("column", "value", "match"),
    [
        ("amount", 10**10, "amount"),
        ("amount", -5, "amount"),
        ("individual_name", "X" * 23, "individual_name"),
        ("trace_number", "12345678000000A", "trace_number"),
        # exact-width digit columns: a sign in first place, a blank, a sign inside
        ("trace_number", "+23456780000001", "trace_number"),
        ("rdfi_id", "-2100002", "rdfi_id"),
        ("rdfi_id", " 2100002", "rdfi_id"),
        ("transaction_code", "2+", "transaction_code"),
        ("dfi_account_number", "ACCT\u00e9", "printable ASCII"),
    ],
)
def test_assemble_raises_instead_of_truncating(column: str, value: object, match: str) -> None:
    entries = _entries([(1, "22", "02100002", 1)]).with_columns(pl.lit(value).alias(column))
    with pytest.raises(NachaWriteError, match=match):
        assemble(file_header=HEADER, batches=_batches(1), entries=entries)


def test_assemble_refuses_float_money() -> None:
    entries = _entries([(1, "22", "02100002", 1)]).with_columns(pl.lit(12.5).alias("amount"))
    with pytest.raises(NachaWriteError, match="integer cents"):
        assemble(file_header=HEADER, batches=_batches(1), entries=entries)


def test_assemble_attaches_addenda_by_entry_position_and_returns() -> None:
    entries = _entries([(1, "26", ODFI, 1500), (1, "21", ODFI, 0)])
    addenda = pl.DataFrame(
        [
            {
                "entry_index": 1,
                "addenda_type_code": "99",
                "return_reason_code": "R01",
                "original_trace_number": "987654320000001",
                "original_rdfi_id": "02100002",
            },
            {
                "entry_index": 2,
                "addenda_type_code": "98",
                "change_code": "C05",
                "original_trace_number": "987654320000002",
                "original_rdfi_id": "02100002",
                "corrected_data": "32",
            },
        ]
    )
    batches = _batches(1, sec="PPD").with_columns(pl.lit("200").alias("service_class_code"))
    f = read(assemble(file_header=HEADER, batches=batches, entries=entries, addenda=addenda))
    assert f.returns["return_reason_code"].to_list() == ["R01"]
    assert f.nocs["corrected_transaction_code"].to_list() == ["32"]
    assert f.addenda["trace_number"].to_list() == f.entries["trace_number"].to_list()


def test_entry_hash_sums_beyond_32_bits() -> None:
    specs = [(1, "22", "99999999", 1)] * 30  # 30 x 99,999,999 > 2**31
    entries = _entries(specs)
    f = read(assemble(file_header=HEADER, batches=_batches(1), entries=entries))
    assert f.batches["entry_hash"].item() == 99999999 * 30
    assert validate(f).filter(pl.col("severity") == "error").height == 0


def test_assemble_rejects_dangling_references() -> None:
    with pytest.raises(NachaWriteError, match="has no batch"):
        assemble(
            file_header=HEADER, batches=_batches(1), entries=_entries([(2, "22", "02100002", 1)])
        )
    add = pl.DataFrame(
        {
            "batch_number": [1],
            "trace_number": ["999999990000001"],
            "payment_related_information": ["x"],
        }
    )
    with pytest.raises(NachaWriteError, match="has no entry"):
        assemble(
            file_header=HEADER,
            batches=_batches(1),
            entries=_entries([(1, "22", "02100002", 1)]),
            addenda=add,
        )
    with pytest.raises(NachaWriteError, match="missing"):
        assemble(
            file_header=HEADER,
            batches=_batches(1),
            entries=_entries([(1, "22", "02100002", 1)]).drop("trace_number"),
        )


def test_reader_accepts_every_separator() -> None:
    data = assemble(
        file_header=HEADER, batches=_batches(1), entries=_entries([(1, "22", "02100002", 1)])
    )
    records = data.decode().split("\n")[:-1]
    for variant in ("\r\n".join(records), "\r".join(records), "".join(records)):
        f = read(variant.encode())
        assert f.entries.height == 1
        assert validate(f).height == 0


def test_reader_reports_physical_problems_with_line_numbers() -> None:
    data = assemble(
        file_header=HEADER, batches=_batches(1), entries=_entries([(1, "22", "02100002", 1)])
    )
    lines = data.decode().split("\n")
    lines[0] = lines[0].rstrip()  # short file header (blank reference code trimmed)
    lines.insert(3, "")  # blank line
    lines[3 + 1] = lines[4] + "   "
    f = read("\n".join(lines).encode())
    rules = dict(zip(f.read_issues["rule"], f.read_issues["line"], strict=True))
    assert rules["record.short"] == 1
    assert rules["file.blank_line"] == 4
    assert rules["record.long"] == 5
    relaxed = validate(f, options=ValidateOptions.lenient())
    assert (relaxed["severity"] == "warning").all()
    non_ascii = read(data.replace(b"PERSON 0", "PERS\u00d6N 0".encode()))
    assert "record.non_ascii" in validate(non_ascii)["rule"].to_list()
    ok = validate(non_ascii, options=ValidateOptions(allow_special_characters=True))
    assert not (ok["severity"] == "error").any()


def test_reader_errors_only_when_nothing_can_be_read(tmp_path) -> None:
    with pytest.raises(NachaReadError, match="empty"):
        read(b"")
    with pytest.raises(NachaReadError, match="empty"):
        read(b"\n\n  \n")
    with pytest.raises(NachaReadError, match="cannot read"):
        read(tmp_path / "missing.ach")


def test_returns_and_nocs_frames(samples) -> None:
    r = read(samples / "return.ach").returns
    assert r["return_reason_code"].to_list() == ["R01", "R10"]
    assert r["original_trace_number"].to_list() == [f"{ODFI}0000001", f"{ODFI}0000002"]
    assert r["rate_category"].to_list() == ["other", "unauthorized"]
    assert r["amount"].to_list() == [12500, 4599]
    assert r["company_id"].to_list() == ["1234567890", "1234567890"]
    n = read(samples / "noc.ach").nocs.row(0, named=True)
    assert n["change_code"] == "C01" and n["corrected_dfi_account_number"] == "300012399"
    assert n["original_trace_number"] == f"{ODFI}0000002" and not n["refused"]


def test_object_api(samples) -> None:
    f = read(samples / "ccd-addenda.ach")
    (batch,) = list(f.iter_batches())
    assert batch.sec_code == "CCD" and batch.total_credit == 1337650
    first = batch.entries[0]
    assert first.rdfi_routing == "021000021"
    assert first.addenda[0]["payment_related_information"].startswith("RMR*IV*")


def _clean_valid_files() -> list[str]:
    out = []
    for row in corpus_rows():
        if row["expect"] != "valid":
            continue
        out.append(row["file"])
    return out


@pytest.mark.parametrize("name", _clean_valid_files())
def test_corpus_round_trip_is_byte_identical(name: str) -> None:
    data = corpus_bytes(name)
    f = read(data)
    assert validate(f).filter(pl.col("rule").str.starts_with("record.")).height == 0
    assert write(f, line_ending=f.line_ending) == data


def test_samples_round_trip(samples) -> None:
    for path in samples.glob("*.ach"):
        data = path.read_bytes()
        assert write(read(data)) == data


def test_regression_unicode_digits_are_not_digits(samples) -> None:
    """Found by the fuzz test: '²' passes str.isdigit() and crashed int()."""
    data = (samples / "ppd-debit.ach").read_bytes().replace(b"1430A094", "²430A094".encode())
    issues = validate(read(data))
    assert "file_header.file_creation_time" in issues["rule"].to_list()


@pytest.mark.parametrize(
    "name",
    [
        "test/issues/testdata/issue702.ach",  # CRLF, short header
        "test/testdata/ppd-debit-fixedLength.ach",  # no separators
        "test/testdata/nonascii.ach",  # windows-1252 bytes
        "test/testdata/loan-credit.ach",  # blank line
        "test/testdata/long-line.ach",
        "test/testdata/crashers/d8f3557bf70ce706c9efbfcfd8143f131a2eef20",
        "examples/testdata/iat-mixedCreditDebit.ach",
    ],
)
def test_path_and_bytes_read_the_same(name: str) -> None:
    from polars.testing import assert_frame_equal

    from tests.nacha.conftest import CORPUS

    path = CORPUS / name
    by_path, by_bytes = read(path), read(path.read_bytes())
    assert_frame_equal(validate(by_path), validate(by_bytes))
    assert_frame_equal(by_path.entries, by_bytes.entries)
    assert (by_path.line_ending, by_path.trailing_newline) == (
        by_bytes.line_ending,
        by_bytes.trailing_newline,
    )


def test_blank_account_and_zero_name_are_reported() -> None:
    entries = _entries([(1, "22", "02100002", 1), (1, "22", "05320776", 2)]).with_columns(
        pl.Series("dfi_account_number", ["ACCT0", None]),
        pl.Series("individual_name", ["0000", " LEADING BLANK"]),
    )
    issues = validate(read(assemble(file_header=HEADER, batches=_batches(1), entries=entries)))
    got = set(zip(issues["rule"], issues["line"], strict=True))
    assert ("entry.individual_name", 3) in got and ("entry.dfi_account_number", 4) in got
    assert ("entry.individual_name", 4) not in got


def _addenda_for(traces: list[tuple[int, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "batch_number": [b for b, _ in traces],
            "trace_number": [t for _, t in traces],
            "payment_related_information": [f"FOR {t}" for _, t in traces],
        }
    )


@pytest.mark.parametrize("ascending", [True, False])
def test_assemble_attaches_addenda_by_trace_in_any_trace_order(ascending: bool) -> None:
    """Ascending traces take a binary-search attach, others a hash join: same result."""
    entries = _entries([(1, "22", "02100002", 1), (1, "22", "02100002", 2), (2, "22", ODFI, 3)])
    if not ascending:
        entries = entries.with_columns(pl.col("trace_number").reverse())
    traces = entries["trace_number"].to_list()
    addenda = _addenda_for([(2, traces[2]), (1, traces[0]), (1, traces[0])])
    f = read(assemble(file_header=HEADER, batches=_batches(1, 2), entries=entries, addenda=addenda))
    assert f.addenda["entry_index"].to_list() == [1, 1, 3]
    assert f.entries["trace_number"].to_list() == traces
    assert f.addenda["payment_related_information"].to_list() == [
        f"FOR {traces[0]}",
        f"FOR {traces[0]}",
        f"FOR {traces[2]}",
    ]
    assert f.addenda["addenda_sequence_number"].to_list() == [1, 2, 1]
    assert f.entries["addenda_record_indicator"].to_list() == ["1", "0", "1"]


def test_assemble_refuses_addenda_of_another_batch_and_ambiguous_traces() -> None:
    entries = _entries([(1, "22", "02100002", 1), (2, "22", ODFI, 3)])
    trace_of_batch_2 = entries["trace_number"][1]
    with pytest.raises(NachaWriteError, match="has no entry") as exc:
        assemble(
            file_header=HEADER,
            batches=_batches(1, 2),
            entries=entries,
            addenda=_addenda_for([(1, trace_of_batch_2)]),
        )
    assert exc.value.rule == "write.addenda_entry"
    same = entries.with_columns(
        pl.lit(1).alias("batch_number"), pl.lit(trace_of_batch_2).alias("trace_number")
    )
    with pytest.raises(NachaWriteError, match="unique within a batch"):
        assemble(
            file_header=HEADER,
            batches=_batches(1),
            entries=same,
            addenda=_addenda_for([(1, trace_of_batch_2)]),
        )


@pytest.mark.parametrize("numbers", [(1, 2), (4, 9)])
def test_assemble_attaches_addenda_by_position_when_entries_are_reordered(
    numbers: tuple[int, int],
) -> None:
    """Entries given out of batch order are moved into their batch; ``entry_index`` still
    names the entry by its position in the frame as given. Batch numbers need not be
    consecutive (those take the lookup path instead of the subtraction)."""
    first, second = numbers
    entries = _entries(
        [(second, "22", ODFI, 1), (first, "22", "02100002", 2), (second, "27", ODFI, 3)]
    )
    addenda = pl.DataFrame(
        {"entry_index": [3, 1], "payment_related_information": ["B FOR 3", "A FOR 1"]}
    )
    data = assemble(
        file_header=HEADER, batches=_batches(first, second), entries=entries, addenda=addenda
    )
    f = read(data)
    assert validate(f).filter(pl.col("severity") == "error").height == 0
    assert f.entries["amount"].to_list() == [2, 1, 3]  # batch `first`, then batch `second`
    assert f.entries["addenda_record_indicator"].to_list() == ["0", "1", "1"]
    by_entry = f.addenda.join(f.entries.select("entry_index", "amount"), on="entry_index")
    assert by_entry.select("amount", "payment_related_information").rows() == [
        (1, "A FOR 1"),
        (3, "B FOR 3"),
    ]
    assert f.batches["batch_number"].to_list() == [first, second]
    assert f.batches["entry_addenda_count"].to_list() == [1, 4]


def test_assemble_numbers_addenda_runs_after_the_first_entry() -> None:
    """Regression: an entry with several addenda that is not the first entry with addenda
    got sequence numbers counted from the first addenda row (1, 1, 3 instead of 1, 1, 2)
    and its later addenda were written after the batch control."""
    entries = _entries([(1, "22", ODFI, 1), (1, "22", ODFI, 2)]).with_columns(
        pl.lit("ACME SUPPLY").alias("individual_name")
    )
    addenda = pl.DataFrame(
        {
            "entry_index": [1, 2, 2],
            "payment_related_information": ["ISA*1", "ISA*2", "ISA*3"],
        }
    )
    batches = _batches(1, sec="CTX", desc="INVOICE")
    f = read(assemble(file_header=HEADER, batches=batches, entries=entries, addenda=addenda))
    assert validate(f).filter(pl.col("severity") == "error").height == 0
    assert f.addenda["entry_index"].to_list() == [1, 2, 2]
    assert f.addenda["addenda_sequence_number"].to_list() == [1, 1, 2]
    assert f.entries["number_of_addenda_records"].to_list() == [1, 2]


@pytest.mark.parametrize("index", [0, 3, None])
def test_assemble_refuses_addenda_naming_no_entry(index: int | None) -> None:
    entries = _entries([(1, "22", "02100002", 1), (1, "22", ODFI, 2)])
    addenda = pl.DataFrame(
        {"entry_index": [1, index], "payment_related_information": ["x", "y"]},
        schema_overrides={"entry_index": pl.Int64},
    )
    with pytest.raises(NachaWriteError, match="has no entry") as exc:
        assemble(file_header=HEADER, batches=_batches(1), entries=entries, addenda=addenda)
    assert exc.value.rule == "write.addenda_entry"


def test_records_built_in_slices_are_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """Large frames are formatted as a union of slices (parallel): same bytes, same order."""
    import nacha.formatting as formatting

    entries = _entries([(1 + i % 2, "22" if i % 3 else "27", ODFI, i + 1) for i in range(7)])
    entries = entries.sort("batch_number", maintain_order=True)
    whole = assemble(file_header=HEADER, batches=_batches(1, 2), entries=entries)
    monkeypatch.setattr(formatting, "SLICE_ROWS", 2)
    assert assemble(file_header=HEADER, batches=_batches(1, 2), entries=entries) == whole
    assert read(whole).entries["amount"].to_list() == entries["amount"].to_list()


@pytest.mark.parametrize(
    "numbers",
    [
        [3, 1, 2, 5, 4],  # entries and addenda interleave
        [4, 1, 9, 2, 7],  # gaps (a read file's lines)
        [1, 2, 3, 5, 4],
    ],
)
def test_join_lines_orders_records_by_line_number(numbers: list[int]) -> None:
    from nacha.formatting import join_lines

    records = [str(n).rjust(94, "x") for n in numbers]
    keyed = [
        pl.DataFrame({"n": numbers[:2], "record": records[:2]}),
        pl.DataFrame({"n": numbers[2:], "record": records[2:]}),
    ]
    out = join_lines(keyed, "\n", 0).decode()
    expected = [r for _, r in sorted(zip(numbers, records, strict=True), key=lambda p: p[0])]
    assert out.splitlines() == expected


def test_assemble_skips_only_the_value_checks_of_trusted_entry_columns() -> None:
    """A caller that made a column valid by construction (the file builder) may name it
    trusted: its per-value check is skipped; every other column is still refused."""
    entries = _entries([(1, "22", ODFI, 1)]).with_columns(
        transaction_code=pl.lit("2X"), amount=pl.lit(10**10, pl.Int64)
    )
    with pytest.raises(NachaWriteError) as exc:
        assemble(
            file_header=HEADER,
            batches=_batches(1),
            entries=entries,
            trusted_entry_columns=frozenset({"transaction_code"}),
        )
    assert exc.value.field == "amount"
    entries = entries.with_columns(amount=pl.lit(5, pl.Int64))
    with pytest.raises(NachaWriteError) as exc:
        assemble(file_header=HEADER, batches=_batches(1), entries=entries)
    assert exc.value.field == "transaction_code"
    content = assemble(
        file_header=HEADER,
        batches=_batches(1),
        entries=entries,
        trusted_entry_columns=frozenset({"transaction_code"}),
    )
    assert content.splitlines()[2][1:3] == b"2X"  # written as given: the caller vouched


@pytest.mark.parametrize(
    "name",
    [
        "test/ach-xck-read/xck-debit.ach",
        "test/ach-trc-read/trc-debit.ach",
        "test/ach-iat-read/iat-credit.ach",
    ],
)
def test_entries_always_have_the_standard_name_and_id_columns(name: str) -> None:
    """A file of one SEC whose layout has no name or identification field (XCK, TRC, IAT)
    still has the standard columns, null: code reading any file can select them."""
    standard = ("identification_number", "individual_name", "discretionary_data")
    entries = read(corpus_bytes(name)).entries
    assert {c: entries.schema[c] for c in standard} == dict.fromkeys(standard, pl.String)
    absent = [c for c in standard if entries[c].null_count() == entries.height]
    assert absent, "this file was picked for a layout without one of these fields"
