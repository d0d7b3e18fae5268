"""The backfill and status commands against the stand-ins and a real Redis."""

from __future__ import annotations

import pytest
from rq import Queue

from webhook import create_app
from workers import state
from workers.queueing import ORDER_QUEUE

CONNECTION = "main-store"


@pytest.fixture
def runner(order_path):
    return create_app(context=order_path.context).test_cli_runner()


def add_history(order_path) -> None:
    order_path.add_order(50)  # below min_order_id 100
    order_path.add_order(101, date_created="Tue, 31 Dec 2024 22:59:59 +0000")
    order_path.add_order(102, date_created="Tue, 31 Dec 2024 23:30:00 +0000")
    order_path.add_order(103, status_id=7)
    order_path.add_order(104)
    order_path.add_order(105)


def queued_orders(redis) -> list[int]:
    return sorted(
        job.args[1] for job in Queue(ORDER_QUEUE, connection=redis).get_jobs()
    )


def test_backfill_pushes_floors_down_encoded(runner, order_path):
    add_history(order_path)
    result = runner.invoke(args=["backfill", CONNECTION])
    (listing,) = [
        r
        for r in order_path.store.requests
        if r.path.endswith("/v2/orders") and r.args.get("page") == ["1"]
    ]
    assert result.exit_code == 0, result.output
    assert listing.args["min_id"] == ["100"]
    assert listing.args["min_date_created"] == ["2025-01-01T00:00:00+01:00"]
    assert "min_date_created=2025-01-01T00%3A00%3A00%2B01%3A00" in listing.query_string
    assert queued_orders(order_path.redis) == [102, 104, 105]
    assert "backfill of main-store: 4 listed, 3 queued, 1 skipped" in result.output


def test_backfill_then_worker_imports(runner, order_path):
    add_history(order_path)
    runner.invoke(args=["backfill", CONNECTION])
    order_path.run_jobs()
    again = runner.invoke(args=["backfill", CONNECTION])
    assert sorted(p.order_id for p in order_path.hub.pushes) == [102, 104, 105]
    assert "3 already imported" in again.output
    assert queued_orders(order_path.redis) == []


def test_backfill_dry_run_queues_nothing(runner, order_path):
    add_history(order_path)
    result = runner.invoke(args=["backfill", CONNECTION, "--dry-run"])
    assert result.exit_code == 0
    assert (
        "order 103: skipped: status 7 awaiting_payment is not enabled" in result.output
    )
    assert "order 104: accepted: all rules pass" in result.output
    assert queued_orders(order_path.redis) == []


def test_backfill_since_overrides_created_from(runner, order_path):
    add_history(order_path)
    result = runner.invoke(args=["backfill", CONNECTION, "--since", "2025-01-06"])
    (listing,) = [
        r
        for r in order_path.store.requests
        if r.path.endswith("/v2/orders") and r.args.get("page") == ["1"]
    ]
    assert result.exit_code == 0
    assert listing.args["min_date_created"] == ["2025-01-06T00:00:00+01:00"]


def test_backfill_bad_order_does_not_stop(runner, order_path):
    add_history(order_path)
    order_path.store.update_order("abc123", 104, status_id="eleven")
    result = runner.invoke(args=["backfill", CONNECTION])
    assert result.exit_code == 0
    assert "order 104: invalid" in result.output
    assert queued_orders(order_path.redis) == [102, 105]


def test_backfill_unknown_connection(runner):
    result = runner.invoke(args=["backfill", "nope"])
    assert result.exit_code == 1
    assert "unknown connection 'nope'" in result.output


def test_status_reports_counts(runner, order_path):
    add_history(order_path)
    order_path.hub.reject_order(105, 400, "bad data")
    runner.invoke(args=["backfill", CONNECTION])
    order_path.run_jobs()
    order_path.send("store/order/created", 106)
    result = runner.invoke(args=["status"])
    assert result.exit_code == 0
    assert "connection main-store" in result.output
    assert "  waiting jobs: 1" in result.output
    assert "  failed jobs: 1" in result.output
    assert "  imported orders: 2" in result.output
    assert "  last catch-up poll: never" in result.output
    assert "  webhooks: not checked yet" in result.output
    assert "  offers: none pushed; waiting jobs: 0, failed jobs: 0" in result.output
    assert state.imported_count(order_path.redis, CONNECTION) == 2
