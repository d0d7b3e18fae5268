"""Checks of the JSON bodies that the catalog stand-in accepts.

Each ``FieldRule`` states the JSON type and limits of one writable field as the
Catalog V3 reference documents them. The ``*_problems`` functions return the
problems of one request body by field name, in the shape of the ``errors`` object
of a 422 response. An empty result means the body is valid.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

# BigCommerce's error text for a required field that the body leaves out.
MISSING = "error.path.missing"
INT32_MIN = -2_147_483_648
INT32_MAX = 2_147_483_647
MAX_OPTION_VALUES = 250
MAX_SWATCH_COLORS = 3
OPTION_TYPES = (
    "radio_buttons",
    "rectangles",
    "dropdown",
    "product_list",
    "product_list_with_images",
    "swatch",
)
_HEX_COLOR = re.compile(r"#[0-9A-Fa-f]{6}")
_JSON_TYPE_NAMES = {
    bool: "a boolean",
    int: "a number",
    float: "a number",
    str: "a string",
    list: "an array",
    dict: "an object",
    type(None): "null",
}


@dataclass(frozen=True)
class FieldRule:
    """The JSON type and limits of one writable field.

    ``kind`` is a JSON Schema type name. ``item_kind`` is the type of an array's
    items. Lengths count characters and bounds are inclusive.
    """

    kind: str
    nullable: bool = False
    min_length: int | None = None
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    item_kind: str | None = None

    def problem(self, value: Any) -> str:
        """Return why ``value`` breaks this rule, or "" when it is valid."""
        if value is None:
            return "" if self.nullable else f"expected {self.describe()}, got null"
        if not _has_kind(value, self.kind):
            return f"expected {self.describe()}, got {_json_type_name(value)}"
        if self.choices and value not in self.choices:
            return f"expected {self.describe()}, got {value!r}"
        if isinstance(value, str) and not self._length_fits(len(value)):
            return f"expected {self.describe()}, got {len(value)} characters"
        if self.kind in ("number", "integer") and not self._range_fits(value):
            return f"expected {self.describe()}, got {value}"
        if self.item_kind and any(
            not _has_kind(item, self.item_kind) for item in value
        ):
            return f"expected {self.describe()}"
        return ""

    def describe(self) -> str:
        """Return the expected value in words, like ``an integer of at least 0``."""
        if self.choices:
            text = "one of " + ", ".join(self.choices)
        elif self.kind == "string":
            text = "a string" + _length_words(self.min_length, self.max_length)
        elif self.kind in ("number", "integer"):
            text = f"{'an integer' if self.kind == 'integer' else 'a number'}"
            text += _range_words(self.minimum, self.maximum)
        elif self.kind == "boolean":
            text = "true or false"
        elif self.kind == "array":
            text = f"an array of {self.item_kind}s" if self.item_kind else "an array"
        else:
            text = "an object"
        return f"null or {text}" if self.nullable else text

    def _length_fits(self, length: int) -> bool:
        if self.min_length is not None and length < self.min_length:
            return False
        return self.max_length is None or length <= self.max_length

    def _range_fits(self, number: float) -> bool:
        if self.minimum is not None and number < self.minimum:
            return False
        return self.maximum is None or number <= self.maximum


def _has_kind(value: Any, kind: str) -> bool:
    # bool is a subclass of int in Python but not a number in JSON.
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    if kind == "array":
        return isinstance(value, list)
    return isinstance(value, dict)


def _json_type_name(value: Any) -> str:
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def _length_words(minimum: int | None, maximum: int | None) -> str:
    if minimum and maximum is not None:
        return f" of {minimum} to {maximum} characters"
    if maximum is not None:
        return f" of at most {maximum} characters"
    if minimum:
        return f" of at least {minimum} characters"
    return ""


def _range_words(minimum: float | None, maximum: float | None) -> str:
    if minimum is not None and maximum is not None:
        return f" from {minimum:g} to {maximum:g}"
    if minimum is not None:
        return f" of at least {minimum:g}"
    if maximum is not None:
        return f" of at most {maximum:g}"
    return ""


def _text(max_length: int | None = None, *, nullable: bool = False) -> FieldRule:
    return FieldRule("string", max_length=max_length, nullable=nullable)


def _choice(*choices: str) -> FieldRule:
    return FieldRule("string", choices=choices)


_BOOLEAN = FieldRule("boolean")
_PRICE = FieldRule("number", minimum=0)
_DIMENSION = FieldRule("number", minimum=0, maximum=9_999_999_999)
_STOCK = FieldRule("integer", minimum=0, maximum=INT32_MAX)
_QUANTITY = FieldRule("integer", minimum=0, maximum=1_000_000_000)
_IDS = FieldRule("array", item_kind="integer")
_CUSTOM_FIELD_TEXT = FieldRule("string", min_length=1, max_length=250)

# Writable product fields of a POST or PUT to /catalog/products.
PRODUCT_FIELDS: dict[str, FieldRule] = {
    "name": FieldRule("string", min_length=1, max_length=250),
    "type": _choice("physical", "digital"),
    "sku": _text(255),
    "description": _text(),
    "weight": _DIMENSION,
    "width": _DIMENSION,
    "depth": _DIMENSION,
    "height": _DIMENSION,
    "price": _PRICE,
    "cost_price": _PRICE,
    "retail_price": _PRICE,
    "sale_price": _PRICE,
    "map_price": FieldRule("number"),
    "tax_class_id": FieldRule("number", minimum=0, maximum=255),
    "product_tax_code": _text(255),
    "categories": _IDS,
    "brand_id": _QUANTITY,
    "inventory_level": _STOCK,
    "inventory_warning_level": _STOCK,
    "inventory_tracking": _choice("none", "product", "variant"),
    "fixed_cost_shipping_price": _PRICE,
    "is_free_shipping": _BOOLEAN,
    "is_visible": _BOOLEAN,
    "is_featured": _BOOLEAN,
    "related_products": _IDS,
    "warranty": _text(65535),
    "bin_picking_number": _text(255),
    "layout_file": _text(500),
    "upc": _text(14),
    "gtin": _text(14),
    "mpn": _text(),
    "search_keywords": _text(65535),
    "availability_description": _text(255),
    "availability": _choice("available", "disabled", "preorder"),
    "gift_wrapping_options_type": _choice("any", "none", "list"),
    "gift_wrapping_options_list": _IDS,
    "sort_order": FieldRule("integer", minimum=INT32_MIN, maximum=INT32_MAX),
    "condition": _choice("New", "Used", "Refurbished"),
    "is_condition_shown": _BOOLEAN,
    "order_quantity_minimum": _QUANTITY,
    "order_quantity_maximum": _QUANTITY,
    "page_title": _text(255),
    "meta_keywords": FieldRule("array", item_kind="string"),
    "meta_description": _text(65535),
    "preorder_release_date": _text(nullable=True),
    "preorder_message": _text(255),
    "is_preorder_only": _BOOLEAN,
    "is_price_hidden": _BOOLEAN,
    "price_hidden_label": _text(200),
    "custom_url": FieldRule("object"),
    "open_graph_type": _choice(
        "product",
        "album",
        "book",
        "drink",
        "food",
        "game",
        "movie",
        "song",
        "tv_show",
    ),
    "open_graph_title": _text(),
    "open_graph_description": _text(),
    "open_graph_use_meta_description": _BOOLEAN,
    "open_graph_use_product_name": _BOOLEAN,
    "open_graph_use_image": _BOOLEAN,
    "custom_fields": FieldRule("array", item_kind="object"),
}
PRODUCT_REQUIRED = ("name", "type", "weight", "price")
PRODUCT_READ_ONLY = (
    "id",
    "date_created",
    "date_modified",
    "calculated_price",
    "base_variant_id",
)
# Documented product fields that the stand-in does not store. They are rejected
# with a message that names the stand-in, so a test does not pass by accident.
PRODUCT_UNSUPPORTED = (
    "variants",
    "images",
    "videos",
    "bulk_pricing_rules",
    "brand_name",
    "date_last_imported",
    "reviews_rating_sum",
    "reviews_count",
    "total_sold",
    "view_count",
)

_NULLABLE_PRICE = FieldRule("number", minimum=0, nullable=True)
_NULLABLE_STOCK = FieldRule("integer", maximum=INT32_MAX, nullable=True)

# Writable variant fields of a POST or PUT to a product's variants.
VARIANT_FIELDS: dict[str, FieldRule] = {
    "sku": FieldRule("string", min_length=1, max_length=255),
    "product_id": FieldRule("integer"),
    "cost_price": _NULLABLE_PRICE,
    "price": _NULLABLE_PRICE,
    "sale_price": _NULLABLE_PRICE,
    "retail_price": _NULLABLE_PRICE,
    "weight": _NULLABLE_PRICE,
    "width": _NULLABLE_PRICE,
    "height": _NULLABLE_PRICE,
    "depth": _NULLABLE_PRICE,
    "is_free_shipping": _BOOLEAN,
    "fixed_cost_shipping_price": _NULLABLE_PRICE,
    "purchasing_disabled": _BOOLEAN,
    "purchasing_disabled_message": _text(255),
    "upc": _text(14, nullable=True),
    "gtin": _text(14, nullable=True),
    "mpn": _text(nullable=True),
    "inventory_level": _NULLABLE_STOCK,
    "inventory_warning_level": _NULLABLE_STOCK,
    "bin_picking_number": _text(255, nullable=True),
    "image_url": _text(),
    "option_values": FieldRule("array", item_kind="object"),
}
VARIANT_READ_ONLY = ("id", "sku_id", "calculated_price", "calculated_weight")

CUSTOM_FIELD_FIELDS: dict[str, FieldRule] = {
    "name": _CUSTOM_FIELD_TEXT,
    "value": _CUSTOM_FIELD_TEXT,
}

OPTION_FIELDS: dict[str, FieldRule] = {
    "display_name": FieldRule("string", min_length=1, max_length=255),
    "type": _choice(*OPTION_TYPES),
    "option_values": FieldRule("array", item_kind="object"),
    "sort_order": FieldRule("integer"),
    "config": FieldRule("object"),
    "product_id": FieldRule("integer"),
    "image_url": _text(),
}

OPTION_VALUE_FIELDS: dict[str, FieldRule] = {
    "label": FieldRule("string", min_length=1),
    "sort_order": FieldRule("integer", minimum=INT32_MIN, maximum=INT32_MAX),
    "is_default": _BOOLEAN,
    "value_data": FieldRule("object", nullable=True),
}


def field_problems(
    fields: Mapping[str, Any],
    rules: Mapping[str, FieldRule],
    *,
    required: Collection[str] = (),
    read_only: Collection[str] = (),
    unsupported: Collection[str] = (),
    prefix: str = "",
) -> dict[str, str]:
    """Return the problems of ``fields`` by name, each name after ``prefix``."""
    errors = {f"{prefix}{name}": MISSING for name in required if name not in fields}
    for name, value in fields.items():
        if name in read_only:
            problem = "read-only, so leave it out of the request"
        elif name in unsupported:
            problem = "not supported by the BigCommerce stand-in"
        elif name not in rules:
            problem = "unknown field"
        else:
            problem = rules[name].problem(value)
        if problem:
            errors[f"{prefix}{name}"] = problem
    return errors


def product_problems(fields: Mapping[str, Any], *, create: bool) -> dict[str, str]:
    """Return the problems of a product POST (``create``) or PUT body."""
    errors = field_problems(
        fields,
        PRODUCT_FIELDS,
        required=PRODUCT_REQUIRED if create else (),
        read_only=PRODUCT_READ_ONLY,
        unsupported=PRODUCT_UNSUPPORTED,
    )
    if isinstance(fields.get("custom_url"), dict):
        errors.update(_custom_url_problems(fields["custom_url"]))
    custom_fields = fields.get("custom_fields")
    if isinstance(custom_fields, list) and "custom_fields" not in errors:
        if not create:
            errors["custom_fields"] = (
                "not supported by the BigCommerce stand-in in a product PUT. "
                "Use the product's custom-fields routes."
            )
        for index, item in enumerate(custom_fields):
            errors.update(custom_field_problems(item, create=True, index=index))
    return errors


def _custom_url_problems(custom_url: Mapping[str, Any]) -> dict[str, str]:
    rules = {
        "url": FieldRule("string", min_length=1, max_length=255),
        "is_customized": _BOOLEAN,
        "create_redirect": _BOOLEAN,
    }
    return field_problems(
        custom_url, rules, required=("url", "is_customized"), prefix="custom_url."
    )


def custom_field_problems(
    fields: Mapping[str, Any], *, create: bool, index: int | None = None
) -> dict[str, str]:
    """Return the problems of a custom field, or of item ``index`` of a list."""
    prefix = "" if index is None else f"custom_fields[{index}]."
    return field_problems(
        fields,
        CUSTOM_FIELD_FIELDS,
        required=("name", "value") if create else (),
        read_only=("id",),
        prefix=prefix,
    )


def option_problems(fields: Mapping[str, Any]) -> dict[str, str]:
    """Return the problems of an option POST body, its option values included."""
    errors = field_problems(
        fields,
        OPTION_FIELDS,
        required=("display_name", "type", "option_values"),
        read_only=("id", "name"),
    )
    values = fields.get("option_values")
    if "option_values" in errors or not isinstance(values, list):
        return errors
    if not values:
        errors["option_values"] = "expected at least one option value"
    if len(values) > MAX_OPTION_VALUES:
        errors["option_values"] = (
            f"expected at most {MAX_OPTION_VALUES} option values, got {len(values)}"
        )
    labels: set[str] = set()
    for index, value in enumerate(values):
        errors.update(
            option_value_problems(
                value, option_type=fields.get("type"), prefix=f"option_values[{index}]."
            )
        )
        label = value.get("label")
        if isinstance(label, str) and label in labels:
            errors[f"option_values[{index}].label"] = f"duplicate label {label!r}"
        if isinstance(label, str):
            labels.add(label)
    return errors


def option_value_problems(
    fields: Mapping[str, Any], *, option_type: Any, prefix: str = ""
) -> dict[str, str]:
    """Return the problems of one option value of an option of ``option_type``.

    A value of a ``swatch`` option needs ``value_data.colors``: an array of one to
    three ``#rrggbb`` strings.
    """
    errors = field_problems(
        fields,
        OPTION_VALUE_FIELDS,
        required=("label", "sort_order"),
        read_only=("id",),
        prefix=prefix,
    )
    if option_type == "swatch" and f"{prefix}value_data" not in errors:
        problem = _swatch_problem(fields.get("value_data"))
        if problem:
            errors[f"{prefix}value_data"] = problem
    return errors


def _swatch_problem(value_data: Any) -> str:
    # NOTE: the reference also lets a swatch value show an image_url in place of
    # colors. The stand-in accepts colors only.
    colors = value_data.get("colors") if isinstance(value_data, dict) else None
    expected = (
        f'a swatch value needs {{"colors": [...]}} with 1 to {MAX_SWATCH_COLORS} '
        "#rrggbb colors"
    )
    if not isinstance(colors, list) or not 1 <= len(colors) <= MAX_SWATCH_COLORS:
        return expected
    bad = [color for color in colors if not _is_hex_color(color)]
    if bad:
        return f"{expected}, got invalid colors {bad!r}"
    return ""


def _is_hex_color(color: Any) -> bool:
    return isinstance(color, str) and _HEX_COLOR.fullmatch(color) is not None


def variant_problems(fields: Mapping[str, Any], *, create: bool) -> dict[str, str]:
    """Return the problems of a variant POST (``create``) or PUT body.

    ``option_values`` items are checked for shape only here: either ``id`` (with
    an optional ``option_id``) or ``option_display_name`` and ``label``.
    """
    errors = field_problems(
        fields,
        VARIANT_FIELDS,
        required=("sku", "option_values") if create else (),
        read_only=VARIANT_READ_ONLY,
    )
    values = fields.get("option_values")
    if not create or "option_values" in errors or not isinstance(values, list):
        return errors
    for index, value in enumerate(values):
        problem = _variant_option_value_problem(value)
        if problem:
            errors[f"option_values[{index}]"] = problem
    return errors


def _variant_option_value_problem(value: Mapping[str, Any]) -> str:
    for name in ("id", "option_id"):
        if name in value and not _has_kind(value[name], "integer"):
            return f"expected an integer {name}"
    for name in ("option_display_name", "label"):
        if name in value and not (isinstance(value[name], str) and value[name]):
            return f"expected a non-empty string {name}"
    unknown = sorted(set(value) - {"id", "option_id", "option_display_name", "label"})
    if unknown:
        return f"unknown fields {unknown}"
    by_label = "option_display_name" in value and "label" in value
    if "id" not in value and not by_label:
        return (
            'expected {"option_id": ..., "id": ...} or '
            '{"option_display_name": ..., "label": ...}'
        )
    return ""
