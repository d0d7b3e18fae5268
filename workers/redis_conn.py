"""Redis connections built from ``REDIS_URL``.

Heroku Redis serves ``rediss://`` with a self-signed certificate, so certificate
checking is off for ``rediss://`` unless ``REDIS_TLS_VERIFY=required`` is set (then
``REDIS_TLS_CA_CERTS`` may name a CA bundle file).
"""

from __future__ import annotations

import os
import ssl
from typing import Any

from redis import Redis

DEFAULT_REDIS_URL = "redis://localhost:6379/0"


def redis_url() -> str:
    """Return ``REDIS_URL`` or the local default."""
    return os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL


def connect(url: str | None = None, *, socket_timeout: float = 5.0) -> Redis:
    """Return a Redis client for ``url`` (default ``REDIS_URL``).

    Timeouts are short so that a web request fails fast with 503 when Redis is down.
    """
    url = url or redis_url()
    options: dict[str, Any] = {
        "socket_connect_timeout": 3.0,
        "socket_timeout": socket_timeout,
        "health_check_interval": 30,
    }
    if url.startswith("rediss://"):
        options.update(tls_options())
    return Redis.from_url(url, **options)


def tls_options() -> dict[str, Any]:
    """Return the TLS options for ``rediss://`` from the environment."""
    verify = os.environ.get("REDIS_TLS_VERIFY", "none").strip().lower()
    if verify == "required":
        options: dict[str, Any] = {"ssl_cert_reqs": ssl.CERT_REQUIRED}
        ca_file = os.environ.get("REDIS_TLS_CA_CERTS")
        if ca_file:
            options["ssl_ca_certs"] = ca_file
        return options
    return {"ssl_cert_reqs": ssl.CERT_NONE, "ssl_check_hostname": False}
