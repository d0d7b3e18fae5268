"""The BigCommerce stand-in's responses checked against the Orders V2 reference."""

import pytest
import requests

from sandbox.fixtures import ACCESS_TOKEN, STORE_HASH
from sandbox.orders import make_order
from tests.contract.openapi import (
    ContractError,
    orders_v2_document,
    schema_property_names,
    validate_v2_order_response,
    validate_v2_query,
)

AUTH = {"X-Auth-Token": ACCESS_TOKEN}

ORDER_VARIANTS = {
    700: {},
    701: {"customer_id": 0, "custom_product_lines": 1},
    702: {"coupon_codes": ["SPRING5", "LOYAL5"], "line_count": 3},
    703: {"shipping_address_count": 2, "line_count": 5, "items_shipped": 2},
    704: {"shipping_address_count": 0, "status_id": 10},
    705: {"line_count": 73, "status_id": 9},
}
ARCHIVED_ORDER_ID = 706

# Listed in order_Resp but absent from BigCommerce's own order examples; they
# appear only with include=consignments or include=fees. A {url, resource} link
# for consignments would also match both branches of the schema's oneOf.
OPTIONAL_ORDER_FIELDS = {"consignments", "fees"}


@pytest.fixture
def filled_store(fake_store):
    orders_v2_document()  # skips here, before any work, when the file is missing
    for order_id, options in ORDER_VARIANTS.items():
        fake_store.add_order(STORE_HASH, make_order(order_id, **options))
    fake_store.add_order(STORE_HASH, make_order(ARCHIVED_ORDER_ID, is_deleted=True))
    return fake_store


def get_json(server, path, **params):
    url = f"{server.url}/stores/{STORE_HASH}/v2{path}"
    response = requests.get(url, headers=AUTH, params=params, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def get_all_pages(server, path):
    items = []
    page = 1
    while True:
        url = f"{server.url}/stores/{STORE_HASH}/v2{path}"
        response = requests.get(url, headers=AUTH, params={"page": page}, timeout=5)
        if response.status_code == 204:
            return items
        assert response.status_code == 200, response.text
        items += response.json()
        page += 1


@pytest.mark.parametrize("order_id", [*ORDER_VARIANTS, ARCHIVED_ORDER_ID])
def test_order_matches_schema(filled_store, bigcommerce_server, order_id):
    order = get_json(bigcommerce_server, f"/orders/{order_id}")

    validate_v2_order_response("order", order)


def test_order_has_every_schema_field(filled_store, bigcommerce_server):
    order = get_json(bigcommerce_server, "/orders/700")

    declared = schema_property_names(
        orders_v2_document(), "#/components/schemas/order_Resp"
    )
    assert declared - set(order) == OPTIONAL_ORDER_FIELDS


@pytest.mark.parametrize(
    "params",
    [{}, {"is_deleted": "true"}, {"sort": "date_modified:asc", "limit": 2}],
)
def test_order_list_matches_schema(filled_store, bigcommerce_server, params):
    orders = get_json(bigcommerce_server, "/orders", **params)

    validate_v2_order_response("orders", orders)


@pytest.mark.parametrize("order_id", list(ORDER_VARIANTS))
@pytest.mark.parametrize("kind", ["products", "shipping_addresses", "coupons"])
def test_sub_resource_matches_schema(filled_store, bigcommerce_server, kind, order_id):
    items = get_all_pages(bigcommerce_server, f"/orders/{order_id}/{kind}")

    if items:
        validate_v2_order_response(kind, items)


@pytest.mark.parametrize(
    ("kind", "schema_name", "order_id"),
    [
        ("products", "orderProducts", 701),
        ("shipping_addresses", "orderShippingAddress", 700),
        ("coupons", "orderCoupons_Base", 702),
    ],
)
def test_sub_resource_has_every_schema_field(
    filled_store, bigcommerce_server, kind, schema_name, order_id
):
    items = get_json(bigcommerce_server, f"/orders/{order_id}/{kind}")

    declared = schema_property_names(
        orders_v2_document(), f"#/components/schemas/{schema_name}"
    )
    for item in items:
        assert declared - set(item) == set()


def test_custom_product_line_matches_schema():
    lines = make_order(710, line_count=1, custom_product_lines=1).products

    validate_v2_order_response("products", lines)
    assert lines[0]["product_id"] == 0


@pytest.mark.parametrize(
    ("kind", "break_body"),
    [
        ("order", lambda body: body.update(status_id="11")),
        ("order", lambda body: body.update(items_total="2")),
        ("order", lambda body: body["billing_address"].pop("zip")),
        ("products", lambda body: body[0].update(colour="red")),
        ("products", lambda body: body[0].update(quantity="1")),
        ("shipping_addresses", lambda body: body[0].update(items_total="1")),
        ("coupons", lambda body: body[0].update(type=9)),
    ],
    ids=[
        "status-id-string",
        "items-total-string",
        "billing-zip-missing",
        "product-extra-field",
        "quantity-string",
        "address-items-string",
        "coupon-type-unknown",
    ],
)
def test_schema_rejects_broken_body(kind, break_body):
    store_order = make_order(720, coupon_codes=["SPRING5"])
    body = {
        "order": store_order.order,
        "products": store_order.products,
        "shipping_addresses": store_order.shipping_addresses,
        "coupons": store_order.coupons,
    }[kind]
    break_body(body)

    with pytest.raises(ContractError):
        validate_v2_order_response(kind, body)


def test_poll_query_is_documented(fake_store, bigcommerce_server):
    orders_v2_document()
    url = f"{bigcommerce_server.url}/stores/{STORE_HASH}/v2/orders"
    params = {
        "min_date_modified": "2025-01-06T10:00:00+01:00",
        "sort": "date_modified:asc",
        "limit": 250,
        "page": 1,
    }
    requests.get(url, headers=AUTH, params=params, timeout=5)

    (record,) = fake_store.requests
    validate_v2_query("orders", record.args)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"is_deleted": "true"}, "is_deleted: not a documented"),
        ({"sort": "total:asc"}, "sort="),
        ({"sort": "id:up"}, "direction"),
        ({"min_id": "ten"}, "min_id"),
    ],
)
def test_query_check_rejects(args, message):
    with pytest.raises(ContractError, match=message):
        validate_v2_query("orders", args)


def test_query_check_allows_listed_extras():
    validate_v2_query(
        "orders", {"is_deleted": "true"}, allow_undocumented={"is_deleted"}
    )
