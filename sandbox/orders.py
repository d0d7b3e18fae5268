"""Builders of BigCommerce v2 order data and webhook callback bodies.

The field names, types and value formats follow the Orders V2 and Webhooks V3
reference files that BigCommerce publishes. Every name, address and email is
invented; email addresses use the reserved example.com domain and IP addresses
the 192.0.2.0/24 documentation range.
"""

from __future__ import annotations

import copy
import hashlib
import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

ORDER_CREATED = "store/order/created"
ORDER_UPDATED = "store/order/updated"
ORDER_ARCHIVED = "store/order/archived"
ORDER_STATUS_UPDATED = "store/order/statusUpdated"
ORDER_SCOPES = (ORDER_CREATED, ORDER_UPDATED, ORDER_ARCHIVED, ORDER_STATUS_UPDATED)

DEFAULT_STORE_HASH = "abc123"
DEFAULT_STORE_ID = "1025646"
DEFAULT_BASE_URL = "http://127.0.0.1"
DEFAULT_DATE_CREATED = "Tue, 20 Nov 2012 00:00:00 +0000"

# BigCommerce's default status labels. Merchants may rename them; the ids are fixed.
STATUS_LABELS: dict[int, str] = {
    0: "Incomplete",
    1: "Pending",
    2: "Shipped",
    3: "Partially Shipped",
    4: "Refunded",
    5: "Cancelled",
    6: "Declined",
    7: "Awaiting Payment",
    8: "Awaiting Pickup",
    9: "Awaiting Shipment",
    10: "Completed",
    11: "Awaiting Fulfillment",
    12: "Manual Verification Required",
    13: "Disputed",
    14: "Partially Refunded",
}

_PAYMENT_STATUS_BY_STATUS_ID = {
    0: "",
    1: "",
    4: "refunded",
    5: "void",
    6: "declined",
    7: "pending",
    14: "partially refunded",
}

TAX_RATE = Decimal("0.10")
SHIPPING_COST_PER_ADDRESS = Decimal("5.00")
COUPON_DISCOUNT = Decimal("5.00")
MAX_LINES_PER_ORDER = 999
_FOUR_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class _CatalogItem:
    product_id: int
    variant_id: int
    name: str
    sku: str
    price: Decimal
    brand: str
    option: tuple[str, str] | None = None


_CATALOG = (
    _CatalogItem(
        112, 301, "Canvas Tote Bag", "TOTE-NAT", Decimal("18.00"), "Fieldnote"
    ),
    _CatalogItem(
        118,
        93,
        "Merino Beanie",
        "BEANIE-M-GRY",
        Decimal("24.50"),
        "Northpine",
        ("Size", "M"),
    ),
    _CatalogItem(
        121, 340, "Enamel Camp Mug", "MUG-ENM-GRN", Decimal("12.90"), "Fieldnote"
    ),
    _CatalogItem(
        134,
        377,
        "Linen Tea Towel",
        "TOWEL-LIN-BLU",
        Decimal("9.75"),
        "Hearthly",
        ("Color", "Blue"),
    ),
    _CatalogItem(
        140, 402, "Beeswax Candle", "CANDLE-BW-L", Decimal("15.20"), "Hearthly"
    ),
)

_CUSTOM_ITEM = _CatalogItem(0, 0, "Custom Engraving Service", "", Decimal("7.50"), "")

_PEOPLE = (
    ("Mara", "Lindqvist", "Fernhill Studio"),
    ("Tobias", "Okafor", ""),
    ("Ines", "Verhoeven", "Okafor & Verhoeven LLC"),
    ("Priya", "Castellano", ""),
    ("Jonas", "Whitcombe", "Whitcombe Outfitters"),
)

_STREETS = (
    ("41 Juniper Lane", "Austin", "Texas", "78751"),
    ("9 Quarry Road", "Portland", "Oregon", "97205"),
    ("220 Harbor View Drive", "Madison", "Wisconsin", "53703"),
)


@dataclass
class StoreOrder:
    """One order as the v2 API returns it, plus its sub-resource lists."""

    order: dict[str, Any]
    products: list[dict[str, Any]]
    shipping_addresses: list[dict[str, Any]]
    coupons: list[dict[str, Any]]

    @property
    def order_id(self) -> int:
        """The order's ``id``."""
        return int(self.order["id"])

    def copy(self) -> StoreOrder:
        """Return a deep copy that shares no dict or list with this one."""
        return copy.deepcopy(self)


def api_base_url(base_url: str, store_hash: str) -> str:
    """Return the v2 API root for a store, like ``{base_url}/stores/{hash}/v2``."""
    return f"{base_url.rstrip('/')}/stores/{store_hash}/v2"


def rebase_links(store_order: StoreOrder, api_base: str) -> StoreOrder:
    """Return a copy whose ``{url, resource}`` links all start with ``api_base``."""
    rebased = store_order.copy()
    links = [rebased.order[name] for name in _ORDER_LINK_NAMES]
    links += [address["shipping_quotes"] for address in rebased.shipping_addresses]
    for link in links:
        link["url"] = api_base + link["resource"]
    return rebased


def make_order(
    order_id: int,
    *,
    status_id: int = 11,
    date_created: str = DEFAULT_DATE_CREATED,
    date_modified: str | None = None,
    is_deleted: bool = False,
    customer_id: int = 11,
    line_count: int = 2,
    quantities: Sequence[int] | None = None,
    custom_product_lines: int = 0,
    coupon_codes: Sequence[str] = (),
    shipping_address_count: int = 1,
    items_shipped: int = 0,
    currency_code: str = "USD",
    payment_method: str = "Credit Card",
    channel_id: int = 1,
    store_hash: str = DEFAULT_STORE_HASH,
    base_url: str = DEFAULT_BASE_URL,
) -> StoreOrder:
    """Build a consistent order: ``items_total`` is the sum of the line quantities.

    The last ``custom_product_lines`` lines are custom products (``product_id`` 0,
    ``variant_id`` 0, empty ``sku``). ``customer_id`` 0 makes a guest order, and
    ``shipping_address_count`` 0 a digital one. Raises ValueError for counts that
    do not fit together.
    """
    line_quantities = _line_quantities(line_count, quantities)
    _check_counts(line_quantities, custom_product_lines, items_shipped)
    shipped_per_line = _spread_shipped(line_quantities, items_shipped)
    person = _PEOPLE[order_id % len(_PEOPLE)]

    address_ids = [order_id * 10 + n + 1 for n in range(shipping_address_count)]
    products = _make_products(
        order_id, line_quantities, shipped_per_line, custom_product_lines, address_ids
    )
    coupons = [_make_coupon(order_id, n, code) for n, code in enumerate(coupon_codes)]
    _apply_coupon_discount(products, coupons)
    addresses = [
        _make_shipping_address(order_id, address_id, n, person, products)
        for n, address_id in enumerate(address_ids)
    ]

    order = _make_order_object(
        order_id,
        status_id=status_id,
        customer_id=customer_id,
        person=person,
        dates=(date_created, date_modified or date_created),
        products=products,
        addresses=addresses,
        is_deleted=is_deleted,
        currency_code=currency_code,
        payment_method=payment_method,
        channel_id=channel_id,
    )
    store_order = StoreOrder(order, products, addresses, coupons)
    return rebase_links(store_order, api_base_url(base_url, store_hash))


def make_webhook(
    scope: str,
    store_hash: str,
    order_id: int,
    *,
    previous_status_id: int | None = None,
    new_status_id: int | None = None,
    created_at: int | None = None,
    store_id: str = DEFAULT_STORE_ID,
) -> dict[str, Any]:
    """Build a webhook callback body the way BigCommerce sends it.

    ``data.status`` is present only for ``store/order/statusUpdated`` with a
    ``new_status_id`` (``previous_status_id`` defaults to 0 there). Raises
    ValueError when status ids are given for any other scope.
    """
    data: dict[str, Any] = {"type": "order", "id": order_id}
    has_status_ids = previous_status_id is not None or new_status_id is not None
    if scope == ORDER_STATUS_UPDATED and new_status_id is not None:
        data["status"] = {
            "previous_status_id": previous_status_id or 0,
            "new_status_id": new_status_id,
        }
    elif has_status_ids:
        raise ValueError(
            f"status ids need scope {ORDER_STATUS_UPDATED!r} and a new_status_id, "
            f"got scope {scope!r}"
        )

    return {
        "scope": scope,
        "store_id": store_id,
        "data": data,
        "hash": webhook_hash(data),
        "created_at": int(time.time()) if created_at is None else created_at,
        "producer": f"stores/{store_hash}",
    }


def webhook_hash(data: dict[str, Any]) -> str:
    """Return the SHA-1 hex digest of ``data`` as compact JSON.

    NOTE: BigCommerce documents the hash only as a SHA-1 of the JSON-encoded
    payload data. The exact serialization is not published, so receivers must
    not recompute and compare it.
    """
    encoded = json.dumps(data, separators=(",", ":")).encode()
    return hashlib.sha1(encoded, usedforsecurity=False).hexdigest()


_ORDER_LINK_NAMES = ("products", "shipping_addresses", "coupons")


def _money(value: Decimal) -> str:
    return str(value.quantize(_FOUR_PLACES))


def _tax(value: Decimal) -> Decimal:
    return (value * TAX_RATE).quantize(_FOUR_PLACES)


def _link(resource: str) -> dict[str, str]:
    # rebase_links fills in the URL because only it gets the API root.
    return {"url": "", "resource": resource}


def _line_quantities(line_count: int, quantities: Sequence[int] | None) -> list[int]:
    if quantities is None:
        return [n % 3 + 1 for n in range(line_count)]
    if len(quantities) != line_count:
        raise ValueError(
            f"quantities has {len(quantities)} values, expected line_count={line_count}"
        )
    return list(quantities)


def _check_counts(quantities: list[int], custom_lines: int, items_shipped: int) -> None:
    if not 0 <= len(quantities) <= MAX_LINES_PER_ORDER:
        raise ValueError(f"line_count must be 0..{MAX_LINES_PER_ORDER}")
    if any(quantity < 1 for quantity in quantities):
        raise ValueError(f"every line quantity must be at least 1, got {quantities}")
    if not 0 <= custom_lines <= len(quantities):
        raise ValueError(f"custom_product_lines={custom_lines} exceeds line_count")
    if not 0 <= items_shipped <= sum(quantities):
        raise ValueError(
            f"items_shipped={items_shipped} must be 0..items_total={sum(quantities)}"
        )


def _spread_shipped(quantities: list[int], items_shipped: int) -> list[int]:
    shipped = []
    remaining = items_shipped
    for quantity in quantities:
        line_shipped = min(quantity, remaining)
        shipped.append(line_shipped)
        remaining -= line_shipped
    return shipped


def _make_products(
    order_id: int,
    quantities: list[int],
    shipped: list[int],
    custom_lines: int,
    address_ids: list[int],
) -> list[dict[str, Any]]:
    first_custom = len(quantities) - custom_lines
    products = []
    for index, quantity in enumerate(quantities):
        if index >= first_custom:
            item = _CUSTOM_ITEM
        else:
            item = _CATALOG[index % len(_CATALOG)]
        address_id = address_ids[index % len(address_ids)] if address_ids else 0
        line = _make_product_line(order_id, index, item, quantity, address_id)
        line["quantity_shipped"] = shipped[index]
        products.append(line)
    return products


def _make_product_line(
    order_id: int, index: int, item: _CatalogItem, quantity: int, address_id: int
) -> dict[str, Any]:
    line_id = order_id * 1000 + index + 1
    price_tax = _tax(item.price)
    total_ex_tax = item.price * quantity
    total_tax = price_tax * quantity
    return {
        "id": line_id,
        "order_id": order_id,
        "product_id": item.product_id,
        "variant_id": item.variant_id,
        "order_pickup_method_id": 0,
        "order_address_id": address_id,
        "name": item.name,
        "name_customer": item.name,
        "name_merchant": item.name,
        "sku": item.sku,
        "upc": "",
        "type": "physical" if address_id else "digital",
        "base_price": _money(item.price),
        "price_ex_tax": _money(item.price),
        "price_inc_tax": _money(item.price + price_tax),
        "price_tax": _money(price_tax),
        "base_total": _money(total_ex_tax),
        "total_ex_tax": _money(total_ex_tax),
        "total_inc_tax": _money(total_ex_tax + total_tax),
        "total_tax": _money(total_tax),
        "weight": "1.0000",
        "width": "0.0000",
        "height": "0.0000",
        "depth": "0.0000",
        "quantity": quantity,
        "base_cost_price": "0.0000",
        "cost_price_inc_tax": "0.0000",
        "cost_price_ex_tax": "0.0000",
        "cost_price_tax": "0.0000",
        "is_refunded": False,
        "quantity_refunded": 0,
        "refund_amount": "0.0000",
        "return_id": 0,
        "wrapping_id": 0,
        "wrapping_name": None,
        "base_wrapping_cost": "0.0000",
        "wrapping_cost_ex_tax": "0.0000",
        "wrapping_cost_inc_tax": "0.0000",
        "wrapping_cost_tax": "0.0000",
        "wrapping_message": "",
        "quantity_shipped": 0,
        "event_name": None,
        "event_date": None,
        "fixed_shipping_cost": "0.0000",
        "ebay_item_id": "",
        "ebay_transaction_id": "",
        "option_set_id": 7 if item.option else None,
        "parent_order_product_id": None,
        "is_bundled_product": False,
        "bin_picking_number": "",
        "external_id": None,
        "brand": item.brand,
        "applied_discounts": [],
        "product_options": _make_product_options(line_id, item),
        "configurable_fields": [],
        "gift_certificate_id": None,
        "discounted_total_inc_tax": _money(total_ex_tax + total_tax),
    }


def _make_product_options(line_id: int, item: _CatalogItem) -> list[dict[str, Any]]:
    if item.option is None:
        return []
    name, value = item.option
    return [
        {
            "id": line_id * 10 + 1,
            "option_id": 18,
            "order_product_id": line_id,
            "product_option_id": 120,
            "display_name": name,
            "display_name_customer": name,
            "display_name_merchant": name,
            "display_value": value,
            "display_value_customer": value,
            "display_value_merchant": value,
            "value": "69",
            "type": "Multiple choice",
            "name": f"{name} options",
            "display_style": "Rectangle",
        }
    ]


def _make_coupon(order_id: int, index: int, code: str) -> dict[str, Any]:
    return {
        "id": order_id * 10 + index + 1,
        "coupon_id": 40 + index,
        "order_id": order_id,
        "code": code,
        "amount": int(COUPON_DISCOUNT),
        "type": 2,
        "discount": float(COUPON_DISCOUNT),
    }


def _apply_coupon_discount(
    products: list[dict[str, Any]], coupons: list[dict[str, Any]]
) -> None:
    # The stand-in books the whole discount on the first line, never below zero.
    # BigCommerce's reference spreads a manual discount over the lines by price.
    if not coupons or not products:
        return
    first = products[0]
    remaining = Decimal(first["total_inc_tax"])
    for coupon in coupons:
        amount = min(COUPON_DISCOUNT, remaining)
        remaining -= amount
        first["applied_discounts"].append(
            {
                "id": "total-coupon",
                "amount": _money(amount),
                "name": f"${COUPON_DISCOUNT:.0f} off",
                "code": coupon["code"],
                "target": "order",
            }
        )
    first["discounted_total_inc_tax"] = _money(remaining)


def _make_shipping_address(
    order_id: int,
    address_id: int,
    index: int,
    person: tuple[str, str, str],
    products: list[dict[str, Any]],
) -> dict[str, Any]:
    first_name, last_name, company = person
    street, city, state, zip_code = _STREETS[index % len(_STREETS)]
    lines = [line for line in products if line["order_address_id"] == address_id]
    cost_tax = _tax(SHIPPING_COST_PER_ADDRESS)
    return {
        "id": address_id,
        "order_id": order_id,
        "first_name": first_name,
        "last_name": last_name,
        "company": company,
        "street_1": street,
        "street_2": "",
        "city": city,
        "zip": zip_code,
        "country": "United States",
        "country_iso2": "US",
        "state": state,
        "email": _email(first_name, last_name),
        "phone": f"555-01{index + 10:02d}",
        "items_total": sum(line["quantity"] for line in lines),
        "items_shipped": sum(line["quantity_shipped"] for line in lines),
        "shipping_method": "Flat Rate",
        "base_cost": _money(SHIPPING_COST_PER_ADDRESS),
        "cost_ex_tax": _money(SHIPPING_COST_PER_ADDRESS),
        "cost_inc_tax": _money(SHIPPING_COST_PER_ADDRESS + cost_tax),
        "cost_tax": _money(cost_tax),
        "cost_tax_class_id": 2,
        "base_handling_cost": "0.0000",
        "handling_cost_ex_tax": "0.0000",
        "handling_cost_inc_tax": "0.0000",
        "handling_cost_tax": "0.0000",
        "handling_cost_tax_class_id": 2,
        "shipping_zone_id": 1,
        "shipping_zone_name": "United States",
        "shipping_quotes": _link(
            f"/orders/{order_id}/shippingaddresses/{address_id}/shippingquotes"
        ),
        "form_fields": [],
    }


def _email(first_name: str, last_name: str) -> str:
    return f"{first_name}.{last_name}@example.com".lower()


def _sum_money(lines: list[dict[str, Any]], field: str) -> Decimal:
    return sum((Decimal(line[field]) for line in lines), Decimal(0))


def _make_order_object(
    order_id: int,
    *,
    status_id: int,
    customer_id: int,
    person: tuple[str, str, str],
    dates: tuple[str, str],
    products: list[dict[str, Any]],
    addresses: list[dict[str, Any]],
    is_deleted: bool,
    currency_code: str,
    payment_method: str,
    channel_id: int,
) -> dict[str, Any]:
    date_created, date_modified = dates
    status_label = STATUS_LABELS.get(status_id, f"Status {status_id}")
    order: dict[str, Any] = {
        "id": order_id,
        "customer_id": customer_id,
        "date_created": date_created,
        "date_modified": date_modified,
        "date_shipped": "",
        "status_id": status_id,
        "status": status_label,
    }
    order |= _order_money_fields(products, addresses)
    order |= {
        "items_total": sum(line["quantity"] for line in products),
        "items_shipped": sum(line["quantity_shipped"] for line in products),
        "payment_method": payment_method,
        "payment_provider_id": "",
        "payment_status": _PAYMENT_STATUS_BY_STATUS_ID.get(status_id, "captured"),
        "refunded_amount": "0.0000",
        "order_is_digital": not addresses,
        "store_credit_amount": "0.0000",
        "gift_certificate_amount": "0.0000",
        "ip_address": f"192.0.2.{order_id % 250 + 1}",
        "ip_address_v6": "",
        "geoip_country": "United States",
        "geoip_country_iso2": "US",
        "currency_id": 1,
        "currency_code": currency_code,
        "currency_exchange_rate": "1.0000000000",
        "default_currency_id": 1,
        "default_currency_code": currency_code,
        "staff_notes": "",
        "customer_message": "",
        "discount_amount": _money(_order_discount(products)),
        "coupon_discount": _money(_order_discount(products)),
        "shipping_address_count": len(addresses),
        "is_deleted": is_deleted,
        "ebay_order_id": "0",
        "cart_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"sandbox-cart-{order_id}")),
        "billing_address": _make_billing_address(person),
        "is_email_opt_in": False,
        "credit_card_type": None,
        "order_source": "www",
        "channel_id": channel_id,
        "external_source": None,
        "products": _link(f"/orders/{order_id}/products"),
        # BigCommerce spells this link without the underscore.
        "shipping_addresses": _link(f"/orders/{order_id}/shippingaddresses"),
        "coupons": _link(f"/orders/{order_id}/coupons"),
        "external_id": None,
        "external_merchant_id": None,
        "tax_provider_id": "BasicTaxProvider",
        "store_default_currency_code": currency_code,
        "store_default_to_transactional_exchange_rate": "1.0000000000",
        "custom_status": status_label,
        "customer_locale": "en",
        "external_order_id": "",
    }
    return order


def _order_discount(products: list[dict[str, Any]]) -> Decimal:
    return sum(
        (
            Decimal(discount["amount"])
            for line in products
            for discount in line["applied_discounts"]
        ),
        Decimal(0),
    )


def _order_money_fields(
    products: list[dict[str, Any]], addresses: list[dict[str, Any]]
) -> dict[str, Any]:
    subtotal_ex_tax = _sum_money(products, "total_ex_tax")
    subtotal_tax = _sum_money(products, "total_tax")
    shipping_ex_tax = _sum_money(addresses, "cost_ex_tax")
    shipping_tax = _sum_money(addresses, "cost_tax")
    discount = _order_discount(products)
    total_ex_tax = subtotal_ex_tax + shipping_ex_tax - discount
    total_tax = subtotal_tax + shipping_tax
    zero = "0.0000"
    return {
        "subtotal_ex_tax": _money(subtotal_ex_tax),
        "subtotal_inc_tax": _money(subtotal_ex_tax + subtotal_tax),
        "subtotal_tax": _money(subtotal_tax),
        "base_shipping_cost": _money(shipping_ex_tax),
        "shipping_cost_ex_tax": _money(shipping_ex_tax),
        "shipping_cost_inc_tax": _money(shipping_ex_tax + shipping_tax),
        "shipping_cost_tax": _money(shipping_tax),
        "shipping_cost_tax_class_id": 2,
        "base_handling_cost": zero,
        "handling_cost_ex_tax": zero,
        "handling_cost_inc_tax": zero,
        "handling_cost_tax": zero,
        "handling_cost_tax_class_id": 2,
        "base_wrapping_cost": zero,
        "wrapping_cost_ex_tax": zero,
        "wrapping_cost_inc_tax": zero,
        "wrapping_cost_tax": zero,
        "wrapping_cost_tax_class_id": 3,
        "total_ex_tax": _money(total_ex_tax),
        "total_inc_tax": _money(total_ex_tax + total_tax),
        "total_tax": _money(total_tax),
        "is_tax_inclusive_pricing": False,
    }


def _make_billing_address(person: tuple[str, str, str]) -> dict[str, Any]:
    first_name, last_name, company = person
    street, city, state, zip_code = _STREETS[0]
    return {
        "first_name": first_name,
        "last_name": last_name,
        "company": company,
        "street_1": street,
        "street_2": "",
        "city": city,
        "state": state,
        "zip": zip_code,
        "country": "United States",
        "country_iso2": "US",
        "phone": "555-0100",
        "email": _email(first_name, last_name),
        "form_fields": [],
    }
