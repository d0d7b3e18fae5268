"""The BigCommerce client on its own: paging, 204, errors by class, no secrets."""

from __future__ import annotations

import pytest

from config.errors import PermanentUpstreamError, RetryableUpstreamError
from sandbox.orders import make_order
from tests.conftest import ACCESS_TOKEN, CREATED, STORE_HASH
from workers.bigcommerce import BigCommerceClient, OrderNotFound


@pytest.fixture
def client(order_path):
    connection = order_path.context.settings.connection("main-store")
    return BigCommerceClient(connection)


def add_orders(order_path, ids):
    for order_id in ids:
        order = make_order(
            order_id,
            date_created=CREATED,
            store_hash=STORE_HASH,
            base_url=order_path.bigcommerce_url,
            line_count=1,
        )
        order_path.store.add_order(STORE_HASH, order)


def test_order_list_pages_until_204(order_path, client):
    add_orders(order_path, range(5001, 5501))
    orders = client.list_pages("/v2/orders", {"min_id": 5000, "sort": "id:asc"})
    pages = [r for r in order_path.store.requests if r.path.endswith("/v2/orders")]
    assert [o["id"] for o in orders] == list(range(5001, 5501))
    assert [r.args["page"] for r in pages] == [["1"], ["2"], ["3"]]


def test_empty_list_is_204_and_empty(order_path, client):
    assert client.list_pages("/v2/orders", {"min_id": 9_000_000}) == []


def test_order_not_found_is_permanent(order_path, client):
    with pytest.raises(OrderNotFound):
        client.get_order(404404)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, RetryableUpstreamError),
        (502, RetryableUpstreamError),
        (503, RetryableUpstreamError),
        (408, RetryableUpstreamError),
        (401, PermanentUpstreamError),
        (403, PermanentUpstreamError),
    ],
)
def test_errors_by_class(order_path, client, status, error):
    add_orders(order_path, [7000])
    order_path.store.inject_fault(r"/v2/orders/7000$", status)
    with pytest.raises(error) as caught:
        client.get_order(7000)
    assert caught.value.status == status


def test_429_without_headers_backs_off(order_path, client, monkeypatch):
    waits = []
    monkeypatch.setattr("workers.bigcommerce.time.sleep", waits.append)
    add_orders(order_path, [7001])
    order_path.store.inject_fault(
        r"/v2/orders/7001$", 429, count=3, rate_limit_headers=False
    )
    assert client.get_order(7001)["id"] == 7001
    assert len(waits) == 3
    assert all(1.0 <= wait <= 60.0 for wait in waits)


@pytest.mark.parametrize("reset", ["0", "-5", "NaN", "inf", "soon", ""])
def test_429_with_odd_reset_header_still_waits(order_path, client, monkeypatch, reset):
    waits = []
    monkeypatch.setattr("workers.bigcommerce.time.sleep", waits.append)
    add_orders(order_path, [7002])
    order_path.store.inject_fault(
        r"/v2/orders/7002$", 429, headers={"X-Rate-Limit-Time-Reset-Ms": reset}
    )
    client.get_order(7002)
    assert len(waits) == 1
    assert waits[0] >= 0.1


def test_429_forever_gives_up_retryable(order_path, client, monkeypatch):
    monkeypatch.setattr("workers.bigcommerce.time.sleep", lambda seconds: None)
    add_orders(order_path, [7003])
    order_path.store.inject_fault(r"/v2/orders/7003$", 429, count=50)
    with pytest.raises(RetryableUpstreamError):
        client.get_order(7003)


def test_long_reset_fails_attempt_without_sleeping(order_path, client, monkeypatch):
    waits = []
    monkeypatch.setattr("workers.bigcommerce.time.sleep", waits.append)
    add_orders(order_path, [7004])
    order_path.store.inject_fault(
        r"/v2/orders/7004$", 429, headers={"X-Rate-Limit-Time-Reset-Ms": "3600000"}
    )
    with pytest.raises(RetryableUpstreamError, match="rate limit resets in 3600 s"):
        client.get_order(7004)
    assert waits == []


def test_unreachable_store_error_has_no_token(order_path, monkeypatch):
    monkeypatch.setenv("BIGCOMMERCE_API_URL", "http://127.0.0.1:9")
    connection = order_path.context.settings.connection("main-store")
    with pytest.raises(RetryableUpstreamError) as caught:
        BigCommerceClient(connection).get_order(1)
    assert "unreachable" in str(caught.value)
    assert ACCESS_TOKEN not in str(caught.value)
