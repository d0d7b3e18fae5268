"""Mapping of offer attributes to BigCommerce product fields, custom fields and
variant fields, following a connection's ``offers`` settings.

With ``only_push_mapped_attributes: false`` every unmapped product attribute becomes a
custom field named after it. With ``true`` unmapped attributes are dropped, so fields
that merchants manage in BigCommerce are never overwritten. Variant attributes follow
the same rule, but BigCommerce variants have no custom fields, so a variant attribute
that would need one fails the offer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from config.model import OfferSettings
from config.product_fields import (
    PRODUCT_FIELD_RULES,
    VARIANT_FIELD_RULES,
    FieldRule,
)
from config.schema import CUSTOM_FIELD_TARGET
from workers.offer_model import AttributeValue, Offer, OfferVariant

# BigCommerce's limit for a custom field's name and for its value.
MAX_CUSTOM_FIELD_LENGTH = 250
REQUIRED_NEW_PRODUCT_FIELDS = ("name", "price", "weight")


class OfferMappingError(ValueError):
    """Attributes that cannot be sent as they are; ``messages`` names each one."""

    def __init__(self, messages: list[str]) -> None:
        self.messages = messages
        super().__init__("; ".join(messages))


@dataclass(frozen=True)
class ProductPlan:
    """Product fields and custom fields, by name, that an offer writes."""

    fields: dict[str, Any] = field(default_factory=dict)
    custom_fields: dict[str, str] = field(default_factory=dict)


def plan_product(offer: Offer, settings: OfferSettings) -> ProductPlan:
    """Map the offer's own attributes; raises OfferMappingError naming each bad one."""
    fields_out: dict[str, Any] = {}
    custom: dict[str, str] = {}
    sources: dict[str, str] = {}
    problems: list[str] = []
    for name, value in offer.attributes.items():
        target = settings.attribute_mapping.get(name)
        if target is None:
            if settings.only_push_mapped_attributes:
                continue
            target = CUSTOM_FIELD_TARGET
        destination = (
            target
            if target in PRODUCT_FIELD_RULES
            else f"custom field {custom_field_label(name, target)!r}"
        )
        if destination in sources:
            problems.append(
                f"attributes {sources[destination]!r} and {name!r} both go to "
                f"{destination}; send only one of them"
            )
            continue
        sources[destination] = name
        try:
            if target in PRODUCT_FIELD_RULES:
                fields_out[target] = convert(value, PRODUCT_FIELD_RULES[target])
            else:
                label = custom_field_label(name, target)
                custom[label] = custom_field_value(label, value)
        except ValueError as exc:
            problems.append(f"attribute {name!r}: {exc}")
    if problems:
        raise OfferMappingError(problems)
    return ProductPlan(fields_out, custom)


def plan_variant(variant: OfferVariant, settings: OfferSettings) -> dict[str, Any]:
    """Map a variant's attributes to variant fields; raises OfferMappingError."""
    fields_out: dict[str, Any] = {}
    sources: dict[str, str] = {}
    problems: list[str] = []
    for name, value in variant.attributes.items():
        target = settings.attribute_mapping.get(name)
        if target is None and settings.only_push_mapped_attributes:
            continue
        if target is not None and target in sources:
            problems.append(
                f"variant {variant.sku}: attributes {sources[target]!r} and {name!r} "
                f"both go to {target}; send only one of them"
            )
            continue
        if target is not None:
            sources[target] = name
        where = f"variant {variant.sku}: attribute {name!r}"
        if target is None:
            problems.append(
                f"{where} is not mapped, and BigCommerce variants have no custom "
                f"fields; map it to a variant field in attribute_mapping (one of "
                f"{', '.join(VARIANT_FIELD_RULES)}) or set "
                "only_push_mapped_attributes: true to drop unmapped attributes"
            )
            continue
        if target not in VARIANT_FIELD_RULES:
            problems.append(
                f"{where} maps to {target}, which BigCommerce variants do not have; "
                f"variant attributes can map to {', '.join(VARIANT_FIELD_RULES)}"
            )
            continue
        try:
            fields_out[target] = convert(value, VARIANT_FIELD_RULES[target])
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
    if problems:
        raise OfferMappingError(problems)
    return fields_out


def missing_new_product_fields(plan: ProductPlan) -> list[str]:
    """Return the fields BigCommerce requires for a new product that the plan lacks."""
    return [name for name in REQUIRED_NEW_PRODUCT_FIELDS if name not in plan.fields]


def custom_field_label(attribute: str, target: str) -> str:
    """Return the custom field name for ``custom_field`` or ``custom_field:Label``."""
    _, _, label = target.partition(":")
    return label or attribute


def custom_field_value(label: str, value: AttributeValue) -> str:
    """Return a custom field's text; raises ValueError outside BigCommerce's limits."""
    if len(label) > MAX_CUSTOM_FIELD_LENGTH:
        raise ValueError(
            f"custom field name {label[:40]!r}... has {len(label)} characters; "
            f"BigCommerce allows at most {MAX_CUSTOM_FIELD_LENGTH}"
        )
    text = _text(value)
    if not text:
        raise ValueError(
            f"custom field {label!r} would be empty; BigCommerce requires "
            f"1 to {MAX_CUSTOM_FIELD_LENGTH} characters"
        )
    if len(text) > MAX_CUSTOM_FIELD_LENGTH:
        raise ValueError(
            f"value for custom field {label!r} has {len(text)} characters; "
            f"BigCommerce allows at most {MAX_CUSTOM_FIELD_LENGTH}"
        )
    return text


def convert(value: AttributeValue, rule: FieldRule) -> Any:
    """Convert an attribute value to the field's JSON type; raises ValueError."""
    if rule.kind == "boolean":
        return _boolean(value)
    if rule.kind in ("number", "integer"):
        return _number(value, rule)
    text = _text(value)
    if rule.kind == "choice" and text not in rule.choices:
        raise ValueError(f"{text!r} is not one of {', '.join(rule.choices)}")
    if rule.max_length is not None and len(text) > rule.max_length:
        raise ValueError(
            f"has {len(text)} characters; BigCommerce allows at most {rule.max_length}"
        )
    return text


def _text(value: AttributeValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _boolean(value: AttributeValue) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError(f"{value!r} is not a boolean (true or false)")


def _number(value: AttributeValue, rule: FieldRule) -> int | float:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    if number < 0:
        raise ValueError(f"{value!r} is negative; BigCommerce requires 0 or more")
    if rule.maximum is not None and number > rule.maximum:
        raise ValueError(f"{value!r} is above BigCommerce's maximum {rule.maximum}")
    if rule.kind == "integer":
        if number != number.to_integral_value():
            raise ValueError(f"{value!r} is not a whole number")
        return int(number)
    result = float(number)
    if not math.isfinite(result):
        raise ValueError(f"{value!r} is out of range")
    return result


def swatch_problems(offer: Offer) -> list[str]:
    """Return a message for each option value that has no color in ``swatches``."""
    problems = []
    for variant in offer.variants:
        for name, label in variant.options.items():
            if label not in offer.swatches.get(name, {}):
                problems.append(
                    f"option {name} value {label!r} has no color in swatches; "
                    f"swatch options need a color for every value"
                )
    return list(dict.fromkeys(problems))


def option_labels(variant: Mapping[str, Any]) -> dict[str, str]:
    """Return a BigCommerce variant's option values as ``{display name: label}``."""
    labels = {}
    for value in variant.get("option_values") or []:
        if isinstance(value, dict):
            labels[str(value.get("option_display_name"))] = str(value.get("label"))
    return labels
