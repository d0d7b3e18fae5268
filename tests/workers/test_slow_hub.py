"""Exactly once with a hub slower than the client timeout, then a retry."""

from __future__ import annotations

import time

from rq import Queue
from rq.registry import ScheduledJobRegistry

from workers import state
from workers.queueing import ORDER_QUEUE

CONNECTION = "main-store"


def test_hub_slower_than_timeout_still_one_accepted_push(order_path_factory):
    """A push that timed out is retried with the same Idempotency-Key, so a hub
    that honours the key (as the push contract requires) answers the retry with
    409 and keeps the order once."""
    path = order_path_factory(hub_timeout=1)
    path.hub.conflict_on_duplicate = True
    path.hub.latency_ms = 1500
    path.add_order(430)
    path.send("store/order/created", 430)
    path.run_jobs()
    queue = Queue(ORDER_QUEUE, connection=path.redis)
    path.hub.latency_ms = 0
    for job_id in ScheduledJobRegistry(queue=queue).get_job_ids()[:3]:
        queue.enqueue_job(queue.fetch_job(job_id))  # what the scheduler does
        path.run_jobs()
    time.sleep(1.0)  # the first, timed-out push lands in the meantime
    accepted = [p for p in path.pushes_of(430) if p.succeeded]
    assert state.is_imported(path.redis, CONNECTION, 430)
    assert len(accepted) == 1, [p.status for p in path.pushes_of(430)]
