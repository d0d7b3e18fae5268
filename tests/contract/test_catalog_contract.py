"""The catalog stand-in checked against the Catalog V3 reference files.

Responses of every route are checked against the documented response schemas.
Request bodies are checked both ways: bodies that the stand-in accepts must fit
the documented request schemas, and bodies that the reference rejects must be
rejected by the stand-in too.
"""

from __future__ import annotations

import pytest
import requests

from sandbox.fixtures import ACCESS_TOKEN, STORE_HASH
from tests.contract.openapi import (
    OPTIONS_FILE,
    PRODUCTS_FILE,
    VARIANTS_FILE,
    ContractError,
    catalog_document,
    find_catalog_operation,
    validate_catalog_request,
    validate_catalog_requests,
    validate_catalog_response,
    validate_schema,
)

PREFIX = f"/stores/{STORE_HASH}/v3/catalog"
SHIRT = {"name": "Shirt", "type": "physical", "weight": 1, "price": 10, "sku": "SHIRT"}
SIZE = {
    "display_name": "Size",
    "type": "dropdown",
    "option_values": [
        {"label": "S", "sort_order": 0, "is_default": True},
        {"label": "M", "sort_order": 1},
    ],
}
SIZES = {
    **SIZE,
    "option_values": [*SIZE["option_values"], {"label": "L", "sort_order": 2}],
}
COLOR = {
    "display_name": "Color",
    "type": "swatch",
    "option_values": [
        {"label": "Red", "sort_order": 0, "value_data": {"colors": ["#ff0000"]}},
    ],
}
# Every product field the sync client may send.
CLIENT_PRODUCT = {
    "name": "Mug",
    "type": "physical",
    "sku": "MUG-1",
    "description": "<p>Stoneware</p>",
    "price": 12.5,
    "sale_price": 10,
    "retail_price": 15,
    "cost_price": 4.25,
    "weight": 0.4,
    "width": 9,
    "height": 10,
    "depth": 9,
    "mpn": "M-1",
    "upc": "012345678905",
    "gtin": "00012345678905",
    "search_keywords": "mug, cup",
    "page_title": "Mug",
    "meta_description": "A mug",
    "is_visible": True,
    "availability": "available",
    "condition": "New",
    "inventory_level": 7,
}


@pytest.fixture(autouse=True)
def documents():
    """Skip every test of this file when a catalog reference file is missing."""
    return [
        catalog_document(name) for name in (PRODUCTS_FILE, VARIANTS_FILE, OPTIONS_FILE)
    ]


@pytest.fixture
def api(bigcommerce_server):
    """Provide a function that sends a request, checks its status and returns JSON."""
    session = requests.Session()
    session.headers["X-Auth-Token"] = ACCESS_TOKEN

    def call(method, path, body=None, status=200, **params):
        response = session.request(
            method,
            bigcommerce_server.url + PREFIX + path,
            json=body,
            params=params or None,
            timeout=5,
        )
        assert response.status_code == status, response.text
        return response.json()

    yield call
    session.close()


def check(api, method, path, body=None, status=200, **params):
    """Send a request and check the response against the reference."""
    answer = api(method, path, body, status, **params)
    validate_catalog_response(method, PREFIX + path, answer, status=status)
    return answer


def shirt_with_options(api):
    product = api("POST", "/products", SHIRT)["data"]
    size = api("POST", f"/products/{product['id']}/options", SIZE)["data"]
    color = api("POST", f"/products/{product['id']}/options", COLOR)["data"]
    return product, size, color


def variant_body(size, color, sku="SHIRT-S-RED"):
    return {
        "sku": sku,
        "option_values": [
            {"option_id": size["id"], "id": size["option_values"][0]["id"]},
            {"option_id": color["id"], "id": color["option_values"][0]["id"]},
        ],
    }


# --- responses ------------------------------------------------------------------


def test_product_responses_match(api):
    created = check(api, "POST", "/products", CLIENT_PRODUCT)
    product_id = created["data"]["id"]
    api("POST", f"/products/{product_id}/custom-fields", {"name": "ISBN", "value": "1"})
    api("POST", f"/products/{product_id}/options", SIZE)

    check(api, "GET", f"/products/{product_id}")
    check(
        api, "GET", f"/products/{product_id}", include="variants,options,custom_fields"
    )
    check(api, "PUT", f"/products/{product_id}", {"price": 11, "is_visible": False})
    listed = check(
        api, "GET", "/products", sku="MUG-1", include="variants,custom_fields"
    )
    assert listed["data"][0]["variants"][0]["sku"] == "MUG-1"


def test_custom_field_responses_match(api):
    product_id = api("POST", "/products", SHIRT)["data"]["id"]
    base = f"/products/{product_id}/custom-fields"

    created = check(api, "POST", base, {"name": "ISBN", "value": "1234567890123"})
    field_id = created["data"]["id"]
    check(api, "PUT", f"{base}/{field_id}", {"value": "999"})
    check(api, "GET", f"{base}/{field_id}")
    check(api, "GET", base)


def test_option_responses_match(api):
    product_id = api("POST", "/products", SHIRT)["data"]["id"]
    base = f"/products/{product_id}/options"

    size = check(api, "POST", base, SIZE)["data"]
    color = check(api, "POST", base, COLOR)["data"]
    check(api, "GET", base)
    check(api, "GET", f"{base}/{size['id']}")
    check(
        api,
        "POST",
        f"{base}/{color['id']}/values",
        {"label": "Blue", "sort_order": 1, "value_data": {"colors": ["#0000ff"]}},
    )
    check(api, "GET", f"{base}/{color['id']}/values")


def test_variant_responses_match(api):
    product, size, color = shirt_with_options(api)
    base = f"/products/{product['id']}/variants"

    check(api, "GET", "/variants", sku="SHIRT")
    variant = check(api, "POST", base, variant_body(size, color))["data"]
    check(api, "PUT", f"{base}/{variant['id']}", {"price": 12, "inventory_level": 4})
    check(api, "GET", f"{base}/{variant['id']}")
    check(api, "GET", base)
    check(api, "GET", "/variants", sku="SHIRT-S-RED")
    check(api, "GET", "/variants", page=1, limit=10)


def test_complex_product_breaks_schema(api):
    # The reference describes base_variant_id as null for a product with option
    # variants but types it as a non-nullable integer. The stand-in sends null.
    product, size, color = shirt_with_options(api)
    api("POST", f"/products/{product['id']}/variants", variant_body(size, color))

    answer = api("GET", f"/products/{product['id']}")

    assert answer["data"]["base_variant_id"] is None
    with pytest.raises(ContractError, match="base_variant_id"):
        validate_catalog_response("GET", PREFIX + f"/products/{product['id']}", answer)


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/products/999", None, 404),
        ("PUT", "/products/999", {"price": 1}, 404),
        ("POST", "/products", {"name": "Shirt"}, 422),
        ("POST", "/products", SHIRT, 409),
        ("PUT", "/products/{product_id}", {"price": -1}, 422),
        ("PUT", "/products/{product_id}", {"name": "Pants"}, 409),
        ("POST", "/products/{product_id}/custom-fields", {"name": "n"}, 422),
        ("GET", "/products/{product_id}/custom-fields/999", None, 404),
        ("POST", "/products/{product_id}/options", {"display_name": "Fit"}, 422),
        ("POST", "/products/{product_id}/options", SIZE, 409),
        ("GET", "/products/999/variants", None, 404),
        ("GET", "/products/{product_id}/variants/999", None, 404),
    ],
    ids=[
        "product-404",
        "product-put-404",
        "product-422",
        "product-409",
        "product-put-422",
        "product-put-409",
        "custom-field-422",
        "custom-field-404",
        "option-422",
        "option-409",
        "variants-404",
        "variant-404",
    ],
)
def test_error_responses_match(api, method, path, body, status):
    product_id = api("POST", "/products", SHIRT)["data"]["id"]
    api("POST", "/products", {**SHIRT, "name": "Pants", "sku": "PANTS"})
    api("POST", f"/products/{product_id}/options", SIZE)

    answer = check(api, method, path.format(product_id=product_id), body, status)

    assert answer["status"] == status
    assert answer["title"]


def test_unauthorized_matches_general_error(bigcommerce_server):
    # The reference documents the 401 body as plain text. The stand-in sends the
    # v3 error object of its other errors, checked here against GeneralError.
    path = f"{PREFIX}/products/1/custom-fields"
    response = requests.get(
        bigcommerce_server.url + path, headers={"X-Auth-Token": "wrong"}, timeout=5
    )

    assert response.status_code == 401
    document = catalog_document(PRODUCTS_FILE)
    validate_schema(document, "#/components/schemas/GeneralError", response.json())


# --- request bodies -------------------------------------------------------------

# Bodies the stand-in accepts, with the route they go to, in an order that also
# works as one scenario. {product_id}, {option_id}, {value_id}, {variant_id} and
# {custom_field_id} are filled in from the ``ids`` fixture: a product with the
# Size option with the values of SIZES (S, M, L), the variant SHIRT-S and one
# custom field.
ACCEPTED_BODIES = [
    ("POST", "/products", CLIENT_PRODUCT),
    (
        "POST",
        "/products",
        {
            **SHIRT,
            "name": "Tee",
            "sku": "TEE",
            "custom_fields": [{"name": "a", "value": "b"}],
        },
    ),
    (
        "PUT",
        "/products/{product_id}",
        {"price": 9, "sale_price": 0, "inventory_level": 3},
    ),
    ("PUT", "/products/{product_id}", {"name": "Shirt 2", "sku": "SHIRT-2"}),
    (
        "POST",
        "/products/{product_id}/custom-fields",
        {"name": "Fabric", "value": "Wool"},
    ),
    (
        "PUT",
        "/products/{product_id}/custom-fields/{custom_field_id}",
        {"value": "x" * 250},
    ),
    (
        "POST",
        "/products/{product_id}/options/{option_id}/values",
        {"label": "XL", "sort_order": 3, "is_default": False, "value_data": {}},
    ),
    (
        "POST",
        "/products/{product_id}/variants",
        {
            "sku": "SHIRT-M",
            "price": 11,
            "sale_price": None,
            "retail_price": 12,
            "cost_price": 3,
            "weight": 1.1,
            "width": 2,
            "height": 3,
            "depth": 4,
            "mpn": "MPN",
            "upc": "012345678905",
            "gtin": "00012345678905",
            "inventory_level": 5,
            "is_free_shipping": False,
            "purchasing_disabled": False,
            "option_values": [{"option_id": "{option_id}", "id": "{value_id}"}],
        },
    ),
    (
        "POST",
        "/products/{product_id}/variants",
        {
            "sku": "SHIRT-L",
            "option_values": [{"option_display_name": "Size", "label": "L"}],
        },
    ),
    (
        "PUT",
        "/products/{product_id}/variants/{variant_id}",
        {"price": 20, "inventory_level": 0, "purchasing_disabled": True},
    ),
    # New options come last: once they exist, the variants above miss a value.
    ("POST", "/products/{product_id}/options", COLOR),
    (
        "POST",
        "/products/{product_id}/options",
        {
            "display_name": "Fit",
            "type": "rectangles",
            "sort_order": 2,
            "option_values": [{"label": "Slim", "sort_order": 0, "value_data": {}}],
        },
    ),
]

# Bodies the reference rejects; the stand-in must reject them with 422 too.
REJECTED_BODIES = [
    ("POST", "/products", {"name": "Mug", "type": "physical", "weight": 1}),
    ("POST", "/products", {**SHIRT, "type": "service"}),
    ("POST", "/products", {**SHIRT, "name": "x" * 251}),
    ("POST", "/products", {**SHIRT, "colour": "red"}),
    ("PUT", "/products/{product_id}", {"upc": "1" * 15}),
    ("POST", "/products/{product_id}/custom-fields", {"name": "n", "value": "x" * 251}),
    ("POST", "/products/{product_id}/custom-fields", {"name": "", "value": "v"}),
    ("PUT", "/products/{product_id}/custom-fields/{custom_field_id}", {"value": ""}),
    ("POST", "/products/{product_id}/options", {**SIZE, "type": "checkbox"}),
    ("POST", "/products/{product_id}/options", {**SIZE, "option_values": []}),
    ("POST", "/products/{product_id}/options/{option_id}/values", {"label": "XL"}),
    ("POST", "/products/{product_id}/variants", {"sku": "", "option_values": []}),
    ("PUT", "/products/{product_id}/variants/{variant_id}", {"price": -5}),
]


@pytest.fixture
def ids(api):
    """Create a product with the SIZES option, a variant and a custom field.

    ``value_id`` is the id of the M value, which no variant uses yet.
    """
    product_id = api("POST", "/products", SHIRT)["data"]["id"]
    size = api("POST", f"/products/{product_id}/options", SIZES)["data"]
    variant_id = api(
        "POST",
        f"/products/{product_id}/variants",
        {
            "sku": "SHIRT-S",
            "option_values": [
                {"option_id": size["id"], "id": size["option_values"][0]["id"]}
            ],
        },
    )["data"]["id"]
    custom_field_id = api(
        "POST", f"/products/{product_id}/custom-fields", {"name": "n", "value": "v"}
    )["data"]["id"]
    return {
        "product_id": product_id,
        "option_id": size["id"],
        "value_id": size["option_values"][1]["id"],
        "variant_id": variant_id,
        "custom_field_id": custom_field_id,
    }


def fill(template, ids):
    """Put the ids into a path or body; a "{name}" string value becomes an int id."""
    if isinstance(template, str):
        if (
            template.startswith("{")
            and template.endswith("}")
            and template[1:-1] in ids
        ):
            return ids[template[1:-1]]
        return template.format(**ids)
    if isinstance(template, dict):
        return {name: fill(value, ids) for name, value in template.items()}
    if isinstance(template, list):
        return [fill(item, ids) for item in template]
    return template


def body_id(case):
    method, path, body = case
    route = path.replace("/products/{product_id}", "").strip("/") or "products"
    return f"{method}-{route}-{sorted(body)[0]}"


@pytest.mark.parametrize("case", ACCEPTED_BODIES, ids=body_id)
def test_accepted_body_is_documented(api, ids, case):
    method, path_template, body_template = case
    path = fill(path_template, ids)
    body = fill(body_template, ids)

    api(method, path, body)

    validate_catalog_request(method, PREFIX + path, body)


@pytest.mark.parametrize("case", REJECTED_BODIES, ids=body_id)
def test_undocumented_body_rejected(api, ids, case):
    method, path_template, body_template = case
    path = fill(path_template, ids)
    body = fill(body_template, ids)

    with pytest.raises(ContractError):
        validate_catalog_request(method, PREFIX + path, body)
    answer = api(method, path, body, status=422)
    assert answer["errors"]


def test_scenario_requests_documented(api, ids, fake_store):
    for method, path_template, body_template in ACCEPTED_BODIES:
        api(method, fill(path_template, ids), fill(body_template, ids))
    api("GET", "/products", sku="SHIRT", include="variants,options", page=1, limit=50)
    api("GET", "/variants", sku="SHIRT-S", page=1, limit=50)

    checked = validate_catalog_requests(fake_store.requests)

    assert checked == len(fake_store.requests)
    assert checked == len(ACCEPTED_BODIES) + 6


def test_variant_put_option_values_undocumented(api, ids, fake_store):
    # BigCommerce ignores option_values in a variant PUT, and the reference does
    # not document them there, so a client that sends them is flagged.
    path = f"/products/{ids['product_id']}/variants/{ids['variant_id']}"
    body = {
        "price": 5,
        "option_values": [{"option_id": ids["option_id"], "id": ids["value_id"]}],
    }
    answer = api("PUT", path, body)

    with pytest.raises(ContractError, match="option_values: not a documented property"):
        validate_catalog_requests(fake_store.requests)
    validate_catalog_requests(
        fake_store.requests, allow_undocumented=("option_values",)
    )
    assert answer["data"]["option_values"][0]["label"] == "S"


# --- the helper's path matching and checks ----------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "file_name", "template"),
    [
        ("POST", f"{PREFIX}/products", PRODUCTS_FILE, "/catalog/products"),
        (
            "GET",
            "/stores/x/v3/catalog/products/12?include=variants",
            PRODUCTS_FILE,
            "/catalog/products/{product_id}",
        ),
        (
            "POST",
            "/catalog/products/12/custom-fields",
            PRODUCTS_FILE,
            "/catalog/products/{product_id}/custom-fields",
        ),
        (
            "POST",
            f"{PREFIX}/products/12/options",
            OPTIONS_FILE,
            "/catalog/products/{product_id}/options",
        ),
        (
            "POST",
            f"{PREFIX}/products/12/options/3/values",
            OPTIONS_FILE,
            "/catalog/products/{product_id}/options/{option_id}/values",
        ),
        (
            "PUT",
            f"{PREFIX}/products/12/variants/7",
            VARIANTS_FILE,
            "/catalog/products/{product_id}/variants/{variant_id}",
        ),
        ("GET", f"{PREFIX}/variants", VARIANTS_FILE, "/catalog/variants"),
        (
            "PUT",
            "/catalog/products/{product_id}/variants/{variant_id}",
            VARIANTS_FILE,
            "/catalog/products/{product_id}/variants/{variant_id}",
        ),
        (
            "GET",
            f"{PREFIX}/products/channel-assignments",
            PRODUCTS_FILE,
            "/catalog/products/channel-assignments",
        ),
    ],
    ids=[
        "products",
        "product-query",
        "no-prefix",
        "options",
        "option-values",
        "variant",
        "all-variants",
        "template",
        "literal-wins",
    ],
)
def test_operation_found(method, path, file_name, template):
    operation = find_catalog_operation(method, path)

    assert operation.file_name == file_name
    assert operation.path == template
    assert operation.method == method.lower()


@pytest.mark.parametrize(
    ("method", "path", "message"),
    [
        ("PATCH", f"{PREFIX}/products/12", "not documented"),
        ("GET", f"{PREFIX}/products/12/colours", "no documented catalog path"),
        ("GET", f"/stores/{STORE_HASH}/v3/hooks", "not a Catalog V3 path"),
    ],
    ids=["method", "path", "other-api"],
)
def test_operation_not_found(method, path, message):
    with pytest.raises(ContractError, match=message):
        find_catalog_operation(method, path)


def test_read_only_property_rejected():
    # bulk_pricing_rules[].id is readOnly in the product POST schema.
    rule = {"id": 1, "quantity_min": 2, "quantity_max": 5, "type": "price", "amount": 1}
    body = {**SHIRT, "bulk_pricing_rules": [rule]}

    with pytest.raises(ContractError, match="read-only"):
        validate_catalog_request("POST", f"{PREFIX}/products", body)
    del rule["id"]
    validate_catalog_request("POST", f"{PREFIX}/products", body)


def test_body_on_get_rejected():
    with pytest.raises(ContractError, match="no JSON request body"):
        validate_catalog_request("GET", f"{PREFIX}/products", {"sku": "A"})


def test_missing_required_body_rejected():
    with pytest.raises(ContractError, match="requires a JSON request body"):
        validate_catalog_request("POST", f"{PREFIX}/products", None)


def test_nested_undocumented_property():
    body = {**SIZE, "option_values": [{"label": "S", "sort_order": 0, "colour": "red"}]}

    with pytest.raises(ContractError, match="option_values/0/colour"):
        validate_catalog_request("POST", f"{PREFIX}/products/1/options", body)


def test_documented_query_passes():
    query = {"sku": "A", "include": "variants,options", "page": "2", "limit": "50"}

    validate_catalog_request("GET", f"{PREFIX}/products", query=query)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"include": "variants,bogus"}, "include"),
        ({"limit": "many"}, "limit"),
        ({"colour": "red"}, "colour: not a documented query parameter"),
    ],
    ids=["bad-include", "bad-limit", "unknown"],
)
def test_bad_query_rejected(query, message):
    with pytest.raises(ContractError, match=message):
        validate_catalog_request("GET", f"{PREFIX}/products", query=query)
