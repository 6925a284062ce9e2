"""Property: any valid transfer set builds files the validator accepts and that re-read to
exactly the input (amounts, accounts, names, trace ↔ reference), with matching totals."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nacha
from nacha.build import build_files
from nacha.build_rules import CHECK_LAYOUTS, ENTRY_FIELD_COLUMNS, SEC_RULES
from tests.nacha.build_fixtures import NOW, addenda_texts, frame
from tests.nacha.build_fixtures import settings as build_settings

if not hasattr(nacha, "read") or not hasattr(nacha, "validate"):  # pragma: no cover
    pytest.skip("the NACHA core (read/validate) has not landed yet", allow_module_level=True)

ROUTINGS = ["021000021", "053207766", "011000015", "026009593", "121000248", "091000019"]
DATES = [None, "2026-03-10", "2026-03-11", "2026-03-12", "2026-03-16", "2026-04-01"]
#: Dates only the ``roll`` policy accepts, and where they land (Saturday, a past day).
ROLLED = {"2026-03-14": "260316", "2026-03-06": "260311"}
PRINTABLE = st.characters(min_codepoint=0x20, max_codepoint=0x7E)


def text(max_size: int) -> st.SearchStrategy[str]:
    """Printable ASCII, not blank, no trailing space (fixed-width fields are space-padded)."""
    return (
        st.text(PRINTABLE, min_size=1, max_size=max_size)
        .map(str.rstrip)
        .filter(lambda s: s.strip(" 0") != "")  # blank or all-zero names are refused
    )


@st.composite
def a_long_text(draw: st.DrawFn, records: int) -> str:
    """Printable ASCII that needs exactly ``records`` addenda records of 80 characters.
    A third of the characters are spaces, so records often end in spaces (which the
    reader drops from each field and the round trip must restore)."""
    size = draw(st.integers(80 * (records - 1) + 1, 80 * records))
    alphabet = st.just(" ") | st.sampled_from("*~\\0123456789ABCXYZ") | PRINTABLE
    body = draw(st.text(alphabet, min_size=size - 1, max_size=size - 1))
    return body + draw(st.sampled_from("~\\Z9"))  # no trailing space: the length is exact


@st.composite
def a_transfer(draw: st.DrawFn, n: int) -> dict[str, Any]:
    sec = draw(st.sampled_from(sorted(SEC_RULES)))
    rule = SEC_RULES[sec]
    directions = [d for d, ok in (("Credit", rule.credits), ("Debit", rule.debits)) if ok]
    direction = draw(st.sampled_from(directions))
    prenote = draw(st.booleans()) if draw(st.integers(0, 5)) == 0 else False
    date = draw(st.sampled_from(DATES + list(ROLLED)))
    limit = min(rule.max_amount_cents, 100_000_000 if date == "2026-03-10" else 9_999_999_999)
    cents = 0 if prenote else draw(st.integers(1, limit))
    if rule.required_description:  # RCK: REDEPCHECK, XCK: NO CHECK
        description = rule.required_description
    elif sec == "PPD" and direction == "Credit" and draw(st.booleans()):
        description = "PAYROLL"
    elif sec == "WEB" and direction == "Debit" and draw(st.booleans()):
        description = "PURCHASE"
    else:
        description = draw(st.sampled_from(["BILLING", "INVOICE", "SETTLE", "PAYMENT 2"]))
    payment_type = None
    if rule.payment_type == "debits" and direction == "Debit":
        payment_type = draw(st.sampled_from(["R", "S", "ST"]))
    elif rule.payment_type != "none":
        payment_type = draw(st.sampled_from([None, "R", "S", "ST"]))
    ident = draw(text(rule.id_max)) if rule.id_required or draw(st.booleans()) else None
    # XCK has no name field; ARC, BOC and POP names are optional
    name = None
    if rule.name_max and (rule.name_required or draw(st.booleans())):
        name = draw(text(rule.name_max))
    # POP terminal city/state, XCK process control / item research: required where they apply
    fields = dict.fromkeys(ENTRY_FIELD_COLUMNS)
    for field in rule.fields:
        value = st.from_regex(field.pattern, fullmatch=True) if field.pattern else text(field.width)
        fields[field.column] = draw(value)
    addenda = None
    if rule.max_addenda and draw(st.booleans()):
        # CTX: a text of several 80-character addenda records (20 at most, so that an entry
        # still fits the 30-line files drawn below); the others: one record
        records = draw(st.integers(1, min(rule.max_addenda, 20)))
        addenda = draw(text(80)) if records == 1 else draw(a_long_text(records))
    return {
        "reference": f"R{n}",
        "clientCode": draw(st.sampled_from(["ACME", "GLOBEX", None])),
        "effectiveEntryDate": date,
        "standardEntryClassCode": sec,
        "individualName": name,
        "routingNumber": draw(st.sampled_from(ROUTINGS)),
        "DFIAccountNumber": draw(st.from_regex(r"[0-9A-Z][0-9A-Z-]{0,16}", fullmatch=True)),
        "accountType": draw(st.sampled_from(["Checking", "Savings"])),
        "transactionType": direction,
        "amount": f"{cents // 100}.{cents % 100:02d}",
        "currency": "USD",
        "companyEntryDescription": description,
        "identificationNumber": ident,
        "paymentTypeCode": payment_type,
        "addenda": addenda,
        "prenote": "true" if prenote else None,
        **fields,
    }


@st.composite
def transfer_sets(draw: st.DrawFn) -> list[dict[str, Any]]:
    size = draw(st.integers(1, 25))
    return [draw(a_transfer(i)) for i in range(size)]


def reread(contents: list[bytes]) -> pl.DataFrame:
    """Every entry of every file with its batch fields and addenda text, by trace number."""
    parts = []
    for content in contents:
        f = nacha.read(content)
        assert nacha.is_valid(f), nacha.validate(f).to_dicts()
        # one row per entry: a CTX entry's addenda records joined back into its text
        addenda = addenda_texts(f.addenda)
        parts.append(
            f.entries.join(
                f.batches.select("batch_index", "sec_code", "company_entry_description",
                                 "effective_entry_date", "company_id"),
                on="batch_index",
            ).join(addenda, on="entry_index", how="left")
        )  # fmt: skip
    return pl.concat(parts, how="diagonal_relaxed")


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    rows=transfer_sets(),
    balanced=st.booleans(),
    mode=st.sampled_from(["mixed", "split"]),
    max_file_lines=st.sampled_from([30, 9_999_990]),
    policy=st.sampled_from(["reject", "roll"]),
)
def test_built_files_validate_and_reread_to_the_input(
    rows: list[dict[str, Any]], balanced: bool, mode: str, max_file_lines: int, policy: str
) -> None:
    from nacha.build_settings import Limits

    if balanced:
        mode = "mixed"
    s = build_settings(
        balanced=balanced,
        service_class_mode=mode,
        limits=Limits(max_file_lines=max_file_lines),
        effective_date_policy=policy,
    )
    result = build_files(frame(*rows), s, now=NOW, file_id_modifiers="ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    refused = {r["reference"] for r in rows if r["effectiveEntryDate"] in ROLLED}
    assert set(result.rejected["reference"]) == (refused if policy == "reject" else set())
    rows = [r for r in rows if policy == "roll" or r["reference"] not in refused]
    if not rows:
        assert result.files == ()
        return
    got = reread([f.content for f in result.files])
    mapping = result.entries.select("reference", "trace_number", "kind")
    got = got.join(mapping, on="trace_number", how="left")
    assert got.height == result.entries.height
    assert got["trace_number"].is_unique().all()
    transfers = got.filter(pl.col("kind") != "offset")
    assert sorted(transfers["reference"].to_list()) == sorted(r["reference"] for r in rows)
    by_ref = {row["reference"]: row for row in transfers.iter_rows(named=True)}
    for want in rows:
        row = by_ref[want["reference"]]
        whole, cents = want["amount"].split(".")
        assert row["amount"] == int(whole) * 100 + int(cents)
        assert row["dfi_account_number"] == want["DFIAccountNumber"]
        assert row["rdfi_id"] + row["check_digit"] == want["routingNumber"]
        assert row["individual_name"] == want["individualName"]
        rule = SEC_RULES[want["standardEntryClassCode"]]
        # ARC, BOC, RCK, POP, XCK: the identification is the check serial number (40-54)
        checks = rule.layout in CHECK_LAYOUTS
        ident = row["check_serial_number"] if checks else row["identification_number"]
        assert ident == want["identificationNumber"]
        for field in rule.fields:  # POP 49-52 / 53-54, XCK 55-60 / 61-76
            assert row[field.field] == want[field.column]
        assert (row["discretionary_data"] or None) == want["paymentTypeCode"]
        assert row["addenda"] == want["addenda"]
        # the CTX count field (55-58) says how many addenda 05 follow; other layouts have none
        if want["standardEntryClassCode"] == "CTX":
            assert row["number_of_addenda_records"] == -(-len(want["addenda"] or "") // 80)
        assert row["sec_code"] == want["standardEntryClassCode"]
        assert row["company_entry_description"] == want["companyEntryDescription"]
        credit = row["transaction_code"][1] in "1234"
        assert credit == (want["transactionType"] == "Credit")
        if want["effectiveEntryDate"] in ROLLED:
            assert row["effective_entry_date"] == ROLLED[want["effectiveEntryDate"]]
        elif want["effectiveEntryDate"]:
            assert row["effective_entry_date"] == want["effectiveEntryDate"][2:].replace("-", "")
        else:
            assert row["effective_entry_date"] == "260311"  # the earliest standard date
    debit = pl.col("transaction_code").str.slice(1, 1).cast(pl.Int32) >= 5
    in_debits = sum(
        int(r["amount"].replace(".", "")) for r in rows if r["transactionType"] == "Debit"
    )
    in_credits = sum(
        int(r["amount"].replace(".", "")) for r in rows if r["transactionType"] == "Credit"
    )
    assert transfers.filter(debit)["amount"].sum() == in_debits
    assert transfers.filter(~debit)["amount"].sum() == in_credits
    file_debits = file_credits = 0
    for built in result.files:
        control = nacha.read(built.content).file_control.row(0, named=True)
        file_debits += control["total_debit_entry_dollar_amount"]
        file_credits += control["total_credit_entry_dollar_amount"]
    assert file_debits == result.summary["debit_total_cents"]
    assert file_credits == result.summary["credit_total_cents"]
    if balanced:
        assert file_debits == file_credits
    else:
        assert (file_debits, file_credits) == (in_debits, in_credits)
