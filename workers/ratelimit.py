"""A per-store request budget in Redis, shared by every worker of every machine.

BigCommerce limits requests per store, and the store's other apps draw on the same
quota. Each response reports ``X-Rate-Limit-Requests-Left`` and
``X-Rate-Limit-Time-Reset-Ms``. The budget stores the latest of those in Redis, counts
the requests in flight, and lets a request go only while
``left - in_flight > reserve``, so that ``reserve`` requests stay for the other apps.

When nothing is known (first request, or the last reset time has passed), one request
goes out alone as a probe and its response sets the budget again. A 429 empties the
budget until the reset time it names.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Mapping

from redis import Redis

logger = logging.getLogger(__name__)

DEFAULT_RESERVE = 15
IN_FLIGHT_TIMEOUT_MS = 60_000  # longer than any request's timeout
PROBE_WAIT_MS = 50
MAX_WAIT_SECONDS = 60.0

# KEYS: state hash, in-flight sorted set. ARGV: now_ms, reserve, request id.
# Returns 0 when the request may go, else the milliseconds to wait before asking again.
_ACQUIRE = f"""
local now = tonumber(ARGV[1])
local reserve = tonumber(ARGV[2])
redis.call('zremrangebyscore', KEYS[2], '-inf', now - {IN_FLIGHT_TIMEOUT_MS})
local in_flight = redis.call('zcard', KEYS[2])
local left = tonumber(redis.call('hget', KEYS[1], 'left'))
local reset_at = tonumber(redis.call('hget', KEYS[1], 'reset_at'))
if left == nil or reset_at == nil or now >= reset_at then
    if in_flight > 0 then
        return {PROBE_WAIT_MS}
    end
elseif left - in_flight <= reserve then
    return math.max(reset_at - now, 1)
end
redis.call('zadd', KEYS[2], now, ARGV[3])
redis.call('pexpire', KEYS[2], {IN_FLIGHT_TIMEOUT_MS})
return 0
"""

# KEYS: state hash, in-flight sorted set. ARGV: now_ms, request id, left, reset_ms.
# left and reset_ms are empty when the response carried no rate-limit headers.
_OBSERVE = """
redis.call('zrem', KEYS[2], ARGV[2])
if ARGV[3] == '' then
    return 0
end
local reset_at = tonumber(ARGV[1]) + tonumber(ARGV[4])
redis.call('hset', KEYS[1], 'left', ARGV[3], 'reset_at', reset_at)
redis.call('pexpire', KEYS[1], tonumber(ARGV[4]) + 60000)
return 1
"""


def reserve_from_env() -> int:
    """Return ``BIGCOMMERCE_RATE_LIMIT_RESERVE`` or the default of 15 requests."""
    text = os.environ.get("BIGCOMMERCE_RATE_LIMIT_RESERVE", "").strip()
    if not text:
        return DEFAULT_RESERVE
    try:
        return max(int(text), 0)
    except ValueError:
        logger.warning(
            "BIGCOMMERCE_RATE_LIMIT_RESERVE=%r is not a whole number; using %d",
            text,
            DEFAULT_RESERVE,
        )
        return DEFAULT_RESERVE


def now_ms() -> int:
    return int(time.time() * 1000)


class RateBudget:
    """The shared request budget of one store."""

    def __init__(self, redis: Redis, store_hash: str, *, reserve: int | None = None):
        self.redis = redis
        self.reserve = reserve_from_env() if reserve is None else reserve
        self.state_key = f"sync:ratelimit:{store_hash}"
        self.in_flight_key = f"sync:ratelimit:{store_hash}:in-flight"
        self._acquire = redis.register_script(_ACQUIRE)
        self._observe = redis.register_script(_OBSERVE)

    def acquire(self) -> str:
        """Wait until a request may go out; returns its id for ``observe``."""
        request_id = uuid.uuid4().hex
        waited = 0.0
        while True:
            keys = [self.state_key, self.in_flight_key]
            wait_ms = int(self._acquire(keys, [now_ms(), self.reserve, request_id]))
            if wait_ms == 0:
                if waited >= 1.0:
                    logger.info(
                        "rate-limit budget of %s: waited %.1f s",
                        self.state_key,
                        waited,
                    )
                return request_id
            pause = min(wait_ms / 1000.0, MAX_WAIT_SECONDS)
            time.sleep(pause)
            waited += pause

    def observe(self, request_id: str, headers: Mapping[str, str] | None) -> None:
        """Record a response's rate-limit headers, or only end the request."""
        left, reset_ms = parse_headers(headers or {})
        keys = [self.state_key, self.in_flight_key]
        args: list[str | int] = [
            now_ms(),
            request_id,
            "" if left is None else left,
            "" if reset_ms is None else reset_ms,
        ]
        self._observe(keys, args)

    def block(self, request_id: str, seconds: float) -> None:
        """Empty the budget for ``seconds``: every worker waits (after a 429)."""
        self._observe(
            [self.state_key, self.in_flight_key],
            [now_ms(), request_id, 0, max(int(seconds * 1000), 1)],
        )


def parse_headers(headers: Mapping[str, str]) -> tuple[int | None, int | None]:
    """Return (requests left, milliseconds to reset); Nones when absent or invalid."""
    try:
        left = int(headers["X-Rate-Limit-Requests-Left"])
        reset_ms = int(headers["X-Rate-Limit-Time-Reset-Ms"])
    except (KeyError, ValueError):
        return None, None
    if left < 0 or not 0 <= reset_ms <= 3_600_000:
        return None, None
    return left, reset_ms
