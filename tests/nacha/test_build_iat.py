"""IAT origination: separate IAT files that validate and re-read to the input; mixed
domestic + IAT frames leave the domestic files byte for byte unchanged; bad IAT rows are
rejected with their reference and every reason."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

import nacha
from nacha.addenda_text import (
    CORRESPONDENT_BANK_FIELDS,
    correspondent_banks,
    payment_related_texts,
)
from nacha.build import build_files
from nacha.build_iat_codes import ISO_COUNTRY_CODES
from nacha.build_iat_input import CORRESPONDENT_FIELDS, IAT_COLUMNS
from nacha.build_rules import ENTRY_FIELD_COLUMNS
from nacha.build_settings import Company, Limits
from tests.nacha.build_fixtures import ACME, NOW, TODAY, settings, transfer
from tests.nacha.test_build_property import a_transfer

IAT_FIELDS: dict[str, Any] = {
    "standardEntryClassCode": "IAT",
    "companyEntryDescription": "TRADE",
    "individualName": "MAPLE LEAF IMPORTS LIMITED PARTNERS",  # 35 characters
    "DFIAccountNumber": "GB29NWBK60161331926819",
    "iatTransactionTypeCode": "BUS",
    "destinationCountryCode": "CA",
    "destinationCurrencyCode": "USD",
    "foreignExchangeIndicator": None,  # FF by default
    "foreignExchangeReferenceIndicator": None,  # 3 by default
    "foreignExchangeReference": None,
    "foreignPaymentAmount": None,
    "foreignTraceNumber": None,
    "receiverIdentificationNumber": "CUST-42",
    "receiverStreetAddress": "1 FRONT STREET WEST",
    "receiverCityStateProvince": "TORONTO*ON\\",
    "receiverCountryPostalCode": "CA*M5V2T6\\",
    "rdfiName": "ROYAL EXAMPLE BANK",
    "rdfiIdQualifier": "01",
    "rdfiIdentification": "000112345",
    "rdfiBranchCountryCode": "CA",
    "originatorName": None,
    "originatorStreetAddress": "100 MAIN STREET",
    "originatorCityStateProvince": "CHICAGO*IL\\",
    "originatorCountryPostalCode": "US*60601\\",
    "paymentRelatedInformation": None,
}


def iat(**fields: Any) -> dict[str, Any]:
    """One valid IAT credit for tomorrow; override any field."""
    return transfer(**{**IAT_FIELDS, **fields})


def domestic(**fields: Any) -> dict[str, Any]:
    """A domestic transfer in a frame that has the IAT columns (left empty)."""
    return transfer(**{**dict.fromkeys(IAT_COLUMNS), **fields})


def frame(*rows: dict[str, Any]) -> pl.DataFrame:
    """Text columns: every key of any row (a row without one holds null there)."""
    return pl.DataFrame(list(rows), schema={k: pl.String for r in rows for k in r})


def build(*rows: dict[str, Any], **kwargs: Any) -> Any:
    options: dict[str, Any] = {"now": NOW, "file_id_modifiers": "ABCDEFGH"}
    options.update(kwargs)
    config = options.pop("settings", None) or settings()
    return build_files(frame(*rows), config, **options)


def errors(content: bytes) -> pl.DataFrame:
    issues = nacha.validate(nacha.read(content))
    return issues.filter(pl.col("severity") == "error")


def bank(n: int, name: str, qualifier: str, ident: str, country: str) -> dict[str, str]:
    """Correspondent bank ``n``'s four input columns."""
    values = (name, qualifier, ident, country)
    return {
        f"correspondentBank{n}{s}": v for s, v in zip(CORRESPONDENT_FIELDS, values, strict=True)
    }


def banks_of(row: dict[str, Any]) -> list[tuple[str, ...]]:
    """An input row's correspondent banks, in order, as (name, qualifier, id, country)."""
    out = []
    for n in range(1, 6):
        values = tuple(row.get(f"correspondentBank{n}{s}") for s in CORRESPONDENT_FIELDS)
        if any(values):
            out.append(values)
    return out


def reread_banks(addenda: pl.DataFrame, entries: pl.DataFrame) -> dict[str, list[tuple[str, ...]]]:
    """Reference -> correspondent banks read back from the addenda 18 (every reference of
    ``entries``, banks or not)."""
    wide = correspondent_banks(addenda)
    out: dict[str, list[tuple[str, ...]]] = {r: [] for r in entries["reference"]}
    refs = dict(entries.select("entry_index", "reference").iter_rows())
    for row in wide.iter_rows(named=True):
        for k in range(1, 6):
            values = tuple(
                row.get(f"foreign_correspondent_bank_{k}_{f}") for f in CORRESPONDENT_BANK_FIELDS
            )
            if any(values):
                out[refs[row["entry_index"]]].append(values)
    return out


def test_iat_file_validates_and_rereads_to_the_input() -> None:
    rows = [
        iat(reference="I1", paymentRelatedInformation="INVOICE 42 PAID IN FULL " * 5),
        iat(
            reference="I2",
            transactionType="Debit",
            accountType="Savings",
            amount="99.01",
            destinationCountryCode="DE",
            destinationCurrencyCode="EUR",
            foreignExchangeIndicator="FV",
            foreignExchangeReferenceIndicator="1",
            foreignExchangeReference="0.9213",
            foreignPaymentAmount="91.22",
            foreignTraceNumber="DE-TRACE-7",
            rdfiIdQualifier="02",
            rdfiIdentification="DEUTDEFF500",
            rdfiBranchCountryCode="DE",
            receiverIdentificationNumber=None,
        ),
        iat(reference="I3", amount="0.00", prenote="true", rdfiIdQualifier="03",
            rdfiIdentification="GB29NWBK60161331926819", rdfiBranchCountryCode="GB"),
    ]  # fmt: skip
    result = build(*rows)
    assert result.rejected.height == 0
    (built,) = result.files
    assert built.name == "1234567890-20260310-A-01.ach"
    assert errors(built.content).height == 0
    f = nacha.read(built.content)
    assert f.batches["sec_code"].to_list() == ["IAT", "IAT"]  # FF/CA and FV/DE batches
    batch = f.batches.sort("batch_number").row(1, named=True)
    assert (batch["foreign_exchange_indicator"], batch["foreign_exchange_reference"]) == (
        "FV",
        "0.9213",
    )
    assert batch["iso_destination_currency_code"] == "EUR"
    assert batch["company_id"] == ACME.company_id
    entries = f.entries.join(
        result.entries.select("trace_number", "reference"), on="trace_number", how="left"
    )
    assert sorted(entries["reference"].to_list()) == ["I1", "I2", "I3"]
    by_ref = {r["reference"]: r for r in entries.iter_rows(named=True)}
    assert by_ref["I2"]["amount"] == 9901 and by_ref["I2"]["transaction_code"] == "37"
    assert by_ref["I1"]["transaction_code"] == "22" and by_ref["I3"]["transaction_code"] == "23"
    assert by_ref["I1"]["dfi_account_number"] == "GB29NWBK60161331926819"
    assert by_ref["I1"]["gateway_ofac_screening_indicator"] is None
    addenda = f.addenda.join(
        entries.select("entry_index", "reference"), on="entry_index", how="left"
    )
    types = addenda.filter(pl.col("reference") == "I1")["addenda_type_code"].to_list()
    assert types == ["10", "11", "12", "13", "14", "15", "16", "17", "17"]

    def field(reference: str, code: str, name: str) -> Any:
        part = addenda.filter(
            (pl.col("reference") == reference) & (pl.col("addenda_type_code") == code)
        )
        return part[name].to_list()

    assert field("I1", "10", "receiving_name") == ["MAPLE LEAF IMPORTS LIMITED PARTNERS"]
    assert field("I1", "10", "foreign_payment_amount") == [1234]  # FF: the entry amount
    assert field("I2", "10", "foreign_payment_amount") == [9122]
    assert field("I2", "10", "foreign_trace_number") == ["DE-TRACE-7"]
    assert field("I1", "11", "originator_name") == [ACME.company_name]  # company default
    assert field("I1", "12", "originator_country_postal_code") == ["US*60601\\"]
    assert field("I1", "13", "odfi_identification") == ["091000019"]
    assert field("I1", "13", "odfi_branch_country_code") == ["US"]
    assert field("I2", "14", "rdfi_identification") == ["DEUTDEFF500"]
    assert field("I2", "14", "rdfi_id_number_qualifier") == ["02"]
    assert field("I1", "15", "receiver_identification_number") == ["CUST-42"]
    assert field("I1", "16", "receiver_city_state_province") == ["TORONTO*ON\\"]
    info = "INVOICE 42 PAID IN FULL " * 5  # 120 characters: two addenda 17 of 80
    assert (
        field("I1", "17", "payment_related_information")
        == [
            info[:80].rstrip(),  # fixed-width fields are space-padded: trailing blanks vanish
            info[80:].rstrip(),
        ]
    )
    assert field("I1", "17", "addenda_sequence_number") == [1, 2]
    assert field("I2", "17", "payment_related_information") == []
    assert result.entries["sec"].to_list() == ["IAT"] * 3
    assert not result.entries["same_day"].any()


def test_mixed_frame_leaves_domestic_files_unchanged() -> None:
    d1, d2 = domestic(reference="D1"), domestic(reference="D2", amount="7.00", prenote=None)
    rows = [d1, iat(reference="I1"), d2, iat(reference="I2", transactionType="Debit")]
    alone = build_files(
        pl.DataFrame([transfer(reference="D1"), transfer(reference="D2", amount="7.00")]),
        settings(),
        now=NOW,
        file_id_modifiers="ABC",
        first_trace_sequence=100,
    )
    mixed = build(*rows, first_trace_sequence=100)
    assert mixed.rejected.height == 0
    assert len(mixed.files) == 2
    assert mixed.files[0].content == alone.files[0].content
    assert mixed.files[0].name == alone.files[0].name
    assert mixed.files[1].name == "1234567890-20260310-B-02.ach"
    assert nacha.read(mixed.files[1].content).batches["sec_code"].to_list() == ["IAT"]
    assert errors(mixed.files[1].content).height == 0
    traces = mixed.entries["trace_number"].to_list()
    assert traces == sorted(traces) and len(set(traces)) == 4
    assert mixed.next_trace_sequence == 104
    # rows keep their input numbers; entries name the file they are in
    rows_of = dict(mixed.entries.select("reference", "row").iter_rows())
    assert rows_of == {"D1": 1, "I1": 2, "D2": 3, "I2": 4}
    assert mixed.entries.filter(pl.col("sec") == "IAT")["file_index"].to_list() == [1, 1]
    assert mixed.summary["files"] == 2 and mixed.summary["entries"] == 4
    assert mixed.summary["debit_total_cents"] == 1234
    assert mixed.summary["credit_total_cents"] == 1234 + 1234 + 700


def test_domestic_rows_with_empty_iat_columns_build_as_before() -> None:
    plain = build_files(
        pl.DataFrame([transfer(reference="D1")]), settings(), now=NOW, file_id_modifiers="A"
    )
    wide = build(domestic(reference="D1"))
    assert [f.content for f in wide.files] == [f.content for f in plain.files]
    assert wide.entries.equals(plain.entries)


def test_pop_and_xck_fields_do_not_apply_to_iat_rows() -> None:
    rows = [
        iat(reference="OK1", terminalCity=None, itemResearchNumber=None),
        iat(reference="POPF", terminalCity="AUST", itemResearchNumber="IRN1"),
    ]
    result = build(*rows)
    assert result.rejected.select("reference", "reason").rows() == [
        ("POPF", "terminalCity does not apply to IAT; itemResearchNumber does not apply to IAT")
    ]


def test_bad_iat_rows_are_rejected_with_reasons() -> None:
    rows = [
        iat(reference="OK1"),
        iat(reference="NOADDR", receiverStreetAddress=None, receiverCityStateProvince="  "),
        iat(reference="COUNTRY", destinationCountryCode="XX", rdfiBranchCountryCode="ca"),
        iat(reference="QUAL", rdfiIdQualifier="04"),
        iat(reference="BIC", rdfiIdQualifier="02", rdfiIdentification="NOTABIC"),
        iat(reference="LONG", individualName="N" * 36),
        iat(reference="SAMEDAY", effectiveEntryDate=TODAY),
        iat(reference="FX", foreignExchangeIndicator="FV"),
        iat(reference="CODE", iatTransactionTypeCode="XYZ", currency="EUR"),
        iat(reference="EXTRA", addenda="HELLO", identificationNumber="1"),
        iat(reference="ROUTE", routingNumber="021000022"),
        iat(reference="WEEKDAY", effectiveEntryDate="2026-W11-3"),
        iat(reference="SATURDAY", effectiveEntryDate="2026-03-14"),
    ]
    result = build(*rows)
    reasons = dict(result.rejected.select("reference", "reason").iter_rows())
    assert set(reasons) == {r["reference"] for r in rows} - {"OK1"}
    assert "receiverStreetAddress is required for IAT" in reasons["NOADDR"]
    assert "receiverCityStateProvince is required for IAT" in reasons["NOADDR"]
    assert "destinationCountryCode XX is not an ISO 3166 country code" in reasons["COUNTRY"]
    assert "rdfiBranchCountryCode ca is not an ISO 3166 country code" in reasons["COUNTRY"]
    assert "rdfiIdQualifier 04 is not 01 (national), 02 (BIC) or 03 (IBAN)" in reasons["QUAL"]
    assert "BIC for rdfiIdQualifier 02" in reasons["BIC"]
    assert reasons["LONG"] == "individualName longer than 35 characters"
    assert "never same-day" in reasons["SAMEDAY"] and "earliest 2026-03-11" in reasons["SAMEDAY"]
    assert "destinationCurrencyCode must differ" in reasons["FX"]
    assert "iatTransactionTypeCode XYZ is not an IAT transaction type code" in reasons["CODE"]
    assert "currency (the originating currency) must be USD" in reasons["CODE"]
    assert "addenda does not apply to IAT" in reasons["EXTRA"]
    assert "identificationNumber does not apply to IAT" in reasons["EXTRA"]
    assert "check digit" in reasons["ROUTE"]
    assert reasons["WEEKDAY"] == "effectiveEntryDate 2026-W11-3 is not a YYYY-MM-DD date"
    assert reasons["SATURDAY"] == "effectiveEntryDate 2026-03-14 is not a banking day (weekend)"
    assert result.rejected["row"].to_list() == list(range(2, len(rows) + 1))
    (built,) = result.files  # the good row still builds, alone
    assert nacha.read(built.content).entries.height == 1


def test_same_day_iat_rolls_under_the_roll_policy() -> None:
    result = build(
        iat(reference="I1", effectiveEntryDate=TODAY),
        settings=settings(effective_date_policy="roll"),
    )
    row = result.entries.row(0, named=True)
    assert str(row["effective_entry_date"]) == "2026-03-11" and row["date_action"] == "rolled"
    assert row["same_day"] is False


def test_domestic_rows_may_not_carry_iat_fields_or_share_iat_references() -> None:
    rows = [
        domestic(reference="D1", rdfiName="SOME BANK"),
        domestic(reference="SAME"),
        iat(reference="SAME"),
        domestic(reference="D2"),
    ]
    result = build(*rows)
    reasons = dict(result.rejected.select("reference", "reason").iter_rows())
    assert reasons["D1"] == "IAT field(s) rdfiName set on a PPD row"
    assert result.rejected.filter(pl.col("reference") == "SAME")["row"].to_list() == [2, 3]
    assert set(result.rejected["reason"].filter(result.rejected["reference"] == "SAME")) == {
        "duplicate reference in this input"
    }
    assert result.entries.select("reference", "row").rows() == [("D2", 4)]


def test_company_originator_defaults_and_row_overrides() -> None:
    acme = replace(
        ACME,
        iat_originator_name="ACME PAYMENTS INCORPORATED",
        iat_originator_street_address="1 LAKE SHORE DRIVE",
        iat_originator_city_state_province="CHICAGO*IL\\",
        iat_originator_country_postal_code="US*60611\\",
    )
    config = settings(companies=(acme,))
    empty = dict.fromkeys(
        (
            "originatorStreetAddress",
            "originatorCityStateProvince",
            "originatorCountryPostalCode",
        )
    )
    result = build(
        iat(reference="I1", **empty),
        iat(reference="I2", originatorName="OTHER NAME", clientCode=None),
        settings=config,
    )
    assert result.rejected.height == 0
    addenda = nacha.read(result.files[0].content).addenda
    assert addenda["originator_name"].drop_nulls().to_list() == [
        "ACME PAYMENTS INCORPORATED",
        "OTHER NAME",
    ]
    assert addenda["originator_street_address"].drop_nulls().to_list() == [
        "1 LAKE SHORE DRIVE",
        "100 MAIN STREET",
    ]
    missing = build(iat(reference="I3", **empty))  # no company defaults configured
    assert "originatorStreetAddress is required for IAT" in missing.rejected["reason"][0]
    with pytest.raises(ValueError, match="iat_originator_name"):
        Company("X", "X", "1", iat_originator_name="N" * 36)


def test_split_service_classes_and_file_limits() -> None:
    config = settings(service_class_mode="split", limits=Limits(max_file_lines=30))
    rows = [
        iat(reference=f"I{i}", transactionType=t) for i, t in enumerate(["Credit", "Debit"] * 2)
    ]
    result = build(domestic(reference="D1"), *rows, settings=config)
    assert result.rejected.height == 0
    iat_files = result.files[1:]
    # 8 records an entry: credits I0+I2 (20 lines with the headers) and debit I1 fill 30
    # lines exactly; debit I3 starts the next file
    assert len(iat_files) == 2
    for built in iat_files:
        assert errors(built.content).height == 0
        assert len(built.content.splitlines()) <= 30
    svcs = [nacha.read(f.content).batches["service_class_code"].to_list() for f in iat_files]
    assert svcs == [["220", "225"], ["225"]]
    traces = result.entries["trace_number"].to_list()
    assert traces == sorted(traces) and len(set(traces)) == 5
    assert [f.summary["file_id_modifier"] for f in result.files] == ["A", "B", "C"]


def test_running_out_of_modifiers_and_balanced_files() -> None:
    with pytest.raises(nacha.NachaWriteError, match="file ID modifier"):
        build(domestic(reference="D1"), iat(reference="I1"), file_id_modifiers="A")
    balanced = build(iat(reference="I1"), settings=settings(balanced=True))
    assert "cannot be offset in balanced files" in balanced.rejected["reason"][0]


def test_iat_country_list_is_iso_3166() -> None:
    assert len(ISO_COUNTRY_CODES) == 249 and {"US", "CA", "GB", "DE"} <= ISO_COUNTRY_CODES


@st.composite
def an_iat_row(draw: st.DrawFn, n: int) -> dict[str, Any]:
    text = st.text(
        st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=35
    ).filter(lambda s: s.strip("0") != "")
    long_text = st.text(  # up to two addenda 17
        st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=81, max_size=160
    )
    currency = draw(st.sampled_from(["USD", "EUR", "CAD"]))
    fx = "FF" if currency == "USD" else draw(st.sampled_from(["FV", "VF"]))
    return iat(
        reference=f"R{n}",
        transactionType=draw(st.sampled_from(["Credit", "Debit"])),
        accountType=draw(st.sampled_from(["Checking", "Savings"])),
        amount=f"{draw(st.integers(1, 9_999_999_999)) / 100:.2f}",
        individualName=draw(text),
        DFIAccountNumber=draw(st.from_regex(r"[0-9A-Z]{1,35}", fullmatch=True)),
        destinationCurrencyCode=currency,
        foreignExchangeIndicator=fx,
        receiverStreetAddress=draw(text),
        rdfiName=draw(text),
        paymentRelatedInformation=draw(st.one_of(st.none(), text, long_text)),
        **{
            k: v
            for i in range(draw(st.integers(0, 5)))
            for k, v in bank(i + 1, *draw(a_bank(text))).items()
        },
    )


@st.composite
def a_bank(draw: st.DrawFn, text: st.SearchStrategy[str]) -> tuple[str, str, str, str]:
    """(name, qualifier, identification, country) of a valid correspondent bank."""
    qualifier = draw(st.sampled_from(["01", "02", "03"]))
    shape = {
        "01": r"[0-9A-Z]{1,34}",
        "02": r"[A-Z]{6}[0-9A-Z]{2}([0-9A-Z]{3})?",
        "03": r"[A-Z]{2}[0-9]{2}[0-9A-Z]{11,30}",
    }[qualifier]
    ident = draw(st.from_regex(shape, fullmatch=True))
    return draw(text), qualifier, ident, draw(st.sampled_from(sorted(ISO_COUNTRY_CODES)))


@hsettings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    sizes=st.tuples(st.integers(0, 8), st.integers(1, 6)),
    data=st.data(),
    mode=st.sampled_from(["mixed", "split"]),
    max_file_lines=st.sampled_from([30, 9_999_990]),
    policy=st.sampled_from(["reject", "roll"]),
)
def test_property_mixed_frames_build_domestic_as_alone_and_iat_that_rereads(
    sizes: tuple[int, int], data: st.DataObject, mode: str, max_file_lines: int, policy: str
) -> None:
    domestic_rows = [data.draw(a_transfer(i)) for i in range(sizes[0])]
    iat_rows = [data.draw(an_iat_row(100 + i)) for i in range(sizes[1])]
    order = data.draw(st.permutations(range(sizes[0] + sizes[1])))
    every = [*domestic_rows, *iat_rows]
    blank = dict.fromkeys([*IAT_COLUMNS, *ENTRY_FIELD_COLUMNS])  # every row: every column
    rows = [{**blank, **every[i]} for i in order]
    config = settings(
        service_class_mode=mode,
        limits=Limits(max_file_lines=max_file_lines),
        effective_date_policy=policy,
    )
    options: dict[str, Any] = {"now": NOW, "file_id_modifiers": "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
    result = build_files(frame(*rows), config, first_trace_sequence=7, **options)
    # the domestic rows alone, in the order the mixed frame holds them (entries keep input
    # order within a batch, so that order decides the bytes)
    domestic_in_order = [every[i] for i in order if i < sizes[0]]
    alone = build_files(
        frame(*domestic_in_order) if domestic_rows else frame(transfer()).clear(),
        config,
        first_trace_sequence=7,
        **options,
    )
    n_domestic = len(alone.files)
    assert [f.content for f in result.files[:n_domestic]] == [f.content for f in alone.files]
    assert set(result.rejected["reference"]) == set(alone.rejected["reference"])
    traces = result.entries["trace_number"].to_list()
    assert traces == sorted(traces) and len(set(traces)) == len(traces)
    assert result.next_trace_sequence == alone.next_trace_sequence + len(iat_rows)
    read = [nacha.read(f.content) for f in result.files[n_domestic:]]
    assert all(f.batches["sec_code"].unique().to_list() == ["IAT"] for f in read)
    for built in result.files[n_domestic:]:
        assert errors(built.content).height == 0
        assert len(built.content.splitlines()) <= max_file_lines
    # entry_index is per file: number the files' entries and addenda apart
    entries = pl.concat(
        [f.entries.with_columns(pl.col("entry_index") + 1_000_000 * i) for i, f in enumerate(read)],
        how="diagonal_relaxed",
    )
    got = entries.join(result.entries.select("trace_number", "reference", "row"), on="trace_number")
    want = {r["reference"]: r for r in iat_rows}
    assert sorted(got["reference"]) == sorted(want)
    for ref, row, amount, account in got.select(
        "reference", "row", "amount", "dfi_account_number"
    ).rows():
        assert amount == int(want[ref]["amount"].replace(".", ""))
        assert account == want[ref]["DFIAccountNumber"]
        assert rows[row - 1]["reference"] == ref  # row numbers are the input's
    addenda = pl.concat(
        [f.addenda.with_columns(pl.col("entry_index") + 1_000_000 * i) for i, f in enumerate(read)],
        how="diagonal_relaxed",
    )
    names = addenda["receiving_name"].drop_nulls().to_list()
    assert sorted(names) == sorted(r["individualName"] for r in iat_rows)
    texts = payment_related_texts(addenda).join(
        got.select("entry_index", "reference"), on="entry_index"
    )
    assert dict(texts.select("reference", "payment_related_information").iter_rows()) == {
        ref: r["paymentRelatedInformation"]
        for ref, r in want.items()
        if r["paymentRelatedInformation"]
    }
    assert reread_banks(addenda, got) == {ref: banks_of(r) for ref, r in want.items()}
    # each entry: 10-16, its 17s, its 18s; each type numbered from 1; the count covers all
    for ref, index, count in got.select(
        "reference", "entry_index", "number_of_addenda_records"
    ).rows():
        mine = addenda.filter(pl.col("entry_index") == index)
        types = mine["addenda_type_code"].to_list()
        n17 = -(-len(want[ref]["paymentRelatedInformation"] or "") // 80)
        n18 = len(banks_of(want[ref]))
        assert types == ["10", "11", "12", "13", "14", "15", "16"] + ["17"] * n17 + ["18"] * n18
        # only addenda 17 and 18 number themselves: a file whose IAT entries have neither
        # has no addenda_sequence_number column at all
        sequence = mine.get_column("addenda_sequence_number", default=None)
        assert ([] if sequence is None else sequence.to_list()[7:]) == [
            *range(1, n17 + 1),
            *range(1, n18 + 1),
        ]
        assert count == len(types)


def test_assemble_places_every_addenda_under_its_entry() -> None:
    """Regression: the second and later entries with several addenda had their addenda
    written at the wrong lines (after the file control)."""
    header = {
        "immediate_destination": "091000019",
        "immediate_origin": "1234567890",
        "file_creation_date": "260310",
        "file_creation_time": "0900",
        "file_id_modifier": "A",
        "immediate_destination_name": "FIRST EXAMPLE BANK",
        "immediate_origin_name": "ACME",
    }
    batches = pl.DataFrame(
        {
            "batch_number": [1],
            "service_class_code": ["200"],
            "company_name": ["ACME"],
            "company_id": ["1234567890"],
            "sec_code": ["CTX"],
            "company_entry_description": ["INVOICES"],
            "effective_entry_date": ["260311"],
            "originator_status_code": ["1"],
            "odfi_id": ["09100001"],
        }
    )
    traces = ["091000010000001", "091000010000002"]
    entries = pl.DataFrame(
        {
            "batch_number": [1, 1],
            "transaction_code": ["22", "22"],
            "rdfi_routing": ["021000021", "021000021"],
            "dfi_account_number": ["1", "2"],
            "amount": [100, 200],
            "identification_number": ["A", "B"],
            "individual_name": ["X CORP", "Y CORP"],
            "trace_number": traces,
        }
    )
    addenda = pl.DataFrame(
        {
            "batch_number": [1] * 6,
            "trace_number": [traces[0]] * 3 + [traces[1]] * 3,
            "payment_related_information": [f"RMR*IV*{i}" for i in range(6)],
        }
    )
    content = nacha.assemble(file_header=header, batches=batches, entries=entries, addenda=addenda)
    assert errors(content).height == 0
    f = nacha.read(content)
    got = f.addenda.join(f.entries.select("entry_index", "trace_number"), on="entry_index")
    assert got.select("trace_number", "payment_related_information").rows() == list(
        zip(addenda["trace_number"], addenda["payment_related_information"], strict=True)
    )
    assert got["addenda_sequence_number"].to_list() == [1, 2, 3, 1, 2, 3]


BANKS = [
    ("BANK OF FRANCE", "02", "BDFEFRPP", "FR"),
    ("DEUTSCHE EXAMPLE BANK AG FRANKFURT", "03", "DE89370400440532013000", "DE"),
    ("NATIONAL CLEARING BANK", "01", "021000021", "US"),
    ("BANK FOUR", "02", "NWBKGB2LXXX", "GB"),
    ("BANK FIVE", "01", "A1", "JP"),
]


def five_banks(count: int = 5) -> dict[str, str]:
    return {k: v for n, b in enumerate(BANKS[:count], 1) for k, v in bank(n, *b).items()}


def test_correspondent_banks_follow_the_17s_and_reread_to_the_input() -> None:
    rows = [
        iat(reference="FIVE", paymentRelatedInformation="P" * 150, **five_banks()),
        iat(reference="ONE", **five_banks(1)),
        iat(reference="NONE", **dict.fromkeys(five_banks())),
    ]
    result = build(*rows)
    assert result.rejected.height == 0
    (built,) = result.files
    assert nacha.validate(nacha.read(built.content)).height == 0  # not even a warning
    f = nacha.read(built.content)
    entries = f.entries.join(result.entries.select("trace_number", "reference"), on="trace_number")
    assert reread_banks(f.addenda, entries) == {
        "FIVE": BANKS,
        "ONE": BANKS[:1],
        "NONE": [],
    }
    lines = built.content.decode().splitlines()
    five = [line for line in lines if line.startswith("718")][:5]
    assert five[1] == (  # positions per nacha-format.md §7.4
        "718" + "DEUTSCHE EXAMPLE BANK AG FRANKFURT".ljust(35) + "03"
        + "DE89370400440532013000".ljust(34) + "DE ".ljust(3) + " " * 6 + "0002"
        + entries.filter(pl.col("reference") == "FIVE")["trace_number"][0][-7:]
    )  # fmt: skip
    counts = dict(entries.select("reference", "number_of_addenda_records").iter_rows())
    assert counts == {"FIVE": 7 + 2 + 5, "ONE": 7 + 1, "NONE": 7}
    assert all(line[78] == "1" for line in lines if line.startswith("6"))
    # batch and file counts cover every record; the block count every line
    batch_control = next(line for line in lines if line.startswith("8"))
    assert int(batch_control[4:10]) == 3 + 14 + 8 + 7
    file_control = next(line for line in lines if line.startswith("9"))
    assert int(file_control[13:21]) == 3 + 14 + 8 + 7
    assert int(file_control[7:13]) == len(lines) // 10 and len(lines) % 10 == 0
    five_index = entries.filter(pl.col("reference") == "FIVE")["entry_index"][0]
    mine = f.addenda.filter(pl.col("entry_index") == five_index)
    assert mine["addenda_type_code"].to_list()[7:] == ["17", "17", *["18"] * 5]
    assert mine["addenda_sequence_number"].to_list()[7:] == [1, 2, 1, 2, 3, 4, 5]


def test_bad_correspondent_banks_are_rejected_with_reasons() -> None:
    six = {**five_banks(), **bank(6, *BANKS[0])}
    rows = [
        iat(reference="OK1", **five_banks(2)),
        iat(reference="SIX", **six),
        iat(reference="QUAL", **bank(1, "BANK", "04", "123", "FR")),
        iat(reference="COUNTRY", **bank(1, "BANK", "01", "123", "XX")),
        iat(reference="LOWER", **bank(1, "BANK", "01", "123", "fr")),
        iat(reference="LONG", **bank(1, "B" * 36, "01", "123", "FR")),
        iat(reference="BIC", **bank(1, "BANK", "02", "BDFE", "FR")),
        iat(reference="IDLONG", **bank(1, "BANK", "01", "1" * 35, "FR")),
        iat(reference="PART", correspondentBank1Name="BANK", correspondentBank1IdQualifier="01"),
        iat(reference="GAP", **bank(2, *BANKS[0])),
        iat(reference="ZEROS", **bank(1, "000", "01", "1", "FR")),
        iat(reference="NONASCII", **bank(1, "BANQUE DE FRANCÉ", "01", "1", "FR")),
    ]
    result = build(*rows)
    reasons = dict(result.rejected.select("reference", "reason").iter_rows())
    assert set(reasons) == {r["reference"] for r in rows} - {"OK1"}
    assert reasons["SIX"] == (
        "correspondent bank 6 is set: an IAT entry carries at most 5 foreign correspondent "
        "banks (addenda 18)"
    )
    assert reasons["QUAL"] == (
        "correspondentBank1IdQualifier 04 is not 01 (national), 02 (BIC) or 03 (IBAN)"
    )
    assert reasons["COUNTRY"] == (
        "correspondentBank1BranchCountryCode XX is not an ISO 3166 country code"
    )
    assert "correspondentBank1BranchCountryCode fr is not" in reasons["LOWER"]
    assert reasons["LONG"] == "correspondentBank1Name longer than 35 characters"
    assert reasons["BIC"] == (
        "correspondentBank1Identification must be an 8 or 11 character BIC for "
        "correspondentBank1IdQualifier 02"
    )
    assert "correspondentBank1Identification longer than 34 characters" in reasons["IDLONG"]
    assert reasons["PART"] == (
        "correspondentBank1Identification is required (correspondent bank 1 has other fields "
        "set); correspondentBank1BranchCountryCode is required (correspondent bank 1 has "
        "other fields set)"
    )
    assert reasons["GAP"] == (
        "correspondent bank 2 is set but bank 1 is empty: fill correspondentBank1, 2, … in order"
    )
    assert reasons["ZEROS"] == "correspondentBank1Name is blank or all zeros"
    assert reasons["NONASCII"] == "correspondentBank1Name must be printable ASCII"
    (built,) = result.files  # the good row still builds, alone, its banks untouched
    f = nacha.read(built.content)
    assert f.entries.height == 1
    assert reread_banks(f.addenda, f.entries.with_columns(reference=pl.lit("OK1"))) == {
        "OK1": BANKS[:2]
    }


def test_domestic_rows_may_not_carry_correspondent_banks() -> None:
    rows = [domestic(reference="D1", **bank(1, *BANKS[0])), domestic(reference="D2")]
    wide = {**rows[1], **bank(7, "X", "01", "1", "FR")}  # a seventh bank's columns too
    result = build(rows[0], wide)
    reasons = dict(result.rejected.select("reference", "reason").iter_rows())
    assert reasons == {
        "D1": "IAT field(s) correspondentBank1Name, correspondentBank1IdQualifier, "
        "correspondentBank1Identification, correspondentBank1BranchCountryCode set on a PPD row",
        "D2": "IAT field(s) correspondentBank7Name, correspondentBank7IdQualifier, "
        "correspondentBank7Identification, correspondentBank7BranchCountryCode set on a PPD row",
    }


def test_entries_with_correspondent_banks_are_never_split() -> None:
    """15-record entries (2 addenda 17, 5 addenda 18): batches and files are cut between
    entries, within the limits; an entry larger than a batch may hold is rejected."""
    big = {"paymentRelatedInformation": "P" * 160, **five_banks()}
    config = settings(limits=Limits(max_file_lines=40, max_batch_entries=30))
    rows = [iat(reference=f"I{i}", **big) for i in range(5)]
    result = build(*rows, settings=config)
    assert result.rejected.height == 0
    # two 15-record entries a batch (30), one batch a file: 2 + 2 + 30 = 34 lines, 40 padded
    assert [f.summary["entries"] for f in result.files] == [2, 2, 1]
    for built in result.files:
        assert errors(built.content).height == 0
        assert len(built.content.splitlines()) <= 40
        f = nacha.read(built.content)
        assert f.addenda.group_by("entry_index").len()["len"].to_list() == [14] * f.entries.height
    small = build(iat(reference="BIG", **big), iat(reference="OK", **five_banks(1)),
                  settings=settings(limits=Limits(max_batch_entries=14)))  # fmt: skip
    assert small.rejected.select("reference", "reason").rows() == [
        (
            "BIG",
            "the entry and its addenda are 15 records, more than a batch may hold "
            "(14: max_batch_entries, max_file_lines)",
        )
    ]
    assert small.entries["reference"].to_list() == ["OK"]


def test_validator_checks_iat_addenda_17_and_18_counts_and_sequence_numbers() -> None:
    (built,) = build(iat(reference="I1", **five_banks())).files
    lines = built.content.decode().splitlines()
    at = [i for i, line in enumerate(lines) if line.startswith("718")]
    renumbered = list(lines)
    renumbered[at[1]] = lines[at[1]][:83] + "0009" + lines[at[1]][87:]
    found = nacha.validate(nacha.read("\n".join(renumbered).encode() + b"\n"))
    # a warning: moov-io's corpus holds a valid file with two addenda 17 numbered 2, 2
    assert found.select("line", "rule", "severity").rows() == [
        (at[0] + 1, "addenda.iat_sequence_number", "warning")
    ]
    assert "addenda 18 sequence numbers are [1, 9, 3, 4, 5]" in found["message"][0]
    # a sixth addenda 18 (the entry and batch counts made to agree)
    sixth = lines[at[-1]][:83] + "0006" + lines[at[-1]][87:]
    six = [*lines[: at[-1] + 1], sixth, *lines[at[-1] + 1 :]]
    six[2] = six[2][:12] + "0013" + six[2][16:]  # number of addenda records, 7 + 6
    rules = set(errors("\n".join(six).encode() + b"\n")["rule"])
    assert "addenda.too_many" in rules
