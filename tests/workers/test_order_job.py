"""The order job end to end in one process: webhook, stand-ins, worker, hub."""

from __future__ import annotations

import pytest
from rq import Queue
from rq.registry import FailedJobRegistry, ScheduledJobRegistry

from sandbox.orders import make_webhook
from tests.conftest import HUB_TOKEN, STORE_HASH
from workers import state
from workers.queueing import ORDER_QUEUE

CONNECTION = "main-store"
LINKS = ("products", "shipping_addresses", "coupons")


def decision_of(path, order_id):
    return state.latest_decision(path.redis, CONNECTION, order_id)


def test_accepted_order_pushed_with_envelope(order_path):
    order = order_path.add_order(250, coupon_codes=("SAVE10",), line_count=3)
    order_path.send("store/order/created", 250)
    order_path.run_jobs()

    (push,) = order_path.pushes_of(250)
    pushed = push.body["order"]
    assert push.idempotency_key == f"bigcommerce-{STORE_HASH}-250"
    assert push.authorization == f"Bearer {HUB_TOKEN}"
    assert push.headers["Content-Type"] == "application/json"
    assert push.body["source"] == "bigcommerce"
    assert push.body["connection"] == CONNECTION
    assert push.body["store_hash"] == STORE_HASH
    assert {k: v for k, v in pushed.items() if k not in LINKS} == {
        k: v for k, v in order.order.items() if k not in LINKS
    }
    assert pushed["products"] == order.products
    assert pushed["shipping_addresses"] == order.shipping_addresses
    assert pushed["coupons"] == order.coupons
    assert state.is_imported(order_path.redis, CONNECTION, 250)
    assert decision_of(order_path, 250)["decision"] == "accepted"


def test_money_and_dates_stay_strings(order_path):
    order_path.add_order(251)
    order_path.send("store/order/created", 251)
    order_path.run_jobs()
    (push,) = order_path.pushes_of(251)
    assert isinstance(push.body["order"]["total_inc_tax"], str)
    assert push.body["order"]["date_created"] == "Mon, 06 Jan 2025 09:15:00 +0000"


@pytest.mark.parametrize("line_count", [73, 120, 300])
def test_every_line_item_pushed(order_path, line_count):
    order = order_path.add_order(260, line_count=line_count)
    order_path.send("store/order/created", 260)
    order_path.run_jobs()
    (push,) = order_path.pushes_of(260)
    assert len(push.body["order"]["products"]) == line_count
    assert push.body["order"]["products"] == order.products


def test_order_without_coupons_skips_coupon_call(order_path):
    order_path.add_order(262)
    order_path.send("store/order/created", 262)
    order_path.run_jobs()
    (push,) = order_path.pushes_of(262)
    assert push.body["order"]["coupons"] == []
    assert not any(p.endswith("/coupons") for p in order_path.order_requests())
    assert len(order_path.order_requests()) == 3


def test_empty_sub_resource_204_is_empty_list(order_path):
    order_path.add_order(263, shipping_address_count=0, coupon_codes=("A1",))
    order_path.send("store/order/created", 263)
    order_path.run_jobs()
    (push,) = order_path.pushes_of(263)
    assert push.body["order"]["shipping_addresses"] == []


def test_guest_and_custom_product_pushed_without_lookups(order_path):
    order_path.add_order(264, customer_id=0, custom_product_lines=1, line_count=2)
    order_path.send("store/order/created", 264)
    order_path.run_jobs()
    (push,) = order_path.pushes_of(264)
    lines = push.body["order"]["products"]
    assert push.body["order"]["customer_id"] == 0
    assert lines[-1]["product_id"] == 0
    assert lines[-1]["sku"] == ""
    assert all(
        p.startswith(f"/stores/{STORE_HASH}/v2/orders/264")
        for p in order_path.order_requests()
    )


def test_sub_resource_failure_blocks_push(order_path, caplog):
    order_path.add_order(265)
    order_path.store.inject_fault(r"/v2/orders/265/shipping_addresses", 500, count=1)
    order_path.send("store/order/created", 265)
    order_path.run_jobs()
    queue = Queue(ORDER_QUEUE, connection=order_path.redis)
    assert len(ScheduledJobRegistry(queue=queue).get_job_ids()) == 1
    assert order_path.pushes_of(265) == []
    assert not state.is_imported(order_path.redis, CONNECTION, 265)
    assert "shipping_addresses: BigCommerce returned HTTP 500" in caplog.text


def test_incomplete_line_items_block_push(order_path, caplog):
    order_path.add_order(266, line_count=2, quantities=(1, 2))
    order_path.store.update_order(STORE_HASH, 266, items_total=4)
    order_path.send("store/order/created", 266)
    order_path.run_jobs()
    queue = Queue(ORDER_QUEUE, connection=order_path.redis)
    assert len(ScheduledJobRegistry(queue=queue).get_job_ids()) == 1
    assert order_path.pushes_of(266) == []
    assert "add up to 3 but items_total is 4" in caplog.text


def test_min_order_id_boundary(order_path):
    order_path.add_order(100)
    order_path.add_order(99)
    assert order_path.send("store/order/created", 100) == {"result": "queued"}
    assert order_path.send("store/order/created", 99) == {"result": "skipped"}
    order_path.run_jobs()
    assert len(order_path.pushes_of(100)) == 1
    assert order_path.pushes_of(99) == []
    assert decision_of(order_path, 99)["reasons"] == ["id 99 is below min_order_id 100"]


@pytest.mark.parametrize(
    ("order_id", "created", "imported"),
    [
        (301, "Tue, 31 Dec 2024 23:30:00 +0000", True),
        (302, "Tue, 31 Dec 2024 23:00:00 +0000", True),
        (303, "Tue, 31 Dec 2024 22:59:59 +0000", False),
    ],
)
def test_created_from_in_timezone(order_path, order_id, created, imported):
    order_path.add_order(order_id, date_created=created)
    order_path.send("store/order/created", order_id)
    order_path.run_jobs()
    assert len(order_path.pushes_of(order_id)) == (1 if imported else 0)
    decision = decision_of(order_path, order_id)
    assert decision["decision"] == ("accepted" if imported else "skipped")


def test_skip_reason_recorded(order_path):
    order_path.add_order(310, status_id=7)
    order_path.send("store/order/created", 310)
    order_path.run_jobs()
    decision = decision_of(order_path, 310)
    assert order_path.pushes_of(310) == []
    assert decision["decision"] == "skipped"
    assert decision["reasons"] == ["status 7 awaiting_payment is not enabled"]


@pytest.mark.parametrize(("import_archived", "pushed"), [("false", 0), ("on", 1)])
def test_archived_order_toggle(order_path_factory, import_archived, pushed):
    path = order_path_factory(filters=f"import_archived: {import_archived}")
    path.add_order(320, status_id=10, is_deleted=True)
    path.send("store/order/archived", 320)
    path.run_jobs()
    assert len(path.pushes_of(320)) == pushed


def test_incomplete_order_imported_once_when_enabled(order_path):
    order_path.add_order(330, status_id=0)
    order_path.send("store/order/created", 330)
    order_path.run_jobs()
    assert order_path.pushes_of(330) == []
    assert decision_of(order_path, 330)["reasons"] == [
        "status 0 incomplete is not enabled"
    ]

    order_path.store.update_order(STORE_HASH, 330, status_id=11)
    order_path.send(
        "store/order/statusUpdated", 330, previous_status_id=0, new_status_id=11
    )
    order_path.send("store/order/updated", 330)
    order_path.run_jobs()
    order_path.send("store/order/updated", 330)
    order_path.run_jobs()
    assert len(order_path.pushes_of(330)) == 1
    assert decision_of(order_path, 330)["reasons"] == ["already imported"]


def test_same_updated_body_after_change_imports(order_path):
    order_path.add_order(340, status_id=7)
    same = make_webhook("store/order/updated", STORE_HASH, 340)
    order_path.send_body(same)
    order_path.run_jobs()
    assert order_path.pushes_of(340) == []

    order_path.store.update_order(STORE_HASH, 340, status_id=11)
    order_path.send_body(same)
    order_path.run_jobs()
    assert len(order_path.pushes_of(340)) == 1


def test_duplicate_deliveries_push_once(order_path):
    order_path.add_order(350)
    body = make_webhook("store/order/created", STORE_HASH, 350)
    order_path.send_body(body)
    order_path.send_body(body)
    order_path.run_jobs()
    order_path.send_body(body)  # BigCommerce retries for up to 48 hours
    order_path.run_jobs()
    assert len(order_path.pushes_of(350)) == 1


@pytest.mark.parametrize(("current_status", "pushes"), [(5, 0), (11, 1)])
def test_status_update_before_created(order_path, current_status, pushes):
    order_path.add_order(360, status_id=current_status)
    previous = 11 if current_status == 5 else 5
    order_path.send(
        "store/order/statusUpdated",
        360,
        previous_status_id=previous,
        new_status_id=current_status,
    )
    order_path.send("store/order/created", 360)
    order_path.run_jobs()
    assert len(order_path.pushes_of(360)) == pushes


def test_hub_409_counts_as_imported(order_path):
    order_path.add_order(370)
    order_path.hub.script_responses(409)
    order_path.send("store/order/created", 370)
    order_path.run_jobs()
    assert state.is_imported(order_path.redis, CONNECTION, 370)
    assert len(order_path.pushes_of(370)) == 1


def test_hub_400_is_permanent_failure(order_path):
    order_path.add_order(371)
    order_path.hub.script_responses(400, body={"error": "unknown country XX"})
    order_path.send("store/order/created", 371)
    order_path.run_jobs()
    queue = Queue(ORDER_QUEUE, connection=order_path.redis)
    failed = FailedJobRegistry(queue=queue).get_job_ids()
    failure = order_path.redis.hget(state.failure_key(CONNECTION), "371")
    assert len(failed) == 1
    assert ScheduledJobRegistry(queue=queue).get_job_ids() == []
    assert b"unknown country XX" in failure
    assert not state.is_imported(order_path.redis, CONNECTION, 371)


@pytest.mark.parametrize("status", [408, 429, 500, 503])
def test_hub_transient_status_retried(order_path, status):
    order_path.add_order(372)
    order_path.hub.script_responses(status)
    order_path.send("store/order/created", 372)
    order_path.run_jobs()
    queue = Queue(ORDER_QUEUE, connection=order_path.redis)
    (job_id,) = ScheduledJobRegistry(queue=queue).get_job_ids()
    job = queue.fetch_job(job_id)
    queue.enqueue_job(job)  # what the scheduler does when the interval is over
    order_path.run_jobs()
    assert [p.status for p in order_path.pushes_of(372)][-1] in (200, 201)
    assert state.is_imported(order_path.redis, CONNECTION, 372)


def test_order_not_found_fails_permanently(order_path):
    order_path.send("store/order/created", 380)
    order_path.run_jobs()
    queue = Queue(ORDER_QUEUE, connection=order_path.redis)
    failure = order_path.redis.hget(state.failure_key(CONNECTION), "380")
    assert len(FailedJobRegistry(queue=queue).get_job_ids()) == 1
    assert b"order 380 not found" in failure


def test_imported_order_never_fetched_again(order_path):
    order_path.add_order(390)
    order_path.send("store/order/created", 390)
    order_path.run_jobs()
    order_path.store.clear_requests()
    order_path.send("store/order/updated", 390)
    order_path.run_jobs()
    assert order_path.order_requests() == []
    assert len(order_path.pushes_of(390)) == 1


def test_bigcommerce_429_waits_and_retries_same_request(order_path):
    order_path.add_order(395)
    order_path.store.inject_fault(
        r"/v2/orders/395$", 429, headers={"X-Rate-Limit-Time-Reset-Ms": "300"}
    )
    order_path.send("store/order/created", 395)
    order_path.run_jobs()
    requests = [r for r in order_path.store.requests if r.path.endswith("/395")]
    assert len(requests) == 2
    assert requests[1].time - requests[0].time >= 0.3
    assert len(order_path.pushes_of(395)) == 1
