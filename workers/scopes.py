"""BigCommerce webhook scopes that the service acts on."""

ORDER_CREATED = "store/order/created"
ORDER_UPDATED = "store/order/updated"
ORDER_STATUS_UPDATED = "store/order/statusUpdated"
ORDER_ARCHIVED = "store/order/archived"

ORDER_SCOPES = frozenset(
    {ORDER_CREATED, ORDER_UPDATED, ORDER_STATUS_UPDATED, ORDER_ARCHIVED}
)
