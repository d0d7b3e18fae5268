"""Workers killed with SIGKILL in the middle of offer pushes."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter

import pytest
import requests

from tests.conftest import INBOUND_TOKEN, STORE_HASH
from tests.faults.conftest import wait_for

pytestmark = pytest.mark.slow

AUTH = {"Authorization": f"Bearer {INBOUND_TOKEN}"}
OFFERS = 12
KILLS = 6
SETTINGS = """
variant_option_type: rectangles
offers:
  attribute_mapping:
    title: name
    price: price
    weight_kg: weight
"""


def offer(index: int) -> dict:
    return {
        "sku": f"KILL-{index}",
        "attributes": {
            "title": f"Product {index}",
            "price": "10",
            "weight_kg": 1,
            "fabric": "wool",
        },
        "variants": [
            {"sku": f"KILL-{index}-{size}", "options": {"Size": size}}
            for size in ("S", "M", "L")
        ],
    }


def running_offer_pids(redis) -> list[int]:
    """Return the pids of job processes that hold an offer job's lease."""
    pids = []
    for key in redis.scan_iter("sync:lease:offer-*"):
        value = redis.get(key)
        if value:
            pids.append(int(value))
    return pids


def results(service) -> dict[str, str]:
    found = {}
    for index in range(OFFERS):
        response = requests.get(
            f"{service.web.url}/offers/main-store/KILL-{index}", headers=AUTH, timeout=5
        )
        found[f"KILL-{index}"] = response.json()["result"]
    return found


def test_sigkill_during_offer_push_duplicates_nothing(service_factory, record_fault):
    service = service_factory(connection_settings=SETTINGS)
    service.store.latency_ms = 150
    for _ in range(2):
        service.workers.start()
    response = requests.post(
        f"{service.web.url}/offers",
        json={"connection": "main-store", "offers": [offer(i) for i in range(OFFERS)]},
        headers=AUTH,
        timeout=10,
    )
    assert response.status_code == 202

    kills = 0
    while kills < KILLS:
        assert wait_for(lambda: running_offer_pids(service.redis), 60)
        time.sleep(0.4)  # let the job get part of the way through its writes
        pids = running_offer_pids(service.redis)
        if not pids:
            continue
        try:
            os.killpg(os.getpgid(pids[0]), signal.SIGKILL)
        except ProcessLookupError:
            continue
        kills += 1
        service.workers.start()

    def all_done() -> bool:
        return all(r in ("created", "updated") for r in results(service).values())

    began = time.monotonic()
    assert wait_for(all_done, 180, step=1), service.workers.output()[-3000:]
    recovery_seconds = time.monotonic() - began

    products = service.store.catalog.products(STORE_HASH)
    per_sku = Counter(product["sku"] for product in products)
    assert sorted(per_sku) == sorted(f"KILL-{i}" for i in range(OFFERS))
    assert set(per_sku.values()) == {1}
    for product in products:
        variants = Counter(v["sku"] for v in product["variants"])
        options = Counter(o["display_name"] for o in product["options"])
        labels = Counter(
            v["label"] for o in product["options"] for v in o["option_values"]
        )
        fields = Counter(f["name"] for f in product["custom_fields"])
        assert set(variants.values()) == {1}
        assert len(variants) == 3
        assert options == {"Size": 1}
        assert labels == {"S": 1, "M": 1, "L": 1}
        assert fields == {"fabric": 1}
    record_fault(
        "SIGKILL during offer push",
        kills=kills,
        offers=OFFERS,
        products=len(products),
        duplicate_products=sum(count - 1 for count in per_sku.values()),
        results=dict(Counter(results(service).values())),
        seconds_to_finish_after_last_kill=round(recovery_seconds, 1),
    )
