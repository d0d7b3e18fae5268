"""Client of the hub's order intake: ``POST {hub.url}/orders``."""

from __future__ import annotations

import logging
from typing import Any

import requests

from config.errors import PermanentUpstreamError, RetryableUpstreamError
from config.model import HubSettings
from workers.http import CONNECT_TIMEOUT_SECONDS, response_text, shared_session

logger = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({408, 429})


def idempotency_key(store_hash: str, order_id: int) -> str:
    return f"bigcommerce-{store_hash}-{order_id}"


class HubClient:
    """Pushes orders to the hub; 2xx and 409 count as imported."""

    def __init__(self, hub: HubSettings, *, session: requests.Session | None = None):
        self.hub = hub
        self.session = session or shared_session()

    def push_order(
        self, envelope: dict[str, Any], *, store_hash: str, order_id: int
    ) -> int:
        """Send one order; returns the hub's status (2xx, or 409 when it had it).

        Raises RetryableUpstreamError for 408, 429, 5xx, timeouts and connection
        errors, PermanentUpstreamError for any other 4xx.
        """
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": idempotency_key(store_hash, order_id),
        }
        if self.hub.token:
            headers["Authorization"] = f"Bearer {self.hub.token}"
        try:
            response = self.session.post(
                f"{self.hub.url}/orders",
                json=envelope,
                headers=headers,
                timeout=(CONNECT_TIMEOUT_SECONDS, float(self.hub.timeout_seconds)),
            )
        except requests.RequestException as exc:
            raise RetryableUpstreamError(
                f"order {order_id}: hub unreachable: {type(exc).__name__}"
            ) from None
        return self._check(response, order_id)

    def _check(self, response: requests.Response, order_id: int) -> int:
        status = response.status_code
        if 200 <= status < 300 or status == 409:
            return status
        detail = response_text(response, secrets=(self.hub.token,))
        message = f"order {order_id}: hub returned HTTP {status}: {detail}"
        if status in RETRYABLE_STATUSES or status >= 500:
            raise RetryableUpstreamError(message, status=status, detail=detail)
        raise PermanentUpstreamError(message, status=status, detail=detail)
