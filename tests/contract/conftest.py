from sandbox.fixtures import (  # noqa: F401
    bigcommerce_server,
    fake_hub,
    fake_store,
    hub_server,
)
