"""Pieces the benchmarks share: Redis, stand-ins, settings, processes, memory."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from redis import Redis

from sandbox.bigcommerce import create_bigcommerce_app
from sandbox.hub import FakeHub, create_hub_app
from sandbox.orders import make_order, make_webhook
from sandbox.redis_server import RedisProcess, start_redis_server
from sandbox.server import RunningServer, serve_in_thread
from sandbox.store import FakeStore

ROOT = Path(__file__).resolve().parents[1]
STORE_HASH = "benchstore"
ACCESS_TOKEN = "bench-access-token"
WEBHOOK_TOKEN = "bench-webhook-token"
CONNECTION = "main-store"
CREATED = "Mon, 06 Jan 2025 09:15:00 +0000"
# Large enough that the stand-in never limits a benchmark that does not measure
# the rate limit.
UNLIMITED_QUOTA = 1_000_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def settings_text(hub_url: str, *, min_order_id: int = 1) -> str:
    """Return a settings file with one connection to the benchmark store."""
    return textwrap.dedent(
        f"""\
        hub:
          url: {hub_url}
          inbound_token: bench-inbound-token
        reconcile:
          interval_minutes: 0
        connections:
          - name: {CONNECTION}
            credentials:
              store_hash: {STORE_HASH}
              access_token: {ACCESS_TOKEN}
            webhooks:
              token: {WEBHOOK_TOKEN}
            settings:
              order_filters:
                statuses: [awaiting_fulfillment, awaiting_shipment, completed]
                min_order_id: {min_order_id}
        """
    )


@dataclass
class Rig:
    """Redis, the BigCommerce and hub stand-ins, and a settings file."""

    redis_process: RedisProcess
    redis: Redis
    store: FakeStore
    hub: FakeHub
    bigcommerce: RunningServer
    hub_server: RunningServer
    settings_path: Path
    folder: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def env(self, **extra: str) -> dict[str, str]:
        """Return the environment of a service process pointed at this rig."""
        return {
            **os.environ,
            "REDIS_URL": self.redis_process.url,
            "SETTINGS_PATH": str(self.settings_path),
            "BIGCOMMERCE_API_URL": self.bigcommerce.url,
            "LOG_LEVEL": "WARNING",
            "MAINTENANCE_TICK_SECONDS": "1",
            "PYTHONUNBUFFERED": "1",
            **extra,
        }

    def add_orders(self, order_ids: range | list[int], **options: Any) -> None:
        options.setdefault("date_created", CREATED)
        for order_id in order_ids:
            order = make_order(
                order_id,
                store_hash=STORE_HASH,
                base_url=self.bigcommerce.url,
                **options,
            )
            self.store.add_order(STORE_HASH, order)

    def start(self, args: list[str], **extra_env: str) -> subprocess.Popen[bytes]:
        """Start a process in its own session, its output in the rig's folder."""
        log = (self.folder / f"process-{len(self.processes)}.log").open("wb")
        process = subprocess.Popen(
            args,
            cwd=ROOT,
            env=self.env(**extra_env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    def start_workers(self, count: int) -> list[subprocess.Popen[bytes]]:
        return [self.start([sys.executable, "-m", "workers"]) for _ in range(count)]

    def stop_processes(self) -> None:
        for process in self.processes:
            stop_group(process)
        self.processes.clear()

    def imported(self) -> int:
        return int(self.redis.hlen(f"sync:imported:{CONNECTION}"))


@contextmanager
def rig(
    *,
    bigcommerce_latency_ms: int = 0,
    hub_latency_ms: int = 0,
    quota: int = UNLIMITED_QUOTA,
    window_ms: int = 30_000,
    min_order_id: int = 1,
) -> Iterator[Rig]:
    """Start Redis and the stand-ins; stop everything on exit."""
    folder = Path(tempfile.mkdtemp(prefix="sync-bench-"))
    redis_process = start_redis_server(directory=str(folder))
    store = FakeStore(
        rate_limit_quota=quota,
        rate_limit_window_ms=window_ms,
        latency_ms=bigcommerce_latency_ms,
    )
    store.add_store(STORE_HASH, ACCESS_TOKEN)
    hub = FakeHub(folder=folder / "hub-orders", latency_ms=hub_latency_ms)
    bigcommerce = serve_in_thread(create_bigcommerce_app(store))
    hub_server = serve_in_thread(create_hub_app(hub))
    settings_path = folder / "settings.yaml"
    settings_path.write_text(settings_text(hub_server.url, min_order_id=min_order_id))
    redis = Redis.from_url(redis_process.url)
    bench_rig = Rig(
        redis_process,
        redis,
        store,
        hub,
        bigcommerce,
        hub_server,
        settings_path,
        folder,
    )
    try:
        yield bench_rig
    finally:
        bench_rig.stop_processes()
        bigcommerce.stop()
        hub_server.stop()
        redis.close()
        redis_process.stop()


def stop_group(process: subprocess.Popen[bytes], grace: float = 30.0) -> None:
    """Stop a process and everything in its session: SIGTERM, then SIGKILL."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass


def wait_until(
    condition: Callable[[], bool], timeout: float, step: float = 0.05
) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def wait_for_http(url: str, timeout: float = 30.0) -> None:
    def answers() -> bool:
        try:
            return requests.get(url, timeout=1).status_code < 500
        except requests.RequestException:
            return False

    if not wait_until(answers, timeout, step=0.2):
        raise RuntimeError(f"{url} did not respond within {timeout} s")


def webhook_body(order_id: int, scope: str = "store/order/created") -> dict[str, Any]:
    return make_webhook(scope, STORE_HASH, order_id)


def session_pids(process: subprocess.Popen[bytes]) -> list[int]:
    """Return the pids of every process in ``process``'s session."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the command name: state, ppid, pgrp, session.
        if int(fields[3]) == process.pid:
            pids.append(int(entry.name))
    return pids


def peak_rss_mb(pid: int) -> float:
    """Return a process's peak resident set size (VmHWM) in MB, or 0 when gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return 0.0
    return 0.0


class MemoryWatch:
    """Track the peak RSS of each process of some sessions while a benchmark runs."""

    def __init__(self) -> None:
        self.peaks: dict[str, float] = {}

    def sample(self, label: str, process: subprocess.Popen[bytes]) -> None:
        for pid in session_pids(process):
            key = f"{label}:{pid}"
            self.peaks[key] = max(self.peaks.get(key, 0.0), peak_rss_mb(pid))

    def largest(self, label: str) -> float:
        values = [v for k, v in self.peaks.items() if k.startswith(f"{label}:")]
        return max(values, default=0.0)
