"""NOC corrected data: every change code parsed into typed fields; malformed data is a
CorrectionError naming the code and the rule (returns-and-rates.md §4, nacha-format §7.3)."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from nacha.corrections import (
    CORRECTED_LAYOUTS,
    REFUSED_CODES,
    Correction,
    CorrectionError,
    parse_correction,
)
from nacha.errors import NachaError


def field(*parts: tuple[int, str]) -> str:
    """A 29-character corrected-data field with each value placed at its 1-based position."""
    text = [" "] * 29
    for start, value in parts:
        text[start - 1 : start - 1 + len(value)] = value
    return "".join(text)


VALID = [
    ("C01", field((1, "12345678901")), {"account_number": "12345678901"}),
    ("C02", field((1, "011000015")), {"routing_number": "011000015"}),
    (
        "C03",
        field((1, "011000015"), (13, "98765")),
        {"routing_number": "011000015", "account_number": "98765"},
    ),
    ("C04", field((1, "JANE Q PUBLIC")), {"individual_name": "JANE Q PUBLIC"}),
    ("C05", field((1, "32")), {"transaction_code": "32"}),
    (
        "C06",
        field((1, "4455667788"), (21, "37")),
        {"account_number": "4455667788", "transaction_code": "37"},
    ),
    (
        "C07",
        field((1, "011000015"), (10, "A1-2345"), (27, "22")),
        {"routing_number": "011000015", "account_number": "A1-2345", "transaction_code": "22"},
    ),
    (
        "C08",
        field((1, "DE89370400440532013000")),
        {"rdfi_identification": "DE89370400440532013000"},
    ),
    ("C09", field((1, "EMP-0042")), {"identification_number": "EMP-0042"}),
    ("C13", " " * 29, {}),
    ("C14", field((1, "IAT")), {"sec_code": "IAT"}),
]


@pytest.mark.parametrize(("code", "data", "expected"), VALID, ids=[v[0] for v in VALID])
def test_each_change_code_parses_into_typed_fields(code, data, expected):
    c = parse_correction(code, data)
    assert c.change_code == code and not c.refused
    got = {
        k: getattr(c, k)
        for k in (
            "account_number",
            "routing_number",
            "individual_name",
            "transaction_code",
            "rdfi_identification",
            "identification_number",
            "sec_code",
        )
        if getattr(c, k) is not None
    }
    assert got == expected


def test_every_change_code_of_the_table_is_covered():
    assert {v[0] for v in VALID} | {"C10", "C11", "C12"} == set(CORRECTED_LAYOUTS)


def test_transaction_code_gives_the_account_type():
    assert parse_correction("C05", "32").account_type == "savings"
    assert parse_correction("C06", field((1, "123"), (21, "27"))).account_type == "checking"
    assert parse_correction("C05", "42").account_type == "general_ledger"


def test_payee_fields_per_code():
    assert parse_correction("C07", field((1, "011000015"), (10, "9"), (27, "32"))).payee_fields == (
        "routing_number",
        "account_number",
        "account_type",
    )
    assert parse_correction("C13", "").payee_fields == ()
    assert parse_correction("C14", "IAT").payee_fields == ("required_sec_code",)


@pytest.mark.parametrize("code", sorted(REFUSED_CODES))
def test_refused_codes_are_informational(code):
    c = parse_correction(code, field((1, "12345")), original_change_code="C01")
    assert c.refused and c.payee_fields == () and c.original_change_code == "C01"


def test_loose_separators_fall_back_to_whitespace_split():
    # routing and account separated by one blank instead of three
    c = parse_correction("C03", "011000015 12345678")
    assert (c.routing_number, c.account_number) == ("011000015", "12345678")
    c = parse_correction("C06", "12345678 32")
    assert (c.account_number, c.transaction_code) == ("12345678", "32")


MALFORMED = [
    ("C01", " " * 29, "noc.blank"),
    ("C01", field((1, "1234 5678")), "noc.account_format"),
    ("C01", field((1, "12345678901234567"), (18, "99")), "noc.outside_layout"),
    ("C01", field((1, "123")) + "  77", "noc.too_long"),
    ("C02", field((1, "011000015"), (15, "X")), "noc.outside_layout"),
    ("C02", field((1, "011000016")), "noc.routing_check_digit"),
    ("C02", field((1, "01100001")), "noc.routing_format"),
    ("C02", field((1, "0110000AB")), "noc.routing_format"),
    ("C03", field((1, "011000015")), "noc.blank"),
    ("C03", field((1, "011000016"), (13, "123")), "noc.routing_check_digit"),
    ("C04", "", "noc.blank"),
    ("C05", field((1, "26")), "noc.transaction_code"),
    ("C05", field((1, "99")), "noc.transaction_code"),
    ("C06", field((1, "12345")), "noc.blank"),
    ("C06", field((1, "12345"), (21, "21")), "noc.transaction_code"),
    ("C07", field((1, "011000015"), (10, "123")), "noc.blank"),
    ("C07", field((1, "011000015"), (10, "12#45"), (27, "22")), "noc.account_format"),
    ("C08", "", "noc.blank"),
    ("C08", "X" * 35, "noc.too_long"),
    ("C09", field((1, "\x01BAD")), "noc.not_printable"),
    ("C14", field((1, "PPD")), "noc.sec_code"),
    ("C99", field((1, "X")), "noc.unknown_code"),
    ("", field((1, "X")), "noc.unknown_code"),
]


@pytest.mark.parametrize(("code", "data", "rule"), MALFORMED)
def test_malformed_corrected_data_is_a_clear_error(code, data, rule):
    with pytest.raises(CorrectionError) as info:
        parse_correction(code, data)
    err = info.value
    assert isinstance(err, NachaError)
    assert err.rule == rule
    assert f"[{rule}]" in str(err) and "NOC " in str(err)


def test_refused_noc_with_unknown_original_code():
    with pytest.raises(CorrectionError, match=r"noc\.refused_original_code"):
        parse_correction("C65", "", original_change_code="C77")


def test_errors_and_repr_never_show_the_account():
    c = parse_correction("C01", field((1, "123456789012")))
    assert "123456789012" not in repr(c) and "9012" in repr(c)
    with pytest.raises(CorrectionError) as info:
        parse_correction("C01", field((1, "1234 56789012")))
    assert "56789012" not in str(info.value)


def test_correction_is_frozen():
    c = parse_correction("C02", "011000015")
    assert isinstance(c, Correction)
    with pytest.raises(AttributeError):
        c.routing_number = "x"  # type: ignore[misc]


def test_loose_c07_is_split_on_whitespace():
    c = parse_correction("C07", "011000015 12345678 32")
    assert (c.routing_number, c.account_number, c.transaction_code) == (
        "011000015",
        "12345678",
        "32",
    )


def test_positional_c03_with_long_account():
    c = parse_correction("C03", field((1, "011000015"), (13, "12345678901234567")))
    assert c.account_number == "12345678901234567"


_CODES = sorted(CORRECTED_LAYOUTS) + sorted(REFUSED_CODES) + ["C00", "X1", ""]


@settings(max_examples=300, deadline=None)
@given(code=st.sampled_from(_CODES), data=st.text(max_size=40))
@example(code="", data="0" * 30)  # once reported as too long without naming the code
def test_arbitrary_corrected_data_parses_or_raises_only_correction_error(code, data):
    try:
        c = parse_correction(code, data)
    except CorrectionError as exc:
        assert exc.change_code and exc.rule.startswith("noc.")
        return
    if c.account_number is not None:
        assert c.account_number in data
        if code != "C07":  # C07 packs routing and account without a gap
            assert c.account_number in data.split()  # never a shortened word
    if c.routing_number is not None:
        assert len(c.routing_number) == 9 and c.routing_number.isdigit()
