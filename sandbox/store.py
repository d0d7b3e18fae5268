"""Thread-safe state of the BigCommerce stand-in: stores, orders, faults, requests."""

from __future__ import annotations

import collections
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sandbox.catalog import CatalogRegistry
from sandbox.dates import now_rfc2822
from sandbox.hooks import HookRegistry
from sandbox.orders import STATUS_LABELS, StoreOrder

DEFAULT_RATE_LIMIT_QUOTA = 150
DEFAULT_RATE_LIMIT_WINDOW_MS = 30_000


@dataclass(frozen=True)
class RequestRecord:
    """One request as the stand-in received it; ``time`` is the Unix epoch.

    ``body`` is the request body parsed as JSON whatever the Content-Type, or None
    when the request has no body or the body is not valid JSON.
    """

    method: str
    path: str
    query_string: str
    args: dict[str, list[str]]
    headers: dict[str, str]
    time: float
    body: Any = None

    @property
    def store_hash(self) -> str | None:
        """Store hash from a ``/stores/<hash>/...`` path, else None."""
        parts = self.path.split("/")
        if len(parts) > 2 and parts[1] == "stores":
            return parts[2]
        return None


@dataclass
class Fault:
    """A scripted response for the next ``remaining`` requests matching ``pattern``."""

    pattern: re.Pattern[str]
    status: int
    remaining: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    rate_limit_headers: bool = True
    method: str | None = None

    def matches(self, method: str, path: str) -> bool:
        """Return whether this fault applies to a request."""
        if self.method is not None and self.method != method.upper():
            return False
        return self.remaining > 0 and self.pattern.search(path) is not None


@dataclass(frozen=True)
class RateLimitState:
    """Values of the ``X-Rate-Limit-*`` headers for one response."""

    allowed: bool
    quota: int
    left: int
    window_ms: int
    reset_ms: int

    def headers(self) -> dict[str, str]:
        """Return the four BigCommerce rate-limit headers."""
        return {
            "X-Rate-Limit-Requests-Left": str(self.left),
            "X-Rate-Limit-Requests-Quota": str(self.quota),
            "X-Rate-Limit-Time-Reset-Ms": str(self.reset_ms),
            "X-Rate-Limit-Time-Window-Ms": str(self.window_ms),
        }


class FakeStore:
    """In-memory BigCommerce stores, each with an access token and orders.

    Every public method is safe to call from test threads while the stand-in
    serves requests. Reads return deep copies.
    """

    def __init__(
        self,
        *,
        rate_limit_quota: int = DEFAULT_RATE_LIMIT_QUOTA,
        rate_limit_window_ms: int = DEFAULT_RATE_LIMIT_WINDOW_MS,
        latency_ms: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate_limit_quota = rate_limit_quota
        self.rate_limit_window_ms = rate_limit_window_ms
        self.latency_ms = latency_ms
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[str, str] = {}
        self._orders: dict[str, dict[int, StoreOrder]] = {}
        self._faults: list[Fault] = []
        self._requests: list[RequestRecord] = []
        self._calls: dict[str, collections.deque[float]] = {}
        self.hook_registry = HookRegistry()
        self.catalog = CatalogRegistry()

    def add_store(self, store_hash: str, access_token: str) -> None:
        """Create a store (or replace its token) that accepts ``access_token``."""
        with self._lock:
            self._tokens[store_hash] = access_token
            self._orders.setdefault(store_hash, {})

    def is_valid_token(self, store_hash: str, token: str | None) -> bool:
        """Return whether ``token`` is the access token of an existing store."""
        with self._lock:
            expected = self._tokens.get(store_hash)
        return expected is not None and token == expected

    def add_order(self, store_hash: str, store_order: StoreOrder) -> None:
        """Store a copy of ``store_order``, replacing an order with the same id.

        Raises KeyError when the store was not created with add_store.
        """
        with self._lock:
            orders = self._store_orders(store_hash)
            orders[store_order.order_id] = store_order.copy()

    def update_order(
        self, store_hash: str, order_id: int, **fields: Any
    ) -> dict[str, Any]:
        """Change order fields and return the new order object.

        ``date_modified`` becomes the current time in RFC 2822 UTC unless
        ``fields`` sets it. A new ``status_id`` also sets ``status`` and
        ``custom_status`` to its default label. Raises KeyError for an unknown
        store or order and ValueError for a field the order does not have.
        """
        with self._lock:
            order = self._find_order(store_hash, order_id).order
            unknown = sorted(set(fields) - set(order))
            if unknown:
                raise ValueError(f"order {order_id} has no fields {unknown}")

            if "status_id" in fields and "status" not in fields:
                label = STATUS_LABELS.get(fields["status_id"], "")
                order["status"] = label
                order["custom_status"] = label
            order["date_modified"] = now_rfc2822()
            order.update(fields)
            return dict(order)

    def archive_order(self, store_hash: str, order_id: int) -> dict[str, Any]:
        """Mark an order archived (``is_deleted``) and return the new order object."""
        return self.update_order(store_hash, order_id, is_deleted=True)

    def get_order(self, store_hash: str, order_id: int) -> StoreOrder | None:
        """Return a copy of one order, or None when the store or order is unknown."""
        with self._lock:
            order = self._orders.get(store_hash, {}).get(order_id)
            return None if order is None else order.copy()

    def list_orders(self, store_hash: str) -> list[StoreOrder]:
        """Return copies of a store's orders by id; empty for an unknown store."""
        with self._lock:
            orders = self._orders.get(store_hash, {})
            return [orders[order_id].copy() for order_id in sorted(orders)]

    def hooks(self, store_hash: str) -> list[dict[str, Any]]:
        """Return copies of a store's webhook subscriptions by id."""
        return self.hook_registry.list_hooks(store_hash)

    def set_hook_active(
        self, store_hash: str, hook_id: int, active: bool
    ) -> dict[str, Any]:
        """Set a hook's ``is_active``, as BigCommerce does after failed deliveries."""
        return self.hook_registry.set_active(store_hash, hook_id, active)

    def inject_fault(
        self,
        path_regex: str,
        status: int,
        count: int = 1,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        *,
        method: str | None = None,
        rate_limit_headers: bool = True,
    ) -> None:
        """Respond with ``status`` to the next ``count`` requests whose path matches.

        ``path_regex`` is searched in the URL path (``/stores/<hash>/v2/...``).
        ``body`` None sends BigCommerce's error list; a str or bytes is sent as
        is, anything else as JSON. ``rate_limit_headers`` False leaves out the
        ``X-Rate-Limit-*`` headers, as some gateway errors do. Faults fire in
        the order they were injected, before the token check.
        """
        fault = Fault(
            pattern=re.compile(path_regex),
            status=status,
            remaining=count,
            headers=dict(headers or {}),
            body=body,
            rate_limit_headers=rate_limit_headers,
            method=method.upper() if method else None,
        )
        with self._lock:
            self._faults.append(fault)

    def take_fault(self, method: str, path: str) -> Fault | None:
        """Consume one use of the first matching fault and return it."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.remaining -= 1
                    return fault
            return None

    def clear_faults(self) -> None:
        """Drop every pending fault."""
        with self._lock:
            self._faults.clear()

    def record_request(self, record: RequestRecord) -> None:
        """Append one request to the log."""
        with self._lock:
            self._requests.append(record)

    @property
    def requests(self) -> list[RequestRecord]:
        """Snapshot of the request log, oldest first."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        """Empty the request log."""
        with self._lock:
            self._requests.clear()

    def count_call(self, store_hash: str) -> RateLimitState:
        """Count one call against the store's sliding window and return the state.

        A call over the quota is not counted, so a client that waits
        ``reset_ms`` gets through again.
        """
        window_seconds = self.rate_limit_window_ms / 1000
        with self._lock:
            now = self._clock()
            calls = self._calls.setdefault(store_hash, collections.deque())
            while calls and calls[0] <= now - window_seconds:
                calls.popleft()

            allowed = len(calls) < self.rate_limit_quota
            if allowed:
                calls.append(now)
            if calls:
                reset_seconds = calls[0] + window_seconds - now
            else:
                reset_seconds = window_seconds

            return RateLimitState(
                allowed=allowed,
                quota=self.rate_limit_quota,
                left=max(self.rate_limit_quota - len(calls), 0),
                window_ms=self.rate_limit_window_ms,
                reset_ms=max(int(reset_seconds * 1000), 0),
            )

    def sleep_latency(self) -> None:
        """Sleep ``latency_ms`` milliseconds, the configured delay per request."""
        if self.latency_ms > 0:
            time.sleep(self.latency_ms / 1000)

    def _store_orders(self, store_hash: str) -> dict[int, StoreOrder]:
        try:
            return self._orders[store_hash]
        except KeyError:
            raise KeyError(
                f"unknown store hash {store_hash!r}; call add_store first"
            ) from None

    def _find_order(self, store_hash: str, order_id: int) -> StoreOrder:
        orders = self._store_orders(store_hash)
        try:
            return orders[order_id]
        except KeyError:
            raise KeyError(
                f"order {order_id} not found in store {store_hash}"
            ) from None
