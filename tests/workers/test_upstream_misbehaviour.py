"""Order job against a BigCommerce and a hub that misbehave or echo secrets."""

from __future__ import annotations

import logging

from sandbox.orders import make_order
from tests.conftest import ACCESS_TOKEN, CREATED, HUB_TOKEN, SECRETS, STORE_HASH
from workers import state

CONNECTION = "main-store"


def stored_text(redis) -> str:
    """Everything the service keeps about orders: failures and decisions."""
    parts = []
    for key in (state.failure_key(CONNECTION), state.decision_key(CONNECTION)):
        parts.extend(v.decode() for v in redis.hvals(key))
    parts.extend(
        v.decode() for v in redis.lrange(state.decision_log_key(CONNECTION), 0, -1)
    )
    return "\n".join(parts)


def test_hub_error_echo_redacted(order_path, caplog):
    """When the hub's error body repeats the bearer token it was sent, the
    token is kept out of the log and the stored failure (UpstreamError says
    its detail is already free of credentials)."""
    order_path.add_order(410)
    order_path.hub.script_responses(
        401, body=f"rejected Authorization: Bearer {HUB_TOKEN}"
    )
    order_path.send("store/order/created", 410)
    with caplog.at_level(logging.DEBUG):
        order_path.run_jobs()
    assert len(order_path.pushes_of(410)) == 1
    seen = caplog.text + "\n" + stored_text(order_path.redis)
    assert HUB_TOKEN not in seen, [
        line for line in seen.splitlines() if HUB_TOKEN in line
    ]


def test_bigcommerce_error_echo_redacted(order_path, caplog):
    """When BigCommerce's error body repeats the X-Auth-Token it was sent, the
    access token is kept out of the log and the stored failure."""
    order_path.add_order(411)
    order_path.store.inject_fault(
        r"/v2/orders/411$", 403, body=f"X-Auth-Token {ACCESS_TOKEN} lacks scope"
    )
    order_path.send("store/order/created", 411)
    with caplog.at_level(logging.DEBUG):
        order_path.run_jobs()
    seen = caplog.text + "\n" + stored_text(order_path.redis)
    leaked = [s for s in SECRETS if s in seen]
    assert not leaked, [line for line in seen.splitlines() if ACCESS_TOKEN in line]


def test_order_with_other_id_rejected(order_path):
    """If BigCommerce returns the body of order 421 for GET /v2/orders/420,
    order 420 is not marked imported and order 421 is not pushed under order
    420's idempotency key."""
    order_path.add_order(420)
    other = make_order(
        421,
        store_hash=STORE_HASH,
        base_url=order_path.bigcommerce_url,
        date_created=CREATED,
    )
    order_path.store.add_order(STORE_HASH, other)
    order_path.store.inject_fault(r"/v2/orders/420$", 200, body=other.order)
    order_path.send("store/order/created", 420)
    order_path.run_jobs()
    mismatched = [
        p
        for p in order_path.hub.pushes
        if p.idempotency_key == f"bigcommerce-{STORE_HASH}-420"
        and p.body["order"]["id"] != 420
    ]
    assert mismatched == []
    assert not state.is_imported(order_path.redis, CONNECTION, 420)
