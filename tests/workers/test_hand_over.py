"""A job whose worker stops between dequeue and start still runs."""

from __future__ import annotations

import time

import pytest
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry

from tests.conftest import CONNECTION, QuickWorker
from workers import inbox, state
from workers.queueing import worker_queues
from workers.rq_support import HandOverQueue


@pytest.mark.slow
def test_job_dequeued_by_dead_worker_runs_later(order_path):
    order_path.add_order(301)
    order_path.send("store/order/created", 301)
    redis = order_path.redis
    inbox.drain(redis)
    queues = [HandOverQueue(q.name, connection=redis) for q in worker_queues(redis)]

    # A worker on both queues takes the job and dies before it starts it.
    job, queue = HandOverQueue.dequeue_any(queues, None, connection=redis)
    intermediate = queue.intermediate_queue
    assert intermediate.get_job_ids() == [job.id]
    assert queue.count == 0

    # RQ's registry cleaning notes the job, and a minute later hands it to the
    # job's retry schedule.
    worker = QuickWorker(queues, connection=redis)
    worker.clean_registries()
    assert intermediate.get_job_ids() == [job.id]
    redis.set(intermediate.get_first_seen_key(job.id), time.time() - 61)
    worker.clean_registries()
    assert intermediate.get_job_ids() == []
    assert job.id in ScheduledJobRegistry(queue=queue)

    time.sleep(5.5)  # the first retry comes 5 s later
    QuickWorker(queues, connection=redis).work(burst=True, with_scheduler=True)
    assert state.is_imported(redis, CONNECTION, 301)
    assert [p.status for p in order_path.pushes_of(301)] == [201]


def test_dequeue_takes_queues_in_order(redis):
    orders, offers = (HandOverQueue(name, connection=redis) for name in ("o", "f"))
    offers.enqueue("builtins.print", job_id="offer-job")
    orders.enqueue("builtins.print", job_id="order-job")
    taken = [
        HandOverQueue.dequeue_any([orders, offers], None, connection=redis)[0].id
        for _ in range(2)
    ]
    assert taken == ["order-job", "offer-job"]
    assert HandOverQueue.dequeue_any([orders, offers], None, connection=redis) is None
    assert orders.intermediate_queue.get_job_ids() == ["order-job"]
    assert offers.intermediate_queue.get_job_ids() == ["offer-job"]


def test_started_job_drops_first_seen_note(redis):
    """RQ keeps its note of a job in the intermediate list for a day, and a retry
    reuses the job id, so a stale note would let cleaning fail the retry while a
    worker starts it."""
    orders, offers = (HandOverQueue(name, connection=redis) for name in ("o", "f"))
    job = orders.enqueue("builtins.print", job_id="noted-job")
    dequeued, queue = HandOverQueue.dequeue_any(
        [orders, offers], None, connection=redis
    )
    worker = QuickWorker([orders, offers], connection=redis)
    orders.intermediate_queue.cleanup(worker, orders)
    note = orders.intermediate_queue.get_first_seen_key(job.id)
    assert redis.exists(note)

    worker.execute_job(dequeued, queue)
    assert not redis.exists(note)
    assert orders.intermediate_queue.get_job_ids() == []
    assert Job.fetch(job.id, connection=redis).get_status() == JobStatus.FINISHED
