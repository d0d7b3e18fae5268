import datetime as dt
import time
from email.utils import parsedate_to_datetime

import pytest
import requests

from sandbox.bigcommerce import create_bigcommerce_app
from sandbox.dates import format_rfc2822
from sandbox.fixtures import ACCESS_TOKEN, STORE_HASH
from sandbox.orders import make_order
from sandbox.server import serve_in_thread
from sandbox.store import FakeStore

AUTH = {"X-Auth-Token": ACCESS_TOKEN}
RATE_LIMIT_HEADERS = (
    "X-Rate-Limit-Requests-Left",
    "X-Rate-Limit-Requests-Quota",
    "X-Rate-Limit-Time-Reset-Ms",
    "X-Rate-Limit-Time-Window-Ms",
)


def api(server, path):
    return f"{server.url}/stores/{STORE_HASH}/v2{path}"


def get(server, path, *, headers=AUTH, **params):
    return requests.get(api(server, path), headers=headers, params=params, timeout=5)


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


# --- single order and its sub-resources ---------------------------------------


def test_order_returned_with_local_links(fake_store, bigcommerce_server):
    fake_store.add_order(STORE_HASH, make_order(250))

    response = get(bigcommerce_server, "/orders/250")

    assert response.status_code == 200
    order = response.json()
    assert order["id"] == 250
    base = api(bigcommerce_server, "")
    assert order["products"] == {
        "url": f"{base}/orders/250/products",
        "resource": "/orders/250/products",
    }
    assert order["shipping_addresses"]["url"] == f"{base}/orders/250/shippingaddresses"
    assert order["coupons"]["url"] == f"{base}/orders/250/coupons"


def test_order_not_found_body(bigcommerce_server):
    response = get(bigcommerce_server, "/orders/999")

    assert response.status_code == 404
    assert response.json() == [
        {"status": 404, "message": "The requested resource was not found."}
    ]


@pytest.mark.parametrize("name", ["products", "shipping_addresses", "coupons"])
def test_sub_resource_of_missing_order_404(bigcommerce_server, name):
    response = get(bigcommerce_server, f"/orders/999/{name}")

    assert response.status_code == 404
    assert response.json()[0]["status"] == 404


def test_products_paged_50_then_23_then_204(fake_store, bigcommerce_server):
    fake_store.add_order(STORE_HASH, make_order(300, line_count=73))

    first = get(bigcommerce_server, "/orders/300/products")
    second = get(bigcommerce_server, "/orders/300/products", page=2)
    third = get(bigcommerce_server, "/orders/300/products", page=3)

    assert first.status_code == 200
    assert len(first.json()) == 50
    assert second.status_code == 200
    assert len(second.json()) == 23
    assert third.status_code == 204
    assert third.content == b""
    lines = first.json() + second.json()
    assert len({line["id"] for line in lines}) == 73
    order = get(bigcommerce_server, "/orders/300").json()
    assert sum(line["quantity"] for line in lines) == order["items_total"]


def test_products_limit_parameter(fake_store, bigcommerce_server):
    fake_store.add_order(STORE_HASH, make_order(301, line_count=5))

    response = get(bigcommerce_server, "/orders/301/products", limit=2, page=3)

    assert response.status_code == 200
    assert [line["id"] for line in response.json()] == [301005]


def test_no_coupons_gives_204_empty_body(fake_store, bigcommerce_server):
    fake_store.add_order(STORE_HASH, make_order(302))

    response = get(bigcommerce_server, "/orders/302/coupons")

    assert response.status_code == 204
    assert response.content == b""
    assert "Content-Type" not in response.headers


def test_coupons_listed(fake_store, bigcommerce_server):
    fake_store.add_order(STORE_HASH, make_order(303, coupon_codes=["SPRING5"]))

    response = get(bigcommerce_server, "/orders/303/coupons")

    assert response.status_code == 200
    assert [coupon["code"] for coupon in response.json()] == ["SPRING5"]


def test_digital_order_shipping_addresses_204(fake_store, bigcommerce_server):
    fake_store.add_order(STORE_HASH, make_order(304, shipping_address_count=0))

    response = get(bigcommerce_server, "/orders/304/shipping_addresses")

    assert response.status_code == 204
    assert response.content == b""


def test_shipping_addresses_link_is_served(fake_store, bigcommerce_server):
    fake_store.add_order(STORE_HASH, make_order(305, shipping_address_count=2))
    order = get(bigcommerce_server, "/orders/305").json()

    by_link = requests.get(order["shipping_addresses"]["url"], headers=AUTH, timeout=5)
    by_path = get(bigcommerce_server, "/orders/305/shipping_addresses")

    assert by_link.status_code == 200
    assert by_link.json() == by_path.json()
    assert [address["order_id"] for address in by_link.json()] == [305, 305]


def test_archived_order_served_by_id(fake_store, bigcommerce_server):
    fake_store.add_order(STORE_HASH, make_order(306, is_deleted=True))

    response = get(bigcommerce_server, "/orders/306")

    assert response.status_code == 200
    assert response.json()["is_deleted"] is True


# --- authentication ----------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "store_hash"),
    [
        ({}, STORE_HASH),
        ({"X-Auth-Token": "wrong-token"}, STORE_HASH),
        ({"X-Auth-Token": ""}, STORE_HASH),
        ({"Authorization": f"Bearer {ACCESS_TOKEN}"}, STORE_HASH),
        (AUTH, "otherstore"),
    ],
    ids=["missing", "wrong", "empty", "bearer-header", "unknown-store"],
)
def test_invalid_token_401(fake_store, bigcommerce_server, headers, store_hash):
    fake_store.add_order(STORE_HASH, make_order(250))
    url = f"{bigcommerce_server.url}/stores/{store_hash}/v2/orders/250"

    response = requests.get(url, headers=headers, timeout=5)

    assert response.status_code == 401
    body = response.json()
    assert body[0]["status"] == 401
    assert body[0]["message"]


def test_token_of_other_store_401(fake_store, bigcommerce_server):
    fake_store.add_store("otherstore", "other-token")
    fake_store.add_order(STORE_HASH, make_order(250))

    response = get(
        bigcommerce_server, "/orders/250", headers={"X-Auth-Token": "other-token"}
    )

    assert response.status_code == 401


# --- order list ----------------------------------------------------------------

MODIFIED_TIMES = {
    401: "Mon, 06 Jan 2025 08:30:00 +0000",
    402: "Mon, 06 Jan 2025 09:00:00 +0000",
    403: "Mon, 06 Jan 2025 09:30:00 +0000",
    404: "Mon, 06 Jan 2025 10:30:00 +0000",
}


@pytest.fixture
def listed_orders(fake_store):
    for order_id, modified in MODIFIED_TIMES.items():
        order = make_order(
            order_id,
            date_created=format_rfc2822(
                dt.datetime(2024, 12, order_id - 400, 12, tzinfo=dt.UTC)
            ),
            date_modified=modified,
        )
        fake_store.add_order(STORE_HASH, order)
    fake_store.add_order(
        STORE_HASH,
        make_order(
            405, is_deleted=True, date_modified="Mon, 06 Jan 2025 11:00:00 +0000"
        ),
    )


def listed_ids(response):
    assert response.status_code == 200, response.text
    return [order["id"] for order in response.json()]


@pytest.mark.parametrize(
    "value",
    [
        "2025-01-06T10:00:00+01:00",
        "2025-01-06T10:00:00.000+01:00",
        "Mon, 06 Jan 2025 10:00:00 +0100",
        "2025-01-06T09:00:00Z",
    ],
)
def test_min_date_modified_offset(bigcommerce_server, listed_orders, value):
    response = get(bigcommerce_server, "/orders", min_date_modified=value)

    assert listed_ids(response) == [402, 403, 404]


def test_min_date_modified_raw_query_logged(
    fake_store, bigcommerce_server, listed_orders
):
    fake_store.clear_requests()

    get(bigcommerce_server, "/orders", min_date_modified="2025-01-06T10:00:00+01:00")

    (record,) = fake_store.requests
    assert record.query_string == "min_date_modified=2025-01-06T10%3A00%3A00%2B01%3A00"
    assert record.args == {"min_date_modified": ["2025-01-06T10:00:00+01:00"]}


@pytest.mark.parametrize(
    "raw_value",
    ["2025-01-06T10:00:00+01:00", "Mon,%2006%20Jan%202025%2010:00:00%20+0100"],
    ids=["iso8601", "rfc2822"],
)
def test_unencoded_plus_rejected(bigcommerce_server, listed_orders, raw_value):
    url = api(bigcommerce_server, f"/orders?min_date_modified={raw_value}")

    response = requests.get(url, headers=AUTH, timeout=5)

    assert response.status_code == 400
    assert "%2B" in response.json()[0]["message"]


@pytest.mark.parametrize(
    ("params", "expected_ids"),
    [
        ({}, [401, 402, 403, 404]),
        ({"min_id": 402}, [402, 403, 404]),
        ({"max_id": 402}, [401, 402]),
        ({"min_id": 402, "max_id": 403}, [402, 403]),
        ({"is_deleted": "true"}, [405]),
        ({"is_deleted": "false"}, [401, 402, 403, 404]),
        ({"max_date_modified": "2025-01-06T09:00:00Z"}, [401, 402]),
        ({"min_date_created": "Tue, 03 Dec 2024 12:00:00 +0000"}, [403, 404]),
        ({"max_date_created": "2024-12-02T13:00:00+01:00"}, [401, 402]),
        ({"sort": "id:desc"}, [404, 403, 402, 401]),
        ({"sort": "date_modified:asc", "min_id": 403}, [403, 404]),
        ({"sort": "date_created:desc"}, [404, 403, 402, 401]),
        ({"status_id": 11}, [401, 402, 403, 404]),
        ({"status_id": 7}, None),
    ],
)
def test_list_orders_filters(bigcommerce_server, listed_orders, params, expected_ids):
    response = get(bigcommerce_server, "/orders", **params)

    if expected_ids is None:
        assert response.status_code == 204
        assert response.content == b""
    else:
        assert listed_ids(response) == expected_ids


def test_list_orders_sorted_by_modification(fake_store, bigcommerce_server):
    fake_store.add_order(
        STORE_HASH, make_order(1, date_modified="Tue, 07 Jan 2025 00:00:00 +0000")
    )
    fake_store.add_order(
        STORE_HASH, make_order(2, date_modified="Mon, 06 Jan 2025 00:00:00 +0000")
    )

    response = get(bigcommerce_server, "/orders", sort="date_modified:asc")

    assert listed_ids(response) == [2, 1]


def test_list_orders_paging(bigcommerce_server, listed_orders):
    pages = [
        get(bigcommerce_server, "/orders", limit=3, page=page) for page in (1, 2, 3)
    ]

    assert listed_ids(pages[0]) == [401, 402, 403]
    assert listed_ids(pages[1]) == [404]
    assert pages[2].status_code == 204
    assert pages[2].content == b""


def test_list_orders_default_limit_50(fake_store, bigcommerce_server):
    for order_id in range(1, 61):
        fake_store.add_order(STORE_HASH, make_order(order_id))

    response = get(bigcommerce_server, "/orders")

    assert len(listed_ids(response)) == 50


def test_list_orders_limit_250(fake_store, bigcommerce_server):
    for order_id in range(1, 261):
        fake_store.add_order(STORE_HASH, make_order(order_id))

    response = get(bigcommerce_server, "/orders", limit=250, page=2)

    assert listed_ids(response) == list(range(251, 261))


def test_empty_store_lists_204(bigcommerce_server):
    response = get(bigcommerce_server, "/orders")

    assert response.status_code == 204
    assert response.content == b""


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 251},
        {"limit": 0},
        {"limit": "ten"},
        {"page": 0},
        {"page": "x"},
        {"min_id": "abc"},
        {"sort": "total:asc"},
        {"sort": "id:up"},
        {"min_date_modified": "yesterday"},
        {"is_deleted": "maybe"},
    ],
)
def test_list_orders_invalid_query_400(bigcommerce_server, listed_orders, params):
    response = get(bigcommerce_server, "/orders", **params)

    assert response.status_code == 400
    assert response.json()[0]["status"] == 400


# --- rate limit --------------------------------------------------------------


def test_rate_limit_headers_on_every_response(fake_store, bigcommerce_server):
    fake_store.add_order(STORE_HASH, make_order(250))

    responses = [
        get(bigcommerce_server, "/orders/250"),
        get(bigcommerce_server, "/orders/250/coupons"),
        get(bigcommerce_server, "/orders/999"),
        get(bigcommerce_server, "/orders/250", headers={}),
    ]

    assert [response.status_code for response in responses] == [200, 204, 404, 401]
    for response in responses:
        for name in RATE_LIMIT_HEADERS:
            assert name in response.headers
    left = [int(r.headers["X-Rate-Limit-Requests-Left"]) for r in responses]
    assert left == [149, 148, 147, 146]
    assert responses[0].headers["X-Rate-Limit-Requests-Quota"] == "150"
    assert responses[0].headers["X-Rate-Limit-Time-Window-Ms"] == "30000"


def test_rate_limit_exhausted_429_then_reset():
    clock = FakeClock()
    store = FakeStore(rate_limit_quota=3, clock=clock)
    store.add_store(STORE_HASH, ACCESS_TOKEN)
    store.add_order(STORE_HASH, make_order(250))

    with serve_in_thread(create_bigcommerce_app(store)) as server:
        allowed = []
        for _ in range(3):
            allowed.append(get(server, "/orders/250"))
            clock.now += 1.0
        limited = get(server, "/orders/250")
        clock.now = 1000.0 + 30.0
        after_reset = get(server, "/orders/250")

    assert [r.status_code for r in allowed] == [200, 200, 200]
    assert [r.headers["X-Rate-Limit-Requests-Left"] for r in allowed] == ["2", "1", "0"]
    assert limited.status_code == 429
    assert limited.json()[0]["status"] == 429
    assert limited.headers["X-Rate-Limit-Requests-Left"] == "0"
    assert limited.headers["X-Rate-Limit-Time-Reset-Ms"] == "27000"
    assert after_reset.status_code == 200


def test_rate_limit_per_store(fake_store, bigcommerce_server):
    fake_store.rate_limit_quota = 1
    fake_store.add_store("otherstore", "other-token")

    first = get(bigcommerce_server, "/orders")
    second = get(bigcommerce_server, "/orders")
    other = requests.get(
        f"{bigcommerce_server.url}/stores/otherstore/v2/orders",
        headers={"X-Auth-Token": "other-token"},
        timeout=5,
    )

    assert first.status_code == 204
    assert second.status_code == 429
    assert other.status_code == 204


# --- fault injection, latency and request log -----------------------------------


def test_fault_hits_next_matching_requests(fake_store, bigcommerce_server):
    fake_store.add_order(STORE_HASH, make_order(250))
    fake_store.inject_fault(r"/orders/250/products$", 503, count=2)

    statuses = [
        get(bigcommerce_server, "/orders/250/products").status_code for _ in range(3)
    ]
    order = get(bigcommerce_server, "/orders/250")

    assert statuses == [503, 503, 200]
    assert order.status_code == 200


def test_fault_default_body_and_rate_headers(fake_store, bigcommerce_server):
    fake_store.inject_fault(r"/orders/250$", 500)

    response = get(bigcommerce_server, "/orders/250")

    assert response.status_code == 500
    assert response.json() == [{"status": 500, "message": "Injected fault 500."}]
    assert "X-Rate-Limit-Requests-Left" in response.headers


def test_fault_custom_headers_and_body(fake_store, bigcommerce_server):
    fake_store.inject_fault(
        r"/orders$",
        429,
        headers={"X-Rate-Limit-Time-Reset-Ms": "1500", "Retry-After": "2"},
        body={"title": "Too many requests"},
    )

    response = get(bigcommerce_server, "/orders")

    assert response.status_code == 429
    assert response.json() == {"title": "Too many requests"}
    assert response.headers["X-Rate-Limit-Time-Reset-Ms"] == "1500"
    assert response.headers["Retry-After"] == "2"
    assert response.headers["X-Rate-Limit-Requests-Quota"] == "150"


def test_fault_without_rate_limit_headers(fake_store, bigcommerce_server):
    fake_store.inject_fault(r"/orders", 429, body="slow down", rate_limit_headers=False)

    response = get(bigcommerce_server, "/orders")

    assert response.status_code == 429
    assert response.text == "slow down"
    for name in RATE_LIMIT_HEADERS:
        assert name not in response.headers


def test_fault_fires_before_token_check(fake_store, bigcommerce_server):
    fake_store.inject_fault(r"/orders/250$", 502)

    response = get(bigcommerce_server, "/orders/250", headers={})

    assert response.status_code == 502


def test_fault_method_filter(fake_store, bigcommerce_server):
    fake_store.inject_fault(r"/orders$", 500, method="POST")

    response = get(bigcommerce_server, "/orders")

    assert response.status_code == 204


def test_latency_delays_each_call(fake_store, bigcommerce_server):
    fake_store.latency_ms = 200

    started = time.monotonic()
    get(bigcommerce_server, "/orders")
    elapsed = time.monotonic() - started

    assert elapsed >= 0.2


def test_request_log_fields(fake_store, bigcommerce_server):
    before = time.time()

    get(bigcommerce_server, "/orders", sort="date_modified:asc", limit=250)

    (record,) = fake_store.requests
    assert record.method == "GET"
    assert record.path == f"/stores/{STORE_HASH}/v2/orders"
    assert record.store_hash == STORE_HASH
    assert record.query_string == "sort=date_modified%3Aasc&limit=250"
    assert record.args == {"sort": ["date_modified:asc"], "limit": ["250"]}
    assert record.headers["X-Auth-Token"] == ACCESS_TOKEN
    assert before <= record.time <= time.time()


def test_request_log_keeps_rejected_calls(fake_store, bigcommerce_server):
    get(bigcommerce_server, "/orders/1", headers={})
    get(bigcommerce_server, "/orders/1")

    logged_paths = [record.path for record in fake_store.requests]

    assert logged_paths == [f"/stores/{STORE_HASH}/v2/orders/1"] * 2


# --- store mutations -----------------------------------------------------------


def test_update_order_bumps_date_modified(fake_store, bigcommerce_server):
    fake_store.add_order(STORE_HASH, make_order(250, status_id=0))
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)

    fake_store.update_order(STORE_HASH, 250, status_id=11)
    order = get(bigcommerce_server, "/orders/250").json()

    assert order["status_id"] == 11
    assert order["status"] == "Awaiting Fulfillment"
    assert order["custom_status"] == "Awaiting Fulfillment"
    assert order["date_modified"].endswith(" +0000")
    modified = parsedate_to_datetime(order["date_modified"])
    assert before <= modified <= dt.datetime.now(dt.UTC)
    assert order["date_created"] == "Tue, 20 Nov 2012 00:00:00 +0000"


def test_update_order_explicit_date_modified(fake_store):
    fake_store.add_order(STORE_HASH, make_order(250))

    order = fake_store.update_order(
        STORE_HASH, 250, date_modified="Wed, 01 Jan 2025 00:00:00 +0000"
    )

    assert order["date_modified"] == "Wed, 01 Jan 2025 00:00:00 +0000"


def test_update_order_rejects_unknown(fake_store):
    fake_store.add_order(STORE_HASH, make_order(250))

    with pytest.raises(ValueError, match="statusid"):
        fake_store.update_order(STORE_HASH, 250, statusid=11)
    with pytest.raises(KeyError, match="order 251"):
        fake_store.update_order(STORE_HASH, 251, status_id=11)
    with pytest.raises(KeyError, match="nostore"):
        fake_store.add_order("nostore", make_order(1))


def test_archive_order_hides_from_list(fake_store, bigcommerce_server):
    fake_store.add_order(STORE_HASH, make_order(250))

    fake_store.archive_order(STORE_HASH, 250)

    assert get(bigcommerce_server, "/orders").status_code == 204
    assert listed_ids(get(bigcommerce_server, "/orders", is_deleted="true")) == [250]


def test_add_order_stores_copy(fake_store):
    store_order = make_order(250)
    fake_store.add_order(STORE_HASH, store_order)

    store_order.order["status_id"] = 5
    stored = fake_store.get_order(STORE_HASH, 250)

    assert stored is not None
    assert stored.order["status_id"] == 11
