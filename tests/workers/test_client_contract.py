"""The BigCommerce client's requests against BigCommerce's OpenAPI reference.

Skipped, with the folder named, when the reference files are not present.
"""

from __future__ import annotations

import re

import pytest

from tests.contract.openapi import orders_v2_document, validate_v2_query

KINDS = (
    (re.compile(r"/v2/orders/\d+/products$"), "products"),
    (re.compile(r"/v2/orders/\d+/shipping_addresses$"), "shipping_addresses"),
    (re.compile(r"/v2/orders/\d+/coupons$"), "coupons"),
    (re.compile(r"/v2/orders/\d+$"), "order"),
    (re.compile(r"/v2/orders$"), "orders"),
)


def kind_of(path: str) -> str:
    for pattern, kind in KINDS:
        if pattern.search(path):
            return kind
    raise AssertionError(f"request to an unexpected path: {path}")


def test_order_job_requests_are_documented(order_path):
    orders_v2_document()  # skips when the reference folder is missing
    order_path.add_order(250, line_count=300, coupon_codes=("SAVE10",))
    order_path.send("store/order/created", 250)
    order_path.run_jobs()
    records = order_path.store.requests
    kinds = sorted(kind_of(record.path) for record in records)
    assert kinds == ["coupons", "order", "products", "products", "shipping_addresses"]
    for record in records:
        assert record.method == "GET"
        assert record.headers.get("X-Auth-Token")
        assert record.headers.get("Accept") == "application/json"
        validate_v2_query(kind_of(record.path), record.args)


@pytest.mark.parametrize("line_count", [1, 250, 251])
def test_page_requests_stop_at_short_page(order_path, line_count):
    order_path.add_order(260, line_count=line_count)
    order_path.send("store/order/created", 260)
    order_path.run_jobs()
    pages = [
        r.args["page"]
        for r in order_path.store.requests
        if r.path.endswith("/products")
    ]
    expected = [["1"]] if line_count < 250 else [["1"], ["2"]]
    assert pages == expected
