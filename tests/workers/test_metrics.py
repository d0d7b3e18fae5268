"""``/metrics`` after a scripted run: every count matches what happened."""

from __future__ import annotations

import json

import pytest
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis

from sandbox.orders import make_webhook
from tests.conftest import STORE_HASH, WEBHOOK_TOKEN
from tests.workers.conftest import NAME_PRICE_WEIGHT as MAPPING
from tests.workers.conftest import OfferPath
from webhook import create_app
from workers import metrics
from workers.context import ServiceContext


def scrape(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def scripted(order_path_factory):
    """Run a known mix of events through the web app and a worker."""
    path = order_path_factory(filters="min_order_id: 100", connection_settings=MAPPING)
    path.add_order(101)  # imported
    path.add_order(102, status_id=7)  # skipped: awaiting payment
    path.add_order(103)  # delivered twice, coalesced, imported
    path.add_order(104)  # the hub rejects it
    path.hub.reject_order(104, 400, "bad data")
    path.store.inject_fault(
        r"/v2/orders/101$", 429, headers={"X-Rate-Limit-Time-Reset-Ms": "50"}
    )
    for order_id in (101, 102, 103, 103, 104, 50):  # 50 is cut at ingest
        path.send("store/order/created", order_id)
    path.send_body(make_webhook("store/product/updated", STORE_HASH, 7))
    rejected = path.client.post(
        "/webhooks/bigcommerce",
        data=json.dumps(make_webhook("store/order/created", STORE_HASH, 105)),
        headers={"X-Webhook-Token": "wrong"},
        content_type="application/json",
    )
    assert rejected.status_code == 401
    path.run_jobs()
    path.send("store/order/updated", 101)  # already imported
    path.run_jobs()
    offers = OfferPath(path)
    offers.push(
        {"sku": "MUG-1", "attributes": {"title": "Mug", "price": 3, "weight_kg": 1}}
    )
    offers.push({"sku": "CAP-1", "attributes": {"title": "Cap"}})  # no price
    return path


def test_webhook_counts(scripted):
    samples = scrape(scripted.client)
    name = "sync_webhooks_total"
    created = "store/order/created"
    # Every accepted order event counts as queued, the coalesced one included.
    assert (
        value(samples, name, connection="main-store", scope=created, result="queued")
        == 5
    )
    assert (
        value(samples, name, connection="main-store", scope=created, result="coalesced")
        == 1
    )
    assert (
        value(samples, name, connection="main-store", scope=created, result="skipped")
        == 1
    )
    assert (
        value(samples, name, connection="main-store", scope=created, result="rejected")
        == 1
    )
    assert (
        value(
            samples,
            name,
            connection="main-store",
            scope="store/product/updated",
            result="ignored",
        )
        == 1
    )
    assert (
        value(
            samples,
            name,
            connection="main-store",
            scope="store/order/updated",
            result="queued",
        )
        == 1
    )


def test_decision_counts(scripted):
    samples = scrape(scripted.client)
    name = "sync_decisions_total"
    assert (
        value(samples, name, connection="main-store", outcome="accepted", reason="")
        == 3
    )
    assert (
        value(
            samples, name, connection="main-store", outcome="skipped", reason="statuses"
        )
        == 1
    )
    assert (
        value(
            samples,
            name,
            connection="main-store",
            outcome="skipped",
            reason="min_order_id",
        )
        == 1
    )
    assert (
        value(
            samples,
            name,
            connection="main-store",
            outcome="skipped",
            reason="already_imported",
        )
        == 1
    )


def test_push_and_bigcommerce_counts(scripted):
    samples = scrape(scripted.client)
    pushes = "sync_hub_pushes_total"
    requests_total = "sync_bigcommerce_requests_total"
    assert value(samples, pushes, connection="main-store", result="accepted") == 2
    assert value(samples, pushes, connection="main-store", result="rejected") == 1
    assert (
        value(samples, "sync_bigcommerce_rate_limited_total", connection="main-store")
        == 1
    )
    assert (
        value(
            samples, requests_total, connection="main-store", method="GET", status="429"
        )
        == 1
    )
    assert (
        value(
            samples,
            requests_total,
            connection="main-store",
            method="POST",
            status="200",
        )
        == 1
    )
    assert (
        value(samples, "sync_offers_total", connection="main-store", result="created")
        == 1
    )
    assert (
        value(samples, "sync_offers_total", connection="main-store", result="failed")
        == 1
    )


def test_bigcommerce_request_count_matches_stand_in(scripted):
    samples = scrape(scripted.client)
    counted = sum(
        sample_value
        for (name, _), sample_value in samples.items()
        if name == "sync_bigcommerce_requests_total"
    )
    assert counted == len(scripted.store.requests)


def test_queue_and_job_duration(scripted):
    samples = scrape(scripted.client)
    histogram = "sync_job_duration_seconds"
    assert value(samples, "sync_queue_depth", queue="orders") == 0
    assert value(samples, "sync_inbox_events") == 0
    assert value(samples, "sync_failed_jobs", queue="orders") == 1
    assert value(samples, f"{histogram}_count", kind="order", outcome="imported") == 2
    assert value(samples, f"{histogram}_count", kind="order", outcome="skipped") == 1
    assert (
        value(samples, f"{histogram}_count", kind="order", outcome="already_imported")
        == 1
    )
    assert value(samples, f"{histogram}_count", kind="order", outcome="error") == 1
    assert value(samples, f"{histogram}_count", kind="offer", outcome="created") == 1
    assert (
        value(
            samples, f"{histogram}_bucket", kind="order", outcome="imported", le="+Inf"
        )
        == 2
    )


def test_metrics_token_required_when_set(scripted, monkeypatch):
    monkeypatch.setenv("METRICS_TOKEN", "scrape-token-1")
    denied = scripted.client.get("/metrics")
    allowed = scripted.client.get(
        "/metrics", headers={"Authorization": "Bearer scrape-token-1"}
    )
    assert denied.status_code == 401
    assert allowed.status_code == 200


def test_counting_without_redis_loses_only_sample(caplog):
    redis = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    labels = {"connection": "c", "result": "created"}
    metrics.count(redis, "offers", labels)
    assert "metric offers not counted: Redis unreachable" in caplog.text


def test_unknown_labels_rejected():
    with pytest.raises(ValueError, match="labels"):
        metrics.count(None, "offers", {"connection": "c"})


def test_metrics_503_when_redis_down(write_settings):
    redis = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    context = ServiceContext(settings_file=str(write_settings()), redis=redis)
    response = create_app(context=context).test_client().get("/metrics")
    assert response.status_code == 503


def test_webhook_token_not_in_metrics(scripted):
    body = scripted.client.get("/metrics").get_data(as_text=True)
    assert WEBHOOK_TOKEN not in body


def test_inbox_gauge_counts_undispatched_events(order_path):
    for order_id in (201, 202):
        order_path.send("store/order/created", order_id)
    assert value(scrape(order_path.client), "sync_inbox_events") == 2
    order_path.run_jobs()
    assert value(scrape(order_path.client), "sync_inbox_events") == 0
