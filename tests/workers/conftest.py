"""Fixtures of the order path: stand-ins on loopback, a settings file, the app."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from redis import Redis
from rq import Queue, SimpleWorker

from sandbox.bigcommerce import create_bigcommerce_app
from sandbox.hub import FakeHub, create_hub_app
from sandbox.orders import StoreOrder, make_order, make_webhook
from sandbox.server import RunningServer, serve_in_thread
from sandbox.store import FakeStore
from tests.conftest import ACCESS_TOKEN, HUB_TOKEN, STORE_HASH, WEBHOOK_TOKEN
from webhook import create_app
from workers.context import ServiceContext
from workers.jobs import set_worker_context
from workers.queueing import ORDER_QUEUE

CONNECTION = "main-store"
CREATED = "Mon, 06 Jan 2025 09:15:00 +0000"


@pytest.fixture
def fake_store() -> FakeStore:
    store = FakeStore()
    store.add_store(STORE_HASH, ACCESS_TOKEN)
    return store


@pytest.fixture
def bigcommerce_server(fake_store: FakeStore, monkeypatch) -> Iterator[RunningServer]:
    with serve_in_thread(create_bigcommerce_app(fake_store)) as server:
        monkeypatch.setenv("BIGCOMMERCE_API_URL", server.url)
        yield server


@pytest.fixture
def fake_hub(tmp_path: Path) -> FakeHub:
    return FakeHub(folder=tmp_path / "hub-orders", expected_token=HUB_TOKEN)


@pytest.fixture
def hub_server(fake_hub: FakeHub) -> Iterator[RunningServer]:
    with serve_in_thread(create_hub_app(fake_hub)) as server:
        yield server


@dataclass
class OrderPath:
    """The whole order path in one process: webhook app, stand-ins, a worker."""

    redis: Redis
    store: FakeStore
    hub: FakeHub
    client: Any
    context: ServiceContext
    settings_path: Path
    bigcommerce_url: str

    def add_order(self, order_id: int, **options: Any) -> StoreOrder:
        options.setdefault("date_created", CREATED)
        order = make_order(
            order_id, store_hash=STORE_HASH, base_url=self.bigcommerce_url, **options
        )
        self.store.add_order(STORE_HASH, order)
        return order

    def send(self, scope: str, order_id: int, **options: Any) -> dict[str, Any]:
        body = make_webhook(scope, STORE_HASH, order_id, **options)
        return self.send_body(body)

    def send_body(self, body: dict[str, Any]) -> dict[str, Any]:
        response = self.client.post(
            "/webhooks/bigcommerce",
            data=json.dumps(body),
            headers={"X-Webhook-Token": WEBHOOK_TOKEN},
            content_type="application/json",
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()

    def run_jobs(self) -> None:
        """Run every waiting job in this process until the queue is empty."""
        queue = Queue(ORDER_QUEUE, connection=self.redis)
        SimpleWorker([queue], connection=self.redis).work(burst=True)

    def pushes_of(self, order_id: int) -> list[Any]:
        return [p for p in self.hub.pushes if p.order_id == order_id]

    def order_requests(self) -> list[str]:
        return [record.path for record in self.store.requests]


@pytest.fixture
def order_path_factory(
    redis, fake_store, fake_hub, bigcommerce_server, hub_server, write_settings
):
    def build(**settings: Any) -> OrderPath:
        path = write_settings(hub_url=hub_server.url, **settings)
        context = ServiceContext(settings_file=str(path), redis=redis)
        context.settings_store.check_interval = 0
        set_worker_context(context)
        client = create_app(context=context).test_client()
        return OrderPath(
            redis, fake_store, fake_hub, client, context, path, bigcommerce_server.url
        )

    yield build
    set_worker_context(None)  # type: ignore[arg-type]


@pytest.fixture
def order_path(order_path_factory) -> OrderPath:
    return order_path_factory(
        filters="""
            min_order_id: 100
            created_from: 2025-01-01
            timezone: Europe/Berlin
        """
    )
