"""Fixtures of the offer tests: the web app, the catalog stand-in and an RQ worker."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from rq import Queue

from tests.conftest import INBOUND_TOKEN, STORE_HASH, QuickWorker
from workers.queueing import OFFER_QUEUE

AUTH = {"Authorization": f"Bearer {INBOUND_TOKEN}"}
MAPPING = """
offers:
  only_push_mapped_attributes: {only_mapped}
  attribute_mapping:
    title: name
    price: price
    weight_kg: weight
    material: custom_field
    care: "custom_field:Care instructions"
"""
TEE = {
    "sku": "TEE-1",
    "attributes": {
        "title": "Organic tee",
        "price": "19.90",
        "weight_kg": 0.2,
        "material": "cotton",
        "care": "30 degrees",
        "season": "summer",
    },
    "variants": [
        {
            "sku": "TEE-1-RED-M",
            "options": {"Color": "Red", "Size": "M"},
            "attributes": {"price": "21.90"},
        },
        {"sku": "TEE-1-BLU-L", "options": {"Color": "Blue", "Size": "L"}},
    ],
    "swatches": {
        "Color": {"Red": "#ff0000", "Blue": "#0000ff"},
        "Size": {"M": "#777777", "L": "#333333"},
    },
}
CATALOG = f"/stores/{STORE_HASH}/v3/catalog"
# Connection settings that map just the fields a new product needs.
NAME_PRICE_WEIGHT = """
offers:
  attribute_mapping:
    title: name
    price: price
    weight_kg: weight
"""


class OfferPath:
    def __init__(self, order_path):
        self.path = order_path
        self.redis = order_path.redis
        self.store = order_path.store
        self.catalog = order_path.store.catalog
        self.client = order_path.client

    def post(self, *offers: dict[str, Any]) -> dict[str, Any]:
        body = {
            "connection": "main-store",
            "offers": [copy.deepcopy(o) for o in offers],
        }
        response = self.client.post("/offers", json=body, headers=AUTH)
        assert response.status_code == 202, response.get_data(as_text=True)
        return response.get_json()

    def run_jobs(self) -> None:
        queue = Queue(OFFER_QUEUE, connection=self.redis)
        QuickWorker([queue], connection=self.redis).work(burst=True)

    def push(self, *offers: dict[str, Any]) -> None:
        self.post(*offers)
        self.run_jobs()

    def result(self, sku: str) -> dict[str, Any]:
        response = self.client.get(f"/offers/main-store/{sku}", headers=AUTH)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()

    def product(self, sku: str) -> dict[str, Any]:
        found = [p for p in self.catalog.products(STORE_HASH) if p["sku"] == sku]
        assert len(found) == 1, found
        return found[0]

    def writes(self) -> list[tuple[str, str, Any]]:
        """Return (method, path below the catalog, body) of every write received."""
        return [
            (record.method, record.path.removeprefix(CATALOG), record.body)
            for record in self.store.requests
            if record.method in ("POST", "PUT")
        ]


@pytest.fixture
def offer_path_factory(order_path_factory):
    def build(only_mapped: bool = False, option_type: str = "dropdown") -> OfferPath:
        settings = f"variant_option_type: {option_type}\n" + MAPPING.format(
            only_mapped=str(only_mapped).lower()
        )
        return OfferPath(order_path_factory(connection_settings=settings))

    return build


@pytest.fixture
def offers(offer_path_factory) -> OfferPath:
    return offer_path_factory()
