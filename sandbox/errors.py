"""Errors the sandbox answers with (the documented connectFi error envelope)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nacha.errors import AchpipeError


class SandboxError(AchpipeError):
    """Root of the sandbox's own failures (bad scenario, unreadable key, port in use)."""


class ApiFailure(Exception):
    """One documented error answer: HTTP status + ``code``/``subCode``/``message``/``context``.

    Raised inside request handling and turned into the error envelope at one place (app.py).
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        http_status: int = 400,
        context: Mapping[str, Any] | None = None,
        sub_code: str | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.http_status = http_status
        self.context = dict(context or {})
        self.sub_code = sub_code

    def envelope(self, request_id: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "requestId": request_id,
            "code": self.code,
            "message": self.message,
            "context": self.context,
        }
        if self.sub_code:
            body["subCode"] = self.sub_code
        return body


def invalid(field: str, rule: str, message: str) -> ApiFailure:
    """A JSON-schema failure: ``requestValidateError`` with the field's JSON pointer."""
    return ApiFailure("requestValidateError", message, context={"field": field, "rule": rule})


#: Every code the sandbox can answer with (the client's test checks each maps to a class).
SANDBOX_ERROR_CODES = (
    "unauthorized",
    "achAttributes",
    "requestValidateError",
    "wrongAmount",
    "currencyNotSupported",
    "achEffectiveEntryDate",
    "achVerify",
    "achValidate",
    "referenceExists",
    "transactionReference",
    "transactionQuery",
    "transactionNotFound",
    "greaterNumberOfRecords",
    "greaterMaximumNumberOfRecords",
    "badTimeFrameRequest",
    "returnRateNotFound",
)
