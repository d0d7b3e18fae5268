"""Mapping of offer attributes to product fields, custom fields and variant fields."""

from __future__ import annotations

import re

import pytest

from config.model import OfferSettings
from workers.offer_mapping import (
    PRODUCT_FIELD_RULES,
    OfferMappingError,
    convert,
    missing_new_product_fields,
    option_labels,
    plan_product,
    plan_variant,
    swatch_problems,
)
from workers.offer_model import Offer, OfferVariant

MAPPING = {
    "title": "name",
    "price": "price",
    "weight_kg": "weight",
    "material": "custom_field",
    "care": "custom_field:Care instructions",
}
OFFER = Offer(
    sku="TEE-1",
    attributes={
        "title": "Organic tee",
        "price": "19.90",
        "weight_kg": 0.2,
        "material": "cotton",
        "care": "30 degrees",
        "season": "summer",
    },
)


def settings(only_mapped=False, mapping=None):
    return OfferSettings(
        only_push_mapped_attributes=only_mapped,
        attribute_mapping=MAPPING if mapping is None else mapping,
    )


def test_mapped_attributes_reach_their_targets():
    plan = plan_product(OFFER, settings(only_mapped=True))
    assert plan.fields == {"name": "Organic tee", "price": 19.9, "weight": 0.2}
    assert plan.custom_fields == {
        "material": "cotton",
        "Care instructions": "30 degrees",
    }


def test_only_mapped_drops_unmapped_attribute():
    plan = plan_product(OFFER, settings(only_mapped=True))
    assert "season" not in plan.custom_fields
    assert "season" not in plan.fields


def test_unmapped_attribute_becomes_custom_field():
    plan = plan_product(OFFER, settings(only_mapped=False))
    assert plan.custom_fields["season"] == "summer"


def test_missing_fields_for_new_product():
    offer = Offer(sku="X", attributes={"title": "Mug"})
    plan = plan_product(offer, settings())
    assert missing_new_product_fields(plan) == ["price", "weight"]


def test_custom_field_value_over_250_fails_naming_attribute():
    offer = Offer(sku="X", attributes={"material": "c" * 251, "care": "ok"})
    with pytest.raises(OfferMappingError) as caught:
        plan_product(offer, settings())
    assert caught.value.messages == [
        "attribute 'material': value for custom field 'material' has 251 "
        "characters; BigCommerce allows at most 250"
    ]


def test_custom_field_value_of_250_accepted():
    offer = Offer(sku="X", attributes={"material": "c" * 250})
    assert plan_product(offer, settings()).custom_fields["material"] == "c" * 250


def test_empty_custom_field_value_fails():
    offer = Offer(sku="X", attributes={"care": ""})
    with pytest.raises(OfferMappingError) as caught:
        plan_product(offer, settings())
    assert "custom field 'Care instructions' would be empty" in str(caught.value)


def test_unmapped_long_name_fails():
    offer = Offer(sku="X", attributes={"n" * 251: "v"})
    with pytest.raises(OfferMappingError) as caught:
        plan_product(offer, settings())
    assert "has 251 characters; BigCommerce allows at most 250" in str(caught.value)


def test_every_bad_attribute_reported():
    offer = Offer(sku="X", attributes={"price": "cheap", "weight_kg": -1})
    with pytest.raises(OfferMappingError) as caught:
        plan_product(offer, settings())
    assert caught.value.messages == [
        "attribute 'price': 'cheap' is not a number",
        "attribute 'weight_kg': -1 is negative; BigCommerce requires 0 or more",
    ]


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("price", "19.90", 19.9),
        ("price", 5, 5.0),
        ("weight", "0", 0.0),
        ("inventory_level", "12", 12),
        ("inventory_level", 12.0, 12),
        ("is_visible", True, True),
        ("is_visible", "False", False),
        ("availability", "preorder", "preorder"),
        ("condition", "Used", "Used"),
        ("name", 42, "42"),
        ("mpn", True, "true"),
    ],
)
def test_convert_accepts(field, value, expected):
    converted = convert(value, PRODUCT_FIELD_RULES[field])
    assert converted == expected
    assert type(converted) is type(expected)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("price", True, "True is not a number"),
        ("price", "NaN", "'NaN' is not a finite number"),
        ("price", "1e400", "'1e400' is out of range"),
        ("inventory_level", "1.5", "'1.5' is not a whole number"),
        ("inventory_level", 2_147_483_648, "above BigCommerce's maximum"),
        ("is_visible", "yes", "'yes' is not a boolean (true or false)"),
        ("availability", "soon", "'soon' is not one of available, disabled, preorder"),
        ("condition", "new", "'new' is not one of New, Used, Refurbished"),
        ("name", "n" * 251, "has 251 characters; BigCommerce allows at most 250"),
        ("upc", "1" * 15, "has 15 characters; BigCommerce allows at most 14"),
        ("gtin", "1" * 15, "has 15 characters; BigCommerce allows at most 14"),
        ("page_title", "t" * 256, "has 256 characters; BigCommerce allows at most 255"),
    ],
)
def test_convert_rejects(field, value, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        convert(value, PRODUCT_FIELD_RULES[field])


def test_variant_attribute_to_variant_field():
    variant = OfferVariant("V-1", {"Size": "M"}, {"price": "21.90", "weight_kg": 1})
    assert plan_variant(variant, settings()) == {"price": 21.9, "weight": 1.0}


def test_variant_unmapped_dropped_when_only_mapped():
    variant = OfferVariant("V-1", {"Size": "M"}, {"price": "21.90", "season": "x"})
    assert plan_variant(variant, settings(only_mapped=True)) == {"price": 21.9}


def test_variant_unmapped_fails_when_not_only_mapped():
    variant = OfferVariant("V-1", {"Size": "M"}, {"season": "summer"})
    with pytest.raises(OfferMappingError) as caught:
        plan_variant(variant, settings(only_mapped=False))
    message = caught.value.messages[0]
    assert message.startswith(
        "variant V-1: attribute 'season' is not mapped, and BigCommerce variants "
        "have no custom fields; map it to a variant field in attribute_mapping"
    )


def test_variant_attribute_mapped_to_product_only_field_fails():
    variant = OfferVariant("V-1", {"Size": "M"}, {"title": "Big tee"})
    with pytest.raises(OfferMappingError) as caught:
        plan_variant(variant, settings(only_mapped=True))
    assert caught.value.messages[0].startswith(
        "variant V-1: attribute 'title' maps to name, which BigCommerce variants "
        "do not have; variant attributes can map to price, sale_price"
    )


def test_swatch_values_without_color_named():
    offer = Offer(
        sku="T",
        variants=(
            OfferVariant("T-R", {"Color": "Red"}),
            OfferVariant("T-G", {"Color": "Green"}),
            OfferVariant("T-G2", {"Color": "Green"}),
        ),
        swatches={"Color": {"Red": "#ff0000"}},
    )
    assert swatch_problems(offer) == [
        "option Color value 'Green' has no color in swatches; swatch options need "
        "a color for every value"
    ]


def test_option_labels_by_display_name():
    variant = {
        "option_values": [
            {"id": 1, "label": "Red", "option_display_name": "Color"},
            {"id": 2, "label": "M", "option_display_name": "Size"},
        ]
    }
    assert option_labels(variant) == {"Color": "Red", "Size": "M"}


def test_two_attributes_to_one_field_fail():
    offer = Offer(sku="X", attributes={"title": "A", "name_en": "B"})
    mapping = {"title": "name", "name_en": "name"}
    with pytest.raises(OfferMappingError) as caught:
        plan_product(offer, settings(mapping=mapping))
    assert caught.value.messages == [
        "attributes 'title' and 'name_en' both go to name; send only one of them"
    ]


def test_two_attributes_to_one_custom_field_fail():
    offer = Offer(sku="X", attributes={"material": "A", "fabric": "B"})
    mapping = {"fabric": "custom_field:material"}
    with pytest.raises(OfferMappingError) as caught:
        plan_product(offer, settings(mapping=mapping))
    assert caught.value.messages == [
        "attributes 'material' and 'fabric' both go to custom field 'material'; "
        "send only one of them"
    ]


def test_two_variant_attributes_to_one_field_fail():
    variant = OfferVariant("V-1", {"Size": "M"}, {"price": "1", "cost": "2"})
    mapping = {"price": "price", "cost": "price"}
    with pytest.raises(OfferMappingError) as caught:
        plan_variant(variant, settings(mapping=mapping))
    assert caught.value.messages == [
        "variant V-1: attributes 'price' and 'cost' both go to price; send only one "
        "of them"
    ]
