"""Fault tests: BigCommerce disabled the order hooks, so no webhook arrives.

The worker's maintenance task checks the hooks every ``HOOK_CHECK_MINUTES`` and
re-enables inactive ones, and it polls the recently modified orders every
``reconcile.interval_minutes``. Orders created while the hooks are down must
still reach the hub, at the latest with the next periodic poll.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import pytest
from rq import Queue
from rq.registry import StartedJobRegistry

from config.loader import load_settings
from sandbox.dates import now_rfc2822
from tests.conftest import CONNECTION, STORE_HASH
from tests.faults.conftest import Service, wait_for
from webhook import create_app
from workers import state
from workers.context import ServiceContext
from workers.hooks import HOOK_SCOPES, hook_check_key, sync_hooks
from workers.queueing import ORDER_QUEUE
from workers.reconcile import last_poll_key

pytestmark = pytest.mark.slow

PUBLIC_URL = "https://sync.example.com"
DESTINATION = f"{PUBLIC_URL}/webhooks/bigcommerce"
INTERVAL_SECONDS = 60
HOOK_SETTINGS = (
    f"public_url: {PUBLIC_URL}\n"
    f"reconcile:\n  interval_minutes: {INTERVAL_SECONDS // 60}\n"
)
# The first check runs at the first maintenance tick. The second one comes 75 s
# later, after the periodic poll that follows the first poll by 60 s, so the
# poll alone has to import the orders of the second outage.
HOOK_CHECK_MINUTES = "1.25"
# Allowance for the maintenance tick (1 s), queueing, the poll and the order jobs.
MARGIN_SECONDS = 10


def create_service_hooks(settings_path: Path) -> None:
    """Create the four order hooks as ``hooks sync`` does, through the stand-in."""
    settings = load_settings(str(settings_path))
    connection = settings.connection(CONNECTION)
    assert connection is not None
    report = sync_hooks(connection, settings.public_url)
    assert report.active


def order_hooks(service: Service) -> list[dict]:
    return [
        hook
        for hook in service.store.hooks(STORE_HASH)
        if hook["scope"] in HOOK_SCOPES and hook["destination"] == DESTINATION
    ]


def disable_hooks(service: Service) -> None:
    """Deactivate every order hook, as BigCommerce does after failed deliveries."""
    for hook in order_hooks(service):
        service.store.set_hook_active(STORE_HASH, hook["id"], False)


def hooks_active(service: Service) -> bool:
    hooks = order_hooks(service)
    return len(hooks) == len(HOOK_SCOPES) and all(h["is_active"] for h in hooks)


def add_orders_without_webhooks(service: Service, order_ids: range) -> None:
    """Create orders now; no webhook is sent, because the hooks are down."""
    now = now_rfc2822()
    for order_id in order_ids:
        service.add_order(order_id, date_created=now, date_modified=now)


def all_imported(service: Service, order_ids: range) -> bool:
    return all(
        state.is_imported(service.redis, CONNECTION, order_id) for order_id in order_ids
    )


def queue_idle(service: Service) -> bool:
    queue = Queue(ORDER_QUEUE, connection=service.redis)
    return queue.count == 0 and StartedJobRegistry(queue=queue).count == 0


def last_poll_at(service: Service) -> float:
    """Return when the last successful poll finished, as Unix epoch seconds."""
    raw = service.redis.get(last_poll_key(CONNECTION))
    assert raw is not None, "no poll has finished yet"
    return dt.datetime.fromisoformat(json.loads(raw)["at"]).timestamp()


def imported_at(service: Service, order_ids: range) -> float:
    """Return when the hub received the last of these orders, as Unix epoch seconds."""
    times = [
        push.time
        for push in service.hub.pushes
        if push.order_id in order_ids and push.status < 300
    ]
    assert len(times) == len(order_ids)
    return max(times)


def test_outage_orders_imported_by_next_poll(service_factory, record_fault):
    service = service_factory(
        append=HOOK_SETTINGS, extra_env={"HOOK_CHECK_MINUTES": HOOK_CHECK_MINUTES}
    )
    create_service_hooks(service.settings_path)
    disable_hooks(service)
    before_start = range(7001, 7004)
    add_orders_without_webhooks(service, before_start)
    started = time.time()
    service.workers.start()

    # The first tick polls and checks the hooks. The check re-enables them and
    # queues a catch-up poll of the last 48 hours.
    assert wait_for(lambda: hooks_active(service), timeout=20), order_hooks(service)
    assert wait_for(lambda: all_imported(service, before_start), timeout=20)
    first_import_seconds = imported_at(service, before_start) - started
    check = json.loads(service.redis.get(hook_check_key(CONNECTION)))
    assert check["disabled_found"] is True
    assert check["active"] is True
    assert sorted(check["repaired"]) == sorted(HOOK_SCOPES)
    assert wait_for(lambda: queue_idle(service), timeout=20)

    # Second outage, right after a poll: the next periodic poll is a whole
    # interval away, and the next hook check comes later still.
    disable_hooks(service)
    during_outage = range(7101, 7106)
    created = time.time()
    add_orders_without_webhooks(service, during_outage)
    previous_poll = last_poll_at(service)
    assert created - previous_poll < MARGIN_SECONDS

    imported = wait_for(
        lambda: all_imported(service, during_outage),
        timeout=INTERVAL_SECONDS + MARGIN_SECONDS,
        step=0.5,
    )
    hooks_still_down = not any(h["is_active"] for h in order_hooks(service))
    count = sum(
        state.is_imported(service.redis, CONNECTION, order_id)
        for order_id in during_outage
    )
    seconds_to_import = (
        imported_at(service, during_outage) - created if imported else None
    )
    record_fault(
        "hooks disabled",
        orders=len(during_outage),
        imported=count,
        seconds_to_import=seconds_to_import,
        interval_s=INTERVAL_SECONDS,
        seconds_after_previous_poll=round(created - previous_poll, 3),
        orders_before_worker_start=len(before_start),
        seconds_to_import_before_worker_start=round(first_import_seconds, 3),
    )
    assert imported, (
        f"{count} of {len(during_outage)} orders imported within one interval:\n"
        + service.workers.output()[-4000:]
    )
    assert seconds_to_import is not None
    assert seconds_to_import <= INTERVAL_SECONDS + MARGIN_SECONDS
    # Nothing but the periodic poll could have found them: the hooks were
    # still inactive, and no webhook was sent.
    assert hooks_still_down
    output = service.workers.output()
    for order_id in during_outage:
        assert (
            f"order {order_id} imported (connection={CONNECTION} scope=reconcile"
            in output
        )

    assert wait_for(lambda: hooks_active(service), timeout=30), order_hooks(service)
    assert len(order_hooks(service)) == len(HOOK_SCOPES)
    assert len({push.order_id for push in service.hub.pushes}) == 8


@pytest.mark.parametrize("existing", ["none", "inactive"])
def test_hooks_sync_twice_keeps_four_hooks(
    redis, fake_store, bigcommerce_server, write_settings, existing
):
    path = write_settings()
    path.write_text(path.read_text() + HOOK_SETTINGS)
    if existing == "inactive":
        create_service_hooks(path)
        for hook in fake_store.hooks(STORE_HASH):
            fake_store.set_hook_active(STORE_HASH, hook["id"], False)
    context = ServiceContext(settings_file=str(path), redis=redis)
    runner = create_app(context=context).test_cli_runner()

    outputs = []
    for _ in range(2):
        result = runner.invoke(args=["hooks", "sync"])
        assert result.exit_code == 0, result.output
        outputs.append(result.output)

    hooks = fake_store.hooks(STORE_HASH)
    assert sorted(hook["scope"] for hook in hooks) == sorted(HOOK_SCOPES)
    assert all(hook["is_active"] for hook in hooks)
    assert {hook["destination"] for hook in hooks} == {DESTINATION}
    second_run = [line.split()[0] for line in outputs[1].splitlines()[1:]]
    assert second_run == ["unchanged"] * len(HOOK_SCOPES), outputs[1]
