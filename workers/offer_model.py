"""Offers the hub sends: the request schema, its error messages and the Offer type.

``POST /offers`` and ``offers push FILE`` share this parser, so both reject the same
input with the same messages, each naming the offer's index and the field.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    validate,
    validates_schema,
)

MAX_OFFERS_PER_REQUEST = 100
MAX_SKU_LENGTH = 255  # BigCommerce's limit for product and variant SKUs
MAX_NAME_LENGTH = 255
HEX_COLOR = re.compile(r"\A#[0-9A-Fa-f]{6}\Z")

AttributeValue = str | int | float | bool


class OfferRequestError(ValueError):
    """An offer request that cannot be accepted; ``messages`` name each problem."""

    def __init__(self, messages: list[str]) -> None:
        self.messages = messages
        super().__init__("; ".join(messages))


class TooManyOffers(OfferRequestError):
    """A request with more offers than MAX_OFFERS_PER_REQUEST."""


@dataclass(frozen=True)
class OfferVariant:
    """One variant: its SKU, a value for each option name, and its attributes."""

    sku: str
    options: dict[str, str]
    attributes: dict[str, AttributeValue] = field(default_factory=dict)


@dataclass(frozen=True)
class Offer:
    """One product as the hub offers it, with its variants and swatch colors."""

    sku: str
    attributes: dict[str, AttributeValue] = field(default_factory=dict)
    variants: tuple[OfferVariant, ...] = ()
    swatches: dict[str, dict[str, str]] = field(default_factory=dict)

    def option_names(self) -> list[str]:
        """Return the option names in the order the variants first use them."""
        names: dict[str, None] = {}
        for variant in self.variants:
            names.update(dict.fromkeys(variant.options))
        return list(names)

    def to_dict(self) -> dict[str, Any]:
        """Return the offer as the request body spells it (JSON-safe)."""
        return {
            "sku": self.sku,
            "attributes": dict(self.attributes),
            "variants": [
                {
                    "sku": variant.sku,
                    "options": dict(variant.options),
                    "attributes": dict(variant.attributes),
                }
                for variant in self.variants
            ],
            "swatches": {name: dict(colors) for name, colors in self.swatches.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Offer:
        """Build an offer from a dict that the schema has already validated."""
        return cls(
            sku=data["sku"],
            attributes=dict(data.get("attributes") or {}),
            variants=tuple(
                OfferVariant(
                    sku=item["sku"],
                    options=dict(item["options"]),
                    attributes=dict(item.get("attributes") or {}),
                )
                for item in data.get("variants") or ()
            ),
            swatches={
                name: dict(colors)
                for name, colors in (data.get("swatches") or {}).items()
            },
        )


@dataclass(frozen=True)
class OfferRequest:
    connection: str
    offers: tuple[Offer, ...]


class Attribute(fields.Field):
    """An attribute value: a string, a finite number or a boolean."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, bool | str | int):
            return value
        if isinstance(value, float) and math.isfinite(value):
            return value
        raise ValidationError("must be a string, a finite number or a boolean")


def _text(max_length: int) -> fields.String:
    return fields.String(
        required=True,
        validate=[
            validate.Length(min=1, max=max_length),
            validate.Predicate("strip", error="must not be blank"),
        ],
    )


def _name_key() -> fields.String:
    return fields.String(
        validate=[
            validate.Length(min=1, max=MAX_NAME_LENGTH),
            validate.Predicate("strip", error="must not be blank"),
        ]
    )


def _attributes() -> fields.Dict:
    return fields.Dict(keys=_name_key(), values=Attribute(), load_default=dict)


class VariantSchema(Schema):
    sku = _text(MAX_SKU_LENGTH)
    options = fields.Dict(
        keys=_name_key(),
        values=_text(MAX_NAME_LENGTH),
        required=True,
        validate=validate.Length(min=1, error="must name at least one option"),
    )
    attributes = _attributes()


class OfferSchema(Schema):
    sku = _text(MAX_SKU_LENGTH)
    attributes = _attributes()
    variants = fields.List(fields.Nested(VariantSchema), load_default=list)
    swatches = fields.Dict(
        keys=_name_key(),
        values=fields.Dict(
            keys=_name_key(),
            values=fields.String(
                validate=validate.Regexp(
                    HEX_COLOR, error="must be a color like #ff0000"
                )
            ),
        ),
        load_default=dict,
    )

    @validates_schema
    def check_variants(self, data: dict[str, Any], **kwargs: Any) -> None:
        """Reject variants that BigCommerce could not store side by side."""
        variants = data.get("variants") or []
        if not variants:
            return
        names = list(variants[0]["options"])
        skus = {data["sku"]}
        combinations: set[tuple[tuple[str, str], ...]] = set()
        for index, variant in enumerate(variants):
            where = f"variants[{index}]"
            if set(variant["options"]) != set(names):
                raise ValidationError(
                    f"must have the same option names as variants[0] "
                    f"({', '.join(names)})",
                    f"{where}.options",
                )
            if variant["sku"] in skus:
                raise ValidationError(
                    f"SKU {variant['sku']!r} is used twice in this offer",
                    f"{where}.sku",
                )
            skus.add(variant["sku"])
            combination = tuple(sorted(variant["options"].items()))
            if combination in combinations:
                raise ValidationError(
                    "another variant of this offer has the same option values",
                    f"{where}.options",
                )
            combinations.add(combination)


class OfferRequestSchema(Schema):
    connection = _text(MAX_NAME_LENGTH)
    offers = fields.List(
        fields.Nested(OfferSchema),
        required=True,
        validate=validate.Length(min=1, error="must contain at least one offer"),
    )

    @validates_schema
    def check_unique_skus(self, data: dict[str, Any], **kwargs: Any) -> None:
        """Reject a product or variant SKU used by two offers of one request.

        Only one result per SKU is kept, and two offers writing one SKU would undo
        each other in BigCommerce.
        """
        owners: dict[str, int] = {}
        for index, offer in enumerate(data.get("offers") or []):
            places = [(offer["sku"], f"offers[{index}].sku")]
            places += [
                (variant["sku"], f"offers[{index}].variants[{number}].sku")
                for number, variant in enumerate(offer.get("variants") or [])
            ]
            for sku, where in places:
                owner = owners.setdefault(sku, index)
                if owner != index:
                    raise ValidationError(
                        f"SKU {sku!r} is also used by offers[{owner}]; send each "
                        "SKU once per request",
                        where,
                    )


def load_offer_json(body: bytes | str) -> Any:
    """Decode a request body or file; raises OfferRequestError naming the problem.

    Rejects what json.loads would accept but no hub means: duplicate keys, of which
    json.loads keeps the last silently, and unpaired UTF-16 surrogates, which are
    not valid Unicode and cannot be sent on to BigCommerce.
    """
    try:
        data = json.loads(body, object_pairs_hook=_unique_keys)
    except RecursionError:
        raise OfferRequestError(["body: invalid JSON: nested too deeply"]) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise OfferRequestError([f"body: invalid JSON: {exc}"]) from None
    try:
        where = _surrogate_path(data, "")
    except RecursionError:
        raise OfferRequestError(["body: invalid JSON: nested too deeply"]) from None
    if where is not None:
        raise OfferRequestError(
            [
                f"{where or 'body'}: contains an unpaired UTF-16 surrogate, which is "
                "not valid Unicode"
            ]
        )
    return data


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _surrogate_path(data: Any, path: str) -> str | None:
    """Return the path of the first string with an unpaired surrogate, or None."""
    if isinstance(data, str):
        return path if _has_surrogate(data) else None
    if isinstance(data, list):
        for index, item in enumerate(data):
            found = _surrogate_path(item, f"{path}[{index}]")
            if found is not None:
                return found
    if isinstance(data, dict):
        for key, value in data.items():
            child = f"{path}.{key}" if path else key
            if _has_surrogate(key):
                return child.encode("utf-8", "backslashreplace").decode()
            found = _surrogate_path(value, child)
            if found is not None:
                return found
    return None


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def parse_offer_request(
    body: Any, *, max_offers: int | None = MAX_OFFERS_PER_REQUEST
) -> OfferRequest:
    """Validate a request body; raises TooManyOffers or OfferRequestError.

    ``max_offers`` None lifts the per-request limit, for a file of offers.
    """
    if not isinstance(body, dict):
        raise OfferRequestError(["request body must be a JSON object"])
    offers = body.get("offers")
    if max_offers is not None and isinstance(offers, list) and len(offers) > max_offers:
        raise TooManyOffers(
            [
                f"offers: {len(offers)} offers in one request; the maximum is "
                f"{max_offers}, so split them over several requests"
            ]
        )
    try:
        loaded = OfferRequestSchema().load(body)
    except ValidationError as exc:
        raise OfferRequestError(flatten_errors(exc.messages)) from None
    return OfferRequest(
        connection=loaded["connection"],
        offers=tuple(Offer.from_dict(item) for item in loaded["offers"]),
    )


def flatten_errors(messages: Any, path: str = "") -> list[str]:
    """Turn marshmallow's nested error dict into ``offers[0].variants[1].sku: ...``.

    Dict fields report ``{"key": [...]}`` or ``{"value": [...]}`` under each key;
    those two levels are left out of the path.
    """
    if isinstance(messages, str):
        return [f"{path or 'body'}: {messages}"]
    if isinstance(messages, list):
        return [line for item in messages for line in flatten_errors(item, path)]
    lines = []
    for key, value in messages.items():
        if key == "_schema":
            child = path
        elif key == "":
            child = f'{path}[""]'
        elif isinstance(key, int):
            child = f"{path}[{key}]"
        elif key in ("key", "value") and path:
            child = path
        else:
            child = f"{path}.{key}" if path else str(key)
        lines.extend(flatten_errors(value, child))
    return lines
