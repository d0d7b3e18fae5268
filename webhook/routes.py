"""HTTP endpoints: the BigCommerce webhook and the health check.

The webhook answers 2xx to everything that is not an authentication or shape error,
because BigCommerce blocks a domain whose deliveries fail too often. It answers 503
only when the event could not be recorded, so BigCommerce's retry is processed
normally. It never answers 3xx, 410 or 500.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from redis.exceptions import RedisError
from werkzeug.exceptions import RequestEntityTooLarge

from config.errors import SettingsError
from webhook.auth import is_authentic
from webhook.ingest import ingest_order_event
from webhook.payload import InvalidPayload, parse_callback
from workers import metrics, state
from workers.context import ServiceContext
from workers.logs import event

logger = logging.getLogger(__name__)

bp = Blueprint("sync", __name__)

AUTH_FAILED = {"error": "authentication failed"}
MAX_WEBHOOK_BODY_BYTES = 64 * 1024


def read_body(limit: int) -> bytes:
    """Read the request body; raises 413 when it is longer than ``limit`` bytes.

    A chunked body has no Content-Length, so its size is known only by reading it:
    one byte past the limit proves it too long.
    """
    declared = request.content_length
    too_large = declared is not None and declared > limit
    body = b"" if too_large else request.stream.read(limit + 1)
    if too_large or len(body) > limit:
        logger.warning(
            "request to %s rejected: the body is over %d bytes",
            request.path,
            limit,
            extra=event(result="too large"),
        )
        raise RequestEntityTooLarge()
    return body


def service() -> ServiceContext:
    context: ServiceContext = current_app.extensions["sync"]
    return context


@bp.post("/webhooks/bigcommerce")
def receive_bigcommerce_webhook() -> ResponseReturnValue:
    """Authenticate a BigCommerce callback and queue, skip or ignore its event."""
    body = read_body(MAX_WEBHOOK_BODY_BYTES)
    try:
        callback = parse_callback(body)
    except InvalidPayload as exc:
        logger.warning("webhook rejected: %s", exc, extra=event(result="invalid"))
        _count(service(), "", "", "invalid")
        return jsonify(error=str(exc)), 400

    try:
        return _handle_callback(callback, body)
    except SettingsError as exc:
        logger.error("webhook not recorded: no valid settings loaded: %s", exc.first)
        return jsonify(error="service unavailable: no valid settings"), 503
    except RedisError as exc:
        logger.error(
            "webhook not recorded: Redis unreachable: %s",
            exc,
            extra=event(scope=callback.scope, result="unavailable"),
        )
        return jsonify(error="service unavailable: queue unreachable"), 503
    except Exception:
        logger.exception(
            "webhook not recorded: unexpected error (scope=%s)", callback.scope
        )
        return jsonify(error="service unavailable"), 503


def _handle_callback(callback: Any, body: bytes) -> ResponseReturnValue:
    context = service()
    settings = context.settings
    store_hash = callback.store_hash
    connection = settings.connection_for_store(store_hash) if store_hash else None
    if connection is None:
        logger.warning(
            "webhook rejected: no connection for store hash %r (producer=%r scope=%s)",
            store_hash,
            callback.producer,
            callback.scope,
            extra=event(scope=callback.scope, result="rejected"),
        )
        _count(context, "", callback.scope, "rejected")
        return jsonify(AUTH_FAILED), 401
    if not is_authentic(connection.webhooks, request.headers, body):
        logger.warning(
            "webhook rejected: authentication failed (connection=%s scope=%s)",
            connection.name,
            callback.scope,
            extra=event(
                connection=connection.name, scope=callback.scope, result="rejected"
            ),
        )
        _count(context, connection.name, callback.scope, "rejected")
        return jsonify(AUTH_FAILED), 401

    if not callback.is_order_event:
        _count_ignored(context, callback.scope)
        _count(context, connection.name, callback.scope, "ignored")
        logger.info(
            "webhook ignored: scope %s (connection=%s)",
            callback.scope,
            connection.name,
            extra=event(
                connection=connection.name, scope=callback.scope, result="ignored"
            ),
        )
        return jsonify(result="ignored"), 200

    result = ingest_order_event(context.redis, connection, callback)
    return jsonify(result=result), 200


def _count(context: ServiceContext, connection: str, scope: str, result: str) -> None:
    labels = {"connection": connection, "scope": scope, "result": result}
    metrics.count(context.redis, "webhooks", labels)


def _count_ignored(context: ServiceContext, scope: str) -> None:
    """Count an ignored scope; a Redis failure here loses only the count."""
    try:
        state.increment(context.redis, f"webhooks:ignored:{scope}")
    except RedisError as exc:
        logger.warning("ignored webhook not counted: Redis unreachable: %s", exc)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """Report Redis reachability and the state of the settings file."""
    context = service()
    body = {"redis": "ok", "settings": "ok"}
    status = 200
    try:
        context.redis.ping()
    except RedisError as exc:
        body["redis"] = f"unreachable: {exc}"
        status = 503
    try:
        error = context.settings_store.error
    except SettingsError as exc:
        body["settings"] = f"invalid: {exc.first}"
        status = 503
    else:
        if error is not None:
            body["settings"] = f"invalid: {error}"
    return jsonify(body), status
