"""``GET /metrics``: the service's Prometheus metrics, read from Redis.

When the environment variable ``METRICS_TOKEN`` is set, the request must carry
``Authorization: Bearer <token>``; without it the endpoint is open, as scrapers on a
private network expect.
"""

from __future__ import annotations

import logging
import os

from flask import Blueprint, Response, jsonify
from flask import request as flask_request
from flask.typing import ResponseReturnValue
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from redis.exceptions import RedisError

from webhook.auth import bearer_token_matches
from webhook.routes import service
from workers.metrics import RedisCollector

logger = logging.getLogger(__name__)

bp = Blueprint("metrics", __name__)


def _authorized() -> bool:
    token = os.environ.get("METRICS_TOKEN", "")
    if not token:
        return True
    return bearer_token_matches(flask_request.headers.get("Authorization"), token)


@bp.get("/metrics")
def metrics() -> ResponseReturnValue:
    """Return every counter, histogram and queue gauge in Prometheus text format."""
    if not _authorized():
        logger.warning("metrics request rejected: missing or invalid bearer token")
        return jsonify(error="authentication failed"), 401
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RedisCollector(service().redis))
    try:
        body = generate_latest(registry)
    except RedisError as exc:
        logger.error("metrics not available: Redis unreachable: %s", exc)
        return jsonify(error="service unavailable: Redis unreachable"), 503
    return Response(body, mimetype=None, content_type=CONTENT_TYPE_LATEST)
