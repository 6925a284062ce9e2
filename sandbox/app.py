"""The connectFi-style HTTP API (Starlette): documented endpoints plus ``/sandbox`` admin.

Every request first lets due events happen (so statuses are current for the sandbox clock),
then answers with the documented envelope: ``{"code": "0", "data": …, "requestId": …}`` or
the error envelope from :class:`sandbox.errors.ApiFailure`, with ``X-Request-Id`` mirrored
in a header. Admin endpoints (``/sandbox/...``, aliased under ``/__emulator/...``) move the
clock, inject faults (e.g. the next two ``/query`` calls answer 503), revoke tokens and
count requests so tests can assert on what reached the server.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.errors import ApiFailure, invalid
from sandbox.handlers import Handlers, ListPage

log = logging.getLogger("sandbox.app")
Handler = Callable[[dict[str, Any], str], Any]
_ECHOABLE = re.compile(r"^[\x21-\x7e](?:[\x20-\x7e]{0,30}[\x21-\x7e])?$")


def _json_response(body: dict[str, Any], status: int, request_id: str) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={"X-Request-Id": request_id})


def _fault_response(
    path: str, fault: tuple[int, float | None, bool], request_id: str, counts: Counter[str]
) -> JSONResponse:
    status, retry_after, _ = fault
    counts[path] += 1
    counts[f"{path} {status}"] += 1
    body = {
        "requestId": request_id,
        "code": "serviceUnavailable",
        "message": "Injected sandbox failure",
        "context": {},
    }
    resp = _json_response(body, status, request_id)
    if retry_after is not None:
        resp.headers["Retry-After"] = f"{retry_after:g}"
    return resp


def build_app(handlers: Handlers) -> Starlette:
    """The ASGI app over one :class:`Handlers` (which owns ledger, tokens and the ODFI)."""
    tokens = handlers.tokens
    faults = handlers.faults
    counts: Counter[str] = handlers.request_counts

    def endpoint(path: str, fn: Handler, *, auth: bool = True) -> Route:
        async def handle(request: Request) -> Response:
            raw = await request.body()
            request_id = uuid.uuid4().hex
            try:
                body = json.loads(raw or b"{}", parse_float=Decimal)
            except ValueError:
                body = None
            given = body.get("requestId") if isinstance(body, dict) else None
            if isinstance(given, str) and _ECHOABLE.match(given):
                request_id = given  # echoed in a header too: printable, no edge blanks
            fault = faults.take(path)
            if fault is not None and not fault[2]:
                return _fault_response(path, fault, request_id, counts)
            data: Any = None
            try:
                if body is None:
                    raise invalid("", "json", "Body must be JSON")
                login = tokens.login_for(request.headers.get("x-connectfi-token")) if auth else ""
                data = await run_in_threadpool(fn, body, login)
                payload = {"code": "0", "data": data, "requestId": request_id}
                status = 200
            except ApiFailure as failure:
                payload, status = failure.envelope(request_id), failure.http_status
            except Exception:  # a sandbox bug: answer like a server would, keep serving
                log.exception("unhandled error on %s", path)
                payload = {
                    "requestId": request_id,
                    "code": "internalError",
                    "message": "Internal sandbox error",
                    "context": {},
                }
                status = 500
            if fault is not None:  # the work is done, the answer is lost
                return _fault_response(path, fault, request_id, counts)
            counts[path] += 1
            counts[f"{path} {status}"] += 1
            if isinstance(data, ListPage) and status == 200:
                return Response(
                    data.envelope(request_id),
                    media_type="application/json",
                    headers={"X-Request-Id": request_id},
                )
            return _json_response(payload, status, request_id)

        return Route(path, handle, methods=["POST"])

    async def admin_clock(request: Request) -> Response:
        try:
            raw = await request.body() if request.method == "POST" else b""
            body = json.loads(raw or b"{}")
            result = await run_in_threadpool(handlers.admin_clock, body)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            return JSONResponse({"code": "badClockRequest", "message": str(exc)}, 400)
        return JSONResponse(result)

    async def admin_faults(request: Request) -> Response:
        try:
            body = json.loads(await request.body() or b"{}")
            if body.get("clear"):
                faults.clear()
            else:
                faults.add(
                    str(body["path"]),
                    int(body.get("status", 503)),
                    int(body.get("count", 1)),
                    body.get("retryAfter"),
                    after=bool(body.get("after", False)),
                )
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            return JSONResponse({"code": "badFaultRequest", "message": repr(exc)}, 400)
        return JSONResponse({"ok": True})

    async def admin_requests(request: Request) -> Response:
        if request.method == "DELETE":
            counts.clear()
        return JSONResponse({"counts": dict(counts), "tokensIssued": tokens.issued})

    async def admin_revoke(request: Request) -> Response:
        return JSONResponse({"revoked": tokens.revoke_all()})

    async def admin_transfers(request: Request) -> Response:
        return JSONResponse(await run_in_threadpool(handlers.admin_transfers))

    async def admin_poll(request: Request) -> Response:
        return JSONResponse(await run_in_threadpool(handlers.admin_poll))

    def admin_call(fn: Callable[[dict[str, Any]], Any]) -> Callable[[Request], Awaitable[Response]]:
        async def call(request: Request) -> Response:
            try:
                body = json.loads(await request.body() or b"{}")
                return JSONResponse(await run_in_threadpool(fn, body))
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                return JSONResponse({"code": "badAdminRequest", "message": str(exc)}, 400)

        return call

    admin: list[tuple[str, Callable[[Request], Awaitable[Response]], list[str]]] = [
        ("/clock", admin_clock, ["GET", "POST"]),
        ("/faults", admin_faults, ["POST"]),
        ("/requests", admin_requests, ["GET", "DELETE"]),
        ("/tokens/revoke", admin_revoke, ["POST"]),
        ("/transfers", admin_transfers, ["GET"]),
        ("/odfi/poll", admin_poll, ["POST"]),
        ("/inject", admin_call(handlers.admin_inject), ["POST"]),
        ("/status", admin_call(handlers.admin_status), ["POST"]),
    ]
    routes = [
        endpoint("/auth/get-token", handlers.get_token, auth=False),
        endpoint("/transfer-to/ach/create", handlers.create),
        endpoint("/transfer-to/ach/validate", handlers.validate),
        endpoint("/transfer-to/ach/query", handlers.query),
        endpoint("/transfer-to/ach/list", handlers.list_),
        endpoint("/transfer-to/ach/return-rates", handlers.return_rates),
    ]
    for prefix in ("/sandbox", "/__emulator"):
        routes += [Route(prefix + p, fn, methods=m) for p, fn, m in admin]
    return Starlette(routes=routes)
