"""Fixtures shared by all tests: a real redis-server and settings files."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import textwrap
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
from sandbox.redis_server import RedisProcess, start_redis_server
from sandbox.server import RunningServer, serve_in_thread
from sandbox.store import FakeStore
from webhook import create_app
from workers import inbox
from workers.context import ServiceContext
from workers.jobs import set_worker_context
from workers.queueing import ORDER_QUEUE
from workers.rq_support import HandOverMixin, QuickPubSubMixin

WEBHOOK_TOKEN = "test-webhook-token-5a1f"
ACCESS_TOKEN = "test-access-token-c3d9"
HUB_TOKEN = "test-hub-token-77e2"
INBOUND_TOKEN = "test-inbound-token-41b0"
CLIENT_SECRET = "test-client-secret-9e6a"
STORE_HASH = "abc123"
SECRETS = (WEBHOOK_TOKEN, ACCESS_TOKEN, HUB_TOKEN, INBOUND_TOKEN, CLIENT_SECRET)


class SecretScanner(logging.Handler):
    """Collect every log record of the test run that contains a test secret."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.leaks: list[str] = []
        self.records = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.records += 1
        text = record.getMessage()
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        if any(secret in text for secret in SECRETS):
            self.leaks.append(f"{record.name}: {text[:300]}")


SECRET_SCANNER = SecretScanner()


def pytest_configure(config: pytest.Config) -> None:
    logging.getLogger().addHandler(SECRET_SCANNER)


@pytest.fixture(autouse=True)
def no_secret_in_logs() -> Iterator[None]:
    """Fail the test during which a log record contained a secret.

    With pytest-xdist each worker process has its own scanner, and only a failed
    test reaches the process that decides the run's exit code.
    """
    before = len(SECRET_SCANNER.leaks)
    yield
    leaks = SECRET_SCANNER.leaks[before:]
    if leaks:
        pytest.fail("secrets found in log records:\n" + "\n".join(leaks), pytrace=False)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when a log record written after the last test contained a
    secret."""
    logging.getLogger().removeHandler(SECRET_SCANNER)
    if SECRET_SCANNER.leaks:
        print("\nsecrets found in log records:")
        for leak in SECRET_SCANNER.leaks:
            print(f"  {leak}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def stop_process_group(process: subprocess.Popen[bytes], *, grace: float = 30) -> None:
    """Stop a process started with ``start_new_session`` and everything it forked.

    SIGTERM first, as a dyno stop does, then SIGKILL after ``grace`` seconds, so that
    no worker outlives its test and touches the next test's Redis.
    """
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisProcess]:
    server = start_redis_server()
    yield server
    server.stop()


@pytest.fixture
def redis(redis_server: RedisProcess) -> Iterator[Redis]:
    client = Redis.from_url(redis_server.url)
    client.flushall()
    yield client
    client.close()


def settings_yaml(
    *,
    hub_url: str = "http://127.0.0.1:9",
    statuses: str = "[awaiting_fulfillment, awaiting_shipment, completed]",
    filters: str = "",
    webhooks: str = f"token: {WEBHOOK_TOKEN}",
    store_hash: str = STORE_HASH,
    hub_timeout: int = 10,
    connection_settings: str = "",
) -> str:
    """Return a valid settings file with one connection named main-store.

    ``connection_settings`` is YAML added under the connection's ``settings``, such
    as ``variant_option_type`` or an ``offers`` block.
    """
    filter_lines = textwrap.indent(textwrap.dedent(filters).strip(), " " * 8)
    extra_lines = textwrap.indent(textwrap.dedent(connection_settings).strip(), " " * 6)
    webhook_lines = textwrap.indent(textwrap.dedent(webhooks).strip(), " " * 6)
    return (
        "hub:\n"
        f"  url: {hub_url}\n"
        f"  token: {HUB_TOKEN}\n"
        f"  inbound_token: {INBOUND_TOKEN}\n"
        f"  timeout_seconds: {hub_timeout}\n"
        "connections:\n"
        "  - name: main-store\n"
        "    credentials:\n"
        f"      store_hash: {store_hash}\n"
        f"      access_token: {ACCESS_TOKEN}\n"
        "    webhooks:\n"
        f"{webhook_lines}\n"
        "    settings:\n"
        "      order_filters:\n"
        f"        statuses: {statuses}\n"
        f"{filter_lines}\n"
        f"{extra_lines}\n"
    )


@pytest.fixture
def write_settings(tmp_path: Path):
    """Write a settings file and return its path; keyword arguments as settings_yaml."""
    path = tmp_path / "settings.yaml"

    def write(**options: Any) -> Path:
        path.write_text(settings_yaml(**options), encoding="utf-8")
        return path

    return write


@pytest.fixture
def make_context(redis: Redis):
    def make(settings_path: Path, **kwargs: Any) -> ServiceContext:
        return ServiceContext(settings_file=str(settings_path), redis=redis, **kwargs)

    return make


class QuickWorker(HandOverMixin, QuickPubSubMixin, SimpleWorker):
    """SimpleWorker that stops at once; see workers.rq_support."""


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
        """Queue the inbox's events, then run every waiting job in this process
        until the queue is empty."""
        inbox.drain(self.redis)
        queue = Queue(ORDER_QUEUE, connection=self.redis)
        QuickWorker([queue], connection=self.redis).work(burst=True)

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
