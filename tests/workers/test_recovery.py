"""Requeueing a started job whose lease is gone."""

from __future__ import annotations

import datetime as dt

from rq import Queue
from rq.registry import StartedJobRegistry

from tests.conftest import QuickWorker
from workers.lease import lease_key
from workers.queueing import ORDER_QUEUE
from workers.recovery import recover_abandoned_jobs


def start_without_lease(redis, job_id: str) -> Queue:
    queue = Queue(ORDER_QUEUE, connection=redis)
    queue.enqueue("builtins.print", job_id=job_id)
    worker = QuickWorker([queue], connection=redis)
    job, _ = worker.dequeue_job_and_maintain_ttl(timeout=1)
    worker.prepare_execution(job)
    worker.prepare_job_execution(job)
    return queue


def test_job_without_lease_goes_back_to_its_queue(redis):
    queue = start_without_lease(redis, "order-main-store-7-a")
    registry = StartedJobRegistry(queue=queue)
    assert registry.get_job_ids(cleanup=False) == ["order-main-store-7-a"]
    first = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)

    assert recover_abandoned_jobs(redis, now=first) == []
    later = first + dt.timedelta(seconds=25)
    assert recover_abandoned_jobs(redis, now=later) == ["order-main-store-7-a"]

    assert registry.get_job_ids(cleanup=False) == []
    assert queue.get_job_ids() == ["order-main-store-7-a"]


def test_job_with_lease_stays_started(redis):
    queue = start_without_lease(redis, "order-main-store-8-a")
    redis.set(lease_key("order-main-store-8-a"), "123", px=10_000)
    first = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
    for seconds in (0, 25, 50):
        now = first + dt.timedelta(seconds=seconds)
        assert recover_abandoned_jobs(redis, now=now) == []
    registry = StartedJobRegistry(queue=queue)
    assert registry.get_job_ids(cleanup=False) == ["order-main-store-8-a"]
    assert queue.get_job_ids() == []
