"""Offer intake from the hub: ``POST /offers`` and ``GET /offers/{connection}/{sku}``.

Both require ``Authorization: Bearer {hub.inbound_token}``. The intake validates the
whole request before it queues anything, so a 400 leaves nothing half queued.
"""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue
from redis.exceptions import RedisError
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import PathConverter

from config.errors import SettingsError
from config.model import Settings
from webhook.auth import bearer_token_matches
from webhook.routes import read_body, service
from workers.offer_model import (
    OfferRequestError,
    TooManyOffers,
    load_offer_json,
    parse_offer_request,
)
from workers.offers import enqueue_offers, offer_result

logger = logging.getLogger(__name__)

bp = Blueprint("offers", __name__)

# 100 offers with dozens of variants each fit well within this.
MAX_OFFER_BODY_BYTES = 8 * 1024 * 1024


class SkuConverter(PathConverter):
    """The rest of the path, slashes included, even a leading one: SKUs may start
    with '/', which werkzeug's ``path`` converter does not match."""

    # With werkzeug 3.1, a pattern such as ".+" did not match across slashes (tried).
    # This one has the shape of the path converter's "[^/].*?" and also takes "/".
    regex = "(?:/|[^/]).*?"


def _authorized(settings: Settings) -> bool:
    """Return whether the request carries the hub's inbound token."""
    header = request.headers.get("Authorization")
    return bearer_token_matches(header, settings.hub.inbound_token)


def _unauthorized() -> ResponseReturnValue:
    logger.warning(
        "offer request rejected: missing or invalid bearer token (%s %s)",
        request.method,
        request.path,
    )
    return (
        jsonify(error="authentication failed: send Authorization: Bearer <token>"),
        401,
        {"WWW-Authenticate": 'Bearer realm="offers"'},
    )


@bp.post("/offers")
def receive_offers() -> ResponseReturnValue:
    """Validate offers from the hub and queue one job per offer."""
    try:
        settings = service().settings
    except SettingsError as exc:
        logger.error("offers not accepted: no valid settings loaded: %s", exc.first)
        return jsonify(error="service unavailable: no valid settings"), 503
    if not _authorized(settings):
        return _unauthorized()

    request.max_content_length = MAX_OFFER_BODY_BYTES + 1
    try:
        body = read_body(MAX_OFFER_BODY_BYTES)
    except (OSError, ValueError) as exc:
        # A WSGI server raises these for a malformed body, such as a bad chunk size.
        logger.warning("offer request rejected: unreadable body: %s", exc)
        return jsonify(error=f"unreadable request body: {type(exc).__name__}"), 400
    except RequestEntityTooLarge:
        message = (
            f"body: larger than {MAX_OFFER_BODY_BYTES // (1024 * 1024)} MiB; split "
            "the offers over several requests"
        )
        logger.warning("offer request rejected: %s", message)
        return jsonify(error="request body too large", errors=[message]), 413
    try:
        offer_request = parse_offer_request(load_offer_json(body))
    except TooManyOffers as exc:
        logger.warning("offer request rejected: %s", exc)
        return jsonify(error="too many offers", errors=exc.messages), 413
    except OfferRequestError as exc:
        logger.warning("offer request rejected: %s", exc)
        return jsonify(error="invalid offer request", errors=exc.messages), 400

    name = offer_request.connection
    if settings.connection(name) is None:
        message = f"connection: {name!r} is not a configured connection"
        logger.warning("offer request rejected: %s", message)
        return jsonify(error="invalid offer request", errors=[message]), 400

    try:
        entries = enqueue_offers(service().redis, name, offer_request.offers)
    except RedisError as exc:
        logger.error("offers not queued: Redis unreachable: %s", exc)
        return jsonify(error="service unavailable: queue unreachable"), 503
    logger.info("offers queued: %d for connection %s", len(entries), name)
    return jsonify(offers=entries), 202


@bp.get("/offers/<connection>/<sku:sku>", merge_slashes=False)
def get_offer_result(connection: str, sku: str) -> ResponseReturnValue:
    """Return the latest result of one SKU's push."""
    try:
        settings = service().settings
    except SettingsError as exc:
        logger.error("offer lookup failed: no valid settings loaded: %s", exc.first)
        return jsonify(error="service unavailable: no valid settings"), 503
    if not _authorized(settings):
        return _unauthorized()
    if settings.connection(connection) is None:
        return jsonify(error=f"connection {connection!r} is not configured"), 404
    try:
        result = offer_result(service().redis, connection, sku)
    except RedisError as exc:
        logger.error("offer lookup failed: Redis unreachable: %s", exc)
        return jsonify(error="service unavailable: Redis unreachable"), 503
    if result is None:
        return jsonify(error=f"no offer with SKU {sku!r} for {connection}"), 404
    return jsonify(result), 200
