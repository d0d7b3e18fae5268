"""The offer intake: bearer token, validation, limits, queueing, result lookup."""

from __future__ import annotations

import copy
import json
import logging

import pytest
from redis import Redis
from rq import Queue

from sandbox.redis_server import start_redis_server
from tests.conftest import INBOUND_TOKEN
from webhook import create_app
from workers.context import ServiceContext
from workers.queueing import OFFER_QUEUE, ORDER_QUEUE

AUTH = {"Authorization": f"Bearer {INBOUND_TOKEN}"}
TEE = {
    "sku": "TEE-1",
    "attributes": {"title": "Organic tee", "price": "19.90", "weight_kg": 0.2},
    "variants": [
        {"sku": "TEE-1-RED-M", "options": {"Color": "Red", "Size": "M"}},
        {"sku": "TEE-1-BLU-L", "options": {"Color": "Blue", "Size": "L"}},
    ],
}


@pytest.fixture
def settings_path(write_settings):
    return write_settings()


@pytest.fixture
def client(settings_path, make_context):
    return create_app(context=make_context(settings_path)).test_client()


def post(client, body, headers=AUTH):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(
        "/offers", data=data, headers=headers, content_type="application/json"
    )


def offers_body(*offers, connection="main-store"):
    return {"connection": connection, "offers": [copy.deepcopy(o) for o in offers]}


def offer_jobs(redis):
    return Queue(OFFER_QUEUE, connection=redis).get_jobs()


def test_offers_queued_one_job_each(client, redis):
    mug = {"sku": "MUG-1", "attributes": {"title": "Mug"}}
    response = post(client, offers_body(TEE, mug))
    body = response.get_json()
    jobs = {job.id: job for job in offer_jobs(redis)}
    assert response.status_code == 202
    assert [entry["sku"] for entry in body["offers"]] == ["TEE-1", "MUG-1"]
    assert {entry["result"] for entry in body["offers"]} == {"pending"}
    assert set(jobs) == {entry["job_id"] for entry in body["offers"]}
    assert jobs[body["offers"][0]["job_id"]].args[0] == "main-store"
    assert jobs[body["offers"][0]["job_id"]].args[1]["sku"] == "TEE-1"
    assert Queue(ORDER_QUEUE, connection=redis).count == 0


def test_pending_result_retrievable(client, redis):
    post(client, offers_body(TEE))
    response = client.get("/offers/main-store/TEE-1", headers=AUTH)
    body = response.get_json()
    assert response.status_code == 200
    assert set(body) == {
        "sku",
        "connection",
        "result",
        "product_id",
        "messages",
        "updated_at",
    }
    assert body["sku"] == "TEE-1"
    assert body["connection"] == "main-store"
    assert body["result"] == "pending"
    assert body["product_id"] is None
    assert body["messages"] == []
    assert body["updated_at"].endswith("Z")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": INBOUND_TOKEN},
        {"Authorization": f"Basic {INBOUND_TOKEN}"},
        {"Authorization": "Bearer "},
    ],
)
def test_missing_or_wrong_token_is_401(client, redis, headers):
    response = post(client, offers_body(TEE), headers=headers)
    lookup = client.get("/offers/main-store/TEE-1", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert lookup.status_code == 401
    assert offer_jobs(redis) == []


def test_lowercase_bearer_scheme_accepted(client, redis):
    headers = {"Authorization": f"bearer {INBOUND_TOKEN}"}
    assert post(client, offers_body(TEE), headers=headers).status_code == 202


def test_401_checked_before_body(client, redis):
    response = post(client, b"not json", headers={})
    assert response.status_code == 401


def test_invalid_json_is_400(client, redis):
    response = post(client, b"{not json")
    assert response.status_code == 400
    assert response.get_json()["errors"][0].startswith("body: invalid JSON: ")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "body: invalid JSON: nested too deeply"),
        (b'{"connection": 1' + b"0" * 5000 + b"}", "body: invalid JSON: "),
        (
            b'{"connection": "main-store", "connection": "x", "offers": []}',
            "body: invalid JSON: duplicate key 'connection'",
        ),
        (
            b'{"connection": "main-store", "offers": [{"sku": "A\\ud800"}]}',
            "offers[0].sku: contains an unpaired UTF-16 surrogate",
        ),
        (
            b'{"connection": "main-store", "offers": [{"sku": "A", '
            b'"attributes": {"\\udfff": 1}}]}',
            "offers[0].attributes.",
        ),
    ],
)
def test_hostile_json_is_400(client, redis, body, expected):
    response = post(client, body)
    assert response.status_code == 400
    assert response.get_json()["errors"][0].startswith(expected)
    assert offer_jobs(redis) == []


def test_invalid_offer_is_400_naming_index_and_field(client, redis):
    bad = copy.deepcopy(TEE)
    bad["sku"] = "TEE-2"
    bad["variants"] = [{"sku": "TEE-2-A", "options": {"Color": 7}}]
    response = post(client, offers_body(TEE, bad))
    body = response.get_json()
    assert response.status_code == 400
    assert body["error"] == "invalid offer request"
    assert body["errors"] == [
        "offers[1].variants[0].options.Color: Not a valid string."
    ]


def test_invalid_request_queues_nothing(client, redis):
    bad = {"sku": "TEE-2", "attributes": {"title": None}}
    response = post(client, offers_body(TEE, bad))
    lookup = client.get("/offers/main-store/TEE-1", headers=AUTH)
    assert response.status_code == 400
    assert offer_jobs(redis) == []
    assert lookup.status_code == 404


def test_unknown_connection_is_400(client, redis):
    response = post(client, offers_body(TEE, connection="other-store"))
    assert response.status_code == 400
    assert response.get_json()["errors"] == [
        "connection: 'other-store' is not a configured connection"
    ]
    assert offer_jobs(redis) == []


def test_more_than_100_offers_is_413(client, redis):
    offers = [{"sku": f"SKU-{i}"} for i in range(101)]
    response = post(client, {"connection": "main-store", "offers": offers})
    assert response.status_code == 413
    assert (
        "101 offers in one request; the maximum is 100"
        in (response.get_json()["errors"][0])
    )
    assert offer_jobs(redis) == []


def test_100_offers_accepted(client, redis):
    offers = [{"sku": f"SKU-{i}"} for i in range(100)]
    response = post(client, {"connection": "main-store", "offers": offers})
    assert response.status_code == 202
    assert len(offer_jobs(redis)) == 100


def test_body_over_limit_is_413(client, redis):
    padding = "x" * (8 * 1024 * 1024)
    body = offers_body({"sku": "BIG", "attributes": {"description": padding}})
    response = post(client, body)
    assert response.status_code == 413
    assert response.get_json()["errors"] == [
        "body: larger than 8 MiB; split the offers over several requests"
    ]
    assert offer_jobs(redis) == []


def test_body_larger_than_webhook_limit_accepted(client, redis):
    description = "d" * (200 * 1024)
    body = offers_body({"sku": "LONG", "attributes": {"description": description}})
    assert post(client, body).status_code == 202


def test_lookup_unknown_sku_is_404(client, redis):
    response = client.get("/offers/main-store/NOPE", headers=AUTH)
    assert response.status_code == 404
    assert response.get_json() == {"error": "no offer with SKU 'NOPE' for main-store"}


def test_lookup_unknown_connection_is_404(client, redis):
    response = client.get("/offers/other-store/TEE-1", headers=AUTH)
    assert response.status_code == 404


def test_sku_with_leading_slash_retrievable(client, redis):
    post(client, offers_body({"sku": "/lead"}))
    response = client.get("/offers/main-store//lead", headers=AUTH)
    assert response.status_code == 200
    assert response.get_json()["sku"] == "/lead"


def test_sku_with_slash_retrievable(client, redis):
    post(client, offers_body({"sku": "A/B 1"}))
    response = client.get("/offers/main-store/A/B 1", headers=AUTH)
    assert response.status_code == 200
    assert response.get_json()["sku"] == "A/B 1"


def test_redis_down_is_503(settings_path, tmp_path):
    server = start_redis_server(directory=str(tmp_path))
    redis = Redis.from_url(server.url, socket_connect_timeout=1, socket_timeout=1)
    client = create_app(
        context=ServiceContext(settings_file=str(settings_path), redis=redis)
    ).test_client()
    server.stop()
    response = post(client, offers_body(TEE))
    lookup = client.get("/offers/main-store/TEE-1", headers=AUTH)
    assert response.status_code == 503
    assert lookup.status_code == 503


def test_token_never_logged(client, redis, caplog):
    caplog.set_level(logging.DEBUG)
    post(client, offers_body(TEE), headers={"Authorization": "Bearer guess-1"})
    post(client, offers_body(TEE))
    assert caplog.records
    assert INBOUND_TOKEN not in caplog.text
    assert "guess-1" not in caplog.text
