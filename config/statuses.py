"""BigCommerce order statuses.

BigCommerce fixes the numeric ids; merchants may rename the labels, so every rule keys
on the id and the names below are only the default labels in snake case.
"""

ORDER_STATUSES: dict[int, str] = {
    0: "incomplete",
    1: "pending",
    2: "shipped",
    3: "partially_shipped",
    4: "refunded",
    5: "cancelled",
    6: "declined",
    7: "awaiting_payment",
    8: "awaiting_pickup",
    9: "awaiting_shipment",
    10: "completed",
    11: "awaiting_fulfillment",
    12: "manual_verification_required",
    13: "disputed",
    14: "partially_refunded",
}

STATUS_IDS_BY_NAME: dict[str, int] = {name: id_ for id_, name in ORDER_STATUSES.items()}


def status_name(status_id: int) -> str:
    """Return the default label of a status id, or ``unknown`` for an id not listed."""
    return ORDER_STATUSES.get(status_id, "unknown")
