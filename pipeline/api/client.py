"""A faithful, patient client for connectFi's ACH API.

One :class:`ConnectFiClient` holds one HTTP connection pool and one cached token. Every call
is a POST with a JSON body; success is ``code == "0"``, anything else becomes the typed error
of :mod:`pipeline.api.errors`. Only the outside world's hiccups are retried (connection
errors, timeouts, 429, 5xx) with bounded exponential backoff and jitter; a 4xx is an answer,
never retried. Creating is safe to retry because connectFi is idempotent on ``reference``:
when a retried create meets ``referenceExists`` the client fetches and returns the transfer
the first attempt made.
"""

from __future__ import annotations

import itertools
import json
import logging
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, Self

import httpx
import polars as pl

from pipeline.api.envelope import (
    as_list,
    maybe_json,
    opt,
    parse_envelope,
    parse_expiry,
    retry_after_seconds,
)
from pipeline.api.errors import (
    ConnectFiProtocolError,
    ConnectFiUnavailable,
    ReferenceExists,
    Unauthorized,
)
from pipeline.api.frames import TRANSFER_SCHEMA, return_rates_frame, transfers_frame
from pipeline.api.models import TransferRequest
from pipeline.api.settings import ApiSettings
from pipeline.errors import ConfigError

log = logging.getLogger("pipeline.api")

QUERY_CHUNK = 20
"""connectFi's limit of ids/references per ``/query`` (duplicates count)."""
LIST_PAGE_MAX = 1000
"""connectFi's ``numberOfRecords`` maximum for ``/list``."""
CONVERT_EVERY = 50_000
"""Listed objects converted to a frame at a time while the pages come in: the decoded dicts
of a million transfers (over 2 GB of Python objects) are never all alive at once, so their
memory is reused instead of grown, and each conversion runs over objects still in cache."""
LIST_MAX_SPAN_DAYS = 93
"""Widest ``dateCreateFrom..dateCreateTo`` sent in one ``/list`` series; wider ranges are
split (the documented ``badTimeFrameRequest`` limit is unpublished; 93 days is ours)."""

#: httpx transport failures that are worth retrying; anything else is a usage/config error.
RETRYABLE_TRANSPORT_ERRORS: tuple[type[httpx.TransportError], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    httpx.ProxyError,
)
#: httpx transport failures that will not heal by themselves (bad URL scheme, local misuse).
PERMANENT_TRANSPORT_ERRORS: tuple[type[httpx.TransportError], ...] = (
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
)


def _is_retryable_status(status: int) -> bool:
    return status == 429 or status >= 500


class ConnectFiClient:
    """connectFi ACH API calls returning polars frames (money in integer cents).

    ``sleep`` and ``rng`` are injectable so tests can observe backoff without waiting;
    ``stats`` counts requests, retries and token renewals for logs and tests.
    """

    def __init__(
        self,
        settings: ApiSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        t = settings.timeouts
        self._http = httpx.Client(
            base_url=settings.base_url,
            timeout=httpx.Timeout(connect=t.connect, read=t.read, write=t.write, pool=t.pool),
            verify=settings.verify_tls,
            transport=transport,
            headers={"Accept": "application/json", "User-Agent": "achpipe-connectfi/1"},
        )
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at = 0.0
        self.stats: Counter[str] = Counter()

    # -- lifecycle -------------------------------------------------------------------------
    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- public calls ----------------------------------------------------------------------
    def create_transfer(self, request: TransferRequest) -> pl.DataFrame:
        """Create one transfer; returns its one-row frame (status ``Initiated``).

        If a retried attempt meets ``referenceExists`` (the first attempt reached the server
        but its answer was lost), the existing transfer is returned when it matches.
        """
        sent: list[int] = []
        try:
            data = self.post("/transfer-to/ach/create", request.to_json(), _attempts=sent)
        except ReferenceExists:
            if len(sent) < 2:  # our first attempt met an older transfer: a real duplicate
                raise
            existing = self.query(references=[request.reference])
            if existing.height == 1 and existing["amount_cents"][0] == request.amount_cents:
                log.info("create %s: answer lost on a retry; found it", request.reference)
                return existing
            raise
        return transfers_frame([data])

    def validate_transfer(self, request: TransferRequest) -> pl.DataFrame:
        """Validate without storing (pre-flight); one-row frame with a mocked status."""
        return transfers_frame([self.post("/transfer-to/ach/validate", request.to_json())])

    def query(self, *, ids: Iterable[str] = (), references: Iterable[str] = ()) -> pl.DataFrame:
        """Status of any number of transfers by ``cFiTransactionId`` *or* ``reference``.

        Duplicates are dropped and the rest sent in requests of at most 20; unknown ids are
        simply absent from the result (connectFi skips them).
        """
        id_list = list(dict.fromkeys(ids))
        ref_list = list(dict.fromkeys(references))
        if id_list and ref_list:
            raise ValueError("query by ids or by references, not both (connectFi refuses it)")
        key, values = ("cFiTransactionIds", id_list) if id_list else ("references", ref_list)
        objects: list[Mapping[str, Any]] = []
        for start in range(0, len(values), QUERY_CHUNK):
            data = self.post("/transfer-to/ach/query", {key: values[start : start + QUERY_CHUNK]})
            objects.extend(as_list(data, "/transfer-to/ach/query"))
        return _dedupe(transfers_frame(objects))

    def list_transfers(
        self,
        *,
        created_from: date | None = None,
        created_to: date | None = None,
        status: str | None = None,
        reference: str | None = None,
        cfi_transaction_id: str | None = None,
        updated_from: datetime | None = None,
        updated_to: datetime | None = None,
        effective_from: date | None = None,
        effective_to: date | None = None,
        page_size: int | None = None,
    ) -> pl.DataFrame:
        """Every transfer matching the filters: all pages, date ranges split to fit the API.

        Offset paging over a list that grows at the front can show a record twice; the frame
        is de-duplicated on ``cfi_transaction_id`` (keeping the freshest copy).
        """
        size = page_size or self.settings.page_size
        if not 1 <= size <= LIST_PAGE_MAX:
            raise ValueError(f"page_size must be 1..{LIST_PAGE_MAX}")
        filters: dict[str, Any] = {
            "status": status,
            "reference": reference,
            "cFiTransactionId": cfi_transaction_id,
            "dtsUpdatedFrom": _iso_ts(updated_from),
            "dtsUpdatedTo": _iso_ts(updated_to),
            "effectiveEntryDateFrom": effective_from.isoformat() if effective_from else None,
            "effectiveEntryDateTo": effective_to.isoformat() if effective_to else None,
        }
        filters = {k: v for k, v in filters.items() if v is not None}
        frames: list[pl.DataFrame] = []
        pending: list[Mapping[str, Any]] = []  # decoded objects not converted yet
        deferred = False  # a batch did not convert: convert the rest at the end, as before
        for lo, hi in _date_windows(created_from, created_to):
            body = dict(filters)
            if lo is not None:
                body["dateCreateFrom"] = lo.isoformat()
            if hi is not None:
                body["dateCreateTo"] = hi.isoformat()
            pages = self._pages(body, size)
            while batch := list(itertools.islice(pages, CONVERT_EVERY)):
                pending.extend(batch)
                if deferred or len(pending) < CONVERT_EVERY:
                    continue
                try:
                    frames.append(transfers_frame(pending))
                except Exception:
                    # raised again by the final conversion below, after every page was read
                    # (a paging error still comes first, and the message is the same)
                    deferred = True
                else:
                    pending = []
        frames.append(transfers_frame(pending))
        return _dedupe(pl.concat(frames) if len(frames) > 1 else frames[0])

    def return_rates(self, day: date | None = None) -> pl.DataFrame:
        """Return-rate records: the one for ``day``, or all (newest ``maxDate`` first)."""
        body = {"date": day.isoformat()} if day else {}
        data = self.post("/transfer-to/ach/return-rates", body)
        return return_rates_frame(as_list(data, "/transfer-to/ach/return-rates"))

    # -- the wire --------------------------------------------------------------------------
    def post(
        self, path: str, body: Mapping[str, Any], *, _attempts: list[int] | None = None
    ) -> Any:
        """POST an authenticated call and return ``data`` of the success envelope.

        A 401 on a cached token renews it once and repeats the call (the server may have
        restarted or revoked it); a second 401 is raised.
        """
        token, fresh = self._current_token()
        try:
            return self._call(path, body, token=token, attempts=_attempts)["data"]
        except Unauthorized:
            if fresh:
                raise
            self._invalidate(token)
            token, _ = self._current_token()
            return self._call(path, body, token=token, attempts=_attempts)["data"]

    def _pages(self, filters: Mapping[str, Any], size: int) -> Iterator[Mapping[str, Any]]:
        skip = 0
        seen: set[str] = set()
        while True:
            page = {**filters, "numberOfRecords": size, "skipRecords": skip}
            records, more = self._call_list(page)
            # type(r) is dict first: the ABC check costs more than the rest of the line
            ids = {
                str(r.get("cFiTransactionId"))
                for r in records
                if type(r) is dict or isinstance(r, Mapping)
            }
            if more and records and ids <= seen:  # a server repeating itself: stop, loudly
                raise ConnectFiProtocolError(
                    f"list paging made no progress at skipRecords={skip}",
                    path="/transfer-to/ach/list",
                )
            seen |= ids
            yield from records
            if not more or not records:
                return
            skip += len(records)

    def _call_list(self, body: Mapping[str, Any]) -> tuple[list[Mapping[str, Any]], bool]:
        path = "/transfer-to/ach/list"
        token, fresh = self._current_token()
        try:
            envelope = self._call(path, body, token=token)
        except Unauthorized:
            if fresh:
                raise
            self._invalidate(token)
            envelope = self._call(path, body, token=self._current_token()[0])
        data = envelope.get("data")
        if isinstance(data, Mapping):  # nested form {"transactions": [...], "more": bool}
            return as_list(data.get("transactions"), path), bool(data.get("more"))
        return as_list(data, path), bool(envelope.get("more"))

    def _current_token(self) -> tuple[str, bool]:
        """The cached token, renewed shortly before it expires; (token, freshly issued)."""
        with self._lock:
            if self._token is not None and time.time() < self._renew_at:
                return self._token, False
            s = self.settings
            envelope = self._call(
                "/auth/get-token",
                {
                    "user": {"login": s.client_id, "password": s.client_secret.reveal()},
                    "requestId": uuid.uuid4().hex,
                },
                token=None,
            )
            data = envelope.get("data")
            if not isinstance(data, Mapping) or not data.get("token"):
                raise ConnectFiProtocolError("get-token answered without data.token")
            now = time.time()
            expires = parse_expiry(data.get("dtsExpireAt"), now)
            lifetime = max(0.0, expires - now)
            # Renew a margin before expiry, but never spend more than a fifth of a short token.
            self._renew_at = expires - min(s.token_refresh_margin, lifetime / 5)
            self._token = str(data["token"])
            self.stats["token_renewals"] += 1
            return self._token, True

    def _invalidate(self, token: str) -> None:
        with self._lock:
            if self._token == token:
                self._token = None

    def _call(
        self,
        path: str,
        body: Mapping[str, Any],
        *,
        token: str | None,
        attempts: list[int] | None = None,
    ) -> dict[str, Any]:
        """One logical call with bounded retries; returns the success envelope.

        ``attempts`` (if given) receives each attempt number, so a caller can tell whether
        the server may have seen the request more than once."""
        s = self.settings
        headers = {"x-connectfi-token": token} if token else {}
        payload = json.dumps(body, separators=(",", ":")).encode()
        last: ConnectFiUnavailable | None = None
        for attempt in range(1, s.max_attempts + 1):
            if attempt > 1:
                self.stats["retries"] += 1
            if attempts is not None:
                attempts.append(attempt)
            self.stats["requests"] += 1
            self.stats[f"requests:{path}"] += 1
            started = time.monotonic()
            try:
                response = self._http.post(
                    path,
                    content=payload,
                    headers={**headers, "Content-Type": "application/json"},
                )
            except PERMANENT_TRANSPORT_ERRORS as exc:
                raise ConfigError(f"api.base_url: cannot call {path}: {exc}") from exc
            except RETRYABLE_TRANSPORT_ERRORS as exc:
                last = ConnectFiUnavailable(
                    f"{type(exc).__name__}: {exc}", path=path, attempts=attempt
                )
                last.__cause__ = exc
                retry_after = None
            else:
                elapsed = time.monotonic() - started
                request_id = response.headers.get("x-request-id")
                log.debug(
                    "POST %s -> %s in %.3fs (requestId %s, attempt %d)",
                    path,
                    response.status_code,
                    elapsed,
                    request_id,
                    attempt,
                )
                if _is_retryable_status(response.status_code):
                    envelope = maybe_json(response)
                    ctx = envelope.get("context")
                    last = ConnectFiUnavailable(
                        str(envelope.get("message") or response.reason_phrase),
                        code=opt(envelope.get("code")),
                        sub_code=opt(envelope.get("subCode")),
                        context=ctx if isinstance(ctx, Mapping) else None,
                        request_id=opt(envelope.get("requestId")) or request_id,
                        http_status=response.status_code,
                        path=path,
                        attempts=attempt,
                    )
                    retry_after = retry_after_seconds(response)
                else:
                    return parse_envelope(response, path=path, request_id=request_id)
            if attempt < s.max_attempts:
                delay = self._backoff(attempt, retry_after)
                log.warning("POST %s failed (%s); retry %d in %.2fs", path, last, attempt, delay)
                self._sleep(delay)
        assert last is not None
        raise last

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        """Equal-jitter exponential backoff, bounded by ``backoff_max``; honours Retry-After
        up to the same bound."""
        s = self.settings
        cap = min(s.backoff_max, s.backoff_initial * 2 ** (attempt - 1))
        delay = cap / 2 + self._rng.uniform(0, cap / 2)
        if retry_after is not None:
            delay = max(delay, min(retry_after, s.backoff_max))
        return delay


# -- helpers ---------------------------------------------------------------------------------
def _iso_ts(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _date_windows(lo: date | None, hi: date | None) -> list[tuple[date | None, date | None]]:
    """Split [lo, hi] into inclusive windows of at most LIST_MAX_SPAN_DAYS days."""
    if lo is None or hi is None:
        return [(lo, hi)]
    if hi < lo:
        raise ValueError(f"created_to {hi} is before created_from {lo}")
    windows = []
    start = lo
    while start <= hi:
        end = min(hi, start + timedelta(days=LIST_MAX_SPAN_DAYS - 1))
        windows.append((start, end))
        start = end + timedelta(days=1)
    return windows


def _dedupe(frame: pl.DataFrame) -> pl.DataFrame:
    if frame.height == 0:
        return frame
    return frame.unique("cfi_transaction_id", keep="last", maintain_order=True).select(
        TRANSFER_SCHEMA.names()
    )
