"""The catalog requests of offer pushes against BigCommerce's v3 catalog reference.

Every request the stand-in received, body and query, is checked against
products_catalog.v3.yml, product-variants_catalog.v3.yml and
product-variant-options_catalog.v3.yml. Skipped, with the folder named, when the
reference files are not present.
"""

from __future__ import annotations

import copy

import pytest

from tests.contract.openapi import (
    CATALOG_FILES,
    catalog_document,
    validate_catalog_requests,
)
from tests.workers.conftest import TEE


@pytest.fixture(autouse=True)
def reference_files():
    for name in CATALOG_FILES:
        catalog_document(name)  # skips when a reference file is missing


@pytest.mark.parametrize(
    "option_type", ["dropdown", "radio_buttons", "rectangles", "swatch"]
)
@pytest.mark.parametrize("only_mapped", [False, True])
def test_offer_push_requests_documented(offer_path_factory, option_type, only_mapped):
    offers = offer_path_factory(only_mapped=only_mapped, option_type=option_type)
    offers.push(TEE)
    changed = copy.deepcopy(TEE)
    changed["attributes"]["price"] = "18"
    changed["attributes"]["material"] = "linen"
    changed["variants"].append(
        {"sku": "TEE-1-RED-L", "options": {"Color": "Red", "Size": "L"}}
    )
    changed["variants"].append(
        {"sku": "TEE-1-RED-XL", "options": {"Color": "Red", "Size": "XL"}}
    )
    changed["swatches"]["Size"]["XL"] = "#111111"
    offers.push(changed)
    methods = {record.method for record in offers.store.requests}
    assert offers.result("TEE-1")["result"] == "updated"
    assert methods == {"GET", "POST", "PUT"}
    assert validate_catalog_requests(offers.store.requests) >= 20
