"""Hostile webhook bodies: huge numbers, deep nesting, unpaired surrogates."""

from __future__ import annotations

import pytest
from rq import Queue

from tests.conftest import STORE_HASH, WEBHOOK_TOKEN
from webhook import create_app
from workers.queueing import ORDER_QUEUE

URL = "/webhooks/bigcommerce"
AUTH = {"X-Webhook-Token": WEBHOOK_TOKEN}
PRODUCER = f"stores/{STORE_HASH}"


@pytest.fixture
def client(write_settings, make_context):
    path = write_settings(filters="min_order_id: 100")
    return create_app(context=make_context(path)).test_client()


def post(client, data: bytes, headers=AUTH):
    return client.post(URL, data=data, headers=headers, content_type="application/json")


def test_order_id_with_more_than_4300_digits_is_400(client, redis):
    """A data.id too long for Python's int parsing is a shape error: 400 with
    a JSON error, never 500."""
    body = (
        b'{"scope":"store/order/created","producer":"' + PRODUCER.encode() + b'",'
        b'"data":{"type":"order","id":1' + b"0" * 5000 + b"}}"
    )
    assert len(body) < 64 * 1024
    response = post(client, body)
    assert response.status_code == 400, response.status_code
    assert "error" in response.get_json()
    assert Queue(ORDER_QUEUE, connection=redis).count == 0


def test_deeply_nested_json_is_400(client, redis):
    """A body nested deeper than the parser's recursion limit is rejected with
    400 and a JSON error, never 500."""
    depth = 30_000
    body = (
        b'{"scope":"store/order/created","producer":"' + PRODUCER.encode() + b'",'
        b'"data":{"type":"order","id":250},"extra":'
        + b"[" * depth
        + b"]" * depth
        + b"}"
    )
    assert len(body) < 64 * 1024
    response = post(client, body)
    assert response.status_code == 400, response.status_code
    assert "error" in response.get_json()
    assert Queue(ORDER_QUEUE, connection=redis).count == 0


def test_ignored_scope_with_lone_surrogate_is_200_ignored(client, redis):
    """An authenticated callback of a non-order scope is answered 200 ignored,
    whatever characters the scope holds; 503 is only for an unreachable Redis.
    A JSON escape \\ud800 yields a lone surrogate that Redis cannot take as a
    key name."""
    body = b'{"scope":"store/product/\\ud800","producer":"' + PRODUCER.encode() + b'"}'
    response = post(client, body)
    assert response.status_code == 200, (response.status_code, response.get_json())
    assert response.get_json() == {"result": "ignored"}
