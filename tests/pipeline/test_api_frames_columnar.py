"""The column-wise transfer frame equals the former row-by-row one, errors included."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from polars.testing import assert_frame_equal

from pipeline.api.errors import ConnectFiProtocolError
from pipeline.api.frames import transfers_frame, transfers_frame_rowwise


def _obj(i: int, **over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "cFiTransactionId": f"T{i}",
        "cFiAggregatorId": "AGG",
        "reference": f"R{i}",
        "clientCode": "ACME",
        "status": "Pending",
        "dtsCreatedAt": "2026-03-05T13:26:59.312Z",
        "dtsUpdatedAt": "2026-03-06T01:02:03.004Z",
        "effectiveEntryDate": "2026-03-06",
        "standardEntryClassCode": "PPD",
        "transactionType": "Debit",
        "accountType": "Checking",
        "individualName": "JANE DOE",
        "routingNumber": "011000015",
        "DFIAccountNumber": "123456789",
        "amount": Decimal("7.15"),
        "currency": "USD",
        "companyEntryDescription": "PAYMENT",
        "identificationNumber": f"ID{i}",
        "traceNumber": "011000010000001",
        "settlementDate": "2026-03-07",
        "nocCorrectedData": None,
    }
    base.update(over)
    return base


TRICKY = [
    _obj(0),
    _obj(1, dtsUpdatedAt=None),  # falls back to the creation time
    _obj(2, dtsCreatedAt="2026-03-05T13:26:59Z", dtsUpdatedAt=""),  # no fraction
    _obj(3, dtsCreatedAt="2026-03-05T13:26:59.123456+05:30"),  # another offset, microseconds
    _obj(4, dtsCreatedAt="2026-03-05T13:26:59"),  # naive: UTC
    _obj(5, dtsReturnedAt="2026-03-09T10:00:00.000Z", returnCode="R01", returnReason="NSF"),
    _obj(6, effectiveEntryDate="2026-03-06T00:00:00", settlementDate=""),
    _obj(7, effectiveEntryDate="20260306", settlementDate=None),  # fromisoformat's basic form
    _obj(8, amount=7),
    _obj(9, amount=Decimal("7.1")),
    _obj(10, amount=Decimal("7.150")),
    _obj(11, amount="0.10"),
    _obj(12, amount=Decimal("1E+2")),
    _obj(13, amount=Decimal("-5.00")),
    _obj(14, amount=" 12.5"),
    _obj(15, DFIAccountNumber="12"),
    _obj(16, DFIAccountNumber=None, individualName=None, reference=None),
    _obj(17, DFIAccountNumber=" 987654321 "),
    _obj(18, traceNumber=11000010000001, clientCode=42),  # non-strings become text
    _obj(19, nocCode="C01", nocCorrectedData="12345678901"),
    {"cFiTransactionId": 20, "amount": "3"},  # almost nothing known
]


def test_columnar_equals_rowwise() -> None:
    assert_frame_equal(transfers_frame(TRICKY), transfers_frame_rowwise(TRICKY), check_exact=True)
    assert_frame_equal(transfers_frame([]), transfers_frame_rowwise([]))
    assert_frame_equal(transfers_frame(iter(TRICKY[:2])), transfers_frame_rowwise(TRICKY[:2]))


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (_obj(1, amount=Decimal("7.155")), "whole number of cents"),
        (_obj(1, amount=None), "not a number"),
        (_obj(1, amount=True), "not a number"),
        (_obj(1, amount="seven"), "not a number"),
        (_obj(1, dtsCreatedAt="yesterday"), "bad timestamp"),
        (_obj(1, settlementDate="2026-13-45"), "bad date"),
        ({"reference": "no id"}, "not a transaction object"),
        ("not an object", "not a transaction object"),
    ],
)
def test_columnar_refuses_what_rowwise_refuses(bad: Any, message: str) -> None:
    objects = [_obj(0), bad]
    with pytest.raises(ConnectFiProtocolError, match=message):
        transfers_frame_rowwise(objects)
    with pytest.raises(ConnectFiProtocolError, match=message):
        transfers_frame(objects)
