import json
import time

import pytest
import requests

from sandbox.hub import FakeHub, create_hub_app
from sandbox.orders import make_order
from sandbox.server import serve_in_thread

STORE_HASH = "abc123"


def push_body(order_id=250, store_hash=STORE_HASH):
    return {
        "source": "bigcommerce",
        "connection": "main-store",
        "store_hash": store_hash,
        "order": make_order(order_id).order,
    }


def push(server, body=None, *, headers=None, order_id=250):
    if body is None:
        body = push_body(order_id)
    if headers is None:
        headers = {"Idempotency-Key": f"bigcommerce-{STORE_HASH}-{order_id}"}
    return requests.post(f"{server.url}/orders", json=body, headers=headers, timeout=5)


def test_push_recorded_and_written(fake_hub, hub_server):
    body = push_body(250)

    response = push(hub_server, body)

    assert response.status_code == 201
    assert response.json()["id"].startswith("HUB-")
    (recorded,) = fake_hub.pushes
    assert recorded.body == body
    assert recorded.status == 201
    assert recorded.succeeded
    assert recorded.store_hash == STORE_HASH
    assert recorded.order_id == 250
    assert recorded.idempotency_key == "bigcommerce-abc123-250"
    assert recorded.authorization is None
    assert recorded.headers["Content-Type"] == "application/json"
    assert json.loads(recorded.raw_body) == body
    assert recorded.time <= time.time()
    written = fake_hub.folder / "abc123-250.json"
    assert json.loads(written.read_text(encoding="utf-8")) == body


def test_push_count_per_order(fake_hub, hub_server):
    push(hub_server, order_id=250)
    push(hub_server, order_id=250)
    push(hub_server, order_id=251)

    assert fake_hub.push_count(STORE_HASH, 250) == 2
    assert fake_hub.push_count(STORE_HASH, 251) == 1
    assert fake_hub.push_count(STORE_HASH, 252) == 0
    assert fake_hub.push_count("otherstore", 250) == 0


def test_scripted_503_then_created(fake_hub, hub_server):
    fake_hub.script_responses(503, count=2)

    statuses = [push(hub_server).status_code for _ in range(3)]

    assert statuses == [503, 503, 201]
    assert fake_hub.push_count(STORE_HASH, 250) == 3
    assert fake_hub.push_count(STORE_HASH, 250, succeeded_only=True) == 1
    assert fake_hub.has_accepted(STORE_HASH, 250)


def test_scripted_errors_write_no_file(fake_hub, hub_server):
    fake_hub.script_responses(409)
    fake_hub.script_responses(400, body={"message": "unknown SKU TOTE-NAT"})

    conflict = push(hub_server)
    invalid = push(hub_server)

    assert conflict.status_code == 409
    assert invalid.status_code == 400
    assert invalid.json() == {"message": "unknown SKU TOTE-NAT"}
    assert not (fake_hub.folder / "abc123-250.json").exists()
    assert not fake_hub.has_accepted(STORE_HASH, 250)


def test_scripted_headers_and_text(fake_hub, hub_server):
    fake_hub.script_responses(429, body="busy", headers={"Retry-After": "3"})

    response = push(hub_server)

    assert response.status_code == 429
    assert response.text == "busy"
    assert response.headers["Retry-After"] == "3"


@pytest.mark.parametrize(
    ("authorization", "expected_status"),
    [
        (None, 401),
        ("Bearer wrong", 401),
        ("hub-secret", 401),
        ("Bearer hub-secret", 201),
    ],
)
def test_expected_token(fake_hub, hub_server, authorization, expected_status):
    fake_hub.expected_token = "hub-secret"
    headers = {"Idempotency-Key": "bigcommerce-abc123-250"}
    if authorization is not None:
        headers["Authorization"] = authorization

    response = push(hub_server, headers=headers)

    assert response.status_code == expected_status
    assert fake_hub.pushes[0].authorization == authorization


def test_unauthorized_push_keeps_script(fake_hub, hub_server):
    fake_hub.expected_token = "hub-secret"
    fake_hub.script_responses(503)

    unauthorized = push(hub_server)
    authorized = push(
        hub_server,
        headers={"Idempotency-Key": "k", "Authorization": "Bearer hub-secret"},
    )

    assert unauthorized.status_code == 401
    assert authorized.status_code == 503


@pytest.mark.parametrize(
    ("data", "headers"),
    [
        (b"not json", {"Idempotency-Key": "k", "Content-Type": "application/json"}),
        (b'{"order": {"id": 250}}', {"Idempotency-Key": "k"}),
        (b'{"store_hash": "abc123", "order": {"id": "250"}}', {"Idempotency-Key": "k"}),
        (json.dumps(push_body()).encode(), {}),
    ],
    ids=["invalid-json", "no-store-hash", "string-id", "no-idempotency-key"],
)
def test_malformed_push_400(fake_hub, hub_server, data, headers):
    response = requests.post(
        f"{hub_server.url}/orders", data=data, headers=headers, timeout=5
    )

    assert response.status_code == 400
    assert response.json()["error"]
    assert fake_hub.pushes[0].status == 400
    assert not fake_hub.folder.exists()


def test_idempotency_key_optional(fake_hub, hub_server):
    fake_hub.require_idempotency_key = False

    response = push(hub_server, headers={})

    assert response.status_code == 201


def test_conflict_on_duplicate(fake_hub, hub_server):
    fake_hub.conflict_on_duplicate = True

    first = push(hub_server)
    second = push(hub_server)

    assert first.status_code == 201
    assert second.status_code == 409
    assert fake_hub.push_count(STORE_HASH, 250, succeeded_only=True) == 1


def test_no_folder_writes_nothing(tmp_path):
    hub = FakeHub()

    with serve_in_thread(create_hub_app(hub)) as server:
        response = push(server)

    assert response.status_code == 201
    assert hub.order_file(STORE_HASH, 250) is None
    assert list(tmp_path.iterdir()) == []


def test_latency_delays_response(fake_hub, hub_server):
    fake_hub.latency_ms = 200

    started = time.monotonic()
    push(hub_server)

    assert time.monotonic() - started >= 0.2


def test_clear_forgets_pushes(fake_hub, hub_server):
    fake_hub.script_responses(503, count=5)
    push(hub_server)

    fake_hub.clear()

    assert fake_hub.pushes == []
    assert push(hub_server).status_code == 201
