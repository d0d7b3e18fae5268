"""Push of one offer to a store's catalog: product, custom fields, options, variants.

Every step looks up what exists before it writes, so a push that was cut short
(a 5xx, a killed worker) can run again from the start without creating anything
twice. Order of writes: the product, its custom fields, the options and their new
values, then the variants, because a variant refers to the ids of its option values.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from config.model import Connection
from workers.catalog import CatalogClient, CatalogRejected
from workers.offer_mapping import (
    OfferMappingError,
    ProductPlan,
    missing_new_product_fields,
    option_labels,
    plan_product,
    plan_variant,
    swatch_problems,
)
from workers.offer_model import Offer, OfferVariant

logger = logging.getLogger(__name__)

SWATCH = "swatch"


@dataclass
class OfferOutcome:
    """Result of one push: ``created``, ``updated`` or ``failed``, with messages."""

    result: str
    product_id: int | None = None
    messages: list[str] = field(default_factory=list)


class OfferFailed(Exception):
    """An offer that cannot be pushed as it is; ``messages`` give the reasons."""

    def __init__(self, messages: list[str], product_id: int | None = None) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages
        self.product_id = product_id


def push_offer(
    client: CatalogClient,
    connection: Connection,
    offer: Offer,
    *,
    created_earlier: bool = False,
    on_created: Callable[[int], None] | None = None,
) -> OfferOutcome:
    """Create or update the offer's product and variants.

    ``created_earlier`` marks a retry of a push that had already created the
    product, so the outcome is still ``created``. ``on_created`` is called with
    the new product's id right after BigCommerce created it.

    Returns a failed outcome for anything BigCommerce rejects or the settings cannot
    map. Raises RetryableUpstreamError for transient failures, so the job can run
    again.
    """
    try:
        return _Push(client, connection, offer, on_created).run(created_earlier)
    except OfferFailed as exc:
        return OfferOutcome("failed", exc.product_id, exc.messages)


class _Push:
    def __init__(
        self,
        client: CatalogClient,
        connection: Connection,
        offer: Offer,
        on_created: Callable[[int], None] | None,
    ) -> None:
        self.client = client
        self.on_created = on_created
        self.connection = connection
        self.offer = offer
        self.settings = connection.settings.offers
        self.option_type = connection.settings.variant_option_type
        self.product_id: int | None = None
        self.done: list[str] = []
        self.failures: list[str] = []

    def run(self, created_earlier: bool) -> OfferOutcome:
        plan, variant_fields = self._plan()
        product = self.client.find_product(self.offer.sku)
        if product is None:
            self._check_sku_is_free(self.offer.sku, "product")
            self.product_id = self._create_product(plan)
            created = True
        else:
            self.product_id = int(product["id"])
            self._check_option_changes()
            self._update_product(plan)
            created = created_earlier
        self._sync_custom_fields(plan.custom_fields)
        if self.offer.variants:
            value_ids = self._sync_options()
            self._sync_variants(value_ids, variant_fields)
        if self.failures:
            raise OfferFailed(self.done + self.failures, self.product_id)
        return OfferOutcome(
            "created" if created else "updated", self.product_id, self.done
        )

    def _plan(self) -> tuple[ProductPlan, dict[str, dict[str, Any]]]:
        """Map every attribute before the first write, so bad input writes nothing."""
        problems: list[str] = []
        plan = ProductPlan()
        try:
            plan = plan_product(self.offer, self.settings)
        except OfferMappingError as exc:
            problems += exc.messages
        variant_fields: dict[str, dict[str, Any]] = {}
        for variant in self.offer.variants:
            try:
                variant_fields[variant.sku] = plan_variant(variant, self.settings)
            except OfferMappingError as exc:
                problems += exc.messages
        if self.option_type == SWATCH:
            problems += swatch_problems(self.offer)
        if problems:
            raise OfferFailed(problems)
        return plan, variant_fields

    def _check_option_changes(self) -> None:
        """Fail before any write when an existing variant's option values differ.

        BigCommerce returns 200 for a PUT with other option values and keeps the old
        ones, so the comparison happens here and the change is reported, not sent.
        """
        assert self.product_id is not None
        if not self.offer.variants:
            return
        existing = {
            str(item.get("sku")): item
            for item in self.client.list_variants(self.product_id)
        }
        problems = []
        for variant in self.offer.variants:
            current = existing.get(variant.sku)
            if current is None:
                continue
            stored = option_labels(current)
            if set(stored) != set(variant.options):
                problems.append(
                    f"variant {variant.sku}: BigCommerce has the options "
                    f"{', '.join(sorted(stored)) or 'none'} for it, but the offer "
                    f"names {', '.join(sorted(variant.options))}; an offer must name "
                    "every option "
                    "of the product, spelt as in BigCommerce"
                )
            elif stored != variant.options:
                problems.append(
                    f"variant {variant.sku}: its option values cannot change from "
                    f"{_describe(stored)} to {_describe(variant.options)}, because "
                    "BigCommerce keeps a variant's option values on update; delete "
                    "the variant in BigCommerce or give the new values a new SKU"
                )
        if problems:
            raise OfferFailed(problems, self.product_id)

    def _check_sku_is_free(self, sku: str, what: str) -> None:
        """Fail when another product already uses ``sku`` for one of its variants."""
        variant = self.client.find_variant(sku)
        if variant is not None:
            raise OfferFailed(
                [
                    f"{what} SKU {sku} is already the SKU of a variant of product "
                    f"{variant.get('product_id')} in BigCommerce"
                ],
                self.product_id,
            )

    def _create_product(self, plan: ProductPlan) -> int:
        missing = missing_new_product_fields(plan)
        if missing:
            raise OfferFailed(
                [
                    f"new product {self.offer.sku} needs {name}: "
                    + _missing_field_hint(name, self.settings.attribute_mapping)
                    for name in missing
                ]
            )
        body = {"type": "physical", "sku": self.offer.sku, **plan.fields}
        product = self._write(self.client.create_product, body)
        product_id = int(product["id"])
        if self.on_created is not None:
            self.on_created(product_id)
        self.done.append(f"created product {product_id}")
        logger.info(
            "offer %s: created product %s (connection=%s)",
            self.offer.sku,
            product_id,
            self.connection.name,
        )
        return product_id

    def _update_product(self, plan: ProductPlan) -> None:
        if not plan.fields:
            return
        assert self.product_id is not None
        self._write(self.client.update_product, self.product_id, dict(plan.fields))
        self.done.append(
            f"updated product {self.product_id}: {', '.join(sorted(plan.fields))}"
        )

    def _sync_custom_fields(self, wanted: dict[str, str]) -> None:
        if not wanted:
            return
        assert self.product_id is not None
        existing = {
            str(item.get("name")): item
            for item in self.client.list_custom_fields(self.product_id)
        }
        for name, value in wanted.items():
            current = existing.get(name)
            body = {"name": name, "value": value}
            if current is None:
                self._write(self.client.create_custom_field, self.product_id, body)
                self.done.append(f"created custom field {name}")
            elif current.get("value") != value:
                self._write(
                    self.client.update_custom_field,
                    self.product_id,
                    int(current["id"]),
                    body,
                )
                self.done.append(f"updated custom field {name}")

    def _sync_options(self) -> dict[tuple[str, str], tuple[int, int]]:
        """Create missing options and values; return ``(name, label) -> ids``."""
        assert self.product_id is not None
        options = {
            str(item.get("display_name")): item
            for item in self.client.list_options(self.product_id)
        }
        value_ids: dict[tuple[str, str], tuple[int, int]] = {}
        for name in self.offer.option_names():
            labels = self._labels_of(name)
            option = options.get(name)
            if option is None:
                option = self._create_option(name, labels)
            option_id = int(option["id"])
            option_type = str(option.get("type") or self.option_type)
            known = {
                str(value.get("label")): int(value["id"])
                for value in option.get("option_values") or []
            }
            for label in labels:
                if label not in known:
                    known[label] = self._create_option_value(
                        option_id, name, label, option_type, sort_order=len(known)
                    )
                value_ids[(name, label)] = (option_id, known[label])
        return value_ids

    def _labels_of(self, name: str) -> list[str]:
        labels = (variant.options[name] for variant in self.offer.variants)
        return list(dict.fromkeys(labels))

    def _value_body(
        self, name: str, label: str, sort_order: int, option_type: str
    ) -> dict[str, Any]:
        """Return an option value; a swatch value carries its color from swatches.

        The type is the option's own, which for an option that exists already may
        differ from the connection's variant_option_type.
        """
        body: dict[str, Any] = {
            "label": label,
            "sort_order": sort_order,
            "is_default": False,
        }
        if option_type == SWATCH:
            color = self.offer.swatches.get(name, {}).get(label)
            if color is None:
                raise OfferFailed(
                    [
                        f"option {name} value {label!r} has no color in swatches; "
                        f"the option is a swatch option in BigCommerce, so every "
                        "new value needs a color"
                    ],
                    self.product_id,
                )
            body["value_data"] = {"colors": [color]}
        return body

    def _create_option(self, name: str, labels: list[str]) -> dict[str, Any]:
        assert self.product_id is not None
        body = {
            "display_name": name,
            "type": self.option_type,
            "option_values": [
                self._value_body(name, label, index, self.option_type)
                for index, label in enumerate(labels)
            ],
        }
        option = self._write(self.client.create_option, self.product_id, body)
        self.done.append(f"created option {name} ({self.option_type})")
        return option

    def _create_option_value(
        self,
        option_id: int,
        name: str,
        label: str,
        option_type: str,
        *,
        sort_order: int,
    ) -> int:
        assert self.product_id is not None
        body = self._value_body(name, label, sort_order, option_type)
        value = self._write(
            self.client.create_option_value, self.product_id, option_id, body
        )
        self.done.append(f"created option value {name} {label}")
        return int(value["id"])

    def _sync_variants(
        self,
        value_ids: dict[tuple[str, str], tuple[int, int]],
        variant_fields: dict[str, dict[str, Any]],
    ) -> None:
        assert self.product_id is not None
        existing = {
            str(item.get("sku")): item
            for item in self.client.list_variants(self.product_id)
        }
        for variant in self.offer.variants:
            fields = variant_fields[variant.sku]
            try:
                current = existing.get(variant.sku)
                if current is None:
                    self._create_variant(variant, value_ids, fields)
                else:
                    self._update_variant(variant, current, fields)
            except OfferFailed as exc:
                self.failures += exc.messages

    def _create_variant(
        self,
        variant: OfferVariant,
        value_ids: dict[tuple[str, str], tuple[int, int]],
        fields: dict[str, Any],
    ) -> None:
        assert self.product_id is not None
        self._check_sku_is_free(variant.sku, "variant")
        option_values = []
        for name, label in variant.options.items():
            option_id, value_id = value_ids[(name, label)]
            option_values.append({"option_id": option_id, "id": value_id})
        body = {"sku": variant.sku, "option_values": option_values, **fields}
        self._write(
            self.client.create_variant,
            self.product_id,
            body,
            context=f"variant {variant.sku}",
        )
        self.done.append(f"created variant {variant.sku}")

    def _update_variant(
        self, variant: OfferVariant, current: dict[str, Any], fields: dict[str, Any]
    ) -> None:
        """Update a variant's fields; fail when its option values would change.

        _check_option_changes already failed the offer for such a change before any
        write, so a change found here happened in BigCommerce during this push.
        """
        assert self.product_id is not None
        if fields:
            self._write(
                self.client.update_variant,
                self.product_id,
                int(current["id"]),
                fields,
                context=f"variant {variant.sku}",
            )
            self.done.append(
                f"updated variant {variant.sku}: {', '.join(sorted(fields))}"
            )
        stored = option_labels(current)
        if stored != variant.options:
            raise OfferFailed(
                [
                    f"variant {variant.sku}: its option values cannot change from "
                    f"{_describe(stored)} to {_describe(variant.options)}, because "
                    "BigCommerce keeps a variant's option values on update; delete "
                    "the variant in BigCommerce or give the new values a new SKU"
                ]
            )

    def _write(self, method: Any, *args: Any, context: str = "") -> dict[str, Any]:
        """Call a client write; turns CatalogRejected into OfferFailed."""
        try:
            result: dict[str, Any] = method(*args)
        except CatalogRejected as exc:
            if exc.product_id is not None and self.product_id is None:
                self.product_id = exc.product_id
            prefix = f"{context}: " if context else ""
            messages = [
                f"{prefix}BigCommerce returned HTTP {exc.status}: {message}"
                for message in exc.messages
            ]
            raise OfferFailed(messages, self.product_id) from None
        return result


def _missing_field_hint(field_name: str, mapping: dict[str, str]) -> str:
    sources = sorted(name for name, target in mapping.items() if target == field_name)
    if sources:
        return f"the offer has no attribute {' or '.join(sources)}"
    return f"map an offer attribute to {field_name} in attribute_mapping and send it"


def _describe(options: dict[str, str]) -> str:
    if not options:
        return "no option values"
    return ", ".join(f"{name} {label}" for name, label in options.items())
