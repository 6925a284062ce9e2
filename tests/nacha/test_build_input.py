"""Input checking: every bad transfer comes back with its reference and a clear reason."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl
import pytest

from nacha.build import build_files
from nacha.build_input import BuildInputError, check_transfers
from tests.nacha.build_fixtures import NEXT, NOW, TODAY, frame, settings, transfer

GOOD = [
    transfer(reference="G1"),
    transfer(
        reference="G2", transactionType="Debit", companyEntryDescription="BILLING", amount="100.00"
    ),
    transfer(
        reference="G3",
        standardEntryClassCode="WEB",
        transactionType="Debit",
        paymentTypeCode="S",
        companyEntryDescription="PURCHASE",
        addenda="ORDER 42",
    ),
]

# (bad transfer, expected fragment of the reason) — the list plus the rest of §14.
BAD = {
    "check_digit": (transfer(reference="B1", routingNumber="123456789"), "valid check digit"),
    "three_decimals": (transfer(reference="B1", amount="12.345"), "more than 2 decimals"),
    "unknown_sec": (
        transfer(reference="B1", standardEntryClassCode="XYZ"),
        "unsupported standardEntryClassCode XYZ",
    ),
    "name_too_long_ctx": (
        transfer(
            reference="B1",
            standardEntryClassCode="CTX",
            companyEntryDescription="INVOICE",
            individualName="SEVENTEEN CHARSXX",
        ),
        "individualName longer than 16 characters for CTX",
    ),
    "name_too_long_cie": (
        transfer(
            reference="B1",
            standardEntryClassCode="CIE",
            companyEntryDescription="BILL PAY",
            individualName="SIXTEEN CHARS XX",
            identificationNumber="ACCT1",
        ),
        "individualName longer than 15 characters for CIE",
    ),
    "same_day_over_limit": (
        transfer(
            reference="B1",
            effectiveEntryDate=TODAY,
            amount="1000000.01",
            companyEntryDescription="BILLING",
        ),
        "over the Same Day ACH limit",
    ),
    "past_date": (transfer(reference="B1", effectiveEntryDate="2026-03-09"), "in the past"),
    "missing_addenda_zero_dollar_ccd": (
        transfer(
            reference="B1",
            standardEntryClassCode="CCD",
            amount="0.00",
            companyEntryDescription="REMIT",
        ),
        "zero-dollar remittance entry requires addenda",
    ),
    "missing_addenda_hcclaimpmt": (
        transfer(
            reference="B1", standardEntryClassCode="CCD", companyEntryDescription="HCCLAIMPMT"
        ),
        "HCCLAIMPMT is reserved",
    ),
    "non_banking_day": (
        transfer(reference="B1", effectiveEntryDate="2026-03-14"),
        "not a banking day (weekend)",
    ),
    "holiday": (
        transfer(reference="B1", effectiveEntryDate="2026-05-25"),
        "not a banking day (Memorial Day)",
    ),
    "after_same_day_cutoff_today": (
        transfer(reference="B1", effectiveEntryDate="2026-03-10"),
        None,
    ),
    "bad_date_text": (
        transfer(reference="B1", effectiveEntryDate="03/11/2026"),
        "not a YYYY-MM-DD",
    ),
    "zero_live_ppd": (transfer(reference="B1", amount="0"), "amount must be greater than 0"),
    "negative": (transfer(reference="B1", amount="-5.00"), "not a dollar amount"),
    "float_text": (transfer(reference="B1", amount="1e3"), "not a dollar amount"),
    "over_entry_max": (transfer(reference="B1", amount="100000000.00"), "exceeds $99,999,999.99"),
    "currency": (transfer(reference="B1", currency="EUR"), "currency must be USD"),
    "account_type": (transfer(reference="B1", accountType="Loan"), "accountType must be"),
    "direction": (transfer(reference="B1", transactionType="Push"), "Credit or Debit"),
    "tel_credit": (
        transfer(reference="B1", standardEntryClassCode="TEL", companyEntryDescription="REFUND"),
        "TEL does not allow credits",
    ),
    "cie_debit": (
        transfer(
            reference="B1",
            standardEntryClassCode="CIE",
            transactionType="Debit",
            companyEntryDescription="BILL",
            identificationNumber="X",
            individualName="A",
        ),
        "CIE does not allow debits",
    ),
    "web_debit_without_payment_type": (
        transfer(
            reference="B1",
            standardEntryClassCode="WEB",
            transactionType="Debit",
            companyEntryDescription="PURCHASE",
        ),
        "paymentTypeCode (R, S or ST) is required for WEB debits",
    ),
    "payment_type_on_ppd": (transfer(reference="B1", paymentTypeCode="S"), "does not apply to PPD"),
    "tel_addenda": (
        transfer(
            reference="B1",
            standardEntryClassCode="TEL",
            transactionType="Debit",
            companyEntryDescription="BILL",
            addenda="NOTE",
        ),
        "TEL entries carry no addenda",
    ),
    "addenda_too_long": (transfer(reference="B1", addenda="X" * 81), "addenda longer than 80"),
    # CTX carries up to 9,999 addenda of 80 characters; one character more is refused
    "ctx_addenda_too_long": (
        transfer(
            reference="B1",
            standardEntryClassCode="CTX",
            companyEntryDescription="INVOICE",
            individualName="GLOBEX CORP",
            addenda="ISA*00*" + "X" * (80 * 9999 - 6),
        ),
        "addenda longer than 799920 characters (9999 addenda records of 80) for CTX",
    ),
    # the printable-ASCII rule holds for every record of a long CTX text, not only the first
    "ctx_addenda_non_ascii": (
        transfer(
            reference="B1",
            standardEntryClassCode="CTX",
            companyEntryDescription="INVOICE",
            individualName="GLOBEX CORP",
            addenda="ISA*00*" + "X" * 200 + "Ü~",
        ),
        "addenda must be printable ASCII",
    ),
    "ctx_addenda_line_break": (
        transfer(
            reference="B1",
            standardEntryClassCode="CTX",
            companyEntryDescription="INVOICE",
            individualName="GLOBEX CORP",
            addenda="ISA*00*" + "X" * 100 + "~\nGS*RA",
        ),
        "addenda must be printable ASCII",
    ),
    # CCD keeps its one addenda 05: a CTX-sized text is refused, not split
    "ccd_addenda_longer_than_one_record": (
        transfer(
            reference="B1",
            standardEntryClassCode="CCD",
            companyEntryDescription="INVOICE",
            individualName="GLOBEX CORP",
            addenda="RMR*IV*" + "1" * 80,
        ),
        "addenda longer than 80 characters",
    ),
    "name_non_ascii": (transfer(reference="B1", individualName="JOSÉ"), "printable ASCII"),
    "name_blank": (transfer(reference="B1", individualName="   "), "individualName is blank"),
    "name_zeros": (transfer(reference="B1", individualName="000"), "blank or all zeros"),
    "description_zeros": (
        transfer(reference="B1", companyEntryDescription="0000"),
        "companyEntryDescription is blank or all zeros",
    ),
    "account_lowercase": (transfer(reference="B1", DFIAccountNumber="abc"), "DFIAccountNumber"),
    "account_too_long": (transfer(reference="B1", DFIAccountNumber="1" * 18), "DFIAccountNumber"),
    "description_too_long": (
        transfer(reference="B1", companyEntryDescription="PAYROLL 2026"),
        "longer than 10",
    ),
    "unknown_client": (transfer(reference="B1", clientCode="NOPE"), "unknown clientCode NOPE"),
    "reference_shape": (transfer(reference="B-1"), "1-32 letters and digits"),
    # letters and digits only, but too long: the length half of the same rule
    "reference_too_long": (transfer(reference="B" * 33), "1-32 letters and digits"),
    "name_control_character": (
        transfer(reference="B1", individualName="JANE\x01DOE"),
        "individualName must be printable ASCII",
    ),
    "identification_non_ascii": (
        transfer(reference="B1", identificationNumber="ID\u00e9"),
        "identificationNumber must be printable ASCII",
    ),
    "addenda_tab": (transfer(reference="B1", addenda="A\tB"), "addenda must be printable ASCII"),
    "account_empty": (transfer(reference="B1", DFIAccountNumber=""), "DFIAccountNumber"),
    "payroll_on_debit": (transfer(reference="B1", transactionType="Debit"), "PAYROLL is reserved"),
    "purchase_on_ppd": (
        transfer(reference="B1", transactionType="Debit", companyEntryDescription="PURCHASE"),
        "PURCHASE is reserved",
    ),
    "reversal_in_input": (
        transfer(reference="B1", companyEntryDescription="REVERSAL"),
        "REVERSAL is reserved",
    ),
    "retry_on_credit": (
        transfer(reference="B1", companyEntryDescription="RETRY PYMT"),
        "RETRY PYMT is reserved",
    ),
    "autoenroll": (transfer(reference="B1", companyEntryDescription="AUTOENROLL"), "ENR"),
    "acctverify_too_big": (
        transfer(reference="B1", companyEntryDescription="ACCTVERIFY", amount="1.00"),
        "ACCTVERIFY is reserved",
    ),
    "rck_description": (
        transfer(
            reference="B1",
            standardEntryClassCode="RCK",
            transactionType="Debit",
            companyEntryDescription="COLLECT",
            identificationNumber="1001",
        ),
        "RCK entries must use companyEntryDescription REDEPCHECK",
    ),
    "rck_over_limit": (
        transfer(
            reference="B1",
            standardEntryClassCode="RCK",
            transactionType="Debit",
            companyEntryDescription="REDEPCHECK",
            identificationNumber="1001",
            amount="2500.01",
        ),
        "over the $2,500.00 limit for RCK",
    ),
    "arc_without_check_serial": (
        transfer(
            reference="B1",
            standardEntryClassCode="ARC",
            transactionType="Debit",
            companyEntryDescription="CHECK PMT",
        ),
        "identificationNumber is required for ARC",
    ),
    "prenote_with_amount": (
        transfer(reference="B1", prenote="true"),
        "a prenote must have amount 0",
    ),
    "prenote_garbage": (transfer(reference="B1", prenote="maybe"), "prenote must be true or false"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_transfer_is_rejected_with_reason_and_nothing_else_changes(case: str) -> None:
    bad, fragment = BAD[case]
    s = settings()
    now = NOW.replace(hour=10) if case == "after_same_day_cutoff_today" else NOW
    clean = build_files(frame(*GOOD), s, now=now, file_id_modifiers="A")
    mixed = build_files(frame(GOOD[0], bad, *GOOD[1:]), s, now=now, file_id_modifiers="A")
    assert mixed.rejected.height == 1
    rejected = mixed.rejected.row(0, named=True)
    assert rejected["reference"] == bad["reference"]
    assert rejected["row"] == 2
    if fragment is not None:
        assert fragment in rejected["reason"], rejected["reason"]
    else:
        assert "too early" in rejected["reason"]
    assert [f.content for f in mixed.files] == [f.content for f in clean.files]
    assert mixed.entries.drop("row").equals(clean.entries.drop("row"))


def test_all_reasons_of_a_row_are_reported() -> None:
    bad = transfer(reference="B1", routingNumber="123456789", amount="1.234", currency="EUR")
    checked = check_transfers(frame(bad), settings(), now=NOW)
    reason = checked.rejected["reason"][0]
    for fragment in ("check digit", "more than 2 decimals", "currency must be USD"):
        assert fragment in reason


def test_duplicate_references_reject_every_copy() -> None:
    rows = [transfer(reference="D1"), transfer(reference="D1", amount="1.00"), transfer()]
    checked = check_transfers(frame(*rows), settings(), now=NOW)
    assert checked.rejected["row"].to_list() == [1, 2]
    assert set(checked.rejected["reason"]) == {"duplicate reference in this input"}
    assert checked.accepted["reference"].to_list() == ["T1"]


def test_amounts_are_exact_integer_cents() -> None:
    rows = [
        transfer(reference=f"A{i}", amount=a)
        for i, a in enumerate(["0.01", "12.3", "12", "99999999.99", "1000.10", "0.1"])
    ]
    checked = check_transfers(frame(*rows), settings(), now=NOW)
    assert checked.rejected.height == 0
    assert checked.accepted["amount_cents"].to_list() == [1, 1230, 1200, 9999999999, 100010, 10]
    assert checked.accepted["amount_cents"].dtype == pl.Int64


def test_decimal_amount_column_is_accepted_and_scale_does_not_matter() -> None:
    df = frame(transfer(reference="A1"), transfer(reference="A2")).with_columns(
        amount=pl.Series("amount", [Decimal("12.340"), Decimal("0.500")], dtype=pl.Decimal(12, 3))
    )
    checked = check_transfers(df, settings(), now=NOW)
    assert checked.accepted["amount_cents"].to_list() == [1234, 50]
    df = df.with_columns(
        amount=pl.Series("amount", [Decimal("12.345"), Decimal("1")], dtype=pl.Decimal(12, 3))
    )
    checked = check_transfers(df, settings(), now=NOW)
    assert checked.rejected["reference"].to_list() == ["A1"]


@pytest.mark.parametrize(
    ("column", "values", "message"),
    [
        ("amount", [12.34], "floats are inexact"),
        ("amount", [1234], "integers are ambiguous"),
        ("routingNumber", [21000021], "must be text"),
        ("DFIAccountNumber", [123], "must be text"),
    ],
)
def test_wrong_column_types_fail_the_whole_input(column: str, values: list, message: str) -> None:
    df = frame(transfer()).with_columns(pl.Series(column, values))
    with pytest.raises(BuildInputError, match=message):
        check_transfers(df, settings(), now=NOW)


def test_missing_and_unknown_columns() -> None:
    with pytest.raises(BuildInputError, match=r"required column.*amount"):
        check_transfers(frame(transfer()).drop("amount"), settings(), now=NOW)
    typo = frame(transfer()).rename({"addenda": "adenda"})
    with pytest.raises(BuildInputError, match=r"unknown transfer column.*adenda"):
        check_transfers(typo, settings(), now=NOW)
    ok = check_transfers(
        frame(transfer()).with_columns(ledger_id=pl.lit(7)),
        settings(),
        now=NOW,
        extra_columns="ignore",
    )
    assert ok.accepted.height == 1


def test_optional_columns_may_be_absent() -> None:
    minimal = frame(transfer()).drop(
        "clientCode", "identificationNumber", "paymentTypeCode", "addenda", "prenote"
    )
    checked = check_transfers(minimal, settings(), now=NOW)
    assert checked.rejected.height == 0
    assert checked.accepted["client_code"].to_list() == ["ACME"]  # the default company


def test_no_client_code_without_default_company_is_rejected() -> None:
    from tests.nacha.build_fixtures import GLOBEX

    s = settings(companies=(GLOBEX, GLOBEX.__class__("OTHER", "OTHER CO", "1111111111")))
    checked = check_transfers(frame(transfer(clientCode=None)), s, now=NOW)
    assert "clientCode is required" in checked.rejected["reason"][0]


def test_empty_effective_date_means_earliest_standard_date() -> None:
    checked = check_transfers(frame(transfer(effectiveEntryDate="")), settings(), now=NOW)
    row = checked.accepted.row(0, named=True)
    assert row["effective_entry_date"] == date(2026, 3, 11)
    assert row["date_action"] == "defaulted"
    assert row["requested_effective_date"] is None


def test_same_day_before_cutoff_is_accepted() -> None:
    checked = check_transfers(
        frame(transfer(effectiveEntryDate=TODAY, amount="1000000.00")), settings(), now=NOW
    )
    row = checked.accepted.row(0, named=True)
    assert (row["effective_entry_date"], row["same_day"]) == (date(2026, 3, 10), True)


def test_roll_policy_moves_dates_and_says_so() -> None:
    s = settings(effective_date_policy="roll")
    rows = [
        transfer(reference="R1", effectiveEntryDate="2026-03-09"),  # past -> floor
        transfer(reference="R2", effectiveEntryDate="2026-03-14"),  # Saturday -> Monday
        transfer(
            reference="R3",
            effectiveEntryDate=TODAY,
            amount="1500000.00",
            companyEntryDescription="BILLING",
        ),  # same day over limit -> floor
        transfer(reference="R4", effectiveEntryDate=NEXT),
    ]
    checked = check_transfers(frame(*rows), s, now=NOW)
    assert checked.rejected.height == 0
    got = checked.accepted.select("reference", "effective_entry_date", "date_action").rows()
    assert got == [
        ("R1", date(2026, 3, 11), "rolled"),
        ("R2", date(2026, 3, 16), "rolled"),
        ("R3", date(2026, 3, 11), "rolled"),
        ("R4", date(2026, 3, 11), None),
    ]
    preceding = check_transfers(
        frame(transfer(effectiveEntryDate="2026-03-14")),
        settings(effective_date_policy="roll", roll="preceding"),
        now=NOW,
    )
    assert preceding.accepted["effective_entry_date"].to_list() == [date(2026, 3, 13)]


def test_company_flags_require_payroll_and_purchase() -> None:
    from dataclasses import replace

    from tests.nacha.build_fixtures import ACME

    s = settings(companies=(replace(ACME, wages=True, ecommerce=True),))
    rows = [
        transfer(reference="W1", companyEntryDescription="BONUS"),
        transfer(
            reference="W2",
            standardEntryClassCode="WEB",
            transactionType="Debit",
            paymentTypeCode="S",
            companyEntryDescription="SUBSCR",
        ),
        transfer(reference="W3", companyEntryDescription="PAYROLL"),
    ]
    checked = check_transfers(frame(*rows), s, now=NOW)
    reasons = dict(checked.rejected.select("reference", "reason").rows())
    assert "must use companyEntryDescription PAYROLL" in reasons["W1"]
    assert "must use companyEntryDescription PURCHASE" in reasons["W2"]
    assert checked.accepted["reference"].to_list() == ["W3"]


def test_transaction_codes() -> None:
    rows = [
        transfer(reference="C1"),
        transfer(reference="C2", accountType="Savings"),
        transfer(reference="C3", transactionType="Debit", companyEntryDescription="BILL"),
        transfer(
            reference="C4",
            accountType="Savings",
            transactionType="Debit",
            companyEntryDescription="BILL",
        ),
        transfer(reference="C5", amount="0", prenote="true"),
        transfer(
            reference="C6",
            amount="0",
            prenote="TRUE",
            transactionType="Debit",
            accountType="Savings",
            companyEntryDescription="BILL",
        ),
        transfer(
            reference="C7",
            amount="0",
            standardEntryClassCode="CCD",
            companyEntryDescription="REMIT",
            addenda="RMR*IV*1**0\\",
        ),
    ]
    checked = check_transfers(frame(*rows), settings(), now=NOW)
    assert checked.rejected.height == 0, checked.rejected.to_dicts()
    codes = checked.accepted["transaction_code"].to_list()
    assert codes == ["22", "32", "27", "37", "23", "38", "24"]


@pytest.mark.parametrize("account", ["Checking", "Savings"])
@pytest.mark.parametrize("direction", ["Credit", "Debit"])
@pytest.mark.parametrize(("amount", "prenote", "kind"), [("5.00", "false", 2), ("0", "true", 3)])
def test_every_transaction_code(
    account: str, direction: str, amount: str, prenote: str, kind: int
) -> None:
    """Each (account, direction, live/prenote) picks its own code: 2x/3x + 2/3 or 7/8."""
    row = transfer(
        reference="T1",
        accountType=account,
        transactionType=direction,
        amount=amount,
        prenote=prenote,
        companyEntryDescription="BILL",
    )
    checked = check_transfers(frame(row), settings(), now=NOW)
    assert checked.rejected.height == 0, checked.rejected.to_dicts()
    digit = 2 if account == "Checking" else 3
    expected = f"{digit}{kind + (5 if direction == 'Debit' else 0)}"
    assert checked.accepted["transaction_code"].to_list() == [expected]


def test_zero_dollar_remittance_debit_codes() -> None:
    """CCD zero-dollar remittance debits take 29 (checking) and 39 (savings)."""
    rows = [
        transfer(
            reference=f"Z{i}",
            amount="0",
            standardEntryClassCode="CCD",
            transactionType="Debit",
            accountType=account,
            companyEntryDescription="REMIT",
            addenda="RMR*IV*1**0\\",
        )
        for i, account in enumerate(["Checking", "Savings"])
    ]
    checked = check_transfers(frame(*rows), settings(), now=NOW)
    assert checked.rejected.height == 0, checked.rejected.to_dicts()
    assert checked.accepted["transaction_code"].to_list() == ["29", "39"]


def test_one_bad_routing_among_good_ones_is_rejected_alone() -> None:
    """Routing validity is decided per distinct number; a bad one marks only its rows."""
    rows = [
        transfer(reference="R1"),
        transfer(reference="R2", routingNumber="123456789"),
        transfer(reference="R3"),
    ]
    checked = check_transfers(frame(*rows), settings(), now=NOW)
    assert checked.rejected["reference"].to_list() == ["R2"]
    assert checked.accepted["reference"].to_list() == ["R1", "R3"]


@pytest.mark.parametrize(
    ("amount", "fragment"),
    [
        ("12.", "not a dollar amount"),
        (".5", "not a dollar amount"),
        ("1,000.00", "not a dollar amount"),
        (" 12.00", "not a dollar amount"),
        ("12.340", "more than 2 decimals"),
        ("999999999999.99", "exceeds $99,999,999.99"),
        ("1234567890123.00", "not a dollar amount"),
    ],
)
def test_amount_text_edge_cases(amount: str, fragment: str) -> None:
    checked = check_transfers(frame(transfer(amount=amount)), settings(), now=NOW)
    assert checked.accepted.height == 0
    assert fragment in checked.rejected["reason"][0]


def test_leading_zeros_in_amounts_are_fine() -> None:
    checked = check_transfers(frame(transfer(amount="00012.30")), settings(), now=NOW)
    assert checked.accepted["amount_cents"].to_list() == [1230]


@pytest.mark.parametrize(
    "keys",
    [["a", None, "x", "b", "a"], ["a", "a"], [None, None], ["x", "x"], []],
)
def test_lookup_by_position_matches_a_left_join(keys: list[str | None]) -> None:
    from nacha.build_input import _attach

    table = pl.DataFrame({"k": ["b", None, "a"], "v": [2, 0, 1], "s": ["B", "N", "A"]})
    left = pl.DataFrame({"k": keys}, schema={"k": pl.String})
    joined = left.join(table, on="k", how="left", nulls_equal=True, maintain_order="left")
    assert _attach(left, table, on="k").equals(joined)
    no_null_key = table.drop_nulls("k")
    joined = left.join(no_null_key, on="k", how="left", maintain_order="left")
    assert _attach(left, no_null_key, on="k").equals(joined)


@pytest.mark.parametrize("blank", ["", "   "])
@pytest.mark.parametrize("mixed", [False, True])
def test_blank_dates_and_clients_whether_or_not_every_row_has_one(blank: str, mixed: bool) -> None:
    """A blank effectiveEntryDate is the earliest date and a blank clientCode means the
    default company, whether every row holds the same blank (judged once) or rows differ."""
    rows = [
        transfer(reference=f"B{i}", effectiveEntryDate=blank, clientCode=blank) for i in range(3)
    ]
    if mixed:
        rows.append(transfer(reference="M1", clientCode="GLOBEX"))
    checked = check_transfers(frame(*rows), settings(), now=NOW)
    assert checked.rejected.height == 0, checked.rejected.to_dicts()
    default = settings().default_company
    assert default is not None
    got = checked.accepted.select("client_code", "date_action").rows()
    expected = [(default.client_code, "defaulted")] * 3 + ([("GLOBEX", None)] if mixed else [])
    assert got == expected


@pytest.mark.parametrize(
    ("values", "blank"),
    [
        (["ID1", "ID2"], [False, False]),  # min/max prove no blank: the column as it is
        (["ID1", " ", ""], [False, True, True]),
        (["ID1", "\u00a0", "\t"], [False, True, True]),  # whitespace above and below ' '
        (["ID1", "!", "~"], [False, False, False]),
    ],
)
def test_blank_optional_texts_are_null_whatever_the_column_holds(
    values: list[str], blank: list[bool]
) -> None:
    from nacha.build_input import _normalise

    rows = [transfer(reference=f"R{i}", identificationNumber=v) for i, v in enumerate(values)]
    got = _normalise(frame(*rows), extra_columns="error")["identificationNumber"]
    assert got.is_null().to_list() == blank


@pytest.mark.parametrize(
    ("names", "refused"),
    [
        (["JANE", "1 CORP"], set()),  # every name sorts at or above "1": proven, no regex
        (["JANE", "0000"], {"R1"}),
        (["JANE", "  "], {"R1"}),
        (["JANE", "0 CORP"], set()),  # starts with 0 but is not all zeros
    ],
)
def test_blank_or_zero_names_whether_or_not_the_column_proves_none(
    names: list[str], refused: set[str]
) -> None:
    from nacha.build_reasons import column_facts

    rows = [transfer(reference=f"R{i}", individualName=n) for i, n in enumerate(names)]
    checked = check_transfers(frame(*rows), settings(), now=NOW)
    assert set(checked.rejected["reference"]) == refused
    facts = column_facts(frame(*rows).with_columns(addenda=pl.lit(None, pl.String)))
    assert facts.names_above_zero == (min(names) >= "1")
