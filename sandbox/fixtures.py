"""Pytest fixtures that run the stand-ins on loopback ports.

Import them in a conftest.py (``from sandbox.fixtures import ...``) or list
``"sandbox.fixtures"`` in the root conftest's ``pytest_plugins``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.bigcommerce import create_bigcommerce_app
from sandbox.hub import FakeHub, create_hub_app
from sandbox.orders import DEFAULT_STORE_HASH
from sandbox.server import RunningServer, serve_in_thread
from sandbox.store import FakeStore

STORE_HASH = DEFAULT_STORE_HASH
ACCESS_TOKEN = "sandbox-access-token"


@pytest.fixture
def fake_store() -> FakeStore:
    """Provide an empty FakeStore with store STORE_HASH accepting ACCESS_TOKEN."""
    store = FakeStore()
    store.add_store(STORE_HASH, ACCESS_TOKEN)
    return store


@pytest.fixture
def bigcommerce_server(fake_store: FakeStore) -> Iterator[RunningServer]:
    """Serve ``fake_store`` through the BigCommerce stand-in for one test."""
    with serve_in_thread(create_bigcommerce_app(fake_store)) as server:
        yield server


@pytest.fixture
def fake_hub(tmp_path: Path) -> FakeHub:
    """Provide a FakeHub that writes accepted orders under ``tmp_path/hub-orders``."""
    return FakeHub(folder=tmp_path / "hub-orders")


@pytest.fixture
def hub_server(fake_hub: FakeHub) -> Iterator[RunningServer]:
    """Serve ``fake_hub`` through the hub stand-in for one test."""
    with serve_in_thread(create_hub_app(fake_hub)) as server:
        yield server
