"""Enqueueing of order jobs with coalescing of waiting jobs.

A webhook for an order that already has a job waiting in the queue adds nothing: the
waiting job fetches the order's current state when it starts, so it covers the new
event too. Once a job has started it may have read an older state, so the next event
gets a job of its own (the job releases the marker when it starts).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from redis import Redis
from redis.client import Pipeline
from redis.exceptions import WatchError
from rq import Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from workers import state

logger = logging.getLogger(__name__)

ORDER_QUEUE = "orders"
OFFER_QUEUE = "offers"
# Workers take order jobs before offer jobs, so a large offer push never delays
# the import of orders.
WORKER_QUEUES = (ORDER_QUEUE, OFFER_QUEUE)
ORDER_JOB = "workers.jobs.process_order"
JOB_TIMEOUT_SECONDS = 600
RESULT_TTL_SECONDS = 3600
FAILURE_TTL_SECONDS = 30 * 24 * 3600
WAITING_STATUSES = frozenset(
    {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED}
)


def retry_intervals() -> list[int]:
    """Seconds between retries: 5, then doubling up to 300, for over two hours."""
    intervals: list[int] = []
    delay = 5
    while sum(intervals) < 2 * 3600 + 300:
        intervals.append(delay)
        delay = min(delay * 2, 300)
    return intervals


RETRY_INTERVALS = retry_intervals()
# Timeouts, kept results and the retry schedule shared by order and offer jobs.
RETRIED_JOB_OPTIONS: dict[str, Any] = {
    "timeout": JOB_TIMEOUT_SECONDS,
    "result_ttl": RESULT_TTL_SECONDS,
    "failure_ttl": FAILURE_TTL_SECONDS,
    "retry": Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
}


def order_queue(redis: Redis) -> Queue:
    return Queue(ORDER_QUEUE, connection=redis)


def worker_queues(redis: Redis) -> list[Queue]:
    """Return every queue the workers serve, orders first."""
    return [Queue(name, connection=redis) for name in WORKER_QUEUES]


def enqueue_order_job(
    redis: Redis,
    connection: str,
    order_id: int,
    *,
    scope: str,
    also: Callable[[Pipeline], object] | None = None,
) -> tuple[str, bool]:
    """Make sure a job for (connection, order id) is waiting.

    Returns the job id and whether an already waiting job absorbed the event.
    ``also`` adds commands, such as a metric, to the transaction that queues a new
    job. Raises redis.exceptions.RedisError when Redis is unreachable; then no job
    was queued.
    """
    queue = order_queue(redis)
    key = state.pending_key(connection, order_id)
    job_id = _new_job_id(connection, order_id)
    # Fast path for the usual case, an order without a waiting job: claiming the
    # marker with SET NX takes one round trip instead of WATCH, GET and a retry
    # loop. An event for the same order that arrives between the claim and the
    # queueing finds no job under the marker and queues a second job, which the
    # order lock and the imported mark keep from pushing twice.
    if redis.set(key, job_id, nx=True, ex=state.PENDING_TTL_SECONDS):
        with redis.pipeline() as pipe:
            pipe.multi()
            _enqueue(queue, pipe, connection, order_id, scope, job_id)
            if also is not None:
                also(pipe)
            pipe.execute()
        return job_id, False
    with redis.pipeline() as pipe:
        while True:
            try:
                pipe.watch(key)
                stored = pipe.get(key)
                existing = stored.decode() if isinstance(stored, bytes) else stored
                if existing is not None and _is_waiting(redis, existing):
                    pipe.unwatch()
                    return existing, True
                job_id = _new_job_id(connection, order_id)
                pipe.multi()
                pipe.set(key, job_id, ex=state.PENDING_TTL_SECONDS)
                _enqueue(queue, pipe, connection, order_id, scope, job_id)
                if also is not None:
                    also(pipe)
                pipe.execute()
                return job_id, False
            except WatchError:
                continue


def _new_job_id(connection: str, order_id: int) -> str:
    return f"order-{connection}-{order_id}-{uuid.uuid4().hex[:12]}"


def _enqueue(
    queue: Queue,
    pipe: Pipeline,
    connection: str,
    order_id: int,
    scope: str,
    job_id: str,
) -> None:
    queue.enqueue_call(
        ORDER_JOB,
        args=(connection, order_id),
        kwargs={"scope": scope},
        job_id=job_id,
        description=f"order {order_id} of {connection} ({scope})",
        pipeline=pipe,
        **RETRIED_JOB_OPTIONS,
    )


def _is_waiting(redis: Redis, job_id: str) -> bool:
    try:
        status = Job.fetch(job_id, connection=redis).get_status(refresh=False)
    except NoSuchJobError:
        return False
    return status in WAITING_STATUSES
