"""Stand-in for the BigCommerce Catalog V3 API (``/stores/<hash>/v3/catalog``).

``CatalogRegistry`` keeps every store's products with their custom fields, variant
options and variants. ``register_catalog_routes`` serves them with the shapes of
the Catalog V3 reference: ``{"data": ..., "meta": ...}`` bodies, paginated lists
and ``{"status", "title", "type", "errors"}`` errors. The app's token check, fault
injection, rate limit and request log apply as for the orders routes.

Every product has variants. A new product has one base variant that shares the
product's SKU and has no option values, and ``base_variant_id`` is that variant's
id. The first variant with option values replaces the base variant. The product
is then a complex product whose ``base_variant_id`` is null, as the reference
describes.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import logging
import re
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from flask import Blueprint, Flask, Response, current_app, jsonify, request

from sandbox.catalog_fields import (
    MAX_OPTION_VALUES,
    custom_field_problems,
    option_problems,
    option_value_problems,
    product_problems,
    variant_problems,
)
from sandbox.hooks import use_v3_error_shape, v3_error

if TYPE_CHECKING:
    from sandbox.store import FakeStore

logger = logging.getLogger(__name__)

# The reference documents limit default 50 and maximum 250 for catalog lists, and
# at most 10 products per page when ``include`` has options or modifiers.
DEFAULT_PAGE_LIMIT = 50
MAX_PAGE_LIMIT = 250
MAX_PAGE_LIMIT_WITH_OPTIONS = 10
# The reference documents at most 600 SKUs per product.
MAX_VARIANTS_PER_PRODUCT = 600
PRODUCT_INCLUDES = ("custom_fields", "options", "variants")
INVALID_BODY_TITLE = "JSON data is missing or invalid"

_EXTENSION_KEY = "sandbox_catalog_store"
_PAGE_ARGS = ("page", "limit")


class CatalogError(Exception):
    """A failed catalog request, sent as a v3 error with HTTP status ``status``."""

    status = 400

    def __init__(self, title: str, errors: Mapping[str, str] | None = None) -> None:
        super().__init__(title)
        self.title = title
        self.errors = None if errors is None else dict(errors)


class CatalogQueryError(CatalogError):
    """An unsupported or invalid query parameter (400)."""


class CatalogNotFoundError(CatalogError, LookupError):
    """An unknown product, custom field, option, option value or variant (404)."""

    status = 404


class CatalogValidationError(CatalogError, ValueError):
    """A body with missing or invalid fields (422), described in ``errors`` by field."""

    status = 422

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__(INVALID_BODY_TITLE, errors)


class CatalogConflictError(CatalogError, ValueError):
    """A duplicate of a unique value such as a product name or SKU (409)."""

    status = 409


@dataclass
class _ProductRecord:
    """One product and its sub-resources, each by id."""

    product: dict[str, Any]
    custom_fields: dict[int, dict[str, Any]] = field(default_factory=dict)
    options: dict[int, dict[str, Any]] = field(default_factory=dict)
    variants: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def product_id(self) -> int:
        """Id of the product."""
        return int(self.product["id"])


class CatalogRegistry:
    """Thread-safe catalog of every store. Reads return deep copies.

    Ids of each kind (products, variants, options, option values, custom fields)
    are unique across stores and increase. ``date_created`` and ``date_modified``
    are ISO 8601 UTC times made from ``clock``, which returns Unix seconds.
    Methods that take a product or sub-resource id raise CatalogNotFoundError when
    it is unknown. Methods that write raise CatalogValidationError for an invalid
    body and CatalogConflictError for a duplicate name or SKU.
    """

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._stores: dict[str, dict[int, _ProductRecord]] = {}
        self._product_ids = itertools.count(1)
        self._variant_ids = itertools.count(1)
        self._option_ids = itertools.count(1)
        self._option_value_ids = itertools.count(1)
        self._custom_field_ids = itertools.count(1)

    # --- products ---------------------------------------------------------------

    def products(self, store_hash: str) -> list[dict[str, Any]]:
        """Return a store's products by id, with custom fields, options and variants."""
        return self.list_products(store_hash, include=PRODUCT_INCLUDES)

    def list_products(
        self, store_hash: str, *, include: Collection[str] = ()
    ) -> list[dict[str, Any]]:
        """Return a store's products by id with the ``include`` sub-resources."""
        with self._lock:
            records = self._stores.get(store_hash, {})
            return [
                self._render_product(records[product_id], include)
                for product_id in sorted(records)
            ]

    def get_product(
        self, store_hash: str, product_id: int, *, include: Collection[str] = ()
    ) -> dict[str, Any]:
        """Return one product with the ``include`` sub-resources."""
        with self._lock:
            return self._render_product(self._record(store_hash, product_id), include)

    def product_by_sku(self, store_hash: str, sku: str) -> dict[str, Any] | None:
        """Return the product whose own ``sku`` matches exactly, or None."""
        with self._lock:
            for record in self._stores.get(store_hash, {}).values():
                if record.product["sku"] == sku:
                    return self._render_product(record, ())
            return None

    def create_product(
        self, store_hash: str, fields: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Add a product with its base variant and return the product.

        ``name``, ``type``, ``weight`` and ``price`` are required. A
        ``custom_fields`` list creates the product's custom fields. Without
        ``custom_url`` the URL is made from the name.
        """
        errors = product_problems(fields, create=True)
        if errors:
            raise CatalogValidationError(errors)
        with self._lock:
            records = self._stores.setdefault(store_hash, {})
            self._check_product_unique(records, fields, product_id=None)
            record = self._new_product(records, fields)
            return self._render_product(record, ())

    def update_product(
        self, store_hash: str, product_id: int, fields: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Change the given product fields and return the product.

        A new SKU is also the SKU of the product's base variant, if it has one.
        """
        errors = product_problems(fields, create=False)
        if errors:
            raise CatalogValidationError(errors)
        with self._lock:
            records = self._stores.get(store_hash, {})
            record = self._record(store_hash, product_id)
            self._check_product_unique(records, fields, product_id=product_id)
            product = record.product
            for name, value in fields.items():
                product[name] = copy.deepcopy(value)
            base_variant = record.variants.get(product["base_variant_id"])
            if base_variant is not None:
                base_variant["sku"] = product["sku"]
            product["date_modified"] = self._now()
            return self._render_product(record, ())

    def add_product(
        self,
        store_hash: str,
        fields: Mapping[str, Any],
        *,
        options: Iterable[Mapping[str, Any]] = (),
        variants: Iterable[Mapping[str, Any]] = (),
        custom_fields: Iterable[Mapping[str, Any]] = (),
    ) -> dict[str, Any]:
        """Seed a product as if a client had created it, and return it in full.

        ``fields``, ``options``, ``variants`` and ``custom_fields`` are the bodies
        of the POST requests, checked the same way. Variants can name their option
        values as ``{"option_display_name": ..., "label": ...}`` because the ids
        are not known in advance. On an error nothing is added.
        """
        product = self.create_product(store_hash, fields)
        product_id = product["id"]
        try:
            for custom_field in custom_fields:
                self.create_custom_field(store_hash, product_id, custom_field)
            for option in options:
                self.create_option(store_hash, product_id, option)
            for variant in variants:
                self.create_variant(store_hash, product_id, variant)
        except CatalogError:
            with self._lock:
                del self._stores[store_hash][product_id]
            raise
        return self.get_product(store_hash, product_id, include=PRODUCT_INCLUDES)

    # --- custom fields ----------------------------------------------------------

    def list_custom_fields(
        self, store_hash: str, product_id: int
    ) -> list[dict[str, Any]]:
        """Return a product's custom fields by id."""
        with self._lock:
            record = self._record(store_hash, product_id)
            return _copies(record.custom_fields)

    def get_custom_field(
        self, store_hash: str, product_id: int, custom_field_id: int
    ) -> dict[str, Any]:
        """Return one custom field of a product."""
        with self._lock:
            record = self._record(store_hash, product_id)
            return copy.deepcopy(_custom_field(record, custom_field_id))

    def create_custom_field(
        self, store_hash: str, product_id: int, fields: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Add a custom field; ``name`` and ``value`` have 1 to 250 characters."""
        errors = custom_field_problems(fields, create=True)
        if errors:
            raise CatalogValidationError(errors)
        with self._lock:
            record = self._record(store_hash, product_id)
            return copy.deepcopy(self._new_custom_field(record, fields))

    def update_custom_field(
        self,
        store_hash: str,
        product_id: int,
        custom_field_id: int,
        fields: Mapping[str, Any],
    ) -> dict[str, Any]:
        """Change the ``name`` or ``value`` of a custom field and return it."""
        errors = custom_field_problems(fields, create=False)
        if errors:
            raise CatalogValidationError(errors)
        with self._lock:
            record = self._record(store_hash, product_id)
            custom_field = _custom_field(record, custom_field_id)
            for name in ("name", "value"):
                if name in fields:
                    custom_field[name] = fields[name]
            return copy.deepcopy(custom_field)

    # --- variant options --------------------------------------------------------

    def list_options(self, store_hash: str, product_id: int) -> list[dict[str, Any]]:
        """Return a product's variant options by id, each with its option values."""
        with self._lock:
            return _copies(self._record(store_hash, product_id).options)

    def get_option(
        self, store_hash: str, product_id: int, option_id: int
    ) -> dict[str, Any]:
        """Return one variant option with its option values."""
        with self._lock:
            record = self._record(store_hash, product_id)
            return copy.deepcopy(_option(record, option_id))

    def create_option(
        self, store_hash: str, product_id: int, fields: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Add a variant option with its option values and return it.

        Creating an option creates no variants, as in BigCommerce.
        """
        errors = option_problems(fields)
        if errors:
            raise CatalogValidationError(errors)
        with self._lock:
            record = self._record(store_hash, product_id)
            _check_path_product_id(fields, product_id)
            display_name = fields["display_name"]
            # The reference documents 409 for a duplicate option name without saying
            # which names clash, so the stand-in rejects a second option with the
            # same display_name on one product.
            for option in record.options.values():
                if option["display_name"] == display_name:
                    message = (
                        f"Option {display_name!r} already exists on product "
                        f"{product_id} as option {option['id']}"
                    )
                    raise CatalogConflictError(message, {"display_name": message})
            option_id = next(self._option_ids)
            option = {
                "id": option_id,
                "product_id": product_id,
                "display_name": display_name,
                "type": fields["type"],
                "config": copy.deepcopy(fields.get("config", {})),
                "sort_order": fields.get("sort_order", 0),
                "option_values": [
                    self._new_option_value(value) for value in fields["option_values"]
                ],
                # BigCommerce makes the name from the display name, a timestamp
                # and the product id.
                "name": f"{display_name}{int(self._clock())}-{product_id}",
            }
            if "image_url" in fields:
                option["image_url"] = fields["image_url"]
            record.options[option_id] = option
            return copy.deepcopy(option)

    def list_option_values(
        self, store_hash: str, product_id: int, option_id: int
    ) -> list[dict[str, Any]]:
        """Return the values of one variant option in the order they were added."""
        with self._lock:
            record = self._record(store_hash, product_id)
            return copy.deepcopy(_option(record, option_id)["option_values"])

    def create_option_value(
        self,
        store_hash: str,
        product_id: int,
        option_id: int,
        fields: Mapping[str, Any],
    ) -> dict[str, Any]:
        """Add a value to a variant option and return it.

        Raises CatalogValidationError for a label the option already has, for a
        swatch value without colors and above 250 values per option.
        """
        with self._lock:
            record = self._record(store_hash, product_id)
            option = _option(record, option_id)
            errors = option_value_problems(fields, option_type=option["type"])
            label = fields.get("label")
            if any(value["label"] == label for value in option["option_values"]):
                errors["label"] = (
                    f"option {option['display_name']!r} already has a value "
                    f"labelled {label!r}"
                )
            if len(option["option_values"]) >= MAX_OPTION_VALUES:
                errors["option_values"] = (
                    f"option {option_id} already has the maximum of "
                    f"{MAX_OPTION_VALUES} values"
                )
            if errors:
                raise CatalogValidationError(errors)
            value = self._new_option_value(fields)
            option["option_values"].append(value)
            return copy.deepcopy(value)

    # --- variants ---------------------------------------------------------------

    def variants(self, store_hash: str) -> list[dict[str, Any]]:
        """Return every variant of a store by id, each with its ``product_id``."""
        with self._lock:
            found = [
                (variant_id, self._render_variant(record, variant))
                for record in self._stores.get(store_hash, {}).values()
                for variant_id, variant in record.variants.items()
            ]
        return [variant for _, variant in sorted(found, key=lambda pair: pair[0])]

    def variant_by_sku(self, store_hash: str, sku: str) -> dict[str, Any] | None:
        """Return the variant whose ``sku`` matches exactly, or None."""
        with self._lock:
            for record in self._stores.get(store_hash, {}).values():
                for variant in record.variants.values():
                    if variant["sku"] == sku:
                        return self._render_variant(record, variant)
            return None

    def list_variants(self, store_hash: str, product_id: int) -> list[dict[str, Any]]:
        """Return a product's variants by id."""
        with self._lock:
            record = self._record(store_hash, product_id)
            return [
                self._render_variant(record, record.variants[variant_id])
                for variant_id in sorted(record.variants)
            ]

    def get_variant(
        self, store_hash: str, product_id: int, variant_id: int
    ) -> dict[str, Any]:
        """Return one variant of a product."""
        with self._lock:
            record = self._record(store_hash, product_id)
            return self._render_variant(record, _variant(record, variant_id))

    def create_variant(
        self, store_hash: str, product_id: int, fields: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Add a variant with one value of every option of the product.

        ``option_values`` items are ``{"option_id", "id"}`` or
        ``{"option_display_name", "label"}`` of existing options. Raises
        CatalogValidationError for an unknown or missing option value and
        CatalogConflictError for a SKU that a product or variant of the store
        already has, or for a second variant with the same option values.
        """
        errors = variant_problems(fields, create=True)
        if errors:
            raise CatalogValidationError(errors)
        with self._lock:
            records = self._stores.get(store_hash, {})
            record = self._record(store_hash, product_id)
            _check_path_product_id(fields, product_id)
            option_values = _resolve_option_values(record, fields["option_values"])
            self._check_new_variant(records, record, fields["sku"], option_values)

            base_variant_id = record.product["base_variant_id"]
            if base_variant_id is not None:
                # NOTE: the reference does not say what happens to the base variant
                # when the first variant with option values is created. The
                # stand-in removes it, so the product's SKU no longer matches a
                # variant, and the product becomes a complex product.
                del record.variants[base_variant_id]
                record.product["base_variant_id"] = None

            variant_id = next(self._variant_ids)
            variant = _new_variant(variant_id, product_id, fields["sku"])
            variant["sku_id"] = variant_id
            variant["option_values"] = option_values
            _apply_variant_fields(variant, fields)
            record.variants[variant_id] = variant
            return self._render_variant(record, variant)

    def update_variant(
        self,
        store_hash: str,
        product_id: int,
        variant_id: int,
        fields: Mapping[str, Any],
    ) -> dict[str, Any]:
        """Change the given variant fields and return the variant.

        ``option_values`` in the body are ignored: BigCommerce responds 200 to such
        a PUT and keeps the variant's option values, and the reference documents no
        ``option_values`` for this request. A new SKU of a base variant is also the
        product's SKU.
        """
        fields = {
            name: value for name, value in fields.items() if name != "option_values"
        }
        errors = variant_problems(fields, create=False)
        if errors:
            raise CatalogValidationError(errors)
        with self._lock:
            records = self._stores.get(store_hash, {})
            record = self._record(store_hash, product_id)
            variant = _variant(record, variant_id)
            _check_path_product_id(fields, product_id)
            is_base = variant_id == record.product["base_variant_id"]
            sku = fields.get("sku")
            if sku is not None and sku != variant["sku"]:
                owner = _sku_owner(
                    records,
                    sku,
                    skip_variant=variant_id,
                    skip_product=product_id if is_base else None,
                )
                if owner:
                    raise _sku_conflict(sku, owner)
            _apply_variant_fields(variant, fields)
            if is_base:
                record.product["sku"] = variant["sku"]
            return self._render_variant(record, variant)

    # --- helpers that expect the lock to be held --------------------------------

    def _now(self) -> str:
        instant = dt.datetime.fromtimestamp(self._clock(), dt.UTC)
        return instant.isoformat(timespec="seconds")

    def _record(self, store_hash: str, product_id: int) -> _ProductRecord:
        try:
            return self._stores[store_hash][product_id]
        except KeyError:
            raise CatalogNotFoundError(
                f"Product with id {product_id} not found"
            ) from None

    def _check_product_unique(
        self,
        records: Mapping[int, _ProductRecord],
        fields: Mapping[str, Any],
        *,
        product_id: int | None,
    ) -> None:
        name = fields.get("name")
        url = fields.get("custom_url", {}).get("url")
        for record in records.values():
            other = record.product
            if record.product_id == product_id:
                continue
            if name is not None and other["name"] == name:
                message = (
                    f"Product name {name!r} is already used by product {other['id']}"
                )
                raise CatalogConflictError(message, {"name": message})
            if url is not None and other["custom_url"]["url"] == url:
                message = (
                    f"Product URL {url!r} is already used by product {other['id']}"
                )
                raise CatalogConflictError(message, {"custom_url": message})

        sku = fields.get("sku")
        if not sku:
            return
        skip_variant = None
        if product_id is not None:
            skip_variant = records[product_id].product["base_variant_id"]
        owner = _sku_owner(
            records, sku, skip_product=product_id, skip_variant=skip_variant
        )
        if owner:
            raise _sku_conflict(sku, owner)

    def _new_product(
        self, records: dict[int, _ProductRecord], fields: Mapping[str, Any]
    ) -> _ProductRecord:
        product_id = next(self._product_ids)
        now = self._now()
        product = _new_product(product_id, now)
        for name, value in fields.items():
            if name != "custom_fields":
                product[name] = copy.deepcopy(value)
        if "custom_url" not in fields:
            product["custom_url"] = {
                "url": _free_url(records, str(fields["name"])),
                "is_customized": False,
            }

        base_variant_id = next(self._variant_ids)
        base_variant = _new_variant(base_variant_id, product_id, product["sku"])
        product["base_variant_id"] = base_variant_id
        record = _ProductRecord(product, variants={base_variant_id: base_variant})
        for custom_field in fields.get("custom_fields", []):
            self._new_custom_field(record, custom_field)
        records[product_id] = record
        return record

    def _new_custom_field(
        self, record: _ProductRecord, fields: Mapping[str, Any]
    ) -> dict[str, Any]:
        custom_field_id = next(self._custom_field_ids)
        custom_field = {
            "id": custom_field_id,
            "name": fields["name"],
            "value": fields["value"],
        }
        record.custom_fields[custom_field_id] = custom_field
        return custom_field

    def _new_option_value(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "id": next(self._option_value_ids),
            "label": fields["label"],
            "sort_order": fields["sort_order"],
            "value_data": copy.deepcopy(fields.get("value_data") or {}),
            "is_default": fields.get("is_default", False),
        }

    def _check_new_variant(
        self,
        records: Mapping[int, _ProductRecord],
        record: _ProductRecord,
        sku: str,
        option_values: Sequence[Mapping[str, Any]],
    ) -> None:
        option_variants = [
            variant for variant in record.variants.values() if variant["option_values"]
        ]
        if len(option_variants) >= MAX_VARIANTS_PER_PRODUCT:
            raise CatalogValidationError(
                {
                    "sku": f"product {record.product_id} already has the maximum of "
                    f"{MAX_VARIANTS_PER_PRODUCT} variants"
                }
            )
        owner = _sku_owner(records, sku)
        if owner:
            raise _sku_conflict(sku, owner)
        value_ids = sorted(value["id"] for value in option_values)
        for variant in option_variants:
            if sorted(value["id"] for value in variant["option_values"]) == value_ids:
                message = (
                    f"Variant {variant['id']} of product {record.product_id} already "
                    "has these option values"
                )
                raise CatalogConflictError(message, {"option_values": message})

    def _render_product(
        self, record: _ProductRecord, include: Collection[str]
    ) -> dict[str, Any]:
        product = copy.deepcopy(record.product)
        product["calculated_price"] = product["sale_price"] or product["price"]
        if "custom_fields" in include:
            product["custom_fields"] = _copies(record.custom_fields)
        if "options" in include:
            product["options"] = _copies(record.options)
        if "variants" in include:
            product["variants"] = [
                self._render_variant(record, record.variants[variant_id])
                for variant_id in sorted(record.variants)
            ]
        return product

    def _render_variant(
        self, record: _ProductRecord, variant: Mapping[str, Any]
    ) -> dict[str, Any]:
        # NOTE: price and weight fields that a variant does not set stay null, and
        # the calculated values come from the product. BigCommerce may return the
        # product's values in a base variant's own fields instead.
        rendered = copy.deepcopy(dict(variant))
        product = record.product
        price = variant["price"] if variant["price"] is not None else product["price"]
        sale_price = variant["sale_price"]
        if sale_price is None:
            sale_price = product["sale_price"]
        weight = variant["weight"]
        rendered["calculated_price"] = sale_price or price
        rendered["calculated_weight"] = (
            weight if weight is not None else product["weight"]
        )
        return rendered


def _copies(items: Mapping[int, dict[str, Any]]) -> list[dict[str, Any]]:
    return [copy.deepcopy(items[item_id]) for item_id in sorted(items)]


def _custom_field(record: _ProductRecord, custom_field_id: int) -> dict[str, Any]:
    try:
        return record.custom_fields[custom_field_id]
    except KeyError:
        raise CatalogNotFoundError(
            f"Custom field with id {custom_field_id} not found on product "
            f"{record.product_id}"
        ) from None


def _option(record: _ProductRecord, option_id: int) -> dict[str, Any]:
    try:
        return record.options[option_id]
    except KeyError:
        raise CatalogNotFoundError(
            f"Option with id {option_id} not found on product {record.product_id}"
        ) from None


def _variant(record: _ProductRecord, variant_id: int) -> dict[str, Any]:
    try:
        return record.variants[variant_id]
    except KeyError:
        raise CatalogNotFoundError(
            f"Variant with id {variant_id} not found on product {record.product_id}"
        ) from None


def _check_path_product_id(fields: Mapping[str, Any], product_id: int) -> None:
    if "product_id" in fields and fields["product_id"] != product_id:
        raise CatalogValidationError(
            {"product_id": f"expected {product_id}, the product id in the path"}
        )


def _sku_owner(
    records: Mapping[int, _ProductRecord],
    sku: str,
    *,
    skip_product: int | None = None,
    skip_variant: int | None = None,
) -> str:
    """Return which product or variant has ``sku``, or "" when none has it."""
    for record in records.values():
        if record.product_id != skip_product and record.product["sku"] == sku:
            return f"product {record.product_id}"
        for variant_id, variant in record.variants.items():
            if variant_id != skip_variant and variant["sku"] == sku:
                return f"variant {variant_id} of product {record.product_id}"
    return ""


def _sku_conflict(sku: str, owner: str) -> CatalogConflictError:
    message = f"SKU {sku!r} is already used by {owner}"
    return CatalogConflictError(message, {"sku": message})


def _free_url(records: Mapping[int, _ProductRecord], name: str) -> str:
    """Return ``/<slug>/`` for a product name, with a number added if it is taken."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "product"
    used_urls = {record.product["custom_url"]["url"] for record in records.values()}
    url = f"/{slug}/"
    number = 2
    while url in used_urls:
        url = f"/{slug}-{number}/"
        number += 1
    return url


def _resolve_option_values(
    record: _ProductRecord, items: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Return a variant's option values, one per option of the product, by option id.

    Raises CatalogValidationError when an item names no option value of the
    product, when two items name the same option or when an option has no item.
    """
    if not record.options:
        raise CatalogValidationError(
            {
                "option_values": f"product {record.product_id} has no options, so "
                "create its options before its variants"
            }
        )
    chosen: dict[int, dict[str, Any]] = {}
    errors: dict[str, str] = {}
    for index, item in enumerate(items):
        key = f"option_values[{index}]"
        try:
            option, value = _find_option_value(record, item)
        except LookupError as exc:
            errors[key] = str(exc.args[0])
            continue
        if option["id"] in chosen:
            errors[key] = f"a second value of option {option['display_name']!r}"
            continue
        chosen[option["id"]] = {
            "id": value["id"],
            "label": value["label"],
            "option_id": option["id"],
            "option_display_name": option["display_name"],
        }
    missing = [
        option["display_name"]
        for option_id, option in sorted(record.options.items())
        if option_id not in chosen
    ]
    if missing and not errors:
        errors["option_values"] = (
            f"no value for options {missing}; a variant needs one value of every "
            f"option of product {record.product_id}"
        )
    if errors:
        raise CatalogValidationError(errors)
    return [chosen[option_id] for option_id in sorted(chosen)]


def _find_option_value(
    record: _ProductRecord, item: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return the option and value that an item names, or raise LookupError."""
    if "id" in item:
        for option in record.options.values():
            if "option_id" in item and option["id"] != item["option_id"]:
                continue
            for value in option["option_values"]:
                if value["id"] == item["id"]:
                    return option, value
        where = f"option {item['option_id']}" if "option_id" in item else "the options"
        raise LookupError(
            f"option value {item['id']} not found in {where} of product "
            f"{record.product_id}"
        )

    # The stand-in looks up options and values by name but never creates them.
    display_name = item["option_display_name"]
    label = item["label"]
    for option in record.options.values():
        if option["display_name"] != display_name:
            continue
        for value in option["option_values"]:
            if value["label"] == label:
                return option, value
        raise LookupError(f"option {display_name!r} has no value labelled {label!r}")
    raise LookupError(f"product {record.product_id} has no option {display_name!r}")


def _new_product(product_id: int, now: str) -> dict[str, Any]:
    """Return a product with BigCommerce's defaults for the fields a POST leaves out."""
    return {
        "id": product_id,
        "name": "",
        "type": "physical",
        "sku": "",
        "description": "",
        "weight": 0,
        "width": 0,
        "depth": 0,
        "height": 0,
        "price": 0,
        "cost_price": 0,
        "retail_price": 0,
        "sale_price": 0,
        "map_price": 0,
        "tax_class_id": 0,
        "product_tax_code": "",
        "categories": [],
        "brand_id": 0,
        "option_set_display": "right",
        "inventory_level": 0,
        "inventory_warning_level": 0,
        "inventory_tracking": "none",
        "reviews_rating_sum": 0,
        "reviews_count": 0,
        "total_sold": 0,
        "fixed_cost_shipping_price": 0,
        "is_free_shipping": False,
        "is_visible": True,
        "is_featured": False,
        "related_products": [],
        "warranty": "",
        "bin_picking_number": "",
        "layout_file": "product.html",
        "upc": "",
        "mpn": "",
        "gtin": "",
        "search_keywords": "",
        "availability": "available",
        "availability_description": "",
        "gift_wrapping_options_type": "any",
        "gift_wrapping_options_list": [],
        "sort_order": 0,
        "condition": "New",
        "is_condition_shown": False,
        "order_quantity_minimum": 0,
        "order_quantity_maximum": 0,
        "page_title": "",
        "meta_keywords": [],
        "meta_description": "",
        "date_created": now,
        "date_modified": now,
        "view_count": 0,
        "preorder_release_date": None,
        "preorder_message": "",
        "is_preorder_only": False,
        "is_price_hidden": False,
        "price_hidden_label": "",
        "custom_url": {"url": "", "is_customized": False},
        "base_variant_id": None,
        "open_graph_type": "product",
        "open_graph_title": "",
        "open_graph_description": "",
        "open_graph_use_meta_description": True,
        "open_graph_use_product_name": True,
        "open_graph_use_image": True,
    }


def _new_variant(variant_id: int, product_id: int, sku: str) -> dict[str, Any]:
    """Return a variant without option values; null fields use the product's."""
    return {
        "id": variant_id,
        "product_id": product_id,
        "sku": sku,
        # The reference gives a base variant a null sku_id.
        "sku_id": None,
        "price": None,
        "sale_price": None,
        "retail_price": None,
        "cost_price": None,
        "weight": None,
        "width": None,
        "height": None,
        "depth": None,
        "is_free_shipping": False,
        "fixed_cost_shipping_price": None,
        "purchasing_disabled": False,
        "purchasing_disabled_message": "",
        "image_url": "",
        "upc": "",
        "gtin": "",
        "mpn": "",
        "inventory_level": 0,
        "inventory_warning_level": 0,
        "bin_picking_number": "",
        "option_values": [],
    }


def _apply_variant_fields(variant: dict[str, Any], fields: Mapping[str, Any]) -> None:
    for name, value in fields.items():
        if name not in ("option_values", "product_id"):
            variant[name] = copy.deepcopy(value)


# --- HTTP routes -----------------------------------------------------------------

bp = Blueprint("catalog", __name__, url_prefix="/stores/<store_hash>/v3/catalog")
bp.after_request(use_v3_error_shape)


def register_catalog_routes(app: Flask, store: FakeStore) -> None:
    """Serve ``store``'s catalog from ``app``, the BigCommerce stand-in."""
    app.extensions[_EXTENSION_KEY] = store
    app.register_blueprint(bp)


@bp.errorhandler(CatalogError)
def _catalog_error_response(error: CatalogError) -> Response:
    logger.info(
        "catalog %s %s failed with %s: %s %s",
        request.method,
        request.path,
        error.status,
        error.title,
        error.errors or "",
    )
    return v3_error(error.status, error.title, errors=error.errors)


@bp.get("/products")
def get_products(store_hash: str) -> Response:
    """Return one page of products, filtered by exact ``sku``, ``name`` or ``id``."""
    _check_query_names(("sku", "name", "id", "include", *_PAGE_ARGS))
    include = _include_arg()
    products = _registry().list_products(store_hash, include=include)
    for name in ("sku", "name"):
        value = request.args.get(name)
        if value is not None:
            products = [product for product in products if product[name] == value]
    product_id = _int_arg("id")
    if product_id is not None:
        products = [product for product in products if product["id"] == product_id]
    max_limit = MAX_PAGE_LIMIT_WITH_OPTIONS if "options" in include else MAX_PAGE_LIMIT
    return _page_response(products, max_limit=max_limit)


@bp.post("/products")
def post_products(store_hash: str) -> Response:
    """Create a product and respond 200, not 201, as BigCommerce does."""
    product = _registry().create_product(store_hash, _json_object())
    return jsonify(data=product, meta={})


@bp.get("/products/<int:product_id>")
def get_product(store_hash: str, product_id: int) -> Response:
    """Return one product with the sub-resources that ``include`` names."""
    _check_query_names(("include",))
    product = _registry().get_product(store_hash, product_id, include=_include_arg())
    return jsonify(data=product, meta={})


@bp.put("/products/<int:product_id>")
def put_product(store_hash: str, product_id: int) -> Response:
    """Change the product fields that the body sets."""
    _check_query_names(("include",))
    include = _include_arg()
    registry = _registry()
    registry.update_product(store_hash, product_id, _json_object())
    product = registry.get_product(store_hash, product_id, include=include)
    return jsonify(data=product, meta={})


@bp.get("/products/<int:product_id>/custom-fields")
def get_custom_fields(store_hash: str, product_id: int) -> Response:
    """Return one page of a product's custom fields."""
    _check_query_names(_PAGE_ARGS)
    return _page_response(_registry().list_custom_fields(store_hash, product_id))


@bp.post("/products/<int:product_id>/custom-fields")
def post_custom_field(store_hash: str, product_id: int) -> Response:
    """Create a custom field on a product."""
    fields = _json_object()
    custom_field = _registry().create_custom_field(store_hash, product_id, fields)
    return jsonify(data=custom_field, meta={})


@bp.get("/products/<int:product_id>/custom-fields/<int:custom_field_id>")
def get_custom_field(
    store_hash: str, product_id: int, custom_field_id: int
) -> Response:
    """Return one custom field of a product."""
    registry = _registry()
    custom_field = registry.get_custom_field(store_hash, product_id, custom_field_id)
    return jsonify(data=custom_field, meta={})


@bp.put("/products/<int:product_id>/custom-fields/<int:custom_field_id>")
def put_custom_field(
    store_hash: str, product_id: int, custom_field_id: int
) -> Response:
    """Change the ``name`` or ``value`` of a custom field."""
    custom_field = _registry().update_custom_field(
        store_hash, product_id, custom_field_id, _json_object()
    )
    return jsonify(data=custom_field, meta={})


@bp.get("/products/<int:product_id>/options")
def get_options(store_hash: str, product_id: int) -> Response:
    """Return one page of a product's variant options."""
    _check_query_names(_PAGE_ARGS)
    return _page_response(_registry().list_options(store_hash, product_id))


@bp.post("/products/<int:product_id>/options")
def post_option(store_hash: str, product_id: int) -> Response:
    """Create a variant option with its values."""
    option = _registry().create_option(store_hash, product_id, _json_object())
    return jsonify(data=option, meta={})


@bp.get("/products/<int:product_id>/options/<int:option_id>")
def get_option(store_hash: str, product_id: int, option_id: int) -> Response:
    """Return one variant option with its values."""
    option = _registry().get_option(store_hash, product_id, option_id)
    return jsonify(data=option, meta={})


@bp.get("/products/<int:product_id>/options/<int:option_id>/values")
def get_option_values(store_hash: str, product_id: int, option_id: int) -> Response:
    """Return one page of the values of a variant option."""
    _check_query_names(_PAGE_ARGS)
    values = _registry().list_option_values(store_hash, product_id, option_id)
    return _page_response(values)


@bp.post("/products/<int:product_id>/options/<int:option_id>/values")
def post_option_value(store_hash: str, product_id: int, option_id: int) -> Response:
    """Add a value to a variant option."""
    value = _registry().create_option_value(
        store_hash, product_id, option_id, _json_object()
    )
    return jsonify(data=value, meta={})


@bp.get("/products/<int:product_id>/variants")
def get_product_variants(store_hash: str, product_id: int) -> Response:
    """Return one page of a product's variants."""
    _check_query_names(_PAGE_ARGS)
    return _page_response(_registry().list_variants(store_hash, product_id))


@bp.post("/products/<int:product_id>/variants")
def post_variant(store_hash: str, product_id: int) -> Response:
    """Create a variant of a product."""
    variant = _registry().create_variant(store_hash, product_id, _json_object())
    return jsonify(data=variant, meta={})


@bp.get("/products/<int:product_id>/variants/<int:variant_id>")
def get_variant(store_hash: str, product_id: int, variant_id: int) -> Response:
    """Return one variant of a product."""
    variant = _registry().get_variant(store_hash, product_id, variant_id)
    return jsonify(data=variant, meta={})


@bp.put("/products/<int:product_id>/variants/<int:variant_id>")
def put_variant(store_hash: str, product_id: int, variant_id: int) -> Response:
    """Change a variant's fields and ignore ``option_values`` in the body."""
    variant = _registry().update_variant(
        store_hash, product_id, variant_id, _json_object()
    )
    return jsonify(data=variant, meta={})


@bp.get("/variants")
def get_variants(store_hash: str) -> Response:
    """Return one page of the store's variants, filtered by exact ``sku`` or ids."""
    _check_query_names(("sku", "id", "product_id:in", *_PAGE_ARGS))
    variants = _registry().variants(store_hash)
    sku = request.args.get("sku")
    if sku is not None:
        variants = [variant for variant in variants if variant["sku"] == sku]
    variant_id = _int_arg("id")
    if variant_id is not None:
        variants = [variant for variant in variants if variant["id"] == variant_id]
    product_ids = _int_list_arg("product_id:in")
    if product_ids is not None:
        variants = [
            variant for variant in variants if variant["product_id"] in product_ids
        ]
    return _page_response(variants)


def _registry() -> CatalogRegistry:
    store: FakeStore = current_app.extensions[_EXTENSION_KEY]
    return store.catalog


def _json_object() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise CatalogError("The request body is not a JSON object.")
    return body


def _check_query_names(supported: Collection[str]) -> None:
    """Raise CatalogQueryError for a query parameter that the route does not handle.

    A client filter that the stand-in ignored would return every item, so it is
    rejected instead.
    """
    for name in request.args:
        if name not in supported:
            raise CatalogQueryError(
                f"The BigCommerce stand-in does not support query parameter {name!r} "
                f"on this route. Supported parameters: {', '.join(supported)}."
            )


def _include_arg() -> tuple[str, ...]:
    raw = request.args.get("include")
    if not raw:
        return ()
    names = tuple(name.strip() for name in raw.split(","))
    for name in names:
        if name not in PRODUCT_INCLUDES:
            raise CatalogQueryError(
                f"The BigCommerce stand-in does not support include {name!r}. "
                f"Supported values: {', '.join(PRODUCT_INCLUDES)}."
            )
    return names


def _int_arg(
    name: str, *, minimum: int | None = None, maximum: int | None = None
) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise CatalogQueryError(
            f"invalid {name} {raw!r}, expected an integer"
        ) from None
    if (minimum is not None and value < minimum) or (
        maximum is not None and value > maximum
    ):
        raise CatalogQueryError(
            f"invalid {name} {value}, expected {minimum} to {maximum}"
            if maximum is not None
            else f"invalid {name} {value}, expected at least {minimum}"
        )
    return value


def _int_list_arg(name: str) -> set[int] | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        return {int(part) for part in raw.split(",")}
    except ValueError:
        raise CatalogQueryError(
            f"invalid {name} {raw!r}, expected comma-separated integers"
        ) from None


def _page_response(
    items: Sequence[dict[str, Any]], *, max_limit: int = MAX_PAGE_LIMIT
) -> Response:
    """Return one page of ``items`` with the reference's pagination meta.

    A ``limit`` above 250 is rejected with 400, and ``max_limit`` caps the page
    size below that.
    """
    page = _int_arg("page", minimum=1)
    page = 1 if page is None else page
    limit = _int_arg("limit", minimum=1, maximum=MAX_PAGE_LIMIT)
    limit = min(DEFAULT_PAGE_LIMIT if limit is None else limit, max_limit)
    start = (page - 1) * limit
    page_items = list(items[start : start + limit])
    total_pages = max(1, -(-len(items) // limit))
    return jsonify(
        data=page_items,
        meta={
            "pagination": {
                "total": len(items),
                "count": len(page_items),
                "per_page": limit,
                "current_page": page,
                "total_pages": total_pages,
                "links": _page_links(page, total_pages),
            }
        },
    )


def _page_links(page: int, total_pages: int) -> dict[str, str]:
    args = request.args.to_dict()
    links = {}
    for name, number in (("previous", page - 1), ("current", page), ("next", page + 1)):
        if 1 <= number <= total_pages or name == "current":
            links[name] = "?" + urlencode({**args, "page": str(number)})
    return links
