"""Workers killed with SIGKILL in the middle of a push, and stopped with SIGTERM."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.conftest import STORE_HASH
from tests.faults.conftest import wait_for
from workers import state

pytestmark = pytest.mark.slow

CONNECTION = "main-store"
KILLS = 20


def lease_pid(redis, order_id: int) -> int | None:
    """Return the pid of the job process that holds the order's job lease."""
    for key in redis.scan_iter(f"sync:lease:order-{CONNECTION}-{order_id}-*"):
        value = redis.get(key)
        if value:
            return int(value)
    return None


def push_in_flight(redis, order_id: int) -> bool:
    return bool(redis.exists(state.lock_key(CONNECTION, order_id)))


def test_sigkill_during_push_loses_nothing(service_factory, record_fault):
    service = service_factory()
    service.hub.latency_ms = 1500
    service.hub.conflict_on_duplicate = True  # the hub honours Idempotency-Key
    for _ in range(2):
        service.workers.start()

    kills = 0
    for order_id in range(1, KILLS + 1):
        service.add_order(order_id)
        assert service.send("store/order/created", order_id).status_code == 200
        assert wait_for(lambda oid=order_id: push_in_flight(service.redis, oid), 30)
        pid = lease_pid(service.redis, order_id)
        assert pid is not None
        os.killpg(os.getpgid(pid), signal.SIGKILL)
        kills += 1
        service.workers.start()

    def all_imported() -> bool:
        return all(
            state.is_imported(service.redis, CONNECTION, o) for o in range(1, KILLS + 1)
        )

    began = time.monotonic()
    assert wait_for(all_imported, 150), service.workers.output()[-3000:]
    recovery_seconds = time.monotonic() - began
    time.sleep(1.0)  # a late duplicate push would arrive in this second

    pushes = service.hub.pushes
    keys = {p.order_id: set() for p in pushes}
    for push in pushes:
        keys[push.order_id].add(push.idempotency_key)
    accepted = [p.order_id for p in pushes if p.succeeded]
    assert kills == KILLS
    assert sorted(accepted) == list(range(1, KILLS + 1))
    assert all(keys[o] == {f"bigcommerce-{STORE_HASH}-{o}"} for o in keys)
    record_fault(
        "SIGKILL during push",
        kills=kills,
        orders=KILLS,
        imported=sum(
            state.is_imported(service.redis, CONNECTION, o) for o in range(1, KILLS + 1)
        ),
        pushes=len(pushes),
        accepted_pushes=len(accepted),
        keys_per_order=max(len(k) for k in keys.values()),
        seconds_to_recover_all=round(recovery_seconds, 1),
    )


def test_sigterm_finishes_running_job(service_factory):
    service = service_factory()
    service.hub.latency_ms = 3000
    worker = service.workers.start()
    service.add_order(500)
    service.send("store/order/created", 500)
    assert wait_for(lambda: push_in_flight(service.redis, 500), 30)

    os.killpg(worker.pid, signal.SIGTERM)
    returncode = worker.wait(timeout=30)
    assert returncode == 0
    assert state.is_imported(service.redis, CONNECTION, 500)
    assert [p.status for p in service.hub.pushes] == [201]
