"""Sample orders for a local run: one or more for each import rule and edge case."""

from __future__ import annotations

from typing import Any

from sandbox.orders import StoreOrder, make_order

# (order id, make_order keyword arguments, what the order exercises)
_SAMPLES: tuple[tuple[int, dict[str, Any], str], ...] = (
    (1001, {"status_id": 11}, "awaiting fulfillment, two catalog lines"),
    (1002, {"status_id": 7}, "awaiting payment, a status often not imported"),
    (1003, {"status_id": 0}, "incomplete checkout"),
    (950, {"status_id": 11}, "id below a typical min_order_id of 1000"),
    (
        1004,
        {"status_id": 11, "date_created": "Sun, 30 Jun 2024 22:30:00 +0000"},
        "created before a typical created_from date",
    ),
    (1005, {"status_id": 10, "is_deleted": True}, "completed and archived"),
    (
        1006,
        {"customer_id": 0, "custom_product_lines": 1, "coupon_codes": ("WELCOME5",)},
        "guest order with a custom product line and a coupon",
    ),
    (1007, {"status_id": 9, "line_count": 73}, "73 lines, more than one page"),
    (1008, {"shipping_address_count": 0}, "digital order without a shipping address"),
    (
        1009,
        {
            "status_id": 3,
            "line_count": 4,
            "shipping_address_count": 2,
            "items_shipped": 3,
        },
        "partially shipped to two addresses",
    ),
)

_DEFAULT_DATE_CREATED = "Mon, 06 Jan 2025 09:15:00 +0000"


def sample_orders() -> list[StoreOrder]:
    """Build the sample orders, one per entry in the table above."""
    orders = []
    for order_id, options, _purpose in _SAMPLES:
        arguments = {"date_created": _DEFAULT_DATE_CREATED} | options
        orders.append(make_order(order_id, **arguments))
    return orders
