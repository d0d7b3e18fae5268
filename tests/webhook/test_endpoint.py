"""The webhook endpoint, row by row: status codes, auth, queueing, coalescing."""

from __future__ import annotations

import base64
import json
import logging
import time
from datetime import UTC, datetime, timedelta

import pytest
from rq import Queue
from standardwebhooks.webhooks import Webhook

from sandbox.orders import make_webhook
from sandbox.redis_server import start_redis_server
from tests.conftest import CLIENT_SECRET, STORE_HASH, WEBHOOK_TOKEN
from webhook import create_app
from workers import inbox, state
from workers.context import ServiceContext
from workers.queueing import ORDER_QUEUE
from workers.scopes import ORDER_SCOPES

URL = "/webhooks/bigcommerce"
AUTH = {"X-Webhook-Token": WEBHOOK_TOKEN}


@pytest.fixture
def settings_path(write_settings):
    return write_settings(filters="min_order_id: 100")


@pytest.fixture
def client(settings_path, make_context):
    app = create_app(context=make_context(settings_path))
    return app.test_client()


def post(client, body, headers=AUTH):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(URL, data=data, headers=headers, content_type="application/json")


def queued_jobs(redis):
    """Let a dispatcher queue the inbox's events, then return the waiting jobs."""
    inbox.drain(redis)
    return Queue(ORDER_QUEUE, connection=redis).get_jobs()


def event(scope="store/order/created", order_id=250, **kwargs):
    return make_webhook(scope, STORE_HASH, order_id, **kwargs)


@pytest.mark.parametrize("scope", sorted(ORDER_SCOPES))
def test_order_scope_queued(client, redis, scope):
    response = post(client, event(scope))
    jobs = queued_jobs(redis)
    assert response.status_code == 200
    assert response.get_json() == {"result": "queued"}
    assert len(jobs) == 1
    assert jobs[0].args == ("main-store", 250)
    assert jobs[0].kwargs == {"scope": scope}


def test_body_over_64_kib_is_413(client, redis, caplog):
    body = event()
    body["padding"] = "x" * (64 * 1024)
    response = post(client, body)
    assert response.status_code == 413
    assert queued_jobs(redis) == []
    assert (
        "request to /webhooks/bigcommerce rejected: the body is over 65536 bytes"
        in caplog.text
    )


def test_body_of_exactly_64_kib_is_accepted(client, redis):
    body = event()
    base = json.dumps(body | {"padding": ""}).encode()
    body["padding"] = "x" * (64 * 1024 - len(base))
    data = json.dumps(body).encode()
    assert len(data) == 64 * 1024
    assert post(client, data).status_code == 200


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'"text"', "must be a JSON object"),
        (b'{"producer": "stores/abc123"}', "'scope' must be a non-empty string"),
        (b'{"scope": 5, "producer": "stores/abc123"}', "'scope' must be"),
        (b'{"scope": "store/order/created"}', "'producer' must be"),
        (
            b'{"scope": "store/order/created", "producer": "stores/abc123"}',
            "'data' must be an object",
        ),
        (
            b'{"scope": "store/order/created", "producer": "stores/abc123",'
            b' "data": {"id": "250"}}',
            "'data.id' must be an integer",
        ),
        (
            b'{"scope": "store/order/created", "producer": "stores/abc123",'
            b' "data": {"id": true}}',
            "'data.id' must be an integer",
        ),
        (
            b'{"scope": "store/order/created", "producer": "stores/abc123",'
            b' "data": {"id": 2.5}}',
            "'data.id' must be an integer",
        ),
    ],
)
def test_malformed_body_is_400(client, redis, body, problem):
    response = post(client, body)
    assert response.status_code == 400
    assert problem in response.get_json()["error"]
    assert queued_jobs(redis) == []


def test_unknown_producer_is_401_and_logged(client, redis, caplog):
    body = make_webhook("store/order/created", "zz999", 250)
    with caplog.at_level(logging.WARNING):
        response = post(client, body)
    assert response.status_code == 401
    assert response.get_json() == {"error": "authentication failed"}
    assert "'zz999'" in caplog.text
    assert queued_jobs(redis) == []


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Webhook-Token": "wrong"},
        {"X-Webhook-Token": ""},
        {"X-Other": WEBHOOK_TOKEN},
        {"X-Webhook-Token": WEBHOOK_TOKEN + "x"},
    ],
)
def test_missing_or_wrong_token_is_401(client, redis, headers):
    response = post(client, event(), headers=headers)
    assert response.status_code == 401
    assert response.get_json() == {"error": "authentication failed"}
    assert queued_jobs(redis) == []


def test_custom_token_header(write_settings, make_context, redis):
    path = write_settings(webhooks=f"token: {WEBHOOK_TOKEN}\nheader: X-Shop-Secret")
    client = create_app(context=make_context(path)).test_client()
    assert post(client, event(), headers=AUTH).status_code == 401
    ok = post(client, event(), headers={"X-Shop-Secret": WEBHOOK_TOKEN})
    assert ok.status_code == 200


def signed_headers(body: bytes, *, secret=CLIENT_SECRET, age=timedelta(0)):
    key = base64.b64encode(secret.encode()).decode()
    moment = datetime.now(UTC) - age
    signature = Webhook(key).sign("msg_1", moment, body)
    return {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": signature,
    }


@pytest.fixture
def signed_client(write_settings, make_context):
    path = write_settings(webhooks=f"signing_secret: {CLIENT_SECRET}")
    return create_app(context=make_context(path)).test_client()


def test_valid_signature_is_accepted(signed_client, redis):
    body = json.dumps(event()).encode()
    response = post(signed_client, body, headers=signed_headers(body))
    assert response.status_code == 200
    assert len(queued_jobs(redis)) == 1


@pytest.mark.parametrize(
    ("secret", "age", "tamper"),
    [
        ("other-secret", timedelta(0), False),
        (CLIENT_SECRET, timedelta(minutes=6), False),
        (CLIENT_SECRET, timedelta(minutes=-6), False),
        (CLIENT_SECRET, timedelta(0), True),
    ],
)
def test_bad_signature_is_401(signed_client, redis, secret, age, tamper):
    body = json.dumps(event()).encode()
    headers = signed_headers(body, secret=secret, age=age)
    sent = body.replace(b"250", b"251") if tamper else body
    response = post(signed_client, sent, headers=headers)
    assert response.status_code == 401
    assert queued_jobs(redis) == []


def test_signature_within_tolerance_is_accepted(signed_client, redis):
    body = json.dumps(event()).encode()
    headers = signed_headers(body, age=timedelta(minutes=4))
    assert post(signed_client, body, headers=headers).status_code == 200


def test_missing_signature_headers_is_401(signed_client, redis):
    assert post(signed_client, event(), headers={}).status_code == 401


def test_token_and_signature_both_required(write_settings, make_context, redis):
    path = write_settings(
        webhooks=f"token: {WEBHOOK_TOKEN}\nsigning_secret: {CLIENT_SECRET}"
    )
    client = create_app(context=make_context(path)).test_client()
    body = json.dumps(event()).encode()
    only_signature = post(client, body, headers=signed_headers(body))
    only_token = post(client, body, headers=AUTH)
    both = post(client, body, headers={**AUTH, **signed_headers(body)})
    assert only_signature.status_code == 401
    assert only_token.status_code == 401
    assert both.status_code == 200


@pytest.mark.parametrize(
    "scope",
    [
        "store/order/message/created",
        "store/order/refund/created",
        "store/order/transaction/created",
        "store/order/metafield/updated",
        "store/product/updated",
        "store/app/uninstalled",
        "store/cart/created",
    ],
)
def test_other_scopes_ignored_and_counted(client, redis, scope):
    body = {
        "scope": scope,
        "store_id": "1",
        "data": {"type": "x", "id": 1},
        "hash": "0",
        "created_at": 1,
        "producer": f"stores/{STORE_HASH}",
    }
    response = post(client, body)
    assert response.status_code == 200
    assert response.get_json() == {"result": "ignored"}
    assert queued_jobs(redis) == []
    assert redis.get(state.counter_key(f"webhooks:ignored:{scope}")) == b"1"


def test_other_scope_without_data_is_ignored(client, redis):
    body = {"scope": "store/app/uninstalled", "producer": f"stores/{STORE_HASH}"}
    assert post(client, body).get_json() == {"result": "ignored"}


def test_ingest_cut_below_min_order_id(client, redis):
    response = post(client, event(order_id=99))
    decision = state.latest_decision(redis, "main-store", 99)
    assert response.status_code == 200
    assert response.get_json() == {"result": "skipped"}
    assert queued_jobs(redis) == []
    assert decision["decision"] == "skipped"
    assert decision["reasons"] == ["id 99 is below min_order_id 100"]


def test_ingest_keeps_order_at_min_order_id(client, redis):
    assert post(client, event(order_id=100)).get_json() == {"result": "queued"}


def test_ingest_cut_status_update_to_disabled_status(client, redis):
    body = event("store/order/statusUpdated", previous_status_id=11, new_status_id=5)
    response = post(client, body)
    decision = state.latest_decision(redis, "main-store", 250)
    assert response.get_json() == {"result": "skipped"}
    assert queued_jobs(redis) == []
    assert decision["reasons"] == ["status 5 cancelled is not enabled"]


def test_status_update_to_enabled_status_queued(client, redis):
    body = event("store/order/statusUpdated", previous_status_id=0, new_status_id=11)
    assert post(client, body).get_json() == {"result": "queued"}


def test_status_update_without_status_is_queued(client, redis):
    assert post(client, event("store/order/statusUpdated")).get_json() == {
        "result": "queued"
    }


def test_waiting_job_absorbs_repeated_events(client, redis):
    for scope in [
        "store/order/created",
        "store/order/updated",
        "store/order/updated",
        "store/order/archived",
    ]:
        assert post(client, event(scope)).get_json() == {"result": "queued"}
    assert len(queued_jobs(redis)) == 1


def test_started_job_does_not_absorb_new_event(client, redis):
    post(client, event())
    (first,) = queued_jobs(redis)
    state.release_pending(redis, "main-store", 250, first.id)  # as a starting job does
    post(client, event("store/order/updated"))
    jobs = queued_jobs(redis)
    assert len(jobs) == 2
    assert jobs[1].id != first.id


def test_lost_waiting_job_does_not_absorb(client, redis):
    post(client, event())
    (first,) = queued_jobs(redis)
    first.delete()
    post(client, event("store/order/updated"))
    jobs = queued_jobs(redis)
    assert len(jobs) == 1
    assert jobs[0].id != first.id


def test_different_orders_get_separate_jobs(client, redis):
    post(client, event(order_id=250))
    post(client, event(order_id=251))
    assert sorted(job.args[1] for job in queued_jobs(redis)) == [250, 251]


def test_redis_down_is_503_and_retry_processed(settings_path, tmp_path):
    server = start_redis_server(persist=True, directory=str(tmp_path))
    from redis import Redis

    redis = Redis.from_url(server.url, socket_connect_timeout=1, socket_timeout=1)
    client = create_app(
        context=ServiceContext(settings_file=str(settings_path), redis=redis)
    ).test_client()
    try:
        server.stop()
        down = post(client, event())
        server = start_redis_server(
            port=server.port, directory=str(tmp_path), persist=True
        )
        assert queued_jobs(redis) == []
        again = post(client, event())
        assert down.status_code == 503
        assert again.get_json() == {"result": "queued"}
        assert len(queued_jobs(redis)) == 1
    finally:
        server.stop()


def test_unexpected_error_is_503_never_500(client, redis, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("webhook.routes.ingest_order_event", explode)
    response = post(client, event())
    assert response.status_code == 503


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_other_methods_are_405_json(client, method):
    response = client.open(URL, method=method)
    assert response.status_code == 405
    assert "error" in response.get_json()


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"redis": "ok", "settings": "ok"}


def test_healthz_redis_down(settings_path):
    from redis import Redis

    from sandbox.redis_server import free_port

    redis = Redis(port=free_port(), socket_connect_timeout=0.5)
    context = ServiceContext(settings_file=str(settings_path), redis=redis)
    response = create_app(context=context).test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["redis"].startswith("unreachable")


def test_invalid_edit_keeps_last_settings(settings_path, make_context, redis, caplog):
    context = make_context(settings_path)
    context.settings_store.check_interval = 0
    client = create_app(context=context).test_client()
    text = settings_path.read_text().replace(
        "min_order_id: 100", "min_order_id: 100\n        typo_key: 1"
    )
    time.sleep(0.01)
    settings_path.write_text(text)
    with caplog.at_level(logging.ERROR):
        health = client.get("/healthz").get_json()
        client.get("/healthz")
        response = post(client, event(order_id=99))
    assert health["settings"].startswith(f"invalid: {settings_path}:")
    assert "typo_key" in health["settings"]
    assert response.get_json() == {"result": "skipped"}
    assert len([r for r in caplog.records if r.levelno == logging.ERROR]) == 1


def test_valid_edit_applies_to_next_event(settings_path, make_context, redis):
    context = make_context(settings_path)
    context.settings_store.check_interval = 0
    client = create_app(context=context).test_client()
    assert post(client, event(order_id=150)).get_json() == {"result": "queued"}
    settings_path.write_text(
        settings_path.read_text().replace("min_order_id: 100", "min_order_id: 200")
    )
    assert post(client, event(order_id=151)).get_json() == {"result": "skipped"}


@pytest.mark.parametrize("order_id", [0, -5, 2**63, 10**25])
def test_order_id_out_of_range_is_400(client, redis, order_id):
    response = post(client, event(order_id=order_id))
    assert response.status_code == 400
    assert "'data.id' must be an order id from 1 to" in response.get_json()["error"]
    assert queued_jobs(redis) == []
