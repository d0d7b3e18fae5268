"""BigCommerce product and variant fields that an offer attribute may map to.

The settings schema accepts exactly these names as mapping targets, and the offer
worker converts values by each field's rule.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_DIMENSION = 9_999_999_999
MAX_INVENTORY = 2_147_483_647


@dataclass(frozen=True)
class FieldRule:
    """JSON type and limits of one BigCommerce field."""

    kind: str  # "text", "number", "integer", "boolean" or "choice"
    max_length: int | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()


_PRICE = FieldRule("number")
_DIMENSION = FieldRule("number", maximum=MAX_DIMENSION)

# Product fields that a mapping may target, with the limits of BigCommerce's v3
# product schema.
PRODUCT_FIELD_RULES: dict[str, FieldRule] = {
    "name": FieldRule("text", max_length=250),
    "description": FieldRule("text"),
    "price": _PRICE,
    "sale_price": _PRICE,
    "retail_price": _PRICE,
    "cost_price": _PRICE,
    "weight": _DIMENSION,
    "width": _DIMENSION,
    "height": _DIMENSION,
    "depth": _DIMENSION,
    "mpn": FieldRule("text"),
    "upc": FieldRule("text", max_length=14),
    "gtin": FieldRule("text", max_length=14),
    "search_keywords": FieldRule("text", max_length=65535),
    "page_title": FieldRule("text", max_length=255),
    "meta_description": FieldRule("text"),
    "is_visible": FieldRule("boolean"),
    "availability": FieldRule("choice", choices=("available", "disabled", "preorder")),
    "condition": FieldRule("choice", choices=("New", "Used", "Refurbished")),
    "inventory_level": FieldRule("integer", maximum=MAX_INVENTORY),
}

# The mapping targets that BigCommerce's v3 variant schema also has.
VARIANT_FIELD_RULES: dict[str, FieldRule] = {
    name: PRODUCT_FIELD_RULES[name]
    for name in (
        "price",
        "sale_price",
        "retail_price",
        "cost_price",
        "weight",
        "width",
        "height",
        "depth",
        "mpn",
        "upc",
        "inventory_level",
    )
} | {"gtin": FieldRule("text", max_length=14)}
