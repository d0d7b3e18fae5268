"""Exactly once with real worker processes and shuffled duplicate deliveries."""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import BinaryIO

import pytest
import requests
from rq import Queue
from rq.registry import StartedJobRegistry

from sandbox.orders import make_order, make_webhook
from sandbox.server import serve_in_thread
from tests.conftest import (
    CREATED,
    SECRETS,
    STORE_HASH,
    WEBHOOK_TOKEN,
    stop_process_group,
)
from webhook import create_app
from workers import state
from workers.context import ServiceContext
from workers.queueing import ORDER_QUEUE

pytestmark = pytest.mark.slow

ORDER_COUNT = 300
DELIVERIES = 3
DEADLINE_SECONDS = 180


def start_worker(env: dict[str, str], log: BinaryIO) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "workers"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=Path(__file__).resolve().parents[2],
    )


def wait_until_drained(redis, expected_pushes, hub) -> None:
    queue = Queue(ORDER_QUEUE, connection=redis)
    started = StartedJobRegistry(queue=queue)
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if (
            len(hub.pushes) >= expected_pushes
            and queue.count == 0
            and started.count == 0
        ):
            return
        time.sleep(0.2)
    raise AssertionError(
        f"not drained in {DEADLINE_SECONDS} s: {len(hub.pushes)} pushes, "
        f"{queue.count} waiting, {started.count} running"
    )


def test_two_workers_push_each_order_once(
    redis,
    redis_server,
    fake_store,
    fake_hub,
    bigcommerce_server,
    hub_server,
    write_settings,
    tmp_path,
):
    settings_path = write_settings(hub_url=hub_server.url, filters="min_order_id: 10")
    fake_store.rate_limit_quota = 1_000_000  # rate limits are not under test here
    rng = random.Random(20261204)
    accepted = set()
    for order_id in range(1, ORDER_COUNT + 1):
        status = rng.choice([11, 11, 9, 10, 7, 0, 5])
        order = make_order(
            order_id,
            status_id=status,
            date_created=CREATED,
            store_hash=STORE_HASH,
            base_url=bigcommerce_server.url,
            line_count=rng.randint(1, 4),
        )
        fake_store.add_order(STORE_HASH, order)
        if status in (9, 10, 11) and order_id >= 10:
            accepted.add(order_id)

    scopes = ["store/order/created", "store/order/updated", "store/order/updated"]
    deliveries = [
        make_webhook(scopes[n], STORE_HASH, order_id)
        for order_id in range(1, ORDER_COUNT + 1)
        for n in range(DELIVERIES)
    ]
    rng.shuffle(deliveries)

    env = {
        **os.environ,
        "REDIS_URL": redis_server.url,
        "SETTINGS_PATH": str(settings_path),
        "BIGCOMMERCE_API_URL": bigcommerce_server.url,
    }
    logs_out = [(tmp_path / f"worker-{n}.log").open("wb") for n in range(2)]
    workers = [start_worker(env, log) for log in logs_out]
    context = ServiceContext(settings_file=str(settings_path), redis=redis)
    try:
        with (
            serve_in_thread(create_app(context=context)) as web,
            requests.Session() as s,
        ):
            for body in deliveries:
                response = s.post(
                    f"{web.url}/webhooks/bigcommerce",
                    json=body,
                    headers={"X-Webhook-Token": WEBHOOK_TOKEN},
                )
                assert response.status_code == 200
            wait_until_drained(redis, len(accepted), fake_hub)
            time.sleep(1.0)  # a late duplicate push would land in this second
    finally:
        for worker in workers:
            stop_process_group(worker)
        for log in logs_out:
            log.close()

    pushed = [push.order_id for push in fake_hub.pushes]
    logs = "".join(p.read_text() for p in tmp_path.glob("worker-*.log"))
    assert sorted(pushed) == sorted(accepted)
    assert len(set(pushed)) == len(pushed)
    assert state.imported_count(redis, "main-store") == len(accepted)
    assert all(worker.returncode is not None for worker in workers)
    assert "order 1 skipped at ingest" not in logs
    assert len(re.findall(r"order \d+ imported \(connection=main-store", logs)) == len(
        accepted
    )
    for secret in SECRETS:
        assert secret not in logs
