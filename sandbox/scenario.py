"""The sandbox store of a local run: orders for every filter rule and their events.

The expectations hold for ``config/settings.example.yaml``: statuses awaiting
fulfillment, awaiting shipment and completed; ``min_order_id`` 100; ``created_from``
2025-01-01 in Europe/Berlin; archived orders not imported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.orders import make_order, make_webhook
from sandbox.store import FakeStore

SANDBOX_STORE_HASH = "sandbox"
SANDBOX_ACCESS_TOKEN = "sandbox-access-token"
SANDBOX_WEBHOOK_TOKEN = "sandbox-webhook-token"
SANDBOX_INBOUND_TOKEN = "sandbox-inbound-token"
# Offers the demo posts to POST /offers, with the result each should get: CAP-1 has
# no price, which a new product needs.
OFFERS_FILE = Path(__file__).with_name("offers.json")
EXPECTED_OFFERS = {"TEE-1": "created", "MUG-1": "created", "CAP-1": "failed"}
CREATED = "Mon, 06 Jan 2025 09:15:00 +0000"


@dataclass(frozen=True)
class SandboxOrder:
    order_id: int
    expected: str  # "imported" or "skipped"
    purpose: str
    options: dict[str, Any] = field(default_factory=dict)


ORDERS: tuple[SandboxOrder, ...] = (
    SandboxOrder(100, "imported", "id equal to min_order_id 100", {"status_id": 11}),
    SandboxOrder(99, "skipped", "id below min_order_id, cut before any API call"),
    SandboxOrder(
        101, "skipped", "awaiting payment is not an enabled status", {"status_id": 7}
    ),
    SandboxOrder(
        102,
        "skipped",
        "created 23:59:59 on 31 Dec 2024 in Berlin",
        {"date_created": "Tue, 31 Dec 2024 22:59:59 +0000"},
    ),
    SandboxOrder(
        103,
        "imported",
        "created 00:30 on 1 Jan 2025 in Berlin",
        {"date_created": "Tue, 31 Dec 2024 23:30:00 +0000"},
    ),
    SandboxOrder(
        104, "skipped", "completed but archived", {"status_id": 10, "is_deleted": True}
    ),
    SandboxOrder(
        105,
        "imported",
        "created incomplete, paid a few seconds later",
        {"status_id": 0},
    ),
    SandboxOrder(
        106,
        "imported",
        "73 line items, more than one default page",
        {"status_id": 9, "line_count": 73},
    ),
    SandboxOrder(
        107,
        "imported",
        "guest order with a custom product and a coupon",
        {
            "customer_id": 0,
            "custom_product_lines": 1,
            "coupon_codes": ("WELCOME5",),
            "status_id": 10,
        },
    ),
    SandboxOrder(
        108, "skipped", "cancelled: status update cut at ingest", {"status_id": 5}
    ),
    SandboxOrder(
        109, "imported", "delivered three times, pushed once", {"status_id": 11}
    ),
)

PAID_LATER = 105
CANCELLED = 108
DELIVERED_THRICE = 109


def build_store() -> FakeStore:
    """Return a FakeStore holding the sandbox orders."""
    store = FakeStore(rate_limit_quota=150)
    store.add_store(SANDBOX_STORE_HASH, SANDBOX_ACCESS_TOKEN)
    for sample in ORDERS:
        options = {"date_created": CREATED, **sample.options}
        store.add_order(
            SANDBOX_STORE_HASH,
            make_order(sample.order_id, store_hash=SANDBOX_STORE_HASH, **options),
        )
    return store


def first_events() -> list[dict[str, Any]]:
    """Return the webhooks BigCommerce would send when the orders are placed."""
    events = [
        make_webhook("store/order/created", SANDBOX_STORE_HASH, sample.order_id)
        for sample in ORDERS
        if sample.order_id != CANCELLED
    ]
    events.append(
        make_webhook(
            "store/order/statusUpdated",
            SANDBOX_STORE_HASH,
            CANCELLED,
            previous_status_id=11,
            new_status_id=5,
        )
    )
    repeated = make_webhook("store/order/updated", SANDBOX_STORE_HASH, DELIVERED_THRICE)
    events.extend([repeated, repeated])
    return events


def payment_events(store: FakeStore) -> list[dict[str, Any]]:
    """Move the incomplete order to awaiting fulfillment and return its events."""
    store.update_order(SANDBOX_STORE_HASH, PAID_LATER, status_id=11)
    return [
        make_webhook(
            "store/order/statusUpdated",
            SANDBOX_STORE_HASH,
            PAID_LATER,
            previous_status_id=0,
            new_status_id=11,
        ),
        make_webhook("store/order/updated", SANDBOX_STORE_HASH, PAID_LATER),
    ]
