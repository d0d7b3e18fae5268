"""Offers from intake to catalog: the web app queues, an RQ worker pushes to the
catalog stand-in, and the result endpoint reports what happened."""

from __future__ import annotations

import copy
import json
import re

import pytest
from rq import Queue
from rq.job import Job
from rq.registry import FailedJobRegistry, ScheduledJobRegistry

from tests.conftest import STORE_HASH, QuickWorker
from tests.workers.conftest import TEE
from workers.queueing import OFFER_QUEUE
from workers.recovery import replay_failed_jobs


def test_new_product_created_with_variants(offers):
    offers.push(TEE)
    result = offers.result("TEE-1")
    product = offers.product("TEE-1")
    assert result["result"] == "created"
    assert result["product_id"] == product["id"]
    assert product["name"] == "Organic tee"
    assert product["price"] == 19.9
    assert product["weight"] == 0.2
    assert product["type"] == "physical"
    variants = {v["sku"]: v for v in product["variants"]}
    assert set(variants) == {"TEE-1-RED-M", "TEE-1-BLU-L"}
    assert variants["TEE-1-RED-M"]["price"] == 21.9
    labels = {
        (value["option_display_name"], value["label"])
        for value in variants["TEE-1-BLU-L"]["option_values"]
    }
    assert labels == {("Color", "Blue"), ("Size", "L")}


def test_custom_fields_by_mapping(offers):
    offers.push(TEE)
    fields = {f["name"]: f["value"] for f in offers.product("TEE-1")["custom_fields"]}
    assert fields == {
        "material": "cotton",
        "Care instructions": "30 degrees",
        "season": "summer",
    }


def test_only_mapped_sends_no_unmapped_attribute(offer_path_factory):
    offers = offer_path_factory(only_mapped=True)
    offers.push(TEE)
    bodies = [json.dumps(body) for _, _, body in offers.writes()]
    fields = {f["name"] for f in offers.product("TEE-1")["custom_fields"]}
    assert offers.result("TEE-1")["result"] == "created"
    assert bodies
    assert not [body for body in bodies if "season" in body or "summer" in body]
    assert fields == {"material", "Care instructions"}


def test_unmapped_attribute_sent_as_custom_field(offer_path_factory):
    offers = offer_path_factory(only_mapped=False)
    offers.push(TEE)
    custom_field_posts = [
        body for method, path, body in offers.writes() if path.endswith("custom-fields")
    ]
    assert {"name": "season", "value": "summer"} in custom_field_posts


@pytest.mark.parametrize(
    "option_type", ["dropdown", "radio_buttons", "rectangles", "swatch"]
)
def test_options_carry_variant_option_type(offer_path_factory, option_type):
    offers = offer_path_factory(option_type=option_type)
    offers.push(TEE)
    option_posts = [
        body for method, path, body in offers.writes() if path.endswith("/options")
    ]
    stored = offers.product("TEE-1")["options"]
    assert offers.result("TEE-1")["result"] == "created"
    assert [body["display_name"] for body in option_posts] == ["Color", "Size"]
    assert {body["type"] for body in option_posts} == {option_type}
    assert {option["type"] for option in stored} == {option_type}


def test_swatch_values_carry_colors(offer_path_factory):
    offers = offer_path_factory(option_type="swatch")
    offers.push({**TEE, "variants": TEE["variants"][:1]} | {"sku": "TEE-1"})
    color = next(
        o for o in offers.product("TEE-1")["options"] if o["display_name"] == "Color"
    )
    assert [v["value_data"] for v in color["option_values"]] == [
        {"colors": ["#ff0000"]}
    ]


def test_swatch_without_color_fails_naming_value(offer_path_factory):
    offers = offer_path_factory(option_type="swatch")
    offer = copy.deepcopy(TEE)
    offer["swatches"]["Color"].pop("Blue")
    offers.push(offer)
    result = offers.result("TEE-1")
    assert result["result"] == "failed"
    assert result["messages"] == [
        "option Color value 'Blue' has no color in swatches; swatch options need a "
        "color for every value"
    ]
    assert offers.writes() == []


def test_existing_product_updated(offers):
    offers.push(TEE)
    changed = copy.deepcopy(TEE)
    changed["attributes"]["price"] = "17.50"
    changed["attributes"]["material"] = "linen"
    offers.store.clear_requests()
    offers.push(changed)
    result = offers.result("TEE-1")
    product = offers.product("TEE-1")
    fields = {f["name"]: f["value"] for f in product["custom_fields"]}
    assert result["result"] == "updated"
    assert product["price"] == 17.5
    assert fields["material"] == "linen"
    assert len(offers.catalog.products(STORE_HASH)) == 1
    assert not [w for w in offers.writes() if w[0] == "POST"]


def test_same_offer_twice_creates_nothing_new(offers):
    offers.push(TEE)
    offers.store.clear_requests()
    offers.push(TEE)
    assert offers.result("TEE-1")["result"] == "updated"
    assert [method for method, _, _ in offers.writes()] == ["PUT", "PUT"]


def seed_tee_with_sizes(offers, sizes=("S", "M", "L"), color="Green"):
    return offers.catalog.add_product(
        STORE_HASH,
        {
            "name": "Organic tee",
            "type": "physical",
            "sku": "TEE-1",
            "price": 19.9,
            "weight": 0.2,
        },
        options=[
            {
                "display_name": "Color",
                "type": "dropdown",
                "option_values": [{"label": color, "sort_order": 0}],
            },
            {
                "display_name": "Size",
                "type": "dropdown",
                "option_values": [
                    {"label": size, "sort_order": index}
                    for index, size in enumerate(sizes)
                ],
            },
        ],
        variants=[
            {
                "sku": f"TEE-1-{color[:3].upper()}-{size}",
                "option_values": [
                    {"option_display_name": "Color", "label": color},
                    {"option_display_name": "Size", "label": size},
                ],
            }
            for size in sizes
        ],
    )


def test_new_option_value_created_before_variant(offers):
    seed_tee_with_sizes(offers)
    offers.store.clear_requests()
    offer = {
        "sku": "TEE-1",
        "variants": [
            {"sku": "TEE-1-GRE-XL", "options": {"Color": "Green", "Size": "XL"}}
        ],
    }
    offers.push(offer)
    writes = [(method, path) for method, path, _ in offers.writes()]
    value_post = next(i for i, (m, p) in enumerate(writes) if p.endswith("/values"))
    variant_post = next(
        i for i, (m, p) in enumerate(writes) if m == "POST" and p.endswith("/variants")
    )
    product = offers.product("TEE-1")
    skus = {v["sku"] for v in product["variants"]}
    assert offers.result("TEE-1")["result"] == "updated"
    assert value_post < variant_post
    assert "TEE-1-GRE-XL" in skus
    assert len(skus) == 4


def test_changed_option_values_of_variant_fail(offers):
    seed_tee_with_sizes(offers, sizes=("M",), color="Green")
    offer = {
        "sku": "TEE-1",
        "variants": [
            {
                "sku": "TEE-1-GRE-M",
                "options": {"Color": "White", "Size": "M"},
                "attributes": {"price": "25"},
            }
        ],
    }
    offers.push(offer)
    result = offers.result("TEE-1")
    variant = offers.catalog.variant_by_sku(STORE_HASH, "TEE-1-GRE-M")
    labels = {v["option_display_name"]: v["label"] for v in variant["option_values"]}
    assert result["result"] == "failed"
    assert result["product_id"] == variant["product_id"]
    assert any(
        "variant TEE-1-GRE-M: its option values cannot change from Color Green, "
        "Size M to Color White, Size M" in message
        for message in result["messages"]
    )
    assert labels == {"Color": "Green", "Size": "M"}
    assert offers.writes() == []


@pytest.mark.parametrize(
    ("status", "title"),
    [
        (409, "The product name is a duplicate"),
        (422, "The request payload is not valid"),
    ],
)
def test_rejected_product_create_fails_with_message(offers, status, title):
    body = {
        "status": status,
        "title": title,
        "type": "about:blank",
        "errors": {"name": "taken"},
    }
    offers.store.inject_fault(
        r"/v3/catalog/products$", status, body=body, method="POST"
    )
    offers.push(TEE)
    result = offers.result("TEE-1")
    assert result["result"] == "failed"
    assert result["product_id"] is None
    assert result["messages"] == [
        f"BigCommerce returned HTTP {status}: {title}",
        f"BigCommerce returned HTTP {status}: name: taken",
    ]


def test_duplicate_name_from_stand_in_fails(offers):
    offers.catalog.add_product(
        STORE_HASH,
        {
            "name": "Organic tee",
            "type": "physical",
            "sku": "OLD-1",
            "price": 1,
            "weight": 1,
        },
    )
    offers.push(TEE)
    result = offers.result("TEE-1")
    assert result["result"] == "failed"
    assert result["messages"][0].startswith("BigCommerce returned HTTP 409")


def test_207_is_failure_with_product_id(offers):
    body = {
        "data": {"id": 4711, "name": "Organic tee"},
        "errors": {"images": "image could not be downloaded"},
        "meta": {},
        "title": "Saved with issues",
    }
    offers.store.inject_fault(r"/v3/catalog/products$", 207, body=body, method="POST")
    offers.push(TEE)
    result = offers.result("TEE-1")
    assert result["result"] == "failed"
    assert result["product_id"] == 4711
    assert result["messages"] == [
        "BigCommerce returned HTTP 207: Saved with issues",
        "BigCommerce returned HTTP 207: images: image could not be downloaded",
    ]


def test_rejected_variant_fails_others_still_created(offers):
    offers.store.inject_fault(r"/variants$", 422, method="POST")
    offers.push(TEE)
    result = offers.result("TEE-1")
    skus = {v["sku"] for v in offers.product("TEE-1")["variants"]}
    assert result["result"] == "failed"
    assert result["product_id"] == offers.product("TEE-1")["id"]
    assert any(
        m.startswith("variant TEE-1-RED-M: BigCommerce returned HTTP 422")
        for m in result["messages"]
    )
    assert "TEE-1-BLU-L" in skus


def test_new_product_without_price_fails_naming_field(offers):
    offer = {"sku": "MUG-1", "attributes": {"title": "Mug", "weight_kg": 1}}
    offers.push(offer)
    result = offers.result("MUG-1")
    assert result["result"] == "failed"
    assert result["messages"] == [
        "new product MUG-1 needs price: the offer has no attribute price"
    ]
    assert offers.writes() == []


def test_new_product_without_mapping_fails_naming_field(offer_path_factory):
    offers = offer_path_factory()
    text = offers.path.settings_path.read_text()
    offers.path.settings_path.write_text(re.sub(r"\n *price: price\n", "\n", text))
    offer = {"sku": "MUG-1", "attributes": {"title": "Mug", "weight_kg": 1}}
    offers.push(offer)
    assert offers.result("MUG-1")["messages"] == [
        "new product MUG-1 needs price: map an offer attribute to price in "
        "attribute_mapping and send it"
    ]


def test_long_custom_field_fails_naming_attribute(offers):
    offer = copy.deepcopy(TEE)
    offer["attributes"]["material"] = "m" * 251
    offers.push(offer)
    result = offers.result("TEE-1")
    assert result["result"] == "failed"
    assert result["messages"] == [
        "attribute 'material': value for custom field 'material' has 251 characters; "
        "BigCommerce allows at most 250"
    ]
    assert offers.writes() == []


def test_429_waited_then_created(offers):
    offers.store.inject_fault(
        r"/v3/catalog/products$",
        429,
        headers={"X-Rate-Limit-Time-Reset-Ms": "100"},
        method="POST",
    )
    offers.push(TEE)
    posts = [w for w in offers.writes() if w[0] == "POST" and w[1] == "/products"]
    assert offers.result("TEE-1")["result"] == "created"
    assert len(posts) == 2


def requeue_scheduled(offers) -> int:
    queue = Queue(OFFER_QUEUE, connection=offers.redis)
    registry = ScheduledJobRegistry(queue=queue)
    job_ids = registry.get_job_ids()
    for job_id in job_ids:
        registry.remove(job_id)
        queue.enqueue_job(Job.fetch(job_id, connection=offers.redis))
    return len(job_ids)


def test_5xx_retried_then_created(offers):
    offers.store.inject_fault(r"/v3/catalog/products$", 503, method="POST")
    offers.push(TEE)
    pending = offers.result("TEE-1")
    assert requeue_scheduled(offers) == 1
    offers.run_jobs()
    result = offers.result("TEE-1")
    assert pending["result"] == "pending"
    assert pending["messages"][0].startswith("attempt failed, retrying: POST ")
    assert result["result"] == "created"
    assert len(offers.catalog.products(STORE_HASH)) == 1


def test_retry_after_create_still_reports_created(offers):
    offers.store.inject_fault(r"/custom-fields$", 500, method="POST")
    offers.push(TEE)
    assert requeue_scheduled(offers) == 1
    offers.run_jobs()
    assert offers.result("TEE-1")["result"] == "created"
    assert len(offers.catalog.products(STORE_HASH)) == 1


def test_last_retry_failure_recorded_and_replayable(offers):
    offers.store.inject_fault(r"/v3/catalog/products$", 503, method="POST")
    entry = offers.post(TEE)["offers"][0]
    job = Job.fetch(entry["job_id"], connection=offers.redis)
    job.retries_left = 0
    job.save()
    offers.run_jobs()
    failed = offers.result("TEE-1")
    failed_ids = FailedJobRegistry(OFFER_QUEUE, connection=offers.redis).get_job_ids()
    replayed = replay_failed_jobs(offers.redis, connection="main-store")
    offers.run_jobs()
    assert failed["result"] == "failed"
    assert failed["messages"][0].startswith("gave up after the last retry: POST ")
    assert failed_ids == [entry["job_id"]]
    assert replayed == [entry["job_id"]]
    assert offers.result("TEE-1")["result"] == "created"


def test_newer_push_result_wins(offers):
    first = offers.post(TEE)["offers"][0]["job_id"]
    changed = copy.deepcopy(TEE)
    changed["attributes"]["price"] = "9.99"
    second = offers.post(changed)["offers"][0]["job_id"]
    queue = Queue(OFFER_QUEUE, connection=offers.redis)
    QuickWorker([queue], connection=offers.redis).work(burst=True, max_jobs=1)
    between = offers.result("TEE-1")
    offers.run_jobs()
    assert first != second
    assert between["result"] == "pending"
    assert offers.result("TEE-1")["result"] == "created"
    assert offers.product("TEE-1")["price"] == 9.99
    assert Job.fetch(first, connection=offers.redis).return_value() == "superseded"


def test_150_offers_in_two_requests(offers):
    offers.store.rate_limit_quota = 100_000
    batch = [
        {
            "sku": f"SKU-{index:03}",
            "attributes": {
                "title": f"Product {index}",
                "price": f"{index}.50",
                "weight_kg": 1,
                "material": f"material {index}",
            },
            "variants": [
                {"sku": f"SKU-{index:03}-{size}", "options": {"Size": size}}
                for size in ("S", "M")
            ],
        }
        for index in range(150)
    ]
    offers.post(*batch[:100])
    offers.post(*batch[100:])
    offers.run_jobs()
    products = {p["sku"]: p for p in offers.catalog.products(STORE_HASH)}
    for index, offer in enumerate(batch):
        result = offers.result(offer["sku"])
        product = products[offer["sku"]]
        assert result["result"] == "created", result
        assert result["product_id"] == product["id"]
        assert product["name"] == f"Product {index}"
        assert product["price"] == index + 0.5
        assert {v["sku"] for v in product["variants"]} == {
            f"SKU-{index:03}-S",
            f"SKU-{index:03}-M",
        }
    assert len(products) == 150


def test_older_retry_never_overwrites_newer_push(offers):
    offers.store.inject_fault(r"/v3/catalog/products$", 503, method="POST")
    older = copy.deepcopy(TEE)
    older["attributes"]["price"] = "10"
    offers.push(older)  # fails with 503 and waits for its retry
    newer = copy.deepcopy(TEE)
    newer["attributes"]["price"] = "20"
    offers.push(newer)
    after_newer = offers.result("TEE-1")
    assert requeue_scheduled(offers) == 1
    offers.run_jobs()
    assert after_newer["result"] == "created"
    assert offers.result("TEE-1") == after_newer
    assert offers.product("TEE-1")["price"] == 20.0


def test_unexpected_error_recorded_then_failed(offers):
    odd = {"data": {"id": "abc"}, "meta": {}}
    offers.store.inject_fault(
        r"/v3/catalog/products$", 200, body=odd, method="POST", count=2
    )
    offers.push(TEE)
    pending = offers.result("TEE-1")
    queue = Queue(OFFER_QUEUE, connection=offers.redis)
    (job_id,) = ScheduledJobRegistry(queue=queue).get_job_ids()
    job = Job.fetch(job_id, connection=offers.redis)
    job.retries_left = 0
    job.save()
    requeue_scheduled(offers)
    offers.run_jobs()
    failed = offers.result("TEE-1")
    assert pending["result"] == "pending"
    assert pending["messages"][0].startswith("attempt failed, retrying: ValueError: ")
    assert failed["result"] == "failed"
    assert failed["messages"][0].startswith("gave up after the last retry: ValueError")


def test_existing_swatch_option_gets_colors(offers):
    offers.catalog.add_product(
        STORE_HASH,
        {"name": "Tee", "type": "physical", "sku": "TEE-1", "price": 1, "weight": 1},
        options=[
            {
                "display_name": "Color",
                "type": "swatch",
                "option_values": [
                    {
                        "label": "Red",
                        "sort_order": 0,
                        "value_data": {"colors": ["#ff0000"]},
                    }
                ],
            }
        ],
        variants=[
            {
                "sku": "TEE-1-R",
                "option_values": [{"option_display_name": "Color", "label": "Red"}],
            }
        ],
    )
    offer = {
        "sku": "TEE-1",
        "variants": [{"sku": "TEE-1-B", "options": {"Color": "Blue"}}],
        "swatches": {"Color": {"Blue": "#0000ff"}},
    }
    offers.push(offer)
    color = offers.product("TEE-1")["options"][0]
    assert offers.result("TEE-1")["result"] == "updated"
    assert [v["value_data"] for v in color["option_values"]] == [
        {"colors": ["#ff0000"]},
        {"colors": ["#0000ff"]},
    ]


def test_option_names_differing_from_product_fail(offers):
    seed_tee_with_sizes(offers, sizes=("M",))
    offer = {
        "sku": "TEE-1",
        "variants": [
            {"sku": "TEE-1-GRE-M", "options": {"color": "Green", "Size": "M"}}
        ],
    }
    offers.push(offer)
    messages = offers.result("TEE-1")["messages"]
    assert messages == [
        "variant TEE-1-GRE-M: BigCommerce has the options Color, Size for it, but the "
        "offer names Size, color; an offer must name every option of the product, "
        "spelt as in BigCommerce"
    ]
