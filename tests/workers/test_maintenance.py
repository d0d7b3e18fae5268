"""The maintenance loop's leader election and task queueing, and job replay."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from rq import Queue
from rq.registry import FailedJobRegistry

from webhook import create_app
from workers import state
from workers.maintenance import MaintenanceLoop
from workers.queueing import ORDER_QUEUE

CONNECTION = "main-store"


@pytest.fixture
def loop_factory(redis_server, write_settings, monkeypatch):
    monkeypatch.setenv("HOOK_CHECK_MINUTES", "60")

    def build(append: str = "") -> MaintenanceLoop:
        path = write_settings()
        path.write_text(path.read_text() + append)
        return MaintenanceLoop(str(path), redis_server.url)

    return build


def queued_functions(redis) -> list[str]:
    return [job.func_name for job in Queue(ORDER_QUEUE, connection=redis).get_jobs()]


def test_only_one_loop_leads(loop_factory, redis):
    first, second = loop_factory(), loop_factory()
    assert first.run_once() is True
    assert second.run_once() is False
    assert first.run_once() is True


def test_poll_queued_once_per_interval(loop_factory, redis):
    loop = loop_factory("reconcile:\n  interval_minutes: 1\n")
    loop.run_once()
    loop.run_once()
    assert queued_functions(redis) == ["workers.reconcile.reconcile_connection"]


def test_no_poll_when_interval_zero(loop_factory, redis):
    loop_factory("reconcile:\n  interval_minutes: 0\n").run_once()
    assert queued_functions(redis) == []


def test_hook_check_needs_public_url(loop_factory, redis):
    loop = loop_factory(
        "reconcile:\n  interval_minutes: 0\npublic_url: https://sync.example.com\n"
    )
    loop.run_once()
    loop.run_once()
    assert queued_functions(redis) == ["workers.hooks.check_hooks_job"]


def test_poll_not_queued_before_due(loop_factory, redis):
    loop = loop_factory("reconcile:\n  interval_minutes: 10\n")
    now = dt.datetime.now(dt.UTC)
    redis.set(
        f"sync:reconcile:last:{CONNECTION}",
        json.dumps({"at": now.isoformat(), "listed": 0}),
    )
    loop.run_once(now=now + dt.timedelta(minutes=5))
    assert queued_functions(redis) == []


def test_replay_failed_imports_after_fix(order_path):
    order_path.add_order(700)
    order_path.hub.reject_order(700, 400, "unknown country")
    order_path.send("store/order/created", 700)
    order_path.run_jobs()
    queue = Queue(ORDER_QUEUE, connection=order_path.redis)
    assert len(FailedJobRegistry(queue=queue).get_job_ids()) == 1

    order_path.hub.clear_rejection(700)  # the order's data was fixed in the hub
    runner = create_app(context=order_path.context).test_cli_runner()
    other = runner.invoke(args=["replay-failed", "--connection", "other"])
    result = runner.invoke(args=["replay-failed", "--connection", CONNECTION])
    order_path.run_jobs()
    assert other.exit_code == 1
    assert result.exit_code == 0
    assert "1 failed job(s) replayed" in result.output
    assert state.is_imported(order_path.redis, CONNECTION, 700)
    assert FailedJobRegistry(queue=queue).get_job_ids() == []
    assert order_path.redis.hget(state.failure_key(CONNECTION), "700") is None
