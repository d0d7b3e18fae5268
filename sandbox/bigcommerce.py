"""Local HTTP stand-in for the BigCommerce v2 Orders API.

Serves ``/stores/<store_hash>/v2/orders`` and an order's products, shipping
addresses and coupons from a FakeStore, with BigCommerce's token check,
rate-limit headers, paging and HTTP 204 for empty pages. The same app serves the
v3 hooks (sandbox.hooks) and catalog (sandbox.catalog) routes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import operator
from collections.abc import Callable, Sequence
from typing import Any

from flask import Flask, Response, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.serving import make_server

from sandbox.catalog import register_catalog_routes
from sandbox.dates import InvalidDateError, parse_api_datetime
from sandbox.hooks import register_hook_routes
from sandbox.orders import DEFAULT_STORE_HASH, StoreOrder, api_base_url, rebase_links
from sandbox.seed import sample_orders
from sandbox.server import LOOPBACK_HOST
from sandbox.store import FakeStore, Fault, RequestRecord

__all__ = ["FakeStore", "RequestRecord", "create_bigcommerce_app", "main"]

logger = logging.getLogger(__name__)

DEFAULT_LIMIT = 50
MAX_LIMIT = 250
NOT_FOUND_MESSAGE = "The requested resource was not found."
UNAUTHORIZED_MESSAGE = "Missing or invalid X-Auth-Token for this store."
RATE_LIMITED_MESSAGE = "Too many requests; retry after X-Rate-Limit-Time-Reset-Ms."
SUB_RESOURCES = ("products", "shipping_addresses", "coupons")
SORT_FIELDS = (
    "id",
    "customer_id",
    "date_created",
    "date_modified",
    "status_id",
    "channel_id",
    "external_id",
)
_DATE_FIELDS = {"date_created", "date_modified"}

_EXTENSION_KEY = "sandbox_fake_store"


class QueryError(ValueError):
    """An invalid query parameter, rejected with HTTP 400."""


def create_bigcommerce_app(store: FakeStore) -> Flask:
    """Create the stand-in app for ``store``; response links use the request's host."""
    app = Flask(__name__)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions[_EXTENSION_KEY] = store

    app.before_request(_gate_request)
    app.after_request(_add_rate_limit_headers)
    app.register_error_handler(QueryError, _answer_query_error)
    app.register_error_handler(HTTPException, _answer_http_error)

    prefix = "/stores/<store_hash>/v2/orders"
    app.add_url_rule(prefix, view_func=get_orders, methods=["GET"])
    app.add_url_rule(f"{prefix}/<int:order_id>", view_func=get_order, methods=["GET"])
    for name in SUB_RESOURCES:
        app.add_url_rule(
            f"{prefix}/<int:order_id>/{name}",
            endpoint=f"get_{name}",
            view_func=get_sub_resource,
            defaults={"name": name},
            methods=["GET"],
        )
    # The order's own link spells the path "shippingaddresses", so serve both.
    app.add_url_rule(
        f"{prefix}/<int:order_id>/shippingaddresses",
        endpoint="get_shippingaddresses",
        view_func=get_sub_resource,
        defaults={"name": "shipping_addresses"},
        methods=["GET"],
    )
    register_hook_routes(app, store)
    register_catalog_routes(app, store)
    return app


def get_order(store_hash: str, order_id: int) -> Response:
    """Return one order, including archived ones, or 404."""
    store_order = _store().get_order(store_hash, order_id)
    if store_order is None:
        return error_response(404, NOT_FOUND_MESSAGE)
    return jsonify(_with_local_links(store_order, store_hash).order)


def get_sub_resource(store_hash: str, order_id: int, name: str) -> Response:
    """Return one page of an order's products, shipping addresses or coupons."""
    store_order = _store().get_order(store_hash, order_id)
    if store_order is None:
        return error_response(404, NOT_FOUND_MESSAGE)

    page, limit = _page_args()
    items = getattr(_with_local_links(store_order, store_hash), name)
    return _page_response(items, page, limit)


def get_orders(store_hash: str) -> Response:
    """Return one page of the store's orders after filters and sort, or 204."""
    page, limit = _page_args()
    passes = _order_filter()
    matches = [
        store_order
        for store_order in _store().list_orders(store_hash)
        if passes(store_order.order)
    ]
    _sort_orders(matches)
    orders = [_with_local_links(item, store_hash).order for item in matches]
    return _page_response(orders, page, limit)


def error_response(status: int, message: str) -> Response:
    """Return BigCommerce's v2 error body, ``[{"status": ..., "message": ...}]``."""
    response = jsonify([{"status": status, "message": message}])
    response.status_code = status
    return response


def _store() -> FakeStore:
    store: FakeStore = current_app.extensions[_EXTENSION_KEY]
    return store


def _gate_request() -> Response | None:
    store = _store()
    record = RequestRecord(
        method=request.method,
        path=request.path,
        query_string=request.query_string.decode("latin-1"),
        args={key: request.args.getlist(key) for key in request.args},
        headers=dict(request.headers.items()),
        time=dt.datetime.now(dt.UTC).timestamp(),
        body=_json_body(),
    )
    store.record_request(record)
    store.sleep_latency()

    if record.store_hash is None:
        return None
    rate_limit = store.count_call(record.store_hash)
    g.rate_limit = rate_limit

    fault = store.take_fault(request.method, request.path)
    if fault is not None:
        logger.debug("fault %s injected for %s", fault.status, request.path)
        return _fault_response(fault)
    if not rate_limit.allowed:
        logger.info("store %s rate limited: %s", record.store_hash, request.path)
        return error_response(429, RATE_LIMITED_MESSAGE)
    if not store.is_valid_token(record.store_hash, request.headers.get("X-Auth-Token")):
        logger.info(
            "store %s: invalid X-Auth-Token for %s", record.store_hash, request.path
        )
        return error_response(401, UNAUTHORIZED_MESSAGE)
    return None


def _json_body() -> Any:
    # Parses the cached raw body without touching Flask's JSON cache, so the
    # routes' own get_json() calls still apply their Content-Type check.
    data = request.get_data(cache=True)
    if not data:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return None


def _fault_response(fault: Fault) -> Response:
    if fault.body is None:
        response = error_response(fault.status, f"Injected fault {fault.status}.")
    elif isinstance(fault.body, str | bytes):
        response = Response(fault.body, status=fault.status)
    else:
        response = Response(
            json.dumps(fault.body), status=fault.status, mimetype="application/json"
        )
    response.headers.update(fault.headers)
    g.skip_rate_limit_headers = not fault.rate_limit_headers
    return response


def _add_rate_limit_headers(response: Response) -> Response:
    rate_limit = g.get("rate_limit")
    if rate_limit is None or g.get("skip_rate_limit_headers", False):
        return response
    for name, value in rate_limit.headers().items():
        response.headers.setdefault(name, value)
    return response


def _answer_query_error(error: QueryError) -> Response:
    logger.info("invalid query %s: %s", request.full_path, error)
    return error_response(400, str(error))


def _answer_http_error(error: HTTPException) -> Response:
    status = error.code or 500
    message = NOT_FOUND_MESSAGE if status == 404 else (error.description or "")
    return error_response(status, message)


def _with_local_links(store_order: StoreOrder, store_hash: str) -> StoreOrder:
    return rebase_links(store_order, api_base_url(request.host_url, store_hash))


def _page_response(items: Sequence[Any], page: int, limit: int) -> Response:
    start = (page - 1) * limit
    page_items = list(items[start : start + limit])
    if not page_items:
        # BigCommerce returns an empty page as HTTP 204 with no body, not as [].
        response = Response(status=204)
        del response.headers["Content-Type"]
        return response
    return jsonify(page_items)


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise QueryError(f"invalid {name} {raw!r}; expected an integer") from None


def _page_args() -> tuple[int, int]:
    page = _int_arg("page")
    page = 1 if page is None else page
    limit = _int_arg("limit")
    limit = DEFAULT_LIMIT if limit is None else limit
    if page < 1:
        raise QueryError(f"invalid page {page}; expected 1 or more")
    # NOTE: BigCommerce documents a maximum of 250 but not whether it rejects or
    # caps a larger limit. This stand-in rejects it.
    if not 1 <= limit <= MAX_LIMIT:
        raise QueryError(f"invalid limit {limit}; expected 1..{MAX_LIMIT}")
    return page, limit


def _date_arg(name: str) -> dt.datetime | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        return parse_api_datetime(raw)
    except InvalidDateError as exc:
        raise QueryError(f"invalid {name}: {exc}") from None


def _bool_arg(name: str) -> bool | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    lowered = raw.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise QueryError(f"invalid {name} {raw!r}; expected true or false")


_Compare = Callable[[Any, Any], bool]

_ID_FILTERS: tuple[tuple[str, str, _Compare], ...] = (
    ("min_id", "id", operator.ge),
    ("max_id", "id", operator.le),
    ("status_id", "status_id", operator.eq),
    ("customer_id", "customer_id", operator.eq),
    ("channel_id", "channel_id", operator.eq),
)

_DATE_FILTERS: tuple[tuple[str, str, _Compare], ...] = (
    ("min_date_created", "date_created", operator.ge),
    ("max_date_created", "date_created", operator.le),
    ("min_date_modified", "date_modified", operator.ge),
    ("max_date_modified", "date_modified", operator.le),
)


def _order_filter() -> Callable[[dict[str, Any]], bool]:
    """Parse the filter arguments once and return a predicate over order objects."""
    id_bounds = [
        (field, compare, bound)
        for arg_name, field, compare in _ID_FILTERS
        if (bound := _int_arg(arg_name)) is not None
    ]
    date_bounds = [
        (field, compare, instant)
        for arg_name, field, compare in _DATE_FILTERS
        if (instant := _date_arg(arg_name)) is not None
    ]
    # NOTE: the Orders V2 reference file does not list is_deleted. This stand-in
    # leaves archived orders out unless the request has is_deleted=true.
    want_deleted = bool(_bool_arg("is_deleted"))

    def passes(order: dict[str, Any]) -> bool:
        if order["is_deleted"] is not want_deleted:
            return False
        for field, compare, bound in id_bounds:
            if not compare(order[field], bound):
                return False
        for field, compare, instant in date_bounds:
            if not compare(parse_api_datetime(order[field]), instant):
                return False
        return True

    return passes


def _sort_orders(orders: list[StoreOrder]) -> None:
    raw = request.args.get("sort") or "id:asc"
    field, _, direction = raw.partition(":")
    direction = direction or "asc"
    if field not in SORT_FIELDS or direction not in ("asc", "desc"):
        raise QueryError(
            f"invalid sort {raw!r}; expected one of {', '.join(SORT_FIELDS)} "
            "with an optional :asc or :desc"
        )

    def sort_key(store_order: StoreOrder) -> tuple[bool, Any, int]:
        value = store_order.order.get(field)
        if field in _DATE_FIELDS and value:
            value = parse_api_datetime(value)
        # None sorts first; the id keeps equal values in a stable order.
        return (value is not None, value, store_order.order_id)

    orders.sort(key=sort_key, reverse=direction == "desc")


def _parse_cli(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.bigcommerce",
        description="Serve the BigCommerce v2 Orders API stand-in on 127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=0, help="TCP port; 0 picks one")
    parser.add_argument(
        "--store-hash", default=DEFAULT_STORE_HASH, help="store hash to serve"
    )
    parser.add_argument(
        "--access-token",
        default="sandbox-token",
        help="value the X-Auth-Token header must have",
    )
    parser.add_argument(
        "--seed", action="store_true", help="load the sample orders into the store"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the stand-in in the foreground until interrupted."""
    args = _parse_cli(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    store = FakeStore()
    store.add_store(args.store_hash, args.access_token)
    if args.seed:
        for store_order in sample_orders():
            store.add_order(args.store_hash, store_order)

    server = make_server(LOOPBACK_HOST, args.port, create_bigcommerce_app(store))
    base_url = f"http://{LOOPBACK_HOST}:{server.server_port}"
    print(
        f"BigCommerce stand-in at {api_base_url(base_url, args.store_hash)}", flush=True
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        logger.info("stand-in stopped")
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
