"""Worker-side benchmarks: pipeline throughput, calls per order, rate-limit use and
end-to-end latency, each with real ``python -m workers`` processes.
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from bench.common import (
    ACCESS_TOKEN,
    CONNECTION,
    STORE_HASH,
    WEBHOOK_TOKEN,
    MemoryWatch,
    free_port,
    rig,
    wait_for_http,
    wait_until,
    webhook_body,
)
from webhook import create_app
from workers.context import ServiceContext
from workers.orders import build_envelope
from workers.queueing import enqueue_order_job

BIGCOMMERCE_LATENCY_MS = 50
HUB_LATENCY_MS = 20
# The calls of one order that must wait for each other: the order, then its
# products and shipping addresses side by side, then the push to the hub.
IDEAL_SECONDS_PER_ORDER = (2 * BIGCOMMERCE_LATENCY_MS + HUB_LATENCY_MS) / 1000


def pipeline(workers: int, orders: int) -> dict[str, Any]:
    """Import ``orders`` queued orders with ``workers`` processes; return orders/s.

    The rate runs from the first push the hub receives to the last, so worker
    start-up is not counted.
    """
    memory = MemoryWatch()
    with rig(
        bigcommerce_latency_ms=BIGCOMMERCE_LATENCY_MS, hub_latency_ms=HUB_LATENCY_MS
    ) as bench_rig:
        measured_seconds = measure_call_sequence(bench_rig, samples=20)
        bench_rig.add_orders(range(1, orders + 1))
        for order_id in range(1, orders + 1):
            enqueue_order_job(bench_rig.redis, CONNECTION, order_id, scope="bench")
        processes = bench_rig.start_workers(workers)
        finished = wait_until(
            lambda: _sample_and_count(bench_rig, memory, processes) >= orders,
            timeout=orders * 2.0,
            step=0.2,
        )
        if not finished:
            raise RuntimeError(
                f"pipeline: {bench_rig.imported()} of {orders} imported in time"
            )
        times = sorted(
            push.time
            for push in bench_rig.hub.pushes
            if push.succeeded and (push.order_id or 0) <= orders
        )
    rate = (len(times) - 1) / (times[-1] - times[0])
    ideal = workers / IDEAL_SECONDS_PER_ORDER
    measured_ideal = workers / measured_seconds
    return {
        "workers": workers,
        "orders": orders,
        "orders_per_second": rate,
        "ideal_orders_per_second": ideal,
        "ratio_to_ideal": rate / ideal,
        "measured_ideal_orders_per_second": measured_ideal,
        "ratio_to_measured_ideal": rate / measured_ideal,
        "worker_peak_rss_mb": memory.largest("worker"),
    }


def measure_call_sequence(bench_rig: Any, samples: int) -> float:
    """Time the calls one order needs, made by a bare client; return seconds each.

    The order, then its products and shipping addresses side by side, then a push
    to the hub: the least any worker can spend on an order against these stand-ins,
    their own processing time included.
    """
    first = 1_000_000
    bench_rig.add_orders(range(first, first + samples))
    base = f"{bench_rig.bigcommerce.url}/stores/{STORE_HASH}/v2/orders"
    headers = {"X-Auth-Token": ACCESS_TOKEN, "Accept": "application/json"}
    durations = []
    with requests.Session() as session, ThreadPoolExecutor(max_workers=2) as pool:
        for order_id in range(first, first + samples):
            started = time.perf_counter()
            url = f"{base}/{order_id}"
            order = session.get(url, headers=headers, timeout=10).json()
            lists = [
                pool.submit(session.get, f"{url}/{name}", headers=headers, timeout=10)
                for name in ("products", "shipping_addresses")
            ]
            for future in lists:
                future.result().raise_for_status()
            session.post(
                f"{bench_rig.hub_server.url}/orders",
                json=build_envelope(CONNECTION, STORE_HASH, order),
                headers={"Idempotency-Key": f"bigcommerce-{STORE_HASH}-{order_id}"},
                timeout=10,
            ).raise_for_status()
            durations.append(time.perf_counter() - started)
    return statistics.median(durations)


def _sample_and_count(bench_rig: Any, memory: MemoryWatch, processes: list[Any]) -> int:
    for process in processes:
        memory.sample("worker", process)
    return int(bench_rig.imported())


def calls_per_order() -> dict[str, Any]:
    """Count BigCommerce requests for an imported, a skipped and a cut order."""
    with rig(min_order_id=100) as bench_rig:
        bench_rig.add_orders([100], line_count=50)
        bench_rig.add_orders([101], status_id=7)  # awaiting payment: skipped
        bench_rig.add_orders([99])  # below min_order_id: cut at ingest
        context = ServiceContext(
            settings_file=str(bench_rig.settings_path), redis=bench_rig.redis
        )
        client = create_app(context=context).test_client()
        for order_id in (100, 101, 99):
            response = client.post(
                "/webhooks/bigcommerce",
                json=webhook_body(order_id),
                headers={"X-Webhook-Token": WEBHOOK_TOKEN},
            )
            if response.status_code != 200:
                raise RuntimeError(f"webhook for order {order_id}: {response.status}")
        bench_rig.start_workers(1)
        wait_until(
            lambda: (
                bench_rig.imported() == 1
                and bench_rig.redis.hexists(f"sync:decision:{CONNECTION}", "101")
            ),
            timeout=30,
        )
        time.sleep(0.5)
        counts = {
            order_id: sum(
                1
                for record in bench_rig.store.requests
                if f"/v2/orders/{order_id}" in record.path
            )
            for order_id in (100, 101, 99)
        }
    return {
        "imported_50_lines_no_coupons": counts[100],
        "skipped_after_fetch": counts[101],
        "cut_at_ingest": counts[99],
    }


def rate_limit_use(workers: int = 4, seconds: float = 120.0) -> dict[str, Any]:
    """Import orders against a 150 per 30 s quota; return imports per 30 s.

    The first 30 s window is left out, so the figure is the steady state.
    """
    quota, reserve, window = 150, 15, 30.0
    calls_per_imported_order = 3
    orders = 400
    with rig(quota=quota, window_ms=int(window * 1000)) as bench_rig:
        bench_rig.add_orders(range(1, orders + 1))
        for order_id in range(1, orders + 1):
            enqueue_order_job(bench_rig.redis, CONNECTION, order_id, scope="bench")
        for _ in range(workers):
            bench_rig.start(
                [sys.executable, "-m", "workers"],
                BIGCOMMERCE_RATE_LIMIT_RESERVE=str(reserve),
            )
        time.sleep(seconds)
        times = sorted(push.time for push in bench_rig.hub.pushes if push.succeeded)
        requests_sent = sum(
            1 for record in bench_rig.store.requests if record.store_hash == STORE_HASH
        )
        answered_429 = sum(
            int(count)
            for count in bench_rig.redis.hvals("sync:metrics:bigcommerce_rate_limited")
        )
    start = times[0] + window
    steady = [t for t in times if start <= t < start + (seconds - 2 * window)]
    steady_seconds = seconds - 2 * window
    per_window = len(steady) * window / steady_seconds
    ceiling = (quota - reserve) / calls_per_imported_order
    return {
        "workers": workers,
        "imported_per_30s": per_window,
        "ceiling_per_30s": ceiling,
        "ratio_to_ceiling": per_window / ceiling,
        "requests_sent": requests_sent,
        "answered_429": answered_429,
    }


def end_to_end_latency(
    rate: float = 20.0, seconds: float = 30.0, workers: int = 4
) -> dict[str, Any]:
    """Send webhooks at ``rate`` per second to the web process; time each to the hub."""
    orders = int(rate * seconds)
    memory = MemoryWatch()
    with rig(
        bigcommerce_latency_ms=BIGCOMMERCE_LATENCY_MS, hub_latency_ms=HUB_LATENCY_MS
    ) as bench_rig:
        bench_rig.add_orders(range(1, orders + 1))
        port = free_port()
        web = bench_rig.start(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "gunicorn.conf.py",
                "webhook:create_app()",
            ],
            PORT=str(port),
            BIND_HOST="127.0.0.1",
        )
        wait_for_http(f"http://127.0.0.1:{port}/healthz")
        processes = bench_rig.start_workers(workers)
        time.sleep(3)  # let the workers start
        sent: dict[int, float] = {}
        sender = threading.Thread(
            target=_send_paced, args=(port, orders, rate, sent), daemon=True
        )
        sender.start()
        finished = wait_until(
            lambda: _sample_and_count(bench_rig, memory, processes) >= orders,
            timeout=seconds + 60,
            step=0.2,
        )
        sender.join()
        memory.sample("web", web)
        if not finished:
            raise RuntimeError(f"latency: {bench_rig.imported()} of {orders} imported")
        received = {
            push.order_id: push.time
            for push in bench_rig.hub.pushes
            if push.succeeded and push.order_id is not None
        }
    latencies = sorted((received[o] - sent[o]) * 1000 for o in sent)
    return {
        "rate_per_second": rate,
        "orders": orders,
        "workers": workers,
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1],
        "worker_peak_rss_mb": memory.largest("worker"),
        "web_peak_rss_mb": memory.largest("web"),
    }


def _send_paced(port: int, orders: int, rate: float, sent: dict[int, float]) -> None:
    url = f"http://127.0.0.1:{port}/webhooks/bigcommerce"
    headers = {"X-Webhook-Token": WEBHOOK_TOKEN}
    started = time.time()
    with requests.Session() as session:
        for order_id in range(1, orders + 1):
            due = started + (order_id - 1) / rate
            delay = due - time.time()
            if delay > 0:
                time.sleep(delay)
            sent[order_id] = time.time()
            session.post(url, json=webhook_body(order_id), headers=headers, timeout=10)
