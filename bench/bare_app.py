"""The baseline of the ingest benchmark: a Flask endpoint that only returns 200.

gunicorn runs it with the service's own gunicorn.conf.py, so the two differ only in
what the endpoint does.
"""

from __future__ import annotations

from flask import Flask


def create_app() -> Flask:
    app = Flask(__name__)

    @app.post("/webhooks/bigcommerce")
    def receive() -> tuple[str, int]:
        return '{"result": "queued"}', 200

    @app.get("/healthz")
    def healthz() -> tuple[str, int]:
        return "{}", 200

    return app
