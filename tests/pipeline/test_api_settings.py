"""``[api]`` settings and money conversion (no network)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from pipeline.api import ApiSettings, ConnectFiProtocolError, TransferRequest, amount_to_cents
from pipeline.api.frames import transfers_frame
from pipeline.errors import ConfigError

BASE = {"base_url": "https://cfi.example/", "client_id": "ACHPIPE", "client_secret": "pw"}


def test_defaults_and_secret_is_redacted():
    s = ApiSettings.from_mapping(BASE)
    assert s.base_url == "https://cfi.example"
    assert s.timeouts.connect == 5 and s.timeouts.read == 30
    assert s.max_attempts == 4
    assert "pw" not in repr(s)


def test_secret_from_env(monkeypatch):
    monkeypatch.setenv("CFI_PW", "from-env")
    s = ApiSettings.from_mapping({**BASE, "client_secret": "env:CFI_PW"})
    assert s.client_secret.reveal() == "from-env"


def test_timeouts_table_and_scalar():
    s = ApiSettings.from_mapping({**BASE, "timeouts": {"connect": 2, "read": 9}})
    assert (s.timeouts.connect, s.timeouts.read, s.timeouts.write) == (2, 9, 30)
    assert ApiSettings.from_mapping({**BASE, "timeout": 3}).timeouts.pool == 3


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"base_url": "ftp://x"}, "api.base_url"),
        ({"base_url": None}, "api.base_url"),
        ({"client_id": "bad-id!"}, "api.client_id"),
        ({"client_secret": "env:NOPE_NOT_SET_X"}, "api.client_secret"),
        ({"timeouts": {"connect": 0}}, "api.timeouts.connect"),
        ({"timeouts": {"bogus": 1}}, "api.timeouts.bogus"),
        ({"max_attempts": 0}, "api.max_attempts"),
        ({"max_attempts": True}, "api.max_attempts"),
        ({"backoff_initial": 5, "backoff_max": 1}, "api.backoff_max"),
        ({"page_size": 1001}, "api.page_size"),
        ({"colour": "blue"}, "api.colour"),
    ],
)
def test_bad_settings_name_the_key(change, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        ApiSettings.from_mapping({**BASE, **change})


@pytest.mark.parametrize(
    ("value", "cents"),
    [
        (Decimal("7.15"), 715),
        (Decimal("0.01"), 1),
        (3, 300),
        (Decimal("99999999.99"), 9999999999),
        (Decimal("1.20"), 120),
        ("0.29", 29),
    ],
)
def test_amount_to_cents_is_exact(value, cents):
    assert amount_to_cents(value) == cents


@pytest.mark.parametrize("value", [Decimal("1.225"), None, True, "abc"])
def test_amount_to_cents_refuses_sub_cent_and_junk(value):
    with pytest.raises(ConnectFiProtocolError):
        amount_to_cents(value)


def test_request_json_amount_is_exact_for_every_cent_pattern():
    for cents in [1, 10, 29, 57, 115, 1005, 123456789, 9999999999, 4503599627]:
        req = TransferRequest(
            reference="r",
            amount_cents=cents,
            effective_entry_date=date(2026, 3, 3),
            sec_code="WEB",
            individual_name="A",
            routing_number="053207766",
            account_number="1",
            account_type="Checking",
            transaction_type="Debit",
            company_entry_description="PAYMENT",
        )
        text = json.dumps(req.to_json())
        parsed = json.loads(text, parse_float=Decimal)["amount"]
        assert amount_to_cents(parsed) == cents


@pytest.mark.parametrize("cents", [0, -5])
def test_request_refuses_non_positive_cents(cents):
    with pytest.raises(ValueError):
        TransferRequest(
            reference="r",
            amount_cents=cents,
            effective_entry_date=date(2026, 3, 3),
            sec_code="WEB",
            individual_name="A",
            routing_number="053207766",
            account_number="1",
            account_type="Checking",
            transaction_type="Debit",
            company_entry_description="PAYMENT",
        )


def test_request_repr_hides_the_account():
    req = TransferRequest(
        reference="r",
        amount_cents=5,
        effective_entry_date=date(2026, 3, 3),
        sec_code="WEB",
        individual_name="A",
        routing_number="053207766",
        account_number="55512349876",
        account_type="Checking",
        transaction_type="Debit",
        company_entry_description="PAYMENT",
    )
    assert "55512349876" not in repr(req)


def test_request_refuses_float_money():
    with pytest.raises(TypeError):
        TransferRequest(
            reference="r",
            amount_cents=3.15,
            effective_entry_date=date(2026, 3, 3),  # type: ignore[arg-type]
            sec_code="WEB",
            individual_name="A",
            routing_number="053207766",
            account_number="1",
            account_type="Checking",
            transaction_type="Debit",
            company_entry_description="PAYMENT",
        )


def test_empty_frame_keeps_schema():
    frame = transfers_frame([])
    assert frame.height == 0 and "amount_cents" in frame.columns
