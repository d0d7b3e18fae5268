import hashlib
import json
import time
from decimal import Decimal

import pytest

from sandbox.orders import (
    ORDER_ARCHIVED,
    ORDER_CREATED,
    ORDER_STATUS_UPDATED,
    ORDER_UPDATED,
    make_order,
    make_webhook,
    rebase_links,
)
from sandbox.seed import sample_orders


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"line_count": 1},
        {"line_count": 73},
        {"line_count": 3, "quantities": [4, 1, 9]},
        {"line_count": 4, "custom_product_lines": 2},
        {"line_count": 5, "shipping_address_count": 2, "items_shipped": 4},
        {"shipping_address_count": 0},
        {"line_count": 0},
    ],
)
def test_make_order_items_total_matches_lines(options):
    store_order = make_order(500, **options)

    order = store_order.order
    lines = store_order.products
    assert order["items_total"] == sum(line["quantity"] for line in lines)
    assert order["items_shipped"] == sum(line["quantity_shipped"] for line in lines)
    assert order["shipping_address_count"] == len(store_order.shipping_addresses)
    address_total = sum(a["items_total"] for a in store_order.shipping_addresses)
    if store_order.shipping_addresses:
        assert address_total == order["items_total"]


def test_make_order_money_is_consistent():
    store_order = make_order(501, line_count=3, coupon_codes=["SAVE5", "EXTRA5"])

    order = store_order.order
    subtotal = sum(Decimal(line["total_ex_tax"]) for line in store_order.products)
    assert Decimal(order["subtotal_ex_tax"]) == subtotal
    assert Decimal(order["coupon_discount"]) == Decimal("10")
    expected_total = subtotal + Decimal(order["shipping_cost_ex_tax"]) - Decimal("10")
    assert Decimal(order["total_ex_tax"]) == expected_total
    assert Decimal(order["total_inc_tax"]) == expected_total + Decimal(
        order["total_tax"]
    )
    assert all(
        len(line["base_price"].split(".")[1]) == 4 for line in store_order.products
    )


def test_make_order_defaults():
    order = make_order(250).order

    assert order["id"] == 250
    assert order["status_id"] == 11
    assert order["status"] == "Awaiting Fulfillment"
    assert order["date_created"] == "Tue, 20 Nov 2012 00:00:00 +0000"
    assert order["date_modified"] == order["date_created"]
    assert order["is_deleted"] is False
    assert order["billing_address"]["email"].endswith("@example.com")
    assert order["products"]["resource"] == "/orders/250/products"
    assert order["shipping_addresses"]["resource"] == "/orders/250/shippingaddresses"
    assert order["coupons"]["resource"] == "/orders/250/coupons"


def test_make_order_links_use_loopback_base():
    order = make_order(250, store_hash="s1").order

    assert (
        order["products"]["url"] == "http://127.0.0.1/stores/s1/v2/orders/250/products"
    )


def test_rebase_links_changes_copy_only():
    store_order = make_order(250)

    rebased = rebase_links(store_order, "http://127.0.0.1:9999/stores/x/v2")

    assert rebased.order["coupons"]["url"] == (
        "http://127.0.0.1:9999/stores/x/v2/orders/250/coupons"
    )
    quotes = rebased.shipping_addresses[0]["shipping_quotes"]["url"]
    assert quotes.startswith("http://127.0.0.1:9999/stores/x/v2/orders/250/")
    assert store_order.order["coupons"]["url"].startswith("http://127.0.0.1/")


def test_custom_product_line():
    store_order = make_order(502, line_count=3, custom_product_lines=1)

    custom = store_order.products[-1]
    assert custom["product_id"] == 0
    assert custom["variant_id"] == 0
    assert custom["sku"] == ""
    assert custom["product_options"] == []
    assert all(line["product_id"] > 0 for line in store_order.products[:-1])


def test_guest_order():
    order = make_order(503, customer_id=0).order

    assert order["customer_id"] == 0
    assert order["billing_address"]["email"]


def test_digital_order_has_no_address():
    store_order = make_order(504, shipping_address_count=0)

    assert store_order.shipping_addresses == []
    assert store_order.order["order_is_digital"] is True
    assert {line["type"] for line in store_order.products} == {"digital"}
    assert {line["order_address_id"] for line in store_order.products} == {0}


def test_lines_spread_over_addresses():
    store_order = make_order(505, line_count=4, shipping_address_count=2)

    address_ids = [address["id"] for address in store_order.shipping_addresses]
    line_addresses = [line["order_address_id"] for line in store_order.products]
    assert line_addresses == [address_ids[0], address_ids[1]] * 2


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"line_count": 2, "quantities": [1]}, "quantities"),
        ({"line_count": 2, "custom_product_lines": 3}, "custom_product_lines"),
        ({"line_count": 2, "quantities": [1, 1], "items_shipped": 3}, "items_shipped"),
        ({"line_count": 1, "quantities": [0]}, "quantity"),
        ({"line_count": 1000}, "line_count"),
    ],
)
def test_make_order_invalid_counts(options, message):
    with pytest.raises(ValueError, match=message):
        make_order(506, **options)


def test_sample_orders_unique_ids():
    ids = [store_order.order_id for store_order in sample_orders()]

    assert len(ids) == len(set(ids))
    assert 950 in ids


@pytest.mark.parametrize("scope", [ORDER_CREATED, ORDER_UPDATED, ORDER_ARCHIVED])
def test_webhook_without_status(scope):
    body = make_webhook(scope, "abc123", 250, created_at=1561479335)

    assert body == {
        "scope": scope,
        "store_id": "1025646",
        "data": {"type": "order", "id": 250},
        "hash": hashlib.sha1(b'{"type":"order","id":250}').hexdigest(),
        "created_at": 1561479335,
        "producer": "stores/abc123",
    }


def test_webhook_status_updated():
    body = make_webhook(
        ORDER_STATUS_UPDATED, "abc123", 250, previous_status_id=1, new_status_id=11
    )

    assert body["data"] == {
        "type": "order",
        "id": 250,
        "status": {"previous_status_id": 1, "new_status_id": 11},
    }
    encoded = json.dumps(body["data"], separators=(",", ":")).encode()
    assert body["hash"] == hashlib.sha1(encoded).hexdigest()


def test_webhook_status_updated_without_ids():
    body = make_webhook(ORDER_STATUS_UPDATED, "abc123", 250)

    assert "status" not in body["data"]


def test_webhook_created_at_defaults_to_now():
    before = int(time.time())

    body = make_webhook(ORDER_CREATED, "abc123", 250)

    assert before <= body["created_at"] <= int(time.time())
    assert isinstance(body["created_at"], int)


def test_webhook_status_ids_need_status_scope():
    with pytest.raises(ValueError, match="statusUpdated"):
        make_webhook(ORDER_CREATED, "abc123", 250, new_status_id=11)
