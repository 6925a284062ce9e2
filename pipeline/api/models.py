"""The one request object the client sends: a transfer to create or validate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from pipeline.api.frames import cents_to_amount


@dataclass(frozen=True, kw_only=True)
class TransferRequest:
    """One ACH entry for ``/transfer-to/ach/create`` or ``/validate``; money in integer cents.

    ``reference`` is our idempotency key (connectFi refuses a second create with it); the
    nightly run uses the ledger transfer id, which is also written to the NACHA entry's
    Identification Number so files, API and ledger join on it.
    """

    reference: str
    amount_cents: int
    effective_entry_date: date
    sec_code: str
    individual_name: str
    routing_number: str
    account_number: str
    account_type: Literal["Checking", "Savings"]
    transaction_type: Literal["Credit", "Debit"]
    company_entry_description: str
    currency: str = "USD"
    client_code: str | None = None
    identification_number: str | None = None
    payment_type_code: str | None = None
    addenda: str | None = None
    webhook_url: str | None = None

    def __post_init__(self) -> None:
        cents_to_amount(self.amount_cents)  # type and sign check, raises early

    def __repr__(self) -> str:  # never show the full account number
        return (
            f"TransferRequest(reference={self.reference!r}, amount_cents={self.amount_cents}, "
            f"effective_entry_date={self.effective_entry_date}, "
            f"transaction_type={self.transaction_type!r})"
        )

    def to_json(self) -> dict[str, Any]:
        """The documented body. ``amount`` is ``cents / 100`` as a float: division by 100 is
        correctly rounded and JSON prints the shortest repr that round-trips, so any amount up
        to the NACHA maximum (10 significant digits) goes out as its exact two-decimal text."""
        body: dict[str, Any] = {
            "reference": self.reference,
            "effectiveEntryDate": self.effective_entry_date.isoformat(),
            "standardEntryClassCode": self.sec_code,
            "individualName": self.individual_name,
            "routingNumber": self.routing_number,
            "DFIAccountNumber": self.account_number,
            "accountType": self.account_type,
            "transactionType": self.transaction_type,
            "amount": self.amount_cents / 100,
            "currency": self.currency,
            "companyEntryDescription": self.company_entry_description,
        }
        optional = {
            "clientCode": self.client_code,
            "identificationNumber": self.identification_number,
            "paymentTypeCode": self.payment_type_code,
            "addenda": self.addenda,
            "webhookUrl": self.webhook_url,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        return body
