"""Flask application of the sync service: webhook endpoint, health check, commands."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from workers.context import ServiceContext

MAX_WEBHOOK_BODY_BYTES = 64 * 1024


def create_app(
    test_config: dict[str, Any] | None = None,
    *,
    context: ServiceContext | None = None,
) -> Flask:
    """Build the app; settings and Redis are opened on first use, not here."""
    app = Flask(__name__)
    app.config.from_mapping(MAX_CONTENT_LENGTH=MAX_WEBHOOK_BODY_BYTES)
    if test_config:
        app.config.from_mapping(test_config)
    app.extensions["sync"] = context or ServiceContext()

    from webhook.cli import register_commands
    from webhook.routes import bp

    app.register_blueprint(bp)
    register_commands(app)
    app.register_error_handler(HTTPException, _json_http_error)
    return app


def _json_http_error(exc: HTTPException) -> Any:
    """Answer HTTP errors (404, 405, 413) as JSON instead of HTML."""
    return jsonify(error=exc.description or exc.name), exc.code or 500
