"""Client of BigCommerce's REST API for one store: v2 orders here, v3 catalog in
``workers.catalog``.

Every call carries ``X-Auth-Token``; the token never appears in a log line or an error.
Every call draws on the store's shared rate-limit budget when a Redis is given.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Mapping
from typing import Any

import requests
from redis import Redis

from config.errors import PermanentUpstreamError, RetryableUpstreamError
from config.model import Connection
from workers import metrics
from workers.http import CONNECT_TIMEOUT_SECONDS, response_text, shared_session
from workers.ratelimit import RateBudget

logger = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.bigcommerce.com"
READ_TIMEOUT_SECONDS = 30.0
PAGE_LIMIT = 250
MAX_RATE_LIMIT_WAITS = 5
BACKOFF_MIN_SECONDS = 1.0
MIN_RESET_WAIT_SECONDS = 0.1
BACKOFF_MAX_SECONDS = 60.0
# The longest 429 wait spent inside a request; a longer reset fails the attempt.
MAX_INLINE_WAIT_SECONDS = 60.0
SUB_RESOURCES = ("products", "shipping_addresses", "coupons")


class OrderNotFound(PermanentUpstreamError):
    """BigCommerce has no order with that id in this store."""


def api_url() -> str:
    """Return ``BIGCOMMERCE_API_URL`` or BigCommerce's production API."""
    return (os.environ.get("BIGCOMMERCE_API_URL") or DEFAULT_API_URL).rstrip("/")


class BigCommerceClient:
    """Orders API of one store; raises RetryableUpstreamError or
    PermanentUpstreamError by class of failure."""

    def __init__(
        self,
        connection: Connection,
        *,
        session: requests.Session | None = None,
        base_url: str | None = None,
        redis: Redis | None = None,
    ) -> None:
        """Without ``redis`` the client has no shared budget and only obeys 429s."""
        self.connection = connection
        self.redis = redis
        self.budget = RateBudget(redis, connection.store_hash) if redis else None
        self.session = session or shared_session()
        self.base_url = f"{base_url or api_url()}/stores/{connection.store_hash}"
        self._auth = {"X-Auth-Token": connection.credentials.access_token}
        self.calls = 0
        self._calls_lock = threading.Lock()

    def get_order(self, order_id: int) -> dict[str, Any]:
        """Return the order as BigCommerce stores it now; raises OrderNotFound."""
        response = self._get(f"/v2/orders/{order_id}")
        if response.status_code == 404:
            raise OrderNotFound(
                f"order {order_id} not found in BigCommerce", status=404
            )
        body = self._json(response)
        if not isinstance(body, dict):
            raise RetryableUpstreamError(
                f"order {order_id}: BigCommerce returned {type(body).__name__}, "
                "expected an object"
            )
        if body.get("id") != order_id:
            raise RetryableUpstreamError(
                f"order {order_id}: BigCommerce returned an order with id "
                f"{body.get('id')!r}; not processed"
            )
        return body

    def list_order_resource(self, order_id: int, resource: str) -> list[dict[str, Any]]:
        """Return every item of an order's sub-resource, all pages."""
        return self.list_pages(f"/v2/orders/{order_id}/{resource}")

    def list_pages(
        self, path: str, params: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Fetch pages until one is short or empty (a 204 is an empty page)."""
        items: list[dict[str, Any]] = []
        page = 1
        while True:
            page_params = {**(params or {}), "page": page, "limit": PAGE_LIMIT}
            batch = self.get_page(path, page_params)
            items.extend(batch)
            if len(batch) < PAGE_LIMIT:
                return items
            page += 1

    def get_page(self, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Fetch one page of a list; 204 or an empty body is an empty page."""
        batch = self._json(self._get(path, params))
        if not isinstance(batch, list):
            raise RetryableUpstreamError(
                f"GET {path}: BigCommerce returned {type(batch).__name__}, "
                "expected a list"
            )
        return batch

    def _get(
        self, path: str, params: dict[str, Any] | None = None
    ) -> requests.Response:
        """GET with waits on 429; raises by class on 5xx, 401/403 and network errors."""
        response = self.send("GET", path, params=params)
        self._raise_for_status(f"GET {path}", response)
        return response

    def send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
    ) -> requests.Response:
        """Send one request within the budget, waiting and resending on 429.

        Returns the first response that is not a 429, whatever its status. Raises
        RetryableUpstreamError on a network error or when the store still returns
        429 after MAX_RATE_LIMIT_WAITS waits.
        """
        for attempt in range(MAX_RATE_LIMIT_WAITS + 1):
            response, wait = self._send_within_budget(
                method, path, params, json, attempt
            )
            if response.status_code != 429:
                return response
            if attempt == MAX_RATE_LIMIT_WAITS:
                break
            if wait > MAX_INLINE_WAIT_SECONDS:
                # Sleeping longer could outlast the job's timeout. The budget already
                # keeps every worker waiting, and the job's retry comes later.
                raise RetryableUpstreamError(
                    f"{method} {path}: BigCommerce rate limit resets in {wait:.0f} s; "
                    "retrying later",
                    status=429,
                )
            logger.warning(
                "BigCommerce returned 429 for %s %s (connection=%s); waiting %.1f s",
                method,
                path,
                self.connection.name,
                wait,
            )
            time.sleep(wait)
        raise RetryableUpstreamError(
            f"{method} {path}: BigCommerce rate limit still exceeded after "
            f"{MAX_RATE_LIMIT_WAITS} waits",
            status=429,
        )

    def _send_within_budget(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None,
        json: Any,
        attempt: int,
    ) -> tuple[requests.Response, float]:
        """Send one request once the shared budget allows it, and report the response.

        Returns the response and, for a 429, the seconds to wait before the retry;
        every worker of the store waits that long, not only this one.
        """
        if self.budget is None:
            response = self._counted_send(method, path, params, json)
        else:
            request_id = self.budget.acquire()
            try:
                response = self._counted_send(method, path, params, json)
            except Exception:
                self.budget.observe(request_id, None)
                raise
        wait = (
            rate_limit_wait(response, attempt) if response.status_code == 429 else 0.0
        )
        if self.budget is not None:
            self.budget.observe(request_id, response.headers, blocked_seconds=wait)
        return response, wait

    def _counted_send(
        self, method: str, path: str, params: dict[str, Any] | None, json: Any
    ) -> requests.Response:
        """Send one request and count it, by status, in the metrics."""
        labels = {"connection": self.connection.name, "method": method}
        try:
            response = self._send(method, path, params, json)
        except RetryableUpstreamError:
            metrics.count(
                self.redis, "bigcommerce_requests", {**labels, "status": "error"}
            )
            raise
        status = response.status_code
        metrics.count(self.redis, "bigcommerce_requests", {**labels, "status": status})
        if status == 429:
            labels = {"connection": self.connection.name}
            metrics.count(self.redis, "bigcommerce_rate_limited", labels)
        return response

    def _send(
        self, method: str, path: str, params: dict[str, Any] | None, json: Any
    ) -> requests.Response:
        with self._calls_lock:  # sub-resources are fetched from several threads
            self.calls += 1
        try:
            return self.session.request(
                method,
                self.base_url + path,
                params=params,
                json=json,
                headers=self._auth,
                timeout=(CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS),
            )
        except requests.RequestException as exc:
            raise RetryableUpstreamError(
                f"{method} {path}: BigCommerce unreachable: {type(exc).__name__}"
            ) from None

    def error_detail(self, response: requests.Response) -> str:
        """Return the start of an error body with the access token masked."""
        return response_text(
            response, secrets=(self.connection.credentials.access_token,)
        )

    def _raise_for_status(self, request: str, response: requests.Response) -> None:
        status = response.status_code
        if status < 400 or status == 404:
            return
        detail = self.error_detail(response)
        message = f"{request}: BigCommerce returned HTTP {status}: {detail}"
        if status in (408,) or status >= 500:
            raise RetryableUpstreamError(message, status=status, detail=detail)
        raise PermanentUpstreamError(message, status=status, detail=detail)

    @staticmethod
    def _json(response: requests.Response) -> Any:
        """Decode a body; 204 and an empty body mean an empty list."""
        # BigCommerce returns 204 with no body for an empty page or an order
        # without coupons, so .json() must not be called then.
        if response.status_code == 204 or not response.content:
            return []
        try:
            return response.json()
        except ValueError:
            raise RetryableUpstreamError(
                f"BigCommerce returned invalid JSON (HTTP {response.status_code})"
            ) from None


def rate_limit_wait(response: requests.Response, attempt: int) -> float:
    """Return the seconds to wait after a 429.

    BigCommerce's ``X-Rate-Limit-Time-Reset-Ms`` when it is present and valid,
    otherwise capped exponential backoff with full jitter (1 s to 60 s).
    """
    reset_ms = response.headers.get("X-Rate-Limit-Time-Reset-Ms", "")
    try:
        wait = float(reset_ms) / 1000.0
    except ValueError:
        wait = -1.0
    if wait == wait and 0 <= wait <= 3600:  # wait == wait is False only for NaN
        # A reset of 0 ms still gets a short wait: never retry in a tight loop.
        return max(wait, MIN_RESET_WAIT_SECONDS)
    ceiling = min(BACKOFF_MAX_SECONDS, BACKOFF_MIN_SECONDS * 2**attempt)
    return random.uniform(BACKOFF_MIN_SECONDS, max(BACKOFF_MIN_SECONDS, ceiling))


def total_pages(body: Mapping[str, Any]) -> int:
    """Return a v3 list's ``meta.pagination.total_pages``, or 1 when it is missing or
    invalid."""
    meta = body.get("meta")
    pagination = meta.get("pagination") if isinstance(meta, dict) else None
    total = pagination.get("total_pages") if isinstance(pagination, dict) else None
    return total if isinstance(total, int) and total > 0 else 1
