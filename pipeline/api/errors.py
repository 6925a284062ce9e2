"""Errors of the connectFi ACH API client.

connectFi answers every failure with one envelope (``code``, ``subCode``, ``message``,
``context``, ``requestId``); each documented ``code`` becomes its own class so callers catch
what they care about (``except ReferenceExists``) and still read the context as data.

Tree::

    ExternalError (pipeline.errors)
    ├── PermanentError
    │   └── ConnectFiError                    the API refused the request (HTTP 4xx envelope)
    │       ├── Unauthorized                  401 unauthorized (bad credentials / token)
    │       ├── AchAttributes                 404 no ACH configuration for the client
    │       ├── RequestValidateError          400 JSON-schema failure (context.field/rule)
    │       ├── WrongAmount                   400 more than 2 decimals
    │       ├── CurrencyNotSupported          400
    │       ├── AchEffectiveEntryDate         400 cut-off passed for that effective date
    │       ├── AchVerify / AchValidate       400
    │       ├── ReferenceExists               400 duplicate reference (idempotency)
    │       ├── TransactionReference          400 reference used by another transaction
    │       ├── TransactionQuery              400 both ids and references given
    │       ├── TransactionNotFound           400
    │       ├── GreaterNumberOfRecords        400 numberOfRecords above 1000
    │       ├── GreaterMaximumNumberOfRecords 400
    │       ├── BadTimeFrameRequest           400 date range too wide
    │       └── ReturnRateNotFound            400 no return-rate data for that date yet
    │   └── ConnectFiProtocolError            the answer is not the documented envelope
    └── TransientError
        └── ConnectFiUnavailable              connection errors, timeouts, 429, 5xx after
                                              the bounded retries were spent

A code the table does not know still raises :class:`ConnectFiError` with its ``code`` set,
so a new server-side code never turns into an unhandled crash.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.errors import PermanentError, TransientError


class _EnvelopeMixin:
    """The documented error envelope, kept as attributes (never parsed back from a string)."""

    code: str | None
    sub_code: str | None
    api_message: str
    context: Mapping[str, Any]
    request_id: str | None
    http_status: int | None
    path: str | None

    def _set_envelope(
        self,
        *,
        code: str | None,
        sub_code: str | None,
        message: str,
        context: Mapping[str, Any] | None,
        request_id: str | None,
        http_status: int | None,
        path: str | None,
    ) -> str:
        self.code = code
        self.sub_code = sub_code
        self.api_message = message
        self.context = dict(context or {})
        self.request_id = request_id
        self.http_status = http_status
        self.path = path
        parts = [f"connectFi {path or ''}".rstrip() + ":"]
        if code:
            parts.append(code + (f"/{sub_code}" if sub_code else ""))
        parts.append(message or "(no message)")
        if self.context:
            shown = ", ".join(f"{k}={v}" for k, v in sorted(self.context.items()))
            parts.append(f"[{shown}]")
        if http_status is not None:
            parts.append(f"(HTTP {http_status}")
            parts[-1] += f", requestId {request_id})" if request_id else ")"
        elif request_id:
            parts.append(f"(requestId {request_id})")
        return " ".join(parts)


class ConnectFiError(_EnvelopeMixin, PermanentError):
    """connectFi refused the request; retrying the same request will not help."""

    def __init__(
        self,
        message: str = "",
        *,
        code: str | None = None,
        sub_code: str | None = None,
        context: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        http_status: int | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(
            self._set_envelope(
                code=code,
                sub_code=sub_code,
                message=message,
                context=context,
                request_id=request_id,
                http_status=http_status,
                path=path,
            )
        )


class ConnectFiProtocolError(ConnectFiError):
    """The answer is not the documented envelope (not JSON, code missing, bad money value)."""


class ConnectFiUnavailable(_EnvelopeMixin, TransientError):
    """connectFi could not be reached or kept failing (timeouts, resets, 429, 5xx)."""

    def __init__(
        self,
        message: str = "",
        *,
        code: str | None = None,
        sub_code: str | None = None,
        context: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        http_status: int | None = None,
        path: str | None = None,
        attempts: int = 1,
    ) -> None:
        self.attempts = attempts
        super().__init__(
            self._set_envelope(
                code=code,
                sub_code=sub_code,
                message=f"{message} after {attempts} attempt(s)",
                context=context,
                request_id=request_id,
                http_status=http_status,
                path=path,
            )
        )


class Unauthorized(ConnectFiError):
    """401 ``unauthorized``: wrong login/password, or a token the server no longer knows."""


class AchAttributes(ConnectFiError):
    """404 ``achAttributes``: the client has no ACH configuration."""


class RequestValidateError(ConnectFiError):
    """``requestValidateError``: the body failed the schema; see ``context['field']``."""


class WrongAmount(ConnectFiError):
    """``wrongAmount``: the amount has more than two decimals (or is not positive)."""


class CurrencyNotSupported(ConnectFiError):
    """``currencyNotSupported``: only USD."""


class AchEffectiveEntryDate(ConnectFiError):
    """``achEffectiveEntryDate``: the same-day or next-day cut-off has passed for that date."""


class AchVerify(ConnectFiError):
    """``achVerify``: ACH request validation error."""


class AchValidate(ConnectFiError):
    """``achValidate``: ACH files validation error."""


class ReferenceExists(ConnectFiError):
    """``referenceExists``: a transfer with this reference already exists (idempotency)."""


class TransactionReference(ConnectFiError):
    """``transactionReference``: the reference belongs to another transaction."""


class TransactionQuery(ConnectFiError):
    """``transactionQuery``: a query named both ``cFiTransactionIds`` and ``references``."""


class TransactionNotFound(ConnectFiError):
    """``transactionNotFound``."""


class GreaterNumberOfRecords(ConnectFiError):
    """``greaterNumberOfRecords``: more than ``context['maxNumberOfRecords']`` asked for."""


class GreaterMaximumNumberOfRecords(ConnectFiError):
    """``greaterMaximumNumberOfRecords``."""


class BadTimeFrameRequest(ConnectFiError):
    """``badTimeFrameRequest``: the date range is too wide."""


class ReturnRateNotFound(ConnectFiError):
    """``returnRateNotFound``: no return-rate data for that date yet; retry later."""


#: Documented error code -> class. A test checks every code the sandbox can emit is here.
ERROR_CLASSES: dict[str, type[ConnectFiError]] = {
    "unauthorized": Unauthorized,
    "achAttributes": AchAttributes,
    "requestValidateError": RequestValidateError,
    "wrongAmount": WrongAmount,
    "currencyNotSupported": CurrencyNotSupported,
    "achEffectiveEntryDate": AchEffectiveEntryDate,
    "achVerify": AchVerify,
    "achValidate": AchValidate,
    "referenceExists": ReferenceExists,
    "transactionReference": TransactionReference,
    "transactionQuery": TransactionQuery,
    "transactionNotFound": TransactionNotFound,
    "greaterNumberOfRecords": GreaterNumberOfRecords,
    "greaterMaximumNumberOfRecords": GreaterMaximumNumberOfRecords,
    "badTimeFrameRequest": BadTimeFrameRequest,
    "returnRateNotFound": ReturnRateNotFound,
}


def error_from_envelope(
    body: Mapping[str, Any], *, http_status: int, path: str, request_id: str | None = None
) -> ConnectFiError:
    """Build the typed error for one error envelope (unknown codes -> :class:`ConnectFiError`)."""
    code = body.get("code")
    code = str(code) if code is not None else None
    cls = ERROR_CLASSES.get(code or "", ConnectFiError)
    if code is None:
        cls = ConnectFiProtocolError
    context = body.get("context")
    sub_code = body.get("subCode")
    return cls(
        str(body.get("message") or ""),
        code=code,
        sub_code=str(sub_code) if sub_code is not None else None,
        context=context if isinstance(context, Mapping) else {},
        request_id=str(body.get("requestId") or request_id or "") or None,
        http_status=http_status,
        path=path,
    )
