"""Batching, trace numbers, offsets, limits and naming of built files."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from nacha import read, validate, write
from nacha.build import ENTRIES_SCHEMA, build_files
from nacha.build_settings import Limits
from nacha.errors import NachaWriteError
from tests.nacha.build_fixtures import NEXT, NOW, TODAY, addenda_texts, frame, settings, transfer


def records(content: bytes, kind: str) -> list[str]:
    return [line for line in content.decode("ascii").splitlines() if line[:1] == kind]


def mixed_transfers() -> pl.DataFrame:
    rows = [
        transfer(reference="P1"),
        transfer(reference="P2", amount="5.00", accountType="Savings"),
        transfer(reference="D1", transactionType="Debit", companyEntryDescription="BILLING"),
        transfer(reference="D2", transactionType="Debit", companyEntryDescription="BILLING",
                 clientCode="GLOBEX", amount="7.77"),
        transfer(reference="W1", standardEntryClassCode="WEB", transactionType="Debit",
                 paymentTypeCode="R", companyEntryDescription="PURCHASE", addenda="ORDER 1"),
        transfer(reference="S1", effectiveEntryDate=TODAY, companyEntryDescription="BILLING",
                 transactionType="Debit", amount="3.00"),
        transfer(reference="B1", transactionType="Credit", companyEntryDescription="BILLING",
                 amount="1.00"),
    ]  # fmt: skip
    return frame(*rows)


def test_one_batch_per_key_with_ascending_numbers() -> None:
    result = build_files(mixed_transfers(), settings(), now=NOW, file_id_modifiers="A")
    (built,) = result.files
    headers = records(built.content, "5")
    keys = [(h[4:20].strip(), h[50:53], h[53:63].strip(), h[69:75], h[1:4]) for h in headers]
    assert keys == [
        ("ACME PAYMENTS", "PPD", "BILLING", "260310", "200"),  # same day first (earlier date)
        ("ACME PAYMENTS", "PPD", "BILLING", "260311", "200"),
        ("ACME PAYMENTS", "PPD", "PAYROLL", "260311", "200"),
        ("ACME PAYMENTS", "WEB", "PURCHASE", "260311", "200"),
        ("GLOBEX CORP", "PPD", "BILLING", "260311", "200"),
    ]
    assert [int(h[87:94]) for h in headers] == [1, 2, 3, 4, 5]
    assert result.summary["batches"] == 5
    assert result.summary["same_day_entries"] == 1


def test_split_service_classes() -> None:
    result = build_files(
        mixed_transfers(), settings(service_class_mode="split"), now=NOW, file_id_modifiers="A"
    )
    headers = records(result.files[0].content, "5")
    by_key = [(h[53:63].strip(), h[69:75], h[1:4]) for h in headers]
    assert ("BILLING", "260311", "220") in by_key and ("BILLING", "260311", "225") in by_key
    for h, c in zip(headers, records(result.files[0].content, "8"), strict=True):
        assert h[1:4] == c[1:4]
    entries = result.entries.join(
        pl.DataFrame(
            {"batch_number": range(1, len(headers) + 1), "svc": [h[1:4] for h in headers]}
        ),
        on="batch_number",
    )
    credit = entries["transaction_code"].str.slice(1, 1).cast(pl.Int32) <= 4
    assert (entries.filter(credit)["svc"] == "220").all()
    assert (entries.filter(~credit)["svc"] == "225").all()


def test_trace_numbers_ascend_across_the_file_and_map_to_references() -> None:
    result = build_files(
        mixed_transfers(), settings(), now=NOW, file_id_modifiers="A", first_trace_sequence=500
    )
    content = result.files[0].content
    traces = [line[79:94] for line in records(content, "6")]
    assert traces == sorted(traces) and len(set(traces)) == len(traces)
    assert all(t.startswith("09100001") for t in traces)
    assert [int(t[8:]) for t in traces] == list(range(500, 500 + len(traces)))
    assert result.next_trace_sequence == 500 + len(traces)
    in_file = {line[79:94]: line for line in records(content, "6")}
    for row in result.entries.iter_rows(named=True):
        line = in_file[row["trace_number"]]
        assert int(line[29:39]) == row["amount_cents"]
        assert line[1:3] == row["transaction_code"]
    assert dict(zip(ENTRIES_SCHEMA, result.entries.dtypes, strict=True)) == ENTRIES_SCHEMA
    assert result.entries["account_mask"].to_list()[0] == "********6789"
    assert result.entries["file_name"].unique().to_list() == [result.files[0].name]


def test_addenda_follow_their_entry() -> None:
    result = build_files(mixed_transfers(), settings(), now=NOW, file_id_modifiers="A")
    lines = result.files[0].content.decode().splitlines()
    (i,) = [n for n, line in enumerate(lines) if line.startswith("7")]
    entry, addenda = lines[i - 1], lines[i]
    assert entry[78] == "1" and addenda[3:83].rstrip() == "ORDER 1"
    assert addenda[83:87] == "0001" and addenda[87:94] == entry[87:94]


def test_balanced_files_offset_every_batch() -> None:
    s = settings(balanced=True)
    result = build_files(mixed_transfers(), s, now=NOW, file_id_modifiers="A")
    content = result.files[0].content
    control = records(content, "9")[0]
    assert control[31:43] == control[43:55]  # file debits == credits
    for c in records(content, "8"):
        assert c[20:32] == c[32:44]
    offsets = result.entries.filter(pl.col("kind") == "offset")
    assert offsets.height == 5
    assert offsets["reference"].null_count() == 5
    # each offset is the last entry of its batch
    last = result.entries.group_by("batch_number").agg(pl.col("kind").last())
    assert set(last["kind"]) == {"offset"}
    globex = offsets.filter(pl.col("client_code") == "GLOBEX")
    assert globex["transaction_code"].to_list() == ["32"]  # savings settlement, credit offset


def test_balanced_batch_whose_net_exceeds_one_entry_is_split() -> None:
    # Two debits summing past $99,999,999.99: one offset could not hold the net (10-digit
    # amount field), so the batch is split and each part gets an offset that fits.
    rows = [
        transfer(reference="BIG", amount="99999999.99", transactionType="Debit",
                 companyEntryDescription="BILLING"),
        transfer(reference="SMALL", amount="601.42", transactionType="Debit",
                 companyEntryDescription="BILLING"),
    ]  # fmt: skip
    result = build_files(frame(*rows), settings(balanced=True), now=NOW, file_id_modifiers="A")
    assert result.rejected.height == 0
    offsets = result.entries.filter(pl.col("kind") == "offset")
    assert sorted(offsets["amount_cents"].to_list()) == [60142, 9_999_999_999]
    assert result.entries["batch_number"].n_unique() == 2


def test_file_limits_split_into_several_files_with_continuing_traces() -> None:
    rows = [transfer(reference=f"R{i}", amount="10.00") for i in range(25)]
    s = settings(limits=Limits(max_file_lines=20, max_batch_entries=999_999))
    result = build_files(frame(*rows), s, now=NOW, file_id_modifiers="ABCDEFG")
    assert len(result.files) > 1
    assert [f.summary["file_id_modifier"] for f in result.files] == list("ABCDEFG")[
        : len(result.files)
    ]
    all_traces: list[str] = []
    for f in result.files:
        lines = f.content.decode().splitlines()
        assert len(lines) <= 20 and len(lines) % 10 == 0
        all_traces += [line[79:94] for line in records(f.content, "6")]
        assert [int(h[87:94]) for h in records(f.content, "5")] == list(
            range(1, len(records(f.content, "5")) + 1)
        )
    assert all_traces == sorted(all_traces) and len(all_traces) == 25
    assert result.entries["file_index"].n_unique() == len(result.files)
    with pytest.raises(NachaWriteError, match="file ID modifier"):
        build_files(frame(*rows), s, now=NOW, file_id_modifiers="A")


def test_dollar_limits_split_files() -> None:
    rows = [transfer(reference=f"R{i}", amount="600.00") for i in range(5)]
    s = settings(limits=Limits(max_file_credit_cents=1_000_00))
    result = build_files(frame(*rows), s, now=NOW, file_id_modifiers="ABCDE")
    assert len(result.files) == 5
    assert all(f.summary["credit_total_cents"] <= 1_000_00 for f in result.files)
    assert sum(f.summary["credit_total_cents"] for f in result.files) == 5 * 600_00


def test_batch_limit_splits_a_key_into_several_batches() -> None:
    rows = [transfer(reference=f"R{i}", amount="1.00") for i in range(10)]
    result = build_files(
        frame(*rows), settings(limits=Limits(max_batch_entries=5)), now=NOW, file_id_modifiers="A"
    )
    controls = records(result.files[0].content, "8")
    assert len(controls) >= 3
    assert all(int(c[4:10]) <= 5 for c in controls)
    assert sum(int(c[4:10]) for c in controls) == 10


def test_file_names_from_the_template() -> None:
    s = settings(
        file_name_template="{company}_{kind}_{date:%y%m%d}_{created:%H%M}_{modifier}{seq:03d}.ach",
        service_class_mode="split",
    )
    rows = [transfer(reference="A1", transactionType="Debit", companyEntryDescription="BILL")]
    result = build_files(
        frame(*rows), s, now=NOW, file_id_modifiers="Q", business_date=date(2026, 3, 9)
    )
    assert result.files[0].name == "ACME_PAYMENTS_debit_260309_0900_Q001.ach"


def test_line_endings() -> None:
    result = build_files(
        frame(transfer()), settings(line_ending="\r\n"), now=NOW, file_id_modifiers="A"
    )
    content = result.files[0].content
    assert content.count(b"\r\n") == 10 and len(content) == 960
    with pytest.raises(ValueError, match="line_ending"):
        settings(line_ending="")


def test_empty_input_builds_nothing() -> None:
    result = build_files(frame(), settings(), now=NOW, file_id_modifiers="A")
    assert result.files == () and result.entries.height == 0 and result.rejected.height == 0
    assert result.summary["entries"] == 0


def test_only_rejected_input_builds_nothing() -> None:
    result = build_files(frame(transfer(amount="x")), settings(), now=NOW, file_id_modifiers="A")
    assert result.files == () and result.rejected.height == 1


def test_trace_sequence_overflow_is_refused() -> None:
    rows = [transfer(reference=f"R{i}") for i in range(3)]
    with pytest.raises(NachaWriteError, match="trace sequence"):
        build_files(
            frame(*rows), settings(), now=NOW, file_id_modifiers="A", first_trace_sequence=9_999_998
        )


def test_sec_layouts_in_the_file() -> None:
    rows = [
        transfer(reference="C1", standardEntryClassCode="CIE", companyEntryDescription="BILL PAY",
                 individualName="PAT PAYER", identificationNumber="ACCT-AT-BILLER-0042"),
        transfer(reference="X1", standardEntryClassCode="CTX", companyEntryDescription="INVOICE",
                 individualName="GLOBEX CORP", addenda="ISA*00*", identificationNumber="INV9"),
        transfer(reference="K1", standardEntryClassCode="RCK", transactionType="Debit",
                 companyEntryDescription="REDEPCHECK", identificationNumber="0000001234",
                 amount="25.00"),
    ]  # fmt: skip
    result = build_files(frame(*rows), settings(), now=NOW, file_id_modifiers="A")
    assert result.rejected.height == 0, result.rejected.to_dicts()
    entries = {line[79:94]: line for line in records(result.files[0].content, "6")}
    by_ref = dict(result.entries.select("reference", "trace_number").iter_rows())
    cie, ctx, rck = entries[by_ref["C1"]], entries[by_ref["X1"]], entries[by_ref["K1"]]
    assert cie[39:54].rstrip() == "PAT PAYER" and cie[54:76].rstrip() == "ACCT-AT-BILLER-0042"
    assert ctx[54:58] == "0001" and ctx[58:74].rstrip() == "GLOBEX CORP" and ctx[78] == "1"
    assert rck[39:54].rstrip() == "0000001234" and rck[54:76].rstrip() == "JANE Q PUBLIC"


def test_prenotes_are_zero_dollar_and_marked() -> None:
    rows = [transfer(reference="N1", amount="0", prenote="true")]
    result = build_files(frame(*rows), settings(), now=NOW, file_id_modifiers="A")
    row = result.entries.row(0, named=True)
    assert (row["kind"], row["amount_cents"], row["transaction_code"]) == ("prenote", 0, "23")


def test_one_way_sec_batches_get_a_companion_offset_batch() -> None:
    rows = [
        transfer(reference="T1", standardEntryClassCode="TEL", transactionType="Debit",
                 companyEntryDescription="BILL", amount="75.00"),
        transfer(reference="C1", standardEntryClassCode="CIE", companyEntryDescription="BILL PAY",
                 individualName="PAT", identificationNumber="X1", amount="20.00"),
    ]  # fmt: skip
    result = build_files(frame(*rows), settings(balanced=True), now=NOW, file_id_modifiers="A")
    content = result.files[0].content
    headers = [(h[50:53], h[53:63].strip()) for h in records(content, "5")]
    assert headers == [("CIE", "BILL PAY"), ("CCD", "BILL PAY"), ("TEL", "BILL"), ("CCD", "BILL")]
    controls = records(content, "8")
    assert [(int(c[20:32]), int(c[32:44])) for c in controls] == [
        (0, 2000),
        (2000, 0),
        (7500, 0),
        (0, 7500),
    ]
    control = records(content, "9")[0]
    assert control[31:43] == control[43:55]
    offsets = result.entries.filter(pl.col("kind") == "offset")
    assert offsets["sec"].to_list() == ["CCD", "CCD"]


def test_every_built_file_is_validated_before_it_is_returned(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import nacha.build as build_module

    real = build_module.write_file

    def corrupt(frames, *, line_ending):  # type: ignore[no-untyped-def]
        lines = real(frames, line_ending=line_ending).decode().split("\n")
        lines[1] = lines[1][:1] + "220" + lines[1][4:]  # batch header says credits only
        return "\n".join(lines).encode()

    monkeypatch.setattr(build_module, "write_file", corrupt)
    rows = [transfer(transactionType="Debit", companyEntryDescription="BILL")]
    with pytest.raises(NachaWriteError, match="fails validation") as err:
        build_files(frame(*rows), settings(), now=NOW, file_id_modifiers="A")
    assert err.value.rule == "build.self_check"
    unchecked = build_files(
        frame(*rows), settings(), now=NOW, file_id_modifiers="A", validate=False
    )
    assert len(unchecked.files) == 1


def test_built_file_round_trips_through_reader_and_strict_validator() -> None:
    """Several batches (two companies, SEC codes, dates, directions), addenda on entries
    in more than one batch, a balanced offset per batch and 9-filled blocking: the strict
    validator finds no error, the reader sees exactly the planned entries and addenda, and
    re-writing the read file gives the same bytes."""
    rows = [
        transfer(
            reference=f"R{i:02d}",
            clientCode="GLOBEX" if i % 4 == 0 else "ACME",
            transactionType="Debit" if i % 2 else "Credit",
            companyEntryDescription="BILLING",
            amount=f"{i + 1}.{i:02d}",
            addenda=f"RMR*IV*{i}\\" if i % 3 == 0 else None,
        )
        for i in range(23)
    ]
    rows.append(
        transfer(reference="W1", standardEntryClassCode="WEB", transactionType="Debit",
                 paymentTypeCode="S", companyEntryDescription="PURCHASE", addenda="ORDER 7")
    )  # fmt: skip
    rows.append(transfer(reference="S1", effectiveEntryDate=TODAY, amount="3.00"))
    result = build_files(
        frame(*rows), settings(balanced=True), now=NOW, file_id_modifiers="A", validate=False
    )
    (built,) = result.files
    content = built.content
    f = read(content)
    issues = validate(f)  # default options: strict
    assert issues.filter(pl.col("severity") == "error").height == 0, issues
    assert write(f) == content
    lines = content.decode("ascii").split("\n")
    assert lines[-1] == "" and len(lines[:-1]) % 10 == 0 and lines[-2] == "9" * 94
    assert f.batches.height == built.summary["batches"] > 3
    assert f.batches["batch_number"].to_list() == list(range(1, f.batches.height + 1))
    assert f.entries["trace_number"].to_list() == sorted(result.entries["trace_number"])
    with_addenda = f.entries.filter(pl.col("addenda_record_indicator") == "1")
    assert with_addenda.height == f.addenda.height == 9
    assert with_addenda["batch_index"].n_unique() > 1
    assert f.addenda["entry_index"].to_list() == with_addenda["entry_index"].to_list()
    assert f.addenda["entry_detail_sequence_number"].to_list() == [
        t[8:] for t in with_addenda["trace_number"]
    ]
    assert set(f.addenda["payment_related_information"]) == {
        r["addenda"] for r in rows if r["addenda"]
    }


def test_builder_frames_trust_entry_columns_they_hold() -> None:
    """The builder's frames name trusted entry columns that exist (a renamed column would
    silently lose its check otherwise); frames built elsewhere trust nothing."""
    from nacha.build_input import check_transfers
    from nacha.build_plan import plan_files
    from nacha.build_write import TRUSTED_ENTRY_COLUMNS, FileFrames, file_frames

    checked = check_transfers(frame(transfer(reference="T1")), settings(), now=NOW)
    plan = plan_files(checked.accepted, settings(), first_sequence=1)
    frames = file_frames(plan, settings(), file_index=0, now=NOW, modifier="A")
    assert frames.trusted_entry_columns == TRUSTED_ENTRY_COLUMNS
    assert set(frames.entries.columns) >= TRUSTED_ENTRY_COLUMNS
    empty = pl.DataFrame()
    assert FileFrames({}, empty, empty, empty).trusted_entry_columns == frozenset()


@pytest.mark.parametrize(
    ("dates", "amounts"),
    [
        ([NEXT, NEXT, NEXT], [100, 200, 300]),  # one date, all eligible: judged once
        ([NEXT, NEXT], [100, 10**11]),  # one over the same-day limit
        ([TODAY, NEXT, TODAY], [100, 200, 300]),  # two dates
    ],
)
def test_settlement_estimates_match_the_calendar_per_entry(
    dates: list[str], amounts: list[int]
) -> None:
    from nacha.build import _estimates
    from nacha.calendar import settlement_date_estimate

    s = settings()
    days = [date.fromisoformat(d) for d in dates]
    entries = pl.DataFrame(
        {"effective_entry_date": days, "amount_cents": amounts},
        schema={"effective_entry_date": pl.Date, "amount_cents": pl.Int64},
    )
    profile = s.odfi.profile
    expected = [
        settlement_date_estimate(
            d, submitted=NOW, profile=profile, same_day_eligible=a <= profile.same_day_limit_cents
        )
        for d, a in zip(days, amounts, strict=True)
    ]
    got = _estimates(entries, s, NOW)
    assert got["settlement_date_estimate"].to_list() == expected
    assert got.columns == ["effective_entry_date", "amount_cents", "settlement_date_estimate"]


def _ctx(reference: str, addenda: str, **fields: str) -> dict[str, object]:
    return transfer(
        reference=reference,
        standardEntryClassCode="CTX",
        companyEntryDescription="INVOICE",
        individualName="GLOBEX CORP",
        addenda=addenda,
        **fields,
    )


#: An X12 820 of several addenda records; a record boundary falls on a space (position 80).
X12 = (
    "ISA*00*          *00*          *ZZ*ACME           *ZZ*GLOBEX         *260310*0900*U*0"
    "0401*000000001*0*P*>~GS*RA*ACME*GLOBEX*20260310*0900*1*X*004010~ST*820*0001~BPR*C*1"
    "234.56*C*ACH*CTX*01*091000019*DA*000111222333*1234567890**01*021000021*DA*0001234567"
    "89*20260311~RMR*IV*INV-1001**1234.56~SE*5*0001~GE*1*1~IEA*1*000000001~"
)


def test_ctx_addenda_text_is_cut_into_numbered_records() -> None:
    rows = [
        _ctx("X1", X12),
        _ctx("X2", "RMR*IV*7*PO*99.00~", transactionType="Debit"),
        _ctx("X3", "B" * 160),  # exactly two full records: no third, blank one
        transfer(reference="P1", addenda="ORDER 1"),
    ]
    result = build_files(frame(*rows), settings(), now=NOW, file_id_modifiers="A")
    assert result.rejected.height == 0, result.rejected.to_dicts()
    (built,) = result.files
    f = read(built.content)
    issues = validate(f)  # default options
    assert issues.height == 0, issues.to_dicts()
    by_ref = dict(result.entries.select("trace_number", "reference").iter_rows())
    entries = f.entries.with_columns(reference=pl.col("trace_number").replace_strict(by_ref)).join(
        addenda_texts(f.addenda), on="entry_index", how="left"
    )
    got = {r["reference"]: r for r in entries.iter_rows(named=True)}
    want = {r["reference"]: r["addenda"] for r in rows}
    counts = {"X1": -(-len(X12) // 80), "X2": 1, "X3": 2}
    for ref, text in want.items():
        assert got[ref]["addenda"] == text
        assert got[ref]["addenda_record_indicator"] == "1"
        if ref in counts:  # the CTX count field, 55-58
            assert got[ref]["number_of_addenda_records"] == counts[ref]
    x1 = got["X1"]["entry_index"]
    seqs = f.addenda.filter(pl.col("entry_index") == x1)["addenda_sequence_number"].to_list()
    assert seqs == list(range(1, counts["X1"] + 1))
    # every 7 record is 94 characters: the last one of X1 is padded with spaces
    lines = built.content.decode("ascii").splitlines()
    sevens = [line for line in lines if line[0] == "7"]
    assert all(len(line) == 94 for line in sevens)
    assert sevens[counts["X1"] - 1][3:83] == X12[80 * (counts["X1"] - 1) :].ljust(80)
    n_addenda = sum(counts.values()) + 1
    assert len(sevens) == n_addenda
    # batch and file entry/addenda counts include every addenda record
    assert sum(int(c[4:10]) for c in records(built.content, "8")) == 4 + n_addenda
    control = records(built.content, "9")[0]
    assert int(control[13:21]) == 4 + n_addenda
    assert int(control[7:13]) == len(lines) // 10


def test_ctx_entries_with_many_addenda_respect_the_file_line_limit() -> None:
    """With 30-line files a batch holds 22 entry/addenda records (30 - file and batch
    header/control - 2 kept free): a CTX entry of 21 addenda fits a file of its own, one of
    22 is refused with the reason, and the rest is spread over files within the limit."""
    s = settings(limits=Limits(max_file_lines=30), balanced=True)
    fits = "X" * (80 * 21)
    rows = [_ctx(f"X{i}", fits) for i in range(3)]
    rows.append(_ctx("BIG", fits + "Y"))
    rows.append(_ctx("S1", "RMR*IV*1~"))
    result = build_files(frame(*rows), s, now=NOW, file_id_modifiers="ABCDEFG")
    assert result.rejected["reference"].to_list() == ["BIG"]
    assert "addenda of 22 records" in result.rejected["reason"][0]
    assert len(result.files) >= 3
    for built in result.files:
        assert len(built.content.decode("ascii").splitlines()) <= 30
        assert validate(read(built.content)).height == 0
    assert result.entries.filter(pl.col("kind") != "offset").height == 4


@pytest.mark.parametrize("max_file_lines", [25, 29, 31])
def test_file_line_limits_that_are_not_whole_blocks_are_kept(max_file_lines: int) -> None:
    """Blocking pads a file to a multiple of 10 lines, padding included in the limit: a
    limit of 25 allows files of 20 lines."""
    rows = [transfer(reference=f"R{i}", amount="1.00", addenda=f"NOTE {i}") for i in range(30)]
    s = settings(limits=Limits(max_file_lines=max_file_lines), balanced=True)
    result = build_files(frame(*rows), s, now=NOW, file_id_modifiers="ABCDEFGHIJKLMNOP")
    assert result.rejected.height == 0
    for built in result.files:
        assert len(built.content.decode("ascii").splitlines()) <= max_file_lines
    assert result.entries.filter(pl.col("kind") != "offset").height == 30


def test_builder_frames_are_proven_printable_other_frames_are_scanned() -> None:
    """The builder says its texts are printable (checked transfers, validated settings), so
    ``assemble`` skips the byte scan of the whole file; any other caller's frames are
    scanned and a control character is refused."""
    from nacha.build_input import check_transfers
    from nacha.build_plan import plan_files
    from nacha.build_write import FileFrames, file_frames, write_file

    checked = check_transfers(frame(transfer(reference="T1")), settings(), now=NOW)
    plan = plan_files(checked.accepted, settings(), first_sequence=1)
    frames = file_frames(plan, settings(), file_index=0, now=NOW, modifier="A")
    assert frames.printable
    empty = pl.DataFrame()
    assert not FileFrames({}, empty, empty, empty).printable
    bad = frames.entries.with_columns(individual_name=pl.lit("JANE\x07DOE"))
    unproven = FileFrames(frames.file_header, frames.batches, bad, frames.addenda)
    with pytest.raises(NachaWriteError, match="printable ASCII"):
        write_file(unproven)
