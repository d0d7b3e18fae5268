"""A per-store request budget in Redis, shared by every worker of every machine.

BigCommerce limits requests per store, and the store's other apps draw on the same
quota. Each response reports ``X-Rate-Limit-Requests-Left`` and
``X-Rate-Limit-Time-Reset-Ms``. The budget keeps the most recent count of those in
Redis, counts the requests in flight, and lets a request go only while
``left - in_flight > reserve``, so that ``reserve`` requests stay for the other apps.

Between responses the budget counts as gone only the requests that must have left
the window: none before the announced reset, one at the reset, and all once a
further window has passed. That is true whether BigCommerce's window is fixed or
sliding, and every response corrects it: after a reset one request goes out and its
response shows how much has refilled. A request whose response carries no numbers counts
as used. When other apps have used part of the reserve, one probe per reset goes out
once an even refill would have covered it, so the budget does not wait a whole
window for a fixed one. When nothing is known yet, one request goes out alone as a
probe. A 429 stops every worker until the reset time it names.
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
LONG_WAIT_SECONDS = 60.0

# The state hash holds the last applied response's ``left``, ``quota`` and
# ``window`` (ms), the time of the next reset it announced (``reset_at``), the start
# time of the request it came from (``started_at``), and ``blocked_until`` after a 429.
#
# KEYS: state hash, in-flight sorted set. ARGV: now_ms, reserve, request id.
# Returns 0 when the request may go, else the milliseconds to wait before asking again.
_ACQUIRE = f"""
local now = tonumber(ARGV[1])
local reserve = tonumber(ARGV[2])
redis.call('zremrangebyscore', KEYS[2], '-inf', now - {IN_FLIGHT_TIMEOUT_MS})
local in_flight = redis.call('zcard', KEYS[2])
local state = redis.call('hmget', KEYS[1], 'left', 'quota', 'window', 'reset_at',
                         'blocked_until', 'probed_at')
local blocked_until = tonumber(state[5]) or 0
if now < blocked_until then
    return blocked_until - now
end
local left = tonumber(state[1])
if left == nil then
    if in_flight > 0 then
        return {PROBE_WAIT_MS}
    end
else
    local quota = math.max(tonumber(state[2]) or left, 1)
    local window = tonumber(state[3]) or 30000
    local reset_at = tonumber(state[4]) or now
    -- A reserve as large as the quota would stop every request for good.
    reserve = math.min(reserve, quota - 1)
    -- In a sliding window the requests after the oldest may leave it at any time
    -- up to a window later, so only the oldest one counts as gone at the reset.
    local estimate = left
    if now >= reset_at + window then
        estimate = quota
    elseif now >= reset_at then
        estimate = math.min(left + 1, quota)
    end
    local missing = reserve + in_flight + 1 - estimate
    if missing > 0 then
        if now < reset_at then
            return math.max(reset_at - now, 10)
        end
        if in_flight > 0 then
            return {PROBE_WAIT_MS}
        end
        -- Other apps used part of the reserve. Once an even refill would have
        -- covered it, one probe per reset asks how much has refilled: a fixed
        -- window is full again, a sliding one may not be.
        local probed_at = tonumber(state[6]) or 0
        if probed_at >= reset_at then
            return math.max(reset_at + window - now, 10)
        end
        local probe_at = reset_at + math.ceil(missing * window / quota)
        if now < probe_at then
            return math.max(probe_at - now, 10)
        end
        redis.call('hset', KEYS[1], 'probed_at', now)
    end
end
redis.call('zadd', KEYS[2], now, ARGV[3])
redis.call('pexpire', KEYS[2], {IN_FLIGHT_TIMEOUT_MS})
return 0
"""

# KEYS: state hash, in-flight sorted set.
# ARGV: now_ms, request id, left, quota, window_ms, reset_ms, blocked_ms.
# left, quota, window_ms and reset_ms are empty when the response carried no rate-limit
# headers; blocked_ms is 0 unless the response was a 429.
#
# Requests sent side by side may be counted by BigCommerce in another order than
# they were sent or got their responses, so the latest response is not always the
# latest count.
# Until the stored reset time nothing has left the window, so what is left only
# shrinks: a response may lower the stored numbers but not raise them. After the
# reset, a response replaces them if its request started no earlier than the one
# whose response was stored.
# NOTE: start order is not count order either. A response that replaces the
# numbers just after a reset can miss one request counted after it, and the reserve
# absorbs that.
_OBSERVE = """
local now = tonumber(ARGV[1])
local started = redis.call('zscore', KEYS[2], ARGV[2])
redis.call('zrem', KEYS[2], ARGV[2])
local blocked_ms = tonumber(ARGV[7])
if blocked_ms > 0 then
    local until_ms = now + blocked_ms
    local current = tonumber(redis.call('hget', KEYS[1], 'blocked_until')) or 0
    if until_ms > current then
        redis.call('hset', KEYS[1], 'blocked_until', until_ms)
    end
end
if ARGV[3] ~= '' then
    started = tonumber(started) or now
    local left = tonumber(ARGV[3])
    local reset_at = now + tonumber(ARGV[6])
    local stored = redis.call('hmget', KEYS[1], 'left', 'reset_at', 'started_at')
    local stored_left = tonumber(stored[1])
    local stored_reset = tonumber(stored[2]) or 0
    local stored_started = tonumber(stored[3]) or 0
    local newer = now >= stored_reset and started >= stored_started
    if stored_left ~= nil and not newer then
        -- A late response may name a reset that the stored count already includes.
        reset_at = math.max(reset_at, stored_reset)
    end
    if stored_left == nil or left <= stored_left or newer then
        redis.call('hset', KEYS[1], 'left', left, 'quota', ARGV[4],
                   'window', ARGV[5], 'reset_at', reset_at,
                   'started_at', math.max(started, stored_started))
    end
elseif started then
    -- The request may have been counted although its response carried no numbers.
    local stored_left = tonumber(redis.call('hget', KEYS[1], 'left'))
    if stored_left ~= nil and stored_left > 0 then
        redis.call('hset', KEYS[1], 'left', stored_left - 1)
    end
end
redis.call('pexpire', KEYS[1], 3600000)
return 0
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
            if waited < LONG_WAIT_SECONDS <= waited + pause:
                logger.warning(
                    "rate-limit budget of %s: still waiting after %.0f s",
                    self.state_key,
                    waited + pause,
                )
            time.sleep(pause)
            waited += pause

    def observe(
        self,
        request_id: str,
        headers: Mapping[str, str] | None,
        *,
        blocked_seconds: float = 0.0,
    ) -> None:
        """Record a response's rate-limit headers and end the request.

        ``blocked_seconds`` > 0 (after a 429) makes every worker wait that long.
        """
        numbers = parse_headers(headers or {})
        args: list[str | int] = [now_ms(), request_id]
        args += ["" if value is None else value for value in numbers]
        args.append(max(int(blocked_seconds * 1000), 0))
        self._observe([self.state_key, self.in_flight_key], args)


def parse_headers(
    headers: Mapping[str, str],
) -> tuple[int | None, int | None, int | None, int | None]:
    """Return (left, quota, window ms, reset ms); Nones when absent or invalid."""
    try:
        left = int(headers["X-Rate-Limit-Requests-Left"])
        reset_ms = int(headers["X-Rate-Limit-Time-Reset-Ms"])
        quota = int(headers.get("X-Rate-Limit-Requests-Quota") or left)
        window_ms = int(headers.get("X-Rate-Limit-Time-Window-Ms") or 30_000)
    except (KeyError, ValueError):
        return None, None, None, None
    if left < 0 or quota < 1 or not 0 < window_ms <= 3_600_000:
        return None, None, None, None
    if not 0 <= reset_ms <= 3_600_000:
        return None, None, None, None
    return left, max(quota, left), window_ms, reset_ms
