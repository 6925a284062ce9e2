"""Reading connectFi's answers: the success/error envelope, Retry-After, token expiry.

Bodies are parsed with ``parse_float=Decimal`` so money never passes through binary floats.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from pipeline.api.errors import ConnectFiError, ConnectFiProtocolError, error_from_envelope


def opt(value: object) -> str | None:
    """An optional envelope field as a string."""
    return None if value is None else str(value)


def maybe_json(response: httpx.Response) -> dict[str, Any]:
    """The body of a failure answer if it is a JSON object (5xx pages often are not)."""
    try:
        parsed = json.loads(response.content, parse_float=Decimal)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def parse_envelope(
    response: httpx.Response, *, path: str, request_id: str | None
) -> dict[str, Any]:
    """The success envelope, or raise the typed error its error envelope stands for."""
    try:
        body = json.loads(response.content, parse_float=Decimal)
    except ValueError as exc:
        raise ConnectFiProtocolError(
            f"answer is not JSON: {response.text[:200]!r}",
            http_status=response.status_code,
            path=path,
            request_id=request_id,
        ) from exc
    if not isinstance(body, dict):
        raise ConnectFiProtocolError(
            "answer is not a JSON object", http_status=response.status_code, path=path
        )
    if response.status_code < 300 and body.get("code") == "0":
        return body
    if response.status_code < 300 and body.get("code") is None:
        raise ConnectFiProtocolError(
            "success status without code", http_status=response.status_code, path=path
        )
    error: ConnectFiError = error_from_envelope(
        body, http_status=response.status_code, path=path, request_id=request_id
    )
    raise error


def retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def parse_expiry(value: object, now: float) -> float:
    if not value:
        return now  # unknown lifetime: use the token once, renew next time
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise ConnectFiProtocolError(f"get-token: bad dtsExpireAt {value!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def as_list(data: object, path: str) -> list[Mapping[str, Any]]:
    if data is None:
        return []
    if not isinstance(data, list):
        kind = type(data).__name__
        raise ConnectFiProtocolError(f"expected a list in data, got {kind}", path=path)
    return data
