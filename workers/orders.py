"""Building the order that is pushed to the hub.

BigCommerce's order object links its products, shipping addresses and coupons as
``{"url", "resource"}``; the hub gets the complete lists in their place, with every
other field exactly as BigCommerce returned it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal, InvalidOperation
from typing import Any

from config.errors import RetryableError
from workers.bigcommerce import SUB_RESOURCES, BigCommerceClient


class IncompleteOrder(RetryableError):
    """The fetched line items do not add up to the order's ``items_total``."""


def enrich_order(client: BigCommerceClient, order: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of ``order`` with every sub-resource link replaced by its list.

    Raises an UpstreamError when a sub-resource cannot be fetched and IncompleteOrder
    when the line items are incomplete, so a partial order never reaches the hub.
    """
    order_id = int(order["id"])
    enriched = dict(order)
    wanted = [
        resource
        for resource in SUB_RESOURCES
        if resource != "coupons" or has_coupons(order)
    ]
    # The lists do not depend on each other, so they are fetched side by side: an
    # order then waits for one round trip to BigCommerce instead of two or three.
    with ThreadPoolExecutor(max_workers=len(wanted)) as pool:
        fetches = {
            resource: pool.submit(client.list_order_resource, order_id, resource)
            for resource in wanted
        }
        for resource in SUB_RESOURCES:
            enriched[resource] = (
                fetches[resource].result() if resource in fetches else []
            )
    check_line_items(order_id, order, enriched["products"])
    return enriched


def has_coupons(order: dict[str, Any]) -> bool:
    """Return False only when the order's ``coupon_discount`` shows no coupon.

    Saves one API call per order; an absent or unreadable amount means fetch anyway.
    """
    try:
        return Decimal(str(order["coupon_discount"])) != 0
    except (KeyError, InvalidOperation):
        return True


def check_line_items(
    order_id: int, order: dict[str, Any], products: list[dict[str, Any]]
) -> None:
    """Raise IncompleteOrder unless the line quantities add up to ``items_total``."""
    expected = order.get("items_total")
    if not isinstance(expected, int) or isinstance(expected, bool):
        return
    received = sum(int(line.get("quantity") or 0) for line in products)
    if received != expected:
        raise IncompleteOrder(
            f"order {order_id}: line items add up to {received} but items_total is "
            f"{expected}; not pushed"
        )


def build_envelope(
    connection_name: str, store_hash: str, order: dict[str, Any]
) -> dict[str, Any]:
    """Return the body of ``POST {hub.url}/orders``."""
    return {
        "source": "bigcommerce",
        "connection": connection_name,
        "store_hash": store_hash,
        "order": order,
    }
