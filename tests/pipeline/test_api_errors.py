"""Every documented connectFi error code, provoked over HTTP, arrives as its typed error."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import httpx
import pytest

import pipeline.api as api
from pipeline.api import ApiSettings, ConnectFiClient, TransferRequest
from pipeline.api.client import PERMANENT_TRANSPORT_ERRORS, RETRYABLE_TRANSPORT_ERRORS
from pipeline.errors import EXIT_ERROR, PermanentError
from sandbox import SANDBOX_ERROR_CODES, ClientConfig, Scenario
from sandbox.ledger import Transfer

CREATE = "/transfer-to/ach/create"
QUERY = "/transfer-to/ach/query"
LIST = "/transfer-to/ach/list"


def body(ref: str = "e1", **changes: object) -> dict[str, object]:
    req = TransferRequest(
        reference=ref,
        amount_cents=1000,
        effective_entry_date=date(2026, 3, 3),
        sec_code="PPD",
        individual_name="Jane Roe",
        routing_number="053207766",
        account_number="987654321",
        account_type="Checking",
        transaction_type="Debit",
        company_entry_description="PAYROLL",
    )
    return {**req.to_json(), **changes}


def _file_transfer(sb) -> None:
    sb.sandbox.ledger.add(
        Transfer(
            cfi_id="ACHPIPE_file1",
            aggregator="ACHPIPE",
            reference="fromfile1",
            source="file",
            created_at=datetime(2026, 3, 2, 13, tzinfo=UTC),
            effective_date=date(2026, 3, 3),
            sec="PPD",
            transaction_type="Debit",
            account_type="Checking",
            individual_name="X",
            routing="053207766",
            account="1",
            amount_cents=100,
            description="PAYROLL",
            status="Complete",
        )
    )


# code -> (provoke(client, sandbox), expected class, expected context subset)
CASES: dict[str, tuple[Callable, type, dict]] = {
    "requestValidateError": (
        lambda c, sb: c.post(CREATE, body(accountType="Brokerage")),
        api.RequestValidateError,
        {"field": "/accountType", "rule": "enum"},
    ),
    "wrongAmount": (
        lambda c, sb: c.post(CREATE, body(amount=1.225)),
        api.WrongAmount,
        {"amount": "1.225"},
    ),
    "currencyNotSupported": (
        lambda c, sb: c.post(CREATE, body(currency="EUR")),
        api.CurrencyNotSupported,
        {"supportedCurrency": "USD"},
    ),
    "achEffectiveEntryDate": (
        lambda c, sb: c.post(CREATE, body(effectiveEntryDate="2026-02-27")),
        api.AchEffectiveEntryDate,
        {"effectiveEntryDate": "2026-02-27"},
    ),
    "achVerify": (
        lambda c, sb: c.post(CREATE, body(standardEntryClassCode="TEL", transactionType="Credit")),
        api.AchVerify,
        {"rule": "telDebitOnly"},
    ),
    "achValidate": (
        lambda c, sb: c.post(CREATE, body(individualName="Zoë Roe")),
        api.AchValidate,
        {"field": "/individualName"},
    ),
    "referenceExists": (
        lambda c, sb: [c.post(CREATE, body("dup1")), c.post(CREATE, body("dup1"))],
        api.ReferenceExists,
        {"reference": "dup1"},
    ),
    "transactionReference": (
        lambda c, sb: [_file_transfer(sb), c.post(CREATE, body("fromfile1"))],
        api.TransactionReference,
        {"reference": "fromfile1", "status": "Complete"},
    ),
    "transactionQuery": (
        lambda c, sb: c.post(QUERY, {"cFiTransactionIds": ["A_1"], "references": ["r1"]}),
        api.TransactionQuery,
        {},
    ),
    "transactionNotFound": (
        lambda c, sb: c.list_transfers(cfi_transaction_id="ACHPIPE_nope"),
        api.TransactionNotFound,
        {"cFiTransactionId": "ACHPIPE_nope"},
    ),
    "greaterNumberOfRecords": (
        lambda c, sb: c.post(LIST, {"numberOfRecords": 1001}),
        api.GreaterNumberOfRecords,
        {"maxNumberOfRecords": 1000},
    ),
    "greaterMaximumNumberOfRecords": (
        lambda c, sb: c.post(QUERY, {"references": [f"r{i}" for i in range(21)]}),
        api.GreaterMaximumNumberOfRecords,
        {"maxNumberOfRecords": 20},
    ),
    "badTimeFrameRequest": (
        lambda c, sb: c.post(LIST, {"dateCreateFrom": "2025-01-01", "dateCreateTo": "2026-01-01"}),
        api.BadTimeFrameRequest,
        {"maxDays": 93},
    ),
    "returnRateNotFound": (
        lambda c, sb: c.return_rates(date(2026, 3, 2)),
        api.ReturnRateNotFound,
        {"cFiAggregatorId": "ACHPIPE", "date": "2026-03-02"},
    ),
}


@pytest.mark.parametrize("code", sorted(CASES))
def test_documented_code_becomes_typed_error(code, sandbox_server):
    provoke, cls, context = CASES[code]
    settings = ApiSettings.from_mapping(sandbox_server.api_section())
    with ConnectFiClient(settings, sleep=lambda s: None) as client, pytest.raises(cls) as info:
        provoke(client, sandbox_server)
    err = info.value
    assert err.code == code
    assert err.http_status == 400
    assert err.request_id and len(err.request_id) == 32
    assert err.api_message
    assert context.items() <= err.context.items()
    assert isinstance(err, PermanentError) and err.exit_code == EXIT_ERROR
    assert code in str(err) and err.request_id in str(err)
    assert client.stats["retries"] == 0


def test_unauthorized_on_bad_password(sandbox_server):
    settings = ApiSettings.from_mapping(sandbox_server.api_section(client_secret="wrong"))
    with ConnectFiClient(settings) as client, pytest.raises(api.Unauthorized) as info:
        client.query(references=["r1"])
    assert info.value.code == "unauthorized" and info.value.http_status == 401
    assert sandbox_server.request_counts()["/auth/get-token"] == 1


def test_ach_attributes_when_client_has_no_ach(make_sandbox):
    sb = make_sandbox(scenario=Scenario(clients=(ClientConfig("NOACH", "pw", ach_enabled=False),)))
    settings = ApiSettings.from_mapping(sb.api_section())
    with ConnectFiClient(settings) as client, pytest.raises(api.AchAttributes) as info:
        client.post(CREATE, body())
    assert info.value.http_status == 404
    assert info.value.context == {"cFiAggregatorId": "NOACH"}


def test_every_code_the_sandbox_emits_has_a_class():
    assert set(SANDBOX_ERROR_CODES) == set(api.ERROR_CLASSES)
    assert set(CASES) | {"unauthorized", "achAttributes"} == set(SANDBOX_ERROR_CODES)


def test_unknown_code_is_still_a_connectfi_error():
    err = api.errors.error_from_envelope(
        {"code": "partnerBackOffice", "message": "boom", "requestId": "r"},
        http_status=400,
        path="/x",
    )
    assert type(err) is api.ConnectFiError and err.code == "partnerBackOffice"


def test_every_httpx_transport_error_is_classified():
    """Every upstream transport failure is either retried or reported as config (httpx habit)."""

    def leaves(cls: type) -> set[type]:
        subs = cls.__subclasses__()
        return {cls} if not subs else set().union(*(leaves(s) for s in subs))

    known = RETRYABLE_TRANSPORT_ERRORS + PERMANENT_TRANSPORT_ERRORS
    for cls in leaves(httpx.TransportError):
        assert issubclass(cls, known), cls


def test_public_names_are_exact():
    assert len(set(api.__all__)) == len(api.__all__)
    assert all(hasattr(api, name) for name in api.__all__)
    exported_errors = {n for n in api.__all__ if isinstance(getattr(api, n), type)}
    assert {cls.__name__ for cls in api.ERROR_CLASSES.values()} <= exported_errors
