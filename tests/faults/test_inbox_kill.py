"""Worker processes killed while their dispatchers move webhook events into jobs."""

from __future__ import annotations

import random
import signal
import threading
import time

import pytest

from tests.conftest import CONNECTION
from tests.faults.conftest import wait_for
from workers import inbox, state

pytestmark = pytest.mark.slow

ORDERS = 300
KILL_EVERY_SECONDS = 0.15


def test_sigkill_during_dispatch_loses_nothing(service_factory, record_fault):
    service = service_factory()
    service.store.rate_limit_quota = 1_000_000  # rate limits are not under test
    service.hub.conflict_on_duplicate = True  # the hub honours Idempotency-Key
    for order_id in range(1, ORDERS + 1):
        service.add_order(order_id)
    for _ in range(2):
        service.workers.start()
    assert wait_for(lambda: service.redis.scard(inbox.DISPATCHERS_KEY) == 2, 30)

    answers: dict[int, int] = {}

    def send_all() -> None:
        for order_id in range(1, ORDERS + 1):
            answers[order_id] = service.send(
                "store/order/created", order_id
            ).status_code

    sender = threading.Thread(target=send_all, daemon=True)
    sender.start()
    kills = 0
    rng = random.Random(7)
    while sender.is_alive():
        time.sleep(KILL_EVERY_SECONDS)
        alive = [p for p in service.workers.processes if p.poll() is None]
        service.workers.kill(rng.choice(alive), signal.SIGKILL)
        kills += 1
        service.workers.start()
    sender.join()

    def all_imported() -> bool:
        return state.imported_count(service.redis, CONNECTION) >= ORDERS

    began = time.monotonic()
    done = wait_for(all_imported, 150)
    seconds = time.monotonic() - began
    log = service.workers.output()
    assert done, (
        f"{state.imported_count(service.redis, CONNECTION)} of {ORDERS} imported, "
        f"inbox {service.redis.llen(inbox.INBOX_KEY)}\n" + log[-4000:]
    )
    time.sleep(1.0)  # a late duplicate push would arrive in this second

    assert set(answers.values()) == {200}
    accepted = sorted(p.order_id for p in service.hub.pushes if p.succeeded)
    assert accepted == list(range(1, ORDERS + 1))
    put_back = [
        int(line.split(" inbox events")[0].rsplit('"', 1)[-1])
        for line in log.splitlines()
        if "inbox events of a stopped dispatcher put back" in line
    ]
    record_fault(
        "SIGKILL during inbox dispatch",
        orders=ORDERS,
        kills=kills,
        events_put_back=sum(put_back),
        imported=state.imported_count(service.redis, CONNECTION),
        pushes=len(service.hub.pushes),
        accepted_pushes=len(accepted),
        seconds_to_import_all_after_last_kill=round(seconds, 1),
    )
