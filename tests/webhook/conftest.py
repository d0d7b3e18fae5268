"""The command tests use the order path's stand-ins and settings."""

from tests.workers.conftest import (  # noqa: F401
    bigcommerce_server,
    fake_hub,
    fake_store,
    hub_server,
    order_path,
    order_path_factory,
)
