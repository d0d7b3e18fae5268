"""Shared state in Redis: imported orders, decisions, per-order locks, counters.

Every key starts with ``sync:`` and names the connection, so several connections and
any number of worker processes share one Redis safely.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from redis import Redis

from workers import metrics
from workers.lease import KeyRenewer

logger = logging.getLogger(__name__)

DECISION_LOG_LENGTH = 10_000
ORDER_LOCK_TTL_SECONDS = 15
PENDING_TTL_SECONDS = 24 * 3600

# Deletes the pending marker only if it still names the given job, so a job that
# starts never removes the marker of a newer waiting job.
_RELEASE_IF_OWNER = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


def pending_key(connection: str, order_id: int) -> str:
    return f"sync:pending:{connection}:{order_id}"


def imported_key(connection: str) -> str:
    return f"sync:imported:{connection}"


def decision_key(connection: str) -> str:
    return f"sync:decision:{connection}"


def decision_log_key(connection: str) -> str:
    return f"sync:decisions:{connection}"


def failure_key(connection: str) -> str:
    return f"sync:failures:{connection}"


def counter_key(name: str) -> str:
    return f"sync:count:{name}"


def lock_key(connection: str, order_id: int) -> str:
    return f"sync:lock:{connection}:{order_id}"


def utc_now_text() -> str:
    """Return the current UTC time as ``2026-01-05T10:00:00Z``."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def release_pending(redis: Redis, connection: str, order_id: int, job_id: str) -> None:
    """Remove the waiting-job marker of an order if ``job_id`` still owns it."""
    redis.eval(_RELEASE_IF_OWNER, 1, pending_key(connection, order_id), job_id)


def is_imported(redis: Redis, connection: str, order_id: int) -> bool:
    return bool(redis.hexists(imported_key(connection), str(order_id)))


def mark_imported(redis: Redis, connection: str, order_id: int) -> None:
    with redis.pipeline() as pipe:
        pipe.hset(imported_key(connection), str(order_id), utc_now_text())
        pipe.hdel(failure_key(connection), str(order_id))
        pipe.execute()


def imported_count(redis: Redis, connection: str) -> int:
    return int(redis.hlen(imported_key(connection)))


def record_decision(
    redis: Redis, connection: str, decision: dict[str, Any], *, source: str
) -> dict[str, Any]:
    """Store a decision as the order's latest and append it to the decision log."""
    entry = {
        **decision,
        "connection": connection,
        "source": source,
        "at": utc_now_text(),
    }
    text = json.dumps(entry, sort_keys=True)
    labels = {
        "connection": connection,
        "outcome": entry["decision"],
        "reason": decision_reason(entry),
    }
    with redis.pipeline() as pipe:
        pipe.hset(decision_key(connection), str(entry["order_id"]), text)
        pipe.lpush(decision_log_key(connection), text)
        pipe.ltrim(decision_log_key(connection), 0, DECISION_LOG_LENGTH - 1)
        pipe.incr(counter_key(f"decisions:{entry['decision']}"))
        pipe.hincrby(metrics.KEY_PREFIX + "decisions", metrics.label_field(labels), 1)
        pipe.execute()
    return entry


def decision_reason(decision: dict[str, Any]) -> str:
    """Return the failed rules of a decision joined by '+', for the metrics.

    An accepted order has the reason ``""``; a repeat of an imported order has
    ``already_imported``.
    """
    failed = [
        str(rule.get("rule"))
        for rule in decision.get("rules") or []
        if not rule.get("passed")
    ]
    if failed:
        return "+".join(failed)
    if decision.get("decision") == "skipped":
        return "already_imported"
    return ""


def latest_decision(
    redis: Redis, connection: str, order_id: int
) -> dict[str, Any] | None:
    text = redis.hget(decision_key(connection), str(order_id))
    return None if text is None else json.loads(text)


def record_failure(redis: Redis, connection: str, order_id: int, message: str) -> None:
    """Keep a permanent failure with its message for an operator to see and replay."""
    entry = {"order_id": order_id, "message": message, "at": utc_now_text()}
    redis.hset(failure_key(connection), str(order_id), json.dumps(entry))


def increment(redis: Redis, name: str) -> None:
    redis.incr(counter_key(name))


@contextmanager
def order_lock(
    redis: Redis,
    connection: str,
    order_id: int,
    *,
    ttl_seconds: float,
    wait_seconds: float,
) -> Iterator[bool]:
    """Hold the per-order push lock; yields False when it could not be taken in time."""
    key = lock_key(connection, order_id)
    with held_lock(
        redis, key, ttl_seconds=ttl_seconds, wait_seconds=wait_seconds
    ) as acquired:
        yield acquired


@contextmanager
def held_lock(
    redis: Redis, key: str, *, ttl_seconds: float, wait_seconds: float
) -> Iterator[bool]:
    """Hold the lock at ``key``; yields False when it could not be taken in time.

    A thread renews the lock while it is held, and it expires ``ttl_seconds`` after
    its holder died, so a killed worker never blocks the lock for longer than that.
    """
    token = uuid.uuid4().hex
    deadline = time.monotonic() + wait_seconds
    acquired = bool(redis.set(key, token, nx=True, px=int(ttl_seconds * 1000)))
    while not acquired and time.monotonic() < deadline:
        time.sleep(0.2)
        acquired = bool(redis.set(key, token, nx=True, px=int(ttl_seconds * 1000)))
    renewer = KeyRenewer(redis, key, token, ttl_seconds) if acquired else None
    if renewer is not None:
        renewer.start()
    try:
        yield acquired
    finally:
        if renewer is not None:
            renewer.stop()
            redis.eval(_RELEASE_IF_OWNER, 1, key, token)
