"""Flask application of the sync service: webhook endpoint, offer intake, health
check and commands."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from workers.context import ServiceContext
from workers.logs import configure_logging

# One byte more than the webhook accepts, so that the endpoint can tell a body of
# exactly 64 KiB from a longer one that werkzeug cut short.
logger = logging.getLogger(__name__)

MAX_CONTENT_LENGTH = 64 * 1024 + 1


def create_app(
    test_config: dict[str, Any] | None = None,
    *,
    context: ServiceContext | None = None,
) -> Flask:
    """Build the app; settings and Redis are opened on first use, not here."""
    configure_logging()
    app = Flask(__name__)
    app.config.from_mapping(MAX_CONTENT_LENGTH=MAX_CONTENT_LENGTH)
    if test_config:
        app.config.from_mapping(test_config)
    app.extensions["sync"] = context or ServiceContext()

    from webhook.admin import bp as admin_bp
    from webhook.cli import register_commands
    from webhook.metrics import bp as metrics_bp
    from webhook.offers import SkuConverter
    from webhook.offers import bp as offers_bp
    from webhook.routes import bp

    app.url_map.converters["sku"] = SkuConverter

    app.register_blueprint(bp)
    app.register_blueprint(offers_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(metrics_bp)
    register_commands(app)
    app.register_error_handler(HTTPException, _json_http_error)
    app.register_error_handler(Exception, _json_unexpected_error)
    return app


def _json_unexpected_error(exc: Exception) -> Any:
    """Return 503 instead of 500, so the sender retries; nothing was recorded."""
    logger.error("request failed: unexpected %s", type(exc).__name__, exc_info=exc)
    return jsonify(error="service unavailable"), 503


def _json_http_error(exc: HTTPException) -> Any:
    """Return HTTP errors (404, 405, 413) as JSON instead of HTML."""
    return jsonify(error=exc.description or exc.name), exc.code or 500
