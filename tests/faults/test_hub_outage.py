"""The hub answers 503 for two minutes, and one order the hub rejects for good."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from rq import Queue
from rq.registry import FailedJobRegistry

from tests.faults.conftest import wait_for
from workers import state
from workers.context import ServiceContext
from workers.queueing import ORDER_QUEUE
from workers.reconcile import poll_connection

pytestmark = pytest.mark.slow

CONNECTION = "main-store"
OUTAGE_SECONDS = 120
OUTAGE_ORDERS = 30
BACKFILL_ORDERS = 500
BAD_ORDER = 250


def test_hub_down_two_minutes_imports_once(service_factory, record_fault):
    service = service_factory()
    for _ in range(2):
        service.workers.start()
    service.hub.start_outage(OUTAGE_SECONDS)
    began = time.monotonic()
    for order_id in range(1, OUTAGE_ORDERS + 1):
        service.add_order(order_id)
        assert service.send("store/order/created", order_id).status_code == 200

    def all_imported() -> bool:
        return all(
            state.is_imported(service.redis, CONNECTION, o)
            for o in range(1, OUTAGE_ORDERS + 1)
        )

    # The retries wait 5, 10, 20, 40 and 80 s, so the sixth attempt, 155 s after the
    # first, is the first one after the outage.
    assert wait_for(all_imported, OUTAGE_SECONDS + 120, step=1.0), (
        service.workers.output()[-3000:]
    )
    seconds = time.monotonic() - began
    time.sleep(1.0)
    accepted = [p.order_id for p in service.hub.pushes if p.succeeded]
    refused = [p for p in service.hub.pushes if p.status == 503]
    assert sorted(accepted) == list(range(1, OUTAGE_ORDERS + 1))
    assert refused
    record_fault(
        "hub 503 for two minutes",
        orders=OUTAGE_ORDERS,
        imported=len(set(accepted)),
        accepted_pushes=len(accepted),
        refused_pushes=len(refused),
        seconds_to_import_all=round(seconds, 1),
    )


def test_one_bad_order_in_backfill(service_factory, record_fault):
    service = service_factory()
    service.store.rate_limit_quota = 1_000_000  # rate limits are not under test
    for order_id in range(1, BACKFILL_ORDERS + 1):
        service.add_order(order_id, line_count=1)
    service.hub.reject_order(BAD_ORDER, 400, "billing country XX is unknown")

    context = ServiceContext(
        settings_file=str(service.settings_path), redis=service.redis
    )
    since = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)  # a backfill of every order
    result = poll_connection(context, context.settings.connections[0], since=since)
    for _ in range(2):
        service.workers.start()

    def done() -> bool:
        failed = service.redis.hexists(state.failure_key(CONNECTION), str(BAD_ORDER))
        return failed and state.imported_count(service.redis, CONNECTION) == (
            BACKFILL_ORDERS - 1
        )

    assert wait_for(done, 120, step=1.0), service.workers.output()[-3000:]
    failure = service.redis.hget(state.failure_key(CONNECTION), str(BAD_ORDER))
    queue = Queue(ORDER_QUEUE, connection=service.redis)
    failed_jobs = FailedJobRegistry(queue=queue).get_job_ids()
    assert result.enqueued == BACKFILL_ORDERS
    assert b"billing country XX is unknown" in failure
    assert len(failed_jobs) == 1
    assert not state.is_imported(service.redis, CONNECTION, BAD_ORDER)
    record_fault(
        "one order rejected by the hub in a backfill",
        orders=BACKFILL_ORDERS,
        imported=state.imported_count(service.redis, CONNECTION),
        failed=len(failed_jobs),
        failure_kept_with_message=b"billing country" in failure,
    )
