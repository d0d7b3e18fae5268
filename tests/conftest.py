"""Fixtures shared by all tests: a real redis-server and settings files."""

from __future__ import annotations

import logging
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redis import Redis

from sandbox.redis_server import RedisProcess, start_redis_server
from workers.context import ServiceContext

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


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when any log record of any test contained a secret."""
    logging.getLogger().removeHandler(SECRET_SCANNER)
    if SECRET_SCANNER.leaks:
        print("\nsecrets found in log records:")
        for leak in SECRET_SCANNER.leaks:
            print(f"  {leak}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


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
) -> str:
    """Return a valid settings file with one connection named main-store."""
    filter_lines = textwrap.indent(textwrap.dedent(filters).strip(), " " * 8)
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
