"""Local HTTP stand-in for the ERP hub that receives pushed orders.

``POST /orders`` takes ``{"store_hash": ..., "order": {"id": ...}, ...}`` with
an ``Idempotency-Key`` header, records every request, optionally writes each
accepted body to ``{folder}/{store_hash}-{order_id}.json`` and responds with 201.
Tests script other answers (409, 503, 400 with a message, ...) in advance.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, request
from werkzeug.serving import make_server

from sandbox.server import LOOPBACK_HOST

__all__ = ["FakeHub", "HubPush", "ScriptedResponse", "create_hub_app", "main"]

logger = logging.getLogger(__name__)

_EXTENSION_KEY = "sandbox_fake_hub"


@dataclass(frozen=True)
class HubPush:
    """One ``POST /orders`` request and the status the hub returned."""

    headers: dict[str, str]
    body: Any
    raw_body: bytes
    time: float
    status: int
    store_hash: str | None
    order_id: int | None

    @property
    def idempotency_key(self) -> str | None:
        """The ``Idempotency-Key`` header, or None when it was not sent."""
        return _header(self.headers, "Idempotency-Key")

    @property
    def authorization(self) -> str | None:
        """The ``Authorization`` header, or None when it was not sent."""
        return _header(self.headers, "Authorization")

    @property
    def succeeded(self) -> bool:
        """Whether the hub responded with a 2xx status."""
        return 200 <= self.status < 300


@dataclass
class ScriptedResponse:
    """A response the hub gives to the next ``remaining`` valid pushes."""

    status: int
    remaining: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class FakeHub:
    """Recorded pushes, scripted responses and options of the hub stand-in.

    Safe to use from test threads while the app serves requests.
    """

    def __init__(
        self,
        *,
        folder: str | os.PathLike[str] | None = None,
        expected_token: str | None = None,
        latency_ms: int = 0,
        require_idempotency_key: bool = True,
        conflict_on_duplicate: bool = False,
    ) -> None:
        self.folder = Path(folder) if folder is not None else None
        self.expected_token = expected_token
        self.latency_ms = latency_ms
        self.require_idempotency_key = require_idempotency_key
        self.conflict_on_duplicate = conflict_on_duplicate
        self._lock = threading.Lock()
        self._pushes: list[HubPush] = []
        self._script: list[ScriptedResponse] = []
        self._ids = itertools.count(1)
        self._outage_until = 0.0
        self._outage_status = 503
        self._rejected: dict[int, tuple[int, str]] = {}

    def script_responses(
        self,
        status: int,
        count: int = 1,
        *,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Respond to the next ``count`` well-formed, authorized pushes with ``status``.

        Scripts queue up in call order. ``body`` None sends ``{"error": ...}``
        for an error status; a str is sent as is, anything else as JSON. A
        scripted 2xx still writes the file and counts as accepted.
        """
        scripted = ScriptedResponse(status, count, body, dict(headers or {}))
        with self._lock:
            self._script.append(scripted)

    def start_outage(self, seconds: float, status: int = 503) -> None:
        """Respond to every push with ``status`` for the next ``seconds``."""
        with self._lock:
            self._outage_status = status
            self._outage_until = time.monotonic() + seconds

    def outage_status(self) -> int | None:
        """Return the outage status while an outage lasts, else None."""
        with self._lock:
            if time.monotonic() < self._outage_until:
                return self._outage_status
            return None

    def reject_order(self, order_id: int, status: int, message: str) -> None:
        """Respond to every push of one order with ``status`` and ``message``."""
        with self._lock:
            self._rejected[order_id] = (status, message)

    def clear_rejection(self, order_id: int) -> None:
        """Accept pushes of an order that ``reject_order`` rejected."""
        with self._lock:
            self._rejected.pop(order_id, None)

    def rejection_for(self, order_id: int | None) -> tuple[int, str] | None:
        with self._lock:
            return None if order_id is None else self._rejected.get(order_id)

    def take_scripted(self) -> ScriptedResponse | None:
        """Consume one use of the first pending scripted response and return it."""
        with self._lock:
            while self._script and self._script[0].remaining <= 0:
                self._script.pop(0)
            if not self._script:
                return None
            scripted = self._script[0]
            scripted.remaining -= 1
            return scripted

    def record(self, push: HubPush) -> None:
        """Append one push to the log."""
        with self._lock:
            self._pushes.append(push)

    @property
    def pushes(self) -> list[HubPush]:
        """Snapshot of every received push, oldest first."""
        with self._lock:
            return list(self._pushes)

    def push_count(
        self, store_hash: str, order_id: int, *, succeeded_only: bool = False
    ) -> int:
        """Count the pushes for one order, or only those that got a 2xx response."""
        return sum(
            1
            for push in self.pushes
            if push.store_hash == store_hash
            and push.order_id == order_id
            and (push.succeeded or not succeeded_only)
        )

    def has_accepted(self, store_hash: str, order_id: int) -> bool:
        """Return whether an earlier push of this order got a 2xx response."""
        return self.push_count(store_hash, order_id, succeeded_only=True) > 0

    def next_id(self) -> str:
        """Return a new hub-side order id."""
        with self._lock:
            return f"HUB-{next(self._ids):06d}"

    def clear(self) -> None:
        """Forget every push and scripted response."""
        with self._lock:
            self._pushes.clear()
            self._script.clear()

    def order_file(self, store_hash: str, order_id: int) -> Path | None:
        """Return the file a push of this order goes to; None without a folder."""
        if self.folder is None:
            return None
        return self.folder / f"{store_hash}-{order_id}.json"


def create_hub_app(hub: FakeHub) -> Flask:
    """Create the hub stand-in app that records pushes into ``hub``."""
    app = Flask(__name__)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions[_EXTENSION_KEY] = hub
    app.add_url_rule("/orders", view_func=post_order, methods=["POST"])
    return app


def post_order() -> Response:
    """Check, record and respond to one pushed order."""
    hub: FakeHub = current_app.extensions[_EXTENSION_KEY]
    if hub.latency_ms > 0:
        time.sleep(hub.latency_ms / 1000)

    raw_body = request.get_data()
    body = _parse_json(raw_body)
    store_hash, order_id = _order_identity(body)
    response = _answer(hub, body, store_hash, order_id)

    hub.record(
        HubPush(
            headers=dict(request.headers.items()),
            body=body,
            raw_body=raw_body,
            time=dt.datetime.now(dt.UTC).timestamp(),
            status=response.status_code,
            store_hash=store_hash,
            order_id=order_id,
        )
    )
    return response


def _answer(
    hub: FakeHub, body: Any, store_hash: str | None, order_id: int | None
) -> Response:
    rejection = _check_request(hub, body)
    if rejection is None:
        if store_hash is not None and order_id is not None:
            return _accept(hub, body, store_hash, order_id)
        message = "body must contain a string store_hash and an order with an int id"
        rejection = _json_response(400, {"error": message})

    logger.info(
        "push of order %s (store %s) rejected with %s: %s",
        order_id,
        store_hash,
        rejection.status_code,
        rejection.get_data(as_text=True),
    )
    return rejection


def _accept(hub: FakeHub, body: Any, store_hash: str, order_id: int) -> Response:
    outage = hub.outage_status()
    rejection = hub.rejection_for(order_id)
    scripted = None if outage or rejection else hub.take_scripted()
    if outage is not None:
        response = _json_response(outage, {"error": "hub unavailable"})
    elif rejection is not None:
        response = _json_response(rejection[0], {"error": rejection[1]})
    elif scripted is not None:
        response = _scripted_response(scripted)
    elif hub.conflict_on_duplicate and hub.has_accepted(store_hash, order_id):
        response = _json_response(409, {"error": f"order {order_id} already exists"})
    else:
        response = _json_response(201, {"id": hub.next_id()})

    if 200 <= response.status_code < 300:
        _write_order_file(hub, store_hash, order_id, body)
    return response


def _check_request(hub: FakeHub, body: Any) -> Response | None:
    expected = f"Bearer {hub.expected_token}" if hub.expected_token else None
    if expected is not None and request.headers.get("Authorization") != expected:
        return _json_response(401, {"error": "invalid or missing bearer token"})
    if body is None:
        return _json_response(400, {"error": "request body is not valid JSON"})
    if hub.require_idempotency_key and not request.headers.get("Idempotency-Key"):
        return _json_response(400, {"error": "missing Idempotency-Key header"})
    return None


def _scripted_response(scripted: ScriptedResponse) -> Response:
    if scripted.body is None:
        if 200 <= scripted.status < 300:
            response = _json_response(scripted.status, {"id": "HUB-SCRIPTED"})
        else:
            message = f"scripted hub error {scripted.status}"
            response = _json_response(scripted.status, {"error": message})
    elif isinstance(scripted.body, str):
        response = Response(scripted.body, status=scripted.status)
    else:
        response = _json_response(scripted.status, scripted.body)
    response.headers.update(scripted.headers)
    return response


def _json_response(status: int, payload: Any) -> Response:
    return Response(json.dumps(payload), status=status, mimetype="application/json")


def _parse_json(raw_body: bytes) -> Any:
    try:
        return json.loads(raw_body)
    except ValueError:
        return None


def _order_identity(body: Any) -> tuple[str | None, int | None]:
    if not isinstance(body, dict):
        return None, None
    store_hash = body.get("store_hash")
    order = body.get("order")
    order_id = order.get("id") if isinstance(order, dict) else None
    if not isinstance(store_hash, str) or not store_hash:
        store_hash = None
    if not isinstance(order_id, int) or isinstance(order_id, bool):
        order_id = None
    return store_hash, order_id


def _write_order_file(hub: FakeHub, store_hash: str, order_id: int, body: Any) -> None:
    target = hub.order_file(store_hash, order_id)
    if target is None:
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write to a temporary file first so a reader never sees half a file.
    with tempfile.NamedTemporaryFile(
        "w", dir=target.parent, suffix=".tmp", delete=False, encoding="utf-8"
    ) as handle:
        json.dump(body, handle, indent=2)
        handle.write("\n")
    os.replace(handle.name, target)
    logger.info("order %s of store %s written to %s", order_id, store_hash, target)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def _parse_cli(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.hub",
        description="Serve the hub stand-in (POST /orders) on 127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=0, help="TCP port; 0 picks one")
    parser.add_argument(
        "--folder", default=None, help="folder that receives one JSON file per order"
    )
    parser.add_argument(
        "--token", default=None, help="bearer token the Authorization header must have"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the hub stand-in in the foreground until interrupted."""
    args = _parse_cli(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    hub = FakeHub(folder=args.folder, expected_token=args.token)
    server = make_server(LOOPBACK_HOST, args.port, create_hub_app(hub))
    print(
        f"hub stand-in at http://{LOOPBACK_HOST}:{server.server_port}/orders",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        logger.info("hub stand-in stopped")
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
