"""Shape checks of the webhook callback body.

BigCommerce sends only ids: ``{"scope", "store_id", "data": {"type", "id",
"status"?}, "hash", "created_at"?, "producer": "stores/{store_hash}"}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from workers.scopes import ORDER_SCOPES, ORDER_STATUS_UPDATED

PRODUCER_PREFIX = "stores/"
MAX_ORDER_ID = 2**63 - 1  # the largest integer Redis and BigCommerce's API handle


class InvalidPayload(ValueError):
    """The body is not JSON or not the callback shape; the message names the problem."""


@dataclass(frozen=True)
class Callback:
    scope: str
    producer: str
    order_id: int | None
    new_status_id: int | None

    @property
    def store_hash(self) -> str | None:
        if not self.producer.startswith(PRODUCER_PREFIX):
            return None
        return self.producer[len(PRODUCER_PREFIX) :] or None

    @property
    def is_order_event(self) -> bool:
        return self.scope in ORDER_SCOPES


def parse_callback(body: bytes) -> Callback:
    """Parse and check a callback body; raises InvalidPayload naming the problem."""
    try:
        payload = json.loads(body)
    except RecursionError:
        raise InvalidPayload("body is not valid JSON: nested too deeply") from None
    except ValueError as exc:
        # JSONDecodeError, UnicodeDecodeError and the int() digit limit all land here.
        raise InvalidPayload(f"body is not valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise InvalidPayload("body must be a JSON object")

    scope = _require_string(payload, "scope")
    producer = _require_string(payload, "producer")
    if scope not in ORDER_SCOPES:
        return Callback(scope, producer, None, None)

    data = payload.get("data")
    if not isinstance(data, dict):
        raise InvalidPayload("'data' must be an object for order scopes")
    order_id: Any = data.get("id")
    if not _is_int(order_id):
        raise InvalidPayload("'data.id' must be an integer order id")
    if not 1 <= order_id <= MAX_ORDER_ID:
        raise InvalidPayload(f"'data.id' must be an order id from 1 to {MAX_ORDER_ID}")
    return Callback(scope, producer, order_id, _new_status_id(scope, data))


def _require_string(payload: dict[str, Any], name: str) -> str:
    value = payload.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidPayload(f"'{name}' must be a non-empty string")
    # JSON allows unpaired surrogates ("\ud800"), which cannot be encoded as UTF-8
    # for Redis keys or logs; they are kept as visible escapes instead.
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _new_status_id(scope: str, data: dict[str, Any]) -> int | None:
    """Return ``data.status.new_status_id`` of a statusUpdated event, if well formed."""
    if scope != ORDER_STATUS_UPDATED:
        return None
    status = data.get("status")
    if not isinstance(status, dict):
        return None
    new_status_id = status.get("new_status_id")
    return new_status_id if _is_int(new_status_id) else None
