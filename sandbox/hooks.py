"""Stand-in for BigCommerce's Webhooks V3 API (``/stores/<hash>/v3/hooks``).

``HookRegistry`` keeps the webhook subscriptions ("hooks") of every store, and
``register_hook_routes`` serves them with the shapes of the Webhooks V3 reference:
``{"data": ..., "meta": ...}`` bodies and ``{"status", "title", "type"}`` errors.
The app's token check, fault injection, rate limit and request log apply as for the
orders routes.
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, Flask, Response, current_app, jsonify, request

if TYPE_CHECKING:
    from sandbox.store import FakeStore

# BigCommerce ties hooks to the API account that created them. The stand-in has one
# account per store, so every hook gets this client id.
SANDBOX_CLIENT_ID = "sandbox-client-id"
DEFAULT_PAGE_LIMIT = 50
MAX_PAGE_LIMIT = 250
ERROR_TYPE = "/api-docs/getting-started/api-status-codes"
HOOK_FIELDS = ("scope", "destination", "is_active", "headers")

_EXTENSION_KEY = "sandbox_hooks_store"


class HookValidationError(ValueError):
    """An invalid hook field, rejected with 422 and ``errors`` by field name."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


class HookRegistry:
    """Thread-safe hooks of every store; reads return deep copies.

    Hook ids are unique across stores. ``created_at`` and ``updated_at`` are Unix
    seconds from ``clock``.
    """

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._hooks: dict[str, dict[int, dict[str, Any]]] = {}
        self._ids = itertools.count(1)

    def list_hooks(self, store_hash: str) -> list[dict[str, Any]]:
        """Return a store's hooks by id; empty for an unknown store."""
        with self._lock:
            hooks = self._hooks.get(store_hash, {})
            return [copy.deepcopy(hooks[hook_id]) for hook_id in sorted(hooks)]

    def get_hook(self, store_hash: str, hook_id: int) -> dict[str, Any] | None:
        """Return one hook, or None when the store has no hook with that id."""
        with self._lock:
            hook = self._hooks.get(store_hash, {}).get(hook_id)
            return None if hook is None else copy.deepcopy(hook)

    def create_hook(self, store_hash: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Add a hook and return it; raises HookValidationError.

        ``scope`` and ``destination`` are required, ``is_active`` defaults to true.
        Duplicates of an existing scope and destination are accepted, so a client
        that creates duplicates shows up in the tests' hook counts.
        """
        errors = validate_hook_fields(fields, required=("scope", "destination"))
        if errors:
            raise HookValidationError(errors)
        now = int(self._clock())
        with self._lock:
            hook = {
                "id": next(self._ids),
                "client_id": SANDBOX_CLIENT_ID,
                "store_hash": store_hash,
                "scope": fields["scope"],
                "destination": fields["destination"],
                "is_active": fields.get("is_active", True),
                "headers": copy.deepcopy(fields.get("headers")),
                "created_at": now,
                "updated_at": now,
            }
            self._hooks.setdefault(store_hash, {})[hook["id"]] = hook
            return copy.deepcopy(hook)

    def update_hook(
        self, store_hash: str, hook_id: int, fields: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Change the given fields of a hook and return it.

        Raises KeyError for an unknown hook and HookValidationError for an invalid
        field or an empty update.
        """
        errors = validate_hook_fields(fields, required=())
        if not errors and not any(name in fields for name in HOOK_FIELDS):
            errors = {"body": "at least one field is required for an update"}
        if errors:
            raise HookValidationError(errors)
        with self._lock:
            hook = self._find(store_hash, hook_id)
            for name in HOOK_FIELDS:
                if name in fields:
                    hook[name] = copy.deepcopy(fields[name])
            hook["updated_at"] = int(self._clock())
            return copy.deepcopy(hook)

    def delete_hook(self, store_hash: str, hook_id: int) -> dict[str, Any]:
        """Remove a hook and return it; raises KeyError for an unknown hook."""
        with self._lock:
            hook = self._find(store_hash, hook_id)
            del self._hooks[store_hash][hook_id]
            return hook

    def set_active(self, store_hash: str, hook_id: int, active: bool) -> dict[str, Any]:
        """Set ``is_active`` as BigCommerce does after failed deliveries."""
        return self.update_hook(store_hash, hook_id, {"is_active": active})

    def _find(self, store_hash: str, hook_id: int) -> dict[str, Any]:
        try:
            return self._hooks[store_hash][hook_id]
        except KeyError:
            raise KeyError(
                f"webhook {hook_id} not found in store {store_hash}"
            ) from None


def validate_hook_fields(
    fields: Mapping[str, Any], *, required: tuple[str, ...]
) -> dict[str, str]:
    """Return the problems of a create or update body by field name."""
    errors = {name: "error.path.missing" for name in required if name not in fields}
    scope = fields.get("scope")
    if "scope" in fields and (not isinstance(scope, str) or not scope):
        errors["scope"] = "expected a non-empty string"
    if "destination" in fields:
        problem = _destination_problem(fields["destination"])
        if problem:
            errors["destination"] = problem
    if "is_active" in fields and not isinstance(fields["is_active"], bool):
        errors["is_active"] = "expected true or false"
    if "headers" in fields and not _is_header_map(fields["headers"]):
        errors["headers"] = "expected null or an object of string values"
    return errors


def _destination_problem(destination: Any) -> str:
    if not isinstance(destination, str) or not destination:
        return "expected a non-empty string"
    parts = urlsplit(destination)
    if parts.scheme != "https" or not parts.hostname:
        return "expected an https:// URL"
    try:
        port = parts.port
    except ValueError:
        return "invalid port"
    # The reference requires destinations on port 443.
    if port not in (None, 443):
        return "custom ports are not supported; expected port 443"
    return ""


def _is_header_map(headers: Any) -> bool:
    if headers is None:
        return True
    if not isinstance(headers, dict):
        return False
    return all(
        isinstance(name, str) and isinstance(value, str)
        for name, value in headers.items()
    )


bp = Blueprint("hooks", __name__, url_prefix="/stores/<store_hash>/v3/hooks")


def register_hook_routes(app: Flask, store: FakeStore) -> None:
    """Serve ``store``'s hooks from ``app``, the BigCommerce stand-in."""
    app.extensions[_EXTENSION_KEY] = store
    app.register_blueprint(bp)


@bp.get("")
def get_hooks(store_hash: str) -> Response:
    """Return one page of the store's hooks after the query filters."""
    try:
        page = _int_arg("page", default=1, minimum=1, maximum=None)
        # NOTE: the reference documents page and limit but no default or maximum,
        # so 50 and 250 are guesses that match the Orders V2 API.
        limit = _int_arg(
            "limit", default=DEFAULT_PAGE_LIMIT, minimum=1, maximum=MAX_PAGE_LIMIT
        )
        is_active = _bool_arg("is_active")
    except ValueError as exc:
        return v3_error(400, str(exc))

    hooks = _registry().list_hooks(store_hash)
    if is_active is not None:
        hooks = [hook for hook in hooks if hook["is_active"] is is_active]
    for name in ("scope", "destination"):
        value = request.args.get(name)
        if value:
            hooks = [hook for hook in hooks if hook[name] == value]

    start = (page - 1) * limit
    page_hooks = hooks[start : start + limit]
    total_pages = max(1, -(-len(hooks) // limit))
    # NOTE: the reference gives the list's data minItems 1 but does not say what
    # BigCommerce returns for a store without hooks. This stand-in returns [].
    return jsonify(
        data=page_hooks,
        meta={
            "pagination": {
                "total": len(hooks),
                "count": len(page_hooks),
                "per_page": limit,
                "current_page": page,
                "total_pages": total_pages,
                "links": _page_links(page, total_pages),
            }
        },
    )


@bp.post("")
def post_hooks(store_hash: str) -> Response:
    """Create a hook; 400 for a body that is not a JSON object, 422 for bad fields."""
    fields = _json_object()
    if isinstance(fields, Response):
        return fields
    try:
        hook = _registry().create_hook(store_hash, fields)
    except HookValidationError as exc:
        return v3_error(422, "JSON data is missing or invalid", errors=exc.errors)
    return jsonify(data=hook, meta={})


@bp.get("/<int:hook_id>")
def get_hook_by_id(store_hash: str, hook_id: int) -> Response:
    """Return one hook, or 404."""
    hook = _registry().get_hook(store_hash, hook_id)
    if hook is None:
        return _not_found(hook_id)
    return jsonify(data=hook, meta={})


@bp.put("/<int:hook_id>")
def put_hook(store_hash: str, hook_id: int) -> Response:
    """Change the fields the body sets; 404 for an unknown hook."""
    fields = _json_object()
    if isinstance(fields, Response):
        return fields
    try:
        hook = _registry().update_hook(store_hash, hook_id, fields)
    except KeyError:
        return _not_found(hook_id)
    except HookValidationError as exc:
        return v3_error(422, "JSON data is missing or invalid", errors=exc.errors)
    return jsonify(data=hook, meta={})


@bp.delete("/<int:hook_id>")
def delete_hook_by_id(store_hash: str, hook_id: int) -> Response:
    """Delete a hook and return it as it was; 404 for an unknown hook."""
    try:
        hook = _registry().delete_hook(store_hash, hook_id)
    except KeyError:
        return _not_found(hook_id)
    return jsonify(data=hook, meta={})


@bp.after_request
def use_v3_error_shape(response: Response) -> Response:
    """Rewrite the app's v2 error list (token check, faults, 404) to the v3 shape."""
    if response.status_code < 400 or not response.is_json:
        return response
    body = response.get_json(silent=True)
    if (
        isinstance(body, list)
        and len(body) == 1
        and isinstance(body[0], dict)
        and set(body[0]) == {"status", "message"}
    ):
        response.set_data(
            json.dumps(
                {
                    "status": body[0]["status"],
                    "title": body[0]["message"],
                    "type": ERROR_TYPE,
                }
            )
        )
    return response


def v3_error(
    status: int, title: str, *, errors: Mapping[str, str] | None = None
) -> Response:
    """Return a v3 error body: ``{"status", "title", "type"}`` and ``errors``."""
    body: dict[str, Any] = {"status": status, "title": title, "type": ERROR_TYPE}
    if errors is not None:
        body["errors"] = dict(errors)
    response = jsonify(body)
    response.status_code = status
    return response


def _registry() -> HookRegistry:
    store: FakeStore = current_app.extensions[_EXTENSION_KEY]
    return store.hook_registry


def _not_found(hook_id: int) -> Response:
    return v3_error(404, f"Webhook with id [{hook_id}] not found")


def _json_object() -> dict[str, Any] | Response:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return v3_error(400, "Input is invalid; expected a JSON object.")
    return body


def _int_arg(name: str, *, default: int, minimum: int, maximum: int | None) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"invalid {name} {raw!r}; expected an integer") from None
    if value < minimum or (maximum is not None and value > maximum):
        upper = "" if maximum is None else f" and at most {maximum}"
        raise ValueError(f"invalid {name} {value}; expected at least {minimum}{upper}")
    return value


def _bool_arg(name: str) -> bool | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise ValueError(f"invalid {name} {raw!r}; expected true or false")


def _page_links(page: int, total_pages: int) -> dict[str, str]:
    args = request.args.to_dict()
    links = {}
    for name, number in (
        ("previous", page - 1),
        ("current", page),
        ("next", page + 1),
    ):
        if 1 <= number <= total_pages or name == "current":
            links[name] = "?" + urlencode({**args, "page": str(number)})
    return links
