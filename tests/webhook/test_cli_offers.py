"""The offers commands: push a file of offers, show a SKU's result."""

from __future__ import annotations

import json

import pytest
from redis import Redis
from rq import Queue

from tests.conftest import STORE_HASH, QuickWorker
from webhook import create_app
from workers.context import ServiceContext
from workers.queueing import OFFER_QUEUE

SETTINGS = """
offers:
  attribute_mapping:
    title: name
    price: price
    weight_kg: weight
"""


@pytest.fixture
def path(order_path_factory):
    return order_path_factory(connection_settings=SETTINGS)


@pytest.fixture
def runner(path):
    return create_app(context=path.context).test_cli_runner()


def offers_file(tmp_path, count, connection="main-store"):
    offers = [
        {
            "sku": f"FILE-{index}",
            "attributes": {"title": f"Item {index}", "price": 3, "weight_kg": 1},
        }
        for index in range(count)
    ]
    target = tmp_path / "offers.json"
    target.write_text(json.dumps({"connection": connection, "offers": offers}))
    return target


def test_push_queues_more_than_one_request_holds(runner, path, tmp_path):
    result = runner.invoke(args=["offers", "push", str(offers_file(tmp_path, 130))])
    queue = Queue(OFFER_QUEUE, connection=path.redis)
    assert result.exit_code == 0, result.output
    assert queue.count == 130
    assert "130 offer(s) queued for main-store" in result.output
    assert "FILE-129: pending (job offer-main-store-" in result.output


def test_push_then_show_result(runner, path, tmp_path):
    runner.invoke(args=["offers", "push", str(offers_file(tmp_path, 2))])
    queue = Queue(OFFER_QUEUE, connection=path.redis)
    QuickWorker([queue], connection=path.redis).work(burst=True)
    result = runner.invoke(args=["offers", "show", "main-store", "FILE-1"])
    shown = json.loads(result.output)
    product = path.store.catalog.product_by_sku(STORE_HASH, "FILE-1")
    assert result.exit_code == 0, result.output
    assert shown["result"] == "created"
    assert shown["product_id"] == product["id"]


def test_push_invalid_file_lists_errors(runner, path, tmp_path):
    target = tmp_path / "bad.json"
    target.write_text(
        json.dumps({"connection": "main-store", "offers": [{"sku": "A"}, {"x": 1}]})
    )
    result = runner.invoke(args=["offers", "push", str(target)])
    assert result.exit_code == 1
    assert "offers[1].sku: Missing data for required field." in result.output
    assert "offers[1].x: Unknown field." in result.output
    assert Queue(OFFER_QUEUE, connection=path.redis).count == 0


def test_push_not_json(runner, path, tmp_path):
    target = tmp_path / "bad.json"
    target.write_text("{")
    result = runner.invoke(args=["offers", "push", str(target)])
    assert result.exit_code == 1
    assert "body: invalid JSON: " in result.output


def test_push_unknown_connection(runner, path, tmp_path):
    target = offers_file(tmp_path, 1, connection="other")
    result = runner.invoke(args=["offers", "push", str(target)])
    assert result.exit_code == 1
    assert "unknown connection 'other'" in result.output


def test_show_unknown_sku(runner, path):
    result = runner.invoke(args=["offers", "show", "main-store", "NOPE"])
    assert result.exit_code == 1
    assert "no offer with SKU 'NOPE' for main-store" in result.output


def test_status_counts_offers(runner, path, tmp_path):
    runner.invoke(args=["offers", "push", str(offers_file(tmp_path, 3))])
    queue = Queue(OFFER_QUEUE, connection=path.redis)
    QuickWorker([queue], connection=path.redis).work(burst=True, max_jobs=2)
    result = runner.invoke(args=["status"])
    assert result.exit_code == 0, result.output
    assert "  offers: 2 created, 1 pending; waiting jobs: 1, failed jobs: 0" in (
        result.output
    )


def test_unreachable_redis_is_one_line(path):
    redis = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1)
    context = ServiceContext(settings_file=str(path.settings_path), redis=redis)
    runner = create_app(context=context).test_cli_runner()
    for args in (["status"], ["offers", "show", "main-store", "X"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 1, args
        assert result.output.startswith("Error: Redis unreachable: "), result.output
        assert "set REDIS_URL to the service's Redis" in result.output
        assert "Traceback" not in result.output


def test_missing_settings_is_one_line(redis, tmp_path):
    context = ServiceContext(settings_file=str(tmp_path / "none.yaml"), redis=redis)
    runner = create_app(context=context).test_cli_runner()
    result = runner.invoke(args=["offers", "show", "main-store", "X"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: no valid settings: ")
    assert "set SETTINGS_PATH to a valid settings file" in result.output
