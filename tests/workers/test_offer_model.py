"""Validation of offer requests: each error names the offer index and the field."""

from __future__ import annotations

import copy

import pytest

from workers.offer_model import (
    MAX_OFFERS_PER_REQUEST,
    Offer,
    OfferRequestError,
    TooManyOffers,
    parse_offer_request,
)

TEE = {
    "sku": "TEE-1",
    "attributes": {
        "title": "Organic tee",
        "price": "19.90",
        "weight_kg": 0.2,
        "material": "cotton",
        "in_stock": True,
    },
    "variants": [
        {
            "sku": "TEE-1-RED-M",
            "options": {"Color": "Red", "Size": "M"},
            "attributes": {"price": "21.90"},
        },
        {"sku": "TEE-1-BLU-L", "options": {"Color": "Blue", "Size": "L"}},
    ],
    "swatches": {"Color": {"Red": "#ff0000", "Blue": "#0000ff"}},
}


def request_with(*offers):
    return {"connection": "main-store", "offers": [copy.deepcopy(o) for o in offers]}


def errors_of(body):
    with pytest.raises(OfferRequestError) as caught:
        parse_offer_request(body)
    return caught.value.messages


def test_valid_request_parsed():
    parsed = parse_offer_request(request_with(TEE))
    offer = parsed.offers[0]
    assert parsed.connection == "main-store"
    assert offer.sku == "TEE-1"
    assert offer.attributes["weight_kg"] == 0.2
    assert offer.variants[0].options == {"Color": "Red", "Size": "M"}
    assert offer.variants[1].attributes == {}
    assert offer.option_names() == ["Color", "Size"]


def test_offer_round_trips_through_dict():
    offer = parse_offer_request(request_with(TEE)).offers[0]
    assert Offer.from_dict(offer.to_dict()) == offer


def test_offer_without_variants_is_valid():
    offer = parse_offer_request(request_with({"sku": "MUG-1"})).offers[0]
    assert offer.variants == ()
    assert offer.attributes == {}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda o: o.pop("sku"), "offers[1].sku: Missing data for required field."),
        (lambda o: o.update(sku=""), "offers[1].sku: Length must be between 1 and"),
        (lambda o: o.update(sku="   "), "offers[1].sku: must not be blank"),
        (lambda o: o.update(sku="x" * 256), "offers[1].sku: Length must be between"),
        (lambda o: o.update(colour="red"), "offers[1].colour: Unknown field."),
        (
            lambda o: o["attributes"].update(material=None),
            "offers[1].attributes.material: Field may not be null.",
        ),
        (
            lambda o: o["attributes"].update(material={"a": 1}),
            "offers[1].attributes.material: must be a string, a finite number",
        ),
        (
            lambda o: o["variants"][1].pop("options"),
            "offers[1].variants[1].options: Missing data for required field.",
        ),
        (
            lambda o: o["variants"][1].update(options={}),
            "offers[1].variants[1].options: must name at least one option",
        ),
        (
            lambda o: o["variants"][1].update(options={"Color": "Blue"}),
            "offers[1].variants[1].options: must have the same option names",
        ),
        (
            lambda o: o["variants"][1].update(sku="TEE-2-RED-M"),
            "offers[1].variants[1].sku: SKU 'TEE-2-RED-M' is used twice",
        ),
        (
            lambda o: o["variants"][1].update(sku="TEE-2"),
            "offers[1].variants[1].sku: SKU 'TEE-2' is used twice",
        ),
        (
            lambda o: o["variants"][1].update(options={"Color": "Red", "Size": "M"}),
            "offers[1].variants[1].options: another variant of this offer has the",
        ),
        (
            lambda o: o["swatches"]["Color"].update(Red="red"),
            "offers[1].swatches.Color.Red: must be a color like #ff0000",
        ),
        (
            lambda o: o["swatches"]["Color"].update(Red="#ff0000\n"),
            "offers[1].swatches.Color.Red: must be a color like #ff0000",
        ),
        (
            lambda o: o["attributes"].update({"": "x"}),
            'offers[1].attributes[""]: Length must be between 1 and 255.',
        ),
    ],
)
def test_invalid_offer_named_by_index_and_field(change, expected):
    second = copy.deepcopy(TEE)
    second["sku"] = "TEE-2"
    for variant in second["variants"]:
        variant["sku"] = variant["sku"].replace("TEE-1", "TEE-2")
    second["variants"][0]["sku"] = "TEE-2-RED-M"
    change(second)
    messages = errors_of(request_with(TEE, second))
    assert any(message.startswith(expected) for message in messages), messages


def test_float_infinity_rejected():
    offer = copy.deepcopy(TEE)
    offer["attributes"]["price"] = float("inf")
    messages = errors_of(request_with(offer))
    assert messages == [
        "offers[0].attributes.price: must be a string, a finite number or a boolean"
    ]


def test_same_sku_twice_rejected():
    messages = errors_of(request_with(TEE, {"sku": "TEE-1"}))
    assert messages == [
        "offers[1].sku: SKU 'TEE-1' is also used by offers[0]; send each SKU once "
        "per request"
    ]


def test_variant_sku_of_other_offer_rejected():
    other = {
        "sku": "TEE-9",
        "variants": [{"sku": "TEE-1-BLU-L", "options": {"A": "1"}}],
    }
    messages = errors_of(request_with(TEE, other))
    assert messages == [
        "offers[1].variants[0].sku: SKU 'TEE-1-BLU-L' is also used by offers[0]; "
        "send each SKU once per request"
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ([], "request body must be a JSON object"),
        ({"offers": [TEE]}, "connection: Missing data for required field."),
        ({"connection": "main-store"}, "offers: Missing data for required field."),
        (
            {"connection": "main-store", "offers": []},
            "offers: must contain at least one offer",
        ),
        ({"connection": "main-store", "offers": "TEE-1"}, "offers: Not a valid list."),
    ],
)
def test_invalid_request_shape(body, expected):
    assert expected in errors_of(body)


def test_more_than_maximum_offers_rejected():
    offers = [{"sku": f"SKU-{i}"} for i in range(MAX_OFFERS_PER_REQUEST + 1)]
    with pytest.raises(TooManyOffers) as caught:
        parse_offer_request({"connection": "main-store", "offers": offers})
    assert "101 offers in one request; the maximum is 100" in str(caught.value)


def test_maximum_offers_accepted():
    offers = [{"sku": f"SKU-{i}"} for i in range(MAX_OFFERS_PER_REQUEST)]
    parsed = parse_offer_request({"connection": "main-store", "offers": offers})
    assert len(parsed.offers) == MAX_OFFERS_PER_REQUEST


def test_file_limit_can_be_lifted():
    offers = [{"sku": f"SKU-{i}"} for i in range(150)]
    parsed = parse_offer_request(
        {"connection": "main-store", "offers": offers}, max_offers=None
    )
    assert len(parsed.offers) == 150
