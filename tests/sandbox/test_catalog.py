"""The Catalog V3 stand-in served over HTTP, and its registry's test helpers."""

import re
import threading

import pytest
import requests

from sandbox.catalog import CatalogRegistry, CatalogValidationError
from sandbox.fixtures import ACCESS_TOKEN, STORE_HASH

AUTH = {"X-Auth-Token": ACCESS_TOKEN}
SHIRT = {"name": "Shirt", "type": "physical", "weight": 1, "price": 10, "sku": "SHIRT"}
COLOR = {
    "display_name": "Color",
    "type": "swatch",
    "option_values": [
        {"label": "Red", "sort_order": 0, "value_data": {"colors": ["#ff0000"]}},
        {"label": "Blue", "sort_order": 1, "value_data": {"colors": ["#0000FF"]}},
    ],
}
SIZE = {
    "display_name": "Size",
    "type": "dropdown",
    "option_values": [
        {"label": "S", "sort_order": 0, "is_default": True},
        {"label": "M", "sort_order": 1},
    ],
}
ISO_8601_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00")


@pytest.fixture
def api(bigcommerce_server):
    """Provide a function that sends one request to the catalog stand-in."""
    session = requests.Session()
    session.headers.update(AUTH)
    base = f"{bigcommerce_server.url}/stores/{STORE_HASH}/v3/catalog"

    def call(method, path, body=None, **params):
        return session.request(
            method, base + path, json=body, params=params or None, timeout=5
        )

    yield call
    session.close()


def product(**fields):
    return {**SHIRT, **fields}


def create_product(api, **fields):
    response = api("POST", "/products", product(**fields))
    assert response.status_code == 200, response.text
    return response.json()["data"]


def create_option(api, product_id, body):
    response = api("POST", f"/products/{product_id}/options", body)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def value_id(option, label):
    return next(
        value["id"] for value in option["option_values"] if value["label"] == label
    )


def shirt_with_options(api):
    """Create SHIRT with the Color and Size options and return all three."""
    created = create_product(api)
    color = create_option(api, created["id"], COLOR)
    size = create_option(api, created["id"], SIZE)
    return created, color, size


def variant_body(color, size, sku="SHIRT-RED-S", color_label="Red", size_label="S"):
    return {
        "sku": sku,
        "option_values": [
            {"option_id": color["id"], "id": value_id(color, color_label)},
            {"option_id": size["id"], "id": value_id(size, size_label)},
        ],
    }


def errors_of(response, status=422):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status
    assert body["type"]
    return body.get("errors", {})


# --- products -------------------------------------------------------------------


def test_product_create_returns_200(api):
    response = api("POST", "/products", product(sale_price=8))

    assert response.status_code == 200
    body = response.json()
    assert body["meta"] == {}
    created = body["data"]
    assert created["id"] >= 1
    assert created["name"] == "Shirt"
    assert created["sku"] == "SHIRT"
    assert created["calculated_price"] == 8
    assert created["custom_url"] == {"url": "/shirt/", "is_customized": False}
    assert ISO_8601_UTC.fullmatch(created["date_created"])
    assert created["date_modified"] == created["date_created"]
    assert isinstance(created["base_variant_id"], int)
    for name in ("variants", "options", "custom_fields"):
        assert name not in created


def test_product_accepts_client_fields(api):
    fields = {
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
        "is_visible": False,
        "availability": "preorder",
        "condition": "Used",
        "inventory_level": 7,
    }

    response = api("POST", "/products", fields)

    assert response.status_code == 200, response.text
    created = response.json()["data"]
    assert {name: created[name] for name in fields} == fields


def test_product_missing_fields_422(api):
    errors = errors_of(api("POST", "/products", {}))

    assert errors == {
        "name": "error.path.missing",
        "type": "error.path.missing",
        "weight": "error.path.missing",
        "price": "error.path.missing",
    }


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"type": "service"}, "type"),
        ({"name": "x" * 251}, "name"),
        ({"name": ""}, "name"),
        ({"price": -1}, "price"),
        ({"weight": "1"}, "weight"),
        ({"inventory_level": 1.5}, "inventory_level"),
        ({"is_visible": "yes"}, "is_visible"),
        ({"availability": "sold_out"}, "availability"),
        ({"upc": "1" * 15}, "upc"),
        ({"sku": "S" * 256}, "sku"),
        ({"colour": "red"}, "colour"),
        ({"id": 5}, "id"),
        ({"calculated_price": 5}, "calculated_price"),
        ({"variants": []}, "variants"),
        ({"custom_url": {"url": "/x/"}}, "custom_url.is_customized"),
        ({"custom_fields": [{"name": "a", "value": ""}]}, "custom_fields[0].value"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_product_invalid_field_422(api, fields, field):
    errors = errors_of(api("POST", "/products", product(**fields)))

    assert list(errors) == [field]


def test_product_price_true_422(api):
    # JSON true is not a number, although Python's bool is an int.
    errors = errors_of(api("POST", "/products", product(price=True)))

    assert "price" in errors


def test_duplicate_name_409(api):
    first = create_product(api)

    response = api("POST", "/products", product(sku="OTHER"))

    errors = errors_of(response, 409)
    assert "Shirt" in response.json()["title"]
    assert str(first["id"]) in errors["name"]


def test_duplicate_sku_409(api):
    create_product(api)

    response = api("POST", "/products", product(name="Shirt 2"))

    errors = errors_of(response, 409)
    assert list(errors) == ["sku"]
    assert "SHIRT" in errors["sku"]


def test_sku_of_variant_409(api):
    created, color, size = shirt_with_options(api)
    variant = api(
        "POST", f"/products/{created['id']}/variants", variant_body(color, size)
    )
    assert variant.status_code == 200

    response = api("POST", "/products", product(name="Other", sku="SHIRT-RED-S"))

    errors = errors_of(response, 409)
    assert "variant" in errors["sku"]


def test_products_without_sku_coexist(api):
    first = api("POST", "/products", product(sku=""))
    second = api("POST", "/products", product(name="Shirt 2", sku=""))

    assert first.status_code == 200
    assert second.status_code == 200


def test_duplicate_custom_url_409(api):
    create_product(api, custom_url={"url": "/tee/", "is_customized": True})

    response = api(
        "POST",
        "/products",
        product(
            name="Tee", sku="TEE", custom_url={"url": "/tee/", "is_customized": True}
        ),
    )

    assert list(errors_of(response, 409)) == ["custom_url"]


def test_generated_urls_stay_unique(api):
    first = create_product(api, name="Shirt!", sku="A")
    second = create_product(api, name="Shirt?", sku="B")

    assert first["custom_url"]["url"] == "/shirt/"
    assert second["custom_url"]["url"] == "/shirt-2/"


def test_product_get_and_404(api):
    created = create_product(api)

    found = api("GET", f"/products/{created['id']}")
    missing = api("GET", "/products/999")

    assert found.status_code == 200
    assert found.json()["data"] == created
    errors_of(missing, 404)
    assert "999" in missing.json()["title"]


def test_product_put_changes_fields(api, fake_store):
    created = create_product(api)

    response = api(
        "PUT", f"/products/{created['id']}", {"price": 12, "is_visible": False}
    )

    assert response.status_code == 200, response.text
    updated = response.json()["data"]
    assert updated["price"] == 12
    assert updated["calculated_price"] == 12
    assert updated["is_visible"] is False
    assert updated["name"] == "Shirt"
    stored = fake_store.catalog.get_product(STORE_HASH, created["id"])
    assert stored["price"] == 12


def test_product_put_sku_moves_base_variant(api):
    created = create_product(api)

    response = api("PUT", f"/products/{created['id']}", {"sku": "SHIRT-2"})

    assert response.status_code == 200
    new = api("GET", "/variants", sku="SHIRT-2").json()["data"]
    old = api("GET", "/variants", sku="SHIRT").json()["data"]
    assert [variant["id"] for variant in new] == [created["base_variant_id"]]
    assert old == []


def test_product_put_own_name_ok(api):
    created = create_product(api)

    response = api(
        "PUT", f"/products/{created['id']}", {"name": "Shirt", "sku": "SHIRT"}
    )

    assert response.status_code == 200


def test_product_put_duplicate_409(api):
    create_product(api)
    other = create_product(api, name="Pants", sku="PANTS")

    by_name = api("PUT", f"/products/{other['id']}", {"name": "Shirt"})
    by_sku = api("PUT", f"/products/{other['id']}", {"sku": "SHIRT"})

    assert list(errors_of(by_name, 409)) == ["name"]
    assert list(errors_of(by_sku, 409)) == ["sku"]


def test_product_put_unknown_404(api):
    errors_of(api("PUT", "/products/999", {"price": 1}), 404)


def test_product_put_invalid_422(api):
    created = create_product(api)

    response = api("PUT", f"/products/{created['id']}", {"price": "cheap"})

    assert list(errors_of(response)) == ["price"]


def test_body_not_object_400(api):
    response = api("POST", "/products", ["not", "an", "object"])

    assert response.status_code == 400
    assert response.json()["status"] == 400


# --- product list -----------------------------------------------------------------


def test_list_sku_matches_exactly(api):
    create_product(api, name="A", sku="A")
    create_product(api, name="AB", sku="AB")

    response = api("GET", "/products", sku="A")

    assert response.status_code == 200
    assert [item["sku"] for item in response.json()["data"]] == ["A"]


def test_list_sku_ignores_variant_skus(api):
    created, color, size = shirt_with_options(api)
    api("POST", f"/products/{created['id']}/variants", variant_body(color, size))

    response = api("GET", "/products", sku="SHIRT-RED-S")

    assert response.json()["data"] == []


def test_list_filters_by_name(api):
    create_product(api)
    create_product(api, name="Pants", sku="PANTS")

    response = api("GET", "/products", name="Pants")

    assert [item["sku"] for item in response.json()["data"]] == ["PANTS"]


def test_list_pages(api):
    ids = [create_product(api, name=f"P{n}", sku=f"P{n}")["id"] for n in range(5)]

    response = api("GET", "/products", page=2, limit=2)

    body = response.json()
    assert [item["id"] for item in body["data"]] == ids[2:4]
    pagination = body["meta"]["pagination"]
    assert pagination["total"] == 5
    assert pagination["count"] == 2
    assert pagination["per_page"] == 2
    assert pagination["current_page"] == 2
    assert pagination["total_pages"] == 3
    assert pagination["links"]["previous"] == "?page=1&limit=2"
    assert pagination["links"]["current"] == "?page=2&limit=2"
    assert pagination["links"]["next"] == "?page=3&limit=2"


def test_list_past_last_page_empty(api):
    create_product(api)

    response = api("GET", "/products", page=3)

    assert response.status_code == 200
    body = response.json()
    assert body["data"] == []
    assert body["meta"]["pagination"]["total"] == 1
    assert "next" not in body["meta"]["pagination"]["links"]


def test_list_empty_store(api):
    body = api("GET", "/products").json()

    assert body["data"] == []
    assert body["meta"]["pagination"]["total_pages"] == 1


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 251},
        {"limit": 0},
        {"page": 0},
        {"page": "two"},
        {"include": "images"},
        {"keyword": "shirt"},
        {"sku:in": "A,B"},
    ],
    ids=[
        "limit-251",
        "limit-0",
        "page-0",
        "page-text",
        "include-images",
        "keyword",
        "sku-in",
    ],
)
def test_list_bad_query_400(api, params):
    response = api("GET", "/products", **params)

    assert response.status_code == 400
    assert response.json()["status"] == 400


def test_include_embeds_sub_resources(api):
    created, color, size = shirt_with_options(api)
    api(
        "POST",
        f"/products/{created['id']}/custom-fields",
        {"name": "ISBN", "value": "1"},
    )

    response = api("GET", "/products", include="variants,options,custom_fields")

    (listed,) = response.json()["data"]
    assert [option["id"] for option in listed["options"]] == [color["id"], size["id"]]
    assert [field["name"] for field in listed["custom_fields"]] == ["ISBN"]
    assert [variant["sku"] for variant in listed["variants"]] == ["SHIRT"]


def test_include_on_single_product(api):
    created = create_product(api)

    response = api("GET", f"/products/{created['id']}", include="variants")

    data = response.json()["data"]
    assert [variant["id"] for variant in data["variants"]] == [
        created["base_variant_id"]
    ]
    assert "options" not in data


def test_include_options_pages_by_10(api):
    for n in range(12):
        create_product(api, name=f"P{n}", sku=f"P{n}")

    response = api("GET", "/products", include="options", limit=50)

    pagination = response.json()["meta"]["pagination"]
    assert pagination["per_page"] == 10
    assert pagination["count"] == 10
    assert pagination["total_pages"] == 2


# --- custom fields ----------------------------------------------------------------


def test_custom_field_create_list_update(api):
    created = create_product(api)
    base = f"/products/{created['id']}/custom-fields"

    posted = api("POST", base, {"name": "ISBN", "value": "1234567890123"})
    field_id = posted.json()["data"]["id"]
    put = api("PUT", f"{base}/{field_id}", {"value": "999"})
    listed = api("GET", base)
    single = api("GET", f"{base}/{field_id}")

    assert posted.status_code == 200
    assert posted.json()["data"] == {
        "id": field_id,
        "name": "ISBN",
        "value": "1234567890123",
    }
    assert put.json()["data"] == {"id": field_id, "name": "ISBN", "value": "999"}
    assert listed.json()["data"] == [put.json()["data"]]
    assert listed.json()["meta"]["pagination"]["total"] == 1
    assert single.json()["data"] == put.json()["data"]


@pytest.mark.parametrize("field", ["name", "value"])
def test_custom_field_250_chars_ok(api, field):
    created = create_product(api)
    body = {"name": "n", "value": "v", field: "x" * 250}

    response = api("POST", f"/products/{created['id']}/custom-fields", body)

    assert response.status_code == 200
    assert response.json()["data"][field] == "x" * 250


@pytest.mark.parametrize("field", ["name", "value"])
@pytest.mark.parametrize("text", ["x" * 251, ""], ids=["251-chars", "empty"])
def test_custom_field_length_422(api, field, text):
    created = create_product(api)
    body = {"name": "n", "value": "v", field: text}

    response = api("POST", f"/products/{created['id']}/custom-fields", body)

    errors = errors_of(response)
    assert list(errors) == [field]
    assert "1 to 250 characters" in errors[field]


def test_custom_field_missing_value_422(api):
    created = create_product(api)

    response = api("POST", f"/products/{created['id']}/custom-fields", {"name": "n"})

    assert errors_of(response) == {"value": "error.path.missing"}


def test_custom_field_put_251_chars_422(api):
    created = create_product(api)
    base = f"/products/{created['id']}/custom-fields"
    field_id = api("POST", base, {"name": "n", "value": "v"}).json()["data"]["id"]

    response = api("PUT", f"{base}/{field_id}", {"name": "x" * 251})

    assert list(errors_of(response)) == ["name"]
    assert api("GET", f"{base}/{field_id}").json()["data"]["name"] == "n"


def test_custom_field_unknown_404(api):
    created = create_product(api)

    unknown_field = api(
        "PUT", f"/products/{created['id']}/custom-fields/999", {"value": "v"}
    )
    unknown_product = api(
        "POST", "/products/999/custom-fields", {"name": "n", "value": "v"}
    )

    errors_of(unknown_field, 404)
    errors_of(unknown_product, 404)


def test_custom_fields_inline_on_create(api):
    created = create_product(api, custom_fields=[{"name": "ISBN", "value": "1"}])

    listed = api("GET", f"/products/{created['id']}/custom-fields").json()["data"]

    assert [(field["name"], field["value"]) for field in listed] == [("ISBN", "1")]


# --- options and option values ----------------------------------------------------


def test_option_values_get_ids(api):
    created = create_product(api)

    option = create_option(api, created["id"], SIZE)

    assert option["product_id"] == created["id"]
    assert option["display_name"] == "Size"
    assert option["type"] == "dropdown"
    assert option["name"].startswith("Size")
    values = option["option_values"]
    assert [value["label"] for value in values] == ["S", "M"]
    assert all(isinstance(value["id"], int) for value in values)
    assert values[0]["id"] < values[1]["id"]
    assert values[0]["is_default"] is True
    assert values[1]["value_data"] == {}


def test_option_list_and_get(api):
    created, color, size = shirt_with_options(api)
    base = f"/products/{created['id']}/options"

    listed = api("GET", base).json()
    single = api("GET", f"{base}/{color['id']}").json()

    assert listed["data"] == [color, size]
    assert listed["meta"]["pagination"]["total"] == 2
    assert single["data"] == color


def test_swatch_keeps_colors(api):
    created = create_product(api)

    option = create_option(api, created["id"], COLOR)

    assert option["option_values"][0]["value_data"] == {"colors": ["#ff0000"]}


@pytest.mark.parametrize(
    "value_data",
    [
        None,
        {},
        {"colors": []},
        {"colors": ["red"]},
        {"colors": ["#ff00"]},
        {"colors": ["#000000", "#111111", "#222222", "#333333"]},
        {"image_url": "https://example.com/red.png"},
    ],
    ids=["none", "empty", "no-colors", "name", "short-hex", "four-colors", "image"],
)
def test_swatch_without_colors_422(api, value_data):
    created = create_product(api)
    value = {"label": "Red", "sort_order": 0}
    if value_data is not None:
        value["value_data"] = value_data
    body = {"display_name": "Color", "type": "swatch", "option_values": [value]}

    response = api("POST", f"/products/{created['id']}/options", body)

    assert list(errors_of(response)) == ["option_values[0].value_data"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"type": "checkbox"}, "type"),
        ({"display_name": ""}, "display_name"),
        ({"display_name": "x" * 256}, "display_name"),
        ({"option_values": []}, "option_values"),
        ({"option_values": None}, "option_values"),
        ({"option_values": [{"label": "S"}]}, "option_values[0].sort_order"),
        ({"option_values": [{"sort_order": 0}]}, "option_values[0].label"),
        ({"product_id": 12345}, "product_id"),
    ],
    ids=[
        "modifier-type",
        "empty-name",
        "long-name",
        "no-values",
        "null-values",
        "no-sort-order",
        "no-label",
        "other-product",
    ],
)
def test_option_invalid_422(api, change, field):
    created = create_product(api)

    response = api("POST", f"/products/{created['id']}/options", {**SIZE, **change})

    assert list(errors_of(response)) == [field]


def test_option_missing_fields_422(api):
    created = create_product(api)

    response = api("POST", f"/products/{created['id']}/options", {})

    assert set(errors_of(response)) == {"display_name", "type", "option_values"}


def test_option_duplicate_labels_422(api):
    created = create_product(api)
    values = [{"label": "S", "sort_order": 0}, {"label": "S", "sort_order": 1}]

    response = api(
        "POST", f"/products/{created['id']}/options", {**SIZE, "option_values": values}
    )

    assert list(errors_of(response)) == ["option_values[1].label"]


def test_option_duplicate_display_name_409(api):
    created = create_product(api)
    create_option(api, created["id"], SIZE)

    response = api("POST", f"/products/{created['id']}/options", SIZE)

    assert list(errors_of(response, 409)) == ["display_name"]


def test_option_of_unknown_product_404(api):
    errors_of(api("POST", "/products/999/options", SIZE), 404)
    errors_of(api("GET", "/products/999/options"), 404)


def test_option_value_added(api):
    created, color, _ = shirt_with_options(api)
    path = f"/products/{created['id']}/options/{color['id']}/values"
    body = {
        "label": "Green",
        "sort_order": 2,
        "value_data": {"colors": ["#00ff00"]},
        "is_default": False,
    }

    response = api("POST", path, body)

    assert response.status_code == 200, response.text
    added = response.json()["data"]
    assert added["id"] > max(value["id"] for value in color["option_values"])
    assert {name: added[name] for name in body} == body
    listed = api("GET", path).json()["data"]
    assert [value["label"] for value in listed] == ["Red", "Blue", "Green"]
    option = api("GET", f"/products/{created['id']}/options/{color['id']}").json()
    assert option["data"]["option_values"] == listed


def test_option_value_duplicate_label_422(api):
    created, _, size = shirt_with_options(api)
    path = f"/products/{created['id']}/options/{size['id']}/values"

    response = api("POST", path, {"label": "M", "sort_order": 5})

    errors = errors_of(response)
    assert list(errors) == ["label"]
    assert "'M'" in errors["label"]


def test_option_value_same_label_other_option_ok(api):
    created, color, _ = shirt_with_options(api)
    path = f"/products/{created['id']}/options/{color['id']}/values"

    response = api(
        "POST",
        path,
        {"label": "S", "sort_order": 5, "value_data": {"colors": ["#123456"]}},
    )

    assert response.status_code == 200


def test_option_value_swatch_needs_colors(api):
    created, color, _ = shirt_with_options(api)
    path = f"/products/{created['id']}/options/{color['id']}/values"

    response = api("POST", path, {"label": "Green", "sort_order": 2})

    assert list(errors_of(response)) == ["value_data"]


def test_option_value_missing_sort_order(api):
    created, _, size = shirt_with_options(api)
    path = f"/products/{created['id']}/options/{size['id']}/values"

    response = api("POST", path, {"label": "L"})

    assert errors_of(response) == {"sort_order": "error.path.missing"}


def test_option_value_limit_250(api):
    created = create_product(api)
    values = [{"label": f"V{n}", "sort_order": n} for n in range(250)]
    option = create_option(
        api, created["id"], {**SIZE, "display_name": "Many", "option_values": values}
    )
    path = f"/products/{created['id']}/options/{option['id']}/values"

    response = api("POST", path, {"label": "V250", "sort_order": 250})

    assert list(errors_of(response)) == ["option_values"]


def test_option_value_unknown_option_404(api):
    created = create_product(api)

    response = api(
        "POST",
        f"/products/{created['id']}/options/999/values",
        {"label": "L", "sort_order": 0},
    )

    errors_of(response, 404)


# --- variants -------------------------------------------------------------------


def test_new_product_has_base_variant(api):
    created = create_product(api)

    found = api("GET", "/variants", sku="SHIRT").json()["data"]
    listed = api("GET", f"/products/{created['id']}/variants").json()["data"]

    (base,) = found
    assert base["id"] == created["base_variant_id"]
    assert base["product_id"] == created["id"]
    assert base["option_values"] == []
    assert base["sku_id"] is None
    assert base["calculated_price"] == 10
    assert base["calculated_weight"] == 1
    assert listed == found


def test_variant_create_by_ids(api):
    created, color, size = shirt_with_options(api)
    body = {
        **variant_body(color, size),
        "price": 12,
        "inventory_level": 3,
        "purchasing_disabled": True,
    }

    response = api("POST", f"/products/{created['id']}/variants", body)

    assert response.status_code == 200, response.text
    variant = response.json()["data"]
    assert variant["sku"] == "SHIRT-RED-S"
    assert variant["product_id"] == created["id"]
    assert variant["price"] == 12
    assert variant["calculated_price"] == 12
    assert variant["inventory_level"] == 3
    assert variant["purchasing_disabled"] is True
    assert variant["option_values"] == [
        {
            "id": value_id(color, "Red"),
            "label": "Red",
            "option_id": color["id"],
            "option_display_name": "Color",
        },
        {
            "id": value_id(size, "S"),
            "label": "S",
            "option_id": size["id"],
            "option_display_name": "Size",
        },
    ]


def test_variant_create_by_labels(api):
    created, color, size = shirt_with_options(api)
    body = {
        "sku": "SHIRT-BLUE-M",
        "option_values": [
            {"option_display_name": "Size", "label": "M"},
            {"option_display_name": "Color", "label": "Blue"},
        ],
    }

    response = api("POST", f"/products/{created['id']}/variants", body)

    assert response.status_code == 200, response.text
    labels = [value["label"] for value in response.json()["data"]["option_values"]]
    assert labels == ["Blue", "M"]


def test_first_variant_replaces_base(api):
    created, color, size = shirt_with_options(api)

    variant = api(
        "POST", f"/products/{created['id']}/variants", variant_body(color, size)
    ).json()["data"]

    listed = api("GET", f"/products/{created['id']}/variants").json()["data"]
    assert [item["id"] for item in listed] == [variant["id"]]
    assert api("GET", "/variants", sku="SHIRT").json()["data"] == []
    assert (
        api("GET", f"/products/{created['id']}").json()["data"]["base_variant_id"]
        is None
    )
    assert api("GET", "/products", sku="SHIRT").json()["data"][0]["id"] == created["id"]


def test_variants_lookup_by_exact_sku(api):
    created, color, size = shirt_with_options(api)
    base = f"/products/{created['id']}/variants"
    api("POST", base, variant_body(color, size, sku="A-1"))
    api("POST", base, variant_body(color, size, sku="A-10", size_label="M"))

    found = api("GET", "/variants", sku="A-1").json()["data"]

    assert [variant["sku"] for variant in found] == ["A-1"]
    assert found[0]["product_id"] == created["id"]


def test_variants_across_products_paged(api):
    first = create_product(api, name="A", sku="A")
    second = create_product(api, name="B", sku="B")
    third = create_product(api, name="C", sku="C")

    response = api("GET", "/variants", limit=2, page=2)

    body = response.json()
    assert [variant["product_id"] for variant in body["data"]] == [third["id"]]
    assert body["meta"]["pagination"]["total"] == 3
    assert body["meta"]["pagination"]["total_pages"] == 2
    filtered = api(
        "GET", "/variants", **{"product_id:in": f"{first['id']},{second['id']}"}
    )
    assert [item["sku"] for item in filtered.json()["data"]] == ["A", "B"]


@pytest.mark.parametrize(
    "option_values",
    [
        [{"option_id": "color", "id": "red"}],
        [{"id": 999999}],
        [{"option_display_name": "Color"}],
        [{"option_display_name": "Color", "label": "Purple"}],
        [{"option_display_name": "Fit", "label": "Slim"}],
    ],
    ids=["string-ids", "unknown-id", "no-label", "unknown-label", "unknown-option"],
)
def test_variant_bad_option_value_422(api, option_values):
    created, _, size = shirt_with_options(api)
    values = [*option_values, {"option_display_name": "Size", "label": "S"}]

    response = api(
        "POST",
        f"/products/{created['id']}/variants",
        {"sku": "V", "option_values": values},
    )

    assert list(errors_of(response)) == ["option_values[0]"]


def test_variant_value_of_other_product_422(api):
    created, _, size = shirt_with_options(api)
    other = create_product(api, name="Other", sku="OTHER")
    other_color = create_option(api, other["id"], COLOR)
    body = {
        "sku": "V",
        "option_values": [
            {"option_id": other_color["id"], "id": value_id(other_color, "Red")},
            {"option_id": size["id"], "id": value_id(size, "S")},
        ],
    }

    response = api("POST", f"/products/{created['id']}/variants", body)

    assert list(errors_of(response)) == ["option_values[0]"]


def test_variant_value_under_wrong_option_422(api):
    created, color, size = shirt_with_options(api)
    body = {
        "sku": "V",
        "option_values": [
            {"option_id": size["id"], "id": value_id(color, "Red")},
            {"option_id": size["id"], "id": value_id(size, "S")},
        ],
    }

    response = api("POST", f"/products/{created['id']}/variants", body)

    assert list(errors_of(response)) == ["option_values[0]"]


def test_variant_must_cover_all_options(api):
    created, color, _ = shirt_with_options(api)
    body = {
        "sku": "V",
        "option_values": [{"option_id": color["id"], "id": value_id(color, "Red")}],
    }

    response = api("POST", f"/products/{created['id']}/variants", body)

    errors = errors_of(response)
    assert list(errors) == ["option_values"]
    assert "Size" in errors["option_values"]


def test_variant_two_values_one_option(api):
    created, color, size = shirt_with_options(api)
    body = variant_body(color, size)
    body["option_values"].append(
        {"option_id": color["id"], "id": value_id(color, "Blue")}
    )

    response = api("POST", f"/products/{created['id']}/variants", body)

    assert list(errors_of(response)) == ["option_values[2]"]


def test_variant_without_options_422(api):
    created = create_product(api)

    response = api(
        "POST", f"/products/{created['id']}/variants", {"sku": "V", "option_values": []}
    )

    assert list(errors_of(response)) == ["option_values"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"option_values": []}, "sku"),
        ({"sku": ""}, "sku"),
        ({"sku": "V"}, "option_values"),
        ({"sku": "V", "option_values": [], "price": -1}, "price"),
        ({"sku": "V", "option_values": [], "id": 3}, "id"),
        ({"sku": "V", "option_values": [], "colour": "red"}, "colour"),
    ],
    ids=[
        "no-sku",
        "empty-sku",
        "no-values",
        "negative-price",
        "read-only-id",
        "unknown",
    ],
)
def test_variant_invalid_body_422(api, body, field):
    created = create_product(api)

    response = api("POST", f"/products/{created['id']}/variants", body)

    assert field in errors_of(response)


@pytest.mark.parametrize("sku", ["PANTS", "SHIRT", "SHIRT-RED-S"])
def test_variant_sku_in_use_409(api, sku):
    create_product(api, name="Pants", sku="PANTS")
    created, color, size = shirt_with_options(api)
    api("POST", f"/products/{created['id']}/variants", variant_body(color, size))

    response = api(
        "POST",
        f"/products/{created['id']}/variants",
        variant_body(color, size, sku=sku, size_label="M"),
    )

    errors = errors_of(response, 409)
    assert list(errors) == ["sku"]
    assert sku in errors["sku"]


def test_variant_same_values_409(api):
    created, color, size = shirt_with_options(api)
    api("POST", f"/products/{created['id']}/variants", variant_body(color, size))

    response = api(
        "POST",
        f"/products/{created['id']}/variants",
        variant_body(color, size, sku="OTHER"),
    )

    assert list(errors_of(response, 409)) == ["option_values"]


def test_variant_put_changes_fields(api):
    created, color, size = shirt_with_options(api)
    variant = api(
        "POST", f"/products/{created['id']}/variants", variant_body(color, size)
    ).json()["data"]
    path = f"/products/{created['id']}/variants/{variant['id']}"

    response = api(
        "PUT", path, {"price": 15.5, "inventory_level": 0, "purchasing_disabled": True}
    )

    assert response.status_code == 200, response.text
    updated = response.json()["data"]
    assert updated["price"] == 15.5
    assert updated["purchasing_disabled"] is True
    assert api("GET", path).json()["data"] == updated


def test_variant_put_keeps_option_values(api):
    created, color, size = shirt_with_options(api)
    variant = api(
        "POST", f"/products/{created['id']}/variants", variant_body(color, size)
    ).json()["data"]
    path = f"/products/{created['id']}/variants/{variant['id']}"
    body = {
        "price": 20,
        "option_values": [
            {"option_id": color["id"], "id": value_id(color, "Blue")},
            {"option_id": size["id"], "id": value_id(size, "M")},
        ],
    }

    response = api("PUT", path, body)

    assert response.status_code == 200
    updated = response.json()["data"]
    assert updated["price"] == 20
    assert updated["option_values"] == variant["option_values"]
    assert api("GET", path).json()["data"]["option_values"] == variant["option_values"]


def test_variant_put_sku_in_use_409(api):
    create_product(api, name="Pants", sku="PANTS")
    created, color, size = shirt_with_options(api)
    variant = api(
        "POST", f"/products/{created['id']}/variants", variant_body(color, size)
    ).json()["data"]

    response = api(
        "PUT", f"/products/{created['id']}/variants/{variant['id']}", {"sku": "PANTS"}
    )

    assert list(errors_of(response, 409)) == ["sku"]


def test_variant_put_own_sku_ok(api):
    created = create_product(api)

    response = api(
        "PUT",
        f"/products/{created['id']}/variants/{created['base_variant_id']}",
        {"sku": "SHIRT"},
    )

    assert response.status_code == 200


def test_base_variant_sku_moves_product_sku(api):
    created = create_product(api)

    response = api(
        "PUT",
        f"/products/{created['id']}/variants/{created['base_variant_id']}",
        {"sku": "TEE"},
    )

    assert response.status_code == 200
    assert api("GET", f"/products/{created['id']}").json()["data"]["sku"] == "TEE"


def test_variant_unknown_404(api):
    created = create_product(api)
    other = create_product(api, name="Other", sku="OTHER")

    errors_of(api("GET", f"/products/{created['id']}/variants/999"), 404)
    errors_of(api("PUT", f"/products/{created['id']}/variants/999", {"price": 1}), 404)
    # A variant id of another product is not found under this product.
    errors_of(
        api("GET", f"/products/{created['id']}/variants/{other['base_variant_id']}"),
        404,
    )
    errors_of(api("GET", "/products/999/variants"), 404)


def test_variant_limit_600(fake_store):
    registry = fake_store.catalog
    values = [{"label": f"V{n}", "sort_order": n} for n in range(25)]
    seeded = registry.add_product(
        STORE_HASH,
        SHIRT,
        options=[
            {"display_name": "A", "type": "dropdown", "option_values": values},
            {"display_name": "B", "type": "dropdown", "option_values": values},
        ],
    )
    product_id = seeded["id"]
    for n in range(600):
        registry.create_variant(
            STORE_HASH,
            product_id,
            {
                "sku": f"V-{n}",
                "option_values": [
                    {"option_display_name": "A", "label": f"V{n // 25}"},
                    {"option_display_name": "B", "label": f"V{n % 25}"},
                ],
            },
        )

    # No variant has A=V24 with B=V0, so only the limit rejects this one.
    with pytest.raises(CatalogValidationError) as raised:
        registry.create_variant(
            STORE_HASH,
            product_id,
            {
                "sku": "V-600",
                "option_values": [
                    {"option_display_name": "A", "label": "V24"},
                    {"option_display_name": "B", "label": "V0"},
                ],
            },
        )

    assert "600" in raised.value.errors["sku"]


# --- errors shared with the other routes ----------------------------------------


def test_invalid_token_v3_error(bigcommerce_server):
    url = f"{bigcommerce_server.url}/stores/{STORE_HASH}/v3/catalog/products"

    response = requests.get(url, headers={"X-Auth-Token": "wrong"}, timeout=5)

    assert response.status_code == 401
    body = response.json()
    assert body["status"] == 401
    assert body["title"]
    assert body["type"]


@pytest.mark.parametrize("status", [409, 422, 429, 500])
def test_injected_fault_on_catalog(api, fake_store, status):
    fake_store.inject_fault(r"/v3/catalog/products$", status, method="POST")

    faulted = api("POST", "/products", SHIRT)
    retried = api("POST", "/products", SHIRT)

    assert faulted.status_code == status
    assert faulted.json()["status"] == status
    assert retried.status_code == 200
    assert len(fake_store.catalog.products(STORE_HASH)) == 1


def test_injected_207_body_sent(api, fake_store):
    body = {"data": {"id": 1}, "meta": {}, "errors": {"inventory_level": "failed"}}
    fake_store.inject_fault(r"/v3/catalog/products$", 207, body=body, method="POST")

    response = api("POST", "/products", SHIRT)

    assert response.status_code == 207
    assert response.json() == body
    assert fake_store.catalog.products(STORE_HASH) == []


def test_request_log_has_json_body(api, fake_store):
    create_product(api)
    api("GET", "/products", sku="SHIRT")

    post, get = fake_store.requests

    assert post.method == "POST"
    assert post.body == SHIRT
    assert get.body is None
    assert get.args == {"sku": ["SHIRT"]}


def test_request_log_body_not_json(bigcommerce_server, fake_store):
    url = f"{bigcommerce_server.url}/stores/{STORE_HASH}/v3/catalog/products"

    response = requests.post(
        url,
        data=b"{not json",
        headers={**AUTH, "Content-Type": "application/json"},
        timeout=5,
    )

    assert response.status_code == 400
    (record,) = fake_store.requests
    assert record.body is None


# --- registry helpers ---------------------------------------------------------


def test_add_product_seeds_everything(fake_store, api):
    registry = fake_store.catalog

    seeded = registry.add_product(
        STORE_HASH,
        SHIRT,
        options=[COLOR, SIZE],
        variants=[
            {
                "sku": "SHIRT-RED-M",
                "price": 11,
                "option_values": [
                    {"option_display_name": "Color", "label": "Red"},
                    {"option_display_name": "Size", "label": "M"},
                ],
            }
        ],
        custom_fields=[{"name": "Fabric", "value": "Cotton"}],
    )

    assert [option["display_name"] for option in seeded["options"]] == ["Color", "Size"]
    assert [variant["sku"] for variant in seeded["variants"]] == ["SHIRT-RED-M"]
    assert seeded["custom_fields"][0]["value"] == "Cotton"
    assert seeded["base_variant_id"] is None
    assert registry.products(STORE_HASH) == [seeded]
    assert registry.product_by_sku(STORE_HASH, "SHIRT")["id"] == seeded["id"]
    assert registry.variant_by_sku(STORE_HASH, "SHIRT-RED-M")["price"] == 11
    assert registry.variant_by_sku(STORE_HASH, "SHIRT") is None
    served = api("GET", "/variants", sku="SHIRT-RED-M").json()["data"]
    assert served == [seeded["variants"][0]]


def test_add_product_invalid_adds_nothing(fake_store):
    registry = fake_store.catalog

    with pytest.raises(CatalogValidationError):
        registry.add_product(
            STORE_HASH,
            SHIRT,
            options=[SIZE],
            variants=[
                {
                    "sku": "V",
                    "option_values": [{"option_display_name": "Size", "label": "XL"}],
                }
            ],
        )

    assert registry.products(STORE_HASH) == []
    assert registry.variants(STORE_HASH) == []


def test_registry_returns_copies(fake_store):
    registry = fake_store.catalog
    seeded = registry.add_product(STORE_HASH, SHIRT, options=[SIZE])

    seeded["name"] = "Changed"
    seeded["options"][0]["option_values"].clear()
    registry.products(STORE_HASH)[0]["variants"].clear()

    (stored,) = registry.products(STORE_HASH)
    assert stored["name"] == "Shirt"
    assert len(stored["options"][0]["option_values"]) == 2
    assert len(stored["variants"]) == 1


def test_registry_ids_unique_across_stores():
    registry = CatalogRegistry(clock=lambda: 1_700_000_000)

    first = registry.create_product("store-a", SHIRT)
    second = registry.create_product("store-b", SHIRT)

    assert second["id"] > first["id"]
    assert second["base_variant_id"] > first["base_variant_id"]
    assert first["date_created"] == "2023-11-14T22:13:20+00:00"
    assert registry.products("store-a")[0]["id"] == first["id"]
    assert registry.products("unknown") == []


def test_registry_parallel_creates():
    registry = CatalogRegistry()
    errors = []

    def create(worker):
        for n in range(25):
            try:
                registry.create_product(
                    STORE_HASH,
                    {**SHIRT, "name": f"P{worker}-{n}", "sku": f"P{worker}-{n}"},
                )
            except Exception as exc:  # noqa: BLE001 - reported by the assert below
                errors.append(exc)

    threads = [threading.Thread(target=create, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    products = registry.products(STORE_HASH)
    assert len(products) == 200
    assert len({item["id"] for item in products}) == 200
    assert len({item["base_variant_id"] for item in products}) == 200
