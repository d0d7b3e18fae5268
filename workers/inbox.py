"""The webhook inbox: order events wait in one Redis list until a worker queues them.

Queueing an RQ job writes a hash of about 30 fields in a transaction of eight
commands, which made the webhook endpoint spend most of its time in Redis. The
endpoint now appends the event to ``sync:inbox`` in one round trip, and a dispatcher
thread in every worker process turns events into jobs with ``enqueue_order_job``,
which also coalesces events for an order whose job is still waiting.

A dispatcher moves each event into its own processing list before it queues the job
and removes it afterwards. A dispatcher that dies in between stops renewing its
heartbeat key, so the maintenance leader puts its processing list back at the head
of the inbox. Redis may even serve a dispatcher's blocked move after its process was
killed, until the kernel closes the socket, so a dead dispatcher can hold an event
that arrived after its death. An event may therefore be queued twice, but it is never
lost, and the order lock and the imported mark keep a twice-queued order from being
pushed twice.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

from redis import Redis
from redis.client import Pipeline
from redis.exceptions import RedisError

from workers import metrics
from workers.logs import event
from workers.queueing import enqueue_order_job

logger = logging.getLogger(__name__)

INBOX_KEY = "sync:inbox"
DISPATCHERS_KEY = "sync:inbox:dispatchers"
# Events that could not be read or queued, newest first, for an operator to inspect.
DAMAGED_KEY = "sync:inbox:damaged"
MAX_DAMAGED = 1000
HEARTBEAT_TTL_SECONDS = 10
HEARTBEAT_EVERY_SECONDS = 2.0
BLOCK_SECONDS = 1
# Maximum pause between two attempts while Redis is unreachable (the pause doubles
# from 1 s), so dispatching resumes within seconds of Redis's return.
MAX_PAUSE_SECONDS = 5.0


def processing_key(dispatcher: str) -> str:
    return f"sync:inbox:processing:{dispatcher}"


def heartbeat_key(dispatcher: str) -> str:
    return f"sync:inbox:dispatcher:{dispatcher}"


def push(
    redis: Redis,
    connection: str,
    order_id: int,
    *,
    scope: str,
    also: Callable[[Pipeline], object] | None = None,
) -> None:
    """Append an order event to the inbox in one transaction with ``also``.

    Raises redis.exceptions.RedisError when Redis is unreachable. The event is then
    in the inbox only if Redis failed after running the transaction.
    """
    entry = json.dumps({"connection": connection, "order_id": order_id, "scope": scope})
    with redis.pipeline() as pipe:
        pipe.multi()
        pipe.rpush(INBOX_KEY, entry)
        if also is not None:
            also(pipe)
        pipe.execute()


def waiting_by_connection(redis: Redis, limit: int = 10_000) -> Counter[str]:
    """Count the events that no dispatcher has taken yet, per connection.

    Only the first ``limit`` events are read, which bounds the cost of a status page
    while the workers are behind.
    """
    counts: Counter[str] = Counter()
    for raw in redis.lrange(INBOX_KEY, 0, limit - 1):
        entry = parse_entry(raw)
        if entry is not None:
            counts[entry["connection"]] += 1
    return counts


class Dispatcher:
    """Moves events from the inbox into order jobs, one at a time."""

    def __init__(self, redis: Redis, name: str | None = None) -> None:
        self.redis = redis
        self.name = name or uuid.uuid4().hex
        self.processing = processing_key(self.name)

    def heartbeat(self) -> None:
        with self.redis.pipeline() as pipe:
            pipe.multi()
            pipe.sadd(DISPATCHERS_KEY, self.name)
            pipe.set(heartbeat_key(self.name), 1, ex=HEARTBEAT_TTL_SECONDS)
            pipe.execute()

    def retire(self) -> None:
        """Put the events this dispatcher has taken back in the inbox and leave the
        registry."""
        requeue_processing(self.redis, self.name)

    def dispatch_one(self, block: int | None = None) -> bool:
        """Queue the job of the next event; returns False when the inbox is empty.

        With ``block`` the call waits up to that many seconds for an event.
        """
        if block:
            raw = self.redis.blmove(
                INBOX_KEY, self.processing, block, src="LEFT", dest="RIGHT"
            )
        else:
            raw = self.redis.lmove(INBOX_KEY, self.processing, src="LEFT", dest="RIGHT")
        if raw is None:
            return False
        self._finish(raw)
        return True

    def finish_held(self) -> int:
        """Queue the events left in this dispatcher's processing list.

        An event stays there when Redis failed between the move and the removal,
        or when a reply to the move was lost and the client sent it again.
        """
        count = 0
        while (raw := self.redis.lindex(self.processing, 0)) is not None:
            self._finish(raw)
            count += 1
        return count

    def _finish(self, raw: Any) -> None:
        entry = parse_entry(raw)
        if entry is None:
            logger.error(
                "inbox event not queued, kept in %s: it is not a valid event: %r",
                DAMAGED_KEY,
                raw[:200],
            )
        try:
            if entry is not None:
                queue_event(self.redis, **entry)
        except RedisError:
            raise
        except Exception:
            # An event kept in the processing list would block this dispatcher for
            # good, so it goes to the damaged list like an unreadable one.
            logger.exception("inbox event not queued: queueing it failed: %r", raw)
            entry = None
        with self.redis.pipeline() as pipe:
            pipe.multi()
            if entry is None:
                pipe.lpush(DAMAGED_KEY, raw)
                pipe.ltrim(DAMAGED_KEY, 0, MAX_DAMAGED - 1)
            pipe.lrem(self.processing, 1, raw)
            pipe.execute()


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


def parse_entry(raw: bytes | str) -> dict[str, Any] | None:
    """Return the entry's connection, order id and scope, or None when it is damaged
    (not JSON, a missing field, or a value such as Infinity that is not an id)."""
    try:
        data = json.loads(raw)
        entry = {
            "connection": str(data["connection"]),
            "order_id": int(data["order_id"]),
            "scope": str(data["scope"]),
        }
    except Exception:  # any damage, such as Infinity as the id or deep nesting
        return None
    return entry


def queue_event(redis: Redis, *, connection: str, order_id: int, scope: str) -> None:
    """Queue the order job of one event, or let a waiting job absorb it."""
    job_id, coalesced = enqueue_order_job(redis, connection, order_id, scope=scope)
    logger.info(
        "order %s queued (connection=%s scope=%s job=%s%s)",
        order_id,
        connection,
        scope,
        job_id,
        " coalesced with the waiting job" if coalesced else "",
        extra=event(
            connection=connection,
            order_id=order_id,
            scope=scope,
            result="coalesced" if coalesced else "queued",
            job_id=job_id,
        ),
    )
    if coalesced:
        labels = {"connection": connection, "scope": scope, "result": "coalesced"}
        metrics.count(redis, "webhooks", labels)


def drain(redis: Redis) -> int:
    """Queue the jobs of every event in the inbox now; returns how many there were."""
    dispatcher = Dispatcher(redis)
    count = 0
    while dispatcher.dispatch_one():
        count += 1
    return count


# KEYS: heartbeat, processing list, inbox, dispatcher registry.
# ARGV: dispatcher name, 1 to act only while the heartbeat is absent.
# Returns the number of events moved, or -1 when the dispatcher is alive. One script,
# so that a dispatcher that comes back during the recovery keeps its registration.
_REQUEUE = """
if ARGV[2] == '1' and redis.call('exists', KEYS[1]) == 1 then
    return -1
end
local moved = 0
while true do
    local event = redis.call('rpop', KEYS[2])
    if not event then
        break
    end
    redis.call('lpush', KEYS[3], event)
    moved = moved + 1
end
redis.call('srem', KEYS[4], ARGV[1])
redis.call('del', KEYS[1])
return moved
"""


def requeue_processing(
    redis: Redis, dispatcher: str, *, only_if_dead: bool = False
) -> int:
    """Put a dispatcher's unfinished events back at the head of the inbox, in their
    order, and remove it from the registry.

    With ``only_if_dead`` nothing happens while its heartbeat key exists, and -1 is
    returned.
    """
    keys = [heartbeat_key(dispatcher), processing_key(dispatcher)]
    keys += [INBOX_KEY, DISPATCHERS_KEY]
    flag = "1" if only_if_dead else "0"
    return int(redis.eval(_REQUEUE, 4, *keys, dispatcher, flag))


def recover_abandoned_events(redis: Redis) -> int:
    """Requeue the events of dispatchers whose heartbeat has lapsed."""
    recovered = 0
    for member in redis.smembers(DISPATCHERS_KEY):
        name = _text(member)
        moved = requeue_processing(redis, name, only_if_dead=True)
        if moved <= 0:
            continue
        logger.warning(
            "%d inbox events of a stopped dispatcher put back in the inbox", moved
        )
        recovered += moved
    return recovered


class DispatcherThread(threading.Thread):
    """Daemon thread of a worker process that dispatches until the process ends."""

    def __init__(self, redis: Redis) -> None:
        super().__init__(name="inbox-dispatcher", daemon=True)
        self.dispatcher = Dispatcher(redis)
        self._stopped = threading.Event()

    def stop(self) -> None:
        self._stopped.set()

    def run(self) -> None:
        next_heartbeat = 0.0
        pause = 1.0
        while not self._stopped.is_set():
            try:
                if time.monotonic() >= next_heartbeat:
                    self.dispatcher.heartbeat()
                    self.dispatcher.finish_held()
                    next_heartbeat = time.monotonic() + HEARTBEAT_EVERY_SECONDS
                self.dispatcher.dispatch_one(block=BLOCK_SECONDS)
                pause = 1.0
            except RedisError as exc:
                logger.warning("inbox dispatch paused %.0f s: %s", pause, exc)
                self._stopped.wait(pause)
                pause = min(pause * 2, MAX_PAUSE_SECONDS)
            except Exception:
                logger.exception("inbox dispatch failed")
                self._stopped.wait(pause)
                pause = min(pause * 2, MAX_PAUSE_SECONDS)
